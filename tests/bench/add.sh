#!/usr/bin/env bash
# add: `leither ipfs add` throughput and memory on one big file, next to
# sha256sum (hashing is the physical limit of content addressing) and the
# Debian ipfs_cid tool, on the same file in the same run. Prints MB/s,
# ratios to sha256sum and ipfs_cid, and peak RSS; it never judges them.
#
#   tests/bench/add.sh [path/to/leither]     (default: build/leither)
#   SIZE_MB=1024 (file size), RUNS=2 (best of)
#
# Goals (issue 4): add at least 0.6 of sha256sum's speed, faster than
# ipfs_cid, with a fraction of its memory. `add -n` only hashes; `add`
# also sends every block to a running node, which re-hashes and stores it
# in LMDB (fsync per 4 MB batch under db_sync "always").
set -euo pipefail

BIN=$(readlink -f "${1:-build/leither}")
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-2}
for tool in sha256sum ipfs_cid /usr/bin/time curl; do
  command -v "$tool" >/dev/null || { echo "add.sh: $tool is missing (scripts/deps.sh test)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/leither-bench-add-XXXXXX)
node_pid=
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

file=$work/data.bin
head -c $((SIZE_MB << 20)) /dev/urandom > "$file"
cat "$file" > /dev/null # every run reads from the page cache

# best wall time (s) and peak RSS (KB) of a command over RUNS
measure() {
  local best= rss=
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" > /dev/null
    read -r t m < "$work/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    rss=$m
  done
  echo "$best $rss"
}

port=$((20000 + RANDOM % 20000))
home=$work/home
"$BIN" init --home "$home" -p "$port" > /dev/null
sed -i "s/\"db_port\": [0-9]*/\"db_port\": $((port + 1))/" "$home/SystemVars.json"
"$BIN" run --home "$home" > "$work/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/api/v0/id" && break; sleep 0.05; done

read -r t_sha r_sha < <(measure sha256sum "$file")
read -r t_cid r_cid < <(measure ipfs_cid "$file")
read -r t_n r_n < <(measure "$BIN" ipfs add -n -Q "$file")
read -r t_add r_add < <(measure "$BIN" ipfs add -Q --home "$home" "$file")
node_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$node_pid/status")

# the CIDs must agree, or the speed means nothing
ours=$("$BIN" ipfs add -n -Q "$file")
theirs=$(ipfs_cid "$file" 2>/dev/null | sed -n 's/.*"CIDv0":"\([^"]*\)".*/\1/p')
[ "$ours" = "$theirs" ] || { echo "add.sh: CIDs differ: $ours vs ipfs_cid $theirs" >&2; exit 1; }

mbs() { awk "BEGIN{printf \"%.0f\", $SIZE_MB / ($1 > 0 ? $1 : 0.001)}"; }
ratio() { awk "BEGIN{printf \"%.2f\", $2 / ($1 > 0 ? $1 : 0.001)}"; }
echo "ipfs add of a ${SIZE_MB} MiB random file (best of $RUNS; MB/s in MiB; RSS peak in MB)"
printf '%-34s %8s %10s %10s %8s\n' "" "MiB/s" "vs sha256" "vs ipfs_cid" "RSS MB"
printf '%-34s %8s %10s %10s %8.1f\n' "sha256sum" "$(mbs "$t_sha")" "1.00" "$(ratio "$t_sha" "$t_cid")" "$(awk "BEGIN{print $r_sha/1024}")"
printf '%-34s %8s %10s %10s %8.1f\n' "ipfs_cid" "$(mbs "$t_cid")" "$(ratio "$t_cid" "$t_sha")" "1.00" "$(awk "BEGIN{print $r_cid/1024}")"
printf '%-34s %8s %10s %10s %8.1f\n' "leither ipfs add -n (hash only)" "$(mbs "$t_n")" "$(ratio "$t_n" "$t_sha")" "$(ratio "$t_n" "$t_cid")" "$(awk "BEGIN{print $r_n/1024}")"
printf '%-34s %8s %10s %10s %8.1f\n' "leither ipfs add (stored by node)" "$(mbs "$t_add")" "$(ratio "$t_add" "$t_sha")" "$(ratio "$t_add" "$t_cid")" "$(awk "BEGIN{print $r_add/1024}")"
printf '%-34s %8s %10s %10s %8.1f\n' "  the node during it (VmHWM)" "" "" "" "$(awk "BEGIN{print $node_hwm/1024}")"
