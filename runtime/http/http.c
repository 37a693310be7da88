/*
 * http: the h2o server (http.h). One evloop per worker thread; every worker
 * has its own listening socket on the same port (SO_REUSEPORT), so the
 * kernel spreads connections and no lock sits on the accept path. h2o sees
 * one path, "/", with one handler: origins, then our own prefix table.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <h2o.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errbuf.h"

struct worker {
    node *n;
    pthread_t tid;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept;
    h2o_socket_t *listener;
    h2o_socket_t *waker; /* read end of wake[]: a byte here means "look at n->stopping" */
    int wake[2];
    size_t in_flight;  /* requests begun and not yet done (this thread only) */
    size_t open_conns; /* accepted and not yet closed (this thread only) */
};

struct http_server {
    h2o_globalconf_t conf;
    node *n;
    const http_route *routes;
    size_t nroutes;
    int nworkers;
    struct worker *workers;
};

typedef struct {
    h2o_handler_t super;
    struct http_server *s;
} root_handler;

/* A server http_stop could not dispose (see there) */
static struct http_server *left_to_exit;

static int make_addr(struct sockaddr_storage *ss, socklen_t *len, const char *host, int port)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET, a4->sin_port = htons((uint16_t)port), *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6, a6->sin6_port = htons((uint16_t)port), *len = sizeof *a6;
        return 0;
    }
    return -1;
}

/* A listening socket; shared says SO_REUSEPORT. Returns fd or -errno. */
static int listen_on(const char *host, int port, int shared)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (make_addr(&ss, &len, host, port) != 0)
        return -EINVAL;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int on = 1, off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (shared)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off); /* "::" takes IPv4 too */
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void on_conn_closed(void *data)
{
    struct worker *w = data;
    w->open_conns--;
    metrics_http_connection(-1);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct worker *w = listener->data;
    if (err)
        return;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (!sock)
        return;
    /* counted as h2o's own server counts them: stop waits for the count */
    w->open_conns++;
    metrics_http_connection(1);
    sock->on_close.cb = on_conn_closed;
    sock->on_close.data = w;
    h2o_accept(&w->accept, sock);
}

static void on_wake(h2o_socket_t *sock, const char *err)
{
    (void)err;
    h2o_buffer_consume(&sock->input, sock->input->size);
}

/* The route for path: the longest prefix that is path or a folder of it. */
static const http_route *route_of(const struct http_server *s, h2o_iovec_t path)
{
    const http_route *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < s->nroutes; i++) {
        const char *p = s->routes[i].prefix;
        size_t len = strlen(p);
        int match = path.len >= len && !memcmp(path.base, p, len) &&
                    (path.len == len || p[len - 1] == '/' || path.base[len] == '/');
        if (match && (!best || len > best_len))
            best = &s->routes[i], best_len = len;
    }
    return best;
}

/* A request in flight: released with the request's memory, when its
 * answer has gone (or the client left). */
struct in_flight {
    struct worker *w;
    h2o_req_t *req;
    enum metrics_surface surface;
};

static void request_done(void *p)
{
    struct in_flight *f = p;
    f->w->in_flight--;
    metrics_http_request(f->surface, f->req->res.status);
}

static int on_request(h2o_handler_t *self, h2o_req_t *req)
{
    struct http_server *s = ((root_handler *)self)->s;
    /* counted until the request's memory is released: stop waits for it */
    struct worker *w = H2O_STRUCT_FROM_MEMBER(struct worker, ctx, req->conn->ctx);
    struct in_flight *f = h2o_mem_alloc_shared(&req->pool, sizeof *f, request_done);
    *f = (struct in_flight){w, req, METRICS_OTHER};
    w->in_flight++;
    int answered = origins_route(req, s->n);
    const http_route *r = route_of(s, req->path_normalized);
    if (r)
        f->surface = r->surface;
    if (answered)
        return 0;
    if (!r)
        return http_reply(req, 404, "text/plain; charset=utf-8", H2O_STRLIT("404 not found\n"));
    return r->fn(req, s->n);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    while (!w->n->stopping)
        h2o_evloop_run(w->loop, INT32_MAX);
    /* graceful: accept nothing more, let responses in flight go out */
    h2o_socket_read_stop(w->listener);
    h2o_socket_close(w->listener);
    w->listener = NULL;
    uint64_t deadline = h2o_now(w->loop) + 1000;
    while ((w->in_flight || w->open_conns) && h2o_now(w->loop) < deadline)
        h2o_evloop_run(w->loop, 10);
    return NULL;
}

int http_start(node *n, const http_route *routes, size_t nroutes, char *err, size_t errlen)
{
    home *h = &n->home;
    const char *host = h->listen;
    /* Probe without SO_REUSEPORT: it fails if anyone, even another node with
     * reuse on, holds the port, which a shared bind would silently join. */
    int probe = listen_on(host, h->port, 0);
    if (probe == -EAFNOSUPPORT && !strcmp(host, "::")) {
        host = "0.0.0.0"; /* no IPv6 on this machine */
        probe = listen_on(host, h->port, 0);
    }
    if (probe < 0) {
        if (probe == -EADDRINUSE)
            return ERR("port %d is already in use: change \"port\" in %s/%s (leither init -p PORT)", h->port, h->dir,
                       HOME_SETTINGS);
        if (probe == -EACCES)
            return ERR("port %d: permission denied", h->port);
        return ERR("cannot listen on [%s]:%d: %s", host, h->port, strerror(-probe));
    }
    close(probe);

    struct http_server *s = calloc(1, sizeof *s);
    s->nworkers = h->threads;
    s->workers = calloc((size_t)s->nworkers, sizeof *s->workers);
    h2o_config_init(&s->conf);
    s->conf.server_name = h2o_iovec_init(H2O_STRLIT("leither/" LEITHER_VERSION));
    s->conf.max_request_entity_size = h->max_request_body;
    s->n = n;
    s->routes = routes;
    s->nroutes = nroutes;
    h2o_hostconf_t *hostconf = h2o_config_register_host(&s->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(hostconf, "/", 0);
    root_handler *root = (root_handler *)h2o_create_handler(pc, sizeof *root);
    root->super.on_req = on_request;
    root->s = s;
    n->http = s;

    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        w->n = n;
        int fd = listen_on(host, h->port, 1);
        if (fd < 0 || pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
            if (fd >= 0)
                close(fd);
            s->nworkers = i;
            http_stop(n);
            return ERR("cannot listen on [%s]:%d: %s", host, h->port, strerror(fd < 0 ? -fd : errno));
        }
        w->loop = h2o_evloop_create();
        h2o_context_init(&w->ctx, w->loop, &s->conf);
        w->accept.ctx = &w->ctx;
        w->accept.hosts = s->conf.hosts;
        w->listener = h2o_evloop_socket_create(w->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
        w->listener->data = w;
        h2o_socket_read_start(w->listener, on_accept);
        w->waker = h2o_evloop_socket_create(w->loop, w->wake[0], 0);
        h2o_socket_read_start(w->waker, on_wake);
    }
    for (int i = 0; i < s->nworkers; i++)
        pthread_create(&s->workers[i].tid, NULL, worker_main, &s->workers[i]);
    return 0;
}

void http_stop(node *n)
{
    struct http_server *s = n->http;
    if (!s)
        return;
    n->stopping = 1;
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].tid && write(s->workers[i].wake[1], "x", 1) < 0)
            log_line(LOG_LEVEL_ERROR, NULL, "waking a worker: %s", strerror(errno));
    size_t live = 0;
    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        if (w->tid)
            pthread_join(w->tid, NULL);
        live += w->open_conns;
    }
    n->http = NULL;
    if (live) {
        /* A client kept its connection past the grace second. h2o cannot
         * dispose a context that still has connections (HTTP/1 has no
         * graceful close of idle ones): leave it all to the process's end,
         * held here so that it is not reported as a leak. */
        left_to_exit = s;
        return;
    }
    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        if (w->listener)
            h2o_socket_close(w->listener);
        h2o_socket_close(w->waker);
        close(w->wake[1]);
        h2o_context_dispose(&w->ctx);
        h2o_evloop_destroy(w->loop);
    }
    h2o_config_dispose(&s->conf);
    free(s->workers);
    free(s);
}
