#!/usr/bin/env bash
# Helpers the benchmarks share (sourced by http.sh and resp.sh, which set
# BENCH_NAME first: it prefixes their error lines).

die() {
    echo "$BENCH_NAME: $*" >&2
    exit 2
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Waits up to $2 tenths of a second for pid $1 to be gone.
wait_gone() {
    for _ in $(seq 1 "$2"); do
        alive "$1" || return 0
        sleep 0.1
    done
    return 1
}

# Whether something listens on TCP port $1 (IPv4 or IPv6), from /proc/net.
port_in_use() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v h="$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == h { found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# A random TCP port nobody listens on, other than $1 (if given).
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        [ "$p" != "${1:-}" ] || continue
        port_in_use "$p" || {
            echo "$p"
            return
        }
    done
    die "no free port found"
}

# Sets "key": value in a settings file as `leither init` writes it.
set_setting() {
    local file=$1 key=$2 value=$3
    grep -q "^ *\"$key\": " "$file" || die "no \"$key\" in $file"
    sed -i "s/^\( *\"$key\": \).*[^,]\(,\?\)\$/\1$value\2/" "$file"
    grep -q "^ *\"$key\": $value,\?\$" "$file" || die "could not set \"$key\" in $file"
}
