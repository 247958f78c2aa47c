#!/usr/bin/env bash
# In-place delta restore against a full restore (issue 11 §2): a SIZE-MiB node (default 2048)
# from `chainvault demo`, backed up to a local repository; each round damages 1 % of its files
# over 64 KiB (one 4 KiB write in the middle of each: ~2 % of the bytes are in damaged files,
# well under 1 % in their changed chunks) and restores it in place, then restores it in full into a new directory. Prints the
# median of ROUNDS (default 3) of each: wall time, bytes fetched from the repository (the JSON
# `bytesFetched`, what S3 would send) and extra disk used (`bytesWritten`: the files rebuilt),
# and the ratios. Goals: delta >= 20x faster and >= 20x fewer bytes, extra disk <= 2 % of the tree.
#
#   bash Tests/Benchmarks/restore-delta.sh [SIZE_MIB] [ROUNDS]
#
# CHAINVAULT_BIN=path measures another build (an older one, for a before/after).
set -euo pipefail
SIZE=${1:-2048}; ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV=${CHAINVAULT_BIN:-$ROOT/.build/release/chainvault}
W=${BENCH_DIR:-/var/tmp/chainvault-restore-delta}
[ -x "$CV" ] || (cd "$ROOT" && swift build -c release >/dev/null)
rm -rf "$W"; mkdir -p "$W"; trap 'rm -rf "$W"' EXIT
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"
export CHAINVAULT_REPOSITORY="$W/repo" CHAINVAULT_KEY_FILE="$W/key"
"$CV" init >/dev/null
"$CV" demo --generate "$W/src" --size "${SIZE}M" >/dev/null
"$CV" backup "$W/src" >/dev/null
"$CV" restore latest --target "$W/node" >/dev/null
tree=$(du -sb "$W/node" | cut -f1)
files=$(find "$W/node" -type f | wc -l)
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
now() { date +%s.%N; }
: > "$W/delta.txt"; : > "$W/full.txt"
delta() {
    local t0 t1 out
    sync
    t0=$(now); out=$("$CV" restore latest --target "$W/node" --json); t1=$(now)
    echo "$(echo "$t1 - $t0" | bc) $(echo "$out" | json bytesFetched) $(echo "$out" | json bytesWritten)" >> "$W/delta.txt"
    rm -rf "$W"/node.pre-restore-*
}
full() {
    local t0 t1 out
    sync
    t0=$(now); out=$("$CV" restore latest --target "$W/full" --json); t1=$(now)
    echo "$(echo "$t1 - $t0" | bc) $(echo "$out" | json bytesFetched) $(echo "$out" | json bytesWritten)" >> "$W/full.txt"
    rm -rf "$W/full"
}
for r in $(seq 1 "$ROUNDS"); do
    # 1 % of the files, a different 1 % each round: one 4 KiB write in the middle of each.
    find "$W/node" -type f -size +64k | sort | awk -v r="$r" 'NR % 100 == r' | while read -r f; do
        size=$(stat -c %s "$f")
        head -c 4096 /dev/urandom | dd of="$f" bs=4096 seek=$(( size / 8192 )) conv=notrunc 2>/dev/null
    done
    sync
    # The two modes alternate which goes first, so neither always gets the warmer cache.
    if (( r % 2 )); then delta; full; else full; delta; fi
done
median() { sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
dt=$(median "$W/delta.txt" 1); db=$(median "$W/delta.txt" 2); dw=$(median "$W/delta.txt" 3)
ft=$(median "$W/full.txt" 1); fb=$(median "$W/full.txt" 2)
printf 'node: %d MiB in %d files, %d rounds (median)\n' $(( tree >> 20 )) "$files" "$ROUNDS"
printf 'full restore:  %6.2f s, %12d bytes fetched\n' "$ft" "$fb"
printf 'delta restore: %6.2f s, %12d bytes fetched, %d bytes extra disk (%.2f %% of the tree)\n' \
    "$dt" "$db" "$dw" "$(echo "100 * $dw / $tree" | bc -l)"
printf 'ratios: %.1fx faster, %.1fx fewer bytes fetched\n' "$(echo "$ft / $dt" | bc -l)" "$(echo "$fb / ($db + 1)" | bc -l)"
