/*
 * sync: version blocks (sync.h). The author side makes one per numbered
 * version of a MiMei, once, and remembers it; the follower side applies a
 * chain of them onto its copy.
 *
 * What this node made or applied is kept in a DBI of its own in the
 * node's LMDB environment:
 *     "syncver": MID (27) | version (u32, big-endian) -> binary CID of its
 *                version block
 * so a version's block is made once (its Time would make a second one
 * another block) and a follower knows the block of the version it holds.
 * Version blocks and journal blocks are pinned (gc keeps them).
 *
 * A database version's journal (modules/db journal.c) is deflated (zlib)
 * and cut into raw blocks of SYNC_CHUNK_MAX bytes: the zlib stream is the
 * blocks' bytes one after the other; a follower inflates it (at most
 * proto-max-bulk-len bytes, the most MM.APPLYJOURNAL takes) before the
 * journal is checked. Applying goes through the one database writer
 * (MM.APPLYJOURNAL, an internal command of resp_call), so the writer's
 * caches of epochs and expiries stay right (a process without a writer,
 * n->resp NULL, an offline tool, runs it itself); file and app versions
 * are rows of the content store (files.c), written in a transaction here.
 */
#include "sync.h"

#include "db.h"
#include "errbuf.h"
#include "resp.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* a journal's blocks are written this many at a time (one commit each) */
#define CHUNKS_PER_COMMIT 16

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- parsing ---------------------------------------------------------------- */

void sync_version_free(sync_version *v)
{
    if (!v)
        return;
    free(v->journal);
    v->journal = NULL;
    v->njournal = 0;
}

/* A CID field: any supported CID, or with raw_v1 only a raw CIDv1 (version
 * and journal blocks are). */
static int parse_cid_field(const json_t *s, const char *field, int raw_v1, cid *out, char *err, size_t errlen)
{
    char why[160];
    if (!json_is_string(s))
        return ERR("version block: %s is not a string", field);
    if (cid_parse(json_string_value(s), json_string_length(s), out, why, sizeof why) != 0)
        return ERR("version block: %s: %s", field, why);
    if (raw_v1 && (out->version != 1 || out->codec != CID_CODEC_RAW))
        return ERR("version block: %s is not a raw CIDv1", field);
    return 0;
}

static int parse_u64_field(const json_t *o, const char *field, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
    const json_t *x = json_object_get(o, field);
    if (!json_is_integer(x) || json_integer_value(x) < 0 || (uint64_t)json_integer_value(x) > max)
        return ERR("version block: %s is not an integer from 0 to %llu", field, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(x);
    return 0;
}

static int parse_fields(const json_t *o, sync_version *out, char *err, size_t errlen)
{
    static const char *const known[] = {"Type", "MID", "Version", "Prev", "Time", "Root", "Journal", "Records", NULL};
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)o, key, val) {
        int ok = 0;
        for (int i = 0; known[i] && !ok; i++)
            ok = !strcmp(key, known[i]);
        if (!ok)
            return ERR("version block: unknown field \"%.40s\"", key);
    }
    const json_t *type = json_object_get(o, "Type"), *mid = json_object_get(o, "MID");
    if (!json_is_string(type) || strcmp(json_string_value(type), "version"))
        return ERR("version block: Type is not \"version\"");
    if (!json_is_string(mid) || !ids_is_leither_id(json_string_value(mid)))
        return ERR("version block: MID is not a MiMei ID");
    snprintf(out->mid, sizeof out->mid, "%s", json_string_value(mid));
    uint64_t n = 0;
    if (parse_u64_field(o, "Version", UINT32_MAX, &n, err, errlen) != 0)
        return -1;
    if (n == 0)
        return ERR("version block: Version 0 is cur, not a version");
    out->version = (uint32_t)n;
    if (parse_u64_field(o, "Time", INT64_MAX, &n, err, errlen) != 0)
        return -1;
    out->time_ms = (int64_t)n;
    const json_t *prev = json_object_get(o, "Prev");
    if (!json_is_string(prev))
        return ERR("version block: Prev is not a string");
    out->has_prev = json_string_length(prev) > 0;
    if (out->has_prev && parse_cid_field(prev, "Prev", 1, &out->prev, err, errlen) != 0)
        return -1;
    const json_t *root = json_object_get(o, "Root"), *journal = json_object_get(o, "Journal");
    if (!root == !journal)
        return ERR("version block: it needs Root (a file or app) or Journal (a database), not %s",
                   root ? "both" : "neither");
    if (root) {
        if (json_object_get(o, "Records"))
            return ERR("version block: Records belongs to a database's version");
        return parse_cid_field(root, "Root", 0, &out->root, err, errlen);
    }
    out->is_db = 1;
    if (parse_u64_field(o, "Records", UINT64_MAX >> 1, &out->records, err, errlen) != 0)
        return -1;
    if (!json_is_array(journal))
        return ERR("version block: Journal is not an array");
    size_t count = json_array_size(journal);
    if (count > SYNC_VERSION_BLOCK_MAX / 60)
        return ERR("version block: more than %d journal blocks", SYNC_VERSION_BLOCK_MAX / 60);
    out->journal = calloc(count ? count : 1, sizeof *out->journal);
    if (!out->journal)
        return ERR("out of memory");
    for (size_t i = 0; i < count; i++) {
        if (parse_cid_field(json_array_get(journal, i), "a Journal entry", 1, &out->journal[i], err, errlen) != 0)
            return -1;
        out->njournal++;
    }
    return 0;
}

/* A reason that may quote the input, made one printable line. */
static void printable(char *err, size_t errlen)
{
    for (char *p = err; errlen && *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            *p = '?';
}

int sync_version_parse(const uint8_t *block, size_t len, sync_version *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len == 0 || len > SYNC_VERSION_BLOCK_MAX)
        return ERR("version block: %zu bytes (from 1 to %d)", len, SYNC_VERSION_BLOCK_MAX);
    json_error_t jerr;
    json_t *o = json_loadb((const char *)block, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        ERR("version block: not JSON: %s", jerr.text);
        printable(err, errlen);
        return -1;
    }
    int rc = json_is_object(o) ? parse_fields(o, out, err, errlen) : ERR("version block: not a JSON object");
    json_decref(o);
    if (rc) {
        sync_version_free(out);
        printable(err, errlen);
    }
    return rc;
}

/* --- what this node made or applied ("syncver") ---------------------------------- */

static pthread_mutex_t made_lock = PTHREAD_MUTEX_INITIALIZER;
static MDB_env *made_env;
static MDB_dbi made_dbi;
static char made_path[PATH_MAX];

/* The DBI, opened (made) once per environment. */
static int made_open(node *n, MDB_dbi *dbi, char *err, size_t errlen)
{
    MDB_env *env = bs_env(n->bs);
    const char *path = "";
    mdb_env_get_path(env, &path);
    pthread_mutex_lock(&made_lock);
    int rc = 0;
    /* the path too: an environment closed and another opened (tests,
     * tools) may get the same address */
    if (made_env != env || strcmp(made_path, path)) {
        MDB_txn *txn;
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (!rc) {
            rc = mdb_dbi_open(txn, "syncver", MDB_CREATE, &made_dbi);
            rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
        }
        if (!rc) {
            made_env = env;
            snprintf(made_path, sizeof made_path, "%s", path);
        }
    }
    *dbi = made_dbi;
    pthread_mutex_unlock(&made_lock);
    return rc ? ERR("opening the version blocks' table: %s", mdb_strerror(rc)) : 0;
}

static MDB_val made_key(uint8_t kb[IDS_LID_LEN + 4], const char *mid, uint32_t ver)
{
    memcpy(kb, mid, IDS_LID_LEN);
    kb[IDS_LID_LEN] = (uint8_t)(ver >> 24), kb[IDS_LID_LEN + 1] = (uint8_t)(ver >> 16);
    kb[IDS_LID_LEN + 2] = (uint8_t)(ver >> 8), kb[IDS_LID_LEN + 3] = (uint8_t)ver;
    return (MDB_val){IDS_LID_LEN + 4, kb};
}

/* 1 with the version block of (mid, ver) this node made or applied. */
static int made_get(MDB_txn *txn, MDB_dbi dbi, const char *mid, uint32_t ver, cid *out)
{
    uint8_t kb[IDS_LID_LEN + 4];
    MDB_val k = made_key(kb, mid, ver), v;
    return mdb_get(txn, dbi, &k, &v) == 0 && cid_from_bytes(v.mv_data, v.mv_size, out) == v.mv_size;
}

static int made_put(MDB_txn *txn, MDB_dbi dbi, const char *mid, uint32_t ver, const cid *c, char *err, size_t errlen)
{
    uint8_t kb[IDS_LID_LEN + 4], bin[CID_BIN_MAX];
    MDB_val k = made_key(kb, mid, ver), v = {cid_to_bytes(c, bin), bin};
    int rc = mdb_put(txn, dbi, &k, &v, 0);
    return rc ? ERR("remembering version %u of %s: %s", ver, mid, mdb_strerror(rc)) : 0;
}

/* Stores a block made here (raw CIDv1) and pins it, in txn. */
static int put_pinned(node *n, MDB_txn *txn, const void *data, size_t len, cid *out, char *err, size_t errlen)
{
    cid_of_block(out, 1, CID_CODEC_RAW, data, len);
    if (bs_put(n->bs, txn, out, data, len, err, errlen) != 0)
        return -1;
    return bs_pin(n->bs, txn, out, 1, err, errlen);
}

/* --- the local state of a MiMei ------------------------------------------------------ */

/* Its AppType ("" unknown) and, for a database, its number. */
static void mimei_kind(node *n, const char *mid, char type[16], uint32_t *dbno)
{
    char *text = NULL;
    type[0] = '\0';
    *dbno = 0;
    if (!ids_is_leither_id(mid) || !db_mimei_get(n->db, mid, &text, dbno))
        return;
    json_t *info = json_loads(text, 0, NULL);
    free(text);
    snprintf(type, 16, "%s", mimei_str(info, "AppType"));
    json_decref(info);
}

uint32_t sync_local_version(node *n, const char *mid)
{
    char type[16];
    uint32_t dbno;
    mimei_kind(n, mid, type, &dbno);
    if (!strcmp(type, "db"))
        return dbno ? db_version_last(n->db, dbno) : 0;
    char err[128];
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return 0;
    uint32_t last = files_last(n->bs, txn, mid);
    mdb_txn_abort(txn);
    return last;
}

/* --- author side ------------------------------------------------------------- */

typedef struct {
    uint32_t ver;
    int64_t when_ms; /* a database version's mark */
} version_row;

typedef struct {
    version_row *v;
    size_t n, cap;
} version_list;

static int list_add(version_list *l, uint32_t ver, int64_t when)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        version_row *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return 1;
        l->v = v, l->cap = cap;
    }
    l->v[l->n++] = (version_row){ver, when};
    return 0;
}

static int add_db_version(void *arg, uint32_t ver, int64_t when_ms) { return list_add(arg, ver, when_ms); }
static int add_file_version(void *arg, uint32_t ver, const cid *c)
{
    (void)c;
    return ver == FILES_CUR ? 0 : list_add(arg, ver, 0);
}

/* A journal being cut into blocks: the bytes of up to CHUNKS_PER_COMMIT
 * blocks are held, then stored in one commit. */
typedef struct {
    node *n;
    uint8_t *buf;
    size_t len;
    cid *cids;
    size_t ncids, cap;
    char *err;
    size_t errlen;
    z_stream z; /* the journal is deflated on its way into the blocks */
} journal_writer;

/* Stores the whole blocks held (all of them at the end); not pinned yet:
 * the commit that makes the version block pins them. */
static int journal_flush(journal_writer *w, int all)
{
    size_t whole = all ? w->len : w->len / SYNC_CHUNK_MAX * SYNC_CHUNK_MAX;
    if (!whole)
        return 0;
    char *err = w->err;
    size_t errlen = w->errlen;
    MDB_txn *txn = bs_begin(w->n->bs, 1, err, errlen);
    if (!txn)
        return -1;
    for (size_t at = 0; at < whole; at += SYNC_CHUNK_MAX) {
        size_t len = whole - at < SYNC_CHUNK_MAX ? whole - at : SYNC_CHUNK_MAX;
        if (w->ncids == w->cap) {
            size_t cap = w->cap ? 2 * w->cap : 16;
            cid *c = realloc(w->cids, cap * sizeof *c);
            if (!c) {
                mdb_txn_abort(txn);
                return ERR("out of memory");
            }
            w->cids = c, w->cap = cap;
        }
        cid *c = &w->cids[w->ncids++];
        cid_of_block(c, 1, CID_CODEC_RAW, w->buf + at, len);
        if (bs_put(w->n->bs, txn, c, w->buf + at, len, err, errlen) != 0) {
            mdb_txn_abort(txn);
            return -1;
        }
    }
    if (bs_commit(txn, err, errlen) != 0)
        return -1;
    memmove(w->buf, w->buf + whole, w->len - whole);
    w->len -= whole;
    return 0;
}

/* Deflated bytes into the held blocks, stored as they fill. */
static int journal_hold(journal_writer *w, const uint8_t *p, size_t len)
{
    while (len) {
        size_t room = (size_t)CHUNKS_PER_COMMIT * SYNC_CHUNK_MAX - w->len, take = len < room ? len : room;
        memcpy(w->buf + w->len, p, take);
        w->len += take, p += take, len -= take;
        if (w->len == (size_t)CHUNKS_PER_COMMIT * SYNC_CHUNK_MAX && journal_flush(w, 0) != 0)
            return -1;
    }
    return 0;
}

/* The journal's bytes through zlib's deflate (finish: the stream's end).
 * Its entries carry headers that are mostly zeros and keys that repeat
 * their neighbours' starts: deflated, a version moves about its changed
 * bytes, not half as much again. */
static int journal_deflate(journal_writer *w, const void *bytes, size_t len, int finish)
{
    uint8_t out[16384];
    w->z.next_in = (Bytef *)(uintptr_t)bytes;
    w->z.avail_in = (uInt)len;
    for (;;) {
        w->z.next_out = out;
        w->z.avail_out = sizeof out;
        int zrc = deflate(&w->z, finish ? Z_FINISH : Z_NO_FLUSH);
        if (zrc == Z_STREAM_ERROR) {
            snprintf(w->err, w->errlen, "deflate failed");
            return -1;
        }
        if (journal_hold(w, out, sizeof out - w->z.avail_out) != 0)
            return -1;
        if (finish ? zrc == Z_STREAM_END : w->z.avail_out != 0)
            return 0;
    }
}

static int journal_sink(void *arg, const void *bytes, size_t len)
{
    return journal_deflate(arg, bytes, len, 0) != 0;
}

/* The version block of one version, made, stored, pinned and remembered in
 * one commit (a database's journal blocks stored just before). */
static int make_version(node *n, MDB_dbi dbi, const char *mid, int is_db, uint32_t dbno, const version_row *row,
                        uint32_t prev_ver, const cid *prev, cid *out, char *err, size_t errlen)
{
    json_t *o = json_object();
    char text[CID_TEXT_MAX] = "";
    if (prev)
        cid_format(prev, text);
    json_object_set_new(o, "Type", json_string("version"));
    json_object_set_new(o, "MID", json_string(mid));
    json_object_set_new(o, "Version", json_integer(row->ver));
    json_object_set_new(o, "Prev", json_string(text));
    char why[256] = "";
    journal_writer w = {.n = n, .err = why, .errlen = sizeof why};
    int rc = 0;
    if (is_db) {
        /* the changes since the previous version: every entry of the
         * database is read once per version made (journal.c) */
        uint64_t records = 0;
        w.buf = malloc((size_t)CHUNKS_PER_COMMIT * SYNC_CHUNK_MAX);
        int deflating = w.buf && deflateInit(&w.z, Z_DEFAULT_COMPRESSION) == Z_OK;
        rc = deflating ? db_journal_export(n->db, dbno, prev_ver, row->ver, journal_sink, &w, &records, err, errlen)
                       : ERR("out of memory");
        if (!rc)
            rc = journal_deflate(&w, NULL, 0, 1);
        if (!rc)
            rc = journal_flush(&w, 1);
        if (deflating)
            deflateEnd(&w.z);
        if (rc && why[0]) /* storing a block failed: its reason says more */
            ERR("version %u of %s: %s", row->ver, mid, why);
        json_t *journal = json_array();
        for (size_t i = 0; !rc && i < w.ncids; i++) {
            cid_format(&w.cids[i], text);
            json_array_append_new(journal, json_string(text));
        }
        json_object_set_new(o, "Journal", journal);
        json_object_set_new(o, "Records", json_integer((json_int_t)records));
        json_object_set_new(o, "Time", json_integer(row->when_ms));
    } else {
        MDB_txn *txn = bs_begin(n->bs, 0, err, errlen);
        cid root;
        if (!txn)
            rc = -1;
        else if (!files_get(n->bs, txn, mid, row->ver, &root))
            rc = ERR("version %u of %s is gone", row->ver, mid);
        if (txn)
            mdb_txn_abort(txn);
        if (!rc) {
            cid_format(&root, text);
            json_object_set_new(o, "Root", json_string(text));
        }
        json_object_set_new(o, "Time", json_integer(now_ms()));
    }
    char *block = rc ? NULL : json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    free(w.buf);
    if (!rc && !block)
        rc = ERR("out of memory");
    if (!rc && strlen(block) > SYNC_VERSION_BLOCK_MAX)
        rc = ERR("version %u of %s: its journal of %zu blocks does not fit in a version block (%d bytes)", row->ver,
                 mid, w.ncids, SYNC_VERSION_BLOCK_MAX);
    MDB_txn *txn = rc ? NULL : bs_begin(n->bs, 1, err, errlen);
    if (!rc && !txn)
        rc = -1;
    for (size_t i = 0; !rc && i < w.ncids; i++)
        rc = bs_pin(n->bs, txn, &w.cids[i], 1, err, errlen);
    if (!rc)
        rc = put_pinned(n, txn, block, strlen(block), out, err, errlen);
    if (!rc)
        rc = made_put(txn, dbi, mid, row->ver, out, err, errlen);
    if (!rc)
        rc = bs_commit(txn, err, errlen);
    else if (txn)
        mdb_txn_abort(txn);
    free(block);
    free(w.cids);
    return rc;
}

int sync_version_block(node *n, const char *mid, cid *out, uint32_t *ver, char *err, size_t errlen)
{
    char type[16];
    uint32_t dbno;
    MDB_dbi dbi;
    mimei_kind(n, mid, type, &dbno);
    if (!type[0])
        return ERR("no MiMei %s on this node", mid);
    int is_db = !strcmp(type, "db");
    if (made_open(n, &dbi, err, errlen) != 0)
        return -1;
    version_list versions = {0};
    if (is_db) {
        if (db_versions_each(n->db, dbno, add_db_version, &versions) != 0) {
            free(versions.v);
            return ERR("reading the versions of %s failed", mid);
        }
    } else {
        MDB_txn *txn = bs_begin(n->bs, 0, err, errlen);
        if (!txn)
            return -1;
        files_versions(n->bs, txn, mid, add_file_version, &versions);
        mdb_txn_abort(txn);
    }
    if (!versions.n) {
        free(versions.v);
        return ERR("mimei %s has no version: backup first", mid);
    }
    /* oldest first: each links to the one before */
    int rc = 0, has_prev = 0;
    cid prev;
    uint32_t prev_ver = 0;
    for (size_t i = 0; i < versions.n && !rc; i++) {
        cid made;
        MDB_txn *txn = bs_begin(n->bs, 0, err, errlen);
        if (!txn) {
            rc = -1;
            break;
        }
        int have = made_get(txn, dbi, mid, versions.v[i].ver, &made) && bs_has(n->bs, txn, &made);
        mdb_txn_abort(txn);
        if (!have)
            rc = make_version(n, dbi, mid, is_db, dbno, &versions.v[i], prev_ver, has_prev ? &prev : NULL, &made,
                              err, errlen);
        prev = made, has_prev = 1, prev_ver = versions.v[i].ver;
    }
    free(versions.v);
    if (rc)
        return -1;
    *out = prev;
    *ver = prev_ver;
    return 0;
}

/* --- follower side ------------------------------------------------------------ */

/* A copy of block c (local, re-hashed), or NULL with why. */
static uint8_t *read_block(node *n, const cid *c, size_t max, size_t *len, char *err, size_t errlen)
{
    MDB_txn *txn = bs_begin(n->bs, 0, err, errlen);
    if (!txn)
        return NULL;
    const uint8_t *data;
    char text[CID_TEXT_MAX];
    uint8_t *copy = NULL;
    int got = bs_get(n->bs, txn, c, &data, len, err, errlen);
    if (got == 0)
        ERR("block %s is missing", (cid_format(c, text), text));
    else if (got == 1 && *len > max)
        ERR("block %s has %zu bytes, more than %zu", (cid_format(c, text), text), *len, max);
    else if (got == 1 && !(copy = malloc(*len ? *len : 1)))
        ERR("out of memory");
    else if (got == 1)
        memcpy(copy, data, *len);
    mdb_txn_abort(txn);
    return copy;
}

typedef struct {
    cid block;
    sync_version v;
} chain_link;

/* Every block of a version's content is here and hashes right. */
static int content_complete(node *n, const cid *root, char *err, size_t errlen)
{
    dag_iter *it = dag_iter_new(n->bs, root);
    if (!it)
        return ERR("out of memory");
    int rc = 0;
    for (;;) {
        cid c;
        uint8_t *block;
        size_t len;
        if (dag_iter_next(it, &c, &block, &len, err, errlen) != STORE_OK) {
            rc = -1;
            break;
        }
        if (!block)
            break;
        free(block);
    }
    dag_iter_free(it);
    return rc;
}

static int apply_file_version(node *n, MDB_dbi dbi, const char *mid, int is_app, const chain_link *l, char *err,
                              size_t errlen)
{
    char why[256];
    if (content_complete(n, &l->v.root, why, sizeof why) != 0)
        return ERR("version %u of %s: %s", l->v.version, mid, why);
    MDB_txn *txn = bs_begin(n->bs, 1, err, errlen);
    if (!txn)
        return -1;
    int rc = files_put_version(n->bs, txn, mid, l->v.version, &l->v.root, err, errlen);
    if (!rc)
        rc = files_set_cur(n->bs, txn, mid, &l->v.root, err, errlen);
    /* an app's server code is never served here either, from the start */
    if (!rc && is_app)
        rc = bs_hide_app_code_of(n->bs, txn, &l->v.root, mid, err, errlen);
    if (!rc)
        rc = bs_pin(n->bs, txn, &l->block, 1, err, errlen);
    if (!rc)
        rc = made_put(txn, dbi, mid, l->v.version, &l->block, err, errlen);
    if (rc) {
        mdb_txn_abort(txn);
        return -1;
    }
    return bs_commit(txn, err, errlen);
}

static uint8_t *read_deflated_journal(node *n, const sync_version *v, size_t *len, char *err, size_t errlen);

/* A deflated journal inflated, at most max bytes: malloc'd, or NULL with
 * err (truncated, corrupt, too large: a bomb costs at most max). */
static uint8_t *inflate_journal(const uint8_t *in, size_t inlen, size_t max, size_t *len, char *err, size_t errlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return ERR("out of memory"), NULL;
    size_t cap = inlen < max / 4 ? 4 * inlen + 4096 : max + 1;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)inlen;
    *len = 0;
    int zrc = Z_OK;
    while (out) {
        if (*len == cap) {
            if (cap > max) {
                ERR("a journal that inflates past %zu bytes", max);
                break;
            }
            size_t more = cap > max / 2 ? max + 1 : 2 * cap;
            uint8_t *grown = realloc(out, more);
            if (!grown) {
                ERR("out of memory");
                break;
            }
            out = grown, cap = more;
        }
        z.next_out = out + *len;
        z.avail_out = (uInt)(cap - *len > UINT32_MAX ? UINT32_MAX : cap - *len);
        zrc = inflate(&z, Z_NO_FLUSH);
        *len = (size_t)(z.next_out - out);
        if (zrc == Z_STREAM_END) {
            if (z.avail_in)
                ERR("a journal with bytes after its end");
            else if (*len > max)
                ERR("a journal that inflates past %zu bytes", max);
            else
                break;
        } else if (zrc == Z_OK || (zrc == Z_BUF_ERROR && z.avail_out == 0)) {
            continue;
        } else {
            ERR("a %s journal", zrc == Z_BUF_ERROR ? "truncated" : "corrupt");
        }
        zrc = Z_DATA_ERROR;
        break;
    }
    inflateEnd(&z);
    if (!out)
        ERR("out of memory");
    if (!out || zrc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* The journal of a version: its blocks' bytes one after the other,
 * inflated. */
static uint8_t *read_journal(node *n, const sync_version *v, size_t *len, char *err, size_t errlen)
{
    uint8_t *deflated = read_deflated_journal(n, v, len, err, errlen);
    if (!deflated || v->njournal == 0) /* no blocks: no changes */
        return deflated;
    size_t zlen = *len;
    uint8_t *all = inflate_journal(deflated, zlen, db_proto_max_bulk_len(n->db), len, err, errlen);
    free(deflated);
    return all;
}

/* The blocks of a version's journal, one after the other. */
static uint8_t *read_deflated_journal(node *n, const sync_version *v, size_t *len, char *err, size_t errlen)
{
    size_t cap = v->njournal * (size_t)SYNC_CHUNK_MAX;
    uint8_t *all = malloc(cap ? cap : 1);
    if (!all)
        return ERR("out of memory"), NULL;
    *len = 0;
    for (size_t i = 0; i < v->njournal; i++) {
        size_t got;
        uint8_t *chunk = read_block(n, &v->journal[i], SYNC_CHUNK_MAX, &got, err, errlen);
        if (!chunk) {
            free(all);
            return NULL;
        }
        memcpy(all + *len, chunk, got);
        *len += got;
        free(chunk);
    }
    return all;
}

/* A Redis error's text without its "ERR " (the reason alone). */
static const char *without_err(const char *s) { return strncmp(s, "ERR ", 4) ? s : s + 4; }

/* MM.APPLYJOURNAL in this process, for one without a RESP writer (a
 * running node always has one: n->resp): an offline tool or a test, the
 * only writer of its database while it runs. */
static int apply_here(node *n, const char **argv, const size_t *lens, uint32_t ver, char *err, size_t errlen)
{
    db_client *c = db_client_new(n->db, NULL);
    db_client_set_internal(c, 1);
    db_exec(c, 7, argv, lens);
    int rc = db_commit(n->db);
    size_t len;
    const char *out = db_output(c, &len);
    char want[16];
    snprintf(want, sizeof want, ":%u\r\n", ver);
    if (len >= 1 && out[0] == '-') {
        const char *eol = memchr(out, '\r', len), *text = without_err(out + 1);
        rc = ERR("%.*s", (int)((eol ? eol : out + len) - text), text);
    } else if (rc || len != strlen(want) || memcmp(out, want, len)) {
        rc = ERR("version %u: the database did not take it", ver);
    }
    db_client_free(c);
    return rc;
}

static int apply_db_version(node *n, MDB_dbi dbi, const char *mid, uint32_t prev_ver, const chain_link *l, char *err,
                            size_t errlen)
{
    char why[256];
    size_t len;
    uint8_t *journal = read_journal(n, &l->v, &len, why, sizeof why);
    if (!journal)
        return ERR("version %u of %s: %s", l->v.version, mid, why);
    /* checked here too: a journal that cannot apply never reaches the writer */
    if (db_journal_check(journal, len, prev_ver, l->v.version, l->v.records,
                         (size_t)mdb_env_get_maxkeysize(bs_env(n->bs)), why, sizeof why) != 0) {
        free(journal);
        return ERR("version %u of %s: %s", l->v.version, mid, why);
    }
    /* its blocks kept first: a version applied always has them */
    MDB_txn *txn = bs_begin(n->bs, 1, err, errlen);
    int rc = txn ? 0 : -1;
    for (size_t i = 0; !rc && i < l->v.njournal; i++)
        rc = bs_pin(n->bs, txn, &l->v.journal[i], 1, err, errlen);
    if (!rc)
        rc = bs_pin(n->bs, txn, &l->block, 1, err, errlen);
    if (!rc)
        rc = made_put(txn, dbi, mid, l->v.version, &l->block, err, errlen);
    if (!rc)
        rc = bs_commit(txn, err, errlen);
    else if (txn)
        mdb_txn_abort(txn);
    if (rc) {
        free(journal);
        return -1;
    }
    char prev_text[16], ver_text[16], time_text[24], records_text[24];
    snprintf(prev_text, sizeof prev_text, "%u", prev_ver);
    snprintf(ver_text, sizeof ver_text, "%u", l->v.version);
    snprintf(time_text, sizeof time_text, "%lld", (long long)l->v.time_ms);
    snprintf(records_text, sizeof records_text, "%llu", (unsigned long long)l->v.records);
    const char *argv[] = {"MM.APPLYJOURNAL", mid, prev_text, ver_text, time_text, records_text, (const char *)journal};
    size_t lens[] = {15, strlen(mid), strlen(prev_text), strlen(ver_text), strlen(time_text), strlen(records_text), len};
    if (!n->resp) { /* a process without a writer thread is its database's only writer */
        rc = apply_here(n, argv, lens, l->v.version, err, errlen);
        free(journal);
        return rc;
    }
    resp_cmd cmd = {7, argv, lens};
    resp_batch b = {.user = "", .internal = 1, .ncmds = 1, .cmds = &cmd};
    redisReply *r = resp_call(n->resp, &b);
    free(journal);
    if (!r)
        return ERR("version %u of %s: the database writer did not answer", l->v.version, mid);
    if (r->type == REDIS_REPLY_ERROR)
        rc = ERR("%s", without_err(r->str));
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 1)
        rc = ERR("version %u of %s: an unexpected answer of the database writer", l->v.version, mid);
    else if (r->element[0]->type == REDIS_REPLY_ERROR)
        rc = ERR("%s", without_err(r->element[0]->str));
    else if (r->element[0]->type != REDIS_REPLY_INTEGER || r->element[0]->integer != (long long)l->v.version)
        rc = ERR("version %u of %s: an unexpected answer of the database writer", l->v.version, mid);
    freeReplyObject(r);
    return rc;
}

/* The version block c, read (local, re-hashed) and parsed into l. */
static int load_link(node *n, const cid *c, chain_link *l, char *err, size_t errlen)
{
    size_t len;
    char why[256], text[CID_TEXT_MAX];
    l->block = *c;
    uint8_t *block = read_block(n, c, SYNC_VERSION_BLOCK_MAX, &len, why, sizeof why);
    if (!block)
        return ERR("%s", why);
    int rc = sync_version_parse(block, len, &l->v, why, sizeof why);
    free(block);
    return rc ? ERR("%s: %s", (cid_format(c, text), text), why) : 0;
}

/* Registers the MiMei info describes when it is new here. */
static int register_mimei(node *n, const json_t *info, char *err, size_t errlen)
{
    char why[256];
    if (mimei_verify(info, why, sizeof why) != MIMEI_OK)
        return ERR("info record: %s", why);
    const char *mid = mimei_str(info, "ID");
    if (db_mimei_get(n->db, mid, NULL, NULL))
        return 0;
    char *text = json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return ERR("out of memory");
    uint32_t dbno;
    int rc = db_mimei_register(n->db, mid, text, &dbno, err, errlen);
    free(text);
    return rc;
}

int sync_apply(node *n, const json_t *info, const cid *top, char *err, size_t errlen)
{
    if (register_mimei(n, info, err, errlen) != 0)
        return -1;
    const char *mid = mimei_str(info, "ID"), *type = mimei_str(info, "AppType");
    int is_db = !strcmp(type, "db");
    if (!is_db && strcmp(type, "file") && strcmp(type, "app"))
        return ERR("MiMei %s is of type \"%s\": only file, app and database MiMei are synced", mid, type);
    MDB_dbi dbi;
    if (made_open(n, &dbi, err, errlen) != 0)
        return -1;
    uint32_t local = sync_local_version(n, mid);
    cid local_block;
    int have_local_block = 0;
    MDB_txn *txn = bs_begin(n->bs, 0, err, errlen);
    if (!txn)
        return -1;
    have_local_block = local && made_get(txn, dbi, mid, local, &local_block);
    mdb_txn_abort(txn);

    /* the chain from top down to what this node holds, newest first: the
     * blocks and their versions (each is read again when applied, so a
     * long chain costs little memory) */
    struct {
        cid block;
        uint32_t version;
    } *chain = NULL;
    size_t count = 0, cap = 0;
    cid at = *top;
    int rc = 0;
    uint32_t below = 0; /* the version the oldest block to apply follows (0: none) */
    char text[CID_TEXT_MAX];
    int joined = 0; /* the chain reached the block of the version held here */
    for (;;) {
        if (have_local_block && cid_equal(&at, &local_block)) {
            below = local;
            joined = 1;
            break;
        }
        chain_link l;
        char why[400];
        if (load_link(n, &at, &l, why, sizeof why) != 0) {
            rc = ERR("the chain of %s: %s", mid, why);
            break;
        }
        if (strcmp(l.v.mid, mid))
            rc = ERR("%s is a version of MiMei %s, not of %s", (cid_format(&at, text), text), l.v.mid, mid);
        else if (l.v.is_db != is_db)
            rc = ERR("%s is a %s version, and %s a %s MiMei", (cid_format(&at, text), text),
                     l.v.is_db ? "database" : "file", mid, type);
        else if (count && l.v.version >= chain[count - 1].version)
            rc = ERR("the chain of %s goes from version %u back to %u", mid, chain[count - 1].version, l.v.version);
        int has_prev = l.v.has_prev, stop = !rc && l.v.version <= local;
        uint32_t version = l.v.version;
        cid prev = l.v.prev;
        sync_version_free(&l.v);
        if (rc)
            break;
        if (stop) {
            below = version;
            break;
        }
        if (count == cap) {
            cap = cap ? 2 * cap : 8;
            void *grown = realloc(chain, cap * sizeof *chain);
            if (!grown) {
                rc = ERR("out of memory");
                break;
            }
            chain = grown;
        }
        chain[count].block = at;
        chain[count++].version = version;
        if (!has_prev)
            break;
        at = prev;
    }
    if (!rc && !count)
        rc = ERR("version %u of %s is not above this node's newest (%u)", below, mid, local);
    /* a journal holds the changes since exactly the version before it */
    if (!rc && is_db && below != local)
        rc = ERR("the journal of version %u of %s follows version %u, this node holds %u: it skips a version",
                 chain[count - 1].version, mid, below, local);
    if (!rc && is_db && have_local_block && !joined)
        rc = ERR("the chain of %s does not pass through version %u as this node applied it", mid, local);
    for (size_t i = count; !rc && i-- > 0;) {
        uint32_t prev_ver = i + 1 < count ? chain[i + 1].version : below;
        chain_link l;
        if ((rc = load_link(n, &chain[i].block, &l, err, errlen)) != 0)
            break;
        rc = is_db ? apply_db_version(n, dbi, mid, prev_ver, &l, err, errlen)
                   : apply_file_version(n, dbi, mid, !strcmp(type, "app"), &l, err, errlen);
        sync_version_free(&l.v);
    }
    free(chain);
    return rc;
}
