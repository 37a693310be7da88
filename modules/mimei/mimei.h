/*
 * mimei: the MiMei info record, its ID rule, signatures and rights.
 *
 * A MiMei ID is the base64url (no padding) of BLAKE2b-160 over
 *     Author "\n" AppType "\n" Ext "\n" Mark
 * so it never changes and names exactly one (author, type, ext, mark).
 * The info record is a JSON object:
 *     {"ID", "Author", "AppType", "Ext", "Mark", "Create", "Right", "App",
 *      "PublicKey", "Sig"}
 * signed by the author: Sig is the ed25519 signature (base64url) of the
 * record without Sig, serialized compactly with sorted keys. PublicKey is
 * the author's key (its Leither ID must be Author).
 *
 * Right is a bit set: MIMEI_RIGHT_READ lets anyone read (a public MiMei);
 * without it the MiMei is private. Who may read and write is decided in one
 * place, mimei_may_read and mimei_may_write below, for every surface (RESP,
 * the JSON API, the gateway, /mm/, app code).
 */
#ifndef LEITHER_MIMEI_H
#define LEITHER_MIMEI_H

#include "ids.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MIMEI_RIGHT_READ 1
/* New MiMei are private unless made public (mimei create --public, chmod). */
#define MIMEI_DEFAULT_RIGHT 0

/* The MiMei ID of (author, type, ext, mark); out needs IDS_LID_LEN + 1. */
void mimei_id(char *out, const char *author, const char *apptype, const char *ext, const char *mark);

/* A new signed info record for key's MiMei of type apptype ("db", "file",
 * "app"), with extension ext and default app (both may be ""). The mark is
 * the creation time in nanoseconds and random digits, so every call names a
 * new MiMei. */
json_t *mimei_new(const ids_key *key, const char *apptype, const char *ext, const char *app, int right);

/* mimei_new with a given mark: the same (key, apptype, ext, mark) always
 * names the same MiMei, so a name can stand for an ID. */
json_t *mimei_new_marked(const ids_key *key, const char *apptype, const char *ext, const char *app, int right,
                         const char *mark);

/* The marks of the MiMei whose IDs follow from a name:
 *   an app of author A named NAME:  AppType "app", Ext "", Mark "lapp:" NAME
 *   the database of app APPID:      AppType "db",  Ext "", Mark "appdb:" APPID
 * (authored by whoever uploads the app). */
#define MIMEI_APP_MARK "lapp:"
#define MIMEI_APPDB_MARK "appdb:"

/* The ID of author's app named name; out needs IDS_LID_LEN + 1. */
void mimei_app_id(char *out, const char *author, const char *name);
/* The ID of the database of app appid authored by author. */
void mimei_appdb_id(char *out, const char *author, const char *appid);

/* Why something about a MiMei failed (errbuf.h); runtime/http maps them to
 * HTTP statuses (http_status_of_mimei). */
enum mimei_status {
    MIMEI_ERROR = -1,         /* I/O, LMDB or memory */
    MIMEI_OK = 0,
    MIMEI_INVALID = 1,        /* an info record that fails its checks */
    MIMEI_STORAGE_CLOSED = 2, /* a guest (or anonymous) on a node without guest storage */
    MIMEI_QUOTA_FULL = 3      /* a guest over its quota or over the guests' total */
};
/* The kind's name ("invalid info record", ...): a static string. */
const char *mimei_strerror(enum mimei_status status);

/* Checks an info record: fields, ID rule, Author = ID of PublicKey, and the
 * signature. MIMEI_OK, or MIMEI_INVALID with a one-line reason. */
enum mimei_status mimei_verify(const json_t *info, char *err, size_t errlen);

/* Field accessors ("" when absent). */
const char *mimei_str(const json_t *info, const char *field);
int mimei_right(const json_t *info);

/* A copy of info with Right set to right and signed again with key, which
 * must be the author's (NULL if it is not: only the author can sign). The
 * ID does not cover Right, so the MiMei keeps its ID. */
json_t *mimei_resign(const json_t *info, const ids_key *key, int right);

/* --- who may read and write: the one rule -------------------------------
 *
 * Both take the MiMei's info record, the asking identity and what the node
 * knows of its owner:
 *   info    a verified info record (any AppType: db, file, app); NULL
 *           answers 0.
 *   who     the Leither ID that asks: the key that signed the request, the
 *           key whose token a RESP client gave to AUTH, the author of the
 *           app whose code runs. Anything that is not a Leither ID ("",
 *           NULL, "anonymous") is anonymous: an unsigned request.
 *   owner   the node owner's Leither ID (the node key's).
 *   grants  the IDs the owner granted (SystemVars "grants", a JSON array
 *           of strings; NULL when none). The caller holds whatever lock
 *           guards it.
 *
 * mimei_may_write answers 1 when who is
 *   - the MiMei's author, or
 *   - a granted key and the MiMei is the owner's (Author = owner);
 * and 0 otherwise: anonymous, a stranger's key, the owner for a MiMei
 * another author made (it is theirs, even on the owner's node), a granted
 * key for another author's MiMei.
 *
 * mimei_may_read answers 1 when
 *   - who may write (above), or
 *   - who is the node owner (the data is on the owner's disk anyway), or
 *   - the MiMei is public (Right has MIMEI_RIGHT_READ), for anyone,
 *     anonymous included;
 * and 0 otherwise: a private MiMei for anonymous, a stranger's key, or a
 * granted key when another author made it.
 *
 * Reading covers everything a MiMei holds or says about itself beyond its
 * ID: its versions and their CIDs, its cur, its listings, its database. A
 * surface that may not say "no such MiMei" for a private one says
 * "not yours to read" instead; none hands out its CIDs. */
int mimei_may_write(const json_t *info, const char *who, const char *owner, const json_t *grants);
int mimei_may_read(const json_t *info, const char *who, const char *owner, const json_t *grants);
/* Nonzero when id is the owner or one of grants: what writes to the
 * owner's MiMei (and to the node itself) need. */
int mimei_is_granted(const char *id, const char *owner, const json_t *grants);

/* --- storage: who may make the node store bytes --------------------------
 * Storing anything (a MiMei record, blocks, database records and values)
 * needs the node owner or a key it granted; anyone else (a "guest") stores
 * only within the guest quota the owner opened: bytes per identity and in
 * total, 0 meaning closed. The caller passes the owner's ID, its grants (a
 * JSON array of Leither IDs), the quota and the guest's usage so far. */
typedef struct {
    uint64_t per_identity; /* bytes one guest identity may store */
    uint64_t total;        /* bytes all guests together may store */
} mimei_quota;

typedef struct {
    uint64_t identity; /* what this guest stored so far */
    uint64_t total;    /* what all guests stored so far */
} mimei_usage;

enum mimei_store {
    MIMEI_STORE_FREE,  /* the owner or a granted key: store, not metered */
    MIMEI_STORE_GUEST, /* a guest within the quota: store, and count the bytes */
    MIMEI_STORE_CLOSED, /* a guest (or anonymous: who is "") on a node without guest storage */
    MIMEI_STORE_FULL    /* a guest over its quota or over the total: err has the figures */
};

/* May `who` store `bytes` more? One of enum mimei_store; err says why when
 * the answer is CLOSED or FULL. */
int mimei_may_store(const char *who, const char *owner_id, const json_t *grants, const mimei_quota *quota,
                    const mimei_usage *used, uint64_t bytes, char *err, size_t errlen);

#endif
