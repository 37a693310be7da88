#!/usr/bin/env bash
# smt: the ledgers' versioned sparse Merkle tree (modules/smt) under load,
# through its C driver (tests/bench/smt_bench.c, built by cmake as
# build/tests/smt_bench): committed updates/s at ACCOUNTS accounts in
# batches of 1, 100 and 10,000 (each batch one LMDB write transaction
# committed with fsync, as a ledger pulse is), next to the hash-only ceiling
# measured in the same run (BLAKE2b-256 node hashes/s x the hashes an update
# needs at least); inclusion proof bytes (mean, p99), proofs and
# verifications/s on one core; store bytes per update, and under a steady
# load with pruning (which should stay flat). Prints figures and ratios; it
# never judges them.
#
#   tests/bench/smt.sh [path/to/smt_bench]     (default: build/tests/smt_bench)
#   ACCOUNTS=1000000 RETENTION=20 (versions kept by the pruning phase)
#   PRUNE_EVERY=20 (commits between pruning runs; a run merges the latest
#   values the commits since the last one wrote, then prunes; the phases
#   without pruning run these merges too, as the ledger does)
#   PRUNE_BATCH=0 (nodes a pruning pass removes in a write transaction
#   of its own, repeated while it fills it, as the ledger's passes with
#   32768; 0, the default: one pass in the commit's own transaction, the
#   way of the figures in issue 14)
#   SMT_BENCH_BIG=1: 10,000,000 accounts
#
# Goals (issue 14): >= 100k committed updates/s at 1e6 accounts (batch
# 10k), proofs <= 750 B p99 at 1e6, >= 150k verifications/s per core, the
# store flat under steady load once pruning runs.
set -euo pipefail

BENCH_NAME=smt.sh
. "$(dirname "$0")/lib.sh"

BIN=$(readlink -f "${1:-build/tests/smt_bench}")
[ -x "$BIN" ] || die "$BIN is missing (cmake --build build)"
ACCOUNTS=${ACCOUNTS:-1000000}
[ "${SMT_BENCH_BIG:-0}" = 1 ] && ACCOUNTS=10000000
RETENTION=${RETENTION:-20}
PRUNE_EVERY=${PRUNE_EVERY:-20}
PRUNE_BATCH=${PRUNE_BATCH:-0}

work=$(mktemp -d /tmp/leither-bench-smt-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "smt: $ACCOUNTS accounts, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" "$work" "$ACCOUNTS" "$RETENTION" "$PRUNE_EVERY" "$PRUNE_BATCH"
