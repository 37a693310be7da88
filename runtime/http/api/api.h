/*
 * http/api: the JSON API under /api/v0/ (kubo's shapes where kubo has the
 * command) and the node's page at "/". One route table (api.c) says for
 * each command who may call it: anyone (reads, optionally signed), a
 * signed key, a key that may store (guest quota), or the node's owner and
 * granted keys; writes are POST only.
 *
 * Errors: http.h's JSON shape, {"Message", "Code": 0, "Type": "error"}.
 * Calls: resp/ (db/exec), gateway/ is not needed, http/, node/, modules.
 * Threads: handlers run on any HTTP worker.
 */
#ifndef LEITHER_API_H
#define LEITHER_API_H

#include "http.h"

/* The /api/v0/ and / routes of the prefix table. */
int api_on_request(h2o_req_t *req, node *n);
int api_on_page(h2o_req_t *req, node *n);

#endif
