#!/usr/bin/env python3
"""Conformance peer: a plain `websockets` echo server for the conformance suite's client mode.

Usage: python_conformance_server.py [--timeout SECONDS]

Listens on 127.0.0.1 with an ephemeral port and prints `PORT <n>` on stdout (flushed) once
listening. Echoes every text and binary message unchanged, with no limit on message size and
no keepalive pings of its own (the suite judges what the library does on its own, nothing
else). permessage-deflate is on (websockets' default settings), for groups 12 and 13; the
other groups never offer it. Exits after --timeout seconds (default 600); .ci/conformance
stops it by its PID.
"""

import argparse
import asyncio
import sys

try:
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed
except ImportError as exc:  # pragma: no cover
    print(f"FAIL: cannot import websockets >= 13 ({exc}); pip install 'websockets>=13'", flush=True)
    sys.exit(2)


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    async with serve(
        echo,
        "127.0.0.1",
        0,
        max_size=None,
        max_queue=None,
        ping_interval=None,
        close_timeout=2,
        compression="deflate",
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await asyncio.sleep(args.timeout)
        print(f"python_conformance_server: exiting after {args.timeout} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
