#!/usr/bin/env bash
# flate2's backends on permessage-deflate's work, one after another, interleaved: builds
# benches/deflate_backends once per backend, runs every backend REPS times (the order rotating
# from one repetition to the next), then prints the tables (ratios relative to zlib-rs in the
# same repetition). See benches/README.md, "permessage-deflate".
#
#   bash benches/deflate_backends/run.sh                  # 3 repetitions, 0.15 s per measurement
#   REPS=1 SECONDS_PER=0.05 bash benches/deflate_backends/run.sh     # a quick pass
#
# Then each backend's heap per compressor and decompressor (deflate_backends memory).
#
# Knobs: REPS (3), SECONDS_PER (0.15: the time each measurement repeats its pass for),
# BACKENDS ("zlib-rs zlib zlib-ng miniz"; zlib-ng is skipped without cmake, zlib without a C
# compiler), BUILD=0 (reuse the binaries). Output: target/deflate_backends/results.txt.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/target/deflate_backends"
REPS="${REPS:-3}"
SECONDS_PER="${SECONDS_PER:-0.15}"
BACKENDS="${BACKENDS:-zlib-rs zlib zlib-ng miniz}"
BUILD="${BUILD:-1}"
mkdir -p "$out/bin"

backends=()
for b in $BACKENDS; do
    if [[ $b == zlib-ng ]] && ! command -v cmake >/dev/null; then
        echo "skipping zlib-ng: libz-ng-sys builds zlib-ng with cmake, which is not installed" >&2
        continue
    fi
    if [[ $b == zlib || $b == zlib-ng ]] && ! command -v cc >/dev/null; then
        echo "skipping $b: no C compiler (cc)" >&2
        continue
    fi
    if [[ $BUILD == 1 ]]; then
        echo "building $b" >&2
        CARGO_TARGET_DIR="$out" cargo build --quiet --release \
            --manifest-path "$here/Cargo.toml" --features "$b"
        cp "$out/release/deflate_backends" "$out/bin/deflate_backends-$b"
    fi
    backends+=("$b")
done

results="$out/results.txt"
: >"$results"
n=${#backends[@]}
for ((rep = 1; rep <= REPS; rep++)); do
    for ((i = 0; i < n; i++)); do
        b=${backends[$(((i + rep - 1) % n))]}
        echo "repetition $rep: $b" >&2
        "$out/bin/deflate_backends-$b" "$SECONDS_PER" "$rep" >>"$results"
    done
done

for b in "${backends[@]}"; do
    "$out/bin/deflate_backends-$b" memory >>"$results"
done

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
    "$REPS repetitions of $SECONDS_PER s per measurement; backends: ${backends[*]}"
echo
"$out/bin/deflate_backends-${backends[0]}" report "$results"
