/*
 * db internals: what the command files (t_*.c, keyspace.c, server.c) share.
 * Modelled on Redis's server.h: a client with its current command, reply
 * helpers, a command table, and a keyspace API over the versioned store.
 *
 * Storage (store.c). One LMDB environment; all databases live in one DBI.
 * Every record is (dbno, kind, key, sub) -> value, where kind is
 *   DB_REC_META   the key itself: type, expiry, element count, list bounds,
 *                 and for strings the value;
 *   DB_REC_ELEM   an element: hash field, set member, list index, zset member;
 *   DB_REC_SCORE  the zset score index (sub = db_score_bytes(score) + member).
 * Versions are invisible here: the store keeps older entries for backups and
 * answers every read as of the client's version. Commands never see them.
 *
 * Rules for command code:
 *   - Pointers from a read (values, subs) stay valid only until the next write
 *     in the same transaction: copy what you still need before writing.
 *   - Do not write while an iterator is open: collect, close, then write.
 *   - All writes of one command are atomic (the dispatcher wraps them).
 *   - Lookups handle expiry: an expired key is reported absent.
 */
#ifndef LEITHER_DB_INTERNAL_H
#define LEITHER_DB_INTERNAL_H

#include "db.h"

#include <lmdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* --- types --------------------------------------------------------------- */

enum db_type { DB_NONE = 0, DB_STRING = 1, DB_LIST = 2, DB_SET = 3, DB_ZSET = 4, DB_HASH = 5 };
enum db_rec { DB_REC_META = 'k', DB_REC_ELEM = 'e', DB_REC_SCORE = 's' };

typedef struct {
    uint8_t type;      /* enum db_type */
    int64_t expire_ms; /* absolute unix time in ms; 0: none */
    int64_t count;     /* elements of a list, hash, set or zset */
    int64_t head;      /* lists: index of the first element ... */
    int64_t tail;      /* ... and one past the last (count == tail - head) */
} db_meta;

/* A growable byte buffer (replies, scratch). It may start on the caller's
 * stack (DB_BUF_STACK): it moves to the heap only if it outgrows that. */
typedef struct {
    char *buf;
    size_t len, cap;
    int on_stack;
} db_buf;
#define DB_BUF_STACK(storage) {(storage), 0, sizeof(storage), 1}
void db_buf_append(db_buf *b, const void *p, size_t n);
void db_buf_printf(db_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void db_buf_free(db_buf *b);

/* --- a hash table of keys (keymap.c) ---------------------------------------- */

/* One (database, key) with a value for its user. Entries stay where they
 * are while the table grows: pointers to them remain valid until removed. */
typedef struct db_keyentry {
    struct db_keyentry *next;
    uint64_t hash;
    uint32_t dbno;
    size_t keylen;
    void *value;
    char key[];
} db_keyentry;
typedef struct {
    db_keyentry **buckets;
    size_t nbuckets, count;
} db_keymap;
db_keyentry *db_keymap_find(const db_keymap *m, uint32_t dbno, const void *key, size_t keylen);
/* The entry of key, added (value NULL) if it was not there. */
db_keyentry *db_keymap_add(db_keymap *m, uint32_t dbno, const void *key, size_t keylen);
void db_keymap_remove(db_keymap *m, db_keyentry *e);
/* Calls fn for every entry (fn may remove the one it is given). */
void db_keymap_each(const db_keymap *m, void (*fn)(db_keyentry *e, void *arg), void *arg);
void db_keymap_clear(db_keymap *m); /* entries go, values are the caller's */
void db_keymap_free(db_keymap *m);

/* Keys the running command changed, at most this many distinct ones; past
 * it, every watched and waited-on key of the database counts as changed
 * (as FLUSHDB makes them in Redis). */
#define DB_TOUCHED_MAX 1024

/* --- the database -------------------------------------------------------- */

struct db {
    MDB_env *env;
    MDB_dbi data;    /* every record of every database (see the top of this file) */
    MDB_dbi expires; /* (dbno, expire_ms, key) -> "": keys with a TTL, soonest first */
    MDB_dbi info;    /* per database: epoch, versions; the MiMei registry */
    MDB_txn *txn;    /* the current batch's write transaction, or NULL */
    MDB_cursor *cursor; /* on data, for point reads and writes in this batch */
    uint32_t epoch_dbno, epoch_value; /* the last epoch read (valid if dbno != 0) */
    /* the expiry of the last key whose current meta was read or written:
     * saves db_meta_write a second lookup (store.c) */
    struct {
        int valid;
        uint32_t dbno;
        size_t keylen;
        int64_t expire_ms;
        char key[200];
    } last_meta;
    int batch_failed;
    char batch_error[256];
    struct db_client **batch; /* clients that executed commands in this batch */
    size_t nbatch, capbatch;
    enum db_sync sync;
    uint32_t default_dbno;
    struct db_client *clients;
    long long next_client_id;
    int64_t last_sync_ms, start_ms;
    /* statistics for INFO */
    long long stat_commands, stat_connections, stat_expired, stat_keyspace_hits, stat_keyspace_misses;
    /* limits (CONFIG) */
    size_t proto_max_bulk_len, output_limit;
    db_hooks hooks;
    void *config;   /* server.c: CONFIG SET values echoed back */
    void *cursors;  /* cursors.c: positions of scans */
    db_keymap watches; /* multi.c: watched key -> the clients watching it */
    /* multi.c: keys written by the running command, signalled once it ends
     * (db_signal_touched); the last one, to skip the lookup for each field
     * of the same key */
    db_keymap touched;
    uint32_t touched_all[4]; /* databases past DB_TOUCHED_MAX (0: none) */
    int touched_all_overflow; /* more than 4 of them: every database */
    int last_touched_valid;
    uint32_t last_touched_dbno;
    db_buf last_touched;
    void *blocking; /* blocking.c: clients waiting on keys */
    struct db_client *woken; /* clients with output from outside db_exec */
};

/* --- the client ---------------------------------------------------------- */

struct db_client {
    struct db *db;
    /* the command being executed */
    int argc;
    const char **argv;
    const size_t *argvlen;
    const struct db_command *cmd;
    /* where it executes */
    MDB_txn *txn;        /* read or write transaction of the current batch */
    uint32_t dbno;       /* the selected database */
    uint32_t read_epoch; /* reads see entries of epochs <= this (version) */
    uint32_t write_epoch;
    int readonly;  /* a frozen version (SELECT MID@N) */
    int64_t now_ms;
    int resp;      /* 2 or 3 (HELLO) */
    db_buf out;    /* replies, in order */
    /* connection state (server.c, multi.c, blocking.c) */
    long long id;
    char name[128];
    char mid[64]; /* the selected database's MiMei ID, "" for the default */
    int flags;    /* DB_CLIENT_* */
    void *multi;   /* queued MULTI commands */
    void *watched; /* WATCHed keys */
    void *blocked; /* state of a blocking pop */
    void *io;      /* the runtime's connection */
    size_t batch_start; /* output length when this batch began */
    int batch_cmds;     /* commands executed in this batch (-1: not in it) */
    struct db_client *next_woken;
    int woken;
    int user_ok;   /* AUTH succeeded */
    char user[64]; /* who AUTH said */
    int may_write; /* rights on the selected database allow writes */
    int may_read;  /* ... and reads (0 when even SELECT 0 was refused) */
    int64_t auth_expires_ms; /* when the AUTH token expires (0: never) */
    /* work (see db_work): steps of the running command, of the turn */
    uint64_t cmd_steps, turn_steps, turn_limit; /* turn_limit 0: none */
    int stopped;     /* the running command went over its budget */
    int over_budget; /* some command of this client did */
    size_t output_limit; /* 0: the db's */
    int64_t created_ms, last_ms;
    struct db_client *next, *prev; /* all clients */
    /* a reader (reader.c): reads in a transaction of its own on any thread,
     * touching nothing of struct db that the writer changes */
    int reader;
    MDB_cursor *reader_cursor;
    int reader_failed; /* an LMDB error (db_fail) */
    int internal; /* the node itself: may run CMD_INTERNAL commands */
};

#define DB_CLIENT_MULTI 1      /* inside MULTI */
#define DB_CLIENT_DIRTY_EXEC 2 /* a queued command failed: EXEC aborts */
#define DB_CLIENT_DIRTY_CAS 4  /* a WATCHed key changed */
#define DB_CLIENT_CLOSE 8      /* close after the reply is written (QUIT, protocol error) */
#define DB_CLIENT_BLOCKED 16
#define DB_CLIENT_OWNER 32     /* authenticated as the node owner */
#define DB_CLIENT_OVERFLOW 64  /* its output passed the limit: closing */

/* Work: every entry a command visits in the store (about two per element)
 * and every 8 tests of a glob pattern count one step (each about 0.2 us).
 * A command that reads (not one that writes: it cannot stop halfway) is
 * stopped with an error past this many steps (some 0.4 s), so one client
 * cannot hold the database thread, and every other client, for long. */
#define DB_COMMAND_MAX_STEPS 2000000
#define DB_GLOB_TESTS_PER_STEP 8
/* Counts steps of work for the running command; nonzero when it must stop
 * (iterators then end early; db_call replaces its reply with an error). */
int db_work(db_client *c, uint64_t steps);
/* glob_match for a command (KEYS, SCAN MATCH), its tests counted as work. */
int db_glob(db_client *c, const char *pat, size_t patlen, const void *s, size_t slen);

/* --- the command table --------------------------------------------------- */

#define CMD_WRITE 1    /* changes data: refused on a read-only version */
#define CMD_READONLY 2 /* reads data */
#define CMD_ADMIN 4
#define CMD_NOMULTI 8   /* runs at once even inside MULTI (EXEC, DISCARD, WATCH...) */
#define CMD_FAST 16
#define CMD_BLOCKING 32
#define CMD_DENYOOM 64
#define CMD_NOAUTH 128 /* allowed before AUTH (AUTH, HELLO, QUIT, PING) */
/* Connection state (SELECT, AUTH, MULTI/EXEC, ...) and MM.CREATE: not for an
 * embedded caller, which has no connection of its own (Redis's "noscript";
 * COMMAND INFO does not list it, so its replies stay as they were) */
#define CMD_NOSCRIPT 256
/* Reads that keep state in the node (scan cursors, the random source) or
 * read the writer's (counters, versions): never in a reader (reader.c).
 * Not listed by COMMAND INFO either. */
#define CMD_WRITER_ONLY 512
/* Run by the node itself only (a client made internal: db_client_set_internal,
 * resp_call's internal batches): any other client is told it is unknown, and
 * COMMAND does not list it. MM.APPLYJOURNAL (journal.c). */
#define CMD_INTERNAL 1024

/* Naming: the function running command NAME is `static void cmd_name(db_client *c)`
 * (cmd_hset, cmd_llen, cmd_zrangebyscore); what several commands share is
 * `name_generic` (hset_generic, scan_generic). */
struct db_command {
    const char *name; /* lowercase */
    void (*proc)(db_client *c);
    int arity; /* Redis's: n exact, -n at least n (the name counts) */
    int flags;
    int first_key, last_key, key_step; /* for COMMAND and key extraction */
};

/* Each command file exports its table; commands.c joins them. */
extern const struct db_command db_string_commands[], db_keyspace_commands[], db_hash_commands[],
    db_list_commands[], db_set_commands[], db_zset_commands[], db_server_commands[], db_multi_commands[],
    db_blocking_commands[], db_version_commands[], db_registry_commands[], db_journal_commands[];
/* each table ends with an entry whose name is NULL */

/* --- replies (reply.c): RESP2, or RESP3 after HELLO 3 --------------------- */

void reply_ok(db_client *c);
void reply_status(db_client *c, const char *s);            /* +s */
void reply_error(db_client *c, const char *msg);           /* -msg, e.g. "ERR syntax error" */
void reply_errorf(db_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(db_client *c, long long v);                 /* :v */
void reply_bulk(db_client *c, const void *p, size_t n);    /* $n */
void reply_bulk_cstr(db_client *c, const char *s);
void reply_bulk_ll(db_client *c, long long v);             /* a number as a bulk string */
void reply_double(db_client *c, double d);                 /* RESP2: bulk "%.17g" as Redis; RESP3: , */
void reply_null(db_client *c);                             /* RESP2: $-1   RESP3: _ */
void reply_null_array(db_client *c);                       /* RESP2: *-1   RESP3: _ */
void reply_array(db_client *c, long n);                    /* *n */
void reply_map(db_client *c, long n);                      /* RESP2: *2n   RESP3: %n (n pairs) */
void reply_set(db_client *c, long n);                      /* RESP2: *n    RESP3: ~n */
void reply_bool(db_client *c, int v);                      /* RESP2: :0/:1 RESP3: #f/#t */
/* Nonzero once the client's output passed the limit: loops that reply
 * many elements stop early, the connection is closing anyway. */
int reply_overflowed(const db_client *c);
/* Unknown length: reserve, write the elements, then fill the header in. */
size_t reply_defer(db_client *c);
void reply_defer_array(db_client *c, size_t at, long n);
void reply_defer_map(db_client *c, size_t at, long n);
void reply_defer_set(db_client *c, size_t at, long n);

/* Redis 7's shared error texts */
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOTINT "ERR value is not an integer or out of range"
#define ERR_NOTFLOAT "ERR value is not a valid float"
#define ERR_NOKEY "ERR no such key"
#define ERR_OVERFLOW "ERR increment or decrement would overflow"
#define ERR_OUTOFRANGE "ERR index out of range"
#define ERR_NEGATIVE "ERR value is out of range, must be positive"

/* --- random numbers (util.c): the one source of the module ----------------- */

/* Uniform 64-bit numbers from a cryptographic stream seeded by the system. */
uint64_t db_random(void);
/* Uniform in [0, n), n > 0, without modulo bias. */
uint64_t db_random_below(uint64_t n);

/* --- arguments ------------------------------------------------------------ */

/* Argument i of the client `c` in scope, as the (pointer, length) pair
 * every keyspace and reply call takes: db_lookup(c, ARG(1), ...). */
#define ARG(i) c->argv[i], c->argvlen[i]

/* Parse argv[i]; on failure reply the Redis error and return -1. */
int arg_ll(db_client *c, int i, long long *v);              /* ERR_NOTINT */
int arg_double(db_client *c, int i, double *v);             /* ERR_NOTFLOAT; accepts inf, -inf */
int arg_is(const db_client *c, int i, const char *word);    /* case-insensitive equality */
/* Plain parsers without replies: 0 on success. */
int parse_ll(const char *s, size_t n, long long *v);        /* Redis's string2ll: strict */
int parse_double(const char *s, size_t n, double *v);       /* strtod, no NaN, whole string */
/* Formats as Redis 7.0 replies a double: "%.17g", inf and -inf. */
int format_double(char *buf, size_t cap, double d);
/* Formats as INCRBYFLOAT does: "%.17Lf" without trailing zeros. */
int format_long_double(char *buf, size_t cap, long double d);
/* Redis's glob-style pattern match (KEYS, SCAN MATCH): * ? [a-z] [^x] \x */
int glob_match(const char *pat, size_t patlen, const char *s, size_t slen, int nocase);
/* The same, giving up after budget element tests: 1 match, 0 not, -1 gave
 * up. The tests made are added to *work (may be NULL). */
int glob_match_within(const char *pat, size_t patlen, const char *s, size_t slen, int nocase, uint64_t budget,
                      uint64_t *work);

/* --- the keyspace (store.c) ----------------------------------------------- */

/* Looks key up as of the client's version. 1 found (meta filled; for strings
 * val and vallen are the value), 0 absent or expired. */
int db_lookup(db_client *c, const void *key, size_t keylen, db_meta *meta, const uint8_t **val, size_t *vallen);
/* The same, checking the type: replies WRONGTYPE and returns -1 when the key
 * holds another type; 0 absent, 1 found. */
int db_lookup_type(db_client *c, const void *key, size_t keylen, int type, db_meta *meta);
/* Writes the key's meta record (and a string's value). For a list, hash, set
 * or zset with count 0 it deletes the key instead, as Redis does. */
int db_meta_write(db_client *c, const void *key, size_t keylen, const db_meta *meta, const void *val, size_t vallen);
/* Deletes key with all its elements; 1 if it existed. */
int db_delete(db_client *c, const void *key, size_t keylen);
/* Copies key (all its records) to dst, replacing dst: RENAME, SMOVE-style ops. */
int db_copy_key(db_client *c, const void *key, size_t keylen, const void *dst, size_t dstlen);

/* Elements: (key, sub) -> value, in sub byte order. get: 1 found, 0 not. */
int db_elem_get(db_client *c, char kind, const void *key, size_t keylen, const void *sub, size_t sublen,
                const uint8_t **val, size_t *vallen);
int db_elem_put(db_client *c, char kind, const void *key, size_t keylen, const void *sub, size_t sublen,
                const void *val, size_t vallen);
/* 1 if it existed */
int db_elem_del(db_client *c, char kind, const void *key, size_t keylen, const void *sub, size_t sublen);

typedef struct {
    db_client *c;
    MDB_cursor *cur;
    char kind;
    int reverse, started, done;
    db_buf prefix; /* encoded (dbno, kind, key) */
    db_buf seek;
    db_buf sub; /* scratch for an element with escaped bytes */
} db_iter;
/* Elements of key from sub `from` (inclusive; NULL: the first, or with
 * reverse the last) in ascending, or with reverse descending, sub order. */
void db_iter_init(db_iter *it, db_client *c, char kind, const void *key, size_t keylen, const void *from,
                  size_t fromlen, int reverse);
/* 1 with the next element, 0 at the end. sub and val point into the store
 * or the iterator: valid until the next write or db_iter_close. */
int db_iter_next(db_iter *it, const uint8_t **sub, size_t *sublen, const uint8_t **val, size_t *vallen);
void db_iter_close(db_iter *it);

/* Every key of the selected database, in key order, from `after` (exclusive;
 * NULL: the first). Expired keys are skipped. */
int db_keys_next(db_client *c, db_iter *it, const void *after, size_t afterlen, const uint8_t **key,
                 size_t *keylen, db_meta *meta);

/* List indexes and zset scores as order-preserving bytes. */
#define DB_INDEX_BYTES 8
void db_index_bytes(uint8_t out[DB_INDEX_BYTES], int64_t index);
int64_t db_index_from(const uint8_t in[DB_INDEX_BYTES]);
#define DB_SCORE_BYTES 8
void db_score_bytes(uint8_t out[DB_SCORE_BYTES], double score);
double db_score_from(const uint8_t in[DB_SCORE_BYTES]);

/* Marks key as changed by the running command. The store calls it on every
 * write; commands need not. WATCH and blocked clients learn of the keys
 * once, when the command ends (db_signal_touched). */
void db_signal_key(db_client *c, const void *key, size_t keylen);
/* Marks every key of the selected database changed (past DB_TOUCHED_MAX
 * keys, or a journal applied). */
void db_signal_all(db_client *c);
/* Tells WATCH and blocked clients of the keys touched since the last call:
 * db_call runs it after each command, db_tick after expiring keys. */
void db_signal_touched(struct db *d);

/* Marks the batch failed after an LMDB error: its commands will be answered
 * with errors and nothing of it is committed. Returns -1. */
int db_fail(db_client *c, int mdb_rc);

/* The write epoch of a database: entries written now carry it. */
uint32_t db_epoch(db_client *c, uint32_t dbno);
int db_epoch_set(db_client *c, uint32_t dbno, uint32_t epoch);
/* Version marks (versions.c): the newest version of dbno (0: none), and a
 * mark of version n made at when (unix ms); LMDB's code on failure. */
uint32_t db_version_newest(struct db *d, MDB_txn *txn, uint32_t dbno);
int db_version_mark(struct db *d, MDB_txn *txn, uint32_t dbno, uint32_t n, int64_t when);
/* Deletes up to max keys whose TTL has passed; returns how many. */
int db_expire_due(db_client *c, int max);

/* --- dispatcher, transactions, blocking (commands.c, multi.c, blocking.c) */

const struct db_command *db_find_command(const char *name, size_t len);
/* The same, as c may know it: NULL for the node's internal commands unless
 * c is internal. db_command_count and db_command_at leave them out. */
const struct db_command *db_find_visible(const db_client *c, const char *name, size_t len);
size_t db_command_count(void);
const struct db_command *db_command_at(size_t i);
/* Replies the error and returns its kind ("readonly", "noperm") when the
 * connection's rights refuse cmd on the selected database, else NULL. */
const char *db_denied(db_client *c, const struct db_command *cmd);
/* Runs cmd with the client's current argv (no checks). */
void db_call(db_client *c, const struct db_command *cmd);
int db_batch_join(db_client *c);
/* Queues the current command inside MULTI; drops MULTI state. */
void db_multi_queue(db_client *c, const struct db_command *cmd);
void db_multi_reset(db_client *c);
void db_unwatch_all(db_client *c);
/* Blocks the client on keys argv[first..last] until timeout_ms (0: for ever). */
void db_block(db_client *c, int first, int last, int64_t timeout_ms);
void db_unblock(db_client *c);
/* Re-runs the commands of clients blocked on keys written since last call. */
void db_serve_blocked(struct db *d);
void db_block_timeouts(struct db *d, int64_t now_ms);
/* Scan cursors (cursors.c): a position kept in the node, a number for the
 * client (never 0, below 2^63). get: 1 with the position, 0 if unknown. */
unsigned long long db_cursor_put(struct db *d, const void *pos, size_t len);
int db_cursor_get(struct db *d, unsigned long long id, db_buf *pos);
void db_cursors_free(struct db *d);

/* SCAN, HSCAN, SSCAN, ZSCAN (keyspace.c): one walk in byte order, COUNT
 * entries at a time, the node keeping the last one visited behind the
 * cursor (cursors.c), so what is present for the whole scan comes back once
 * whatever is added or removed meanwhile; "0" starts and ends a scan, an
 * unknown cursor starts over. What differs per type: */
typedef struct {
    int type; /* DB_NONE: the keyspace (SCAN cursor ...); else the collection's (XSCAN key cursor ...) */
    char kind; /* the records walked (DB_REC_ELEM) */
    /* collections of at most this many come back whole with cursor 0, as
     * Redis answers a listpack (0: never); walking whole_kind records */
    int64_t whole;
    char whole_kind;
    /* an entry visited: its name (what MATCH tests) and, for HSCAN and
     * ZSCAN, the value replied after it (into value, of 64 bytes, or
     * pointing into val). 0 to skip a malformed entry. */
    int (*decode)(int whole, const uint8_t *sub, size_t sublen, const uint8_t *val, size_t vallen,
                  const uint8_t **name, size_t *namelen, const uint8_t **value, size_t *valuelen, char *scratch);
} scan_spec;
void scan_generic(db_client *c, const scan_spec *spec);

/* Random elements of a hash or set (sample.c), for SPOP, SRANDMEMBER and
 * HRANDFIELD. Each element is given to a sample_fn: its name (sub) and its
 * value when it was read on the way (else val is NULL: look it up); the fn
 * returns nonzero to stop (sample_repeats only). */
typedef int (*sample_fn)(void *arg, const uint8_t *sub, size_t sublen, const uint8_t *val, size_t vallen);
/* One random element of the n of key, copied into out. 1 found. */
int sample_one(db_client *c, const void *key, size_t keylen, int64_t n, db_buf *out);
/* k distinct ones (0 < k < n): in element order when taken in one pass,
 * else in the order drawn. */
void sample_distinct(db_client *c, const void *key, size_t keylen, int64_t n, int64_t k, sample_fn take, void *arg);
/* k with repeats, in the order drawn. */
void sample_repeats(db_client *c, const void *key, size_t keylen, int64_t n, int64_t k, sample_fn take, void *arg);

/* FLUSHDB's work: deletes every key of the selected database. */
void db_flush_selected(db_client *c);

/* Notes that key changed, for clients blocked on it (blocking.c). */
void db_key_ready(struct db *d, uint32_t dbno, const void *key, size_t keylen);
/* The same for every key a client blocked in database dbno waits on. */
void db_keys_ready_in(struct db *d, uint32_t dbno);
/* Frees the blocking state (db_close, once the clients are gone). */
void db_blocking_free(struct db *d);
/* Nonzero while some client is blocked. */
int db_any_blocked(const struct db *d);
/* Puts a client with new output on the woken list for the runtime. */
void db_wake(db_client *c);

#endif
