"""What our echo server answers a peer that exceeds a budget, with the default Settings.

    python3 budgets.py

Raw sockets, so that each request or frame is exactly what we say. For each case: the HTTP
status or the close code the server sent, and how long (ms) after the offending bytes it came.
"""

import socket
import struct
import time

import common

UPGRADE = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


def status_of(port, head):
    """Send a request head; the status line of the answer and the seconds it took."""
    with socket.create_connection(("127.0.0.1", port), 15) as conn:
        t0 = time.monotonic()
        try:
            conn.sendall(head)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        return data.split(b"\r\n")[0].decode("latin-1") or "(closed, no answer)", time.monotonic() - t0


def frame(opcode, payload=b"", fin=True, declared=None, mask=b"\x01\x02\x03\x04"):
    """A client frame; `declared` overrides the length field (the payload is not sent)."""
    length = len(payload) if declared is None else declared
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if len(payload) < 4096 else None
    if masked is None:
        # Large payloads: all zero bytes, so masked they repeat the key.
        masked = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return header + mask + masked


def opened(port):
    conn = socket.create_connection(("127.0.0.1", port), 15)
    conn.sendall((UPGRADE + "\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    assert data.startswith(b"HTTP/1.1 101"), data[:60]
    return conn, data.split(b"\r\n\r\n", 1)[1]


def close_code_after(conn, pending, send):
    """Send `send` (bytes, or a list sent in turn), then read until the server's Close."""
    t0 = time.monotonic()
    try:
        for piece in send if isinstance(send, list) else [send]:
            conn.sendall(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass
    t_sent = time.monotonic()
    data = pending
    try:
        while True:
            # A server frame: FIN|opcode, then the length.
            while len(data) >= 2:
                opcode = data[0] & 0x0F
                n = data[1] & 0x7F
                at = 2
                if n == 126:
                    n, at = struct.unpack("!H", data[2:4])[0], 4
                elif n == 127:
                    n, at = struct.unpack("!Q", data[2:10])[0], 10
                if len(data) < at + n:
                    break
                body = data[at : at + n]
                data = data[at + n :]
                if opcode == 0x8:
                    code = struct.unpack("!H", body[:2])[0] if len(body) >= 2 else None
                    reason = body[2:].decode("utf-8", "replace")
                    return code, reason, time.monotonic() - t_sent, t_sent - t0
            chunk = conn.recv(65536)
            if not chunk:
                return None, "(TCP closed, no Close)", time.monotonic() - t_sent, t_sent - t0
            data += chunk
    except ConnectionResetError:
        return None, "(reset)", time.monotonic() - t_sent, t_sent - t0


def report(budget, sent, answer, seconds, **extra):
    common.result(
        measure="budget", budget=budget, sent=sent, answer=answer, ms=round(seconds * 1000, 1), **extra
    )


def main():
    server, _, port = common.echo_server("127.0.0.1:0")
    try:
        # Handshake budgets (handshake::Limits) and the driver's handshake deadline.
        big = (UPGRADE + "X-Filler: " + "a" * (17 * 1024) + "\r\n\r\n").encode()
        report("Limits::max_head_bytes (16 KiB)", "a 17 KiB request head", *status_of(port, big))
        many = (UPGRADE + "".join(f"X-H{i}: v\r\n" for i in range(65)) + "\r\n").encode()
        report("Limits::max_headers (64)", "65 more header fields", *status_of(port, many))
        half = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        report(
            "Settings::handshake_timeout (10 s)",
            "half a request head, then nothing",
            *status_of(port, half),
        )

        # Frame and message budgets (protocol::Config).
        conn, pending = opened(port)
        code, reason, after, _ = close_code_after(conn, pending, frame(0x2, declared=(16 << 20) + 1))
        conn.close()
        report(
            "Config::max_frame_size (16 MiB)",
            "a header declaring 16 MiB + 1, no payload",
            f"Close {code} {reason}",
            after,
        )

        conn, pending = opened(port)
        first = frame(0x1, b"\x00" * (16 << 20), fin=False)
        more = frame(0x0, b"\x00" * (16 << 20), fin=False)
        pieces = [first, more, more, more, frame(0x0, b"\x00", fin=True)]
        code, reason, after, sending = close_code_after(conn, pending, pieces)
        conn.close()
        report(
            "Config::max_message_size (64 MiB)",
            "a text message: four 16 MiB fragments, then one more byte",
            f"Close {code} {reason}",
            after,
            ms_sending=round(sending * 1000),
        )

        conn, pending = opened(port)
        key = b"\x01\x02\x03\x04"
        hello = bytes(b ^ key[i % 4] for i, b in enumerate(b"hello"))
        non_minimal = struct.pack("!BBH", 0x81, 0x80 | 126, 5) + key + hello
        code, reason, after, _ = close_code_after(conn, pending, non_minimal)
        conn.close()
        report(
            "Config::reject_non_minimal_lengths (on)",
            "5 bytes with a 16-bit length",
            f"Close {code} {reason}",
            after,
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
