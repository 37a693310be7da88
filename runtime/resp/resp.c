/*
 * resp: the Redis protocol endpoint (db_port).
 *
 * It runs on its own h2o event loop thread. The databases have one writer
 * (LMDB's write lock, and Redis's one-command-at-a-time semantics), so one
 * loop owns them: every command read in one loop iteration runs in one
 * LMDB transaction, which is committed (and, with db_sync "always", synced)
 * before any reply of that iteration is written. That is the group commit:
 * one fsync for every client that wrote meanwhile.
 *
 * Requests are parsed by parse.c (framing checked first, then hiredis's
 * redisReader builds the arguments; inline commands too).
 */
#include "resp.h"

#include "db.h"
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <lmdb.h>
#include <fcntl.h>
#include <h2o.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Bounded work per client. A connection whose replies wait unread stops
 * being read; one that ran a turn's worth of commands lets the others go
 * first; bytes that belong to no request yet are held only up to a point.
 * Nothing runs commands from inside a write callback: a connection that may
 * go on is put on the ready list, which the loop serves between events. */
#define READ_PAUSE_BYTES (1 << 20)      /* stop running commands while this much output waits */
#define HOLD_INPUT_BYTES (64 << 10)     /* complete requests read ahead while we cannot run them */
#define PREAUTH_MAX_BYTES (64 << 10)    /* a request, or waiting output, before AUTH */
#define TURN_MAX_WORK 4096              /* commands (and elements they visit) per turn */
#define PREAUTH_TOO_BIG "request too big for a client that has not authenticated (AUTH first)"

typedef struct resp_pending job;

typedef struct conn {
    struct resp_server *srv;
    h2o_socket_t *sock;
    db_client *client;
    void *reader; /* hiredis's redisReader */
    resp_scan scan;
    char *out;          /* the output being written */
    size_t outlen;
    int writing, paused, closing, dirty, ready;
    int counted; /* counts against db_max_clients */
    struct conn *next_dirty, *next_ready;
} conn;

struct resp_server {
    node *n;
    db *db;
    pthread_t tid;
    h2o_evloop_t *loop;
    h2o_socket_t *listener, *waker;
    int wake[2];
    int require_auth;
    int nclients; /* open connections, the loopback owner's aside (db_max_clients) */
    conn *dirty; /* connections that ran commands this iteration */
    conn *ready; /* connections with requests to run when the loop gets to them */
    /* batches from other threads (resp_call, resp_call_start): queued under
     * the lock, run by on_wake, answered after the iteration's commit */
    pthread_mutex_t jobs_lock;
    job *queued, *running;
};

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

/* A batch from another thread. Who frees it: the caller once it took the
 * answer; the RESP side when the caller stopped waiting (abandoned). */
struct resp_pending {
    resp_batch batch; /* a copy: the caller's memory may go while we run it */
    resp_cmd *cmds;
    const char **argv;
    size_t *lens;
    char *bytes;
    db_client *client;
    char *out;
    size_t outlen;
    int over_budget, overflowed;
    /* under srv->jobs_lock */
    enum job_state state;
    int abandoned;
    pthread_cond_t cond; /* resp_call waits on it */
    job *next;           /* srv->queued, srv->running, then port->done */
    /* resp_call_start: the caller's loop (its thread only) */
    struct port *port;
    resp_done_fn done;
    void *arg;
    h2o_timeout_entry_t timeout;
    h2o_linklist_t pending; /* in port->pending until answered */
};

/* Where the answers of one event loop's calls come back: a pipe read on
 * that loop, and the timeout of those calls. One per thread that called
 * resp_call_start, freed as that thread ends. */
struct port {
    struct resp_server *srv;
    h2o_evloop_t *loop;
    int fds[2];
    h2o_socket_t *sock;
    h2o_timeout_t timeout;
    h2o_linklist_t pending; /* calls not yet answered (this thread only) */
    job *done;              /* answered, not yet taken (under srv->jobs_lock) */
};

/* --- output ------------------------------------------------------------- */

static void close_conn(conn *cn);
static int flush(conn *cn);
static void process(conn *cn);
static void on_read(h2o_socket_t *sock, const char *err);

static void on_written(h2o_socket_t *sock, const char *err)
{
    conn *cn = sock->data;
    cn->writing = 0;
    free(cn->out);
    cn->out = NULL;
    if (err) {
        close_conn(cn);
        return;
    }
    flush(cn);
}

/* Puts a connection on the ready list: the loop runs its requests after
 * the current events (never from inside a callback of its socket). */
static void schedule(conn *cn)
{
    if (cn->ready)
        return;
    cn->ready = 1;
    cn->next_ready = cn->srv->ready;
    cn->srv->ready = cn;
}

/* Writes what may be written. Returns 0 when the connection was closed. */
static int flush(conn *cn)
{
    if (cn->writing)
        return 1;
    size_t len;
    const char *data = db_output(cn->client, &len);
    if (len == 0) {
        if ((cn->closing || db_client_closing(cn->client)) && db_output_size(cn->client) == 0) {
            close_conn(cn);
            return 0;
        }
        if (cn->paused) { /* drained: it may run what it sent meanwhile */
            cn->paused = 0;
            schedule(cn);
        }
        return 1;
    }
    cn->out = malloc(len);
    memcpy(cn->out, data, len);
    cn->outlen = len;
    db_output_consumed(cn->client, len);
    cn->writing = 1;
    h2o_iovec_t buf = h2o_iovec_init(cn->out, len);
    h2o_socket_write(cn->sock, &buf, 1, on_written);
    return 1;
}

static void mark_dirty(conn *cn)
{
    if (cn->dirty)
        return;
    cn->dirty = 1;
    cn->next_dirty = cn->srv->dirty;
    cn->srv->dirty = cn;
}

/* --- input -------------------------------------------------------------- */

static void set_reading(conn *cn, int on)
{
    if (on && !h2o_socket_is_reading(cn->sock))
        h2o_socket_read_start(cn->sock, on_read);
    else if (!on && h2o_socket_is_reading(cn->sock))
        h2o_socket_read_stop(cn->sock);
}

static void protocol_error(conn *cn, const char *what)
{
    db_protocol_error(cn->client, what);
    cn->closing = 1;
    set_reading(cn, 0);
    mark_dirty(cn);
}

static void run(conn *cn, resp_request *r)
{
    if (r->argc > 0) {
        uint64_t began = metrics_now_ns();
        db_exec(cn->client, r->argc, (const char **)r->argv, r->lens);
        metrics_resp_command(r->argv[0], r->lens[0], metrics_now_ns() - began);
    }
    mark_dirty(cn);
}

/* Runs complete requests of the input until it needs more bytes, or the
 * client is blocked, its output waits unread, or its turn is over. Then
 * reads on only as far as memory allows: the rest of an incomplete request
 * (a little of it before AUTH), or a little ahead, which also shows a
 * client that left. */
static void process(conn *cn)
{
    int need_bytes = 0;
    int authed = db_client_authenticated(cn->client);
    size_t pause_at = authed ? READ_PAUSE_BYTES : PREAUTH_MAX_BYTES;
    db_client_turn_start(cn->client);
    while (!cn->closing && !db_client_closing(cn->client) && !db_client_blocked(cn->client) && !cn->paused) {
        if (db_client_turn_work(cn->client) >= TURN_MAX_WORK) { /* the others first */
            schedule(cn);
            break;
        }
        h2o_buffer_t *in = cn->sock->input;
        size_t max_bulk = db_proto_max_bulk_len(cn->srv->db); /* CONFIG SET may have changed it */
        size_t used = 0;
        const char *error = NULL;
        int kind = resp_next(&cn->scan, in->bytes, in->size, max_bulk, &used, &error);
        if (kind == RESP_MORE) {
            need_bytes = 1;
            break;
        }
        if (kind == RESP_ERROR) {
            protocol_error(cn, error);
            return;
        }
        if (!authed && used > PREAUTH_MAX_BYTES) {
            protocol_error(cn, PREAUTH_TOO_BIG);
            return;
        }
        resp_request r = {0};
        int bad = 0;
        if (kind == RESP_INLINE && resp_split_inline(in->bytes, used - 1, &r) != 0)
            bad = 1, error = "unbalanced quotes in request";
        else if (kind == RESP_MULTIBULK && resp_build(cn->reader, in->bytes, used, &r) != 0)
            bad = 1, error = "malformed request";
        h2o_buffer_consume(&cn->sock->input, used);
        if (bad)
            protocol_error(cn, error);
        else
            run(cn, &r);
        resp_request_free(&r);
        authed = db_client_authenticated(cn->client); /* AUTH may have run */
        pause_at = authed ? READ_PAUSE_BYTES : PREAUTH_MAX_BYTES;
        /* back-pressure: a client that reads nothing cannot grow our memory */
        if (db_output_size(cn->client) > pause_at)
            cn->paused = 1;
    }
    if (cn->closing || db_client_closing(cn->client)) {
        set_reading(cn, 0);
        return;
    }
    size_t held = cn->sock->input->size;
    if (need_bytes && !authed && held > PREAUTH_MAX_BYTES) {
        protocol_error(cn, PREAUTH_TOO_BIG);
        return;
    }
    set_reading(cn, need_bytes || held < HOLD_INPUT_BYTES);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    conn *cn = sock->data;
    if (err) {
        close_conn(cn);
        return;
    }
    process(cn);
}

static void unlink_conn(conn **list, conn *cn, int next_ready)
{
    while (*list && *list != cn)
        list = next_ready ? &(*list)->next_ready : &(*list)->next_dirty;
    if (*list)
        *list = next_ready ? cn->next_ready : cn->next_dirty;
}

static void close_conn(conn *cn)
{
    if (cn->dirty)
        unlink_conn(&cn->srv->dirty, cn, 0);
    if (cn->ready)
        unlink_conn(&cn->srv->ready, cn, 1);
    cn->srv->nclients -= cn->counted;
    metrics_resp_connection(-1);
    db_client_free(cn->client);
    resp_reader_free(cn->reader);
    h2o_socket_close(cn->sock);
    free(cn->out);
    free(cn);
}

static int from_loopback(h2o_socket_t *sock)
{
    struct sockaddr_storage ss;
    socklen_t len = h2o_socket_getpeername(sock, (struct sockaddr *)&ss);
    if (len == 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct resp_server *srv = listener->data;
    if (err)
        return;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (!sock)
        return;
    /* the loopback owner is never turned away: strangers cannot lock it out */
    int counted = srv->require_auth || !from_loopback(sock);
    if (counted && srv->nclients >= srv->n->home.db_max_clients) {
        static const char full[] = "-ERR max number of clients reached\r\n";
        int fd = h2o_socket_get_fd(sock);
        /* what the client already sent is read first: closing with unread
         * input would send a reset, which can discard the error in flight */
        char sink[4096];
        for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
            ;
        if (write(fd, full, sizeof full - 1) < 0) {
            /* the client learns from the close instead */
        }
        h2o_socket_close(sock);
        return;
    }
    conn *cn = calloc(1, sizeof *cn);
    cn->srv = srv;
    cn->sock = sock;
    cn->counted = counted;
    srv->nclients += counted;
    metrics_resp_connection(1);
    resp_scan_init(&cn->scan);
    cn->client = db_client_new(srv->db, cn);
    if (counted)
        db_client_require_auth(cn->client);
    cn->reader = resp_reader_new();
    sock->data = cn;
    h2o_socket_read_start(sock, on_read);
}

/* --- batches from other threads ----------------------------------------- */

static void exec_argv(db_client *c, int argc, const char *const *argv, const size_t *lens)
{
    db_exec(c, argc, (const char **)argv, lens);
}

static void exec_words(db_client *c, const char *a, const char *b)
{
    const char *argv[] = {a, b};
    size_t lens[] = {strlen(a), b ? strlen(b) : 0};
    exec_argv(c, b ? 2 : 1, argv, lens);
}

/* Runs a job's commands in the current batch: SELECT first (always, so
 * that the hooks decide what this user may do there), then the commands
 * (resp_call checked that each may run without a connection). */
static void start_job(struct resp_server *srv, job *j)
{
    const resp_batch *b = &j->batch;
    const char *target = b->select && b->select[0] ? b->select : "0";
    db_client *c = j->client = db_client_new(srv->db, NULL);
    db_client_set_user(c, b->user ? b->user : "");
    db_client_set_internal(c, b->internal);
    exec_words(c, "SELECT", target);
    if (strcmp(db_client_selected(c), strcmp(target, "0") ? target : ""))
        return; /* SELECT's error is the answer */
    if (b->read_only)
        db_client_set_may_write(c, 0);
    /* one call is one turn: bounded work and replies, so that a call
     * cannot hold the loop (and every other client) for long */
    db_client_set_limits(c, RESP_CALL_MAX_WORK, RESP_CALL_MAX_REPLY);
    db_client_turn_start(c);
    if (b->multi)
        exec_words(c, "MULTI", NULL);
    for (int i = 0; i < b->ncmds && !db_client_over_budget(c) && !db_client_overflowed(c); i++) {
        const resp_cmd *cmd = &b->cmds[i];
        exec_argv(c, cmd->argc, cmd->argv, cmd->lens);
    }
    if (b->multi && !db_client_over_budget(c) && !db_client_overflowed(c))
        exec_words(c, "EXEC", NULL); /* else the queued commands are dropped with the client */
}

static void job_free(job *j);

static void on_wake(h2o_socket_t *sock, const char *err)
{
    (void)err;
    struct resp_server *srv = sock->data;
    h2o_buffer_consume(&sock->input, sock->input->size);
    job *list = NULL, *gone = NULL;
    pthread_mutex_lock(&srv->jobs_lock);
    while (srv->queued) { /* in the order they came; a call given up on is dropped */
        job *j = srv->queued;
        srv->queued = j->next;
        if (j->abandoned) {
            j->next = gone, gone = j;
            continue;
        }
        j->state = JOB_RUNNING;
        j->next = list, list = j;
    }
    pthread_mutex_unlock(&srv->jobs_lock);
    while (gone) {
        job *j = gone;
        gone = j->next;
        job_free(j);
    }
    while (list) {
        job *j = list;
        list = j->next;
        start_job(srv, j);
        j->next = srv->running;
        srv->running = j;
    }
}

/* After the commit: hands each job its replies, on the caller's loop or to
 * the caller waiting in resp_call. */
static void finish_jobs(struct resp_server *srv)
{
    while (srv->running) {
        job *j = srv->running;
        srv->running = j->next;
        size_t len;
        const char *data = db_output(j->client, &len);
        j->out = malloc(len + 1);
        memcpy(j->out, data, len);
        j->outlen = len;
        j->over_budget = db_client_over_budget(j->client);
        j->overflowed = db_client_overflowed(j->client);
        db_client_free(j->client);
        j->client = NULL;
        pthread_mutex_lock(&srv->jobs_lock);
        j->state = JOB_DONE;
        int abandoned = j->abandoned;
        if (!abandoned && j->port) {
            j->next = j->port->done;
            j->port->done = j;
            if (write(j->port->fds[1], "j", 1) < 0 && errno != EAGAIN) /* a full pipe is read anyway */
                log_line(LOG_LEVEL_ERROR, NULL, "waking an HTTP worker: %s", strerror(errno));
        } else if (!abandoned) {
            pthread_cond_signal(&j->cond);
        }
        pthread_mutex_unlock(&srv->jobs_lock);
        if (abandoned)
            job_free(j);
    }
}

/* After each loop iteration: commit, then write what the batch answered. */
static void end_of_iteration(struct resp_server *srv)
{
    db_commit(srv->db);
    finish_jobs(srv);
    while (srv->dirty) {
        conn *cn = srv->dirty;
        srv->dirty = cn->next_dirty;
        cn->dirty = 0;
        flush(cn);
    }
    db_client *c;
    while ((c = db_next_woken(srv->db))) {
        conn *cn = db_client_io(c);
        if (cn && flush(cn))
            schedule(cn); /* what it sent while blocked */
    }
}

/* Runs the requests of connections that may go on (see schedule). */
static void run_ready(struct resp_server *srv)
{
    conn *list = srv->ready;
    srv->ready = NULL;
    while (list) {
        conn *cn = list;
        list = cn->next_ready;
        cn->ready = 0;
        process(cn);
    }
}

static void *resp_main(void *arg)
{
    struct resp_server *srv = arg;
    uint64_t last_tick = h2o_now(srv->loop);
    while (!srv->n->stopping) {
        h2o_evloop_run(srv->loop, srv->dirty || srv->ready ? 0 : 100);
        uint64_t now = h2o_now(srv->loop);
        if (now - last_tick >= 100) {
            db_tick(srv->db);
            last_tick = now;
        }
        run_ready(srv);
        end_of_iteration(srv);
    }
    end_of_iteration(srv);
    return NULL;
}

static int listen_port(const char *host, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1)
        a4->sin_family = AF_INET, a4->sin_port = htons((uint16_t)port), len = sizeof *a4;
    else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1)
        a6->sin6_family = AF_INET6, a6->sin6_port = htons((uint16_t)port), len = sizeof *a6;
    else
        return -EINVAL;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int on = 1, off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

struct resp_server *resp_start(node *n, db *d, int port, int require_auth, char *err, size_t errlen)
{
    const char *host = n->home.listen;
    int fd = listen_port(host, port);
    if (fd == -EAFNOSUPPORT && !strcmp(host, "::"))
        fd = listen_port("0.0.0.0", port);
    if (fd < 0) {
        if (fd == -EADDRINUSE)
            snprintf(err, errlen, "db_port %d is already in use: change \"db_port\" in %s/%s", port, n->home.dir,
                     HOME_SETTINGS);
        else
            snprintf(err, errlen, "cannot listen on db_port %d: %s", port, strerror(-fd));
        return NULL;
    }
    struct resp_server *srv = calloc(1, sizeof *srv);
    srv->n = n;
    srv->db = d;
    srv->require_auth = require_auth;
    if (pipe2(srv->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close(fd);
        free(srv);
        return NULL;
    }
    srv->loop = h2o_evloop_create();
    srv->listener = h2o_evloop_socket_create(srv->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    srv->listener->data = srv;
    h2o_socket_read_start(srv->listener, on_accept);
    srv->waker = h2o_evloop_socket_create(srv->loop, srv->wake[0], 0);
    srv->waker->data = srv;
    h2o_socket_read_start(srv->waker, on_wake);
    pthread_mutex_init(&srv->jobs_lock, NULL);
    pthread_create(&srv->tid, NULL, resp_main, srv);
    return srv;
}

void resp_stop(struct resp_server *srv)
{
    if (!srv)
        return;
    if (write(srv->wake[1], "x", 1) < 0)
        log_line(LOG_LEVEL_ERROR, NULL, "waking the RESP loop: %s", strerror(errno));
    pthread_join(srv->tid, NULL);
    db_client *c;
    while ((c = db_next_woken(srv->db)))
        ;
    /* close every connection: their clients go with them */
    h2o_socket_read_stop(srv->listener);
    h2o_socket_close(srv->listener);
    h2o_socket_close(srv->waker);
    close(srv->wake[1]);
    h2o_evloop_run(srv->loop, 0);
    /* calls that never ran: their callers (HTTP workers) are gone by now */
    while (srv->queued) {
        job *j = srv->queued;
        srv->queued = j->next;
        job_free(j);
    }
    pthread_mutex_destroy(&srv->jobs_lock);
    free(srv);
}

/* --- resp_call ------------------------------------------------------------ */

static redisReply *error_reply(const char *fmt, const char *arg)
{
    redisReply *r = calloc(1, sizeof *r);
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    r->type = REDIS_REPLY_ERROR;
    r->str = strdup(msg);
    r->len = strlen(msg);
    return r;
}

static redisReply *array_reply(size_t n)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof *r->element);
    return r;
}

/* NULL when every command may run here, else the error. */
static redisReply *refused(const resp_batch *b)
{
    char name[64];
    if (b->ncmds > RESP_CALL_MAX_CMDS)
        return error_reply("ERR more than %s commands in one call", RESP_CALL_MAX_CMDS_TEXT);
    for (int i = 0; i < b->ncmds; i++) {
        const resp_cmd *cmd = &b->cmds[i];
        if (cmd->argc < 1)
            return error_reply("ERR empty command%s", "");
        if (!db_command_embeddable(cmd->argv[0], cmd->lens[0]) &&
            !(b->internal && db_command_internal(cmd->argv[0], cmd->lens[0]))) {
            snprintf(name, sizeof name, "%.*s", (int)(cmd->lens[0] > 40 ? 40 : cmd->lens[0]), cmd->argv[0]);
            return error_reply("ERR '%s' is not available here: it needs a connection of its own (or is unknown)",
                               name);
        }
    }
    return NULL;
}

/* A job holding a copy of the batch. */
static job *job_new(const resp_batch *b)
{
    job *j = calloc(1, sizeof *j);
    size_t nargs = 0, nbytes = 0;
    for (int i = 0; i < b->ncmds; i++) {
        nargs += (size_t)b->cmds[i].argc;
        for (int k = 0; k < b->cmds[i].argc; k++)
            nbytes += b->cmds[i].lens[k] + 1;
    }
    const char *user = b->user ? b->user : "";
    nbytes += strlen(user) + 1 + (b->select ? strlen(b->select) + 1 : 0);
    j->cmds = calloc(b->ncmds ? (size_t)b->ncmds : 1, sizeof *j->cmds);
    j->argv = calloc(nargs ? nargs : 1, sizeof *j->argv);
    j->lens = calloc(nargs ? nargs : 1, sizeof *j->lens);
    char *p = j->bytes = malloc(nbytes);
    size_t at = 0;
    for (int i = 0; i < b->ncmds; i++) {
        const resp_cmd *cmd = &b->cmds[i];
        for (int k = 0; k < cmd->argc; k++) {
            memcpy(p, cmd->argv[k], cmd->lens[k]);
            p[cmd->lens[k]] = '\0';
            j->argv[at + (size_t)k] = p;
            j->lens[at + (size_t)k] = cmd->lens[k];
            p += cmd->lens[k] + 1;
        }
        j->cmds[i] = (resp_cmd){cmd->argc, j->argv + at, j->lens + at};
        at += (size_t)cmd->argc;
    }
    j->batch = *b;
    j->batch.cmds = j->cmds;
    j->batch.user = strcpy(p, user);
    p += strlen(user) + 1;
    if (b->select)
        j->batch.select = strcpy(p, b->select);
    pthread_cond_init(&j->cond, NULL);
    return j;
}

static void job_free(job *j)
{
    if (!j)
        return;
    pthread_cond_destroy(&j->cond);
    free(j->cmds);
    free(j->argv);
    free(j->lens);
    free(j->bytes);
    free(j->out);
    free(j);
}

static void enqueue(struct resp_server *srv, job *j)
{
    pthread_mutex_lock(&srv->jobs_lock);
    j->next = srv->queued;
    srv->queued = j;
    pthread_mutex_unlock(&srv->jobs_lock);
    if (write(srv->wake[1], "j", 1) < 0 && errno != EAGAIN) /* a full pipe wakes the loop anyway */
        log_line(LOG_LEVEL_ERROR, NULL, "waking the RESP loop: %s", strerror(errno));
}

/* The answer to a caller that stopped waiting: whether the batch had
 * started says whether it may still take effect. */
static redisReply *busy_reply(int started)
{
    return error_reply(started ? "BUSY database busy: the commands did not finish within %s (they may still take effect)"
                               : "BUSY database busy: the commands did not start within %s and were not run (try again)",
                       RESP_CALL_TIMEOUT_TEXT);
}

/* The caller's answer from what the batch wrote out. */
static redisReply *answer_of(const resp_batch *b, const char *out, size_t outlen, int over_budget, int overflowed)
{
    if (over_budget || overflowed) { /* an error, never a truncated answer */
        char limit[32];
        snprintf(limit, sizeof limit, "%d", over_budget ? RESP_CALL_MAX_WORK : RESP_CALL_MAX_REPLY);
        return error_reply(over_budget ? "ERR the call stopped after %s steps of work (entries visited; the "
                                            "commands before the one stopped have run): read in parts (SCAN, LRANGE ...)"
                                          : "ERR the call stopped: its replies would pass %s bytes (the commands before "
                                            "the one stopped have run): ask for less per call",
                           limit);
    }

    /* SELECT's reply, then MULTI's and a QUEUED per command, then EXEC's */
    redisReader *rd = redisReaderCreate();
    redisReaderFeed(rd, out, outlen);
    redisReply *result = NULL, *r = NULL;
    size_t expect = 1 + (b->multi ? (size_t)b->ncmds + 2 : (size_t)b->ncmds), got = 0;
    redisReply **replies = calloc(expect, sizeof *replies);
    while (got < expect && redisReaderGetReply(rd, (void **)&r) == REDIS_OK && r)
        replies[got++] = r;
    redisReaderFree(rd);
    if (got >= 1 && replies[0]->type == REDIS_REPLY_ERROR) {
        result = replies[0], replies[0] = NULL;
    } else if (got != expect) {
        result = error_reply("ERR the database gave %s replies than asked", got < expect ? "fewer" : "more");
    } else if (b->multi) {
        result = replies[expect - 1], replies[expect - 1] = NULL; /* EXEC's array, or its error */
        for (size_t i = 2; i < expect - 1 && result->type != REDIS_REPLY_ARRAY; i++)
            if (replies[i]->type == REDIS_REPLY_ERROR) { /* the queuing error says more than EXECABORT */
                freeReplyObject(result);
                result = replies[i], replies[i] = NULL;
            }
    } else {
        result = array_reply((size_t)b->ncmds);
        for (int i = 0; i < b->ncmds; i++)
            result->element[i] = replies[i + 1], replies[i + 1] = NULL;
    }
    for (size_t i = 0; i < got; i++)
        if (replies[i])
            freeReplyObject(replies[i]);
    free(replies);
    return result;
}

static redisReply *job_reply(job *j)
{
    return answer_of(&j->batch, j->out, j->outlen, j->over_budget, j->overflowed);
}

/* A batch of reads runs at once on the calling thread, in a reader of its
 * own (db.h): no hop to the writer, no wait behind its writes. NULL when
 * the batch is not all reads (or no reader could begin): the writer runs
 * it. */
static redisReply *read_here(struct resp_server *srv, const resp_batch *b)
{
    if (b->multi || b->ncmds == 0)
        return NULL;
    for (int i = 0; i < b->ncmds; i++)
        if (!db_command_reads_anywhere(b->cmds[i].argv[0], b->cmds[i].lens[0]))
            return NULL;
    char err[256];
    db_client *c = db_reader_new(srv->db, b->user ? b->user : "", err, sizeof err);
    if (!c)
        return NULL;
    const char *target = b->select && b->select[0] ? b->select : "0";
    const char *argv[] = {"SELECT", target};
    size_t lens[] = {6, strlen(target)};
    db_reader_exec(c, 2, argv, lens);
    if (!strcmp(db_client_selected(c), strcmp(target, "0") ? target : "")) {
        db_client_set_limits(c, RESP_CALL_MAX_WORK, RESP_CALL_MAX_REPLY);
        db_client_turn_start(c);
        for (int i = 0; i < b->ncmds && !db_client_over_budget(c) && !db_client_overflowed(c); i++)
            db_reader_exec(c, b->cmds[i].argc, (const char **)b->cmds[i].argv, b->cmds[i].lens);
    }
    size_t len;
    const char *out = db_output(c, &len);
    redisReply *r = db_reader_failed(c) ? error_reply("ERR storage error: %s", mdb_strerror(db_reader_failed(c)))
                                        : answer_of(b, out, len, db_client_over_budget(c), db_client_overflowed(c));
    db_reader_free(c);
    return r;
}

redisReply *resp_call(struct resp_server *srv, const resp_batch *b)
{
    redisReply *no = refused(b);
    if (no)
        return no;
    redisReply *read = read_here(srv, b);
    if (read)
        return read;
    job *j = job_new(b);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_destroy(&j->cond);
    pthread_cond_init(&j->cond, &attr);
    pthread_condattr_destroy(&attr);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += RESP_CALL_TIMEOUT_MS / 1000;
    until.tv_nsec += (RESP_CALL_TIMEOUT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
        until.tv_sec++, until.tv_nsec -= 1000000000L;
    enqueue(srv, j);
    pthread_mutex_lock(&srv->jobs_lock);
    while (j->state != JOB_DONE && pthread_cond_timedwait(&j->cond, &srv->jobs_lock, &until) != ETIMEDOUT)
        ;
    if (j->state != JOB_DONE) { /* the RESP side frees it */
        int started = j->state == JOB_RUNNING;
        j->abandoned = 1;
        pthread_mutex_unlock(&srv->jobs_lock);
        return busy_reply(started);
    }
    pthread_mutex_unlock(&srv->jobs_lock);
    redisReply *r = job_reply(j);
    job_free(j);
    return r;
}

/* --- resp_call_start: answers on the caller's loop --------------------------- */

static pthread_key_t port_key;
static pthread_once_t port_once = PTHREAD_ONCE_INIT;
static __thread struct port *this_port;

/* Takes j out of its port's answered list (under the lock). */
static void unlink_done(struct port *port, job *j)
{
    for (job **p = &port->done; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            return;
        }
}

/* Hands the answer to the caller; j is freed first (done may start calls). */
static void deliver(job *j, redisReply *reply)
{
    if (h2o_timeout_is_linked(&j->timeout))
        h2o_timeout_unlink(&j->timeout);
    if (h2o_linklist_is_linked(&j->pending))
        h2o_linklist_unlink(&j->pending);
    resp_done_fn done = j->done;
    void *arg = j->arg;
    job_free(j);
    done(arg, reply);
}

static void on_answers(h2o_socket_t *sock, const char *err)
{
    (void)err;
    struct port *port = sock->data;
    h2o_buffer_consume(&sock->input, sock->input->size);
    for (;;) { /* one at a time: a callback may cancel another call of this loop */
        pthread_mutex_lock(&port->srv->jobs_lock);
        job *j = port->done;
        if (j)
            port->done = j->next;
        pthread_mutex_unlock(&port->srv->jobs_lock);
        if (!j)
            return;
        deliver(j, job_reply(j));
    }
}

static void on_timeout(h2o_timeout_entry_t *entry)
{
    job *j = H2O_STRUCT_FROM_MEMBER(job, timeout, entry);
    struct port *port = j->port;
    pthread_mutex_lock(&port->srv->jobs_lock);
    if (j->state == JOB_DONE) { /* answered just now: the answer, not the error */
        unlink_done(port, j);
        pthread_mutex_unlock(&port->srv->jobs_lock);
        deliver(j, job_reply(j));
        return;
    }
    int started = j->state == JOB_RUNNING;
    j->abandoned = 1; /* the RESP side frees it */
    pthread_mutex_unlock(&port->srv->jobs_lock);
    h2o_linklist_unlink(&j->pending);
    j->done(j->arg, busy_reply(started));
}

/* As the thread ends: its calls still out are given up (their callers are
 * gone with the loop), answers not yet taken freed. */
static void port_free(void *arg)
{
    struct port *port = arg;
    pthread_mutex_lock(&port->srv->jobs_lock);
    while (!h2o_linklist_is_empty(&port->pending)) {
        job *j = H2O_STRUCT_FROM_MEMBER(job, pending, port->pending.next);
        h2o_linklist_unlink(&j->pending);
        if (h2o_timeout_is_linked(&j->timeout))
            h2o_timeout_unlink(&j->timeout);
        if (j->state != JOB_DONE)
            j->abandoned = 1;
    }
    job *answered = port->done;
    port->done = NULL;
    pthread_mutex_unlock(&port->srv->jobs_lock);
    while (answered) {
        job *j = answered;
        answered = j->next;
        job_free(j);
    }
    h2o_timeout_dispose(port->loop, &port->timeout);
    h2o_socket_read_stop(port->sock);
    h2o_socket_close(port->sock);
    close(port->fds[1]);
    free(port);
    this_port = NULL;
}

static void make_port_key(void) { pthread_key_create(&port_key, port_free); }

static struct port *port_of(struct resp_server *srv, h2o_evloop_t *loop)
{
    if (this_port)
        return this_port;
    struct port *port = calloc(1, sizeof *port);
    if (pipe2(port->fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(port);
        return NULL;
    }
    port->srv = srv;
    port->loop = loop;
    h2o_linklist_init_anchor(&port->pending);
    h2o_timeout_init(loop, &port->timeout, RESP_CALL_TIMEOUT_MS);
    port->sock = h2o_evloop_socket_create(loop, port->fds[0], 0);
    port->sock->data = port;
    h2o_socket_read_start(port->sock, on_answers);
    pthread_once(&port_once, make_port_key);
    pthread_setspecific(port_key, port);
    return this_port = port;
}

redisReply *resp_call_start(struct resp_server *srv, h2o_evloop_t *loop, const resp_batch *b, resp_done_fn done,
                            void *arg, resp_pending **pending)
{
    *pending = NULL;
    redisReply *no = refused(b);
    if (no)
        return no;
    redisReply *read = read_here(srv, b);
    if (read)
        return read;
    struct port *port = port_of(srv, loop);
    if (!port)
        return error_reply("ERR cannot wait for the database: %s", strerror(errno));
    job *j = job_new(b);
    j->port = port;
    j->done = done;
    j->arg = arg;
    h2o_linklist_insert(&port->pending, &j->pending);
    j->timeout.cb = on_timeout;
    h2o_timeout_link(loop, &port->timeout, &j->timeout);
    enqueue(srv, j);
    *pending = j;
    return NULL;
}

void resp_call_cancel(resp_pending *j)
{
    struct port *port = j->port;
    if (h2o_timeout_is_linked(&j->timeout))
        h2o_timeout_unlink(&j->timeout);
    if (h2o_linklist_is_linked(&j->pending))
        h2o_linklist_unlink(&j->pending);
    pthread_mutex_lock(&port->srv->jobs_lock);
    int answered = j->state == JOB_DONE;
    if (answered)
        unlink_done(port, j);
    else
        j->abandoned = 1; /* dropped if not started; the RESP side frees it */
    pthread_mutex_unlock(&port->srv->jobs_lock);
    if (answered)
        job_free(j);
}
