/*
 * fuzz_ledger_tx: a transaction as POST /api/v0/org/submit receives it
 * (runtime/ledger/rules.c's tx_check_shape and tx_apply). The input is the
 * body's bytes, hostile by definition: refused with a reason that
 * ledger_one_line keeps on one line, or a transaction whose rules, applied
 * to fresh accounts, refuse it with a reason or leave well-formed accounts.
 */
#include "ledger_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (ids_init() != 0)
            __builtin_trap();
        ready = 1;
    }
    if (size > LEDGER_TX_MAX)
        return 0; /* the node answers 413 before parsing */
    json_t *tx = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!tx)
        return 0;
    char err[512] = "";
    int type = tx_check_shape(tx, NULL, err, sizeof err);
    if (!type) {
        ledger_one_line(err);
        if (err[0] == '\0' || memchr(err, '\n', strlen(err)) || memchr(err, '\r', strlen(err)))
            __builtin_trap();
        json_decref(tx);
        return 0;
    }
    /* the rules at two pulses, on accounts that start empty */
    for (uint64_t pulse = 1; pulse <= 2; pulse++) {
        account_map m;
        account_map_init(&m, NULL, NULL);
        err[0] = '\0';
        int rc = tx_apply(&m, tx, type, pulse, 1, err, sizeof err);
        if (rc == 1 && err[0] == '\0')
            __builtin_trap();
        for (size_t i = 0; rc == 0 && i < m.cap; i++)
            if (m.slots[i].used && m.slots[i].present &&
                (m.slots[i].a.role < LEDGER_GUEST || m.slots[i].a.role > LEDGER_SUPERVISOR))
                __builtin_trap();
        account_map_free(&m);
    }
    uint8_t parties[2][SMT_KEY_BYTES];
    if (tx_parties(tx, type, parties) > 2)
        __builtin_trap();
    json_decref(tx);
    return 0;
}
