#!/usr/bin/env bash
# Builds and runs one libFuzzer target (or all) for SECONDS each (default 600).
#
#   bash Tests/Fuzz/run.sh http|policy|pack-header|index|tree|era1|snappy|rlp|all [SECONDS]
#
# The library modules are built with the fuzzer and address sanitizers in .build/fuzz, then each
# target file is compiled and linked against them (SwiftPM cannot link a fuzzer executable
# itself). Crashes land in Tests/Fuzz/crashes/<target>/; turn each into a regression test.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${1:?target: http, policy, pack-header, index, tree, era1, snappy, rlp or all}
SECONDS_EACH=${2:-600}
SCRATCH="$ROOT/.build/fuzz"
cd "$ROOT"
swift build -c release --scratch-path "$SCRATCH" --target VaultDaemon -Xswiftc -sanitize=fuzzer,address
BIN="$SCRATCH/release"
MODULES="$BIN/Modules"; [ -d "$MODULES" ] || MODULES="$BIN"
OBJECTS=$(find "$BIN"/VaultCore.build "$BIN"/VaultStorage.build "$BIN"/VaultRepository.build "$BIN"/VaultChain.build "$BIN"/VaultEngine.build "$BIN"/VaultDaemon.build -name '*.o')
targets=("$TARGET"); [ "$TARGET" = all ] && targets=(http policy pack-header index tree era1 snappy rlp)
for t in "${targets[@]}"; do
    exe="$SCRATCH/fuzz-$t"
    # ld.gold warns about every sanitizer symbol it cannot export: shown only when linking fails.
    if ! swiftc -O -sanitize=fuzzer,address -parse-as-library -I "$MODULES" \
        -Xcc -fmodule-map-file="$ROOT/Sources/CZstd/module.modulemap" -Xcc -fmodule-map-file="$ROOT/Sources/COpenSSL/module.modulemap" \
        -Xcc -fmodule-map-file="$ROOT/Sources/CSystem/module.modulemap" \
        "$ROOT/Tests/Fuzz/$t.swift" $OBJECTS -lssl -lcrypto -lzstd -o "$exe" 2>"$SCRATCH/link-$t.log"; then
        cat "$SCRATCH/link-$t.log"; exit 1
    fi
    mkdir -p "$ROOT/Tests/Fuzz/crashes/$t" "$SCRATCH/corpus/$t"
    echo "== $t: $SECONDS_EACH s"
    SWIFT_BACKTRACE=enable=no "$exe" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$ROOT/Tests/Fuzz/crashes/$t/" "$SCRATCH/corpus/$t" "$ROOT/Tests/Fuzz/corpus/$t" 2>&1 \
        | grep -E "^#[0-9]+.*(DONE|pulse)|stat::|ERROR|SUMMARY|crash-|timeout-|Done" | tail -8
done
