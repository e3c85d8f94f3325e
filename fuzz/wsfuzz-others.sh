#!/usr/bin/env bash
# wsfuzz against other implementations, on loopback: the table of fuzz/README.md,
# "wsfuzz against other implementations".
#
#   fuzz/wsfuzz-others.sh [--seed N] [--count N] [--timeout MS] [--out DIR] [PEER...]
#
# PEER is any of: rfc6455 rfc6455-threads websockets ws tungstenite (default: all, in that
# order). Each peer is an echo server with its library's defaults, started alone on a free
# loopback port (port 0: the peer prints the port it got), attacked by
# `examples/wsfuzz` (release build) with the same seed and count, then stopped by its PID:
#   rfc6455          examples/echo_server (mio event loops, one per core)
#   rfc6455-threads  examples/echo_server --threads (the std driver, a thread per connection)
#   websockets       fuzz/peers/websockets_echo.py (Python websockets, asyncio server)
#   ws               fuzz/peers/ws_echo.cjs (Node.js ws, from tests/node/node_modules)
#   tungstenite      examples/tungstenite_echo (tungstenite, the crate's dev-dependency)
# Needs what `bash .ci/test` installs: Python `websockets` (pip) and tests/node's `ws`
# (`npm ci` in tests/node); nothing else from the network. Writes into DIR (default
# target/wsfuzz-others): PEER.tsv (wsfuzz's per-case log), PEER.txt (its summary),
# PEER.err (the peer's stderr), versions.txt, and table.md (all logs side by side, from
# `wsfuzz --table`), which it also prints.
#
# One case of a log, replayed alone against a fresh server of the same peer:
#   target/release/examples/wsfuzz ws://127.0.0.1:PORT/ --seed N --case CASE
set -euo pipefail
cd "$(dirname "$0")/.."

seed=1
count=3000
timeout=1000
out=target/wsfuzz-others
peers=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) seed=$2; shift 2 ;;
        --count) count=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        rfc6455|rfc6455-threads|websockets|ws|tungstenite) peers+=("$1"); shift ;;
        *) echo "wsfuzz-others: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ ${#peers[@]} -gt 0 ] || peers=(rfc6455 rfc6455-threads websockets ws tungstenite)

python=${RFC6455_TEST_PYTHON:-python3}
needs() {
    case " ${peers[*]} " in *" $1 "*) return 0 ;; esac
    return 1
}
if needs websockets && ! "$python" -c 'import websockets' 2>/dev/null; then
    echo "wsfuzz-others: Python websockets is missing: run bash .ci/test (or pip install websockets)" >&2
    exit 1
fi
if needs ws && [ ! -f tests/node/node_modules/ws/package.json ]; then
    echo "wsfuzz-others: tests/node/node_modules/ws is missing: run (cd tests/node && npm ci)" >&2
    exit 1
fi

cargo build --release --quiet --example wsfuzz --example echo_server --example tungstenite_echo
bin=target/release/examples
mkdir -p "$out"

pid=
stop_peer() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
    fi
}
trap stop_peer EXIT

# Start a peer in the background (its stdout into $out/NAME.out); its PID in $pid.
start_peer() {
    local name=$1
    shift
    "$@" >"$out/$name.out" 2>"$out/$name.err" &
    pid=$!
}

# Print the port the peer started as NAME listens on, once it has said so (10 s at most).
wait_port() {
    local name=$1
    for _ in $(seq 100); do
        local port
        port=$(sed -n -e 's/^PORT \([0-9]*\)$/\1/p' -e 's|^listening on ws://.*:\([0-9]*\)$|\1|p' \
            "$out/$name.out" | head -n 1)
        if [ -n "$port" ]; then
            echo "$port"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "wsfuzz-others: $name did not start; its stderr:" >&2
    cat "$out/$name.err" >&2
    return 1
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "seed=$seed count=$count timeout=${timeout}ms"
    echo "$(rustc --version)"
    echo "rfc6455 $(git rev-parse --short HEAD)"
    if needs websockets; then
        "$python" -c 'import sys, websockets; print(f"python {sys.version.split()[0]}, websockets {websockets.__version__}")'
    fi
    if needs ws; then
        echo "node $(node --version), ws $(node -p "require('./tests/node/node_modules/ws/package.json').version")"
    fi
    if needs tungstenite; then
        echo "tungstenite $(awk '/^name = "tungstenite"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)"
    fi
} >"$out/versions.txt"
cat "$out/versions.txt"

table=()
for peer in "${peers[@]}"; do
    case "$peer" in
        rfc6455) start_peer "$peer" "$bin/echo_server" 127.0.0.1:0 ;;
        rfc6455-threads) start_peer "$peer" "$bin/echo_server" --threads 127.0.0.1:0 ;;
        websockets) start_peer "$peer" "$python" fuzz/peers/websockets_echo.py ;;
        ws) start_peer "$peer" node fuzz/peers/ws_echo.cjs ;;
        tungstenite) start_peer "$peer" "$bin/tungstenite_echo" 127.0.0.1:0 ;;
    esac
    port=$(wait_port "$peer")
    echo "== $peer on 127.0.0.1:$port"
    "$bin/wsfuzz" "ws://127.0.0.1:$port/" --seed "$seed" --count "$count" --timeout "$timeout" \
        --duration 36000 --log "$out/$peer.tsv" | tee "$out/$peer.txt"
    stop_peer
    table+=("$peer=$out/$peer.tsv")
done

"$bin/wsfuzz" --table "${table[@]}" >"$out/table.md"
cat "$out/table.md"
