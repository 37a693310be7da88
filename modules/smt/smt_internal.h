/* smt_internal.h: what modules/smt's own tests may reach beyond smt.h. */
#ifndef LEITHER_SMT_SMT_INTERNAL_H
#define LEITHER_SMT_SMT_INTERNAL_H

#include "smt.h"

/* Checkpoints every `every` versions instead of SMT_CHECKPOINT_EVERY, so
 * that tests can prune around checkpoints in a few versions. Not kept in
 * the store: every opening starts from SMT_CHECKPOINT_EVERY. */
void smt_set_checkpoint_every(smt_store *s, uint64_t every);

#endif
