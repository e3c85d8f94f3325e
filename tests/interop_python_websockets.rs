//! Interoperability with Python's `websockets` package, an independent implementation of
//! RFC 6455, in both directions over loopback TCP:
//!
//! - `python_client_against_our_server`: `tests/peers/python_client.py` drives our server
//!   (every payload-length encoding of §5.2, fragmentation §5.4, ping/pong §5.5.2, the close
//!   handshake §7);
//! - `our_client_against_python_server`: our `connect` client drives
//!   `tests/peers/python_echo_server.py` through the same sizes, a Ping of ours and one of
//!   theirs, and the close handshake, which the Python side reports back.
//!
//! These tests need `python3` with `websockets` installed: `bash .ci/test` installs it. They
//! fail (never skip) when it is missing. Set `RFC6455_TEST_PYTHON` to use another interpreter.
//! Every wait is bounded; only the child processes spawned here are ever killed.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::{CloseCode, CloseFrame, Config, Error, Message};

/// Payload sizes around the boundaries of the three length encodings (§5.2), plus 1 MiB.
const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 1 << 20];
/// The longest any Python peer may run before it is killed.
const PEER_DEADLINE: Duration = Duration::from_secs(60);
/// The longest one blocking read of ours may wait.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

fn python() -> String {
    std::env::var("RFC6455_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn peer_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("peers").join(name)
}

/// Fail loudly, with the way out, when python3 or websockets is missing.
fn require_python_websockets() {
    let python = python();
    let out = Command::new(&python)
        .args(["-c", "import websockets; print(websockets.__version__)"])
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`{python}` cannot import the `websockets` package needed by the interop tests:\n{}\n\
             run .ci/run (or bash .ci/test) or `{python} -m pip install 'websockets>=13'`",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "cannot run `{python}` ({e}); the interop tests need python3 with the `websockets` \
             package: run .ci/run (or bash .ci/test) or `pip install 'websockets>=13'`"
        ),
    }
}

/// A child process that is killed (by its own PID, via `Child::kill`) if the test ends early.
struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: thread::JoinHandle<String>,
}

impl Peer {
    fn spawn(script: &str, args: &[&str]) -> Peer {
        let mut child = Command::new(python())
            .arg("-u")
            .arg(peer_script(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {} {script}: {e}", python()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Peer { child, stdin, stdout: rx, stderr }
    }

    /// The next stdout line, or `None` if there is none within `timeout`.
    fn line(&self, timeout: Duration) -> Option<String> {
        self.stdout.recv_timeout(timeout).ok()
    }

    /// Close the peer's stdin, wait (bounded) for it to exit, and return its status with
    /// everything it printed that was not read yet.
    fn finish(mut self, deadline: Instant) -> (Option<ExitStatus>, Vec<String>, String) {
        self.stdin.take();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        // The process is gone, so its pipes reach EOF and the reader threads end: these
        // no longer block.
        let lines: Vec<String> =
            std::mem::replace(&mut self.stdout, mpsc::channel().1).into_iter().collect();
        let stderr = std::mem::replace(&mut self.stderr, thread::spawn(String::new))
            .join()
            .unwrap_or_default();
        (status, lines, stderr)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How one connection of the in-process echo server ended.
#[derive(Debug)]
struct ServerOutcome {
    close_received: Option<Option<CloseFrame>>,
    messages_echoed: usize,
    parts_echoed: usize,
    pings_seen: usize,
    result: Result<(), String>,
}

/// Binary messages from this size on are received and echoed in parts
/// (`Config::binary_parts_from`): the python client's 64 KiB and 1 MiB binary messages come
/// back as fragments sent while the message was still arriving, and websockets reassembles
/// and checks them.
const PARTS_FROM: usize = 65536;

/// The loop of `examples/echo_server.rs`, reporting how each connection ended.
fn echo_connection(stream: TcpStream) -> ServerOutcome {
    let mut outcome = ServerOutcome {
        close_received: None,
        messages_echoed: 0,
        parts_echoed: 0,
        pings_seen: 0,
        result: Ok(()),
    };
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let config = Config { binary_parts_from: Some(PARTS_FROM), ..Config::default() };
    let mut ws = match rfc6455::accept_with(stream, config, |_| Ok(Default::default())) {
        Ok(ws) => ws,
        Err(e) => {
            outcome.result = Err(format!("handshake failed: {e}"));
            return outcome;
        }
    };
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if let Err(e) = ws.send(msg) {
                    outcome.result = Err(format!("send failed: {e}"));
                    break;
                }
                outcome.messages_echoed += 1;
            }
            Ok(part @ Message::BinaryPart { last, .. }) => {
                outcome.parts_echoed += 1;
                if let Err(e) = ws.send(part) {
                    outcome.result = Err(format!("send failed: {e}"));
                    break;
                }
                outcome.messages_echoed += usize::from(last);
            }
            Ok(Message::Ping(_)) => outcome.pings_seen += 1,
            Ok(Message::Pong(_)) => {}
            Ok(Message::Close(frame)) => outcome.close_received = Some(frame),
            Err(Error::ConnectionClosed) => break,
            Err(e) => {
                outcome.result = Err(format!("read failed: {e}"));
                break;
            }
        }
    }
    outcome
}

#[test]
fn python_client_against_our_server() {
    require_python_websockets();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, outcomes) = mpsc::channel();
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
    let peer = Peer::spawn("python_client.py", &[&url]);
    let (status, stdout, stderr) = peer.finish(Instant::now() + PEER_DEADLINE);
    let report = format!(
        "python_client.py {url}\n--- stdout ---\n{}\n--- stderr ---\n{stderr}",
        stdout.join("\n")
    );
    match status {
        None => panic!("python client still running after {PEER_DEADLINE:?}: killed\n{report}"),
        Some(s) if !s.success() => panic!("python client failed ({s})\n{report}"),
        Some(_) => {}
    }

    let outcome = outcomes
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("our server never finished the connection\n{report}"));
    assert_eq!(
        outcome.result,
        Ok(()),
        "our server's connection ended with an error: {outcome:?}\n{report}"
    );
    assert_eq!(
        outcome.close_received,
        Some(Some(CloseFrame {
            code: CloseCode::NORMAL,
            reason: "python client done".to_string()
        })),
        "our server saw the wrong Close: {outcome:?}\n{report}"
    );
    assert_eq!(outcome.pings_seen, 3, "{outcome:?}\n{report}");
    // The 64 KiB and 1 MiB binary messages went in parts: at least one each, and the 1 MiB
    // one in several (it arrives over many reads).
    assert!(outcome.parts_echoed >= 3, "{outcome:?}\n{report}");
    assert!(outcomes.try_recv().is_err(), "the python client opened more than one connection");
}

fn text_of_size(n: usize) -> String {
    let pattern = "héllo wörld € 😀 ";
    let mut s = String::with_capacity(n);
    for c in pattern.chars().cycle() {
        if s.len() + c.len_utf8() > n {
            break;
        }
        s.push(c);
    }
    while s.len() < n {
        s.push('x');
    }
    s
}

fn binary_of_size(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + (i >> 8)) as u8).collect()
}

/// Read the next data message, answering (and counting) the Pings on the way.
fn read_data(
    ws: &mut rfc6455::WebSocket<rfc6455::MaybeTlsStream>,
    pings: &mut Vec<Vec<u8>>,
    what: &str,
) -> Message {
    loop {
        match ws.read() {
            Ok(Message::Ping(p)) => pings.push(p.to_vec()),
            Ok(Message::Pong(p)) => panic!("{what}: unexpected Pong {p:?}"),
            Ok(msg) => return msg,
            Err(e) => panic!("{what}: read failed: {e}"),
        }
    }
}

fn describe(msg: &Message) -> String {
    match msg {
        Message::Text(t) => format!("Text of {} bytes", t.len()),
        Message::Binary(b) => format!("Binary of {} bytes", b.len()),
        other => format!("{other:?}"),
    }
}

#[test]
fn our_client_against_python_server() {
    require_python_websockets();
    let deadline = Instant::now() + PEER_DEADLINE;
    let peer = Peer::spawn("python_echo_server.py", &["--timeout", "60"]);
    let port_line = peer.line(Duration::from_secs(30));
    let port: u16 = match port_line.as_deref().and_then(|l| l.strip_prefix("PORT ")) {
        Some(p) => p.trim().parse().expect("PORT line holds a number"),
        None => {
            let (_, stdout, stderr) = peer.finish(Instant::now() + Duration::from_secs(5));
            panic!(
                "python_echo_server.py printed no PORT line (first line: {port_line:?})\n\
                 --- stdout ---\n{}\n--- stderr ---\n{stderr}",
                stdout.join("\n")
            );
        }
    };

    let url = format!("ws://127.0.0.1:{port}/echo?from=rfc6455");
    let (mut ws, _response) =
        rfc6455::connect(&url).unwrap_or_else(|e| panic!("connect {url}: {e}"));
    ws.get_ref().set_read_timeout(Some(READ_TIMEOUT)).expect("set_read_timeout");
    let mut pings = Vec::new();

    for n in SIZES {
        let text = text_of_size(n);
        ws.send(Message::text(text.clone()))
            .unwrap_or_else(|e| panic!("send text of {n} bytes: {e}"));
        let what = format!("text echo of {n} bytes");
        match read_data(&mut ws, &mut pings, &what) {
            Message::Text(t) => assert!(*t == *text, "{what}: the echo differs"),
            other => panic!("{what}: got {}", describe(&other)),
        }

        let data = binary_of_size(n);
        ws.send(Message::binary(data.clone()))
            .unwrap_or_else(|e| panic!("send binary of {n} bytes: {e}"));
        let what = format!("binary echo of {n} bytes");
        match read_data(&mut ws, &mut pings, &what) {
            Message::Binary(b) => assert!(b[..] == data[..], "{what}: the echo differs"),
            other => panic!("{what}: got {}", describe(&other)),
        }
    }

    // A burst written before any echo is read: one flush for all of it.
    for i in 0..200 {
        ws.write(Message::text(format!("burst {i}"))).expect("queue a burst message");
    }
    ws.flush().expect("flush the burst");
    for i in 0..200 {
        let what = format!("burst echo {i}");
        match read_data(&mut ws, &mut pings, &what) {
            Message::Text(t) => assert_eq!(&*t, format!("burst {i}"), "{what}"),
            other => panic!("{what}: got {}", describe(&other)),
        }
    }

    // Our Ping: websockets answers it, and read() hands the Pong to us.
    let payload = b"ping from rfc6455 \x00\xff".to_vec();
    ws.send(Message::Ping(payload.clone().into())).expect("send a Ping");
    loop {
        match ws.read() {
            Ok(Message::Pong(p)) => {
                assert_eq!(p[..], payload[..], "the Pong must carry the Ping's payload");
                break;
            }
            Ok(Message::Ping(p)) => pings.push(p.to_vec()),
            Ok(other) => panic!("waiting for our Pong, got {}", describe(&other)),
            Err(e) => panic!("waiting for our Pong: {e}"),
        }
    }
    // Their Ping, sent right after the handshake, reached us (and was answered by the library).
    assert_eq!(pings, vec![b"ping from python".to_vec()], "the Pings python sent");

    ws.close(CloseCode::NORMAL, "done").expect("start the close handshake");
    let mut echoed = None;
    loop {
        match ws.read() {
            Ok(Message::Close(frame)) => echoed = Some(frame),
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(other) => panic!("after our Close, got {}", describe(&other)),
            Err(Error::ConnectionClosed) => break,
            Err(e) => panic!("finishing the close handshake: {e} (the Close we got: {echoed:?})"),
        }
    }
    let echoed = echoed.expect("read() must hand out the server's Close before ConnectionClosed");
    assert_eq!(echoed.map(|f| f.code), Some(CloseCode::NORMAL), "python echoes our close code");
    drop(ws);

    // The python side reports what it saw once its handler ends.
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.starts_with("CLOSE ")) {
        match peer.line(Duration::from_secs(15)) {
            Some(line) => seen.push(line),
            None => break,
        }
    }
    let (status, rest, stderr) = peer.finish(deadline);
    seen.extend(rest);
    let report =
        format!("--- python stdout ---\n{}\n--- python stderr ---\n{stderr}", seen.join("\n"));
    assert!(
        seen.iter().any(|l| l == "CLOSE 1000 done"),
        "python must report our Close as `CLOSE 1000 done`\n{report}"
    );
    assert!(
        seen.iter().any(|l| l == "PONG yes"),
        "our client must have answered python's Ping\n{report}"
    );
    assert!(
        matches!(status, Some(s) if s.success()),
        "python echo server exit status {status:?}\n{report}"
    );
}
