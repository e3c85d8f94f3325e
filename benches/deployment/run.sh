#!/usr/bin/env bash
# The measurements behind rfc-notes/deployment.md.
#
#   bash benches/deployment/run.sh [all | heartbeat | vanished | proxy | sse | origin | budgets | scaling | wire | backplane | chat-memory] ...
#
# Every server, proxy and Redis is started on a free loopback port and stopped by its PID.
# `vanished` needs root (a network namespace and a veth pair, removed afterwards). Results:
# one RESULT line per measurement on stdout and in target/deployment/NAME.txt.
# Knobs: BUILD=0 (skip the release build), REPEAT (3), CONNS ("1000 10000"), MESSAGES (1000).
set -euo pipefail

cd "$(dirname "$0")/../.."
here=benches/deployment
out=target/deployment
mkdir -p "$out"
REPEAT=${REPEAT:-3}
CONNS=${CONNS:-1000 10000}
MESSAGES=${MESSAGES:-1000}

pids=()
netns=""
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [[ -n $netns ]]; then
        ip netns del "$netns" 2>/dev/null || true
        ip link del rfcdep0 2>/dev/null || true
    fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

build() {
    if [[ ${BUILD:-1} != 0 ]]; then
        local examples=(--example echo_server --example idle_clients)
        if [[ -f examples/chat/main.rs ]]; then
            examples+=(--example chat)
        fi
        cargo build --release "${examples[@]}" >&2
    fi
}

heartbeat() {
    echo "# a hung peer (SIGSTOP), our keepalive at 5 s, event loop then thread per connection"
    python3 "$here/heartbeat.py" hung --keepalive 5 --observe 30 --repeat "$REPEAT"
    python3 "$here/heartbeat.py" hung --keepalive 5 --observe 30 --repeat "$REPEAT" --threads
    echo "# a hung peer, our keepalive at 2 s"
    python3 "$here/heartbeat.py" hung --keepalive 2 --observe 30 --repeat "$REPEAT"
    echo "# a hung peer, no keepalive: watched for 120 s"
    python3 "$here/heartbeat.py" hung --observe 120
}

vanished() {
    if [[ $(id -u) != 0 ]]; then
        echo "# vanished: skipped, it needs root (a network namespace)"
        return
    fi
    netns=rfc6455-deploy-$$
    ip netns add "$netns"
    ip link add rfcdep0 type veth peer name rfcdep1
    ip link set rfcdep1 netns "$netns"
    ip addr add 10.231.7.1/24 dev rfcdep0
    ip link set rfcdep0 up
    ip netns exec "$netns" ip addr add 10.231.7.2/24 dev rfcdep1
    ip netns exec "$netns" ip link set rfcdep1 up
    ip netns exec "$netns" ip link set lo up
    local common=(--netns "$netns" --peer-dev rfcdep1 --server-ip 10.231.7.1)
    echo "# a vanished peer (its link down: every packet dropped), our keepalive at 5 s"
    python3 "$here/heartbeat.py" vanished "${common[@]}" --keepalive 5 --observe 30 --repeat "$REPEAT"
    echo "# a vanished peer, no keepalive: watched for 120 s"
    python3 "$here/heartbeat.py" vanished "${common[@]}" --observe 120
    ip netns del "$netns"
    ip link del rfcdep0 2>/dev/null || true
    netns=""
}

proxy() {
    echo "# nginx, proxy_read_timeout 3s, idle client, no keepalive"
    python3 "$here/proxy.py" idle --observe 20 --repeat "$REPEAT"
    echo "# the same, our server's keepalive at 1 s and at 2 s (under the timeout), 5 s (over it)"
    python3 "$here/proxy.py" idle --keepalive 1 --observe 30
    python3 "$here/proxy.py" idle --keepalive 2 --observe 30
    python3 "$here/proxy.py" idle --keepalive 5 --observe 30
    echo "# the same, the client pings every 1 s instead (server keepalive off)"
    python3 "$here/proxy.py" idle --client-ping 1 --observe 30
    echo "# nginx's default proxy_read_timeout (60 s), idle client"
    python3 "$here/proxy.py" idle --read-timeout default --observe 90
    echo "# each setting left out in turn"
    python3 "$here/proxy.py" headers
}

sse() {
    echo "# server-sent events through nginx: proxy_buffering off / on, without and with gzip"
    python3 "$here/proxy.py" sse
}

origin() {
    need_chat origin || return 0
    echo "# examples/chat behind nginx: its Origin check, by the Host nginx forwards"
    python3 "$here/proxy.py" origin
}

budgets() {
    echo "# what the echo server answers a peer over each budget (default Settings)"
    python3 "$here/budgets.py"
}

scaling() {
    local n
    for n in $CONNS; do
        echo "# $n idle connections, event loop (default), then --threads"
        python3 "$here/scaling.py" --connections "$n" --repeat "$REPEAT"
        python3 "$here/scaling.py" --connections "$n" --repeat "$REPEAT" --threads
    done
}

wire() {
    local log="$out/echo-wire.log" port
    port=$(free_port)
    target/release/examples/echo_server "127.0.0.1:$port" --no-deflate >"$log" 2>&1 &
    pids+=($!)
    sleep 0.5
    echo "# bytes per message from headless Chromium, 20-byte and 1000-byte messages"
    node "$here/wire.mjs" --echo "ws://127.0.0.1:$port" --messages 200 --size 20
    node "$here/wire.mjs" --echo "ws://127.0.0.1:$port" --messages 200 --size 1000
    kill "${pids[-1]}"
}

need_chat() {
    if [[ ! -f examples/chat/main.rs ]]; then
        echo "# $1: skipped, examples/chat has not landed"
        return 1
    fi
}

backplane() {
    need_chat backplane || return 0
    echo "# two chat instances: without Redis, then with it; latency A->A and A->B"
    python3 "$here/backplane.py" --messages "$MESSAGES" --repeat "$REPEAT"
}

chat_memory() {
    need_chat chat-memory || return 0
    echo "# the chat's memory at N idle clients"
    python3 "$here/backplane.py" memory --clients 100 1000
}

build
what=("$@")
if [[ ${#what[@]} == 0 || ${what[0]} == all ]]; then
    what=(heartbeat vanished proxy sse origin budgets scaling wire backplane chat-memory)
fi
for step in "${what[@]}"; do
    case $step in
        heartbeat) heartbeat ;;
        vanished) vanished ;;
        proxy) proxy ;;
        sse) sse ;;
        origin) origin ;;
        budgets) budgets ;;
        scaling) scaling ;;
        wire) wire ;;
        backplane) backplane ;;
        chat-memory) chat_memory ;;
        *) echo "unknown step $step" >&2; exit 2 ;;
    esac > >(tee "$out/$step.txt") 2>&1
done
wait
