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
 * Requests: a scanner checks the framing first (counts, "$" headers, bulk
 * lengths against proto-max-bulk-len) so that hostile headers are refused
 * before anything is allocated; each complete frame then goes through
 * hiredis's redisReader, which builds the argument vector. Lines that do
 * not start with '*' are inline commands, split on blanks as Redis does.
 */
#include "db.h"
#include "node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <h2o.h>
#include <hiredis/read.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_MULTIBULK (1024 * 1024)
#define MAX_INLINE (64 * 1024)
#define READ_PAUSE_BYTES (1 << 20) /* stop reading while this much output waits */

typedef struct {
    int argc, cap;
    char **argv;
    size_t *lens;
} request;

typedef struct conn {
    struct resp_server *srv;
    h2o_socket_t *sock;
    db_client *client;
    redisReader *reader;
    /* framing scan of sock->input */
    size_t scan;        /* bytes of the current frame checked so far */
    long long elements; /* elements of the current frame still to check; -1 at a boundary */
    char *out;          /* the output being written */
    size_t outlen;
    int writing, paused, closing, dirty, has_input;
    struct conn *next_dirty;
} conn;

struct resp_server {
    node *n;
    db *db;
    pthread_t tid;
    h2o_evloop_t *loop;
    h2o_socket_t *listener, *waker;
    int wake[2];
    int require_auth;
    conn *dirty; /* connections that ran commands this iteration */
};

/* --- redisReader objects: one request (an array of bulk strings) -------- */

static void *make_array(const redisReadTask *task, int elements)
{
    if (task->parent || elements < 0 || elements > MAX_MULTIBULK)
        return NULL; /* the scanner refuses these first; never allocate for them */
    request *r = calloc(1, sizeof *r);
    r->cap = elements;
    r->argv = calloc((size_t)(elements ? elements : 1), sizeof *r->argv);
    r->lens = calloc((size_t)(elements ? elements : 1), sizeof *r->lens);
    return r;
}

static void *make_string(const redisReadTask *task, char *str, size_t len)
{
    if (!task->parent)
        return NULL;
    request *r = task->parent->obj;
    char *copy = malloc(len + 1);
    memcpy(copy, str, len);
    copy[len] = '\0';
    r->argv[task->idx] = copy;
    r->lens[task->idx] = len;
    if (task->idx + 1 > r->argc)
        r->argc = task->idx + 1;
    return copy;
}

static void *make_other(const redisReadTask *task)
{
    (void)task;
    return NULL;
}

static void *make_integer(const redisReadTask *task, long long v)
{
    (void)v;
    return make_other(task);
}

static void free_request(void *p)
{
    request *r = p;
    if (!r)
        return;
    for (int i = 0; i < r->argc; i++)
        free(r->argv[i]);
    free(r->argv);
    free(r->lens);
    free(r);
}

/* hiredis hands freeObject only whole replies (on errors): the strings
 * belong to their request. */
static redisReplyObjectFunctions request_functions = {make_string, make_array, make_integer, make_other,
                                                      free_request};

/* --- output ------------------------------------------------------------- */

static void close_conn(conn *cn);
static void flush(conn *cn);
static void process(conn *cn);

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

static void flush(conn *cn)
{
    if (cn->writing)
        return;
    size_t len;
    const char *data = db_output(cn->client, &len);
    if (len == 0) {
        if (cn->closing || db_client_closing(cn->client)) {
            close_conn(cn);
            return;
        }
        if (cn->paused) { /* the client may send again */
            cn->paused = 0;
            process(cn);
        }
        return;
    }
    cn->out = malloc(len);
    memcpy(cn->out, data, len);
    cn->outlen = len;
    db_output_consumed(cn->client, len);
    cn->writing = 1;
    h2o_iovec_t buf = h2o_iovec_init(cn->out, len);
    h2o_socket_write(cn->sock, &buf, 1, on_written);
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

static void protocol_error(conn *cn, const char *what)
{
    db_protocol_error(cn->client, what);
    cn->closing = 1;
    h2o_socket_read_stop(cn->sock);
    mark_dirty(cn);
}

/* Splits an inline command line on blanks, with "double" and 'single'
 * quotes as Redis's sdssplitargs; -1 on unbalanced quotes. */
static int split_inline(const char *p, size_t n, request *r)
{
    size_t i = 0;
    for (;;) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
            i++;
        if (i >= n)
            return 0;
        char *arg = malloc(n - i + 1);
        size_t len = 0;
        char quote = 0;
        for (; i < n; i++) {
            char ch = p[i];
            if (quote) {
                if (ch == '\\' && quote == '"' && i + 1 < n) {
                    char e = p[++i];
                    arg[len++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
                } else if (ch == quote) {
                    quote = 0;
                    if (i + 1 < n && p[i + 1] != ' ' && p[i + 1] != '\t' && p[i + 1] != '\r') {
                        free(arg);
                        return -1; /* closing quote must be followed by a space */
                    }
                } else {
                    arg[len++] = ch;
                }
            } else if (ch == '"' || ch == '\'') {
                quote = ch;
            } else if (ch == ' ' || ch == '\t' || ch == '\r') {
                break;
            } else {
                arg[len++] = ch;
            }
        }
        if (quote) {
            free(arg);
            return -1;
        }
        if (r->argc == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 8;
            r->argv = realloc(r->argv, (size_t)r->cap * sizeof *r->argv);
            r->lens = realloc(r->lens, (size_t)r->cap * sizeof *r->lens);
        }
        arg[len] = '\0';
        r->argv[r->argc] = arg;
        r->lens[r->argc++] = len;
    }
}

static void run(conn *cn, request *r)
{
    if (r->argc > 0)
        db_exec(cn->client, r->argc, (const char **)r->argv, r->lens);
    mark_dirty(cn);
}

/* A line in buf[from..len): the offset of its '\n', or -1. */
static long find_newline(const char *buf, size_t from, size_t len)
{
    const char *nl = memchr(buf + from, '\n', len - from);
    return nl ? nl - buf : -1;
}

/* Parses the number of a "*N\r\n" or "$N\r\n" header at buf[at]; -2 bad. */
static long long header_number(const char *buf, size_t at, long nl)
{
    if (nl < 1 || buf[nl - 1] != '\r')
        return -2;
    long long v = 0;
    size_t i = at + 1, end = (size_t)nl - 1;
    int neg = i < end && buf[i] == '-';
    if (neg)
        i++;
    if (i == end || end - i > 18)
        return -2;
    for (; i < end; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -2;
        v = v * 10 + (buf[i] - '0');
    }
    return neg ? -v : v;
}

/* Runs every complete request in the input, until blocked or paused. */
static void process(conn *cn)
{
    h2o_buffer_t *in = cn->sock->input;
    size_t max_bulk = db_proto_max_bulk_len(cn->srv->db);
    while (!cn->closing && !db_client_blocked(cn->client) && !cn->paused) {
        const char *buf = in->bytes;
        size_t len = in->size;
        if (cn->elements < 0) { /* at a request boundary */
            if (len == 0)
                break;
            if (buf[0] != '*') {
                long nl = find_newline(buf, 0, len);
                if (nl < 0) {
                    if (len > MAX_INLINE)
                        protocol_error(cn, "too big inline request");
                    break;
                }
                request r = {0};
                int bad = split_inline(buf, (size_t)nl, &r);
                h2o_buffer_consume(&cn->sock->input, (size_t)nl + 1);
                in = cn->sock->input;
                if (bad)
                    protocol_error(cn, "unbalanced quotes in request");
                else
                    run(cn, &r);
                for (int i = 0; i < r.argc; i++)
                    free(r.argv[i]);
                free(r.argv);
                free(r.lens);
                continue;
            }
            long nl = find_newline(buf, 0, len);
            if (nl < 0) {
                if (len > MAX_INLINE)
                    protocol_error(cn, "too big mbulk count string");
                break;
            }
            long long count = header_number(buf, 0, nl);
            if (count == -2 || count > MAX_MULTIBULK) {
                protocol_error(cn, "invalid multibulk length");
                break;
            }
            if (count <= 0) { /* an empty request: nothing to run */
                h2o_buffer_consume(&cn->sock->input, (size_t)nl + 1);
                in = cn->sock->input;
                continue;
            }
            cn->elements = count;
            cn->scan = (size_t)nl + 1;
        }
        while (cn->elements > 0) { /* check each "$len\r\n" + payload */
            if (cn->scan >= len)
                break;
            if (buf[cn->scan] != '$') {
                char what[64];
                snprintf(what, sizeof what, "expected '$', got '%c'", buf[cn->scan]);
                protocol_error(cn, what);
                return;
            }
            long nl = find_newline(buf, cn->scan, len);
            if (nl < 0) {
                if (len - cn->scan > MAX_INLINE)
                    protocol_error(cn, "too big bulk count string");
                break;
            }
            long long blen = header_number(buf, cn->scan, nl);
            if (blen < 0 || (unsigned long long)blen > max_bulk) {
                protocol_error(cn, "invalid bulk length");
                return;
            }
            if ((size_t)nl + 1 + (size_t)blen + 2 > len)
                break; /* wait for the payload */
            if (buf[nl + 1 + blen] != '\r' || buf[nl + 2 + blen] != '\n') {
                protocol_error(cn, "expected '\\r\\n' after bulk");
                return;
            }
            cn->scan = (size_t)nl + 1 + (size_t)blen + 2;
            cn->elements--;
        }
        if (cn->elements > 0 || cn->closing)
            break;
        /* one complete, checked frame: let redisReader build it */
        void *obj = NULL;
        if (redisReaderFeed(cn->reader, buf, cn->scan) != REDIS_OK ||
            redisReaderGetReply(cn->reader, &obj) != REDIS_OK || !obj) {
            protocol_error(cn, cn->reader->err ? cn->reader->errstr : "incomplete request");
            free_request(obj);
            return;
        }
        h2o_buffer_consume(&cn->sock->input, cn->scan);
        in = cn->sock->input;
        cn->elements = -1;
        cn->scan = 0;
        run(cn, obj);
        free_request(obj);
        /* back-pressure: a client that reads nothing cannot grow our memory */
        size_t pending;
        db_output(cn->client, &pending);
        if (pending > READ_PAUSE_BYTES) {
            cn->paused = 1;
            h2o_socket_read_stop(cn->sock);
            break;
        }
    }
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

static void close_conn(conn *cn)
{
    if (cn->dirty) { /* unlink from the dirty list first */
        conn **p = &cn->srv->dirty;
        while (*p && *p != cn)
            p = &(*p)->next_dirty;
        if (*p)
            *p = cn->next_dirty;
    }
    db_client_free(cn->client);
    redisReaderFree(cn->reader);
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
    conn *cn = calloc(1, sizeof *cn);
    cn->srv = srv;
    cn->sock = sock;
    cn->elements = -1;
    cn->client = db_client_new(srv->db, cn);
    if (srv->require_auth || !from_loopback(sock))
        db_client_require_auth(cn->client);
    cn->reader = redisReaderCreateWithFunctions(&request_functions);
    sock->data = cn;
    h2o_socket_read_start(sock, on_read);
}

static void on_wake(h2o_socket_t *sock, const char *err)
{
    (void)err;
    h2o_buffer_consume(&sock->input, sock->input->size);
}

/* After each loop iteration: commit, then write what the batch answered. */
static void end_of_iteration(struct resp_server *srv)
{
    db_commit(srv->db);
    while (srv->dirty) {
        conn *cn = srv->dirty;
        srv->dirty = cn->next_dirty;
        cn->dirty = 0;
        flush(cn);
    }
    db_client *c;
    while ((c = db_next_woken(srv->db))) {
        conn *cn = db_client_io(c);
        flush(cn);
        process(cn); /* what it sent while blocked */
    }
}

static void *resp_main(void *arg)
{
    struct resp_server *srv = arg;
    uint64_t last_tick = h2o_now(srv->loop);
    while (!srv->n->stopping) {
        h2o_evloop_run(srv->loop, srv->dirty ? 0 : 100);
        uint64_t now = h2o_now(srv->loop);
        if (now - last_tick >= 100) {
            db_tick(srv->db);
            last_tick = now;
        }
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
    h2o_socket_read_start(srv->waker, on_wake);
    pthread_create(&srv->tid, NULL, resp_main, srv);
    return srv;
}

void resp_stop(struct resp_server *srv)
{
    if (!srv)
        return;
    if (write(srv->wake[1], "x", 1) < 0)
        perror("leither: waking the RESP loop");
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
    free(srv);
}
