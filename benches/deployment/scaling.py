"""Memory per idle connection: the event-loop echo server against thread per connection.

    python3 scaling.py --connections 1000 [--threads] [--repeat N]

Starts our echo server (default mode: one mio event loop per core; --threads: a thread per
connection), runs examples/idle_clients.rs against it (N connections, a handshake and one
echo each, then idle; it prints the server's VmRSS before and after), and samples the
server's /proc/PID/status meanwhile for its thread count. /proc/net/sockstat's TCP "mem"
(pages of socket buffers) and the kernel's slab caches (/proc/slabinfo: socket objects,
inodes, epoll entries ...) are read before and while the connections are idle: whole-machine
figures, so they hold both ends of every connection (client and server are both here) and
whatever else the machine did meanwhile.
"""

import argparse
import os
import re
import resource
import subprocess
import threading
import time

import common


def sockstat_tcp_pages():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                return int(re.search(r"mem (\d+)", line).group(1))
    return None


def slab_bytes():
    """Bytes in the kernel's slab caches (active objects times their size), or None."""
    try:
        with open("/proc/slabinfo") as f:
            lines = f.readlines()[2:]
    except OSError:
        return None
    return sum(int(cols[1]) * int(cols[3]) for cols in (l.split() for l in lines))


def one_run(args):
    flags = ["--threads"] if args.threads else []
    server, host, port = common.echo_server("127.0.0.1:0", *flags)
    try:
        time.sleep(0.3)
        threads_before = int(common.proc_status(server.pid)["Threads"])
        pages_before = sockstat_tcp_pages()
        slab_before = slab_bytes()
        samples = {"threads": 0, "pages": 0, "slab": 0}
        done = threading.Event()

        def watch():
            while not done.is_set():
                try:
                    status = common.proc_status(server.pid)
                except FileNotFoundError:
                    return
                samples["threads"] = max(samples["threads"], int(status["Threads"]))
                samples["pages"] = max(samples["pages"], sockstat_tcp_pages() or 0)
                samples["slab"] = max(samples["slab"], slab_bytes() or 0)
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.monotonic()
        out = subprocess.run(
            [
                common.example("idle_clients"),
                "--url",
                f"ws://{host}:{port}/",
                "--connections",
                str(args.connections),
                "--server-pid",
                str(server.pid),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        elapsed = time.monotonic() - started
        done.set()
        watcher.join()
        line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None:
            common.result(
                measure="scaling",
                server="threads" if args.threads else "event-loop",
                connections=args.connections,
                error=(out.stderr or out.stdout).strip()[-300:],
            )
            return
        fields = dict(kv.split("=", 1) for kv in line.split()[1:])
        page = os.sysconf("SC_PAGE_SIZE")
        common.result(
            measure="scaling",
            server="threads" if args.threads else "event-loop",
            connections=args.connections,
            rss_before_mib=round(int(fields["rss_before"]) / 2**20, 1),
            rss_after_mib=round(int(fields["rss_after"]) / 2**20, 1),
            kib_per_connection=round(float(fields["bytes_per_connection"]) / 1024, 2),
            threads_before=threads_before,
            threads_max=samples["threads"],
            sockstat_tcp_kib_per_connection=round(
                (samples["pages"] - pages_before) * page / 1024 / args.connections, 2
            ),
            kernel_slab_kib_per_connection_both_ends=(
                round((samples["slab"] - slab_before) / 1024 / args.connections, 2)
                if slab_before is not None
                else None
            ),
            seconds_to_open_all=round(elapsed - 2, 1),
        )
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--threads", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 100
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
    for _ in range(args.repeat):
        one_run(args)


if __name__ == "__main__":
    main()
