/* presence: this node on the network (dht.h). One thread, its own loop:
 * it polls its mailbox (results from the engine) and a stop pipe, and
 * re-puts the node record on a timer. The peer table is read by the HTTP
 * workers under `lock`. */
#include "dht.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"

#define RECORD_DOMAIN "LEITHER-DHT-NODE-V1\n"
#define DIRECTORY_NAME "leither/nodes"
#define NODE_KEY_PREFIX "leither/node/"
/* lookups `findpeer` may start per LOOKUP_WINDOW seconds: an anonymous
 * caller cannot turn the node into a search engine for others */
#define LOOKUPS_MAX 32
#define LOOKUP_WINDOW 10

typedef struct presence presence;

typedef struct {
    char id[IDS_LID_LEN + 1];
    int64_t time;
    json_t *entry; /* the verified record, as presence_peers_json shows it */
} peer;

struct presence {
    node *n;
    dht_engine *engine;
    dht_mailbox *mb;
    pthread_t thread;
    int stop[2];
    dht_key own_key, directory;
    long listen_id;
    pthread_mutex_t lock; /* peers, lookups */
    peer peers[DHT_PEERS_MAX];
    size_t npeers;
    int64_t lookup_window;
    int lookups;
    dht_skip_log skips;
};

static int64_t now_seconds(void) { return (int64_t)time(NULL); }

/* --- records ------------------------------------------------------------ */

static int short_string(json_t *v, size_t max) { return json_is_string(v) && strlen(json_string_value(v)) <= max; }

json_t *presence_verify_record(const uint8_t *value, size_t len, const char *id, char *err, size_t errlen)
{
    dht_signature sig;
    json_t *rec = dht_envelope_open(value, len, "node", &sig, err, errlen), *entry = NULL;
    if (!rec)
        return NULL;
    uint8_t pk[IDS_PK_BYTES + 1];
    size_t n = 0;
    const char *rid = json_string_value(json_object_get(rec, "ID"));
    const char *pk64 = json_string_value(json_object_get(rec, "PublicKey"));
    json_t *time_v = json_object_get(rec, "Time");
    if (!json_is_string(json_object_get(rec, "Type")) || strcmp(json_string_value(json_object_get(rec, "Type")), "node") ||
        !rid || !ids_is_leither_id(rid) || !pk64 || !json_is_integer(time_v) ||
        !short_string(json_object_get(rec, "PeerID"), IDS_PEERID_MAX - 1) ||
        !short_string(json_object_get(rec, "Agent"), 64) || !dht_valid_addrs(json_object_get(rec, "Addrs")) ||
        !dht_valid_addrs(json_object_get(rec, "RespAddrs"))) {
        ERR("a node record of the wrong shape");
        goto done;
    }
    char derived[IDS_LID_LEN + 1];
    if (ids_b64url_decode(pk, sizeof pk, &n, pk64, strlen(pk64)) != 0 || n != IDS_PK_BYTES ||
        (ids_leither_id(derived, pk), strcmp(derived, rid))) {
        ERR("a record of %s whose public key is not that ID's", rid);
        goto done;
    }
    if (id && strcmp(id, rid)) {
        ERR("a record of %s where %s's was asked for", rid, id);
        goto done;
    }
    if (!dht_signature_holds(&sig, RECORD_DOMAIN, pk)) {
        ERR("a record of %s with a bad signature", rid);
        goto done;
    }
    int64_t t = (int64_t)json_integer_value(time_v), now = now_seconds();
    if (t < now - DHT_RECORD_STALE || t > now + DHT_RECORD_AHEAD) {
        ERR("a stale record of %s (time %lld)", rid, (long long)t);
        goto done;
    }
    entry = json_pack("{s:s,s:O,s:O,s:O,s:O,s:I}", "ID", rid, "PeerID", json_object_get(rec, "PeerID"), "Addrs",
                      json_object_get(rec, "Addrs"), "RespAddrs", json_object_get(rec, "RespAddrs"), "Agent",
                      json_object_get(rec, "Agent"), "Time", (json_int_t)t);
done:
    dht_signature_free(&sig);
    json_decref(rec);
    return entry;
}

/* The envelope of this node's record, signed now: a new string. */
static char *own_record(const presence *p)
{
    node *n = p->n;
    char pk64[IDS_B64URL_LEN(IDS_PK_BYTES) + 1];
    ids_b64url_encode(pk64, n->key.pk, IDS_PK_BYTES);
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:I}", "Type", "node", "ID", n->id, "PeerID", n->peer_id,
                            "PublicKey", pk64, "Addrs", node_multiaddrs(n->home.port, n->home.listen), "RespAddrs",
                            node_multiaddrs(n->home.db_port, n->home.listen), "Agent", "leither/" LEITHER_VERSION,
                            "Time", (json_int_t)now_seconds());
    char *env_text = rec ? dht_envelope_sign(&n->key, RECORD_DOMAIN, rec) : NULL;
    json_decref(rec);
    return env_text;
}

static void put_own_record(presence *p)
{
    char *rec = own_record(p);
    if (!rec)
        return;
    size_t len = strlen(rec);
    if (dht_put(p->engine, &p->own_key, rec, len) != 0 ||
        dht_put(p->engine, &p->directory, rec, len) != 0)
        log_line(LOG_LEVEL_WARN, NULL, "dht: could not put the node record");
    free(rec);
}

/* --- the peer table ------------------------------------------------------ */

static void skipped(presence *p, const char *why) { dht_skipped(&p->skips, "dht", why); }

/* A value from the directory or a lookup: kept when it holds. */
static void on_value(void *ctx, const uint8_t *data, size_t len)
{
    presence *p = ctx;
    char err[256];
    json_t *entry = presence_verify_record(data, len, NULL, err, sizeof err);
    if (!entry) {
        skipped(p, err);
        return;
    }
    const char *id = json_string_value(json_object_get(entry, "ID"));
    int64_t t = (int64_t)json_integer_value(json_object_get(entry, "Time"));
    if (!strcmp(id, p->n->id)) {
        json_decref(entry);
        return;
    }
    pthread_mutex_lock(&p->lock);
    size_t at = p->npeers, oldest = 0;
    for (size_t i = 0; i < p->npeers; i++) {
        if (!strcmp(p->peers[i].id, id))
            at = i;
        if (p->peers[i].time < p->peers[oldest].time)
            oldest = i;
    }
    if (at == p->npeers && p->npeers == DHT_PEERS_MAX)
        at = oldest; /* full: the node heard of least recently goes */
    peer *slot = &p->peers[at];
    if (at < p->npeers && !strcmp(slot->id, id) && slot->time > t) {
        json_decref(entry); /* an older record than the one we hold */
    } else {
        json_decref(slot->entry);
        snprintf(slot->id, sizeof slot->id, "%s", id);
        slot->time = t;
        slot->entry = entry;
        if (at == p->npeers)
            p->npeers++;
    }
    pthread_mutex_unlock(&p->lock);
}

json_t *presence_peers_json(node *n)
{
    presence *p = n->presence;
    json_t *arr = json_array();
    int64_t now = now_seconds();
    if (p) {
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < p->npeers; i++)
            if (p->peers[i].time >= now - DHT_RECORD_STALE)
                json_array_append_new(arr, json_deep_copy(p->peers[i].entry));
        pthread_mutex_unlock(&p->lock);
    }
    return json_pack("{s:o}", "Peers", arr);
}

json_t *presence_findpeer(node *n, const char *id)
{
    presence *p = n->presence;
    if (!p)
        return NULL;
    if (!strcmp(id, n->id)) { /* ourselves: our own record, as others read it */
        char *rec = own_record(p), err[8];
        json_t *entry = rec ? presence_verify_record((const uint8_t *)rec, strlen(rec), id, err, sizeof err) : NULL;
        free(rec);
        return entry;
    }
    json_t *found = NULL;
    int64_t now = now_seconds();
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->npeers && !found; i++)
        if (!strcmp(p->peers[i].id, id) && p->peers[i].time >= now - DHT_RECORD_STALE)
            found = json_deep_copy(p->peers[i].entry);
    int may_look = 0;
    if (!found) {
        if (now / LOOKUP_WINDOW != p->lookup_window)
            p->lookup_window = now / LOOKUP_WINDOW, p->lookups = 0;
        may_look = p->lookups++ < LOOKUPS_MAX;
    }
    pthread_mutex_unlock(&p->lock);
    if (may_look) { /* its values reach on_value on the presence's loop */
        char name[sizeof NODE_KEY_PREFIX + IDS_LID_LEN];
        snprintf(name, sizeof name, NODE_KEY_PREFIX "%s", id);
        dht_key key;
        dht_key_of(&key, name);
        dht_get(p->engine, &key, p->mb, on_value, NULL, p);
    }
    return found;
}

dht_engine *presence_engine(node *n) { return n->presence ? n->presence->engine : NULL; }

/* --- the loop ------------------------------------------------------------ */

static void *presence_loop(void *arg)
{
    presence *p = arg;
    int64_t next_put = 0;
    int last_nodes = 0;
    for (;;) {
        int64_t now = now_seconds();
        /* a network still forming (the node has just met its first peers)
         * gets the record at once, not in 5 minutes */
        int nodes = dht_routing_nodes(p->engine);
        if (now >= next_put || (nodes > last_nodes && last_nodes < 8)) {
            put_own_record(p);
            dht_get(p->engine, &p->directory, p->mb, on_value, NULL, p);
            next_put = now + (nodes ? DHT_REPUT_SECONDS : 1);
            last_nodes = nodes;
        }
        struct pollfd fds[2] = {{.fd = dht_mailbox_fd(p->mb), .events = POLLIN}, {.fd = p->stop[0], .events = POLLIN}};
        int r = poll(fds, 2, 1000);
        if (r < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        if (fds[0].revents)
            dht_mailbox_drain(p->mb);
    }
    return NULL;
}

int presence_start(node *n, char *err, size_t errlen)
{
    n->presence = NULL;
    if (n->home.dht_port == 0)
        return 0;
    presence *p = calloc(1, sizeof *p);
    if (!p)
        return ERR("out of memory");
    p->n = n;
    p->stop[0] = p->stop[1] = -1;
    pthread_mutex_init(&p->lock, NULL);
    dht_skip_log_init(&p->skips);
    char name[sizeof NODE_KEY_PREFIX + IDS_LID_LEN];
    snprintf(name, sizeof name, NODE_KEY_PREFIX "%s", n->id);
    dht_key_of(&p->own_key, name);
    dht_key_of(&p->directory, DIRECTORY_NAME);

    json_t *list = json_object_get(n->home.doc, "bootstrap"), *item;
    size_t count = json_array_size(list), i;
    const char **boot = calloc(count + 1, sizeof *boot);
    if (!boot) {
        free(p);
        return ERR("out of memory");
    }
    json_array_foreach(list, i, item) boot[i] = json_string_value(item);
    dht_config cfg = {.listen = n->home.listen,
                      .port = n->home.dht_port,
                      .network = DHT_NETWORK_ID,
                      .bootstrap = boot,
                      .nbootstrap = count,
                      .default_port = HOME_DEFAULT_PORT + 2};
    if (!(p->mb = dht_mailbox_new(err, errlen)) || pipe2(p->stop, O_CLOEXEC) != 0 ||
        !(p->engine = dht_start(&cfg, err, errlen))) {
        if (p->mb && p->stop[0] < 0)
            ERR("dht: pipe: %s", strerror(errno));
        free(boot);
        goto fail;
    }
    free(boot);
    p->listen_id = dht_listen(p->engine, &p->directory, p->mb, on_value, p);
    if (pthread_create(&p->thread, NULL, presence_loop, p) != 0) {
        ERR("dht: cannot start its thread");
        goto fail;
    }
    n->presence = p;
    return 0;
fail:
    dht_stop(p->engine);
    dht_mailbox_free(p->mb);
    if (p->stop[0] >= 0)
        close(p->stop[0]), close(p->stop[1]);
    free(p);
    return -1;
}

void presence_stop(node *n)
{
    presence *p = n->presence;
    if (!p)
        return;
    if (write(p->stop[1], "", 1) < 0)
        log_line(LOG_LEVEL_ERROR, NULL, "dht: %s", strerror(errno));
    pthread_join(p->thread, NULL);
    dht_stop(p->engine); /* nothing is posted after this */
    dht_mailbox_free(p->mb);
    close(p->stop[0]);
    close(p->stop[1]);
    for (size_t i = 0; i < p->npeers; i++)
        json_decref(p->peers[i].entry);
    pthread_mutex_destroy(&p->lock);
    free(p);
    n->presence = NULL;
}
