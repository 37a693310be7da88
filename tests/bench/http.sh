#!/usr/bin/env bash
# http: how much CPU a leither node's HTTP server spends per request, against
# nginx in the same run, measured with wrk. Prints requests/s, the server's
# CPU microseconds per request and the ratios against the goals; it never
# judges them (the exit status only says whether the figures could be
# measured: 1 when an endpoint that should answer did not).
#
#   tests/bench/http.sh [path/to/leither]     (default: build/leither)
#
# Environment:
#   DURATION     seconds of each measured wrk run (default 5)
#   WARMUP       seconds of an unmeasured wrk run before each (default 1; 0: none)
#   CONNECTIONS  wrk connections (default 32)
#   WRK_THREADS  wrk threads (default 1)
#   SIZE         bytes of the static file (default 4096)
#
# The cases, each a wrk run `wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s URL`:
#   lua route     leither: GET /tpt/APPID/hello of an app "hello" whose
#                 server/main.lua is app.get("/hello", ... return "hello")
#                 nginx:   content_by_lua_block { ngx.print("hello") }
#   static file   leither: GET /ipfs/CID of a $SIZE-byte file (`ipfs add`),
#                 and GET /tpt/APPID/static.txt, the same file in the app
#                 nginx:   the same file from a root folder
# The app is uploaded with `leither lapp uploadapp -i hello -d DIR`; when that
# fails (the node without app support), the lua route and the app's static
# file are skipped, with the reason.
#
# Both servers use one worker: the node with "threads": 1 (its other threads,
# if any, count too), nginx with worker_processes 1 and master_process off
# (one process). Both run on free loopback ports in temporary dirs, nginx as
# the current user from its own prefix and nginx.conf, access log off
# (the node keeps no access log), keepalive_requests raised so that nginx
# does not close the kept-alive connections every 1000 requests.
#
# CPU per request: utime + stime of the server process (/proc/PID/stat
# fields 14 and 15, all its threads) before and after the measured run,
# divided by the requests wrk reports. wrk runs on the same machine.
set -euo pipefail

BIN=${1:-build/leither}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-32}
WRK_THREADS=${WRK_THREADS:-1}
SIZE=${SIZE:-4096}
# goals, CPU per request: nginx us / leither us
GOAL_LUA=1.2
GOAL_STATIC=1.3
NGINX_MODULES=/usr/lib/nginx/modules

# shellcheck disable=SC2034 # read by lib.sh
BENCH_NAME=http
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$BIN" ] || die "$BIN is not an executable (build first: make build)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
for tool in wrk nginx curl getconf awk sed cmp; do
    command -v "$tool" >/dev/null || die "needs $tool (wrk, nginx, libnginx-mod-http-lua, curl: scripts/deps.sh test)"
done
for so in ndk_http_module.so ngx_http_lua_module.so; do
    [ -f "$NGINX_MODULES/$so" ] || die "no $NGINX_MODULES/$so (libnginx-mod-http-lua: scripts/deps.sh test)"
done
for v in DURATION CONNECTIONS WRK_THREADS SIZE; do
    case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive integer" ;; esac
done
case $WARMUP in '' | *[!0-9]*) die "WARMUP must be a whole number of seconds" ;; esac
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/leither-http.XXXXXX")
HOME_DIR=$WORK/leither
NODE_PID=
NODE_STARTED=0
NGINX_PID=

# --- cleanup ------------------------------------------------------------------

# Ends pid $1 (one we started): TERM, then KILL after 5 s.
end_pid() {
    alive "$1" || return 0
    kill "$1" 2>/dev/null || true
    wait_gone "$1" 50 || kill -9 "$1" 2>/dev/null || true
}

cleanup() {
    if [ "$NODE_STARTED" = 1 ]; then
        "$BIN" stop --home "$HOME_DIR" >/dev/null 2>&1 || true
        # the node we started, by its id, in case stop could not reach it
        [ -z "$NODE_PID" ] || wait_gone "$NODE_PID" 50 || end_pid "$NODE_PID"
    fi
    [ -z "$NGINX_PID" ] || end_pid "$NGINX_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers --------------------------------------------------------------------

# utime + stime of a process, all its threads, in clock ticks; empty when gone
cpu_ticks() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) } # after "pid (comm) ": field 3 (state) comes first
    # shellcheck disable=SC2086
    set -- $s
    echo $((${12} + ${13}))
}

# Waits up to 10 s for an HTTP answer (any status) on port $1.
wait_http() {
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        sleep 0.1
    done
    return 1
}

# Starts the node with "threads": 1; sets NODE_PORT and NODE_PID.
start_node() {
    local log=$WORK/leither.start.log http db
    for _ in $(seq 1 20); do
        rm -rf "$HOME_DIR"
        http=$(free_port)
        db=$(free_port "$http")
        "$BIN" init --home "$HOME_DIR" -p "$http" >"$log" 2>&1 || die "leither init failed: $(cat "$log")"
        set_setting "$HOME_DIR/SystemVars.json" db_port "$db"
        set_setting "$HOME_DIR/SystemVars.json" threads 1
        if "$BIN" run -d --home "$HOME_DIR" >>"$log" 2>&1; then
            NODE_STARTED=1
            NODE_PID=$("$BIN" status --home "$HOME_DIR" --json 2>/dev/null |
                sed -n 's/.*"Pid"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1)
            [ -n "$NODE_PID" ] || die "no Pid from leither status --json --home $HOME_DIR"
            NODE_PORT=$http
            wait_http "$http" || die "the node does not answer HTTP on port $http; log: $(tail -n 5 "$HOME_DIR/leither.log" 2>/dev/null)"
            return
        fi
        grep -q "already in use" "$log" || die "leither run failed: $(cat "$log")"
    done
    die "no free ports for a node after 20 tries"
}

# Starts nginx (one process) serving $WORK/www; sets NGINX_PORT and NGINX_PID.
start_nginx() {
    local dir=$WORK/nginx port
    mkdir -p "$dir/tmp"
    for _ in $(seq 1 20); do
        port=$(free_port)
        cat >"$dir/nginx.conf" <<EOF
load_module $NGINX_MODULES/ndk_http_module.so;
load_module $NGINX_MODULES/ngx_http_lua_module.so;
worker_processes 1;
master_process off;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000000;
    types { text/plain txt; }
    default_type application/octet-stream;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $WORK/www;
        location = /hello {
            default_type text/html;
            content_by_lua_block { ngx.print("hello") }
        }
        location = /static.txt {
        }
    }
}
EOF
        : >"$dir/error.log"
        nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stderr.log" 2>&1 &
        NGINX_PID=$!
        for _ in $(seq 1 100); do
            alive "$NGINX_PID" || break
            curl -s -o /dev/null "http://127.0.0.1:$port/static.txt" && {
                NGINX_PORT=$port
                return
            }
            sleep 0.1
        done
        if alive "$NGINX_PID"; then
            die "nginx does not answer on port $port: $(tail -n 5 "$dir/error.log")"
        fi
        wait "$NGINX_PID" 2>/dev/null || true
        NGINX_PID=
        grep -q "in use" "$dir/error.log" "$dir/stderr.log" ||
            die "nginx failed to start: $(tail -n 5 "$dir/error.log" "$dir/stderr.log")"
    done
    die "no free port for nginx after 20 tries"
}

# Uploads the hello app; sets APP_ID, or APP_SKIP to the reason it failed.
upload_app() {
    local dir=$WORK/app out rc=0
    mkdir -p "$dir/hello/server"
    printf '{"name":"hello","database":false}\n' >"$dir/hello/manifest.json"
    cat >"$dir/hello/server/main.lua" <<'EOF'
app.get("/hello", function(req, res) return "hello" end)
EOF
    cp "$STATIC" "$dir/hello/static.txt"
    out=$("$BIN" lapp uploadapp -i hello -d "$dir" --home "$HOME_DIR" 2>&1) || rc=$?
    APP_ID=$(echo "$out" | sed -n 's/.*appid[[:space:]]*=[[:space:]]*\([A-Za-z0-9_-][A-Za-z0-9_-]*\).*/\1/p' | head -n 1)
    [ -n "$APP_ID" ] || APP_ID=$(echo "$out" |
        sed -n 's/.*"AppId"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' | head -n 1)
    if [ "$rc" != 0 ]; then
        APP_SKIP="lapp uploadapp failed, exit $rc: $(echo "$out" | head -n 1)"
        APP_ID=
    elif [ -z "$APP_ID" ]; then
        APP_SKIP="no appid in the output of lapp uploadapp: $(echo "$out" | head -n 1)"
    fi
}

declare -A URL PID_OF OK RPS US REQS NOTE

# Checks that case $1 answers URL[$1] with 200 and the body in file $2.
check() {
    local name=$1 want=$2 got=$WORK/got code
    code=$(curl -s -o "$got" -w '%{http_code}' "${URL[$name]}" || true)
    if [ "$code" = 200 ] && cmp -s "$want" "$got"; then
        OK[$name]=1
        printf '  %-24s ok      %s\n' "$name" "${URL[$name]}"
    else
        OK[$name]=0
        CHECK_FAILED=1
        printf '  %-24s FAILED  %s: status %s, body %s\n' "$name" "${URL[$name]}" "${code:-none}" \
            "$(head -c 60 "$got" 2>/dev/null | tr -c '[:print:]' '.')"
    fi
}

# One wrk run of case $1 (after a warm-up); records RPS, US, REQS, NOTE.
bench() {
    local name=$1 pid=${PID_OF[$1]} out=$WORK/wrk.$1 t0 t1 n secs errs
    if [ "$WARMUP" -gt 0 ]; then
        wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "${URL[$name]}" >/dev/null 2>&1 || true
    fi
    t0=$(cpu_ticks "$pid")
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "${URL[$name]}" >"$out" 2>&1 || true
    t1=$(cpu_ticks "$pid")
    if [ -z "$t0" ] || [ -z "$t1" ]; then
        die "the server of $name (pid $pid) is gone during its run"
    fi
    # "123456 requests in 5.00s, 1.23MB read"
    n='' secs=''
    read -r n secs < <(awk '$2 == "requests" && $3 == "in" { sub(/s,$/, "", $4); print $1, $4 }' "$out") || true
    errs=$(grep -E '^ *(Non-2xx|Socket errors)' "$out" | sed 's/^ *//' | paste -sd ';' - || true)
    NOTE[$name]=$errs
    if [ -z "${n:-}" ] || [ "$n" = 0 ]; then
        NOTE[$name]="no requests: $(tail -n 3 "$out" | paste -sd ' ' -)"
        return
    fi
    REQS[$name]=$n
    RPS[$name]=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    US[$name]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
}

# nginx us / leither us, n/a when either is missing or 0
cpu_ratio() {
    awk -v a="${US[$1]:-}" -v b="${US[$2]:-}" \
        'BEGIN { if (a == "" || b == "" || a == 0 || b == 0) print "n/a"; else printf "%.2f", a / b }'
}

# --- run ------------------------------------------------------------------------

START=$SECONDS
CHECK_FAILED=0
mkdir -p "$WORK/www"
STATIC=$WORK/www/static.txt
# printable text, so that it is a fair .txt everywhere
head -c $((SIZE * 3 / 4 + 3)) /dev/urandom | base64 -w 76 | head -c "$SIZE" >"$STATIC"
printf 'hello' >"$WORK/hello.body"

LEITHER_VERSION=$("$BIN" version 2>/dev/null | head -n 1 || true)
echo "leither HTTP bench: $BIN${LEITHER_VERSION:+ ($LEITHER_VERSION)}"
echo "against $(nginx -v 2>&1 | sed 's/^nginx version: //') with lua-nginx-module, $(wrk --version 2>&1 | head -n 1 | awk '{ print $1, $2 }')"
echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?')"
echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s per case (after ${WARMUP}s unmeasured), static file $SIZE bytes"

start_node
start_nginx
NODE_THREADS=$(awk '$1 == "Threads:" { print $2 }' "/proc/$NODE_PID/status")
echo "one worker each: leither \"threads\": 1 (pid $NODE_PID, $NODE_THREADS OS threads, port $NODE_PORT);"
echo "  nginx worker_processes 1, master_process off (pid $NGINX_PID, one process, port $NGINX_PORT)"
echo "CPU from /proc/PID/stat (all threads) in ticks of $((1000000 / CLK_TCK)) us, divided by wrk's request count"

CID=$("$BIN" ipfs add -Q "$STATIC" --home "$HOME_DIR" 2>"$WORK/add.err") ||
    die "leither ipfs add failed: $(cat "$WORK/add.err")"
APP_ID=
APP_SKIP=
upload_app

URL[nginx-lua]=http://127.0.0.1:$NGINX_PORT/hello
URL[nginx-static]=http://127.0.0.1:$NGINX_PORT/static.txt
URL[leither-ipfs]=http://127.0.0.1:$NODE_PORT/ipfs/$CID
PID_OF[nginx-lua]=$NGINX_PID
PID_OF[nginx-static]=$NGINX_PID
PID_OF[leither-ipfs]=$NODE_PID
PID_OF[leither-lua]=$NODE_PID
PID_OF[leither-app-static]=$NODE_PID

echo
echo "== checks (200 and the expected body)"
check nginx-lua "$WORK/hello.body"
check nginx-static "$STATIC"
check leither-ipfs "$STATIC"
if [ -n "$APP_ID" ]; then
    URL[leither-lua]=http://127.0.0.1:$NODE_PORT/tpt/$APP_ID/hello
    URL[leither-app-static]=http://127.0.0.1:$NODE_PORT/tpt/$APP_ID/static.txt
    check leither-lua "$WORK/hello.body"
    check leither-app-static "$STATIC"
else
    echo "  lua route: skipped ($APP_SKIP)"
    echo "  app static file: skipped (no app)"
fi

CASES="leither-lua nginx-lua nginx-static leither-ipfs leither-app-static"
for c in $CASES; do
    [ "${OK[$c]:-0}" = 1 ] && bench "$c"
done

echo
echo "== results"
printf '%-20s %-38s %9s %10s %11s\n' case "" requests "req/s" "CPU us/req"
row() {
    printf '%-20s %-38s %9s %10s %11s\n' "$1" "$2" "${REQS[$1]:-n/a}" "${RPS[$1]:-n/a}" "${US[$1]:-n/a}"
}
row leither-lua "GET /tpt/APPID/hello (Lua route)"
row nginx-lua "GET /hello (content_by_lua_block)"
row leither-ipfs "GET /ipfs/CID ($SIZE B)"
row leither-app-static "GET /tpt/APPID/static.txt ($SIZE B)"
row nginx-static "GET /static.txt ($SIZE B)"

echo
echo "== CPU efficiency, leither vs nginx (nginx us/req / leither us/req; above 1: leither spends less)"
printf '%-34s %8s %8s\n' "" ratio goal
printf '%-34s %8s %8s\n' "lua route vs nginx+Lua" "$(cpu_ratio nginx-lua leither-lua)" ">=$GOAL_LUA"
printf '%-34s %8s %8s\n' "static /ipfs/CID vs nginx" "$(cpu_ratio nginx-static leither-ipfs)" ">=$GOAL_STATIC"
printf '%-34s %8s %8s\n' "static app file vs nginx" "$(cpu_ratio nginx-static leither-app-static)" ">=$GOAL_STATIC"
[ -n "$APP_ID" ] || echo "lua route: skipped ($APP_SKIP)"

notes=0
for c in $CASES; do
    if [ -n "${NOTE[$c]:-}" ]; then
        [ "$notes" = 1 ] || { echo; echo "== wrk reported"; notes=1; }
        echo "  $c: ${NOTE[$c]}"
    fi
done
echo "elapsed $((SECONDS - START)) s"
if [ "$CHECK_FAILED" = 1 ]; then
    echo "http: some endpoints did not answer as expected (see the checks); their figures are n/a" >&2
    exit 1
fi
