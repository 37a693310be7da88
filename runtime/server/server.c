/* server: the life of the node process (server.h). */
#include "server.h"

#include "api.h"
#include "apps.h"
#include "db.h"
#include "dht.h"
#include "gateway.h"
#include "http.h"
#include "resp.h"
#include "routing.h"
#include "store.h"
#include "heads.h"
#include "ledger.h"
#include "sync.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"

/* --- pid file ----------------------------------------------------------- */

pid_t server_running_pid(const home *h)
{
    char path[PATH_MAX + 32], buf[32] = {0};
    home_path(h, path, sizeof path, NODE_PID_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    pid_t pid = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) { /* the node holds it */
        ssize_t r = read(fd, buf, sizeof buf - 1);
        pid = r > 0 ? (pid_t)atoi(buf) : 0;
        if (pid <= 0)
            pid = -1; /* running, pid not written yet */
    }
    close(fd);
    return pid;
}

/* Takes the home's pid-file lock for this process's lifetime. */
static int lock_pid_file(const home *h, int *fdp, char *err, size_t errlen)
{
    char path[PATH_MAX + 32];
    home_path(h, path, sizeof path, NODE_PID_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return ERR("%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        pid_t pid = server_running_pid(h);
        return ERR("a node is already running in %s (pid %d)", h->dir, (int)pid);
    }
    *fdp = fd;
    return 0;
}

static void write_pid(int fd)
{
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len)
        log_line(LOG_LEVEL_ERROR, NULL, "writing the pid file: %s", strerror(errno));
}

/* --- run ---------------------------------------------------------------- */

/* Sleeps until the wall clock reads at least second. */
static void wait_until(int64_t second)
{
    struct timespec now;
    while (clock_gettime(CLOCK_REALTIME, &now) == 0 && (int64_t)now.tv_sec < second) {
        struct timespec rest = {.tv_sec = 0, .tv_nsec = 1000000000L - now.tv_nsec};
        nanosleep(&rest, NULL);
    }
}

static void print_banner(FILE *out, const node *n)
{
    char base[128];
    home_api_base(&n->home, base, sizeof base);
    if (log_get_format() == LOG_FORMAT_JSON) {
        char threads[16], db_port[16];
        snprintf(threads, sizeof threads, "%d", n->home.threads);
        char dht_port[16];
        snprintf(db_port, sizeof db_port, "%d", n->home.db_port);
        snprintf(dht_port, sizeof dht_port, "%d", n->home.dht_port);
        log_line(LOG_LEVEL_INFO,
                 LOG_FIELDS("id", n->id, "peer_id", n->peer_id, "home", n->home.dir, "url", base, "db_port", db_port,
                            "dht_port", dht_port, "threads", threads, "version", LEITHER_VERSION),
                 "node %s started at %s/", n->id, base);
        return;
    }
    fprintf(out,
            "Leither %s node %s\n"
            "peer ID  %s\n"
            "home     %s (%d threads)\n"
            "node     %s/\n"
            "API      %s/api/v0/\n"
            "Redis    redis-cli -p %d\n",
            LEITHER_VERSION, n->id, n->peer_id, n->home.dir, n->home.threads, base, base, n->home.db_port);
    if (n->home.dht_port)
        fprintf(out, "DHT      udp port %d\n", n->home.dht_port);
    fflush(out);
}

/* Daemon start: the parent waits on a pipe until the child reports "ok" or
 * the reason it failed, so `run -d` exits 1 when the node could not start. */
static int daemonize(const home *h, int *report)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        close(p[1]);
        char msg[1024];
        ssize_t r, got = 0;
        while (got < (ssize_t)sizeof msg - 1 && (r = read(p[0], msg + got, sizeof msg - 1 - (size_t)got)) > 0)
            got += r;
        msg[got > 0 ? got : 0] = '\0';
        if (!strncmp(msg, "ok", 2)) {
            fputs(msg + 3, stdout);
            exit(0);
        }
        fprintf(stderr, "leither: %s\n", got > 0 ? msg : "the node exited while starting; see " NODE_LOG_FILE);
        exit(1);
    }
    close(p[0]);
    setsid();
    char log[PATH_MAX + 32];
    home_path(h, log, sizeof log, NODE_LOG_FILE);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null = open("/dev/null", O_RDONLY);
    if (fd < 0 || null < 0)
        return -1;
    dup2(null, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close(null);
    close(fd);
    *report = p[1];
    return 0;
}

/* The one prefix table: every HTTP path the node answers, and who answers
 * it (the longest prefix wins; origins.c has already rewritten subdomain
 * requests to these path forms). */
static const http_route routes[] = {
    {"/ipfs", gateway_on_ipfs, METRICS_IPFS},   /* content by CID (gateway.h) */
    {"/mm", gateway_on_mm, METRICS_MM},         /* a file MiMei's version, raw or rendered by an app */
    {"/tpt", apps_on_tpt, METRICS_APPS},        /* apps: Lua routes, then static files (apps.h) */
    {"/sdk", apps_on_sdk, METRICS_SDK},         /* the browser SDK */
    {"/routing/v1", routing_on_request, METRICS_ROUTING}, /* delegated routing for IPFS clients (routing.h) */
    {"/api/v0/", api_on_request, METRICS_API},  /* the JSON API (api.h) */
    {"/metrics", http_on_metrics, METRICS_METRICS}, /* Prometheus (http.h) */
    {"/", api_on_page, METRICS_PAGE},           /* the node's page */
};

/* The routing API's source of other nodes: the peers whose signed records
 * the DHT verified (presence). A peer is asked for by the multihash of its
 * peer ID; its HTTP addresses serve the trustless gateway. */
static void dht_peer_source(void *arg, node *n, enum routing_kind kind, const uint8_t *key, size_t key_len,
                            routing_emit emit, void *ctx)
{
    (void)arg;
    if (kind != ROUTING_PEERS || !n->presence)
        return;
    json_t *doc = presence_peers_json(n), *peer;
    size_t i;
    json_array_foreach(json_object_get(doc, "Peers"), i, peer)
    {
        const char *peer_id = json_string_value(json_object_get(peer, "PeerID"));
        uint8_t mh[64];
        size_t mh_len;
        if (!peer_id || ids_base58_decode(mh, sizeof mh, &mh_len, peer_id, strlen(peer_id)) != 0 ||
            mh_len != key_len || memcmp(mh, key, key_len))
            continue;
        json_t *addrs = json_array(), *addr;
        size_t j;
        json_array_foreach(json_object_get(peer, "Addrs"), j, addr)
        {
            char http[256];
            if (json_is_string(addr) && snprintf(http, sizeof http, "%s/http", json_string_value(addr)) < (int)sizeof http)
                json_array_append_new(addrs, json_string(http));
        }
        if (emit(ctx, json_pack("{s:s,s:s,s:o,s:[s]}", "Schema", "peer", "ID", peer_id, "Addrs", addrs, "Protocols",
                                "transport-ipfs-gateway-http")))
            break;
    }
    json_decref(doc);
}

/* The routing API's source of providers: for a CID that is a version (or
 * cur) of public MiMei this node holds, the other nodes the sync thread
 * found providing those MiMei (heads.h: from syncs and findprovs, never a
 * lookup on the worker). */
#define PROVIDER_MIDS_MAX 16
typedef struct {
    char mids[PROVIDER_MIDS_MAX][IDS_LID_LEN + 1];
    size_t n;
} mid_list;

static int collect_mid(void *arg, const char *mid, uint32_t ver)
{
    (void)ver;
    mid_list *l = arg;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->mids[i], mid))
            return 0;
    snprintf(l->mids[l->n++], sizeof l->mids[0], "%s", mid);
    return l->n == PROVIDER_MIDS_MAX;
}

static void sync_provider_source(void *arg, node *n, enum routing_kind kind, const uint8_t *key, size_t key_len,
                                 routing_emit emit, void *ctx)
{
    (void)arg;
    cid c = {.version = 1, .codec = CID_CODEC_RAW};
    if (kind != ROUTING_PROVIDERS || key_len != MH_LEN || key[0] != 0x12 || key[1] != 0x20)
        return;
    memcpy(c.digest, key + 2, CID_DIGEST_LEN);
    mid_list mids = {.n = 0};
    char err[256];
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return;
    files_with_root(n->bs, txn, &c, collect_mid, &mids);
    mdb_txn_abort(txn);
    for (size_t i = 0; i < mids.n; i++) {
        json_t *info = node_mimei_info(n, mids.mids[i]);
        int readable = info && node_may_read(n, info, "");
        json_decref(info);
        json_t *providers = readable ? sync_providers_json(n, mids.mids[i]) : NULL, *p;
        size_t j;
        json_array_foreach(providers, j, p)
        {
            const char *id = json_string_value(json_object_get(p, "ID"));
            const char *peer_id = json_string_value(json_object_get(p, "PeerID"));
            if (!id || !peer_id || !*peer_id || !strcmp(id, n->id)) /* this node is the API's own record */
                continue;
            json_t *addrs = json_array(), *addr;
            size_t k;
            json_array_foreach(json_object_get(p, "Addrs"), k, addr)
            {
                char http[256];
                if (json_is_string(addr) &&
                    snprintf(http, sizeof http, "%s/http", json_string_value(addr)) < (int)sizeof http)
                    json_array_append_new(addrs, json_string(http));
            }
            if (emit(ctx, json_pack("{s:s,s:s,s:o,s:[s]}", "Schema", "peer", "ID", peer_id, "Addrs", addrs,
                                    "Protocols", "transport-ipfs-gateway-http"))) {
                json_decref(providers);
                return;
            }
        }
        json_decref(providers);
    }
}

/* The gateway's question (gateway.h): did mid's author publish it? A
 * head of it that holds is known here. */
static int app_published(node *n, const char *mid)
{
    json_t *head = sync_head_json(n, mid);
    json_decref(head);
    return head != NULL;
}

static int start_http(node *n, char *err, size_t errlen)
{
    apps_hide_all_server_code(n); /* before anything is served */
    gateway_set_renderer(apps_render);
    gateway_set_published(app_published);
    static int sources_added; /* once per process: a node runs once */
    if (!sources_added++) {
        routing_add_source(dht_peer_source, NULL);
        routing_add_source(sync_provider_source, NULL);
    }
    return http_start(n, routes, sizeof routes / sizeof *routes, err, errlen);
}

int server_run(home *h, int daemon, char *err, size_t errlen)
{
    static node n; /* lives as long as the process */
    n.home = *h;
    pthread_mutex_init(&n.lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &n.started);

    char keypath[PATH_MAX + 32];
    home_path(h, keypath, sizeof keypath, NODE_KEY_FILE);
    if (ids_key_load(&n.key, keypath, err, errlen) != 0)
        return -1;
    ids_leither_id(n.id, n.key.pk);
    ids_peer_id(n.peer_id, n.key.pk);

    int pidfd = -1;
    if (lock_pid_file(h, &pidfd, err, errlen) != 0)
        return -1;
    /* Nothing signed before this start, nor anything a node before this one
     * accepted (node.h: AUTH_UNTIL_FILE), is accepted. */
    int64_t not_before = (int64_t)time(NULL);
    char until_path[PATH_MAX + 32];
    home_path(h, until_path, sizeof until_path, AUTH_UNTIL_FILE);
    if (auth_replay_init(not_before, AUTH_SEEN_CAPACITY, until_path, err, errlen) != 0) {
        close(pidfd);
        return -1;
    }
    int report = -1;
    if (daemon && daemonize(h, &report) != 0) {
        close(pidfd);
        return ERR("cannot start the daemon: %s", strerror(errno));
    }

    /* Signals go to the main thread's sigwait; workers inherit the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    char datadir[PATH_MAX + 32];
    home_path(h, datadir, sizeof datadir, "data");
    if (home_secure_data(h, err, errlen) == 0)
        n.db = db_open(datadir, (enum db_sync)h->db_sync, err, errlen);
    if (n.db && home_secure_data(h, err, errlen) != 0) { /* files db_open just made */
        db_close(n.db);
        n.db = NULL;
    }
    if (n.db)
        dbhooks_install(&n);
    if (n.db && !(n.bs = bs_open(db_lmdb(n.db), err, errlen))) {
        db_close(n.db);
        n.db = NULL;
    }
    if (n.db && quota_open(&n, db_lmdb(n.db), err, errlen) != 0) {
        bs_close(n.bs);
        n.bs = NULL;
        db_close(n.db);
        n.db = NULL;
    }
    /* Restarted in the second of the last signed request: clients that see
     * this node up sign after it, not in the refused second (a clock that
     * ran ahead further is not waited for) */
    int64_t refused_until = auth_not_before();
    if (n.db && refused_until > not_before && refused_until <= not_before + 2)
        wait_until(refused_until);
    if (!n.db || !(n.resp = resp_start(&n, n.db, h->db_port, h->db_auth_required, err, errlen)) ||
        presence_start(&n, err, errlen) != 0 || sync_start(&n, err, errlen) != 0 ||
        ledger_start(&n, err, errlen) != 0 || start_http(&n, err, errlen) != 0) {
        if (report >= 0 && write(report, err, strlen(err)) < 0)
            log_line(LOG_LEVEL_ERROR, NULL, "reporting the start: %s", strerror(errno));
        n.stopping = 1;
        ledger_stop(&n);
        sync_stop(&n);
        presence_stop(&n);
        resp_stop(n.resp);
        if (n.bs)
            bs_close(n.bs);
        quota_close(&n);
        if (n.db)
            db_close(n.db);
        close(pidfd);
        return -1;
    }
    write_pid(pidfd);
    if (report >= 0) {
        char base[128], msg[512];
        home_api_base(h, base, sizeof base);
        int len = snprintf(msg, sizeof msg, "ok\nLeither node %s started (pid %d)\nnode     %s/\nlog      %s/%s\n",
                           n.id, (int)getpid(), base, h->dir, NODE_LOG_FILE);
        if (write(report, msg, (size_t)len) < 0)
            log_line(LOG_LEVEL_ERROR, NULL, "reporting the start: %s", strerror(errno));
        close(report);
    }
    print_banner(stdout, &n);
    if (!daemon && log_get_format() == LOG_FORMAT_TEXT)
        printf("Ctrl-C stops the node\n");
    fflush(stdout);

    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
        ; /* nothing to reload yet */
    const char *why = n.stopping ? "shutdown requested" : strsignal(sig);
    if (log_get_format() == LOG_FORMAT_JSON)
        log_line(LOG_LEVEL_INFO, NULL, "%s, stopping", why);
    else
        printf("\nleither: %s, stopping\n", why);
    fflush(stdout);
    http_stop(&n);     /* before the presence: handlers ask it */
    ledger_stop(&n);   /* after the handlers: they queue for its thread */
    sync_stop(&n);     /* before the presence: it puts through its engine */
    presence_stop(&n); /* leaves the DHT */
    resp_stop(n.resp); /* commits what was acknowledged */
    bs_close(n.bs);
    quota_close(&n);
    db_close(n.db);
    char pidpath[PATH_MAX + 32];
    home_path(h, pidpath, sizeof pidpath, NODE_PID_FILE);
    unlink(pidpath);
    close(pidfd);
    if (log_get_format() == LOG_FORMAT_JSON)
        log_line(LOG_LEVEL_INFO, NULL, "stopped");
    else
        printf("leither: stopped\n");
    fflush(stdout);
    *h = n.home;
    return 0;
}
