/* org: organizations and their ledgers (runtime/ledger/ledger.h) over the
 * node's /api/v0/org/ API. Transactions are made and signed here, with
 * ledger.h's formats, by the -k key (else the home's node key); the commands
 * that change a ledger wait until the node says their pulse is final, so
 * what they print is committed. */
#include "cli.h"
#include "ledger.h"

#include <sodium.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TX_POLL_MS 100
/* final within 2 pulses: a minute means the node is not pulsing */
#define TX_WAIT_MS 60000
#define HASH_TEXT (IDS_B64URL_LEN(SMT_HASH_BYTES) + 1)

typedef struct {
    home h;
    ids_key key;
    char me[IDS_LID_LEN + 1]; /* the signer's Leither ID */
} session;

static int session_open(session *s, const cli_args *a)
{
    memset(s, 0, sizeof *s);
    if (cli_load_home(a, &s->h))
        return 1;
    if (cli_load_key(a, &s->h, &s->key)) {
        home_free(&s->h);
        return 1;
    }
    ids_leither_id(s->me, s->key.pk);
    return 0;
}

static void session_close(session *s)
{
    home_free(&s->h);
    sodium_memzero(&s->key, sizeof s->key);
}

static const char *str(const json_t *doc, const char *name)
{
    const char *v = json_string_value(json_object_get(doc, name));
    return v ? v : "";
}

/* A field that is a string or an integer, as text. */
static const char *text_of(const json_t *v, char buf[32])
{
    if (json_is_integer(v)) {
        snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return json_is_string(v) ? json_string_value(v) : "";
}

/* A role, whether the node writes it as a name or as its number. */
static const char *role_of(const json_t *v)
{
    if (json_is_integer(v)) {
        const char *name = ledger_role_name((int)json_integer_value(v));
        return name ? name : "?";
    }
    return json_is_string(v) ? json_string_value(v) : "?";
}

static int check_id(const char *id, const char *what)
{
    return ids_is_leither_id(id) ? 0 : cli_fail("%s '%s' is not a Leither ID", what, id);
}

/* --pulse N or --from N: a pulse number (1 or more). */
static int check_pulse(const char *text, const char *flag)
{
    uint64_t v;
    if (text && (ledger_amount_parse(text, &v) != 0 || v == 0 || v > (uint64_t)INT64_MAX))
        return cli_fail("%s takes a pulse number (1 or more), not '%s'", flag, text);
    return 0;
}

static int check_amount(const char *text, uint64_t *v)
{
    if (ledger_amount_parse(text, v) != 0)
        return cli_fail("AMOUNT must be a whole number from 1 to 18446744073709551615, not '%s'", text);
    if (*v == 0)
        return cli_fail("AMOUNT must be more than 0");
    return 0;
}

static int check_text(const char *text, const char *flag)
{
    json_t *probe = text ? json_string(text) : NULL;
    json_decref(probe);
    if (text && !probe)
        return cli_fail("%s is not UTF-8 text", flag);
    if (text && strlen(text) > LEDGER_TEXT_MAX)
        return cli_fail("%s is %zu bytes; at most %d", flag, strlen(text), LEDGER_TEXT_MAX);
    return 0;
}

/* A call's answer: the JSON document, or NULL after cli_fail (status not
 * 200: the node's reason; no JSON: say so). */
static json_t *org_answer(int status, json_t *doc, const char *err, const char *method, const char *path)
{
    if (status != 200) {
        json_decref(doc);
        cli_fail("%s", err);
        return NULL;
    }
    if (!doc)
        cli_fail("the node's answer to %s %s is not JSON", method, path);
    return doc;
}

/* GETs /api/v0/org/ and what fmt makes: the reply (200), or NULL after
 * cli_fail with the node's one-line reason. */
static json_t *org_get(session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *org_get(session *s, const char *fmt, ...)
{
    char path[512], err[512];
    int n = snprintf(path, sizeof path, "/api/v0/org/");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path + n, sizeof path - (size_t)n, fmt, ap);
    va_end(ap);
    json_t *doc = NULL;
    int status = cli_call(&s->h, NULL, "GET", path, &doc, err, sizeof err);
    return org_answer(status, doc, err, "GET", path);
}

/* POSTs body (JSON) to /api/v0/org/<what>, signed by the session's key. */
static json_t *org_post(session *s, const char *what, const char *body, size_t len)
{
    char path[128], err[512];
    snprintf(path, sizeof path, "/api/v0/org/%s", what);
    json_t *doc = NULL;
    int status = cli_call_body(&s->h, &s->key, "POST", path, body, len, &doc, err, sizeof err);
    return org_answer(status, doc, err, "POST", path);
}

/* The org's newest pulse: 0, or 1 after cli_fail. */
static int current_pulse(session *s, const char *org, json_int_t *pulse)
{
    json_t *doc = org_get(s, "root?org=%s", org);
    if (!doc)
        return 1;
    *pulse = json_integer_value(json_object_get(doc, "Pulse"));
    json_decref(doc);
    return 0;
}

/* A transaction of type for org, expiring LEDGER_EXPIRY_PULSES after the
 * current pulse, salted so that two equal ones differ (an accept tried
 * again is a new transaction; the offer's nonce still lets one through). */
static json_t *new_tx(session *s, const char *org, const char *type)
{
    json_int_t pulse;
    if (current_pulse(s, org, &pulse))
        return NULL;
    json_t *tx = json_pack("{s:s,s:s,s:I}", "Org", org, "Type", type, "Expires", pulse + LEDGER_EXPIRY_PULSES);
    if (tx) {
        char salt[IDS_B64URL_LEN(LEDGER_SALT_BYTES) + 1];
        ledger_salt(salt);
        json_object_set_new(tx, "Salt", json_string(salt));
    }
    if (!tx)
        cli_fail("out of memory");
    return tx;
}

static void hash_text(char out[HASH_TEXT], const json_t *doc)
{
    uint8_t h[SMT_HASH_BYTES];
    ledger_hash(h, doc);
    ids_b64url_encode(out, h, sizeof h);
}

/* Signs tx with the session's key and submits it: the node's answer
 * ({"Tx", "State"}) with hash set to the transaction's name, or NULL after
 * cli_fail. */
static json_t *submit(session *s, json_t *tx, char hash[HASH_TEXT])
{
    size_t len;
    char *bytes;
    if (ledger_sign(tx, &s->key) != 0 || !(bytes = ledger_bytes(tx, &len))) {
        cli_fail("out of memory");
        return NULL;
    }
    hash_text(hash, tx);
    json_t *doc = org_post(s, "submit", bytes, len);
    free(bytes);
    if (doc && strcmp(str(doc, "Tx"), hash)) {
        cli_fail("the node named the transaction %s, not %s", str(doc, "Tx"), hash);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* Polls org/tx every TX_POLL_MS until the transaction is final: its state
 * ({"Tx", "Type", "State", "Pulse", "Root"}), or NULL after cli_fail with
 * why the node refused it. */
static json_t *wait_final(session *s, const char *org, const char *tx)
{
    for (int waited = 0;; waited += TX_POLL_MS) {
        json_t *doc = org_get(s, "tx?org=%s&tx=%s", org, tx);
        if (!doc)
            return NULL;
        const char *state = str(doc, "State");
        if (!strcmp(state, "final"))
            return doc;
        if (!strcmp(state, "failed") || !strcmp(state, "expired")) {
            const char *why = str(doc, "Error");
            cli_fail("refused: %s", *why ? why : state);
            json_decref(doc);
            return NULL;
        }
        json_decref(doc);
        if (waited >= TX_WAIT_MS) {
            cli_fail("transaction %s is not final after %d s (is the node pulsing?)", tx, TX_WAIT_MS / 1000);
            return NULL;
        }
        nanosleep(&(struct timespec){0, TX_POLL_MS * 1000L * 1000}, NULL);
    }
}

/* Signs, submits and waits for tx (consumed); prints where it became final. */
static int apply_tx(const cli_args *a, session *s, const char *org, json_t *tx)
{
    char hash[HASH_TEXT];
    json_t *reply = submit(s, tx, hash);
    json_decref(tx);
    if (!reply)
        return 1;
    json_decref(reply);
    json_t *done = wait_final(s, org, hash);
    if (!done)
        return 1;
    if (a->json)
        return cli_print_json(done);
    printf("tx %s\npulse %lld\nroot %s\n", hash, (long long)json_integer_value(json_object_get(done, "Pulse")),
           str(done, "Root"));
    json_decref(done);
    return 0;
}

/* --- changing the ledger -------------------------------------------------- */

int cmd_org_create(const cli_args *a)
{
    const char *name = a->args[0];
    if (!*name)
        return cli_fail("NAME is empty");
    if (check_text(name, "NAME"))
        return 1;
    session s;
    if (session_open(&s, a))
        return 1;
    json_t *req = json_pack("{s:s}", "Name", name);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *doc = body ? org_post(&s, "create", body, strlen(body)) : NULL;
    free(body);
    session_close(&s);
    if (!doc)
        return 1;
    if (a->json)
        return cli_print_json(doc);
    printf("org %s\nname %s\nmid %s\nsupervisor %s\npulse %lld\nroot %s\n", str(doc, "Org"), str(doc, "Name"),
           str(doc, "MID"), str(doc, "Supervisor"), (long long)json_integer_value(json_object_get(doc, "Pulse")),
           str(doc, "Root"));
    json_decref(doc);
    return 0;
}

int cmd_org_apply(const cli_args *a)
{
    const char *org = a->args[0];
    if (check_id(org, "ORG") || check_text(a->note, "--note"))
        return 1;
    session s;
    if (session_open(&s, a))
        return 1;
    int rc = 1;
    json_t *tx = new_tx(&s, org, "apply");
    if (tx) {
        json_object_set_new(tx, "Note", json_string(a->note ? a->note : ""));
        rc = apply_tx(a, &s, org, tx);
    }
    session_close(&s);
    return rc;
}

/* A role transaction: approve (member, for a guest) and role. */
static int set_role(const cli_args *a, const char *role, int only_guests)
{
    const char *org = a->args[0], *user = a->args[1];
    if (check_id(org, "ORG") || check_id(user, "USER"))
        return 1;
    session s;
    if (session_open(&s, a))
        return 1;
    int rc = 1;
    json_t *account = org_get(&s, "account?org=%s&id=%s", org, user);
    const char *now = account ? role_of(json_object_get(account, "Role")) : NULL;
    if (now && only_guests && strcmp(now, "guest"))
        cli_fail("%s is a %s, not a guest: nothing to approve", user, now);
    else if (now) {
        json_t *tx = new_tx(&s, org, "role");
        if (tx) {
            json_object_set_new(tx, "User", json_string(user));
            json_object_set_new(tx, "Role", json_string(role));
            rc = apply_tx(a, &s, org, tx);
        }
    }
    json_decref(account);
    session_close(&s);
    return rc;
}

int cmd_org_approve(const cli_args *a) { return set_role(a, "member", 1); }

int cmd_org_role(const cli_args *a)
{
    const char *role = a->args[2];
    if (strcmp(role, "guest") && strcmp(role, "member"))
        return cli_fail("ROLE must be guest or member, not '%s'", role);
    return set_role(a, role, 0);
}

int cmd_org_issue(const cli_args *a)
{
    const char *org = a->args[0], *user = a->args[1];
    uint64_t amount;
    if (check_id(org, "ORG") || check_id(user, "USER") || check_amount(a->args[2], &amount))
        return 1;
    if (!a->reason || !*a->reason)
        return cli_fail("an issue needs --reason TEXT: it is recorded for every member to read");
    if (check_text(a->reason, "--reason"))
        return 1;
    session s;
    if (session_open(&s, a))
        return 1;
    int rc = 1;
    json_t *tx = new_tx(&s, org, "issue");
    if (tx) {
        json_object_set_new(tx, "To", json_string(user));
        json_object_set_new(tx, "Amount", json_string(a->args[2]));
        json_object_set_new(tx, "Reason", json_string(a->reason));
        rc = apply_tx(a, &s, org, tx);
    }
    session_close(&s);
    return rc;
}

int cmd_org_pay(const cli_args *a)
{
    const char *org = a->args[0], *to = a->args[1];
    uint64_t amount;
    if (check_id(org, "ORG") || check_id(to, "TO") || check_amount(a->args[2], &amount) ||
        check_text(a->memo, "--memo"))
        return 1;
    session s;
    if (session_open(&s, a))
        return 1;
    int rc = 1;
    json_t *account = NULL, *tx = NULL, *reply = NULL;
    char hash[HASH_TEXT];
    if (!strcmp(to, s.me))
        cli_fail("%s is you: a transfer to oneself is refused", to);
    else if ((account = org_get(&s, "account?org=%s&id=%s", org, s.me)) && (tx = new_tx(&s, org, "offer"))) {
        json_object_set_new(tx, "From", json_string(s.me));
        json_object_set_new(tx, "To", json_string(to));
        json_object_set_new(tx, "Amount", json_string(a->args[2]));
        json_object_set_new(tx, "Nonce", json_string(str(account, "Nonce")));
        json_object_set_new(tx, "Memo", json_string(a->memo ? a->memo : ""));
        if ((reply = submit(&s, tx, hash))) {
            rc = 0;
            if (a->json) {
                json_object_set_new(reply, "Offer", json_string(hash));
                json_object_set(reply, "Nonce", json_object_get(tx, "Nonce"));
                json_object_set(reply, "Expires", json_object_get(tx, "Expires"));
                cli_print_json(reply);
                reply = NULL;
            } else {
                puts(hash);
            }
        }
    }
    json_decref(reply);
    json_decref(tx);
    json_decref(account);
    session_close(&s);
    return rc;
}

/* A pending offer as org/offers lists it: the signed offer itself, or an
 * entry holding it as "Offer". */
static json_t *offer_of(json_t *entry)
{
    json_t *inner = json_object_get(entry, "Offer");
    return json_is_object(inner) ? inner : entry;
}

/* The pending offer to s.me named hash (a new reference), or NULL after
 * cli_fail. */
static json_t *find_offer(session *s, const char *org, const char *hash)
{
    json_t *list = org_get(s, "offers?org=%s&id=%s", org, s->me);
    if (!list)
        return NULL;
    json_t *entry, *found = NULL;
    size_t i;
    char name[HASH_TEXT];
    json_array_foreach(list, i, entry)
    {
        hash_text(name, offer_of(entry));
        if (!strcmp(name, hash)) {
            found = json_incref(offer_of(entry));
            break;
        }
    }
    json_decref(list);
    if (!found)
        cli_fail("no pending offer %s to %s (accepted already, expired, or never made)", hash, s->me);
    return found;
}

int cmd_org_accept(const cli_args *a)
{
    const char *org = a->args[0], *hash = a->args[1];
    if (check_id(org, "ORG"))
        return 1;
    session s;
    if (session_open(&s, a))
        return 1;
    int rc = 1;
    json_t *offer = find_offer(&s, org, hash), *tx = NULL, *done = NULL, *proof = NULL;
    char err[256], accept[HASH_TEXT];
    uint64_t amount;
    json_int_t pulse = 0;
    if (!offer)
        goto out;
    /* the node holds it, but the payer's signature is what this one joins */
    if (ledger_verify_sig(offer, err, sizeof err) != IDS_OK) {
        cli_fail("offer %s: %s", hash, err);
        goto out;
    }
    if (strcmp(str(offer, "Type"), "offer") || strcmp(str(offer, "Org"), org) ||
        strcmp(str(offer, "From"), str(offer, "Signer")) || ledger_amount_parse(str(offer, "Amount"), &amount)) {
        cli_fail("offer %s is not a well-formed offer of org %s", hash, org);
        goto out;
    }
    if (strcmp(str(offer, "To"), s.me)) {
        cli_fail("offer %s pays %s, not you (%s)", hash, str(offer, "To"), s.me);
        goto out;
    }
    if (current_pulse(&s, org, &pulse))
        goto out;
    if (json_integer_value(json_object_get(offer, "Expires")) <= pulse) {
        cli_fail("offer %s expired at pulse %lld (the ledger is at %lld)", hash,
                 (long long)json_integer_value(json_object_get(offer, "Expires")), (long long)pulse);
        goto out;
    }
    if (!(tx = new_tx(&s, org, "accept")))
        goto out;
    json_object_set(tx, "Offer", offer);
    json_t *reply = submit(&s, tx, accept);
    if (!reply)
        goto out;
    json_decref(reply);
    if (!(done = wait_final(&s, org, accept)))
        goto out;
    pulse = json_integer_value(json_object_get(done, "Pulse"));
    if (!(proof = org_get(&s, "proof?org=%s&id=%s&pulse=%lld", org, s.me, (long long)pulse)))
        goto out;
    rc = 0;
    if (a->json) {
        json_object_set(done, "Proof", proof);
        cli_print_json(json_incref(done));
    } else {
        printf("pulse %lld\nroot %s\nproof %s\n", (long long)pulse, str(done, "Root"), str(proof, "Proof"));
    }
out:
    json_decref(proof);
    json_decref(done);
    json_decref(tx);
    json_decref(offer);
    session_close(&s);
    return rc;
}

/* --- reading the ledger --------------------------------------------------- */

/* "&pulse=N" when --pulse was given. */
static const char *pulse_query(const cli_args *a, char buf[48])
{
    buf[0] = '\0';
    if (a->pulse)
        snprintf(buf, 48, "&pulse=%s", a->pulse);
    return buf;
}

/* Starts a read: checks the first nids arguments (ORG, USER) and the
 * pulse flags, opens the session. */
static int read_open(const cli_args *a, session *s, int nids)
{
    for (int i = 0; i < nids && i < a->nargs; i++)
        if (check_id(a->args[i], i ? "USER" : "ORG"))
            return 1;
    if (check_pulse(a->pulse, "--pulse") || check_pulse(a->from, "--from"))
        return 1;
    return session_open(s, a);
}

/* Ends a read: --json prints doc; else print(doc) does. */
static int read_done(const cli_args *a, session *s, json_t *doc, void (*print)(const json_t *))
{
    session_close(s);
    if (!doc)
        return 1;
    if (a->json)
        return cli_print_json(doc);
    print(doc);
    json_decref(doc);
    return 0;
}

static void print_members(const json_t *doc)
{
    json_t *m;
    size_t i;
    json_array_foreach(doc, i, m) printf("%s %s\n", str(m, "ID"), role_of(json_object_get(m, "Role")));
}

int cmd_org_members(const cli_args *a)
{
    session s;
    if (read_open(a, &s, 1))
        return 1;
    return read_done(a, &s, org_get(&s, "members?org=%s", a->args[0]), print_members);
}

static void print_show(const json_t *doc)
{
    char pulse[32], accounts[32], members[32], created[32];
    printf("org %s\nname %s\nmid %s\npublic key %s\nsupervisor %s\npulse %s\nroot %s\naccounts %s\nmembers %s\n"
           "created %s\n",
           str(doc, "Org"), str(doc, "Name"), str(doc, "MID"), str(doc, "PublicKey"), str(doc, "Supervisor"),
           text_of(json_object_get(doc, "Pulse"), pulse), str(doc, "Root"),
           text_of(json_object_get(doc, "Accounts"), accounts), text_of(json_object_get(doc, "Members"), members),
           text_of(json_object_get(doc, "Created"), created));
}

int cmd_org_show(const cli_args *a)
{
    session s;
    if (read_open(a, &s, 1))
        return 1;
    return read_done(a, &s, org_get(&s, "show?org=%s", a->args[0]), print_show);
}

static void print_balance(const json_t *doc) { printf("%s\n", str(doc, "Balance")); }

int cmd_org_balance(const cli_args *a)
{
    session s;
    char pq[48];
    if (read_open(a, &s, 2))
        return 1;
    const char *user = a->nargs > 1 ? a->args[1] : s.me;
    return read_done(a, &s, org_get(&s, "account?org=%s&id=%s%s", a->args[0], user, pulse_query(a, pq)),
                     print_balance);
}

static void print_root(const json_t *doc)
{
    printf("pulse %lld\nroot %s\n", (long long)json_integer_value(json_object_get(doc, "Pulse")), str(doc, "Root"));
}

int cmd_org_root(const cli_args *a)
{
    session s;
    char pq[48];
    if (read_open(a, &s, 1))
        return 1;
    return read_done(a, &s, org_get(&s, "root?org=%s%s", a->args[0], pulse_query(a, pq)), print_root);
}

static void print_proof(const json_t *doc)
{
    json_t *acc = json_object_get(doc, "Account");
    print_root(doc);
    printf("id %s\nkind %s\n", str(doc, "ID"), str(doc, "Kind"));
    if (json_is_object(acc))
        printf("role %s\nbalance %s\nnonce %s\n", role_of(json_object_get(acc, "Role")), str(acc, "Balance"),
               str(acc, "Nonce"));
    printf("proof %s\n", str(doc, "Proof"));
}

int cmd_org_proof(const cli_args *a)
{
    session s;
    char pq[48];
    if (read_open(a, &s, 2))
        return 1;
    return read_done(a, &s, org_get(&s, "proof?org=%s&id=%s%s", a->args[0], a->args[1], pulse_query(a, pq)),
                     print_proof);
}

static void print_accounts(const json_t *doc)
{
    json_t *m;
    size_t i;
    json_array_foreach(doc, i, m) printf("%s %s %s %s\n", str(m, "ID"), role_of(json_object_get(m, "Role")),
                                        str(m, "Balance"), str(m, "Nonce"));
}

int cmd_org_accounts(const cli_args *a)
{
    session s;
    char pq[48];
    if (read_open(a, &s, 1))
        return 1;
    return read_done(a, &s, org_get(&s, "accounts?org=%s%s", a->args[0], pulse_query(a, pq)), print_accounts);
}

/* A history entry's field: its own, or its offer's (a transfer). */
static const char *field(const json_t *entry, const char *name)
{
    const json_t *v = json_object_get(entry, name);
    if (!v)
        v = json_object_get(json_object_get(entry, "Offer"), name);
    return json_is_string(v) ? json_string_value(v) : "";
}

static void print_history(const json_t *doc)
{
    json_t *e;
    size_t i;
    json_array_foreach(doc, i, e)
    {
        const char *type = str(e, "Type");
        printf("%lld %s ", (long long)json_integer_value(json_object_get(e, "Pulse")), type);
        if (!strcmp(type, "issue"))
            printf("%s to %s: %s\n", field(e, "Amount"), field(e, "To"), field(e, "Reason"));
        else if (!strcmp(type, "accept") || !strcmp(type, "transfer"))
            printf("%s from %s to %s%s%s\n", field(e, "Amount"), field(e, "From"), field(e, "To"),
                   *field(e, "Memo") ? ": " : "", field(e, "Memo"));
        else if (!strcmp(type, "role"))
            printf("%s %s\n", field(e, "User"), field(e, "Role"));
        else if (!strcmp(type, "apply"))
            printf("%s%s%s\n", field(e, "Signer"), *field(e, "Note") ? ": " : "", field(e, "Note"));
        else if (!strcmp(type, "create"))
            printf("%s supervisor %s\n", field(e, "Name"), field(e, "Supervisor"));
        else
            printf("%s\n", str(e, "Tx"));
    }
}

int cmd_org_history(const cli_args *a)
{
    session s;
    char idq[48] = "";
    if (read_open(a, &s, 2))
        return 1;
    if (a->nargs > 1)
        snprintf(idq, sizeof idq, "&id=%s", a->args[1]);
    return read_done(a, &s, org_get(&s, "history?org=%s%s", a->args[0], idq), print_history);
}

static void print_pulses(const json_t *doc)
{
    json_t *h;
    size_t i;
    char txs[32], at[32];
    json_array_foreach(doc, i, h) printf("%lld %s txs %s time %s\n",
                                         (long long)json_integer_value(json_object_get(h, "Pulse")), str(h, "Root"),
                                         text_of(json_object_get(h, "Txs"), txs),
                                         text_of(json_object_get(h, "Time"), at));
}

int cmd_org_pulses(const cli_args *a)
{
    session s;
    char fq[48] = "";
    if (read_open(a, &s, 1))
        return 1;
    if (a->from)
        snprintf(fq, sizeof fq, "&from=%s", a->from);
    return read_done(a, &s, org_get(&s, "pulses?org=%s%s", a->args[0], fq), print_pulses);
}

/* The offers pending from or to the signer. */
static void print_offers(const json_t *doc)
{
    json_t *e;
    size_t i;
    char name[HASH_TEXT], b[32];
    json_array_foreach(doc, i, e)
    {
        const json_t *o = offer_of((json_t *)e);
        hash_text(name, o);
        printf("%s %s from %s to %s nonce %s expires %s%s%s\n", name, str(o, "Amount"), str(o, "From"), str(o, "To"),
               str(o, "Nonce"), text_of(json_object_get(o, "Expires"), b), *str(o, "Memo") ? ": " : "",
               str(o, "Memo"));
    }
}

int cmd_org_offers(const cli_args *a)
{
    session s;
    if (read_open(a, &s, 1))
        return 1;
    return read_done(a, &s, org_get(&s, "offers?org=%s&id=%s", a->args[0], s.me), print_offers);
}

int cmd_org_verify(const cli_args *a)
{
    const char *org = a->args[0];
    if (check_id(org, "ORG"))
        return 1;
    session s;
    if (session_open(&s, a))
        return 1;
    char body[96];
    snprintf(body, sizeof body, "{\"Org\":\"%s\"}", org);
    json_t *doc = org_post(&s, "verify", body, strlen(body));
    if (!doc) {
        session_close(&s);
        return 1;
    }
    json_int_t job = json_integer_value(json_object_get(doc, "Job"));
    json_decref(doc);
    doc = NULL;
    if (job <= 0) {
        session_close(&s);
        return cli_fail("the node answered no job");
    }
    for (int waited = 0;; waited += TX_POLL_MS) {
        if (!(doc = org_get(&s, "verify?job=%lld", (long long)job)))
            break;
        const char *state = str(doc, "State"), *why = str(doc, "Error");
        if (!strcmp(state, "failed") || *why) {
            cli_fail("org %s does not verify: %s", org, *why ? why : "failed");
            break;
        }
        if (!strcmp(state, "done")) {
            session_close(&s);
            if (a->json)
                return cli_print_json(doc);
            printf("ok: %lld pulses replayed, every header and root reproduced\n",
                   (long long)json_integer_value(json_object_get(doc, "Pulses")));
            json_decref(doc);
            return 0;
        }
        json_decref(doc);
        doc = NULL;
        if (waited >= TX_WAIT_MS * 10) {
            cli_fail("the verify job %lld still runs after %d s", (long long)job, TX_WAIT_MS * 10 / 1000);
            break;
        }
        nanosleep(&(struct timespec){0, TX_POLL_MS * 1000L * 1000}, NULL);
    }
    json_decref(doc);
    session_close(&s);
    return 1;
}
