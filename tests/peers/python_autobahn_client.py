#!/usr/bin/env python3
"""Conformance peer: a `websockets` testee client for Autobahn's client protocol.

Usage: python_autobahn_client.py BASE_URL [AGENT]

GET BASE_URL/getCaseCount (a text message with the count), then BASE_URL/runCase?case=N&agent=AGENT
for each case, echoing every text and binary message, then BASE_URL/updateReports?agent=AGENT.
Everything else (Pongs, the Close echo, failing the connection) is left to the library. No
message size limit, no keepalive pings of its own. permessage-deflate is offered (websockets'
default offer), for groups 12 and 13; the other groups decline it. Every wait is bounded.
"""

import sys

try:
    from websockets.exceptions import ConnectionClosed, WebSocketException
    from websockets.sync.client import connect
except ImportError as exc:  # pragma: no cover
    print(f"FAIL: cannot import websockets >= 13 ({exc}); pip install 'websockets>=13'", flush=True)
    sys.exit(2)

OPTIONS = dict(max_size=None, ping_interval=None, open_timeout=10, close_timeout=5, compression="deflate")
READ_TIMEOUT = 60


def case_count(base):
    with connect(f"{base}/getCaseCount", **OPTIONS) as ws:
        count = int(ws.recv(timeout=READ_TIMEOUT))
        try:
            ws.recv(timeout=READ_TIMEOUT)
        except ConnectionClosed:
            pass
        return count


def run_case(url):
    with connect(url, **OPTIONS) as ws:
        while True:
            message = ws.recv(timeout=READ_TIMEOUT)
            ws.send(message)


def main():
    base = (sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001").rstrip("/")
    agent = sys.argv[2] if len(sys.argv) > 2 else "python-websockets"
    count = case_count(base)
    print(f"python_autobahn_client: {count} cases on {base} as agent {agent!r}", flush=True)
    for case in range(1, count + 1):
        try:
            run_case(f"{base}/runCase?case={case}&agent={agent}")
        except ConnectionClosed:
            pass
        except (WebSocketException, OSError, TimeoutError) as exc:
            print(f"case {case}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    with connect(f"{base}/updateReports?agent={agent}", **OPTIONS) as ws:
        try:
            ws.recv(timeout=READ_TIMEOUT)
        except ConnectionClosed:
            pass
    print("python_autobahn_client: done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
