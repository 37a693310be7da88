/*
 * resp: the Redis protocol endpoint (db_port), on an event loop thread of
 * its own that owns the databases' one writer (group commit: see resp.c).
 * It calls node/ (db hooks decide AUTH and SELECT) and modules/db.
 *
 * Errors: resp_start fails with a one-line reason (a port in use);
 * resp_call answers errors as Redis error replies.
 * Threads: resp_start and resp_stop on the main thread; resp_call from any
 * thread but the RESP loop's own.
 */
#ifndef LEITHER_RESP_H
#define LEITHER_RESP_H

#include "node.h"

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

#endif
