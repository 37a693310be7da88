/*
 * smt_bench DIR [ACCOUNTS]: the figures of tests/bench/smt.sh for the tree's
 * store (modules/smt) in an LMDB environment of its own in DIR, each
 * commit one write transaction committed with fsync, as a ledger pulse is.
 * Prints figures and ratios, never judges them.
 *
 *   load       ACCOUNTS accounts (17-byte values) in batches of 10,000
 *   updates    committed updates/s of existing accounts in batches of 1,
 *              100 and 10,000, next to the hash-only ceiling: BLAKE2b-256
 *              node hashes/s measured here x the hashes an update needs at
 *              least (each touched node of the binary tree once, plus the
 *              value's and the leaf's hash), from the real key set
 *   proofs     bytes (mean, p99) of inclusion proofs of random accounts,
 *              proofs made/s, verifications/s on one core
 *   disk       bytes per update without pruning; then a steady load with
 *              pruning (retention RETENTION versions): the store's pages
 *              and the file, which should stay flat
 */
#include "smt.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state = 7;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "smt_bench: %s: %s\n", what, err);
    exit(2);
}

static MDB_env *env;
static smt_store *store;
static const uint8_t tree[SMT_KEY_BYTES] = {0x42};
static uint64_t version;
static uint8_t *keys; /* the accounts, sorted */
static size_t naccounts;
static uint64_t balance_counter;
static const char *dir;

/* bytes this process handed to write(2) and friends: LMDB writes its dirty
 * pages with pwrite, so the difference over a run is what the commits wrote */
static uint64_t written_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    unsigned long long v = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "wchar: %llu", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* sequential writes with fdatasync, as a ceiling for what commits can write */
static double disk_write_rate(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seq.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    static uint8_t block[1 << 20];
    memset(block, 0x5a, sizeof block);
    double t = now();
    for (int i = 0; i < 256; i++)
        if (fwrite(block, sizeof block, 1, f) != 1)
            break;
    fflush(f);
    fdatasync(fileno(f));
    double rate = 256.0 * sizeof block / (now() - t);
    fclose(f);
    unlink(path);
    return rate;
}

static int cmp_key(const void *a, const void *b) { return memcmp(a, b, SMT_KEY_BYTES); }

static void account_value(uint8_t v[17])
{
    uint64_t b = ++balance_counter;
    v[0] = 2;
    for (int i = 0; i < 8; i++) {
        v[1 + i] = (uint8_t)(b >> (56 - 8 * i));
        v[9 + i] = (uint8_t)(b >> (60 - 8 * i));
    }
}

/* One version of n updates, committed with fsync; with pruning when
 * retention is nonzero. */
static long last_pruned;
static double in_tree_s, in_prune_s, in_lmdb_commit_s; /* where a commit's time goes */

static uint64_t prune_every = 1; /* commits between pruning runs */
/* nodes a pruning pass may remove in a write transaction of its own, as the
 * ledger's passes (PRUNE_BATCH), repeated while it fills them; 0: one pass
 * in the commit's own transaction, bounded by what the versions since the
 * last run made stale */
static size_t prune_batch = 0;

static void commit(smt_update *u, size_t n, uint64_t retention)
{
    char err[256];
    MDB_txn *txn;
    uint8_t root[SMT_HASH_BYTES];
    if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
        die("lmdb", "cannot begin");
    double t0 = now();
    if (smt_commit(store, txn, tree, ++version, u, n, root, err, sizeof err) != 0)
        die("commit", err);
    double t1 = now();
    long pruned = 0;
    /* as the ledger does: a pruning pass every prune_every versions, which
     * also merges the recent latest values (up to n a version) into their
     * base; without a retention, nothing is pruned (a retention no version
     * reaches) */
    uint64_t keep = retention ? retention : UINT64_MAX / 2;
    int run = version % prune_every == 0;
    if (run && !prune_batch &&
        (pruned = smt_prune(store, txn, tree, keep, prune_every * (5 * n + 1000), err, sizeof err)) < 0)
        die("prune", err);
    double t2 = now();
    if (mdb_txn_commit(txn) != 0)
        die("lmdb", "cannot commit");
    double t3 = now();
    in_tree_s += t1 - t0;
    in_prune_s += t2 - t1;
    in_lmdb_commit_s += t3 - t2;
    for (long got = (long)prune_batch; run && prune_batch && got >= (long)prune_batch; pruned += got) {
        if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
            die("lmdb", "cannot begin");
        if ((got = smt_prune(store, txn, tree, keep, prune_batch, err, sizeof err)) < 0)
            die("prune", err);
        if (mdb_txn_commit(txn) != 0)
            die("lmdb", "cannot commit");
    }
    in_prune_s += now() - t3; /* with its own commits */
    last_pruned = pruned;
}

static uint64_t disk_pages_bytes(void)
{
    MDB_txn *txn;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        die("lmdb", "cannot begin");
    uint64_t b = smt_disk_bytes(store, txn);
    mdb_txn_abort(txn);
    return b;
}

static uint64_t file_bytes(void)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* batches of `batch` updates of random accounts for about `seconds` (at
 * least `min_batches`): updates/s */
static double update_rate(size_t batch, double seconds, size_t min_batches, uint64_t retention, size_t *done)
{
    smt_update *u = malloc(batch * sizeof *u);
    uint8_t(*values)[17] = malloc(batch * 17);
    if (!u || !values)
        die("memory", "out of memory");
    size_t batches = 0;
    double t0 = now(), spent = 0;
    /* whole cycles of pruning runs (the caller starts right after one, see
     * align_to_pruning): stop right after one, so that the time and the
     * store's pages compare like with like */
    while (version % prune_every != 0 || batches < min_batches || spent < seconds) {
        for (size_t i = 0; i < batch; i++) {
            memcpy(u[i].key, keys + (rng() % naccounts) * SMT_KEY_BYTES, SMT_KEY_BYTES);
            account_value(values[i]);
            u[i].value = values[i];
            u[i].len = 17;
        }
        double t = now();
        commit(u, batch, retention);
        spent += now() - t;
        batches++;
        if (now() - t0 > 10 * seconds + 60)
            break;
    }
    free(u);
    free(values);
    *done = batches * batch;
    return (double)(batches * batch) / spent;
}

/* commits of `batch` updates, not measured, up to right after a pruning run
 * (update_rate stops there) */
static void align_to_pruning(size_t batch, uint64_t retention)
{
    size_t done;
    if (version % prune_every != 0)
        (void)update_rate(batch, 0, 1, retention, &done);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static unsigned lcp(const uint8_t *a, const uint8_t *b)
{
    unsigned i = 0;
    while (i < SMT_DEPTH_MAX && smt_key_bit(a, i) == smt_key_bit(b, i))
        i++;
    return i;
}

/* The hashes a batch of `batch` random accounts needs at least: each node on
 * their paths once (binary tree), plus each value's and leaf's hash. */
static double ideal_hashes_per_update(size_t batch)
{
    size_t *idx = malloc(batch * sizeof *idx);
    if (!idx)
        die("memory", "out of memory");
    for (size_t i = 0; i < batch; i++)
        idx[i] = rng() % naccounts;
    /* sorted, distinct */
    qsort(idx, batch, sizeof *idx, cmp_size);
    size_t m = 0;
    for (size_t i = 0; i < batch; i++)
        if (m == 0 || idx[m - 1] != idx[i])
            idx[m++] = idx[i];
    uint64_t hashes = 0;
    for (size_t i = 0; i < m; i++) {
        const uint8_t *k = keys + idx[i] * SMT_KEY_BYTES;
        unsigned depth = 0; /* the leaf's depth: one past its longest common prefix with a neighbour */
        if (idx[i] > 0) {
            unsigned l = lcp(k, k - SMT_KEY_BYTES) + 1;
            depth = l > depth ? l : depth;
        }
        if (idx[i] + 1 < naccounts) {
            unsigned l = lcp(k, k + SMT_KEY_BYTES) + 1;
            depth = l > depth ? l : depth;
        }
        unsigned shared = 0; /* path nodes (depths 0 .. depth-1) the previous key hashed already */
        if (i > 0) {
            shared = lcp(k, keys + idx[i - 1] * SMT_KEY_BYTES) + 1;
            shared = shared < depth ? shared : depth;
        }
        hashes += depth - shared + 2;
    }
    free(idx);
    return (double)hashes / (double)m;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage", "smt_bench DIR [ACCOUNTS] [RETENTION] [PRUNE_EVERY] [PRUNE_BATCH]");
    dir = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (sodium_init() < 0) /* as the node does: libsodium's fastest BLAKE2b for this CPU */
        die("libsodium", "cannot initialise");
    naccounts = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
    uint64_t retention = argc > 3 ? strtoull(argv[3], NULL, 10) : 20;
    prune_every = argc > 4 && strtoull(argv[4], NULL, 10) > 0 ? strtoull(argv[4], NULL, 10) : 1;
    if (argc > 5)
        prune_batch = strtoull(argv[5], NULL, 10);
    char err[256];
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 32) || mdb_env_set_mapsize(env, (size_t)256 << 30) ||
        mdb_env_open(env, dir, 0, 0600))
        die(dir, "cannot open an LMDB environment");
    if (smt_open(&store, env, err, sizeof err) != 0)
        die("open", err);

    /* the hash-only ceiling's first half */
    uint8_t h[SMT_HASH_BYTES] = {1};
    double t = now();
    for (int i = 0; i < 1000000; i++)
        smt_node_hash(h, h, h);
    double hash_rate = 1e6 / (now() - t);

    /* the accounts */
    keys = malloc(naccounts * SMT_KEY_BYTES);
    if (!keys)
        die("memory", "out of memory");
    for (size_t i = 0; i < naccounts * SMT_KEY_BYTES; i++)
        keys[i] = (uint8_t)rng();
    enum { LOAD = 10000 };
    smt_update *u = malloc(LOAD * sizeof *u);
    uint8_t(*values)[17] = malloc(LOAD * 17);
    if (!u || !values)
        die("memory", "out of memory");
    t = now();
    for (size_t at = 0; at < naccounts; at += LOAD) {
        size_t n = naccounts - at < LOAD ? naccounts - at : LOAD;
        for (size_t i = 0; i < n; i++) {
            memcpy(u[i].key, keys + (at + i) * SMT_KEY_BYTES, SMT_KEY_BYTES);
            account_value(values[i]);
            u[i].value = values[i];
            u[i].len = 17;
        }
        commit(u, n, 0);
    }
    double load_s = now() - t;
    qsort(keys, naccounts, SMT_KEY_BYTES, cmp_key);
    printf("accounts: %zu, loaded in %.1f s (%.0f inserts/s, batches of %d, one fsync each)\n", naccounts, load_s,
           (double)naccounts / load_s, LOAD);
    printf("%-52s %12.0f /s\n", "BLAKE2b-256 node hashes (one core)", hash_rate);
    double disk_rate = disk_write_rate();
    printf("%-52s %12.0f MB/s\n", "sequential writes with fdatasync (this disk)", disk_rate / 1e6);

    /* committed updates, no pruning */
    uint64_t pages0 = disk_pages_bytes();
    size_t updates_total = 0, done;
    static const size_t batches[] = {1, 100, 10000};
    for (int b = 0; b < 3; b++) {
        align_to_pruning(batches[b], 0);
        in_tree_s = in_prune_s = in_lmdb_commit_s = 0;
        uint64_t w0 = written_bytes();
        double rate = update_rate(batches[b], 5, batches[b] == 10000 ? 5 : 20, 0, &done);
        double per_update = (double)(written_bytes() - w0) / (double)done;
        double spent = in_tree_s + in_prune_s + in_lmdb_commit_s;
        updates_total += done;
        double ideal = ideal_hashes_per_update(batches[b]);
        double ceiling = hash_rate / ideal;
        char label[64];
        snprintf(label, sizeof label, "committed updates, batch %zu", batches[b]);
        printf("%-52s %12.0f /s  (hash-only ceiling %.0f /s = %.0f hashes/s / %.1f hashes per update; ratio %.2f)\n",
               label, rate, ceiling, hash_rate, ideal, rate / ceiling);
        printf("%-52s %11.0f%% in smt_commit, %.0f%% in smt_prune (merging), %.0f%% in mdb_txn_commit (writes, fsync); "
               "%.0f B written per update (disk ceiling %.0f /s)\n",
               "", 100 * in_tree_s / spent, 100 * in_prune_s / spent, 100 * in_lmdb_commit_s / spent, per_update,
               disk_rate / per_update);
    }
    uint64_t pages1 = disk_pages_bytes();
    printf("%-52s %12.0f B  (%zu updates over %llu versions, no pruning)\n", "store growth per update",
           (double)(pages1 - pages0) / (double)updates_total, updates_total, (unsigned long long)version);

    /* proofs of random accounts at the newest version */
    enum { PROOFS = 20000 };
    size_t *sizes = malloc(PROOFS * sizeof *sizes);
    uint8_t(*proofs)[SMT_PROOF_MAX] = malloc((size_t)PROOFS * SMT_PROOF_MAX);
    const uint8_t **pkeys = malloc(PROOFS * sizeof *pkeys);
    uint8_t(*pvalues)[17] = malloc(PROOFS * 17);
    if (!sizes || !proofs || !pkeys || !pvalues)
        die("memory", "out of memory");
    MDB_txn *txn;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        die("lmdb", "cannot begin");
    uint8_t root[SMT_HASH_BYTES];
    if (smt_root(store, txn, tree, version, root, err, sizeof err) != SMT_OK)
        die("root", err);
    double total = 0;
    t = now();
    for (size_t i = 0; i < PROOFS; i++) {
        smt_proof p;
        const uint8_t *value;
        size_t len;
        pkeys[i] = keys + (rng() % naccounts) * SMT_KEY_BYTES;
        if (smt_prove(store, txn, tree, SMT_LATEST, pkeys[i], &p, &value, &len, err, sizeof err) != SMT_OK || !value ||
            len != 17)
            die("prove", err);
        memcpy(pvalues[i], value, 17);
        sizes[i] = smt_proof_encode(&p, proofs[i]);
        total += (double)sizes[i];
    }
    double prove_s = now() - t;
    mdb_txn_abort(txn);
    size_t *sorted = malloc(PROOFS * sizeof *sorted);
    memcpy(sorted, sizes, PROOFS * sizeof *sorted);
    qsort(sorted, PROOFS, sizeof *sorted, cmp_size);
    printf("%-52s %12.0f B  (p99 %zu B, max %zu B)\n", "inclusion proof, mean", total / PROOFS,
           sorted[PROOFS * 99 / 100], sorted[PROOFS - 1]);
    printf("%-52s %12.0f /s\n", "proofs made (one read transaction)", PROOFS / prove_s);
    t = now();
    for (size_t i = 0; i < PROOFS; i++) {
        smt_proof p;
        if (smt_proof_decode(&p, proofs[i], sizes[i], err, sizeof err) != SMT_OK ||
            smt_proof_verify(&p, root, pkeys[i], pvalues[i], 17, err, sizeof err) != SMT_OK)
            die("verify", err);
    }
    printf("%-52s %12.0f /s\n", "verifications (decode + verify, one core)", PROOFS / (now() - t));

    /* steady load with pruning: the store should stay flat */
    size_t steady = 10000, rounds = 0;
    do /* reach the steady state: the backlog of the runs above pruned */
        (void)update_rate(steady, 0, 1, retention, &done);
    while (last_pruned >= (long)(prune_every * (5 * steady + 1000)));
    (void)update_rate(steady, 0, retention, retention, &done);
    in_tree_s = in_prune_s = in_lmdb_commit_s = 0;
    uint64_t w0 = written_bytes();
    uint64_t pages_a = disk_pages_bytes(), file_a = file_bytes();
    double rate = update_rate(steady, 10, 2 * (retention > prune_every ? retention : prune_every), retention, &done);
    rounds = done / steady;
    uint64_t pages_b = disk_pages_bytes(), file_b = file_bytes();
    char passes[96] = "in the commit's transaction";
    if (prune_batch)
        snprintf(passes, sizeof passes, "in passes of %zu nodes, each a transaction of its own", prune_batch);
    printf("%-52s %12.0f /s  (batch %zu, pruning every %llu commits %s, retention %llu versions)\n",
           "committed updates with pruning", rate, steady, (unsigned long long)prune_every, passes,
           (unsigned long long)retention);
    double spent = in_tree_s + in_prune_s + in_lmdb_commit_s,
           per_update = (double)(written_bytes() - w0) / (double)done;
    printf("%-52s %11.0f%% in smt_commit, %.0f%% in smt_prune, %.0f%% in mdb_txn_commit; %.0f B written per update\n",
           "", 100 * in_tree_s / spent, 100 * in_prune_s / spent, 100 * in_lmdb_commit_s / spent, per_update);
    printf("%-52s %12.0f B -> %.0f B over %zu more versions (%+.1f%%); file %.0f MB -> %.0f MB\n",
           "store pages under steady load", (double)pages_a, (double)pages_b, rounds,
           100.0 * ((double)pages_b - (double)pages_a) / (double)pages_a, (double)file_a / 1e6, (double)file_b / 1e6);
    printf("%-52s %12.0f B\n", "store pages per account after pruning (window incl.)", (double)pages_b / (double)naccounts);
    smt_close(store);
    mdb_env_close(env);
    return 0;
}
