/* dht (runtime/dht/dht.h): mailboxes hand results to the loop that drains
 * them, and a value read from the DHT is believed only when it holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../runtime/dht/internal.h"
#include "dht.h"
#include "ids.h"

/* --- mailboxes ----------------------------------------------------------- */

typedef struct {
    pthread_t drainer;
    int values, dones, wrong_thread, last;
    size_t last_len;
} seen;

static void count_value(void *ctx, const uint8_t *data, size_t len)
{
    seen *s = ctx;
    s->wrong_thread |= !pthread_equal(s->drainer, pthread_self());
    if (len == sizeof(int)) {
        int v;
        memcpy(&v, data, sizeof v);
        s->wrong_thread |= v != s->last + 1; /* in order */
        s->last = v;
    }
    s->last_len = len;
    s->values++;
}

static void count_done(void *ctx, int ok)
{
    seen *s = ctx;
    s->wrong_thread |= !pthread_equal(s->drainer, pthread_self()) || !ok;
    s->dones++;
}

typedef struct {
    dht_mailbox *mb;
    seen *s;
    int n;
} poster;

static void *post_from_another_thread(void *arg)
{
    poster *p = arg;
    for (int i = 1; i <= p->n; i++)
        dht_mailbox_post_value(p->mb, count_value, p->s, (const uint8_t *)&i, sizeof i);
    dht_mailbox_post_done(p->mb, count_done, p->s, 1);
    return NULL;
}

static int readable(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, ms) == 1;
}

static void results_run_on_the_draining_thread(void **state)
{
    (void)state;
    char err[128];
    dht_mailbox *mb = dht_mailbox_new(err, sizeof err);
    assert_non_null(mb);
    seen s = {.drainer = pthread_self()};
    poster p = {mb, &s, 100};
    assert_false(readable(dht_mailbox_fd(mb), 0));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, post_from_another_thread, &p), 0);
    while (s.dones == 0) {
        assert_true(readable(dht_mailbox_fd(mb), 5000));
        dht_mailbox_drain(mb);
    }
    pthread_join(t, NULL);
    assert_int_equal(s.values, 100);
    assert_int_equal(s.wrong_thread, 0);
    assert_false(readable(dht_mailbox_fd(mb), 0)); /* nothing left: the pipe is empty */
    dht_mailbox_free(mb);
}

static void a_flood_costs_bounded_memory(void **state)
{
    (void)state;
    char err[128];
    dht_mailbox *mb = dht_mailbox_new(err, sizeof err);
    seen s = {.drainer = pthread_self()};
    poster p = {mb, &s, DHT_MAILBOX_MAX + 100};
    post_from_another_thread(&p); /* the done is dropped too: the queue is full */
    dht_mailbox_drain(mb);
    assert_int_equal(s.values, DHT_MAILBOX_MAX);
    assert_int_equal(s.dones, 0);
    /* an oversize value is cut to one byte more than allowed: enough to refuse it */
    static uint8_t big[DHT_VALUE_MAX * 2];
    dht_mailbox_post_value(mb, count_value, &s, big, sizeof big);
    dht_mailbox_drain(mb);
    assert_int_equal(s.last_len, DHT_VALUE_MAX + 1);
    dht_mailbox_free(mb);
}

static void keys_are_opendht_infohashes(void **state)
{
    (void)state;
    dht_key k;
    dht_key_of(&k, "leither/nodes"); /* sha1sum of the name, as dhtnode's `g leither/nodes` */
    char hex[2 * DHT_KEY_BYTES + 1];
    ids_hex_encode(hex, k.b, DHT_KEY_BYTES);
    assert_string_equal(hex, "6962f0a040519d17b6cdc09fa89229c74db9d0dc");
}

/* --- records --------------------------------------------------------------- */

static ids_key key, other;

/* An envelope of a record with these fields, signed by signer. */
static char *envelope(const ids_key *signer, const char *id, int64_t t, json_t *addrs, int tamper)
{
    char lid[IDS_LID_LEN + 1], pk64[IDS_B64URL_LEN(IDS_PK_BYTES) + 1];
    ids_leither_id(lid, signer->pk);
    ids_b64url_encode(pk64, signer->pk, IDS_PK_BYTES);
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:o,s:[],s:s,s:I}", "Type", "node", "ID", id ? id : lid, "PeerID",
                            "12D3KooWtest", "PublicKey", pk64, "Addrs", addrs, "RespAddrs", "Agent", "test", "Time",
                            (json_int_t)t);
    char *text = json_dumps(rec, JSON_COMPACT);
    char msg[4096];
    int len = snprintf(msg, sizeof msg, "LEITHER-DHT-NODE-V1\n%s", text);
    uint8_t sig[IDS_SIG_BYTES];
    ids_sign(sig, msg, (size_t)len, signer);
    if (tamper)
        text[strlen(text) - 2] ^= 1; /* a digit of the time */
    char sig64[IDS_B64URL_LEN(IDS_SIG_BYTES) + 1];
    ids_b64url_encode(sig64, sig, IDS_SIG_BYTES);
    json_t *env = json_pack("{s:s,s:s}", "Record", text, "Sig", sig64);
    char *out = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    json_decref(rec);
    free(text);
    return out;
}

/* presence_verify_record's reason for env, or "" when it holds */
static const char *verdict(char *env, const char *asked)
{
    static char err[256];
    json_t *entry = presence_verify_record((const uint8_t *)env, strlen(env), asked, err, sizeof err);
    free(env);
    if (entry) {
        json_decref(entry);
        return "";
    }
    return err;
}

static json_t *one_addr(void) { return json_pack("[s]", "/ip4/127.0.0.1/tcp/4800"); }

static void records_are_believed_only_when_they_hold(void **state)
{
    (void)state;
    int64_t now = (int64_t)time(NULL);
    char lid[IDS_LID_LEN + 1], other_id[IDS_LID_LEN + 1];
    ids_leither_id(lid, key.pk);
    ids_leither_id(other_id, other.pk);

    char *env = envelope(&key, NULL, now, one_addr(), 0);
    char err[256];
    json_t *entry = presence_verify_record((const uint8_t *)env, strlen(env), lid, err, sizeof err);
    free(env);
    assert_non_null(entry);
    assert_string_equal(json_string_value(json_object_get(entry, "ID")), lid);
    assert_string_equal(json_string_value(json_array_get(json_object_get(entry, "Addrs"), 0)),
                        "/ip4/127.0.0.1/tcp/4800");
    json_decref(entry);

    assert_non_null(strstr(verdict(envelope(&key, NULL, now, one_addr(), 1), NULL), "bad signature"));
    assert_non_null(strstr(verdict(envelope(&key, NULL, now - DHT_RECORD_STALE - 5, one_addr(), 0), NULL), "stale"));
    assert_non_null(strstr(verdict(envelope(&key, NULL, now + DHT_RECORD_AHEAD + 60, one_addr(), 0), NULL), "stale"));
    /* another key claiming lid */
    assert_non_null(strstr(verdict(envelope(&other, lid, now, one_addr(), 0), NULL), "not that ID's"));
    /* a valid record, but not the one asked for */
    assert_non_null(strstr(verdict(envelope(&other, NULL, now, one_addr(), 0), lid), "was asked for"));
    assert_non_null(strstr(verdict(envelope(&key, NULL, now, json_pack("[s]", "http://evil/"), 0), NULL), "shape"));
    json_t *many = json_array();
    for (int i = 0; i < 17; i++)
        json_array_append_new(many, json_string("/ip4/10.0.0.1/tcp/1"));
    assert_non_null(strstr(verdict(envelope(&key, NULL, now, many, 0), NULL), "shape"));
    assert_non_null(strstr(verdict(strdup("not json"), NULL), "not a node record"));
    assert_non_null(strstr(verdict(strdup("{\"Record\":\"{}\",\"Sig\":\"AAAA\"}"), NULL), "64 bytes"));
    char *big = malloc(DHT_VALUE_MAX + 2);
    memset(big, ' ', DHT_VALUE_MAX + 1);
    big[DHT_VALUE_MAX + 1] = '\0';
    assert_non_null(strstr(verdict(big, NULL), "larger than 4096"));
}

int main(void)
{
    if (ids_init() != 0)
        return 1;
    ids_key_generate(&key);
    ids_key_generate(&other);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(results_run_on_the_draining_thread),
        cmocka_unit_test(a_flood_costs_bounded_memory),
        cmocka_unit_test(keys_are_opendht_infohashes),
        cmocka_unit_test(records_are_believed_only_when_they_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
