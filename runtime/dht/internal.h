/* dht's insides: how the engine hands results to a mailbox. */
#ifndef LEITHER_DHT_INTERNAL_H
#define LEITHER_DHT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "dht.h"

/* Copies a value (or a done) into mb for its loop, from any thread; dropped
 * when mb is full. */
void dht_mailbox_post_value(dht_mailbox *mb, dht_value_fn fn, void *ctx, const uint8_t *data, size_t len);
void dht_mailbox_post_done(dht_mailbox *mb, dht_done_fn fn, void *ctx, int ok);

#ifdef __cplusplus
}
#endif
#endif
