#!/usr/bin/env bash
# Many nodes, one bucket (issue 18): NODES simulated nodes (separate processes, --host node1..nodeN,
# sources that share all but 4 MiB of a SIZE-MiB chain directory) back up concurrently into one
# repository on a one-node Ceph RGW (Tests/S3TestSupport/rgw_launcher.py, started and stopped
# here), while a prune host runs `forget --keep-last 1 --prune` and a ninth host restores the seed
# snapshot. A command that finds the repository locked exits 12 and is run again, as a scheduler
# would (each attempt waits up to 2 s itself, --retry-lock); any other failure stops the run. Then
# every node's snapshot is restored and compared byte for byte, and `verify --read-data` runs.
# Prints per-node and total throughput, the attempts each command needed, the repository's size
# against the sum of the sources, the CPU-seconds of chainvault and of the Ceph daemons during
# the concurrent phase, and the load (uptime) before and after. Then a second day: the same new
# data on every node, backed up at once again, and how many copies of it the repository took.
#
#   bash Tests/Benchmarks/many-nodes.sh [SIZE_MIB] [NODES]
# Uses fixed ports 21801-21830: run one at a time (pgrep -a radosgw shows another).
set -euo pipefail
SIZE=${1:-64}; NODES=${2:-8}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV=${CHAINVAULT_BINARY:-$ROOT/.build/release/chainvault}   # another build: CHAINVAULT_BINARY=PATH
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
echo "# RGW up in $(field seconds) s; load before: $(uptime)"
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"
"$CV" demo --generate "$W/base" --size "${SIZE}M" >/dev/null
for i in $(seq 1 "$NODES"); do
    cp -a "$W/base" "$W/node$i"; head -c 4M /dev/urandom > "$W/node$i/unique-$i.dat"
done
"$CV" init >/dev/null
"$CV" backup "$W/base" --host seed >/dev/null
head -c 1M /dev/urandom > "$W/base/seed-extra.dat"
"$CV" backup "$W/base" --host seed >/dev/null   # the prune host forgets the first of these two

# CPU-seconds (user + system) of the Ceph daemons, the launcher's children.
ceph_cpu() {
    local tick total=0 pid
    tick=$(getconf CLK_TCK)
    for pid in $(pgrep -P "$RGW_PID"); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "scale=2; $total / $tick" | bc
}
# scheduled NAME ARGS...: runs chainvault until it exits other than 12 (at most 300 attempts);
# writes NAME.attempts, NAME.seconds, NAME.cpu (user + system of every attempt) and NAME.code.
scheduled() {
    local name=$1 n=0 rc s; shift
    s=$(date +%s.%N)
    while :; do
        n=$((n + 1)); rc=0
        /usr/bin/time -a -o "$W/$name.time" -f "%U %S" "$CV" "$@" --retry-lock 2s > "$W/$name.out" 2> "$W/$name.err" || rc=$?
        [ "$rc" = 12 ] && [ $n -lt 300 ] || break
    done
    echo "$(date +%s.%N) - $s" | bc > "$W/$name.seconds"
    echo "$n" > "$W/$name.attempts"
    awk '{u += $1; s += $2} END {print u + s}' "$W/$name.time" > "$W/$name.cpu"
    echo "$rc" > "$W/$name.code"
    [ "$rc" = 0 ] || { echo "$name exited $rc after $n attempt(s):" >&2; cat "$W/$name.err" >&2; }
}
ceph0=$(ceph_cpu)
t0=$(date +%s.%N)
pids=()
for i in $(seq 1 "$NODES"); do
    scheduled "backup$i" backup "$W/node$i" --host "node$i" & pids+=($!)
done
# Retention is per host and source: of the nodes' one snapshot each nothing goes, of the seed's two the older.
scheduled prune forget --keep-last 1 --prune & others=($!)
scheduled restore restore latest --host seed --target "$W/restored-seed" & others+=($!)
for p in "${pids[@]}"; do wait "$p"; done
t1=$(date +%s.%N)
for p in "${others[@]}"; do wait "$p"; done
t2=$(date +%s.%N)
ceph1=$(ceph_cpu)
echo "# load after: $(uptime)"
failed=0
for r in $(seq 1 "$NODES" | sed 's/^/backup/') prune restore; do [ "$(cat "$W/$r.code")" = 0 ] || failed=1; done
[ $failed = 0 ] || { echo "a command failed (above)"; exit 1; }

total=$(echo "$t1 - $t0" | bc)
src=0; cpu=0
for i in $(seq 1 "$NODES"); do
    bytes=$(du -sb "$W/node$i" | cut -f1); src=$((src + bytes)); t=$(cat "$W/backup$i.seconds")
    printf 'node%-2d %7.1f MiB in %6.2f s: %6.1f MiB/s, %d attempt(s), %5.2f CPU-s\n' "$i" \
        "$(echo "$bytes/1048576" | bc -l)" "$t" "$(echo "$bytes/1048576/$t" | bc -l)" \
        "$(cat "$W/backup$i.attempts")" "$(cat "$W/backup$i.cpu")"
done
for r in $(seq 1 "$NODES" | sed 's/^/backup/') prune restore; do cpu=$(echo "$cpu + $(cat "$W/$r.cpu")" | bc -l); done
printf 'total  %7.1f MiB in %6.2f s: %6.1f MiB/s (%d concurrent backups)\n' "$(echo "$src/1048576" | bc -l)" "$total" \
    "$(echo "$src/1048576/$total" | bc -l)" "$NODES"
printf 'prune: %d attempt(s), %.2f s, %.2f CPU-s; seed restore during the backups: %d attempt(s), %.2f s\n' \
    "$(cat "$W/prune.attempts")" "$(cat "$W/prune.seconds")" "$(cat "$W/prune.cpu")" \
    "$(cat "$W/restore.attempts")" "$(cat "$W/restore.seconds")"
printf 'concurrent phase %.2f s: chainvault %.2f CPU-s, Ceph (mon, osd, radosgw) %.2f CPU-s, of %d cores\n' \
    "$(echo "$t2 - $t0" | bc)" "$cpu" "$(echo "$ceph1 - $ceph0" | bc)" "$(nproc)"
grep -h '^prune' "$W/prune.out" || true

bad=0
diff -r "$W/base" "$W/restored-seed" >/dev/null || { echo "the seed restore differs"; bad=1; }
for i in $(seq 1 "$NODES"); do
    "$CV" restore latest --host "node$i" --target "$W/out$i" >/dev/null
    diff -r "$W/node$i" "$W/out$i" >/dev/null || { echo "node$i: restore differs"; bad=1; }
    rm -rf "$W/out$i"
done
[ $bad = 0 ] && echo "every node's snapshot and the seed's restore byte-identical"
v0=$(date +%s.%N)
"$CV" verify --read-data | tail -1
echo "verify --read-data: $(echo "$(date +%s.%N) - $v0" | bc) s"
repo_bytes() {
    python3 "$ROOT/Tests/S3TestSupport/s3_admin.py" "$(field endpoint)" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" \
        size many repo/ | python3 -c "import json,sys; print(json.load(sys.stdin)['bytes'])"
}
repo=$(repo_bytes)
printf 'repository %.1f MiB for %.1f MiB of sources (%.1f %%); one copy of the shared data and the unique parts: %.1f MiB\n' \
    "$(echo "$repo/1048576" | bc -l)" "$(echo "$src/1048576" | bc -l)" "$(echo "100*$repo/$src" | bc -l)" \
    "$(echo "($(du -sb "$W/base" | cut -f1) + $NODES * 4194304)/1048576" | bc -l)"

# Day 2: the same 16 MiB of new chain data reaches every node, and they back up at once again. No
# backup sees what the others are uploading (each knows the index as it was when it started), so
# this shows how many copies of new shared data concurrent backups store.
head -c 16M /dev/urandom > "$W/day2.dat"
for i in $(seq 1 "$NODES"); do cp "$W/day2.dat" "$W/node$i/day2-blocks.dat"; done
t3=$(date +%s.%N); pids=()
for i in $(seq 1 "$NODES"); do scheduled "day2-$i" backup "$W/node$i" --host "node$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
for i in $(seq 1 "$NODES"); do [ "$(cat "$W/day2-$i.code")" = 0 ] || bad=1; done
grown=$(( $(repo_bytes) - repo ))
printf 'day 2: %d concurrent backups of 16 MiB of new shared data in %.2f s; the repository grew %.1f MiB (%.1f copies)\n' \
    "$NODES" "$(echo "$(date +%s.%N) - $t3" | bc)" "$(echo "$grown/1048576" | bc -l)" "$(echo "$grown/16777216" | bc -l)"
exit $bad
