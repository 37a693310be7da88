/*
 * lua_api: the `leither` table app code sees (lua_api.c), and what apps.c
 * (HTTP side: routes, state cache) shares with it. Not for other folders
 * (the fuzz target of leither.json aside).
 */
#ifndef LEITHER_LUA_API_H
#define LEITHER_LUA_API_H

#include "node.h"

#include <lua.h>

struct redisReply;
struct resp_pending;
struct st_h2o_evloop_t;

/* Who an app state serves, and for whom the current request runs. */
typedef struct {
    node *n;
    char appid[IDS_LID_LEN + 1];
    char author[IDS_LID_LEN + 1]; /* the app's author: its code acts with this ID's rights */
    char db[IDS_LID_LEN + 1];     /* the app's own database, "" for none */
    cid root;                     /* the app version's folder */
    char user[IDS_LID_LEN + 1];   /* the request's signer, "" when unsigned */
    int visitors_write;           /* manifest "visitors": {"write": true}: writes to db are
                                   * the signer's, within its guest quota (quota.h) */
    /* The request running now, set by apps.c before each resume: a
     * database call in its coroutine suspends it (lua_api.c yields) until
     * the answer comes back on the worker's loop. */
    lua_State *co;                /* the request's coroutine */
    struct st_h2o_evloop_t *loop; /* the worker's loop */
    void (*on_answer)(void *request, struct redisReply *reply); /* resumes it */
    void *request;
    struct resp_pending *pending; /* set by the call that suspended it */
    struct redisReply *answer;    /* what it is resumed with (apps.c frees it) */
} app_ctx;

/* Sets the global `leither` (db, mimei, json, crypto, log, now, _traceback)
 * in a sandboxed state; ctx must outlive it. 0, or -1 with err. */
int luaapi_open(lua_State *L, app_ctx *ctx, char *err, size_t errlen);

/* Writes "leither: app APPID WHAT: text" to the log, text (an error and its
 * traceback) escaped so that app-made text cannot start a line of its own. */
void luaapi_log_trace(const char *appid, const char *what, const char *text);

/* Lua values to and from JSON text (leither.json; the renderer's info). */
void luaapi_push_json(lua_State *L, const json_t *v);

/* 1 when root, or path below it, is an app's server code (which only that
 * app may read). */
int apps_is_server_code(node *n, const cid *root, const char *path);

#endif
