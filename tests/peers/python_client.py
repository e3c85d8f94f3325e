#!/usr/bin/env python3
"""Interop peer: drive an rfc6455 echo server with the `websockets` client.

Usage: python_client.py ws://127.0.0.1:PORT

Checks, in order, over one connection:
  * the opening handshake (and that the server declined permessage-deflate,
    which this client offers by default and rfc6455 does not implement);
  * echoes of text and binary messages of 0, 1, 125, 126, 65535, 65536 and
    1 MiB bytes (the three payload-length encodings of RFC 6455 §5.2 and their
    boundaries);
  * fragmented text and binary messages (§5.4), sent as iterators of fragments;
  * a burst of small messages sent before any echo is read;
  * pings with payloads (§5.5.2): each must be answered by a matching pong;
  * the close handshake (§7): close(1000, reason), then the close code the
    server echoed.

Prints one `ok:` line per check. Exits 0 when every check passed, 1 with a
`FAIL:` line naming the check otherwise. A watchdog dumps every thread's stack
and exits if the whole run takes longer than 50 s.
"""

import faulthandler
import inspect
import sys
import time

try:
    import websockets
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect
except ImportError as exc:  # pragma: no cover - reported to the Rust test
    print(f"FAIL: cannot import websockets ({exc}); run .ci/run or pip install websockets")
    sys.exit(2)

SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]
RECV_TIMEOUT = 20.0
CLOSE_REASON = "python client done"


class CheckFailed(Exception):
    pass


def ok(what):
    print(f"ok: {what}", flush=True)


def text_of_size(n):
    """A str whose UTF-8 encoding is exactly n bytes, with 1-4 byte characters."""
    pattern = "héllo wörld € 😀 "
    out = []
    size = 0
    i = 0
    while True:
        ch = pattern[i % len(pattern)]
        w = len(ch.encode("utf-8"))
        if size + w > n:
            break
        out.append(ch)
        size += w
        i += 1
    out.append("x" * (n - size))
    s = "".join(out)
    assert len(s.encode("utf-8")) == n
    return s


def binary_of_size(n):
    """n bytes covering every byte value, not periodic in 256."""
    block = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(4099))
    return (block * (n // len(block) + 1))[:n]


def describe_mismatch(sent, got):
    if type(sent) is not type(got):
        return f"sent {type(sent).__name__}, got {type(got).__name__} back"
    if len(sent) != len(got):
        return f"sent {len(sent)} items, got {len(got)} back"
    for i, (a, b) in enumerate(zip(sent, got)):
        if a != b:
            return f"first difference at index {i}: sent {a!r}, got {b!r}"
    return "equal?"


def expect_echo(ws, sent, what):
    try:
        got = ws.recv(timeout=RECV_TIMEOUT)
    except TimeoutError:
        raise CheckFailed(f"{what}: no echo within {RECV_TIMEOUT} s")
    if got != sent:
        raise CheckFailed(f"{what}: echo differs: {describe_mismatch(sent, got)}")


def connect_kwargs():
    params = inspect.signature(connect).parameters
    kwargs = dict(
        max_size=None,  # 1 MiB messages plus headroom: no client-side limit
        ping_interval=None,  # no keepalive pings of its own: only the ones we send
        open_timeout=10,
        close_timeout=10,
    )
    if "proxy" in params:
        kwargs["proxy"] = None  # loopback only, never through an environment proxy
    return kwargs


def run(url):
    print(f"websockets {websockets.__version__}, python {sys.version.split()[0]}, url {url}", flush=True)
    ws = connect(url, **connect_kwargs())
    with ws:
        ok("opening handshake")
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
        if extensions is not None:
            raise CheckFailed(
                f"server accepted extensions it does not implement: Sec-WebSocket-Extensions: {extensions}"
            )
        ok("server declined the offered permessage-deflate")

        for n in SIZES:
            payload = text_of_size(n)
            ws.send(payload)
            expect_echo(ws, payload, f"text echo of {n} bytes")
            ok(f"text echo, {n} bytes")
            payload = binary_of_size(n)
            ws.send(payload)
            expect_echo(ws, payload, f"binary echo of {n} bytes")
            ok(f"binary echo, {n} bytes")

        fragments = ["frag-1 ", "", "frag-3 é€😀 ", "x" * 70000, " end"]
        ws.send(iter(fragments))
        expect_echo(ws, "".join(fragments), "fragmented text (5 fragments, one empty)")
        ok("fragmented text echo")

        fragments = [b"\x00\x01", binary_of_size(126), b"", binary_of_size(65536)]
        ws.send(iter(fragments))
        expect_echo(ws, b"".join(fragments), "fragmented binary (4 fragments, one empty)")
        ok("fragmented binary echo")

        burst = [f"burst {i}" for i in range(500)]
        for m in burst:
            ws.send(m)
        for i, m in enumerate(burst):
            expect_echo(ws, m, f"burst message {i} of {len(burst)}")
        ok(f"burst of {len(burst)} small messages echoed in order")

        for payload in [b"ping payload \x00\xff", b"", bytes(range(125))]:
            pong = ws.ping(payload)
            if not pong.wait(RECV_TIMEOUT):
                raise CheckFailed(f"no pong for a ping of {len(payload)} bytes within {RECV_TIMEOUT} s")
            ok(f"pong for a ping of {len(payload)} bytes")

        # A message after the pings: the connection is still in order.
        ws.send("after pings")
        expect_echo(ws, "after pings", "text echo after pings")
        ok("echo after pings")

        started = time.monotonic()
        ws.close(1000, CLOSE_REASON)
        elapsed = time.monotonic() - started

    protocol = ws.protocol
    sent, rcvd = protocol.close_sent, protocol.close_rcvd
    if sent is None or sent.code != 1000 or sent.reason != CLOSE_REASON:
        raise CheckFailed(f"close frame sent by this client is {sent!r}, expected 1000 {CLOSE_REASON!r}")
    if rcvd is None:
        raise CheckFailed(
            "the server never answered our Close with its own Close frame "
            f"(close code seen: {ws.close_code}); RFC 6455 §5.5.1 requires an echo"
        )
    if rcvd.code != 1000:
        raise CheckFailed(f"server echoed close code {rcvd.code} ({rcvd.reason!r}), expected 1000")
    if protocol.close_rcvd_then_sent:
        raise CheckFailed("websockets believes the server closed first, but this client started the close")
    ok(f"close handshake: sent 1000 {CLOSE_REASON!r}, server echoed {rcvd.code} {rcvd.reason!r} ({elapsed:.3f} s)")
    if elapsed > 0.5 * connect_kwargs()["close_timeout"]:
        # Not a failure of RFC 6455 (the client may close TCP after a wait), but a sign that
        # the server kept TCP open after the close handshake instead of closing it first (§7.1.1).
        print(f"note: close took {elapsed:.1f} s: did the server close TCP after the close handshake?", flush=True)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        print("FAIL: usage: python_client.py ws://HOST:PORT[/path]")
        return 2
    faulthandler.dump_traceback_later(50, exit=True)
    try:
        run(sys.argv[1])
    except CheckFailed as exc:
        print(f"FAIL: {exc}", flush=True)
        return 1
    except ConnectionClosed as exc:
        print(f"FAIL: connection closed unexpectedly: {exc!r} (rcvd={exc.rcvd!r}, sent={exc.sent!r})", flush=True)
        return 1
    except Exception as exc:  # the handshake failed, a socket error, ...
        print(f"FAIL: {type(exc).__name__}: {exc}", flush=True)
        return 1
    print("all python client checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
