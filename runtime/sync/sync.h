/*
 * sync: MiMei between nodes. Publish, provide, findprovs and sync, over
 * the DHT (dht.h) for finding and over the trustless gateway (HTTP,
 * ?format=raw) for moving bytes. Three parts, one contract:
 *
 *   heads.c     the records put in the DHT (head, provider), the list of
 *               what this node publishes and follows (kept in the home),
 *               and the sync thread: it re-puts records, listens on the
 *               heads of followed MiMei and runs sync jobs, one at a time.
 *   versions.c  version blocks: the author side builds one per version
 *               (and a database version's journal); the follower side
 *               applies a chain of them once every block is local.
 *   fetch.c     moves the blocks a version needs from providers into the
 *               blockstore, each re-hashed against its CID first.
 *
 * --- what is put in the DHT -------------------------------------------------
 * Every value is an envelope {"Record": TEXT, "Sig": base64url(ed25519(KEY,
 * PREFIX TEXT))}, at most DHT_VALUE_MAX bytes, as the node record's
 * (dht.h); TEXT is a JSON object.
 *
 * Head, under SHA-1("leither/head/" MID), signed by the MiMei's author
 * (Info.PublicKey), PREFIX "LEITHER-DHT-HEAD-V1\n":
 *   {"Type": "head", "MID", "Version": N, "Block": CID of version N's
 *    version block, "Time": unix s, "EOL": unix s, "Info": the MiMei's
 *    signed info record}
 * A head holds when: Info verifies (mimei_verify), Info.ID is MID, Info is
 * public (MIMEI_RIGHT_READ: a private MiMei never enters the DHT), the
 * signature is by Info.PublicKey, Time is at most DHT_RECORD_AHEAD ahead
 * and EOL has not passed. The newest holding head (highest Version, then
 * Time) wins.
 *
 * Provider, under SHA-1("leither/prov/" MID), signed by the providing
 * node's key, PREFIX "LEITHER-DHT-PROV-V1\n":
 *   {"Type": "provider", "MID", "ID": node ID, "PublicKey", "Version": the
 *    newest version it holds, "Addrs": its HTTP multiaddrs, "Time": unix s}
 * Holds when ID is PublicKey's and Time is neither stale (DHT_RECORD_STALE)
 * nor ahead. Both are re-put every DHT_REPUT_SECONDS.
 *
 * --- version blocks ----------------------------------------------------------
 * Every numbered version of a published MiMei gets a version block: a raw
 * (codec 0x55) CIDv1 sha2-256 block holding the JSON text
 *   {"Type": "version", "MID", "Version": N, "Prev": CID text of the
 *    version block of the previous version this node has ("" for the
 *    first), "Time": unix ms,
 *    file and app MiMei:  "Root": CID text of the version's content root,
 *    database MiMei:      "Journal": [CID text, ...], "Records": count}
 * A database version's journal is the records changed since Prev's
 * version: a run of entries varint(key length) key varint(value length)
 * value, where key and value are the database's stored entries (modules/db
 * store.c) without the database number, deflated (zlib, RFC 1950) and cut
 * into raw CIDv1 blocks of at most SYNC_CHUNK_MAX bytes (the zlib stream
 * is their bytes in order; no blocks: no changes). Applying a
 * journal needs exactly Prev's version on
 * the follower: a journal that skips a version is refused.
 * Version blocks and journals are pinned on the node that made or fetched
 * them (gc keeps them).
 *
 * Threads: heads.c's sync thread does the DHT work, builds version blocks
 * and runs fetches; HTTP handlers only hand it jobs and read their state.
 * Calls: node, dht, resp (database writes go through the one writer),
 * modules.
 */
#ifndef LEITHER_SYNC_H
#define LEITHER_SYNC_H

#include "node.h"

#include <jansson.h>
#include <stdint.h>

#define SYNC_HEAD_PREFIX "LEITHER-DHT-HEAD-V1\n"
#define SYNC_PROV_PREFIX "LEITHER-DHT-PROV-V1\n"
#define SYNC_HEAD_KEY "leither/head/"
#define SYNC_PROV_KEY "leither/prov/"
/* a head's life unless publish says otherwise: 168h, as the original */
#define SYNC_DEFAULT_EOL (168 * 3600)
/* a journal block at most (a database version's changes span several) */
#define SYNC_CHUNK_MAX 262144
/* a version block at most */
#define SYNC_VERSION_BLOCK_MAX 65536

/* --- heads.c: the sync thread, records, jobs ---------------------------- */

/* Starts the sync thread (after presence_start; a node without the DHT
 * still runs it, for `mimei sync -n`). -1 with the reason. */
int sync_start(node *n, char *err, size_t errlen);
void sync_stop(node *n);

/* The record of a head or provider envelope when it holds (above): a new
 * reference, else NULL with why in err. mid: the MiMei it must be about. */
json_t *sync_verify_head(const uint8_t *value, size_t len, const char *mid, char *err, size_t errlen);
json_t *sync_verify_provider(const uint8_t *value, size_t len, const char *mid, char *err, size_t errlen);
/* The head envelope of mid's version (block: its version block's CID
 * text), signed now with key (the author's), living eol seconds: a new
 * string, NULL when it does not fit in a DHT value. */
char *sync_head_sign(const ids_key *key, const char *mid, uint32_t version, const char *block, int64_t eol,
                     const json_t *info);

/* --- versions.c: version blocks ----------------------------------------- */

typedef struct {
    char mid[IDS_LID_LEN + 1];
    uint32_t version;
    int has_prev;
    cid prev;
    int64_t time_ms;
    int is_db;
    cid root;          /* file and app */
    cid *journal;      /* database: malloc'd */
    size_t njournal;
    uint64_t records;
} sync_version;

/* Parses and checks a version block's text (sizes, fields, CIDs). */
int sync_version_parse(const uint8_t *block, size_t len, sync_version *out, char *err, size_t errlen);
void sync_version_free(sync_version *v);

/* The newest numbered version this node holds of mid (0: none). */
uint32_t sync_local_version(node *n, const char *mid);

/* Author side: the version block of mid's newest version, made and stored
 * (pinned) with those of older versions that lack one; *ver its number.
 * Runs on the sync thread. -1 with err (no version yet: "mimei MID has no
 * version: backup first"). */
int sync_version_block(node *n, const char *mid, cid *out, uint32_t *ver, char *err, size_t errlen);

/* Follower side: applies the chain of version blocks ending at top onto
 * this node's copy of the MiMei info describes (registered first if new),
 * oldest first, each version in one transaction. Every block the chain
 * needs is local and verified (fetch.c). Refuses, applying nothing of
 * that version: another MID, a version not above the local newest, a
 * database journal whose Prev is not the local newest, an entry outside
 * its version. Runs on the sync thread. */
int sync_apply(node *n, const json_t *info, const cid *top, char *err, size_t errlen);

/* --- fetch.c: moving blocks ---------------------------------------------- */

/* Makes every block of the chain of version blocks ending at top local,
 * down to the version this node holds already (sync_local_version), from
 * providers: a JSON array of {"ID", "Addrs": [multiaddr...]} (HTTP), tried
 * in turn; a provider that fails or sends a block that does not hash to
 * its CID is dropped and the next continues from what is stored. Blocks
 * already local are not fetched. *bytes: what was downloaded. Runs on the
 * sync thread (blocking HTTP, each request bounded in time and size). */
int sync_fetch(node *n, const char *mid, const cid *top, const json_t *providers, uint64_t *bytes, char *err,
               size_t errlen);

/* GET url (http only) into a malloc'd buffer of at most max bytes (more is
 * an error), bounded in time; NUL-terminated for text. NULL with err (a
 * status other than 200 says it and the body's first line). For heads.c
 * (a head asked of one node: GET /api/v0/mimei/head) and fetch.c. */
char *sync_http_get(const char *url, size_t max, size_t *len, char *err, size_t errlen);
/* The base URL ("http://IP:PORT") of the first usable HTTP multiaddr in
 * addrs (a JSON array): 0, or -1 when none is. */
int sync_base_url(const json_t *addrs, char *out, size_t cap);

#endif
