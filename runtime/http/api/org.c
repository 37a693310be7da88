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

/* ?name= as a query value: the buffer, or NULL (absent). */
static const char *param(h2o_req_t *req, const char *name, char *buf, size_t cap)
{
    return http_query(req, name, buf, cap);
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

static int limit_param(h2o_req_t *req, size_t def, size_t max, size_t *limit)
{
    uint64_t v;
    if (number_param(req, "limit", max, &v) != 0)
        return -1;
    *limit = v ? (size_t)v : def;
    return 0;
}

static int pulse_param(h2o_req_t *req, uint64_t *pulse) { return number_param(req, "pulse", INT64_MAX, pulse); }

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

int api_org_tx(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], tx[64], err[512];
    json_t *out = NULL;
    int st = ledger_tx_status(n, param(req, "org", org, sizeof org), param(req, "tx", tx, sizeof tx), &out, err,
                              sizeof err);
    return reply(req, st, out, err);
}

int api_org_show(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], err[512];
    json_t *out = NULL;
    int st = ledger_show(n, param(req, "org", org, sizeof org), &out, err, sizeof err);
    return reply(req, st, out, err);
}

int api_org_list(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char err[512];
    size_t limit;
    if (limit_param(req, LEDGER_LIST_MAX, LEDGER_LIST_MAX, &limit) != 0)
        return 0;
    json_t *out = NULL;
    int st = ledger_list(n, limit, &out, err, sizeof err);
    return reply(req, st, out, err);
}

int api_org_members(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], err[512];
    size_t limit;
    if (limit_param(req, LEDGER_ACCOUNTS_MAX, LEDGER_ACCOUNTS_MAX, &limit) != 0)
        return 0;
    json_t *out = NULL;
    int st = ledger_members(n, param(req, "org", org, sizeof org), limit, &out, err, sizeof err);
    return reply(req, st, out, err);
}

int api_org_account(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], id[64], err[512];
    uint64_t pulse;
    if (pulse_param(req, &pulse) != 0)
        return 0;
    json_t *out = NULL;
    int st = ledger_get_account(n, param(req, "org", org, sizeof org), param(req, "id", id, sizeof id), pulse, &out, err,
                            sizeof err);
    return reply(req, st, out, err);
}

int api_org_root(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], err[512];
    uint64_t pulse;
    if (pulse_param(req, &pulse) != 0)
        return 0;
    json_t *out = NULL;
    int st = ledger_root(n, param(req, "org", org, sizeof org), pulse, &out, err, sizeof err);
    return reply(req, st, out, err);
}

int api_org_proof(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], id[64], err[512];
    uint64_t pulse;
    if (pulse_param(req, &pulse) != 0)
        return 0;
    json_t *out = NULL;
    int st = ledger_proof(n, param(req, "org", org, sizeof org), param(req, "id", id, sizeof id), pulse, &out, err,
                          sizeof err);
    return reply(req, st, out, err);
}

int api_org_accounts(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], err[512];
    uint64_t pulse;
    size_t limit;
    if (pulse_param(req, &pulse) != 0 || limit_param(req, LEDGER_ACCOUNTS_MAX, LEDGER_ACCOUNTS_MAX, &limit) != 0)
        return 0;
    json_t *out = NULL;
    int st = ledger_accounts(n, param(req, "org", org, sizeof org), pulse, limit, &out, err, sizeof err);
    return reply(req, st, out, err);
}

int api_org_history(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], id[64], err[512];
    uint64_t from;
    size_t limit;
    if (number_param(req, "from", INT64_MAX, &from) != 0 ||
        limit_param(req, LEDGER_LIST_DEFAULT, LEDGER_LIST_MAX, &limit) != 0)
        return 0;
    json_t *out = NULL;
    int st = ledger_history(n, param(req, "org", org, sizeof org), param(req, "id", id, sizeof id), from, limit, &out,
                            err, sizeof err);
    return reply(req, st, out, err);
}

int api_org_pulses(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], err[512];
    uint64_t from;
    size_t limit;
    if (number_param(req, "from", INT64_MAX, &from) != 0 ||
        limit_param(req, LEDGER_LIST_DEFAULT, LEDGER_LIST_MAX, &limit) != 0)
        return 0;
    json_t *out = NULL;
    int st = ledger_pulses(n, param(req, "org", org, sizeof org), from, limit, &out, err, sizeof err);
    return reply(req, st, out, err);
}

int api_org_log(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], err[512];
    uint64_t pulse;
    if (pulse_param(req, &pulse) != 0)
        return 0;
    json_t *out = NULL;
    int st = ledger_log(n, param(req, "org", org, sizeof org), pulse, &out, err, sizeof err);
    return reply(req, st, out, err);
}

int api_org_offers(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char org[64], id[64], err[512];
    size_t limit;
    if (limit_param(req, LEDGER_LIST_DEFAULT, LEDGER_LIST_MAX, &limit) != 0)
        return 0;
    json_t *out = NULL;
    int st = ledger_offers(n, param(req, "org", org, sizeof org), param(req, "id", id, sizeof id), limit, &out, err,
                           sizeof err);
    return reply(req, st, out, err);
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
