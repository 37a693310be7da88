/* auth: see auth.h. */
#include "auth.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

/* The signed text: fixed prefix, method, path, body hash, timestamp. */
static size_t signed_text(char *out, size_t cap, const char *method, size_t methodlen, const char *path,
                          size_t pathlen, const void *body, size_t bodylen, int64_t ts, const char *nonce,
                          size_t noncelen)
{
    uint8_t h[IDS_SHA256_BYTES];
    char hex[2 * IDS_SHA256_BYTES + 1];
    ids_sha256(h, body, bodylen);
    ids_hex_encode(hex, h, sizeof h);
    int n = snprintf(out, cap, "LEITHER-API-V1\n%.*s\n%.*s\n%s\n%" PRId64 "\n%.*s", (int)methodlen, method,
                     (int)pathlen, path, hex, ts, (int)noncelen, nonce);
    return n < 0 ? 0 : (size_t)n;
}

void auth_sign(char out[AUTH_HEADER_MAX], const ids_key *key, const char *method, const char *path, size_t pathlen,
               const void *body, size_t bodylen, int64_t now)
{
    uint8_t raw[AUTH_NONCE_BYTES];
    char nonce[IDS_B64URL_LEN(AUTH_NONCE_BYTES) + 1];
    ids_random(raw, sizeof raw);
    ids_b64url_encode(nonce, raw, sizeof raw);
    size_t cap = pathlen + strlen(method) + 160;
    char *text = malloc(cap);
    size_t n = signed_text(text, cap, method, strlen(method), path, pathlen, body, bodylen, now, nonce, strlen(nonce));
    uint8_t sig[IDS_SIG_BYTES];
    ids_sign(sig, text, n, key);
    free(text);
    char k64[IDS_B64URL_LEN(IDS_PK_BYTES) + 1], s64[IDS_B64URL_LEN(IDS_SIG_BYTES) + 1];
    ids_b64url_encode(k64, key->pk, IDS_PK_BYTES);
    ids_b64url_encode(s64, sig, IDS_SIG_BYTES);
    snprintf(out, AUTH_HEADER_MAX, "Leither key=%s,ts=%" PRId64 ",nonce=%s,sig=%s", k64, now, nonce, s64);
}

/* Signatures seen in the last window, so each is accepted once. Fixed size:
 * when full, the oldest entry goes, and the window check covers it because an
 * entry only leaves after AUTH_WINDOW or when 4096 newer writes arrived. */
#define SEEN_SLOTS 4096
static struct {
    pthread_mutex_t lock;
    struct {
        uint8_t sig[16];
        int64_t ts;
    } slot[SEEN_SLOTS];
    size_t next;
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int seen_before(const uint8_t sig[IDS_SIG_BYTES], int64_t now)
{
    int found = 0;
    pthread_mutex_lock(&seen.lock);
    for (size_t i = 0; i < SEEN_SLOTS && !found; i++)
        found = seen.slot[i].ts > now - 2 * AUTH_WINDOW && !memcmp(seen.slot[i].sig, sig, 16);
    if (!found) {
        memcpy(seen.slot[seen.next].sig, sig, 16);
        seen.slot[seen.next].ts = now;
        seen.next = (seen.next + 1) % SEEN_SLOTS;
    }
    pthread_mutex_unlock(&seen.lock);
    return found;
}

/* Finds "name=" in a comma-separated list; returns the value's span. */
static int param(const char *v, size_t n, const char *name, const char **out, size_t *outlen)
{
    size_t nl = strlen(name);
    const char *p = v, *end = v + n;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if ((size_t)(stop - p) > nl && !memcmp(p, name, nl) && p[nl] == '=') {
            *out = p + nl + 1;
            *outlen = (size_t)(stop - *out);
            return 0;
        }
        p = stop;
    }
    return -1;
}

int auth_check(const char *value, size_t valuelen, const char *method, size_t methodlen, const char *path,
               size_t pathlen, const void *body, size_t bodylen, int64_t now, char signer[IDS_LID_LEN + 1], char *err,
               size_t errlen)
{
    static const char scheme[] = "Leither ";
    if (!value)
        return ERR("this request changes state and needs a signed Authorization header");
    if (valuelen < sizeof scheme || memcmp(value, scheme, sizeof scheme - 1))
        return ERR("Authorization scheme must be \"Leither\"");
    const char *v = value + sizeof scheme - 1, *k, *t, *s, *nonce;
    size_t n = valuelen - (sizeof scheme - 1), kl, tl, sl, nl;
    if (param(v, n, "key", &k, &kl) || param(v, n, "ts", &t, &tl) || param(v, n, "nonce", &nonce, &nl) ||
        param(v, n, "sig", &s, &sl))
        return ERR("Authorization needs key=, ts=, nonce= and sig=");
    if (nl == 0 || nl > 64)
        return ERR("Authorization nonce= must be 1 to 64 characters");

    uint8_t pk[IDS_PK_BYTES + 1], sig[IDS_SIG_BYTES + 1];
    size_t got;
    if (ids_b64url_decode(pk, sizeof pk, &got, k, kl) || got != IDS_PK_BYTES)
        return ERR("Authorization key= is not a base64url ed25519 public key");
    if (ids_b64url_decode(sig, sizeof sig, &got, s, sl) || got != IDS_SIG_BYTES)
        return ERR("Authorization sig= is not a base64url ed25519 signature");
    int64_t ts = 0;
    if (tl == 0 || tl > 12)
        return ERR("Authorization ts= is not a unix time");
    for (size_t i = 0; i < tl; i++) {
        if (t[i] < '0' || t[i] > '9')
            return ERR("Authorization ts= is not a unix time");
        ts = ts * 10 + (t[i] - '0');
    }
    if (ts < now - AUTH_WINDOW || ts > now + AUTH_WINDOW)
        return ERR("signature timestamp is more than %d seconds from the node's clock", AUTH_WINDOW);

    size_t cap = pathlen + methodlen + nl + 160;
    char *text = malloc(cap);
    if (!text)
        return ERR("out of memory");
    size_t tn = signed_text(text, cap, method, methodlen, path, pathlen, body, bodylen, ts, nonce, nl);
    int bad = ids_verify(sig, text, tn, pk);
    free(text);
    if (bad)
        return ERR("bad signature");
    if (seen_before(sig, now))
        return ERR("replayed request: this signature was already used");
    ids_leither_id(signer, pk);
    return 0;
}

int auth_token_make(char *out, size_t cap, const ids_key *key, int64_t exp)
{
    char lid[IDS_LID_LEN + 1], pub[IDS_B64URL_LEN(IDS_PK_BYTES) + 1];
    ids_leither_id(lid, key->pk);
    ids_b64url_encode(pub, key->pk, IDS_PK_BYTES);
    char payload[256];
    int n = snprintf(payload, sizeof payload, "{\"id\":\"%s\",\"pk\":\"%s\",\"exp\":%" PRId64 "}", lid, pub, exp);
    uint8_t sig[IDS_SIG_BYTES];
    ids_sign(sig, payload, (size_t)n, key);
    char p64[IDS_B64URL_LEN(sizeof payload) + 1], s64[IDS_B64URL_LEN(IDS_SIG_BYTES) + 1];
    ids_b64url_encode(p64, (const uint8_t *)payload, (size_t)n);
    ids_b64url_encode(s64, sig, sizeof sig);
    return snprintf(out, cap, "LT1.%s.%s", p64, s64) < (int)cap ? 0 : -1;
}

int auth_token_check(const char *token, int64_t now, char id[IDS_LID_LEN + 1], char *err, size_t errlen)
{
    const char *dot;
    if (strncmp(token, "LT1.", 4) || !(dot = strchr(token + 4, '.')))
        return ERR("not a Leither token");
    uint8_t payload[300], sig[IDS_SIG_BYTES + 1], pk[IDS_PK_BYTES + 1];
    size_t plen, slen, klen;
    if (ids_b64url_decode(payload, sizeof payload - 1, &plen, token + 4, (size_t)(dot - token - 4)) ||
        ids_b64url_decode(sig, sizeof sig, &slen, dot + 1, strlen(dot + 1)) || slen != IDS_SIG_BYTES)
        return ERR("not a Leither token");
    payload[plen] = '\0';
    json_t *doc = json_loads((const char *)payload, 0, NULL);
    const char *tid = NULL, *tpk = NULL;
    json_int_t exp = 0;
    int rc = -1;
    if (!doc || json_unpack(doc, "{s:s,s:s,s:I}", "id", &tid, "pk", &tpk, "exp", &exp))
        ERR("not a Leither token");
    else if (ids_b64url_decode(pk, sizeof pk, &klen, tpk, strlen(tpk)) || klen != IDS_PK_BYTES)
        ERR("the token's key is not an ed25519 key");
    else if (ids_verify(sig, payload, plen, pk) != 0)
        ERR("bad token signature");
    else if (ids_leither_id(id, pk), strcmp(id, tid) != 0)
        ERR("the token's id is not its key's");
    else if (exp < now)
        ERR("the token expired");
    else
        rc = 0;
    json_decref(doc);
    return rc;
}

int64_t auth_token_expiry(const char *token)
{
    const char *dot;
    uint8_t payload[300];
    size_t plen;
    if (strncmp(token, "LT1.", 4) || !(dot = strchr(token + 4, '.')) ||
        ids_b64url_decode(payload, sizeof payload - 1, &plen, token + 4, (size_t)(dot - token - 4)))
        return 0;
    json_t *doc = json_loadb((const char *)payload, plen, 0, NULL);
    json_int_t exp = 0;
    if (!doc || json_unpack(doc, "{s:I}", "exp", &exp))
        exp = 0;
    json_decref(doc);
    return exp;
}
