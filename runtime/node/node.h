/*
 * node: the node's state and the rules every surface asks. The bottom of
 * runtime/: it calls only modules/, and every other runtime folder calls it.
 *
 *   home      the home directory and its settings (SystemVars.json)   home.c
 *   auth      signed API requests, their replay set, RESP tokens       auth.c
 *   quota     what guests stored, and whether they may store more     quota.c
 *   access    who may read or write a MiMei on this node (the one rule,
 *             mimei.h's, with this node's owner and grants)            access.c
 *   identity  the node's ID, peer ID and addresses as `swarm id` shows identity.c
 *   db hooks  AUTH, SELECT and MM.CREATE decisions for the databases   dbhooks.c
 *   metrics   the counters every surface bumps and /metrics reads      metrics.c
 *   log       the node's log lines, as text or JSON                    log.c
 *
 * Threads: a node is shared by every event loop. Its settings document
 * (home.doc) changes when grants change: read it under `lock`. auth's
 * replay set and quota are safe from any thread (see there); the rest is
 * read-only once the node runs.
 */
#ifndef LEITHER_NODE_H
#define LEITHER_NODE_H

#include "ids.h"
#include "mimei.h"
#include "store.h"

#include <jansson.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ======================================================================= */
/* home */

/*
 * home: a node's home directory and its settings (SystemVars.json).
 *
 *   SystemVars.json   settings (below)
 *   keys/node.key     the node key (ids.h key file)
 *   data/             the node's data (0700, its files 0600)
 *   leither.pid       pid of the running node, locked while it runs
 *   leither.log       the daemon's log
 *
 * Settings, with defaults:
 *   port 4800            HTTP port
 *   listen "::"          address to bind ("::" is every IPv6 and IPv4 address)
 *   threads 0            event-loop threads; 0 means one per core
 *   bootstrap [...]      DHT nodes to join through: HOST:PORT, [IPV6]:PORT, or HOST
 *                        (port 4802)
 *   dht_port PORT+2      the DHT's UDP port (dht.h); 0 turns the DHT off
 *   grants []            Leither IDs the owner allows to sign API writes
 *   max_request_body 8388608   bytes; larger API requests get 413
 *   db_port 4801         the Redis protocol port of the databases
 *   db_sync "always"     "always", "everysec" or "no": when writes reach the disk
 *   db_auth "loopback"   "loopback": local clients are the owner; "required": all AUTH
 *   db_max_clients 10000 Redis protocol connections at once (Redis's maxclients);
 *                        the loopback owner's are not counted
 *   guest_quota {"per_identity_bytes": 0, "total_bytes": 0}
 *                        what keys neither the owner nor granted may store; 0 is closed
 *   metrics "loopback"   who may read /metrics: "loopback" (clients on this machine),
 *                        "public" (anyone) or "off" (404)
 *   ledger_retention_pulses 86400   versions of an organization's ledger tree kept
 *                        readable and provable (ledger.h); older ones are pruned,
 *                        checkpoints (every 1800th pulse) kept
 * Unknown keys are kept as they are when the file is written back.
 */

#define HOME_SETTINGS "SystemVars.json"
/* the home when no flag, $LEITHER_HOME or current directory says: ~/.leither */
#define HOME_DEFAULT_DIR ".leither"
#define HOME_DEFAULT_PORT 4800
/* 8 MB: room for `ipfs add` batches of blocks (4 MB) with margin */
#define HOME_DEFAULT_BODY (8 << 20)
/* a day of 1-second pulses (ledger.h's LEDGER_RETENTION_DEFAULT) */
#define HOME_DEFAULT_RETENTION 86400

typedef struct {
    char dir[PATH_MAX]; /* absolute */
    json_t *doc;        /* the whole settings document */
    /* validated values from doc */
    int port;
    int threads; /* resolved: never 0 */
    const char *listen;
    size_t max_request_body;
    int db_port;
    int dht_port; /* UDP; 0: off */
    int db_sync;      /* enum db_sync */
    int db_auth_required;
    int db_max_clients; /* connections at once, the loopback owner's aside */
    uint64_t guest_per_identity, guest_total; /* guest_quota; 0: closed */
    int metrics; /* enum home_metrics */
    uint64_t ledger_retention_pulses; /* >= 1 */
} home;

/* Who may read /metrics (the "metrics" setting). */
enum home_metrics { HOME_METRICS_LOOPBACK = 0, HOME_METRICS_PUBLIC, HOME_METRICS_OFF };

/* Absolute home directory: flag (--home), else $LEITHER_HOME, else the
 * current directory when it holds SystemVars.json, else ~/.leither. */
int home_resolve(char *out, size_t cap, const char *flag, char *err, size_t errlen);

/* Parses and validates settings text; on error names the file and line.
 * The result owns a new reference to its document. */
int home_parse(home *h, const char *text, size_t len, const char *filename, char *err, size_t errlen);

/* Loads dir/SystemVars.json. A dir without one is "not a Leither home". */
int home_load(home *h, const char *dir, char *err, size_t errlen);

/* A home with default settings, for init: not yet written. */
void home_defaults(home *h, const char *dir);

/* Re-validates h->doc after a change and writes it atomically (temp file,
 * fsync, rename), so a crash leaves the old or the new file, never half. */
int home_save(home *h, char *err, size_t errlen);

/* dir/name into out. */
void home_path(const home *h, char *out, size_t cap, const char *name);

/* The URL at which the CLI reaches this home's node. */
void home_api_base(const home *h, char *out, size_t cap);

/* Nonzero when id is the owner's (owner_id) or granted in settings. */
int home_may_write(const home *h, const char *owner_id, const char *id);

/* data/ mode 0700 and its LMDB files 0600, like the keys: made so, and
 * homes from before put right. */
int home_secure_data(const home *h, char *err, size_t errlen);

void home_free(home *h);

/* ======================================================================= */
/* auth */

/*
 * auth: signed API requests.
 *
 * A request that changes state carries
 *   Authorization: Leither key=<base64url public key>,ts=<unix seconds>,
 *                  nonce=<base64url of 12 random bytes>,sig=<base64url signature>
 * where the signature is ed25519 over
 *   "LEITHER-API-V1\n" METHOD "\n" PATH "\n" hex(SHA-256(body)) "\n" ts "\n" nonce
 * PATH includes the query string. The nonce keeps two identical requests in
 * one second apart: ed25519 is deterministic, so without it they would
 * carry the same signature.
 *
 * Replay. A signed request is accepted once:
 *   - its timestamp is at most AUTH_WINDOW seconds from the node's clock,
 *     not older than the node's start, and later than every timestamp a
 *     request used before the start carried (kept on disk: until_path), so
 *     nothing signed for the node before it restarted works after, even
 *     when the signer's clock ran ahead;
 *   - checking is two steps: auth_verify (the signature holds), then the
 *     caller decides whether the signer may do this at all, and only then
 *     auth_record marks the request used. A refused request uses no room;
 *   - every recorded request is kept until its timestamp leaves the window:
 *     a set bounded by memory (AUTH_SEEN_CAPACITY entries, about 4.5 MiB).
 *     When it is full, requests are refused ("busy", HTTP 503) rather than
 *     forgetting one still inside the window. Keys that are neither the
 *     owner's nor granted may fill only three quarters of it, so a stranger's
 *     flood cannot lock the owner out.
 * The set is shared by every thread (a mutex; verification runs outside it).
 */

#define AUTH_WINDOW 60
#define AUTH_HEADER_MAX 256
#define AUTH_NONCE_BYTES 12

/* Builds the header value (without "Authorization: ") into out. */
void auth_sign(char out[AUTH_HEADER_MAX], const ids_key *key, const char *method, const char *path, size_t pathlen,
               const void *body, size_t bodylen, int64_t now);

/* Signed requests the set holds at most: about 1,000 a second sustained
 * over the window, 4.5 MiB. */
#define AUTH_SEEN_CAPACITY 131072

/* Starts the set of used requests afresh, for at most capacity entries,
 * refusing timestamps before not_before (unix seconds; 0: none). Call it
 * before any thread checks a request; without it the first check sets up
 * AUTH_SEEN_CAPACITY and no lower bound.
 * until_path (NULL: none) keeps the latest timestamp a used request
 * carried: written before the request is accepted (about once a second at
 * most), read here to raise not_before past it. */
int auth_replay_init(int64_t not_before, size_t capacity, const char *until_path, char *err, size_t errlen);
/* The earliest timestamp accepted now (not_before, raised by until_path). */
int64_t auth_not_before(void);
/* until_path in a node's home */
#define AUTH_UNTIL_FILE "data/signed-until"

/* A request whose signature holds, not yet recorded as used. */
typedef struct {
    char signer[IDS_LID_LEN + 1];
    int64_t ts;
    uint8_t digest[16]; /* names the signed request: key, method, path, body, ts, nonce */
} auth_request;

/* Checks a header value: 0 with the request in out, or -1 with the reason
 * (no header, malformed, outside the window, before the node's start, bad
 * signature). Records nothing. */
int auth_verify(const char *value, size_t valuelen, const char *method, size_t methodlen, const char *path,
                size_t pathlen, const void *body, size_t bodylen, int64_t now, auth_request *out, char *err,
                size_t errlen);

/* Marks a verified request used, once the caller knows the signer may make
 * it. trusted: the signer is the owner or a granted key. 0, or -1 with the
 * reason: already used ("replayed", *busy = 0), or no room left in the set
 * or until_path could not be written (*busy = 1: try again shortly). */
int auth_record(const auth_request *r, int64_t now, int trusted, int *busy, char *err, size_t errlen);

/* auth_verify, then auth_record as trusted: the signer's Leither ID in
 * signer, or -1 with the reason. */
int auth_check(const char *value, size_t valuelen, const char *method, size_t methodlen, const char *path,
               size_t pathlen, const void *body, size_t bodylen, int64_t now, char signer[IDS_LID_LEN + 1], char *err,
               size_t errlen);

/* Tokens for the Redis protocol's AUTH: "LT1." base64url(payload) "."
 * base64url(signature), payload {"id": LID, "pk": public key, "exp": unix
 * seconds}, signed by the key they name. Anyone holding the token acts as
 * that key until exp: hand it out like a password. */
#define AUTH_TOKEN_MAX 512
int auth_token_make(char *out, size_t cap, const ids_key *key, int64_t exp);
/* 0 with the token's Leither ID in id, or -1 with a reason (bad, expired). */
int auth_token_check(const char *token, int64_t now, char id[IDS_LID_LEN + 1], char *err, size_t errlen);
/* The "exp" (unix seconds) of a token auth_token_check accepted; 0 if none. */
int64_t auth_token_expiry(const char *token);

/* ======================================================================= */
/* the node */

#define LEITHER_VERSION "0.1.0"
#define NODE_KEY_FILE "keys/node.key"
#define NODE_PID_FILE "leither.pid"
#define NODE_LOG_FILE "leither.log"

typedef struct node {
    home home;
    pthread_mutex_t lock; /* guards home.doc once the loops run (grants change) */
    ids_key key;
    char id[IDS_LID_LEN + 1];
    char peer_id[IDS_PEERID_MAX];
    struct timespec started;
    volatile sig_atomic_t stopping;
    struct http_server *http; /* http.h */
    struct db *db;            /* modules/db: the databases, one LMDB environment */
    struct resp_server *resp; /* resp.h: the databases' one writer */
    struct blockstore *bs; /* the content store, in the db's LMDB environment */
    struct quota *quota;   /* what guests stored (the quota section), in the same environment */
    struct presence *presence; /* dht.h: this node on the network; NULL when dht_port is 0 */
    struct ledger *ledger;     /* ledger.h: the organizations' ledgers and their pulse thread */
} node;

/* Identity as the API and `swarm id` show it: ID, PeerID, PublicKey,
 * Addresses, AgentVersion. */
json_t *node_identity_json(const ids_key *key, int port, const char *listen);

/* The node's addresses as multiaddrs ("/ip4/A/tcp/PORT", "/ip6/A/tcp/PORT"):
 * every interface address for a wildcard listen, else just that address. */
json_t *node_multiaddrs(int port, const char *listen);

/* Asks the process to stop as if it got SIGTERM (server.h runs it). */
void node_request_stop(node *n);

/* ======================================================================= */
/* access */

/* The one rule (mimei_may_read, mimei_may_write in mimei.h) with this node's
 * owner and grants; who is a Leither ID, or anything else for anonymous. */
int node_may_read(node *n, const json_t *info, const char *who);
int node_may_write(node *n, const json_t *info, const char *who);
/* MID's info record, parsed (NULL when there is none); the caller frees. */
json_t *node_mimei_info(node *n, const char *mid);
/* Nonzero when root is the content root (a version or cur) of private
 * MiMei only, none of which reader may read, and not pinned: the gateway
 * serves it to nobody else. One pass over the versions (files_with_root),
 * no index: see README for its cost. */
int node_root_hidden(node *n, const cid *root, const char *reader);

/* ======================================================================= */
/* quota */

/*
 * quota: what guests (keys neither the node owner nor granted) stored, and
 * the one place that decides whether a write may store more (it asks
 * mimei_may_store with the settings' guest_quota and the usage here).
 *
 * Usage lives in the "usage" DBI of the node's one LMDB environment, so a
 * charge commits or aborts with the write it pays for:
 *     "id:" ID           -> bytes ID stored (u64, little-endian)
 *     "mm:" MID "/" ID   -> of those, bytes stored in MiMei MID ("*": blocks
 *                           in no MiMei, dag/import)
 *     "total"            -> all guests' bytes
 * Bytes are what writes added (new blocks, info records, database command
 * arguments), not what is still held: a guest's usage only goes down when
 * the owner drops its MiMei (mimei/drop, repo/rm-author).
 */

/* Opens (creating) the usage DBI in env into n->quota. */
int quota_open(node *n, MDB_env *env, char *err, size_t errlen);
void quota_close(node *n);

/* May `who` store bytes more into mid ("" for blocks in no MiMei)? The
 * owner and granted keys always may and are not counted; a guest within
 * its quota is charged in txn (a write transaction). MIMEI_OK, or with err
 * MIMEI_STORAGE_CLOSED (no guest storage, or unsigned), MIMEI_QUOTA_FULL,
 * MIMEI_ERROR. */
enum mimei_status quota_charge(node *n, MDB_txn *txn, const char *who, const char *mid, uint64_t bytes, char *err,
                               size_t errlen);
/* The same question for 0 bytes, in a read transaction of its own: the
 * cheap check before a write does any work. */
enum mimei_status quota_check(node *n, const char *who, char *err, size_t errlen);
/* Nonzero when who is the owner or a granted key (never metered). */
int quota_unmetered(node *n, const char *who);

/* Forgets what guests stored in mid (after it was dropped). */
int quota_forget_mimei(node *n, MDB_txn *txn, const char *mid, char *err, size_t errlen);
/* Forgets id's blocks in no MiMei (after repo/rm-author). */
int quota_forget_loose(node *n, MDB_txn *txn, const char *id, char *err, size_t errlen);
/* Bytes id stored (0 when none). */
uint64_t quota_used(node *n, MDB_txn *txn, const char *id);
/* Calls fn for every identity with usage. */
int quota_each(node *n, MDB_txn *txn, int (*fn)(void *arg, const char *id, uint64_t bytes), void *arg);

/* ======================================================================= */
/* db hooks */

/* AUTH, SELECT and MM.CREATE decisions; the default database. */
void dbhooks_install(node *n);

/* ======================================================================= */
/* metrics */

/*
 * metrics: counters the surfaces bump where things happen, read by
 * /metrics (runtime/http/metrics.c) in the Prometheus text format.
 * Process-wide (one node per process). Safe from any thread and nearly
 * free: a thread adds to counters of its own (C11 atomics, relaxed, one
 * writer each, so no locked instruction and no shared cache line on the
 * request path), and a read sums every thread's. A thread's counters
 * outlive it (taken over by the next new thread), so sums never go down.
 * RESP commands are counted by the one RESP loop, their one writer.
 */

/* Which surface an HTTP request came to: its route in server.c's table. */
enum metrics_surface {
    METRICS_OTHER = 0, /* no route, or refused before one */
    METRICS_API,       /* /api/v0/ */
    METRICS_IPFS,      /* /ipfs/ (gateway) */
    METRICS_MM,        /* /mm/ (gateway) */
    METRICS_APPS,      /* /tpt/ */
    METRICS_SDK,       /* /sdk/ */
    METRICS_PAGE,      /* / and other node pages */
    METRICS_METRICS,   /* /metrics itself */
    METRICS_ROUTING,   /* /routing/v1 (delegated routing) */
    METRICS_SURFACES
};
/* Its label value ("api", "ipfs", ...). */
const char *metrics_surface_name(enum metrics_surface s);

/* An HTTP request done, with the status it answered (0: none, the client left first). */
void metrics_http_request(enum metrics_surface s, int status);
/* An HTTP or RESP connection opened (+1) or closed (-1). */
void metrics_http_connection(int delta);
void metrics_resp_connection(int delta);
/* Monotonic nanoseconds, for a command's duration. */
uint64_t metrics_now_ns(void);
/* A RESP command run (name as the client sent it) and how long it took.
 * From the RESP loop only (resp.c): it is the counters' one writer. */
void metrics_resp_command(const char *name, size_t len, uint64_t ns);
/* An app request stopped by a sandbox limit: "memory", "instructions" or
 * "wall_ms" (apps.c's names); anything else counts as "other". */
void metrics_lua_breach(const char *limit);

/* The counters above in the Prometheus text format (HELP, TYPE, samples):
 * malloc'd text and its length, or NULL when memory ran out. */
char *metrics_text(size_t *len);

/* ======================================================================= */
/* log */

/*
 * log: the node's log lines. Text (the default) is "leither: MESSAGE" on
 * stderr, as it always was; JSON (`leither run
 * --log-format json`) is one object a line on stdout:
 *     {"time": "2026-12-03T13:20:05.123Z", "level": "warn",
 *      "message": "...", FIELD: "VALUE", ...}
 * Each line is one write(2), so lines of threads never interleave.
 * Set the format before threads start; logging is safe from any thread.
 */
enum log_level { LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
void log_set_format(enum log_format format);
enum log_format log_get_format(void);
/* "text" or "json" into *format: 0, or -1 for anything else. */
int log_parse_format(const char *name, enum log_format *format);
/* One line: message from fmt; fields (NULL, or name, value, ..., NULL)
 * are extra members in JSON (text shows only the message). */
void log_line(enum log_level level, const char *const *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define LOG_FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

#endif
