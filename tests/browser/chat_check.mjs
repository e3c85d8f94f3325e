// Two Chromium pages in the chat of examples/chat, through whatever serves it (nginx in
// front of two instances joined by Redis, in tests/chat_deployment.rs):
//
//   node tests/browser/chat_check.mjs http://127.0.0.1:PORT/ [--screenshot FILE.png]
//
// Page 1 joins as "alice", page 2 as "bob", each in a browser context of its own; they must
// be connected to different instances (#instance). Each sends chat lines (Enter in #text on
// page 1, the #send button on page 2) and both pages must show all of them, each with its
// sender and the sender's instance (data-from, data-instance), and both names in #online.
//
// Then the script asks for page 1's instance to be stopped: it prints the line
//   {"event":"stop-instance","instance":"ID"}
// and waits for a line {"stopped":"ID"} on its stdin. Page 1 must then show
// data-state="reconnecting" (seen by a MutationObserver on #status, with the text
// "reconnecting in N s (attempt K)"), reconnect to the other instance (#instance changes,
// data-state="open"), and the two pages exchange lines again. Last, both #online lists must
// come back to exactly ["alice", "bob"] (the stopped instance's presence expires).
//
// With --screenshot, page 2 is saved to FILE.png at the end.
//
// Prints one JSON result line and exits 0 when every check passed, 1 when one failed, 2 when
// the browser could not be started, 3 when the whole run took longer than the deadline
// (RFC6455_BROWSER_TIMEOUT_MS, 45 s by default). The page is on 127.0.0.1, like the
// WebSocket it opens, so Chromium's Local Network Access checks allow it (see echo_check.mjs).

import readline from "node:readline";
import { chromium } from "playwright-core";

const args = process.argv.slice(2);
const url = args.find((a) => a.startsWith("http://") || a.startsWith("https://"));
const shotAt = args.indexOf("--screenshot");
const screenshot = shotAt >= 0 ? args[shotAt + 1] : undefined;
if (!url || (shotAt >= 0 && !screenshot)) {
  console.error("usage: node chat_check.mjs http://HOST:PORT/ [--screenshot FILE.png]");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const deadlineMs = Number(process.env.RFC6455_BROWSER_TIMEOUT_MS || 45000);
// The longest one step (a join, a line arriving, a reconnection) may take.
const STEP_MS = 10000;
// The room forgets an instance not heard for 6 s; presence goes out every 2 s.
const PRESENCE_MS = 15000;
const started = Date.now();

let browser;
const consoleLines = [];
const steps = [];
// The steps passed, each with the time since the start.
const step = (name, detail) => steps.push({ step: name, ...detail, at_ms: Date.now() - started });

let finished = false;
// Print the one result line and set the exit status; later calls change nothing.
function finish(code, result) {
  if (finished) return;
  finished = true;
  result.elapsed_ms = Date.now() - started;
  result.steps = steps;
  if (consoleLines.length) result.console = consoleLines;
  console.log(JSON.stringify(result));
  process.exitCode = code;
}

const watchdog = setTimeout(async () => {
  finish(3, { ok: false, url, error: `no result within ${deadlineMs} ms` });
  try {
    await browser?.close();
  } finally {
    process.exit(3);
  }
}, deadlineMs);

// Lines from stdin (the test's answers), one at a time.
const stdin = readline.createInterface({ input: process.stdin });
const stdinQueue = [];
const stdinWaiters = [];
stdin.on("line", (line) => (stdinWaiters.length ? stdinWaiters.shift()(line) : stdinQueue.push(line)));
function nextStdinLine(what) {
  return new Promise((resolve, reject) => {
    if (stdinQueue.length) return resolve(stdinQueue.shift());
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${STEP_MS} ms`)), STEP_MS);
    stdinWaiters.push((line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
}

// What a page shows, for reports.
function shows(page) {
  return page.evaluate(() => {
    const text = (sel) => document.querySelector(sel)?.textContent.trim() ?? null;
    return {
      state: document.querySelector("#status")?.dataset.state ?? null,
      status: text("#status"),
      instance: text("#instance"),
      online: [...document.querySelectorAll("#online li")].map((li) => li.textContent.trim()),
      messages: [...document.querySelectorAll("#messages li")].map((li) => ({
        from: li.dataset.from,
        instance: li.dataset.instance,
        text: li.textContent.trim(),
      })),
    };
  });
}

// Wait (bounded) until `predicate(arg)` holds in the page; on a timeout the error says what
// the page showed.
async function until(page, what, predicate, arg, timeout = STEP_MS) {
  try {
    await page.waitForFunction(predicate, arg, { timeout, polling: 50 });
  } catch (e) {
    let seen;
    try {
      seen = JSON.stringify(await shows(page));
    } catch {
      seen = "(page unreadable)";
    }
    throw new Error(`${what}: not within ${timeout} ms (${e.message.split("\n")[0]}); the page shows ${seen}`);
  }
}

const instanceOf = (page) => page.evaluate(() => document.querySelector("#instance").textContent.trim());

// Load the page, join as `name`, wait for the welcome; returns the instance.
async function join(page, label, name) {
  await page.goto(url, { timeout: STEP_MS });
  await page.fill("#name", name, { timeout: STEP_MS });
  await page.click("#join", { timeout: STEP_MS });
  await until(
    page,
    `${label} joins as ${name}`,
    () =>
      document.querySelector("#status")?.dataset.state === "open" &&
      document.querySelector("#instance")?.textContent.trim() !== "",
  );
  const instance = await instanceOf(page);
  step(`${label} joined`, { name, instance });
  return instance;
}

// Send `text` from `page`: with Enter in #text, or with the #send button.
async function say(page, text, how) {
  await page.fill("#text", text, { timeout: STEP_MS });
  if (how === "enter") await page.press("#text", "Enter", { timeout: STEP_MS });
  else await page.click("#send", { timeout: STEP_MS });
}

// Wait until `page` lists the line `text` from `from`, marked with the sender's `instance`.
function sees(page, label, { from, text, instance }) {
  return until(
    page,
    `${label} shows ${from}'s line ${JSON.stringify(text)} from instance ${instance}`,
    ([from, text, instance]) =>
      [...document.querySelectorAll("#messages li")].some(
        (li) => li.dataset.from === from && li.dataset.instance === instance && li.textContent.includes(text),
      ),
    [from, text, instance],
  );
}

// Wait until `page`'s #online lists exactly `names` (in the server's sorted order).
function lists(page, label, names, timeout) {
  return until(
    page,
    `${label}'s #online lists exactly ${JSON.stringify(names)}`,
    (names) => {
      const shown = [...document.querySelectorAll("#online li")].map((li) => li.textContent.trim());
      return JSON.stringify(shown) === JSON.stringify(names);
    },
    names,
    timeout,
  );
}

// Every change of #status from now on (data-state and text), kept in the page.
function watchStatus(page) {
  return page.evaluate(() => {
    const status = document.querySelector("#status");
    const now = () => ({ state: status.dataset.state, text: status.textContent.trim(), at_ms: Math.round(performance.now()) });
    window.statusLog = [now()];
    new MutationObserver(() => {
      const last = window.statusLog[window.statusLog.length - 1];
      const next = now();
      if (next.state !== last.state || next.text !== last.text) window.statusLog.push(next);
    }).observe(status, { attributes: true, childList: true, characterData: true, subtree: true });
  });
}

async function exchange(pages, lines) {
  for (const line of lines) {
    await say(pages[line.by].page, line.text, line.how);
    for (const p of Object.values(pages)) await sees(p.page, p.label, line);
    step("line seen by both pages", { from: line.from, instance: line.instance });
  }
}

async function scenario(result) {
  const context = () => browser.newContext({ viewport: { width: 720, height: 400 } });
  const pages = {};
  for (const [key, name] of [["one", "alice"], ["two", "bob"]]) {
    const page = await (await context()).newPage();
    const label = key === "one" ? "page 1" : "page 2";
    page.on("console", (m) => consoleLines.push(`${label} ${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`${label} pageerror: ${e.message}`));
    pages[key] = { page, label, name };
  }
  const { one, two } = pages;
  one.instance = await join(one.page, one.label, one.name);
  two.instance = await join(two.page, two.label, two.name);
  result.instances = { page1: one.instance, page2: two.instance };
  if (one.instance === two.instance) {
    throw new Error(`both pages are on instance ${one.instance}: the pages must reach different instances`);
  }

  // Both names in the room, whichever instance each is on.
  for (const p of [one, two]) await lists(p.page, p.label, ["alice", "bob"], STEP_MS);
  step("both pages list alice and bob");

  // Lines across the two instances: Redis carries each to the other.
  await exchange(pages, [
    { by: "one", how: "enter", from: "alice", instance: one.instance, text: "hi bob, alice here" },
    { by: "two", how: "click", from: "bob", instance: two.instance, text: "hello alice, I am on the other instance" },
    { by: "one", how: "enter", from: "alice", instance: one.instance, text: "and Redis carries every line to both" },
  ]);

  // Stop page 1's instance; page 1 must reconnect (through the same URL) to the other one.
  await watchStatus(one.page);
  console.log(JSON.stringify({ event: "stop-instance", instance: one.instance }));
  const answer = await nextStdinLine(`the test stopping instance ${one.instance}`);
  if (answer !== JSON.stringify({ stopped: one.instance })) throw new Error(`unexpected answer ${answer}`);
  step("instance stopped", { instance: one.instance });

  await until(
    one.page,
    `${one.label} shows data-state="reconnecting"`,
    () => window.statusLog.some((s) => s.state === "reconnecting"),
  );
  step("page 1 reconnecting");
  await until(
    one.page,
    `${one.label} reconnects to instance ${two.instance}`,
    (other) =>
      document.querySelector("#status").dataset.state === "open" &&
      document.querySelector("#instance").textContent.trim() === other,
    two.instance,
  );
  const statusLog = await one.page.evaluate(() => window.statusLog);
  result.page1_status_log = statusLog;
  const waiting = statusLog.filter((s) => s.state === "reconnecting");
  if (!waiting.every((s) => /reconnecting in \d+(\.\d+)? s \(attempt \d+\)/.test(s.text))) {
    throw new Error(`#status while reconnecting does not say "reconnecting in N s (attempt K)": ${JSON.stringify(waiting)}`);
  }
  one.instance = await instanceOf(one.page);
  result.reconnected_to = one.instance;
  step("page 1 reconnected", { instance: one.instance });

  await exchange(pages, [
    { by: "one", how: "enter", from: "alice", instance: one.instance, text: "my instance went away; nginx found me another" },
    { by: "two", how: "click", from: "bob", instance: two.instance, text: "welcome back, the chat goes on" },
  ]);

  // The stopped instance's presence expires: alice is listed once again.
  for (const p of [one, two]) await lists(p.page, p.label, ["alice", "bob"], PRESENCE_MS);
  step("both pages list alice and bob once");

  result.page1 = await shows(one.page);
  result.page2 = await shows(two.page);
  if (screenshot) {
    await two.page.screenshot({ path: screenshot });
    result.screenshot = screenshot;
  }
}

try {
  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      timeout: deadlineMs,
      // As in echo_check.mjs: no sandbox (CI runs as root), no GPU, no connections to
      // Google's hosts, which the closed network refuses.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  } catch (e) {
    finish(2, { ok: false, url, error: `cannot launch ${executablePath}: ${e.message}` });
    throw null;
  }
  const result = { url, browser: `Chromium ${browser.version()}` };
  try {
    await scenario(result);
    result.ok = true;
  } catch (e) {
    result.ok = false;
    result.error = e.message;
  }
  finish(result.ok ? 0 : 1, result);
} catch (e) {
  if (e !== null) finish(1, { ok: false, url, error: String(e?.stack || e) });
} finally {
  await browser?.close().catch(() => {});
  stdin.close();
  clearTimeout(watchdog);
}
