#!/usr/bin/env bash
# The cost of a first backup's size walk (SizeWalk, issue 15): first backups of a tree of FILES
# small files (default 500,000) and of one of 1 GiB in 64 MiB random files, with the walk
# (progress lines asked for: `--progress-interval 1h`) and without it (`--no-progress`: nobody
# shows a total, so no walk runs), by this build, alternated, RUNS times each (default 3);
# prints the median wall time of each and the difference, and the load.
#
#   bash Tests/Benchmarks/size-walk.sh [FILES] [RUNS]
set -euo pipefail
FILES=${1:-500000}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV=${CHAINVAULT_BINARY:-$ROOT/.build/release/chainvault}
W=${BENCH_DIR:-$(mktemp -d /tmp/chainvault-size-walk.XXXXXX)}
[ -x "$CV" ] || (cd "$ROOT" && swift build -c release >/dev/null)
mkdir -p "$W"; trap 'rm -rf "$W"' EXIT
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"
source "$(dirname "$0")/measure.sh"

python3 - "$W/small" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%04d" % (i // 1000))
    if i % 1000 == 0: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%07d" % i), "wb") as f: f.write(os.urandom(64 + i % 512))
PY
mkdir -p "$W/big"
for i in $(seq 1 16); do head -c $((64 << 20)) /dev/urandom > "$W/big/f$i"; done

rows=()
for tree in small big; do
    for run in $(seq 1 "$RUNS"); do
        for which in new old; do
            progress=(--progress-interval 1h); [ "$which" = old ] && progress=(--no-progress)
            rm -rf "$W/repo"
            "$CV" init --repo "$W/repo" --key-file "$W/key" --quiet
            rows+=("$tree $which $(measure "$tree-$which" "$CV" backup "$W/$tree" --repo "$W/repo" --key-file "$W/key" "${progress[@]}")")
            uptime >&2
        done
    done
done
printf '%s\n' "${rows[@]}" | python3 -c '
import sys, statistics
t = {}
for tree, which, label, wall, rss in (l.split() for l in sys.stdin if l.strip()):
    t.setdefault((tree, which), []).append(float(wall))
for tree in ("small", "big"):
    new, old = statistics.median(t[(tree, "new")]), statistics.median(t[(tree, "old")])
    print("%-6s first backup: with walk %.2f s, without %.2f s (median of %d): %+.1f %%" % (tree, new, old, len(t[(tree, "new")]), 100 * (new - old) / old))
'
