/* org: organizations and their ledgers under /api/v0/org/ (ledger.h's API;
 * the work is ledger_node.h's). No handler waits on the pulse thread:
 * submit queues, reads use read transactions of their own, verify answers
 * a job. */
#include "internal.h"

#include "ledger_node.h"

#include <stdlib.h>
#include <string.h>

static int status_of(int st)
{
    switch (st) {
    case LEDGER_OK: return 200;
    case LEDGER_INVALID: return 400;
    case LEDGER_NOT_FOUND: return 404;
    case LEDGER_PRUNED: return 410;
    case LEDGER_BUSY:
    case LEDGER_CLOSED: return 503;
    default: return 500;
    }
}

static int reply(h2o_req_t *req, int st, json_t *doc, char *err)
{
    if (st != LEDGER_OK) {
        ledger_one_line(err);
        return http_reply_error(req, status_of(st), "%s", err);
    }
    return http_reply_json(req, 200, doc);
}

/* ?name=N (1 or more): 0 with *v (0 when absent), or -1 after replying 400. */
static int number_param(h2o_req_t *req, const char *name, uint64_t max, uint64_t *v)
{
    char text[24];
    *v = 0;
    if (!http_query(req, name, text, sizeof text))
        return 0;
    if (ledger_amount_parse(text, v) != 0 || *v == 0 || *v > max) {
        http_reply_error(req, 400, "%s= must be a number from 1 to %llu", name, (unsigned long long)max);
        return -1;
    }
    return 0;
}

/* The body as a JSON object, or NULL after replying 400. */
static json_t *body_object(h2o_req_t *req)
{
    json_error_t jerr;
    json_t *doc = json_loadb(req->entity.base ? req->entity.base : "", req->entity.base ? req->entity.len : 0,
                             JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        ledger_one_line(jerr.text);
        http_reply_error(req, 400, "the body must be a JSON object: %s", doc ? "not an object" : jerr.text);
        return NULL;
    }
    return doc;
}

int api_org_create(h2o_req_t *req, node *n, const char *signer)
{
    if (req->entity.base && req->entity.len > LEDGER_TX_MAX)
        return http_reply_error(req, 413, "an org/create body is at most %d bytes", LEDGER_TX_MAX);
    json_t *body = body_object(req);
    if (!body)
        return 0;
    char err[512];
    json_t *out = NULL;
    int st = ledger_create(n, json_string_value(json_object_get(body, "Name")), signer, &out, err, sizeof err);
    json_decref(body);
    return reply(req, st, out, err);
}

int api_org_submit(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer; /* the transaction's own signature is what counts */
    if (!http_is_method(req, "POST"))
        return http_reply_error(req, 405, "org/submit takes a signed transaction: use POST");
    size_t len = req->entity.base ? req->entity.len : 0;
    if (len > LEDGER_TX_MAX)
        return http_reply_error(req, 413, "a transaction is at most %d bytes", LEDGER_TX_MAX);
    char err[512];
    json_t *out = NULL;
    int st = ledger_submit(n, req->entity.base, len, &out, err, sizeof err);
    return reply(req, st, out, err);
}

/* What a read takes from its query, and what it answers. */
typedef struct {
    const char *org, *id, *tx; /* NULL when absent */
    uint64_t pulse, from;      /* 0 when absent */
    size_t limit;
    char org_buf[64], id_buf[64], tx_buf[64];
    json_t *out;
    char err[512];
} org_read;

/* The read's answer, st being the ledger call's status. It takes r, not
 * r->out: C leaves the order of arguments open, and r->out is only set
 * once the call it takes the status of has run. */
static int answer(h2o_req_t *req, org_read *r, int st) { return reply(req, st, r->out, r->err); }

enum { TAKES_PULSE = 1, TAKES_FROM = 2, TAKES_LIMIT = 4 };

/* Parses the query into *r (?pulse=, ?from=, ?limit= as `takes` says;
 * limit defaults to limit_def): 0, or -1 after replying 400. */
static int read_query(h2o_req_t *req, org_read *r, unsigned takes, size_t limit_def, size_t limit_max)
{
    r->org = http_query(req, "org", r->org_buf, sizeof r->org_buf);
    r->id = http_query(req, "id", r->id_buf, sizeof r->id_buf);
    r->tx = http_query(req, "tx", r->tx_buf, sizeof r->tx_buf);
    r->pulse = r->from = 0;
    r->out = NULL;
    if ((takes & TAKES_PULSE) && number_param(req, "pulse", INT64_MAX, &r->pulse) != 0)
        return -1;
    if ((takes & TAKES_FROM) && number_param(req, "from", INT64_MAX, &r->from) != 0)
        return -1;
    uint64_t limit = 0;
    if ((takes & TAKES_LIMIT) && number_param(req, "limit", limit_max, &limit) != 0)
        return -1;
    r->limit = limit ? (size_t)limit : limit_def;
    return 0;
}

int api_org_tx(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, 0, 0, 0) != 0)
        return 0;
    return answer(req, &r, ledger_tx_status(n, r.org, r.tx, &r.out, r.err, sizeof r.err));
}

int api_org_show(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, 0, 0, 0) != 0)
        return 0;
    return answer(req, &r, ledger_show(n, r.org, &r.out, r.err, sizeof r.err));
}

int api_org_list(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, TAKES_LIMIT, LEDGER_LIST_MAX, LEDGER_LIST_MAX) != 0)
        return 0;
    return answer(req, &r, ledger_list(n, r.limit, &r.out, r.err, sizeof r.err));
}

int api_org_members(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, TAKES_LIMIT, LEDGER_ACCOUNTS_MAX, LEDGER_ACCOUNTS_MAX) != 0)
        return 0;
    return answer(req, &r, ledger_members(n, r.org, r.limit, &r.out, r.err, sizeof r.err));
}

int api_org_account(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, TAKES_PULSE, 0, 0) != 0)
        return 0;
    return answer(req, &r, ledger_get_account(n, r.org, r.id, r.pulse, &r.out, r.err, sizeof r.err));
}

int api_org_root(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, TAKES_PULSE, 0, 0) != 0)
        return 0;
    return answer(req, &r, ledger_root(n, r.org, r.pulse, &r.out, r.err, sizeof r.err));
}

int api_org_proof(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, TAKES_PULSE, 0, 0) != 0)
        return 0;
    return answer(req, &r, ledger_proof(n, r.org, r.id, r.pulse, &r.out, r.err, sizeof r.err));
}

int api_org_accounts(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, TAKES_PULSE | TAKES_LIMIT, LEDGER_ACCOUNTS_MAX, LEDGER_ACCOUNTS_MAX) != 0)
        return 0;
    return answer(req, &r, ledger_accounts(n, r.org, r.pulse, r.limit, &r.out, r.err, sizeof r.err));
}

int api_org_history(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, TAKES_FROM | TAKES_LIMIT, LEDGER_LIST_DEFAULT, LEDGER_LIST_MAX) != 0)
        return 0;
    return answer(req, &r, ledger_history(n, r.org, r.id, r.from, r.limit, &r.out, r.err, sizeof r.err));
}

int api_org_pulses(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, TAKES_FROM | TAKES_LIMIT, LEDGER_LIST_DEFAULT, LEDGER_LIST_MAX) != 0)
        return 0;
    return answer(req, &r, ledger_pulses(n, r.org, r.from, r.limit, &r.out, r.err, sizeof r.err));
}

int api_org_log(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, TAKES_PULSE, 0, 0) != 0)
        return 0;
    return answer(req, &r, ledger_log(n, r.org, r.pulse, &r.out, r.err, sizeof r.err));
}

int api_org_offers(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    org_read r;
    if (read_query(req, &r, TAKES_LIMIT, LEDGER_LIST_DEFAULT, LEDGER_LIST_MAX) != 0)
        return 0;
    return answer(req, &r, ledger_offers(n, r.org, r.id, r.limit, &r.out, r.err, sizeof r.err));
}

/* POST {"Org"} queues a replay; GET ?job= reads it. */
int api_org_verify(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char err[512];
    json_t *out = NULL;
    int st;
    if (http_is_method(req, "POST")) {
        if (req->entity.base && req->entity.len > LEDGER_TX_MAX)
            return http_reply_error(req, 413, "an org/verify body is at most %d bytes", LEDGER_TX_MAX);
        json_t *body = body_object(req);
        if (!body)
            return 0;
        st = ledger_verify_start(n, json_string_value(json_object_get(body, "Org")), &out, err, sizeof err);
        json_decref(body);
    } else {
        uint64_t job;
        if (number_param(req, "job", INT64_MAX, &job) != 0)
            return 0;
        if (!job)
            return http_reply_error(req, 400, "job= must be a verify job's number (POST {\"Org\"} starts one)");
        st = ledger_verify_job(n, (long)job, &out, err, sizeof err);
    }
    return reply(req, st, out, err);
}
