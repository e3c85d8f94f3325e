//! Interoperability with a real browser: Chromium's own `WebSocket` API against our echo
//! server, over loopback TCP.
//!
//! The server is the loop of `examples/echo_server.rs` (`accept_tcp` with the default
//! `Config` and permessage-deflate on, `DeflateConfig::default()`, as the example runs; no
//! subprotocol chosen), run in-process on `127.0.0.1:0`; it also records what each connection
//! showed it. `tests/browser/echo_check.mjs` launches Debian's Chromium headless
//! through playwright-core, loads a blank page from a loopback HTTP origin and, in the page's
//! JavaScript, checks:
//!
//! - echoes of a text with 2-, 3- and 4-byte UTF-8 characters, a 70000-byte ArrayBuffer and
//!   texts of 125, 126 and 65536 bytes (the three payload-length encodings of §5.2);
//! - permessage-deflate (RFC 7692): `ws.extensions` names it, and a 1 MiB compressible text
//!   and a 512 KiB compressible ArrayBuffer (compressed both ways) echo unchanged;
//! - `ws.close(4000, "browser done")` ends cleanly with code 4000 in the close event (§7);
//! - a socket offering the subprotocol `chat`, which our server declines: Chromium fails it
//!   (the WHATWG WebSockets standard requires that, RFC 6455 §4.1 does not);
//! - `ws.close()` without a code: the close event reports 1005 (§7.1.5) and is clean.
//!
//! Server side, this test checks the Close frames that arrived (4000 "browser done", one
//! without a status code), that Chromium offered permessage-deflate and both ends agreed the
//! same parameters (our response is what `ws.extensions` reports), that each request carried the page's `Origin` (§4.1 item 8, "if the
//! request is coming from a browser client"), and the subprotocol offered.
//!
//! Needs `node`, `tests/browser/node_modules` and `/usr/bin/chromium` (or `$CHROMIUM`):
//! `bash .ci/test` installs them. The test fails (never skips) when one is missing. Every wait is
//! bounded; only the node process spawned here is ever killed, by its own PID (Chromium exits
//! with it: playwright drives it over a pipe that closes).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::handshake::Accept;
use rfc6455::{CloseCode, CloseFrame, Error, Message, Settings};

/// The longest the node script may run before it is killed (it gives up by itself after 30 s).
const NODE_DEADLINE: Duration = Duration::from_secs(60);
/// The longest one blocking read of the server may wait.
const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// Connections the script opens: the echo socket, the one offering `chat`, the last one.
const CONNECTIONS: usize = 3;

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Fail loudly, with the way out, when node, the node_modules or Chromium is missing.
fn require_browser_tools() {
    const WAY_OUT: &str = "run `bash .ci/test` (it installs Debian's chromium and runs \
                           `npm ci` in tests/browser)";
    match Command::new("node").arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("`node --version` failed ({}); {WAY_OUT}", out.status),
        Err(e) => panic!("cannot run `node` ({e}); the browser test needs Node.js; {WAY_OUT}"),
    }
    let playwright = browser_dir().join("node_modules").join("playwright-core");
    assert!(
        playwright.join("package.json").is_file(),
        "{} is missing; {WAY_OUT}",
        playwright.display()
    );
    let chromium = chromium();
    assert!(
        chromium.is_file(),
        "{} is missing (set $CHROMIUM to use another Chromium); {WAY_OUT}",
        chromium.display()
    );
}

/// What one connection showed the server, and how it ended.
#[derive(Debug)]
struct Seen {
    origin: Option<String>,
    subprotocols: Vec<String>,
    headers: Vec<(String, String)>,
    /// The request's `Sec-WebSocket-Extensions` elements.
    extensions: Vec<String>,
    /// What the connection agreed to (`Connection::permessage_deflate`).
    deflate: Option<DeflateParams>,
    messages_echoed: usize,
    close_received: Option<Option<CloseFrame>>,
    result: Result<(), String>,
}

/// The loop of `examples/echo_server.rs`, recording what it saw.
fn echo_connection(stream: TcpStream) -> Seen {
    let mut seen = Seen {
        origin: None,
        subprotocols: Vec::new(),
        headers: Vec::new(),
        extensions: Vec::new(),
        deflate: None,
        messages_echoed: 0,
        close_received: None,
        result: Ok(()),
    };
    let settings = Settings { deflate: Some(DeflateConfig::default()), ..Settings::default() };
    let accepted = rfc6455::accept_tcp(stream, settings, |request| {
        seen.extensions = request.extensions().to_vec();
        seen.origin = request.origin().map(str::to_owned);
        seen.subprotocols = request.subprotocols().to_vec();
        seen.headers = request
            .headers()
            .iter()
            .map(|(name, value)| (name.to_owned(), String::from_utf8_lossy(value).into_owned()))
            .collect();
        Ok(Accept::default())
    });
    let mut ws = match accepted {
        Ok(ws) => ws,
        Err(e) => {
            seen.result = Err(format!("handshake failed: {e}"));
            return seen;
        }
    };
    seen.deflate = ws.connection().permessage_deflate().copied();
    let _ = ws.get_ref().set_read_timeout(Some(READ_TIMEOUT));
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if let Err(e) = ws.send(msg) {
                    seen.result = Err(format!("send failed: {e}"));
                    break;
                }
                seen.messages_echoed += 1;
            }
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(Message::BinaryPart { .. }) => {
                seen.result = Err("a binary part, with parts off".into());
                break;
            }
            Ok(Message::Close(frame)) => seen.close_received = Some(frame),
            Err(Error::ConnectionClosed) => break,
            Err(e) => {
                seen.result = Err(format!("read failed: {e}"));
                break;
            }
        }
    }
    seen
}

/// Read a child's pipe to the end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Wait for `child` until `deadline`, then kill it (by its PID, through `Child::kill`).
fn wait_or_kill(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

fn run_echo_check(script: &Path, url: &str) -> (Option<ExitStatus>, String, String) {
    let mut child = Command::new("node")
        .arg(script)
        .arg(url)
        .env("CHROMIUM", chromium())
        .current_dir(browser_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn node {}: {e}", script.display()));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let status = wait_or_kill(&mut child, Instant::now() + NODE_DEADLINE);
    // The process is gone: its pipes reach EOF (unless a grandchild still holds them, which
    // the bounded wait below guards against).
    let join = |h: thread::JoinHandle<String>| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !h.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        if h.is_finished() { h.join().unwrap_or_default() } else { String::from("(pipe open)") }
    };
    (status, join(stdout), join(stderr))
}

#[test]
fn chromium_against_our_echo_server() {
    require_browser_tools();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, seen_rx) = mpsc::channel();
    // The accept loop lives until the test process ends; it only serves loopback.
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tx = tx.clone();
            thread::spawn(move || {
                let _ = tx.send(echo_connection(stream));
            });
        }
    });

    let url = format!("ws://127.0.0.1:{port}");
    let script = browser_dir().join("echo_check.mjs");
    let (status, stdout, stderr) = run_echo_check(&script, &url);
    let report = format!(
        "node {} {url}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script.display(),
        stdout.trim(),
        stderr.trim()
    );
    match status {
        None => panic!("the browser check still ran after {NODE_DEADLINE:?}: killed\n{report}"),
        Some(s) if !s.success() => panic!("the browser check failed ({s})\n{report}"),
        Some(_) => {}
    }
    assert!(stdout.contains(r#""ok":true"#), "the browser check did not report ok\n{report}");

    let mut seen: Vec<Seen> = (0..CONNECTIONS)
        .map(|i| {
            seen_rx.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| {
                panic!("our server finished only {i} of {CONNECTIONS} connections\n{report}")
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    assert!(seen_rx.try_recv().is_err(), "the browser opened more than {CONNECTIONS} connections");

    // Every request came from the page, and said so (§4.1 item 8; §10.2 lets a server use it).
    for s in &seen {
        let origin = s.origin.as_deref().unwrap_or_else(|| {
            panic!("a browser request carried no Origin: {:?}\n{report}", s.headers)
        });
        assert!(origin.starts_with("http://127.0.0.1:"), "unexpected Origin {origin:?}\n{report}");
        assert!(
            stdout.contains(&format!(r#""origin":"{origin}""#)),
            "the Origin we got, {origin:?}, is not the page's origin\n{report}"
        );
    }
    println!("Chromium's request headers:");
    for (name, value) in &seen[0].headers {
        println!("  {name}: {value}");
    }

    // Tell the three connections apart by what they carried, not by when they ended.
    let pos = |seen: &[Seen], what: &str, f: &dyn Fn(&Seen) -> bool| {
        seen.iter()
            .position(f)
            .unwrap_or_else(|| panic!("no connection {what}: {seen:#?}\n{report}"))
    };
    let offered = seen.remove(pos(&seen, "offered `chat`", &|s| !s.subprotocols.is_empty()));
    let echo = seen.remove(pos(&seen, "echoed 7 messages", &|s| s.messages_echoed == 7));
    let last = seen.remove(0);

    assert_eq!(echo.result, Ok(()), "the echo connection ended badly: {echo:#?}\n{report}");
    // permessage-deflate: Chromium offers `permessage-deflate; client_max_window_bits`, our
    // default answer is `permessage-deflate` (no parameters), and the page saw that answer.
    assert!(
        echo.extensions.iter().any(|e| e.starts_with("permessage-deflate")),
        "Chromium offered no permessage-deflate: {:?}\n{report}",
        echo.extensions
    );
    assert_eq!(echo.deflate, Some(DeflateParams::default()), "{echo:#?}\n{report}");
    assert!(
        stdout.contains(r#""extensions":"permessage-deflate""#),
        "the page's ws.extensions is not our response `permessage-deflate`\n{report}"
    );
    println!("Chromium offered {:?}; agreed {:?}", echo.extensions, echo.deflate);
    assert_eq!(
        echo.close_received,
        Some(Some(CloseFrame { code: CloseCode(4000), reason: "browser done".to_string() })),
        "the Close the browser sent for ws.close(4000, \"browser done\"): {echo:#?}\n{report}"
    );

    // The 101 went out without Sec-WebSocket-Protocol; Chromium then dropped the connection
    // without a Close frame, before sending anything.
    assert_eq!(offered.subprotocols, vec!["chat".to_string()], "{offered:#?}\n{report}");
    assert_eq!(offered.messages_echoed, 0, "{offered:#?}\n{report}");
    assert_eq!(offered.close_received, None, "{offered:#?}\n{report}");
    assert!(offered.result.is_err(), "expected an abrupt end: {offered:#?}\n{report}");

    assert_eq!(last.result, Ok(()), "the last connection ended badly: {last:#?}\n{report}");
    assert_eq!(last.messages_echoed, 1, "{last:#?}\n{report}");
    assert_eq!(
        last.close_received,
        Some(None),
        "ws.close() without a code sends a Close without a body: {last:#?}\n{report}"
    );
    println!("{}", stdout.trim());
}
