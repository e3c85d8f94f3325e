#!/usr/bin/env python3
"""A Python `websockets` echo server with the library's defaults, for fuzz/wsfuzz-others.sh.

Usage: websockets_echo.py

The asyncio server (`websockets.asyncio.server.serve`) with no option but the address:
max_size 1 MiB, compression "deflate" (accepted only when the client offers it; wsfuzz
does not), ping_interval 20 s, close_timeout 10 s. Listens on 127.0.0.1 with an ephemeral
port, prints `PORT <n>` (flushed) and `websockets <version>`, and echoes every message
until it is killed. Errors are logged to stderr.
"""

import asyncio
import logging
import sys

import websockets
from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main():
    async with serve(echo, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        print(f"websockets {websockets.__version__}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    asyncio.run(main())
