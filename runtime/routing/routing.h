/*
 * routing: the Delegated Routing V1 HTTP API of the IPFS specs
 * (specs.ipfs.tech/routing/http-routing-v1, with IPIP-0513: an empty list is
 * 200), so an IPFS client that takes this node as its delegated router finds
 * Leither nodes as trustless gateways.
 *
 *   GET /routing/v1/providers/{cid}    who serves the block: this node when it
 *                                      holds it and an anonymous reader may
 *                                      fetch it (never a private MiMei's
 *                                      root, never an app's server code),
 *                                      then what the sources know
 *   GET /routing/v1/peers/{peer-id}    the peer record of this node's peer ID
 *                                      (base58 "12D3KooW..." or a CIDv1
 *                                      libp2p-key), then the sources'
 *
 * Records are the "peer" schema with the transport-ipfs-gateway-http
 * protocol and /http multiaddrs. JSON ({"Providers": [...]}, at most 100),
 * or NDJSON, one record a line, when the client sends Accept:
 * application/x-ndjson (at most ROUTING_STREAM_MAX). ?filter-addrs= and
 * ?filter-protocols= (IPIP-0484: names, "!name", "unknown") apply to every
 * record, this node's and the sources'. CORS is open to every
 * origin (OPTIONS preflight answered). Errors are one plain-text line: 400
 * bad CID, peer ID or unknown path; 501 what this node does not do (PUT,
 * IPNS).
 *
 * Sources: other parts of the node (the DHT) add what they know about other
 * nodes through routing_add_source, before the server starts. A source is
 * called on the HTTP worker serving the request and must answer from what
 * it already holds, never wait on the network.
 *
 * Calls: http/ (toolkit), node/ (access), modules/store.
 * Threads: handlers run on any HTTP worker; the source table is written
 * before the server starts and only read after.
 */
#ifndef LEITHER_ROUTING_H
#define LEITHER_ROUTING_H

#include "http.h"

#include <jansson.h>

/* The /routing/v1 route of the prefix table. */
int routing_on_request(h2o_req_t *req, node *n);

#define ROUTING_JSON_MAX 100    /* records in a JSON reply, as the spec asks */
#define ROUTING_STREAM_MAX 1000 /* records in an NDJSON reply */
#define ROUTING_SOURCES_MAX 4

enum routing_kind {
    ROUTING_PROVIDERS, /* key: the multihash of the CID asked about */
    ROUTING_PEERS,     /* key: the multihash of the peer ID asked about */
};

/* Hands one record to the reply: a "peer" schema object with at least
 * "Schema" and "ID" strings (anything else is dropped). Takes the reference.
 * Returns 0 while more are wanted, 1 once the reply is full. */
typedef int (*routing_emit)(void *ctx, json_t *record);
/* Emits what the source knows for key (binary multihash, key_len bytes). */
typedef void (*routing_source)(void *arg, node *n, enum routing_kind kind, const uint8_t *key, size_t key_len,
                               routing_emit emit, void *ctx);
/* Adds a source (at most ROUTING_SOURCES_MAX): 0, or -1 when full. */
int routing_add_source(routing_source fn, void *arg);

/* This node's own peer record: Schema "peer", ID, Addrs (/http multiaddrs,
 * a /dns one first when the request came by a host name), Protocols.
 * NULL when out of memory. */
json_t *routing_self_record(h2o_req_t *req, node *n);

#endif
