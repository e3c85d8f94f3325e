#!/usr/bin/env python3
"""Interop peer: drive an rfc6455 echo server with the `websockets` client.

Usage: python_client.py ws://127.0.0.1:PORT [--deflate SPEC] [--ca PEM]

With a wss:// URL and --ca PEM it verifies the server against that CA only
(Python's `ssl`: certificate chain and host name), and prints `TLS <version>`
after the handshake.

Without --deflate the client offers websockets' default permessage-deflate
(`permessage-deflate; client_max_window_bits`) and checks that the server
declined it (rfc6455's `accept()` has compression off by default).

With --deflate SPEC it offers exactly the permessage-deflate element SPEC
describes (RFC 7692 §7.1 parameters separated by `;`, e.g.
`server_no_context_takeover;client_max_window_bits=12`; `client_max_window_bits`
without a value offers it without one; an empty SPEC offers the bare
`permessage-deflate`) and prints, after the handshake:
  EXTENSIONS <the 101's Sec-WebSocket-Extensions, or ->
  AGREED <snct> <cnct> <smwb> <cmwb>   the parameters websockets runs with, in
                                       the RFC's terms (0/1, 0/1, bits, bits; 15
                                       when unlimited), or `AGREED none`;
and, before the close, `RSV1_RECEIVED <n>` (compressed messages received) and
`COMPRESSIBLE_SENT <m>` (compressible messages of 32 bytes or more sent). If the
client refuses the server's response (RFC 7692 §7: it "MUST _Fail the WebSocket
Connection_"), it prints `NEGOTIATION_FAILED <reason>` and exits 3.

Checks, in order, over one connection:
  * the opening handshake (and what became of permessage-deflate, see above);
  * echoes of text and binary messages of 0, 1, 125, 126, 65535, 65536 and
    1 MiB bytes (the three payload-length encodings of RFC 6455 §5.2 and their
    boundaries);
  * echoes of compressible JSON-like text and of incompressible (random)
    binary of the same sizes;
  * fragmented text and binary messages (§5.4), sent as iterators of fragments;
  * a burst of small messages sent before any echo is read;
  * pings with payloads (§5.5.2): each must be answered by a matching pong;
  * the close handshake (§7): close(1000, reason), then the close code the
    server echoed.

Prints one `ok:` line per check. Exits 0 when every check passed, 1 with a
`FAIL:` line naming the check otherwise. A watchdog dumps every thread's stack
and exits if the whole run takes longer than 50 s.
"""

import argparse
import faulthandler
import inspect
import random
import sys
import time

try:
    import websockets
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect
    from websockets.exceptions import InvalidHandshake, NegotiationError
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate
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


def json_of_size(n):
    """Compressible JSON-like text of exactly n bytes (ASCII)."""
    out = []
    size = 0
    i = 0
    while size < n:
        item = f'{{"id":{i},"name":"user-{i}","online":{"true" if i % 3 else "false"}}},'
        out.append(item)
        size += len(item)
        i += 1
    return "".join(out)[:n]


def random_of_size(n, seed):
    """n bytes that do not compress."""
    return random.Random(seed).randbytes(n)


# Compressed messages received (RFC 7692 §6: RSV1 set on the first frame), counted where
# websockets decompresses them.
RSV1_RECEIVED = 0
_decode = PerMessageDeflate.decode


def _counting_decode(self, frame, *, max_size=None):
    global RSV1_RECEIVED
    if frame.rsv1:
        RSV1_RECEIVED += 1
    return _decode(self, frame, max_size=max_size)


PerMessageDeflate.decode = _counting_decode


def deflate_factory(spec):
    """A client factory offering exactly the parameters in SPEC."""
    kwargs = dict(
        server_no_context_takeover=False,
        client_no_context_takeover=False,
        server_max_window_bits=None,
        client_max_window_bits=None,
    )
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, _, value = part.partition("=")
        if name not in kwargs:
            raise SystemExit(f"FAIL: unknown permessage-deflate parameter {name!r} in --deflate {spec!r}")
        if name.endswith("_no_context_takeover"):
            kwargs[name] = True
        elif value:
            kwargs[name] = int(value)
        else:
            kwargs[name] = True  # client_max_window_bits without a value
    return ClientPerMessageDeflateFactory(**kwargs)


def agreed(ws):
    """The permessage-deflate parameters this client runs with, in RFC terms."""
    ext = [e for e in ws.protocol.extensions if isinstance(e, PerMessageDeflate)]
    if not ext:
        return "none"
    e = ext[0]
    # Client side: remote = server, local = client.
    return (
        f"{int(e.remote_no_context_takeover)} {int(e.local_no_context_takeover)} "
        f"{e.remote_max_window_bits} {e.local_max_window_bits}"
    )


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


def connect_kwargs(spec=None):
    params = inspect.signature(connect).parameters
    kwargs = dict(
        max_size=None,  # 1 MiB messages plus headroom: no client-side limit
        ping_interval=None,  # no keepalive pings of its own: only the ones we send
        open_timeout=10,
        close_timeout=10,
    )
    if "proxy" in params:
        kwargs["proxy"] = None  # loopback only, never through an environment proxy
    if spec is not None:
        kwargs["compression"] = None
        kwargs["extensions"] = [deflate_factory(spec)]
    if CA_FILE is not None:
        import ssl

        kwargs["ssl"] = ssl.create_default_context(cafile=CA_FILE)
    return kwargs


# --ca: the one root a wss:// connection trusts.
CA_FILE = None


def run(url, spec):
    print(f"websockets {websockets.__version__}, python {sys.version.split()[0]}, url {url}", flush=True)
    try:
        ws = connect(url, **connect_kwargs(spec))
    except NegotiationError as exc:
        print(f"NEGOTIATION_FAILED {exc}", flush=True)
        return 3
    except InvalidHandshake as exc:
        # websockets wraps the NegotiationError of a refused response.
        if isinstance(exc.__cause__, NegotiationError) or isinstance(exc.__context__, NegotiationError):
            print(f"NEGOTIATION_FAILED {exc} ({exc.__cause__ or exc.__context__})", flush=True)
            return 3
        raise
    with ws:
        ok("opening handshake")
        if CA_FILE is not None:
            version = getattr(ws.socket, "version", lambda: None)()
            print(f"TLS {version}", flush=True)
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
        if spec is None:
            if extensions is not None:
                raise CheckFailed(
                    f"server accepted permessage-deflate, which rfc6455's accept() has off by default: "
                    f"Sec-WebSocket-Extensions: {extensions}"
                )
            ok("server declined the offered permessage-deflate")
        else:
            print(f"EXTENSIONS {extensions if extensions is not None else '-'}", flush=True)
            print(f"AGREED {agreed(ws)}", flush=True)
        compressible_sent = 0

        for n in SIZES:
            payload = text_of_size(n)
            ws.send(payload)
            expect_echo(ws, payload, f"text echo of {n} bytes")
            ok(f"text echo, {n} bytes")
            payload = binary_of_size(n)
            ws.send(payload)
            expect_echo(ws, payload, f"binary echo of {n} bytes")
            ok(f"binary echo, {n} bytes")
            payload = json_of_size(n)
            ws.send(payload)
            expect_echo(ws, payload, f"JSON-like text echo of {n} bytes")
            ok(f"JSON-like text echo, {n} bytes")
            payload = random_of_size(n, n)
            ws.send(payload)
            expect_echo(ws, payload, f"random binary echo of {n} bytes")
            ok(f"random binary echo, {n} bytes")
            if n >= 32:
                compressible_sent += 2  # the pattern text and the JSON-like text

        fragments = ["frag-1 ", "", "frag-3 é€😀 ", "x" * 70000, " end"]
        ws.send(iter(fragments))
        expect_echo(ws, "".join(fragments), "fragmented text (5 fragments, one empty)")
        ok("fragmented text echo")

        fragments = [b"\x00\x01", binary_of_size(126), b"", binary_of_size(65536)]
        ws.send(iter(fragments))
        expect_echo(ws, b"".join(fragments), "fragmented binary (4 fragments, one empty)")
        ok("fragmented binary echo")

        fragments = [json_of_size(100), json_of_size(40000), "", json_of_size(300000)]
        ws.send(iter(fragments))
        expect_echo(ws, "".join(fragments), "fragmented JSON-like text (4 fragments, one empty)")
        ok("fragmented JSON-like text echo")
        compressible_sent += 1

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
        if spec is not None:
            print(f"RSV1_RECEIVED {RSV1_RECEIVED}", flush=True)
            print(f"COMPRESSIBLE_SENT {compressible_sent}", flush=True)

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
    if elapsed > 0.5 * connect_kwargs(spec)["close_timeout"]:
        # Not a failure of RFC 6455 (the client may close TCP after a wait), but a sign that
        # the server kept TCP open after the close handshake instead of closing it first (§7.1.1).
        print(f"note: close took {elapsed:.1f} s: did the server close TCP after the close handshake?", flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--deflate", metavar="SPEC", default=None)
    parser.add_argument("--ca", metavar="PEM", default=None)
    args = parser.parse_args()
    faulthandler.dump_traceback_later(50, exit=True)
    global CA_FILE
    CA_FILE = args.ca
    try:
        status = run(args.url, args.deflate)
        if status:
            return status
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
