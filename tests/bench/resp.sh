#!/usr/bin/env bash
# resp: how fast a leither node's Redis-protocol databases are, against a
# real redis-server with the same durability, measured in the same run with
# redis-benchmark. Prints figures against the goals; it never judges them
# (the exit status only says whether the figures could be measured).
#
#   tests/bench/resp.sh [path/to/leither]     (default: build/leither)
#
# Environment:
#   REQUESTS     requests per redis-benchmark run (default 100000; QUICK=1: 10000)
#   CLIENTS      parallel connections (default 50)
#   QUICK=1      a short run (fewer requests; the CPU figures get coarse)
#   THREADS      the node's "threads" setting (default: its own, one per core)
#   RUN_TIMEOUT  seconds before one redis-benchmark run is given up (default 300)
#
# Two durability classes, one after the other; in each, a leither node and a
# redis-server run side by side on free loopback ports, in temporary dirs:
#   always     db_sync "always"    vs  --appendonly yes --appendfsync always
#   everysec   db_sync "everysec"  vs  --appendonly yes --appendfsync everysec
# (redis with --save '' and otherwise its defaults.)
#
# For each pipeline depth (-P 1, -P 16) and each test, redis-benchmark runs
# once against each server (alternating which goes first) with
#   redis-benchmark -p PORT -c $CLIENTS -n $REQUESTS -P DEPTH --csv -t TEST
# and the defaults otherwise (no -r: every request of a test hits the same
# key, on both servers alike). One test per run, so that the server's CPU time
# (utime + stime of /proc/PID/stat, all its threads) over the run belongs to
# that test: it is divided by the requests into microseconds per request,
# steadier than requests/s on a shared machine. The kernel's own writeback
# (jbd2, flusher threads) and time spent waiting on the disk count for neither.
#
# LRANGE_100: `-t lrange_100` first runs an LPUSH of $REQUESTS requests
# ("needed to benchmark LRANGE"), whose CPU would be counted with the LRANGE.
# So that LPUSH runs alone, unmeasured, and then the very command of the
# LRANGE_100 test, `LRANGE mylist 0 99`, is given to redis-benchmark as a
# command line: the same requests on the same list of $REQUESTS elements as in
# a plain `-t lrange_100` run. Before each pipeline depth both databases are
# emptied (FLUSHDB).
set -euo pipefail

BIN=${1:-build/leither}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    REQUESTS=${REQUESTS:-10000}
else
    REQUESTS=${REQUESTS:-100000}
fi
CLIENTS=${CLIENTS:-50}
THREADS=${THREADS:-}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}

TESTS="set get incr lpush rpop sadd hset zadd lrange_100"
READS="get lrange_100"
PIPELINES="1 16"
CLASSES="always everysec"
# goals, ours/redis in requests/s
GOAL_READS=1.00
GOAL_WRITES_ALWAYS=1.00
GOAL_WRITES_EVERYSEC=0.70

# shellcheck disable=SC2034 # read by lib.sh
BENCH_NAME=resp
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$BIN" ] || die "$BIN is not an executable (build first: make build)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
for tool in redis-server redis-cli redis-benchmark timeout getconf awk sed; do
    command -v "$tool" >/dev/null || die "needs $tool (redis-server, redis-tools: scripts/deps.sh test)"
done
case $REQUESTS in '' | *[!0-9]* | 0) die "REQUESTS must be a positive integer" ;; esac
case $CLIENTS in '' | *[!0-9]* | 0) die "CLIENTS must be a positive integer" ;; esac
[ "$REQUESTS" -ge 100 ] || die "REQUESTS must be at least 100 (LRANGE_100 needs a list of 100)"
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/leither-resp.XXXXXX")
NODE_HOMES=()
NODE_PIDS=()
REDIS_PORTS=()
REDIS_PIDS=()

# --- cleanup ------------------------------------------------------------------

stop_servers() {
    local i pid
    for i in "${!NODE_HOMES[@]}"; do
        pid=${NODE_PIDS[$i]}
        "$BIN" stop --home "${NODE_HOMES[$i]}" >/dev/null 2>&1 || true
        # the node we started, by its id, in case stop could not reach it
        if ! wait_gone "$pid" 50; then
            kill "$pid" 2>/dev/null || true
            wait_gone "$pid" 50 || kill -9 "$pid" 2>/dev/null || true
        fi
    done
    for i in "${!REDIS_PORTS[@]}"; do
        pid=${REDIS_PIDS[$i]}
        redis-cli -p "${REDIS_PORTS[$i]}" shutdown nosave >/dev/null 2>&1 || true
        if ! wait_gone "$pid" 50; then
            kill "$pid" 2>/dev/null || true
            wait_gone "$pid" 50 || kill -9 "$pid" 2>/dev/null || true
        fi
    done
    NODE_HOMES=()
    NODE_PIDS=()
    REDIS_PORTS=()
    REDIS_PIDS=()
}

cleanup() {
    stop_servers
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers --------------------------------------------------------------------

# utime + stime of a process, all its threads, in clock ticks
cpu_ticks() {
    local s
    s=$(<"/proc/$1/stat") || die "cannot read /proc/$1/stat: the server is gone"
    s=${s##*) } # after "pid (comm) ": field 3 (state) comes first
    # shellcheck disable=SC2086
    set -- $s
    echo $((${12} + ${13}))
}

# Waits up to 10 s for PONG on port $1.
wait_pong() {
    local i
    for i in $(seq 1 100); do
        [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    return 1
}

# Starts a leither node with db_sync $1; sets NODE_PORT (its db_port) and
# NODE_PID.
start_node() {
    local sync=$1 home=$WORK/leither-$1 log=$WORK/leither-$1.start.log http db
    for _ in $(seq 1 20); do
        rm -rf "$home"
        http=$(free_port)
        db=$(free_port "$http")
        "$BIN" init --home "$home" -p "$http" >"$log" 2>&1 || die "leither init failed: $(cat "$log")"
        set_setting "$home/SystemVars.json" db_port "$db"
        set_setting "$home/SystemVars.json" db_sync "\"$sync\""
        [ -z "$THREADS" ] || set_setting "$home/SystemVars.json" threads "$THREADS"
        if "$BIN" run -d --home "$home" >>"$log" 2>&1; then
            NODE_PID=$("$BIN" status --home "$home" --json 2>/dev/null |
                sed -n 's/.*"Pid"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1)
            [ -n "$NODE_PID" ] || die "no Pid from leither status --json --home $home"
            NODE_HOMES+=("$home")
            NODE_PIDS+=("$NODE_PID")
            NODE_PORT=$db
            wait_pong "$db" || die "the node (db_sync $sync) does not answer PING on port $db; log: $(tail -n 5 "$home/leither.log" 2>/dev/null)"
            NODE_THREADS=$(awk '$1 == "Threads:" { print $2 }' "/proc/$NODE_PID/status")
            return
        fi
        grep -q "already in use" "$log" || die "leither run failed: $(cat "$log")"
    done
    die "no free ports for a node after 20 tries"
}

# Starts a redis-server with --appendfsync $1; sets REDIS_PORT and REDIS_PID.
start_redis() {
    local fsync=$1 dir=$WORK/redis-$1 port i
    mkdir -p "$dir"
    for _ in $(seq 1 20); do
        port=$(free_port)
        rm -f "$dir/redis.pid"
        : >"$dir/redis.log"
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync "$fsync" \
            --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" ||
            die "redis-server failed to start: $(tail -n 5 "$dir/redis.log")"
        for i in $(seq 1 100); do
            [ -s "$dir/redis.pid" ] && break
            grep -q "already in use" "$dir/redis.log" && break
            sleep 0.1
        done
        if [ -s "$dir/redis.pid" ]; then
            REDIS_PID=$(<"$dir/redis.pid")
            REDIS_PORTS+=("$port")
            REDIS_PIDS+=("$REDIS_PID")
            REDIS_PORT=$port
            wait_pong "$port" || die "redis-server (appendfsync $fsync) does not answer PING on port $port: $(tail -n 5 "$dir/redis.log")"
            return
        fi
        grep -q "already in use" "$dir/redis.log" || die "redis-server failed to start: $(tail -n 5 "$dir/redis.log")"
    done
    die "no free port for redis-server after 20 tries"
}

fmt() { awk -v x="$1" -v f="$2" 'BEGIN { if (x == "") print "n/a"; else printf f, x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
# the same, n/a when either is 0 (below the resolution of the CPU figures)
cpu_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == 0 || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
upper() { echo "$1" | tr '[:lower:]' '[:upper:]'; }

declare -A RPS US

# One redis-benchmark run of test $4 at depth $5 against server $1 (ours or
# redis) of class $2 on port $3 with pid $6; records RPS and US.
bench() {
    local who=$1 class=$2 port=$3 test=$4 depth=$5 pid=$6 key t0 t1 rc out err line
    local base=(redis-benchmark -p "$port" -c "$CLIENTS" -n "$REQUESTS" -P "$depth" --csv)
    local cmd
    key="$class,$depth,$test,$who"
    out=$WORK/out.$who.$class.$depth.$test
    err=$WORK/err.$who.$class.$depth.$test
    if [ "$test" = lrange_100 ]; then
        # the LPUSH that `-t lrange_100` runs first, alone and unmeasured
        cmd=("${base[@]}" -t lpush)
        rc=0
        timeout --foreground "$RUN_TIMEOUT" "${cmd[@]}" >"$out.fill" 2>"$err.fill" || rc=$?
        note_errors "$who" "$class" "$depth" "LRANGE_100 (its LPUSH fill)" "$rc" "$err.fill" "${cmd[@]}"
        cmd=("${base[@]}" LRANGE mylist 0 99)
    else
        cmd=("${base[@]}" -t "$test")
    fi
    rc=0
    t0=$(cpu_ticks "$pid")
    timeout --foreground "$RUN_TIMEOUT" "${cmd[@]}" >"$out" 2>"$err" || rc=$?
    t1=$(cpu_ticks "$pid")
    if [ -z "$t0" ] || [ -z "$t1" ]; then
        local log=$WORK/redis-$class/redis.log
        [ "$who" = redis ] || log=$WORK/leither-$class/leither.log
        die "the $who server ($class) is gone during $(upper "$test") -P $depth: $(tail -n 5 "$log" 2>/dev/null)"
    fi
    note_errors "$who" "$class" "$depth" "$(upper "$test")" "$rc" "$err" "${cmd[@]}"
    line=$(grep '^"' "$out" | grep -v '^"test"' | tail -n 1 || true)
    RPS[$key]=
    US[$key]=
    if [ "$rc" = 0 ] && [ -n "$line" ]; then
        RPS[$key]=$(echo "$line" | cut -d, -f2 | tr -d '"')
        US[$key]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$REQUESTS" 'BEGIN { printf "%.3f", t * 1e6 / hz / n }')
    fi
}

ERRORS=$WORK/errors
: >"$ERRORS"
# Keeps what a run said on stderr, or its failure, with the exact command.
note_errors() {
    local who=$1 class=$2 depth=$3 name=$4 rc=$5 err=$6
    shift 6
    if [ "$rc" != 0 ] || [ -s "$err" ]; then
        {
            echo "-- $name against $([ "$who" = ours ] && echo leither || echo redis-server) ($class, -P $depth): exit $rc$([ "$rc" = 124 ] && echo " (timed out after $RUN_TIMEOUT s)")"
            echo "   command: $*"
            sed -n '1,10s/^/   | /p' "$err"
        } >>"$ERRORS"
    fi
}

flush() {
    local out
    out=$(redis-cli -p "$1" FLUSHDB 2>&1 || true)
    [ "$out" = OK ] || echo "-- FLUSHDB on port $1 ($2): $out" >>"$ERRORS"
}

# --- run ------------------------------------------------------------------------

START=$SECONDS
LEITHER_VERSION=$("$BIN" version 2>/dev/null | head -n 1 || true)
echo "leither RESP bench: $BIN${LEITHER_VERSION:+ ($LEITHER_VERSION)}"
echo "against $(redis-server --version | awk '{ print $1, $2, $3 }'), $(redis-benchmark --version)"
echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?')"
echo "requests $REQUESTS per run, clients $CLIENTS, pipelines $PIPELINES$([ "$QUICK" = 1 ] && echo ", QUICK")"
echo "CPU from /proc/PID/stat in ticks of $((1000000 / CLK_TCK)) us: a resolution of $(awk -v hz="$CLK_TCK" -v n="$REQUESTS" 'BEGIN { printf "%.3f", 1e6 / hz / n }') us/request"

declare -A NODE_THREADS_OF AOF_REWRITES_OF
for class in $CLASSES; do
    start_node "$class"
    start_redis "$class"
    NODE_THREADS_OF[$class]=$NODE_THREADS
    echo
    echo "== $class: leither (db_sync \"$class\", pid $NODE_PID, $NODE_THREADS threads, port $NODE_PORT)"
    echo "   vs redis-server (--appendonly yes --appendfsync $class, pid $REDIS_PID, port $REDIS_PORT)"
    for depth in $PIPELINES; do
        flush "$NODE_PORT" "leither $class"
        flush "$REDIS_PORT" "redis-server $class"
        n=0
        for test in $TESTS; do
            # alternate which server goes first
            if [ $((n % 2)) = 0 ]; then
                bench ours "$class" "$NODE_PORT" "$test" "$depth" "$NODE_PID"
                bench redis "$class" "$REDIS_PORT" "$test" "$depth" "$REDIS_PID"
            else
                bench redis "$class" "$REDIS_PORT" "$test" "$depth" "$REDIS_PID"
                bench ours "$class" "$NODE_PORT" "$test" "$depth" "$NODE_PID"
            fi
            n=$((n + 1))
        done
        echo
        echo "-- $class, -P $depth"
        printf '%-11s %-32s   %s\n' "" "----------- requests/s ---------" "------- CPU us/request -------"
        printf '%-11s %10s %10s %10s   %9s %9s %10s\n' test ours redis ours/redis ours redis redis/ours
        for test in $TESTS; do
            o="$class,$depth,$test,ours"
            r="$class,$depth,$test,redis"
            printf '%-11s %10s %10s %10s   %9s %9s %10s\n' "$(upper "$test")" \
                "$(fmt "${RPS[$o]}" %.0f)" "$(fmt "${RPS[$r]}" %.0f)" "$(ratio "${RPS[$o]}" "${RPS[$r]}")" \
                "$(fmt "${US[$o]}" %.2f)" "$(fmt "${US[$r]}" %.2f)" "$(cpu_ratio "${US[$r]}" "${US[$o]}")"
        done
    done
    AOF_REWRITES_OF[$class]=$(redis-cli -p "$REDIS_PORT" info persistence 2>/dev/null |
        tr -d '\r' | awk -F: '$1 == "aof_rewrites" { print $2 }')
    stop_servers
done

# --- summary ----------------------------------------------------------------------

is_read() { case " $READS " in *" $1 "*) return 0 ;; esac; return 1; }
goal_of() {
    if is_read "$2"; then
        echo "$GOAL_READS"
    elif [ "$1" = always ]; then
        echo "$GOAL_WRITES_ALWAYS"
    else
        echo "$GOAL_WRITES_EVERYSEC"
    fi
}

# prints the matrix of one figure: $1 rps or cpu
matrix() {
    local what=$1 test class depth o r v
    printf '%-11s %-6s' test kind
    for class in $CLASSES; do
        if [ "$what" = rps ]; then printf ' | %-8s %6s' "$class" goal; else printf ' | %-8s' "$class"; fi
        for depth in $PIPELINES; do printf ' %7s' "-P $depth"; done
    done
    echo
    for test in $TESTS; do
        printf '%-11s %-6s' "$(upper "$test")" "$(is_read "$test" && echo read || echo write)"
        for class in $CLASSES; do
            if [ "$what" = rps ]; then printf ' | %-8s %6s' "" ">=$(goal_of "$class" "$test")"; else printf ' | %-8s' ""; fi
            for depth in $PIPELINES; do
                o="$class,$depth,$test,ours"
                r="$class,$depth,$test,redis"
                if [ "$what" = rps ]; then
                    v=$(ratio "${RPS[$o]}" "${RPS[$r]}")
                else
                    v=$(cpu_ratio "${US[$r]}" "${US[$o]}")
                fi
                printf ' %7s' "$v"
            done
        done
        echo
    done
}

# the lowest ratio among reads or writes ($2) of class $1 at depth $3, "ratio TEST"
worst() {
    local class=$1 kind=$2 depth=$3 test o r
    for test in $TESTS; do
        if { [ "$kind" = reads ] && is_read "$test"; } || { [ "$kind" = writes ] && ! is_read "$test"; }; then
            o="$class,$depth,$test,ours"
            r="$class,$depth,$test,redis"
            echo "$(ratio "${RPS[$o]}" "${RPS[$r]}") $(upper "$test")"
        fi
    done | awk '$1 != "n/a"' | sort -n | head -n 1
}

echo
echo "== summary against the goals (figures only)"
echo "goals: reads (GET, LRANGE_100) at least as fast as redis-server; writes at least"
echo "$GOAL_WRITES_EVERYSEC of it in everysec and at least equal ($GOAL_WRITES_ALWAYS) in always."
echo
echo "-- requests/s, ours / redis (above 1: we serve more)"
matrix rps
echo
echo "-- CPU per request, redis / ours (above 1: we spend less CPU per request)"
matrix cpu
echo
echo "-- the lowest requests/s ratio of each kind"
printf '%-9s %-6s %-6s %6s  %s\n' class depth kind goal "lowest ours/redis"
for class in $CLASSES; do
    for depth in $PIPELINES; do
        for kind in reads writes; do
            if [ "$kind" = reads ]; then g=$GOAL_READS; elif [ "$class" = always ]; then g=$GOAL_WRITES_ALWAYS; else g=$GOAL_WRITES_EVERYSEC; fi
            w=$(worst "$class" "$kind" "$depth")
            printf '%-9s %-6s %-6s %6s  %s\n' "$class" "-P $depth" "$kind" ">=$g" "${w:-n/a}"
        done
    done
done

echo
for class in $CLASSES; do
    echo "redis-server AOF rewrites during $class: ${AOF_REWRITES_OF[$class]:-?}; leither threads: ${NODE_THREADS_OF[$class]:-?}"
done
if [ -s "$ERRORS" ]; then
    echo
    echo "== errors and messages from redis-benchmark or the servers (their figures are n/a)"
    cat "$ERRORS"
else
    echo "no errors from redis-benchmark against either server"
fi
echo "elapsed $((SECONDS - START)) s"
