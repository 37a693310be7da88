/*
 * apps: GET/POST/... /tpt/APPID[/PATH], the apps.
 *
 * An app is a file MiMei (AppType "app") whose version is a folder: static
 * files, manifest.json, and Lua in server/. A request serves the app's
 * `cur` (else its newest version): a Lua route that matches runs, else the
 * static file is served, else 404. Each worker thread keeps one sandboxed
 * Lua state per app version it has run (apps_vm), made on first use and
 * dropped when a newer version is asked for or after a limit breach. A
 * request runs as a coroutine of the state with its own budget: a database
 * call suspends it and the worker serves other requests meanwhile (the
 * answer resumes it). A request finishes on the state it began with, which
 * lives until its last request ends, while the next request sees the new
 * upload.
 *
 * /mm/ renderers (apps_render) call the app's `app._render` the same way.
 * /sdk/leither.js serves the browser SDK built into the binary.
 */
#include "apps.h"

#include "gateway.h"
#include "lua_api.h"
#include "db.h"
#include "embedded.h"
#include "mimei.h"
#include "resp.h"
#include "sandbox.h"

#include <hiredis/hiredis.h>
#include <lauxlib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MANIFEST_MAX (64 * 1024)
#define SOURCE_MAX (4u << 20)
#define VMS_PER_THREAD 32

typedef struct apps_vm {
    app_ctx ctx;
    sandbox *sb; /* NULL: a static-only app (no server code) */
    char version[CID_TEXT_MAX]; /* root as text (req.version) */
    char error[512]; /* why the app could not start, "" when it did */
    int serves_files; /* with an error: its Lua failed to run, its manifest is sound */
    uint64_t used; /* last use, for eviction */
    int busy;      /* requests whose coroutines live in the state */
    int dropped;   /* out of the list: freed when the last of them ends */
    struct apps_vm *next;
} apps_vm;

static __thread apps_vm *vms;
static __thread uint64_t use_clock;

/* A worker's states are freed as its thread ends (a key's destructor runs
 * before the thread's own storage goes). */
static pthread_key_t vms_key;
static pthread_once_t vms_once = PTHREAD_ONCE_INIT;
static void free_thread_vms(void *unused);
static void make_vms_key(void) { pthread_key_create(&vms_key, free_thread_vms); }

static char *normalize_path(char *path);

int apps_is_server_code(node *n, const cid *root, const char *path)
{
    char err[256];
    cid target;
    ufs_stat st;
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return 1; /* cannot tell: refuse */
    int hidden = bs_is_hidden(n->bs, txn, root) ||
                 (ufs_resolve(n->bs, txn, root, path, &target, &st, err, sizeof err) == STORE_OK &&
                  bs_is_hidden(n->bs, txn, &target));
    mdb_txn_abort(txn);
    return hidden;
}

/* --- making an app's state ----------------------------------------------------- */

/* require: the node's library (leither.*) from the binary, else the app's
 * server/ folder (dots are folders). */
static char *load_module(void *arg, const char *name, size_t *len, char *chunkname, size_t cap)
{
    apps_vm *vm = arg;
    char path[300], err[256];
    for (size_t i = 0; name[i]; i++)
        if (name[i] == '/')
            return NULL;
    if (!strncmp(name, "leither.", 8)) {
        snprintf(path, sizeof path, "lua/%s.lua", name);
        for (char *p = path + 4; *p; p++)
            if (*p == '.' && strcmp(p, ".lua"))
                *p = '/';
        const char *src = embedded_file(path, len);
        snprintf(chunkname, cap, "%s", path + 4);
        return src ? strndup(src, *len) : NULL;
    }
    snprintf(path, sizeof path, "server/%s.lua", name);
    for (char *p = path + 7; *p; p++)
        if (*p == '.' && strcmp(p, ".lua"))
            *p = '/';
    snprintf(chunkname, cap, "%s", path);
    return ufs_read_file(vm->ctx.n->bs, &vm->ctx.root, path, SOURCE_MAX, len, err, sizeof err);
}

static uint64_t limit_value(const json_t *manifest, const char *key, const json_t *sysvars, const char *syskey,
                            uint64_t scale)
{
    json_t *v = json_object_get(json_object_get(manifest, "limits"), key);
    if (!json_is_integer(v))
        v = json_object_get(sysvars, syskey);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) * scale : 0;
}

/* Runs inside a protected call: the leither table, the router, main.lua. */
static int start_app(lua_State *L)
{
    apps_vm *vm = lua_touserdata(L, 1);
    const char *entry = lua_tostring(L, 2);
    char err[512];
    if (luaapi_open(L, &vm->ctx, err, sizeof err) != 0)
        return luaL_error(L, "%s", err);
    lua_getglobal(L, "require");
    lua_pushstring(L, "leither.app");
    lua_call(L, 1, 1);
    lua_setglobal(L, "app");
    size_t len;
    char *src = ufs_read_file(vm->ctx.n->bs, &vm->ctx.root, entry, SOURCE_MAX, &len, err, sizeof err);
    if (!src)
        return luaL_error(L, "%s", err);
    luaL_Buffer b; /* the source in Lua's memory, so an error cannot leak it */
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, src, len);
    free(src);
    luaL_pushresult(&b);
    char chunk[300];
    snprintf(chunk, sizeof chunk, "=%s", entry);
    size_t srclen;
    const char *text = lua_tolstring(L, -1, &srclen);
    if (luaL_loadbufferx(L, text, srclen, chunk, "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 0);
    return 0;
}

static void vm_free(apps_vm *vm)
{
    sandbox_free(vm->sb);
    free(vm);
}

/* Out of the list: freed now, or once no request waits in it. */
static void vm_release(apps_vm *vm)
{
    if (vm->busy)
        vm->dropped = 1;
    else
        vm_free(vm);
}

/* Whether id is in the comma-separated list. */
static int listed(const char *list, const char *id)
{
    size_t il = strlen(id);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == il && !memcmp(p, id, il))
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

/* Records the version's server code as app appid's, never rendered (an
 * app uploaded before the gateway kept that record, or whose blocks came
 * after its version was set, or synced from another node): a write only
 * when the folder is not recorded as appid's yet. */
static void hide_server_code(node *n, const char *appid, const cid *root)
{
    char err[256], recorded[BS_HIDDEN_APPS_CAP];
    cid server;
    ufs_stat st;
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return;
    int todo = ufs_resolve(n->bs, txn, root, "server", &server, &st, err, sizeof err) == STORE_OK &&
               (!bs_hidden_apps(n->bs, txn, &server, recorded, sizeof recorded) || !listed(recorded, appid));
    mdb_txn_abort(txn);
    if (!todo || !(txn = bs_begin(n->bs, 1, err, sizeof err)))
        return;
    if (bs_hide_app_code_of(n->bs, txn, root, appid, err, sizeof err) != 0) {
        mdb_txn_abort(txn);
        log_line(LOG_LEVEL_ERROR, NULL, "recording server code: %s", err);
        return;
    }
    if (bs_commit(txn, err, sizeof err) != 0)
        log_line(LOG_LEVEL_ERROR, NULL, "recording server code: %s", err);
}

struct app_ids {
    char (*ids)[IDS_LID_LEN + 1];
    size_t n, cap;
};

static int collect_app(void *arg, const char *mid, const char *text, size_t len)
{
    struct app_ids *a = arg;
    json_t *info = json_loadb(text, len, 0, NULL);
    int is_app = info && !strcmp(mimei_str(info, "AppType"), "app") && strlen(mid) == IDS_LID_LEN;
    json_decref(info);
    if (!is_app)
        return 0;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        void *ids = realloc(a->ids, cap * sizeof *a->ids);
        if (!ids)
            return 0;
        a->ids = ids, a->cap = cap;
    }
    memcpy(a->ids[a->n++], mid, IDS_LID_LEN + 1);
    return 0;
}

struct app_roots {
    cid *roots;
    size_t n, cap;
};

static int collect_root(void *arg, uint32_t ver, const cid *c)
{
    (void)ver;
    struct app_roots *r = arg;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        cid *roots = realloc(r->roots, cap * sizeof *roots);
        if (!roots)
            return 1;
        r->roots = roots, r->cap = cap;
    }
    r->roots[r->n++] = *c;
    return 0;
}

void apps_hide_all_server_code(node *n)
{
    struct app_ids apps = {0};
    db_mimei_each(n->db, collect_app, &apps); /* then the store: no transaction inside another */
    for (size_t i = 0; i < apps.n; i++) {
        struct app_roots r = {0};
        char err[256];
        MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
        if (txn) {
            files_versions(n->bs, txn, apps.ids[i], collect_root, &r);
            mdb_txn_abort(txn);
        }
        for (size_t k = 0; k < r.n; k++)
            hide_server_code(n, apps.ids[i], &r.roots[k]);
        free(r.roots);
    }
    free(apps.ids);
}

/* A new state for version root of app appid (info: its record). */
static apps_vm *vm_new(node *n, const char *appid, const json_t *info, const cid *root)
{
    apps_vm *vm = calloc(1, sizeof *vm);
    vm->ctx.n = n;
    snprintf(vm->ctx.appid, sizeof vm->ctx.appid, "%s", appid);
    snprintf(vm->ctx.author, sizeof vm->ctx.author, "%s", mimei_str(info, "Author"));
    vm->ctx.root = *root;
    cid_format(root, vm->version);
    hide_server_code(n, appid, root);
    char err[512];
    size_t len;
    json_t *manifest = NULL;
    char *text = ufs_read_file(n->bs, root, "manifest.json", MANIFEST_MAX, &len, err, sizeof err);
    if (text) {
        json_error_t jerr;
        manifest = json_loadb(text, len, 0, &jerr);
        free(text);
        if (!json_is_object(manifest)) {
            snprintf(vm->error, sizeof vm->error, "manifest.json: %s", manifest ? "not a JSON object" : jerr.text);
            json_decref(manifest);
            return vm;
        }
    }
    json_t *dbv = json_object_get(manifest, "database");
    if (json_is_true(dbv))
        mimei_appdb_id(vm->ctx.db, vm->ctx.author, appid);
    else if (json_is_string(dbv))
        snprintf(vm->ctx.db, sizeof vm->ctx.db, "%s", json_string_value(dbv));
    vm->ctx.visitors_write = json_is_true(json_object_get(json_object_get(manifest, "visitors"), "write"));
    char entry[256];
    const char *e = json_string_value(json_object_get(manifest, "entry"));
    snprintf(entry, sizeof entry, "%s", e ? e : "server/main.lua");
    if (!normalize_path(entry) || strncmp(entry, "server/", 7)) { /* elsewhere it would be served as a file */
        snprintf(vm->error, sizeof vm->error, "manifest.json: \"entry\" must be a file in server/, not %.200s", e);
        json_decref(manifest);
        return vm;
    }
    cid entry_cid;
    ufs_stat st;
    if (ufs_resolve(n->bs, NULL, root, entry, &entry_cid, &st, err, sizeof err) != STORE_OK) {
        json_decref(manifest);
        return vm; /* no server code: a static app */
    }
    pthread_mutex_lock(&n->lock);
    sandbox_limits lim = {
        .memory_max = limit_value(manifest, "memory_mb", n->home.doc, "lua_memory_mb", 1u << 20),
        .instructions = limit_value(manifest, "instructions", n->home.doc, "lua_instructions", 1),
        .wall_ms = (uint32_t)limit_value(manifest, "wall_ms", n->home.doc, "lua_wall_ms", 1),
    };
    pthread_mutex_unlock(&n->lock);
    json_decref(manifest);
    if (!(vm->sb = sandbox_new(&lim, load_module, vm, err, sizeof err))) {
        snprintf(vm->error, sizeof vm->error, "%s", err);
        return vm;
    }
    lua_State *L = sandbox_lua(vm->sb);
    sandbox_begin(vm->sb);
    lua_pushcfunction(L, start_app);
    lua_pushlightuserdata(L, vm);
    lua_pushstring(L, entry);
    char trace[4096];
    if (sandbox_call(vm->sb, 2, 0, err, sizeof err, trace, sizeof trace) != SANDBOX_OK) {
        snprintf(vm->error, sizeof vm->error, "%s", err);
        vm->serves_files = 1;
        luaapi_log_trace(appid, " does not start", trace);
        sandbox_free(vm->sb);
        vm->sb = NULL;
    }
    return vm;
}

static json_t *app_info(h2o_req_t *req, node *n, const char *appid);

/* The state for (appid, root), made if needed (the app's info record is
 * read only then: it never changes); older versions of the app and the
 * least recently used beyond VMS_PER_THREAD are dropped. NULL after
 * replying when appid is no app. */
static apps_vm *vm_get(h2o_req_t *req, node *n, const char *appid, const cid *root)
{
    apps_vm **p = &vms, *found = NULL;
    size_t count = 0;
    while (*p) {
        apps_vm *vm = *p;
        if (!strcmp(vm->ctx.appid, appid)) {
            if (cid_equal(&vm->ctx.root, root) && !(vm->sb && sandbox_spent(vm->sb))) {
                found = vm;
            } else { /* superseded, or spent by a limit breach */
                *p = vm->next;
                vm_release(vm);
                continue;
            }
        }
        count++;
        p = &vm->next;
    }
    if (!found) {
        json_t *info = app_info(req, n, appid);
        if (!info)
            return NULL;
        if (count >= VMS_PER_THREAD) { /* evict the least recently used */
            apps_vm **oldest = &vms;
            for (p = &vms; *p; p = &(*p)->next)
                if ((*p)->used < (*oldest)->used)
                    oldest = p;
            apps_vm *gone = *oldest;
            *oldest = gone->next;
            vm_release(gone);
        }
        found = vm_new(n, appid, info, root);
        json_decref(info);
        if (!vms) {
            pthread_once(&vms_once, make_vms_key);
            pthread_setspecific(vms_key, &vms);
        }
        found->next = vms;
        vms = found;
    }
    found->used = ++use_clock;
    return found;
}

/* --- requests -------------------------------------------------------------------- */

/* Percent-decodes s in place ('+' is a space only in query strings). -1 on
 * a bad escape or %00, which would cut the string short. */
static int decode_pct(char *s, int plus_is_space)
{
    size_t n = strlen(s);
    return http_pct_decode(s, n + 1, s, n, plus_is_space) < 0 ? -1 : 0;
}

/* Rewrites a decoded path in place as the segments it names, without a
 * leading slash: empty and "." segments dropped, ".." removing the one
 * before, a trailing slash kept. NULL when ".." climbs above the root. */
static char *normalize_path(char *path)
{
    size_t n = strlen(path);
    int trailing = n && path[n - 1] == '/';
    char *out = malloc(n + 1), *w = out;
    for (const char *seg = path; *seg;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            if (w == out) {
                free(out);
                return NULL;
            }
            for (w--; w > out && w[-1] != '/';) /* back over "name/" */
                w--;
        } else if (len && !(len == 1 && seg[0] == '.')) {
            memcpy(w, seg, len);
            w += len;
            *w++ = '/';
        }
        seg += len + (end ? 1 : 0);
    }
    if (w > out && !trailing)
        w--;
    *w = '\0';
    memcpy(path, out, (size_t)(w - out) + 1); /* never longer than the path */
    free(out);
    return path;
}

/* req.query: name = value (the last of repeated names), decoded. */
static void push_query(lua_State *L, h2o_req_t *req)
{
    lua_newtable(L);
    if (req->query_at == SIZE_MAX)
        return;
    /* the copy strtok_r cuts is a userdata: no C memory to free if a push fails */
    size_t qlen = req->path.len - req->query_at - 1;
    char *q = lua_newuserdatauv(L, qlen + 1, 0), *save = NULL;
    memcpy(q, req->path.base + req->query_at + 1, qlen);
    q[qlen] = '\0';
    for (char *pair = strtok_r(q, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq = '\0';
        if (decode_pct(pair, 1) != 0 || (eq && decode_pct(eq + 1, 1) != 0))
            continue;
        lua_pushstring(L, eq ? eq + 1 : "");
        lua_setfield(L, -3, pair);
    }
    lua_pop(L, 1);
}

/* The request table the router gets (lua/README.md). */
static void push_request(lua_State *L, h2o_req_t *req, const apps_vm *vm, const char *path)
{
    lua_createtable(L, 0, 9);
    lua_pushlstring(L, req->method.base, req->method.len);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, path);
    lua_setfield(L, -2, "path");
    push_query(L, req);
    lua_setfield(L, -2, "query");
    lua_createtable(L, 0, (int)req->headers.size);
    for (size_t i = 0; i < req->headers.size; i++) {
        h2o_header_t *h = &req->headers.entries[i];
        char name[128];
        size_t nl = h->name->len < sizeof name - 1 ? h->name->len : sizeof name - 1;
        for (size_t k = 0; k < nl; k++) /* HTTP/1 names as sent: lower-case them */
            name[k] = (char)((h->name->base[k] >= 'A' && h->name->base[k] <= 'Z') ? h->name->base[k] + 32
                                                                                   : h->name->base[k]);
        name[nl] = '\0';
        lua_getfield(L, -1, name);
        if (lua_isstring(L, -1)) { /* repeated: joined as one value, as HTTP allows */
            lua_pushstring(L, ", ");
            lua_pushlstring(L, h->value.base, h->value.len);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushlstring(L, h->value.base, h->value.len);
        }
        lua_setfield(L, -2, name);
    }
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, req->entity.base ? req->entity.base : "", req->entity.base ? req->entity.len : 0);
    lua_setfield(L, -2, "body");
    if (vm->ctx.user[0]) {
        lua_pushstring(L, vm->ctx.user);
        lua_setfield(L, -2, "user");
    }
    lua_pushstring(L, vm->ctx.appid);
    lua_setfield(L, -2, "app");
    lua_pushstring(L, vm->version);
    lua_setfield(L, -2, "version");
}

/* The API's error shape, with the breached limit ("Limit") when there is one. */
static int reply_json_error(h2o_req_t *req, int status, const char *msg, const char *limit)
{
    json_t *doc = http_error_json(msg);
    if (limit)
        json_object_set_new(doc, "Limit", json_string(limit));
    return http_reply_json(req, status, doc);
}

/* Which limit a SANDBOX_LIMIT message names. */
static const char *limit_kind(const char *msg)
{
    if (strstr(msg, "memory"))
        return "memory";
    if (strstr(msg, "wall"))
        return "wall_ms";
    return "instructions";
}

/* A Set-Cookie value with a Domain attribute: it would reach the other
 * apps' origins below the same name (ID.app.HOST). */
static int cookie_has_domain(const char *value, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (value[i] != ';')
            continue;
        size_t k = i + 1;
        while (k < len && value[k] == ' ')
            k++;
        if (len - k >= 6 && !strncasecmp(value + k, "domain", 6)) {
            k += 6;
            while (k < len && value[k] == ' ')
                k++;
            if (k < len && value[k] == '=')
                return 1;
        }
    }
    return 0;
}

/* Sends what the router returned: status, headers (array of {name, value}),
 * body, log. Pops them. */
static int send_result(h2o_req_t *req, lua_State *L, const apps_vm *vm)
{
    int base = lua_gettop(L) - 3;
    lua_Integer status = lua_tointeger(L, base);
    if (status < 100 || status > 599)
        status = 500;
    if (lua_isstring(L, base + 3))
        luaapi_log_trace(vm->ctx.appid, "", lua_tostring(L, base + 3));
    req->res.status = (int)status;
    req->res.reason = http_reason((int)status);
    int has_type = 0;
    if (lua_istable(L, base + 1)) {
        lua_Integer nh = (lua_Integer)lua_rawlen(L, base + 1);
        for (lua_Integer i = 1; i <= nh; i++) {
            lua_rawgeti(L, base + 1, i);
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            size_t nl, vl;
            const char *name = lua_tolstring(L, -2, &nl), *value = lua_tolstring(L, -1, &vl);
            if (name && value && nl && !memchr(value, '\n', vl) && !memchr(value, '\r', vl) &&
                !strpbrk(name, " :\r\n")) {
                if (!strcasecmp(name, "content-type"))
                    has_type = 1;
                if (!strcasecmp(name, "set-cookie") && cookie_has_domain(value, vl))
                    log_line(LOG_LEVEL_WARN, LOG_FIELDS("app", vm->ctx.appid),
                             "app %s: a cookie with a Domain is not sent: an app's cookies stay on its origin",
                             vm->ctx.appid);
                else if (strcasecmp(name, "content-length"))
                    h2o_add_header_by_str(&req->pool, &req->res.headers, h2o_strdup(&req->pool, name, nl).base, nl, 1,
                                          NULL, h2o_strdup(&req->pool, value, vl).base, vl);
            }
            lua_pop(L, 3);
        }
    }
    size_t len = 0;
    const char *body = lua_tolstring(L, base + 2, &len);
    if (!body)
        body = "", len = 0;
    if (!has_type && len)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("text/html; charset=utf-8"));
    h2o_iovec_t copy = h2o_strdup(&req->pool, body, len);
    lua_settop(L, base - 1);
    req->res.content_length = len;
    h2o_send_inline(req, copy.base, copy.len);
    return 0;
}

/* Calls app.<fn>(args...) (pushed by push_args) in the app's state. Returns
 * 1 with the response sent, 0 when the router had no match (nothing sent),
 * or sends the error. */
/* A call of the router (app._dispatch or app._render). Its arguments, the
 * lookup of the function and the checks of what it returns all run inside
 * sandbox_call: an 8 MiB body over the app's memory limit, an `app` table
 * with an __index that loops, or headers that are not tables end in the
 * app's 500, never in an unprotected Lua error (a panic: the node gone). */
typedef struct {
    const char *fn;
    h2o_req_t *req;
    const apps_vm *vm;
    const char *path;
    void (*push_first)(lua_State *L, const void *arg); /* an argument before the request, or NULL */
    const void *arg;
} router_call;

/* results[idx] as a string, or nil: numbers converted here, under protection */
static void keep_string(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TNUMBER)
        lua_tolstring(L, idx, NULL);
    else if (lua_type(L, idx) != LUA_TSTRING) {
        lua_pushnil(L);
        lua_replace(L, idx);
    }
}

static int router_finish(lua_State *L, int status, lua_KContext unused);

static int router_entry(lua_State *L)
{
    const router_call *c = lua_touserdata(L, 1);
    lua_settop(L, 0);
    if (lua_getglobal(L, "app") != LUA_TTABLE)
        return luaL_error(L, "the app replaced its global 'app'");
    lua_getfield(L, 1, c->fn);
    lua_remove(L, 1);
    int nargs = 1;
    if (c->push_first) {
        c->push_first(L, c->arg);
        nargs++;
    }
    push_request(L, c->req, c->vm, c->path);
    lua_callk(L, nargs, 4, 0, router_finish); /* the route may wait for the database (a yield) */
    return router_finish(L, LUA_OK, 0);
}

/* After the route: status, headers ({name, value} pairs of strings), body, log. */
static int router_finish(lua_State *L, int status, lua_KContext unused)
{
    (void)status, (void)unused;
    keep_string(L, 3);
    keep_string(L, 4);
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, 2), kept = 0;
        lua_createtable(L, n > 64 ? 64 : (int)n, 0); /* 5 */
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_rawgeti(L, 2, i) == LUA_TTABLE) {
                lua_createtable(L, 2, 0);
                lua_rawgeti(L, -2, 1);
                keep_string(L, -1);
                lua_rawseti(L, -2, 1);
                lua_rawgeti(L, -2, 2);
                keep_string(L, -1);
                lua_rawseti(L, -2, 2);
                lua_rawseti(L, 5, ++kept);
            }
            lua_pop(L, 1);
        }
        lua_replace(L, 2);
    } else {
        lua_pushnil(L);
        lua_replace(L, 2);
    }
    return 4;
}

/* The request's signer (checked once: a signature is good for one use),
 * "" when unsigned, into vm->ctx.user. */
static void take_user(apps_vm *vm, const char *reader)
{
    snprintf(vm->ctx.user, sizeof vm->ctx.user, "%s", reader);
}

/* A request running app code: a coroutine of the app's state, with its
 * own budget. A database call suspends it (lua_api.c yields) while the
 * worker serves other requests, other requests of the same app included,
 * each in a coroutine of its own; the answer resumes it. In the request's
 * pool: the client gone, its call is given up and its coroutine dropped. */
typedef struct {
    h2o_req_t *req;
    node *n;
    apps_vm *vm;
    lua_State *co; /* NULL once finished */
    int co_ref;    /* keeps co alive in the registry */
    sandbox_budget budget;
    char user[IDS_LID_LEN + 1];
    resp_pending *pending;
    /* when no route matches: the static files (tpt), or a 400 (render) */
    int render;
    cid root;
    const char *static_path; /* decoded, in the pool */
} app_request;

static int serve_static(h2o_req_t *req, node *n, const char *appid, const cid *root, char *path);

/* A thread of the state for a request, kept in the registry. */
static int new_request_thread(lua_State *L)
{
    lua_newthread(L);
    lua_pushvalue(L, -1);
    lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
    return 2;
}

static void request_end(app_request *rq)
{
    apps_vm *vm = rq->vm;
    if (rq->co) {
        luaL_unref(sandbox_lua(vm->sb), LUA_REGISTRYINDEX, rq->co_ref); /* its slot exists: no allocation */
        rq->co = NULL;
        if (--vm->busy == 0 && vm->dropped)
            vm_free(vm);
    }
}

static void request_dispose(void *arg)
{
    app_request *rq = arg;
    if (rq->pending)
        resp_call_cancel(rq->pending);
    rq->pending = NULL;
    request_end(rq);
}

static void resume_request(app_request *rq, int nargs, redisReply *answer);

static void on_db_answer(void *arg, redisReply *reply)
{
    app_request *rq = arg;
    rq->pending = NULL;
    resume_request(rq, 0, reply);
    freeReplyObject(reply);
}

/* Runs the request's coroutine until it ends or waits for the database,
 * then answers the request if it ended. */
static void resume_request(app_request *rq, int nargs, redisReply *answer)
{
    apps_vm *vm = rq->vm;
    h2o_req_t *req = rq->req;
    char err[512], trace[8192];
    int nres;
    take_user(vm, rq->user);
    vm->ctx.co = rq->co;
    vm->ctx.loop = req->conn->ctx->loop;
    vm->ctx.on_answer = on_db_answer;
    vm->ctx.request = rq;
    vm->ctx.pending = NULL;
    vm->ctx.answer = answer;
    enum sandbox_status st = sandbox_resume(vm->sb, rq->co, &rq->budget, nargs, &nres, err, sizeof err, trace, sizeof trace);
    vm->ctx.co = NULL;
    vm->ctx.answer = NULL;
    if (st == SANDBOX_YIELD) {
        lua_pop(rq->co, nres);
        if (vm->ctx.pending) { /* waits for the database */
            rq->pending = vm->ctx.pending;
            vm->ctx.pending = NULL;
            return;
        }
        st = SANDBOX_ERROR; /* app code yielded outside a coroutine of its own */
        snprintf(err, sizeof err, "attempt to yield from outside a coroutine");
        snprintf(trace, sizeof trace, "%s", err);
    }
    if (st == SANDBOX_LIMIT) {
        log_line(LOG_LEVEL_WARN, LOG_FIELDS("app", vm->ctx.appid, "limit", limit_kind(err)), "app %s stopped: %s",
                 vm->ctx.appid, err);
        metrics_lua_breach(limit_kind(err));
        reply_json_error(req, 500, err, limit_kind(err));
    } else if (st == SANDBOX_ERROR) {
        luaapi_log_trace(vm->ctx.appid, " failed", trace[0] ? trace : err);
        reply_json_error(req, 500, err, NULL);
    } else if (nres != 4 || lua_isnil(rq->co, -4)) { /* no route matched */
        lua_settop(rq->co, 0);
        if (rq->render)
            http_reply_error(req, 400, "app %s does not render MiMei (no app.render in its server code)", vm->ctx.appid);
        else
            serve_static(req, rq->n, vm->ctx.appid, &rq->root, (char *)rq->static_path);
    } else {
        send_result(req, rq->co, vm);
    }
    request_end(rq);
}

/* Starts the router (app._dispatch or app._render) for req in a coroutine
 * of its own; answers req now or when its database calls are answered. */
static void start_request(h2o_req_t *req, node *n, apps_vm *vm, const char *reader, const router_call *call,
                          const cid *root, const char *static_path)
{
    lua_State *L = sandbox_lua(vm->sb);
    char err[512];
    lua_pushcfunction(L, new_request_thread);
    enum sandbox_status st = sandbox_call(vm->sb, 0, 2, err, sizeof err, NULL, 0);
    if (st != SANDBOX_OK) {
        if (st == SANDBOX_LIMIT)
            metrics_lua_breach(limit_kind(err));
        reply_json_error(req, 500, err, st == SANDBOX_LIMIT ? limit_kind(err) : NULL);
        return;
    }
    app_request *rq = h2o_mem_alloc_shared(&req->pool, sizeof *rq, request_dispose);
    memset(rq, 0, sizeof *rq);
    rq->req = req;
    rq->n = n;
    rq->vm = vm;
    rq->co = lua_tothread(L, -2);
    rq->co_ref = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);
    vm->busy++;
    sandbox_budget_init(vm->sb, &rq->budget);
    snprintf(rq->user, sizeof rq->user, "%s", reader);
    rq->render = call->push_first != NULL;
    if (root)
        rq->root = *root;
    rq->static_path = static_path ? h2o_strdup(&req->pool, static_path, SIZE_MAX).base : NULL;
    /* the call's arguments are read on this first run only */
    lua_pushcfunction(rq->co, router_entry);
    lua_pushlightuserdata(rq->co, (void *)call);
    resume_request(rq, 1, NULL);
}

/* The version an app request serves: cur, else the newest backup. */
static int app_root(node *n, const char *appid, cid *root, char *err, size_t errlen)
{
    MDB_txn *txn = bs_begin(n->bs, 0, err, errlen);
    if (!txn)
        return -1;
    int found = files_get(n->bs, txn, appid, FILES_CUR, root);
    if (!found) {
        uint32_t last = files_last(n->bs, txn, appid);
        found = last && files_get(n->bs, txn, appid, last, root);
    }
    mdb_txn_abort(txn);
    if (!found)
        snprintf(err, errlen, "app %s has no content yet: upload it with lapp uploadapp", appid);
    return found ? 0 : -1;
}

/* The app's info record, checked to be an app. NULL after replying. */
static json_t *app_info(h2o_req_t *req, node *n, const char *appid)
{
    char *text = NULL;
    if (!ids_is_leither_id(appid) || !db_mimei_get(n->db, appid, &text, NULL)) {
        http_reply_error(req, 404, "no app %s on this node", appid);
        return NULL;
    }
    json_t *info = json_loads(text, 0, NULL);
    free(text);
    if (!info || strcmp(mimei_str(info, "AppType"), "app")) {
        http_reply_error(req, 404, "%s is not an app", appid);
        json_decref(info);
        return NULL;
    }
    return info;
}


int apps_on_tpt(h2o_req_t *req, node *n)
{
    size_t plen = req->query_at == SIZE_MAX ? req->path.len : req->query_at;
    static const char prefix[] = "/tpt/";
    if (plen < sizeof prefix - 1 + IDS_LID_LEN || memcmp(req->path.base, prefix, sizeof prefix - 1))
        return http_reply_error(req, 400, "ask for /tpt/APPID/");
    char appid[IDS_LID_LEN + 1];
    memcpy(appid, req->path.base + sizeof prefix - 1, IDS_LID_LEN);
    appid[IDS_LID_LEN] = '\0';
    const char *rest = req->path.base + sizeof prefix - 1 + IDS_LID_LEN;
    size_t restlen = plen - (sizeof prefix - 1 + IDS_LID_LEN);
    if (restlen && rest[0] != '/')
        return http_reply_error(req, 404, "no app %.*s on this node", (int)(restlen > 40 ? 40 : restlen) + IDS_LID_LEN,
                               appid);
    /* the router gets the path as sent (it decodes parameters itself); static files the decoded one */
    char *raw = restlen ? strndup(rest, restlen) : strdup("/"), *path = strdup(raw);
    if (decode_pct(path, 0) != 0) {
        free(path), free(raw);
        return http_reply_error(req, 400, "invalid path: bad percent-encoding");
    }
    cid root;
    char err[512], reader[IDS_LID_LEN + 1] = "";
    apps_vm *vm = NULL;
    if (http_reader(req, n, reader) != 0) {
        free(path), free(raw);
        return 0;
    }
    json_t *app = node_mimei_info(n, appid); /* a private app: its readers only (mimei_may_read) */
    int hidden = app && !node_may_read(n, app, reader);
    json_decref(app);
    if (hidden) {
        free(path), free(raw);
        return http_reply_unreadable(req, appid, reader);
    }
    if (app_root(n, appid, &root, err, sizeof err) != 0) {
        json_t *info = app_info(req, n, appid); /* no app at all says more than no content */
        if (info)
            http_reply_error(req, 404, "%s", err);
        json_decref(info);
    } else {
        vm = vm_get(req, n, appid, &root);
    }
    if (!vm) {
        free(path), free(raw);
        return 0;
    }
    int rc = 0;
    if (vm->error[0]) {
        /* its Lua did not load: its files are still served, the rest (its
         * routes) answers why; a bad manifest (an entry outside server/,
         * which would be served as a file) answers why for every path */
        char *file = strdup(path);
        const char *p = vm->serves_files ? normalize_path(file) : NULL;
        cid found;
        ufs_stat st;
        if (p && ufs_resolve(n->bs, NULL, &root, p, &found, &st, err, sizeof err) == STORE_OK)
            rc = serve_static(req, n, appid, &root, path);
        else
            reply_json_error(req, 500, vm->error, NULL);
        free(file);
    } else if (vm->sb) { /* the routes, then (maybe later) the static files */
        router_call call = {"_dispatch", req, vm, raw, NULL, NULL};
        start_request(req, n, vm, reader, &call, &root, path);
    } else {
        rc = serve_static(req, n, appid, &root, path);
    }
    free(path), free(raw);
    return rc;
}

/* The app's static file at path (decoded; normalized here, in place). */
static int serve_static(h2o_req_t *req, node *n, const char *appid, const cid *root, char *path)
{
    /* the server code and hidden files are not served, however the path
     * spells them ("//server", "./server", "%2F") */
    const char *p = normalize_path(path);
    if (!p || !strcmp(p, "server") || !strncmp(p, "server/", 7) || p[0] == '.' || strstr(p, "/."))
        return http_reply_error(req, 404, "no such file in app %s", appid);
    if (!http_is_method(req, "GET") && !http_is_method(req, "HEAD"))
        return http_reply_error(req, 405, "no route for %.*s %s", (int)req->method.len, req->method.base, path);
    char id[CID_TEXT_MAX];
    /* served sandboxed (a path form): the page's origin is opaque, so its own
     * module scripts are cross-origin loads; the app's files are public code */
    if (origins_of(req, id, sizeof id, NULL) == ORIGIN_NODE)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, H2O_STRLIT("*"));
    return gateway_serve(req, n, root, p);
}

/* The mimei table app.render gets (lua/README.md). */
typedef struct {
    const json_t *info;
    const char *path;
    uint32_t ver;
    const char *cid, *type, *name;
    uint64_t size;
} render_args;

static void push_mimei(lua_State *L, const void *arg)
{
    const render_args *m = arg;
    lua_createtable(L, 0, 8);
    lua_pushstring(L, mimei_str(m->info, "ID"));
    lua_setfield(L, -2, "id");
    luaapi_push_json(L, m->info);
    lua_setfield(L, -2, "info");
    lua_pushstring(L, m->path);
    lua_setfield(L, -2, "path");
    if (m->ver) {
        lua_pushinteger(L, m->ver);
        lua_setfield(L, -2, "ver");
    }
    lua_pushstring(L, m->cid);
    lua_setfield(L, -2, "cid");
    lua_pushlstring(L, m->type, strcspn(m->type, ";")); /* "text/plain", without "; charset=..." */
    lua_setfield(L, -2, "type");
    lua_pushstring(L, m->name);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, (lua_Integer)m->size);
    lua_setfield(L, -2, "size");
}

int apps_render(h2o_req_t *req, node *n, const json_t *info, const char *appid, uint32_t ver, const cid *root,
                const char *path, const char *reader)
{
    cid app_version, target;
    char err[512], text[CID_TEXT_MAX];
    if (app_root(n, appid, &app_version, err, sizeof err) != 0) {
        json_t *app = app_info(req, n, appid);
        if (app)
            http_reply_error(req, 404, "%s", err);
        json_decref(app);
        return 0;
    }
    apps_vm *vm = vm_get(req, n, appid, &app_version);
    if (!vm)
        return 0;
    if (vm->error[0])
        return reply_json_error(req, 500, vm->error, NULL);
    if (!vm->sb)
        return http_reply_error(req, 400, "app %s has no server code, so it renders nothing", appid);
    ufs_stat st;
    int rc = ufs_resolve(n->bs, NULL, root, path, &target, &st, err, sizeof err);
    if (rc != STORE_OK)
        return http_reply_error(req, http_status_of_store(rc), "%s", err);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    /* a file MiMei's own content has no name: its Ext (--ext md) types it */
    char by_ext[80];
    const char *ext = mimei_str(info, "Ext");
    snprintf(by_ext, sizeof by_ext, "content%s%.60s", ext[0] == '.' ? "" : ".", ext);
    const char *type = st.type == UFS_DIRECTORY || st.type == UFS_HAMT
                           ? "folder"
                           : gateway_file_type(req, n, &target, st.size, !name[0] && ext[0] ? by_ext : name);
    if (!type)
        return http_reply_error(req, 502, "cannot read %s", path);
    cid_format(&target, text);
    render_args args = {info, path, ver, text, type, name, st.size};
    router_call call = {"_render", req, vm, path[0] ? path : "/", push_mimei, &args};
    start_request(req, n, vm, reader, &call, NULL, NULL);
    return 0;
}

/* GET /sdk/leither.js */
int apps_on_sdk(h2o_req_t *req, node *n)
{
    (void)n;
    size_t len;
    const char *js = embedded_file("sdk/js/leither.js", &len);
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/sdk/leither.js")) || !js)
        return http_reply_error(req, 404, "the SDK is at /sdk/leither.js");
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/javascript; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    /* the same public code on every node: any origin may import it */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, H2O_STRLIT("*"));
    h2o_send_inline(req, js, len);
    return 0;
}

static void free_thread_vms(void *unused)
{
    (void)unused;
    while (vms) {
        apps_vm *vm = vms;
        vms = vm->next;
        vm_free(vm);
    }
}
