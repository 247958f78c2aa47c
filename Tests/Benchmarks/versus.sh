#!/usr/bin/env bash
# Two chainvault binaries on the same data, in one go: did a change cost speed?
#
#   bash Tests/Benchmarks/versus.sh OLD_BINARY NEW_BINARY [DATA_DIR|SIZE] [ROUNDS]
#
# DATA_DIR: any directory (a node's data); SIZE (default 1G): data from `chainvault demo --generate`.
# Each round runs first backup, verify --read-data and restore (onto /dev/shm when it has room,
# so the disk's sync time does not decide) for both binaries, the order alternating by round.
# Prints the median wall time of each operation and the ratio new/old.
set -euo pipefail
OLD=$1; NEW=$2; DATA=${3:-1G}; ROUNDS=${4:-3}
W=${BENCH_DIR:-/tmp/chainvault-versus}
rm -rf "$W"; mkdir -p "$W"; trap 'rm -rf "$W" /dev/shm/chainvault-versus-*' EXIT
if [ -d "$DATA" ]; then SRC=$DATA; else SRC=$W/data; "$NEW" demo --generate "$SRC" --size "$DATA" >/dev/null; fi
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"
export CHAINVAULT_KEY_FILE=$W/key
bytes=$(du -sb "$SRC" | cut -f1)
TARGET_BASE=/dev/shm/chainvault-versus
[ "$(df --output=avail -B1 /dev/shm | tail -1)" -gt $((bytes * 2)) ] || TARGET_BASE=$W/restore
: > "$W/times"
run() { # name op cmd...
    local name=$1 op=$2; shift 2
    local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
    echo "$name $op $(echo "$t1 - $t0" | bc)" >> "$W/times"
}
one() { # name binary
    local name=$1 bin=$2 repo=$W/repo-$1
    rm -rf "$repo" "$TARGET_BASE-$name"
    find "$SRC" -type f -exec cat {} + >/dev/null
    CHAINVAULT_REPOSITORY=$repo "$bin" init >/dev/null
    run "$name" backup env CHAINVAULT_REPOSITORY="$repo" "$bin" backup "$SRC"
    run "$name" verify env CHAINVAULT_REPOSITORY="$repo" "$bin" verify --read-data
    run "$name" restore env CHAINVAULT_REPOSITORY="$repo" "$bin" restore latest --target "$TARGET_BASE-$name"
    rm -rf "$repo" "$TARGET_BASE-$name"
}
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then one old "$OLD"; one new "$NEW"; else one new "$NEW"; one old "$OLD"; fi
done
echo "data: $SRC, $((bytes / 1048576)) MiB, $ROUNDS rounds (order alternating), restore onto $(dirname "$TARGET_BASE")"
for op in backup verify restore; do
    o=$(awk -v op=$op '$1=="old" && $2==op {print $3}' "$W/times" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    n=$(awk -v op=$op '$1=="new" && $2==op {print $3}' "$W/times" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    all_o=$(awk -v op=$op '$1=="old" && $2==op {printf "%.2f ", $3}' "$W/times")
    all_n=$(awk -v op=$op '$1=="new" && $2==op {printf "%.2f ", $3}' "$W/times")
    printf "%-8s old %6.2f s  new %6.2f s  new/old %.2f   (old: %s| new: %s)\n" "$op" "$o" "$n" "$(echo "$n / $o" | bc -l)" "$all_o" "$all_n"
done
