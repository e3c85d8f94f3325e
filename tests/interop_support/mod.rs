//! Shared helpers for the permessage-deflate and TLS interop tests (`interop_deflate_*.rs`,
//! `interop_tls_python.rs`): a peer
//! process that is killed (by its own PID, through `Child::kill`) if a test ends early, our
//! two servers (the std driver's loop of `examples/echo_server`'s `--threads` mode, and that
//! example's own event loop, compiled in from `examples/echo_server/event_loop.rs`), our
//! client's run of echoes, and the messages both directions send. Every wait is bounded;
//! everything listens on 127.0.0.1 only.
//!
//! Not every test file uses every helper.
#![allow(dead_code)]

#[path = "../../examples/echo_server/event_loop.rs"]
mod event_loop;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::frame::OpCode;
use rfc6455::handshake::{Accept, ClientRequest, HttpResponse, Request, Response};
use rfc6455::{CloseCode, Error, MaybeTlsStream, Message, Settings, Transport, WebSocket};

/// Payload sizes around the boundaries of the three length encodings (§5.2), plus 1 MiB.
pub const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 1 << 20];
/// The longest one blocking read of ours may wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// As in `examples/echo_server`: binary messages from this size on are echoed in parts as
/// they arrive (uncompressed ones; a compressed message is echoed whole).
pub const PARTS_FROM: usize = 256 * 1024;

/// The settings `examples/echo_server` runs with, with `deflate` for permessage-deflate.
pub fn example_settings(deflate: Option<DeflateConfig>) -> Settings {
    let mut settings = Settings { deflate, ..Settings::default() };
    settings.protocol.binary_parts_from = Some(PARTS_FROM);
    settings
}

/// Agreed parameters as the peers print them: `snct cnct smwb cmwb` in RFC 7692's terms
/// (0/1, 0/1, window bits with 15 for "no limit"), or `none`.
pub fn agreed_line(params: Option<&DeflateParams>) -> String {
    match params {
        None => "none".to_string(),
        Some(p) => format!(
            "{} {} {} {}",
            u8::from(p.server_no_context_takeover),
            u8::from(p.client_no_context_takeover),
            p.server_max_window_bits.unwrap_or(15),
            p.client_max_window_bits.unwrap_or(15)
        ),
    }
}

/// A child process whose stdout arrives line by line; killed (by its PID) if dropped while
/// it still runs.
pub struct Peer {
    pub what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: thread::JoinHandle<String>,
    /// The lines read so far (for reports).
    pub seen: Vec<String>,
}

impl Peer {
    pub fn spawn(mut command: Command, what: String) -> Peer {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {what}: {e}"));
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
        Peer { what, child, stdin, stdout: rx, stderr, seen: Vec::new() }
    }

    /// Read lines until one starts with `tag` (returning the rest of it), at most `timeout`.
    pub fn tagged(&mut self, tag: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.stdout.recv_timeout(left).ok()?;
            self.seen.push(line.clone());
            if let Some(rest) = line.strip_prefix(tag) {
                return Some(rest.trim_start().to_string());
            }
        }
    }

    /// Like [`Peer::tagged`], but a missing line fails the test with everything the peer
    /// said.
    pub fn expect_tagged(&mut self, tag: &str, timeout: Duration) -> String {
        match self.tagged(tag, timeout) {
            Some(rest) => rest,
            None => {
                let what = self.what.clone();
                let report = self.report_now();
                panic!("{what}: no `{tag}` line within {timeout:?}\n{report}")
            }
        }
    }

    /// Close the peer's stdin, wait (bounded) for it to exit (then kill it), and return its
    /// status with a report of everything it printed.
    pub fn finish(mut self, deadline: Instant) -> (Option<ExitStatus>, String) {
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
        // The process is gone: its pipes reach EOF and the reader threads end.
        let rest: Vec<String> =
            std::mem::replace(&mut self.stdout, mpsc::channel().1).into_iter().collect();
        self.seen.extend(rest);
        let stderr = std::mem::replace(&mut self.stderr, thread::spawn(String::new))
            .join()
            .unwrap_or_default();
        let report = format!(
            "{} (exit {status:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what,
            self.seen.join("\n"),
            stderr.trim()
        );
        (status, report)
    }

    /// Kill the peer now and report what it printed.
    fn report_now(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let rest: Vec<String> =
            std::mem::replace(&mut self.stdout, mpsc::channel().1).into_iter().collect();
        self.seen.extend(rest);
        let stderr = std::mem::replace(&mut self.stderr, thread::spawn(String::new))
            .join()
            .unwrap_or_default();
        format!("--- stdout ---\n{}\n--- stderr ---\n{}", self.seen.join("\n"), stderr.trim())
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

/// What one connection of our std-driver echo server agreed to and how it ended.
#[derive(Debug)]
pub struct Served {
    /// The permessage-deflate offers in the request, as received.
    pub offers: Vec<String>,
    /// What the connection runs with (`Connection::permessage_deflate`).
    pub params: Option<DeflateParams>,
    pub messages_echoed: usize,
    pub result: Result<(), String>,
}

/// `examples/echo_server`'s `--threads` mode (the std driver, a thread per connection,
/// `write` per echo and the flush before each read), recording each connection. Returns the
/// port; the accept loop lives until the test process ends.
pub fn std_echo_server(settings: Settings) -> (u16, Receiver<Served>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tx = tx.clone();
            thread::spawn(move || {
                let _ = tx.send(std_echo(stream, settings));
            });
        }
    });
    (port, rx)
}

/// [`std_echo_server`] over TLS (`examples/echo_server --threads --tls-cert … --tls-key …`).
#[cfg(feature = "rustls")]
pub fn std_tls_echo_server(
    settings: Settings,
    config: std::sync::Arc<rfc6455::tls::rustls::ServerConfig>,
) -> (u16, Receiver<Served>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (tx, config) = (tx.clone(), config.clone());
            thread::spawn(move || {
                let mut offers = Vec::new();
                let choose = |request: &Request| choose(request, &mut offers);
                let served = match rfc6455::tls::accept_tls(stream, config, settings, choose) {
                    Ok(ws) => echo_loop(ws, offers),
                    Err(e) => Served::failed(format!("handshake failed: {e}")),
                };
                let _ = tx.send(served);
            });
        }
    });
    (port, rx)
}

impl Served {
    fn failed(reason: String) -> Served {
        Served { offers: Vec::new(), params: None, messages_echoed: 0, result: Err(reason) }
    }
}

/// As the example: record the offers, agree to the first subprotocol.
fn choose(request: &Request, offers: &mut Vec<String>) -> Result<Accept, HttpResponse> {
    *offers = request.extensions().to_vec();
    Ok(Accept { subprotocol: request.subprotocols().first().cloned(), ..Accept::default() })
}

fn std_echo(stream: TcpStream, settings: Settings) -> Served {
    let mut offers = Vec::new();
    let choose = |request: &Request| choose(request, &mut offers);
    match rfc6455::accept_tcp(stream, settings, choose) {
        Ok(ws) => echo_loop(ws, offers),
        Err(e) => Served::failed(format!("handshake failed: {e}")),
    }
}

/// Echo until the connection is closed, recording how it went.
fn echo_loop<S: Read + Write + Transport>(mut ws: WebSocket<S>, offers: Vec<String>) -> Served {
    let mut served = Served { offers, params: None, messages_echoed: 0, result: Ok(()) };
    served.params = ws.connection().permessage_deflate().copied();
    let _ = ws.get_ref().set_read_timeout(Some(READ_TIMEOUT));
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_) | Message::BinaryPart { .. })) => {
                let whole = !matches!(msg, Message::BinaryPart { last: false, .. });
                if let Err(e) = ws.write(msg) {
                    served.result = Err(format!("echo failed: {e}"));
                    break;
                }
                served.messages_echoed += usize::from(whole);
            }
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_)) => {}
            Err(Error::ConnectionClosed) => break,
            Err(e) => {
                served.result = Err(format!("read failed: {e}"));
                break;
            }
        }
    }
    served
}

/// `examples/echo_server`'s default mode, its own event loop (one worker), on `settings`.
/// Returns the port; the loop lives until the test process ends.
pub fn event_loop_echo_server(settings: Settings) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    thread::spawn(move || event_loop::serve(listener, settings, 1));
    port
}

/// A string of exactly `n` UTF-8 bytes mixing 1- to 4-byte characters.
pub fn text_of_size(n: usize) -> String {
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

/// Compressible JSON-like text of exactly `n` bytes.
pub fn json_of_size(n: usize) -> String {
    let mut s = String::with_capacity(n + 64);
    let mut i = 0;
    while s.len() < n {
        s.push_str(&format!("{{\"id\":{i},\"name\":\"user-{i}\",\"online\":{}}},", i % 3 != 0));
        i += 1;
    }
    s.truncate(n);
    s
}

/// `n` bytes covering every byte value (compressible with a large enough window).
pub fn binary_of_size(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + (i >> 8)) as u8).collect()
}

/// `n` bytes that do not compress (xorshift64*).
pub fn random_of_size(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

fn describe(msg: &Message) -> String {
    match msg {
        Message::Text(t) => format!("Text of {} bytes", t.len()),
        Message::Binary(b) => format!("Binary of {} bytes", b.len()),
        other => format!("{other:?}"),
    }
}

/// What our client's run saw.
#[derive(Debug)]
pub struct ClientRun {
    /// What our client runs with (`Connection::permessage_deflate`).
    pub params: Option<DeflateParams>,
    /// The 101's `Sec-WebSocket-Extensions` elements.
    pub response_extensions: Vec<String>,
    /// Compressible messages of 32 bytes or more we sent (our default `min_compress_len`).
    pub compressible_sent: usize,
}

/// Connect to `url` with `settings` and check echoes of every kind of message: text and
/// binary of every size in [`SIZES`], compressible and not, fragmented messages, a burst, a
/// Ping; then the close handshake. Panics (with `what`) on any difference.
pub fn our_client_echoes(url: &str, settings: Settings, what: &str) -> ClientRun {
    let request = ClientRequest::new(url).unwrap_or_else(|e| panic!("{what}: url {url}: {e}"));
    let (ws, response) = rfc6455::connect_with(request, settings)
        .unwrap_or_else(|e| panic!("{what}: connect {url}: {e}"));
    client_echo_checks(ws, response, what)
}

/// [`our_client_echoes`] to a `wss://` URL, trusting what `config` trusts.
#[cfg(feature = "rustls")]
pub fn our_tls_client_echoes(
    url: &str,
    settings: Settings,
    config: std::sync::Arc<rfc6455::tls::rustls::ClientConfig>,
    what: &str,
) -> ClientRun {
    let request = ClientRequest::new(url).unwrap_or_else(|e| panic!("{what}: url {url}: {e}"));
    let (ws, response) = rfc6455::tls::connect_tls(request, settings, config)
        .unwrap_or_else(|e| panic!("{what}: connect {url}: {e}"));
    assert!(ws.get_ref().is_tls(), "{what}: {url} is not over TLS");
    client_echo_checks(ws, response, what)
}

/// The checks of [`our_client_echoes`] on a connection already open.
fn client_echo_checks(
    mut ws: WebSocket<MaybeTlsStream>,
    response: Response,
    what: &str,
) -> ClientRun {
    ws.get_ref().set_read_timeout(Some(READ_TIMEOUT)).expect("set_read_timeout");
    let mut run = ClientRun {
        params: ws.connection().permessage_deflate().copied(),
        response_extensions: response.extensions().to_vec(),
        compressible_sent: 0,
    };

    for n in SIZES {
        let seed = n as u64 + 1;
        let messages = [
            Message::text(text_of_size(n)),
            Message::text(json_of_size(n)),
            Message::binary(binary_of_size(n)),
            Message::binary(random_of_size(n, seed)),
        ];
        for message in messages {
            echo(&mut ws, message, what);
        }
        if n >= 32 {
            run.compressible_sent += 2; // the pattern text and the JSON-like text
        }
    }

    // Fragmented messages (§5.4), one empty fragment in each.
    let text_parts = ["frag-1 ".to_string(), String::new(), json_of_size(40_000), " end".into()];
    for (i, part) in text_parts.iter().enumerate() {
        let opcode = if i == 0 { OpCode::Text } else { OpCode::Continuation };
        ws.send_fragment(opcode, part.clone().into_bytes(), i + 1 == text_parts.len())
            .unwrap_or_else(|e| panic!("{what}: send a text fragment: {e}"));
    }
    expect(&mut ws, &Message::text(text_parts.concat()), what, "fragmented text");
    let binary_parts = [vec![0u8, 1], binary_of_size(126), Vec::new(), binary_of_size(65_536)];
    for (i, part) in binary_parts.iter().enumerate() {
        let opcode = if i == 0 { OpCode::Binary } else { OpCode::Continuation };
        ws.send_fragment(opcode, part.clone(), i + 1 == binary_parts.len())
            .unwrap_or_else(|e| panic!("{what}: send a binary fragment: {e}"));
    }
    expect(&mut ws, &Message::binary(binary_parts.concat()), what, "fragmented binary");

    // A burst written before any echo is read: small ones (never compressed) and JSON ones.
    let burst: Vec<Message> = (0..200)
        .map(|i| {
            if i % 2 == 0 {
                Message::text(format!("burst {i}"))
            } else {
                Message::text(json_of_size(200 + i))
            }
        })
        .collect();
    run.compressible_sent += 100;
    for message in &burst {
        ws.write(message.clone()).expect("queue a burst message");
    }
    ws.flush().expect("flush the burst");
    for (i, message) in burst.iter().enumerate() {
        expect(&mut ws, message, what, &format!("burst echo {i}"));
    }

    ws.send(Message::Ping(b"ping from rfc6455".to_vec().into())).expect("send a Ping");
    loop {
        match ws.read() {
            Ok(Message::Pong(p)) => {
                assert_eq!(&p[..], b"ping from rfc6455", "{what}: the Pong's payload");
                break;
            }
            Ok(Message::Ping(_)) => {}
            Ok(other) => panic!("{what}: waiting for our Pong, got {}", describe(&other)),
            Err(e) => panic!("{what}: waiting for our Pong: {e}"),
        }
    }

    ws.close(CloseCode::NORMAL, "done").expect("start the close handshake");
    loop {
        match ws.read() {
            Ok(Message::Close(_) | Message::Ping(_) | Message::Pong(_)) => {}
            Ok(other) => panic!("{what}: after our Close, got {}", describe(&other)),
            Err(Error::ConnectionClosed) => break,
            Err(e) => panic!("{what}: finishing the close handshake: {e}"),
        }
    }
    run
}

fn echo(ws: &mut WebSocket<MaybeTlsStream>, message: Message, what: &str) {
    let name = describe(&message);
    ws.send(message.clone()).unwrap_or_else(|e| panic!("{what}: send {name}: {e}"));
    expect(ws, &message, what, &name);
}

/// Read the next data message (skipping Pings, which the library answers) and compare.
fn expect(ws: &mut WebSocket<MaybeTlsStream>, sent: &Message, what: &str, name: &str) {
    loop {
        match ws.read() {
            Ok(Message::Ping(_)) => {}
            Ok(got) => {
                assert!(
                    got == *sent,
                    "{what}: the echo of {name} differs: got {}, sent {}",
                    describe(&got),
                    describe(sent)
                );
                return;
            }
            Err(e) => panic!("{what}: reading the echo of {name}: {e}"),
        }
    }
}

/// The Python interpreter the interop tests run (`RFC6455_TEST_PYTHON`, else `python3`).
pub fn python() -> String {
    std::env::var("RFC6455_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// A peer script in `tests/peers/`.
pub fn peer_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("peers").join(name)
}

/// Fail loudly, with the way out, when python3 or websockets is missing.
pub fn require_python_websockets() {
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

/// Start `tests/peers/<script>` with `args` under [`python`], unbuffered.
pub fn python_peer(script: &str, args: &[&str]) -> Peer {
    let mut command = Command::new(python());
    command.arg("-u").arg(peer_script(script)).args(args);
    Peer::spawn(command, format!("{script} {}", args.join(" ")))
}
