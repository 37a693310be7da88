/* home: settings are validated with precise errors and kept on save. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(home *h, const char *text, char *err)
{
    return home_parse(h, text, strlen(text), "SystemVars.json", err, 256);
}

static void defaults_and_values(void **state)
{
    (void)state;
    home h = {0};
    char err[256];
    assert_int_equal(parse(&h, "{}", err), 0);
    assert_int_equal(h.port, 4800);
    assert_string_equal(h.listen, "::");
    assert_true(h.threads >= 1);
    home_free(&h);
    assert_int_equal(parse(&h, "{\"port\": 5000, \"threads\": 3, \"listen\": \"127.0.0.1\"}", err), 0);
    assert_int_equal(h.port, 5000);
    assert_int_equal(h.threads, 3);
    assert_string_equal(h.listen, "127.0.0.1");
    home_free(&h);
}

static void precise_errors(void **state)
{
    (void)state;
    home h = {0};
    char err[256];
    assert_int_equal(parse(&h, "{\n  \"port\": 4800,\n  \"threads\" 2\n}", err), -1);
    assert_non_null(strstr(err, "SystemVars.json:3:"));
    assert_int_equal(parse(&h, "{\"port\": 70000}", err), -1);
    assert_string_equal(err, "SystemVars.json: \"port\" must be an integer from 1 to 65535");
    assert_int_equal(parse(&h, "{\"port\": \"4800\"}", err), -1);
    assert_int_equal(parse(&h, "{\"listen\": \"example.org\"}", err), -1);
    assert_non_null(strstr(err, "\"listen\""));
    assert_int_equal(parse(&h, "{\"grants\": [\"nope\"]}", err), -1);
    assert_non_null(strstr(err, "not a Leither ID"));
    assert_int_equal(parse(&h, "{\"bootstrap\": \"a.org\"}", err), -1);
    /* DHT bootstrap nodes: HOST, HOST:PORT, [IPV6]:PORT; the DHT's port */
    assert_int_equal(parse(&h, "{\"bootstrap\": [\"a.org\", \"10.0.0.1:4802\", \"[::1]:4802\"]}", err), 0);
    assert_int_equal(h.dht_port, 4802); /* the HTTP port + 2 */
    home_free(&h);
    assert_int_equal(parse(&h, "{\"port\": 5000, \"dht_port\": 0}", err), 0);
    assert_int_equal(h.dht_port, 0);
    home_free(&h);
    assert_int_equal(parse(&h, "{\"port\": 5000}", err), 0);
    assert_int_equal(h.dht_port, 5002);
    home_free(&h);
    const char *bad_boot[] = {"{\"bootstrap\": [\"a.org:x\"]}", "{\"bootstrap\": [\"::1:4802\"]}",
                              "{\"bootstrap\": [\"a.org:70000\"]}", "{\"bootstrap\": [\"a b\"]}",
                              "{\"bootstrap\": [\"\"]}"};
    for (size_t i = 0; i < sizeof bad_boot / sizeof *bad_boot; i++) {
        assert_int_equal(parse(&h, bad_boot[i], err), -1);
        assert_non_null(strstr(err, "is not HOST, HOST:PORT or [IPV6]:PORT"));
    }
    assert_int_equal(parse(&h, "{\"dht_port\": 70000}", err), -1);
    assert_string_equal(err, "SystemVars.json: \"dht_port\" must be an integer from 0 to 65535");
    assert_int_equal(parse(&h, "[1,2]", err), -1);
    assert_non_null(strstr(err, "JSON object"));
    assert_int_equal(parse(&h, "{\"port\": 1, \"port\": 2}", err), -1); /* duplicate keys */
    assert_null(h.doc);
}

static void save_keeps_unknown_keys(void **state)
{
    (void)state;
    char dir[] = "/tmp/leither-home-XXXXXX", err[256];
    assert_non_null(mkdtemp(dir));
    home h;
    home_defaults(&h, dir);
    json_object_set_new(h.doc, "mine", json_string("kept"));
    json_object_set_new(h.doc, "port", json_integer(4900));
    assert_int_equal(home_save(&h, err, sizeof err), 0);
    home_free(&h);
    assert_int_equal(home_load(&h, dir, err, sizeof err), 0);
    assert_int_equal(h.port, 4900);
    assert_string_equal(json_string_value(json_object_get(h.doc, "mine")), "kept");
    assert_true(home_may_write(&h, "JOGzt69GuFPBqV9RCvz_Q8lULJY", "JOGzt69GuFPBqV9RCvz_Q8lULJY"));
    assert_false(home_may_write(&h, "JOGzt69GuFPBqV9RCvz_Q8lULJY", "AAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    json_array_append_new(json_object_get(h.doc, "grants"), json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_true(home_may_write(&h, "JOGzt69GuFPBqV9RCvz_Q8lULJY", "AAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    json_object_set_new(h.doc, "port", json_integer(0)); /* invalid: not written */
    assert_int_equal(home_save(&h, err, sizeof err), -1);
    home_free(&h);
    assert_int_equal(home_load(&h, dir, err, sizeof err), 0);
    assert_int_equal(h.port, 4900);
    home_free(&h);
    char path[128];
    snprintf(path, sizeof path, "%s/SystemVars.json", dir);
    unlink(path);
    assert_int_equal(home_load(&h, dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not a Leither home"));
    rmdir(dir);
}

static void resolve_order(void **state)
{
    (void)state;
    char out[4096], err[256], cwd[4096];
    assert_int_equal(home_resolve(out, sizeof out, "/a/b/", err, sizeof err), 0);
    assert_string_equal(out, "/a/b");
    setenv("LEITHER_HOME", "/from/env", 1);
    assert_int_equal(home_resolve(out, sizeof out, NULL, err, sizeof err), 0);
    assert_string_equal(out, "/from/env");
    unsetenv("LEITHER_HOME");
    /* a current directory that is not a home: the default, ~/.leither */
    char dir[] = "/tmp/leither-resolve-XXXXXX", old[4096];
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(old, sizeof old));
    assert_int_equal(chdir(dir), 0);
    setenv("HOME", "/from/user", 1);
    assert_int_equal(home_resolve(out, sizeof out, NULL, err, sizeof err), 0);
    assert_string_equal(out, "/from/user/.leither");
    /* the current directory once it is a home */
    FILE *f = fopen(HOME_SETTINGS, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(home_resolve(out, sizeof out, NULL, err, sizeof err), 0);
    assert_string_equal(out, getcwd(cwd, sizeof cwd));
    unlink(HOME_SETTINGS);
    assert_int_equal(chdir(old), 0);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_and_values),
        cmocka_unit_test(precise_errors),
        cmocka_unit_test(save_keeps_unknown_keys),
        cmocka_unit_test(resolve_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
