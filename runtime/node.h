/*
 * node: the running process. One node per home; it owns the settings, the
 * node key, and the HTTP server's event loops (http.c).
 */
#ifndef LEITHER_NODE_H
#define LEITHER_NODE_H

#include "home.h"
#include "ids.h"
#include "store.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>

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
    struct http_server *http;
    struct db *db;
    struct resp_server *resp;
    struct blockstore *bs; /* the content store, in the db's LMDB environment */
    struct quota *quota;   /* what guests stored (quota.h), in the same environment */
} node;

/* Identity as the API and `swarm id` show it: ID, PeerID, PublicKey,
 * Addresses, AgentVersion. */
json_t *node_identity_json(const ids_key *key, int port, const char *listen);

/* The node's addresses as multiaddrs ("/ip4/A/tcp/PORT", "/ip6/A/tcp/PORT"):
 * every interface address for a wildcard listen, else just that address. */
json_t *node_multiaddrs(int port, const char *listen);

/* Asks the process to stop as if it got SIGTERM. */
void node_request_stop(node *n);

/* Pid of the node running in this home: 0 when none holds the pid-file lock,
 * -1 when one does but has not written its pid yet. */
pid_t node_running_pid(const home *h);

/* Runs the node of home h until SIGINT/SIGTERM or a signed shutdown;
 * `daemon` detaches first (log in leither.log). Takes the settings in h. */
int node_run(home *h, int daemon, char *err, size_t errlen);

/* --- http.c ------------------------------------------------------------- */

/* Binds the port (failing with "port N is already in use" and the like) and
 * starts home.threads event loops sharing it. */
int http_start(node *n, char *err, size_t errlen);
/* Stops accepting, lets requests in flight finish (up to a second), joins. */
void http_stop(node *n);

/* --- resp.c ------------------------------------------------------------- */
struct db;
/* Listens on port for the Redis protocol, on a loop thread of its own. */
struct resp_server *resp_start(node *n, struct db *d, int port, int require_auth, char *err, size_t errlen);
void resp_stop(struct resp_server *srv);
/* A batch of commands for one database, run on the RESP loop for a caller
 * on another thread (app code, the HTTP API). */
typedef struct {
    int argc;
    const char *const *argv;
    const size_t *lens;
} resp_cmd;
typedef struct {
    const char *user;   /* the Leither ID acting ("" the node owner) */
    const char *select; /* "MID" or "MID@N" as SELECT takes it; NULL the default database */
    int read_only;      /* refuse writes even where user may write */
    int multi;          /* MULTI ... EXEC: all or nothing */
    int ncmds;
    const resp_cmd *cmds;
} resp_batch;
struct redisReply;
/* Runs the batch in the loop's next group commit and waits for it. Returns
 * an array of the commands' replies (EXEC's array under multi), or an error
 * reply (the SELECT was refused, a command needs a connection of its own,
 * EXECABORT). The caller frees it with freeReplyObject. */
struct redisReply *resp_call(struct resp_server *srv, const resp_batch *b);
/* Limits of one call: commands, work (elements the commands visit; see
 * db_work) and bytes of replies. Past them the call answers an error. */
#define RESP_CALL_MAX_CMDS 1000
#define RESP_CALL_MAX_CMDS_TEXT "1000"
#define RESP_CALL_MAX_WORK 1000000
#define RESP_CALL_MAX_REPLY (16 << 20)
/* dbhooks.c: AUTH, SELECT and MM.CREATE decisions; the default database. */
void dbhooks_install(node *n);

/* --- api.c -------------------------------------------------------------- */
struct st_h2o_hostconf_t;
/* Registers "/ipfs", "/api/v0/" and "/" on the host. */
void api_register(struct st_h2o_hostconf_t *host, node *n);

/* --- gateway.c ---------------------------------------------------------- */
/* GET/HEAD /ipfs/CID[/PATH]: the path gateway, ?format=raw and ?format=car. */
void gateway_register(struct st_h2o_hostconf_t *host, node *n);
struct st_h2o_req_t;
/* Serves path (decoded, no leading slash) below root as /ipfs/ does:
 * files, index.html, listings, ranges, formats. */
int gateway_serve(struct st_h2o_req_t *req, node *n, const cid *root, const char *path);
/* A file's Content-Type: by its name, else sniffed; NULL on a store error. */
const char *gateway_file_type(struct st_h2o_req_t *req, node *n, const cid *file, uint64_t size,
                              const char *name);

/* --- apps.c ------------------------------------------------------------- */
/* /tpt/APPID/...: apps (Lua routes, then static files); /sdk/leither.js. */
void apps_register(struct st_h2o_hostconf_t *host, node *n);
/* Frees the calling worker thread's app states (at its end). */
void apps_thread_done(void);
/* /mm/: renders path of version ver (content root) of the MiMei whose info
 * is given with app appid's renderer, for reader (the request's signer,
 * checked once by the caller: a signature is good for one use; "" unsigned). */
int apps_render(struct st_h2o_req_t *req, node *n, const json_t *info, const char *appid, uint32_t ver,
                const cid *root, const char *path, const char *reader);

#endif
