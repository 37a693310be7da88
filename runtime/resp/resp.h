/*
 * resp: the Redis protocol endpoint (db_port), on an event loop thread of
 * its own that owns the databases' one writer (group commit: see resp.c).
 * It calls node/ (db hooks decide AUTH and SELECT) and modules/db.
 *
 * Errors: resp_start fails with a one-line reason (a port in use);
 * resp_call and resp_call_start answer errors as Redis error replies; a
 * writer busy past RESP_CALL_TIMEOUT_MS answers "BUSY database busy: ...".
 * Threads: resp_start and resp_stop on the main thread. An HTTP worker
 * never parks its loop on the database: it calls resp_call_start. A batch
 * of reads only (no MULTI) runs at once on the calling thread, in an LMDB
 * read transaction of its own (modules/db readers); anything else goes to
 * the RESP loop, the one writer, and its answer comes back on the caller's
 * own loop (a pipe per loop, read by it). resp_call, which waits (bounded
 * by the same timeout), is for callers that cannot be resumed later.
 * Neither may be called from the RESP loop's own thread; a thread that
 * called resp_call_start keeps its answer pipe until it ends.
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
    int internal;       /* the node itself (runtime/sync): may run the db's internal
                           commands (MM.APPLYJOURNAL), which no client can */
    int ncmds;
    const resp_cmd *cmds;
} resp_batch;
struct redisReply;
/* Runs the batch in the loop's next group commit and waits for it, at most
 * RESP_CALL_TIMEOUT_MS. Returns an array of the commands' replies (EXEC's
 * array under multi), or an error reply (the SELECT was refused, a command
 * needs a connection of its own, EXECABORT, BUSY). The caller frees it with
 * freeReplyObject. */
struct redisReply *resp_call(struct resp_server *srv, const resp_batch *b);

/* The same without waiting, for a caller on an event loop (an HTTP worker):
 * reads answer at once; else the batch is copied and queued for the
 * writer, and done(arg, reply) runs
 * later on that loop (loop must be the calling thread's), owning reply.
 * Returns the reply at once when there is nothing to wait for (a command
 * refused before it is queued): then *pending is NULL and done is never
 * called. Else NULL, with *pending the call: done is called exactly once,
 * with the answer, or with the BUSY error when the writer has not
 * answered within RESP_CALL_TIMEOUT_MS (a batch that had not started then
 * never runs; one already running may still take effect). */
struct st_h2o_evloop_t;
typedef struct resp_pending resp_pending;
typedef void (*resp_done_fn)(void *arg, struct redisReply *reply);
struct redisReply *resp_call_start(struct resp_server *srv, struct st_h2o_evloop_t *loop, const resp_batch *b,
                                   resp_done_fn done, void *arg, resp_pending **pending);
/* The caller no longer wants the answer (its request went away): done is
 * not called; the batch is dropped if it has not started. */
void resp_call_cancel(resp_pending *p);
/* How long a call waits for the writer before answering BUSY. */
#define RESP_CALL_TIMEOUT_MS 5000
#define RESP_CALL_TIMEOUT_TEXT "5 s"
/* Limits of one call: commands, work (elements the commands visit; see
 * db_work) and bytes of replies. Past them the call answers an error. */
#define RESP_CALL_MAX_CMDS 1000
#define RESP_CALL_MAX_CMDS_TEXT "1000"
#define RESP_CALL_MAX_WORK 1000000
#define RESP_CALL_MAX_REPLY (16 << 20)

#endif
