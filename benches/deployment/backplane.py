"""Two instances of examples/chat: why broadcast needs a backplane, and what its hop costs.

    python3 backplane.py [latency] [--messages M] [--repeat N]
    python3 backplane.py memory --clients 100 1000

latency: starts two chat instances A and B on free ports, first without --redis, then both
with --redis against a redis-server of our own (free port, no persistence). Clients (Python
`websockets`, no Origin: a non-browser client): alice and carol on A, bob on B.
1. Who sees whom: alice sends one line; after 1 s we list who received it, and the room each
   client was shown (the last "online" message).
2. Latency: alice sends M lines one at a time (the next once both carol and bob have it); each
   line's time from alice's send to its arrival at carol (same instance) and at bob (the other
   instance). Median and p99, per run.

memory: one chat instance without Redis; N clients join (the upgrade, then they only read
and discard), 100 at a time; the chat's VmRSS before and 2 s after they all joined.
"""

import argparse
import asyncio
import json
import resource
import time

import common
from websockets.asyncio.client import connect


def start_chat(redis_url=None, instance=None):
    port = common.free_port()
    argv = [common.example("chat"), f"127.0.0.1:{port}"]
    if redis_url:
        argv += ["--redis", redis_url]
    if instance:
        argv += ["--instance", instance]
    proc = common.Proc(argv, wait_for="chat listening on")
    return proc, port


def start_redis():
    port = common.free_port()
    proc = common.Proc(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        wait_for="Ready to accept connections",
    )
    return proc, f"redis://127.0.0.1:{port}"


class Client:
    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.online = []
        self.instance = None
        self.lines = {}
        self.waiters = {}

    async def open(self):
        self.ws = await connect(f"ws://127.0.0.1:{self.port}/ws?name={self.name}", compression=None)
        self.task = asyncio.create_task(self.read())

    async def read(self):
        async for raw in self.ws:
            now = time.monotonic()
            msg = json.loads(raw)
            if msg["type"] == "welcome":
                self.instance = msg["instance"]
            elif msg["type"] == "online":
                self.online = msg["names"]
            elif msg["type"] == "message":
                self.lines[msg["text"]] = (msg["from"], msg["instance"], now)
                waiter = self.waiters.pop(msg["text"], None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(now)

    def wait_for(self, text):
        fut = asyncio.get_running_loop().create_future()
        self.waiters[text] = fut
        return fut

    async def close(self):
        await self.ws.close()
        self.task.cancel()


async def room_settles(clients, expected, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(c.online) == expected for c in clients):
            return True
        await asyncio.sleep(0.05)
    return False


async def scenario(label, port_a, port_b, messages, run):
    alice, carol, bob = Client("alice", port_a), Client("carol", port_a), Client("bob", port_b)
    for c in (alice, carol, bob):
        await c.open()
    # With the backplane, presence travels every 2 s: wait for the whole room.
    settled = await room_settles((alice, carol, bob), 3, 8 if label == "redis" else 1)
    text = f"{label}-hello-{run}"
    await alice.ws.send(text)
    await asyncio.sleep(1)
    seen = {c.name: text in c.lines for c in (alice, carol, bob)}
    common.result(
        measure="backplane-visibility",
        setup=label,
        run=run,
        room_settled=settled,
        received={c.name: seen[c.name] for c in (alice, carol, bob)},
        rooms={c.name: c.online for c in (alice, carol, bob)},
        instances={c.name: c.instance for c in (alice, carol, bob)},
    )
    same, other = [], []
    if seen["bob"] or label == "no-redis":
        for i in range(messages):
            line = f"{label}-{run}-{i}"
            waits = [carol.wait_for(line)]
            if seen["bob"]:
                waits.append(bob.wait_for(line))
            t0 = time.monotonic()
            await alice.ws.send(line)
            times = await asyncio.wait_for(asyncio.gather(*waits), 10)
            same.append((times[0] - t0) * 1e6)
            if seen["bob"]:
                other.append((times[1] - t0) * 1e6)
    for c in (alice, carol, bob):
        await c.close()

    def stats(values):
        if not values:
            return None
        return {
            "median_us": round(common.median(values)),
            "p99_us": round(common.percentile(values, 99)),
            "n": len(values),
        }

    common.result(
        measure="backplane-latency",
        setup=label,
        run=run,
        same_instance=stats(same),
        other_instance=stats(other),
    )


async def latency(args):
    for run in range(args.repeat):
        a, port_a = start_chat(instance="A")
        b, port_b = start_chat(instance="B")
        try:
            await scenario("no-redis", port_a, port_b, args.messages, run)
        finally:
            a.stop()
            b.stop()
        redis, url = start_redis()
        try:
            a, port_a = start_chat(url, instance="A")
            b, port_b = start_chat(url, instance="B")
            try:
                await scenario("redis", port_a, port_b, args.messages, run)
            finally:
                a.stop()
                b.stop()
        finally:
            redis.stop()


class Idle(asyncio.Protocol):
    """A chat member that joined and then only reads (and discards) what it is sent."""

    def __init__(self, name, joined):
        self.name = name
        self.joined = joined
        self.head = b""
        self.bytes = 0

    def connection_made(self, transport):
        transport.write(
            (
                f"GET /ws?name={self.name} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data):
        self.bytes += len(data)
        if not self.joined.done():
            self.head += data
            if b"\r\n\r\n" in self.head:
                self.joined.set_result(self.head.startswith(b"HTTP/1.1 101"))


async def memory(args):
    loop = asyncio.get_running_loop()
    for n in args.clients:
        chat, port = start_chat()
        try:
            await asyncio.sleep(0.5)
            before = int(common.proc_status(chat.pid)["VmRSS"].split()[0])
            transports, ok = [], 0
            for start in range(0, n, 100):
                futures = []
                for i in range(start, min(n, start + 100)):
                    joined = loop.create_future()
                    futures.append(joined)
                    t, _ = await loop.create_connection(
                        lambda i=i, j=joined: Idle(f"u{i}", j), "127.0.0.1", port
                    )
                    transports.append(t)
                ok += sum(await asyncio.gather(*futures))
            await asyncio.sleep(2)
            status = common.proc_status(chat.pid)
            after = int(status["VmRSS"].split()[0])
            common.result(
                measure="chat-memory",
                clients=n,
                joined=ok,
                rss_before_kib=before,
                rss_after_kib=after,
                kib_per_client=round((after - before) / n, 2),
                threads=int(status["Threads"]),
            )
            for t in transports:
                t.close()
        finally:
            chat.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", nargs="?", default="latency", choices=["latency", "memory"])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(latency(args) if args.what == "latency" else memory(args))


if __name__ == "__main__":
    main()
