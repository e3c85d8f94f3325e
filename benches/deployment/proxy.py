"""nginx in front of our echo server: its idle timeout, and the settings a WebSocket needs.

    python3 proxy.py idle    [--read-timeout 3s|default] [--keepalive SECS] [--client-ping SECS]
                             [--observe SECS] [--repeat N]
    python3 proxy.py headers            # each setting left out in turn: what goes upstream, what the client gets
    python3 proxy.py sse                # server-sent events through nginx, proxy_buffering off / on
    python3 proxy.py origin             # examples/chat's Origin check behind nginx, by Host setting
    python3 proxy.py config             # print the complete configuration used

idle: a Python `websockets` client (its own keepalive off unless --client-ping) connects
through nginx, gets one echo, then sends nothing; we time how long until the connection ends
and what the client saw (1006 and no Close frame: nginx closed TCP under it).

headers: for each variant of the location block, the request nginx sends upstream (caught by
a tiny recording upstream) and the client's result against our echo server behind it.
nginx runs as `nginx -p DIR -c DIR/nginx.conf` (daemon off, its own PID file, a free port)
and is stopped by its PID.
"""

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
import zlib

import common

NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")

# The location block a WebSocket needs; each variant below leaves one piece out.
FULL = {
    "http_version": "proxy_http_version 1.1;",
    "upgrade": "proxy_set_header Upgrade $http_upgrade;",
    "connection": "proxy_set_header Connection $connection_upgrade;",
    "host": "proxy_set_header Host $host;",
    "read_timeout": "proxy_read_timeout 3s;",
    "send_timeout": "proxy_send_timeout 3s;",
    "buffering": "proxy_buffering off;",
}
# Only for `sse`: compression of the event stream.
GZIP = "gzip on; gzip_types text/event-stream; gzip_min_length 0;"

VARIANTS = {
    "complete": [],
    "no proxy_http_version 1.1": ["http_version"],
    "no Upgrade/Connection headers": ["upgrade", "connection"],
    "no Connection header": ["connection"],
    "no Upgrade header": ["upgrade"],
    "no Host header": ["host"],
    "proxy_buffering left on (the default)": ["buffering"],
}


def config(dirpath, listen_port, upstream_port, leave_out=(), read_timeout="3s", extra=()):
    lines = dict(FULL)
    lines.update({f"extra{i}": line for i, line in enumerate(extra)})
    for key in leave_out:
        del lines[key]
    if read_timeout == "default":
        lines.pop("read_timeout", None)
        lines.pop("send_timeout", None)
    elif "read_timeout" in lines:
        lines["read_timeout"] = f"proxy_read_timeout {read_timeout};"
        lines["send_timeout"] = f"proxy_send_timeout {read_timeout};"
    location = "\n            ".join(lines.values())
    temp = "\n    ".join(
        f"{kind}_temp_path {dirpath}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""worker_processes 1;
daemon off;
pid {dirpath}/nginx.pid;
error_log {dirpath}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {dirpath}/access.log;
    {temp}
    # "Connection: upgrade" when the client asked for an upgrade, "close" otherwise.
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream websocket_backend {{
        server 127.0.0.1:{upstream_port};
    }}
    server {{
        listen 127.0.0.1:{listen_port};
        location / {{
            proxy_pass http://websocket_backend;
            {location}
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, upstream_port, leave_out=(), read_timeout="3s", extra=()):
        self.dir = tempfile.mkdtemp(prefix="deploy-nginx-")
        self.port = common.free_port()
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(config(self.dir, self.port, upstream_port, leave_out, read_timeout, extra))
        self.proc = common.Proc([NGINX, "-p", self.dir, "-c", path])
        # Ready once it accepts.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if self.proc.p.poll() is not None:
                    raise RuntimeError(f"nginx exited; see {self.dir}/error.log")
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening")

    def error_log_lines(self, needle):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return [line.strip() for line in f if needle in line]
        except FileNotFoundError:
            return []

    def stop(self):
        self.proc.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_peer(url, *flags):
    with common.Proc([sys.executable, f"{common.HERE}/peer.py", url, *flags]) as peer:
        lines = []
        for line in peer.p.stdout:
            lines.append(json.loads(line))
            if lines[-1]["event"] in ("closed", "still_open", "refused"):
                break
        return lines


def idle(args):
    flags = ["--keepalive", str(args.keepalive)] if args.keepalive else []
    for _ in range(args.repeat):
        server, _, port = common.echo_server("127.0.0.1:0", *flags)
        try:
            with Nginx(port, read_timeout=args.read_timeout) as nginx:
                peer_flags = ["--max-seconds", str(args.observe)]
                if args.client_ping:
                    peer_flags += ["--ping-interval", str(args.client_ping)]
                events = run_peer(f"ws://127.0.0.1:{nginx.port}/", *peer_flags)
                end = events[-1]
                common.result(
                    measure="proxy-idle",
                    proxy_read_timeout=args.read_timeout,
                    server_keepalive_s=args.keepalive,
                    client_ping_s=args.client_ping,
                    observe_s=args.observe,
                    client_saw=end,
                    nginx_log=nginx.error_log_lines("timed out")[-1:],
                )
        finally:
            server.stop()


class Recorder:
    """A pretend upstream: records the first request head it gets, answers 502."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.heads = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.heads.append(data.split(b"\r\n\r\n")[0].decode("latin-1"))
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def interesting(head):
    keep = ("upgrade", "connection", "host", "sec-websocket-version")
    lines = head.split("\r\n")
    return [lines[0]] + [l for l in lines[1:] if l.split(":")[0].strip().lower() in keep]


def raw_upgrade(port, path="/", origin="http://127.0.0.1"):
    """Send a browser-like upgrade request; return the response's status line and body."""
    origin_line = f"Origin: {origin}\r\n" if origin else ""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\n{origin_line}\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), 5) as conn:
        conn.sendall(request.encode())
        data = b""
        conn.settimeout(2)
        try:
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
                if data.startswith(b"HTTP/1.1 101") and b"\r\n\r\n" in data:
                    break
        except socket.timeout:
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode("latin-1"), body.decode("utf-8", "replace").strip()


def headers(_args):
    recorder = Recorder()
    server, _, port = common.echo_server("127.0.0.1:0")
    try:
        for name, leave_out in VARIANTS.items():
            with Nginx(recorder.port, leave_out) as nginx:
                run_peer(f"ws://127.0.0.1:{nginx.port}/", "--max-seconds", "1")
                forwarded = interesting(recorder.heads[-1]) if recorder.heads else []
            with Nginx(port, leave_out) as nginx:
                end = run_peer(f"ws://127.0.0.1:{nginx.port}/", "--max-seconds", "1")[-1]
                status, body = raw_upgrade(nginx.port)
            common.result(
                measure="proxy-headers",
                variant=name,
                left_out=[FULL[k] for k in leave_out],
                upstream_got=forwarded,
                client_saw=end,
                response=status,
                response_body=body,
            )
    finally:
        server.stop()


class SseUpstream:
    """A server-sent events upstream: one event every `every` seconds, stamped with the time
    it was written (time.monotonic(), this process's clock)."""

    def __init__(self, events, every):
        self.events = events
        self.every = every
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        conn, _ = self.sock.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Cache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for _ in range(self.events):
                event = f"data: {time.monotonic():.6f}\n\n".encode()
                conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))
                time.sleep(self.every)
            conn.sendall(b"0\r\n\r\n")


def read_events(port, count):
    """GET /events through nginx; for each event, how long after its time stamp it arrived.
    Undoes the chunked framing and, when nginx compressed the stream, the gzip."""
    delays = []
    with socket.create_connection(("127.0.0.1", port), 10) as conn:
        conn.sendall(
            f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Accept: text/event-stream\r\nAccept-Encoding: gzip\r\n\r\n".encode()
        )
        raw, body, text = b"", b"", ""
        head = None
        inflate = None
        while len(delays) < count:
            chunk = conn.recv(65536)
            if not chunk:
                break
            now = time.monotonic()
            raw += chunk
            if head is None:
                if b"\r\n\r\n" not in raw:
                    continue
                head, raw = raw.split(b"\r\n\r\n", 1)
                if b"content-encoding: gzip" in head.lower():
                    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            # Chunked framing: SIZE\r\nDATA\r\n ...
            while b"\r\n" in raw:
                size_line, rest = raw.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if len(rest) < size + 2:
                    break
                body += rest[:size]
                raw = rest[size + 2 :]
            text += (inflate.decompress(body) if inflate else body).decode()
            body = b""
            while "\n\n" in text:
                event, text = text.split("\n\n", 1)
                if event.startswith("data: "):
                    delays.append(now - float(event[6:]))
    return delays


def sse(args):
    """How late each event of a server-sent events stream arrives through nginx."""
    for buffering in ("off", "on", "off+gzip", "on+gzip"):
        upstream = SseUpstream(events=10, every=0.5)
        leave_out = [] if buffering.startswith("off") else ["buffering"]
        extra = [GZIP] if buffering.endswith("gzip") else []
        with Nginx(upstream.port, leave_out, read_timeout="60s", extra=extra) as nginx:
            delays = read_events(nginx.port, 10)
        common.result(
            measure="proxy-sse",
            proxy_buffering=buffering,
            events=len(delays),
            delay_ms_median=round(common.median(delays) * 1000, 1) if delays else None,
            delay_ms_max=round(max(delays) * 1000, 1) if delays else None,
        )


def origin(_args):
    """examples/chat behind nginx: its Origin check against the Host nginx forwards. The
    client is what a browser on a page served through nginx at 127.0.0.1:PORT sends:
    Host 127.0.0.1:PORT and Origin http://127.0.0.1:PORT; then a page of another site, then
    no Origin at all (not a browser)."""
    port = common.free_port()
    chat = common.Proc([common.example("chat"), f"127.0.0.1:{port}"], wait_for="chat listening on")
    try:
        for label, extra in (
            ("proxy_set_header Host $host;", []),
            ("proxy_set_header Host $http_host;", ["proxy_set_header Host $http_host;"]),
            ("no Host line (nginx sends $proxy_host)", []),
        ):
            leave_out = [] if label.endswith("$host;") else ["host"]
            with Nginx(port, leave_out, extra=extra) as nginx:
                for who, sent in (
                    ("its own page", f"http://127.0.0.1:{nginx.port}"),
                    ("another site", "http://evil.example"),
                    ("no Origin", None),
                ):
                    status, body = raw_upgrade(nginx.port, "/ws?name=origin-test", sent)
                    common.result(
                        measure="proxy-origin",
                        nginx_host=label,
                        origin=sent,
                        who=who,
                        response=status,
                        response_body=body,
                    )
    finally:
        chat.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["idle", "headers", "sse", "origin", "config"])
    parser.add_argument("--read-timeout", default="3s")
    parser.add_argument("--keepalive", type=int, default=0)
    parser.add_argument("--client-ping", type=float, default=0)
    parser.add_argument("--observe", type=float, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.what == "idle":
        idle(args)
    elif args.what == "headers":
        headers(args)
    elif args.what == "sse":
        sse(args)
    elif args.what == "origin":
        origin(args)
    else:
        print(config("DIR", 8080, 9001))


if __name__ == "__main__":
    main()
