/*
 * origins: which origin a request is on, decided from its Host alone, and
 * what may be served there. A browser keeps storage (the SDK's signed-in
 * key) per origin, so nothing a stranger or an app wrote may share one with
 * the node's own pages or with another app:
 *   ID.app.BASE    the app ID: every path is the app's, but /api/v0/ and
 *                  /sdk/ (the node's API and SDK, same-origin for the app's
 *                  pages) and /ipfs/, /mm/ (served sandboxed, below);
 *   CID.ipfs.BASE  content CID: every path is a path inside it;
 *   ID.mm.BASE     MiMei ID, as /mm/ID serves it;
 *   anything else  the node's own origin (BASE): /, /api/v0/, /sdk/, and
 *                  the path forms /tpt/APPID/, /ipfs/CID/, /mm/MID/.
 * A label is case-insensitive: an app or MiMei ID is the base32 (RFC 4648,
 * lower case, no padding) of its 20 bytes, a CID its CIDv1 in base32 (a
 * CIDv0 converted as kubo does).
 *
 * The path forms on the node's origin are redirected to the subdomain forms
 * when the Host is a name whose subdomains reach this node ("localhost", or
 * one listed in the setting "gateway_domains"); elsewhere (an IP address, a
 * name without wildcard DNS) they are served with a CSP sandbox without
 * allow-same-origin: the page gets an opaque origin that reads no storage.
 * On the other origins a path form naming an ID is redirected too, so links
 * written for the path forms (a renderer's /mm/MID/x, /tpt/APPID/style.css)
 * keep working; /ipfs/ and /mm/ on an app's origin are served sandboxed
 * instead (the SDK fetches content there, and a redirect would make that
 * cross-origin).
 * Every response carries X-Content-Type-Options: nosniff.
 *
 * origins_route runs before the prefix table (http.c): it answers
 * redirects, adds headers, and on a subdomain rewrites the path to the
 * internal form (/tpt/APPID/..., /ipfs/CID/..., /mm/MID/...) that the table
 * then routes. req->input.path keeps what the client sent (signatures cover
 * it).
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define LABEL_MAX 63 /* a DNS label */

const char origins_sandbox_csp[] = "sandbox allow-scripts allow-forms allow-popups allow-downloads";

/* --- labels ---------------------------------------------------------------- */

static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";

static size_t base32_lower(char *out, const uint8_t *in, size_t n)
{
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = B32[(acc >> bits) & 31];
        }
    }
    if (bits)
        out[o++] = B32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return o;
}

/* -1 on a character outside the alphabet or nonzero trailing bits */
static int base32_lower_decode(uint8_t *out, size_t cap, size_t *outlen, const char *in, size_t n)
{
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(B32, tolower((unsigned char)in[i]), 32);
        if (!p || !in[i])
            return -1;
        acc = (acc << 5) | (unsigned)(p - B32);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1))
        return -1;
    *outlen = o;
    return 0;
}

int origins_label(enum origin_kind kind, const char *id, size_t idlen, char *label, size_t cap)
{
    char err[128];
    if (kind == ORIGIN_IPFS) {
        cid c;
        if (cid_parse(id, idlen, &c, err, sizeof err) != 0)
            return -1;
        c.version = 1; /* a CIDv0 is dag-pb: the same codec as CIDv1 */
        char text[CID_TEXT_MAX];
        size_t len = cid_format(&c, text);
        if (len > LABEL_MAX || len >= cap)
            return -1;
        memcpy(label, text, len + 1);
        return 0;
    }
    uint8_t bin[IDS_LID_LEN];
    size_t binlen;
    char back[IDS_LID_LEN + 1];
    if (idlen != IDS_LID_LEN || ids_b64url_decode(bin, sizeof bin, &binlen, id, idlen) != 0 || binlen != 20 ||
        cap < 33)
        return -1;
    ids_b64url_encode(back, bin, binlen); /* one spelling per ID: the canonical one */
    if (memcmp(back, id, IDS_LID_LEN))
        return -1;
    base32_lower(label, bin, binlen);
    return 0;
}

/* The ID a label names, in the path form's spelling: 0 or -1. */
static int label_id(enum origin_kind kind, const char *label, size_t len, char *id, size_t cap)
{
    if (kind == ORIGIN_IPFS) {
        char err[128];
        cid c;
        char lower[LABEL_MAX + 1];
        if (len > LABEL_MAX || len < 2)
            return -1;
        for (size_t i = 0; i < len; i++)
            lower[i] = (char)tolower((unsigned char)label[i]);
        if (lower[0] != 'b' || cid_parse(lower, len, &c, err, sizeof err) != 0 || cap < CID_TEXT_MAX)
            return -1;
        cid_format(&c, id);
        return 0;
    }
    uint8_t bin[32];
    size_t binlen;
    if (len != 32 || base32_lower_decode(bin, sizeof bin, &binlen, label, len) != 0 || binlen != 20 ||
        cap < IDS_LID_LEN + 1)
        return -1;
    ids_b64url_encode(id, bin, binlen);
    return 0;
}

static const char *const kind_names[] = {[ORIGIN_NODE] = "", [ORIGIN_APP] = "app", [ORIGIN_IPFS] = "ipfs",
                                         [ORIGIN_MM] = "mm"};
static const char *const path_prefixes[] = {[ORIGIN_NODE] = "/", [ORIGIN_APP] = "/tpt/", [ORIGIN_IPFS] = "/ipfs/",
                                            [ORIGIN_MM] = "/mm/"};

/* --- hosts ----------------------------------------------------------------- */

/* The host of an authority, without its port (an IPv6 literal keeps its
 * brackets); the port part ("" or ":N") in *port. */
static h2o_iovec_t host_of(h2o_iovec_t authority, h2o_iovec_t *port)
{
    const char *p = authority.base, *end = p + authority.len;
    const char *colon = NULL;
    if (authority.len && p[0] == '[') {
        const char *close = memchr(p, ']', authority.len);
        colon = close && close + 1 < end && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(p, ':', authority.len);
    }
    *port = colon ? h2o_iovec_init(colon, (size_t)(end - colon)) : h2o_iovec_init("", 0);
    return h2o_iovec_init(p, colon ? (size_t)(colon - p) : authority.len);
}

static int is_ip_literal(h2o_iovec_t host)
{
    char text[64];
    uint8_t addr[16];
    if (host.len && host.base[0] == '[')
        return 1;
    if (host.len >= sizeof text)
        return 0;
    memcpy(text, host.base, host.len);
    text[host.len] = '\0';
    return inet_pton(AF_INET, text, addr) == 1;
}

static int ends_with_domain(h2o_iovec_t host, const char *domain)
{
    size_t d = strlen(domain);
    if (!d || host.len < d || strncasecmp(host.base + host.len - d, domain, d))
        return 0;
    return host.len == d || host.base[host.len - d - 1] == '.';
}

/* Subdomains of host reach this node: it is localhost (or below it), or
 * below a name in "gateway_domains". */
static int host_has_subdomains(node *n, h2o_iovec_t host)
{
    if (!host.len || is_ip_literal(host))
        return 0;
    for (size_t i = 0; i < host.len; i++) /* a DNS name, nothing a Location could be bent with */
        if (!isalnum((unsigned char)host.base[i]) && host.base[i] != '.' && host.base[i] != '-')
            return 0;
    if (ends_with_domain(host, "localhost"))
        return 1;
    int found = 0;
    pthread_mutex_lock(&n->lock);
    json_t *list = json_object_get(n->home.doc, "gateway_domains"), *item;
    size_t i;
    json_array_foreach(list, i, item)
    {
        if (json_is_string(item) && ends_with_domain(host, json_string_value(item)))
            found = 1;
    }
    pthread_mutex_unlock(&n->lock);
    return found;
}

int origins_of(h2o_req_t *req, char *id, size_t cap, h2o_iovec_t *base)
{
    h2o_iovec_t port, host = host_of(req->authority, &port);
    if (base)
        *base = req->authority;
    const char *dot1 = memchr(host.base, '.', host.len);
    if (!dot1 || is_ip_literal(host))
        return ORIGIN_NODE;
    const char *after = dot1 + 1, *end = host.base + host.len;
    const char *dot2 = memchr(after, '.', (size_t)(end - after));
    if (!dot2)
        return ORIGIN_NODE;
    for (int kind = ORIGIN_APP; kind <= ORIGIN_MM; kind++) {
        size_t kl = strlen(kind_names[kind]);
        if ((size_t)(dot2 - after) != kl || strncasecmp(after, kind_names[kind], kl))
            continue;
        if (label_id(kind, host.base, (size_t)(dot1 - host.base), id, cap) != 0)
            return ORIGIN_NODE; /* not an ID: an ordinary name */
        if (base)
            *base = h2o_iovec_init(dot2 + 1, (size_t)(req->authority.base + req->authority.len - (dot2 + 1)));
        return kind;
    }
    return ORIGIN_NODE;
}

int origins_url(h2o_req_t *req, node *n, enum origin_kind kind, const char *id, char *out, size_t cap)
{
    char label[LABEL_MAX + 1], scratch[CID_TEXT_MAX];
    h2o_iovec_t base, port;
    int on_node = origins_of(req, scratch, sizeof scratch, &base) == ORIGIN_NODE;
    h2o_iovec_t host = host_of(base, &port);
    int len;
    if (host_has_subdomains(n, host) && origins_label(kind, id, strlen(id), label, sizeof label) == 0)
        len = snprintf(out, cap, "%s://%s.%s.%.*s", req->scheme->name.base, label, kind_names[kind], (int)base.len,
                       base.base);
    else if (on_node) /* the path form, on this very origin */
        len = snprintf(out, cap, "%s%s", path_prefixes[kind], id);
    else
        len = snprintf(out, cap, "%s://%.*s%s%s", req->scheme->name.base, (int)base.len, base.base,
                       path_prefixes[kind], id);
    return len > 0 && (size_t)len < cap ? 0 : -1;
}

/* --- requests -------------------------------------------------------------- */

static void add_header(h2o_req_t *req, const char *name, const char *value)
{
    h2o_set_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, value, strlen(value), 1);
}

static int starts(h2o_iovec_t path, const char *prefix)
{
    size_t n = strlen(prefix);
    return path.len >= n && !memcmp(path.base, prefix, n);
}

/* Rewrites req to the internal path prefix + id + the client's path. */
static void rewrite(h2o_req_t *req, enum origin_kind kind, const char *id)
{
    const char *prefix = path_prefixes[kind];
    h2o_iovec_t path = h2o_concat(&req->pool, h2o_iovec_init(prefix, strlen(prefix)), h2o_iovec_init(id, strlen(id)),
                                  req->input.path);
    req->path = path;
    req->query_at = req->input.query_at == SIZE_MAX ? SIZE_MAX : req->input.query_at + strlen(prefix) + strlen(id);
    size_t q = req->query_at;
    req->path_normalized = h2o_url_normalize_path(&req->pool, path.base, path.len, &q, &req->norm_indexes);
}

/* A path form of kind k (/tpt/ID/..., /ipfs/CID/..., /mm/ID/...) answered
 * with 301 (308 for other methods) to ID's own origin under base, when
 * base has subdomains. 1 after replying, 0 when it is not redirected. */
static int redirect_path_form(h2o_req_t *req, node *n, int k, h2o_iovec_t base)
{
    h2o_iovec_t path = req->input.path, port;
    const char *first = path.base + strlen(path_prefixes[k]);
    size_t plen = req->input.query_at == SIZE_MAX ? path.len : req->input.query_at;
    const char *end = path.base + plen;
    const char *slash = memchr(first, '/', (size_t)(end - first));
    const char *idend = slash ? slash : end;
    char label[LABEL_MAX + 1];
    if (!host_has_subdomains(n, host_of(base, &port)) ||
        origins_label(k, first, (size_t)(idend - first), label, sizeof label) != 0)
        return 0;
    h2o_iovec_t rest = h2o_iovec_init(idend, (size_t)(path.base + path.len - idend));
    if (!rest.len || rest.base[0] == '?')
        rest = h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("/")), rest);
    h2o_iovec_t loc = h2o_concat(&req->pool, req->scheme->name, h2o_iovec_init(H2O_STRLIT("://")),
                                 h2o_iovec_init(label, strlen(label)), h2o_iovec_init(H2O_STRLIT(".")),
                                 h2o_iovec_init(kind_names[k], strlen(kind_names[k])), h2o_iovec_init(H2O_STRLIT(".")),
                                 base, rest);
    /* 308 keeps a POST a POST; h2o_send_redirect would drop the headers set so far */
    int get = http_is_method(req, "GET") || http_is_method(req, "HEAD");
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, loc.base, loc.len);
    http_reply(req, get ? 301 : 308, "text/plain; charset=utf-8", loc.base, loc.len);
    return 1;
}

/* Which path form the client's path is (ORIGIN_NODE: none) */
static int path_form(h2o_req_t *req)
{
    for (int k = ORIGIN_APP; k <= ORIGIN_MM; k++)
        if (starts(req->input.path, path_prefixes[k]))
            return k;
    return ORIGIN_NODE;
}

int origins_route(h2o_req_t *req, node *n)
{
    add_header(req, "x-content-type-options", "nosniff");
    char id[CID_TEXT_MAX];
    h2o_iovec_t base;
    enum origin_kind kind = origins_of(req, id, sizeof id, &base);
    h2o_iovec_t path = req->input.path;
    int form = path_form(req);

    if (kind == ORIGIN_NODE) { /* path forms: redirected, else sandboxed */
        if (form != ORIGIN_NODE) {
            if (redirect_path_form(req, n, form, base))
                return 1;
            add_header(req, "content-security-policy", origins_sandbox_csp);
        }
        return 0;
    }
    if (kind == ORIGIN_APP) {
        if (starts(path, "/api/v0/") || starts(path, "/sdk/"))
            return 0;
        if (form == ORIGIN_IPFS || form == ORIGIN_MM) { /* the SDK reads content here: never as the app */
            add_header(req, "content-security-policy", origins_sandbox_csp);
            return 0;
        }
    }
    /* links written for the path forms (a renderer's /mm/MID/x, /tpt/APPID/style.css) lead to their origins */
    if (form != ORIGIN_NODE && redirect_path_form(req, n, form, base))
        return 1;
    rewrite(req, kind, id);
    return 0;
}
