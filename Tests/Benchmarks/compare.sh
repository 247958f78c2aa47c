#!/usr/bin/env bash
# chainvault vs restic vs borg on the same data, in one go, the tool order alternating per round.
#
#   bash Tests/Benchmarks/compare.sh [--data DIR | --gen ours|other] [--size 1G] [--rounds 5]
#                                    [--tmpfs DIR] [--work DIR] [--tools "chainvault restic borg"]
#
# --data DIR   any directory (copied to the work area each round, so the day's changes never touch
#              it); a "day" then appends 1.5 % of each of the three largest files' own bytes to them
#              and rewrites one small file (--advance CMD replaces that: CMD runs with the copy as $1)
# --gen ours   `chainvault demo --generate` data of --size, a day = `chainvault demo --advance`
# --gen other  Tests/Benchmarks/othergen.py data (a generator that is not ours), a day = its --advance
# Each round: fresh repositories, then per tool (order rotated each round, so nobody always runs on
# a cache the previous tool warmed or emptied): first backup, backup after a day, unchanged backup,
# restore onto tmpfs and onto disk. Every backup starts with the source in the page cache (read just
# before). chainvault's restore syncs before its swap; restic's and borg's do not sync.
# Prints per measure the median, the spread (min-max) and the ratios chainvault/restic and
# chainvault/borg (< 1: chainvault takes less time or space) with the spread of the per-round ratios
# and the ratio of CPU seconds (user+sys), and the load average during the run.
# Needs restic and borg (apt-get install -y restic borgbackup; a missing one is skipped with a note)
# and /usr/bin/time (apt-get install -y time).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV=${CHAINVAULT:-$ROOT/.build/release/chainvault}  # CHAINVAULT=/path/to/binary compares another build
DATA= GEN=ours SIZE=1G ROUNDS=5 ADVANCE= TMPFS=/dev/shm WORK=${BENCH_DIR:-} TOOLS_WANTED="chainvault restic borg"
while [ $# -gt 0 ]; do
    case $1 in
        --data) DATA=$(cd "$2" && pwd); GEN=; shift 2 ;;
        --gen) GEN=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --advance) ADVANCE=$2; shift 2 ;;
        --tmpfs) TMPFS=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --tools) TOOLS_WANTED=$2; shift 2 ;;
        *) sed -n '2,20p' "$0"; exit 2 ;;
    esac
done
[ -x "$CV" ] || (cd "$ROOT" && swift build -c release >/dev/null)
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install -y time)"; exit 1; }
W=$(mktemp -d "${WORK:-/tmp}/chainvault-compare.XXXXXX")
T=$(mktemp -d "$TMPFS/chainvault-compare.XXXXXX")
trap 'rm -rf "$W" "$T"' EXIT

TOOLS=()
for t in $TOOLS_WANTED; do
    if [ "$t" = chainvault ] || command -v "$t" >/dev/null; then TOOLS+=("$t")
    else echo "note: $t is not installed, skipped (apt-get install -y restic borgbackup)"; fi
done

head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes RESTIC_CACHE_DIR="$W/restic-cache" BORG_BASE_DIR="$W/borg-base"
RESULTS="$W/results.tsv"; : > "$RESULTS"
LOADS="$W/load"; : > "$LOADS"

# The pristine source: generated once (the same for every round and tool), copied per round.
case $GEN in
    ours) "$CV" demo --generate "$W/pristine" --size "$SIZE" >/dev/null ;;
    other) python3 "$ROOT/Tests/Benchmarks/othergen.py" "$W/pristine" --size "$SIZE" ;;
    "") cp -a "$DATA" "$W/pristine" ;;
    *) echo "--gen ours|other"; exit 2 ;;
esac

advance() {
    if [ -n "$ADVANCE" ]; then bash -c "$ADVANCE" advance "$1"
    elif [ "$GEN" = ours ]; then "$CV" demo --advance "$1" --size "$SIZE" >/dev/null
    elif [ "$GEN" = other ]; then python3 "$ROOT/Tests/Benchmarks/othergen.py" "$1" --size "$SIZE" --advance
    else
        find "$1" -type f -printf '%s %p\n' | sort -rn | head -3 | while read -r size path; do
            head -c $((size * 15 / 1000)) "$path" > "$W/piece"; cat "$W/piece" >> "$path"
        done
        f=$(find "$1" -type f -size -64k | head -1); [ -n "$f" ] && date >> "$f"
    fi
}

# measure TOOL OP CMD...: appends "tool op wall cpu rss_kb" to the results.
measure() {
    local tool=$1 op=$2; shift 2
    case $op in backup*) find "$W/data" -type f -exec cat {} + >/dev/null ;; esac
    sync
    cut -d' ' -f1 /proc/loadavg >> "$LOADS"
    /usr/bin/time -f "%e %U %S %M" -o "$W/time.out" "$@" >/dev/null 2>"$W/err.out" \
        || { echo "FAILED: $tool $op"; cat "$W/err.out"; exit 1; }
    read -r wall user sys rss < "$W/time.out"
    echo -e "$tool\t$op\t$wall\t$(echo "$user + $sys" | bc)\t$rss" >> "$RESULTS"
}

restore_to() { # TOOL OP DIR
    local t=$1 op=$2 out=$3/out
    rm -rf "$out"
    case $t in
        chainvault) measure "$t" "$op" "$CV" restore latest --target "$out" --repo "$W/cv" --key-file "$W/key" --quiet ;;
        restic) measure "$t" "$op" restic restore -q -r "$W/restic" latest --target "$out" ;;
        borg) mkdir -p "$out"; local last; last=$(borg list --short "$W/borg" | tail -1)
              (cd "$out" && measure "$t" "$op" borg extract "$W/borg::$last") ;;
    esac
    rm -rf "$out"
}

run_tool() { # TOOL OP
    local t=$1 op=$2 src="$W/data"
    case "$t:$op" in
        chainvault:init) "$CV" init --repo "$W/cv" --key-file "$W/key" --quiet ;;
        chainvault:backup*) measure "$t" "$op" "$CV" backup "$src" --repo "$W/cv" --key-file "$W/key" --quiet ;;
        restic:init) restic init -q -r "$W/restic" >/dev/null ;;
        restic:backup*) measure "$t" "$op" restic backup -q -r "$W/restic" "$src" ;;
        borg:init) borg init -e repokey "$W/borg" >/dev/null 2>&1 ;;
        borg:backup*) measure "$t" "$op" borg create -C zstd,3 "$W/borg::$op-$RANDOM$RANDOM" "$src" ;;
        *:restore-tmpfs) restore_to "$t" "$op" "$T" ;;
        *:restore-disk) restore_to "$t" "$op" "$W" ;;
    esac
}

# The bytes of a repository's files: `du -sb` also counts directory inodes, 1 MiB for the 256
# data/XX directories that chainvault and restic both have, which would swamp small data sets.
file_bytes() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

repo_path() { case $1 in chainvault) echo "$W/cv";; restic) echo "$W/restic";; borg) echo "$W/borg";; esac; }

echo "source: ${DATA:-generated ($GEN, $SIZE)}, $(du -sb "$W/pristine" | cut -f1) bytes; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
    n=${#TOOLS[@]}
    order=("${TOOLS[@]:$(( (round - 1) % n ))}" "${TOOLS[@]:0:$(( (round - 1) % n ))}")
    echo "round $round of $ROUNDS: ${order[*]}"
    rm -rf "$W/data" "$W/cv" "$W/restic" "$W/borg"
    cp -a "$W/pristine" "$W/data"
    for t in "${order[@]}"; do run_tool "$t" init; done
    for t in "${order[@]}"; do
        run_tool "$t" backup-first
        echo -e "$t\trepository-bytes\t$(file_bytes "$(repo_path "$t")")\t0\t0" >> "$RESULTS"
    done
    advance "$W/data"
    for t in "${order[@]}"; do run_tool "$t" backup-after-a-day; done
    for t in "${order[@]}"; do run_tool "$t" backup-unchanged; done
    for t in "${order[@]}"; do run_tool "$t" restore-tmpfs; done
    for t in "${order[@]}"; do run_tool "$t" restore-disk; done
done

python3 - "$RESULTS" "$LOADS" "$(du -sb "$W/pristine" | cut -f1)" <<'PY'
import sys, statistics
from collections import defaultdict
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
loads = [float(l) for l in open(sys.argv[2]) if l.strip()]
source = int(sys.argv[3])
d = defaultdict(list)
for tool, op, wall, cpu, rss in rows: d[(tool, op)].append((float(wall), float(cpu), int(rss)))
tools = [t for t in ("chainvault", "restic", "borg") if any(k[0] == t for k in d)]
ops = ["backup-first", "backup-after-a-day", "backup-unchanged", "restore-tmpfs", "restore-disk", "repository-bytes"]
med = statistics.median
print("\n%d rounds; source %d bytes; load average (1 min) during the run: median %.1f, %.1f-%.1f" % (
    len(d.get(("chainvault", "backup-first"), [])), source, med(loads), min(loads), max(loads)))
print("%-20s %-11s %12s %25s %8s %9s   %s" % ("measure", "tool", "median", "spread (min-max)", "CPU s", "RSS MiB",
                                            "chainvault / " + ", ".join(t for t in tools if t != "chainvault")))
for op in ops:
    unit = "B" if op == "repository-bytes" else "s"
    for t in tools:
        v = d.get((t, op))
        if not v: continue
        x = [r[0] for r in v]
        fmt = (lambda a: "%d" % a) if unit == "B" else (lambda a: "%.2f" % a)
        ratios = ""
        if t == "chainvault":
            rs = []
            for other in tools[1:]:
                o = d.get((other, op))
                if not o or med([r[0] for r in o]) <= 0: rs.append("-"); continue
                # The ratio of the medians, then the spread of the per-round ratios (both tools ran
                # in the same round, under the same load) and, for times, the ratio of CPU seconds.
                per = [a[0] / b[0] for a, b in zip(v, o) if b[0] > 0]
                text = "%.3f (%.3f-%.3f)" % (med(x) / med([r[0] for r in o]), min(per), max(per))
                if unit == "s" and med([r[1] for r in o]) > 0:
                    text += " cpu %.3f" % (med([r[1] for r in v]) / med([r[1] for r in o]))
                rs.append(text)
            ratios = "  ".join(rs)
        cpu = "" if unit == "B" else "%.2f" % med([r[1] for r in v])
        rss = "" if unit == "B" else "%.0f" % (med([r[2] for r in v]) / 1024)
        print("%-20s %-11s %12s %25s %8s %9s   %s" % (op, t, fmt(med(x)) + " " + unit,
                                                   fmt(min(x)) + "-" + fmt(max(x)), cpu, rss, ratios))
PY
