#!/usr/bin/env bash
# Loopback echo benchmark: rfc6455's echo server next to tungstenite, fastwebsockets and a
# raw TCP echo (the ceiling), driven by examples/loadgen over 127.0.0.1.
#
#   bash benches/loopback.sh                       # the whole matrix, 3 repetitions
#   REPS=1 SECONDS=1 CELLS="16:1:1 1024:64:16:mixed" bash benches/loopback.sh   # a quick pass
#
# Knobs (environment):
#   REPS=3            repetitions; each repetition runs every cell on every server once
#   SECONDS=2         measured seconds per run (whole seconds; RUN_SECONDS=1.5 takes fractions)
#   WARMUP=0.5        seconds of traffic before the window opens
#   CELLS="..."       cells as SIZE:CONNS:DEPTH[:KIND] (KIND binary|text|mixed, binary if left
#                     out); the default is sizes 16 B, 1 KiB, 64 KiB, 1 MiB x connections 1, 64,
#                     1000 x depth 1, 16 in binary, plus three cells of mixed UTF-8 text
#   SERVERS="rfc6455 tungstenite fastwebsockets raw"; any other NAME runs the binary in
#                     BIN_NAME, e.g. SERVERS="rfc6455 before raw" BIN_before=/tmp/old/echo_server
#   MAX_INFLIGHT_MB=256  cells whose messages in flight (size x conns x depth) exceed this are
#                     skipped, and said so: the servers would hold several times as much
#   THREADS=1         loadgen event-loop threads (1 or 2)
#   PIN=split         split (server on CPU 0, loadgen on CPU 1) | none | same (both on CPU 0)
#   BUILD=1           BUILD=0 skips the release build
#
# Each run starts its server fresh on a free port, runs the load generator against it under a
# timeout, and stops the server by its PID. The order of the servers rotates from one
# repetition to the next. Results: target/loopback/results.csv (one row per run), logs in
# target/loopback/logs/, and on stdout the ratio of each server's messages/s to the raw
# echo's, per repetition, then a markdown table (medians over the repetitions) with the
# geometric mean of the ratios over the cells.

# Bash counts SECONDS up from the value it found in the environment: read it first.
started_at_seconds=$SECONDS
set -euo pipefail

if [[ -n "${RUN_SECONDS:-}" ]]; then
    run_seconds=$RUN_SECONDS
elif ((started_at_seconds > 0)); then
    run_seconds=$started_at_seconds
else
    run_seconds=2
fi
reps=${REPS:-3}
warmup=${WARMUP:-0.5}
servers=${SERVERS:-"rfc6455 tungstenite fastwebsockets raw"}
max_inflight_mb=${MAX_INFLIGHT_MB:-256}
threads=${THREADS:-1}

default_cells=""
for size in 16 1024 65536 1048576; do
    for conns in 1 64 1000; do
        for depth in 1 16; do
            default_cells+="$size:$conns:$depth "
        done
    done
done
default_cells+="1024:1:16:mixed 1024:64:16:mixed 65536:1:16:mixed"
cells=${CELLS:-$default_cells}

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
bin=$target/release/examples
out=$target/loopback
logs=$out/logs
csv=$out/results.csv
mkdir -p "$logs"

log() { printf '%s\n' "$*" >&2; }

binary_for() {
    case $1 in
        rfc6455) echo "$bin/echo_server" ;;
        tungstenite) echo "$bin/bench_tungstenite_echo" ;;
        fastwebsockets) echo "$bin/bench_fastwebsockets_echo" ;;
        raw) echo "$bin/bench_raw_echo" ;;
        *)  # any other name: the binary in BIN_<name> (an A/B run against an older build)
            local var="BIN_$1"
            if [[ $1 =~ ^[A-Za-z0-9_]+$ && -n ${!var:-} ]]; then echo "${!var}"; else log "unknown server $1 (no BIN_$1)"; exit 2; fi ;;
    esac
}
for server in $servers; do binary_for "$server" >/dev/null; done
[[ " $servers " == *" raw "* ]] || { log "SERVERS must include raw: ratios are to the raw echo"; exit 2; }

size_label() {
    local size=$1
    if ((size >= 1048576 && size % 1048576 == 0)); then echo "$((size / 1048576))MiB"
    elif ((size >= 1024 && size % 1024 == 0)); then echo "$((size / 1024))KiB"
    else echo "${size}B"; fi
}

# --- build ----------------------------------------------------------------------------------
if [[ "${BUILD:-1}" != 0 ]]; then
    log "building the examples (release)..."
    (cd "$root" && timeout 1800 cargo build --release --quiet --example loadgen \
        --example echo_server --example bench_raw_echo --example bench_tungstenite_echo \
        --example bench_fastwebsockets_echo)
fi
for server in $servers; do [[ -x $(binary_for "$server") ]] || { log "missing $(binary_for "$server")"; exit 1; }; done
[[ -x $bin/loadgen ]] || { log "missing $bin/loadgen"; exit 1; }

# --- cells ----------------------------------------------------------------------------------
run_cells=()
max_conns=1
for cell in $cells; do
    IFS=: read -r size conns depth kind <<<"$cell"
    kind=${kind:-binary}
    if ! [[ $size =~ ^[0-9]+$ && $conns =~ ^[0-9]+$ && $depth =~ ^[0-9]+$ ]] ||
        ! [[ $kind =~ ^(binary|text|mixed)$ ]]; then
        log "bad cell '$cell' (SIZE:CONNS:DEPTH[:KIND])"; exit 2
    fi
    inflight_mb=$((size * conns * depth / 1048576))
    if ((inflight_mb > max_inflight_mb)); then
        log "skipped $(size_label "$size") x $conns conns x depth $depth: ${inflight_mb} MiB in flight > MAX_INFLIGHT_MB=$max_inflight_mb"
        continue
    fi
    run_cells+=("$size:$conns:$depth:$kind")
    ((conns > max_conns)) && max_conns=$conns
done
((${#run_cells[@]} > 0)) || { log "no cell to run"; exit 2; }

# A thousand connections are a thousand descriptors on each side (and the server inherits
# this shell's limit).
want_fds=$((max_conns * 2 + 256))
if (($(ulimit -n) < want_fds)); then
    ulimit -n "$want_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    (($(ulimit -n) >= want_fds)) || log "warning: ulimit -n is $(ulimit -n), below $want_fds"
fi

# PIN: where the server and the load generator run. `split` (the default) puts the server
# (all its threads) on CPU 0 and the load generator on CPU 1, as a server and its clients on
# different machines would be. `none` leaves it to the scheduler, which on this machine puts
# them sometimes on one core (where a client and a server wake each other for free, like
# coroutines: up to 4x the rate with one connection) and sometimes on two, switching from one
# run to the next; ratios between runs in different modes mean nothing. `same` puts both on
# CPU 0 (one core for everything: a measure of CPU cost rather than of speed).
pin_server=()
pin_client=()
case ${PIN:-split} in
    none) ;;
    split) pin_server=(taskset -c 0) pin_client=(taskset -c 1) ;;
    same) pin_server=(taskset -c 0) pin_client=(taskset -c 0) ;;
    *) log "PIN is none, split or same"; exit 2 ;;
esac
if ((${#pin_server[@]} > 0)) && ! command -v taskset >/dev/null; then
    log "PIN=${PIN} needs taskset"; exit 2
fi

# --- one run --------------------------------------------------------------------------------
server_pid=""
stop_server() {
    [[ -n $server_pid ]] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 30); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

echo "rep,cell,server,kind,size,conns,depth,msgs_per_s,p50_us,p99_us,cpu_us_per_msg,client_cpu_us_per_msg,verified,error" >"$csv"
failures=0

field() { sed -n "s/^RESULT.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# run_one REP SERVER SIZE CONNS DEPTH KIND: one fresh server, one loadgen run, one CSV row.
run_one() {
    local rep=$1 server=$2 size=$3 conns=$4 depth=$5 kind=$6
    local cell
    cell="$(size_label "$size")-c$conns-d$depth-$kind"
    local base=$logs/$rep-$cell-$server
    : >"$base.server.out"
    ${pin_server[@]+"${pin_server[@]}"} "$(binary_for "$server")" 127.0.0.1:0 \
        >"$base.server.out" 2>"$base.server.err" &
    server_pid=$!
    local url=""
    for _ in $(seq 100); do
        url=$(sed -n 's/^listening on \(ws:\/\/[^ ]*\).*/\1/p' "$base.server.out" | head -1 || true)
        [[ -n $url ]] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    local line="" human=""
    if [[ -z $url ]]; then
        line="RESULT server=$server msgs_per_s=0 verified=false error=\"server did not start\""
    else
        local raw=()
        [[ $server == raw ]] && raw=(--raw)
        # Connect (<=10 s) + warm-up + window + close (<=5 s), and a margin.
        local limit
        limit=$(awk -v w="$warmup" -v s="$run_seconds" 'BEGIN { printf "%d", w + s + 30 }')
        timeout -k 5 "$limit" ${pin_client[@]+"${pin_client[@]}"} "$bin/loadgen" --url "$url/" --connections "$conns" \
            --depth "$depth" --size "$size" --kind "$kind" --seconds "$run_seconds" \
            --warmup "$warmup" --threads "$threads" --server-pid "$server_pid" \
            --name "$server" "${raw[@]}" >"$base.loadgen" 2>&1 || true
        line=$(grep '^RESULT ' "$base.loadgen" | head -1 || true)
        human=$(grep -v '^RESULT ' "$base.loadgen" | tail -1 || true)
        [[ -n $line ]] || line="RESULT server=$server msgs_per_s=0 verified=false error=\"loadgen gave no result (timeout?)\""
    fi
    stop_server
    local verified error
    verified=$(field verified "$line")
    error=$(sed -n 's/.* error="\(.*\)"$/\1/p' <<<"$line" | tr -d '\n' | tr ',' ';')
    if [[ $verified != true ]]; then
        failures=$((failures + 1))
        log "  FAILED $server $cell: ${error:-?} (logs: $base.*)"
    else
        log "  $human"
    fi
    echo "$rep,$cell,$server,$kind,$size,$conns,$depth,$(field msgs_per_s "$line"),$(field p50_us "$line"),$(field p99_us "$line"),$(field cpu_us_per_msg "$line"),$(field client_cpu_us_per_msg "$line"),${verified:-false},$error" >>"$csv"
}

# --- ratios ---------------------------------------------------------------------------------
# Per repetition: each server's msgs/s over the raw echo's in the same cell and repetition.
print_rep_ratios() {
    local rep=$1
    awk -F, -v rep="$rep" -v servers="$servers" '
        NR > 1 && $1 == rep && $13 == "true" { rate[$2 "," $3] = $8; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
        END {
            ns = split(servers, s, " ")
            printf "\nrepetition %s: msgs/s relative to raw TCP\n| cell |", rep
            for (j = 1; j <= ns; j++) if (s[j] != "raw") printf " %s |", s[j]
            printf " raw msgs/s |\n|---|"
            for (j = 1; j <= ns; j++) if (s[j] != "raw") printf "---|"
            printf "---|\n"
            for (i = 1; i <= n; i++) {
                c = order[i]; raw = rate[c ",raw"]
                printf "| %s |", c
                for (j = 1; j <= ns; j++) if (s[j] != "raw") {
                    r = rate[c "," s[j]]
                    if (raw > 0 && r != "") printf " %.2f |", r / raw; else printf " - |"
                }
                if (raw > 0) printf " %d |\n", raw; else printf " - |\n"
            }
        }' "$csv"
}

# Over all repetitions: medians per cell, geometric means over the cells.
print_summary() {
    awk -F, -v servers="$servers" -v reps="$reps" -v secs="$run_seconds" '
        function median(key,   k, m, v, i, j, t) {
            m = cnt[key]; if (m == 0) return ""
            for (i = 1; i <= m; i++) v[i] = val[key, i]
            for (i = 2; i <= m; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
            return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
        }
        function add(key, x) { cnt[key]++; val[key, cnt[key]] = x }
        NR > 1 && $13 == "true" {
            if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
            rate[$1, $2, $3] = $8
            if ($11 != "NA" && $11 != "") add("cpu," $2 "," $3, $11)
            add("p99," $2 "," $3, $10)
        }
        END {
            ns = split(servers, s, " ")
            for (i = 1; i <= n; i++) {
                c = order[i]
                for (r = 1; r <= reps; r++) {
                    raw = rate[r, c, "raw"]
                    for (j = 1; j <= ns; j++) {
                        x = rate[r, c, s[j]]
                        if (x != "") add("rate," c "," s[j], x)
                        if (raw > 0 && x != "" && s[j] != "raw") add("ratio," c "," s[j], x / raw)
                    }
                }
            }
            printf "\n## msgs/s relative to raw TCP (median of %s repetitions, %s s each)\n\n", reps, secs
            printf "| cell | raw msgs/s |"
            for (j = 1; j <= ns; j++) if (s[j] != "raw") printf " %s |", s[j]
            printf " server CPU µs/msg ("
            for (j = 1; j <= ns; j++) printf "%s%s", (j > 1 ? " / " : ""), s[j]
            printf ") |\n|---|---:|"
            for (j = 1; j <= ns; j++) if (s[j] != "raw") printf "---:|"
            printf "---|\n"
            for (i = 1; i <= n; i++) {
                c = order[i]
                printf "| %s | %s |", c, (median("rate," c ",raw") == "" ? "-" : sprintf("%.0f", median("rate," c ",raw")))
                for (j = 1; j <= ns; j++) if (s[j] != "raw") {
                    m = median("ratio," c "," s[j])
                    if (m == "") printf " - |"; else { printf " %.2f |", m; lsum[s[j]] += log(m); lcnt[s[j]]++ }
                }
                sep = " "
                for (j = 1; j <= ns; j++) {
                    m = median("cpu," c "," s[j])
                    printf "%s%s", sep, (m == "" ? "-" : sprintf("%.2f", m)); sep = " / "
                }
                printf " |\n"
            }
            printf "| **geometric mean** | |"
            for (j = 1; j <= ns; j++) if (s[j] != "raw") {
                if (lcnt[s[j]] > 0) printf " **%.2f** |", exp(lsum[s[j]] / lcnt[s[j]]); else printf " - |"
            }
            printf " |\n"
        }' "$csv"
}

# --- the matrix -----------------------------------------------------------------------------
read -r -a server_list <<<"$servers"
log "cells: ${run_cells[*]}"
log "servers: $servers; $reps repetition(s) of $run_seconds s (+$warmup s warm-up); loadgen threads: $threads; PIN=${PIN:-split}"
for ((rep = 1; rep <= reps; rep++)); do
    # Rotate the order of the servers so that none always runs first (or right after another).
    k=$(((rep - 1) % ${#server_list[@]}))
    order=("${server_list[@]:k}" "${server_list[@]:0:k}")
    for cell in "${run_cells[@]}"; do
        IFS=: read -r size conns depth kind <<<"$cell"
        log "rep $rep/$reps: $(size_label "$size") x $conns conns x depth $depth ($kind)"
        for server in "${order[@]}"; do
            run_one "$rep" "$server" "$size" "$conns" "$depth" "$kind"
        done
    done
    print_rep_ratios "$rep"
done
print_summary
echo
echo "results: $csv"
if ((failures > 0)); then
    echo "$failures run(s) failed verification or did not finish; see $logs"
    exit 1
fi
