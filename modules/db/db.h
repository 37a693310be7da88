/*
 * db: Redis-compatible databases stored in LMDB, with versions.
 *
 * The runtime owns the sockets; this module owns the data and the command
 * semantics. For each connection it makes a client, feeds it parsed commands
 * (db_exec), and writes out what db_output returns. Writes of all commands
 * executed between two db_commit calls share one LMDB transaction and one
 * fsync (group commit): the runtime sends replies only after db_commit, so
 * an acknowledged write is on disk under DB_SYNC_ALWAYS.
 *
 * Not thread-safe: one thread (the RESP event loop) drives a db; readers
 * (db_reader_new) are the exception.
 */
#ifndef LEITHER_DB_H
#define LEITHER_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct db db;
typedef struct db_client db_client;

enum db_sync {
    DB_SYNC_ALWAYS,   /* commit is durable before any reply is sent */
    DB_SYNC_EVERYSEC, /* synced once a second (db_tick) */
    DB_SYNC_NO        /* the OS decides */
};

/* Opens (creating) the LMDB environment in dir. */
db *db_open(const char *dir, enum db_sync sync, char *err, size_t errlen);
void db_close(db *db);

/* The LMDB environment, which the content store (store.h) shares. */
struct MDB_env;
struct MDB_env *db_lmdb(db *db);

/* The default database number of a client (the owner's default MiMei). */
void db_set_default(db *db, uint32_t dbno);

db_client *db_client_new(db *db, void *io);
void db_client_free(db_client *c);
/* The runtime connection a client was made with. */
void *db_client_io(const db_client *c);

/* Executes one command (argv[0] is its name). Replies are appended to the
 * client's output; nothing is committed yet. */
void db_exec(db_client *c, int argc, const char **argv, const size_t *argvlen);

/* Commits the current batch (fsync under DB_SYNC_ALWAYS). On failure every
 * reply of the batch that acknowledged a write is replaced by an error.
 * Returns 0, or -1 when the commit failed. */
int db_commit(db *db);

/* Called about every 100 ms: expires keys, times out blocked clients,
 * syncs under DB_SYNC_EVERYSEC. */
void db_tick(db *db);

/* Output that may be written now, and how much was written. Replies of the
 * batch still open are held back until db_commit: whatever path writes a
 * client out, no acknowledgement leaves before its write is committed. */
const char *db_output(db_client *c, size_t *len);
void db_output_consumed(db_client *c, size_t n);
/* Bytes of output waiting, sendable or held back. */
size_t db_output_size(const db_client *c);
/* Nonzero when the connection should close once its output is written. */
int db_client_closing(const db_client *c);
/* Nonzero while the client waits in a blocking command. */
int db_client_blocked(const db_client *c);
/* Clients that got output outside db_exec (woken from a blocking pop) since
 * the last call: the runtime writes them out after db_commit. */
db_client *db_next_woken(db *db);

/* Nonzero when a command may run for an embedded caller (app code, the
 * HTTP API), which has no connection of its own: not blocking commands,
 * admin commands, connection state (SELECT, AUTH, MULTI/EXEC, ...) nor
 * MM.CREATE: the command table's CMD_BLOCKING, CMD_ADMIN, CMD_NOSCRIPT. */
int db_command_embeddable(const char *name, size_t len);

/* A command's row in the command table (0 .. rows - 1, by name), -1 for
 * a name it lacks; and a row's name (lowercase; NULL past the end). For
 * counting commands by name without keeping names. */
long db_command_index(const char *name, size_t len);
const char *db_command_name(size_t i);

/* Nonzero for a command that writes (CMD_WRITE). */
int db_command_writes(const char *name, size_t len);

/* Readers (reader.c): read-only commands on any thread, in an LMDB read
 * transaction of their own, beside the RESP loop's writing (an embedded
 * caller's reads need not wait for the writer). A reader is made for one
 * batch: db_reader_exec runs SELECT and the commands that
 * db_command_reads_anywhere allows (others answer an error); its replies
 * are read with db_output; db_reader_failed is nonzero after a storage
 * error (its replies are then not to be trusted). Not on the db's client
 * list: free it with db_reader_free, on the thread that made it. */
int db_command_reads_anywhere(const char *name, size_t len);
db_client *db_reader_new(db *db, const char *user, char *err, size_t errlen);
void db_reader_exec(db_client *c, int argc, const char **argv, const size_t *argvlen);
int db_reader_failed(const db_client *c);
void db_reader_free(db_client *c);

/* Protocol errors the runtime found: replied as Redis does, then closed. */
void db_protocol_error(db_client *c, const char *what);

/* What the runtime decides: who a client is (AUTH) and which database a
 * MiMei ID names (SELECT). Each returns 0, or -1 with a Redis error text
 * ("ERR ...", "WRONGPASS ...", "NOPERM ...") in err. */
typedef struct {
    void *arg;
    int (*auth)(void *arg, db_client *c, const char *user, const char *token, char *err, size_t errlen);
    /* mid is "MID" or "MID@N": the database number, the version to read
     * (0: the writable cur) and whether the client may write */
    int (*select)(void *arg, db_client *c, const char *mid, uint32_t *dbno, uint32_t *version, int *may_write,
                  char *err, size_t errlen);
    /* MM.CREATE: checks a signed MiMei info record and that this client may
     * register it; writes its ID (27 characters) to mid */
    int (*create)(void *arg, db_client *c, const char *info, size_t len, char *mid, char *err, size_t errlen);
    /* before every write command (EXEC's included): may this client store
     * `bytes` (its arguments) in the selected database? The hook may count
     * them in db_client_txn(c). NULL: always */
    int (*store)(void *arg, db_client *c, size_t bytes, char *err, size_t errlen);
    /* MM.INFO MID of another MiMei: may this client read its record (info,
     * JSON text)? NULL: always */
    int (*read)(void *arg, db_client *c, const char *info);
} db_hooks;
/* The client's current batch transaction (for hooks), or NULL. */
struct MDB_txn *db_client_txn(db_client *c);

/* --- the MiMei registry (in the same LMDB environment) ------------------- */

/* Registers a MiMei's info (JSON text) and gives it a database number, in
 * a transaction of its own (not on the RESP thread while it runs). If mid
 * is registered already, *dbno is its number and nothing changes. */
int db_mimei_register(db *db, const char *mid, const char *info, uint32_t *dbno, char *err, size_t errlen);
/* Replaces the info record of a registered MiMei (a new Right its author
 * signed; the ID and database number stay). -1 with err when mid is not
 * registered. */
int db_mimei_replace(db *db, const char *mid, const char *info, char *err, size_t errlen);
/* Looks a MiMei up in a transaction of its own: 1 found (*info malloc'd,
 * caller frees; dbno may be NULL), 0 not. */
int db_mimei_get(db *db, const char *mid, char **info, uint32_t *dbno);
/* Calls fn with every registered MiMei's ID and info text, in ID order,
 * until it returns nonzero (which is returned). */
int db_mimei_each(db *db, int (*fn)(void *arg, const char *mid, const char *info, size_t len), void *arg);
/* Forgets a MiMei: its info record, its number, and a database's records
 * and versions, in txn (a write transaction of the node's environment, not
 * on the RESP thread). The numbers are never given again. */
struct MDB_txn;
int db_mimei_drop(db *db, struct MDB_txn *txn, const char *mid, char *err, size_t errlen);
/* The same inside the client's current batch (for hooks). */
int db_mimei_lookup(db_client *c, const char *mid, char **info, uint32_t *dbno);
/* Nonzero when version n of database dbno exists (for SELECT MID@N). */
int db_version_exists(db_client *c, uint32_t dbno, uint32_t n);
/* Sets who the client authenticated as (a Leither ID), and whether it may
 * write to the database it has selected. */
void db_client_set_user(db_client *c, const char *id);
void db_client_set_may_write(db_client *c, int may_write);
/* Whether it may read the selected database: the select hook may say 0
 * for the default database (SELECT 0 answers OK, its commands NOPERM),
 * as the AUTH hook does for where a connection starts. */
void db_client_set_may_read(db_client *c, int may_read);
/* The default database's number (for SELECT 0). */
uint32_t db_default(const db *db);
void db_set_hooks(db *db, const db_hooks *hooks);

/* A client that must AUTH before anything else (db_auth "required", or not
 * from loopback). */
void db_client_require_auth(db_client *c);
/* The Leither ID a client authenticated as ("" for the node owner). */
const char *db_client_user(const db_client *c);
/* The MiMei ID of the database the client has selected ("" the default). */
const char *db_client_selected(const db_client *c);

/* Nonzero once the client may run commands: the loopback owner, or AUTH
 * succeeded. */
int db_client_authenticated(const db_client *c);
/* Whether the client acts as the node owner (CONFIG SET, CLIENT LIST/KILL). */
void db_client_set_owner(db_client *c, int owner);
/* The authenticating token's expiry (unix ms; 0 never): the connection is
 * closed when it passes (db_tick). */
void db_client_set_auth_expiry(db_client *c, int64_t expires_ms);

/* Work per turn: the runtime starts a turn before it feeds a client a run
 * of commands, and may look at how much work the turn did so far (one step
 * per command and per element visited) to let other clients go first. */
void db_client_turn_start(db_client *c);
uint64_t db_client_turn_work(const db_client *c);
/* For embedded callers (resp_call): at most max_steps of work in the turn
 * (later reading commands fail) and max_output bytes of replies (then
 * nothing more is added). */
void db_client_set_limits(db_client *c, uint64_t max_steps, size_t max_output);
/* Nonzero when a command went over its work budget / the output over its
 * limit. */
int db_client_over_budget(const db_client *c);
int db_client_overflowed(const db_client *c);

/* --- versions and journals between nodes (versions.c, journal.c) --------- */

/* Calls fn for each version of database dbno, oldest first, with the time
 * its backup was taken (unix ms), in a read transaction of its own, until
 * fn returns nonzero (returned); -1 when the store cannot be read. */
int db_versions_each(db *d, uint32_t dbno, int (*fn)(void *arg, uint32_t ver, int64_t when_ms), void *arg);
/* The newest version of database dbno (0: none). */
uint32_t db_version_last(db *d, uint32_t dbno);
/* The journal of version upto after version after (0: from the start):
 * every stored entry of database dbno whose epoch is in (after, upto],
 * tombstones included, in key order, handed to sink as the stream
 *     varint(key length) key varint(value length) value
 * (key without its database number; varints unsigned LEB128), a few bytes
 * at a time; *entries counts them. One pass over every entry of the
 * database, in a read transaction of its own. -1 with err when the store
 * fails or sink returns nonzero. */
int db_journal_export(db *d, uint32_t dbno, uint32_t after, uint32_t upto,
                      int (*sink)(void *arg, const void *bytes, size_t len), void *arg, uint64_t *entries, char *err,
                      size_t errlen);
/* Checks a journal stream whole: records entries, each one store.c could
 * have written (kind, key parts, value flags), its LMDB key (with the
 * database number) at most max_key bytes, its epoch in (after, upto], in
 * strictly ascending key order. 0, or -1 with the first fault. Applying
 * it is MM.APPLYJOURNAL's, run by the node itself (db_client_set_internal):
 *     MM.APPLYJOURNAL MID PREV N TIME RECORDS STREAM */
int db_journal_check(const void *stream, size_t len, uint32_t after, uint32_t upto, uint64_t records,
                     size_t max_key, char *err, size_t errlen);
/* The node itself: the client may run internal commands (MM.APPLYJOURNAL);
 * nobody else can. */
void db_client_set_internal(db_client *c, int internal);
/* Nonzero for an internal command (see above). */
int db_command_internal(const char *name, size_t len);

/* Limits, as Redis names them (CONFIG GET/SET proto-max-bulk-len, ...). */
size_t db_proto_max_bulk_len(const db *db);
size_t db_client_output_limit(const db *db);
void db_set_limits(db *db, size_t proto_max_bulk_len, size_t output_limit);

#endif
