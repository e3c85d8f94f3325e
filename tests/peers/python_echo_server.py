#!/usr/bin/env python3
"""Interop peer: a `websockets` echo server for rfc6455's client to talk to.

Usage: python_echo_server.py [--timeout SECONDS]

Listens on 127.0.0.1 with an ephemeral port and prints, on stdout (flushed):
  PORT <n>                 once listening;
  PONG <yes|no>            per connection: did the client answer the ping this
                           server sent right after the handshake (§5.5.2)?
  CLOSE <code> <reason>    per connection, when it ends: the close code and
                           reason received from the client (1006 when the
                           client dropped TCP without a Close frame).
Echoes text and binary messages unchanged. Exits when stdin reaches EOF or
after --timeout seconds (default 60), whichever comes first. Logs go to stderr.
"""

import argparse
import inspect
import sys
import threading

try:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.server import serve
except ImportError as exc:  # pragma: no cover - reported to the Rust test
    print(f"FAIL: cannot import websockets ({exc}); run .ci/run or pip install websockets", flush=True)
    sys.exit(2)

SERVER_PING = b"ping from python"
stdout_lock = threading.Lock()


def say(line):
    with stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def handler(ws):
    pong = None
    try:
        pong = ws.ping(SERVER_PING)
        for message in ws:
            ws.send(message)
    except ConnectionClosed:
        pass  # reported below from the connection's own record
    finally:
        say(f"PONG {'yes' if pong is not None and pong.is_set() else 'no'}")
        rcvd = ws.protocol.close_rcvd
        if rcvd is None:
            say("CLOSE 1006 ")
        else:
            say(f"CLOSE {rcvd.code} {rcvd.reason}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    kwargs = dict(
        max_size=None,  # accept the 1 MiB messages and more: no server-side limit
        ping_interval=None,  # no keepalive pings besides the one per connection above
        open_timeout=10,
        close_timeout=10,
    )
    if "max_queue" in inspect.signature(serve).parameters:
        kwargs["max_queue"] = None

    with serve(handler, "127.0.0.1", 0, **kwargs) as server:
        port = server.socket.getsockname()[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        say(f"PORT {port}")

        stdin_closed = threading.Event()

        def watch_stdin():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            stdin_closed.set()

        threading.Thread(target=watch_stdin, daemon=True).start()
        if not stdin_closed.wait(args.timeout):
            print(f"python_echo_server: exiting after {args.timeout} s", file=sys.stderr, flush=True)
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
