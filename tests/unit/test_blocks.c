/* store storage: blocks (re-hashed reads, corruption), gc, and the readers
 * (paths, listings, file ranges, DAG walks) on a real LMDB environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    MDB_env *env;
    blockstore *bs;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/leither-blocks-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(mdb_env_create(&f->env), 0);
    assert_int_equal(mdb_env_set_maxdbs(f->env, 16), 0);
    assert_int_equal(mdb_env_set_mapsize(f->env, (size_t)1 << 30), 0);
    assert_int_equal(mdb_env_open(f->env, f->dir, MDB_NOTLS | MDB_NOSYNC, 0644), 0);
    char err[256];
    f->bs = bs_open(f->env, err, sizeof err);
    assert_non_null(f->bs);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bs_close(f->bs);
    mdb_env_close(f->env);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* a sink storing every block, each checked against its CID */
static int store_sink(void *arg, const cid *c, const uint8_t *block, size_t len)
{
    blockstore *bs = arg;
    cid again;
    cid_of_block(&again, c->version, c->codec, block, len);
    assert_true(cid_equal(&again, c));
    char err[256];
    assert_int_equal(bs_put(bs, NULL, c, block, len, err, sizeof err), 0);
    return 0;
}

static uint8_t *random_bytes(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    return p;
}

static cid import(blockstore *bs, const uint8_t *data, size_t n, int v1, uint64_t *tsize)
{
    import_opts o = {v1, v1};
    importer *im = importer_new(&o, store_sink, bs);
    assert_int_equal(importer_write(im, data, n), 0);
    cid root;
    uint64_t size, ts;
    assert_int_equal(importer_finish(im, &root, &size, &ts), 0);
    importer_free(im);
    assert_int_equal(size, n);
    if (tsize)
        *tsize = ts;
    return root;
}

/* overwrites the stored value of c with bytes, through the raw LMDB API */
static void tamper(fixture *f, const cid *c, const void *bytes, size_t len)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &txn), 0);
    uint8_t mh[MH_LEN];
    cid_multihash(c, mh);
    MDB_val k = {MH_LEN, mh}, v = {len, (void *)bytes};
    assert_int_equal(mdb_put(txn, f->bs->blocks, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
}

static void corrupt_block_is_refused(void **state)
{
    fixture *f = *state;
    char err[256];
    const char text[] = "hello blocks\n";
    cid c;
    cid_of_block(&c, 1, CID_CODEC_RAW, text, sizeof text - 1);
    assert_int_equal(bs_put(f->bs, NULL, &c, text, sizeof text - 1, err, sizeof err), 0);
    assert_true(bs_has(f->bs, NULL, &c));

    MDB_txn *txn = bs_begin(f->bs, 0, err, sizeof err);
    const uint8_t *b;
    size_t len;
    assert_int_equal(bs_get(f->bs, txn, &c, &b, &len, err, sizeof err), 1);
    assert_int_equal(len, sizeof text - 1);
    assert_memory_equal(b, text, len);
    mdb_txn_abort(txn);

    /* same length, one byte changed: the write time stays, the block lies */
    uint8_t bad[8 + sizeof text - 1];
    memset(bad, 0, 8);
    memcpy(bad + 8, text, sizeof text - 1);
    bad[8] ^= 1;
    tamper(f, &c, bad, sizeof bad);
    txn = bs_begin(f->bs, 0, err, sizeof err);
    assert_int_equal(bs_get(f->bs, txn, &c, &b, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "is corrupted: its bytes hash to something else"));
    mdb_txn_abort(txn);

    /* the reader reports it as a broken DAG */
    ufs_reader *r;
    assert_int_equal(ufs_reader_open(f->bs, &c, 0, UINT64_MAX, &r, err, sizeof err), STORE_CORRUPT);
    assert_null(r);
    assert_string_equal(store_strerror(STORE_CORRUPT), "incomplete or corrupt DAG");

    /* a value shorter than the write time */
    tamper(f, &c, "abc", 3);
    txn = bs_begin(f->bs, 0, err, sizeof err);
    assert_int_equal(bs_get(f->bs, txn, &c, &b, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "corrupted"));
    mdb_txn_abort(txn);
}

static void corrupt_leaf_mid_file(void **state)
{
    fixture *f = *state;
    char err[256];
    size_t n = 3 * IMPORT_CHUNK + 100;
    uint8_t *data = random_bytes(n, 7);
    cid root = import(f->bs, data, n, 0, NULL);
    /* the whole file reads back */
    ufs_reader *r;
    assert_int_equal(ufs_reader_open(f->bs, &root, 0, UINT64_MAX, &r, err, sizeof err), STORE_OK);
    uint8_t *back = malloc(n);
    size_t got = 0, k;
    while (ufs_reader_read(r, back + got, 100000, &k, err, sizeof err) == STORE_OK && k)
        got += k;
    assert_int_equal(k, 0);
    assert_int_equal(got, n);
    assert_memory_equal(back, data, n);
    ufs_reader_free(r);

    /* the third leaf (a dag-pb leaf in CIDv0) gets corrupted */
    MDB_txn *txn = bs_begin(f->bs, 0, err, sizeof err);
    const uint8_t *b;
    size_t len;
    assert_int_equal(bs_get(f->bs, txn, &root, &b, &len, err, sizeof err), 1);
    pb_node pn;
    assert_int_equal(pb_decode(b, len, &pn, err, sizeof err), 0);
    assert_int_equal(pn.nlinks, 4);
    cid leaf = pn.links[2].target;
    pb_node_free(&pn);
    assert_int_equal(bs_get(f->bs, txn, &leaf, &b, &len, err, sizeof err), 1);
    uint8_t *bad = malloc(8 + len);
    memset(bad, 0, 8);
    memcpy(bad + 8, b, len);
    bad[8 + len / 2] ^= 0x80;
    mdb_txn_abort(txn);
    tamper(f, &leaf, bad, 8 + len);
    free(bad);

    /* reading up to it works; the read that reaches it fails */
    assert_int_equal(ufs_reader_open(f->bs, &root, 0, UINT64_MAX, &r, err, sizeof err), STORE_OK);
    assert_int_equal(ufs_reader_read(r, back, 2 * IMPORT_CHUNK, &k, err, sizeof err), STORE_OK);
    assert_int_equal(k, 2 * IMPORT_CHUNK);
    assert_int_equal(ufs_reader_read(r, back, 1000, &k, err, sizeof err), STORE_CORRUPT);
    assert_non_null(strstr(err, "corrupted"));
    ufs_reader_free(r);

    /* the DAG walk stops there too */
    dag_iter *it = dag_iter_new(f->bs, &root);
    cid c;
    uint8_t *blk;
    int rc;
    size_t count = 0;
    while ((rc = dag_iter_next(it, &c, &blk, &len, err, sizeof err)) == STORE_OK && blk) {
        free(blk);
        count++;
    }
    assert_int_equal(rc, STORE_CORRUPT);
    assert_int_equal(count, 3); /* root, leaf 0, leaf 1 */
    dag_iter_free(it);

    /* a missing inner block is a broken DAG, a missing root not found */
    MDB_txn *w = bs_begin(f->bs, 1, err, sizeof err);
    uint8_t mh[MH_LEN];
    cid_multihash(&leaf, mh);
    MDB_val key = {MH_LEN, mh};
    assert_int_equal(mdb_del(w, f->bs->blocks, &key, NULL), 0);
    assert_int_equal(bs_commit(w, err, sizeof err), 0);
    assert_int_equal(ufs_reader_open(f->bs, &root, 2 * IMPORT_CHUNK + 5, 10, &r, err, sizeof err), STORE_OK);
    assert_int_equal(ufs_reader_read(r, back, 10, &k, err, sizeof err), STORE_CORRUPT);
    assert_non_null(strstr(err, "is missing"));
    ufs_reader_free(r);
    cid nothing;
    cid_of_block(&nothing, 0, CID_CODEC_DAG_PB, "x", 1);
    assert_int_equal(ufs_reader_open(f->bs, &nothing, 0, 1, &r, err, sizeof err), STORE_NOT_FOUND);
    assert_null(r);
    free(back);
    free(data);
}

static void ranges_at_chunk_boundaries(void **state)
{
    fixture *f = *state;
    char err[256];
    for (int v1 = 0; v1 <= 1; v1++) {
        size_t n = 1500000;
        uint8_t *data = random_bytes(n, 11 + (unsigned)v1);
        cid root = import(f->bs, data, n, v1, NULL);
        uint64_t offs[] = {0, 1, IMPORT_CHUNK - 1, IMPORT_CHUNK, IMPORT_CHUNK + 1, 5 * IMPORT_CHUNK - 3, n - 1, n};
        uint8_t buf[8192];
        for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
            ufs_reader *r;
            assert_int_equal(ufs_reader_open(f->bs, &root, offs[i], 5000, &r, err, sizeof err), STORE_OK);
            size_t got;
            assert_int_equal(ufs_reader_read(r, buf, sizeof buf, &got, err, sizeof err), STORE_OK);
            size_t want = n - offs[i] < 5000 ? n - offs[i] : 5000;
            assert_int_equal(got, want);
            assert_memory_equal(buf, data + offs[i], want);
            assert_int_equal(ufs_reader_read(r, buf, sizeof buf, &got, err, sizeof err), STORE_OK);
            assert_int_equal(got, 0);
            ufs_reader_free(r);
        }
        /* stat through resolve */
        cid out;
        ufs_stat st;
        assert_int_equal(ufs_resolve(f->bs, NULL, &root, "", &out, &st, err, sizeof err), STORE_OK);
        assert_int_equal(st.type, UFS_FILE);
        assert_int_equal(st.size, n);
        /* every block once, parents first */
        dag_iter *it = dag_iter_new(f->bs, &root);
        cid c;
        uint8_t *blk;
        size_t len;
        int rc, count = 0;
        while ((rc = dag_iter_next(it, &c, &blk, &len, err, sizeof err)) == STORE_OK && blk) {
            if (count == 0)
                assert_true(cid_equal(&c, &root));
            cid again;
            cid_of_block(&again, c.version, c.codec, blk, len);
            assert_true(cid_equal(&again, &c));
            free(blk);
            count++;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(count, 1 + 6); /* 1.5 MB: six chunks under one root */
        dag_iter_free(it);
        free(data);
    }
}

static int list_cb(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize)
{
    (void)target, (void)tsize;
    char *out = arg;
    strncat(out, name, name_len);
    strcat(out, ",");
    return 0;
}

static void directories_and_paths(void **state)
{
    fixture *f = *state;
    char err[256];
    import_opts o = {0, 0};
    uint64_t ts_a, ts_b;
    cid a = import(f->bs, (const uint8_t *)"alpha\n", 6, 0, &ts_a);
    cid b = import(f->bs, (const uint8_t *)"<html></html>", 13, 0, &ts_b);
    dir_entry inner[] = {{"b.html", b, ts_b}};
    cid sub;
    uint64_t ts_sub;
    assert_int_equal(ufs_make_dir(&o, inner, 1, store_sink, f->bs, &sub, &ts_sub), 0);
    dir_entry top[] = {{"sub", sub, ts_sub}, {"a.txt", a, ts_a}};
    cid root;
    uint64_t ts_root;
    assert_int_equal(ufs_make_dir(&o, top, 2, store_sink, f->bs, &root, &ts_root), 0);

    cid out;
    ufs_stat st;
    assert_int_equal(ufs_resolve(f->bs, NULL, &root, "sub/b.html", &out, &st, err, sizeof err), STORE_OK);
    assert_true(cid_equal(&out, &b));
    assert_int_equal(st.type, UFS_FILE);
    assert_int_equal(st.size, 13);
    assert_int_equal(ufs_resolve(f->bs, NULL, &root, "/sub/", &out, &st, err, sizeof err), STORE_OK);
    assert_true(cid_equal(&out, &sub));
    assert_int_equal(st.type, UFS_DIRECTORY);
    assert_int_equal(st.nentries, 1);
    assert_int_equal(ufs_resolve(f->bs, NULL, &root, "nope", &out, &st, err, sizeof err), STORE_NOT_FOUND);
    assert_int_equal(ufs_resolve(f->bs, NULL, &root, "a.txt/x", &out, &st, err, sizeof err), STORE_NOT_FOUND);
    char names[64] = "";
    assert_int_equal(ufs_list(f->bs, NULL, &root, list_cb, names, err, sizeof err), 0);
    assert_string_equal(names, "a.txt,sub,");
    assert_int_equal(ufs_list(f->bs, NULL, &a, list_cb, names, err, sizeof err), -1);

    /* the walk: root, a.txt, sub, b.html (links sorted by name) */
    dag_iter *it = dag_iter_new(f->bs, &root);
    cid want[] = {root, a, sub, b}, c;
    uint8_t *blk;
    size_t len;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(dag_iter_next(it, &c, &blk, &len, err, sizeof err), STORE_OK);
        assert_non_null(blk);
        assert_true(cid_equal(&c, &want[i]));
        free(blk);
    }
    assert_int_equal(dag_iter_next(it, &c, &blk, &len, err, sizeof err), STORE_OK);
    assert_null(blk);
    dag_iter_free(it);

    /* a directory is not a file */
    ufs_reader *r;
    assert_int_equal(ufs_reader_open(f->bs, &root, 0, 1, &r, err, sizeof err), STORE_BAD_REQUEST);
    assert_null(r);
}

/* a UnixFS file node over kids (with their file bytes in sizes), own data
 * first, stored; returns its CID */
static cid file_node(blockstore *bs, const char *data, const cid *kids, const uint64_t *sizes, size_t n)
{
    ufs_data u = {0};
    u.type = UFS_FILE;
    u.data = (const uint8_t *)data;
    u.data_len = data ? strlen(data) : 0;
    u.has_data = data != NULL;
    u.filesize = u.data_len;
    for (size_t i = 0; i < n; i++)
        u.filesize += sizes[i];
    u.has_filesize = 1;
    u.blocksizes = (uint64_t *)sizes;
    u.nblocksizes = n;
    size_t ulen, blen;
    uint8_t *ub = ufs_encode(&u, &ulen);
    pb_link links[8];
    memset(links, 0, sizeof links);
    for (size_t i = 0; i < n; i++) {
        links[i].target = kids[i];
        links[i].name = "";
        links[i].has_name = 1;
        links[i].tsize = sizes[i];
        links[i].has_tsize = 1;
    }
    uint8_t *block = pb_encode(links, n, ub, ulen, 1, &blen);
    cid c;
    cid_of_block(&c, 1, CID_CODEC_DAG_PB, block, blen);
    store_sink(bs, &c, block, blen);
    free(ub);
    free(block);
    return c;
}

static cid raw_leaf(blockstore *bs, const char *text)
{
    cid c;
    cid_of_block(&c, 1, CID_CODEC_RAW, text, strlen(text));
    store_sink(bs, &c, (const uint8_t *)text, strlen(text));
    return c;
}

/* two levels of inner nodes, one with Data of its own: every offset and
 * every read size gives the same bytes */
static void deep_tree_with_inner_data(void **state)
{
    fixture *f = *state;
    char err[256];
    cid a = raw_leaf(f->bs, "hello "), b = raw_leaf(f->bs, "world"), c = raw_leaf(f->bs, ", and more");
    cid k1[] = {a, b}, k2[] = {c};
    uint64_t s1[] = {6, 5}, s2[] = {10};
    cid mid1 = file_node(f->bs, "<<", k1, s1, 2); /* "<<hello world" */
    cid mid2 = file_node(f->bs, NULL, k2, s2, 1);
    cid kids[] = {mid1, mid2};
    uint64_t sizes[] = {13, 10};
    cid root = file_node(f->bs, "abc", kids, sizes, 2);
    const char *want = "abc<<hello world, and more";
    size_t n = strlen(want);
    for (size_t off = 0; off <= n; off++)
        for (size_t step = 1; step <= 7; step += 3) {
            ufs_reader *r;
            assert_int_equal(ufs_reader_open(f->bs, &root, off, UINT64_MAX, &r, err, sizeof err), STORE_OK);
            char got[64] = "";
            size_t len = 0, k;
            while (ufs_reader_read(r, got + len, step, &k, err, sizeof err) == STORE_OK && k)
                len += k;
            assert_int_equal(k, 0);
            assert_int_equal(len, n - off);
            assert_memory_equal(got, want + off, len);
            ufs_reader_free(r);
        }
    /* a parent whose blocksizes lie is caught, not trusted */
    uint64_t wrong[] = {6, 6};
    cid liar = file_node(f->bs, NULL, k1, wrong, 2);
    ufs_reader *r;
    assert_int_equal(ufs_reader_open(f->bs, &liar, 0, UINT64_MAX, &r, err, sizeof err), STORE_OK);
    char buf[32];
    size_t k;
    assert_int_equal(ufs_reader_read(r, buf, sizeof buf, &k, err, sizeof err), STORE_CORRUPT);
    ufs_reader_free(r);
}

static int count_pin(void *arg, const cid *root)
{
    (void)root;
    (*(int *)arg)++;
    return 0;
}

static void gc_keeps_what_is_referenced(void **state)
{
    fixture *f = *state;
    char err[256];
    size_t n = 2 * IMPORT_CHUNK + 10;
    uint8_t *d1 = random_bytes(n, 1), *d2 = random_bytes(n, 2), *d3 = random_bytes(n, 3), *d4 = random_bytes(n, 4);
    cid pinned = import(f->bs, d1, n, 0, NULL); /* 4 blocks: 3 leaves and their root */
    cid loose = import(f->bs, d2, n, 1, NULL);  /* 4 blocks: 3 leaves and their root */
    cid extra = import(f->bs, d3, n, 0, NULL);  /* 4 blocks: 3 leaves and their root */
    assert_int_equal(bs_pin(f->bs, NULL, &pinned, 1, err, sizeof err), 0);
    int pins = 0;
    bs_pins(f->bs, NULL, count_pin, &pins);
    assert_int_equal(pins, 1);

    /* a file MiMei version keeps its tree: written as files.c does */
    cid versioned = import(f->bs, d4, n, 0, NULL);
    MDB_txn *w = bs_begin(f->bs, 1, err, sizeof err);
    uint8_t key[31] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA", bin[CID_BIN_MAX];
    memset(key + 27, 0, 4);
    MDB_val k = {31, key}, v = {cid_to_bytes(&versioned, bin), bin};
    assert_int_equal(mdb_put(w, f->bs->files, &k, &v, 0), 0);
    assert_int_equal(bs_commit(w, err, sizeof err), 0);

    bs_stats st;
    assert_int_equal(bs_stat(f->bs, &st, err, sizeof err), 0);
    assert_int_equal(st.blocks, 16);
    assert_int_equal(st.pins, 1);
    assert_int_equal(st.file_versions, 1);

    /* everything was written just now: spare_since in the past spares nothing new... */
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(bs_gc(f->bs, now - 100, NULL, 0, &st, err, sizeof err), 0);
    assert_int_equal(st.removed, 0); /* ...so nothing goes */
    assert_int_equal(st.blocks, 16);

    /* with spare_since in the future the unreferenced file goes */
    assert_int_equal(bs_gc(f->bs, now + 100, &extra, 1, &st, err, sizeof err), 0);
    assert_int_equal(st.removed, 4);
    assert_true(st.removed_bytes > n);
    assert_int_equal(st.blocks, 12);
    assert_true(bs_has(f->bs, NULL, &pinned));
    assert_true(bs_has(f->bs, NULL, &extra));
    assert_true(bs_has(f->bs, NULL, &versioned));
    assert_false(bs_has(f->bs, NULL, &loose));

    /* the extra root was only for that run; unpinned goes next */
    assert_int_equal(bs_pin(f->bs, NULL, &pinned, 0, err, sizeof err), 0);
    assert_int_equal(bs_gc(f->bs, now + 100, NULL, 0, &st, err, sizeof err), 0);
    assert_int_equal(st.removed, 8);
    assert_int_equal(st.blocks, 4);
    assert_true(bs_has(f->bs, NULL, &versioned));
    ufs_reader *r;
    assert_int_equal(ufs_reader_open(f->bs, &versioned, n - 5, 5, &r, err, sizeof err), STORE_OK);
    uint8_t tail[5];
    size_t got;
    assert_int_equal(ufs_reader_read(r, tail, 5, &got, err, sizeof err), STORE_OK);
    assert_int_equal(got, 5);
    assert_memory_equal(tail, d4 + n - 5, 5);
    ufs_reader_free(r);
    free(d1), free(d2), free(d3), free(d4);
}

/* --- HAMT-sharded directories (tests/unit/data/hamt.car and hamt.txt:
 * made by the JS UnixFS importer, tests/oracle/hamt_car.mjs) --- */

static uint8_t *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", TEST_DATA, name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    p[n] = 0;
    *len = (size_t)n;
    return p;
}

static int count_entries(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize)
{
    (void)name, (void)name_len, (void)target, (void)tsize;
    (*(int *)arg)++;
    return 0;
}

static void hamt_directories(void **state)
{
    fixture *f = *state;
    char err[256];
    size_t len, tlen;
    uint8_t *car = slurp("hamt.car", &len);
    char *want = (char *)slurp("hamt.txt", &tlen);
    cid root, c;
    size_t nroots, off;
    assert_int_equal(car_read_header(car, len, &root, 1, &nroots, &off, err, sizeof err), 0);
    const uint8_t *block;
    size_t blen;
    int got, nblocks = 0;
    while ((got = car_next(car, len, &off, &c, &block, &blen, err, sizeof err)) == 1) {
        store_sink(f->bs, &c, block, blen);
        nblocks++;
    }
    assert_int_equal(got, 0);
    assert_int_equal(nblocks, 69); /* 8 shards, 61 files */

    cid out;
    ufs_stat st;
    assert_int_equal(ufs_resolve(f->bs, NULL, &root, "", &out, &st, err, sizeof err), STORE_OK);
    assert_int_equal(st.type, UFS_HAMT);
    int entries = 0;
    for (char *line = strtok(want, "\n"); line; line = strtok(NULL, "\n")) {
        char *sp = strchr(line, ' ');
        assert_non_null(sp);
        cid expect;
        assert_int_equal(cid_parse(line, (size_t)(sp - line), &expect, err, sizeof err), 0);
        if (strncmp(sp + 1, "dir/", 4))
            continue; /* the directory itself */
        int rc = ufs_resolve(f->bs, NULL, &root, sp + 5, &out, &st, err, sizeof err);
        assert_int_equal(rc, STORE_OK);
        assert_true(cid_equal(&out, &expect));
        entries++;
    }
    assert_int_equal(entries, 61);
    assert_int_equal(ufs_resolve(f->bs, NULL, &root, "file-060.txt", &out, &st, err, sizeof err), STORE_NOT_FOUND);
    assert_int_equal(ufs_resolve(f->bs, NULL, &root, "index.html/x", &out, &st, err, sizeof err), STORE_NOT_FOUND);
    int listed = 0;
    assert_int_equal(ufs_list(f->bs, NULL, &root, count_entries, &listed, err, sizeof err), 0);
    assert_int_equal(listed, 61);
    free(car);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(corrupt_block_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_leaf_mid_file, setup, teardown),
        cmocka_unit_test_setup_teardown(ranges_at_chunk_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(directories_and_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(deep_tree_with_inner_data, setup, teardown),
        cmocka_unit_test_setup_teardown(gc_keeps_what_is_referenced, setup, teardown),
        cmocka_unit_test_setup_teardown(hamt_directories, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
