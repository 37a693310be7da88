/* auth: signed requests are accepted once, inside the window and after the
 * node's start, unaltered; the set of used requests refuses rather than
 * forgets. */
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

/* A verified request for path, signed at ts. */
static auth_request verified(const char *path, int64_t ts, int64_t at)
{
    char hv[AUTH_HEADER_MAX], err[256];
    auth_request r;
    auth_sign(hv, &key, "POST", path, strlen(path), "", 0, ts);
    assert_int_equal(auth_verify(hv, strlen(hv), "POST", 4, path, strlen(path), "", 0, at, &r, err, sizeof err), 0);
    return r;
}

static int record(const auth_request *r, int64_t at, int trusted, int *busy)
{
    char err[256];
    return auth_record(r, at, trusted, busy, err, sizeof err);
}

static void verify_records_nothing(void **state)
{
    (void)state;
    char hv[AUTH_HEADER_MAX], err[256];
    auth_request a, b;
    auth_sign(hv, &key, "POST", "/api/v0/shutdown", 16, "", 0, now);
    /* a refused request (verified, then refused by the route) uses nothing */
    assert_int_equal(auth_verify(hv, strlen(hv), "POST", 4, "/api/v0/shutdown", 16, "", 0, now, &a, err, 256), 0);
    assert_int_equal(auth_verify(hv, strlen(hv), "POST", 4, "/api/v0/shutdown", 16, "", 0, now, &b, err, 256), 0);
    assert_memory_equal(a.digest, b.digest, sizeof a.digest);
    int busy;
    assert_int_equal(record(&a, now, 1, &busy), 0);
    assert_int_equal(record(&b, now, 1, &busy), -1);
    assert_int_equal(busy, 0);
}

static void refused_before_the_start(void **state)
{
    (void)state;
    char hv[AUTH_HEADER_MAX], signer[IDS_LID_LEN + 1], err[256];
    assert_int_equal(auth_replay_init(now, 64, NULL, err, sizeof err), 0);
    auth_sign(hv, &key, "POST", "/api/v0/shutdown", 16, "", 0, now - 1);
    assert_int_equal(check(hv, "POST", "/api/v0/shutdown", "", now + 1, signer, err), -1);
    assert_non_null(strstr(err, "before the node started"));
    auth_sign(hv, &key, "POST", "/api/v0/shutdown", 16, "", 0, now);
    assert_int_equal(check(hv, "POST", "/api/v0/shutdown", "", now + 1, signer, err), 0);
}

/* The old ring forgot the oldest signature after 4,096 others: the set
 * refuses new ones instead, and a stranger may fill only 3/4 of it. */
static void full_set_refuses_rather_than_forgets(void **state)
{
    (void)state;
    char err[256];
    int busy;
    assert_int_equal(auth_replay_init(0, 8, NULL, err, sizeof err), 0);
    auth_request owner = verified("/api/v0/lpki/grant?arg=X", now, now);
    assert_int_equal(record(&owner, now, 1, &busy), 0);
    for (int i = 0; i < 5; i++) { /* strangers: 6 of 8 in all */
        auth_request r = verified("/api/v0/mimei/create", now, now);
        assert_int_equal(record(&r, now, 0, &busy), 0);
    }
    auth_request stranger = verified("/api/v0/mimei/create", now, now);
    assert_int_equal(record(&stranger, now, 0, &busy), -1);
    assert_int_equal(busy, 1);
    auth_request trusted = verified("/api/v0/pin/add", now, now);
    assert_int_equal(record(&trusted, now, 1, &busy), 0); /* the owner's quarter */
    trusted = verified("/api/v0/pin/add", now, now);
    assert_int_equal(record(&trusted, now, 1, &busy), 0);
    trusted = verified("/api/v0/pin/add", now, now);
    assert_int_equal(record(&trusted, now, 1, &busy), -1);
    assert_int_equal(busy, 1);
    /* full, and the first is still known */
    assert_int_equal(record(&owner, now + AUTH_WINDOW, 1, &busy), -1);
    assert_int_equal(busy, 0);
}

static void expiry_frees_room(void **state)
{
    (void)state;
    char err[256];
    int busy;
    assert_int_equal(auth_replay_init(0, 4, NULL, err, sizeof err), 0);
    auth_request early = verified("/x", now, now), late[3];
    assert_int_equal(record(&early, now, 1, &busy), 0);
    for (int i = 0; i < 3; i++) {
        late[i] = verified("/x", now + 30, now + 30);
        assert_int_equal(record(&late[i], now + 30, 1, &busy), 0);
    }
    auth_request more = verified("/x", now + 30, now + 30);
    assert_int_equal(record(&more, now + AUTH_WINDOW, 1, &busy), -1); /* early is in the window still */
    assert_int_equal(busy, 1);
    /* one second later early's timestamp is out of the window: its room is
     * free, and early itself, verified a moment before, can no longer be
     * recorded as new */
    assert_int_equal(record(&early, now + AUTH_WINDOW + 1, 1, &busy), -1);
    assert_int_equal(busy, 0);
    assert_int_equal(record(&more, now + AUTH_WINDOW + 1, 1, &busy), 0);
    for (int i = 0; i < 3; i++) /* the others are still known */
        assert_int_equal(record(&late[i], now + AUTH_WINDOW + 1, 1, &busy), -1), assert_int_equal(busy, 0);
    /* a jump far ahead frees everything */
    auth_request later = verified("/x", now + 1000, now + 1000);
    assert_int_equal(record(&later, now + 1000, 1, &busy), 0);
    for (int i = 0; i < 3; i++) {
        late[i] = verified("/x", now + 1000, now + 1000);
        assert_int_equal(record(&late[i], now + 1000, 1, &busy), 0);
    }
}

/* Every used timestamp is kept on disk and the next start refuses
 * everything up to the latest, also one signed by a clock running ahead. */
static void used_timestamps_survive_a_restart(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_auth_XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/signed-until", dir);
    assert_int_equal(auth_replay_init(now, 64, path, err, sizeof err), 0);
    int busy;
    auth_request behind = verified("/api/v0/shutdown", now + 1, now + 1);
    assert_int_equal(record(&behind, now + 1, 1, &busy), 0);

    /* restarted in the same second: what was used is refused */
    char hv[AUTH_HEADER_MAX], signer[IDS_LID_LEN + 1];
    assert_int_equal(auth_replay_init(now + 1, 64, path, err, sizeof err), 0);
    auth_sign(hv, &key, "POST", "/api/v0/shutdown", 16, "", 0, now + 1);
    assert_int_equal(check(hv, "POST", "/api/v0/shutdown", "", now + 1, signer, err), -1);
    assert_non_null(strstr(err, "before the node started"));

    /* a clock 30 s ahead: after a restart, the node refuses up to it */
    auth_request ahead = verified("/api/v0/shutdown", now + 30, now + 1);
    assert_int_equal(record(&ahead, now + 1, 1, &busy), 0);
    assert_int_equal(auth_replay_init(now + 2, 64, path, err, sizeof err), 0);
    auth_sign(hv, &key, "POST", "/api/v0/shutdown", 16, "", 0, now + 30);
    assert_int_equal(check(hv, "POST", "/api/v0/shutdown", "", now + 2, signer, err), -1);
    assert_non_null(strstr(err, "before the node started"));
    auth_sign(hv, &key, "POST", "/api/v0/shutdown", 16, "", 0, now + 31);
    assert_int_equal(check(hv, "POST", "/api/v0/shutdown", "", now + 2, signer, err), 0);

    /* a file that cannot be written: refused as busy, never accepted unkept */
    assert_int_equal(auth_replay_init(now, 64, "/nonexistent-dir/signed-until", err, sizeof err), 0);
    behind = verified("/x", now, now);
    assert_int_equal(auth_record(&behind, now, 1, &busy, err, sizeof err), -1);
    assert_int_equal(busy, 1);
    assert_non_null(strstr(err, "cannot keep"));

    unlink(path);
    rmdir(dir);
}

static int fresh_set(void **state)
{
    (void)state;
    char err[256];
    return auth_replay_init(0, AUTH_SEEN_CAPACITY, NULL, err, sizeof err);
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
        cmocka_unit_test_setup(verify_records_nothing, fresh_set),
        cmocka_unit_test_setup(refused_before_the_start, fresh_set),
        cmocka_unit_test_setup(full_set_refuses_rather_than_forgets, fresh_set),
        cmocka_unit_test_setup(expiry_frees_room, fresh_set),
        cmocka_unit_test_setup(used_timestamps_survive_a_restart, fresh_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
