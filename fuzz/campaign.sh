#!/usr/bin/env bash
# A fuzzing campaign: long runs of chosen targets, one after another, from frozen binaries,
# each with its dictionary, logged; then the per-run figures as a markdown table, and the
# working corpora minimised for fuzz/seeds/. Run from anywhere; everything lands under
# fuzz/target/campaign/ and fuzz/corpus/ (both git-ignored).
#
#   fuzz/campaign.sh build                    # build every target once, freeze the binaries
#   fuzz/campaign.sh run driver:35 mask:12    # TARGET:MINUTES ..., one at a time, nice 19
#   fuzz/campaign.sh table [LOGDIR]           # markdown rows of every run logged so far
#   fuzz/campaign.sh cmin driver mask         # corpus/T -> target/campaign/cmin/T (merge)
#
# Two cores: start two `run` lanes with different targets (each fuzzer uses one core). The
# frozen binaries do not change under a run when the sources do; `build` again to refresh.
set -euo pipefail
cd "$(dirname "$0")"   # fuzz/
dir=target/campaign
mkdir -p "$dir/bin" "$dir/logs"

dict_for() {
    case "$1" in
        handshake_*) echo handshake.dict ;;
        utf8 | mask) echo "" ;;
        inflate) echo inflate.dict ;;
        driver | event_loop) echo session.dict ;;
        *) echo frame.dict ;;
    esac
}

case "${1:-}" in
build)
    cargo +nightly fuzz build
    for t in $(cargo +nightly fuzz list); do
        cp "target/x86_64-unknown-linux-gnu/release/$t" "$dir/bin/"
    done
    git rev-parse HEAD >"$dir/bin/COMMIT"
    echo "froze $(ls "$dir/bin" | grep -vc COMMIT) targets at $(cat "$dir/bin/COMMIT")"
    ;;
run)
    shift
    for spec in "$@"; do
        t=${spec%%:*}
        minutes=${spec##*:}
        dict=$(dict_for "$t")
        mkdir -p "corpus/$t" "artifacts/$t"
        if [ -d "seeds/$t" ]; then cp -n "seeds/$t"/* "corpus/$t"/ 2>/dev/null || true; fi
        log="$dir/logs/$t.$(date -u +%Y%m%dT%H%M%SZ).log"
        echo "=== $t ${minutes}min dict=${dict:-none} commit=$(cat "$dir/bin/COMMIT")" \
            "corpus_before=$(ls "corpus/$t" | wc -l) start=$(date -u +%FT%TZ)" >"$log"
        rc=0
        nice -n 19 "$dir/bin/$t" -artifact_prefix="artifacts/$t/" ${dict:+-dict=$dict} \
            -max_total_time=$((minutes * 60)) -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 "corpus/$t" >>"$log" 2>&1 || rc=$?
        echo "=== $t rc=$rc corpus_after=$(ls "corpus/$t" | wc -l) end=$(date -u +%FT%TZ)" >>"$log"
        echo "$t: rc=$rc ($log)"
    done
    ;;
table)
    python3 - "${2:-$dir/logs}" <<'PY'
import glob, os, re, sys
total = 0
print("| target | start (UTC) | minutes | executions | execs/s | cov | ft | corpus | finding |")
print("|---|---|---|---|---|---|---|---|---|")
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.log"))):
    text = open(f, errors="replace").read()
    head = re.search(r"=== (\S+) (\d+)min .*start=(\S+)", text)
    stats = re.findall(r"^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+) corp: (\S+).*exec/s: (\d+)", text, re.M)
    if not head or not stats:
        continue
    target, minutes, start = head.groups()
    n, cov, ft, corp, eps = stats[-1]
    done = re.search(r"Done (\d+) runs", text)
    execs = int(done.group(1) if done else n)
    total += execs
    crashed = re.search(r"panicked|deadly signal|AddressSanitizer|libFuzzer: timeout|out-of-memory", text)
    finding = "**yes** (see artifacts)" if crashed else "none"
    print(f"| `{target}` | {start[:16]} | {minutes} | {execs:,} | {eps} | {cov} | {ft} | {corp} | {finding} |")
print(f"\n{total:,} executions in all")
PY
    ;;
cmin)
    shift
    for t in "$@"; do
        dict=$(dict_for "$t")
        out="$dir/cmin/$t"
        rm -rf "$out" && mkdir -p "$out"
        nice -n 10 "$dir/bin/$t" -merge=1 -timeout=10 -rss_limit_mb=2048 ${dict:+-dict=$dict} \
            "$out" "corpus/$t" >"$dir/logs/cmin-$t.txt" 2>&1
        echo "$t: $(ls "corpus/$t" | wc -l) -> $(ls "$out" | wc -l) files, $(cat "$out"/* | wc -c) bytes"
    done
    ;;
*)
    sed -n '2,14p' "$(basename "$0")"
    exit 2
    ;;
esac
