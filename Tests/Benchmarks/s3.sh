#!/usr/bin/env bash
# Backup and restore of the same generated chain data into a local repository and into S3
# (moto_server on loopback, signature checks on), in one run; prints medians and the S3/local
# ratio. moto is a Python server holding objects in memory, so the S3 figures are a floor for
# the pipeline, not a prediction for AWS.
#
#   bash Tests/Benchmarks/s3.sh [SIZE] [ROUNDS]        (defaults: 2G 3)
#
# CHAINVAULT_S3_CONNECTIONS sets the parallel transfers (default 4).
set -euo pipefail
SIZE=${1:-2G}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV="$ROOT/.build/release/chainvault"
W=${BENCH_DIR:-/tmp/chainvault-s3-bench}
[ -x "$CV" ] || (cd "$ROOT" && swift build -c release >/dev/null)
rm -rf "$W"; mkdir -p "$W"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$ROOT/Tests/S3TestSupport/moto_launcher.py" $$ "$PORT" bench > "$W/moto.json" &
trap 'kill %1 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 120); do [ -s "$W/moto.json" ] && break; sleep 0.5; done
[ -s "$W/moto.json" ] || { echo "moto_server did not start (pip install 'moto[server]' boto3)"; exit 1; }
export AWS_ACCESS_KEY_ID=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['access_key'])" "$W/moto.json")
export AWS_SECRET_ACCESS_KEY=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['secret_key'])" "$W/moto.json")
export AWS_REGION=us-east-1
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"
"$CV" demo --generate "$W/data" --size "$SIZE" >/dev/null
BYTES=$(du -sb "$W/data" | cut -f1)
MOTO_PID=$(pgrep -f -- "-p $PORT" | head -1)
# CPU seconds the S3 server has used so far: whether it, not chainvault, is the bottleneck.
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$MOTO_PID/stat"; }
RESULTS="$W/results.tsv"; : > "$RESULTS"

measure() { # WHERE OP CMD...
    local where=$1 op=$2; shift 2
    find "$W/data" -type f -exec cat {} + >/dev/null
    sync
    local before; before=$(server_cpu)
    /usr/bin/time -f "%e %M" -o "$W/time.out" "$@" >/dev/null 2>"$W/err.out" || { echo "FAILED: $where $op"; cat "$W/err.out"; exit 1; }
    read -r wall rss < "$W/time.out"
    echo -e "$where\t$op\t$wall\t$rss\t$(echo "$(server_cpu) - $before" | bc)" >> "$RESULTS"
}

for round in $(seq 1 "$ROUNDS"); do
    echo "round $round of $ROUNDS"
    for where in local s3; do
        if [ $where = local ]; then repo="$W/repo-$round"; else repo="s3:http://127.0.0.1:$PORT/bench/round-$round"; fi
        "$CV" init --repo "$repo" --key-file "$W/key" --quiet
        measure $where backup "$CV" backup "$W/data" --repo "$repo" --key-file "$W/key" --quiet
        rm -rf "$W/out"
        measure $where restore "$CV" restore latest --target "$W/out" --repo "$repo" --key-file "$W/key" --quiet
        rm -rf "$W/out" "$W/repo-$round"
    done
done

python3 - "$RESULTS" "$BYTES" <<'PY'
import sys, statistics
from collections import defaultdict
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
size = int(sys.argv[2]); d = defaultdict(list)
for where, op, wall, rss, server in rows: d[(where, op)].append((float(wall), int(rss), float(server)))
print("\n%-8s %-6s %8s %9s %9s %10s %12s  %s" % ("op", "where", "wall s", "MB/s", "RSS MiB", "s3/local", "server CPU", "each round"))
for op in ["backup", "restore"]:
    local = statistics.median(x[0] for x in d[("local", op)])
    for where in ["local", "s3"]:
        v = d[(where, op)]; wall = statistics.median(x[0] for x in v); rss = statistics.median(x[1] for x in v) / 1024
        server = statistics.median(x[2] for x in v)
        print("%-8s %-6s %8.2f %9.1f %9.1f %9.2fx %10.0f%%  %s" % (op, where, wall, size / 1e6 / wall, rss, wall / local, 100 * server / wall,
                                                               " ".join("%.2f" % x[0] for x in v)))
print("server CPU: the S3 server's CPU time as a share of the wall time (100% = one core busy: the server is the limit)")
PY
