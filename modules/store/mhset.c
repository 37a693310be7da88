/* mhset: digests are uniformly random already, so their first bytes are the hash. */
#include "mhset.h"

#include <stdlib.h>
#include <string.h>

void mhset_init(mhset *s) { memset(s, 0, sizeof *s); }

void mhset_free(mhset *s)
{
    free(s->slots);
    free(s->used);
    mhset_init(s);
}

static size_t slot_of(const uint8_t *d, size_t cap)
{
    uint64_t h;
    memcpy(&h, d, sizeof h);
    return (size_t)h & (cap - 1);
}

static size_t find(const mhset *s, const uint8_t *d)
{
    size_t i = slot_of(d, s->cap);
    while (s->used[i] && memcmp(s->slots[i], d, CID_DIGEST_LEN))
        i = (i + 1) & (s->cap - 1);
    return i;
}

static int grow(mhset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    mhset bigger = {calloc(cap, CID_DIGEST_LEN), calloc(cap, 1), cap, 0};
    if (!bigger.slots || !bigger.used) {
        free(bigger.slots);
        free(bigger.used);
        return -1;
    }
    for (size_t i = 0; i < s->cap; i++)
        if (s->used[i]) {
            size_t j = find(&bigger, s->slots[i]);
            memcpy(bigger.slots[j], s->slots[i], CID_DIGEST_LEN);
            bigger.used[j] = 1;
            bigger.n++;
        }
    mhset_free(s);
    *s = bigger;
    return 0;
}

int mhset_add(mhset *s, const uint8_t digest[CID_DIGEST_LEN])
{
    if ((s->n + 1) * 2 > s->cap && grow(s) != 0)
        return -1;
    size_t i = find(s, digest);
    if (s->used[i])
        return 0;
    memcpy(s->slots[i], digest, CID_DIGEST_LEN);
    s->used[i] = 1;
    s->n++;
    return 1;
}

int mhset_has(const mhset *s, const uint8_t digest[CID_DIGEST_LEN])
{
    return s->cap && s->used[find(s, digest)];
}
