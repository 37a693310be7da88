#!/usr/bin/env bash
# footprint: how small and quick a leither binary is. Prints figures against
# the goals; it never judges them (the exit status only says whether the
# figures could be measured).
#
#   tests/bench/footprint.sh [path/to/leither]     (default: build/leither)
#
# Measures
#   1. the size of the binary once stripped (shared libraries not counted);
#   2. the time from `leither run` to the first HTTP 200 on /api/v0/id, over
#      RUNS starts, less the cost of the polling loop itself (measured against
#      a node that is already up). Polled twice over: with curl, and with
#      bash's /dev/tcp, which starts no process: curl's own start (~10 ms)
#      can exceed the node's, and then the curl figure less its overhead
#      comes out near 0 and says only "faster than curl";
#   3. the resident memory and thread count of the node after one request
#      and IDLE_SECONDS of idling.
# Sizes are in MB of 2^20 bytes, as /proc and `ls -h` count them.
set -euo pipefail

BIN=${1:-build/leither}
RUNS=${RUNS:-5}
IDLE_SECONDS=${IDLE_SECONDS:-2}
START_TIMEOUT_MS=${START_TIMEOUT_MS:-10000}

GOAL_BINARY_MB=2
ORIGINAL_BINARY_MB=17
GOAL_RSS_MB=8
GOAL_START_MS=50

die() {
    echo "footprint: $*" >&2
    exit 2
}

[ -x "$BIN" ] || die "$BIN is not an executable (build first: make build)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
for tool in strip curl date awk; do
    command -v "$tool" >/dev/null || die "needs $tool"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/leither-footprint.XXXXXX")
HOME_DIR=$WORK/home
NODE_PID=

stop_node() {
    [ -n "$NODE_PID" ] || return 0
    # SIGTERM, as a service manager stops it: after a signed `leither stop`
    # the next start waits for the next second (nothing signed in the second
    # of the last signed request is accepted after a restart), which the
    # start-time figure would count
    kill "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
    NODE_PID=
}

cleanup() {
    stop_node
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ---------------------------------------------------------------

# a TCP port nobody listens on
free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket
s = socket.socket(socket.AF_INET6)
s.bind(("::", 0))
print(s.getsockname()[1])'
        return
    fi
    local p
    for p in $(seq 40000 40999); do
        if ! ss -Htln "sport = :$p" | grep -q .; then
            echo "$p"
            return
        fi
    done
    die "no free port found"
}

# min and median of numbers, one a line
min_of() { sort -n | head -n 1; }
median_of() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ns_to_ms() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e6 }'; }
fmt() { awk -v x="$1" -v f="$2" 'BEGIN { printf f, x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

# Polls URL with curl until it answers 200; sets POLL_NS to the nanoseconds
# since $1 (a `date +%s%N`). The loop is the same for a starting node and for
# one already up, so that the second measures the cost of the first.
poll_curl() {
    local t0=$1 code now
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$URL" 2>/dev/null || true)
        now=$(date +%s%N)
        if [ "$code" = 200 ]; then
            POLL_NS=$((now - t0))
            return 0
        fi
        [ $((now - t0)) -le $((START_TIMEOUT_MS * 1000000)) ] || return 1
    done
}

# microseconds now, without starting a process (bash 5)
now_us() { NOW_US=${EPOCHREALTIME//[!0-9]/}; }

# The same with bash's /dev/tcp: one HTTP/1.0 request per connection, no
# process started; $1 is a now_us value, POLL_NS is set as above.
poll_tcp() {
    local t0=$1 line
    while :; do
        line=
        { printf 'GET /api/v0/id HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && read -r line <&3; } \
            2>/dev/null 3<>"/dev/tcp/127.0.0.1/$PORT" || true
        now_us
        case $line in
        "HTTP/1."?" 200"*)
            POLL_NS=$(((NOW_US - t0) * 1000))
            return 0
            ;;
        esac
        [ $((NOW_US - t0)) -le $((START_TIMEOUT_MS * 1000)) ] || return 1
    done
}

# the node's pid as it reports itself (status --json "Pid"), else ours
node_pid() {
    local pid
    pid=$("$BIN" status --home "$HOME_DIR" --json 2>/dev/null |
        sed -n 's/.*"Pid"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1)
    echo "${pid:-$NODE_PID}"
}

# --- 1. stripped binary size ------------------------------------------------

cp "$BIN" "$WORK/leither.stripped"
strip "$WORK/leither.stripped"
BIN_BYTES=$(stat -c %s "$WORK/leither.stripped")
BIN_MB=$(awk -v b="$BIN_BYTES" 'BEGIN { printf "%.2f", b / 1048576 }')
UNSTRIPPED_BYTES=$(stat -c %s "$BIN")

echo "leither footprint: $BIN"
echo
echo "== binary"
echo "stripped size      $BIN_BYTES bytes ($BIN_MB MB; unstripped $UNSTRIPPED_BYTES bytes)"
echo "                   dynamically linked: shared libraries are not counted"
echo "goal               under $GOAL_BINARY_MB MB; the original Leither ships $ORIGINAL_BINARY_MB MB"
echo "original / ours    $(ratio $((ORIGINAL_BINARY_MB * 1048576)) "$BIN_BYTES")x"

# --- 2. time to the first 200 ----------------------------------------------

PORT=$(free_port)
URL="http://127.0.0.1:$PORT/api/v0/id"
"$BIN" init --home "$HOME_DIR" -p "$PORT" >"$WORK/init.log" 2>&1 ||
    die "leither init failed: $(cat "$WORK/init.log")"

start_node() {
    "$BIN" run --home "$HOME_DIR" >>"$WORK/run.log" 2>&1 &
    NODE_PID=$!
}

# One way of polling: RUNS starts, then RUNS polls of the node left running
# by the last start; prints the figures and sets NET_MED_NS (median start
# less median overhead). $1: curl or tcp.
measure_start() {
    local how=$1 i t0
    : >"$WORK/start.$how"
    : >"$WORK/overhead.$how"
    for i in $(seq 1 "$RUNS"); do
        if [ "$how" = curl ]; then
            t0=$(date +%s%N)
            start_node
            poll_curl "$t0" || die "run $i: no 200 from $URL within $START_TIMEOUT_MS ms; log: $(tail -n 5 "$WORK/run.log")"
        else
            now_us
            t0=$NOW_US
            start_node
            poll_tcp "$t0" || die "run $i: no 200 from $URL within $START_TIMEOUT_MS ms; log: $(tail -n 5 "$WORK/run.log")"
        fi
        echo "$POLL_NS" >>"$WORK/start.$how"
        echo "run $i              $(ns_to_ms "$POLL_NS") ms"
        [ "$i" = "$RUNS" ] || stop_node
    done
    # the node from the last run is up: the same loop against it is overhead
    for i in $(seq 1 "$RUNS"); do
        if [ "$how" = curl ]; then
            t0=$(date +%s%N)
            poll_curl "$t0" || die "the running node stopped answering"
        else
            now_us
            t0=$NOW_US
            poll_tcp "$t0" || die "the running node stopped answering"
        fi
        echo "$POLL_NS" >>"$WORK/overhead.$how"
    done
    stop_node

    local start_min start_med over_min over_med net_min
    start_min=$(min_of <"$WORK/start.$how")
    start_med=$(median_of <"$WORK/start.$how")
    over_min=$(min_of <"$WORK/overhead.$how")
    over_med=$(median_of <"$WORK/overhead.$how")
    net_min=$(awk -v a="$start_min" -v b="$over_med" 'BEGIN { d = a - b; print d < 0 ? 0 : d }')
    NET_MED_NS=$(awk -v a="$start_med" -v b="$over_med" 'BEGIN { d = a - b; print d < 0 ? 0 : d }')
    OVER_MED_NS=$over_med
    echo "min / median       $(ns_to_ms "$start_min") / $(ns_to_ms "$start_med") ms"
    echo "overhead           $(ns_to_ms "$over_min") / $(ns_to_ms "$over_med") ms (min / median of the same loop against the running node)"
    echo "less overhead      $(ns_to_ms "$net_min") / $(ns_to_ms "$NET_MED_NS") ms (min / median, less the median overhead)"
}

echo
echo "== start: \`leither run\` to the first 200 on /api/v0/id (port $PORT, $RUNS runs each)"
echo "-- polled with curl (a process per attempt; t0 from date +%s%N)"
measure_start curl
CURL_NET_NS=$NET_MED_NS
CURL_OVER_NS=$OVER_MED_NS
echo "-- polled with bash /dev/tcp (no process per attempt; t0 from \$EPOCHREALTIME)"
measure_start tcp
TCP_NET_NS=$NET_MED_NS

# --- 3. idle memory -----------------------------------------------------------

start_node
# a fresh node; the poll's 200 is its one request
poll_curl "$(date +%s%N)" || die "no 200 from $URL within $START_TIMEOUT_MS ms"
sleep "$IDLE_SECONDS"
PID=$(node_pid)
[ -r "/proc/$PID/status" ] || die "cannot read /proc/$PID/status"
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }
RSS_KB=$(status_kb VmRSS)
HWM_KB=$(status_kb VmHWM)
RSS_ANON_KB=$(status_kb RssAnon)
RSS_FILE_KB=$(status_kb RssFile)
THREADS=$(status_kb Threads)
RSS_MB=$(awk -v k="$RSS_KB" 'BEGIN { printf "%.2f", k / 1024 }')
HWM_MB=$(awk -v k="$HWM_KB" 'BEGIN { printf "%.2f", k / 1024 }')

echo
echo "== idle memory (pid $PID, after one request and ${IDLE_SECONDS} s idle)"
echo "VmRSS              $RSS_KB kB ($RSS_MB MB)"
echo "  of which          $RSS_ANON_KB kB anonymous, $RSS_FILE_KB kB file-backed (code of the binary and its shared libraries)"
echo "VmHWM              $HWM_KB kB ($HWM_MB MB)"
echo "threads            $THREADS"

stop_node

# --- summary ------------------------------------------------------------------

CURL_MS=$(ns_to_ms "$CURL_NET_NS")
TCP_MS=$(ns_to_ms "$TCP_NET_NS")
echo
echo "== summary (figures only; ratio = ours / goal)"
printf '%-30s %12s %10s %8s\n' "" "ours" "goal" "ratio"
printf '%-30s %9s MB %7s MB %8s\n' "stripped binary" "$BIN_MB" "< $GOAL_BINARY_MB" "$(ratio "$BIN_MB" "$GOAL_BINARY_MB")"
printf '%-30s %9s MB %7s MB %8s\n' "idle RSS" "$RSS_MB" "< $GOAL_RSS_MB" "$(ratio "$RSS_MB" "$GOAL_RSS_MB")"
printf '%-30s %9s ms %7s ms %8s\n' "start to first 200 (/dev/tcp)" "$TCP_MS" "< $GOAL_START_MS" "$(ratio "$TCP_MS" "$GOAL_START_MS")"
printf '%-30s %9s ms %7s ms %8s\n' "start to first 200 (curl)" "$CURL_MS" "< $GOAL_START_MS" "$(ratio "$CURL_MS" "$GOAL_START_MS")"
echo "(start: median of $RUNS less the median polling overhead. With curl, the node is often up before"
echo " curl's first attempt connects ($(ns_to_ms "$CURL_OVER_NS") ms of its own), so that figure can only say"
echo " \"faster than curl\"; the /dev/tcp figure resolves it. The original Leither binary is" \
    "${ORIGINAL_BINARY_MB} MB, $(ratio $((ORIGINAL_BINARY_MB * 1048576)) "$BIN_BYTES")x ours.)"
