#!/usr/bin/env bash
# Many nodes, one bucket (issue 18): 8 simulated nodes (separate processes, --host node1..node8,
# sources that share all but 4 MiB of a SIZE-MiB chain directory) back up concurrently into one
# repository on a one-node Ceph RGW (Tests/S3TestSupport/rgw_launcher.py, started and stopped
# here), while a prune host runs `forget --keep-last 1 --prune` (retried while the backups hold
# their shared locks) and a ninth host restores the seed snapshot. Then every node's snapshot is
# restored and compared byte for byte, and `verify --read-data` runs. Prints per-node and total
# throughput, the repository's size against the sum of the sources, and the prune's attempts.
#
#   bash Tests/Benchmarks/many-nodes.sh [SIZE_MIB] [NODES]
set -euo pipefail
SIZE=${1:-64}; NODES=${2:-8}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV="$ROOT/.build/release/chainvault"
[ -x "$CV" ] || (cd "$ROOT" && swift build -c release >/dev/null)
W=$(mktemp -d /var/tmp/chainvault-many-nodes.XXXXXX)
mkdir "$W/ceph"
coproc RGW { exec python3 "$ROOT/Tests/S3TestSupport/rgw_launcher.py" $$ "$W/ceph" 21801 21802 21810 21830 memstore; }
cleanup() { exec {RGW[1]}>&- 2>/dev/null || true; wait "$RGW_PID" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
trap "exit 130" INT TERM
read -r info <&"${RGW[0]}"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$info" "$1"; }
echo "bucket many" >&"${RGW[1]}"; read -r _ <&"${RGW[0]}"
export AWS_ACCESS_KEY_ID=$(field access_key) AWS_SECRET_ACCESS_KEY=$(field secret_key) AWS_REGION=us-east-1
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent CHAINVAULT_REPOSITORY="s3:$(field endpoint)/many/repo"
export CHAINVAULT_KEY_FILE="$W/key"
echo "# RGW up in $(field seconds) s"
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"
"$CV" demo --generate "$W/base" --size "${SIZE}M" >/dev/null
for i in $(seq 1 "$NODES"); do
    cp -a "$W/base" "$W/node$i"; head -c 4M /dev/urandom > "$W/node$i/unique-$i.dat"
done
"$CV" init >/dev/null
"$CV" backup "$W/base" --host seed >/dev/null
head -c 1M /dev/urandom > "$W/base/seed-extra.dat"
"$CV" backup "$W/base" --host seed >/dev/null   # the prune host forgets the first of these two
now() { date +%s.%N; }
t0=$(now)
for i in $(seq 1 "$NODES"); do
    # A backup that meets the prune's exclusive lock exits 12 (locked) and is run again, as a scheduler would.
    ( s=$(now); n=1; until "$CV" backup "$W/node$i" --host "node$i" --json > "$W/backup$i.json" 2>"$W/backup$i.err"; do
          grep -q 'locked' "$W/backup$i.err" && [ $n -lt 300 ] || { cat "$W/backup$i.err" >&2; echo fail > "$W/time$i"; exit 1; }
          n=$((n+1)); sleep 1; done
      echo "$(echo "$(now) - $s" | bc)" > "$W/time$i"; echo "$n" > "$W/attempts$i" ) &
done
( "$CV" restore latest --host seed --target "$W/restored-seed" >/dev/null; diff -r "$W/base" "$W/restored-seed" >/dev/null && echo ok > "$W/seed-restore" ) &
# Retention is per host and source: of the nodes' one snapshot each nothing goes, of the seed's two the older.
( n=1; until "$CV" forget --keep-last 1 --prune >/dev/null 2>"$W/prune.err"; do
      grep -q 'locked' "$W/prune.err" && [ $n -lt 300 ] || { cat "$W/prune.err" >&2; exit 1; }
      n=$((n+1)); sleep 1; done
  echo "$n" > "$W/prune-attempts" ) &
wait_backups() { for i in $(seq 1 "$NODES"); do while [ ! -s "$W/time$i" ]; do sleep 0.2; done; done; }
wait_backups; t1=$(now)
wait
total=$(echo "$t1 - $t0" | bc)
src=0
for i in $(seq 1 "$NODES"); do
    bytes=$(du -sb "$W/node$i" | cut -f1); src=$((src + bytes)); t=$(cat "$W/time$i")
    printf 'node%-2d %6.1f MiB in %6.2f s: %6.1f MiB/s\n' "$i" "$(echo "$bytes/1048576" | bc -l)" "$t" "$(echo "$bytes/1048576/$t" | bc -l)"
done
printf 'total  %6.1f MiB in %6.2f s: %6.1f MiB/s (8 concurrent backups)\n' "$(echo "$src/1048576" | bc -l)" "$total" "$(echo "$src/1048576/$total" | bc -l)"
echo "prune attempts until it got its exclusive lock: $(cat "$W/prune-attempts"); seed restore during the backups: $(cat "$W/seed-restore" 2>/dev/null || echo FAILED)"
bad=0
for i in $(seq 1 "$NODES"); do
    "$CV" restore latest --host "node$i" --target "$W/out$i" >/dev/null
    diff -r "$W/node$i" "$W/out$i" >/dev/null || { echo "node$i: restore differs"; bad=1; }
    rm -rf "$W/out$i"
done
[ $bad = 0 ] && echo "every node's snapshot restores byte-identical"
"$CV" verify --read-data | tail -1
repo=$(python3 - "$(field endpoint)" <<'PY'
import boto3, os, sys
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
print(sum(o["Size"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="many", Prefix="repo/") for o in p.get("Contents", [])))
PY
)
printf 'repository %.1f MiB for %.1f MiB of sources (%.1f %%)\n' "$(echo "$repo/1048576" | bc -l)" "$(echo "$src/1048576" | bc -l)" "$(echo "100*$repo/$src" | bc -l)"
exit $bad
