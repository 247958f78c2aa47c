#!/usr/bin/env bash
# chainvault vs restic vs borg vs tar|zstd|openssl on the same generated chain data, in one go.
#
#   bash Tests/Benchmarks/compare.sh [SIZE] [ROUNDS]        (defaults: 2G 3)
#
# Every round regenerates the same data (fixed seed), then runs each operation for every tool,
# rotating the tool order each round so no tool always runs on a warmer cache. Reports medians of
# wall time, MB/s (of the source size), CPU seconds (user+sys), peak RSS, and repository size, and
# each tool's wall-time ratio to restic. Tools that are not installed are skipped with a note
# (apt-get install restic borgbackup). Needs /usr/bin/time (Debian package 'time').
# Work happens in $BENCH_DIR (default /tmp/chainvault-bench), removed at the end.
set -euo pipefail
SIZE=${1:-2G}
ROUNDS=${2:-3}
SMALL_FILES=${SMALL_FILES:-100000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV="$ROOT/.build/release/chainvault"
W=${BENCH_DIR:-/tmp/chainvault-bench}
[ -x "$CV" ] || (cd "$ROOT" && swift build -c release >/dev/null)
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
rm -rf "$W"; mkdir -p "$W"
trap 'rm -rf "$W"' EXIT

TOOLS=(chainvault)
command -v restic >/dev/null && TOOLS+=(restic) || echo "note: restic not installed, skipped"
command -v borg >/dev/null && TOOLS+=(borg) || echo "note: borg not installed, skipped"
command -v zstd >/dev/null && command -v openssl >/dev/null && TOOLS+=(tar-zstd-openssl)

head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
RESULTS="$W/results.tsv"; : > "$RESULTS"

# measure TOOL OP SOURCE_BYTES CMD...: appends "tool op wall cpu rss_kb bytes" to the results.
# Every backup starts with the source in the page cache (read just before), so no tool pays for
# pages that another tool's writes pushed out of memory: the figures compare the tools, not the
# disk and the luck of the cache.
measure() {
    local tool=$1 op=$2 bytes=$3; shift 3
    case $op in backup*) find "$W/data" -type f -exec cat {} + >/dev/null ;; esac
    sync
    /usr/bin/time -f "%e %U %S %M" -o "$W/time.out" "$@" >/dev/null 2>"$W/err.out" || { echo "FAILED: $tool $op"; cat "$W/err.out"; exit 1; }
    read -r wall user sys rss < "$W/time.out"
    echo -e "$tool\t$op\t$wall\t$(echo "$user + $sys" | bc)\t$rss\t$bytes" >> "$RESULTS"
}

repo_size() { du -sb "$1" | cut -f1; }

run_tool() { # TOOL OP
    local t=$1 op=$2 src="$W/data" bytes=$SRC_BYTES
    case "$t:$op" in
        chainvault:init) "$CV" init --repo "$W/cv" --key-file "$W/key" --quiet ;;
        chainvault:backup*) measure "$t" "$op" "$bytes" "$CV" backup "$src" --repo "$W/cv" --key-file "$W/key" --quiet ;;
        chainvault:verify) measure "$t" "$op" "$bytes" "$CV" verify --read-data --repo "$W/cv" --key-file "$W/key" --quiet ;;
        chainvault:restore) rm -rf "$W/out"; measure "$t" "$op" "$bytes" "$CV" restore latest --target "$W/out" --repo "$W/cv" --key-file "$W/key" --quiet ;;
        restic:init) restic init -q -r "$W/restic" >/dev/null ;;
        restic:backup*) measure "$t" "$op" "$bytes" restic backup -q -r "$W/restic" "$src" ;;
        restic:verify) measure "$t" "$op" "$bytes" restic check --read-data -q -r "$W/restic" ;;
        restic:restore) rm -rf "$W/out"; measure "$t" "$op" "$bytes" restic restore -q -r "$W/restic" latest --target "$W/out" ;;
        borg:init) borg init -e repokey "$W/borg" ;;
        borg:backup*) measure "$t" "$op" "$bytes" borg create -C zstd,3 "$W/borg::$op-$RANDOM$RANDOM" "$src" ;;
        borg:verify) measure "$t" "$op" "$bytes" borg check --verify-data "$W/borg" ;;
        borg:restore) rm -rf "$W/out"; mkdir -p "$W/out"; local last; last=$(borg list --short "$W/borg" | tail -1)
                      (cd "$W/out" && measure "$t" "$op" "$bytes" borg extract "$W/borg::$last") ;;
        tar-zstd-openssl:backup-first) measure "$t" "$op" "$bytes" bash -c \
            "tar cf - -C '$W' data | zstd -3 -T2 -q | openssl enc -aes-256-ctr -pbkdf2 -pass file:'$W/key' -out '$W/tar.zst.enc'" ;;
        *) ;;
    esac
}

repo_path() { case $1 in chainvault) echo "$W/cv";; restic) echo "$W/restic";; borg) echo "$W/borg";; tar-zstd-openssl) echo "$W/tar.zst.enc";; esac; }

for round in $(seq 1 "$ROUNDS"); do
    echo "round $round of $ROUNDS: generating $SIZE of chain data"
    rm -rf "$W/data" "$W/cv" "$W/restic" "$W/borg" "$W/tar.zst.enc"
    "$CV" demo --generate "$W/data" --size "$SIZE"
    SRC_BYTES=$(du -sb "$W/data" | cut -f1)
    n=${#TOOLS[@]}
    order=("${TOOLS[@]:$(( (round - 1) % n ))}" "${TOOLS[@]:0:$(( (round - 1) % n ))}")
    for t in "${order[@]}"; do run_tool "$t" init; done
    for t in "${order[@]}"; do run_tool "$t" backup-first; echo -e "$t\trepo-bytes\t0\t0\t0\t$(repo_size "$(repo_path "$t")")" >> "$RESULTS"; done
    "$CV" demo --advance "$W/data" --size "$SIZE"
    SRC_BYTES=$(du -sb "$W/data" | cut -f1)
    for t in "${order[@]}"; do run_tool "$t" backup-after-changes; done
    for t in "${order[@]}"; do run_tool "$t" backup-unchanged; done
    for t in "${order[@]}"; do run_tool "$t" verify; done
    for t in "${order[@]}"; do run_tool "$t" restore; done
done

if [ "$SMALL_FILES" -gt 0 ]; then
    echo "unchanged re-backup of a $SMALL_FILES-file tree"
    rm -rf "$W/data" "$W/cv" "$W/restic" "$W/borg" "$W/out"
    python3 - "$W/data" "$SMALL_FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 1000 // 10), "e%02d" % (i % 10))
    if i < 1000: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.dat" % i), "wb") as f: f.write(os.urandom(64 + i % 512))
PY
    SRC_BYTES=$(du -sb "$W/data" | cut -f1)
    for t in "${TOOLS[@]}"; do [ "$t" = tar-zstd-openssl ] && continue; run_tool "$t" init; run_tool "$t" backup-files-first; done
    for round in $(seq 1 "$ROUNDS"); do for t in "${TOOLS[@]}"; do [ "$t" = tar-zstd-openssl ] && continue; run_tool "$t" backup-files-unchanged; done; done
fi

python3 - "$RESULTS" <<'PY'
import sys, statistics
from collections import defaultdict
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
d = defaultdict(list)
for tool, op, wall, cpu, rss, b in rows: d[(tool, op)].append((float(wall), float(cpu), int(rss), int(b)))
tools = sorted({t for t, _ in d}, key=lambda t: ["chainvault", "restic", "borg", "tar-zstd-openssl"].index(t))
ops = ["backup-first", "backup-after-changes", "backup-unchanged", "verify", "restore", "backup-files-unchanged"]
med = lambda xs: statistics.median(xs)
print("\nmedians (%s)" % ", ".join(tools))
print("%-24s %-17s %9s %9s %9s %10s %9s  %s" % ("operation", "tool", "wall s", "MB/s", "CPU s", "RSS MiB", "vs restic", "each round's wall s"))
for op in ops:
    for t in tools:
        v = d.get((t, op))
        if not v: continue
        wall = med([x[0] for x in v]); cpu = med([x[1] for x in v]); rss = med([x[2] for x in v]) / 1024; b = v[0][3]
        r = d.get(("restic", op)); ratio = (med([x[0] for x in r]) / wall) if r and wall > 0 else float("nan")
        rounds = " ".join("%.2f" % x[0] for x in v)
        print("%-24s %-17s %9.2f %9.1f %9.2f %10.1f %8.2fx  %s" % (op, t, wall, b / 1e6 / wall if wall else 0, cpu, rss, ratio, rounds))
print("\nrepository size after the first backup (bytes)")
for t in tools:
    v = d.get((t, "repo-bytes"))
    if v: print("  %-17s %14d" % (t, int(med([x[3] for x in v]))))
PY
