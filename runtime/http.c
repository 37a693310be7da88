/*
 * http: the h2o server. One evloop per worker thread; every worker has its
 * own listening socket on the same port (SO_REUSEPORT), so the kernel
 * spreads connections and no lock sits on the accept path.
 */
#include "node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <h2o.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "apps.h"
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
};

struct http_server {
    h2o_globalconf_t conf;
    int nworkers;
    struct worker *workers;
};

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

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct worker *w = listener->data;
    if (err)
        return;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock)
        h2o_accept(&w->accept, sock);
}

static void on_wake(h2o_socket_t *sock, const char *err)
{
    (void)err;
    h2o_buffer_consume(&sock->input, sock->input->size);
}

static int busy(struct worker *w)
{
    return !h2o_linklist_is_empty(&w->ctx.http1._conns) || !h2o_linklist_is_empty(&w->ctx.http2._conns);
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
    while (busy(w) && h2o_now(w->loop) < deadline)
        h2o_evloop_run(w->loop, 10);
    apps_thread_done();
    return NULL;
}

int http_start(node *n, char *err, size_t errlen)
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
    h2o_hostconf_t *hostconf = h2o_config_register_host(&s->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    apps_hide_all_server_code(n); /* before anything is served */
    api_register(hostconf, n);
    origins_install(hostconf, n); /* first in every path: it decides the origin */
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
            perror("leither: waking a worker");
    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        if (w->tid)
            pthread_join(w->tid, NULL);
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
    n->http = NULL;
}
