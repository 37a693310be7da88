/*
 * lapp: the app commands. An app is a folder (apps/README.md) kept in a file
 * MiMei of AppType "app" whose ID follows from its author and name
 * (mimei_app_id), so `lapp uploadapp -i NAME` with the same key always
 * updates the same app.
 *
 *   lapp new NAME          a folder to start from: manifest, page, server code
 *   lapp uploadapp -i NAME checks the folder (manifest.json, every
 *                          server/ .lua compiles), adds it to the node as
 *                          `ipfs add -r` does (without spec/ and dotfiles),
 *                          makes the app MiMei (and its database MiMei when
 *                          the manifest asks) on the first upload, and sets
 *                          the app's cur to the folder; the node checks the
 *                          folder again (api_mimei.c): it is the check that
 *                          counts
 *   lapp backup -a APP     freezes cur as the next version
 *   lapp showapp -a APP    info, a version's files, the versions
 *
 * -n HOST:PORT talks to that node (its HTTP API port; the node says its
 * databases' port) instead of the home's; -n NODE_ID to the node of that
 * Leither ID, found through the DHT by the home's node (dht/findpeer).
 */
#include "cli.h"
#include "mimei.h"
#include "sandbox.h"
#include "embedded.h"
#include "node.h"
#include "http.h"
#include "sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SOURCE_MAX (4u << 20) /* the node refuses larger .lua files too */
#define DEPTH_MAX 32

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}
static long long jint(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

/* --- the node and the key --------------------------------------------------- */

typedef struct {
    home h;
    int home_loaded;  /* h is the command's home (else defaults) */
    char host[256];   /* -n: the node's host */
    int have_key;
    ids_key key;
    char author[IDS_LID_LEN + 1]; /* the key's Leither ID */
} target;

/* "HOST:PORT" or "[V6]:PORT" (an http:// in front is fine) into host, port. */
static int parse_node(const char *spec, char *host, size_t cap, int *port)
{
    if (!strncmp(spec, "http://", 7))
        spec += 7;
    const char *colon = strrchr(spec, ':');
    size_t hl = colon ? (size_t)(colon - spec) : 0;
    const char *h = spec;
    if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']')
        h++, hl -= 2;
    else if (colon && memchr(spec, ':', hl))
        hl = 0; /* an IPv6 address needs brackets */
    char *end;
    long p = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || !hl || hl >= cap || colon[1] == '\0' || *end || p < 1 || p > 65534)
        return cli_fail("-n needs HOST:PORT (the node's HTTP API, e.g. 127.0.0.1:4800), not '%s'", spec);
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

/* A lookup in the DHT takes a moment: findpeer answers 404 until it ends. */
#define FINDPEER_TRIES 50
#define FINDPEER_PAUSE_US 200000

/* The base URL of node id (a Leither ID), as the node of home h finds it
 * in the DHT: its signed record's first usable address (sync_base_url). */
static int find_node(const home *h, const char *id, char *base, size_t cap)
{
    char path[128], err[512];
    snprintf(path, sizeof path, "/api/v0/dht/findpeer?arg=%s", id);
    for (int i = 0;; i++) {
        json_t *reply = NULL;
        int status = cli_call(h, NULL, "GET", path, &reply, err, sizeof err);
        if (status == 200) {
            int rc = sync_base_url(json_object_get(reply, "Addrs"), base, cap);
            json_decref(reply);
            return rc == 0 ? 0 : cli_fail("-n %s: the node's record has no HTTP address to reach it at", id);
        }
        json_decref(reply);
        if (status != 404)
            return cli_fail("-n %s: finding the node: %s", id, err);
        if (i + 1 == FINDPEER_TRIES)
            return cli_fail("-n %s: no node of that ID found in the DHT (%s)", id, err);
        usleep(FINDPEER_PAUSE_US);
    }
}

/* The node the command talks to (the home's, or -n) and, with need_key, the
 * key it signs with (-k, else the home's node key). Prints the error. */
static int open_target(const cli_args *a, target *t, int need_key)
{
    memset(t, 0, sizeof *t);
    char dir[PATH_MAX], err[PATH_MAX + 256];
    if (!a->node) {
        if (cli_load_home(a, &t->h))
            return 1;
        t->home_loaded = 1;
    } else {
        int port = 0, by_id = ids_is_leither_id(a->node);
        char base[128];
        if (by_id) { /* the home's node looks it up */
            if (cli_load_home(a, &t->h))
                return 1;
            t->home_loaded = 1;
            int rc = find_node(&t->h, a->node, base, sizeof base);
            if (!rc)
                rc = parse_node(base, t->host, sizeof t->host, &port);
            if (rc) {
                home_free(&t->h);
                return 1;
            }
        } else if (parse_node(a->node, t->host, sizeof t->host, &port))
            return 1;
        /* the home, when there is one, for its node key */
        else if (home_resolve(dir, sizeof dir, a->home, err, sizeof err) == 0 &&
                 home_load(&t->h, dir, err, sizeof err) == 0)
            t->home_loaded = 1;
        else
            home_defaults(&t->h, dir);
        t->h.listen = t->host;
        t->h.port = port;
        /* its databases' port, as the node tells it (a node from before
         * DbPort was reported: the next port, the default layout) */
        json_t *status = NULL;
        t->h.db_port = port + 1;
        int answered = cli_call(&t->h, NULL, "GET", "/api/v0/node/status", &status, err, sizeof err) == 200;
        if (answered && json_is_integer(json_object_get(status, "DbPort")))
            t->h.db_port = (int)json_integer_value(json_object_get(status, "DbPort"));
        /* the record is signed, but the address may now be another node's */
        const char *found = answered ? json_string_value(json_object_get(status, "ID")) : NULL;
        if (by_id && found && strcmp(found, a->node)) {
            json_decref(status);
            home_free(&t->h);
            return cli_fail("-n %s: the node at %s:%d is %s, not it", a->node, t->host, port, found);
        }
        json_decref(status);
    }
    if (!need_key)
        return 0;
    if (!a->key && !t->home_loaded) {
        home_free(&t->h);
        return cli_fail("no key to sign with: give -k KEYFILE (or --home DIR of a node)");
    }
    if (cli_load_key(a, &t->h, &t->key)) {
        home_free(&t->h);
        return 1;
    }
    t->have_key = 1;
    ids_leither_id(t->author, t->key.pk);
    return 0;
}

static void close_target(target *t) { home_free(&t->h); }

/* One API call: prints the error; the HTTP status (200), or -1. A status in
 * quiet (e.g. 404) is returned without printing. */
static int api(target *t, int sign, const char *method, const char *path, json_t **reply, int quiet)
{
    char err[4608];
    /* reads are signed too when there is a key: private MiMei answer their readers only */
    int status = cli_call(&t->h, sign || t->have_key ? &t->key : NULL, method, path, reply, err, sizeof err);
    if (status == 200 || (quiet && status == quiet))
        return status;
    json_decref(*reply);
    *reply = NULL;
    cli_fail("%s", err);
    return -1;
}

/* An app name: what may be a folder name and a URL segment. */
static int check_name(const char *name)
{
    size_t n = strlen(name);
    if (!n || n > 100 || name[0] == '.' || name[0] == '-' || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                         "0123456789._-") != n)
        return cli_fail("'%s' is not an app name: letters, digits, '.', '_' and '-' (up to 100), not starting "
                        "with '.' or '-'",
                        name);
    return 0;
}

/* -a NAME|APPID into an app ID: an ID as it is, a name as the key's app. */
static int app_id_of(const cli_args *a, target *t, char id[IDS_LID_LEN + 1])
{
    if (!a->app || !*a->app)
        return cli_fail("-a NAME|APPID is missing");
    if (ids_is_leither_id(a->app)) {
        snprintf(id, IDS_LID_LEN + 1, "%s", a->app);
        return 0;
    }
    if (check_name(a->app))
        return 1;
    if (!t->have_key)
        return cli_fail("the app name %s needs its author's key: give -k KEYFILE (or the app's ID)", a->app);
    mimei_app_id(id, t->author, a->app);
    return 0;
}

/* The folder of the app folders: -d, else the home's apps/. */
static int apps_dir(const cli_args *a, const target *t, char *out, size_t cap)
{
    if (a->dir) {
        snprintf(out, cap, "%s", a->dir);
        return 0;
    }
    if (!t->home_loaded)
        return cli_fail("no home to find apps/ in: give -d DIR (or --home DIR)");
    home_path(&t->h, out, cap, "apps");
    return 0;
}

/* --- lapp new --------------------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wx");
    if (!f)
        return cli_fail("cannot create %s: %s", path, strerror(errno));
    int bad = fputs(text, f) < 0;
    if (fclose(f) != 0 || bad)
        return cli_fail("writing %s: %s", path, strerror(errno));
    return 0;
}

static const char page[] =
    "<!doctype html>\n"
    "<html>\n"
    "<head><meta charset=\"utf-8\"><title>%s</title></head>\n"
    "<body>\n"
    "<h1>%s</h1>\n"
    "<pre id=\"out\">...</pre>\n"
    "<script>\n"
    "// relative: the app is served at /tpt/APPID/\n"
    "fetch(\"api/hello\").then(r => r.json()).then(j => {\n"
    "  document.getElementById(\"out\").textContent = JSON.stringify(j);\n"
    "});\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

static const char main_lua[] = "-- the server side of the app: routes (see lua/README.md)\n"
                               "app.get(\"/api/hello\", function(req)\n"
                               "  return { hello = \"world\" }\n"
                               "end)\n";

int cmd_lapp_new(const cli_args *a)
{
    const char *name = a->args[0];
    if (check_name(name))
        return 1;
    char dir[PATH_MAX];
    if (a->dir)
        snprintf(dir, sizeof dir, "%s", a->dir);
    else {
        home h;
        if (cli_load_home(a, &h))
            return 1;
        home_path(&h, dir, sizeof dir, "apps");
        home_free(&h);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return cli_fail("cannot create %s: %s", dir, strerror(errno));
    }
    char root[PATH_MAX + 128], path[PATH_MAX + 256];
    snprintf(root, sizeof root, "%s/%s", dir, name);
    if (mkdir(root, 0755) != 0)
        return errno == EEXIST ? cli_fail("%s exists: lapp new makes a new app folder only", root)
                               : cli_fail("cannot create %s: %s", root, strerror(errno));
    json_t *manifest = json_pack("{s:s,s:s,s:s,s:b}", "name", name, "description", "", "entry", "server/main.lua",
                                 "database", 0);
    char *mtext = json_dumps(manifest, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(manifest);
    char *html = NULL;
    int rc = asprintf(&html, page, name, name) < 0 ? cli_fail("out of memory") : 0;
    size_t ml = strlen(mtext);
    mtext = realloc(mtext, ml + 2);
    strcpy(mtext + ml, "\n");
    snprintf(path, sizeof path, "%s/manifest.json", root);
    rc = rc || write_file(path, mtext);
    snprintf(path, sizeof path, "%s/index.html", root);
    rc = rc || write_file(path, html);
    snprintf(path, sizeof path, "%s/server", root);
    if (!rc && mkdir(path, 0755) != 0)
        rc = cli_fail("cannot create %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/server/main.lua", root);
    rc = rc || write_file(path, main_lua);
    free(mtext);
    free(html);
    if (rc)
        return rc;
    if (a->json)
        return cli_print_json(json_pack("{s:s,s:s,s:[sss]}", "Name", name, "Dir", root, "Files", "manifest.json",
                                        "index.html", "server/main.lua"));
    printf("lapp new %s\n  %s/manifest.json\n  %s/index.html\n  %s/server/main.lua\n", name, root, root, root);
    printf("next: lapp uploadapp -i %s%s%s\nlapp new ok\n", name, a->dir ? " -d " : "", a->dir ? a->dir : "");
    return 0;
}

/* --- the app folder: checks, import ------------------------------------------ */

typedef struct {
    int import; /* 0: the checks only; 1: blocks to the node */
    import_opts o;
    cli_uploader *up;
} walk;

/* The entries an app upload takes: no dotfiles, no top-level spec/. */
static int keep_top(void *arg, const char *name) { return (void)arg, name[0] != '.' && strcmp(name, "spec"); }
static int keep_below(void *arg, const char *name) { return (void)arg, name[0] != '.'; }

/* A require of a module the app does not have fails when the app loads:
 * refused here instead, with the file, line and name. */
typedef struct {
    const char *folder; /* the app's folder, with its trailing slash */
    size_t folder_len;
    const char *rel;
} require_check;

static int check_require(void *arg, const char *name, int line)
{
    const require_check *c = arg;
    char module[320], path[PATH_MAX + 320];
    size_t len;
    struct stat st;
    if (sandbox_module_path(name, module, sizeof module) != 0)
        return cli_fail("%s:%d: %s", c->rel, line, module);
    if (!strncmp(module, "lua/", 4))
        return embedded_file(module, &len)
                   ? 0
                   : cli_fail("%s:%d: require \"%s\": the node's library has no such module", c->rel, line, name);
    snprintf(path, sizeof path, "%.*s%s", (int)c->folder_len, c->folder, module);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return cli_fail("%s:%d: require \"%s\": the app has no %s", c->rel, line, name, module);
    return 0;
}

/* Checks a server/ .lua file as the node will, and that what it requires
 * is there. */
static int check_source(const char *path, const char *rel)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_fail("cannot open %s: %s", path, strerror(errno));
    char *src = malloc(SOURCE_MAX + 1);
    size_t len = src ? fread(src, 1, SOURCE_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    char err[4608];
    int rc = 0;
    if (!src)
        rc = cli_fail("out of memory");
    else if (bad)
        rc = cli_fail("reading %s failed", path);
    else if (len > SOURCE_MAX)
        rc = cli_fail("%s: larger than %u MB", rel, SOURCE_MAX >> 20);
    else if (sandbox_check_syntax(src, len, rel, err, sizeof err) != 0)
        rc = cli_fail("%s", err);
    else {
        require_check c = {path, strlen(path) - strlen(rel), rel};
        rc = sandbox_each_require(src, len, check_require, &c);
    }
    free(src);
    return rc;
}

/* Walks path (rel inside the app: "" for the folder itself): checks, or
 * imports giving its root and cumulative size. */
static int walk_path(walk *w, const char *path, const char *rel, int depth, cid *root, uint64_t *tsize)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return cli_fail("cannot open %s: %s", path, strerror(errno));
    size_t rl = strlen(rel);
    if (S_ISDIR(st.st_mode)) {
        if (depth > DEPTH_MAX)
            return cli_fail("%s: folders nested too deep", path);
        char **v = NULL;
        size_t n = 0;
        if (cli_read_dir(path, depth == 0 ? keep_top : keep_below, NULL, &v, &n))
            return 1;
        dir_entry *entries = calloc(n ? n : 1, sizeof *entries);
        int rc = entries ? 0 : cli_fail("out of memory");
        for (size_t i = 0; i < n && !rc; i++) {
            char *sub = NULL, *subrel = NULL;
            if (asprintf(&sub, "%s/%s", path, v[i]) < 0 ||
                asprintf(&subrel, "%s%s%s", rel, rl ? "/" : "", v[i]) < 0)
                rc = cli_fail("out of memory");
            else {
                entries[i].name = v[i];
                rc = walk_path(w, sub, subrel, depth + 1, &entries[i].target, &entries[i].tsize);
            }
            free(sub);
            free(subrel);
        }
        if (!rc && w->import && ufs_make_dir(&w->o, entries, n, cli_uploader_sink, w->up, root, tsize) != 0)
            rc = cli_fail("adding %s: %s", path, cli_uploader_error(w->up) ? cli_uploader_error(w->up) : "failed");
        free(entries);
        cli_free_names(v, n);
        return rc;
    }
    if (S_ISLNK(st.st_mode)) {
        if (!w->import)
            return 0;
        char to[PATH_MAX + 1];
        ssize_t n = readlink(path, to, PATH_MAX);
        if (n < 0)
            return cli_fail("cannot read the symlink %s: %s", path, strerror(errno));
        to[n] = '\0';
        if (ufs_make_symlink(&w->o, to, cli_uploader_sink, w->up, root, tsize) != 0)
            return cli_fail("adding %s: %s", path, cli_uploader_error(w->up) ? cli_uploader_error(w->up) : "failed");
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return cli_fail("%s: not a file or folder", path);
    if (!w->import) {
        if (!strncmp(rel, "server/", 7) && rl > 4 && !strcmp(rel + rl - 4, ".lua"))
            return check_source(path, rel);
        return 0;
    }
    char err[1024];
    uint64_t size;
    if (cli_import_file(path, &w->o, cli_uploader_sink, w->up, root, &size, tsize, err, sizeof err) != 0)
        return cli_fail("adding %s: %s", path, cli_uploader_error(w->up) ? cli_uploader_error(w->up) : err);
    return 0;
}

/* Reads and parses folder/manifest.json: an object, or NULL after the error. */
static json_t *read_manifest(const char *folder)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/manifest.json", folder);
    struct stat st;
    if (stat(folder, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_fail("%s: no such app folder (lapp new NAME makes one)", folder);
        return NULL;
    }
    if (access(path, F_OK) != 0) {
        cli_fail("manifest.json: missing: an app folder needs one at its top (%s)", path);
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc)
        cli_fail("manifest.json:%d: %s", jerr.line, jerr.text);
    else if (!json_is_object(doc)) {
        cli_fail("manifest.json: must be a JSON object");
        json_decref(doc);
        doc = NULL;
    }
    return doc;
}

/* Whether MiMei id is on the node: 1, 0 (404), -1 after the error. */
static int exists(target *t, const char *id, json_t **show)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v0/mimei/show?arg=%s", id);
    json_t *r = NULL;
    int status = api(t, 0, "GET", path, &r, 404);
    if (status < 0)
        return -1;
    if (status == 404) {
        json_decref(r);
        return 0;
    }
    if (show)
        *show = r;
    else
        json_decref(r);
    return 1;
}

/* Makes the MiMei (key, type, mark) on the node, with right, unless it is
 * there (then `mimei chmod` changes its right). */
static int ensure_mimei(const cli_args *a, target *t, const char *id, const char *type, const char *app,
                        const char *mark, int right)
{
    json_t *show = NULL;
    int have = exists(t, id, &show);
    if (have < 0)
        return 1;
    if (have) {
        const char *got = mimei_str(json_object_get(show, "Info"), "AppType");
        int rc = strcmp(got, type) ? cli_fail("MiMei %s is a %s MiMei, not %s", id, got, type) : 0;
        json_decref(show);
        return rc;
    }
    json_t *info = mimei_new_marked(&t->key, type, "", app, right, mark);
    int rc = strcmp(mimei_str(info, "ID"), id) ? cli_fail("internal: the ID of %s does not follow", mark)
                                               : mimei_register(a, &t->h, info);
    json_decref(info);
    return rc;
}

/* Where a browser opens the app: its own origin below localhost when the
 * node is on this machine (the node's origins.c serves LABEL.app.localhost),
 * else the path form, which the node redirects to the app's origin when it
 * has one (gateway_domains). */
static void app_url(const target *t, const char *appid, char *out, size_t cap)
{
    static const char *const local[] = {"::", "0.0.0.0", "127.0.0.1", "::1", "localhost"};
    const char *host = t->h.listen;
    char label[64];
    for (size_t i = 0; i < sizeof local / sizeof *local; i++)
        if (!strcmp(host, local[i]) && origins_label(ORIGIN_APP, appid, strlen(appid), label, sizeof label) == 0) {
            snprintf(out, cap, "http://%s.app.localhost:%d/", label, t->h.port);
            return;
        }
    snprintf(out, cap, strchr(host, ':') ? "http://[%s]:%d/tpt/%s/" : "http://%s:%d/tpt/%s/", host, t->h.port, appid);
}

/* What the app is, for people: its description, and for a renderer the
 * types it renders (it is not a page to open; files open through it). */
static void print_what(const json_t *manifest)
{
    const char *desc = json_string_value(json_object_get(manifest, "description"));
    json_t *renders = json_object_get(manifest, "renders"), *item;
    size_t i;
    if (desc)
        printf("desc= %s\n", desc);
    if (json_array_size(renders)) {
        printf("renders=");
        json_array_foreach(renders, i, item) if (json_is_string(item)) printf(" %s", json_string_value(item));
        putchar('\n');
    }
}

int cmd_lapp_uploadapp(const cli_args *a)
{
    const char *name = a->signer; /* -i NAME */
    if (!name)
        return cli_fail("-i NAME is missing: the app folder's name");
    if (check_name(name))
        return 1;
    target t;
    if (open_target(a, &t, 1))
        return 1;
    char dir[PATH_MAX], folder[PATH_MAX + 128];
    int rc = apps_dir(a, &t, dir, sizeof dir);
    json_t *manifest = NULL;
    if (!rc) {
        snprintf(folder, sizeof folder, "%s/%s", dir, name);
        manifest = read_manifest(folder);
        rc = manifest ? 0 : 1;
    }
    json_t *database = json_object_get(manifest, "database");
    if (!rc && database && !json_is_boolean(database) && !(json_is_string(database) &&
                                                           ids_is_leither_id(json_string_value(database))))
        rc = cli_fail("manifest.json: \"database\" must be true, false or a database MiMei's ID");
    cid root;
    uint64_t tsize = 0;
    walk w = {0};
    if (!rc) /* the checks first: nothing is sent for a folder the node would refuse */
        rc = walk_path(&w, folder, "", 0, &root, &tsize);
    if (!rc) {
        char err[1024];
        w.import = 1;
        if (!(w.up = cli_uploader_at(&t.h, &t.key, err, sizeof err)))
            rc = cli_fail("%s", err);
        else {
            rc = walk_path(&w, folder, "", 0, &root, &tsize);
            if (!rc && cli_uploader_finish(w.up, &root, 1, 0, err, sizeof err) != 0)
                rc = cli_fail("%s", err);
            cli_uploader_free(w.up);
        }
    }
    char appid[IDS_LID_LEN + 1], dbid[IDS_LID_LEN + 1] = "", mark[256], croot[CID_TEXT_MAX];
    if (!rc) {
        mimei_app_id(appid, t.author, name);
        snprintf(mark, sizeof mark, "%s%s", MIMEI_APP_MARK, name);
        /* an app's page is meant to be opened: public unless its manifest says "public": false */
        rc = ensure_mimei(a, &t, appid, "app", "", mark,
                          json_is_false(json_object_get(manifest, "public")) ? MIMEI_DEFAULT_RIGHT : MIMEI_RIGHT_READ);
    }
    if (!rc && json_is_true(database)) {
        mimei_appdb_id(dbid, t.author, appid);
        snprintf(mark, sizeof mark, "%s%s", MIMEI_APPDB_MARK, appid);
        rc = ensure_mimei(a, &t, dbid, "db", appid, mark, MIMEI_DEFAULT_RIGHT); /* private: the app reads it as its author */
    } else if (json_is_string(database)) {
        snprintf(dbid, sizeof dbid, "%s", json_string_value(database));
    }
    json_t *r = NULL;
    if (!rc) {
        char path[256];
        cid_format(&root, croot);
        snprintf(path, sizeof path, "/api/v0/mimei/setcid?arg=%s&cid=%s&cur=1", appid, croot);
        rc = api(&t, 1, "POST", path, &r, 0) == 200 ? 0 : 1;
    }
    char url[512];
    if (!rc)
        app_url(&t, appid, url, sizeof url);
    if (!rc) {
        if (a->json)
            cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:s*,s:s,s:O*}", "AppId", appid, "Name", name, "Cid", croot,
                                     "Ver", "cur", "Db", dbid[0] ? dbid : NULL, "Url", url,
                                     "Renders", json_object_get(manifest, "renders")));
        else {
            printf("appid= %s\ncid= %s\n", appid, croot);
            if (dbid[0])
                printf("db= %s\n", dbid);
            print_what(manifest);
            printf("url= %s\n", url);
            printf("MiMeiSetCid ver= cur\nuploadapp ok\n");
        }
    }
    json_decref(r);
    json_decref(manifest);
    close_target(&t);
    return rc;
}

/* --- lapp backup, showapp ------------------------------------------------------ */

int cmd_lapp_backup(const cli_args *a)
{
    target t;
    if (open_target(a, &t, 1))
        return 1;
    char id[IDS_LID_LEN + 1], path[128];
    json_t *r = NULL;
    int rc = app_id_of(a, &t, id);
    if (!rc) {
        snprintf(path, sizeof path, "/api/v0/mimei/backup?arg=%s", id);
        rc = api(&t, 1, "POST", path, &r, 0) == 200 ? 0 : 1;
    }
    if (!rc) {
        if (a->json)
            cli_print_json(json_incref(r));
        else
            printf("MiMeiBackup mid= %s\nMiMeiBackup ver= %lld\ncid= %s\nlapp backup ok\n", jstr(r, "Mid"),
                   jint(r, "Ver"), jstr(r, "Cid"));
    }
    json_decref(r);
    close_target(&t);
    return rc;
}

static int to_memory(void *arg, const void *data, size_t len) { return fwrite(data, 1, len, arg) == len ? 0 : -1; }

/* The manifest of the app version at cid (NULL when it has none). */
static json_t *fetch_manifest(target *t, const char *croot)
{
    char path[256], err[1024], *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return NULL;
    snprintf(path, sizeof path, "/ipfs/%s/manifest.json", croot);
    int status = cli_fetch(&t->h, t->have_key ? &t->key : NULL, path, to_memory, mem, err, sizeof err);
    fclose(mem);
    json_t *doc = status == 200 ? json_loadb(buf, len, 0, NULL) : NULL;
    free(buf);
    return doc;
}

/* Appends the files under cid/rel to files: {"Path", "Cid", "Size"}. */
static int list_files(target *t, const char *croot, const char *rel, int depth, json_t *files)
{
    char path[8192], esc[4096], full[4200];
    snprintf(full, sizeof full, "%s%s%s", croot, *rel ? "/" : "", rel);
    cli_escape(esc, sizeof esc, full, 1);
    snprintf(path, sizeof path, "/api/v0/ls?arg=%s", esc);
    json_t *r = NULL;
    if (api(t, 0, "GET", path, &r, 0) != 200)
        return 1;
    json_t *obj = json_array_get(json_object_get(r, "Objects"), 0);
    size_t i;
    json_t *l;
    int rc = 0;
    json_array_foreach(json_object_get(obj, "Links"), i, l)
    {
        char sub[4200];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", jstr(l, "Name"));
        if (jint(l, "Type") == 1 && depth < DEPTH_MAX)
            rc = list_files(t, croot, sub, depth + 1, files);
        else
            json_array_append_new(files, json_pack("{s:s,s:s,s:I}", "Path", sub, "Cid", jstr(l, "Hash"), "Size",
                                                   (json_int_t)jint(l, "Size")));
        if (rc)
            break;
    }
    json_decref(r);
    return rc;
}

int cmd_lapp_showapp(const cli_args *a)
{
    target t;
    /* a name needs the author's key; an ID needs none */
    int need_key = !(a->app && ids_is_leither_id(a->app));
    if (open_target(a, &t, need_key))
        return 1;
    char id[IDS_LID_LEN + 1];
    json_t *show = NULL, *files = json_array(), *manifest = NULL;
    int rc = app_id_of(a, &t, id);
    if (!rc) {
        int have = exists(&t, id, &show);
        if (have < 0)
            rc = 1;
        else if (!have)
            rc = cli_fail("no app %s on this node", id);
    }
    json_t *info = json_object_get(show, "Info");
    if (!rc && strcmp(mimei_str(info, "AppType"), "app"))
        rc = cli_fail("%s is a %s MiMei, not an app", id, mimei_str(info, "AppType"));
    /* the version: cur (default), last or N */
    const char *ver = a->version ? a->version : "cur";
    const char *croot = NULL;
    long long last = jint(show, "Last");
    if (!rc) {
        long long want = -1;
        if (!strcmp(ver, "cur"))
            croot = json_string_value(json_object_get(show, "Cur"));
        else if (!strcmp(ver, "last"))
            want = last;
        else {
            char *end;
            want = strtoll(ver, &end, 10);
            if (*end || end == ver || want < 1)
                rc = cli_fail("-v must be cur, last or a number from 1, not '%s'", ver);
        }
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(show, "Versions"), i, v) if (jint(v, "Ver") == want) croot =
            jstr(v, "Cid");
        if (!rc && !croot)
            rc = !strcmp(ver, "cur")    ? cli_fail("app %s has no content yet: lapp uploadapp uploads it", id)
                 : !strcmp(ver, "last") ? cli_fail("app %s has no version yet: lapp backup makes one", id)
                                        : cli_fail("app %s has no version %s (last is %lld)", id, ver, last);
    }
    if (!rc) {
        manifest = fetch_manifest(&t, croot);
        rc = list_files(&t, croot, "", 0, files);
    }
    /* the app's database, as the node finds it: "database": true or a MID */
    char dbid[IDS_LID_LEN + 1] = "";
    json_t *dbv = json_object_get(manifest, "database");
    if (json_is_true(dbv))
        mimei_appdb_id(dbid, mimei_str(info, "Author"), id);
    else if (json_is_string(dbv))
        snprintf(dbid, sizeof dbid, "%s", json_string_value(dbv));
    if (!rc && a->json) {
        json_t *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:O*,s:I,s:O}", "AppId", id, "Author",
                                mimei_str(info, "Author"), "Name", jstr(manifest, "name"), "Description",
                                jstr(manifest, "description"), "Version", ver, "Cid", croot, "Files", files, "Cur",
                                json_object_get(show, "Cur"), "Last", (json_int_t)last, "Versions",
                                json_object_get(show, "Versions"));
        if (dbid[0])
            json_object_set_new(out, "Db", json_string(dbid));
        cli_print_json(out);
    } else if (!rc) {
        printf("ShowApp appid= %s\nAuthor  : %s\nName    : %s\nDesc    : %s\nCreate  : %s\nVersion : %s\nCid     : "
               "%s\n\nfiles\n-------------------------------------------------------------\n",
               id, mimei_str(info, "Author"), jstr(manifest, "name"), jstr(manifest, "description"),
               mimei_str(info, "Create"), ver, croot);
        if (dbid[0])
            printf("Db      : %s\n", dbid);
        size_t i;
        json_t *f;
        json_array_foreach(files, i, f) printf("%s %lld %s\n", jstr(f, "Cid"), jint(f, "Size"), jstr(f, "Path"));
        printf("\nversions\n-------------------------------------------------------------\n");
        const char *cur = json_string_value(json_object_get(show, "Cur"));
        printf("cur      %s\n", cur ? cur : "(empty)");
        json_t *v;
        json_array_foreach(json_object_get(show, "Versions"), i, v)
            printf("%-8lld %s\n", jint(v, "Ver"), jstr(v, "Cid"));
        if (last)
            printf("last     %lld\n", last);
        else
            printf("no versions yet: cur only\n");
        printf("\nlapp showapp ok\n");
    }
    json_decref(files);
    json_decref(manifest);
    json_decref(show);
    close_target(&t);
    return rc;
}
