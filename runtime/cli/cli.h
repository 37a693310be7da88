/*
 * cli: the `leither` (and `lapp`) command line. main.c holds the one command
 * table and the dispatcher; cli.c the helpers every command shares (home
 * and key loading, signed API calls, output); content.c and upload.c the
 * importer and uploader the content commands share; one file per command
 * group: node.c (init, run, stop, status, swarm), service.c (the systemd unit), mimei.c, file.c (file
 * MiMei contents, ipfs cat/get, repo), ipfs.c (ipfs add), lapp.c, lpki.c, sync.c (mimei publish,
 * provide, findprovs, sync), org.c (organizations and their ledgers).
 * Commands print results on stdout (JSON with --json), errors as one line
 * "leither: reason" on stderr, and return the exit status: 0 done, 1
 * failed, 2 usage.
 * Calls: server/ (run starts the node in this process), node/ (home,
 * identity, signatures), modules. Everything else it asks the running node
 * over HTTP.
 */
#ifndef LEITHER_CLI_H
#define LEITHER_CLI_H

#include "node.h"
#include "ids.h"
#include "store.h"

#include <jansson.h>

typedef struct {
    const char *home;      /* --home DIR */
    const char *key;       /* -k/--key FILE */
    const char *out;       /* -o/--output FILE */
    const char *bootstrap; /* -b/--bootstrap HOST[,HOST...] */
    const char *signer;    /* -i/--signer ID */
    const char *type;      /* -t/--type */
    const char *app;       /* -a/--app */
    const char *ext;       /* --ext */
    const char *version;   /* -v/--version N|last|cur, --ttl SECONDS */
    const char *node;      /* -n/--node: lapp HOST:PORT or NODE_ID, the node to talk to; mimei sync the node to ask */
    const char *eol;       /* mimei publish --eol DURATION */
    const char *dir;       /* lapp: -d/--dir DIR, the folder of app folders */
    int port;              /* -p/--port, 0 when not given */
    int json;              /* --json */
    int by_author;         /* -A/--by-author (repo stat) */
    int daemon;            /* -d/--daemon */
    const char *log_format; /* run: --log-format text|json */
    /* org */
    const char *reason; /* --reason TEXT (issue) */
    const char *note;   /* --note TEXT (apply) */
    const char *memo;   /* --memo TEXT (pay) */
    const char *pulse;  /* --pulse N: a ledger as it was at pulse N */
    const char *from;   /* --from N (pulses) */
    /* ipfs add */
    int quiet;       /* -q/--quiet */
    int quieter;     /* -Q/--quieter */
    int only_hash;   /* -n/--only-hash */
    int recursive;   /* -r/--recursive */
    int hidden;      /* --hidden */
    int public;      /* mimei create --public */
    int cid_version; /* --cid-version N; -1 when not given */
    int raw_leaves;  /* --raw-leaves[=BOOL]; -1 when not given */
    int pin;         /* --pin[=BOOL]; -1 when not given */
    int progress;    /* --progress[=BOOL]; -1 when not given */
    int nargs;
    char **args; /* positional arguments */
} cli_args;

typedef struct {
    const char *name; /* "init", "swarm id", ... */
    int (*run)(const cli_args *);
    const char *flags; /* option letters it takes: H(--home) j k o b i p d t a e v T(--ttl)
                        * q Q n r D(--hidden) C(--cid-version) L(--raw-leaves) P(--pin) G(--progress)
                        * N(-n/--node HOST:PORT) W(-d/--dir DIR): -n and -d take these meanings
                        * A(--by-author) U(--public) F(--log-format) E(--eol)
                        * R(--reason) O(--note) M(--memo) S(--pulse) B(--from) */
    int min_args, max_args;
    const char *synopsis; /* what follows the name in usage */
    const char *summary;
} cli_command;

extern const char *cli_prog; /* "leither" or "lapp" */

/* Prints "PROG: message" on stderr; returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The names in dir that keep() accepts, sorted by bytes (as go-merkledag
 * orders links). 0, or 1 after cli_fail. Free with cli_free_names. */
int cli_read_dir(const char *dir, int (*keep)(void *arg, const char *name), void *arg, char ***names, size_t *n);
void cli_free_names(char **names, size_t n);
/* Prints doc as indented JSON and drops the reference; returns 0. */
int cli_print_json(json_t *doc);
/* Resolves (home_resolve) and loads the home: 0, or -1 with err, which for
 * a home not made yet says the exact init that makes it. */
int cli_find_home(const cli_args *a, home *h, char *err, size_t errlen);
/* cli_find_home, printing the error. 0 on success. */
int cli_load_home(const cli_args *a, home *h);
/* The -k key file, else the home's node key (h may be NULL only with -k). */
int cli_load_key(const cli_args *a, const home *h, ids_key *key);
/* The key a command signs with: -k, else the node key of the home (loaded
 * only for that). Prints the error; 0 on success. */
int cli_signing_key(const cli_args *a, ids_key *key);

/* Calls the API of the node of home h: method, path (with query). With a
 * signer the request is signed (auth.h). Returns the HTTP status with *reply
 * the parsed body (or NULL), or -1 with err set when the node cannot be
 * reached. On a status other than 200, err holds the node's message. */
int cli_call(const home *h, const ids_key *signer, const char *method, const char *path, json_t **reply, char *err,
             size_t errlen);

/* cli_call with a request body (signed with it). */
int cli_call_body(const home *h, const ids_key *signer, const char *method, const char *path, const void *body,
                  size_t bodylen, json_t **reply, char *err, size_t errlen);
/* GETs path (the gateway: /ipfs/..., /mm/...), signed by signer when not
 * NULL (private content answers its readers only), and streams a 2xx body
 * to sink (nonzero from sink stops). Returns the HTTP status, or -1 with
 * err; on a status other than 2xx, err holds the node's one-line reason. */
int cli_fetch(const home *h, const ids_key *signer, const char *path,
              int (*sink)(void *arg, const void *data, size_t len), void *arg, char *err, size_t errlen);

/* --- cli_upload.c: sending blocks to the node ---------------------------- */
typedef struct cli_uploader cli_uploader;
/* An uploader to the node of the command's home, signing with
 * cli_signing_key. Blocks go in CARv1 batches of a few MB. */
cli_uploader *cli_uploader_new(const cli_args *a, char *err, size_t errlen);
/* An uploader to the node of h (copied), signing with key. */
cli_uploader *cli_uploader_at(const home *h, const ids_key *key, char *err, size_t errlen);
/* A block_sink (store.h): queues the block, sending a full batch. */
int cli_uploader_sink(void *uploader, const cid *c, const uint8_t *block, size_t len);
/* Sends what is queued; with pin, the node pins roots (which it must have). */
int cli_uploader_finish(cli_uploader *u, const cid *roots, size_t nroots, int pin, char *err, size_t errlen);
/* Why the node refused a batch, or NULL while none was refused (an import
 * that failed in its sink failed for this reason). */
const char *cli_uploader_error(const cli_uploader *u);
void cli_uploader_free(cli_uploader *u);

/* --- cli_content.c -------------------------------------------------------- */
/* Runs fd's bytes through the importer into sink (progress, if given, gets
 * the bytes read so far). */
int cli_import_fd(int fd, const import_opts *o, block_sink sink, void *arg, void (*progress)(void *, uint64_t),
                  void *parg, cid *root, uint64_t *size, uint64_t *tsize, char *err, size_t errlen);
/* The same for a file ("-": stdin). */
int cli_import_file(const char *path, const import_opts *o, block_sink sink, void *arg, cid *root, uint64_t *size,
                    uint64_t *tsize, char *err, size_t errlen);
/* Percent-escapes in for a URL's path or query (keep_slash: '/' stays). */
void cli_escape(char *out, size_t cap, const char *in, int keep_slash);

/* commands */
int cmd_init(const cli_args *a);
int cmd_run(const cli_args *a);
int cmd_stop(const cli_args *a);
int cmd_status(const cli_args *a);
int cmd_service_unit(const cli_args *a);
int cmd_service_install(const cli_args *a);
int cmd_swarm_id(const cli_args *a);
int cmd_swarm_local(const cli_args *a);
int cmd_swarm_addrs(const cli_args *a);
int cmd_dht_findpeer(const cli_args *a);
int cmd_lpki_genkey(const cli_args *a);
int cmd_lpki_show(const cli_args *a);
int cmd_lpki_sign(const cli_args *a);
int cmd_lpki_verify(const cli_args *a);
int cmd_lpki_grant(const cli_args *a);
int cmd_lpki_revoke(const cli_args *a);
int cmd_lpki_authorize(const cli_args *a);
int cmd_lpki_token(const cli_args *a);
int cmd_mimei_create(const cli_args *a);
int cmd_mimei_chmod(const cli_args *a);
int cmd_mimei_show(const cli_args *a);
int cmd_mimei_backup(const cli_args *a);
int cmd_mimei_grep(const cli_args *a);
int cmd_mimei_setcid(const cli_args *a);
int cmd_mimei_add(const cli_args *a);
int cmd_mimei_get(const cli_args *a);
int cmd_mimei_ls(const cli_args *a);
int cmd_mimei_put(const cli_args *a);
int cmd_mimei_rm(const cli_args *a);
int cmd_mimei_mv(const cli_args *a);
int cmd_mimei_mkdir(const cli_args *a);
int cmd_mimei_ref_add(const cli_args *a);
int cmd_mimei_ref_del(const cli_args *a);
int cmd_mimei_ref_ls(const cli_args *a);
int cmd_ipfs_cat(const cli_args *a);
int cmd_ipfs_get(const cli_args *a);
int cmd_repo_gc(const cli_args *a);
int cmd_repo_stat(const cli_args *a);
int cmd_repo_rm_author(const cli_args *a);
int cmd_mimei_drop(const cli_args *a);
/* sync.c: MiMei between nodes, as jobs of the node's sync thread */
int cmd_mimei_publish(const cli_args *a);
int cmd_mimei_provide(const cli_args *a);
int cmd_mimei_unprovide(const cli_args *a);
int cmd_mimei_findprovs(const cli_args *a);
int cmd_mimei_sync(const cli_args *a);
/* mimei show's "from net", "conflict" and "compare version" sections, from
 * the head the node holds of mid (nothing when it holds none). */
void mimei_show_net(const cli_args *a, const char *mid, long long local_last, const json_t *local_versions);
/* cmd_file.c for cmd_mimei.c: file MiMei backups and info over the API. */
int mimei_file_backup(const cli_args *a);
json_t *mimei_file_show(const cli_args *a);
int cmd_ipfs_add(const cli_args *a);
/* cmd_mimei.c: registers a signed info record (mimei_new) with the node of h
 * over RESP (MM.CREATE; -k authenticates). Prints the error; 0 on success. */
int mimei_register(const cli_args *a, const home *h, const json_t *info);
/* cmd_lapp.c: lapp new, uploadapp, backup, showapp. */
int cmd_lapp_new(const cli_args *a);
int cmd_lapp_uploadapp(const cli_args *a);
int cmd_lapp_backup(const cli_args *a);
int cmd_lapp_showapp(const cli_args *a);
/* org.c: organizations and their ledgers (runtime/ledger/ledger.h) */
int cmd_org_create(const cli_args *a);
int cmd_org_apply(const cli_args *a);
int cmd_org_approve(const cli_args *a);
int cmd_org_role(const cli_args *a);
int cmd_org_members(const cli_args *a);
int cmd_org_show(const cli_args *a);
int cmd_org_issue(const cli_args *a);
int cmd_org_pay(const cli_args *a);
int cmd_org_accept(const cli_args *a);
int cmd_org_offers(const cli_args *a);
int cmd_org_balance(const cli_args *a);
int cmd_org_root(const cli_args *a);
int cmd_org_proof(const cli_args *a);
int cmd_org_accounts(const cli_args *a);
int cmd_org_history(const cli_args *a);
int cmd_org_pulses(const cli_args *a);
int cmd_org_verify(const cli_args *a);
/* init: the owner's default database MiMei (SystemVars "db_default"). */
int mimei_init_default(home *h, const ids_key *key);

#endif
