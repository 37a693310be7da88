#!/usr/bin/env bash
# The soak test (`make soak`; not part of `make test`): SOAK_SECONDS (default
# 600) of mixed traffic on loopback against a real node in a temporary home:
#   RESP       redis-benchmark runs and redis-cli pipelines
#   HTTP       API reads (id, node/status, repo/stat, mimei/list, pin/ls)
#   signed     writes signed by the node key (db/exec INCR, lpki grant and
#              revoke) and by a stranger's key (db/exec), fresh signatures
#   app        an app uploaded with lapp: its Lua route and its static page
#   gateway    /ipfs/CID of a 1 MiB file, whole and by range
#   hostile    hostile.py: bad Authorization headers, garbage RESP, oversized
#              bodies, slow readers, half-open connections
# It prints the node's RSS and open files (/proc/PID/status, /proc/PID/fd)
# when idle, after a warm-up (the start) and at the end, the traffic done,
# and the crashes (a node that died is counted and started again). Exits 1
# on a crash or when the node no longer answers HTTP and RESP at the end;
# the RSS figures are printed, not judged.
#
#     tests/soak/soak.sh [LEITHER_BIN] [SIGNED_FLOOD_BIN]
set -u
BENCH_NAME=soak
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../bench/lib.sh
. "$here/../bench/lib.sh"

bin=$(realpath "${1:-$here/../../build/leither}")
flood=$(realpath "${2:-$here/../../build/tests/signed_flood}")
seconds=${SOAK_SECONDS:-600}
[ -x "$bin" ] || die "no leither binary at $bin: build first (make build)"
[ -x "$flood" ] || die "no signed_flood at $flood: build first (make build)"
for tool in redis-benchmark redis-cli curl python3; do
    command -v $tool >/dev/null || die "$tool is needed (scripts/deps.sh test)"
done

work=$(mktemp -d /tmp/leither-soak-XXXXXX)
home=$work/home
pids=()
node_pid=
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    "$bin" stop --home "$home" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

port=$(free_port)
db_port=$(free_port "$port")
"$bin" init --home "$home" -p "$port" >/dev/null || die "init failed"
set_setting "$home/SystemVars.json" db_port "$db_port"
url=http://127.0.0.1:$port

start_node() {
    "$bin" run -d --home "$home" >/dev/null || die "the node did not start: $(tail -n 5 "$home/leither.log")"
    node_pid=$("$bin" status --home "$home" --json | sed -n 's/.*"Pid": *\([0-9]*\).*/\1/p')
    alive "$node_pid" || die "no node pid"
}
start_node

# /proc figures of the node: "RSS_KB FILES"
figures() {
    local rss files
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$node_pid/status" 2>/dev/null)
    files=$(ls "/proc/$node_pid/fd" 2>/dev/null | wc -l)
    echo "${rss:-0} $files"
}

# --- the things traffic needs ------------------------------------------------
key=$home/keys/node.key
stranger=$work/stranger.key
"$bin" lpki genkey -o "$stranger" >/dev/null || die "genkey failed"
other_id=$("$bin" lpki genkey -o "$work/other.key" --json | sed -n 's/.*"ID": *"\([^"]*\)".*/\1/p')
db=$(sed -n 's/.*"db_default": *"\([^"]*\)".*/\1/p' "$home/SystemVars.json")
[ -n "$db" ] && [ -n "$other_id" ] || die "no default database or key ID"

head -c $((1 << 20)) /dev/urandom >"$work/blob"
cid=$("$bin" ipfs add -Q --home "$home" "$work/blob")
[ -n "$cid" ] || die "ipfs add gave no CID"

"$bin" lapp new soakapp -d "$work" >/dev/null || die "lapp new failed"
appid=$("$bin" lapp uploadapp -i soakapp -d "$work" --home "$home" | sed -n 's/^appid= \(.*\)$/\1/p')
[ -n "$appid" ] || die "lapp uploadapp gave no app ID"
curl -sf --noproxy '*' -o /dev/null "$url/tpt/$appid/api/hello" || die "the app's route does not answer"

# --- traffic ---------------------------------------------------------------------
now() { date +%s; }
idle=$(figures)
end=$(($(now) + seconds))

# each generator loops until the end, then writes its count to $work/count.NAME
generator() {
    local name=$1
    shift
    (
        n=0
        while [ "$(now)" -lt "$end" ]; do
            "$@" >>"$work/out.$name" 2>&1
            n=$((n + 1))
        done
        echo "$n" >"$work/count.$name"
    ) &
    pids+=($!)
}

resp_round() {
    timeout 60 redis-benchmark -p "$db_port" -q -n 2000 -c 4 -P 8 -r 1000 -t set,get,incr,lpush,lpop,sadd,hset,zadd >/dev/null
    for i in $(seq 1 500); do printf 'SET soak:k%d v%d\nGET soak:k%d\nDEL soak:k%d\n' "$i" "$i" "$i" "$((i - 1))"; done |
        timeout 60 redis-cli -p "$db_port" >/dev/null
}
http_round() {
    local urls=() u
    for _ in 1 2 3 4 5; do
        for u in id version node/status repo/stat "mimei/list?type=db" pin/ls "mimei/show?arg=$db"; do
            urls+=(-o /dev/null "$url/api/v0/$u")
        done
    done
    curl -s -m 60 --noproxy '*' -w '%{http_code}\n' "${urls[@]}"
}
signed_round() {
    timeout 60 "$flood" -d "{\"mid\":\"$db\",\"cmds\":[[\"INCR\",\"soak:n\"]]}" "$port" "$key" 50 /api/v0/db/exec
    timeout 60 "$flood" "$port" "$key" 4 "/api/v0/lpki/grant?arg=$other_id" "/api/v0/lpki/revoke?arg=$other_id"
    timeout 60 "$flood" -d "{\"mid\":\"$db\",\"cmds\":[[\"GET\",\"soak:n\"]]}" "$port" "$stranger" 50 /api/v0/db/exec
}
app_round() {
    local urls=()
    for _ in $(seq 1 10); do
        urls+=(-o /dev/null "$url/tpt/$appid/api/hello" -o /dev/null "$url/tpt/$appid/" -o /dev/null "$url/tpt/$appid/nothing")
    done
    curl -s -m 60 --noproxy '*' -w '%{http_code}\n' "${urls[@]}"
    timeout 60 "$flood" "$port" "$stranger" 10 "/tpt/$appid/api/hello"
}
gateway_round() {
    local urls=()
    for _ in $(seq 1 5); do urls+=(-o /dev/null "$url/ipfs/$cid"); done
    curl -s -m 60 --noproxy '*' -w '%{http_code}\n' "${urls[@]}"
    curl -s -m 60 --noproxy '*' -o /dev/null -w '%{http_code}\n' -r 1000-50000 "$url/ipfs/$cid"
}

generator resp resp_round
generator http http_round
generator signed signed_round
generator app app_round
generator gateway gateway_round
python3 "$here/hostile.py" "$port" "$db_port" "$seconds" "/ipfs/$cid" >"$work/hostile.out" 2>&1 &
pids+=($!)

# the watch: a dead node is a crash, counted and started again
crashes=0
warmup=$((seconds / 10 < 5 ? 5 : seconds / 10))
start=
started_at=$(now)
while [ "$(now)" -lt "$end" ]; do
    sleep 1
    if ! alive "$node_pid" || grep -q "Sanitizer\|runtime error:" "$home/leither.log" 2>/dev/null; then
        crashes=$((crashes + 1))
        echo "soak: CRASH $crashes at $(($(now) - started_at)) s; the log ends:" >&2
        tail -n 20 "$home/leither.log" >&2
        : >"$home/leither.log"
        alive "$node_pid" || start_node
    fi
    if [ -z "$start" ] && [ $(($(now) - started_at)) -ge "$warmup" ]; then
        start=$(figures)
    fi
    loaded=$(figures) # the last one taken under traffic is the end
done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
pids=()
sleep 3 # connections the hostile client dropped are closed by now
after=$(figures)
[ -n "$start" ] || start=$loaded

# --- the report --------------------------------------------------------------------
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == 0) print "n/a"; else printf "%+.1f %%", (b - a) * 100 / a }'; }
read -r idle_rss idle_files <<<"$idle"
read -r start_rss start_files <<<"$start"
read -r end_rss end_files <<<"$loaded"
read -r after_rss after_files <<<"$after"
echo "soak: $seconds s of mixed traffic against leither pid $node_pid (HTTP $port, RESP $db_port)"
echo "soak: idle   RSS $idle_rss kB, $idle_files open files (before any traffic)"
echo "soak: start  RSS $start_rss kB, $start_files open files (under traffic, after $warmup s)"
echo "soak: end    RSS $end_rss kB, $end_files open files (under traffic, its last second)"
echo "soak: after  RSS $after_rss kB, $after_files open files (traffic stopped 3 s ago)"
echo "soak: RSS $(pct "$start_rss" "$end_rss") from start to end; open files $(pct "$idle_files" "$after_files") from idle to after"
counts=
for g in resp http signed app gateway; do counts="$counts $g=$(cat "$work/count.$g" 2>/dev/null || echo 0)"; done
echo "soak: rounds$counts"
for g in http signed app gateway; do
    echo "soak: $g statuses: $(grep -E '^[0-9]{3}( |$)' "$work/out.$g" 2>/dev/null |
        awk '{ c[$1] += (NF > 1 ? $2 : 1) } END { for (s in c) printf "%s×%d ", s, c[s] }')"
done
cat "$work/hostile.out"

answers=1
curl -sf --noproxy '*' -m 10 -o /dev/null "$url/api/v0/id" || answers=0
[ "$(timeout 10 redis-cli -p "$db_port" PING 2>/dev/null)" = PONG ] || answers=0
echo "soak: crashes $crashes; the node $([ $answers = 1 ] && echo answers || echo DOES NOT ANSWER) HTTP and RESP"
[ "$crashes" = 0 ] && [ $answers = 1 ]
