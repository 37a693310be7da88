/*
 * gateway: GET/HEAD /ipfs/CID[/PATH], the IPFS path gateway.
 *   - UnixFS files stream from ufs_reader, about 256 KiB per proceed, with
 *     ETag/If-None-Match, single byte ranges, and a Content-Type from the
 *     name's extension or sniffed from the first bytes;
 *   - directories: index.html, else a listing page (the slash form only:
 *     others are redirected);
 *   - the trustless gateway: ?format=raw (one block) and ?format=car (the
 *     DAG under the path in depth-first pre-order, streamed), or the same
 *     asked for by Accept.
 * Errors are one plain-text line. Every block is re-hashed as it is read: a
 * corrupt one found after the headers went out aborts the response, so a
 * client never gets wrong bytes with a success status.
 */
#include "gateway.h"

#include "buf.h"
#include "db.h"
#include "mimei.h"
#include "store.h"

#include <ctype.h>
#include <h2o.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (256 * 1024)
#define SNIFF_LEN 512

/* h2o's table of types by extension: made once, read by every worker */
static h2o_mimemap_t *mime_map;
static pthread_once_t mime_once = PTHREAD_ONCE_INIT;
static void make_mime_map(void) { mime_map = h2o_mimemap_create(); }

/* How /mm/ renders through an app (set once at start by the server). */
static gateway_renderer renderer;
/* Whether an app was published (set once at start by the server). */
static gateway_published published;

static void header(h2o_req_t *req, const h2o_token_t *token, const char *value, size_t len)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, len);
}

static void header_s(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    header(req, token, h2o_strdup(&req->pool, value, SIZE_MAX).base, strlen(value));
}




static h2o_iovec_t get_header(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t at = h2o_find_header(&req->headers, token, -1);
    return at < 0 ? h2o_iovec_init(NULL, 0) : req->headers.entries[at].value;
}

static int contains(h2o_iovec_t v, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; v.base && i + n <= v.len; i++)
        if (!strncasecmp(v.base + i, s, n))
            return 1;
    return 0;
}

/* Percent-decodes p[0..len) into the pool; NULL when malformed or with NUL. */
static char *url_decode(h2o_mem_pool_t *pool, const char *p, size_t len)
{
    char *out = h2o_mem_alloc_pool(pool, len + 1);
    return http_pct_decode(out, len + 1, p, len, 0) < 0 ? NULL : out;
}

/* --- content types ------------------------------------------------------- */

static int valid_utf8(const uint8_t *p, size_t len, int truncated)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!n || (n == 2 && c < 0xc2))
            return 0;
        if (c < 0x80 && c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f')
            return 0; /* control bytes: binary */
        if (i + n > len)
            return truncated; /* a character cut by the sniff window */
        for (size_t k = 1; k < n; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
        i += n;
    }
    return 1;
}

static int starts_ci(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len >= n && !strncasecmp((const char *)p, s, n);
}

/* what the first bytes look like; whole: they are the whole file */
static const char *sniff(const uint8_t *p, size_t len, int whole)
{
    if (len >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
        return "image/png";
    if (len >= 3 && !memcmp(p, "\xff\xd8\xff", 3))
        return "image/jpeg";
    if (len >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6)))
        return "image/gif";
    if (len >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
        return "image/webp";
    if (len >= 5 && !memcmp(p, "%PDF-", 5))
        return "application/pdf";
    if (!valid_utf8(p, len, !whole))
        return "application/octet-stream";
    size_t i = 0;
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        i = 3;
    while (i < len && isspace(p[i]))
        i++;
    const uint8_t *q = p + i;
    size_t ql = len - i;
    static const char *html[] = {"<!doctype html", "<html", "<head", "<body", "<script", "<title",
                                 "<iframe",        "<h1",   "<div",  "<font", "<table",  "<a ",
                                 "<style",         "<br",   "<p>",   "<p ",   "<!--"};
    for (size_t k = 0; k < sizeof html / sizeof *html; k++)
        if (starts_ci(q, ql, html[k]))
            return "text/html; charset=utf-8";
    if (starts_ci(q, ql, "<svg"))
        return "image/svg+xml";
    if (starts_ci(q, ql, "<?xml")) {
        for (size_t k = 0; k + 4 <= ql; k++)
            if (!strncasecmp((const char *)q + k, "<svg", 4))
                return "image/svg+xml";
        return "application/xml";
    }
    if (ql && (q[0] == '{' || q[0] == '[')) {
        if (whole) {
            json_error_t je;
            json_t *doc = json_loadb((const char *)p, len, JSON_DECODE_ANY, &je);
            if (doc) {
                json_decref(doc);
                return "application/json";
            }
        } else {
            size_t k = 1;
            while (k < ql && isspace(q[k]))
                k++;
            if (k < ql && (q[k] == '"' || (q[0] == '{' && q[k] == '}') ||
                           (q[0] == '[' && strchr("{[\"-0123456789tfn]", q[k]))))
                return "application/json";
        }
    }
    return "text/plain; charset=utf-8";
}

/* the type by the name's extension, NULL when unknown */
static const char *type_by_name(h2o_mem_pool_t *pool, const char *name)
{
    pthread_once(&mime_once, make_mime_map);
    const char *slash = strrchr(name, '/');
    if (slash)
        name = slash + 1;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || !dot[1])
        return NULL;
    h2o_mimemap_type_t *t = h2o_mimemap_get_type_by_extension(mime_map, h2o_iovec_init(dot + 1, strlen(dot + 1)));
    if (!t || t->type != H2O_MIMEMAP_TYPE_MIMETYPE)
        return NULL;
    h2o_iovec_t m = t->data.mimetype;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("application/octet-stream")))
        return NULL; /* h2o's default for unknown extensions: sniff instead */
    int text = (m.len > 5 && !memcmp(m.base, "text/", 5)) || h2o_memis(m.base, m.len, H2O_STRLIT("application/javascript")) ||
               h2o_memis(m.base, m.len, H2O_STRLIT("application/json"));
    int has_charset = contains(m, "charset=");
    h2o_iovec_t out = h2o_concat(pool, m, text && !has_charset ? h2o_iovec_init(H2O_STRLIT("; charset=utf-8"))
                                                                : h2o_iovec_init(H2O_STRLIT("")));
    return out.base;
}

/* --- streaming ----------------------------------------------------------- */

/* c's bytes are an app's server code (hidden.c), which no path serves */
static int is_hidden(blockstore *bs, const cid *c)
{
    char err[256];
    MDB_txn *txn = bs_begin(bs, 0, err, sizeof err);
    if (!txn)
        return 1; /* cannot tell: refuse */
    int hidden = bs_is_hidden(bs, txn, c);
    mdb_txn_abort(txn);
    return hidden;
}

/* c is the server code of a public app its author published: its
 * followers copy it, so it is handed out, as a raw block only */
static int published_app_code(node *n, const cid *c)
{
    char err[256], mids[BS_HIDDEN_APPS_CAP];
    if (!published)
        return 0;
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return 0;
    int hidden = bs_hidden_apps(n->bs, txn, c, mids, sizeof mids);
    mdb_txn_abort(txn);
    int shared = 0;
    char *save = NULL;
    for (char *mid = hidden ? strtok_r(mids, ",", &save) : NULL; mid && !shared; mid = strtok_r(NULL, ",", &save)) {
        json_t *info = node_mimei_info(n, mid);
        shared = info && !strcmp(mimei_str(info, "AppType"), "app") && node_may_read(n, info, "") &&
                 published(n, mid);
        json_decref(info);
    }
    return shared;
}

typedef struct {
    h2o_generator_t super;
    ufs_reader *r;
    dag_iter *it;
    blockstore *bs; /* a CAR's: each block is checked against the server code */
    uint64_t left; /* file bytes still to send */
    buf out;       /* the chunk being sent */
    int done;
} stream;

static void stream_dispose(void *p)
{
    stream *s = p;
    ufs_reader_free(s->r);
    dag_iter_free(s->it);
    buf_free(&s->out);
}

/* The next chunk into s->out (s->done at the end).
 * Returns 0, or an HTTP status with err. */
static int fill(stream *s, char *err, size_t errlen)
{
    int status;
    if (s->r) {
        buf_clear(&s->out);
        if (buf_reserve(&s->out, CHUNK) != 0)
            return snprintf(err, errlen, "out of memory"), 500;
        size_t want = s->left < CHUNK ? (size_t)s->left : CHUNK;
        size_t n = 0;
        if (want && (status = ufs_reader_read(s->r, s->out.p, want, &n, err, errlen)) != STORE_OK)
            return http_status_of_store(status);
        if (n < want)
            return snprintf(err, errlen, "the file ended %llu bytes early", (unsigned long long)(s->left - (uint64_t)n)),
                   502;
        s->out.len = n; /* written in place after buf_reserve */
        s->left -= (uint64_t)n;
        s->done = s->left == 0;
        return 0;
    }
    /* CAR: whole sections until the chunk is full; s->out may start with the header */
    while (s->out.len < CHUNK) {
        cid c;
        uint8_t *block;
        size_t blen;
        if ((status = dag_iter_next(s->it, &c, &block, &blen, err, errlen)) != STORE_OK)
            return http_status_of_store(status);
        if (!block) {
            s->done = 1;
            break;
        }
        if (is_hidden(s->bs, &c)) {
            free(block);
            return snprintf(err, errlen, "the DAG holds an app's server code: it is not served"), 404;
        }
        uint8_t start[CID_BIN_MAX + 10];
        size_t sl = car_section_start(start, &c, blen);
        int rc = buf_append(&s->out, start, sl) || buf_append(&s->out, block, blen);
        free(block);
        if (rc)
            return snprintf(err, errlen, "out of memory"), 500;
    }
    return 0;
}

static void send_chunk(stream *s, h2o_req_t *req)
{
    h2o_iovec_t v = h2o_iovec_init(s->out.p, s->out.len);
    h2o_send(req, &v, s->out.len ? 1 : 0, s->done ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void on_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    stream *s = (stream *)g;
    char err[512];
    buf_clear(&s->out);
    if (fill(s, err, sizeof err) != 0) {
        log_line(LOG_LEVEL_ERROR, NULL, "gateway: %.*s: aborted: %s", (int)req->path.len, req->path.base, err);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return;
    }
    send_chunk(s, req);
}

static void on_stop(h2o_generator_t *g, h2o_req_t *req)
{
    (void)g, (void)req; /* the pool's dispose frees everything */
}

static stream *stream_new(h2o_req_t *req)
{
    stream *s = h2o_mem_alloc_shared(&req->pool, sizeof *s, stream_dispose);
    memset(s, 0, sizeof *s);
    s->super.proceed = on_proceed;
    s->super.stop = on_stop;
    return s;
}

/* The first chunk is read before the headers go out, so an error there
 * still gets its status; later ones abort the response. HEAD sends none. */
static int start_stream(h2o_req_t *req, stream *s, int status)
{
    char err[512];
    int head = http_is_method(req, "HEAD");
    if (!head) {
        int st = fill(s, err, sizeof err);
        if (st != 0)
            return http_reply_text_error(req, st, "%s", err);
    }
    req->res.status = status;
    req->res.reason = http_reason(status);
    h2o_start_response(req, &s->super);
    if (head)
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        send_chunk(s, req);
    return 0;
}

/* --- requests ------------------------------------------------------------ */

typedef struct {
    node *n;
    h2o_req_t *req;
    cid root, target;
    char root_text[CID_TEXT_MAX], target_text[CID_TEXT_MAX];
    const char *path;  /* decoded, after the CID, without leading slash */
    int slash;         /* the request path ends with '/' */
    h2o_iovec_t rawpath; /* the request path without its query */
} gw_req;

static int store_fail(h2o_req_t *req, enum store_status status, const char *err)
{
    return http_reply_text_error(req, http_status_of_store(status), "%s", err);
}

static void common_headers(gw_req *g, const char *etag)
{
    h2o_req_t *req = g->req;
    header_s(req, H2O_TOKEN_ETAG, etag);
    header(req, H2O_TOKEN_CACHE_CONTROL, H2O_STRLIT("public, max-age=29030400, immutable"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-ipfs-path"), 0, NULL, g->rawpath.base,
                          g->rawpath.len);
}

/* If-None-Match names etag (or is "*") */
static int not_modified(gw_req *g, const char *etag)
{
    h2o_iovec_t inm = get_header(g->req, H2O_TOKEN_IF_NONE_MATCH);
    if (!inm.base)
        return 0;
    if (h2o_memis(inm.base, inm.len, H2O_STRLIT("*")))
        return 1;
    size_t n = strlen(etag);
    for (size_t i = 0; i + n <= inm.len; i++)
        if (!memcmp(inm.base + i, etag, n))
            return 1;
    return 0;
}

static int reply_304(gw_req *g, const char *etag)
{
    common_headers(g, etag);
    g->req->res.status = 304;
    g->req->res.reason = http_reason(304);
    h2o_send_inline(g->req, "", 0);
    return 0;
}

/* Range: 0 none (or ignored: malformed, or several ranges), 1 [*a, *b], -1 unsatisfiable */
static int parse_range(h2o_iovec_t v, uint64_t size, uint64_t *a, uint64_t *b, int *multi)
{
    *multi = 0;
    if (!v.base || v.len < 7 || strncasecmp(v.base, "bytes=", 6))
        return 0;
    char spec[128];
    size_t n = v.len - 6 < sizeof spec - 1 ? v.len - 6 : sizeof spec - 1;
    memcpy(spec, v.base + 6, n);
    spec[n] = '\0';
    if (strchr(spec, ',')) {
        *multi = 1;
        return 0;
    }
    char *p = spec, *end;
    while (*p == ' ')
        p++;
    if (*p == '-') { /* suffix */
        if (!isdigit((unsigned char)p[1]))
            return 0;
        unsigned long long k = strtoull(p + 1, &end, 10);
        if (*end)
            return 0;
        if (k == 0 || size == 0)
            return -1;
        *a = k >= size ? 0 : size - k;
        *b = size - 1;
        return 1;
    }
    if (!isdigit((unsigned char)*p))
        return 0;
    unsigned long long x = strtoull(p, &end, 10);
    if (*end != '-')
        return 0;
    p = end + 1;
    unsigned long long y = UINT64_MAX;
    if (*p) {
        if (!isdigit((unsigned char)*p))
            return 0;
        y = strtoull(p, &end, 10);
        if (*end)
            return 0;
        if (y < x)
            return 0; /* invalid: ignored, as RFC 9110 says */
    }
    if (x >= size)
        return -1;
    *a = x;
    *b = y >= size ? size - 1 : y;
    return 1;
}

static void sb_html(buf *b, h2o_mem_pool_t *pool, const char *s, size_t n)
{
    h2o_iovec_t e = h2o_htmlescape(pool, s, n);
    buf_append(b, e.base, e.len);
}

/* percent-encodes all but letters, digits and the bytes in keep (for RFC
 * 8187's attr-char: h2o_uri_escape always keeps sub-delims such as ' and ;,
 * which a filename*= value may not hold) */
static void sb_pct(buf *b, const char *s, size_t n, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || (c && strchr(keep, c)))
            buf_append(b, s + i, 1);
        else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(b, e, 3);
        }
    }
}

/* a relative href to a path segment: percent-encoded (':' too, so that a
 * name like "javascript:..." stays a path), then HTML-escaped for the
 * attribute */
static void sb_url(buf *b, h2o_mem_pool_t *pool, const char *s, size_t n)
{
    h2o_iovec_t u = h2o_uri_escape(pool, s, n, NULL);
    sb_html(b, pool, u.base, u.len);
}

static void sb_size(buf *b, uint64_t n)
{
    char t[32];
    if (n < 1024)
        snprintf(t, sizeof t, "%llu B", (unsigned long long)n);
    else if (n < 1024 * 1024)
        snprintf(t, sizeof t, "%.1f KiB", n / 1024.0);
    else if (n < (uint64_t)1024 * 1024 * 1024)
        snprintf(t, sizeof t, "%.1f MiB", n / (1024.0 * 1024));
    else
        snprintf(t, sizeof t, "%.1f GiB", n / (1024.0 * 1024 * 1024));
    buf_puts(b, t);
}

static int serve_file(gw_req *g, const cid *file, uint64_t size, const char *name)
{
    h2o_req_t *req = g->req;
    char etag[CID_TEXT_MAX + 4], err[512];
    snprintf(etag, sizeof etag, "\"%s\"", g->target_text);
    if (not_modified(g, etag))
        return reply_304(g, etag);

    /* ?filename=NAME names the download (and types it); &download=true saves it */
    char fname[256], dl[8];
    const char *given = http_query(req, "filename", fname, sizeof fname);
    if (given && (!given[0] || strchr(given, '/')))
        return http_reply_text_error(req, 400, "filename must be a plain file name");
    if (given)
        name = given;
    const char *type = name ? type_by_name(&req->pool, name) : NULL;
    if (!type) {
        uint8_t head[SNIFF_LEN];
        ufs_reader *r;
        size_t got = 0;
        int st = ufs_reader_open(g->n->bs, file, 0, SNIFF_LEN, &r, err, sizeof err);
        if (st != STORE_OK)
            return store_fail(req, st, err);
        st = ufs_reader_read(r, head, sizeof head, &got, err, sizeof err);
        ufs_reader_free(r);
        if (st != STORE_OK)
            return store_fail(req, st, err);
        type = sniff(head, got, (uint64_t)got == size);
    }

    uint64_t a = 0, b = size ? size - 1 : 0;
    int multi, ranged = parse_range(get_header(req, H2O_TOKEN_RANGE), size, &a, &b, &multi);
    if (ranged < 0) {
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
        header_s(req, H2O_TOKEN_CONTENT_RANGE, cr);
        return http_reply_text_error(req, 416, "range not satisfiable: the file has %llu bytes", (unsigned long long)size);
    }
    /* several ranges: the whole file (200), simpler than multipart/byteranges and allowed */
    uint64_t len = ranged ? b - a + 1 : size;
    common_headers(g, etag);
    header_s(req, H2O_TOKEN_CONTENT_TYPE, type);
    header(req, H2O_TOKEN_ACCEPT_RANGES, H2O_STRLIT("bytes"));
    if (given) {
        int download = http_query(req, "download", dl, sizeof dl) && !strcmp(dl, "true");
        buf cd = {0};
        buf_puts(&cd, download ? "attachment; filename=\"" : "inline; filename=\"");
        for (const char *q = given; *q; q++) /* ASCII for old clients, the exact name below */
            buf_append(&cd, (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f) ? "_" : q,
                       1);
        buf_puts(&cd, "\"; filename*=UTF-8''");
        sb_pct(&cd, given, strlen(given), "!#$&+-.^_`|~"); /* RFC 8187 attr-char */
        if (cd.failed)
            return http_reply_text_error(req, 500, "out of memory");
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_DISPOSITION, NULL,
                       h2o_strdup(&req->pool, cd.p, cd.len).base, cd.len);
        buf_free(&cd);
    }
    if (ranged) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)a, (unsigned long long)b,
                 (unsigned long long)size);
        header_s(req, H2O_TOKEN_CONTENT_RANGE, cr);
    }
    req->res.content_length = len;

    stream *s = stream_new(req);
    s->left = len;
    int st = ufs_reader_open(g->n->bs, file, a, len, &s->r, err, sizeof err);
    if (st != STORE_OK)
        return store_fail(req, st, err);
    return start_stream(req, s, ranged ? 206 : 200);
}

static int serve_raw(gw_req *g)
{
    h2o_req_t *req = g->req;
    char etag[CID_TEXT_MAX + 8], err[512];
    snprintf(etag, sizeof etag, "\"%s.raw\"", g->target_text);
    if (not_modified(g, etag))
        return reply_304(g, etag);
    MDB_txn *txn = bs_begin(g->n->bs, 0, err, sizeof err);
    if (!txn)
        return http_reply_text_error(req, 500, "%s", err);
    const uint8_t *block;
    size_t len;
    int got = bs_get(g->n->bs, txn, &g->target, &block, &len, err, sizeof err);
    if (got <= 0) {
        mdb_txn_abort(txn);
        return got < 0 ? http_reply_text_error(req, 502, "%s", err) : http_reply_text_error(req, 404, "%s not found on this node", g->target_text);
    }
    common_headers(g, etag);
    header(req, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("application/vnd.ipld.raw"));
    req->res.status = 200;
    req->res.reason = http_reason(200);
    req->res.content_length = len;
    if (http_is_method(req, "HEAD")) {
        mdb_txn_abort(txn);
        stream *s = stream_new(req);
        h2o_start_response(req, &s->super);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return 0;
    }
    h2o_send_inline(req, (const char *)block, len); /* copies into the request's pool */
    mdb_txn_abort(txn);
    return 0;
}

static int serve_car(gw_req *g)
{
    h2o_req_t *req = g->req;
    char etag[CID_TEXT_MAX + 8];
    snprintf(etag, sizeof etag, "\"%s.car\"", g->target_text);
    if (not_modified(g, etag))
        return reply_304(g, etag);
    stream *s = stream_new(req);
    s->bs = g->n->bs;
    if (!(s->it = dag_iter_new(g->n->bs, &g->target)) || buf_reserve(&s->out, CHUNK) != 0)
        return http_reply_text_error(req, 500, "out of memory");
    s->out.len = car_header((uint8_t *)s->out.p, s->out.cap, &g->target, 1); /* written in place */
    common_headers(g, etag);
    header(req, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("application/vnd.ipld.car; version=1"));
    return start_stream(req, s, 200);
}

/* --- directory listings -------------------------------------------------- */

typedef struct {
    buf *b;
    gw_req *g;
} listing;

/* A link to content c where the client can open it (its own origin when the
 * Host allows: a relative /ipfs/ link would stay inside this content). */
static void sb_cid_link(buf *b, gw_req *g, const char *text, const char *tail)
{
    char url[CID_TEXT_MAX + 300];
    buf_puts(b, "<a class=\"cid\" href=\"");
    if (origins_url(g->req, g->n, ORIGIN_IPFS, text, url, sizeof url) == 0)
        sb_html(b, &g->req->pool, url, strlen(url));
    buf_puts(b, tail);
    buf_puts(b, "\">");
    buf_puts(b, text);
    buf_puts(b, "</a>");
}

static int list_row(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize)
{
    listing *l = arg;
    buf *b = l->b;
    char text[CID_TEXT_MAX];
    cid_format(target, text);
    buf_puts(b, "<tr><td><a href=\"");
    sb_url(b, &l->g->req->pool, name, name_len);
    buf_puts(b, "\">");
    sb_html(b, &l->g->req->pool, name, name_len);
    buf_puts(b, "</a></td><td class=\"size\">");
    sb_size(b, tsize);
    buf_puts(b, "</td><td>");
    sb_cid_link(b, l->g, text, "");
    buf_puts(b, "</td></tr>\n");
    return 0;
}

static int serve_listing(gw_req *g, uint64_t size)
{
    h2o_req_t *req = g->req;
    char etag[CID_TEXT_MAX + 4], err[512];
    snprintf(etag, sizeof etag, "\"%s\"", g->target_text);
    if (not_modified(g, etag))
        return reply_304(g, etag);
    buf b = {0};
    buf_puts(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
    sb_html(&b, &req->pool, g->rawpath.base, g->rawpath.len);
    buf_puts(&b, "</title>\n<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
                "td{padding:.1em 1em .1em 0}.size{text-align:right;white-space:nowrap}"
                ".cid{font:12px monospace;color:#666}</style></head><body>\n<h1>Index of ");
    sb_html(&b, &req->pool, g->rawpath.base, g->rawpath.len);
    buf_puts(&b, "</h1>\n<p>");
    sb_cid_link(&b, g, g->target_text, "/");
    buf_puts(&b, " ");
    sb_size(&b, size);
    buf_puts(&b, "</p>\n<table>\n");
    if (g->path[0])
        buf_puts(&b, "<tr><td><a href=\"..\">..</a></td><td></td><td></td></tr>\n");
    listing rows = {&b, g};
    if (ufs_list(g->n->bs, NULL, &g->target, list_row, &rows, err, sizeof err) != 0) {
        buf_free(&b);
        return http_reply_text_error(req, 502, "%s", err);
    }
    if (buf_puts(&b, "</table>\n</body></html>\n") != 0) { /* out of memory on the way */
        buf_free(&b);
        return http_reply_text_error(req, 500, "out of memory");
    }
    common_headers(g, etag);
    header(req, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("text/html; charset=utf-8"));
    req->res.status = 200;
    req->res.reason = http_reason(200);
    req->res.content_length = b.len;
    if (http_is_method(req, "HEAD")) {
        buf_free(&b);
        stream *s = stream_new(req);
        h2o_start_response(req, &s->super);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return 0;
    }
    h2o_send_inline(req, b.p, b.len);
    buf_free(&b);
    return 0;
}

static int serve_dir(gw_req *g, uint64_t size)
{
    h2o_req_t *req = g->req;
    if (!g->slash) { /* relative links in the page need the slash form */
        /* the path the client sent: on a subdomain origin it has no /ipfs/CID */
        h2o_iovec_t in = req->input.path;
        size_t inlen = req->input.query_at == SIZE_MAX ? in.len : req->input.query_at;
        h2o_iovec_t q = h2o_iovec_init(in.base + inlen, in.len - inlen);
        h2o_iovec_t loc = h2o_concat(&req->pool, h2o_iovec_init(in.base, inlen), h2o_iovec_init(H2O_STRLIT("/")), q);
        h2o_send_redirect(req, 301, http_reason(301), loc.base, loc.len);
        return 0;
    }
    cid index;
    ufs_stat st;
    char err[512];
    int rc = ufs_resolve(g->n->bs, NULL, &g->target, "index.html", &index, &st, err, sizeof err);
    if (rc == STORE_OK && st.type == UFS_FILE) {
        g->target = index;
        cid_format(&index, g->target_text);
        return serve_file(g, &index, st.size, "index.html");
    }
    if (rc != STORE_OK && rc != STORE_NOT_FOUND)
        return store_fail(req, rc, err);
    return serve_listing(g, size);
}

static int allow_get(h2o_req_t *req)
{
    if (http_is_method(req, "GET") || http_is_method(req, "HEAD"))
        return 1;
    header(req, H2O_TOKEN_ALLOW, H2O_STRLIT("GET, HEAD"));
    http_reply_text_error(req, 405, "the gateway answers GET and HEAD");
    return 0;
}

/* Splits the request path after prefix into its first segment (CID or
 * MiMei ID) and the decoded rest (g->path). 0, or -1 after replying. */
static int split_request(gw_req *g, const char *prefix, const char **first, size_t *first_len)
{
    h2o_req_t *req = g->req;
    size_t plen = req->query_at == SIZE_MAX ? req->path.len : req->query_at;
    size_t pl = strlen(prefix);
    g->rawpath = h2o_iovec_init(req->path.base, plen);
    if (plen <= pl || memcmp(req->path.base, prefix, pl)) {
        http_reply_text_error(req, 400, "nothing named: ask for %sID[/PATH]", prefix);
        return -1;
    }
    const char *c = req->path.base + pl, *end = req->path.base + plen;
    const char *slash = memchr(c, '/', (size_t)(end - c));
    *first = c;
    *first_len = slash ? (size_t)(slash - c) : (size_t)(end - c);
    const char *rest = slash ? slash + 1 : end;
    if (!(g->path = url_decode(&req->pool, rest, (size_t)(end - rest)))) {
        http_reply_text_error(req, 400, "invalid path: bad percent-encoding");
        return -1;
    }
    g->slash = req->path.base[plen - 1] == '/';
    return 0;
}

/* The trustless format asked for by ?format= or Accept: 0, or -1 after
 * replying 400 to an unknown one. */
static int asked_format(h2o_req_t *req, int *raw, int *car)
{
    char fmt[32];
    *raw = *car = 0;
    if (http_query(req, "format", fmt, sizeof fmt)) {
        if (!strcmp(fmt, "raw"))
            *raw = 1;
        else if (!strcmp(fmt, "car"))
            *car = 1;
        else {
            http_reply_text_error(req, 400, "format '%s' is not supported: use raw or car", fmt);
            return -1;
        }
    } else {
        h2o_iovec_t acc = get_header(req, H2O_TOKEN_ACCEPT);
        *raw = contains(acc, "application/vnd.ipld.raw");
        *car = !*raw && contains(acc, "application/vnd.ipld.car");
    }
    return 0;
}

/* Sends body whole with status 200 (headers only for HEAD). */
static int send_whole(h2o_req_t *req, const void *body, size_t len)
{
    req->res.status = 200;
    req->res.reason = http_reason(200);
    req->res.content_length = len;
    if (http_is_method(req, "HEAD")) {
        stream *s = stream_new(req);
        h2o_start_response(req, &s->super);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return 0;
    }
    h2o_send_inline(req, body, len); /* copies into the request's pool */
    return 0;
}

/* An identity CID (text, bin: its binary form): the block is the CID's own
 * bytes, so every node serves it without a store (the trustless gateway
 * spec's probe, bafkqaaa, is the empty raw block). A raw block is served as
 * a file too; other codecs only as ?format=raw or ?format=car. */
static int serve_identity(gw_req *g, const char *text, size_t text_len, const uint8_t *bin, size_t bin_len,
                          uint32_t codec, const uint8_t *data, size_t len)
{
    h2o_req_t *req = g->req;
    int raw, car;
    if (asked_format(req, &raw, &car) != 0)
        return 0;
    if (g->path[0])
        return http_reply_text_error(req, 400, "%.*s is a single block: no path below it", (int)text_len, text);
    if (!raw && !car && codec != CID_CODEC_RAW)
        return http_reply_text_error(req, 400, "%.*s inlines a block this gateway does not render: ask with ?format=raw or ?format=car",
                    (int)text_len, text);
    char etag[MULTIBASE_TEXT_MAX + 16];
    snprintf(etag, sizeof etag, "\"%.*s%s\"", (int)text_len, text, raw ? ".raw" : car ? ".car" : "");
    if (not_modified(g, etag))
        return reply_304(g, etag);
    common_headers(g, etag);
    if (car) {
        uint8_t out[CID_IDENTITY_MAX * 2 + 64];
        size_t n = car_header_bin(out, sizeof out, bin, bin_len);
        if (!n || n + 10 + bin_len + len > sizeof out)
            return http_reply_text_error(req, 500, "the CAR of %.*s does not fit", (int)text_len, text);
        n += varint_put(out + n, bin_len + len);
        memcpy(out + n, bin, bin_len), n += bin_len;
        memcpy(out + n, data, len), n += len;
        header(req, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("application/vnd.ipld.car; version=1"));
        return send_whole(req, out, n);
    }
    if (raw)
        header(req, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("application/vnd.ipld.raw"));
    else
        header_s(req, H2O_TOKEN_CONTENT_TYPE, sniff(data, len, 1));
    return send_whole(req, data, len);
}

/* Serves g->path below g->root: a UnixFS file or directory, or with
 * ?format= (or Accept) the raw block or a CAR. */
static int serve(gw_req *g)
{
    h2o_req_t *req = g->req;
    char err[512];
    cid_format(&g->root, g->root_text);
    int raw, car;
    if (asked_format(req, &raw, &car) != 0)
        return 0;

    ufs_stat st;
    int rc;
    if ((raw || car) && !g->path[0]) {
        g->target = g->root; /* any block: it need not be UnixFS */
        rc = STORE_OK;
    } else {
        rc = ufs_resolve(g->n->bs, NULL, &g->root, g->path, &g->target, &st, err, sizeof err);
        if (rc != STORE_OK)
            return store_fail(req, rc, err);
    }
    cid_format(&g->target, g->target_text);
    if ((is_hidden(g->n->bs, &g->root) || is_hidden(g->n->bs, &g->target)) &&
        !(raw && !g->path[0] && published_app_code(g->n, &g->target)))
        return http_reply_text_error(req, 404, "%s is an app's server code: it is not served", g->target_text);
    if (raw)
        return serve_raw(g);
    if (car)
        return serve_car(g);
    switch (st.type) {
    case UFS_FILE: {
        const char *last = strrchr(g->path, '/');
        return serve_file(g, &g->target, st.size, g->path[0] ? (last ? last + 1 : g->path) : NULL);
    }
    case UFS_DIRECTORY:
    case UFS_HAMT: return serve_dir(g, st.size);
    case UFS_SYMLINK: return http_reply_text_error(req, 400, "%s is a UnixFS symlink: the gateway does not follow them", g->target_text);
    default:
        return http_reply_text_error(req, 502, "%s is not UnixFS: ask for it with ?format=raw or ?format=car", g->target_text);
    }
}

int gateway_serve(h2o_req_t *req, node *n, const cid *root, const char *path)
{
    gw_req g = {.n = n, .req = req, .root = *root, .path = path};
    size_t plen = req->query_at == SIZE_MAX ? req->path.len : req->query_at;
    g.rawpath = h2o_iovec_init(req->path.base, plen);
    g.slash = plen > 0 && req->path.base[plen - 1] == '/';
    return serve(&g);
}

const char *gateway_file_type(h2o_req_t *req, node *n, const cid *file, uint64_t size, const char *name)
{
    const char *type = name ? type_by_name(&req->pool, name) : NULL;
    if (type)
        return type;
    char err[256];
    uint8_t head[SNIFF_LEN];
    ufs_reader *r;
    size_t got = 0;
    if (ufs_reader_open(n->bs, file, 0, SNIFF_LEN, &r, err, sizeof err) != STORE_OK)
        return NULL;
    int st = ufs_reader_read(r, head, sizeof head, &got, err, sizeof err);
    ufs_reader_free(r);
    return st != STORE_OK ? NULL : sniff(head, got, (uint64_t)got == size);
}

int gateway_on_ipfs(h2o_req_t *req, node *n)
{
    if (!allow_get(req))
        return 0;
    gw_req g = {.n = n, .req = req};
    const char *c;
    size_t clen;
    char err[512];
    if (split_request(&g, "/ipfs/", &c, &clen) != 0)
        return 0;
    if (cid_parse(c, clen, &g.root, err, sizeof err) != 0) {
        uint8_t bin[MULTIBASE_TEXT_MAX];
        int got = multibase_decode(c, clen, bin, sizeof bin);
        uint32_t codec;
        const uint8_t *data;
        size_t len;
        if (got > 0 && cid_identity(bin, (size_t)got, &codec, &data, &len))
            return serve_identity(&g, c, clen, bin, (size_t)got, codec, data, len);
        return http_reply_text_error(req, 400, "%s", err);
    }
    char reader[IDS_LID_LEN + 1];
    if (http_reader(req, g.n, reader) != 0)
        return 0;
    if (node_root_hidden(g.n, &g.root, reader)) /* a private MiMei's root: its readers only */
        return http_reply_text_error(req, 403, "%.*s belongs to private MiMei only: sign the request as a key that may read one",
                    (int)clen, c);
    return serve(&g);
}

/* /mm/MID[/PATH][?ver=N|last|cur][&app=APPID|&raw=1]: a file MiMei's
 * version (public, or the request is signed by a key that may read it), rendered by its default app (or ?app=), else served raw (the
 * content of its root CID) as with ?raw=1. */
int gateway_on_mm(h2o_req_t *req, node *n)
{
    if (!allow_get(req))
        return 0;
    gw_req g = {.n = n, .req = req};
    const char *m;
    size_t mlen;
    if (split_request(&g, "/mm/", &m, &mlen) != 0)
        return 0;
    char mid[IDS_LID_LEN + 1], ver_arg[32] = "", app[64] = "", raw[8] = "", err[512], *text = NULL;
    if (mlen != IDS_LID_LEN)
        return http_reply_text_error(req, 400, "'%.*s' is not a MiMei ID", (int)(mlen > 64 ? 64 : mlen), m);
    memcpy(mid, m, mlen);
    mid[mlen] = '\0';
    if (!db_mimei_get(n->db, mid, &text, NULL))
        return http_reply_text_error(req, 404, "no MiMei %s on this node", mid);
    json_t *info = json_loads(text, 0, NULL);
    free(text);
    char reader[IDS_LID_LEN + 1];
    if (http_reader(req, n, reader) != 0) {
        json_decref(info);
        return 0;
    }
    int readable = info && node_may_read(n, info, reader);
    int is_file = info && (!strcmp(mimei_str(info, "AppType"), "file") || !strcmp(mimei_str(info, "AppType"), "app"));
    if (!readable || !is_file) {
        json_decref(info);
        return readable ? http_reply_text_error(req, 400, "MiMei %s is a database: read it over the Redis protocol", mid)
                        : http_reply_text_error(req, 403, "MiMei %s is private: sign the request as a key that may read it", mid);
    }
    http_query(req, "ver", ver_arg, sizeof ver_arg);
    http_query(req, "app", app, sizeof app);
    http_query(req, "raw", raw, sizeof raw);
    if (!app[0] && strcmp(mimei_str(info, "AppType"), "app"))
        snprintf(app, sizeof app, "%s", mimei_str(info, "App"));
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn) {
        json_decref(info);
        return http_reply_text_error(req, 500, "%s", err);
    }
    uint32_t ver;
    int rc = files_version(n->bs, txn, mid, ver_arg, &ver, err, sizeof err);
    if (!rc)
        files_get(n->bs, txn, mid, ver, &g.root);
    mdb_txn_abort(txn);
    if (rc) {
        json_decref(info);
        return http_reply_text_error(req, 404, "%s", err);
    }
    if (app[0] && strcmp(raw, "1"))
        rc = renderer ? renderer(req, n, info, app, ver, &g.root, g.path, reader)
                      : http_reply_text_error(req, 404, "this node renders no MiMei through apps");
    else
        rc = serve(&g);
    json_decref(info);
    return rc;
}

void gateway_set_renderer(gateway_renderer fn) { renderer = fn; }
void gateway_set_published(gateway_published fn) { published = fn; }
