"""An idle WebSocket client (Python `websockets`), its own keepalive off unless asked.

    python3 peer.py URL [--ping-interval SECS] [--max-seconds SECS]

Connects, sends "hello" and waits for the echo, prints one JSON line {"event": "open", ...},
then sends nothing and waits until the connection ends (or --max-seconds pass) and prints
{"event": "closed", "code": ..., "reason": ..., "close_frame": true|false, "after_s": ...}
(after_s: seconds since the echo arrived). Used by heartbeat.py and proxy.py.
"""

import argparse
import asyncio
import json
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


def say(**fields):
    print(json.dumps(fields), flush=True)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--ping-interval", type=float, default=None)
    parser.add_argument("--max-seconds", type=float, default=3600)
    args = parser.parse_args()
    try:
        ws = await connect(
            args.url,
            ping_interval=args.ping_interval,
            ping_timeout=args.ping_interval,
            compression=None,
            open_timeout=10,
        )
    except Exception as e:  # the handshake's failure is a result too
        say(event="refused", error=f"{type(e).__name__}: {e}")
        return
    await ws.send("hello")
    echo = await ws.recv()
    opened = time.monotonic()
    say(event="open", local_port=ws.local_address[1], echo=echo)
    try:
        await asyncio.wait_for(ws.wait_closed(), args.max_seconds)
    except asyncio.TimeoutError:
        say(event="still_open", after_s=round(time.monotonic() - opened, 3))
        await ws.close()
        return
    exc = ws.close_exc
    rcvd = exc.rcvd if isinstance(exc, ConnectionClosed) else None
    say(
        event="closed",
        code=ws.close_code,
        reason=ws.close_reason,
        close_frame=rcvd is not None,
        after_s=round(time.monotonic() - opened, 3),
    )


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
