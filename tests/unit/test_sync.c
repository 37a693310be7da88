/* sync records (runtime/sync/sync.h): a head or provider record read from
 * the DHT is believed only when it holds; everything else is refused with
 * a one-line reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dht.h"
#include "ids.h"
#include "mimei.h"
#include "sync.h"

static ids_key author, stranger;

/* The envelope of rec (stolen) signed by key under prefix: a new string. */
static char *envelope(const ids_key *key, const char *prefix, json_t *rec)
{
    char *text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(rec);
    size_t len = strlen(prefix) + strlen(text);
    char *msg = malloc(len + 1);
    snprintf(msg, len + 1, "%s%s", prefix, text);
    uint8_t sig[IDS_SIG_BYTES];
    ids_sign(sig, msg, len, key);
    free(msg);
    char sig64[IDS_B64URL_LEN(IDS_SIG_BYTES) + 1];
    ids_b64url_encode(sig64, sig, IDS_SIG_BYTES);
    json_t *env = json_pack("{s:s,s:s}", "Record", text, "Sig", sig64);
    char *out = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    free(text);
    return out;
}

#define BLOCK "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"

static char *head(const ids_key *key, json_t *info, json_int_t version, json_int_t t, json_int_t eol)
{
    return envelope(key, SYNC_HEAD_PREFIX,
                    json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:O}", "Type", "head", "MID", mimei_str(info, "ID"), "Version",
                              version, "Block", BLOCK, "Time", t, "EOL", eol, "Info", info));
}

/* verify text: NULL expected with a reason containing why, else a record */
static json_t *check_head(const char *text, const char *mid, const char *why)
{
    char err[256] = "";
    json_t *rec = sync_verify_head((const uint8_t *)text, strlen(text), mid, err, sizeof err);
    if (why) {
        assert_null(rec);
        if (!strstr(err, why))
            fail_msg("wanted '%s', got '%s'", why, err);
        assert_null(strchr(err, '\n'));
    } else {
        if (!rec)
            fail_msg("refused: %s", err);
    }
    return rec;
}

static void test_heads(void **state)
{
    (void)state;
    json_int_t now = (json_int_t)time(NULL);
    json_t *info = mimei_new(&author, "file", "", "", MIMEI_RIGHT_READ);
    json_t *private_info = mimei_new(&author, "file", "", "", 0);
    const char *mid = mimei_str(info, "ID");

    char *good = head(&author, info, 3, now, now + 3600);
    json_t *rec = check_head(good, mid, NULL);
    assert_int_equal(3, json_integer_value(json_object_get(rec, "Version")));
    json_decref(rec);
    json_decref(check_head(good, NULL, NULL));
    check_head(good, mimei_str(private_info, "ID"), "where");

    /* the Version changed after signing */
    char *tampered = strdup(good), *at = strstr(tampered, "\\\"Version\\\":3");
    assert_non_null(at);
    at[strlen("\\\"Version\\\":")] = '9';
    check_head(tampered, mid, "bad signature");
    free(tampered);

    char *forged = head(&stranger, info, 4, now, now + 3600);
    check_head(forged, mid, "bad signature");
    char *priv = head(&author, private_info, 1, now, now + 3600);
    check_head(priv, NULL, "private MiMei");
    char *expired = head(&author, info, 1, now - 7200, now - 1);
    check_head(expired, mid, "past its EOL");
    char *ahead = head(&author, info, 1, now + DHT_RECORD_AHEAD + 60, now + 7200);
    check_head(ahead, mid, "from the future");
    char *zero = head(&author, info, 0, now, now + 3600);
    check_head(zero, mid, "wrong shape");

    check_head("{\"Record\": \"{}\"", mid, "not a head record");
    check_head("[1,2]", mid, "not a head record");
    check_head("{\"Record\": \"{}\", \"Sig\": \"abc\"}", mid, "not 64 bytes");
    char *big = malloc(DHT_VALUE_MAX + 100);
    memset(big, ' ', DHT_VALUE_MAX + 99);
    big[DHT_VALUE_MAX + 99] = 0;
    check_head(big, mid, "larger than 4096");
    free(big);

    free(good), free(forged), free(priv), free(expired), free(ahead), free(zero);
    json_decref(info);
    json_decref(private_info);
}

static char *provider(const ids_key *key, const char *mid, const char *id, json_int_t t)
{
    char pk64[IDS_B64URL_LEN(IDS_PK_BYTES) + 1];
    ids_b64url_encode(pk64, key->pk, IDS_PK_BYTES);
    return envelope(key, SYNC_PROV_PREFIX,
                    json_pack("{s:s,s:s,s:s,s:s,s:i,s:[s],s:I}", "Type", "provider", "MID", mid, "ID", id,
                              "PublicKey", pk64, "Version", 2, "Addrs", "/ip4/127.0.0.1/tcp/4800", "Time", t));
}

static void check_provider(const char *text, const char *mid, const char *why)
{
    char err[256] = "";
    json_t *rec = sync_verify_provider((const uint8_t *)text, strlen(text), mid, err, sizeof err);
    if (why) {
        assert_null(rec);
        if (!strstr(err, why))
            fail_msg("wanted '%s', got '%s'", why, err);
    } else if (!rec) {
        fail_msg("refused: %s", err);
    }
    json_decref(rec);
}

static void test_providers(void **state)
{
    (void)state;
    json_int_t now = (json_int_t)time(NULL);
    char id[IDS_LID_LEN + 1], other[IDS_LID_LEN + 1];
    ids_leither_id(id, author.pk);
    ids_leither_id(other, stranger.pk);
    const char *mid = "AAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char *good = provider(&author, mid, id, now);
    check_provider(good, mid, NULL);
    check_provider(good, "BBBBBBBBBBBBBBBBBBBBBBBBBBB", "where");
    char *claimed = provider(&stranger, mid, id, now); /* another key claiming author's ID */
    check_provider(claimed, mid, "not that ID's");
    char *stale = provider(&author, mid, id, now - DHT_RECORD_STALE - 60);
    check_provider(stale, mid, "stale");
    char *tampered = strdup(good), *at = strstr(tampered, "127.0.0.1");
    at[0] = '8';
    check_provider(tampered, mid, "bad signature");
    free(good), free(claimed), free(stale), free(tampered);
}

int main(void)
{
    if (ids_init() != 0)
        return 1;
    ids_key_generate(&author);
    ids_key_generate(&stranger);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heads),
        cmocka_unit_test(test_providers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
