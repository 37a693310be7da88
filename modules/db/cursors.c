/*
 * cursors: positions of SCAN-family iterations that do not fit in the
 * 64-bit number clients expect (many parse cursors as uint64). The node
 * keeps the position (a seek key) and hands out a random number for it.
 * The table holds the newest DB_CURSORS positions; an unknown cursor (too
 * old, or from before a restart) starts the scan again, which still
 * returns every element present throughout, as Redis promises.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define DB_CURSORS 1024

typedef struct {
    unsigned long long id;
    size_t len;
    uint8_t *pos;
} saved_cursor;

typedef struct {
    saved_cursor slot[DB_CURSORS];
    size_t next;
} cursor_table;

unsigned long long db_cursor_put(struct db *d, const void *pos, size_t len)
{
    cursor_table *t = d->cursors ? d->cursors : (d->cursors = calloc(1, sizeof(cursor_table)));
    for (size_t i = 0; i < DB_CURSORS; i++) /* the same position: the same number */
        if (t->slot[i].pos && t->slot[i].len == len && !memcmp(t->slot[i].pos, pos, len))
            return t->slot[i].id;
    saved_cursor *s = &t->slot[t->next];
    t->next = (t->next + 1) % DB_CURSORS;
    /* below 2^63: safe for clients with signed 64-bit cursors too; never
     * 0, which means "start" and "done" */
    unsigned long long id = 1 + db_random_below((1ULL << 63) - 1);
    free(s->pos);
    s->pos = malloc(len ? len : 1);
    memcpy(s->pos, pos, len);
    s->len = len;
    s->id = id;
    return id;
}

int db_cursor_get(struct db *d, unsigned long long id, db_buf *pos)
{
    cursor_table *t = d->cursors;
    pos->len = 0;
    for (size_t i = 0; t && i < DB_CURSORS; i++)
        if (t->slot[i].id == id && t->slot[i].pos) {
            db_buf_append(pos, t->slot[i].pos, t->slot[i].len);
            return 1;
        }
    return 0;
}

void db_cursors_free(struct db *d)
{
    cursor_table *t = d->cursors;
    for (size_t i = 0; t && i < DB_CURSORS; i++)
        free(t->slot[i].pos);
    free(t);
    d->cursors = NULL;
}
