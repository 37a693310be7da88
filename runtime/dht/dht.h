/*
 * dht: how nodes find each other. Two parts, one contract.
 *
 * The engine (engine.cpp): a DHT behind an interface of our own (start,
 * stop, put, get, listen), built on OpenDHT (Debian's libopendht, a
 * deployed Kademlia DHT; GPL-3.0-or-later). Nothing outside engine.cpp
 * names OpenDHT, so the engine could be swapped. OpenDHT runs its own
 * thread; its results never call our code there: they are copied into a
 * mailbox (mailbox.c), a queue with a pipe that the loop that asked polls,
 * and the callbacks run when that loop drains it, on that loop's thread.
 *
 * The presence (presence.c): this node on the network. It puts the node's
 * signed record (below) under the node's key and under the directory key,
 * re-puts it before OpenDHT forgets it (10 minutes), listens on the
 * directory to learn the other nodes, and answers `swarm addrs` and
 * `dht findpeer` from what it verified. It runs one thread of its own, the
 * loop its mailbox is drained on.
 *
 * Node record: the DHT value is the envelope
 *   {"Record": TEXT, "Sig": base64url(ed25519(node key, "LEITHER-DHT-NODE-V1\n" TEXT))}
 * where TEXT is the JSON object
 *   {"Type": "node", "ID", "PeerID", "PublicKey" (base64url), "Addrs" (HTTP
 *    multiaddrs), "RespAddrs" (the databases' Redis protocol), "Agent", "Time"}
 * Values from the DHT are hostile: larger than DHT_VALUE_MAX, not this
 * shape, an ID that is not the key's, a bad signature, a time older than
 * DHT_RECORD_STALE or ahead of the clock: skipped, logged on one line.
 *
 * Keys: SHA-1 of a name (as OpenDHT's InfoHash::get, so `dhtnode`'s
 * `g NAME` reads the same key): "leither/node/" ID for a node's record,
 * "leither/nodes" for the directory.
 *
 * Calls: node/ and modules (ids); OpenDHT inside engine.cpp only.
 * Threads: the engine's calls are safe from any thread; a mailbox is
 * drained by one thread. Mailboxes outlive the engine (dht_stop first).
 */
#ifndef LEITHER_DHT_H
#define LEITHER_DHT_H

#include <stddef.h>
#include <stdint.h>

/* Leither's OpenDHT network id: nodes with another id (every public
 * OpenDHT node has 0) neither answer nor are answered. */
#define DHT_NETWORK_ID 0x4c544852u /* "LTHR" */
#define DHT_KEY_BYTES 20
/* a value larger than this is refused before it is parsed */
#define DHT_VALUE_MAX 4096
/* OpenDHT drops a value 10 minutes after its put: re-put well before */
#define DHT_REPUT_SECONDS 300
/* a record older than this is stale: its node stopped re-putting it */
#define DHT_RECORD_STALE (3 * DHT_REPUT_SECONDS)
/* and one this far ahead of our clock is refused */
#define DHT_RECORD_AHEAD 300
/* nodes the presence remembers at most (bounded memory) */
#define DHT_PEERS_MAX 1024

/* --- the engine --------------------------------------------------------- */

typedef struct dht_engine dht_engine;
typedef struct dht_mailbox dht_mailbox;
typedef struct {
    uint8_t b[DHT_KEY_BYTES];
} dht_key;

/* The key of a name: SHA-1, as OpenDHT's InfoHash::get. */
void dht_key_of(dht_key *key, const char *name);

typedef struct {
    const char *listen; /* address to bind: "::" both families, else that one */
    int port;           /* UDP */
    uint32_t network;   /* DHT_NETWORK_ID */
    const char *const *bootstrap; /* "HOST:PORT" or "[V6]:PORT", HOST alone takes default_port */
    size_t nbootstrap;
    int default_port;
} dht_config;

/* Binds and joins (fails with "dht port N is already in use" and the like). */
dht_engine *dht_start(const dht_config *cfg, char *err, size_t errlen);
/* Leaves the network and joins OpenDHT's thread: no result is posted after. */
void dht_stop(dht_engine *e);

/* Callbacks, run by dht_mailbox_drain on the draining thread. A value's
 * bytes are valid during the call only. */
typedef void (*dht_value_fn)(void *ctx, const uint8_t *data, size_t len);
typedef void (*dht_done_fn)(void *ctx, int ok);

/* Puts a value (len <= DHT_VALUE_MAX) under key, fire and forget. Its id
 * is a hash of its bytes: OpenDHT's nodes refuse to replace a value by a
 * different one under the same id, so a changed record (a new time) is a
 * new value, and the same bytes put again refresh the old one. Values
 * that stop being put expire after 10 minutes. */
int dht_put(dht_engine *e, const dht_key *key, const void *data, size_t len);
/* Every value under key to on_value, then on_done once. */
int dht_get(dht_engine *e, const dht_key *key, dht_mailbox *mb, dht_value_fn on_value, dht_done_fn on_done, void *ctx);
/* Every value under key now and whenever one is put, until dht_unlisten
 * (values already posted may still be drained after: ctx lives until
 * dht_stop). Returns a listen id > 0, or -1. */
long dht_listen(dht_engine *e, const dht_key *key, dht_mailbox *mb, dht_value_fn on_value, void *ctx);
void dht_unlisten(dht_engine *e, long id);
/* Nodes in the routing table (IPv4 and IPv6), for status. */
int dht_routing_nodes(dht_engine *e);

/* --- mailboxes ---------------------------------------------------------- */

/* A queue of results for one loop (at most DHT_MAILBOX_MAX waiting; more
 * are dropped, so a flood of values costs bounded memory). */
#define DHT_MAILBOX_MAX 4096
dht_mailbox *dht_mailbox_new(char *err, size_t errlen);
/* Readable while results wait: poll it in the loop. */
int dht_mailbox_fd(const dht_mailbox *mb);
/* Runs the waiting callbacks on the calling thread. */
void dht_mailbox_drain(dht_mailbox *mb);
void dht_mailbox_free(dht_mailbox *mb);

/* --- the presence ------------------------------------------------------- */

#ifndef __cplusplus /* engine.cpp sees the engine only */
#include "node.h"

#include <jansson.h>
#include <pthread.h>

/* Starts the engine on the home's dht_port (0: the DHT is off, and this
 * returns 0 with n->dht NULL), puts the node record and follows the
 * directory. -1 with the reason. */
int presence_start(node *n, char *err, size_t errlen);
void presence_stop(node *n);

/* The nodes this node knows (verified, not stale, itself aside):
 * {"Peers": [{"ID", "PeerID", "Addrs", "RespAddrs", "Agent", "Time"}...]}. */
json_t *presence_peers_json(node *n);

/* Node id's verified record (as one entry of Peers) when known; else NULL,
 * and a lookup in the DHT is started: asking again shortly may find it. */
json_t *presence_findpeer(node *n, const char *id);

/* --- signed envelopes: every value Leither puts ------------------------
 * {"Record": TEXT, "Sig": base64url(ed25519(KEY, PREFIX TEXT))}, TEXT a JSON
 * object's compact text. PREFIX names the kind of record (the node
 * record's "LEITHER-DHT-NODE-V1\n", sync.h's heads and providers), so a
 * signature made for one kind never passes for another. */

/* rec's text signed with key under prefix, as an envelope: a new string,
 * NULL when memory ran out or it is larger than DHT_VALUE_MAX. */
char *dht_envelope_sign(const ids_key *key, const char *prefix, const json_t *rec);

typedef struct {
    char *text; /* the signed text (malloc'd) */
    uint8_t sig[IDS_SIG_BYTES];
} dht_signature;
/* Opens an envelope of at most DHT_VALUE_MAX bytes: its record (a JSON
 * object, new reference) with the text and signature in *s (free with
 * dht_signature_free), or NULL with why in err (what: "node", "head", ...
 * names the record in it). The signature is not checked yet: the key to
 * check it with is in the record. */
json_t *dht_envelope_open(const uint8_t *value, size_t len, const char *what, dht_signature *s, char *err,
                          size_t errlen);
/* Nonzero when s is pk's signature over prefix and s's text. */
int dht_signature_holds(const dht_signature *s, const char *prefix, const uint8_t pk[IDS_PK_BYTES]);
void dht_signature_free(dht_signature *s);

/* Nonzero when arr is a record's list of multiaddrs as we put them: an
 * array of at most DHT_ADDRS_MAX strings, each "/ip4/..." or "/ip6/..."
 * of at most DHT_ADDR_MAX bytes. */
#define DHT_ADDRS_MAX 16
#define DHT_ADDR_MAX 128
int dht_valid_addrs(const json_t *arr);

/* "WHO: skipped WHY" for a value that does not hold, at most
 * DHT_SKIP_LOGS_MAX lines a minute, so hostile values cannot fill the log.
 * Safe from any thread. */
#define DHT_SKIP_LOGS_MAX 10
typedef struct {
    pthread_mutex_t lock;
    int64_t minute;
    int count;
} dht_skip_log;
void dht_skip_log_init(dht_skip_log *s);
void dht_skipped(dht_skip_log *s, const char *who, const char *why);

/* The record of node id's envelope (value, len) when it holds (module
 * comment): a new reference, else NULL with why in err. */
json_t *presence_verify_record(const uint8_t *value, size_t len, const char *id, char *err, size_t errlen);

/* The engine the presence runs, for other loops' puts, gets and listens
 * (runtime/sync); NULL when the DHT is off. Valid until presence_stop. */
dht_engine *presence_engine(node *n);
#endif

#endif
