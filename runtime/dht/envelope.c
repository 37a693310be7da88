/* envelope: what every value Leither puts in the DHT shares (dht.h): the
 * signed wrapping, the address lists, the rate-limited skip line. */
#include "dht.h"

#include "errbuf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* prefix then text, the bytes a signature covers: malloc'd, *len set */
static char *signed_bytes(const char *prefix, const char *text, size_t *len)
{
    size_t plen = strlen(prefix), tlen = strlen(text);
    char *msg = malloc(plen + tlen + 1);
    if (msg) {
        memcpy(msg, prefix, plen);
        memcpy(msg + plen, text, tlen + 1);
        *len = plen + tlen;
    }
    return msg;
}

char *dht_envelope_sign(const ids_key *key, const char *prefix, const json_t *rec)
{
    char *text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER), *out = NULL;
    size_t len = 0;
    char *msg = text ? signed_bytes(prefix, text, &len) : NULL;
    if (msg) {
        uint8_t sig[IDS_SIG_BYTES];
        ids_sign(sig, msg, len, key);
        char sig64[IDS_B64URL_LEN(IDS_SIG_BYTES) + 1];
        ids_b64url_encode(sig64, sig, IDS_SIG_BYTES);
        json_t *env = json_pack("{s:s,s:s}", "Record", text, "Sig", sig64);
        out = env ? json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(env);
    }
    free(msg);
    free(text);
    if (out && strlen(out) > DHT_VALUE_MAX) {
        free(out);
        out = NULL;
    }
    return out;
}

json_t *dht_envelope_open(const uint8_t *value, size_t len, const char *what, dht_signature *s, char *err,
                          size_t errlen)
{
    s->text = NULL;
    if (len > DHT_VALUE_MAX) {
        ERR("a value larger than %d bytes", DHT_VALUE_MAX);
        return NULL;
    }
    json_error_t jerr;
    json_t *env = json_loadb((const char *)value, len, JSON_REJECT_DUPLICATES, &jerr), *rec = NULL;
    const char *text = json_string_value(json_object_get(env, "Record"));
    const char *sig64 = json_string_value(json_object_get(env, "Sig"));
    uint8_t raw[IDS_SIG_BYTES + 1];
    size_t n = 0;
    if (!json_is_object(env) || !text || !sig64)
        ERR("not a %s record", what);
    else if (ids_b64url_decode(raw, sizeof raw, &n, sig64, strlen(sig64)) != 0 || n != IDS_SIG_BYTES)
        ERR("a %s record whose signature is not 64 bytes", what);
    else if (!(rec = json_loads(text, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(rec))
        ERR("a %s record that is not a JSON object", what); /* (json_is_object evaluates its argument twice) */
    else if (!(s->text = strdup(text)))
        ERR("out of memory");
    else
        memcpy(s->sig, raw, IDS_SIG_BYTES);
    json_decref(env);
    if (!s->text) {
        json_decref(rec);
        return NULL;
    }
    return rec;
}

int dht_signature_holds(const dht_signature *s, const char *prefix, const uint8_t pk[IDS_PK_BYTES])
{
    size_t len = 0;
    char *msg = s->text ? signed_bytes(prefix, s->text, &len) : NULL;
    int ok = msg && ids_verify(s->sig, msg, len, pk) == 0;
    free(msg);
    return ok;
}

void dht_signature_free(dht_signature *s)
{
    free(s->text);
    s->text = NULL;
}

int dht_valid_addrs(const json_t *arr)
{
    if (!json_is_array(arr) || json_array_size(arr) > DHT_ADDRS_MAX)
        return 0;
    size_t i;
    const json_t *a;
    json_array_foreach(arr, i, a)
    {
        const char *s = json_string_value(a);
        if (!s || strlen(s) > DHT_ADDR_MAX || (strncmp(s, "/ip4/", 5) && strncmp(s, "/ip6/", 5)))
            return 0;
    }
    return 1;
}

void dht_skip_log_init(dht_skip_log *s)
{
    pthread_mutex_init(&s->lock, NULL);
    s->minute = 0;
    s->count = 0;
}

void dht_skipped(dht_skip_log *s, const char *who, const char *why)
{
    int64_t minute = (int64_t)time(NULL) / 60;
    pthread_mutex_lock(&s->lock);
    if (minute != s->minute)
        s->minute = minute, s->count = 0;
    int log = s->count++ < DHT_SKIP_LOGS_MAX;
    pthread_mutex_unlock(&s->lock);
    if (log)
        log_line(LOG_LEVEL_WARN, NULL, "%s: skipped %s", who, why);
}
