#!/usr/bin/env bash
# One huge file: back up, verify and restore a single SIZE-GiB file (default 50) with every block
# written (no holes), and report wall time, throughput and peak RSS of each step next to a 1 GiB
# run, so any growth with the file size shows. The restored file is compared by SHA-256 with the
# one generated; everything is deleted at the end.
#
# The data: each 4 KiB page is 256 random bytes and 3,840 bytes of node log text, so every chunk
# is unique (no dedup) while the repository stays ~1/16 of the file: 50 GiB of source, ~3.3 GiB
# of repository and the 50 GiB restore fit a 64 GiB disk (the source is deleted before the
# restore; its hash was taken while it was written).
#
#   bash Tests/Benchmarks/bigfile.sh [SIZE_GIB]
set -euo pipefail
SIZE=${1:-50}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV="$ROOT/.build/release/chainvault"
W=${BENCH_DIR:-/var/tmp/chainvault-bigfile}
[ -x "$CV" ] || (cd "$ROOT" && swift build -c release >/dev/null)
rm -rf "$W"; mkdir -p "$W"; trap 'rm -rf "$W"' EXIT
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"

generate() { # PATH BYTES: writes the file, prints its SHA-256
    python3 - "$1" "$2" <<'PY'
import hashlib, os, sys
path, size = sys.argv[1], int(sys.argv[2])
text = (b"UpdateTip: new best=000000000000000000026c4f height=812345 version=0x20000000 "
        b"log2_work=94.3 tx=912345678 progress=1.000000 cache=512.0MiB(3817441txo)\n" * 40)[:3840]
h = hashlib.sha256()
with open(path, "wb", buffering=0) as f:
    left = size
    while left > 0:
        r = os.urandom(65536)
        block = b"".join(r[i * 256:(i + 1) * 256] + text for i in range(256))[:left]
        f.write(block)
        h.update(block)
        left -= len(block)
    os.fsync(f.fileno())
print(h.hexdigest())
PY
}

sha() { python3 -c 'import hashlib,sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    while b := f.read(1 << 22): h.update(b)
print(h.hexdigest())' "$1"; }

source "$(dirname "$0")/measure.sh"

results=()
for gib in 1 "$SIZE"; do
    rm -rf "$W/src" "$W/repo" "$W/out"; mkdir -p "$W/src"
    bytes=$((gib << 30))
    echo "generating $gib GiB..." >&2
    want=$(generate "$W/src/huge.dat" "$bytes")
    blocks=$(stat -c '%b' "$W/src/huge.dat")
    [ $((blocks * 512)) -ge "$bytes" ] || { echo "the generated file has holes" >&2; exit 1; }
    sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
    "$CV" init --repo "$W/repo" --key-file "$W/key" --quiet
    results+=("$gib $(measure backup "$CV" backup "$W/src" --repo "$W/repo" --key-file "$W/key" --json)")
    chunks=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["chunksNew"])' "$W/stdout")
    repo_bytes=$(du -sb "$W/repo" | cut -f1)
    rm -rf "$W/src" # room for the restore: the hash above is the reference
    results+=("$gib $(measure verify "$CV" verify --read-data --repo "$W/repo" --key-file "$W/key" --quiet)")
    results+=("$gib $(measure restore "$CV" restore latest --target "$W/out" --repo "$W/repo" --key-file "$W/key" --quiet)")
    got=$(sha "$W/out/huge.dat")
    [ "$got" = "$want" ] || { echo "RESTORED FILE DIFFERS: $got != $want" >&2; exit 1; }
    echo "$gib GiB: restored file identical (sha256 $want), repository $repo_bytes bytes, $chunks chunks" >&2
    results+=("$gib repo-bytes $repo_bytes 0")
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
print("%6s %-9s %9s %10s %10s" % ("GiB", "step", "wall s", "MB/s", "peak MiB"))
for gib, op, wall, rss in rows:
    if op == "repo-bytes":
        print("%6s repository %d bytes (%.1f%% of the file)" % (gib, int(wall), 100.0 * int(wall) / (int(gib) << 30)))
        continue
    mbs = (int(gib) << 30) / 1e6 / max(float(wall), 0.01)
    print("%6s %-9s %9.1f %10.0f %10.1f" % (gib, op, float(wall), mbs, int(rss) / 1024))
'
