/*
 * The web toolkit's one percent decoder (runtime/http/web.c), which the
 * gateway, the apps runtime and query parameters share.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http.h"

static ssize_t decode(char *out, size_t cap, const char *in, int plus)
{
    return http_pct_decode(out, cap, in, strlen(in), plus);
}

static void decodes_escapes_of_either_case(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(decode(out, sizeof out, "a%20b%26c.txt", 0), 9);
    assert_string_equal(out, "a b&c.txt");
    assert_int_equal(decode(out, sizeof out, "%e4%B8%ad", 0), 3);
    assert_string_equal(out, "\xe4\xb8\xad");
    assert_int_equal(decode(out, sizeof out, "", 0), 0);
    assert_string_equal(out, "");
}

static void plus_is_a_space_only_when_asked(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(decode(out, sizeof out, "a+b%2B", 1), 4);
    assert_string_equal(out, "a b+");
    assert_int_equal(decode(out, sizeof out, "a+b", 0), 3);
    assert_string_equal(out, "a+b");
}

static void refuses_bad_escapes_nul_and_overflow(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(decode(out, sizeof out, "%zz", 0), -1);
    assert_int_equal(decode(out, sizeof out, "abc%2", 0), -1);
    assert_int_equal(decode(out, sizeof out, "abc%", 0), -1);
    assert_int_equal(decode(out, sizeof out, "a%00b", 0), -1); /* would cut the text short */
    assert_int_equal(decode(out, sizeof out, "12345678", 0), -1); /* no room for the NUL */
    assert_int_equal(decode(out, sizeof out, "1234567", 0), 7);
    assert_int_equal(decode(out, sizeof out, "%41%41%41%41%41%41%41", 0), 7); /* the decoded length counts */
    assert_int_equal(http_pct_decode(out, 0, "", 0, 0), -1);
}

static void decodes_in_place(void **state)
{
    (void)state;
    char s[] = "%2Fdocs%2Fa%20b";
    assert_int_equal(http_pct_decode(s, sizeof s, s, strlen(s), 0), 9);
    assert_string_equal(s, "/docs/a b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_escapes_of_either_case),
        cmocka_unit_test(plus_is_a_space_only_when_asked),
        cmocka_unit_test(refuses_bad_escapes_nul_and_overflow),
        cmocka_unit_test(decodes_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
