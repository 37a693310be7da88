/*
 * db: the databases over the JSON API, for front-end code (sdk/js) and
 * anything that speaks HTTP rather than the Redis protocol. The commands
 * run as the request's signer's would over RESP after AUTH,
 * so the rights are the same. The worker does not wait for them: reads
 * are answered at once, other batches when the writer answers them
 * (resp_call_start), the worker serving other requests meanwhile.
 */
#include "internal.h"

#include <hiredis/hiredis.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

json_t *api_reply_to_json(const redisReply *r)
{
    switch (r->type) {
    case REDIS_REPLY_INTEGER: return json_integer(r->integer);
    case REDIS_REPLY_NIL: return json_null();
    case REDIS_REPLY_ERROR: return json_pack("{s:s%}", "error", r->str, r->len);
    case REDIS_REPLY_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; i < r->elements; i++)
            json_array_append_new(a, api_reply_to_json(r->element[i]));
        return a;
    }
    default: { /* bulk and status */
        json_t *s = json_stringn(r->str, r->len);
        if (s)
            return s;
        size_t cap = sodium_base64_ENCODED_LEN(r->len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        char *b64 = malloc(cap);
        sodium_bin2base64(b64, cap, (const unsigned char *)r->str, r->len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        json_t *o = json_pack("{s:s}", "base64", b64);
        free(b64);
        return o;
    }
    }
}

/* A request waiting for its batch; in the request's pool, whose release
 * (the client gone) gives the call up. */
typedef struct {
    h2o_req_t *req;
    resp_pending *pending;
} db_call;

/* Sends the batch's answer (and frees it). */
static void answer(h2o_req_t *req, redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        http_reply_error(req, http_status_of_resp_error(r->str, r->len), "%.*s", (int)r->len, r->str);
    } else {
        http_reply_json(req, 200, json_pack("{s:o}", "replies", api_reply_to_json(r)));
    }
    freeReplyObject(r);
}

static void on_answer(void *arg, redisReply *r)
{
    db_call *call = arg;
    call->pending = NULL;
    answer(call->req, r);
}

static void call_dispose(void *arg)
{
    db_call *call = arg;
    if (call->pending)
        resp_call_cancel(call->pending);
}

static void free_cmds(resp_cmd *rc, size_t ncmds, json_t *doc)
{
    for (size_t i = 0; i < ncmds; i++)
        free((void *)rc[i].argv), free((void *)rc[i].lens);
    free(rc);
    json_decref(doc);
}

int api_db_exec(h2o_req_t *req, node *n, const char *signer)
{
    json_error_t jerr;
    json_t *doc = json_loadb(req->entity.base ? req->entity.base : "", req->entity.base ? req->entity.len : 0, 0, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return http_reply_error(req, 400, "the body must be {\"mid\": MID, \"cmds\": [[\"GET\", \"key\"], ...]}");
    }
    json_t *cmds = json_object_get(doc, "cmds"), *mid = json_object_get(doc, "mid");
    size_t ncmds = json_array_size(cmds);
    const char *why = NULL;
    if (!json_is_array(cmds) || ncmds == 0)
        why = "\"cmds\" must be a non-empty array of commands";
    else if (ncmds > RESP_CALL_MAX_CMDS)
        why = "more than " RESP_CALL_MAX_CMDS_TEXT " commands in one request";
    else if (mid && !json_is_string(mid))
        why = "\"mid\" must be a MiMei ID";
    resp_cmd *rc = calloc(ncmds ? ncmds : 1, sizeof *rc);
    for (size_t i = 0; i < ncmds && !why; i++) {
        json_t *cmd = json_array_get(cmds, i);
        size_t argc = json_array_size(cmd);
        if (!json_is_array(cmd) || argc == 0) {
            why = "each command must be a non-empty array of strings and numbers";
            break;
        }
        const char **argv = calloc(argc, sizeof *argv);
        size_t *lens = calloc(argc, sizeof *lens);
        rc[i] = (resp_cmd){(int)argc, argv, lens};
        for (size_t k = 0; k < argc && !why; k++) {
            json_t *a = json_array_get(cmd, k);
            if (json_is_string(a)) {
                argv[k] = json_string_value(a), lens[k] = json_string_length(a);
            } else if (json_is_number(a)) { /* numbers as Redis would see their text */
                char num[64];
                if (json_is_integer(a))
                    snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(a));
                else
                    snprintf(num, sizeof num, "%.17g", json_real_value(a));
                json_t *text = json_string(num);
                json_array_set_new(cmd, k, text);
                argv[k] = json_string_value(text), lens[k] = strlen(num);
            } else {
                why = "command arguments must be strings or numbers";
            }
        }
    }
    if (!why) {
        resp_batch b = {.user = signer[0] ? signer : API_ANONYMOUS,
                        .select = mid ? json_string_value(mid) : NULL,
                        .multi = json_is_true(json_object_get(doc, "multi")),
                        .ncmds = (int)ncmds,
                        .cmds = rc};
        /* the batch is copied: what it points into may go now */
        db_call *call = h2o_mem_alloc_shared(&req->pool, sizeof *call, call_dispose);
        call->req = req;
        call->pending = NULL;
        redisReply *r = resp_call_start(n->resp, req->conn->ctx->loop, &b, on_answer, call, &call->pending);
        free_cmds(rc, ncmds, doc);
        if (r)
            answer(req, r);
        return 0;
    }
    free_cmds(rc, ncmds, doc);
    return http_reply_error(req, 400, "%s", why);
}