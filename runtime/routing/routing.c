/*
 * routing: /routing/v1/, the Delegated Routing V1 HTTP API (routing.h).
 * Every reply carries the open CORS headers; records are built as jansson
 * objects and sent whole (JSON) or one a line (NDJSON), both small and
 * bounded by ROUTING_*_MAX.
 */
#include "routing.h"

#include "buf.h"
#include "ids.h"
#include "store.h"

#include <h2o.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/routing/v1"
#define PROTOCOL "transport-ipfs-gateway-http"
#define LIBP2P_KEY 0x72 /* the multicodec of a peer ID written as a CID */
#define MH_MAX 128      /* the longest multihash taken: peer IDs inline 36 bytes, CIDs' hashes 32 to 64 */
#define SHOWN_MAX 80    /* how much of a bad argument an error repeats */

static struct {
    routing_source fn;
    void *arg;
} sources[ROUTING_SOURCES_MAX];
static size_t nsources;

int routing_add_source(routing_source fn, void *arg)
{
    if (nsources == ROUTING_SOURCES_MAX)
        return -1;
    sources[nsources].fn = fn;
    sources[nsources].arg = arg;
    nsources++;
    return 0;
}

/* --- replies ------------------------------------------------------------- */

static void header(h2o_req_t *req, const h2o_token_t *token, const char *value, size_t len)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, len);
}

/* Every reply, errors too: any site may ask (the spec's CORS section). */
static void cors(h2o_req_t *req)
{
    header(req, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, H2O_STRLIT("*"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-methods"), 0, NULL,
                          H2O_STRLIT("GET, HEAD, OPTIONS"));
}


/* text as an error may repeat it: at most SHOWN_MAX bytes, control bytes
 * and quotes as '?', so the reason stays one line */
static void shown(char out[SHOWN_MAX + 1], const char *text, size_t len)
{
    size_t n = len > SHOWN_MAX ? SHOWN_MAX : len;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f || text[i] == '\'' ? '?' : text[i];
    out[n] = '\0';
}

static int wants_ndjson(h2o_req_t *req)
{
    ssize_t at = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
    if (at < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[at].value;
    static const char want[] = "application/x-ndjson";
    for (size_t i = 0; i + sizeof want - 1 <= v.len; i++)
        if (!strncasecmp(v.base + i, want, sizeof want - 1))
            return 1;
    return 0;
}

/* --- filters (IPIP-0484) -------------------------------------------------- */

#define FILTER_NAMES 16
#define FILTER_NAME_MAX 64 /* names are at most 63 characters */

/* ?filter-addrs= or ?filter-protocols=: names to keep, "!name" to drop,
 * "unknown" for records without that information. */
typedef struct {
    int given;
    size_t n;
    char name[FILTER_NAMES][FILTER_NAME_MAX];
    int negative[FILTER_NAMES];
    int positives; /* how many names are not negative */
} filter;

/* 0, or -1 when the list is too long or holds an empty or oversize name */
static int parse_filter(h2o_req_t *req, const char *param, filter *f)
{
    char text[FILTER_NAMES * FILTER_NAME_MAX];
    memset(f, 0, sizeof *f);
    if (!http_query(req, param, text, sizeof text))
        return 0;
    f->given = 1;
    for (char *p = text, *comma; p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int negative = len > 0 && p[0] == '!';
        if (negative)
            p++, len--;
        if (!len || len >= FILTER_NAME_MAX || f->n == FILTER_NAMES)
            return -1;
        memcpy(f->name[f->n], p, len);
        f->name[f->n][len] = '\0';
        f->negative[f->n++] = negative;
        f->positives += !negative;
    }
    return 0;
}

/* whether word (len bytes) is one of f's names of that sign */
static int filter_names(const filter *f, const char *word, size_t len, int negative)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->negative[i] == negative && strlen(f->name[i]) == len && !strncasecmp(f->name[i], word, len))
            return 1;
    return 0;
}

/* A multiaddr passes when none of its components ("/ip4/1.2.3.4/tcp/80/http")
 * is a negative name, and one is a positive name if there are any. */
static int addr_passes(const filter *f, const char *text)
{
    int positive = 0;
    for (const char *p = text; *p;) {
        while (*p == '/')
            p++;
        size_t len = strcspn(p, "/");
        if (!len)
            break;
        if (filter_names(f, p, len, 1))
            return 0;
        positive |= filter_names(f, p, len, 0);
        p += len;
    }
    return positive || !f->positives;
}

/* Applies the filters to record (changing its Addrs): 1 to keep it, 0 to
 * leave it out. */
static int filter_record(const filter *addrs, const filter *protocols, json_t *record)
{
    if (protocols->given) {
        json_t *list = json_object_get(record, "Protocols");
        size_t i;
        int kept = 0;
        json_t *v;
        if (!json_array_size(list))
            return !protocols->positives || filter_names(protocols, "unknown", 7, 0);
        json_array_foreach(list, i, v)
        {
            if (!json_is_string(v))
                continue;
            if (filter_names(protocols, json_string_value(v), json_string_length(v), 1))
                return 0;
            kept |= filter_names(protocols, json_string_value(v), json_string_length(v), 0);
        }
        if (protocols->positives && !kept)
            return 0;
    }
    if (addrs->given) {
        json_t *list = json_object_get(record, "Addrs"), *passed = json_array();
        size_t i;
        json_t *v;
        if (!json_array_size(list)) {
            json_decref(passed);
            return !addrs->positives || filter_names(addrs, "unknown", 7, 0);
        }
        json_array_foreach(list, i, v)
        if (json_is_string(v) && addr_passes(addrs, json_string_value(v)))
            json_array_append(passed, v);
        int any = json_array_size(passed) > 0;
        json_object_set_new(record, "Addrs", passed);
        return any;
    }
    return 1;
}

/* --- collecting records -------------------------------------------------- */

typedef struct {
    json_t *list; /* the records, in order */
    size_t max;
    filter addrs, protocols;
} collect;

/* routing_emit: keeps well-formed records, one per ID, up to the cap */
static int emit(void *ctx, json_t *record)
{
    collect *c = ctx;
    if (json_array_size(c->list) >= c->max) {
        json_decref(record);
        return 1;
    }
    const char *schema = json_string_value(json_object_get(record, "Schema"));
    const char *id = json_string_value(json_object_get(record, "ID"));
    int keep = json_is_object(record) && schema && id && filter_record(&c->addrs, &c->protocols, record);
    size_t i;
    json_t *had;
    json_array_foreach(c->list, i, had)
    if (keep && !strcmp(json_string_value(json_object_get(had, "ID")), id))
        keep = 0; /* a peer once: the first source (this node) wins */
    if (keep)
        json_array_append_new(c->list, record);
    else
        json_decref(record);
    return json_array_size(c->list) >= c->max;
}

static void ask_sources(node *n, enum routing_kind kind, const uint8_t *key, size_t key_len, collect *c)
{
    for (size_t i = 0; i < nsources && json_array_size(c->list) < c->max; i++)
        sources[i].fn(sources[i].arg, n, kind, key, key_len, emit, c);
}

/* Sends the records under name ("Providers", "Peers") as JSON, or one a
 * line as NDJSON. Empty lists are answered too: 200, as IPIP-0513 says. */
static int reply_records(h2o_req_t *req, const char *name, collect *c, int ndjson)
{
    size_t count = json_array_size(c->list);
    char *text;
    size_t len = 0;
    if (ndjson) {
        buf out = {0};
        size_t i;
        json_t *r;
        json_array_foreach(c->list, i, r)
        {
            char *line = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (!line || buf_puts(&out, line) || buf_puts(&out, "\n"))
                out.failed = 1;
            free(line);
        }
        json_decref(c->list);
        if (out.failed) {
            buf_free(&out);
            return http_reply_text_error(req, 500, "out of memory");
        }
        text = out.p; /* NULL when empty */
        len = out.len;
    } else {
        json_t *doc = json_pack("{s:o}", name, c->list);
        text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(doc);
        if (!text)
            return http_reply_text_error(req, 500, "out of memory");
        len = strlen(text);
        text[len++] = '\n'; /* json_dumps leaves room: its NUL */
    }
    header(req, H2O_TOKEN_VARY, H2O_STRLIT("Accept"));
    /* what a node holds changes: found answers for minutes, none briefly */
    if (count)
        header(req, H2O_TOKEN_CACHE_CONTROL, H2O_STRLIT("public, max-age=300"));
    else
        header(req, H2O_TOKEN_CACHE_CONTROL, H2O_STRLIT("public, max-age=15"));
    const char *type = ndjson ? "application/x-ndjson" : "application/json";
    header(req, H2O_TOKEN_CONTENT_TYPE, type, strlen(type));
    req->res.status = 200;
    req->res.reason = http_reason(200);
    req->res.content_length = len;
    h2o_send_inline(req, text ? text : "", len); /* copies into the request's pool */
    free(text);
    return 0;
}

/* --- this node's record -------------------------------------------------- */

/* The host name the client used, when it is a DNS name (not an IP literal)
 * a multiaddr may carry: its length, else 0. port gets its port or 80. */
static size_t host_name(h2o_req_t *req, const char **name, int *port)
{
    h2o_iovec_t a = req->authority;
    *port = 80;
    size_t len = a.len;
    const char *colon = memchr(a.base, ':', a.len);
    if (colon) {
        len = (size_t)(colon - a.base);
        char digits[8];
        size_t dl = a.len - len - 1;
        if (dl == 0 || dl >= sizeof digits)
            return 0;
        memcpy(digits, colon + 1, dl);
        digits[dl] = '\0';
        char *end;
        long p = strtol(digits, &end, 10);
        if (*end || p <= 0 || p > 65535)
            return 0;
        *port = (int)p;
    }
    if (len == 0 || len > 253 || a.base[0] == '[')
        return 0;
    int letters = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = a.base[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
            return 0;
        letters |= (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    }
    if (!letters)
        return 0; /* an IPv4 literal: the interface addresses already say it */
    *name = a.base;
    return len;
}

json_t *routing_self_record(h2o_req_t *req, node *n)
{
    json_t *addrs = json_array();
    const char *name = NULL;
    int port;
    size_t len = req ? host_name(req, &name, &port) : 0;
    if (len && strncasecmp(name, "localhost", len)) {
        char ma[300];
        snprintf(ma, sizeof ma, "/dns/%.*s/tcp/%d/http", (int)len, name, port);
        json_array_append_new(addrs, json_string(ma));
    }
    json_t *tcp = node_multiaddrs(n->home.port, n->home.listen);
    size_t i;
    json_t *a;
    json_array_foreach(tcp, i, a)
    {
        char ma[128];
        snprintf(ma, sizeof ma, "%s/http", json_string_value(a));
        json_array_append_new(addrs, json_string(ma));
    }
    json_decref(tcp);
    return json_pack("{s:s,s:s,s:o,s:[s]}", "Schema", "peer", "ID", n->peer_id, "Addrs", addrs, "Protocols", PROTOCOL);
}

/* --- arguments ----------------------------------------------------------- */

/* A multihash exactly filling p[0..len): code, length, digest. */
static int is_multihash(const uint8_t *p, size_t len)
{
    uint64_t code, dlen;
    size_t a = varint_get(p, len, &code);
    size_t b = a ? varint_get(p + a, len - a, &dlen) : 0;
    return b && dlen == len - a - b;
}

/* Reads a CIDv1's binary form: 1 with its codec and multihash, else 0. */
static int split_cid(const uint8_t *bin, size_t n, uint64_t *codec, const uint8_t **mh, size_t *mh_len)
{
    uint64_t version;
    size_t a = varint_get(bin, n, &version);
    size_t b = a && version == 1 ? varint_get(bin + a, n - a, codec) : 0;
    if (!b || !is_multihash(bin + a + b, n - a - b))
        return 0;
    *mh = bin + a + b;
    *mh_len = n - a - b;
    return 1;
}

/* A peer ID as the spec writes it: base58btc of the multihash ("12D3KooW...",
 * "Qm..."), or a CIDv1 with the libp2p-key codec in any multibase. Its
 * multihash into mh: the length, or 0 when it is not a peer ID. */
static size_t parse_peer_id(const char *text, size_t len, uint8_t mh[MH_MAX])
{
    uint8_t bin[MH_MAX + 16];
    size_t n = 0;
    if (len > 0 && (text[0] == '1' || text[0] == 'Q')) {
        if (len > 100 || ids_base58_decode(bin, sizeof bin, &n, text, len) != 0 || !is_multihash(bin, n) || n > MH_MAX)
            return 0;
        memcpy(mh, bin, n);
        return n;
    }
    int got = multibase_decode(text, len, bin, sizeof bin);
    uint64_t codec;
    const uint8_t *p;
    if (got <= 0 || !split_cid(bin, (size_t)got, &codec, &p, &n) || codec != LIBP2P_KEY || n > MH_MAX)
        return 0;
    memcpy(mh, p, n);
    return n;
}

/* This node may tell anyone it serves c: it holds the block and the gateway
 * would give it to an anonymous client. */
static int serves_publicly(node *n, const cid *c)
{
    char err[256];
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return 0;
    int held = bs_has(n->bs, txn, c) && !bs_is_hidden(n->bs, txn, c);
    mdb_txn_abort(txn);
    return held && !node_root_hidden(n, c, "");
}

/* --- handlers ------------------------------------------------------------ */

/* A collector for req: its cap and its filters. 0, or -1 after replying
 * 400 to a malformed filter. */
static int collect_init(h2o_req_t *req, collect *c)
{
    memset(c, 0, sizeof *c);
    c->max = wants_ndjson(req) ? ROUTING_STREAM_MAX : ROUTING_JSON_MAX;
    if (parse_filter(req, "filter-addrs", &c->addrs) != 0 || parse_filter(req, "filter-protocols", &c->protocols) != 0) {
        http_reply_text_error(req, 400, "a filter is a comma-separated list of at most %d names of at most %d characters, each "
                       "optionally with '!'", FILTER_NAMES, FILTER_NAME_MAX - 1);
        return -1;
    }
    c->list = json_array();
    return 0;
}

static int on_providers(h2o_req_t *req, node *n, const char *arg, size_t len)
{
    char show[SHOWN_MAX + 1], err[256];
    collect c;
    if (collect_init(req, &c) != 0)
        return 0;
    cid parsed;
    uint8_t mh[MH_MAX + 16];
    size_t mh_len = 0;
    if (len <= CID_TEXT_MAX && cid_parse(arg, len, &parsed, err, sizeof err) == 0) {
        if (serves_publicly(n, &parsed)) {
            json_t *self = routing_self_record(req, n);
            if (self)
                emit(&c, self);
        }
        cid_multihash(&parsed, mh);
        mh_len = MH_LEN;
    } else {
        /* a CID this store cannot hold (another hash or codec, an identity
         * CID) is still a question: the sources may know, else none */
        uint8_t bin[MULTIBASE_TEXT_MAX];
        int got = multibase_decode(arg, len, bin, sizeof bin);
        uint64_t codec;
        const uint8_t *p;
        if (got <= 0 || !split_cid(bin, (size_t)got, &codec, &p, &mh_len) || mh_len > MH_MAX) {
            json_decref(c.list);
            shown(show, arg, len);
            return http_reply_text_error(req, 400, "invalid CID '%s%s'", show, len > SHOWN_MAX ? "..." : "");
        }
        memcpy(mh, p, mh_len);
    }
    ask_sources(n, ROUTING_PROVIDERS, mh, mh_len, &c);
    return reply_records(req, "Providers", &c, wants_ndjson(req));
}

static int on_peers(h2o_req_t *req, node *n, const char *arg, size_t len)
{
    char show[SHOWN_MAX + 1];
    uint8_t mh[MH_MAX], own[MH_MAX];
    size_t mh_len = parse_peer_id(arg, len, mh), own_len = 0;
    if (!mh_len) {
        shown(show, arg, len);
        return http_reply_text_error(req, 400, "invalid peer ID '%s%s': give base58 (12D3KooW...) or a CIDv1 libp2p-key", show,
                    len > SHOWN_MAX ? "..." : "");
    }
    collect c;
    if (collect_init(req, &c) != 0)
        return 0;
    if (ids_base58_decode(own, sizeof own, &own_len, n->peer_id, strlen(n->peer_id)) == 0 && own_len == mh_len &&
        !memcmp(own, mh, mh_len)) {
        json_t *self = routing_self_record(req, n);
        if (self)
            emit(&c, self);
    }
    ask_sources(n, ROUTING_PEERS, mh, mh_len, &c);
    return reply_records(req, "Peers", &c, wants_ndjson(req));
}

/* OPTIONS: the CORS preflight */
static int preflight(h2o_req_t *req)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-headers"), 0, NULL,
                          H2O_STRLIT("Accept, Content-Type"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-max-age"), 0, NULL,
                          H2O_STRLIT("86400"));
    req->res.status = 204;
    req->res.reason = http_reason(204);
    req->res.content_length = 0;
    h2o_send_inline(req, "", 0);
    return 0;
}

int routing_on_request(h2o_req_t *req, node *n)
{
    cors(req); /* every reply, errors included: any origin may ask */
    if (http_is_method(req, "OPTIONS"))
        return preflight(req);
    h2o_iovec_t path = req->path_normalized; /* no query; dot segments resolved */
    size_t pl = sizeof PREFIX - 1;
    const char *rest = path.base + pl, *end = path.base + path.len;
    if (path.len < pl || memcmp(path.base, PREFIX, pl) || (rest < end && *rest++ != '/'))
        return http_reply_text_error(req, 400, "unknown path: ask for " PREFIX "/providers/CID or " PREFIX "/peers/PEER-ID");
    const char *slash = memchr(rest, '/', (size_t)(end - rest));
    size_t what_len = slash ? (size_t)(slash - rest) : (size_t)(end - rest);
    const char *arg = slash ? slash + 1 : end;
    size_t arg_len = (size_t)(end - arg);
    int providers = what_len == 9 && !memcmp(rest, "providers", 9);
    int peers = what_len == 5 && !memcmp(rest, "peers", 5);
    int ipns = what_len == 4 && !memcmp(rest, "ipns", 4);
    if (!http_is_method(req, "GET") && !http_is_method(req, "HEAD")) {
        header(req, H2O_TOKEN_ALLOW, H2O_STRLIT("GET, HEAD, OPTIONS"));
        return http_reply_text_error(req, 501, "this node answers GET: it takes no records (PUT)");
    }
    if (ipns)
        return http_reply_text_error(req, 501, "this node does not resolve IPNS names");
    if ((!providers && !peers) || !slash || !arg_len || memchr(arg, '/', arg_len))
        return http_reply_text_error(req, 400, "unknown path: ask for " PREFIX "/providers/CID or " PREFIX "/peers/PEER-ID");
    return providers ? on_providers(req, n, arg, arg_len) : on_peers(req, n, arg, arg_len);
}
