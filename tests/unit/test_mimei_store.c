/* mimei_may_store: who may make the node store bytes, and the guest quota's
 * arithmetic (per identity, in total, at the edges, without wrapping); and
 * the guest_quota setting that feeds it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "node.h"
#include "mimei.h"

#include <string.h>

#define OWNER "OwnerOwnerOwnerOwnerOwner00"
#define GRANTED "GrantedGrantedGrantedGrant0"
#define GUEST "GuestGuestGuestGuestGuest00"

static int ask(const char *who, uint64_t per, uint64_t total, uint64_t used_id, uint64_t used_total, uint64_t bytes,
               char *err)
{
    json_t *grants = json_pack("[s]", GRANTED);
    mimei_quota q = {per, total};
    mimei_usage u = {used_id, used_total};
    int d = mimei_may_store(who, OWNER, grants, &q, &u, bytes, err, 256);
    json_decref(grants);
    return d;
}

static void owner_and_granted_are_free(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(ask(OWNER, 0, 0, 0, 0, UINT64_MAX, err), MIMEI_STORE_FREE);
    assert_int_equal(ask(GRANTED, 0, 0, 0, 0, 1 << 30, err), MIMEI_STORE_FREE);
}

static void closed_by_default(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(ask(GUEST, 0, 0, 0, 0, 0, err), MIMEI_STORE_CLOSED);
    assert_non_null(strstr(err, "neither the node owner nor granted"));
    assert_int_equal(ask(GUEST, 1000, 0, 0, 0, 1, err), MIMEI_STORE_CLOSED); /* a 0 total closes too */
    assert_int_equal(ask("", 1000, 1000, 0, 0, 1, err), MIMEI_STORE_CLOSED);  /* unsigned: nobody to charge */
    assert_non_null(strstr(err, "unsigned"));
}

static void quota_edges(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(ask(GUEST, 1000, 5000, 400, 400, 600, err), MIMEI_STORE_GUEST); /* exactly full */
    assert_int_equal(ask(GUEST, 1000, 5000, 400, 400, 601, err), MIMEI_STORE_FULL);
    assert_string_equal(err, "guest quota: key " GUEST " has stored 400 of its 1000 bytes, and 601 more do not fit");
    assert_int_equal(ask(GUEST, 1000, 5000, 0, 4900, 100, err), MIMEI_STORE_GUEST);
    assert_int_equal(ask(GUEST, 1000, 5000, 0, 4901, 100, err), MIMEI_STORE_FULL);
    assert_non_null(strstr(err, "guests have stored 4901 of the node's 5000 guest bytes"));
    /* sums that would wrap around are refused, not let through */
    assert_int_equal(ask(GUEST, UINT64_MAX, UINT64_MAX, 10, 10, UINT64_MAX - 5, err), MIMEI_STORE_FULL);
    assert_int_equal(ask(GUEST, 1000, 5000, 2000, 2000, 0, err), MIMEI_STORE_FULL); /* already over */
}

static void the_setting(void **state)
{
    (void)state;
    home h = {0};
    char err[256];
    const char *ok = "{\"guest_quota\": {\"per_identity_bytes\": 100, \"total_bytes\": 1000}}";
    assert_int_equal(home_parse(&h, ok, strlen(ok), "SystemVars.json", err, sizeof err), 0);
    assert_true(h.guest_per_identity == 100 && h.guest_total == 1000);
    home_free(&h);
    assert_int_equal(home_parse(&h, "{}", 2, "SystemVars.json", err, sizeof err), 0);
    assert_true(h.guest_per_identity == 0 && h.guest_total == 0);
    home_free(&h);
    const char *bad[] = {"{\"guest_quota\": 5}", "{\"guest_quota\": {\"per_identity_bytes\": -1}}",
                         "{\"guest_quota\": {\"per_identity\": 10}}", "{\"guest_quota\": {\"total_bytes\": \"1\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(home_parse(&h, bad[i], strlen(bad[i]), "SystemVars.json", err, sizeof err), -1);
        assert_non_null(strstr(err, "\"guest_quota\""));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owner_and_granted_are_free),
        cmocka_unit_test(closed_by_default),
        cmocka_unit_test(quota_edges),
        cmocka_unit_test(the_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
