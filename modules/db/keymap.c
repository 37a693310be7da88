/*
 * keymap: a hash table of (database, key) for the connection state that
 * names keys: watched keys (multi.c) and the keys the running command
 * touched. Keys come from clients, so the hash is SipHash (libsodium's
 * crypto_shorthash) under a key drawn once per process: nobody can choose
 * keys that all land in one bucket.
 */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static uint8_t hash_key[crypto_shorthash_KEYBYTES];
static int hash_key_set;

static uint64_t key_hash(uint32_t dbno, const void *key, size_t keylen)
{
    if (!hash_key_set) {
        for (size_t i = 0; i < sizeof hash_key; i += sizeof(uint64_t)) {
            uint64_t r = db_random();
            memcpy(hash_key + i, &r, sizeof r);
        }
        hash_key_set = 1;
    }
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, keylen, hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v ^ (uint64_t)dbno * 0x9e3779b97f4a7c15ULL;
}

static int same(const db_keyentry *e, uint64_t hash, uint32_t dbno, const void *key, size_t keylen)
{
    return e->hash == hash && e->dbno == dbno && e->keylen == keylen && !memcmp(e->key, key, keylen);
}

db_keyentry *db_keymap_find(const db_keymap *m, uint32_t dbno, const void *key, size_t keylen)
{
    if (!m->count)
        return NULL;
    uint64_t h = key_hash(dbno, key, keylen);
    for (db_keyentry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
        if (same(e, h, dbno, key, keylen))
            return e;
    return NULL;
}

static void grow(db_keymap *m)
{
    size_t n = m->nbuckets ? 2 * m->nbuckets : 16;
    db_keyentry **b = calloc(n, sizeof *b);
    if (!b)
        abort();
    for (size_t i = 0; i < m->nbuckets; i++)
        for (db_keyentry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

db_keyentry *db_keymap_add(db_keymap *m, uint32_t dbno, const void *key, size_t keylen)
{
    uint64_t h = key_hash(dbno, key, keylen);
    if (m->nbuckets)
        for (db_keyentry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
            if (same(e, h, dbno, key, keylen))
                return e;
    if (m->count >= m->nbuckets)
        grow(m);
    db_keyentry *e = calloc(1, sizeof *e + keylen);
    if (!e)
        abort();
    e->hash = h;
    e->dbno = dbno;
    e->keylen = keylen;
    memcpy(e->key, key, keylen);
    db_keyentry **b = &m->buckets[h & (m->nbuckets - 1)];
    e->next = *b;
    *b = e;
    m->count++;
    return e;
}

void db_keymap_remove(db_keymap *m, db_keyentry *gone)
{
    for (db_keyentry **p = &m->buckets[gone->hash & (m->nbuckets - 1)]; *p; p = &(*p)->next)
        if (*p == gone) {
            *p = gone->next;
            m->count--;
            free(gone);
            return;
        }
}

void db_keymap_each(const db_keymap *m, void (*fn)(db_keyentry *e, void *arg), void *arg)
{
    for (size_t i = 0; i < m->nbuckets && m->count; i++)
        for (db_keyentry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            fn(e, arg);
        }
}

void db_keymap_clear(db_keymap *m)
{
    if (!m->count)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (db_keyentry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
        m->buckets[i] = NULL;
    }
    m->count = 0;
}

void db_keymap_free(db_keymap *m)
{
    db_keymap_clear(m);
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = 0;
}
