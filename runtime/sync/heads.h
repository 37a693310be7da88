/*
 * heads: what the HTTP API asks of the sync thread (heads.c). Handlers
 * never wait on it: they queue a job and read its state later.
 *
 * Jobs, one at a time on the sync thread, remembered until SYNC_JOBS_KEPT
 * newer ones replace them; at most SYNC_JOBS_QUEUED wait at once:
 *   publish    make mid's newest version block, sign its head with the
 *              node key (the author's), put it and this node's provider
 *              record, and re-put both until eol; with arg, the head is
 *              that envelope instead, signed by the author elsewhere (the
 *              CLI's -k key), and checked against this node's versions
 *   prepare    make mid's newest version block: {"Version", "Block",
 *              "Info"}, what an author signs a head over
 *   provide    follow mid (kept in the home's data/sync.json): listen on
 *              its head, sync each newer version, put a provider record
 *   unprovide  stop following mid
 *   findprovs  the provider records of mid that hold
 *   sync       the newest head of mid (from the DHT, or from node `from`),
 *              its blocks from the providers, the versions applied
 */
#ifndef LEITHER_SYNC_HEADS_H
#define LEITHER_SYNC_HEADS_H

#include "node.h"

#include <jansson.h>
#include <stdint.h>

#define SYNC_JOBS_KEPT 256
#define SYNC_JOBS_QUEUED 32
/* a head is at most this long-lived (publish --eol) */
#define SYNC_EOL_MAX (365 * 24 * 3600)

enum sync_job_kind {
    SYNC_JOB_PUBLISH,
    SYNC_JOB_PROVIDE,
    SYNC_JOB_UNPROVIDE,
    SYNC_JOB_FINDPROVS,
    SYNC_JOB_SYNC,
    SYNC_JOB_PREPARE
};

/* Queues a job about mid (eol: seconds a published head lives; arg: for
 * sync the node to ask (Leither ID or IP:PORT), for publish a signed head
 * envelope; "" or NULL for none). Its number (> 0), or -1 with err
 * ("busy": too many wait; the sync thread is not running). */
long sync_job_submit(node *n, enum sync_job_kind kind, const char *mid, int64_t eol, const char *arg, char *err,
                     size_t errlen);

/* Job id as GET /api/v0/sync/job shows it: {"Job", "Kind", "MID", "State":
 * "queued"|"running"|"done"|"failed", "Error", and the result's fields};
 * NULL when no such job is remembered. */
json_t *sync_job_json(node *n, long id);

/* The newest holding head of mid this node made or saw: {"Envelope": the
 * DHT value, "Head": its record}; NULL when none. */
json_t *sync_head_json(node *n, const char *mid);

/* The providers of mid this node last found (a sync or findprovs of a
 * MiMei it publishes or follows), as findprovs lists them: [{"ID",
 * "PeerID", "Version", "Addrs", "Time"}...]; NULL when none. Never waits
 * on the network (the routing API asks it on an HTTP worker). */
json_t *sync_providers_json(node *n, const char *mid);

/* Nonzero while this node follows mid (mimei provide). */
int sync_follows(node *n, const char *mid);

#endif
