/* sync: the fetcher (fetcher.h), and sync.h's HTTP GET and address rule */
#include "fetcher.h"
#include "sync.h"

#include "errbuf.h"
#include "httpc.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* --- sync.h: one GET, one base URL ----------------------------------------- */

/* GET url within lim: the body of a 200, else NULL with why (a status
 * other than 200 with the body's first line). */
static char *get_200(const char *url, const httpc_limits *lim, size_t *len, char *err, size_t errlen)
{
    long status;
    char *body = httpc_get(url, lim, len, &status, err, errlen);
    if (body && status != 200) {
        /* the answer's first line, its control bytes masked: it ends up in the log */
        char line[201];
        size_t n = 0;
        for (; n < sizeof line - 1 && body[n] && body[n] != '\r' && body[n] != '\n'; n++)
            line[n] = (unsigned char)body[n] < 0x20 || body[n] == 0x7f ? '?' : body[n];
        line[n] = '\0';
        ERR("%.200s: HTTP %ld%s%s", url, status, n ? ": " : "", line);
        free(body);
        return NULL;
    }
    return body;
}

char *sync_http_get(const char *url, size_t max, size_t *len, char *err, size_t errlen)
{
    httpc_limits lim = {.connect_ms = FETCH_CONNECT_MS, .total_ms = FETCH_REQUEST_MS, .max = max};
    size_t got;
    char *body = get_200(url, &lim, &got, err, errlen);
    if (body && len)
        *len = got;
    return body;
}

/* "/ip4/A/tcp/P..." or "/ip6/A/tcp/P..." into "http://A:P" or
 * "http://[A]:P": 0, or -1 when it is neither or names no address a
 * request can go to (unspecified, or IPv6 link-local, which needs a zone). */
static int multiaddr_url(const char *ma, char *out, size_t cap)
{
    char proto[8], addr[64], tcp[8], port[8];
    const char *p = ma;
    char *fields[4] = {proto, addr, tcp, port};
    size_t caps[4] = {sizeof proto, sizeof addr, sizeof tcp, sizeof port};
    for (int i = 0; i < 4; i++) {
        if (*p != '/')
            return -1;
        p++;
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= caps[i])
            return -1;
        memcpy(fields[i], p, n);
        fields[i][n] = '\0';
        p += n;
    }
    if (*p && strcmp(p, "/http")) /* anything else after the port (tls, p2p...) is not plain HTTP here */
        return -1;
    char *end;
    long pn = strtol(port, &end, 10);
    if (strcmp(tcp, "tcp") || *end || port[0] == '0' || pn < 1 || pn > 65535)
        return -1;
    int n;
    if (!strcmp(proto, "ip4")) {
        struct in_addr a;
        if (inet_pton(AF_INET, addr, &a) != 1 || a.s_addr == 0)
            return -1;
        n = snprintf(out, cap, "http://%s:%ld", addr, pn);
    } else if (!strcmp(proto, "ip6")) {
        struct in6_addr a;
        if (inet_pton(AF_INET6, addr, &a) != 1 || IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LINKLOCAL(&a))
            return -1;
        n = snprintf(out, cap, "http://[%s]:%ld", addr, pn);
    } else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int sync_base_url(const json_t *addrs, char *out, size_t cap)
{
    size_t i;
    json_t *a;
    if (!json_is_array(addrs))
        return -1;
    json_array_foreach(addrs, i, a)
    {
        const char *s = json_string_value(a);
        if (s && multiaddr_url(s, out, cap) == 0)
            return 0;
    }
    return -1;
}

/* --- a set of digests: each block walked once ------------------------------- */

typedef struct {
    uint8_t (*slot)[CID_DIGEST_LEN];
    uint8_t *used;
    size_t cap, n;
} digest_set;

static int set_grow(digest_set *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint8_t(*slot)[CID_DIGEST_LEN] = malloc(cap * CID_DIGEST_LEN);
    uint8_t *used = calloc(cap, 1);
    if (!slot || !used) {
        free(slot), free(used);
        return -1;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->used[i])
            continue;
        size_t h;
        memcpy(&h, s->slot[i], sizeof h); /* the digest is uniform: its bytes are the hash */
        for (h &= cap - 1; used[h]; h = (h + 1) & (cap - 1))
            ;
        used[h] = 1;
        memcpy(slot[h], s->slot[i], CID_DIGEST_LEN);
    }
    free(s->slot), free(s->used);
    s->slot = slot, s->used = used, s->cap = cap;
    return 0;
}

/* 1 added, 0 there already, -1 out of memory */
static int set_add(digest_set *s, const uint8_t d[CID_DIGEST_LEN])
{
    if ((s->n + 1) * 2 > s->cap && set_grow(s) != 0)
        return -1;
    size_t h;
    memcpy(&h, d, sizeof h);
    for (h &= s->cap - 1; s->used[h]; h = (h + 1) & (s->cap - 1))
        if (!memcmp(s->slot[h], d, CID_DIGEST_LEN))
            return 0;
    s->used[h] = 1;
    memcpy(s->slot[h], d, CID_DIGEST_LEN);
    s->n++;
    return 1;
}

static void set_free(digest_set *s)
{
    free(s->slot), free(s->used);
    memset(s, 0, sizeof *s);
}

/* --- the fetcher ------------------------------------------------------------ */

#define PENDING_BYTES (4u << 20) /* a batch stored in one transaction */
#define PENDING_BLOCKS 256

typedef struct {
    char id[IDS_LID_LEN + 1];
    char base[128];
} provider;

typedef struct {
    cid c;
    uint8_t *block;
    size_t len;
} pending_block;

struct fetcher {
    blockstore *bs;
    const volatile sig_atomic_t *stop;
    provider providers[FETCH_PROVIDERS_MAX];
    size_t nproviders, at; /* providers before at were dropped */
    pending_block pending[PENDING_BLOCKS];
    size_t npending, pending_bytes;
    digest_set walked;
    uint64_t bytes, blocks;
};

fetcher *fetcher_new(blockstore *bs, const json_t *providers, const volatile sig_atomic_t *stop, char *err,
                     size_t errlen)
{
    fetcher *f = calloc(1, sizeof *f);
    if (!f) {
        ERR("out of memory");
        return NULL;
    }
    f->bs = bs;
    f->stop = stop;
    size_t i;
    json_t *p;
    json_array_foreach(providers, i, p)
    {
        if (f->nproviders == FETCH_PROVIDERS_MAX)
            break;
        provider *to = &f->providers[f->nproviders];
        const char *id = json_string_value(json_object_get(p, "ID"));
        snprintf(to->id, sizeof to->id, "%s", id && ids_is_leither_id(id) ? id : "?");
        if (sync_base_url(json_object_get(p, "Addrs"), to->base, sizeof to->base) == 0)
            f->nproviders++;
        else
            log_line(LOG_LEVEL_WARN, NULL, "sync: provider %s skipped: no usable HTTP address", to->id);
    }
    if (!f->nproviders) {
        free(f);
        ERR("no provider with a usable HTTP address");
        return NULL;
    }
    return f;
}

int fetcher_flush(fetcher *f, char *err, size_t errlen)
{
    if (!f->npending)
        return 0;
    int rc = 0;
    MDB_txn *txn = bs_begin(f->bs, 1, err, errlen);
    if (!txn)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < f->npending; i++)
        if (bs_put(f->bs, txn, &f->pending[i].c, f->pending[i].block, f->pending[i].len, err, errlen) != 0) {
            mdb_txn_abort(txn);
            rc = -1;
        }
    if (rc == 0)
        rc = bs_commit(txn, err, errlen);
    for (size_t i = 0; i < f->npending; i++)
        free(f->pending[i].block);
    f->npending = f->pending_bytes = 0;
    return rc;
}

/* the pending copy of c, or NULL */
static const pending_block *pending_of(const fetcher *f, const cid *c)
{
    for (size_t i = 0; i < f->npending; i++)
        if (!memcmp(f->pending[i].c.digest, c->digest, CID_DIGEST_LEN))
            return &f->pending[i];
    return NULL;
}

/* c's stored bytes copied (1), absent (0), or -1 with err */
static int stored_copy(fetcher *f, const cid *c, size_t max, uint8_t **block, size_t *len, char *err, size_t errlen)
{
    MDB_txn *txn = bs_begin(f->bs, 0, err, errlen);
    if (!txn)
        return -1;
    const uint8_t *b;
    size_t l;
    int got = bs_get(f->bs, txn, c, &b, &l, err, errlen);
    if (got == 1 && l > max)
        got = ERR("a stored block is over %zu bytes", max);
    if (got == 1 && block) {
        if (!(*block = malloc(l ? l : 1)))
            got = ERR("out of memory");
        else
            memcpy(*block, b, l), *len = l;
    }
    mdb_txn_abort(txn);
    return got;
}

static void drop_provider(fetcher *f, const char *why)
{
    provider *p = &f->providers[f->at];
    log_line(LOG_LEVEL_WARN, LOG_FIELDS("provider", p->id), "sync: provider %s at %s dropped: %s", p->id, p->base,
             why);
    f->at++;
}

/* Asks the providers in turn for c until one answers it right: its bytes
 * (malloc'd), pending to be stored. */
static uint8_t *download(fetcher *f, const cid *c, size_t max, size_t *len, char *err, size_t errlen)
{
    char text[CID_TEXT_MAX], url[256], why[512];
    cid_format(c, text);
    httpc_limits lim = {.connect_ms = FETCH_CONNECT_MS,
                        .total_ms = FETCH_REQUEST_MS,
                        .max = max,
                        .accept = "application/vnd.ipld.raw"};
    while (f->at < f->nproviders) {
        if (f->stop && *f->stop) {
            ERR("the node is stopping");
            return NULL;
        }
        snprintf(url, sizeof url, "%s/ipfs/%s?format=raw", f->providers[f->at].base, text);
        size_t got;
        uint8_t *block = (uint8_t *)get_200(url, &lim, &got, why, sizeof why);
        if (!block) {
            drop_provider(f, why);
            continue;
        }
        f->bytes += got;
        cid check;
        cid_of_block(&check, c->version, c->codec, block, got);
        if (!cid_equal(&check, c)) {
            free(block);
            snprintf(why, sizeof why, "block %s: the bytes sent do not hash to it", text);
            drop_provider(f, why);
            continue;
        }
        *len = got;
        return block;
    }
    ERR("block %s: no provider left that serves it%s", text, f->nproviders > 1 ? " (every one was dropped)" : "");
    return NULL;
}

/* Puts a verified block (taking it) in the batch, storing a full batch. */
static int add_pending(fetcher *f, const cid *c, uint8_t *block, size_t len, char *err, size_t errlen)
{
    if (f->npending == PENDING_BLOCKS && fetcher_flush(f, err, errlen) != 0) {
        free(block);
        return -1;
    }
    f->pending[f->npending++] = (pending_block){*c, block, len};
    f->pending_bytes += len;
    f->blocks++;
    return f->pending_bytes >= PENDING_BYTES ? fetcher_flush(f, err, errlen) : 0;
}

/* c made local; with want, its bytes (a copy) in *block. */
static int need(fetcher *f, const cid *c, size_t max, int want, uint8_t **block, size_t *len, char *err,
                size_t errlen)
{
    const pending_block *p = pending_of(f, c);
    if (p) {
        if (want) {
            if (!(*block = malloc(p->len ? p->len : 1)))
                return ERR("out of memory");
            memcpy(*block, p->block, p->len), *len = p->len;
        }
        return 0;
    }
    int got = want ? stored_copy(f, c, max, block, len, err, errlen) : bs_has(f->bs, NULL, c);
    if (got < 0)
        return -1;
    if (got)
        return 0;
    size_t l;
    uint8_t *b = download(f, c, max, &l, err, errlen);
    if (!b)
        return -1;
    if (want) {
        if (!(*block = malloc(l ? l : 1))) {
            free(b);
            return ERR("out of memory");
        }
        memcpy(*block, b, l), *len = l;
    }
    if (add_pending(f, c, b, l, err, errlen) != 0) {
        if (want)
            free(*block), *block = NULL;
        return -1;
    }
    return 0;
}

int fetcher_block(fetcher *f, const cid *c, size_t max, uint8_t **block, size_t *len, char *err, size_t errlen)
{
    if (block)
        *block = NULL;
    if (need(f, c, max, block != NULL, block, len, err, errlen) != 0)
        return -1;
    if (fetcher_flush(f, err, errlen) != 0) {
        if (block)
            free(*block), *block = NULL;
        return -1;
    }
    return 0;
}

typedef struct {
    cid c;
    int depth;
} walk_item;

int fetcher_dag(fetcher *f, const cid *root, char *err, size_t errlen)
{
    size_t n = 0, cap = 64;
    walk_item *stack = malloc(cap * sizeof *stack);
    if (!stack)
        return ERR("out of memory");
    stack[n++] = (walk_item){*root, 0};
    int rc = 0;
    char text[CID_TEXT_MAX];
    while (n && rc == 0) {
        walk_item w = stack[--n];
        int added = set_add(&f->walked, w.c.digest);
        if (added <= 0) {
            if (added < 0)
                rc = ERR("out of memory");
            continue;
        }
        if (f->walked.n > FETCH_BLOCKS_MAX) {
            rc = ERR("the DAG under %s is over %d blocks", (cid_format(root, text), text), FETCH_BLOCKS_MAX);
            break;
        }
        if (w.c.codec != CID_CODEC_DAG_PB) { /* raw: a leaf */
            rc = need(f, &w.c, FETCH_BLOCK_MAX, 0, NULL, NULL, err, errlen);
            continue;
        }
        uint8_t *block;
        size_t len;
        if ((rc = need(f, &w.c, FETCH_BLOCK_MAX, 1, &block, &len, err, errlen)) != 0)
            break;
        pb_node pb;
        char why[256];
        if (pb_decode(block, len, &pb, why, sizeof why) != 0) {
            /* the bytes hash to the CID: every provider has the same, so
             * the DAG itself is broken, not the provider */
            free(block);
            rc = ERR("block %s is not dag-pb: %s", (cid_format(&w.c, text), text), why);
            break;
        }
        if (pb.nlinks && w.depth + 1 > FETCH_DEPTH_MAX) {
            rc = ERR("the DAG under %s is over %d levels deep", (cid_format(root, text), text), FETCH_DEPTH_MAX);
        } else if (n + pb.nlinks > cap) {
            while (cap < n + pb.nlinks)
                cap *= 2;
            walk_item *t = realloc(stack, cap * sizeof *t);
            if (!t)
                rc = ERR("out of memory");
            else
                stack = t;
        }
        /* pushed last first: the walk fetches in link order */
        for (size_t i = pb.nlinks; rc == 0 && i > 0; i--)
            stack[n++] = (walk_item){pb.links[i - 1].target, w.depth + 1};
        pb_node_free(&pb);
        free(block);
    }
    free(stack);
    char ferr[256]; /* what was verified is stored even when the walk failed */
    if (fetcher_flush(f, ferr, sizeof ferr) != 0 && rc == 0)
        rc = ERR("%s", ferr);
    return rc;
}

uint64_t fetcher_bytes(const fetcher *f) { return f->bytes; }
uint64_t fetcher_blocks(const fetcher *f) { return f->blocks; }

void fetcher_free(fetcher *f)
{
    if (!f)
        return;
    char err[256];
    fetcher_flush(f, err, sizeof err); /* verified blocks: keep them */
    set_free(&f->walked);
    free(f);
}
