"""How long until our echo server notices a peer that is gone.

    python3 heartbeat.py hung     [--keepalive SECS] [--threads] [--observe SECS] [--repeat N]
    python3 heartbeat.py vanished --netns NS --peer-dev DEV --server-ip IP [--keepalive SECS] ...

hung: a Python `websockets` client (its own keepalive off) opens a connection, gets one echo,
and is then stopped with SIGSTOP: its kernel still ACKs every segment, but no Pong ever comes.
vanished: the client runs in the network namespace NS and its interface DEV is then set down:
every packet to it is dropped, nothing comes back (a pulled cable, a phone gone out of range).

The server's side is watched in /proc/net/tcp every 50 ms: `detected_s` is when its socket
leaves ESTABLISHED (it sent its Close 1011 and shut its sending side), `released_s` when it
no longer holds the descriptor (after the lingering close, bounded by Config::close_timeout,
5 s). Times are from the SIGSTOP / link down. A hung client is then continued and says what
it received (close code, and whether a Close frame came).
"""

import argparse
import json
import signal
import subprocess
import sys
import time

import common


def one_run(args):
    flags = ["--keepalive", str(args.keepalive)] if args.keepalive else []
    if args.threads:
        flags.append("--threads")
    bind_ip = args.server_ip if args.mode == "vanished" else "127.0.0.1"
    server, host, port = common.echo_server(f"{bind_ip}:0", *flags)
    client = None
    try:
        argv = [sys.executable, f"{common.HERE}/peer.py", f"ws://{host}:{port}/"]
        if args.mode == "vanished":
            argv = ["ip", "netns", "exec", args.netns, *argv]
        client = common.Proc(argv, wait_for='"open"')
        opened = json.loads(client.first_line)
        client_port = opened["local_port"]
        # Gone, right after the echo (the last byte the server heard).
        if args.mode == "hung":
            client.signal(signal.SIGSTOP)
        else:
            subprocess.run(
                ["ip", "netns", "exec", args.netns, "ip", "link", "set", args.peer_dev, "down"],
                check=True,
            )
        gone = time.monotonic()
        detected = released = None
        state_seen = []
        while time.monotonic() - gone < args.observe:
            state, held = common.server_side(server.pid, port, client_port)
            now = round(time.monotonic() - gone, 2)
            if not state_seen or state_seen[-1][1] != state:
                state_seen.append((now, state))
            if detected is None and state != "ESTABLISHED":
                detected = now
            if released is None and not held:
                released = now
                break
            time.sleep(0.05)
        final_state, still_held = common.server_side(server.pid, port, client_port)
        client_saw = None
        if args.mode == "hung":
            client.signal(signal.SIGCONT)
            if detected is not None:
                try:
                    client_saw = json.loads(client.read_until('"closed"', timeout=5))
                except RuntimeError:
                    client_saw = None
        else:
            subprocess.run(
                ["ip", "netns", "exec", args.netns, "ip", "link", "set", args.peer_dev, "up"],
                check=True,
            )
        common.result(
            measure="heartbeat",
            mode=args.mode,
            server="threads" if args.threads else "event-loop",
            keepalive_s=args.keepalive,
            observe_s=args.observe,
            detected_s=detected,
            released_s=released,
            still_established_at_end=final_state == "ESTABLISHED" and still_held,
            states=state_seen,
            client_saw=client_saw,
        )
    finally:
        if client is not None:
            client.stop()
        server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["hung", "vanished"])
    parser.add_argument("--keepalive", type=int, default=0, help="0: off")
    parser.add_argument("--threads", action="store_true")
    parser.add_argument("--observe", type=float, default=30)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--netns")
    parser.add_argument("--peer-dev")
    parser.add_argument("--server-ip")
    args = parser.parse_args()
    if args.mode == "vanished" and not (args.netns and args.peer_dev and args.server_ip):
        sys.exit("vanished needs --netns, --peer-dev and --server-ip")
    for _ in range(args.repeat):
        one_run(args)


if __name__ == "__main__":
    main()
