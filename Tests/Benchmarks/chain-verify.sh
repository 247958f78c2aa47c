#!/usr/bin/env bash
# Speed of the bitcoind chain check (issue 13 "Speed"): a valid regtest chain of ~1 MB blocks
# (`chainvault chain generate`: 2,500 transactions each, obfuscated with xor.dat, 128 MiB files),
# then the median of ROUNDS (default 3) of `chain verify --full` (from the page cache: the goal is
# the check's own speed, >= 700 MB/s on 2 cores), then ~a day of blocks (144) appended and the
# median of ROUNDS incremental runs from the state the full check left (goal: under 1 s).
#
#   bash Tests/Benchmarks/chain-verify.sh [BLOCKS] [ROUNDS]      (BLOCKS default 1000: ~1 GiB)
set -euo pipefail
BLOCKS=${1:-1000}; ROUNDS=${2:-3}; DAY=144
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV=${CHAINVAULT_BINARY:-"$ROOT/.build/release/chainvault"}
W=${BENCH_DIR:-$(mktemp -d /var/tmp/chainvault-chain-verify.XXXXXX)}
[ -x "$CV" ] || (cd "$ROOT" && swift build -c release >/dev/null)
mkdir -p "$W"; trap 'rm -rf "$W"' EXIT
export CHAINVAULT_STATE_DIRECTORY="$W/state"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# OpenSSL's own SHA-256 over 1 MiB buffers, in MB per CPU-second, measured now: on a shared machine a
# CPU-second buys less hashing than on an idle one, so the check's speed is also given as a share of it.
# The goal (issue 13) as a share: 700 MB/s over two idle cores of ~1,560 MB/s SHA-256 each (FACTS.md:
# 1.45 GiB/s) is 0.225 per core.
sha256() { openssl speed -seconds 2 -bytes 1048576 -evp sha256 2>/dev/null | awk '/^sha256/ {sub("k", "", $2); print $2 / 1000}'; }

"$CV" chain generate "$W/node" --blocks "$BLOCKS" >/dev/null
bytes=$(cat "$W"/node/blocks/*.dat | wc -c)
cat "$W"/node/blocks/* > /dev/null                       # into the page cache
shaBefore=$(sha256)
: > "$W/full.txt"
for _ in $(seq 1 "$ROUNDS"); do
    t0=$(now)
    out=$(/usr/bin/time -f '%U %S' -o "$W/cpu" "$CV" chain verify "$W/node" --full --json --state "$W/full.json")
    t1=$(now)
    [ "$(echo "$out" | json height)" = "$BLOCKS" ] || { echo "wrong height: $out" >&2; exit 1; }
    echo "$(echo "$t1 - $t0" | bc) $(awk '{print $1 + $2}' "$W/cpu")" >> "$W/full.txt"
done
full=$(cut -d' ' -f1 < "$W/full.txt" | median)
cpu=$(cut -d' ' -f2 < "$W/full.txt" | median)

# The same seed writes the same bytes: generating more blocks over the directory appends a day.
"$CV" chain generate "$W/node" --blocks $((BLOCKS + DAY)) >/dev/null
cat "$W"/node/blocks/* > /dev/null
: > "$W/inc.txt"
for _ in $(seq 1 "$ROUNDS"); do
    cp "$W/full.json" "$W/inc.json"
    t0=$(now)
    out=$(/usr/bin/time -f '%U %S' -o "$W/cpu" "$CV" chain verify "$W/node" --json --state "$W/inc.json")
    t1=$(now)
    [ "$(echo "$out" | json height)" = "$((BLOCKS + DAY))" ] || { echo "wrong height: $out" >&2; exit 1; }
    echo "$(echo "$t1 - $t0" | bc) $(echo "$out" | json bytesChecked) $(awk '{print $1 + $2}' "$W/cpu")" >> "$W/inc.txt"
done
inc=$(cut -d' ' -f1 < "$W/inc.txt" | median)
incCpu=$(cut -d' ' -f3 < "$W/inc.txt" | median)
incBytes=$(head -1 "$W/inc.txt" | cut -d' ' -f2)
sha=$(printf '%s\n%s\n' "$shaBefore" "$(sha256)" | sort -n | tail -1)

printf 'chain verify --full: %d blocks, %d MB in %.2f s = %.0f MB/s (median of %d)\n' \
    "$BLOCKS" $((bytes / 1000000)) "$full" "$(echo "$bytes / $full / 1000000" | bc -l)" "$ROUNDS"
# On a loaded machine wall time says little: CPU time says what two idle cores would do.
printf '  CPU %.2f s (user+sys): %.0f MB per CPU-second, %.2f CPU-seconds per GB\n' "$cpu" \
    "$(echo "$bytes / $cpu / 1000000" | bc -l)" "$(echo "$cpu * 1000000000 / $bytes" | bc -l)"
printf '  OpenSSL SHA-256 now: %.0f MB per CPU-second (1 MiB buffers); the check runs at %.3f of it per core' \
    "$sha" "$(echo "$bytes / $cpu / 1000000 / $sha" | bc -l)"
printf ' (goal 0.225): %.0f MB/s on 2 idle cores at 1,560 MB/s SHA-256 each\n' \
    "$(echo "2 * 1560 * $bytes / $cpu / 1000000 / $sha" | bc -l)"
printf 'incremental after %d appended blocks: %.3f s, %.2f CPU-seconds, %d MB checked (median of %d)\n' \
    "$DAY" "$inc" "$incCpu" $((incBytes / 1000000)) "$ROUNDS"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) on $(nproc) cores"
