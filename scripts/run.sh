#!/bin/sh
# make run: build quietly, make the home on first use, run the node in the
# foreground with the apps of apps/ and examples/ uploaded once it answers,
# and print what each app is and where to open it. Ctrl-C stops the node.
# The home is the CLI's (README "The home"): $LEITHER_HOME, else the current
# directory when it is a home, else ~/.leither.
# usage: scripts/run.sh BUILD_DIR [JOBS]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1
jobs=${2:-$(nproc)}
bin=$build/leither

# A node already running in the home is left alone: this `make run` says so
# and where, and stops here.
stop_if_running() {
  [ -x "$bin" ] || return 0
  rc=0
  "$bin" status >/dev/null 2>&1 || rc=$?
  case $rc in
    3) return 0 ;;                       # a home, no node
    0) ;;                                # a node that answers
    *) "$bin" status 2>&1 | grep -q 'runs but does not answer' || return 0 ;;
  esac
  echo "leither: a node already runs in this home; 'make run' leaves it alone:" >&2
  "$bin" status >&2 || true
  echo "('leither stop' stops it; LEITHER_HOME=DIR make run runs another home)" >&2
  exit 1
}

stop_if_running

# the build: its log only when it fails
if [ ! -f "$build/CMakeCache.txt" ]; then
  echo "configuring $build ..."
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
echo "building $build (log in $build/build.log) ..."
if ! cmake --build "$build" -j"$jobs" >"$build/build.log" 2>&1; then
  tail -n 40 "$build/build.log"
  echo "leither: the build failed; the whole log is $build/build.log" >&2
  exit 1
fi

stop_if_running # one started while we built

# the home: made on first use, the one the CLI finds from here
rc=0
err=$("$bin" status 2>&1 >/dev/null) || rc=$?
if [ $rc -ne 3 ]; then
  case $err in
    *"leither init"*) ;;
    *) echo "$err" >&2; exit 1 ;;
  esac
  # the home an earlier `make run` made in the checkout: not a second identity by accident
  if [ -z "${LEITHER_HOME:-}" ] && [ -f "$root/node-home/SystemVars.json" ]; then
    echo "leither: $root/node-home is the home an earlier 'make run' made; the home is now found by one" >&2
    echo "rule (README \"The home\"). To keep that node: export LEITHER_HOME=$root/node-home" >&2
    echo "(or move it: mv $root/node-home ~/.leither), then 'make run' again." >&2
    exit 1
  fi
  "$bin" init
fi

"$bin" run &
node=$!
trap 'kill -INT $node 2>/dev/null; wait $node; exit 0' INT TERM

# wait for the node to answer (it prints its own URLs as it starts)
i=0
until "$bin" status >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 $node 2>/dev/null; then
    wait $node
    exit 1
  fi
  sleep 0.1
done

port=$("$bin" status --json | sed -n 's/.*"Port": *\([0-9]*\).*/\1/p')
echo "apps:"
for dir in "$root/apps" "$root/examples"; do
  for app in "$dir"/*/; do
    name=$(basename "$app")
    [ -f "$app/manifest.json" ] || continue
    if out=$("$bin" lapp uploadapp -i "$name" -d "$dir" 2>&1); then
      url=$(echo "$out" | sed -n 's/^url= //p')
      desc=$(echo "$out" | sed -n 's/^desc= //p')
      renders=$(echo "$out" | sed -n 's/^renders= //p')
      if [ -n "$renders" ]; then
        # a renderer: files open through it, it is not a page of its own
        printf '  %-10s a renderer, not a page to open: file MiMei of %s open through it\n' "$name" "$renders"
        printf '  %-10s at http://127.0.0.1:%s/mm/MID/\n' "" "$port"
      else
        printf '  %-10s %s\n' "$name" "$url"
      fi
      [ -z "$desc" ] || printf '  %-10s %s\n' "" "$desc"
    else
      printf '  %-10s not installed: %s\n' "$name" "$out"
    fi
  done
done
echo "Ctrl-C stops the node."
wait $node
