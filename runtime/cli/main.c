/* main: the command table and dispatch for `leither` and `lapp`. */
#include "cli.h"
#include "node.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_prog = "leither";

static int cmd_version(const cli_args *a);
static int cmd_help(const cli_args *a);

static const cli_command commands[] = {
    {"init", cmd_init, "Hjpb", 0, 0, "[-p PORT] [-b HOST:PORT[,HOST:PORT...]] [--home DIR]",
     "create a node home, or update its settings (the key is kept)"},
    {"run", cmd_run, "HdF", 0, 0, "[-d] [--log-format text|json] [--home DIR]",
     "run the node (-d: as a daemon, its log in the home's leither.log)"},
    {"stop", cmd_stop, "Hk", 0, 0, "[-k KEYFILE] [--home DIR]", "stop the running node and wait until it is gone"},
    {"status", cmd_status, "Hj", 0, 0, "[--home DIR] [--json]", "show whether the node runs (exit 3 when not)"},
    {"service unit", cmd_service_unit, "HF", 0, 0, "[--log-format text|json] [--home DIR]",
     "print a systemd unit that runs this home's node"},
    {"service install", cmd_service_install, "HFo", 0, 0, "[-o FILE] [--log-format text|json] [--home DIR]",
     "write that unit (default /etc/systemd/system/leither.service) and say how to start it"},
    {"swarm id", cmd_swarm_id, "Hj", 0, 0, "[--home DIR] [--json]", "print the node's Leither ID and libp2p peer ID"},
    {"swarm local", cmd_swarm_local, "Hj", 0, 0, "[--home DIR] [--json]", "print the node's addresses as multiaddrs"},
    {"swarm addrs", cmd_swarm_addrs, "Hj", 0, 0, "[--home DIR] [--json]",
     "the nodes this node knows through the DHT, each with its addresses"},
    {"dht findpeer", cmd_dht_findpeer, "Hj", 1, 1, "ID [--home DIR] [--json]",
     "the addresses of node ID, from its signed record in the DHT"},
    {"lpki genkey", cmd_lpki_genkey, "jo", 0, 0, "-o FILE [--json]", "make a new ed25519 key file"},
    {"lpki show", cmd_lpki_show, "Hj", 0, 1, "[FILE] [--json]", "show a key file's IDs (default: the node key)"},
    {"lpki sign", cmd_lpki_sign, "Hjko", 1, 1, "FILE [-k KEYFILE] [-o SIGFILE] [--json]",
     "sign a file (signature in FILE.sig unless -o)"},
    {"lpki verify", cmd_lpki_verify, "Hji", 1, 2, "FILE [SIGFILE] [-i SIGNER_ID] [--json]",
     "check a file's signature (and who made it)"},
    {"lpki grant", cmd_lpki_grant, "Hjk", 1, 1, "ID [-k KEYFILE] [--json]",
     "let key ID sign API writes to this node"},
    {"lpki revoke", cmd_lpki_revoke, "Hjk", 1, 1, "ID [-k KEYFILE] [--json]", "take a grant back"},
    {"lpki authorize", cmd_lpki_authorize, "Hk", 2, 3, "METHOD PATH [BODYFILE] [-k KEYFILE]",
     "print a signed Authorization header for one API request, with the body in BODYFILE if any (for curl)"},
    {"lpki token", cmd_lpki_token, "HjkT", 0, 0, "[-k KEYFILE] [--ttl SECONDS] [--json]",
     "a token for the databases' AUTH (default: valid one day)"},
    {"mimei create", cmd_mimei_create, "HjktaeU", 0, 0,
     "[-t db|file|app] [-a APPID] [--ext EXT] [--public] [-k KEYFILE] [--json]",
     "create a MiMei (default type file; private unless --public) and print its ID"},
    {"mimei chmod", cmd_mimei_chmod, "Hjk", 2, 2, "MID public|private [-k KEYFILE] [--json]",
     "make a MiMei readable by anyone (public) or by its author and the owner's keys only (private)"},
    {"mimei show", cmd_mimei_show, "Hjk", 1, 1, "MID [-k KEYFILE] [--json]", "show a MiMei's info and versions"},
    {"mimei backup", cmd_mimei_backup, "Hjk", 1, 1, "MID [-k KEYFILE] [--json]",
     "freeze a MiMei's cur as its next version"},
    {"mimei setcid", cmd_mimei_setcid, "Hjk", 2, 2, "MID CID [-k KEYFILE] [--json]",
     "point a file MiMei at content: a new version"},
    {"mimei add", cmd_mimei_add, "Hjk", 2, 2, "MID FILE [-k KEYFILE] [--json]",
     "add a file to the node and make it the MiMei's new version"},
    {"mimei get", cmd_mimei_get, "Hvok", 1, 1, "MID [-v N|last|cur] [-o FILE] [-k KEYFILE]",
     "print a file MiMei's content (default: last, else cur)"},
    {"mimei ls", cmd_mimei_ls, "Hjvk", 1, 2, "MID [PATH] [-v N|last|cur] [-k KEYFILE] [--json]",
     "list a file MiMei's folder"},
    {"mimei put", cmd_mimei_put, "Hjk", 3, 3, "MID PATH FILE [-k KEYFILE] [--json]",
     "add FILE at PATH in the MiMei's cur folder"},
    {"mimei rm", cmd_mimei_rm, "Hjk", 2, 2, "MID PATH [-k KEYFILE] [--json]", "remove PATH from cur"},
    {"mimei mv", cmd_mimei_mv, "Hjk", 3, 3, "MID FROM TO [-k KEYFILE] [--json]", "move FROM to TO in cur"},
    {"mimei mkdir", cmd_mimei_mkdir, "Hjk", 2, 2, "MID PATH [-k KEYFILE] [--json]",
     "make a folder (and its parents) in cur"},
    {"mimei ref add", cmd_mimei_ref_add, "Hjk", 2, 2, "MID OTHER [-k KEYFILE] [--json]",
     "count one more reference from MID to OTHER"},
    {"mimei ref del", cmd_mimei_ref_del, "Hjk", 2, 2, "MID OTHER [-k KEYFILE] [--json]", "count one reference less"},
    {"mimei ref ls", cmd_mimei_ref_ls, "Hj", 1, 1, "MID [--json]", "the MiMei MID refers to, with counts"},
    {"ipfs cat", cmd_ipfs_cat, "H", 1, 1, "CID[/PATH]", "print content from the node"},
    {"ipfs get", cmd_ipfs_get, "Hjo", 1, 1, "CID[/PATH] [-o OUT]", "save a file or folder from the node"},
    {"repo gc", cmd_repo_gc, "Hjk", 0, 0, "[-k KEYFILE] [--json]",
     "remove blocks no pin or MiMei version refers to"},
    {"repo stat", cmd_repo_stat, "HjA", 0, 0, "[--by-author] [--json]",
     "count the stored blocks and their bytes; --by-author: each author's MiMei and guest bytes"},
    {"repo rm-author", cmd_repo_rm_author, "Hjk", 1, 1, "ID [-k KEYFILE] [--json]",
     "remove every MiMei a guest key authored and its blocks' usage ('repo gc' frees them)"},
    {"mimei drop", cmd_mimei_drop, "Hjk", 1, 1, "MID [-k KEYFILE] [--json]",
     "remove a MiMei from the node: info, versions, records ('repo gc' frees the blocks)"},
    {"mimei publish", cmd_mimei_publish, "HjkE", 1, 1, "MID [--eol 168h] [-k KEYFILE] [--json]",
     "put the MiMei's signed head in the DHT (re-put until the EOL) and this node as its provider"},
    {"mimei provide", cmd_mimei_provide, "Hjk", 1, 1, "MID [-k KEYFILE] [--json]",
     "serve a public MiMei to other nodes and follow it: each version published is synced here"},
    {"mimei unprovide", cmd_mimei_unprovide, "Hjk", 1, 1, "MID [-k KEYFILE] [--json]",
     "stop following a MiMei (its versions stay)"},
    {"mimei findprovs", cmd_mimei_findprovs, "Hjk", 1, 1, "MID [-k KEYFILE] [--json]",
     "the nodes that provide a MiMei, with their versions and addresses"},
    {"mimei sync", cmd_mimei_sync, "HjkN", 1, 1, "MID [-n NODE_ID|IP:PORT] [-k KEYFILE] [--json]",
     "fetch the newest head (from the DHT, or from that node) and make its versions local"},
    {"mimei grep", cmd_mimei_grep, "Hkv", 1, 1, "MID [-v N|last|cur] [-k KEYFILE]", "dump a database version"},
    {"ipfs add", cmd_ipfs_add, "HkqQnrDCLPG", 0, 4096,
     "[FILE|DIR|-]... [-r] [--hidden] [-q|-Q] [-n] [--cid-version 0|1] [--raw-leaves[=false]] [--pin=false] "
     "[--progress=false] [-k KEYFILE]",
     "add files (or stdin) as IPFS does and print their CIDs; -n: only compute them"},
    {"org create", cmd_org_create, "Hjk", 1, 1, "NAME [-k KEYFILE] [--json]",
     "make an organization (its key in the home's keys/) whose supervisor is the signer"},
    {"org apply", cmd_org_apply, "HjkO", 1, 1, "ORG [-k KEYFILE] [--note TEXT] [--json]",
     "join an organization as a guest"},
    {"org approve", cmd_org_approve, "Hjk", 2, 2, "ORG USER [-k KEYFILE] [--json]",
     "make a guest a member (supervisor)"},
    {"org role", cmd_org_role, "Hjk", 3, 3, "ORG USER guest|member [-k KEYFILE] [--json]",
     "set an account's role (supervisor)"},
    {"org members", cmd_org_members, "Hjk", 1, 1, "ORG [--json]", "the organization's accounts and their roles"},
    {"org show", cmd_org_show, "Hjk", 1, 1, "ORG [--json]", "an organization: name, supervisor, pulse, root"},
    {"org issue", cmd_org_issue, "HjkR", 3, 3, "ORG USER AMOUNT --reason TEXT [-k KEYFILE] [--json]",
     "issue new tokens to USER, recorded with the reason (supervisor)"},
    {"org pay", cmd_org_pay, "HjkM", 3, 3, "ORG TO AMOUNT [--memo TEXT] [-k KEYFILE] [--json]",
     "offer a transfer, signed by the payer; prints the offer's hash for TO's 'org accept'"},
    {"org accept", cmd_org_accept, "Hjk", 2, 2, "ORG OFFER [-k KEYFILE] [--json]",
     "sign an offer to you: the transfer is final once its pulse is; prints the pulse, root and your proof"},
    {"org offers", cmd_org_offers, "Hjk", 1, 1, "ORG [-k KEYFILE] [--json]", "the offers pending from or to you"},
    {"org balance", cmd_org_balance, "HjkS", 1, 2, "ORG [USER] [--pulse N] [-k KEYFILE] [--json]",
     "an account's balance (default: yours)"},
    {"org root", cmd_org_root, "HjSk", 1, 1, "ORG [--pulse N] [--json]", "the ledger's state root at a pulse"},
    {"org proof", cmd_org_proof, "HjSk", 2, 2, "ORG USER [--pulse N] [--json]",
     "a proof that USER's account is (or is not) in the ledger"},
    {"org accounts", cmd_org_accounts, "HjSk", 1, 1, "ORG [--pulse N] [--json]",
     "every account: ID, role, balance, nonce"},
    {"org history", cmd_org_history, "Hjk", 1, 2, "ORG [USER] [--json]",
     "issues with their reasons, transfers, role changes"},
    {"org pulses", cmd_org_pulses, "HjBk", 1, 1, "ORG [--from N] [--json]",
     "the signed pulse headers: pulse, root, transactions"},
    {"org verify", cmd_org_verify, "Hjk", 1, 1, "ORG [-k KEYFILE] [--json]",
     "replay the ledger from pulse 1 and check every header and root"},
    {"version", cmd_version, "j", 0, 0, "[--json]", "print the version"},
    {"help", cmd_help, "", 0, 3, "[COMMAND]", "show the commands, or one command's usage"},
};

/* `lapp ...` (or `leither lapp ...`): the app commands. */
static const cli_command app_commands[] = {
    {"new", cmd_lapp_new, "HjW", 1, 1, "NAME [-d DIR] [--home DIR] [--json]",
     "make the folder of a new app, DIR/NAME (default DIR: the home's apps/)"},
    {"uploadapp", cmd_lapp_uploadapp, "HjkiWN", 0, 0, "-i NAME [-d DIR] [-k KEYFILE] [-n HOST:PORT|NODE_ID] [--json]",
     "check the app folder DIR/NAME and make it the app's cur (the app is made on the first upload)"},
    {"backup", cmd_lapp_backup, "HjkaN", 0, 0, "-a NAME|APPID [-k KEYFILE] [-n HOST:PORT|NODE_ID] [--json]",
     "freeze the app's cur as its next version"},
    {"showapp", cmd_lapp_showapp, "HjkavN", 0, 0,
     "-a NAME|APPID [-v cur|last|N] [-k KEYFILE] [-n HOST:PORT|NODE_ID] [--json]",
     "show an app: its info, a version's files (default: cur), its versions"},
    {"version", cmd_version, "j", 0, 0, "[--json]", "print the version"},
    {"help", cmd_help, "", 0, 3, "[COMMAND]", "show the commands, or one command's usage"},
};

/* the table of the program invoked: commands, or app_commands for lapp */
static const cli_command *table = commands;
static size_t ntable = sizeof commands / sizeof *commands;

static void usage_of(FILE *out, const cli_command *c)
{
    fprintf(out, "usage: %s %s %s\n%s\n", cli_prog, c->name, c->synopsis, c->summary);
}

/* The width of the name column: the longest name in the table. */
static int name_width(void)
{
    size_t w = 4; /* "lapp" */
    for (size_t i = 0; i < ntable; i++)
        if (strlen(table[i].name) > w)
            w = strlen(table[i].name);
    return (int)w;
}

/* Whether command c's name starts with the words of argv (whole words). */
static int in_group(const cli_command *c, int argc, char **argv)
{
    const char *name = c->name;
    for (int w = 0; w < argc; w++) {
        size_t len = strlen(argv[w]);
        if (strncmp(name, argv[w], len) || name[len] != ' ')
            return 0;
        name += len + 1;
    }
    return 1;
}

/* The commands whose names start with the words of argv ("mimei", "mimei
 * ref"): their count, and with out, their list. */
static size_t usage_group(FILE *out, int argc, char **argv)
{
    size_t n = 0;
    int width = name_width();
    for (size_t i = 0; i < ntable; i++) {
        if (!in_group(&table[i], argc, argv))
            continue;
        if (out && n == 0) {
            fprintf(out, "usage: %s", cli_prog);
            for (int w = 0; w < argc; w++)
                fprintf(out, " %s", argv[w]);
            fprintf(out, " COMMAND [ARGS]\n\ncommands:\n");
        }
        if (out)
            fprintf(out, "  %-*s  %s\n", width, table[i].name, table[i].summary);
        n++;
    }
    if (out && n)
        fprintf(out, "\n'%s help COMMAND' (or COMMAND --help) shows a command's flags.\n", cli_prog);
    return n;
}

/* The longest run of argv's first words that names a group of commands:
 * its length in words, 0 when none does. */
static int group_words(int argc, char **argv)
{
    int words = 0;
    for (int w = 1; w <= argc; w++)
        if (usage_group(NULL, w, argv))
            words = w;
    return words;
}

static void usage_all(FILE *out)
{
    int width = name_width();
    fprintf(out, "usage: %s COMMAND [ARGS]\n\ncommands:\n", cli_prog);
    for (size_t i = 0; i < ntable; i++)
        fprintf(out, "  %-*s  %s\n", width, table[i].name, table[i].summary);
    if (table == commands)
        fprintf(out, "  %-*s  %s\n", width, "lapp", "the app commands: 'leither lapp help' (or 'lapp help')");
    fprintf(out, "\nEvery command takes --help. The home is --home DIR, else $LEITHER_HOME, else the current\n"
                 "directory when it is a home, else ~/%s (README \"The home\").\n", HOME_DEFAULT_DIR);
}

static int cmd_version(const cli_args *a)
{
    if (a->json)
        return cli_print_json(json_pack("{s:s,s:s}", "Version", LEITHER_VERSION, "Agent", "leither/" LEITHER_VERSION));
    printf("leither version %s\n", LEITHER_VERSION);
    return 0;
}

/* Finds the command named by the first words of argv ("mimei ref add"). */
static const cli_command *lookup(int argc, char **argv, int *words)
{
    for (size_t i = 0; i < ntable; i++) {
        const char *name = table[i].name;
        int w = 0;
        while (w < argc) {
            size_t len = strcspn(name, " ");
            if (strlen(argv[w]) != len || strncmp(argv[w], name, len))
                break;
            w++;
            if (!name[len]) {
                *words = w;
                return &table[i];
            }
            name += len + 1;
        }
    }
    return NULL;
}

static int cmd_help(const cli_args *a)
{
    int words;
    if (a->nargs && table == commands && !strcmp(a->args[0], "lapp")) { /* help lapp [COMMAND] */
        cli_prog = "lapp";
        table = app_commands;
        ntable = sizeof app_commands / sizeof *app_commands;
        cli_args rest = *a;
        rest.args++;
        rest.nargs--;
        return cmd_help(&rest);
    }
    const cli_command *c = a->nargs ? lookup(a->nargs, a->args, &words) : NULL;
    if (c)
        usage_of(stdout, c);
    else if (a->nargs && group_words(a->nargs, a->args) == a->nargs)
        usage_group(stdout, a->nargs, a->args);
    else if (a->nargs)
        return cli_fail("no command '%s': see '%s help'", a->args[0], cli_prog), 2;
    else
        usage_all(stdout);
    return 0;
}

/* argv names no command: say what the user may have meant. Returns the exit
 * status: 0 for a group's --help (on stdout), else 2 (on stderr). */
static int not_a_command(int argc, char **argv)
{
    int words = group_words(argc, argv);
    if (words > 0 && (words == argc || !strcmp(argv[words], "--help") || !strcmp(argv[words], "-h"))) {
        if (words < argc) {
            usage_group(stdout, words, argv);
            return 0;
        }
        fprintf(stderr, "%s: which '", cli_prog);
        for (int w = 0; w < words; w++)
            fprintf(stderr, "%s%s", w ? " " : "", argv[w]);
        fprintf(stderr, "' command?\n");
        usage_group(stderr, words, argv);
        return 2;
    }
    const char *word = argv[words];
    if (words > 0) {
        fprintf(stderr, "%s: '%s' is not a", cli_prog, word);
        for (int w = 0; w < words; w++)
            fprintf(stderr, " %s", argv[w]);
        fprintf(stderr, " command");
    } else {
        fprintf(stderr, "%s: unknown command '%s'", cli_prog, word);
    }
    /* the same word elsewhere: another group's, or the other program's */
    for (size_t i = 0; i < ntable; i++) {
        const char *last = strrchr(table[i].name, ' ');
        if (strcmp(table[i].name, word) && !strcmp(last ? last + 1 : table[i].name, word)) {
            fprintf(stderr, "; did you mean '%s %s'?", cli_prog, table[i].name);
            break;
        }
    }
    for (size_t i = 0; table == commands && i < sizeof app_commands / sizeof *app_commands; i++)
        if (!strcmp(app_commands[i].name, word) && strcmp(word, "help") && strcmp(word, "version")) {
            fprintf(stderr, "; it is an app command: 'lapp %s'", word);
            break;
        }
    fputc('\n', stderr);
    if (words > 0)
        usage_group(stderr, words, argv);
    else
        usage_all(stderr);
    return 2;
}

/* A boolean flag's value: none (--flag) is true. -1 when neither. */
static int parse_bool(const char *v)
{
    if (!v || !strcmp(v, "true") || !strcmp(v, "1"))
        return 1;
    if (!strcmp(v, "false") || !strcmp(v, "0"))
        return 0;
    return -1;
}

/* Whether s has the shape of a 32-byte hash in base64url (43 characters). */
static int is_hash_text(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    return n == 43 && s[n] == '\0';
}

/* Parses the options of command c from argv (after its name). */
static int parse(const cli_command *c, int argc, char **argv, cli_args *a)
{
    static const struct option longs[] = {
        {"home", required_argument, NULL, 'H'},   {"json", no_argument, NULL, 'j'},
        {"key", required_argument, NULL, 'k'},    {"output", required_argument, NULL, 'o'},
        {"port", required_argument, NULL, 'p'},   {"bootstrap", required_argument, NULL, 'b'},
        {"signer", required_argument, NULL, 'i'}, {"daemon", no_argument, NULL, 'd'},
        {"type", required_argument, NULL, 't'},   {"app", required_argument, NULL, 'a'},
        {"ext", required_argument, NULL, 'e'},    {"version", required_argument, NULL, 'v'},
        {"ttl", required_argument, NULL, 'T'},    {"help", no_argument, NULL, 'h'},
        {"quiet", no_argument, NULL, 'q'},        {"quieter", no_argument, NULL, 'Q'},
        {"only-hash", no_argument, NULL, 'n'},    {"recursive", no_argument, NULL, 'r'},
        {"hidden", no_argument, NULL, 'D'},       {"cid-version", required_argument, NULL, 'C'},
        {"raw-leaves", optional_argument, NULL, 'L'}, {"pin", optional_argument, NULL, 'P'},
        {"progress", optional_argument, NULL, 'G'},
        {"node", required_argument, NULL, 'N'},   {"dir", required_argument, NULL, 'W'},
        {"by-author", no_argument, NULL, 'A'},   {"public", no_argument, NULL, 'U'},
        {"log-format", required_argument, NULL, 'F'}, {"eol", required_argument, NULL, 'E'},
        {"reason", required_argument, NULL, 'R'}, {"note", required_argument, NULL, 'O'},
        {"memo", required_argument, NULL, 'M'},   {"pulse", required_argument, NULL, 'S'},
        {"from", required_argument, NULL, 'B'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->cid_version = a->raw_leaves = a->pin = a->progress = -1;
    opterr = 0;
    optind = 0; /* 0: reinitialize getopt */
    /* IDs and hashes (org accept's OFFER) are base64url, so one in 64
     * starts with '-': such an argument is an ID, not flags. Marked with
     * \x01 so getopt leaves it alone. */
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && (ids_is_leither_id(argv[i]) || is_hash_text(argv[i]))) {
            size_t len = strlen(argv[i]);
            char *marked = malloc(len + 2);
            marked[0] = '\x01';
            memcpy(marked + 1, argv[i], len + 1);
            argv[i] = marked; /* lives as long as the process */
        }
    /* -n is --node HOST:PORT for commands that take N, else --only-hash;
     * -d is --dir DIR for those that take W, else --daemon */
    int takes_node = strchr(c->flags, 'N') != NULL, takes_dir = strchr(c->flags, 'W') != NULL;
    char shorts[64];
    snprintf(shorts, sizeof shorts, ":k:o:p:b:i:t:a:v:hqQr%s%s", takes_node ? "n:" : "n", takes_dir ? "d:" : "d");
    int opt;
    while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (optarg && optarg[0] == '\x01') /* an ID as a flag's value (-n -Zb9…) */
            optarg++;
        if (opt == 'n' && takes_node)
            opt = 'N';
        if (opt == 'd' && takes_dir)
            opt = 'W';
        if (opt == 'h') {
            usage_of(stdout, c);
            return -1;
        }
        if (opt == '?' || opt == ':' || !strchr(c->flags, opt)) {
            const char *flag = argv[optind - 1];
            if (opt == ':')
                fprintf(stderr, "%s %s: flag %s needs a value\n", cli_prog, c->name, flag);
            else
                fprintf(stderr, "%s %s: unknown flag %s\n", cli_prog, c->name, flag);
            usage_of(stderr, c);
            return 2;
        }
        switch (opt) {
        case 'H': a->home = optarg; break;
        case 'j': a->json = 1; break;
        case 'A': a->by_author = 1; break;
        case 'k': a->key = optarg; break;
        case 'o': a->out = optarg; break;
        case 'b': a->bootstrap = optarg; break;
        case 'i': a->signer = optarg; break;
        case 'd': a->daemon = 1; break;
        case 'N': a->node = optarg; break;
        case 'W': a->dir = optarg; break;
        case 't': a->type = optarg; break;
        case 'a': a->app = optarg; break;
        case 'e': a->ext = optarg; break;
        case 'v': a->version = optarg; break;
        case 'T': a->version = optarg; break;
        case 'q': a->quiet = 1; break;
        case 'Q': a->quieter = 1; break;
        case 'n': a->only_hash = 1; break;
        case 'r': a->recursive = 1; break;
        case 'D': a->hidden = 1; break;
        case 'U': a->public = 1; break;
        case 'F': a->log_format = optarg; break;
        case 'E': a->eol = optarg; break;
        case 'R': a->reason = optarg; break;
        case 'O': a->note = optarg; break;
        case 'M': a->memo = optarg; break;
        case 'S': a->pulse = optarg; break;
        case 'B': a->from = optarg; break;
        case 'C':
            if (strcmp(optarg, "0") != 0 && strcmp(optarg, "1") != 0) {
                fprintf(stderr, "%s %s: --cid-version must be 0 or 1, not '%s'\n", cli_prog, c->name, optarg);
                usage_of(stderr, c);
                return 2;
            }
            a->cid_version = optarg[0] - '0';
            break;
        case 'L':
        case 'P':
        case 'G': {
            int v = parse_bool(optarg);
            if (v < 0) {
                fprintf(stderr, "%s %s: %s takes true or false, not '%s'\n", cli_prog, c->name, argv[optind - 1],
                        optarg);
                usage_of(stderr, c);
                return 2;
            }
            *(opt == 'L' ? &a->raw_leaves : opt == 'P' ? &a->pin : &a->progress) = v;
            break;
        }
        case 'p': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 1 || v > 65535) {
                fprintf(stderr, "%s %s: -p needs a port from 1 to 65535, not '%s'\n", cli_prog, c->name, optarg);
                usage_of(stderr, c);
                return 2;
            }
            a->port = (int)v;
            break;
        }
        }
    }
    a->args = argv + optind;
    a->nargs = argc - optind;
    for (int i = 0; i < a->nargs; i++)
        if (a->args[i][0] == '\x01')
            a->args[i]++;
    if (a->nargs < c->min_args || a->nargs > c->max_args) {
        fprintf(stderr, "%s %s: %s arguments\n", cli_prog, c->name, a->nargs < c->min_args ? "missing" : "too many");
        usage_of(stderr, c);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    argc--, argv++;
    if (!strcmp(base, "lapp") || (argc > 0 && !strcmp(argv[0], "lapp"))) {
        cli_prog = "lapp";
        table = app_commands;
        ntable = sizeof app_commands / sizeof *app_commands;
        if (strcmp(base, "lapp") != 0)
            argc--, argv++;
    }
    if (ids_init() != 0)
        return cli_fail("libsodium failed to initialize");
    if (argc == 0) {
        usage_all(stderr);
        return 2;
    }
    int words = 0;
    const cli_command *c = lookup(argc, argv, &words);
    if (!c && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        usage_all(stdout);
        return 0;
    }
    if (!c && (!strcmp(argv[0], "--version") || !strcmp(argv[0], "-V"))) {
        printf("leither version %s\n", LEITHER_VERSION);
        return 0;
    }
    if (!c)
        return not_a_command(argc, argv);
    cli_args a;
    /* getopt sees the command words as argv[0] */
    int rc = parse(c, argc - words + 1, argv + words - 1, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    return c->run(&a);
}
