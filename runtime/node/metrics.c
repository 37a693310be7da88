/*
 * metrics: the node's counters (node.h). Each thread that counts gets a
 * slot of its own; only that thread writes it (a relaxed load and store, no
 * locked instruction), any thread reads it (relaxed loads). Slots are
 * linked once and never freed: a thread that ends hands its slot to the
 * next new one, so the sums keep growing and the slots stay as many as the
 * threads alive at once.
 */
#include "node.h"
#include "buf.h"
#include "db.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define STATUS_CODES 600 /* 100..599 counted as themselves, anything else as 0 */
#define LIMITS 4         /* memory, instructions, wall_ms, other */

struct slot {
    _Atomic uint64_t requests[METRICS_SURFACES][STATUS_CODES];
    _Atomic int64_t http_open;
    _Atomic uint64_t breaches[LIMITS];
    _Atomic int taken; /* a live thread owns it */
    struct slot *next; /* set once, before the slot is published */
};

static _Atomic(struct slot *) slots;
static pthread_mutex_t adopt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t slot_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static _Thread_local struct slot *mine;

static void release_slot(void *p)
{
    atomic_store_explicit(&((struct slot *)p)->taken, 0, memory_order_release);
}

static void make_key(void) { pthread_key_create(&slot_key, release_slot); }

/* This thread's slot: a freed one, else a new one. NULL when out of memory
 * (the count is lost, the request is not). */
static struct slot *my_slot(void)
{
    if (mine)
        return mine;
    pthread_once(&key_once, make_key);
    pthread_mutex_lock(&adopt_lock);
    struct slot *s = atomic_load_explicit(&slots, memory_order_acquire);
    while (s && atomic_load_explicit(&s->taken, memory_order_acquire))
        s = s->next;
    if (!s && (s = calloc(1, sizeof *s))) {
        s->next = atomic_load_explicit(&slots, memory_order_relaxed);
        atomic_store_explicit(&slots, s, memory_order_release);
    }
    if (s)
        atomic_store_explicit(&s->taken, 1, memory_order_relaxed);
    pthread_mutex_unlock(&adopt_lock);
    if (s) {
        pthread_setspecific(slot_key, s);
        mine = s;
    }
    return s;
}

/* Adds to a counter only this thread writes. */
static inline void bump(_Atomic uint64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by, memory_order_relaxed);
}

static const char *const surface_names[METRICS_SURFACES] = {"other", "api",  "ipfs",    "mm",     "apps",
                                                             "sdk",   "page", "metrics", "routing"};

const char *metrics_surface_name(enum metrics_surface s)
{
    return (unsigned)s < METRICS_SURFACES ? surface_names[s] : "other";
}

void metrics_http_request(enum metrics_surface s, int status)
{
    struct slot *m = my_slot();
    if (!m)
        return;
    if ((unsigned)s >= METRICS_SURFACES)
        s = METRICS_OTHER;
    bump(&m->requests[s][status >= 100 && status < STATUS_CODES ? status : 0], 1);
}

void metrics_http_connection(int delta)
{
    struct slot *m = my_slot();
    if (m) /* opened and closed on the connection's own loop thread */
        atomic_store_explicit(&m->http_open, atomic_load_explicit(&m->http_open, memory_order_relaxed) + delta,
                              memory_order_relaxed);
}

static const char *const limit_names[LIMITS] = {"memory", "instructions", "wall_ms", "other"};

void metrics_lua_breach(const char *limit)
{
    struct slot *m = my_slot();
    if (!m)
        return;
    size_t i = 0;
    while (i < LIMITS - 1 && strcmp(limit_names[i], limit ? limit : ""))
        i++;
    bump(&m->breaches[i], 1);
}

/* --- RESP: only the one RESP loop counts commands, so it is their one
 * writer (bump, no locked add); connections are counted with atomic adds */

#define COMMANDS_MAX 512 /* the command table's rows, and one for unknown names */
/* command duration buckets, in nanoseconds (le labels below) */
static const uint64_t bucket_ns[] = {10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
                                     10000000, 25000000, 100000000, 1000000000};
static const char *const bucket_le[] = {"1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001",
                                        "0.0025", "0.005", "0.01", "0.025", "0.1", "1"};
#define BUCKETS (sizeof bucket_ns / sizeof *bucket_ns)

struct command_stats {
    _Atomic uint64_t calls, ns, le[BUCKETS]; /* le[i]: calls that took at most bucket_ns[i] */
};
static struct command_stats commands[COMMANDS_MAX + 1];
static _Atomic int64_t resp_open;

void metrics_resp_connection(int delta) { atomic_fetch_add_explicit(&resp_open, delta, memory_order_relaxed); }

uint64_t metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* the last name looked up: clients repeat a command (pipelines, benchmarks) */
static char last_name[32];
static size_t last_len;
static long last_index = -1;

void metrics_resp_command(const char *name, size_t len, uint64_t ns)
{
    long i;
    if (len == last_len && !strncasecmp(name, last_name, len)) {
        i = last_index;
    } else {
        i = db_command_index(name, len);
        if (len < sizeof last_name && db_command_name(0)) { /* once the table is there */
            memcpy(last_name, name, len);
            last_len = len, last_index = i;
        }
    }
    struct command_stats *c = &commands[i >= 0 && i < COMMANDS_MAX ? i : COMMANDS_MAX];
    bump(&c->calls, 1);
    bump(&c->ns, ns);
    for (size_t b = 0; b < BUCKETS; b++)
        if (ns <= bucket_ns[b]) { /* cumulative: counted in its bucket and every larger one at read */
            bump(&c->le[b], 1);
            break;
        }
}

/* --- the text ----------------------------------------------------------- */

static uint64_t load(_Atomic uint64_t *c) { return atomic_load_explicit(c, memory_order_relaxed); }

static void write_http(buf *out)
{
    buf_puts(out, "# HELP leither_http_requests_total HTTP requests answered, by surface and status code "
                  "(code \"none\": the client left before an answer).\n"
                  "# TYPE leither_http_requests_total counter\n");
    for (int s = 0; s < METRICS_SURFACES; s++)
        for (int code = 0; code < STATUS_CODES; code++) {
            uint64_t sum = 0;
            for (struct slot *m = atomic_load_explicit(&slots, memory_order_acquire); m; m = m->next)
                sum += load(&m->requests[s][code]);
            if (!sum)
                continue;
            if (code)
                buf_printf(out, "leither_http_requests_total{surface=\"%s\",code=\"%d\"} %llu\n", surface_names[s],
                           code, (unsigned long long)sum);
            else
                buf_printf(out, "leither_http_requests_total{surface=\"%s\",code=\"none\"} %llu\n", surface_names[s],
                           (unsigned long long)sum);
        }
    int64_t open = 0;
    uint64_t breaches[LIMITS] = {0};
    for (struct slot *m = atomic_load_explicit(&slots, memory_order_acquire); m; m = m->next) {
        open += atomic_load_explicit(&m->http_open, memory_order_relaxed);
        for (int i = 0; i < LIMITS; i++)
            breaches[i] += load(&m->breaches[i]);
    }
    buf_printf(out,
               "# HELP leither_http_connections Open HTTP connections.\n"
               "# TYPE leither_http_connections gauge\n"
               "leither_http_connections %lld\n",
               (long long)(open > 0 ? open : 0));
    buf_puts(out, "# HELP leither_lua_limit_breaches_total App requests stopped by a sandbox limit, by limit.\n"
                  "# TYPE leither_lua_limit_breaches_total counter\n");
    for (int i = 0; i < LIMITS; i++)
        buf_printf(out, "leither_lua_limit_breaches_total{limit=\"%s\"} %llu\n", limit_names[i],
                   (unsigned long long)breaches[i]);
}

static void write_resp(buf *out)
{
    int64_t open = atomic_load_explicit(&resp_open, memory_order_relaxed);
    buf_printf(out,
               "# HELP leither_resp_connections Open Redis protocol connections.\n"
               "# TYPE leither_resp_connections gauge\n"
               "leither_resp_connections %lld\n",
               (long long)(open > 0 ? open : 0));
    buf_puts(out, "# HELP leither_resp_command_duration_seconds Redis protocol commands run, by command, and how "
                  "long each took to run (the commit that follows a batch is not included).\n"
                  "# TYPE leither_resp_command_duration_seconds histogram\n");
    for (size_t i = 0; i <= COMMANDS_MAX; i++) {
        struct command_stats *c = &commands[i];
        uint64_t calls = load(&c->calls);
        if (!calls)
            continue;
        const char *name = i < COMMANDS_MAX ? db_command_name(i) : NULL;
        if (!name)
            name = "unknown";
        uint64_t cumulative = 0;
        for (size_t b = 0; b < BUCKETS; b++) {
            cumulative += load(&c->le[b]);
            buf_printf(out, "leither_resp_command_duration_seconds_bucket{command=\"%s\",le=\"%s\"} %llu\n", name,
                       bucket_le[b], (unsigned long long)cumulative);
        }
        /* calls is read last: never below a bucket's count read before it */
        calls = load(&c->calls);
        buf_printf(out,
                   "leither_resp_command_duration_seconds_bucket{command=\"%s\",le=\"+Inf\"} %llu\n"
                   "leither_resp_command_duration_seconds_sum{command=\"%s\"} %.9f\n"
                   "leither_resp_command_duration_seconds_count{command=\"%s\"} %llu\n",
                   name, (unsigned long long)(calls > cumulative ? calls : cumulative), name,
                   (double)load(&c->ns) / 1e9, name, (unsigned long long)(calls > cumulative ? calls : cumulative));
    }
}

char *metrics_text(size_t *len)
{
    buf out = {0};
    write_http(&out);
    write_resp(&out);
    if (out.failed) {
        buf_free(&out);
        return NULL;
    }
    *len = out.len;
    return out.p;
}
