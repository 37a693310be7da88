#!/bin/sh
# Installs the Debian packages Leither needs, or says exactly what to run.
# Usage: scripts/deps.sh build|test|bench
# The package lists are the single source of truth for dependencies.
set -eu

BUILD="cmake make gcc pkg-config libh2o-evloop-dev libssl-dev libsodium-dev zlib1g-dev \
libjansson-dev libcurl4-openssl-dev liblmdb-dev libhiredis-dev liblua5.4-dev \
g++ libopendht-dev"
TEST="$BUILD libcmocka-dev lua5.4 lua-busted lua-dkjson curl clang \
libclang-rt-14-dev procps redis-tools redis-server tmux \
ipfs-cid nodejs npm time chromium dhtnode prometheus systemd"
# systemd: for systemd-analyze, which verifies the unit `leither service` writes;
# prometheus: for its promtool, which checks /metrics (tests/integration/metrics_spec.lua);
# the Prometheus server it brings is stopped and disabled below
# the references the benchmarks measure against
BENCH="$TEST wrk nginx libnginx-mod-http-lua redis-server"

case "${1:-build}" in
  build) want=$BUILD ;;
  test) want=$TEST ;;
  bench) want=$BENCH ;;
  *) echo "usage: scripts/deps.sh build|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  # a nodejs that bundles npm (it then conflicts with Debian's npm) will do
  [ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "leither: missing Debian packages; as root run:" >&2
  echo "  apt-get install -y$missing" >&2
  exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# only promtool is wanted: no Prometheus server running on 9090 after an install
case " $missing " in *" prometheus "*)
  if [ -d /run/systemd/system ]; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi ;;
esac
