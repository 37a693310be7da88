/*
 * apps: the Lua app runtime. GET/POST/... /tpt/APPID[/PATH] runs an app's
 * Lua routes (server/, in the sandbox of modules/lua) or serves its static
 * files; /mm/ renderers call an app's `app.render`; /sdk/leither.js is the
 * browser SDK built into the binary. The `leither` table app code sees
 * (db, mimei, json, crypto, log) lives beside it in lua_api.c, as
 * Tarantool keeps a subsystem's Lua bindings beside it.
 *
 * Errors: JSON errors (http.h's shape) for requests; an app that fails to
 * start answers 500 with its reason, logged with the traceback.
 * Calls: gateway/ (static files), resp/ (database commands), http/, node/,
 * modules/lua, modules/store, modules/mimei, modules/db.
 * Threads: each HTTP worker keeps its own Lua states, freed as it ends.
 */
#ifndef LEITHER_APPS_H
#define LEITHER_APPS_H

#include "http.h"

/* The /tpt and /sdk routes of the prefix table. */
int apps_on_tpt(h2o_req_t *req, node *n);
int apps_on_sdk(h2o_req_t *req, node *n);

/* The gateway's renderer (gateway_set_renderer): renders path of version
 * ver (content root) of the MiMei whose info is given with app appid's
 * `app.render`, for reader (the request's signer, "" unsigned). */
int apps_render(h2o_req_t *req, node *n, const json_t *info, const char *appid, uint32_t ver, const cid *root,
                const char *path, const char *reader);

/* Records the server code of every version of every app on the node (at
 * start, before anything is served: apps uploaded before the gateway kept
 * that record). */
void apps_hide_all_server_code(node *n);

#endif
