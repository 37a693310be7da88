/*
 * store: the content store. IPFS-identical content addressing (CIDs, dag-pb,
 * UnixFS, kubo's importer settings), blocks in the node's LMDB environment,
 * file MiMei versions, and the readers the gateway streams from.
 *
 * Codec (no I/O, no allocation except where a function says so):
 *   cid.c       CIDv0/v1 text and binary forms, varints, sha2-256
 *   dagpb.c     dag-pb nodes and UnixFS Data messages, encode and decode
 *   importer.c  the streaming file importer and directory nodes, byte-exact
 *               with `ipfs add` (kubo): 262144-byte chunks, balanced layout
 *               of at most 174 links, CIDv0 with dag-pb leaves by default,
 *               CIDv1 with raw leaves
 *   car.c       CARv1 headers and sections
 * Storage (LMDB; thread-safe: every call takes its own transaction unless it
 * is given one):
 *   blocks.c    blocks keyed by multihash, each re-hashed when read; pins;
 *               gc and stat
 *   reader.c    path resolution, file ranges, directory listings, DAG walks
 *   files.c     file MiMei: numbered versions, the writable `cur` tree and
 *               its edits, reference counts
 *
 * Only sha2-256 multihashes and the dag-pb (0x70) and raw (0x55) codecs are
 * supported; anything else is refused with a one-line reason. Functions
 * returning int give 0 (or a count) on success and -1 (STORE_ERROR) on
 * failure with a one-line reason in err (errbuf.h), unless they say
 * otherwise; those whose callers tell failures apart return enum
 * store_status.
 */
#ifndef LEITHER_STORE_H
#define LEITHER_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* --- CIDs (cid.c) -------------------------------------------------------- */

#define CID_CODEC_RAW 0x55
#define CID_CODEC_DAG_PB 0x70
#define CID_DIGEST_LEN 32 /* sha2-256 */
#define CID_BIN_MAX 40    /* binary CIDv1: version, codec and multihash varints, digest */
#define CID_TEXT_MAX 72   /* text form with its NUL: "Qm..." (46) or "b..." (59 for dag-pb) */
#define MH_LEN 34         /* multihash: 0x12 0x20 digest; the key blocks are stored under */

typedef struct {
    uint8_t version; /* 0 or 1 */
    uint32_t codec;  /* CID_CODEC_*; always dag-pb for version 0 */
    uint8_t digest[CID_DIGEST_LEN];
} cid;

/* Parses "Qm..." (v0, base58btc), "b..." (v1, base32 lower), "B..." (base32
 * upper), "z..." (v1, base58btc), "f..." (v1, base16). */
int cid_parse(const char *text, size_t len, cid *out, char *err, size_t errlen);
/* Text form: v0 base58btc, v1 base32 lower with "b". Returns its length;
 * out needs CID_TEXT_MAX. */
size_t cid_format(const cid *c, char *out);
/* Binary form (v0: the multihash alone). Returns its length. */
size_t cid_to_bytes(const cid *c, uint8_t out[CID_BIN_MAX]);
/* Reads a binary CID at the start of p: bytes used, or 0 when it is not one
 * (or not supported). */
size_t cid_from_bytes(const uint8_t *p, size_t len, cid *out);
/* The CID of a block: sha2-256 of its bytes. */
void cid_of_block(cid *out, int version, uint32_t codec, const void *block, size_t len);
/* The multihash (0x12 0x20 digest): blocks of the same bytes share it. */
void cid_multihash(const cid *c, uint8_t out[MH_LEN]);
int cid_equal(const cid *a, const cid *b);
/* sha2-256 (OpenSSL: uses the CPU's SHA extensions where present). */
void store_sha256(uint8_t out[CID_DIGEST_LEN], const void *data, size_t len);
/* Multibase text into bytes: "b"/"B" base32, "z" base58btc, "f"/"F" base16,
 * "k"/"K" base36 (libp2p-key CIDs are often written so). Any CID or key,
 * whatever its codec or hash. The byte length, or -1 when malformed, longer
 * than MULTIBASE_TEXT_MAX or without room. */
#define MULTIBASE_TEXT_MAX 512
int multibase_decode(const char *text, size_t len, uint8_t *out, size_t cap);
/* The most bytes an identity multihash may inline (kubo's limit). */
#define CID_IDENTITY_MAX 128
/* A binary CIDv1 whose multihash is the identity (0x00): the block is in the
 * CID itself. 1 with its codec and bytes (pointing into bin; at most
 * CID_IDENTITY_MAX), else 0. */
int cid_identity(const uint8_t *bin, size_t n, uint32_t *codec, const uint8_t **data, size_t *dlen);
/* Unsigned LEB128 varints as multiformats uses them. put returns the bytes
 * written (at most 10); get the bytes read, or 0 when truncated or longer
 * than 9 bytes. */
size_t varint_put(uint8_t *out, uint64_t v);
size_t varint_get(const uint8_t *p, size_t len, uint64_t *v);

/* --- dag-pb and UnixFS (dagpb.c) ------------------------------------------ */

typedef struct {
    cid target;
    const char *name; /* not NUL-terminated; points into the decoded block */
    size_t name_len;
    int has_name;
    uint64_t tsize; /* cumulative size: the target's block and all below */
    int has_tsize;
} pb_link;

typedef struct {
    const uint8_t *data; /* points into the block */
    size_t data_len;
    int has_data;
    pb_link *links; /* malloc'd (NULL when none) */
    size_t nlinks;
} pb_node;

/* Decodes a dag-pb block (strict: the spec's field order, no unknown
 * fields). Free with pb_node_free. */
int pb_decode(const uint8_t *block, size_t len, pb_node *out, char *err, size_t errlen);
void pb_node_free(pb_node *n);
/* Encodes links (in the given order) then Data; every link gets its Name
 * (empty string included) and Tsize, as go-merkledag writes them. Returns a
 * malloc'd block and its length. */
uint8_t *pb_encode(const pb_link *links, size_t nlinks, const uint8_t *data, size_t data_len, int has_data,
                   size_t *len);

enum ufs_type { UFS_RAW = 0, UFS_DIRECTORY = 1, UFS_FILE = 2, UFS_METADATA = 3, UFS_SYMLINK = 4, UFS_HAMT = 5 };

typedef struct {
    int type;            /* enum ufs_type */
    const uint8_t *data; /* points into the input */
    size_t data_len;
    int has_data;
    uint64_t filesize;
    int has_filesize;
    uint64_t *blocksizes; /* malloc'd (NULL when none) */
    size_t nblocksizes;
} ufs_data;

/* Decodes a UnixFS Data message (the Data of a dag-pb node). Free with
 * ufs_data_free. */
int ufs_decode(const uint8_t *buf, size_t len, ufs_data *out, char *err, size_t errlen);
void ufs_data_free(ufs_data *d);
/* Encodes Type, Data (if has_data), filesize (if has_filesize), blocksizes,
 * in kubo's field order. Returns a malloc'd message and its length. */
uint8_t *ufs_encode(const ufs_data *d, size_t *len);

/* --- the importer (importer.c) ------------------------------------------ */

#define IMPORT_CHUNK 262144
#define IMPORT_MAX_LINKS 174

typedef struct {
    int cid_version; /* 0 (kubo's default) or 1 */
    int raw_leaves;  /* kubo: off for v0, on for v1 */
} import_opts;

/* Receives every block made, children before their parents. The block is
 * valid only during the call. Nonzero aborts the import (that value is
 * returned by the importer call that was running). */
typedef int (*block_sink)(void *arg, const cid *c, const uint8_t *block, size_t len);

typedef struct importer importer;

/* A file importer. Memory: one chunk plus one partial node per tree level. */
importer *importer_new(const import_opts *o, block_sink sink, void *arg);
/* Feeds file bytes, any amount at a time: chunks are cut at fixed offsets
 * whatever the write sizes. */
int importer_write(importer *im, const void *data, size_t len);
/* Ends the file: its root (a single-chunk file is its own root), its size,
 * and the root's cumulative size (the Tsize a link to it carries). */
int importer_finish(importer *im, cid *root, uint64_t *filesize, uint64_t *tsize);
void importer_free(importer *im);

typedef struct {
    const char *name; /* NUL-terminated */
    cid target;
    uint64_t tsize;
} dir_entry;

/* A UnixFS directory of these entries (sorted here by name bytes, as
 * go-merkledag does; names must be unique and contain no '/'), sent to sink;
 * its CID version is o->cid_version. */
int ufs_make_dir(const import_opts *o, dir_entry *entries, size_t n, block_sink sink, void *arg, cid *out,
                 uint64_t *tsize);
/* A UnixFS symlink node pointing at target. */
int ufs_make_symlink(const import_opts *o, const char *target, block_sink sink, void *arg, cid *out, uint64_t *tsize);

/* --- CAR v1 (car.c) ------------------------------------------------------ */

/* The header (varint length, then dag-cbor {"roots": [...], "version": 1}).
 * Returns its length; writes it only when it fits in cap. */
size_t car_header(uint8_t *out, size_t cap, const cid *roots, size_t nroots);
/* The same with one root in binary form (any CID, as an identity CID); 0
 * when it is longer than CID_IDENTITY_MAX + 16 bytes. */
size_t car_header_bin(uint8_t *out, size_t cap, const uint8_t *root, size_t root_len);
/* The start of a section: varint(len(cid) + block_len) and the binary CID;
 * the block's bytes follow. out needs CID_BIN_MAX + 10. Returns its length. */
size_t car_section_start(uint8_t *out, const cid *c, size_t block_len);
/* Reads the header at p: roots (up to max_roots), bytes used. */
int car_read_header(const uint8_t *p, size_t len, cid *roots, size_t max_roots, size_t *nroots, size_t *used,
                    char *err, size_t errlen);
/* Reads the section at p[*off]: 1 with c, block and block_len set (block
 * points into p) and *off advanced, 0 at the end of p, -1 when malformed or
 * truncated. Does not check the hash: callers do (cid_of_block). */
int car_next(const uint8_t *p, size_t len, size_t *off, cid *c, const uint8_t **block, size_t *block_len, char *err,
             size_t errlen);

/* --- blocks (blocks.c) ---------------------------------------------------- */

typedef struct blockstore blockstore;

/* Opens the store's DBIs ("blocks", "pins", "files", "refs") in env, which
 * the caller keeps open (the node's one environment; it needs MDB_NOTLS and
 * room for these four DBIs). */
blockstore *bs_open(MDB_env *env, char *err, size_t errlen);
void bs_close(blockstore *bs);
MDB_env *bs_env(blockstore *bs);

/* A transaction over the store: many calls, one commit (and one fsync). */
MDB_txn *bs_begin(blockstore *bs, int write, char *err, size_t errlen);
int bs_commit(MDB_txn *txn, char *err, size_t errlen); /* aborts on failure */

/* Stores a block (its write time too, for gc). The caller has checked that
 * block hashes to c. */
int bs_put(blockstore *bs, MDB_txn *txn, const cid *c, const void *block, size_t len, char *err, size_t errlen);
/* Bytes of new blocks (not stored before) bs_put has stored so far: the
 * figure after the writes of write transaction txn minus the figure before
 * them is what txn added (a guest's quota counts it). */
uint64_t bs_put_bytes(blockstore *bs, MDB_txn *txn);
/* 1 and *block, *len (pointing into the map, valid until txn ends) when
 * present and its bytes hash to c; 0 when absent; -1 when the stored bytes
 * do not match (corruption: err says so). */
int bs_get(blockstore *bs, MDB_txn *txn, const cid *c, const uint8_t **block, size_t *len, char *err, size_t errlen);
int bs_has(blockstore *bs, MDB_txn *txn, const cid *c);

/* Recursive pins (what `ipfs add` pins): add = 1 pins, 0 unpins. */
int bs_pin(blockstore *bs, MDB_txn *txn, const cid *root, int add, char *err, size_t errlen);
/* Calls fn for every pinned root; stops when fn returns nonzero. */
int bs_pins(blockstore *bs, MDB_txn *txn, int (*fn)(void *arg, const cid *root), void *arg);

typedef struct {
    uint64_t blocks, bytes;          /* stored blocks and their bytes */
    uint64_t pins, file_versions;    /* roots gc keeps */
    uint64_t removed, removed_bytes; /* what gc freed */
} bs_stats;

int bs_stat(blockstore *bs, bs_stats *out, char *err, size_t errlen);
/* The cheap figures, for monitoring (no scan, unlike bs_stat): blocks
 * stored, and the bytes of the LMDB pages their table takes. */
int bs_size(blockstore *bs, uint64_t *blocks, uint64_t *table_bytes, char *err, size_t errlen);
/* Removes every block no pin, file MiMei version (cur included) or extra
 * root refers to, except blocks written at or after spare_since (unix
 * seconds; adds in progress). One write transaction. Missing blocks under a
 * root are skipped, not errors. */
int bs_gc(blockstore *bs, int64_t spare_since, const cid *extra_roots, size_t nextra, bs_stats *out, char *err,
          size_t errlen);

/* --- reading (reader.c) -------------------------------------------------- */

typedef struct {
    int type;           /* UFS_FILE (raw blocks too), UFS_DIRECTORY, UFS_SYMLINK, ... */
    uint64_t size;      /* file: its bytes; directory: cumulative size of its links */
    uint64_t nentries;  /* directory: links */
} ufs_stat;

/* Why a read or an edit failed (errbuf.h); runtime/http maps them to HTTP
 * statuses (http_status_of_store). */
enum store_status {
    STORE_ERROR = -1,      /* I/O, LMDB or memory: nothing the client did */
    STORE_OK = 0,
    STORE_NOT_FOUND = 1,   /* what was asked for is not on this node */
    STORE_BAD_REQUEST = 2, /* it is there but cannot be served this way (not a file, a bad path) */
    STORE_CORRUPT = 3      /* a DAG the node has only part of, or a broken one */
};
/* The kind's name ("not found", ...): a static string. */
const char *store_strerror(enum store_status status);

/* Follows path ("a/b/c"; "" or NULL: root itself) from root through UnixFS
 * directories. Returns STORE_OK with *out set, or a status with err. */
enum store_status ufs_resolve(blockstore *bs, MDB_txn *txn, const cid *root, const char *path, cid *out, ufs_stat *st, char *err,
                size_t errlen);

/* Calls fn for each link of a UnixFS directory, in stored order. */
int ufs_list(blockstore *bs, MDB_txn *txn, const cid *dir,
             int (*fn)(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize), void *arg,
             char *err, size_t errlen);

/* Streams bytes [offset, offset + length) of a UnixFS file (or raw block).
 * Each read takes its own short read transaction, so a reader may live
 * across event-loop iterations. Memory: one block and the path to it. */
typedef struct ufs_reader ufs_reader;
enum store_status ufs_reader_open(blockstore *bs, const cid *file, uint64_t offset, uint64_t length, ufs_reader **out,
                                  char *err, size_t errlen);
/* Copies up to cap bytes into buf, their count in *got (0 at the end); a
 * status with err when a block is missing, corrupt or not UnixFS. */
enum store_status ufs_reader_read(ufs_reader *r, void *buf, size_t cap, size_t *got, char *err, size_t errlen);
void ufs_reader_free(ufs_reader *r);
/* A whole file below root (at most max bytes, NUL-terminated): malloc'd,
 * or NULL with a one-line reason. */
char *ufs_read_file(blockstore *bs, const cid *root, const char *path, size_t max, size_t *len, char *err,
                    size_t errlen);

/* Every block of a DAG once, in depth-first pre-order (a CAR's order). */
typedef struct dag_iter dag_iter;
dag_iter *dag_iter_new(blockstore *bs, const cid *root);
/* STORE_OK with c and a malloc'd copy of the block (caller frees), or with
 * *block NULL when the walk is done; a status with err. */
enum store_status dag_iter_next(dag_iter *it, cid *c, uint8_t **block, size_t *len, char *err, size_t errlen);
void dag_iter_free(dag_iter *it);

/* --- file MiMei (files.c) ------------------------------------------------ */

/* Version 0 is `cur` (writable); 1, 2, ... are frozen backups. */
#define FILES_CUR 0

/* 1 with *out when mid has that version, 0 when not. */
int files_get(blockstore *bs, MDB_txn *txn, const char *mid, uint32_t ver, cid *out);
/* The newest numbered version (0 when none). */
uint32_t files_last(blockstore *bs, MDB_txn *txn, const char *mid);
/* MiMeiSetCid: cur = c, and c frozen as version last + 1 (in *ver). */
int files_setcid(blockstore *bs, MDB_txn *txn, const char *mid, const cid *c, uint32_t *ver, char *err, size_t errlen);
int files_set_cur(blockstore *bs, MDB_txn *txn, const char *mid, const cid *c, char *err, size_t errlen);
/* Version ver (from 1) = c, as another node made it (runtime/sync): a
 * follower's copy gets the author's numbers. */
int files_put_version(blockstore *bs, MDB_txn *txn, const char *mid, uint32_t ver, const cid *c, char *err,
                      size_t errlen);
/* Freezes cur as version last + 1 (error when there is no cur). */
int files_backup(blockstore *bs, MDB_txn *txn, const char *mid, uint32_t *ver, char *err, size_t errlen);
/* A version as ?ver= or -v names it: "cur", "last", N, or "" (last when
 * there is one, else cur). 0 with *ver set, or -1 with err when mid has
 * no such version. */
int files_version(blockstore *bs, MDB_txn *txn, const char *mid, const char *spec, uint32_t *ver, char *err,
                  size_t errlen);
/* Calls fn for cur (ver 0) then each version in order. */
int files_versions(blockstore *bs, MDB_txn *txn, const char *mid, int (*fn)(void *arg, uint32_t ver, const cid *c),
                   void *arg);
/* Calls fn(mid, ver) for every version (cur included) of every file MiMei
 * whose root is the block of c (same multihash, whatever the CID's version
 * or codec), until fn returns nonzero: one pass over the versions. */
int files_with_root(blockstore *bs, MDB_txn *txn, const cid *c, int (*fn)(void *arg, const char *mid, uint32_t ver),
                    void *arg);

/* Forgets mid's versions (cur included) and its references to other MiMei,
 * so that gc frees the blocks nothing else holds. */
int files_drop(blockstore *bs, MDB_txn *txn, const char *mid, char *err, size_t errlen);

/* Edits of a UnixFS directory tree; each returns the new root (blocks of
 * the changed path are written in txn, with root's CID version). Missing
 * parent directories are created by put and mkdir. */
enum store_status tree_put(blockstore *bs, MDB_txn *txn, const cid *root, const char *path, const cid *target,
                           uint64_t tsize, cid *newroot, char *err, size_t errlen);
enum store_status tree_rm(blockstore *bs, MDB_txn *txn, const cid *root, const char *path, cid *newroot, char *err,
                          size_t errlen);
enum store_status tree_mv(blockstore *bs, MDB_txn *txn, const cid *root, const char *from, const char *to,
                          cid *newroot, char *err, size_t errlen);
enum store_status tree_mkdir(blockstore *bs, MDB_txn *txn, const cid *root, const char *path, cid *newroot, char *err,
                             size_t errlen);
/* The empty UnixFS directory (QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn),
 * stored in txn. */
int tree_empty(blockstore *bs, MDB_txn *txn, int cid_version, cid *out, char *err, size_t errlen);

/* --- server code the gateway never serves (hidden.c) ---------------------- */

/* Records root and every block below it (those in the store) in txn. */
int bs_hide_dag(blockstore *bs, MDB_txn *txn, const cid *root, char *err, size_t errlen);
/* Records an app version's server/ folder, if it has one. */
int bs_hide_app_code(blockstore *bs, MDB_txn *txn, const cid *app_root, char *err, size_t errlen);
/* 1 when c's bytes are recorded server code (txn: a read transaction). */
int bs_is_hidden(blockstore *bs, MDB_txn *txn, const cid *c);
/* bs_hide_app_code, recording the code as app MiMei mid's too (a Leither
 * ID), so the gateway may hand it out as raw blocks while mid is public. */
int bs_hide_app_code_of(blockstore *bs, MDB_txn *txn, const cid *app_root, const char *mid, char *err, size_t errlen);
/* bs_is_hidden, with the app MiMei the code was recorded for in mids,
 * comma-separated (the latest 16; "" when none is known). cap: 1100 holds
 * every list. */
#define BS_HIDDEN_APPS_CAP 1100
int bs_hidden_apps(blockstore *bs, MDB_txn *txn, const cid *c, char *mids, size_t cap);

/* References between MiMei (MMAddRef/MMDelRef/MMGetRef): a count per
 * (mid, other). delta +1 or -1; the count never goes below 0 (0 removes). */
int refs_change(blockstore *bs, MDB_txn *txn, const char *mid, const char *other, int delta, uint32_t *count,
                char *err, size_t errlen);
int refs_list(blockstore *bs, MDB_txn *txn, const char *mid,
              int (*fn)(void *arg, const char *other, uint32_t count), void *arg);

#endif
