/*
 * gateway: content over HTTP. GET/HEAD /ipfs/CID[/PATH], the IPFS path
 * gateway and its trustless formats (?format=raw, ?format=car), and
 * /mm/MID[/PATH], a file MiMei's version, served raw or rendered by an app
 * (the renderer the server registers at start, so the gateway never calls
 * the apps runtime that calls it).
 *
 * Errors: one plain-text line with the status (400 bad CID or path, 403
 * private, 404 missing, 502 a corrupt block or not UnixFS).
 * Calls: http/ (toolkit), node/ (access), modules/store, modules/db.
 * Threads: handlers run on any HTTP worker; nothing here is shared but the
 * MIME map (read-only once made) and the renderer (set before serving).
 */
#ifndef LEITHER_GATEWAY_H
#define LEITHER_GATEWAY_H

#include "http.h"
#include "store.h"

#include <jansson.h>

/* The /ipfs and /mm routes of the prefix table. */
int gateway_on_ipfs(h2o_req_t *req, node *n);
int gateway_on_mm(h2o_req_t *req, node *n);

/* Serves path (decoded, no leading slash) below root as /ipfs/ does:
 * files, index.html, listings, ranges, formats. */
int gateway_serve(h2o_req_t *req, node *n, const cid *root, const char *path);
/* A file's Content-Type: by its name, else sniffed; NULL on a store error. */
const char *gateway_file_type(h2o_req_t *req, node *n, const cid *file, uint64_t size, const char *name);

/* Renders path of version ver (content root) of the MiMei whose info is
 * given with app appid's renderer, for reader (the request's signer,
 * checked once by the caller: a signature is good for one use; "" unsigned). */
typedef int (*gateway_renderer)(h2o_req_t *req, node *n, const json_t *info, const char *appid, uint32_t ver,
                                const cid *root, const char *path, const char *reader);
/* Set once before the server starts. */
void gateway_set_renderer(gateway_renderer fn);

/* Whether app MiMei mid was published by its author (this node holds a
 * head of it that holds: runtime/sync). Publishing an app distributes it,
 * so the gateway then hands its server code out to the nodes that copy
 * it, as raw blocks only (never rendered, never in a CAR) and only while
 * the app is public; unset, or false, never. Set once before the server
 * starts; called from any HTTP thread. */
typedef int (*gateway_published)(node *n, const char *mid);
void gateway_set_published(gateway_published fn);

#endif
