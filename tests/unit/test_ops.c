/* The operator's view (runtime/node: log.c, metrics.c): JSON log lines stay
 * JSON whatever the message holds, and counters bumped from many threads,
 * some of which end, add up exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "node.h"

/* Runs log_line with stdout sent to a file; returns what it wrote. */
static char *captured(int fd_to_capture, void (*fn)(void))
{
    char path[] = "/tmp/leither-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(fd_to_capture);
    dup2(fd, fd_to_capture);
    fn();
    dup2(saved, fd_to_capture);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    assert_int_equal(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    return text;
}

static void log_hostile(void)
{
    log_line(LOG_LEVEL_WARN, LOG_FIELDS("app", "a\"b\\c", "bad", "\xff\xc0\xaf"),
             "q\"b\\n\nt\tc\x01 del\x7f ok:\xc3\xa9\xf0\x9f\x98\x80 bad:\xff|\xc0\xaf|\xed\xa0\x80|\xe2\x82");
}

static void json_lines_stay_json(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_JSON);
    char *text = captured(STDOUT_FILENO, log_hostile);
    log_set_format(LOG_FORMAT_TEXT);
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    assert_null(memchr(text, '\n', len - 1)); /* one line */
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(doc, "message")),
                        "q\"b\\n\nt\tc\x01 del\x7f ok:\xc3\xa9\xf0\x9f\x98\x80 bad:\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(doc, "app")), "a\"b\\c");
    assert_string_equal(json_string_value(json_object_get(doc, "bad")), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    const char *when = json_string_value(json_object_get(doc, "time"));
    assert_non_null(when);
    assert_int_equal(strlen(when), strlen("2026-12-03T13:20:05.123Z"));
    assert_int_equal(when[10], 'T');
    assert_int_equal(when[23], 'Z');
    json_decref(doc);
    free(text);
}

static void log_long(void)
{
    char *big = malloc(20001);
    memset(big, 'x', 20000);
    big[20000] = '\0';
    log_line(LOG_LEVEL_ERROR, NULL, "%s!", big);
    free(big);
}

static void long_lines_are_whole(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_JSON);
    char *text = captured(STDOUT_FILENO, log_long);
    log_set_format(LOG_FORMAT_TEXT);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(strlen(json_string_value(json_object_get(doc, "message"))), 20001);
    json_decref(doc);
    free(text);
}

static void log_plain(void) { log_line(LOG_LEVEL_WARN, LOG_FIELDS("app", "x"), "app %s stopped", "x"); }

static void text_is_as_before(void **state)
{
    (void)state;
    char *text = captured(STDERR_FILENO, log_plain);
    assert_string_equal(text, "leither: app x stopped\n");
    free(text);
}

/* --- metrics -------------------------------------------------------------- */

/* The value of the sample line that starts with key, or -1. */
static long long sample(const char *key)
{
    size_t len;
    char *text = metrics_text(&len);
    assert_non_null(text);
    long long value = -1;
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ' ')
            value = atoll(line + strlen(key) + 1);
    free(text);
    return value;
}

#define PER_THREAD 100000

static void *count_requests(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++)
        metrics_http_request(METRICS_SDK, 201);
    metrics_http_connection(1);
    metrics_lua_breach("memory");
    return NULL;
}

static void threads_add_up(void **state)
{
    (void)state;
    /* two rounds: the second round's threads take over the first's slots */
    for (int round = 1; round <= 2; round++) {
        pthread_t tid[8];
        for (int i = 0; i < 8; i++)
            pthread_create(&tid[i], NULL, count_requests, NULL);
        for (int i = 0; i < 8; i++)
            pthread_join(tid[i], NULL);
        assert_int_equal(sample("leither_http_requests_total{surface=\"sdk\",code=\"201\"}"), round * 8LL * PER_THREAD);
        assert_int_equal(sample("leither_http_connections"), round * 8LL);
        assert_int_equal(sample("leither_lua_limit_breaches_total{limit=\"memory\"}"), round * 8LL);
    }
    metrics_http_request(METRICS_API, 0);
    metrics_http_request(METRICS_API, 1000);
    assert_int_equal(sample("leither_http_requests_total{surface=\"api\",code=\"none\"}"), 2);
    metrics_lua_breach("something new");
    assert_int_equal(sample("leither_lua_limit_breaches_total{limit=\"other\"}"), 1);
}

static void commands_by_name(void **state)
{
    (void)state;
    char dir[] = "/tmp/leither-test-ops-XXXXXX", err[256];
    assert_non_null(mkdtemp(dir));
    db *d = db_open(dir, DB_SYNC_NO, err, sizeof err); /* the command table */
    assert_non_null(d);
    metrics_resp_command("GeT", 3, 5000);      /* 5 us */
    metrics_resp_command("get", 3, 2000000);   /* 2 ms */
    metrics_resp_command("nosuch", 6, 1000);   /* unknown */
    metrics_resp_command("get", 3, 3000000000u); /* 3 s: only +Inf */
    assert_int_equal(sample("leither_resp_command_duration_seconds_bucket{command=\"get\",le=\"1e-05\"}"), 1);
    assert_int_equal(sample("leither_resp_command_duration_seconds_bucket{command=\"get\",le=\"0.001\"}"), 1);
    assert_int_equal(sample("leither_resp_command_duration_seconds_bucket{command=\"get\",le=\"0.0025\"}"), 2);
    assert_int_equal(sample("leither_resp_command_duration_seconds_bucket{command=\"get\",le=\"1\"}"), 2);
    assert_int_equal(sample("leither_resp_command_duration_seconds_bucket{command=\"get\",le=\"+Inf\"}"), 3);
    assert_int_equal(sample("leither_resp_command_duration_seconds_count{command=\"get\"}"), 3);
    assert_int_equal(sample("leither_resp_command_duration_seconds_count{command=\"unknown\"}"), 1);
    assert_int_equal(sample("leither_resp_command_duration_seconds_count{command=\"set\"}"), -1); /* never ran */
    db_close(d);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_lines_stay_json), cmocka_unit_test(long_lines_are_whole),
        cmocka_unit_test(text_is_as_before),    cmocka_unit_test(threads_add_up),
        cmocka_unit_test(commands_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
