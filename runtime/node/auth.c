/* auth: signed API requests and RESP tokens (node.h, the auth section). */
#include "node.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
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

/* --- the set of used requests --------------------------------------------
 * Entries live in one array, linked into hash buckets (by digest) and into
 * lists by the second they expire in, so that expiry is a walk of the lists
 * whose second has come, not a scan. Links are index + 1; 0 ends a list. */
#define EXPIRY_SLOTS (2 * AUTH_WINDOW + 2) /* expiries are 1 to 2W+1 seconds ahead */

typedef struct {
    uint8_t digest[16];
    int64_t expires; /* the first second in which the window refuses it anyway */
    uint32_t next_in_bucket;
    uint32_t next_in_second; /* also links the free list */
} seen_entry;

static struct {
    pthread_mutex_t lock;
    int ready;
    int64_t not_before;
    uint8_t secret[16]; /* keys the digests, so nobody can aim requests at one bucket */
    seen_entry *entry;
    size_t capacity, used, fresh; /* entry[fresh..] never used yet */
    uint32_t free_list;
    uint32_t *bucket;
    size_t buckets; /* a power of two */
    uint32_t expiring[EXPIRY_SLOTS];
    int64_t swept; /* every second up to this one has been swept */
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The latest timestamp a used request carried, and the file that keeps it
 * across restarts; a lock of its own, so the set is not held while the
 * file is written. */
static struct {
    pthread_mutex_t lock;
    char *path;
    int64_t saved;
} until = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Reads until_path: 0 when there is none. */
static int64_t until_read(const char *path)
{
    FILE *fp = path ? fopen(path, "re") : NULL;
    long long v = 0;
    if (fp) {
        if (fscanf(fp, "%lld", &v) != 1 || v < 0)
            v = 0;
        fclose(fp);
    }
    return (int64_t)v;
}

/* Called after ts was recorded, before the request is accepted: keeps ts
 * when it is the latest so far (timestamps are whole seconds, so this
 * writes about once a second at most). 0, or -1 when it could not. */
static int until_keep(int64_t ts, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&until.lock);
    if (until.path && ts > until.saved) {
        char text[32], why[512];
        int n = snprintf(text, sizeof text, "%" PRId64, ts);
        if (atomicfile_write(until.path, text, (size_t)n, 0600, why, sizeof why) == 0)
            until.saved = ts;
        else
            rc = ERR("cannot keep the signed timestamp: %s", why);
    }
    pthread_mutex_unlock(&until.lock);
    return rc;
}

/* Called with the lock held. */
static int seen_setup(int64_t not_before, size_t capacity, char *err, size_t errlen)
{
    if (capacity < 4 || capacity > UINT32_MAX / 2)
        return ERR("replay set capacity %zu out of range", capacity);
    size_t buckets = 1;
    while (buckets < capacity)
        buckets <<= 1;
    /* calloc: pages are touched only as the set fills */
    seen_entry *entry = calloc(capacity, sizeof *entry);
    uint32_t *bucket = calloc(buckets, sizeof *bucket);
    if (!entry || !bucket) {
        free(entry);
        free(bucket);
        return ERR("out of memory for the replay set (%zu entries)", capacity);
    }
    free(seen.entry);
    free(seen.bucket);
    seen.entry = entry;
    seen.bucket = bucket;
    seen.buckets = buckets;
    seen.capacity = capacity;
    seen.used = seen.fresh = 0;
    seen.free_list = 0;
    memset(seen.expiring, 0, sizeof seen.expiring);
    seen.swept = 0;
    seen.not_before = not_before;
    ids_random(seen.secret, sizeof seen.secret);
    seen.ready = 1;
    return 0;
}

int auth_replay_init(int64_t not_before, size_t capacity, const char *until_path, char *err, size_t errlen)
{
    pthread_mutex_lock(&until.lock);
    free(until.path);
    until.path = until_path ? strdup(until_path) : NULL;
    until.saved = until_read(until_path);
    if (until.saved >= not_before)
        not_before = until.saved + 1;
    pthread_mutex_unlock(&until.lock);
    pthread_mutex_lock(&seen.lock);
    int rc = seen_setup(not_before, capacity, err, errlen);
    pthread_mutex_unlock(&seen.lock);
    return rc;
}

int64_t auth_not_before(void)
{
    pthread_mutex_lock(&seen.lock);
    int64_t v = seen.not_before;
    pthread_mutex_unlock(&seen.lock);
    return v;
}

/* The secret and the lower bound, setting up the default set on first use. */
static int seen_params(uint8_t secret[16], int64_t *not_before, char *err, size_t errlen)
{
    pthread_mutex_lock(&seen.lock);
    int rc = seen.ready ? 0 : seen_setup(0, AUTH_SEEN_CAPACITY, err, errlen);
    memcpy(secret, seen.secret, 16);
    *not_before = seen.not_before;
    pthread_mutex_unlock(&seen.lock);
    return rc;
}

static uint32_t *bucket_of(const uint8_t digest[16])
{
    uint32_t h;
    memcpy(&h, digest, sizeof h);
    return &seen.bucket[h & (seen.buckets - 1)];
}

/* Frees the entries whose second has come. Called with the lock held. */
static void seen_sweep(int64_t now)
{
    if (now <= seen.swept)
        return; /* also when the clock went back: entries then simply stay longer */
    int64_t from = now - seen.swept > EXPIRY_SLOTS ? now - EXPIRY_SLOTS + 1 : seen.swept + 1;
    if (from < 0)
        from = 0;
    for (int64_t second = from; second <= now; second++) {
        uint32_t *slot = &seen.expiring[second % EXPIRY_SLOTS], keep = 0;
        for (uint32_t i = *slot, next; i; i = next) {
            seen_entry *e = &seen.entry[i - 1];
            next = e->next_in_second;
            if (e->expires > now) { /* put there while the clock was behind */
                e->next_in_second = keep;
                keep = i;
                continue;
            }
            uint32_t *link = bucket_of(e->digest);
            while (*link != i)
                link = &seen.entry[*link - 1].next_in_bucket;
            *link = e->next_in_bucket;
            e->next_in_second = seen.free_list;
            seen.free_list = i;
            seen.used--;
        }
        *slot = keep;
    }
    seen.swept = now;
}

int auth_record(const auth_request *r, int64_t now, int trusted, int *busy, char *err, size_t errlen)
{
    *busy = 0;
    pthread_mutex_lock(&seen.lock);
    if (!seen.ready && seen_setup(0, AUTH_SEEN_CAPACITY, err, errlen) != 0) {
        pthread_mutex_unlock(&seen.lock);
        *busy = 1;
        return -1;
    }
    seen_sweep(now);
    uint32_t *head = bucket_of(r->digest), i;
    for (i = *head; i && memcmp(seen.entry[i - 1].digest, r->digest, 16); i = seen.entry[i - 1].next_in_bucket)
        ;
    int rc = 0;
    if (r->ts < now - AUTH_WINDOW) { /* its entry may have expired since auth_verify */
        rc = ERR("signature timestamp is more than %d seconds from the node's clock", AUTH_WINDOW);
    } else if (i) {
        rc = ERR("replayed request: this signature was already used");
    } else if (seen.used >= (trusted ? seen.capacity : seen.capacity - seen.capacity / 4)) {
        *busy = 1;
        rc = ERR("too many signed requests in the last %d seconds: try again shortly", 2 * AUTH_WINDOW);
    } else {
        if (seen.free_list) {
            i = seen.free_list;
            seen.free_list = seen.entry[i - 1].next_in_second;
        } else {
            i = (uint32_t)++seen.fresh;
        }
        seen_entry *e = &seen.entry[i - 1];
        memcpy(e->digest, r->digest, 16);
        e->expires = r->ts + AUTH_WINDOW + 1;
        e->next_in_bucket = *head;
        *head = i;
        uint32_t *slot = &seen.expiring[e->expires % EXPIRY_SLOTS];
        e->next_in_second = *slot;
        *slot = i;
        seen.used++;
    }
    pthread_mutex_unlock(&seen.lock);
    if (rc == 0 && until_keep(r->ts, err, errlen) != 0) {
        *busy = 1;
        rc = -1;
    }
    return rc;
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

int auth_verify(const char *value, size_t valuelen, const char *method, size_t methodlen, const char *path,
                size_t pathlen, const void *body, size_t bodylen, int64_t now, auth_request *out, char *err,
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
    uint8_t secret[16];
    int64_t not_before;
    if (seen_params(secret, &not_before, err, errlen) != 0)
        return -1;
    if (ts < not_before)
        return ERR("signed before the node started (at %" PRId64 "): sign the request again", not_before);

    /* room in front of the text for the digest's secret and key */
    size_t pre = sizeof secret + IDS_PK_BYTES, cap = pathlen + methodlen + nl + 160;
    char *buf = malloc(pre + cap);
    if (!buf)
        return ERR("out of memory");
    size_t tn = signed_text(buf + pre, cap, method, methodlen, path, pathlen, body, bodylen, ts, nonce, nl);
    int bad = ids_verify(sig, buf + pre, tn, pk);
    if (!bad) {
        /* the digest names what was signed, not the signature's bytes, so
         * that another encoding of the same signature is the same request */
        uint8_t h[IDS_SHA256_BYTES];
        memcpy(buf, secret, sizeof secret);
        memcpy(buf + sizeof secret, pk, IDS_PK_BYTES);
        ids_sha256(h, buf, pre + tn);
        memcpy(out->digest, h, sizeof out->digest);
        out->ts = ts;
        ids_leither_id(out->signer, pk);
    }
    free(buf);
    return bad ? ERR("bad signature") : 0;
}

int auth_check(const char *value, size_t valuelen, const char *method, size_t methodlen, const char *path,
               size_t pathlen, const void *body, size_t bodylen, int64_t now, char signer[IDS_LID_LEN + 1], char *err,
               size_t errlen)
{
    auth_request r;
    int busy;
    if (auth_verify(value, valuelen, method, methodlen, path, pathlen, body, bodylen, now, &r, err, errlen) != 0 ||
        auth_record(&r, now, 1, &busy, err, errlen) != 0)
        return -1;
    memcpy(signer, r.signer, sizeof r.signer);
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
