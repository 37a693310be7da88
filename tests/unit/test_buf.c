/* buf (modules/common/buf.h): the one growable byte buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void appends_and_keeps_a_nul(void **state)
{
    (void)state;
    buf b = {0};
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_string_equal(b.p, "");
    assert_int_equal(buf_puts(&b, "ab"), 0);
    assert_int_equal(buf_append(&b, "c\0d", 3), 0);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.p, "abc\0d", 6);
    assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.p + 5, "42-x", 5);
    buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    assert_true(b.cap > 0);
    buf_free(&b);
    assert_null(b.p);
    assert_int_equal(b.cap, 0);
}

static void grows_by_doubling_past_any_size(void **state)
{
    (void)state;
    buf b = {0};
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_append(&b, chunk, sizeof chunk), 0);
    assert_int_equal(b.len, 1000000);
    assert_true(b.cap > b.len && b.cap <= 2 * (b.len + 1) + 64);
    assert_int_equal(b.p[b.len], '\0');
    /* a long printf takes the slow path */
    buf_clear(&b);
    assert_int_equal(buf_printf(&b, "%s|%5000d", "start", 7), 0);
    assert_int_equal(b.len, 5 + 1 + 5000);
    assert_int_equal(b.p[b.len - 1], '7');
    buf_free(&b);
}

static void reserve_then_write_in_place(void **state)
{
    (void)state;
    buf b = {0};
    assert_int_equal(buf_reserve(&b, 300), 0);
    assert_true(b.cap >= 301);
    memset(b.p, 'y', 300);
    b.len = 300;
    assert_int_equal(buf_puts(&b, "z"), 0);
    assert_int_equal(b.p[300], 'z');
    assert_int_equal(b.p[301], '\0');
    buf_free(&b);
}

static void out_of_memory_is_sticky(void **state)
{
    (void)state;
    buf b = {0};
    assert_int_equal(buf_puts(&b, "kept"), 0);
    assert_int_equal(buf_reserve(&b, SIZE_MAX - 2), -1); /* no such size: refused, not wrapped */
    assert_true(b.failed);
    assert_int_equal(buf_puts(&b, "more"), -1);
    assert_int_equal(buf_printf(&b, "%d", 1), -1);
    assert_string_equal(b.p, "kept"); /* what was there stays */
    buf_free(&b);
    assert_false(b.failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_and_keeps_a_nul),
        cmocka_unit_test(grows_by_doubling_past_any_size),
        cmocka_unit_test(reserve_then_write_in_place),
        cmocka_unit_test(out_of_memory_is_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
