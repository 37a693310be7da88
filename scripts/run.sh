#!/bin/sh
# make run: the node in the foreground, with the apps of apps/ and examples/
# uploaded once it answers, and their URLs printed. Ctrl-C stops the node.
# usage: scripts/run.sh LEITHER_BIN HOME_DIR
set -eu
bin=$1
home=$2
root=$(cd "$(dirname "$0")/.." && pwd)

"$bin" run --home "$home" &
node=$!
trap 'kill -INT $node 2>/dev/null; wait $node; exit 0' INT TERM

# wait for the node to answer (it prints its own URLs as it starts)
i=0
until "$bin" status --home "$home" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 $node 2>/dev/null; then
    wait $node
    exit 1
  fi
  sleep 0.1
done
port=$("$bin" status --home "$home" --json | sed -n 's/.*"Port": *\([0-9]*\).*/\1/p')
url="http://127.0.0.1:$port"

echo "installing the apps:"
for dir in "$root/apps" "$root/examples"; do
  for app in "$dir"/*/; do
    name=$(basename "$app")
    [ -f "$app/manifest.json" ] || continue
    if out=$("$bin" lapp uploadapp -i "$name" -d "$dir" --home "$home" 2>&1); then
      id=$(echo "$out" | sed -n 's/^appid= //p')
      # each app has its own origin: where the node sends the path form
      app_url=$(curl -s -o /dev/null -w '%{redirect_url}' "http://localhost:$port/tpt/$id/" 2>/dev/null || true)
      printf '  %-10s %s\n' "$name" "${app_url:-$url/tpt/$id/ (sandboxed: open it on localhost)}"
    else
      printf '  %-10s not installed: %s\n' "$name" "$out"
    fi
  done
done
echo "Ctrl-C stops the node."
wait $node
