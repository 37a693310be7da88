/*
 * The error model (modules/common/errbuf.h): every module's status enum has
 * a name for each kind, and runtime/http maps them to HTTP statuses in one
 * place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http.h"
#include "ids.h"
#include "mimei.h"
#include "sandbox.h"
#include "store.h"

static void every_kind_has_a_name(void **state)
{
    (void)state;
    assert_string_equal(store_strerror(STORE_NOT_FOUND), "not found");
    assert_string_equal(store_strerror(STORE_BAD_REQUEST), "bad request");
    assert_string_equal(store_strerror(STORE_CORRUPT), "incomplete or corrupt DAG");
    assert_string_equal(store_strerror(STORE_ERROR), "store error");
    assert_string_equal(mimei_strerror(MIMEI_INVALID), "invalid info record");
    assert_string_equal(mimei_strerror(MIMEI_STORAGE_CLOSED), "no storage for guests");
    assert_string_equal(mimei_strerror(MIMEI_QUOTA_FULL), "guest quota full");
    assert_string_equal(mimei_strerror(MIMEI_ERROR), "MiMei error");
    assert_string_equal(ids_strerror(IDS_INVALID), "invalid key");
    assert_string_equal(ids_strerror(IDS_BAD_SIGNATURE), "bad signature");
    assert_string_equal(ids_strerror(IDS_ERROR), "I/O error");
    assert_string_equal(sandbox_strerror(SANDBOX_ERROR), "Lua error");
    assert_string_equal(sandbox_strerror(SANDBOX_LIMIT), "limit exceeded");
    /* a value no function returns still gets a line, never NULL */
    assert_string_equal(store_strerror((enum store_status)77), "store error");
    assert_string_equal(ids_strerror((enum ids_status)77), "I/O error");
}

static void zero_is_ok_and_minus_one_is_the_plain_failure(void **state)
{
    (void)state;
    /* so `!= 0` tests every function for failure, and ERR() (-1) is each
     * module's general failure */
    assert_int_equal(STORE_OK, 0), assert_int_equal(STORE_ERROR, -1);
    assert_int_equal(MIMEI_OK, 0), assert_int_equal(MIMEI_ERROR, -1);
    assert_int_equal(IDS_OK, 0), assert_int_equal(IDS_ERROR, -1);
    assert_int_equal(SANDBOX_OK, 0);
}

static void http_statuses_in_one_place(void **state)
{
    (void)state;
    assert_int_equal(http_status_of_store(STORE_OK), 200);
    assert_int_equal(http_status_of_store(STORE_NOT_FOUND), 404);
    assert_int_equal(http_status_of_store(STORE_BAD_REQUEST), 400);
    assert_int_equal(http_status_of_store(STORE_CORRUPT), 502);
    assert_int_equal(http_status_of_store(STORE_ERROR), 500);
    assert_int_equal(http_status_of_mimei(MIMEI_OK), 200);
    assert_int_equal(http_status_of_mimei(MIMEI_INVALID), 400);
    assert_int_equal(http_status_of_mimei(MIMEI_STORAGE_CLOSED), 403);
    assert_int_equal(http_status_of_mimei(MIMEI_QUOTA_FULL), 507);
    assert_int_equal(http_status_of_mimei(MIMEI_ERROR), 500);
    assert_string_equal(http_reason(507), "Insufficient Storage");
    assert_int_equal(http_status_of_resp_error("NOPERM no", 9), 403);
    assert_int_equal(http_status_of_resp_error("OOM guest quota", 15), 507);
    assert_int_equal(http_status_of_resp_error("ERR syntax", 10), 400);
    assert_int_equal(http_status_of_resp_error("NOPE", 4), 400);
    assert_int_equal(http_status_of_resp_error("", 0), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_has_a_name),
        cmocka_unit_test(zero_is_ok_and_minus_one_is_the_plain_failure),
        cmocka_unit_test(http_statuses_in_one_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
