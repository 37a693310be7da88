/* auth: signed requests are accepted once, inside the window, unaltered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth.h"

#include <string.h>

static ids_key key;
static const int64_t now = 1700000000;

static int check(const char *hv, const char *method, const char *path, const char *body, int64_t at, char *signer,
                 char *err)
{
    return auth_check(hv, hv ? strlen(hv) : 0, method, strlen(method), path, strlen(path), body, strlen(body), at,
                      signer, err, 256);
}

static void good_signature_once(void **state)
{
    (void)state;
    char hv[AUTH_HEADER_MAX], signer[IDS_LID_LEN + 1], lid[IDS_LID_LEN + 1], err[256];
    auth_sign(hv, &key, "POST", "/api/v0/shutdown", 16, "", 0, now);
    assert_int_equal(check(hv, "POST", "/api/v0/shutdown", "", now + 5, signer, err), 0);
    ids_leither_id(lid, key.pk);
    assert_string_equal(signer, lid);
    assert_int_equal(check(hv, "POST", "/api/v0/shutdown", "", now + 6, signer, err), -1);
    assert_non_null(strstr(err, "replayed"));
}

static void same_request_twice_in_a_second(void **state)
{
    (void)state;
    char a[AUTH_HEADER_MAX], b[AUTH_HEADER_MAX], signer[IDS_LID_LEN + 1], err[256];
    auth_sign(a, &key, "POST", "/api/v0/lpki/revoke", 19, "", 0, now);
    auth_sign(b, &key, "POST", "/api/v0/lpki/revoke", 19, "", 0, now);
    assert_string_not_equal(a, b); /* the nonce differs */
    assert_int_equal(check(a, "POST", "/api/v0/lpki/revoke", "", now, signer, err), 0);
    assert_int_equal(check(b, "POST", "/api/v0/lpki/revoke", "", now, signer, err), 0);
}

static void altered_requests_refused(void **state)
{
    (void)state;
    char hv[AUTH_HEADER_MAX], signer[IDS_LID_LEN + 1], err[256];
    auth_sign(hv, &key, "POST", "/api/v0/lpki/grant?arg=A", 24, "body", 4, now);
    assert_int_equal(check(hv, "POST", "/api/v0/lpki/grant?arg=B", "body", now, signer, err), -1);
    assert_string_equal(err, "bad signature");
    assert_int_equal(check(hv, "PUT", "/api/v0/lpki/grant?arg=A", "body", now, signer, err), -1);
    assert_int_equal(check(hv, "POST", "/api/v0/lpki/grant?arg=A", "bodY", now, signer, err), -1);
    assert_int_equal(check(hv, "POST", "/api/v0/lpki/grant?arg=A", "body", now, signer, err), 0);
}

static void window_enforced(void **state)
{
    (void)state;
    char hv[AUTH_HEADER_MAX], signer[IDS_LID_LEN + 1], err[256];
    auth_sign(hv, &key, "POST", "/x", 2, "", 0, now - AUTH_WINDOW - 1);
    assert_int_equal(check(hv, "POST", "/x", "", now, signer, err), -1);
    assert_non_null(strstr(err, "seconds from the node's clock"));
    auth_sign(hv, &key, "POST", "/x", 2, "", 0, now + AUTH_WINDOW + 1);
    assert_int_equal(check(hv, "POST", "/x", "", now, signer, err), -1);
    auth_sign(hv, &key, "POST", "/x", 2, "", 0, now - AUTH_WINDOW);
    assert_int_equal(check(hv, "POST", "/x", "", now, signer, err), 0);
}

static void malformed_headers(void **state)
{
    (void)state;
    char signer[IDS_LID_LEN + 1], err[256];
    const char *bad[] = {
        "Bearer abc",
        "Leither ",
        "Leither key=,ts=1,sig=",
        "Leither key=AAAA,ts=1700000000,sig=AAAA",
        "Leither ts=1700000000,sig=AAAA",
        "Leither key=HtHo-uLEoUS4vo_UtHvz07NLhxw8rPYBDw5C1HT84n4,ts=17x,nonce=abc,sig=AAAA",
        "Leither key=HtHo-uLEoUS4vo_UtHvz07NLhxw8rPYBDw5C1HT84n4,ts=1700000000,nonce=,sig=AAAA",
    };
    assert_int_equal(check(NULL, "POST", "/x", "", now, signer, err), -1);
    assert_non_null(strstr(err, "needs a signed Authorization"));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(check(bad[i], "POST", "/x", "", now, signer, err), -1);
}

int main(void)
{
    ids_init();
    ids_key_generate(&key);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_signature_once),
        cmocka_unit_test(same_request_twice_in_a_second),
        cmocka_unit_test(altered_requests_refused),
        cmocka_unit_test(window_enforced),
        cmocka_unit_test(malformed_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
