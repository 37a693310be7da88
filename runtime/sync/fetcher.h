/*
 * fetcher: blocks from providers' trustless gateways into the blockstore,
 * the part of sync_fetch (sync.h) that knows nothing of versions.
 *
 * Every block is asked as GET BASE/ipfs/CID?format=raw (Accept:
 * application/vnd.ipld.raw), re-hashed against its CID (its own version
 * and codec) before it is stored, and stored in small batches, each its
 * own short write transaction: no transaction stays open across a
 * request (the databases' one writer never waits on the network), and
 * what was stored stays when a fetch fails, so the next one continues
 * from there. A provider that fails (connection, timeout, a status other
 * than 200, a block over its size or not hashing to its CID) is dropped
 * with one log line, and the next one is asked for the same block.
 *
 * Bounds: a block at most FETCH_BLOCK_MAX (kubo's limit), a DAG at most
 * FETCH_DEPTH_MAX deep and FETCH_BLOCKS_MAX blocks (each distinct block
 * is walked once), each request FETCH_CONNECT_MS to connect and
 * FETCH_REQUEST_MS in all.
 */
#ifndef LEITHER_SYNC_FETCHER_H
#define LEITHER_SYNC_FETCHER_H

#include "store.h"

#include <jansson.h>
#include <signal.h>
#include <stdint.h>

#define FETCH_BLOCK_MAX (2u << 20)
#define FETCH_DEPTH_MAX 128
#define FETCH_BLOCKS_MAX 1000000
#define FETCH_CONNECT_MS 2000L
#define FETCH_REQUEST_MS 10000L
#define FETCH_PROVIDERS_MAX 64

typedef struct fetcher fetcher;

/* A fetcher into bs from providers (sync.h: [{"ID", "Addrs"}...]; those
 * without a usable HTTP address are skipped). stop (may be NULL): nonzero
 * ends the fetch between requests. NULL with err when none is usable. */
fetcher *fetcher_new(blockstore *bs, const json_t *providers, const volatile sig_atomic_t *stop, char *err,
                     size_t errlen);
/* Makes c local (fetched unless stored), at most max bytes. With block,
 * *block is a malloc'd copy of its bytes (*len); NULL: only made local. */
int fetcher_block(fetcher *f, const cid *c, size_t max, uint8_t **block, size_t *len, char *err, size_t errlen);
/* Makes every block of the DAG under root local: dag-pb nodes are decoded
 * for their links (stored ones too: a restart finds what is still
 * missing below them), raw blocks are leaves. */
int fetcher_dag(fetcher *f, const cid *root, char *err, size_t errlen);
/* Stores what is pending: 0, or -1 with err. fetcher_block and
 * fetcher_dag end with it done. */
int fetcher_flush(fetcher *f, char *err, size_t errlen);
/* Bytes downloaded so far (refused answers too), blocks fetched and stored. */
uint64_t fetcher_bytes(const fetcher *f);
uint64_t fetcher_blocks(const fetcher *f);
void fetcher_free(fetcher *f);

#endif
