//! `examples/chat` deployed the way issue 12 describes it, with real components: two chat
//! instances joined by Redis, behind nginx, and two Chromium pages talking through nginx.
//!
//! The test starts, each on a free loopback port, with every file in one temporary directory:
//!
//! 1. `redis-server` (`--port P --bind 127.0.0.1 --save '' --appendonly no`, no config file);
//! 2. two chat instances, the example binary (`cargo build --example chat`, run from here so
//!    that `cargo test --test chat_deployment` and `--all-targets`, which build no example
//!    binary, both work): `127.0.0.1:A --redis redis://127.0.0.1:P --instance a` and the same
//!    with `B` and `b`;
//! 3. nginx (`-p DIR -c DIR/nginx.conf -e DIR/error.log -g 'daemon off;'`: pid file, logs and
//!    temp paths in DIR), one upstream with both instances (`least_conn`) and the usual
//!    WebSocket proxy settings: `proxy_http_version 1.1`, `Upgrade $http_upgrade`,
//!    `Connection $connection_upgrade` (from the `map`), `Host $http_host` (see below),
//!    `X-Forwarded-For`, `proxy_read_timeout`;
//! 4. `node tests/browser/chat_check.mjs http://127.0.0.1:N/`, which launches Chromium
//!    (headless, through playwright-core) with two pages.
//!
//! What it checks: each instance serves the page at `GET /` itself, and nginx serves the same
//! page; both instances subscribe to the Redis channels; the two pages join through nginx and
//! land on different instances; each page sends messages and both pages see all of them, with
//! the sender's instance (so the lines crossed Redis), and each page lists both names in
//! `#online`. Then the test kills the instance page 1 is on (by its PID); page 1 must show
//! `data-state=reconnecting`, reconnect through nginx to the other instance, and the two pages
//! exchange messages again; the room drops the dead instance's stale presence. Last, a
//! cross-origin upgrade through nginx (`Origin: http://evil.example`) gets 403 while the same
//! request with the page's origin gets 101.
//!
//! Routing: `least_conn` sends page 2's WebSocket to the instance without page 1's, so the
//! pages land on different instances at the first try (plain round robin would put both
//! sockets on the same instance whenever a page load makes an even number of requests).
//! `Host $http_host` forwards the `Host` the browser sent, port included, as the chat's docs
//! advise: the chat accepts a page whose `Origin` names that host, and on the test's port
//! `Host $host` (which drops the port) would refuse every page unless the instances were
//! given `--allow-origin http://127.0.0.1:N`.
//!
//! Needs `redis-server`, `nginx`, `node`, `tests/browser/node_modules` and `/usr/bin/chromium`
//! (or `$CHROMIUM`): `bash .ci/test` installs them; the test fails (never skips) without one.
//! Every wait is bounded. Every process is stopped by its own PID when the test ends, failed or
//! not: Redis, the chat instances and node with SIGKILL (`Child::kill`; Chromium exits with
//! node, whose pipe to it closes), nginx with SIGTERM (its master then stops its worker) and
//! SIGKILL if it outlives 5 s. On failure the output of every component is printed and the
//! temporary directory (configuration, nginx's logs) is kept.
//!
//! `RFC6455_CHAT_SCREENSHOT=FILE` saves a screenshot of page 2 at the end of the chat (it is
//! how `examples/chat/screenshot.png` was made).

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest `cargo build --example chat` may take (a fresh build on a slow machine).
const BUILD_DEADLINE: Duration = Duration::from_secs(600);
/// The longest a component may take to be ready (listening, answering).
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest the node script may run before it is killed (it gives up by itself after 45 s).
const NODE_DEADLINE: Duration = Duration::from_secs(60);
/// The longest one socket read or write of the test may wait.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long nginx may take to stop after SIGTERM before it gets SIGKILL.
const NGINX_STOP: Duration = Duration::from_secs(5);

const WAY_OUT: &str = "run `bash .ci/test` (it installs Debian's redis-server, nginx and \
                       chromium, and runs `npm ci` in tests/browser)";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn browser_dir() -> PathBuf {
    manifest_dir().join("tests").join("browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// `name` on `$PATH` or in the sbin directories, which a non-root `$PATH` often lacks
/// (Debian installs nginx as /usr/sbin/nginx).
fn find_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let sbin = ["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(sbin)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not installed (not on $PATH nor in sbin); {WAY_OUT}")
        })
}

/// Fail loudly, with the way out, when node, the node_modules or Chromium is missing.
fn require_browser_tools() {
    match Command::new("node").arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("`node --version` failed ({}); {WAY_OUT}", out.status),
        Err(e) => panic!("cannot run `node` ({e}); the chat test needs Node.js; {WAY_OUT}"),
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

/// Read a child's pipe line by line on a thread of its own: every line goes to `log` (with
/// `tag` in front) and, when `lines` is given, to that channel too.
fn forward(
    pipe: impl Read + Send + 'static,
    tag: &'static str,
    log: Arc<Mutex<String>>,
    lines: Option<Sender<String>>,
) {
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut log) = log.lock() {
                log.push_str(tag);
                log.push_str(&line);
                log.push('\n');
            }
            if let Some(lines) = &lines {
                let _ = lines.send(line);
            }
        }
    });
}

/// Wait for `child` until `deadline`, then kill it (by its PID, through `Child::kill`).
fn wait_or_kill(child: &mut Child, deadline: Instant) -> Option<std::process::ExitStatus> {
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

/// Build the chat example (a no-op when it is fresh) and return its executable.
///
/// `cargo test` builds example binaries, but `cargo test --all-targets` builds examples only
/// as test harnesses and `cargo test --test chat_deployment` not at all, so the test asks
/// cargo itself, with the profile this test was built with, and takes the path cargo reports.
fn build_chat_example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile dir>/deps/chat_deployment-HASH
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .unwrap_or("debug")
        .to_owned();
    let mut command = Command::new(env!("CARGO"));
    // Cargo runs this test with its package's variables set (CARGO_MANIFEST_DIR, CARGO_PKG_*
    // ...). Some build scripts (ring's) ask to rerun when one changes, so an inner cargo that
    // saw them would rebuild half the tree, and the next `cargo test` all of it again.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_tests = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            || name == "CARGO_PRIMARY_PACKAGE"
            || name == "CARGO_TARGET_TMPDIR";
        if set_for_tests {
            command.env_remove(&*name);
        }
    }
    command
        .args(["build", "--example", "chat", "--message-format=json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(manifest_dir().join("Cargo.toml"));
    match profile_dir.as_str() {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", env!("CARGO")));
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, messages) = mpsc::channel();
    forward(child.stdout.take().expect("piped stdout"), "", Arc::default(), Some(tx));
    forward(child.stderr.take().expect("piped stderr"), "", Arc::clone(&log), None);
    let status = wait_or_kill(&mut child, Instant::now() + BUILD_DEADLINE);
    // The process is gone: its stdout reaches EOF and the channel ends.
    let messages: Vec<String> = messages.iter().collect();
    let stderr = log.lock().map(|s| s.clone()).unwrap_or_default();
    match status {
        None => {
            panic!("`cargo build --example chat` ran over {BUILD_DEADLINE:?}: killed\n{stderr}")
        }
        Some(s) if !s.success() => panic!("`cargo build --example chat` failed ({s})\n{stderr}"),
        Some(_) => {}
    }
    messages
        .iter()
        .filter(|m| {
            m.contains(r#""reason":"compiler-artifact""#) && m.contains(r#""kind":["example"]"#)
        })
        .filter(|m| m.contains(r#""name":"chat""#))
        .find_map(|m| json_string_after(m, r#""executable":""#))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("cargo reported no executable for the chat example\n{stderr}"))
}

/// The JSON string that starts right after `key` in `line` (the few escapes a path or a name
/// can carry are undone).
fn json_string_after(line: &str, key: &str) -> Option<String> {
    let start = line.find(key)? + key.len();
    let mut out = String::new();
    let mut chars = line[start..].chars();
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
}

/// `n` distinct free loopback ports (all held open together while they are picked).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> =
        (0..N).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")).collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local addr").port())
}

/// Poll `probe` every 50 ms until it returns `Some`, at most `timeout`; fail with `what`.
fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// How a component is stopped.
#[derive(Clone, Copy, PartialEq)]
enum Stop {
    /// SIGKILL, through `Child::kill`.
    Kill,
    /// SIGTERM, then SIGKILL after a grace period: for nginx, whose master stops its workers
    /// on SIGTERM but would leave them running if it were killed.
    Terminate(Duration),
}

/// A process the test started; stopped by its own PID when dropped.
struct Component {
    what: String,
    child: Child,
    stop: Stop,
    /// Its stdout, line by line (for readiness lines).
    lines: Receiver<String>,
    /// Its stdout and stderr, for reports.
    log: Arc<Mutex<String>>,
}

impl Component {
    fn spawn(what: &str, mut command: Command, stop: Stop) -> Component {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        forward(child.stdout.take().expect("piped stdout"), "", Arc::clone(&log), Some(tx));
        forward(child.stderr.take().expect("piped stderr"), "stderr: ", Arc::clone(&log), None);
        Component { what: what.to_owned(), child, stop, lines, log }
    }

    fn log(&self) -> String {
        self.log.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Fail if the process has exited already.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            // Let the pipe threads catch its last words.
            thread::sleep(Duration::from_millis(100));
            panic!("{} exited ({status}):\n{}", self.what, self.log());
        }
    }

    /// Wait for a stdout line starting with `prefix`; fail if the process exits first.
    fn wait_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(_) => self.assert_running(),
            }
            assert!(
                Instant::now() < deadline,
                "{} printed no line starting with {prefix:?} within {timeout:?}:\n{}",
                self.what,
                self.log()
            );
        }
    }

    /// Stop the process (see [`Stop`]) and reap it.
    fn stop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        if let Stop::Terminate(grace) = self.stop {
            let pid = libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t");
            // SAFETY: kill(2) takes plain integers. The PID is our own child's, which we have
            // not reaped (try_wait just said it runs), so it cannot belong to another process.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            if wait_or_kill(&mut self.child, Instant::now() + grace).is_some() {
                return;
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Component {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything the test started, in a temporary directory of its own. Dropping it stops every
/// process; on a failure it first prints what each one said and keeps the directory.
struct Deployment {
    dir: PathBuf,
    components: Vec<Component>,
}

impl Deployment {
    fn new() -> Deployment {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir()
            .join(format!("rfc6455-chat-deployment-{}-{nanos:09}", std::process::id()));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        Deployment { dir, components: Vec::new() }
    }

    fn start(&mut self, what: &str, command: Command, stop: Stop) -> &mut Component {
        self.components.push(Component::spawn(what, command, stop));
        self.components.last_mut().expect("just pushed")
    }

    fn component(&mut self, what: &str) -> &mut Component {
        self.components
            .iter_mut()
            .find(|c| c.what == what)
            .unwrap_or_else(|| panic!("no component {what:?}"))
    }

    /// redis-server on `port`: loopback only, nothing saved, no config file read.
    fn start_redis(&mut self, redis_server: &Path, port: u16) {
        let mut command = Command::new(redis_server);
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .current_dir(&self.dir);
        self.start("redis-server", command, Stop::Kill);
        let redis = self.component("redis-server");
        wait_for("redis-server answers PING", READY_TIMEOUT, || {
            redis.assert_running();
            match redis_command(port, &["PING"]) {
                Ok(Resp::Simple(pong)) if pong == "PONG" => Some(()),
                _ => None,
            }
        });
    }

    /// A chat instance on `port`, joined to Redis on `redis_port`.
    fn start_chat(&mut self, chat: &Path, name: &str, port: u16, redis_port: u16) {
        let mut command = Command::new(chat);
        command
            .arg(format!("127.0.0.1:{port}"))
            .args(["--redis", &format!("redis://127.0.0.1:{redis_port}")])
            .args(["--instance", name])
            .current_dir(&self.dir);
        let what = format!("chat instance {name}");
        let line =
            self.start(&what, command, Stop::Kill).wait_line("chat listening on", READY_TIMEOUT);
        let expected = format!("chat listening on http://127.0.0.1:{port}/ (instance {name})");
        assert_eq!(line, expected, "{what}'s ready line");
    }

    /// nginx on `port` in front of the instances on `upstreams`.
    fn start_nginx(&mut self, nginx: &Path, port: u16, upstreams: &[u16]) {
        let conf = nginx_conf(&self.dir, port, upstreams);
        let conf_path = self.dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let mut command = Command::new(nginx);
        command
            .arg("-p")
            .arg(&self.dir)
            .arg("-c")
            .arg(&conf_path)
            // The log for the messages before nginx.conf is read (it would be /var/log/nginx).
            .arg("-e")
            .arg(self.dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .current_dir(&self.dir);
        self.start("nginx", command, Stop::Terminate(NGINX_STOP));
        let nginx = self.component("nginx");
        wait_for("nginx accepts connections", READY_TIMEOUT, || {
            nginx.assert_running();
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
    }

    fn report(&self) -> String {
        let mut report = format!("temporary directory (kept): {}\n", self.dir.display());
        for c in &self.components {
            report.push_str(&format!("--- {} (pid {}) ---\n{}", c.what, c.child.id(), c.log()));
        }
        for file in ["error.log", "access.log"] {
            let text = std::fs::read_to_string(self.dir.join(file)).unwrap_or_default();
            report.push_str(&format!("--- nginx {file} ---\n{text}"));
        }
        report
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let failed = thread::panicking();
        // nginx first, so that no request reaches an instance that is going away.
        for c in self.components.iter_mut().rev() {
            c.stop();
        }
        if failed {
            eprintln!("{}", self.report());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// nginx.conf: everything it writes lives in `dir`, so it runs as any user.
fn nginx_conf(dir: &Path, port: u16, upstreams: &[u16]) -> String {
    // A master running as root switches its worker to `user`, by default nobody:nobody, and
    // Debian has no group `nobody`; as root the worker stays root (the test's own user: the
    // directory we just made is owned by it). Without root the directive is moot: left out.
    let is_root = std::fs::metadata(dir).is_ok_and(|m| m.uid() == 0);
    let user = if is_root { "user root;\n" } else { "" };
    let dir = dir.display();
    let servers: String =
        upstreams.iter().map(|p| format!("        server 127.0.0.1:{p};\n")).collect();
    format!(
        "# Written by tests/chat_deployment.rs for one run.
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{
    worker_connections 128;
}}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    # `Connection: upgrade` when the client asked for an upgrade, else `close`.
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}

    upstream chat {{
        # Long-lived WebSockets: a new one goes to the instance holding fewer.
        least_conn;
{servers}    }}

    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://chat;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            # The Host the browser sent, port included: the chat compares it with Origin.
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # Longer than the chat's 20 s pings, so that an idle chat stays connected.
            proxy_read_timeout 300s;
        }}
    }}
}}
"
    )
}

/// A Redis reply (RESP2).
#[derive(Debug, PartialEq)]
enum Resp {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<String>),
    Array(Vec<Resp>),
}

/// One reply from the front of `bytes` and its length, or `None` while it is incomplete.
fn parse_resp(bytes: &[u8]) -> Option<(Resp, usize)> {
    let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(bytes.get(1..line_end)?).ok()?;
    let after = line_end + 2;
    match bytes.first()? {
        b'+' => Some((Resp::Simple(line.to_owned()), after)),
        b'-' => Some((Resp::Error(line.to_owned()), after)),
        b':' => Some((Resp::Integer(line.parse().ok()?), after)),
        b'$' => {
            let Ok(len) = usize::try_from(line.parse::<i64>().ok()?) else {
                return Some((Resp::Bulk(None), after));
            };
            let body = bytes.get(after..after + len)?;
            bytes.get(after + len..after + len + 2)?;
            Some((Resp::Bulk(Some(String::from_utf8_lossy(body).into_owned())), after + len + 2))
        }
        b'*' => {
            let count: usize = line.parse().ok()?;
            let mut items = Vec::with_capacity(count.min(64));
            let mut at = after;
            for _ in 0..count {
                let (item, used) = parse_resp(bytes.get(at..)?)?;
                items.push(item);
                at += used;
            }
            Some((Resp::Array(items), at))
        }
        _ => Some((Resp::Error(format!("not RESP: {line:?}")), after)),
    }
}

/// Send one command to Redis on `port` (its own connection) and read the reply.
fn redis_command(port: u16, args: &[&str]) -> std::io::Result<Resp> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes())?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some((resp, _)) = parse_resp(&reply) {
            return Ok(resp);
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        reply.extend_from_slice(&buf[..n]);
    }
}

/// How many clients Redis has subscribed to each of the chat's two channels.
fn chat_subscribers(redis_port: u16) -> Option<(i64, i64)> {
    let args = ["PUBSUB", "NUMSUB", "rfc6455-chat:messages", "rfc6455-chat:presence"];
    match redis_command(redis_port, &args).ok()? {
        Resp::Array(items) => match items.as_slice() {
            [_, Resp::Integer(messages), _, Resp::Integer(presence)] => {
                Some((*messages, *presence))
            }
            _ => None,
        },
        _ => None,
    }
}

/// An HTTP/1.1 response as read off the wire.
struct HttpReply {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Send `request` to 127.0.0.1:`port` and read the response: the head, then the body up to
/// `Content-Length` or, without one, to EOF.
fn http_exchange(port: u16, request: &str) -> std::io::Result<HttpReply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.write_all(request.as_bytes())?;
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::new(
                ErrorKind::UnexpectedEof,
                format!("EOF before the end of the head: {:?}", String::from_utf8_lossy(&bytes)),
            ));
        }
        bytes.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = bytes[head_end + 4..].to_vec();
    let mut reply = HttpReply { status_line, headers, body: Vec::new() };
    // A 101 has no body: what follows is WebSocket traffic.
    if !reply.status_line.contains(" 101 ") {
        let length = reply.header("content-length").and_then(|v| v.parse::<usize>().ok());
        while length.is_none_or(|len| body.len() < len) {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => body.extend_from_slice(&buf[..n]),
                Err(e) => return Err(e),
            }
        }
    }
    reply.body = body;
    Ok(reply)
}

fn get_page(port: u16) -> HttpReply {
    let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    http_exchange(port, &request).unwrap_or_else(|e| panic!("GET / on port {port}: {e}"))
}

/// The status line nginx on `port` answers to a WebSocket upgrade from `origin`.
fn upgrade_status(port: u16, origin: &str) -> String {
    let request = format!(
        "GET /ws?name=probe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    );
    let reply = http_exchange(port, &request)
        .unwrap_or_else(|e| panic!("upgrade from {origin} through nginx: {e}"));
    reply.status_line
}

/// The node script, with a line protocol on its stdin and stdout.
struct Browser {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    seen: Vec<String>,
}

impl Browser {
    fn start(url: &str, screenshot: Option<&Path>) -> Browser {
        let script = browser_dir().join("chat_check.mjs");
        let mut command = Command::new("node");
        command.arg(&script).arg(url);
        if let Some(file) = screenshot {
            command.arg("--screenshot").arg(file);
        }
        let mut child = command
            .env("CHROMIUM", chromium())
            .current_dir(browser_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn node {}: {e}", script.display()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        forward(child.stdout.take().expect("piped stdout"), "", Arc::default(), Some(tx));
        forward(child.stderr.take().expect("piped stderr"), "", Arc::clone(&stderr), None);
        let stdin = child.stdin.take();
        Browser { child, stdin, lines, stderr, seen: Vec::new() }
    }

    /// The next stdout line, or `None` once the script has ended or `deadline` passed.
    fn next_line(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.checked_duration_since(Instant::now())?;
        let line = self.lines.recv_timeout(left).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    fn tell(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("node's stdin");
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).expect("write to node's stdin");
    }

    fn report(&self) -> String {
        format!(
            "--- node stdout ---\n{}\n--- node stderr ---\n{}",
            self.seen.join("\n"),
            self.stderr.lock().map(|s| s.trim().to_owned()).unwrap_or_default()
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stdin.take();
        wait_or_kill(&mut self.child, Instant::now() + Duration::from_secs(5));
    }
}

#[test]
fn two_instances_behind_nginx_with_redis_and_two_browsers() {
    let started = Instant::now();
    let redis_server = find_tool("redis-server");
    let nginx = find_tool("nginx");
    require_browser_tools();
    let chat = build_chat_example();
    println!("chat example: {} ({:?} to build)", chat.display(), started.elapsed());
    let started = Instant::now();

    let mut d = Deployment::new();
    let [redis_port, a_port, b_port, nginx_port] = free_ports();
    let public_origin = format!("http://127.0.0.1:{nginx_port}");
    d.start_redis(&redis_server, redis_port);
    d.start_chat(&chat, "a", a_port, redis_port);
    d.start_chat(&chat, "b", b_port, redis_port);

    // Both instances listen to both channels: the room is one room.
    let subscribers =
        wait_for("both instances subscribe to the chat's Redis channels", READY_TIMEOUT, || {
            chat_subscribers(redis_port).filter(|&counts| counts == (2, 2))
        });
    println!("Redis subscribers (messages, presence): {subscribers:?}");

    // Each instance serves the page itself.
    let page = get_page(a_port);
    assert!(
        page.status_line.starts_with("HTTP/1.1 200"),
        "GET / on instance a: {}",
        page.status_line
    );
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"), "GET / on a");
    let html = String::from_utf8_lossy(&page.body).into_owned();
    for id in ["join-form", "status", "instance", "online", "messages", "send-form"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "the page has no #{id}:\n{html}");
    }
    assert_eq!(get_page(b_port).body, page.body, "instances a and b serve different pages");

    d.start_nginx(&nginx, nginx_port, &[a_port, b_port]);
    let proxied = get_page(nginx_port);
    assert!(
        proxied.status_line.starts_with("HTTP/1.1 200"),
        "GET / via nginx: {}",
        proxied.status_line
    );
    assert_eq!(proxied.body, page.body, "nginx serves another page than the instances");
    println!(
        "ready in {:?}: redis {redis_port}, a {a_port}, b {b_port}, nginx {nginx_port}",
        started.elapsed()
    );

    // The two pages. The script asks for the instance of page 1 to be stopped.
    let screenshot = std::env::var_os("RFC6455_CHAT_SCREENSHOT").map(|f| manifest_dir().join(f));
    let url = format!("http://127.0.0.1:{nginx_port}/");
    let mut browser = Browser::start(&url, screenshot.as_deref());
    let deadline = Instant::now() + NODE_DEADLINE;
    let mut stopped = None;
    let result = loop {
        let Some(line) = browser.next_line(deadline) else {
            panic!(
                "the browser script ended or ran over {NODE_DEADLINE:?} without a result\n{}",
                browser.report()
            );
        };
        if line.contains(r#""event":"stop-instance""#) {
            let name = json_string_after(&line, r#""instance":""#).unwrap_or_default();
            assert!(stopped.is_none(), "asked twice to stop an instance\n{}", browser.report());
            assert!(name == "a" || name == "b", "no instance {name:?}\n{}", browser.report());
            let instance = d.component(&format!("chat instance {name}"));
            instance.assert_running();
            instance.stop();
            println!(
                "stopped chat instance {name} (pid {}) at {:?}",
                instance.child.id(),
                started.elapsed()
            );
            // Redis saw its connections close.
            wait_for("Redis drops the stopped instance's subscriptions", READY_TIMEOUT, || {
                chat_subscribers(redis_port).filter(|&counts| counts == (1, 1))
            });
            browser.tell(&format!(r#"{{"stopped":"{name}"}}"#));
            stopped = Some(name);
        } else if line.contains(r#""ok":"#) {
            break line;
        }
    };
    let status = wait_or_kill(&mut browser.child, Instant::now() + Duration::from_secs(10));
    let report = browser.report();
    assert!(result.contains(r#""ok":true"#), "the browser check failed\n{report}");
    assert!(status.is_some_and(|s| s.success()), "node exited with {status:?}\n{report}");
    let stopped = stopped.unwrap_or_else(|| panic!("no instance was stopped\n{report}"));
    let survivor = if stopped == "a" { "b" } else { "a" };
    assert!(
        result.contains(&format!(r#""reconnected_to":"{survivor}""#)),
        "page 1 did not report reconnecting to instance {survivor}\n{report}"
    );

    // The Origin check through nginx: another site's page may not use the chat.
    let refused = upgrade_status(nginx_port, "http://evil.example");
    assert!(refused.starts_with("HTTP/1.1 403"), "upgrade from http://evil.example: {refused}");
    let accepted = upgrade_status(nginx_port, &public_origin);
    assert!(accepted.starts_with("HTTP/1.1 101"), "upgrade from {public_origin}: {accepted}");

    println!("{}", result.trim());
    println!("the deployment ran for {:?}", started.elapsed());
}
