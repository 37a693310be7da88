/*
 * files: file MiMei. A version is a root CID in the files DBI (cur is
 * version 0, backups 1, 2, ...). A folder is a UnixFS directory: edits
 * rebuild the directories on the changed path, bottom up, so every version
 * stays an immutable IPFS DAG and unchanged subtrees are shared.
 * Also the MiMei reference counts (refs DBI).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

#define MID_LEN 27

static int mid_ok(const char *mid) { return mid && strlen(mid) == MID_LEN; }

static MDB_val version_key(uint8_t buf[MID_LEN + 4], const char *mid, uint32_t ver)
{
    memcpy(buf, mid, MID_LEN);
    buf[MID_LEN] = (uint8_t)(ver >> 24), buf[MID_LEN + 1] = (uint8_t)(ver >> 16);
    buf[MID_LEN + 2] = (uint8_t)(ver >> 8), buf[MID_LEN + 3] = (uint8_t)ver;
    return (MDB_val){MID_LEN + 4, buf};
}

static uint32_t key_version(const MDB_val *k)
{
    const uint8_t *p = (const uint8_t *)k->mv_data + MID_LEN;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int same_mid(const MDB_val *k, const char *mid)
{
    return k->mv_size == MID_LEN + 4 && !memcmp(k->mv_data, mid, MID_LEN);
}

int files_get(blockstore *bs, MDB_txn *txn, const char *mid, uint32_t ver, cid *out)
{
    if (!mid_ok(mid))
        return 0;
    uint8_t kb[MID_LEN + 4];
    MDB_val k = version_key(kb, mid, ver), v;
    if (mdb_get(txn, bs->files, &k, &v) != 0)
        return 0;
    return cid_from_bytes(v.mv_data, v.mv_size, out) == v.mv_size;
}

uint32_t files_last(blockstore *bs, MDB_txn *txn, const char *mid)
{
    if (!mid_ok(mid))
        return 0;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, bs->files, &cur) != 0)
        return 0;
    uint8_t kb[MID_LEN + 4];
    MDB_val k = version_key(kb, mid, UINT32_MAX), v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && same_mid(&k, mid) && key_version(&k) == UINT32_MAX)
        rc = 0; /* the very last possible version */
    else
        rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
    uint32_t last = rc == 0 && same_mid(&k, mid) ? key_version(&k) : 0;
    mdb_cursor_close(cur);
    return last;
}

static int put_version(blockstore *bs, MDB_txn *txn, const char *mid, uint32_t ver, const cid *c, char *err,
                       size_t errlen)
{
    uint8_t kb[MID_LEN + 4], bin[CID_BIN_MAX];
    MDB_val k = version_key(kb, mid, ver), v = {cid_to_bytes(c, bin), bin};
    int rc = mdb_put(txn, bs->files, &k, &v, 0);
    return rc ? ERR("saving version %u of %s: %s", ver, mid, mdb_strerror(rc)) : 0;
}

int files_set_cur(blockstore *bs, MDB_txn *txn, const char *mid, const cid *c, char *err, size_t errlen)
{
    if (!mid_ok(mid))
        return ERR("invalid MiMei ID '%s'", mid ? mid : "");
    return put_version(bs, txn, mid, FILES_CUR, c, err, errlen);
}

int files_setcid(blockstore *bs, MDB_txn *txn, const char *mid, const cid *c, uint32_t *ver, char *err, size_t errlen)
{
    if (files_set_cur(bs, txn, mid, c, err, errlen) != 0)
        return -1;
    uint32_t last = files_last(bs, txn, mid);
    if (last == UINT32_MAX)
        return ERR("%s has no version numbers left", mid);
    *ver = last + 1;
    return put_version(bs, txn, mid, *ver, c, err, errlen);
}

int files_put_version(blockstore *bs, MDB_txn *txn, const char *mid, uint32_t ver, const cid *c, char *err,
                      size_t errlen)
{
    if (!mid_ok(mid))
        return ERR("invalid MiMei ID '%s'", mid ? mid : "");
    if (ver == FILES_CUR)
        return ERR("version 0 is cur, not a numbered version");
    return put_version(bs, txn, mid, ver, c, err, errlen);
}

int files_backup(blockstore *bs, MDB_txn *txn, const char *mid, uint32_t *ver, char *err, size_t errlen)
{
    cid c;
    if (!files_get(bs, txn, mid, FILES_CUR, &c))
        return ERR("%s has no content yet: nothing to back up", mid);
    uint32_t last = files_last(bs, txn, mid);
    if (last == UINT32_MAX)
        return ERR("%s has no version numbers left", mid);
    *ver = last + 1;
    return put_version(bs, txn, mid, *ver, &c, err, errlen);
}

int files_versions(blockstore *bs, MDB_txn *txn, const char *mid, int (*fn)(void *arg, uint32_t ver, const cid *c),
                   void *arg)
{
    if (!mid_ok(mid))
        return 0;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, bs->files, &cur) != 0)
        return -1;
    uint8_t kb[MID_LEN + 4];
    MDB_val k = version_key(kb, mid, 0), v;
    int n = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && same_mid(&k, mid);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cid c;
        if (cid_from_bytes(v.mv_data, v.mv_size, &c) != v.mv_size)
            continue;
        n++;
        if (fn(arg, key_version(&k), &c))
            break;
    }
    mdb_cursor_close(cur);
    return n;
}

int files_with_root(blockstore *bs, MDB_txn *txn, const cid *c, int (*fn)(void *arg, const char *mid, uint32_t ver),
                    void *arg)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, bs->files, &cur) != 0)
        return -1;
    MDB_val k, v;
    int rc = 0;
    for (int op = MDB_FIRST; !rc && mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op) == 0; op = MDB_NEXT) {
        cid got;
        if (k.mv_size != MID_LEN + 4 || cid_from_bytes(v.mv_data, v.mv_size, &got) != v.mv_size ||
            memcmp(got.digest, c->digest, CID_DIGEST_LEN))
            continue;
        char mid[MID_LEN + 1];
        memcpy(mid, k.mv_data, MID_LEN);
        mid[MID_LEN] = '\0';
        rc = fn(arg, mid, key_version(&k));
    }
    mdb_cursor_close(cur);
    return rc;
}

/* --- folder edits -------------------------------------------------------- */

typedef struct {
    blockstore *bs;
    MDB_txn *txn;
    char *err;
    size_t errlen;
} put_ctx;

static int put_block(void *arg, const cid *c, const uint8_t *block, size_t len)
{
    put_ctx *p = arg;
    return bs_put(p->bs, p->txn, c, block, len, p->err, p->errlen) ? 1 : 0;
}

typedef struct {
    dir_entry *e;
    size_t n, cap;
    char **names; /* owned copies */
} entries;

static void entries_free(entries *es)
{
    for (size_t i = 0; i < es->n; i++)
        free(es->names[i]);
    free(es->e);
    free(es->names);
}

static void entries_add(entries *es, const char *name, size_t len, const cid *target, uint64_t tsize)
{
    if (es->n == es->cap) {
        es->cap = es->cap ? es->cap * 2 : 8;
        es->e = realloc(es->e, es->cap * sizeof *es->e);
        es->names = realloc(es->names, es->cap * sizeof *es->names);
    }
    es->names[es->n] = strndup(name, len);
    es->e[es->n] = (dir_entry){es->names[es->n], *target, tsize};
    es->n++;
}

static void entries_remove(entries *es, size_t i)
{
    free(es->names[i]);
    memmove(&es->e[i], &es->e[i + 1], (es->n - i - 1) * sizeof *es->e);
    memmove(&es->names[i], &es->names[i + 1], (es->n - i - 1) * sizeof *es->names);
    es->n--;
}

static ssize_t entries_find(const entries *es, const char *name)
{
    for (size_t i = 0; i < es->n; i++)
        if (!strcmp(es->e[i].name, name))
            return (ssize_t)i;
    return -1;
}

static int collect_entry(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize)
{
    entries_add(arg, name, name_len, target, tsize);
    return 0;
}

/* The entries of directory c; *status STORE_BAD_REQUEST when c is not a directory. */
static int load_dir(blockstore *bs, MDB_txn *txn, const cid *c, const char *shown, entries *es, int *status,
                    char *err, size_t errlen)
{
    ufs_stat st;
    cid same;
    int s = ufs_resolve(bs, txn, c, NULL, &same, &st, err, errlen);
    if (s != STORE_OK) {
        *status = s;
        return -1;
    }
    if (st.type != UFS_DIRECTORY) {
        *status = STORE_BAD_REQUEST;
        return ERR("%s is not a folder", shown);
    }
    if (ufs_list(bs, txn, c, collect_entry, es, err, errlen) < 0) {
        *status = STORE_CORRUPT;
        return -1;
    }
    return 0;
}

static int store_dir(blockstore *bs, MDB_txn *txn, int version, entries *es, cid *out, uint64_t *tsize, char *err,
                     size_t errlen)
{
    import_opts o = {version, version == 1};
    put_ctx p = {bs, txn, err, errlen};
    return ufs_make_dir(&o, es->e, es->n, put_block, &p, out, tsize) ? -1 : 0;
}

enum op { OP_PUT, OP_RM, OP_MKDIR };

/* Splits path into components (in place); 400 on "." or "..". */
static int split_path(char *path, char **comps, int max, int *n, char *err, size_t errlen)
{
    *n = 0;
    for (char *save, *c = strtok_r(path, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, ".") || !strcmp(c, ".."))
            return ERR("path components '.' and '..' are not allowed");
        if (*n == max)
            return ERR("path is deeper than %d folders", max);
        comps[(*n)++] = c;
    }
    return 0;
}

/* Applies op at comps[k..n) below directory dir (NULL: a new empty one). */
static int edit(blockstore *bs, MDB_txn *txn, int version, const cid *dir, char **comps, int k, int n, enum op op,
                const cid *target, uint64_t tsize, cid *out, uint64_t *out_tsize, int *status, char *err,
                size_t errlen)
{
    entries es = {0};
    if (dir && load_dir(bs, txn, dir, k ? comps[k - 1] : "the root", &es, status, err, errlen) != 0) {
        entries_free(&es);
        return -1;
    }
    ssize_t at = entries_find(&es, comps[k]);
    int rc = 0;
    if (k == n - 1) {
        if (op == OP_RM) {
            if (at < 0) {
                *status = STORE_NOT_FOUND;
                rc = ERR("no such file or folder: %s", comps[k]);
            } else
                entries_remove(&es, (size_t)at);
        } else if (op == OP_PUT) {
            if (at >= 0)
                entries_remove(&es, (size_t)at);
            entries_add(&es, comps[k], strlen(comps[k]), target, tsize);
        } else if (at >= 0) { /* mkdir of what exists: fine if it is a folder */
            entries chk = {0};
            rc = load_dir(bs, txn, &es.e[at].target, comps[k], &chk, status, err, errlen);
            entries_free(&chk);
            if (rc == 0) {
                entries_free(&es);
                *status = STORE_OK;
                return 1; /* unchanged */
            }
        } else {
            entries empty = {0};
            cid c;
            uint64_t ts;
            rc = store_dir(bs, txn, version, &empty, &c, &ts, err, errlen);
            if (!rc)
                entries_add(&es, comps[k], strlen(comps[k]), &c, ts);
        }
    } else {
        if (at < 0 && op == OP_RM) {
            *status = STORE_NOT_FOUND;
            rc = ERR("no such folder: %s", comps[k]);
        } else {
            cid child;
            uint64_t child_tsize;
            cid below = at >= 0 ? es.e[at].target : (cid){0};
            rc = edit(bs, txn, version, at >= 0 ? &below : NULL, comps, k + 1, n, op, target, tsize, &child,
                      &child_tsize, status, err, errlen);
            if (rc == 1) {
                entries_free(&es);
                return 1;
            }
            if (!rc) {
                if (at >= 0)
                    entries_remove(&es, (size_t)at);
                entries_add(&es, comps[k], strlen(comps[k]), &child, child_tsize);
            }
        }
    }
    if (!rc)
        rc = store_dir(bs, txn, version, &es, out, out_tsize, err, errlen);
    if (rc && *status == STORE_OK)
        *status = STORE_CORRUPT;
    entries_free(&es);
    return rc;
}

#define MAX_DEPTH 64

static enum store_status tree_edit(blockstore *bs, MDB_txn *txn, const cid *root, const char *path, enum op op,
                                   const cid *target, uint64_t tsize, cid *newroot, char *err, size_t errlen)
{
    int code = STORE_OK, *status = &code;
    char *copy = strdup(path ? path : "");
    char *comps[MAX_DEPTH];
    int n;
    int rc = split_path(copy, comps, MAX_DEPTH, &n, err, errlen);
    if (!rc && n == 0)
        rc = ERR("a path inside the folder is needed");
    if (rc) {
        free(copy);
        return STORE_BAD_REQUEST;
    }
    uint64_t ts;
    rc = edit(bs, txn, root->version, root, comps, 0, n, op, target, tsize, newroot, &ts, status, err, errlen);
    free(copy);
    if (rc == 1) { /* nothing changed */
        *newroot = *root;
        rc = 0;
    }
    return rc ? code : STORE_OK;
}

enum store_status tree_put(blockstore *bs, MDB_txn *txn, const cid *root, const char *path, const cid *target,
                           uint64_t tsize, cid *newroot, char *err, size_t errlen)
{
    return tree_edit(bs, txn, root, path, OP_PUT, target, tsize, newroot, err, errlen);
}

enum store_status tree_rm(blockstore *bs, MDB_txn *txn, const cid *root, const char *path, cid *newroot, char *err,
                          size_t errlen)
{
    return tree_edit(bs, txn, root, path, OP_RM, NULL, 0, newroot, err, errlen);
}

enum store_status tree_mkdir(blockstore *bs, MDB_txn *txn, const cid *root, const char *path, cid *newroot, char *err,
                             size_t errlen)
{
    return tree_edit(bs, txn, root, path, OP_MKDIR, NULL, 0, newroot, err, errlen);
}

typedef struct {
    const char *name;
    cid target;
    uint64_t tsize;
    int found;
} link_search;

static int find_link(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize)
{
    link_search *s = arg;
    if (strlen(s->name) == name_len && !memcmp(s->name, name, name_len)) {
        s->target = *target, s->tsize = tsize, s->found = 1;
        return 1;
    }
    return 0;
}

enum store_status tree_mv(blockstore *bs, MDB_txn *txn, const cid *root, const char *from, const char *to,
                          cid *newroot, char *err, size_t errlen)
{
    int code, *status = &code;
    /* the link's Tsize comes from its parent's listing */
    char *parent = strdup(from ? from : "");
    char *slash = strrchr(parent, '/');
    link_search s = {slash ? slash + 1 : parent, {0}, 0, 0};
    if (slash)
        *slash = '\0';
    cid dir;
    ufs_stat st;
    *status = ufs_resolve(bs, txn, root, slash ? parent : "", &dir, &st, err, errlen);
    if (*status == STORE_OK && st.type != UFS_DIRECTORY) {
        *status = STORE_BAD_REQUEST;
        ERR("%s is not a folder", parent);
    }
    if (*status == STORE_OK && ufs_list(bs, txn, &dir, find_link, &s, err, errlen) < 0)
        *status = STORE_CORRUPT;
    if (*status == STORE_OK && !s.found) {
        *status = STORE_NOT_FOUND;
        ERR("no such file or folder: %s", from);
    }
    free(parent);
    if (code != STORE_OK)
        return code;
    cid mid;
    if ((code = tree_rm(bs, txn, root, from, &mid, err, errlen)) != STORE_OK)
        return code;
    return tree_put(bs, txn, &mid, to, &s.target, s.tsize, newroot, err, errlen);
}

int tree_empty(blockstore *bs, MDB_txn *txn, int cid_version, cid *out, char *err, size_t errlen)
{
    entries none = {0};
    uint64_t ts;
    return store_dir(bs, txn, cid_version, &none, out, &ts, err, errlen);
}

/* --- references ---------------------------------------------------------- */

int refs_change(blockstore *bs, MDB_txn *txn, const char *mid, const char *other, int delta, uint32_t *count,
                char *err, size_t errlen)
{
    if (!mid_ok(mid) || !mid_ok(other))
        return ERR("references are between MiMei IDs (27 characters)");
    uint8_t kb[2 * MID_LEN];
    memcpy(kb, mid, MID_LEN);
    memcpy(kb + MID_LEN, other, MID_LEN);
    MDB_val k = {sizeof kb, kb}, v;
    uint32_t n = 0;
    if (mdb_get(txn, bs->refs, &k, &v) == 0 && v.mv_size == 4)
        memcpy(&n, v.mv_data, 4);
    if (delta > 0)
        n = n == UINT32_MAX ? n : n + 1;
    else if (delta < 0)
        n = n ? n - 1 : 0;
    int rc;
    if (n == 0) {
        rc = mdb_del(txn, bs->refs, &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    } else {
        v = (MDB_val){4, &n};
        rc = mdb_put(txn, bs->refs, &k, &v, 0);
    }
    *count = n;
    return rc ? ERR("saving the reference: %s", mdb_strerror(rc)) : 0;
}

int refs_list(blockstore *bs, MDB_txn *txn, const char *mid, int (*fn)(void *arg, const char *other, uint32_t count),
              void *arg)
{
    if (!mid_ok(mid))
        return 0;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, bs->refs, &cur) != 0)
        return -1;
    MDB_val k = {MID_LEN, (void *)mid}, v;
    int n = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size == 2 * MID_LEN && !memcmp(k.mv_data, mid, MID_LEN);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char other[MID_LEN + 1];
        memcpy(other, (const char *)k.mv_data + MID_LEN, MID_LEN);
        other[MID_LEN] = '\0';
        uint32_t count = 0;
        if (v.mv_size == 4)
            memcpy(&count, v.mv_data, 4);
        n++;
        if (fn(arg, other, count))
            break;
    }
    mdb_cursor_close(cur);
    return n;
}

/* --- dropping a MiMei ------------------------------------------------------ */

/* Deletes every key of dbi that starts with mid. */
static int drop_prefix(MDB_txn *txn, MDB_dbi dbi, const char *mid)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    for (;;) { /* seek again after each delete: no cursor-after-delete subtleties */
        MDB_val k = {MID_LEN, (void *)mid}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc || k.mv_size < MID_LEN || memcmp(k.mv_data, mid, MID_LEN))
            break;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int files_drop(blockstore *bs, MDB_txn *txn, const char *mid, char *err, size_t errlen)
{
    if (!mid_ok(mid))
        return ERR("a MiMei ID has 27 characters");
    int rc = drop_prefix(txn, bs->files, mid);
    if (!rc)
        rc = drop_prefix(txn, bs->refs, mid);
    return rc ? ERR("dropping the versions of %s: %s", mid, mdb_strerror(rc)) : 0;
}

int files_version(blockstore *bs, MDB_txn *txn, const char *mid, const char *spec, uint32_t *ver, char *err,
                      size_t errlen)
{
    cid c;
    uint32_t last = files_last(bs, txn, mid);
    if (!spec || !*spec) {
        *ver = last ? last : FILES_CUR;
        if (!last && !files_get(bs, txn, mid, FILES_CUR, &c))
            return ERR("%s has no content yet", mid);
        return 0;
    }
    if (!strcmp(spec, "cur")) {
        *ver = FILES_CUR;
        if (!files_get(bs, txn, mid, FILES_CUR, &c))
            return ERR("%s has no content yet", mid);
        return 0;
    }
    if (!strcmp(spec, "last")) {
        *ver = last;
        if (!last)
            return ERR("%s has no numbered version yet", mid);
        return 0;
    }
    char *end;
    unsigned long v = strtoul(spec, &end, 10);
    if (*end || end == spec || v == 0 || v > UINT32_MAX)
        return ERR("version must be cur, last or a number from 1, not '%s'", spec);
    *ver = (uint32_t)v;
    if (!files_get(bs, txn, mid, *ver, &c))
        return ERR("%s has no version %lu (last is %u)", mid, v, last);
    return 0;
}
