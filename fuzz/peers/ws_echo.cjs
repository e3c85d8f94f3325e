// A Node.js `ws` echo server with the library's defaults, for fuzz/wsfuzz-others.sh.
//
//   node fuzz/peers/ws_echo.cjs
//
// `new WebSocketServer({ host, port: 0 })` and nothing else: maxPayload 100 MiB,
// perMessageDeflate off (the server's default), skipUTF8Validation false, autoPong true.
// Every message is echoed with its type. An `error` listener logs each connection's
// error to stderr (without one, ws's protocol errors would end the process). `ws` comes
// from tests/node/node_modules (`npm ci` in tests/node, which .ci/test runs). Prints
// `PORT <n>` and `ws <version>`; runs until killed.

const path = require("node:path");
const wsDir = path.join(__dirname, "..", "..", "tests", "node", "node_modules", "ws");
const { WebSocketServer } = require(wsDir);
const { version } = require(path.join(wsDir, "package.json"));

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
wss.on("connection", (ws) => {
  ws.on("error", (e) => console.error(`ws error: ${e.code ?? ""} ${e.message}`));
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on("listening", () => {
  console.log(`PORT ${wss.address().port}`);
  console.log(`ws ${version}`);
});
