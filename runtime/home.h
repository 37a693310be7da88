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
 *   bootstrap [...]      nodes to join through
 *   grants []            Leither IDs the owner allows to sign API writes
 *   max_request_body 8388608   bytes; larger API requests get 413
 *   db_port 4801         the Redis protocol port of the databases
 *   db_sync "always"     "always", "everysec" or "no": when writes reach the disk
 *   db_auth "loopback"   "loopback": local clients are the owner; "required": all AUTH
 *   db_max_clients 10000 Redis protocol connections at once (Redis's maxclients);
 *                        the loopback owner's are not counted
 *   guest_quota {"per_identity_bytes": 0, "total_bytes": 0}
 *                        what keys neither the owner nor granted may store; 0 is closed
 * Unknown keys are kept as they are when the file is written back.
 */
#ifndef LEITHER_HOME_H
#define LEITHER_HOME_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define HOME_SETTINGS "SystemVars.json"
#define HOME_DEFAULT_PORT 4800
/* 8 MB: room for `ipfs add` batches of blocks (4 MB) with margin */
#define HOME_DEFAULT_BODY (8 << 20)

typedef struct {
    char dir[PATH_MAX]; /* absolute */
    json_t *doc;        /* the whole settings document */
    /* validated values from doc */
    int port;
    int threads; /* resolved: never 0 */
    const char *listen;
    size_t max_request_body;
    int db_port;
    int db_sync;      /* enum db_sync */
    int db_auth_required;
    int db_max_clients; /* connections at once, the loopback owner's aside */
    uint64_t guest_per_identity, guest_total; /* guest_quota; 0: closed */
} home;

/* Absolute home directory: flag (--home), else $LEITHER_HOME, else cwd. */
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

#endif
