#!/usr/bin/env bash
# Memory at scale: back up, restore, verify and prune a tree of FILES small files (default
# 1,000,000), and report wall time and peak RSS of each step, with RSS per file over a 10,000-file baseline, so
# growth with the file count shows (it should only be the index and the current directory).
# Every file (64 to 575 bytes) is one chunk and one index entry, so the last column is also the
# memory per chunk: the in-memory index's budget is 64 bytes per chunk (issue 17).
#
#   bash Tests/Benchmarks/scale.sh [FILES]
#   CHAINVAULT=/path/to/other/chainvault bash Tests/Benchmarks/scale.sh [FILES]   # another build
set -euo pipefail
FILES=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV=${CHAINVAULT:-"$ROOT/.build/release/chainvault"}
W=${BENCH_DIR:-$(mktemp -d /tmp/chainvault-scale.XXXXXX)}
[ -x "$CV" ] || (cd "$ROOT" && swift build -c release >/dev/null)
rm -rf "$W"; mkdir -p "$W"; trap 'rm -rf "$W"' EXIT
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"

make_tree() { # DIR COUNT: 1,000 files per directory, 64 to 575 bytes each
    python3 - "$1" "$2" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%04d" % (i // 1000))
    if i % 1000 == 0: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%07d" % i), "wb") as f: f.write(os.urandom(64 + i % 512))
PY
}

source "$(dirname "$0")/measure.sh"

results=()
for n in 10000 "$FILES"; do
    rm -rf "$W/src" "$W/repo" "$W/out"
    make_tree "$W/src" "$n"
    "$CV" init --repo "$W/repo" --key-file "$W/key" --quiet
    results+=("$n $(measure backup "$CV" backup "$W/src" --repo "$W/repo" --key-file "$W/key" --quiet)")
    results+=("$n $(measure backup-unchanged "$CV" backup "$W/src" --repo "$W/repo" --key-file "$W/key" --quiet)")
    results+=("$n $(measure restore "$CV" restore latest --target "$W/out" --repo "$W/repo" --key-file "$W/key" --quiet)")
    results+=("$n $(measure verify "$CV" verify --read-data --repo "$W/repo" --key-file "$W/key" --quiet)")
    # Two snapshots of one tree: prune keeps everything, and still reads, marks and rewrites the
    # whole index (the step whose memory once grew with the repository: one index file for it all).
    results+=("$n $(measure prune "$CV" forget --keep-last 1 --prune --repo "$W/repo" --key-file "$W/key" --quiet)")
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
base = {op: int(rss) for n, op, wall, rss in rows if n == "10000"}
print("%10s %-17s %9s %11s %22s" % ("files", "step", "wall s", "peak MiB", "bytes/chunk above 10k"))
for n, op, wall, rss in rows:
    extra = (int(rss) - base[op]) * 1024 / (int(n) - 10000) if int(n) > 10000 else 0
    print("%10s %-17s %9.1f %11.1f %22.0f" % (n, op, float(wall), int(rss) / 1024, extra))
'
