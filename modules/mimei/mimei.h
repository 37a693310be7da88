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
 * Right is a bit set: MIMEI_RIGHT_READ lets anyone read; without it only the
 * author (and keys the node owner granted, for the owner's MiMei) may.
 * Writes always need the author or a grant.
 */
#ifndef LEITHER_MIMEI_H
#define LEITHER_MIMEI_H

#include "ids.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MIMEI_RIGHT_READ 1
#define MIMEI_DEFAULT_RIGHT MIMEI_RIGHT_READ

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

/* Checks an info record: fields, ID rule, Author = ID of PublicKey, and the
 * signature. 0, or -1 with a one-line reason. */
int mimei_verify(const json_t *info, char *err, size_t errlen);

/* Field accessors ("" when absent). */
const char *mimei_str(const json_t *info, const char *field);
int mimei_right(const json_t *info);

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
