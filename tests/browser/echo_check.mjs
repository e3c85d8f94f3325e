// A real browser against an rfc6455 echo server:
//
//   node tests/browser/echo_check.mjs ws://127.0.0.1:PORT [--screenshot FILE.png]
//   node tests/browser/echo_check.mjs wss://localhost:PORT --trust-cert CERT.pem
//
// With --trust-cert, Chromium accepts the server certificate in CERT.pem (a test certificate
// its own root store does not know) by its public key only: the SHA-256 of its
// SubjectPublicKeyInfo goes to --ignore-certificate-errors-spki-list, so any other
// certificate is still refused, and Playwright's ignoreHTTPSErrors stays off.
//
// Launches Debian's Chromium headless through playwright-core (no browser download: the
// executable is /usr/bin/chromium, or $CHROMIUM), loads a blank page from a tiny HTTP server of
// its own on 127.0.0.1 (so the page has a real origin, http://127.0.0.1:N, and sends it as
// Origin) and, in the page's own JavaScript, talks to the server with the browser's WebSocket
// API:
//
//   1. text "hello ☃ 𝄞", a 70000-byte ArrayBuffer, texts of 125, 126 and 65536 UTF-8 bytes
//      (the three payload-length encodings of §5.2), each echo compared with what was sent;
//   1b. permessage-deflate: ws.extensions must name it (the server accepts Chromium's offer),
//      and a 1 MiB compressible text and a 512 KiB compressible ArrayBuffer echo unchanged;
//   2. ws.close(4000, "browser done"): the close event must carry 4000 and wasClean (§7);
//   3. a second WebSocket offering the subprotocol "chat": the server picks none, and the
//      browser must fail it (error, close 1006, never open), as the WHATWG WebSockets standard
//      requires (stricter than RFC 6455 §4.1, which only forbids a protocol not offered);
//   4. a third WebSocket, no subprotocol: one echo, then ws.close() with no code: the close
//      event must report 1005 (§7.1.5, no status received) and be clean.
//
// Prints one JSON line with the result and exits 0 when every check passed, 1 when one failed,
// 2 when the browser could not be started, 3 when the whole run took longer than the deadline
// (RFC6455_BROWSER_TIMEOUT_MS, 30 s by default). Used by tests/interop_browser_chromium.rs;
// `bash .ci/test` installs Chromium and this directory's node_modules.
//
// Why a page on 127.0.0.1 and not about:blank or data:? Chromium's Local Network Access checks
// (on in Chromium 156) refuse a WebSocket to a loopback address from a document that is not
// itself on a loopback or private address, unless the user grants a permission: from a data:
// page the connection fails with net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS. A page
// served from localhost, the way a newcomer tries the echo server, is allowed.

import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import { chromium } from "playwright-core";

const args = process.argv.slice(2);
const url = args.find((a) => a.startsWith("ws://") || a.startsWith("wss://"));
const shotAt = args.indexOf("--screenshot");
const screenshot = shotAt >= 0 ? args[shotAt + 1] : undefined;
const trustAt = args.indexOf("--trust-cert");
const trustCert = trustAt >= 0 ? args[trustAt + 1] : undefined;
if (!url || (shotAt >= 0 && !screenshot) || (trustAt >= 0 && !trustCert)) {
  console.error("usage: node echo_check.mjs ws://HOST:PORT [--screenshot FILE.png] [--trust-cert CERT.pem]");
  process.exit(2);
}
// The pin of the one certificate to accept: base64(SHA-256(SubjectPublicKeyInfo)).
const spkiPins = [];
if (trustCert) {
  const spki = new crypto.X509Certificate(fs.readFileSync(trustCert)).publicKey.export({ type: "spki", format: "der" });
  spkiPins.push(crypto.createHash("sha256").update(spki).digest("base64"));
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const deadlineMs = Number(process.env.RFC6455_BROWSER_TIMEOUT_MS || 30000);
const started = Date.now();

let browser;
let pageServer;
const consoleLines = [];

let finished = false;
// Print the one result line and set the exit status; later calls (a step failing because the
// watchdog closed the browser) change nothing.
function finish(code, result) {
  if (finished) return;
  finished = true;
  result.elapsed_ms = Date.now() - started;
  if (consoleLines.length) result.console = consoleLines;
  console.log(JSON.stringify(result));
  process.exitCode = code;
}

// One deadline for everything, launch included. Closing the browser lets Chromium exit with
// us instead of outliving this process.
const watchdog = setTimeout(async () => {
  finish(3, { ok: false, url, error: `no result within ${deadlineMs} ms` });
  try {
    pageServer?.closeAllConnections();
  pageServer?.close();
    await browser?.close();
  } finally {
    process.exit(3);
  }
}, deadlineMs);

// The test itself, run inside the page: only the browser's own WebSocket API is used.
async function pageTest(url) {
  const STEP_MS = 10000;
  const checks = [];
  const check = (name, ok, detail) => checks.push({ name, ok: Boolean(ok), detail });

  const withTimeout = (what, promise) =>
    Promise.race([
      promise,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${what}: nothing within ${STEP_MS} ms`)), STEP_MS),
      ),
    ]);

  // A string of exactly `n` UTF-8 bytes mixing 1-, 2-, 3- and 4-byte characters.
  const utf8 = new TextEncoder();
  function textOfBytes(n) {
    const pattern = ["h", "é", "€", "😀", "l", "ö", " "];
    let s = "";
    let len = 0;
    for (let i = 0; ; i++) {
      const c = pattern[i % pattern.length];
      const l = utf8.encode(c).length;
      if (len + l > n) break;
      s += c;
      len += l;
    }
    return s + "x".repeat(n - len);
  }

  // Open a WebSocket, resolving once it is open; the returned `next()` resolves with the next
  // message and `closed` with the close event.
  function open(protocols) {
    const ws = protocols === undefined ? new WebSocket(url) : new WebSocket(url, protocols);
    ws.binaryType = "arraybuffer";
    const queue = [];
    const waiters = [];
    ws.onmessage = (e) => (waiters.length ? waiters.shift()(e.data) : queue.push(e.data));
    const closed = new Promise((resolve) => {
      ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean });
    });
    const next = (what) =>
      withTimeout(
        what,
        new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiters.push(resolve))),
      );
    const opened = withTimeout(
      "open",
      new Promise((resolve, reject) => {
        ws.onopen = () => resolve();
        closed.then((c) => reject(new Error(`closed before open: ${JSON.stringify(c)}`)));
      }),
    );
    return opened.then(() => ({ ws, next, closed }));
  }

  const shown = [];
  const show = (line) => {
    shown.push(line);
    const li = document.createElement("li");
    li.textContent = line;
    document.getElementById("log").appendChild(li);
  };
  document.body.innerHTML =
    `<h1 style="font:bold 18px sans-serif">rfc6455 echo from Chromium</h1>` +
    `<p style="font:14px sans-serif">page ${self.origin}, server ${url}</p>` +
    `<ol id="log" style="font:14px monospace"></ol>`;

  // 1. Echoes.
  const a = await open();
  check("open", a.ws.readyState === WebSocket.OPEN, { protocol: a.ws.protocol });
  show(`open ${url} (protocol "${a.ws.protocol}", extensions "${a.ws.extensions}")`);

  const texts = [
    ["text hello ☃ 𝄞", "hello ☃ 𝄞"],
    ["text 125 bytes", textOfBytes(125)],
    ["text 126 bytes", textOfBytes(126)],
    ["text 65536 bytes", textOfBytes(65536)],
  ];
  for (const [name, sent] of texts.slice(0, 1)) {
    a.ws.send(sent);
    const got = await a.next(name);
    check(name, got === sent, { sent, got });
    show(`${name}: sent "${sent}", echoed "${got}"`);
  }

  const binary = new Uint8Array(70000);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 7 + (i >> 8)) & 0xff;
  a.ws.send(binary.buffer);
  {
    const got = await a.next("binary 70000 bytes");
    const isBuffer = got instanceof ArrayBuffer;
    const bytes = isBuffer ? new Uint8Array(got) : new Uint8Array(0);
    let firstDiff = -1;
    for (let i = 0; i < Math.max(bytes.length, binary.length); i++) {
      if (bytes[i] !== binary[i]) {
        firstDiff = i;
        break;
      }
    }
    check("binary 70000 bytes", isBuffer && firstDiff === -1, {
      type: Object.prototype.toString.call(got),
      length: bytes.length,
      first_difference: firstDiff,
    });
    show(`binary 70000 bytes: echoed ${bytes.length} bytes, identical: ${firstDiff === -1}`);
  }

  for (const [name, sent] of texts.slice(1)) {
    a.ws.send(sent);
    const got = await a.next(name);
    const bytes = utf8.encode(sent).length;
    check(name, got === sent && bytes === Number(name.split(" ")[1]), {
      utf8_bytes_sent: bytes,
      utf8_bytes_echoed: typeof got === "string" ? utf8.encode(got).length : null,
    });
    show(`${name}: echoed ${typeof got === "string" ? utf8.encode(got).length : "?"} bytes, identical: ${got === sent}`);
  }

  // 1b. permessage-deflate (RFC 7692): Chromium offers `permessage-deflate;
  // client_max_window_bits` and the echo server accepts it, so ws.extensions names it; large
  // compressible messages go compressed both ways and must echo unchanged.
  check("permessage-deflate negotiated", a.ws.extensions.split(";")[0].trim() === "permessage-deflate", {
    extensions: a.ws.extensions,
  });
  show(`extensions "${a.ws.extensions}"`);
  {
    let json = "";
    for (let i = 0; json.length < 1 << 20; i++) json += `{"id":${i},"name":"user-${i}","online":${i % 3 !== 0}},`;
    json = json.slice(0, 1 << 20);
    a.ws.send(json);
    const got = await a.next("compressible text 1 MiB");
    check("compressible text 1 MiB", got === json, { sent_length: json.length, echoed_length: got?.length });
    show(`compressible text 1 MiB: echoed ${got?.length} characters, identical: ${got === json}`);

    const big = new Uint8Array(512 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i % 251) ^ ((i >> 12) & 0x0f);
    a.ws.send(big.buffer);
    const echoed = await a.next("compressible binary 512 KiB");
    const bytes = echoed instanceof ArrayBuffer ? new Uint8Array(echoed) : new Uint8Array(0);
    const same = bytes.length === big.length && bytes.every((b, i) => b === big[i]);
    check("compressible binary 512 KiB", same, { length: bytes.length });
    show(`compressible binary 512 KiB: echoed ${bytes.length} bytes, identical: ${same}`);
  }

  // 2. The close handshake, started by the browser.
  a.ws.close(4000, "browser done");
  const close1 = await withTimeout("close event after ws.close(4000)", a.closed);
  // The event carries the server's Close: rfc6455 echoes the status code with an empty reason
  // (§5.5.1: "the endpoint typically echos the status code it received"), so only the code and
  // cleanliness are checked here; the Rust side checks that "browser done" arrived.
  check("close 4000", close1.code === 4000 && close1.wasClean === true, close1);
  show(`close: code ${close1.code}, reason "${close1.reason}", wasClean ${close1.wasClean}`);

  // 3. A subprotocol offered, none chosen. RFC 6455 §4.1 only fails a connection whose server
  // picks a protocol the client did not offer; the browser's WebSocket API is stricter
  // (WHATWG WebSockets: if protocols is not empty and the response has no
  // Sec-WebSocket-Protocol, fail the WebSocket connection). So the server's 101 arrives, and
  // the browser drops the connection: error, then close 1006, not clean, never open.
  const offered = await withTimeout(
    "close event of the socket offering ['chat']",
    new Promise((resolve) => {
      const ws = new WebSocket(url, ["chat"]);
      const seen = { opened: false, error: false };
      ws.onopen = () => {
        seen.opened = true;
        seen.protocol = ws.protocol;
        ws.close();
      };
      ws.onerror = () => (seen.error = true);
      ws.onclose = (e) =>
        resolve({ ...seen, close: { code: e.code, reason: e.reason, wasClean: e.wasClean } });
    }),
  );
  check(
    "subprotocol offered, none chosen: the browser fails the connection",
    !offered.opened && offered.error && offered.close.code === 1006 && !offered.close.wasClean,
    offered,
  );
  show(
    `socket offering ["chat"], server chose none: opened ${offered.opened}, ` +
      `error ${offered.error}, close ${offered.close.code}, wasClean ${offered.close.wasClean}`,
  );

  // 4. Without a subprotocol the server is usable again; then a close without a status code.
  const b = await open();
  b.ws.send("still echoing");
  const got = await b.next("echo on the third socket");
  check("echo on the third socket", got === "still echoing", { got });
  b.ws.close();
  const close2 = await withTimeout("close event after ws.close()", b.closed);
  check("close without a code", close2.code === 1005 && close2.wasClean === true, close2);
  show(`third socket: echoed "${got}"; ws.close(): code ${close2.code}, wasClean ${close2.wasClean}`);

  return {
    checks,
    shown,
    origin: self.origin,
    location: String(location),
    userAgent: navigator.userAgent,
    extensions: a.ws.extensions,
    close: close1,
    offered_chat: offered,
    close_without_code: close2,
  };
}

// The page's own origin: a blank HTML page on a loopback port, serving nothing else.
async function servePage() {
  const server = http.createServer((req, res) => {
    if (req.url !== "/") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end('<!doctype html><meta charset="utf-8"><title>rfc6455 echo check</title><link rel="icon" href="data:,"><body></body>');
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return server;
}

try {
  pageServer = await servePage();
  const pageUrl = `http://127.0.0.1:${pageServer.address().port}/`;
  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      timeout: deadlineMs,
      // The flags this machine needs: no sandbox (CI runs as root), no GPU,
      // and no background connections to Google's hosts, which the closed network refuses.
      // Playwright gives every launch a fresh, empty user-data-dir of its own.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        ...spkiPins.map((pin) => `--ignore-certificate-errors-spki-list=${pin}`),
      ],
    });
  } catch (e) {
    finish(2, { ok: false, url, error: `cannot launch ${executablePath}: ${e.message}` });
    throw null;
  }
  const page = await browser.newPage({ viewport: { width: 1000, height: 420 } });
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(pageUrl);
  const result = { url, page: pageUrl, browser: `Chromium ${browser.version()}` };
  try {
    Object.assign(result, await page.evaluate(pageTest, url));
    result.ok = result.checks.every((c) => c.ok);
  } catch (e) {
    result.ok = false;
    result.error = e.message;
  }
  if (screenshot) await page.screenshot({ path: screenshot });
  // The long texts make the JSON line huge; keep only sizes in it.
  if (result.checks) {
    for (const c of result.checks) {
      if (c.detail && typeof c.detail.sent === "string" && c.detail.sent.length > 40) {
        c.detail = { sent_length: c.detail.sent.length, echoed_length: c.detail.got?.length };
      }
    }
  }
  finish(result.ok ? 0 : 1, result);
} catch (e) {
  if (e !== null) finish(1, { ok: false, url, error: String(e?.stack || e) });
} finally {
  await browser?.close().catch(() => {});
  pageServer?.closeAllConnections();
  pageServer?.close();
  clearTimeout(watchdog);
}
