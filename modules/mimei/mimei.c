/* mimei: see mimei.h. */
#include "mimei.h"

#include "errbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void mimei_id(char *out, const char *author, const char *apptype, const char *ext, const char *mark)
{
    size_t n = strlen(author) + strlen(apptype) + strlen(ext) + strlen(mark) + 4;
    char *text = malloc(n);
    int len = snprintf(text, n, "%s\n%s\n%s\n%s", author, apptype, ext, mark);
    uint8_t h[IDS_HASH160_BYTES];
    ids_blake2b(h, sizeof h, text, (size_t)len);
    free(text);
    ids_b64url_encode(out, h, sizeof h);
}

const char *mimei_str(const json_t *info, const char *field)
{
    const char *s = json_string_value(json_object_get(info, field));
    return s ? s : "";
}

int mimei_right(const json_t *info) { return (int)json_integer_value(json_object_get(info, "Right")); }

static int is_id(const char *who) { return who && ids_is_leither_id(who); }

int mimei_is_granted(const char *id, const char *owner, const json_t *grants)
{
    if (!is_id(id))
        return 0;
    if (owner && !strcmp(id, owner))
        return 1;
    size_t i;
    json_t *item;
    json_array_foreach(grants, i, item)
    {
        const char *g = json_string_value(item);
        if (g && !strcmp(g, id))
            return 1;
    }
    return 0;
}

int mimei_may_write(const json_t *info, const char *who, const char *owner, const json_t *grants)
{
    if (!info || !is_id(who))
        return 0;
    const char *author = mimei_str(info, "Author");
    if (!strcmp(who, author))
        return 1;
    return owner && !strcmp(author, owner) && mimei_is_granted(who, owner, grants);
}

int mimei_may_read(const json_t *info, const char *who, const char *owner, const json_t *grants)
{
    if (!info)
        return 0;
    if (mimei_right(info) & MIMEI_RIGHT_READ)
        return 1;
    if (is_id(who) && owner && !strcmp(who, owner))
        return 1;
    return mimei_may_write(info, who, owner, grants);
}

/* The bytes the signature covers: the record without Sig, sorted, compact. */
static char *signed_bytes(const json_t *info)
{
    json_t *copy = json_deep_copy(info);
    json_object_del(copy, "Sig");
    char *text = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(copy);
    return text;
}

/* Sets info's Sig: key's signature of the rest. */
static void sign(json_t *info, const ids_key *key)
{
    char *text = signed_bytes(info);
    uint8_t sig[IDS_SIG_BYTES];
    char s64[IDS_B64URL_LEN(IDS_SIG_BYTES) + 1];
    ids_sign(sig, text, strlen(text), key);
    free(text);
    ids_b64url_encode(s64, sig, sizeof sig);
    json_object_set_new(info, "Sig", json_string(s64));
}

/* "NAME" after prefix into mark's ID. */
static void marked_id(char *out, const char *author, const char *apptype, const char *prefix, const char *name)
{
    size_t n = strlen(prefix) + strlen(name) + 1;
    char *mark = malloc(n);
    snprintf(mark, n, "%s%s", prefix, name);
    mimei_id(out, author, apptype, "", mark);
    free(mark);
}

void mimei_app_id(char *out, const char *author, const char *name)
{
    marked_id(out, author, "app", MIMEI_APP_MARK, name);
}

void mimei_appdb_id(char *out, const char *author, const char *appid)
{
    marked_id(out, author, "db", MIMEI_APPDB_MARK, appid);
}

json_t *mimei_new(const ids_key *key, const char *apptype, const char *ext, const char *app, int right)
{
    char mark[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint32_t r;
    ids_random(&r, sizeof r);
    snprintf(mark, sizeof mark, "%lld%09ld%05u", (long long)ts.tv_sec, ts.tv_nsec, r % 100000);
    return mimei_new_marked(key, apptype, ext, app, right, mark);
}

json_t *mimei_new_marked(const ids_key *key, const char *apptype, const char *ext, const char *app, int right,
                         const char *mark)
{
    char author[IDS_LID_LEN + 1], id[IDS_LID_LEN + 1], pub[IDS_B64URL_LEN(IDS_PK_BYTES) + 1];
    char created[40];
    ids_leither_id(author, key->pk);
    ids_b64url_encode(pub, key->pk, IDS_PK_BYTES);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    mimei_id(id, author, apptype, ext, mark);
    json_t *info = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s}", "ID", id, "Author", author, "AppType", apptype,
                             "Ext", ext, "Mark", mark, "Create", created, "Right", right, "App", app, "PublicKey", pub);
    sign(info, key);
    return info;
}

json_t *mimei_resign(const json_t *info, const ids_key *key, int right)
{
    char author[IDS_LID_LEN + 1];
    ids_leither_id(author, key->pk);
    if (!info || strcmp(author, mimei_str(info, "Author")))
        return NULL;
    json_t *copy = json_deep_copy(info);
    json_object_set_new(copy, "Right", json_integer(right));
    sign(copy, key);
    return copy;
}

/* A record that fails a check: the reason in err. */
#define INVALID(...) (errbuf_set(err, errlen, __VA_ARGS__), MIMEI_INVALID)

enum mimei_status mimei_verify(const json_t *info, char *err, size_t errlen)
{
    static const char *fields[] = {"ID", "Author", "AppType", "Ext", "Mark", "Create", "App", "PublicKey", "Sig"};
    if (!json_is_object(info))
        return INVALID("MiMei info must be a JSON object");
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (!json_is_string(json_object_get(info, fields[i])))
            return INVALID("MiMei info needs a string \"%s\"", fields[i]);
    if (!json_is_integer(json_object_get(info, "Right")))
        return INVALID("MiMei info needs an integer \"Right\"");
    uint8_t pk[IDS_PK_BYTES + 1], sig[IDS_SIG_BYTES + 1];
    size_t n;
    const char *pub = mimei_str(info, "PublicKey"), *s64 = mimei_str(info, "Sig");
    if (ids_b64url_decode(pk, sizeof pk, &n, pub, strlen(pub)) || n != IDS_PK_BYTES)
        return INVALID("MiMei info: \"PublicKey\" is not an ed25519 public key");
    char author[IDS_LID_LEN + 1], id[IDS_LID_LEN + 1];
    ids_leither_id(author, pk);
    if (strcmp(author, mimei_str(info, "Author")))
        return INVALID("MiMei info: \"Author\" is not the ID of \"PublicKey\"");
    mimei_id(id, author, mimei_str(info, "AppType"), mimei_str(info, "Ext"), mimei_str(info, "Mark"));
    if (strcmp(id, mimei_str(info, "ID")))
        return INVALID("MiMei info: \"ID\" does not follow from Author, AppType, Ext and Mark");
    if (ids_b64url_decode(sig, sizeof sig, &n, s64, strlen(s64)) || n != IDS_SIG_BYTES)
        return INVALID("MiMei info: \"Sig\" is not an ed25519 signature");
    char *text = signed_bytes(info);
    int bad = ids_verify(sig, text, strlen(text), pk);
    free(text);
    if (bad)
        return INVALID("MiMei info: bad signature");
    return MIMEI_OK;
}

int mimei_may_store(const char *who, const char *owner_id, const json_t *grants, const mimei_quota *quota,
                    const mimei_usage *used, uint64_t bytes, char *err, size_t errlen)
{
    if (!who[0]) {
        ERR("an unsigned request stores nothing on this node: sign it");
        return MIMEI_STORE_CLOSED;
    }
    if (!strcmp(who, owner_id))
        return MIMEI_STORE_FREE;
    size_t i;
    json_t *item;
    json_array_foreach(grants, i, item) if (!strcmp(json_string_value(item), who)) return MIMEI_STORE_FREE;
    if (!quota->per_identity || !quota->total) {
        ERR("key %s is neither the node owner nor granted, and this node takes no guest storage", who);
        return MIMEI_STORE_CLOSED;
    }
    /* written so that no sum can wrap */
    if (bytes > quota->per_identity || used->identity > quota->per_identity - bytes) {
        ERR("guest quota: key %s has stored %" PRIu64 " of its %" PRIu64 " bytes, and %" PRIu64 " more do not fit",
            who, used->identity, quota->per_identity, bytes);
        return MIMEI_STORE_FULL;
    }
    if (bytes > quota->total || used->total > quota->total - bytes) {
        ERR("guest quota: guests have stored %" PRIu64 " of the node's %" PRIu64 " guest bytes, and %" PRIu64
            " more do not fit",
            used->total, quota->total, bytes);
        return MIMEI_STORE_FULL;
    }
    return MIMEI_STORE_GUEST;
}

const char *mimei_strerror(enum mimei_status status)
{
    switch (status) {
    case MIMEI_OK: return "ok";
    case MIMEI_INVALID: return "invalid info record";
    case MIMEI_STORAGE_CLOSED: return "no storage for guests";
    case MIMEI_QUOTA_FULL: return "guest quota full";
    case MIMEI_ERROR: break;
    }
    return "MiMei error";
}
