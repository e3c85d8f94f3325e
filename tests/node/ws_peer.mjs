// The Node.js `ws` package as a permessage-deflate (RFC 7692) peer of rfc6455, either way:
//
//   node ws_peer.mjs client ws://127.0.0.1:PORT/ OPTIONS_JSON
//   node ws_peer.mjs server OPTIONS_JSON
//
// OPTIONS_JSON is `ws`'s `perMessageDeflate` option: `true`, `false`, or an object such as
// {"serverNoContextTakeover":true,"clientMaxWindowBits":10,"threshold":0}.
//
// client: connects, prints `EXTENSIONS <the 101's Sec-WebSocket-Extensions, or ->` and
//   `AGREED <snct> <cnct> <smwb> <cmwb>` (the parameters `ws` runs with, in RFC terms, 15 for
//   no limit; or `AGREED none`), then checks echoes of text and binary of 0, 1, 125, 126,
//   65535, 65536 and 1 MiB bytes (compressible and random), fragmented messages (`fin:
//   false` sends), a burst and a ping; prints `COMPRESSED_RECEIVED <n>` (messages `ws`
//   inflated), closes with 1000 and exits 0, or prints `FAIL: ...` and exits 1. A refused
//   response (`ws` fails the connection) prints `NEGOTIATION_FAILED <reason>`, exit 3.
// server: listens on 127.0.0.1:0, prints `PORT <n>`; per connection `EXTENSIONS`, `AGREED`
//   as above, then echoes every message and, when it ends, `COMPRESSED_RECEIVED <n>` and
//   `CLOSE <code> <reason>`. Exits when stdin reaches EOF.
//
// Every run gives up after 50 s. Used by tests/interop_deflate_node.rs.

import { randomFillSync } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { WebSocket, WebSocketServer } from "ws";

// ws's own PerMessageDeflate class (not exported: reached by its file, the same module
// instance ws uses), to read the agreed parameters and count inflated messages.
const require = createRequire(import.meta.url);
const PerMessageDeflate = require(path.join(path.dirname(require.resolve("ws")), "lib", "permessage-deflate.js"));

const [mode, ...rest] = process.argv.slice(2);
const say = (line) => process.stdout.write(line + "\n");
setTimeout(() => {
  say("FAIL: still running after 50 s");
  process.exit(4);
}, 50000).unref();

// Count the compressed messages `ws` inflates (the last frame of each: fin).
let compressedReceived = 0;
const decompress = PerMessageDeflate.prototype.decompress;
PerMessageDeflate.prototype.decompress = function (data, fin, callback) {
  if (fin) {
    compressedReceived++;
    if (this.counter) this.counter.n++;
  }
  return decompress.call(this, data, fin, callback);
};

function agreed(ws, isServer) {
  const pmd = ws._extensions?.[PerMessageDeflate.extensionName];
  if (!pmd) return "none";
  const p = pmd.params;
  const bits = (v) => (typeof v === "number" ? v : 15);
  // ws keeps an 8-bit window as asked; its zlib compresses with 9 (Node upgrades 8 to 9).
  return `${p.server_no_context_takeover ? 1 : 0} ${p.client_no_context_takeover ? 1 : 0} ${bits(
    p.server_max_window_bits,
  )} ${bits(p.client_max_window_bits)}`;
}

function textOfSize(n) {
  const pattern = ["h", "é", "l", "l", "o", " ", "w", "ö", "r", "l", "d", " ", "€", " ", "😀", " "];
  let s = "";
  let len = 0;
  for (let i = 0; ; i++) {
    const c = pattern[i % pattern.length];
    const l = Buffer.byteLength(c);
    if (len + l > n) break;
    s += c;
    len += l;
  }
  return s + "x".repeat(n - len);
}

function jsonOfSize(n) {
  let s = "";
  for (let i = 0; s.length < n; i++) s += `{"id":${i},"name":"user-${i}","online":${i % 3 !== 0}},`;
  return s.slice(0, n);
}

const binaryOfSize = (n) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  return b;
};
const randomOfSize = (n) => randomFillSync(Buffer.alloc(n));

async function client(url, options) {
  let response;
  const ws = new WebSocket(url, { perMessageDeflate: options, maxPayload: 0 });
  ws.on("upgrade", (res) => (response = res.headers["sec-websocket-extensions"]));
  const queue = [];
  const waiters = [];
  ws.on("message", (data, isBinary) => {
    const m = isBinary ? Buffer.from(data) : data.toString("utf8");
    waiters.length ? waiters.shift()(m) : queue.push(m);
  });
  const closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  try {
    await new Promise((resolve, reject) => {
      ws.on("open", resolve);
      ws.on("error", reject);
    });
  } catch (e) {
    if (/extension|parameter|window_bits|context_takeover/i.test(e.message)) {
      say(`NEGOTIATION_FAILED ${e.message}`);
      process.exit(3);
    }
    throw e;
  }
  say(`EXTENSIONS ${response ?? "-"}`);
  say(`AGREED ${agreed(ws, false)}`);
  const next = (what) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${what}: no echo within 20 s`)), 20000);
      const done = (m) => (clearTimeout(t), resolve(m));
      queue.length ? done(queue.shift()) : waiters.push(done);
    });
  const same = (a, b) => (Buffer.isBuffer(a) ? Buffer.isBuffer(b) && a.equals(b) : a === b);
  const echo = async (what, m) => {
    ws.send(m);
    const got = await next(what);
    if (!same(m, got)) throw new Error(`${what}: the echo differs (sent ${m.length}, got ${got.length})`);
  };
  for (const n of [0, 1, 125, 126, 65535, 65536, 1 << 20]) {
    await echo(`text ${n}`, textOfSize(n));
    await echo(`JSON ${n}`, jsonOfSize(n));
    await echo(`binary ${n}`, binaryOfSize(n));
    await echo(`random ${n}`, randomOfSize(n));
  }
  // A fragmented message: ws compresses each fragment as part of one DEFLATE stream.
  const parts = ["frag-1 ", "", jsonOfSize(40000), " end"];
  parts.forEach((p, i) => ws.send(p, { fin: i === parts.length - 1 }));
  if ((await next("fragmented text")) !== parts.join("")) throw new Error("fragmented text differs");
  const bparts = [Buffer.from([0, 1]), binaryOfSize(126), Buffer.alloc(0), randomOfSize(65536)];
  bparts.forEach((p, i) => ws.send(p, { binary: true, fin: i === bparts.length - 1 }));
  if (!Buffer.concat(bparts).equals(await next("fragmented binary"))) throw new Error("fragmented binary differs");
  const burst = Array.from({ length: 200 }, (_, i) => (i % 2 ? jsonOfSize(1100 + i) : `burst ${i}`));
  burst.forEach((m) => ws.send(m));
  for (const [i, m] of burst.entries()) if ((await next(`burst ${i}`)) !== m) throw new Error(`burst ${i} differs`);
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no pong within 20 s")), 20000);
    ws.once("pong", (p) => (clearTimeout(t), p.toString() === "ping from ws" ? resolve() : reject(new Error("pong payload"))));
    ws.ping("ping from ws");
  });
  say(`COMPRESSED_RECEIVED ${compressedReceived}`);
  ws.close(1000, "ws client done");
  const c = await closed;
  if (c.code !== 1000) throw new Error(`close code ${c.code}`);
  say(`ok: close ${c.code}`);
}

async function server(options) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: options, maxPayload: 0 });
  let response = "-";
  wss.on("headers", (headers) => {
    const h = headers.find((l) => l.toLowerCase().startsWith("sec-websocket-extensions:"));
    response = h ? h.slice(h.indexOf(":") + 1).trim() : "-";
  });
  wss.on("connection", (ws) => {
    say(`EXTENSIONS ${response}`);
    say(`AGREED ${agreed(ws, true)}`);
    const pmd = ws._extensions?.[PerMessageDeflate.extensionName];
    const counter = { n: 0 };
    if (pmd) pmd.counter = counter;
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on("close", (code, reason) => {
      say(`COMPRESSED_RECEIVED ${counter.n}`);
      say(`CLOSE ${code} ${reason.toString()}`);
    });
  });
  await new Promise((resolve) => wss.on("listening", resolve));
  say(`PORT ${wss.address().port}`);
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

try {
  if (mode === "client") await client(rest[0], JSON.parse(rest[1]));
  else if (mode === "server") await server(JSON.parse(rest[0]));
  else throw new Error("usage: ws_peer.mjs client URL OPTIONS_JSON | server OPTIONS_JSON");
  if (mode === "client") process.exit(0);
} catch (e) {
  say(`FAIL: ${e.message}`);
  process.exit(1);
}
