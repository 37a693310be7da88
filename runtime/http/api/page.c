/*
 * page: the node's landing page at "/": who the node is, the dashboard, the
 * apps anyone may open (by their names, from their "lapp:NAME" marks), the
 * renderers, and where to go next. Everything a visitor did not write is
 * escaped; the list is bounded, so the page stays small however many apps
 * guests register.
 */
#include "internal.h"
#include "db.h"
#include "mimei.h"

#include <h2o.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* At most this many apps are listed (the dashboard lists them all). */
#define PAGE_APPS_MAX 100
#define PAGE_MANIFEST_MAX (8u << 10)
/* Names and descriptions longer than this (in bytes) are cut. */
#define PAGE_TEXT_MAX 300

typedef struct {
    char id[IDS_LID_LEN + 1];
    char *name, *description, *renders; /* renders: "" unless the app is a renderer */
    int owners;                          /* authored by the node's key */
} page_app;

typedef struct {
    node *n;
    page_app apps[PAGE_APPS_MAX];
    size_t count, more; /* more: public apps past the bound */
} page_apps;

/* A copy of s of at most PAGE_TEXT_MAX bytes, cut at a character's start. */
static char *page_text(const char *s)
{
    size_t n = strlen(s);
    if (n <= PAGE_TEXT_MAX)
        return strdup(s);
    n = PAGE_TEXT_MAX;
    while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    char *out = malloc(n + 4);
    if (out) {
        memcpy(out, s, n);
        memcpy(out + n, "…", 4); /* 3 bytes and the NUL */
    }
    return out;
}

static void put_escaped(FILE *f, const char *s)
{
    for (; s && *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
}

/* The description and "renders" of the app's manifest.json, from its
 * current version (absent ones stay ""). */
static void read_manifest(node *n, page_app *a)
{
    char err[256];
    cid root;
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return;
    int have = files_get(n->bs, txn, a->id, FILES_CUR, &root);
    mdb_txn_abort(txn);
    size_t len;
    char *text = have ? ufs_read_file(n->bs, &root, "manifest.json", PAGE_MANIFEST_MAX, &len, err, sizeof err) : NULL;
    json_t *doc = text ? json_loadb(text, len, 0, NULL) : NULL;
    free(text);
    const char *d = json_string_value(json_object_get(doc, "description"));
    char *copy = d ? page_text(d) : NULL;
    if (copy) {
        free(a->description);
        a->description = copy;
    }
    json_t *renders = json_object_get(doc, "renders"), *kind;
    size_t i;
    char list[256] = "";
    json_array_foreach(renders, i, kind) if (json_is_string(kind))
    {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", json_string_value(kind));
    }
    copy = list[0] ? strdup(list) : NULL;
    if (copy) {
        free(a->renders);
        a->renders = copy;
    }
    json_decref(doc);
}

static int collect_app(void *arg, const char *mid, const char *text, size_t len)
{
    page_apps *p = arg;
    json_t *info = json_loadb(text, len, 0, NULL);
    const char *mark = mimei_str(info, "Mark");
    if (info && !strcmp(mimei_str(info, "AppType"), "app") && node_may_read(p->n, info, "")) {
        if (p->count == PAGE_APPS_MAX)
            p->more++;
        else {
            page_app *a = &p->apps[p->count++];
            snprintf(a->id, sizeof a->id, "%s", mid);
            /* an app made by lapp is named by its mark; another shows its ID */
            a->name = page_text(!strncmp(mark, MIMEI_APP_MARK, strlen(MIMEI_APP_MARK)) && mark[strlen(MIMEI_APP_MARK)]
                                 ? mark + strlen(MIMEI_APP_MARK)
                                 : mid);
            a->description = strdup("");
            a->renders = strdup("");
            a->owners = !strcmp(mimei_str(info, "Author"), p->n->id);
            if (!a->name || !a->description || !a->renders) { /* out of memory: left out */
                free(a->name), free(a->description), free(a->renders);
                p->count--;
            }
        }
    }
    json_decref(info);
    return 0;
}

/* The node owner's apps first, then by name. */
static int by_owner_then_name(const void *x, const void *y)
{
    const page_app *a = x, *b = y;
    if (a->owners != b->owners)
        return b->owners - a->owners;
    int c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->id, b->id);
}

static void put_duration(FILE *f, double seconds)
{
    long s = (long)seconds, d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
    if (d)
        fprintf(f, "%ld d %ld h", d, h);
    else if (h)
        fprintf(f, "%ld h %ld min", h, m);
    else if (m)
        fprintf(f, "%ld min %ld s", m, s % 60);
    else
        fprintf(f, "%ld s", s);
}

static void put_app(FILE *f, h2o_req_t *req, node *n, const page_app *a, const char *id_attr)
{
    char url[512];
    if (origins_url(req, n, ORIGIN_APP, a->id, url, sizeof url) != 0)
        snprintf(url, sizeof url, "/tpt/%s", a->id);
    if (a->renders[0]) /* its folder listing is no page to open */
        fprintf(f, "<li><span class=\"app\" data-mid=\"%s\">", a->id);
    else {
        fputs("<li><a class=\"app\"", f);
        if (id_attr)
            fprintf(f, " id=\"%s\"", id_attr);
        fprintf(f, " data-mid=\"%s\" href=\"", a->id);
        put_escaped(f, url);
        fputs("/\">", f);
    }
    put_escaped(f, a->name);
    fputs(a->renders[0] ? "</span>" : "</a>", f);
    if (a->description[0]) {
        fputs(" <span class=\"desc\">", f);
        put_escaped(f, a->description);
        fputs("</span>", f);
    }
    if (a->renders[0]) {
        fputs(" <span class=\"note\">renders ", f);
        put_escaped(f, a->renders);
        fputs("</span>", f);
    }
    if (!a->owners)
        fputs(" <span class=\"note\">(a guest's app)</span>", f);
    fputs("</li>\n", f);
}

static const char page_style[] =
    "<style>:root{--text:#1d2329;--dim:#5d6b78;--line:#e3e7eb;--accent:#0f7b70}"
    "body{font:16px/1.55 system-ui,sans-serif;color:var(--text);max-width:46rem;margin:2.5rem auto;padding:0 1.2rem}"
    "h1{margin:0 0 .2rem;font-weight:650}h2{font-size:1.1rem;margin:2rem 0 .6rem;border-bottom:1px solid var(--line);"
    "padding-bottom:.3rem}.lead{color:var(--dim);margin:0}a{color:var(--accent)}"
    "code{font:14px ui-monospace,monospace;background:#f2f4f6;padding:.1em .35em;border-radius:4px;overflow-wrap:anywhere}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.2rem;margin:0}dt{color:var(--dim)}dd{margin:0}"
    "ul{padding-left:1.2rem}li{margin:.5rem 0}.app{font-weight:600}.desc,.note,.empty{color:var(--dim)}"
    "li .desc{display:block}li .note{font-size:.9rem}"
    ".button{display:inline-block;background:var(--accent);color:#fff;text-decoration:none;padding:.5rem 1rem;"
    "border-radius:6px;font-weight:600}.button:hover{filter:brightness(1.1)}</style>\n";

int api_on_page(h2o_req_t *req, node *n)
{
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/")))
        return http_reply(req, 404, "text/plain; charset=utf-8", H2O_STRLIT("404 not found\n"));
    page_apps *p = calloc(1, sizeof *p);
    char *body = NULL;
    size_t len = 0;
    FILE *f = p ? open_memstream(&body, &len) : NULL;
    if (!f) {
        free(p);
        return http_reply_error(req, 500, "out of memory");
    }
    p->n = n;
    db_mimei_each(n->db, collect_app, p);
    qsort(p->apps, p->count, sizeof *p->apps, by_owner_then_name);
    const page_app *dashboard = NULL;
    for (size_t i = 0; i < p->count; i++) {
        read_manifest(n, &p->apps[i]);
        if (!dashboard && p->apps[i].owners && !strcmp(p->apps[i].name, "dashboard"))
            dashboard = &p->apps[i];
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double up = (double)(now.tv_sec - n->started.tv_sec) + (double)(now.tv_nsec - n->started.tv_nsec) / 1e9;

    fprintf(f,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Leither node %.8s…</title>\n%s</head><body>\n"
            "<header><h1>Leither node</h1>\n<p class=\"lead\">A node of files, databases and apps under one key: "
            "files by content (IPFS CIDs), databases over the Redis protocol, apps in Lua and HTML.</p></header>\n",
            n->id, page_style);
    if (dashboard) {
        fputs("<p><a class=\"button\" id=\"dashboard-link\" href=\"", f);
        char url[512];
        if (origins_url(req, n, ORIGIN_APP, dashboard->id, url, sizeof url) != 0)
            snprintf(url, sizeof url, "/tpt/%s", dashboard->id);
        put_escaped(f, url);
        fputs("/\">Open the dashboard</a></p>\n", f);
    } else {
        fputs("<p class=\"note\" id=\"no-dashboard\">No dashboard here yet: from a checkout, "
              "<code>lapp uploadapp -i dashboard -d apps</code> puts it here (<code>make run</code> does).</p>\n",
              f);
    }
    fprintf(f,
            "<section id=\"identity\"><h2>This node</h2><dl>\n"
            "<dt>ID</dt><dd><code id=\"node-id\">%s</code></dd>\n"
            "<dt>Peer ID</dt><dd><code id=\"peer-id\">%s</code></dd>\n"
            "<dt>Version</dt><dd id=\"version\">%s</dd>\n<dt>Up for</dt><dd id=\"uptime\">",
            n->id, n->peer_id, LEITHER_VERSION);
    put_duration(f, up);
    fprintf(f, "</dd>\n<dt>Databases</dt><dd>over the Redis protocol on port <code id=\"db-port\">%d</code></dd>\n"
               "</dl></section>\n",
            n->home.db_port);

    fputs("<section id=\"apps\"><h2>Apps</h2>\n", f);
    size_t pages = 0, renderers = 0;
    for (size_t i = 0; i < p->count; i++)
        p->apps[i].renders[0] ? renderers++ : pages++;
    if (!pages)
        fputs("<p class=\"empty\">No apps to open yet: <code>lapp new NAME</code> makes one, "
              "<code>lapp uploadapp -i NAME</code> puts it here.</p>\n",
              f);
    else {
        fputs("<ul id=\"app-list\">\n", f);
        for (size_t i = 0; i < p->count; i++)
            if (!p->apps[i].renders[0])
                put_app(f, req, n, &p->apps[i], &p->apps[i] == dashboard ? "dashboard-app" : NULL);
        fputs("</ul>\n", f);
    }
    if (p->more)
        fprintf(f, "<p class=\"note\">and %zu more: the dashboard lists them all.</p>\n", p->more);
    if (renderers) {
        fputs("<h3>Renderers</h3>\n<p class=\"note\">Not pages to open: a renderer shows a file MiMei as a page at "
              "<code>/mm/MID</code> when the MiMei names it as its app "
              "(<code>leither mimei create -t file -a APPID</code>).</p>\n<ul id=\"renderer-list\">\n",
              f);
        for (size_t i = 0; i < p->count; i++)
            if (p->apps[i].renders[0])
                put_app(f, req, n, &p->apps[i], NULL);
        fputs("</ul>\n", f);
    }
    fputs("</section>\n", f);
    fprintf(f,
            "<section id=\"next\"><h2>Next</h2><ul>\n"
            "<li>The command line: <code>leither help</code> and <code>lapp help</code>.</li>\n"
            "<li>The node owner's default database: <code>redis-cli -p %d</code>.</li>\n"
            "<li>The JSON API: <a href=\"/api/v0/id\">/api/v0/id</a>, <a href=\"/api/v0/version\">/api/v0/version</a>, "
            "<a href=\"/api/v0/node/status\">/api/v0/node/status</a>, "
            "<a href=\"/api/v0/mimei/list\">/api/v0/mimei/list</a>.</li>\n"
            "</ul></section>\n</body></html>\n",
            n->home.db_port);
    fclose(f);
    for (size_t i = 0; i < p->count; i++)
        free(p->apps[i].name), free(p->apps[i].description), free(p->apps[i].renders);
    free(p);
    int rc = http_reply(req, 200, "text/html; charset=utf-8", body, len);
    free(body);
    return rc;
}
