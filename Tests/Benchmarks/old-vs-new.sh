#!/usr/bin/env bash
# Two chainvault builds on the same data, alternating which runs first each round, so that a
# refactoring can be shown to cost nothing ("within noise").
#
#   bash Tests/Benchmarks/old-vs-new.sh OLD_BINARY NEW_BINARY [--size 256M] [--rounds 3] [--tmpfs DIR]
#                                       [--data DIR]
#
# Each round, per build: a fresh repository, first backup, unchanged backup, restore onto tmpfs,
# verify --read-data. Every backup starts with the source in the page cache (read just before).
# --data DIR backs up DIR (e.g. Tests/Benchmarks/othergen.py's) instead of our generator's data.
# Prints per measure the medians of wall and CPU seconds (user+sys) of both builds and the
# ratios new/old: on a loaded machine the CPU seconds are the steadier figure.
# Needs /usr/bin/time (apt-get install -y time).
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,13p' "$0"; exit 2; }
OLD=$(realpath "$1") NEW=$(realpath "$2"); shift 2
SIZE=256M ROUNDS=3 TMPFS=/dev/shm DATA=
while [ $# -gt 0 ]; do
    case $1 in
        --size) SIZE=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --tmpfs) TMPFS=$2; shift 2 ;;
        --data) DATA=$(cd "$2" && pwd); shift 2 ;;
        *) sed -n '2,13p' "$0"; exit 2 ;;
    esac
done
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install -y time)"; exit 1; }
W=$(mktemp -d /tmp/chainvault-oldnew.XXXXXX)
T=$(mktemp -d "$TMPFS/chainvault-oldnew.XXXXXX")
trap 'rm -rf "$W" "$T"' EXIT
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"
if [ -n "$DATA" ]; then SRC=$DATA; else SRC="$W/data"; "$NEW" demo --generate "$SRC" --size "$SIZE" >/dev/null; fi
RESULTS="$W/results.tsv"; : > "$RESULTS"

# measure BUILD OP CMD...: appends "build op wall cpu" to the results.
measure() {
    local build=$1 op=$2; shift 2
    case $op in backup*) find "$SRC" -type f -exec cat {} + >/dev/null ;; esac
    sync
    /usr/bin/time -f "%e %U %S" -o "$W/time.out" "$@" >/dev/null 2>"$W/err.out" \
        || { echo "FAILED: $build $op"; cat "$W/err.out"; exit 1; }
    read -r wall user sys < "$W/time.out"
    echo -e "$build\t$op\t$wall\t$(echo "$user + $sys" | bc)" >> "$RESULTS"
}

run() { # BUILD BINARY
    local build=$1 cv=$2 repo="$W/repo-$1"
    rm -rf "$repo" "$T/out"
    "$cv" init --repo "$repo" --key-file "$W/key" --quiet
    measure "$build" backup-first "$cv" backup "$SRC" --repo "$repo" --key-file "$W/key" --quiet
    echo -e "$build\trepository-bytes\t$(du -sb "$repo" | cut -f1)\t0" >> "$RESULTS"
    measure "$build" backup-unchanged "$cv" backup "$SRC" --repo "$repo" --key-file "$W/key" --quiet
    measure "$build" restore-tmpfs "$cv" restore latest --target "$T/out" --repo "$repo" --key-file "$W/key" --quiet
    rm -rf "$T/out"
    measure "$build" verify-read-data "$cv" verify --read-data --repo "$repo" --key-file "$W/key" --quiet
    rm -rf "$repo"
}

echo "data: $(du -sb "$SRC" | cut -f1) bytes; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then run old "$OLD"; run new "$NEW"; else run new "$NEW"; run old "$OLD"; fi
    echo "round $round of $ROUNDS done; load $(cut -d' ' -f1 /proc/loadavg)"
done

python3 - "$RESULTS" <<'PY'
import sys, statistics
from collections import defaultdict
d = defaultdict(list)
for line in open(sys.argv[1]):
    build, op, wall, cpu = line.split("\t")
    d[(build, op)].append((float(wall), float(cpu)))
med = statistics.median
print("%-18s %10s %10s %10s %10s %10s %10s" % ("measure", "old wall", "new wall", "new/old", "old CPU", "new CPU",
                                               "new/old"))
for op in ["backup-first", "backup-unchanged", "restore-tmpfs", "verify-read-data"]:
    o, n = d[("old", op)], d[("new", op)]
    ow, nw = med([r[0] for r in o]), med([r[0] for r in n])
    oc, nc = med([r[1] for r in o]), med([r[1] for r in n])
    print("%-18s %9.2fs %9.2fs %10.3f %9.2fs %9.2fs %10.3f" % (op, ow, nw, nw / ow if ow else 0, oc, nc,
                                                               nc / oc if oc else 0))
o, n = med([r[0] for r in d[("old", "repository-bytes")]]), med([r[0] for r in d[("new", "repository-bytes")]])
print("%-18s %10d %10d %10.4f  (after the first backup)" % ("repository bytes", o, n, n / o))
PY
