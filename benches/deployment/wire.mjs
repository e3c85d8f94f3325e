// Bytes on the wire per small server-to-client message: WebSocket, SSE, long polling.
//
//   node benches/deployment/wire.mjs --echo ws://127.0.0.1:PORT [--messages K] [--size N]
//
// Headless Chromium (/usr/bin/chromium, or $CHROMIUM, through tests/browser/node_modules'
// playwright-core) loads a page from Node's own `http` server, through a counting TCP relay
// that adds up the bytes each way. Then, each transport in turn, the page receives K messages
// of N bytes (a JSON object):
//
//   websocket    new WebSocket() to our echo server (through a second counting relay): the
//                page sends each message and gets its echo, a server-to-client frame;
//   sse          new EventSource("/sse"): Node's server writes `data: MSG\n\n` per message
//                (HTTP/1.1 chunked, as Node sends a response of unknown length);
//   long-poll    fetch("/poll") in a loop, each answered at once with one message (the best
//                case: a message is always waiting), on Chromium's kept-alive connection;
//   long-poll+cookie  the same with a session cookie of 48 bytes set for the page.
//
// The bytes of setting up (the handshake, the first request) are counted apart from the K
// messages. Counts are TCP payload bytes (what the application and HTTP put on the wire;
// IP and TCP headers are not in them). Prints one RESULT line per transport, and the
// request head Chromium sent for the last poll.

import http from "node:http";
import net from "node:net";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../tests/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const echoUrl = opt("--echo");
const K = Number(opt("--messages", "200"));
const N = Number(opt("--size", "20"));
if (!echoUrl) {
  console.error("usage: node wire.mjs --echo ws://127.0.0.1:PORT [--messages K] [--size N]");
  process.exit(2);
}

// A JSON message of exactly N bytes: {"n":"xxxx..."}.
const message = JSON.stringify({ n: "x".repeat(Math.max(0, N - 8)) });
if (Buffer.byteLength(message) !== N) throw new Error(`size ${N} is too small`);

// A TCP relay that counts the bytes each way, and keeps what the client sent.
function relay(targetPort) {
  const counts = { up: 0, down: 0, sent: [] };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    client.on("data", (d) => {
      counts.up += d.length;
      counts.sent.push(d);
      upstream.write(d);
    });
    upstream.on("data", (d) => {
      counts.down += d.length;
      client.write(d);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, counts, port: server.address().port })),
  );
}

const sseClients = [];
const app = http.createServer((req, res) => {
  if (req.url === "/") {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>wire</title><p>wire");
  } else if (req.url === "/sse") {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store" });
    res.write("data: ready\n\n");
    sseClients.push(res);
  } else if (req.url.startsWith("/poll")) {
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
    res.end(message);
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
const httpRelay = await relay(app.address().port);
const echoPort = Number(new URL(echoUrl).port);
const wsRelay = await relay(echoPort);

const snapshot = (c) => ({ up: c.up, down: c.down });
const diff = (a, b) => ({ up: b.up - a.up, down: b.down - a.down });
const settle = () => new Promise((r) => setTimeout(r, 200));
function report(transport, setup, steady) {
  const line = {
    measure: "wire",
    transport,
    size: N,
    messages: K,
    setup_up: setup.up,
    setup_down: setup.down,
    per_message_down: steady.down / K,
    per_message_up: steady.up / K,
    per_message_total: (steady.up + steady.down) / K,
  };
  console.log("RESULT " + JSON.stringify(line));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  const origin = `http://127.0.0.1:${httpRelay.port}`;
  await page.goto(`${origin}/`);

  // WebSocket: the echo of each message is one server-to-client frame.
  {
    const before = snapshot(wsRelay.counts);
    await page.evaluate(
      (url) =>
        new Promise((resolve, reject) => {
          window.ws = new WebSocket(url);
          window.ws.onopen = resolve;
          window.ws.onerror = reject;
        }),
      `ws://127.0.0.1:${wsRelay.port}/`,
    );
    await settle();
    const open = snapshot(wsRelay.counts);
    await page.evaluate(
      ([k, msg]) =>
        new Promise((resolve) => {
          let got = 0;
          window.ws.onmessage = () => {
            got += 1;
            if (got === k) resolve();
            else window.ws.send(msg);
          };
          window.ws.send(msg);
        }),
      [K, message],
    );
    await settle();
    const after = snapshot(wsRelay.counts);
    report("websocket", diff(before, open), diff(open, after));
    await page.evaluate(() => window.ws.close(1000));
  }

  // Server-sent events.
  {
    const before = snapshot(httpRelay.counts);
    await page.evaluate(
      () =>
        new Promise((resolve) => {
          window.es = new EventSource("/sse");
          window.es.onmessage = () => resolve();
        }),
    );
    await settle();
    const open = snapshot(httpRelay.counts);
    const received = page.evaluate(
      (k) =>
        new Promise((resolve) => {
          let got = 0;
          window.es.onmessage = () => {
            got += 1;
            if (got === k) resolve();
          };
        }),
      K,
    );
    await settle();
    const res = sseClients[sseClients.length - 1];
    for (let i = 0; i < K; i += 1) {
      res.write(`data: ${message}\n\n`);
      await new Promise((r) => setImmediate(r));
    }
    await received;
    await settle();
    const after = snapshot(httpRelay.counts);
    report("sse", diff(before, open), diff(open, after));
    await page.evaluate(() => window.es.close());
    await settle();
  }

  // Long polling: a request and a whole response per message.
  const poll = async (transport) => {
    const before = snapshot(httpRelay.counts);
    await page.evaluate(() => fetch("/poll?first").then((r) => r.text()));
    await settle();
    const open = snapshot(httpRelay.counts);
    const sentBefore = httpRelay.counts.sent.length;
    await page.evaluate(async (k) => {
      for (let i = 0; i < k; i += 1) await (await fetch("/poll")).text();
    }, K);
    await settle();
    const after = snapshot(httpRelay.counts);
    report(transport, diff(before, open), diff(open, after));
    return Buffer.concat(httpRelay.counts.sent.slice(sentBefore)).toString("latin1");
  };
  await poll("long-poll");
  await page.evaluate(() => {
    document.cookie = `session=${"0123456789abcdef".repeat(2)}abcdef0123456789; path=/`;
  });
  const sent = await poll("long-poll+cookie");
  const heads = sent.split("\r\n\r\n").filter((h) => h.startsWith("GET /poll"));
  console.log("REQUEST " + JSON.stringify(heads[heads.length - 1]));
} finally {
  await browser.close();
  httpRelay.server.close();
  wsRelay.server.close();
  app.close();
}
process.exit(0);
