//! A real browser over `wss://` (the `rustls` feature): Chromium's own `WebSocket` API against
//! our TLS echo server (`accept_tls`, permessage-deflate on as in `examples/echo_server`, no
//! subprotocol chosen), with a certificate for `localhost` made at test time.
//!
//! `tests/browser/echo_check.mjs wss://localhost:PORT --trust-cert cert.pem` runs the same
//! page checks as `interop_browser_chromium.rs` (echoes of every length encoding, compressed
//! messages, close codes 4000 and 1005, a subprotocol refused). How Chromium trusts the test
//! certificate: by its public key, `--ignore-certificate-errors-spki-list=<SHA-256 of its
//! SubjectPublicKeyInfo>`, which accepts that key alone (a real verification path would need
//! the CA in an NSS database, which needs `certutil`); Playwright's `ignoreHTTPSErrors` stays
//! off, so any other certificate is still refused.
//!
//! Server side: the echo connection closed cleanly with 4000 "browser done" after 7 echoes,
//! over TLS. Needs `node`, `tests/browser/node_modules` and `/usr/bin/chromium` (or
//! `$CHROMIUM`): `bash .ci/test` installs them; the test fails (never skips) when one is
//! missing. Every wait is bounded; only the node process spawned here is ever killed, by its
//! own PID.
#![cfg(feature = "rustls")]

mod tls_support;

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::Accept;
use rfc6455::{CloseCode, CloseFrame, Error, Message, Settings, tls};

const NODE_DEADLINE: Duration = Duration::from_secs(60);
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// How one connection ended: messages echoed, the Close received, an error.
type Outcome = (usize, Option<Option<CloseFrame>>, Result<(), String>);

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("browser")
}

#[test]
fn chromium_over_wss_against_our_tls_echo_server() {
    let modules = browser_dir().join("node_modules").join("playwright-core").join("package.json");
    assert!(modules.is_file(), "{} is missing: run `bash .ci/test`", modules.display());
    let pki = tls_support::make_pki("chromium");
    let config = tls::server_config_from_pem(&pki.cert, &pki.key).expect("server config");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, outcomes) = mpsc::channel::<Outcome>();
    // The accept loop lives until the test process ends; it only serves loopback.
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (tx, config) = (tx.clone(), config.clone());
            thread::spawn(move || {
                let settings =
                    Settings { deflate: Some(DeflateConfig::default()), ..Settings::default() };
                let _ = tcp.set_read_timeout(Some(READ_TIMEOUT));
                let mut ws = match tls::accept_tls(tcp, config, settings, |_| Ok(Accept::default()))
                {
                    Ok(ws) => ws,
                    Err(e) => return drop(tx.send((0, None, Err(format!("handshake: {e}"))))),
                };
                let (mut echoed, mut close) = (0, None);
                let result = loop {
                    match ws.read() {
                        Ok(m @ (Message::Text(_) | Message::Binary(_))) => match ws.send(m) {
                            Ok(_) => echoed += 1,
                            Err(e) => break Err(format!("send: {e}")),
                        },
                        Ok(Message::Close(frame)) => close = Some(frame),
                        Ok(_) => {}
                        Err(Error::ConnectionClosed) => break Ok(()),
                        Err(e) => break Err(format!("read: {e}")),
                    }
                };
                let _ = tx.send((echoed, close, result));
            });
        }
    });

    let url = format!("wss://localhost:{port}");
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let mut child = Command::new("node")
        .arg(browser_dir().join("echo_check.mjs"))
        .arg(&url)
        .arg("--trust-cert")
        .arg(&pki.cert)
        .env("CHROMIUM", chromium)
        .current_dir(browser_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + NODE_DEADLINE;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let (stdout, stderr) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    let report =
        format!("node echo_check.mjs {url}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    assert!(status.is_some_and(|s| s.success()), "the browser check failed ({status:?})\n{report}");
    assert!(stdout.contains(r#""ok":true"#), "the browser check did not report ok\n{report}");
    assert!(stdout.contains(r#""extensions":"permessage-deflate""#), "{report}");

    let seen: Vec<Outcome> = (0..3)
        .map(|i| {
            outcomes.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| {
                panic!("our server finished only {i} of 3 connections\n{report}")
            })
        })
        .collect();
    let echo = seen.iter().find(|s| s.0 == 7).unwrap_or_else(|| panic!("{seen:?}\n{report}"));
    assert_eq!(echo.2, Ok(()), "{seen:?}\n{report}");
    assert_eq!(
        echo.1,
        Some(Some(CloseFrame { code: CloseCode(4000), reason: "browser done".to_string() })),
        "{seen:?}\n{report}"
    );
    println!("{}", stdout.trim());
}
