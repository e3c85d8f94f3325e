#!/usr/bin/env python3
"""Interop peer: a `websockets` echo server for rfc6455's client to talk to.

Usage: python_echo_server.py [--timeout SECONDS] [--deflate SPEC] [--tls-cert PEM --tls-key PEM]

With --tls-cert and --tls-key it serves wss:// (Python's `ssl`, TLS 1.2 or later)
with that certificate chain and key.

Listens on 127.0.0.1 with an ephemeral port and prints, on stdout (flushed):
  PORT <n>                 once listening;
  PONG <yes|no>            per connection: did the client answer the ping this
                           server sent right after the handshake (§5.5.2)?
  CLOSE <code> <reason>    per connection, when it ends: the close code and
                           reason received from the client (1006 when the
                           client dropped TCP without a Close frame).
With --deflate SPEC the server accepts permessage-deflate on the terms SPEC
gives its `ServerPerMessageDeflateFactory` (RFC 7692 §7.1 parameters separated
by `;`: `server_no_context_takeover`, `client_no_context_takeover`,
`server_max_window_bits=N`, `client_max_window_bits=N`, plus websockets' own
`require_client_max_window_bits`; an empty SPEC accepts any offer as it is;
`default` is websockets' default server configuration) and prints, per
connection, before PONG:
  EXTENSIONS <the 101's Sec-WebSocket-Extensions, or ->
  AGREED <snct> <cnct> <smwb> <cmwb>   the parameters websockets runs with, in
                                       the RFC's terms, or `AGREED none`;
  RSV1_RECEIVED <n>                    compressed messages received.
Without --deflate, websockets' default applies (it accepts permessage-deflate).
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
    from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
except ImportError as exc:  # pragma: no cover - reported to the Rust test
    print(f"FAIL: cannot import websockets ({exc}); run .ci/run or pip install websockets", flush=True)
    sys.exit(2)

SERVER_PING = b"ping from python"
REPORT_DEFLATE = False
stdout_lock = threading.Lock()


def say(line):
    with stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


# Compressed messages received per connection (RFC 7692 §6: RSV1 on the first frame),
# counted on each connection's extension object where websockets decompresses them.
_decode = PerMessageDeflate.decode


def _counting_decode(self, frame, *, max_size=None):
    if frame.rsv1:
        self.rsv1_received = getattr(self, "rsv1_received", 0) + 1
    return _decode(self, frame, max_size=max_size)


PerMessageDeflate.decode = _counting_decode


def deflate_factory(spec):
    """A server factory on the terms of SPEC."""
    if spec == "default":
        return None
    kwargs = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, _, value = part.partition("=")
        if name in ("server_no_context_takeover", "client_no_context_takeover", "require_client_max_window_bits"):
            kwargs[name] = True
        elif name in ("server_max_window_bits", "client_max_window_bits") and value:
            kwargs[name] = int(value)
        else:
            raise SystemExit(f"FAIL: cannot use {part!r} of --deflate {spec!r}")
    return ServerPerMessageDeflateFactory(**kwargs)


def deflate_of(ws):
    ext = [e for e in ws.protocol.extensions if isinstance(e, PerMessageDeflate)]
    return ext[0] if ext else None


def handler(ws):
    pong = None
    try:
        if REPORT_DEFLATE:
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
            say(f"EXTENSIONS {extensions if extensions is not None else '-'}")
            e = deflate_of(ws)
            if e is None:
                say("AGREED none")
            else:
                # Server side: local = server, remote = client.
                say(
                    f"AGREED {int(e.local_no_context_takeover)} {int(e.remote_no_context_takeover)} "
                    f"{e.local_max_window_bits} {e.remote_max_window_bits}"
                )
        pong = ws.ping(SERVER_PING)
        for message in ws:
            ws.send(message)
    except ConnectionClosed:
        pass  # reported below from the connection's own record
    finally:
        if REPORT_DEFLATE:
            e = deflate_of(ws)
            say(f"RSV1_RECEIVED {getattr(e, 'rsv1_received', 0)}")
        say(f"PONG {'yes' if pong is not None and pong.is_set() else 'no'}")
        rcvd = ws.protocol.close_rcvd
        if rcvd is None:
            say("CLOSE 1006 ")
        else:
            say(f"CLOSE {rcvd.code} {rcvd.reason}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--deflate", metavar="SPEC", default=None)
    parser.add_argument("--tls-cert", metavar="PEM", default=None)
    parser.add_argument("--tls-key", metavar="PEM", default=None)
    args = parser.parse_args()
    global REPORT_DEFLATE
    REPORT_DEFLATE = args.deflate is not None

    kwargs = dict(
        max_size=None,  # accept the 1 MiB messages and more: no server-side limit
        ping_interval=None,  # no keepalive pings besides the one per connection above
        open_timeout=10,
        close_timeout=10,
    )
    if "max_queue" in inspect.signature(serve).parameters:
        kwargs["max_queue"] = None
    if args.deflate is not None:
        factory = deflate_factory(args.deflate)
        if factory is not None:
            kwargs["compression"] = None
            kwargs["extensions"] = [factory]

    if args.tls_cert or args.tls_key:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        kwargs["ssl"] = context

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
