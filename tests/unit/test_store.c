/* store codec: CIDs, dag-pb, UnixFS and the importer against kubo's vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ids.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers ----------------------------------------------------------------- */

/* A sink that keeps the small blocks (nodes, not full leaves) and the last. */
#define KEEP_MAX 64
typedef struct {
    size_t nblocks;
    size_t nkept;
    cid kept_cid[KEEP_MAX];
    uint8_t *kept[KEEP_MAX];
    size_t kept_len[KEEP_MAX];
    int check_dagpb; /* every dag-pb block must decode */
} collector;

static int collect(void *arg, const cid *c, const uint8_t *block, size_t len)
{
    collector *k = arg;
    k->nblocks++;
    uint8_t mh[MH_LEN];
    cid again;
    cid_of_block(&again, c->version, c->codec, block, len);
    assert_true(cid_equal(&again, c));
    cid_multihash(c, mh);
    if (k->check_dagpb && c->codec == CID_CODEC_DAG_PB) {
        pb_node n;
        char err[256];
        assert_int_equal(pb_decode(block, len, &n, err, sizeof err), 0);
        pb_node_free(&n);
    }
    if (len < 100000 && k->nkept < KEEP_MAX) {
        k->kept_cid[k->nkept] = *c;
        k->kept[k->nkept] = malloc(len ? len : 1);
        memcpy(k->kept[k->nkept], block, len);
        k->kept_len[k->nkept++] = len;
    }
    return 0;
}

static void collector_free(collector *k)
{
    for (size_t i = 0; i < k->nkept; i++)
        free(k->kept[i]);
    memset(k, 0, sizeof *k);
}

static const uint8_t *find_block(const collector *k, const cid *c, size_t *len)
{
    for (size_t i = 0; i < k->nkept; i++)
        if (cid_equal(&k->kept_cid[i], c)) {
            *len = k->kept_len[i];
            return k->kept[i];
        }
    return NULL;
}

static int discard(void *arg, const cid *c, const uint8_t *block, size_t len)
{
    (void)arg, (void)c, (void)block, (void)len;
    return 0;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* Imports data written step bytes at a time; returns the root's text. */
static void import_text(const import_opts *o, const uint8_t *data, size_t n, size_t step, char *text, block_sink sink,
                        void *arg)
{
    importer *im = importer_new(o, sink ? sink : discard, arg);
    assert_non_null(im);
    for (size_t off = 0; off < n; off += step)
        assert_int_equal(importer_write(im, data + off, n - off < step ? n - off : step), 0);
    cid root;
    uint64_t size, tsize;
    assert_int_equal(importer_finish(im, &root, &size, &tsize), 0);
    assert_int_equal(size, n);
    assert_true(tsize >= n);
    importer_free(im);
    cid_format(&root, text);
}

static const import_opts V0 = {0, 0}, V1 = {1, 1};

/* --- vectors ----------------------------------------------------------------- */

static void known_file_vectors(void **state)
{
    (void)state;
    char text[CID_TEXT_MAX];
    const uint8_t *hello = (const uint8_t *)"hello world\n";
    import_text(&V0, hello, 12, 12, text, NULL, NULL);
    assert_string_equal(text, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
    import_text(&V0, hello, 0, 1, text, NULL, NULL);
    assert_string_equal(text, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
    import_text(&V1, hello, 0, 1, text, NULL, NULL);
    assert_string_equal(text, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    import_text(&V1, hello, 12, 5, text, NULL, NULL);
    assert_string_equal(text, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
}

static void empty_dir_and_symlink(void **state)
{
    (void)state;
    collector k = {0};
    cid c;
    uint64_t tsize;
    char text[CID_TEXT_MAX];
    assert_int_equal(ufs_make_dir(&V0, NULL, 0, collect, &k, &c, &tsize), 0);
    cid_format(&c, text);
    assert_string_equal(text, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    assert_int_equal(tsize, 4);
    assert_int_equal(k.kept_len[0], 4);
    assert_memory_equal(k.kept[0], "\x0a\x02\x08\x01", 4);
    collector_free(&k);

    assert_int_equal(ufs_make_symlink(&V0, "a/b", collect, &k, &c, &tsize), 0);
    pb_node n;
    ufs_data d;
    char err[256];
    assert_int_equal(pb_decode(k.kept[0], k.kept_len[0], &n, err, sizeof err), 0);
    assert_int_equal(n.nlinks, 0);
    assert_int_equal(ufs_decode(n.data, n.data_len, &d, err, sizeof err), 0);
    assert_int_equal(d.type, UFS_SYMLINK);
    assert_int_equal(d.data_len, 3);
    assert_memory_equal(d.data, "a/b", 3);
    assert_false(d.has_filesize);
    ufs_data_free(&d);
    pb_node_free(&n);
    collector_free(&k);
}

static void dir_sorted_by_name(void **state)
{
    (void)state;
    collector k = {0};
    dir_entry e[3];
    const char *names[3] = {"b", "B", "a.txt"};
    for (int i = 0; i < 3; i++) {
        e[i].name = names[i];
        cid_of_block(&e[i].target, 0, CID_CODEC_DAG_PB, names[i], strlen(names[i]));
        e[i].tsize = 100 + (uint64_t)i;
    }
    cid c;
    uint64_t tsize;
    assert_int_equal(ufs_make_dir(&V1, e, 3, collect, &k, &c, &tsize), 0);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.codec, CID_CODEC_DAG_PB);
    pb_node n;
    char err[256];
    assert_int_equal(pb_decode(k.kept[0], k.kept_len[0], &n, err, sizeof err), 0);
    assert_int_equal(n.nlinks, 3);
    assert_memory_equal(n.links[0].name, "B", 1);
    assert_memory_equal(n.links[1].name, "a.txt", 5);
    assert_memory_equal(n.links[2].name, "b", 1);
    assert_int_equal(n.links[0].tsize, 101);
    assert_int_equal(tsize, k.kept_len[0] + 100 + 101 + 102);
    assert_int_equal(n.data_len, 2);
    pb_node_free(&n);
    collector_free(&k);
}

/* --- dag-pb and UnixFS --------------------------------------------------------- */

static void dagpb_round_trip(void **state)
{
    (void)state;
    pb_link links[2] = {0};
    cid_of_block(&links[0].target, 0, CID_CODEC_DAG_PB, "x", 1);
    links[0].name = "";
    links[0].tsize = 7;
    cid_of_block(&links[1].target, 1, CID_CODEC_RAW, "y", 1);
    links[1].name = "file.txt";
    links[1].name_len = 8;
    links[1].tsize = 300000;
    size_t len;
    uint8_t *b = pb_encode(links, 2, (const uint8_t *)"\x08\x02", 2, 1, &len);
    assert_non_null(b);
    /* go-merkledag: the empty Name is written, 0x12 0x00 */
    assert_int_equal(b[0], 0x12);
    assert_int_equal(b[1], 2 + 34 + 2 + 2);
    assert_int_equal(b[2 + 2 + 34], 0x12);
    assert_int_equal(b[2 + 2 + 34 + 1], 0x00);
    pb_node n;
    char err[256];
    assert_int_equal(pb_decode(b, len, &n, err, sizeof err), 0);
    assert_int_equal(n.nlinks, 2);
    assert_true(n.has_data);
    assert_int_equal(n.data_len, 2);
    assert_true(cid_equal(&n.links[0].target, &links[0].target));
    assert_true(cid_equal(&n.links[1].target, &links[1].target));
    assert_true(n.links[0].has_name && n.links[0].has_tsize);
    assert_int_equal(n.links[0].name_len, 0);
    assert_int_equal(n.links[1].name_len, 8);
    assert_memory_equal(n.links[1].name, "file.txt", 8);
    assert_int_equal(n.links[1].tsize, 300000);
    size_t len2;
    uint8_t *b2 = pb_encode(n.links, n.nlinks, n.data, n.data_len, 1, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(b, b2, len);
    free(b2);
    pb_node_free(&n);
    free(b);

    /* no links, no data: the empty block */
    b = pb_encode(NULL, 0, NULL, 0, 0, &len);
    assert_int_equal(len, 0);
    assert_int_equal(pb_decode(b, 0, &n, err, sizeof err), 0);
    assert_false(n.has_data);
    free(b);
}

static void dagpb_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        const char *why;
    } bad[] = {
        {"\x0a\x01\x00\x12\x00", 5, "Links after Data"},
        {"\x0a\x00\x0a\x00", 4, "second Data"},
        {"\x1a\x00", 2, "unknown field 3"},
        {"\x08\x01", 2, "wire type 0"},
        {"\x0a\x05\x01", 3, "Data truncated"},
        {"\x0a", 1, "Data truncated"},
        {"\x12\x00", 2, "no Hash"},
        {"\x12\x02\x0a\x00", 4, "not a supported binary CID"},
        {"\x12\x02\x12\x00", 4, "no Hash"},
        {"\x12\x02\x20\x00", 4, "unknown field 4"},
        {"\x12\x04\x18\x01\x0a\x00", 6, "out of order"},
        {"\x12\x02\x18\x80", 4, "truncated"},
        {"\x80", 1, "bad field tag"},
        {"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11, "Data truncated"},
        {"\x00\x00", 2, "bad field tag"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        pb_node n;
        char err[256] = "";
        assert_int_equal(pb_decode((const uint8_t *)bad[i].bytes, bad[i].len, &n, err, sizeof err), -1);
        if (!strstr(err, bad[i].why))
            fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].why);
        assert_null(strchr(err, '\n'));
    }
    /* a link whose Hash carries an unsupported codec */
    uint8_t blk[64] = {0x12, 38, 0x0a, 36, 0x01, 0x71, 0x12, 0x20};
    pb_node n;
    char err[256];
    assert_int_equal(pb_decode(blk, 40, &n, err, sizeof err), -1);
    blk[5] = 0x55;
    assert_int_equal(pb_decode(blk, 40, &n, err, sizeof err), 0);
    assert_int_equal(n.nlinks, 1);
    assert_false(n.links[0].has_name);
    pb_node_free(&n);
    /* a Hash with bytes past the CID */
    uint8_t blk2[64] = {0x12, 38, 0x0a, 36, 0x12, 0x20};
    assert_int_equal(pb_decode(blk2, 40, &n, err, sizeof err), -1);
}

static void ufs_round_trip_and_rejects(void **state)
{
    (void)state;
    uint64_t bs[3] = {262144, 262144, 5};
    ufs_data d = {.type = UFS_FILE, .data = (const uint8_t *)"abc", .data_len = 3, .has_data = 1,
                  .filesize = 524293, .has_filesize = 1, .blocksizes = bs, .nblocksizes = 3};
    size_t len;
    uint8_t *b = ufs_encode(&d, &len);
    assert_non_null(b);
    assert_memory_equal(b, "\x08\x02\x12\x03" "abc\x18", 8);
    assert_int_equal(b[len - 2], 0x20); /* not packed */
    ufs_data e;
    char err[256];
    assert_int_equal(ufs_decode(b, len, &e, err, sizeof err), 0);
    assert_int_equal(e.type, UFS_FILE);
    assert_int_equal(e.data_len, 3);
    assert_int_equal(e.filesize, 524293);
    assert_int_equal(e.nblocksizes, 3);
    assert_memory_equal(e.blocksizes, bs, sizeof bs);
    ufs_data_free(&e);
    free(b);

    /* packed blocksizes, hashType, fanout, mode and mtime are read */
    static const uint8_t ok[] = {0x08, 0x05, 0x22, 0x02, 0x01, 0x02, 0x28, 0x22, 0x30, 0x80, 0x02,
                                 0x38, 0xa4, 0x03, 0x42, 0x02, 0x08, 0x01};
    assert_int_equal(ufs_decode(ok, sizeof ok, &e, err, sizeof err), 0);
    assert_int_equal(e.type, UFS_HAMT);
    assert_int_equal(e.nblocksizes, 2);
    assert_int_equal(e.blocksizes[1], 2);
    ufs_data_free(&e);

    static const struct {
        const char *bytes;
        size_t len;
        const char *why;
    } bad[] = {
        {"", 0, "no Type"},
        {"\x18\x01", 2, "no Type"},
        {"\x08\x09", 2, "unknown Type"},
        {"\x08\x02\x08\x02", 4, "repeated"},
        {"\x08\x02\x48\x00", 4, "unknown field 9"},
        {"\x0a\x00", 2, "wire type"},
        {"\x08\x02\x12\x05" "ab", 6, "truncated"},
        {"\x08", 1, "truncated"},
        {"\x08\x02\x22\x01\x80", 5, "packed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(ufs_decode((const uint8_t *)bad[i].bytes, bad[i].len, &e, err, sizeof err), -1);
        if (!strstr(err, bad[i].why))
            fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].why);
        assert_null(e.blocksizes);
    }
}

/* --- the importer -------------------------------------------------------------- */

static void importer_write_size_invariance(void **state)
{
    (void)state;
    size_t n = 3 * IMPORT_CHUNK + 12345;
    uint8_t *data = malloc(n);
    fill_random(data, n, 42);
    for (int v = 0; v < 2; v++) {
        const import_opts *o = v ? &V1 : &V0;
        char whole[CID_TEXT_MAX], t[CID_TEXT_MAX];
        import_text(o, data, n, n, whole, NULL, NULL);
        static const size_t steps[] = {1, 7, 1 << 20, IMPORT_CHUNK, IMPORT_CHUNK + 1};
        for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
            import_text(o, data, n, steps[i], t, NULL, NULL);
            assert_string_equal(whole, t);
        }
    }
    /* a file of exactly one chunk is its own leaf; one byte more makes a parent */
    collector k = {0};
    char t[CID_TEXT_MAX];
    k.check_dagpb = 1;
    import_text(&V0, data, IMPORT_CHUNK, 1000, t, collect, &k);
    assert_int_equal(k.nblocks, 1);
    collector_free(&k);
    k.check_dagpb = 1;
    import_text(&V0, data, IMPORT_CHUNK + 1, 1000, t, collect, &k);
    assert_int_equal(k.nblocks, 3);
    collector_free(&k);
    free(data);
}

/* Imports nchunks chunks (plus extra bytes) of zeros; returns the root's block. */
static void tree_of(size_t nchunks, size_t extra, collector *k, cid *root, int raw)
{
    import_opts o = {raw, raw};
    importer *im = importer_new(&o, collect, k);
    uint8_t *zero = calloc(1, IMPORT_CHUNK);
    for (size_t i = 0; i < nchunks; i++)
        assert_int_equal(importer_write(im, zero, IMPORT_CHUNK), 0);
    assert_int_equal(importer_write(im, zero, extra), 0);
    uint64_t size, tsize;
    assert_int_equal(importer_finish(im, root, &size, &tsize), 0);
    assert_int_equal(size, (uint64_t)nchunks * IMPORT_CHUNK + extra);
    importer_free(im);
    free(zero);
}

static void check_node(const collector *k, const cid *c, size_t nlinks, uint64_t filesize, pb_node *n, ufs_data *d)
{
    size_t len = 0;
    char err[256];
    const uint8_t *b = find_block(k, c, &len);
    assert_non_null(b);
    assert_int_equal(pb_decode(b, len, n, err, sizeof err), 0);
    assert_int_equal(n->nlinks, nlinks);
    assert_int_equal(ufs_decode(n->data, n->data_len, d, err, sizeof err), 0);
    assert_int_equal(d->type, UFS_FILE);
    assert_int_equal(d->filesize, filesize);
    assert_int_equal(d->nblocksizes, nlinks);
    assert_false(d->has_data);
}

static void importer_tree_shapes(void **state)
{
    (void)state;
    for (int raw = 0; raw < 2; raw++) {
        collector k = {0};
        cid root;
        pb_node n, m;
        ufs_data d, e;
        tree_of(IMPORT_MAX_LINKS, 0, &k, &root, raw);
        assert_int_equal(k.nblocks, IMPORT_MAX_LINKS + 1);
        check_node(&k, &root, IMPORT_MAX_LINKS, (uint64_t)IMPORT_MAX_LINKS * IMPORT_CHUNK, &n, &d);
        for (size_t i = 0; i < n.nlinks; i++) {
            assert_int_equal(d.blocksizes[i], IMPORT_CHUNK);
            assert_int_equal(n.links[i].tsize, raw ? IMPORT_CHUNK : IMPORT_CHUNK + 14);
            assert_int_equal(n.links[i].name_len, 0);
            assert_int_equal(n.links[i].target.codec, raw ? CID_CODEC_RAW : CID_CODEC_DAG_PB);
        }
        pb_node_free(&n);
        ufs_data_free(&d);
        collector_free(&k);

        /* 175 chunks: root[node(174 leaves), node(1 leaf)] */
        tree_of(IMPORT_MAX_LINKS + 1, 0, &k, &root, raw);
        check_node(&k, &root, 2, (uint64_t)(IMPORT_MAX_LINKS + 1) * IMPORT_CHUNK, &n, &d);
        assert_int_equal(d.blocksizes[0], (uint64_t)IMPORT_MAX_LINKS * IMPORT_CHUNK);
        assert_int_equal(d.blocksizes[1], IMPORT_CHUNK);
        check_node(&k, &n.links[0].target, IMPORT_MAX_LINKS, (uint64_t)IMPORT_MAX_LINKS * IMPORT_CHUNK, &m, &e);
        pb_node_free(&m);
        ufs_data_free(&e);
        check_node(&k, &n.links[1].target, 1, IMPORT_CHUNK, &m, &e);
        size_t len = 0;
        find_block(&k, &n.links[1].target, &len);
        assert_int_equal(n.links[1].tsize, len + m.links[0].tsize);
        pb_node_free(&m);
        ufs_data_free(&e);
        pb_node_free(&n);
        ufs_data_free(&d);
        collector_free(&k);
    }
}

/* --- CIDs ------------------------------------------------------------------------ */

/* multibase_decode: the same bytes in every base; the peer ID spellings
 * the routing API takes; identity CIDs and the CAR header of one */
static void multibase_and_identity(void **state)
{
    (void)state;
    uint8_t out[MULTIBASE_TEXT_MAX], car[256];
    /* a libp2p-key CID of an ed25519 peer ID in base32 and base36 */
    const char *b = "bafzaajaiaejcamxgq25c3mdnzextnqly5rr24wzdpon3h3yildp7wqfvm6sd3oi6";
    const char *k = "k51qzi5uqu5dhg9dgdnftkrvd1t6pt2h95qlq9b32ipbpzde4yrv5317nuzq5a";
    uint8_t kb[MULTIBASE_TEXT_MAX];
    int n = multibase_decode(b, strlen(b), out, sizeof out);
    assert_int_equal(n, 40); /* 01 72, identity multihash of 36 bytes */
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0x72);
    assert_int_equal(out[2], 0);
    assert_int_equal(out[3], 36);
    assert_int_equal(multibase_decode(k, strlen(k), kb, sizeof kb), 40);
    assert_memory_equal(out, kb, 40);
    /* base36's leading zero bytes are '0's; upper case "K" */
    assert_int_equal(multibase_decode("k00z", 4, kb, sizeof kb), 3);
    assert_int_equal(kb[0], 0), assert_int_equal(kb[1], 0), assert_int_equal(kb[2], 35);
    assert_int_equal(multibase_decode("K00Z", 4, kb, sizeof kb), 3);
    assert_int_equal(kb[2], 35);
    assert_int_equal(multibase_decode("f0a0B", 5, kb, sizeof kb), 2);
    assert_int_equal(kb[1], 0x0b);
    static const char *bad[] = {"", "b", "x12", "kA", "Kz", "f0", "f0g", "f\x10\x10", "b1", "z0", "k!"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(multibase_decode(bad[i], strlen(bad[i]), out, sizeof out), -1);
    assert_int_equal(multibase_decode(k, strlen(k), out, 39), -1); /* no room */
    char huge[MULTIBASE_TEXT_MAX + 2];
    memset(huge, 'a', sizeof huge);
    huge[0] = 'b';
    assert_int_equal(multibase_decode(huge, sizeof huge, out, sizeof out), -1);

    /* bafkqaaa: the empty raw block, inline */
    uint32_t codec;
    const uint8_t *data;
    size_t len;
    n = multibase_decode("bafkqaaa", 8, out, sizeof out);
    assert_int_equal(n, 4);
    assert_int_equal(cid_identity(out, (size_t)n, &codec, &data, &len), 1);
    assert_int_equal(codec, CID_CODEC_RAW);
    assert_int_equal(len, 0);
    const uint8_t hello[] = {1, 0x55, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    assert_int_equal(cid_identity(hello, sizeof hello, &codec, &data, &len), 1);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    assert_int_equal(cid_identity(hello, sizeof hello - 1, &codec, &data, &len), 0); /* short */
    const uint8_t sha[] = {1, 0x55, 0x12, 1, 0};
    assert_int_equal(cid_identity(sha, sizeof sha, &codec, &data, &len), 0);
    uint8_t big[5 + 129] = {1, 0x55, 0, 0x80, 1}; /* 128 inline bytes: the most taken */
    assert_int_equal(cid_identity(big, 5 + 128, &codec, &data, &len), 1);
    assert_int_equal(len, 128);
    big[3] = 0x81; /* 129 bytes: over CID_IDENTITY_MAX */
    assert_int_equal(cid_identity(big, 5 + 129, &codec, &data, &len), 0);

    /* car_header_bin of a CID's bytes is car_header of the CID */
    cid c;
    uint8_t bin[CID_BIN_MAX], other[256];
    cid_of_block(&c, 1, CID_CODEC_RAW, "x", 1);
    size_t bl = cid_to_bytes(&c, bin);
    size_t hl = car_header(car, sizeof car, &c, 1);
    assert_int_equal(car_header_bin(other, sizeof other, bin, bl), hl);
    assert_memory_equal(car, other, hl);
    uint8_t longer[CID_IDENTITY_MAX + 17] = {0};
    assert_int_equal(car_header_bin(other, sizeof other, longer, sizeof longer), 0);
}

static void cid_text_round_trips(void **state)
{
    (void)state;
    char err[256], text[CID_TEXT_MAX];
    cid c, d;
    const char *v0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";
    assert_int_equal(cid_parse(v0, strlen(v0), &c, err, sizeof err), 0);
    assert_int_equal(c.version, 0);
    assert_int_equal(cid_format(&c, text), 46);
    assert_string_equal(text, v0);
    uint8_t bin[CID_BIN_MAX];
    assert_int_equal(cid_to_bytes(&c, bin), MH_LEN);
    assert_int_equal(cid_from_bytes(bin, MH_LEN, &d), MH_LEN);
    assert_true(cid_equal(&c, &d));

    const char *v1 = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
    assert_int_equal(cid_parse(v1, strlen(v1), &c, err, sizeof err), 0);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.codec, CID_CODEC_RAW);
    cid_format(&c, text);
    assert_string_equal(text, v1);
    size_t bl = cid_to_bytes(&c, bin);
    assert_int_equal(bl, 36);
    assert_int_equal(cid_from_bytes(bin, bl, &d), bl);
    assert_true(cid_equal(&c, &d));
    assert_int_equal(cid_from_bytes(bin, bl - 1, &d), 0);

    /* upper base32, base58btc and base16 spellings of the same CID */
    char alt[128];
    for (size_t i = 0; v1[i]; i++)
        alt[i] = (char)(i ? v1[i] - (v1[i] >= 'a' ? 32 : 0) : 'B');
    alt[strlen(v1)] = '\0';
    assert_int_equal(cid_parse(alt, strlen(alt), &d, err, sizeof err), 0);
    assert_true(cid_equal(&c, &d));
    alt[0] = 'z';
    ids_base58_encode(alt + 1, sizeof alt - 1, bin, bl);
    assert_int_equal(cid_parse(alt, strlen(alt), &d, err, sizeof err), 0);
    assert_true(cid_equal(&c, &d));
    alt[0] = 'f';
    ids_hex_encode(alt + 1, bin, bl);
    assert_int_equal(cid_parse(alt, strlen(alt), &d, err, sizeof err), 0);
    assert_true(cid_equal(&c, &d));
    alt[3] = 'g';
    assert_int_equal(cid_parse(alt, strlen(alt), &d, err, sizeof err), -1);

    /* a dag-pb v1 */
    cid_of_block(&c, 1, CID_CODEC_DAG_PB, "x", 1);
    assert_int_equal(cid_format(&c, text), 59);
    assert_memory_equal(text, "bafybei", 7);
    assert_int_equal(cid_parse(text, strlen(text), &d, err, sizeof err), 0);
    assert_true(cid_equal(&c, &d));

    static const char *bad[] = {
        "", "Q", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff50",
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei", /* short */
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei41", "bAFK", "xyz",
        "bafyreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", /* dag-cbor */
        "f01551220", "f0", "zzzz",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        if (cid_parse(bad[i], strlen(bad[i]), &d, err, sizeof err) != -1)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(err[0] != '\0');
    }
    /* the reason quotes the input, but stays one line */
    assert_int_equal(cid_parse("bafy\nx", 7, &d, err, sizeof err), -1);
    assert_null(strchr(err, '\n'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_file_vectors),
        cmocka_unit_test(empty_dir_and_symlink),
        cmocka_unit_test(dir_sorted_by_name),
        cmocka_unit_test(dagpb_round_trip),
        cmocka_unit_test(dagpb_rejects),
        cmocka_unit_test(ufs_round_trip_and_rejects),
        cmocka_unit_test(importer_write_size_invariance),
        cmocka_unit_test(importer_tree_shapes),
        cmocka_unit_test(cid_text_round_trips),
        cmocka_unit_test(multibase_and_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
