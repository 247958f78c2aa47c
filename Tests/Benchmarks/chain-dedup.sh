#!/usr/bin/env bash
# Cross-node dedup of obfuscated block files (issue 13): two regtest nodes with the same BLOCKS
# blocks (same seed, ~1 MB each, 128 MiB files) and different xor.dat keys, the active files
# preallocated as Bitcoin Core leaves them, backed up into one repository. Prints what the second
# node adds (goal: <= 5 % of its block bytes), what a third key adds when stored as is
# (--chain none: what chainvault did before the transform), and checks that the second node
# restores byte-identical.
#
#   bash Tests/Benchmarks/chain-dedup.sh [BLOCKS]      (default 300: ~300 MB per node)
set -euo pipefail
BLOCKS=${1:-300}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CV=${CHAINVAULT_BINARY:-"$ROOT/.build/release/chainvault"}
W=${BENCH_DIR:-$(mktemp -d /var/tmp/chainvault-chain-dedup.XXXXXX)}
[ -x "$CV" ] || (cd "$ROOT" && swift build -c release >/dev/null)
mkdir -p "$W"; trap 'rm -rf "$W"' EXIT
export CHAINVAULT_REPOSITORY="$W/repo" CHAINVAULT_STATE_DIRECTORY="$W/state"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$W/key"; chmod 600 "$W/key"
export CHAINVAULT_KEY_FILE="$W/key"
repo() { du -sb "$W/repo" | cut -f1; }
# The chain's own bytes: the files without their preallocated zero tails.
records() { python3 - "$1" <<'PY'
import os, sys
d = sys.argv[1] + "/blocks"; total = 0
for n in os.listdir(d):
    if n.endswith(".dat") and n != "xor.dat":
        b = open(os.path.join(d, n), "rb").read(); total += len(b.rstrip(b"\0"))
print(total)
PY
}

"$CV" init >/dev/null
"$CV" chain generate "$W/a" --blocks "$BLOCKS" --key 95473930f3680c28 --preallocate >/dev/null
"$CV" chain generate "$W/b" --blocks "$BLOCKS" --key 11e27c059a3bd460 --preallocate >/dev/null
"$CV" chain generate "$W/c" --blocks "$BLOCKS" --key 5a00812f00c713ee --preallocate >/dev/null
bytes=$(records "$W/b")
r0=$(repo); "$CV" backup "$W/a" --quiet >/dev/null; r1=$(repo)
"$CV" backup "$W/b" --quiet >/dev/null; r2=$(repo)
"$CV" backup "$W/c" --chain none --quiet >/dev/null; r3=$(repo)
"$CV" restore latest --source "$W/b" --target "$W/restored-b" >/dev/null
diff -r "$W/b" "$W/restored-b" >/dev/null || { echo "node b did not restore byte-identical" >&2; exit 1; }
printf 'first node: %d MB of block records stored as %d MB\n' $((bytes / 1000000)) $(((r1 - r0) / 1000000))
printf 'second node (another key): %d bytes added for %d MB of block records = %.3f %% (goal <= 5 %%)\n' \
    $((r2 - r1)) $((bytes / 1000000)) "$(echo "($r2 - $r1) * 100 / $bytes" | bc -l)"
printf 'third node stored as is (--chain none): %d MB added = %.1f %%\n' $(((r3 - r2) / 1000000)) \
    "$(echo "($r3 - $r2) * 100 / $bytes" | bc -l)"
echo "second node restored byte-identical; load: $(cut -d' ' -f1-3 /proc/loadavg)"
