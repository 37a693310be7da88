#!/usr/bin/env bash
# sync: publish-to-follower latency and bytes moved per version, on
# loopback. Node A authors a public file MiMei, node B provides (follows)
# it; each round A adds a new version (a new file of CHANGE_KB KiB of
# random bytes), publishes it, and the clock runs from `mimei publish`
# returning until B's gateway serves that version (/mm/MID?ver=N, polled
# every 5 ms through bash's /dev/tcp, which starts no process). Bytes
# moved: what B's content store grew by for the version (its fetcher asks
# only for blocks it lacks, so this is what came over the wire, the
# version block included), next to the bytes that changed. Prints the
# median and p99 latency and the bytes ratio; it never judges them.
#
#   tests/bench/sync.sh [path/to/leither]     (default: build/leither)
#   ROUNDS=100 CHANGE_KB=64 DB_WRITES=10000 (a database version's journal)
#
# Goals (issue 13): median < 1 s from publish to the follower serving,
# bytes moved <= 1.1 x the changed data.
set -euo pipefail

BENCH_NAME=sync.sh
. "$(dirname "$0")/lib.sh"

BIN=$(readlink -f "${1:-build/leither}")
ROUNDS=${ROUNDS:-100}
CHANGE_KB=${CHANGE_KB:-64}
DB_WRITES=${DB_WRITES:-10000}
for tool in curl date awk sort sed redis-cli; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/deps.sh test)"
done

work=$(mktemp -d /tmp/leither-bench-sync-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_node NAME BOOTSTRAP_DHT_PORT(or "") -> sets port_NAME, dht_NAME
# (again on other ports when one was taken meanwhile)
start_node() {
  local name=$1 boot=$2 home=$work/$1 port db dht pid
  for _ in 1 2 3 4 5; do
    rm -rf "$home"
    port=$(free_port)
    db=$(free_port "$port")
    dht=$(free_port "$db")
    "$BIN" init --home "$home" -p "$port" -b "${boot:+127.0.0.1:$boot}" > /dev/null
    set_setting "$home/SystemVars.json" db_port "$db"
    set_setting "$home/SystemVars.json" listen '"127.0.0.1"'
    sed -i "s/^\( *\)\"port\": \([0-9]*\),\$/&\n\1\"dht_port\": $dht,/" "$home/SystemVars.json"
    grep -q "\"dht_port\": $dht," "$home/SystemVars.json" || die "could not set dht_port in $home/SystemVars.json"
    "$BIN" run --home "$home" > "$work/$name.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
      alive "$pid" || break
      "$BIN" status --home "$home" > /dev/null 2>&1 && break
      sleep 0.05
    done
    if alive "$pid"; then
      pids+=("$pid")
      eval "port_$name=$port dht_$name=$dht"
      return
    fi
  done
  die "node $name did not start: $(cat "$work/$name.log")"
}

A() { "$BIN" "$@" --home "$work/a"; }
B() { "$BIN" "$@" --home "$work/b"; }

# HTTP status of GET path on 127.0.0.1:port, through /dev/tcp
status_of() {
  local port=$1 path=$2 line
  exec 3<>"/dev/tcp/127.0.0.1/$port" || { echo 0; return; }
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
  read -r _ line _ <&3 || line=0
  exec 3<&- 3>&-
  echo "$line"
}

now_ms() { date +%s%3N; }
stored() { B repo stat --json | awk -F'[:,]' '/"RepoSize"/ {gsub(/ /, "", $2); print $2}'; }

start_node a ""
start_node b "$dht_a"
for _ in $(seq 100); do B swarm addrs 2>/dev/null | grep -q . && break; sleep 0.1; done

mid=$(A mimei create --public -t file | awk '/mid=/ {print $2}')
[ -n "$mid" ] || die "mimei create printed no MID"
head -c 1000 /dev/urandom > "$work/v.bin"
A mimei add "$mid" "$work/v.bin" > /dev/null
A mimei publish "$mid" > /dev/null
B mimei provide "$mid" > /dev/null
waited=0
until [ "$(status_of "$port_b" "/mm/$mid?ver=1&raw=1")" = 200 ]; do
  sleep 0.1
  waited=$((waited + 1))
  [ "$waited" -lt 300 ] || die "B never served version 1 (B's log: $work/b.log)"
done

: > "$work/latency" > "$work/bytes"
change=$((CHANGE_KB * 1024))
for ver in $(seq 2 $((ROUNDS + 1))); do
  head -c "$change" /dev/urandom > "$work/v.bin"
  A mimei add "$mid" "$work/v.bin" > /dev/null
  before=$(stored)
  A mimei publish "$mid" > /dev/null
  t0=$(now_ms)
  until [ "$(status_of "$port_b" "/mm/$mid?ver=$ver&raw=1")" = 200 ]; do
    sleep 0.005
    [ $(($(now_ms) - t0)) -lt 30000 ] || die "B did not serve version $ver within 30 s"
  done
  echo $(($(now_ms) - t0)) >> "$work/latency"
  echo $(($(stored) - before)) >> "$work/bytes"
done

pct() { sort -n "$work/latency" | awk -v p="$1" '{v[NR] = $1} END {i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; print v[i]}'; }
echo "sync on loopback: $ROUNDS versions of a file MiMei, each a new ${CHANGE_KB} KiB file, A publishes, B follows"
printf '%-44s %8s ms\n' "publish -> follower serves, median" "$(pct 50)"
printf '%-44s %8s ms\n' "publish -> follower serves, p99" "$(pct 99)"
printf '%-44s %8s ms (%s of %s over 1 s)\n' "publish -> follower serves, max" "$(pct 100)" \
  "$(awk '$1 > 1000 {n++} END {print n + 0}' "$work/latency")" "$ROUNDS"
awk -v c="$change" '{s += $1} END {printf "%-44s %8.0f B (changed: %d B, ratio %.3f)\n", "bytes moved per version, mean", s / NR, c, s / NR / c}' "$work/bytes"

# A database version: DB_WRITES SETs of 100-character values on A, backed
# up and published; B follows it. Bytes moved: what B's content store grew
# by (the version block and the journal's blocks; the entries it applied
# live in its databases), next to the keys' and values' bytes.
db=$(A mimei create --public -t db | awk '/mid=/ {print $2}')
[ -n "$db" ] || die "mimei create printed no MID"
B mimei provide "$db" > /dev/null
db_port_a=$(awk -F'[:,]' '/"db_port"/ {gsub(/ /, "", $2); print $2}' "$work/a/SystemVars.json")
awk -v n="$DB_WRITES" -v mid="$db" 'BEGIN {
  srand(1); cs = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"; print "SELECT " mid
  for (i = 0; i < n; i++) { v = ""; for (j = 0; j < 100; j++) v = v substr(cs, int(rand() * 62) + 1, 1); print "SET k" i " " v }
}' > "$work/db.txt"
changed=$(awk 'NR > 1 {s += length($2) + length($3)} END {print s}' "$work/db.txt")
redis-cli -p "$db_port_a" < "$work/db.txt" > /dev/null
A mimei backup "$db" > /dev/null
before=$(stored)
A mimei publish "$db" > /dev/null
t0=$(now_ms)
db_port_b=$(awk -F'[:,]' '/"db_port"/ {gsub(/ /, "", $2); print $2}' "$work/b/SystemVars.json")
# B holds version 1 once it may SELECT it (a cheap question, asked often)
until [ "$(printf 'SELECT %s@1\n' "$db" | redis-cli -p "$db_port_b" 2>/dev/null)" = OK ]; do
  sleep 0.01
  [ $(($(now_ms) - t0)) -lt 60000 ] || die "B did not hold the database's version 1 within 60 s"
done
db_ms=$(($(now_ms) - t0))
moved=$(($(stored) - before))
echo "a database MiMei: $DB_WRITES SETs of 100-character values, one version"
printf '%-44s %8s ms\n' "publish -> follower holds it" "$db_ms"
printf '%-44s %8s B (changed: %d B, ratio %.3f)\n' "bytes moved for the version" "$moved" "$changed" \
  "$(awk -v m="$moved" -v c="$changed" 'BEGIN {print m / c}')"
