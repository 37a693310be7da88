/* heads: the records sync puts in the DHT (sync.h), what this node
 * publishes and follows (kept in the home's data/sync.json), and the sync
 * thread. The thread runs its own loop, as the presence's: it polls its
 * mailbox (DHT results), a stop pipe and a wake pipe (jobs queued by the
 * HTTP handlers, heads.h), re-puts this node's heads and provider records
 * every DHT_REPUT_SECONDS, and syncs followed MiMei when a newer head
 * arrives. Entries and jobs are read by the HTTP workers under `lock`. */
#include "sync.h"

#include "heads.h"

#include "atomicfile.h"
#include "dht.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"

#define STATE_FILE "data/sync.json"
/* MiMei this node publishes, follows or has seen a head of, at most */
#define ENTRIES_MAX 1024
/* how long the thread waits for one DHT get, and the values it keeps of it */
#define GET_WAIT_MS 10000
#define GET_VALUES_MAX 256
/* how long a sync -n waits for the node's record */
#define FINDPEER_WAIT_MS 15000
/* a follower's failed sync is tried again after this */
#define RETRY_SECONDS 15
/* providers found this recently are asked first when a new head arrives:
 * a DHT lookup takes from milliseconds to seconds, the fetch a few ms */
#define PROVIDERS_FRESH_SECONDS 60
/* the answer of GET /api/v0/mimei/head at most */
#define HEAD_REPLY_MAX (4 * DHT_VALUE_MAX)

typedef struct {
    char mid[IDS_LID_LEN + 1];
    int published, followed;
    char *own; /* the head this node signed and puts (envelope), while published */
    int64_t eol;
    uint32_t own_version;
    char *seen; /* the newest holding head seen in the DHT or asked of a node */
    uint32_t seen_version;
    int64_t seen_time;
    json_t *providers; /* the last holding provider records found (find_providers), or NULL */
    int64_t providers_at; /* when (unix s) */
    long listen_id; /* 0: not listening */
    int pending;    /* seen is above the local version: to sync */
    int64_t retry_at;
} entry;

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED };
static const char *const job_state_names[] = {"queued", "running", "done", "failed"};
static const char *const job_kind_names[] = {"publish", "provide", "unprovide", "findprovs", "sync", "prepare"};

typedef struct {
    long id; /* 0: unused */
    enum sync_job_kind kind;
    char mid[IDS_LID_LEN + 1];
    char from[128];
    char *envelope; /* publish: a head signed elsewhere (malloc'd), or NULL */
    int64_t eol;
    enum job_state state;
    char error[512];
    json_t *result;
} job;

/* A DHT get the thread waits for. Its callbacks may come after the wait
 * gave up: then it is `abandoned`, kept on the list until its done. */
typedef struct get_call {
    struct get_call *next;
    void *owner; /* the heads whose list holds it */
    int done, abandoned;
    size_t nvalues;
    uint8_t *values[GET_VALUES_MAX];
    size_t lens[GET_VALUES_MAX];
} get_call;

typedef struct {
    node *n;
    dht_engine *engine; /* NULL: the DHT is off (sync -n still works) */
    dht_mailbox *mb;
    pthread_t thread;
    int stop[2], wake[2];
    volatile int stopping;
    char state_path[PATH_MAX + 32];
    pthread_mutex_t lock; /* entries, jobs */
    entry entries[ENTRIES_MAX];
    size_t nentries;
    job jobs[SYNC_JOBS_KEPT]; /* job id at id % SYNC_JOBS_KEPT */
    long next_id, next_run;
    get_call *gets;
    dht_skip_log skips;
} heads;

/* One node per process (as metrics): the running sync thread's state. A
 * stopped one stays reachable in `retired`: the engine may still post to
 * its mailbox until dht_stop, which runs after sync_stop. */
static heads *running, *retired;

static int64_t now_seconds(void) { return (int64_t)time(NULL); }

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- records -------------------------------------------------------------- */

static int is_type(json_t *rec, const char *type)
{
    const char *t = json_string_value(json_object_get(rec, "Type"));
    return t && !strcmp(t, type);
}

static int is_version(json_t *v) { return json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= UINT32_MAX; }

json_t *sync_verify_head(const uint8_t *value, size_t len, const char *mid, char *err, size_t errlen)
{
    uint8_t pk[IDS_PK_BYTES + 1];
    dht_signature sig;
    json_t *rec = dht_envelope_open(value, len, "head", &sig, err, errlen);
    if (!rec)
        return NULL;
    const char *rmid = json_string_value(json_object_get(rec, "MID"));
    const char *block = json_string_value(json_object_get(rec, "Block"));
    json_t *info = json_object_get(rec, "Info"), *ver = json_object_get(rec, "Version");
    json_t *time_v = json_object_get(rec, "Time"), *eol_v = json_object_get(rec, "EOL");
    char why[256];
    cid c;
    size_t n = 0;
    if (!is_type(rec, "head") || !rmid || !ids_is_leither_id(rmid) || !is_version(ver) ||
        json_integer_value(ver) == 0 || !block || cid_parse(block, strlen(block), &c, why, sizeof why) != 0 ||
        !json_is_integer(time_v) || !json_is_integer(eol_v) || !json_is_object(info)) {
        ERR("a head record of the wrong shape");
        goto bad;
    }
    if (mid && strcmp(mid, rmid)) {
        ERR("a head of %s where %s's was asked for", rmid, mid);
        goto bad;
    }
    if (mimei_verify(info, why, sizeof why) != MIMEI_OK) {
        ERR("a head of %s whose info does not hold: %s", rmid, why);
        goto bad;
    }
    if (strcmp(mimei_str(info, "ID"), rmid)) {
        ERR("a head of %s carrying the info of %s", rmid, mimei_str(info, "ID"));
        goto bad;
    }
    if (!(mimei_right(info) & MIMEI_RIGHT_READ)) {
        ERR("a head of %s, a private MiMei", rmid);
        goto bad;
    }
    const char *pk64 = mimei_str(info, "PublicKey");
    if (ids_b64url_decode(pk, sizeof pk, &n, pk64, strlen(pk64)) != 0 || n != IDS_PK_BYTES ||
        !dht_signature_holds(&sig, SYNC_HEAD_PREFIX, pk)) {
        ERR("a head of %s with a bad signature", rmid);
        goto bad;
    }
    int64_t t = (int64_t)json_integer_value(time_v), eol = (int64_t)json_integer_value(eol_v), now = now_seconds();
    if (t > now + DHT_RECORD_AHEAD) {
        ERR("a head of %s from the future (time %lld)", rmid, (long long)t);
        goto bad;
    }
    if (eol < now) {
        ERR("a head of %s past its EOL", rmid);
        goto bad;
    }
    dht_signature_free(&sig);
    return rec;
bad:
    dht_signature_free(&sig);
    json_decref(rec);
    return NULL;
}

char *sync_head_sign(const ids_key *key, const char *mid, uint32_t version, const char *block, int64_t eol,
                     const json_t *info)
{
    int64_t now = now_seconds();
    json_t *head = json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:O}", "Type", "head", "MID", mid, "Version",
                             (json_int_t)version, "Block", block, "Time", (json_int_t)now, "EOL",
                             (json_int_t)(now + eol), "Info", (json_t *)info);
    char *env = head ? dht_envelope_sign(key, SYNC_HEAD_PREFIX, head) : NULL;
    json_decref(head);
    return env;
}

json_t *sync_verify_provider(const uint8_t *value, size_t len, const char *mid, char *err, size_t errlen)
{
    uint8_t pk[IDS_PK_BYTES + 1];
    dht_signature sig;
    json_t *rec = dht_envelope_open(value, len, "provider", &sig, err, errlen);
    if (!rec)
        return NULL;
    const char *rmid = json_string_value(json_object_get(rec, "MID"));
    const char *id = json_string_value(json_object_get(rec, "ID"));
    const char *pk64 = json_string_value(json_object_get(rec, "PublicKey"));
    json_t *time_v = json_object_get(rec, "Time");
    char derived[IDS_LID_LEN + 1];
    size_t n = 0;
    if (!is_type(rec, "provider") || !rmid || !ids_is_leither_id(rmid) || !id || !ids_is_leither_id(id) || !pk64 ||
        !is_version(json_object_get(rec, "Version")) || !dht_valid_addrs(json_object_get(rec, "Addrs")) ||
        !json_is_integer(time_v)) {
        ERR("a provider record of the wrong shape");
        goto bad;
    }
    if (mid && strcmp(mid, rmid)) {
        ERR("a provider record of %s where %s's was asked for", rmid, mid);
        goto bad;
    }
    if (ids_b64url_decode(pk, sizeof pk, &n, pk64, strlen(pk64)) != 0 || n != IDS_PK_BYTES ||
        (ids_leither_id(derived, pk), strcmp(derived, id))) {
        ERR("a provider record of %s whose public key is not that ID's", id);
        goto bad;
    }
    if (!dht_signature_holds(&sig, SYNC_PROV_PREFIX, pk)) {
        ERR("a provider record of %s with a bad signature", id);
        goto bad;
    }
    int64_t t = (int64_t)json_integer_value(time_v), now = now_seconds();
    if (t < now - DHT_RECORD_STALE || t > now + DHT_RECORD_AHEAD) {
        ERR("a stale provider record of %s (time %lld)", id, (long long)t);
        goto bad;
    }
    dht_signature_free(&sig);
    return rec;
bad:
    dht_signature_free(&sig);
    json_decref(rec);
    return NULL;
}

static void key_of(dht_key *key, const char *prefix, const char *mid)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s", prefix, mid);
    dht_key_of(key, name);
}

static void put_value(heads *h, const char *prefix, const char *mid, const char *value)
{
    if (!h->engine || !value)
        return;
    dht_key key;
    key_of(&key, prefix, mid);
    if (dht_put(h->engine, &key, value, strlen(value)) != 0)
        log_line(LOG_LEVEL_WARN, NULL, "sync: could not put a record of %s", mid);
}

/* This node's provider record of mid at version, put now. */
static void put_provider(heads *h, const char *mid, uint32_t version)
{
    node *n = h->n;
    if (!h->engine || version == 0)
        return;
    char pk64[IDS_B64URL_LEN(IDS_PK_BYTES) + 1];
    ids_b64url_encode(pk64, n->key.pk, IDS_PK_BYTES);
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:I}", "Type", "provider", "MID", mid, "ID", n->id, "PublicKey",
                            pk64, "Version", (json_int_t)version, "Addrs",
                            node_multiaddrs(n->home.port, n->home.listen), "Time", (json_int_t)now_seconds());
    char *env = rec ? dht_envelope_sign(&n->key, SYNC_PROV_PREFIX, rec) : NULL;
    json_decref(rec);
    put_value(h, SYNC_PROV_KEY, mid, env);
    free(env);
}

/* --- entries and the state file ------------------------------------------ */

static void skipped(heads *h, const char *why) { dht_skipped(&h->skips, "sync", why); }

/* mid's entry (made when create and there is room), under lock. */
static entry *find_entry(heads *h, const char *mid, int create)
{
    for (size_t i = 0; i < h->nentries; i++)
        if (!strcmp(h->entries[i].mid, mid))
            return &h->entries[i];
    if (!create)
        return NULL;
    if (h->nentries == ENTRIES_MAX) { /* full: a head only seen makes room */
        for (size_t i = 0; i < h->nentries; i++)
            if (!h->entries[i].published && !h->entries[i].followed) {
                free(h->entries[i].own);
                free(h->entries[i].seen);
                json_decref(h->entries[i].providers);
                h->entries[i] = h->entries[--h->nentries];
                break;
            }
        if (h->nentries == ENTRIES_MAX)
            return NULL;
    }
    entry *e = &h->entries[h->nentries++];
    memset(e, 0, sizeof *e);
    snprintf(e->mid, sizeof e->mid, "%s", mid);
    return e;
}

/* Writes what must survive a restart: the heads this node publishes and
 * the MiMei it follows. Under lock. */
static int save_state(heads *h, char *err, size_t errlen)
{
    json_t *published = json_array(), *followed = json_array();
    for (size_t i = 0; i < h->nentries; i++) {
        entry *e = &h->entries[i];
        if (e->published)
            json_array_append_new(published,
                                  json_pack("{s:s,s:I,s:s}", "MID", e->mid, "EOL", (json_int_t)e->eol, "Envelope", e->own));
        if (e->followed)
            json_array_append_new(followed, json_string(e->mid));
    }
    json_t *doc = json_pack("{s:o,s:o}", "Published", published, "Followed", followed);
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!text)
        return ERR("out of memory");
    int rc = atomicfile_write(h->state_path, text, strlen(text), 0600, err, errlen);
    free(text);
    return rc;
}

static void save_or_log(heads *h)
{
    char err[512];
    if (save_state(h, err, sizeof err) != 0)
        log_line(LOG_LEVEL_ERROR, NULL, "sync: %s", err);
}

/* Reads data/sync.json: a head that no longer holds (EOL passed) is dropped. */
static int load_state(heads *h, char *err, size_t errlen)
{
    json_error_t jerr;
    if (access(h->state_path, F_OK) != 0)
        return 0;
    json_t *doc = json_load_file(h->state_path, JSON_REJECT_DUPLICATES, &jerr), *item;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return ERR("%s: line %d: %s", h->state_path, jerr.line, jerr.text);
    }
    size_t i;
    json_array_foreach(json_object_get(doc, "Published"), i, item)
    {
        const char *mid = json_string_value(json_object_get(item, "MID"));
        const char *env = json_string_value(json_object_get(item, "Envelope"));
        char why[256];
        json_t *rec = env && mid ? sync_verify_head((const uint8_t *)env, strlen(env), mid, why, sizeof why) : NULL;
        entry *e = rec ? find_entry(h, mid, 1) : NULL;
        if (!rec)
            log_line(LOG_LEVEL_INFO, NULL, "sync: no longer publishing %s: %s", mid ? mid : "?",
                     env && mid ? why : "a malformed entry");
        if (e) {
            e->published = 1;
            e->own = strdup(env);
            e->eol = (int64_t)json_integer_value(json_object_get(rec, "EOL"));
            e->own_version = (uint32_t)json_integer_value(json_object_get(rec, "Version"));
        }
        json_decref(rec);
    }
    json_array_foreach(json_object_get(doc, "Followed"), i, item)
    {
        const char *mid = json_string_value(item);
        entry *e = mid && ids_is_leither_id(mid) ? find_entry(h, mid, 1) : NULL;
        if (e)
            e->followed = 1;
    }
    json_decref(doc);
    return 0;
}

/* A holding head of a MiMei with an entry: kept when newer than what was
 * seen, and marked to sync when above the local version (followed). */
static void consider_head(heads *h, const char *envelope, const json_t *rec)
{
    const char *mid = json_string_value(json_object_get(rec, "MID"));
    uint32_t ver = (uint32_t)json_integer_value(json_object_get(rec, "Version"));
    int64_t t = (int64_t)json_integer_value(json_object_get(rec, "Time"));
    uint32_t local = sync_local_version(h->n, mid);
    pthread_mutex_lock(&h->lock);
    entry *e = find_entry(h, mid, 1);
    if (e && (!e->seen || ver > e->seen_version || (ver == e->seen_version && t > e->seen_time))) {
        char *copy = strdup(envelope);
        if (copy) {
            free(e->seen);
            e->seen = copy;
            e->seen_version = ver;
            e->seen_time = t;
        }
    }
    if (e && e->followed && e->seen_version > local && !e->pending)
        e->pending = 1, e->retry_at = 0;
    pthread_mutex_unlock(&h->lock);
}

/* A value under a followed head key (listen or catch-up get). */
static void on_head_value(void *ctx, const uint8_t *data, size_t len)
{
    heads *h = ctx;
    char err[256];
    json_t *rec = sync_verify_head(data, len, NULL, err, sizeof err);
    if (!rec) {
        skipped(h, err);
        return;
    }
    /* listens and gets are on followed heads only: a holding head of
     * another MiMei put under one of their keys is noise */
    const char *mid = json_string_value(json_object_get(rec, "MID"));
    pthread_mutex_lock(&h->lock);
    entry *e = find_entry(h, mid, 0);
    int followed = e && e->followed;
    pthread_mutex_unlock(&h->lock);
    char *text = followed ? strndup((const char *)data, len) : NULL;
    if (!followed) {
        snprintf(err, sizeof err, "a head of %s, a MiMei this node does not follow", mid);
        skipped(h, err);
    }
    if (text)
        consider_head(h, text, rec);
    free(text);
    json_decref(rec);
}

static void follow(heads *h, entry *e)
{
    if (!h->engine || e->listen_id > 0)
        return;
    dht_key key;
    key_of(&key, SYNC_HEAD_KEY, e->mid);
    e->listen_id = dht_listen(h->engine, &key, h->mb, on_head_value, h);
    if (e->listen_id < 0) {
        e->listen_id = 0;
        log_line(LOG_LEVEL_WARN, NULL, "sync: cannot listen on the head of %s", e->mid);
    }
}

/* --- waiting for the DHT on the sync thread ------------------------------ */

static void get_value(void *ctx, const uint8_t *data, size_t len)
{
    get_call *g = ctx;
    if (g->abandoned || g->nvalues == GET_VALUES_MAX)
        return;
    uint8_t *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, data, len);
    copy[len] = 0;
    g->values[g->nvalues] = copy;
    g->lens[g->nvalues++] = len;
}

static void get_unlink(heads *h, get_call *g)
{
    for (get_call **p = &h->gets; *p; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            break;
        }
}

static void get_free(get_call *g)
{
    for (size_t i = 0; i < g->nvalues; i++)
        free(g->values[i]);
    free(g);
}

static void get_done(void *ctx, int ok)
{
    (void)ok;
    get_call *g = ctx;
    g->done = 1;
    if (g->abandoned) { /* the wait that gave up on it is gone */
        get_unlink(g->owner, g);
        get_free(g);
    }
}

static int stop_asked(heads *h)
{
    struct pollfd pfd = {.fd = h->stop[0], .events = POLLIN};
    if (h->stopping || (poll(&pfd, 1, 0) > 0 && pfd.revents))
        h->stopping = 1;
    return h->stopping;
}

/* Runs the loop (mailbox and stop pipe only) for at most ms. */
static void wait_a_while(heads *h, int ms)
{
    struct pollfd fds[2] = {{.fd = dht_mailbox_fd(h->mb), .events = POLLIN}, {.fd = h->stop[0], .events = POLLIN}};
    if (poll(fds, 2, ms) > 0) {
        if (fds[1].revents)
            h->stopping = 1;
        if (fds[0].revents)
            dht_mailbox_drain(h->mb);
    }
}

/* A DHT get run to its end (or GET_WAIT_MS): the values it found. Release
 * with get_release. NULL when the get could not start. */
static get_call *get_wait(heads *h, const char *prefix, const char *mid)
{
    get_call *g = calloc(1, sizeof *g);
    if (!g || !h->engine)
        return free(g), NULL;
    dht_key key;
    key_of(&key, prefix, mid);
    g->owner = h;
    g->next = h->gets;
    h->gets = g;
    if (dht_get(h->engine, &key, h->mb, get_value, get_done, g) != 0) {
        get_unlink(h, g);
        free(g);
        return NULL;
    }
    int64_t deadline = now_ms() + GET_WAIT_MS;
    while (!g->done && !stop_asked(h) && now_ms() < deadline)
        wait_a_while(h, (int)(deadline - now_ms()) + 1);
    return g;
}

static void get_release(heads *h, get_call *g)
{
    if (!g)
        return;
    if (g->done) {
        get_unlink(h, g);
        get_free(g);
        return;
    }
    for (size_t i = 0; i < g->nvalues; i++) /* its done frees it */
        free(g->values[i]);
    g->nvalues = 0;
    g->abandoned = 1;
}

/* The newest holding head of mid in the DHT (record; *envelope its text),
 * or NULL with err. */
static json_t *newest_head(heads *h, const char *mid, char **envelope, char *err, size_t errlen)
{
    get_call *g = get_wait(h, SYNC_HEAD_KEY, mid);
    if (!g) {
        ERR("the DHT get of %s's head did not start", mid);
        return NULL;
    }
    json_t *best = NULL;
    size_t best_i = 0;
    char why[256];
    for (size_t i = 0; i < g->nvalues; i++) {
        json_t *rec = sync_verify_head(g->values[i], g->lens[i], mid, why, sizeof why);
        if (!rec) {
            skipped(h, why);
            continue;
        }
        json_int_t v = json_integer_value(json_object_get(rec, "Version"));
        json_int_t t = json_integer_value(json_object_get(rec, "Time"));
        if (!best || v > json_integer_value(json_object_get(best, "Version")) ||
            (v == json_integer_value(json_object_get(best, "Version")) &&
             t > json_integer_value(json_object_get(best, "Time")))) {
            json_decref(best);
            best = rec;
            best_i = i;
        } else {
            json_decref(rec);
        }
    }
    if (best)
        *envelope = strdup((const char *)g->values[best_i]);
    else
        ERR("no head of %s in the DHT (is it published?)", mid);
    get_release(h, g);
    return best;
}

/* The providers of mid whose records hold, newest record per node:
 * [{"ID", "PeerID", "Version", "Addrs", "Time"}...]. */
static json_t *find_providers(heads *h, const char *mid)
{
    json_t *out = json_array();
    get_call *g = get_wait(h, SYNC_PROV_KEY, mid);
    char why[256];
    for (size_t i = 0; g && i < g->nvalues; i++) {
        json_t *rec = sync_verify_provider(g->values[i], g->lens[i], mid, why, sizeof why), *item;
        if (!rec) {
            skipped(h, why);
            continue;
        }
        const char *id = json_string_value(json_object_get(rec, "ID"));
        json_int_t t = json_integer_value(json_object_get(rec, "Time"));
        size_t j, at = SIZE_MAX;
        json_array_foreach(out, j, item) if (!strcmp(json_string_value(json_object_get(item, "ID")), id)) at = j;
        if (at != SIZE_MAX && json_integer_value(json_object_get(json_array_get(out, at), "Time")) >= t) {
            json_decref(rec);
            continue;
        }
        uint8_t pk[IDS_PK_BYTES + 1];
        size_t n = 0;
        const char *pk64 = json_string_value(json_object_get(rec, "PublicKey"));
        char peer_id[IDS_PEERID_MAX] = "";
        if (ids_b64url_decode(pk, sizeof pk, &n, pk64, strlen(pk64)) == 0 && n == IDS_PK_BYTES)
            ids_peer_id(peer_id, pk);
        json_t *p = json_pack("{s:s,s:s,s:O,s:O,s:I}", "ID", id, "PeerID", peer_id, "Version",
                              json_object_get(rec, "Version"), "Addrs", json_object_get(rec, "Addrs"), "Time", t);
        if (at != SIZE_MAX)
            json_array_set_new(out, at, p);
        else
            json_array_append_new(out, p);
        json_decref(rec);
    }
    get_release(h, g);
    pthread_mutex_lock(&h->lock); /* remembered for the routing API (sync_providers_json) */
    entry *e = find_entry(h, mid, 0);
    if (e) {
        json_decref(e->providers);
        e->providers = json_deep_copy(out);
        e->providers_at = now_seconds();
    }
    pthread_mutex_unlock(&h->lock);
    return out;
}

/* --- syncing -------------------------------------------------------------- */

/* Makes the version head names local from providers (others than this
 * node). *version: the local newest after. */
static int sync_to_head(heads *h, const json_t *head, const char *envelope, json_t *providers, uint32_t *version,
                        uint64_t *bytes, char *err, size_t errlen)
{
    node *n = h->n;
    const char *mid = json_string_value(json_object_get(head, "MID"));
    uint32_t want = (uint32_t)json_integer_value(json_object_get(head, "Version"));
    uint32_t local = sync_local_version(n, mid);
    *bytes = 0;
    *version = local;
    consider_head(h, envelope, head);
    if (want <= local)
        return 0;
    /* this node is no provider to itself */
    json_t *others = json_array(), *p;
    size_t i;
    json_array_foreach(providers, i, p)
    {
        const char *id = json_string_value(json_object_get(p, "ID"));
        if (!id || strcmp(id, n->id))
            json_array_append(others, p);
    }
    cid block;
    const char *text = json_string_value(json_object_get(head, "Block"));
    int rc = -1;
    int64_t t0 = now_ms();
    if (json_array_size(others) == 0)
        ERR("no provider of %s is known", mid);
    else if (cid_parse(text, strlen(text), &block, err, errlen) == 0 &&
             sync_fetch(n, mid, &block, others, bytes, err, errlen) == 0 &&
             sync_apply(n, json_object_get(head, "Info"), &block, err, errlen) == 0)
        rc = 0;
    json_decref(others);
    if (rc != 0)
        return -1;
    *version = sync_local_version(n, mid);
    char ver[32], nbytes[24], ms[24];
    if (local + 1 < want) /* a chain of versions caught up at once: one line for all */
        snprintf(ver, sizeof ver, "%u-%u", local + 1, want);
    else
        snprintf(ver, sizeof ver, "%u", want);
    snprintf(nbytes, sizeof nbytes, "%llu", (unsigned long long)*bytes);
    snprintf(ms, sizeof ms, "%lld", (long long)(now_ms() - t0));
    log_line(LOG_LEVEL_INFO, LOG_FIELDS("mid", mid, "version", ver, "bytes", nbytes, "ms", ms),
             "sync: %s version%s %s, %s bytes, %s ms", mid, strchr(ver, '-') ? "s" : "", ver, nbytes, ms);
    pthread_mutex_lock(&h->lock);
    entry *e = find_entry(h, mid, 0);
    int followed = e && e->followed;
    pthread_mutex_unlock(&h->lock);
    if (followed)
        put_provider(h, mid, *version);
    return 0;
}

/* A followed MiMei whose newer head arrived: synced, or tried again later. */
static void sync_pending(heads *h)
{
    int64_t now = now_seconds();
    for (;;) {
        char mid[IDS_LID_LEN + 1] = "", *envelope = NULL;
        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < h->nentries && !mid[0]; i++) {
            entry *e = &h->entries[i];
            if (e->pending && e->followed && e->seen && e->retry_at <= now) {
                snprintf(mid, sizeof mid, "%s", e->mid);
                envelope = strdup(e->seen);
                e->pending = 0;
            }
        }
        pthread_mutex_unlock(&h->lock);
        if (!mid[0] || stop_asked(h)) {
            free(envelope);
            return;
        }
        char err[512];
        json_t *head = envelope ? sync_verify_head((const uint8_t *)envelope, strlen(envelope), mid, err, sizeof err) : NULL;
        json_t *providers = NULL;
        pthread_mutex_lock(&h->lock);
        entry *known = find_entry(h, mid, 0);
        if (head && known && known->providers && now - known->providers_at < PROVIDERS_FRESH_SECONDS)
            providers = json_deep_copy(known->providers);
        pthread_mutex_unlock(&h->lock);
        uint32_t version;
        uint64_t bytes;
        /* the providers found lately first; a fresh lookup when they fail */
        int synced = providers && sync_to_head(h, head, envelope, providers, &version, &bytes, err, sizeof err) == 0;
        if (head && !synced) {
            json_decref(providers);
            providers = find_providers(h, mid);
        }
        if (head && !synced && sync_to_head(h, head, envelope, providers, &version, &bytes, err, sizeof err) != 0) {
            log_line(LOG_LEVEL_WARN, NULL, "sync: %s version %lld not synced: %s (trying again in %d s)", mid,
                     (long long)json_integer_value(json_object_get(head, "Version")), err, RETRY_SECONDS);
            pthread_mutex_lock(&h->lock);
            entry *e = find_entry(h, mid, 0);
            if (e)
                e->pending = 1, e->retry_at = now + RETRY_SECONDS;
            pthread_mutex_unlock(&h->lock);
        }
        json_decref(providers);
        json_decref(head);
        free(envelope);
    }
}

/* Re-puts what this node publishes (until its EOL, and while the MiMei is
 * still public here) and provides, and asks again for the heads it follows. */
static void reput_all(heads *h)
{
    int64_t now = now_seconds();
    int changed = 0;
    size_t count;
    pthread_mutex_lock(&h->lock);
    count = h->nentries;
    pthread_mutex_unlock(&h->lock);
    for (size_t i = 0; i < count; i++) {
        char mid[IDS_LID_LEN + 1], *own = NULL;
        int published, followed;
        uint32_t own_version;
        pthread_mutex_lock(&h->lock);
        if (i >= h->nentries) {
            pthread_mutex_unlock(&h->lock);
            break;
        }
        entry *e = &h->entries[i];
        snprintf(mid, sizeof mid, "%s", e->mid);
        if (e->published && e->eol < now) {
            log_line(LOG_LEVEL_INFO, NULL, "sync: the head of %s reached its EOL: no longer put", mid);
            e->published = 0;
            free(e->own);
            e->own = NULL;
            changed = 1;
        }
        published = e->published;
        followed = e->followed;
        own_version = e->own_version;
        own = published ? strdup(e->own) : NULL;
        if (followed)
            follow(h, e);
        pthread_mutex_unlock(&h->lock);
        json_t *info = published ? node_mimei_info(h->n, mid) : NULL;
        if (published && !(mimei_right(info) & MIMEI_RIGHT_READ)) { /* made private since */
            log_line(LOG_LEVEL_INFO, NULL, "sync: %s is private now: its head is no longer put", mid);
            pthread_mutex_lock(&h->lock);
            entry *again = find_entry(h, mid, 0);
            if (again) {
                again->published = 0;
                free(again->own);
                again->own = NULL;
            }
            pthread_mutex_unlock(&h->lock);
            published = 0, changed = 1;
        }
        json_decref(info);
        if (published)
            put_value(h, SYNC_HEAD_KEY, mid, own);
        free(own);
        if (published || followed) {
            uint32_t local = sync_local_version(h->n, mid);
            put_provider(h, mid, local ? local : (published ? own_version : 0));
        }
        if (followed && h->engine) { /* catch up: a head put while this node was away */
            dht_key key;
            key_of(&key, SYNC_HEAD_KEY, mid);
            dht_get(h->engine, &key, h->mb, on_head_value, NULL, h);
        }
    }
    if (changed) {
        pthread_mutex_lock(&h->lock);
        save_or_log(h);
        pthread_mutex_unlock(&h->lock);
    }
}

/* --- jobs ------------------------------------------------------------------- */

/* Keeps env (a head of j->mid that holds) as this node's own, saved,
 * and puts it and the provider record. */
static int publish_head(heads *h, job *j, const char *env, const json_t *rec, char *err, size_t errlen)
{
    uint32_t ver = (uint32_t)json_integer_value(json_object_get(rec, "Version"));
    int64_t eol = (int64_t)json_integer_value(json_object_get(rec, "EOL"));
    int rc = -1;
    pthread_mutex_lock(&h->lock);
    entry *e = find_entry(h, j->mid, 1);
    if (!e) {
        ERR("this node publishes and follows %d MiMei already", ENTRIES_MAX);
    } else {
        char *copy = strdup(env);
        if (copy) {
            free(e->own);
            e->own = copy;
            e->published = 1;
            e->eol = eol;
            e->own_version = ver;
            rc = save_state(h, err, errlen);
        } else {
            ERR("out of memory");
        }
    }
    pthread_mutex_unlock(&h->lock);
    if (rc == 0) {
        put_value(h, SYNC_HEAD_KEY, j->mid, env);
        put_provider(h, j->mid, ver);
    }
    return rc;
}

static int job_publish(heads *h, job *j, json_t **result, char *err, size_t errlen)
{
    node *n = h->n;
    if (!h->engine)
        return ERR("the DHT is off on this node (dht_port 0)");
    json_t *info = node_mimei_info(n, j->mid);
    if (!info)
        return ERR("no MiMei %s on this node", j->mid);
    int rc = -1;
    cid block;
    uint32_t ver = 0;
    char *env = NULL;
    json_t *rec = NULL;
    if (!(mimei_right(info) & MIMEI_RIGHT_READ)) {
        ERR("private MiMei are never published");
    } else if (j->envelope) { /* signed by the author elsewhere: it must name this node's newest version */
        rec = sync_verify_head((const uint8_t *)j->envelope, strlen(j->envelope), j->mid, err, errlen);
        uint32_t claimed = (uint32_t)json_integer_value(json_object_get(rec, "Version"));
        const char *theirs = json_string_value(json_object_get(rec, "Block"));
        char mine[CID_TEXT_MAX] = "";
        if (rec && sync_version_block(n, j->mid, &block, &ver, err, errlen) == 0)
            cid_format(&block, mine);
        if (!rec || !mine[0])
            ; /* err says why */
        else if (claimed != ver || strcmp(mine, theirs))
            ERR("the head names version %u (%s) of %s, and this node's newest is %u (%s)", claimed, theirs, j->mid,
                ver, mine);
        else
            env = strdup(j->envelope);
    } else if (strcmp(mimei_str(info, "Author"), n->id)) {
        ERR("MiMei %s is %s's: this node signs heads with its own key only", j->mid, mimei_str(info, "Author"));
    } else if (sync_version_block(n, j->mid, &block, &ver, err, errlen) == 0) {
        char text[CID_TEXT_MAX];
        cid_format(&block, text);
        env = sync_head_sign(&n->key, j->mid, ver, text, j->eol, info);
        if (!env)
            ERR("the head of %s does not fit in a DHT value (%d bytes)", j->mid, DHT_VALUE_MAX);
        else
            rec = sync_verify_head((const uint8_t *)env, strlen(env), j->mid, err, errlen);
    }
    if (env && rec && (rc = publish_head(h, j, env, rec, err, errlen)) == 0)
        *result = json_pack("{s:O,s:O,s:O}", "Version", json_object_get(rec, "Version"), "Block",
                            json_object_get(rec, "Block"), "EOL", json_object_get(rec, "EOL"));
    json_decref(rec);
    free(env);
    json_decref(info);
    return rc;
}

/* The version block an author signs a head over (publish -k). */
static int job_prepare(heads *h, job *j, json_t **result, char *err, size_t errlen)
{
    json_t *info = node_mimei_info(h->n, j->mid);
    if (!info)
        return ERR("no MiMei %s on this node", j->mid);
    cid block;
    uint32_t ver;
    int rc = -1;
    if (!(mimei_right(info) & MIMEI_RIGHT_READ)) {
        ERR("private MiMei are never published");
    } else if (sync_version_block(h->n, j->mid, &block, &ver, err, errlen) == 0) {
        char text[CID_TEXT_MAX];
        cid_format(&block, text);
        *result = json_pack("{s:I,s:s,s:O}", "Version", (json_int_t)ver, "Block", text, "Info", info);
        rc = 0;
    }
    json_decref(info);
    return rc;
}

static int job_provide(heads *h, job *j, int provide, json_t **result, char *err, size_t errlen)
{
    if (provide && !h->engine)
        return ERR("the DHT is off on this node (dht_port 0)");
    json_t *info = node_mimei_info(h->n, j->mid);
    int private_here = info && !(mimei_right(info) & MIMEI_RIGHT_READ);
    json_decref(info);
    if (provide && private_here)
        return ERR("private MiMei are never provided");
    int rc = 0;
    pthread_mutex_lock(&h->lock);
    entry *e = find_entry(h, j->mid, provide);
    if (provide && !e) {
        rc = ERR("this node publishes and follows %d MiMei already", ENTRIES_MAX);
    } else if (e) {
        e->followed = provide;
        if (provide) {
            follow(h, e);
        } else if (e->listen_id > 0) {
            dht_unlisten(h->engine, e->listen_id);
            e->listen_id = 0;
            e->pending = 0;
        }
        rc = save_state(h, err, errlen);
    }
    pthread_mutex_unlock(&h->lock);
    if (rc != 0)
        return -1;
    uint32_t local = sync_local_version(h->n, j->mid);
    if (provide) {
        put_provider(h, j->mid, local);
        dht_key key;
        key_of(&key, SYNC_HEAD_KEY, j->mid);
        dht_get(h->engine, &key, h->mb, on_head_value, NULL, h);
    }
    *result = json_pack("{s:I,s:b}", "Version", (json_int_t)local, "Following", provide);
    return 0;
}

static int job_findprovs(heads *h, job *j, json_t **result, char *err, size_t errlen)
{
    if (!h->engine)
        return ERR("the DHT is off on this node (dht_port 0)");
    *result = json_pack("{s:o}", "Providers", find_providers(h, j->mid));
    return 0;
}

/* "HOST:PORT" with an IP literal as a multiaddr; 0, or -1 when it is not one. */
static int hostport_multiaddr(const char *text, char *out, size_t cap)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return -1;
    char host[64];
    size_t hlen = (size_t)(colon - text);
    const char *h = text;
    if (*h == '[' && colon[-1] == ']')
        h++, hlen -= 2;
    if (hlen == 0 || hlen >= sizeof host)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return -1;
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) == 1)
        snprintf(out, cap, "/ip4/%s/tcp/%ld", host, port);
    else if (inet_pton(AF_INET6, host, buf) == 1)
        snprintf(out, cap, "/ip6/%s/tcp/%ld", host, port);
    else
        return -1;
    return 0;
}

/* The head of mid as node `from` (a Leither ID found through the DHT, or
 * HOST:PORT) serves it, and that node as the one provider. */
static json_t *head_from_node(heads *h, const char *from, const char *mid, char **envelope, json_t **providers,
                              char *err, size_t errlen)
{
    node *n = h->n;
    json_t *addrs = NULL;
    char addr[160];
    if (ids_is_leither_id(from)) {
        if (!strcmp(from, n->id)) {
            ERR("node %s is this node", from);
            return NULL;
        }
        if (!n->presence) {
            ERR("the DHT is off on this node (dht_port 0): name the node as HOST:PORT");
            return NULL;
        }
        json_t *peer = NULL;
        for (int64_t deadline = now_ms() + FINDPEER_WAIT_MS; !(peer = presence_findpeer(n, from));) {
            if (now_ms() >= deadline || stop_asked(h)) {
                ERR("node %s not found in the DHT", from);
                return NULL;
            }
            wait_a_while(h, 200);
        }
        addrs = json_incref(json_object_get(peer, "Addrs"));
        json_decref(peer);
    } else if (hostport_multiaddr(from, addr, sizeof addr) == 0) {
        addrs = json_pack("[s]", addr);
    } else {
        ERR("'%s' is neither a Leither ID nor IP:PORT", from);
        return NULL;
    }
    char base[192], url[320];
    if (sync_base_url(addrs, base, sizeof base) != 0) {
        ERR("node %s has no HTTP address this node can use", from);
        json_decref(addrs);
        return NULL;
    }
    snprintf(url, sizeof url, "%s/api/v0/mimei/head?arg=%s", base, mid);
    size_t len = 0;
    char *body = sync_http_get(url, HEAD_REPLY_MAX, &len, err, errlen);
    json_t *doc = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL, *head = NULL;
    free(body);
    const char *env = json_string_value(json_object_get(doc, "Envelope"));
    if (body && !env)
        ERR("node %s answered no head of %s", from, mid);
    if (env && (head = sync_verify_head((const uint8_t *)env, strlen(env), mid, err, errlen))) {
        *envelope = strdup(env);
        *providers = json_pack("[{s:s,s:O}]", "ID", ids_is_leither_id(from) ? from : "", "Addrs", addrs);
    }
    json_decref(doc);
    json_decref(addrs);
    return head;
}

static int job_sync(heads *h, job *j, json_t **result, char *err, size_t errlen)
{
    char *envelope = NULL;
    json_t *providers = NULL, *head;
    if (j->from[0])
        head = head_from_node(h, j->from, j->mid, &envelope, &providers, err, errlen);
    else if (!h->engine)
        return ERR("the DHT is off on this node (dht_port 0): name a node with -n");
    else if ((head = newest_head(h, j->mid, &envelope, err, errlen)))
        providers = find_providers(h, j->mid);
    uint32_t version = 0;
    uint64_t bytes = 0;
    int rc = head ? sync_to_head(h, head, envelope, providers, &version, &bytes, err, errlen) : -1;
    if (rc == 0)
        *result = json_pack("{s:I,s:I,s:I}", "Version", (json_int_t)version, "Head",
                            json_integer_value(json_object_get(head, "Version")), "Bytes", (json_int_t)bytes);
    json_decref(head);
    json_decref(providers);
    free(envelope);
    return rc;
}

/* Runs the queued jobs in order, one at a time. */
static void run_jobs(heads *h)
{
    for (;;) {
        pthread_mutex_lock(&h->lock);
        if (h->next_run >= h->next_id || h->stopping) {
            pthread_mutex_unlock(&h->lock);
            return;
        }
        job *slot = &h->jobs[h->next_run % SYNC_JOBS_KEPT], j = *slot;
        slot->state = JOB_RUNNING;
        pthread_mutex_unlock(&h->lock);

        char err[512] = "";
        json_t *result = NULL;
        int rc;
        switch (j.kind) {
        case SYNC_JOB_PUBLISH: rc = job_publish(h, &j, &result, err, sizeof err); break;
        case SYNC_JOB_PROVIDE: rc = job_provide(h, &j, 1, &result, err, sizeof err); break;
        case SYNC_JOB_UNPROVIDE: rc = job_provide(h, &j, 0, &result, err, sizeof err); break;
        case SYNC_JOB_FINDPROVS: rc = job_findprovs(h, &j, &result, err, sizeof err); break;
        case SYNC_JOB_SYNC: rc = job_sync(h, &j, &result, err, sizeof err); break;
        case SYNC_JOB_PREPARE: rc = job_prepare(h, &j, &result, err, sizeof err); break;
        default: rc = errbuf_set(err, sizeof err, "unknown job"); break;
        }
        if (rc != 0)
            log_line(LOG_LEVEL_WARN, NULL, "sync: %s %s: %s", job_kind_names[j.kind], j.mid, err);
        pthread_mutex_lock(&h->lock);
        slot->state = rc == 0 ? JOB_DONE : JOB_FAILED;
        snprintf(slot->error, sizeof slot->error, "%s", rc == 0 ? "" : err);
        slot->result = rc == 0 ? result : NULL;
        free(slot->envelope); /* the job's copy `j` pointed to it */
        slot->envelope = NULL;
        h->next_run++;
        pthread_mutex_unlock(&h->lock);
        if (rc != 0)
            json_decref(result);
    }
}

long sync_job_submit(node *n, enum sync_job_kind kind, const char *mid, int64_t eol, const char *arg, char *err,
                     size_t errlen)
{
    heads *h = running;
    if (!h || h->n != n)
        return ERR("the sync thread is not running");
    char *envelope = NULL;
    if (kind == SYNC_JOB_PUBLISH && arg && *arg) {
        if (strlen(arg) > DHT_VALUE_MAX)
            return ERR("a head larger than %d bytes", DHT_VALUE_MAX);
        if (!(envelope = strdup(arg)))
            return ERR("out of memory");
    }
    pthread_mutex_lock(&h->lock);
    if (h->next_id - h->next_run >= SYNC_JOBS_QUEUED) {
        pthread_mutex_unlock(&h->lock);
        free(envelope);
        return ERR("busy: %d sync jobs wait already, try again shortly", SYNC_JOBS_QUEUED);
    }
    long id = h->next_id++;
    job *slot = &h->jobs[id % SYNC_JOBS_KEPT];
    json_decref(slot->result);
    memset(slot, 0, sizeof *slot);
    slot->id = id;
    slot->kind = kind;
    slot->eol = eol;
    slot->envelope = envelope;
    snprintf(slot->mid, sizeof slot->mid, "%s", mid);
    snprintf(slot->from, sizeof slot->from, "%s", kind == SYNC_JOB_SYNC && arg ? arg : "");
    pthread_mutex_unlock(&h->lock);
    if (write(h->wake[1], "", 1) < 0 && errno != EAGAIN)
        log_line(LOG_LEVEL_ERROR, NULL, "sync: waking the thread: %s", strerror(errno));
    return id;
}

json_t *sync_job_json(node *n, long id)
{
    heads *h = running;
    if (!h || h->n != n || id <= 0)
        return NULL;
    json_t *out = NULL;
    pthread_mutex_lock(&h->lock);
    job *j = &h->jobs[id % SYNC_JOBS_KEPT];
    if (j->id == id) {
        out = json_pack("{s:I,s:s,s:s,s:s,s:s}", "Job", (json_int_t)id, "Kind", job_kind_names[j->kind], "MID",
                        j->mid, "State", job_state_names[j->state], "Error", j->error);
        json_t *copy = j->result && j->state == JOB_DONE ? json_deep_copy(j->result) : NULL;
        if (copy) /* a copy: the reply is written after the lock is let go */
            json_object_update(out, copy);
        json_decref(copy);
    }
    pthread_mutex_unlock(&h->lock);
    return out;
}

json_t *sync_head_json(node *n, const char *mid)
{
    heads *h = running;
    if (!h || h->n != n)
        return NULL;
    char *best = NULL;
    pthread_mutex_lock(&h->lock);
    entry *e = find_entry(h, mid, 0);
    if (e) {
        if (e->own && (!e->seen || e->own_version >= e->seen_version))
            best = strdup(e->own);
        else if (e->seen)
            best = strdup(e->seen);
    }
    pthread_mutex_unlock(&h->lock);
    if (!best)
        return NULL;
    char err[256];
    json_t *rec = sync_verify_head((const uint8_t *)best, strlen(best), mid, err, sizeof err), *out = NULL;
    if (rec)
        out = json_pack("{s:s,s:o}", "Envelope", best, "Head", rec);
    free(best);
    return out;
}

json_t *sync_providers_json(node *n, const char *mid)
{
    heads *h = running;
    if (!h || h->n != n)
        return NULL;
    pthread_mutex_lock(&h->lock);
    entry *e = find_entry(h, mid, 0);
    json_t *out = e && e->providers ? json_deep_copy(e->providers) : NULL;
    pthread_mutex_unlock(&h->lock);
    return out;
}

int sync_follows(node *n, const char *mid)
{
    heads *h = running;
    if (!h || h->n != n)
        return 0;
    pthread_mutex_lock(&h->lock);
    entry *e = find_entry(h, mid, 0);
    int yes = e && e->followed;
    pthread_mutex_unlock(&h->lock);
    return yes;
}

/* --- the loop --------------------------------------------------------------- */

static void *sync_loop(void *arg)
{
    heads *h = arg;
    int64_t next_put = 0;
    int last_nodes = 0;
    while (!h->stopping) {
        int64_t now = now_seconds();
        /* a network still forming gets the records at once, as the presence's */
        int nodes = h->engine ? dht_routing_nodes(h->engine) : 0;
        if (h->engine && (now >= next_put || (nodes > last_nodes && last_nodes < 8))) {
            reput_all(h);
            next_put = now + (nodes ? DHT_REPUT_SECONDS : 1);
            last_nodes = nodes;
        }
        struct pollfd fds[3] = {{.fd = dht_mailbox_fd(h->mb), .events = POLLIN},
                                {.fd = h->stop[0], .events = POLLIN},
                                {.fd = h->wake[0], .events = POLLIN}};
        int r = poll(fds, 3, 1000);
        if (r < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        if (fds[2].revents) {
            char buf[64];
            while (read(h->wake[0], buf, sizeof buf) > 0)
                ;
        }
        if (fds[0].revents)
            dht_mailbox_drain(h->mb);
        run_jobs(h);
        sync_pending(h);
    }
    return NULL;
}

int sync_start(node *n, char *err, size_t errlen)
{
    heads *h = calloc(1, sizeof *h);
    if (!h)
        return ERR("out of memory");
    h->n = n;
    h->engine = presence_engine(n);
    h->stop[0] = h->stop[1] = h->wake[0] = h->wake[1] = -1;
    h->next_id = h->next_run = 1;
    pthread_mutex_init(&h->lock, NULL);
    dht_skip_log_init(&h->skips);
    home_path(&n->home, h->state_path, sizeof h->state_path, STATE_FILE);
    if (load_state(h, err, errlen) != 0)
        goto fail;
    if (!(h->mb = dht_mailbox_new(err, errlen)))
        goto fail;
    if (pipe2(h->stop, O_CLOEXEC) != 0 || pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        ERR("sync: pipe: %s", strerror(errno));
        goto fail;
    }
    running = h;
    if (pthread_create(&h->thread, NULL, sync_loop, h) != 0) {
        running = NULL;
        ERR("sync: cannot start its thread");
        goto fail;
    }
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (h->stop[i] >= 0)
            close(h->stop[i]);
        if (h->wake[i] >= 0)
            close(h->wake[i]);
    }
    for (size_t i = 0; i < h->nentries; i++)
        free(h->entries[i].own), free(h->entries[i].seen), json_decref(h->entries[i].providers);
    dht_mailbox_free(h->mb);
    pthread_mutex_destroy(&h->lock);
    free(h);
    return -1;
}

void sync_stop(node *n)
{
    heads *h = running;
    if (!h || h->n != n)
        return;
    h->stopping = 1;
    if (write(h->stop[1], "", 1) < 0)
        log_line(LOG_LEVEL_ERROR, NULL, "sync: %s", strerror(errno));
    pthread_join(h->thread, NULL);
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->nentries; i++) {
        entry *e = &h->entries[i];
        if (e->listen_id > 0 && h->engine)
            dht_unlisten(h->engine, e->listen_id);
        free(e->own);
        free(e->seen);
        json_decref(e->providers);
        e->own = e->seen = NULL;
        e->providers = NULL;
    }
    h->nentries = 0;
    for (size_t i = 0; i < SYNC_JOBS_KEPT; i++) {
        json_decref(h->jobs[i].result), h->jobs[i].result = NULL;
        free(h->jobs[i].envelope), h->jobs[i].envelope = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    running = NULL;
    /* the mailbox and the gets still waiting in the engine stay: OpenDHT
     * may post to them until dht_stop (presence_stop, after this) */
    retired = h;
}
