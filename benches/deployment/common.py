"""Helpers shared by the deployment measurements (benches/deployment/*.py).

Every process is started here on a free loopback port and stopped by its own PID; nothing is
looked up or killed by name.
"""

import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
EXAMPLES = os.path.join(TARGET, "release", "examples")

# TCP states as /proc/net/tcp writes them.
TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


def example(name):
    path = os.path.join(EXAMPLES, name)
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: run `cargo build --release --examples` first")
    return path


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def result(**fields):
    """One machine-readable line per measurement, on stdout."""
    print("RESULT " + json.dumps(fields, sort_keys=True), flush=True)


class Proc:
    """A child process we started; stopped by its PID only."""

    def __init__(self, argv, wait_for=None, timeout=20, **kwargs):
        self.argv = argv
        self.p = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=kwargs.pop("stderr", subprocess.DEVNULL),
            text=True,
            **kwargs,
        )
        self.pid = self.p.pid
        self.first_line = None
        if wait_for is not None:
            self.first_line = self.read_until(wait_for, timeout)

    def read_until(self, needle, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.p.stdout], [], [], deadline - time.monotonic())
            if not ready:
                break
            line = self.p.stdout.readline()
            if not line:
                if self.p.poll() is not None:
                    raise RuntimeError(f"{self.argv[0]} exited ({self.p.returncode})")
                continue
            if needle in line:
                return line.strip()
        raise RuntimeError(f"{self.argv[0]}: no line with {needle!r} in {timeout} s")

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def stop(self):
        if self.p.poll() is None:
            # A stopped process must be continued to die of SIGTERM.
            os.kill(self.pid, signal.SIGTERM)
            try:
                os.kill(self.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def echo_server(addr, *flags):
    """Our echo server on ADDR ("127.0.0.1:0" for any free port); returns (Proc, host, port)."""
    proc = Proc([example("echo_server"), addr, *flags], wait_for="listening on")
    hostport = proc.first_line.rsplit("/", 1)[-1]
    host, port = hostport.rsplit(":", 1)
    return proc, host, int(port)


def socket_inodes(pid):
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def tcp_sockets():
    """(local_port, remote_port, state, inode) for every IPv4/IPv6 TCP socket we can see."""
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local_port = int(cols[1].rsplit(":", 1)[1], 16)
                    remote_port = int(cols[2].rsplit(":", 1)[1], 16)
                    rows.append((local_port, remote_port, TCP_STATES.get(cols[3], cols[3]), cols[9]))
        except FileNotFoundError:
            pass
    return rows


def server_side(server_pid, server_port, client_port):
    """The state of the server's socket for this client, and whether the server still holds
    its descriptor: ("ESTABLISHED", True), ("FIN_WAIT2", False), (None, False) when gone."""
    held = socket_inodes(server_pid)
    for local, remote, state, inode in tcp_sockets():
        if local == server_port and remote == client_port:
            return state, inode in held
    return None, False


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def median(values):
    return statistics.median(values) if values else None


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
