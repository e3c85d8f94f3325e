//! An Autobahn-style conformance suite for RFC 6455, built on rfc6455's own frame layer.
//!
//! ```text
//! # client mode: drive a server under test (it must echo text and binary messages)
//! cargo run --release --example conformance -- client ws://127.0.0.1:9001 [--cases 1.*,2.1] \
//!     [--report-dir DIR] [--expect FILE] [--write-expect FILE] [--jobs N]
//! # server mode: serve the cases to a client under test, over Autobahn's client protocol
//! # (GET /getCaseCount, /runCase?case=N&agent=A, /updateReports?agent=A)
//! cargo run --release --example conformance -- server 127.0.0.1:9002 [--expect FILE] [--timeout S]
//! # the list of cases
//! cargo run --release --example conformance -- list [client|server]
//! ```
//!
//! Every case is data (`cases.rs`): the frames to send, valid or not, how the bytes are
//! chopped and paced, and the acceptable outcomes. The runner (`runner.rs`) sends them over a
//! fresh connection per case and records what the peer does; `verdict.rs` judges it (OK,
//! NON-STRICT, FAILED, INFORMATIONAL); `report.rs` writes a summary per group, a JSON report
//! and an HTML page with each case's wire log. `--expect FILE` compares the verdicts with a
//! checked-in "case id → verdict" map and exits non-zero on any difference.
//!
//! Hidden: `mutant utf8|nonminimal` runs client mode against an in-process server built on
//! rfc6455 with one check switched off, and asserts that exactly the cases that check
//! protects change verdict (the suite judges real implementations correctly).

mod cases;
mod cases_deflate;
mod corpus;
mod handshake;
mod model;
mod mutant;
mod pmce;
mod report;
mod runner;
mod verdict;
mod wire;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use model::{Case, Handshake, Only};
use report::{CaseResult, RunInfo};
use runner::{Session, Windows};
use verdict::Verdict;
use wire::{Wire, WireLog};

struct Options {
    cases: Option<String>,
    skip: Option<String>,
    report_dir: Option<PathBuf>,
    expect: Option<PathBuf>,
    write_expect: Option<PathBuf>,
    jobs: usize,
    timeout: Duration,
    windows: Windows,
    quiet: bool,
}

const USAGE: &str = "usage:
  conformance client ws://HOST:PORT[/path] [--cases LIST] [--report-dir DIR] [--expect FILE] [--write-expect FILE] [--jobs N]
  conformance server HOST:PORT [--cases LIST] [--report-dir DIR] [--expect FILE] [--write-expect FILE] [--timeout SECONDS]
  conformance list [client|server]
options:
  --cases LIST      comma-separated case ids; a trailing * matches a prefix (1.*,2.1,6.4.*)
  --skip LIST       leave out these cases (same syntax), e.g. --skip 12.*,13.*
  --testdata DIR    groups 12, 13: Autobahn's payload files from DIR (its autobahntestsuite/testdata)
                    instead of the generated stand-ins of the same kind and size
  --report-dir DIR  where report.json and index.html go (default target/conformance/MODE)
  --expect FILE     compare verdicts with FILE (a JSON object id -> verdict); exit 1 on any difference
  --write-expect FILE  write the verdicts of this run as an expectations file
  --jobs N          client mode: cases run in parallel (default 1)
  --timeout S       server mode: give up when no client connects for S seconds (default 60)
  --window-ms MS    how long a peer may take to fail or close (default 3000)
  --quiet           no line per case";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("conformance: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let mode = args.first().map(String::as_str).ok_or("no mode given")?;
    let mut opts = Options {
        cases: None,
        skip: None,
        report_dir: None,
        expect: None,
        write_expect: None,
        jobs: 1,
        timeout: Duration::from_secs(60),
        windows: Windows {
            fail: Duration::from_secs(3),
            close: Duration::from_secs(3),
            echo: Duration::from_secs(5),
        },
        quiet: false,
    };
    let mut positional = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--cases" => opts.cases = Some(value()?),
            "--skip" => opts.skip = Some(value()?),
            "--testdata" => corpus::use_testdata(std::path::Path::new(&value()?))?,
            "--report-dir" => opts.report_dir = Some(value()?.into()),
            "--expect" => opts.expect = Some(value()?.into()),
            "--write-expect" => opts.write_expect = Some(value()?.into()),
            "--jobs" => opts.jobs = value()?.parse().map_err(|_| "--jobs needs a number")?,
            "--timeout" => {
                opts.timeout =
                    Duration::from_secs(value()?.parse().map_err(|_| "--timeout needs seconds")?)
            }
            "--window-ms" => {
                let ms: u64 = value()?.parse().map_err(|_| "--window-ms needs a number")?;
                opts.windows.fail = Duration::from_millis(ms);
                opts.windows.close = Duration::from_millis(ms);
            }
            "--quiet" => opts.quiet = true,
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => positional.push(a.clone()),
        }
    }
    match mode {
        "client" => {
            let url = positional.first().ok_or("client mode needs the server's ws:// URL")?;
            let cases = select(cases::for_mode(true), &opts);
            let results = run_client(url, &cases, &opts);
            finish(RunInfo { mode: "client".into(), target: url.clone() }, results, &opts)
        }
        "server" => {
            let addr = positional.first().ok_or("server mode needs an address to listen on")?;
            let cases = select(cases::for_mode(false), &opts);
            let (agent, results) = run_server(addr, &cases, &opts)?;
            finish(RunInfo { mode: "server".into(), target: agent }, results, &opts)
        }
        "list" => {
            let client = positional.first().is_none_or(|m| m != "server");
            for c in select(cases::for_mode(client), &opts) {
                println!("{:<8} {}", c.id, c.desc);
            }
            Ok(ExitCode::SUCCESS)
        }
        "mutant" => {
            let kind = positional.first().ok_or("mutant needs a kind: utf8 or nonminimal")?;
            mutant::check(kind, &opts)
        }
        other => Err(format!("unknown mode {other}")),
    }
}

fn select(cases: Vec<Case>, opts: &Options) -> Vec<Case> {
    cases
        .into_iter()
        .filter(|c| opts.cases.as_ref().is_none_or(|p| c.selected_by(p)))
        .filter(|c| opts.skip.as_ref().is_none_or(|p| !c.selected_by(p)))
        .collect()
}

fn print_result(r: &CaseResult, n: usize, total: usize, quiet: bool) {
    if !quiet || r.verdict == Verdict::Failed || r.verdict == Verdict::NonStrict {
        let reason: String = r.reason.chars().take(160).collect();
        println!("[{n:>3}/{total}] {:<8} {:<13} {reason}", r.id, r.verdict.as_str());
    }
}

/// Client mode: one fresh connection per case, `opts.jobs` at a time.
fn run_client(url: &str, cases: &[Case], opts: &Options) -> Vec<CaseResult> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    let r = run_client_case(url, case, opts.windows);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    print_result(&r, n, cases.len(), opts.quiet);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default().into_iter().flatten().collect()
}

fn run_client_case(url: &str, case: &Case, windows: Windows) -> CaseResult {
    let start = Instant::now();
    let mut log = WireLog::new(start);
    let (verdict, reason, wire) = if let Some(Handshake::Request { raw, chop }) = &case.handshake {
        let (v, r) =
            handshake::run_http_case(url, raw, *chop, &case.expect, windows.fail, &mut log);
        (v, r, log.lines())
    } else {
        match open_client(url, case, &mut log) {
            Err(e) => (Verdict::Failed, format!("opening handshake failed: {e}"), log.lines()),
            Ok((stream, leftover, deflate)) => {
                let head = log.lines();
                match Wire::new(stream, true, leftover, start) {
                    Err(e) => (Verdict::Failed, format!("socket setup: {e}"), head),
                    Ok(wire) => {
                        let mut session = Session::new(wire, start, windows);
                        if let Some((agreed, note)) = deflate {
                            session = session.with_deflate(agreed, note);
                        }
                        session.run(case);
                        let (v, r) = verdict::judge(&case.expect, &session.obs, true);
                        let mut lines = head;
                        lines.extend(session.wire.log.lines());
                        session.wire.finish();
                        (v, r, lines)
                    }
                }
            }
        }
    };
    CaseResult {
        id: case.id.clone(),
        group: case.group().to_string(),
        desc: case.desc.clone(),
        verdict,
        reason,
        millis: start.elapsed().as_millis(),
        wire,
    }
}

/// The agreed permessage-deflate of a case (None: declined), and the story in words.
type Negotiated = (Option<pmce::Agreed>, String);

/// Client mode: the opening handshake of a case; groups 12 and 13 offer permessage-deflate
/// (Autobahn's `perMessageCompressionOffers`) and accept any valid answer.
fn open_client(
    url: &str,
    case: &Case,
    log: &mut WireLog,
) -> Result<(std::net::TcpStream, bytes::BytesMut, Option<Negotiated>), String> {
    let timeout = Duration::from_secs(10);
    let Some(d) = &case.deflate else {
        return handshake::client_handshake(url, timeout, log).map(|(s, b)| (s, b, None));
    };
    let offers: Vec<String> = d.offers.iter().map(pmce::Offer::header_value).collect();
    let offered = offers.join(", ");
    let (stream, leftover, answer) =
        handshake::client_handshake_offering(url, &offered, timeout, log)?;
    let agreed = pmce::parse_response(answer.as_deref()).map_err(|e| {
        format!("the server's Sec-WebSocket-Extensions must fail the connection: {e}")
    })?;
    let note = match (&agreed, &answer) {
        (Some(_), Some(a)) => format!("we offered {offered:?}; the server agreed to {a:?}"),
        _ => format!(
            "the server declined permessage-deflate (no Sec-WebSocket-Extensions in its 101; we offered {offered:?})"
        ),
    };
    Ok((stream, leftover, Some((agreed, note))))
}

/// Server mode, groups 12 and 13: the client's offers through the case's accept function.
fn accept_offers(
    request: &rfc6455::handshake::Request,
    d: &model::Deflate,
) -> Result<Negotiated, String> {
    let header: Vec<String> = request
        .headers()
        .get_all("Sec-WebSocket-Extensions")
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
        .collect();
    let header = header.join(", ");
    let offers = pmce::parse_offers(&header).map_err(|e| {
        format!("the client's permessage-deflate offer is invalid ({e}); as Autobahn, we refuse the handshake")
    })?;
    let agreed = d.accept.choose(&offers);
    let note = match &agreed {
        Some(a) => format!("the client offered {header:?}; we agreed to {:?}", a.response_value()),
        None if offers.is_empty() => format!(
            "the client did not offer permessage-deflate (Sec-WebSocket-Extensions: {header:?})"
        ),
        None => format!(
            "no offer of the client ({header:?}) meets Autobahn's accept function {}",
            d.accept.describe()
        ),
    };
    Ok((agreed, note))
}

/// Server mode: Autobahn's client protocol.
fn run_server(
    addr: &str,
    cases: &[Case],
    opts: &Options,
) -> Result<(String, Vec<CaseResult>), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "conformance server: {} cases on ws://{local} (GET /getCaseCount, /runCase?case=N&agent=A, /updateReports?agent=A)",
        cases.len()
    );
    let mut results: Vec<Option<CaseResult>> = vec![None; cases.len()];
    let mut agent = String::from("unknown");
    let mut last_activity = Instant::now();
    let mut done = 0;
    loop {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if last_activity.elapsed() > opts.timeout {
                    eprintln!("conformance server: no client for {:?}; giving up", opts.timeout);
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(e) => return Err(format!("accept: {e}")),
        };
        last_activity = Instant::now();
        let start = Instant::now();
        let mut stream = stream;
        let _ = stream.set_nonblocking(false);
        let (request, leftover) =
            match handshake::read_request(&mut stream, Duration::from_secs(10)) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("conformance server: {e}");
                    continue;
                }
            };
        let path = request.path().to_string();
        let query = request.query().unwrap_or("").to_string();
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .map(percent_decode)
        };
        if let Some(a) = param("agent") {
            agent = a;
        }
        match path.as_str() {
            "/getCaseCount" => {
                let _ = std::io::Write::write_all(
                    &mut stream,
                    &handshake::response_bytes(&request, None),
                );
                if let Ok(mut w) = Wire::new(stream, false, leftover, start) {
                    let _ = w.send_frame(model::TEXT, cases.len().to_string().as_bytes());
                    let mut s = Session::new(w, start, opts.windows);
                    s.run(&Case {
                        id: String::new(),
                        desc: String::new(),
                        steps: vec![],
                        expect: model::Expect::CloseReply {
                            codes: vec![Some(1000)],
                            before: vec![],
                        },
                        only: None,
                        tags: 0,
                        handshake: None,
                        deflate: None,
                    });
                    s.wire.finish();
                }
            }
            "/runCase" => {
                let n: usize = param("case").and_then(|c| c.parse().ok()).unwrap_or(0);
                let Some(case) = n.checked_sub(1).and_then(|i| cases.get(i)) else {
                    let _ = std::io::Write::write_all(
                        &mut stream,
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                };
                let bad = match &case.handshake {
                    Some(Handshake::Response(bad)) => Some(*bad),
                    _ => None,
                };
                let mut log = WireLog::new(start);
                log.push("←", format!("HTTP GET {path}?{query}"));
                let deflate = match case.deflate.as_ref().map(|d| accept_offers(&request, d)) {
                    Some(Err(e)) => {
                        let _ = std::io::Write::write_all(
                            &mut stream,
                            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                        log.push("→", "HTTP 400 Bad Request".into());
                        let r = CaseResult {
                            id: case.id.clone(),
                            group: case.group().to_string(),
                            desc: case.desc.clone(),
                            verdict: Verdict::Failed,
                            reason: e,
                            millis: start.elapsed().as_millis(),
                            wire: log.lines(),
                        };
                        done += 1;
                        print_result(&r, done, cases.len(), opts.quiet);
                        results[n - 1] = Some(r);
                        continue;
                    }
                    Some(Ok(negotiated)) => Some(negotiated),
                    None => None,
                };
                let response = match &deflate {
                    Some((agreed, _)) => handshake::response_with_extension(
                        &request,
                        agreed.map(|a| a.response_value()).as_deref(),
                    ),
                    None => handshake::response_bytes(&request, bad),
                };
                log.push(
                    "→",
                    format!(
                        "HTTP {}",
                        String::from_utf8_lossy(&response).lines().next().unwrap_or("")
                    ),
                );
                let (verdict, reason, wire) =
                    if let Err(e) = std::io::Write::write_all(&mut stream, &response) {
                        (Verdict::Failed, format!("writing the handshake answer: {e}"), log.lines())
                    } else {
                        match Wire::new(stream, false, leftover, start) {
                            Err(e) => (Verdict::Failed, format!("socket setup: {e}"), log.lines()),
                            Ok(w) => {
                                let mut s = Session::new(w, start, opts.windows);
                                if let Some((agreed, note)) = deflate {
                                    s = s.with_deflate(agreed, note);
                                }
                                s.run(case);
                                let (v, r) = verdict::judge(&case.expect, &s.obs, false);
                                let mut lines = log.lines();
                                lines.extend(s.wire.log.lines());
                                s.wire.finish();
                                (v, r, lines)
                            }
                        }
                    };
                let r = CaseResult {
                    id: case.id.clone(),
                    group: case.group().to_string(),
                    desc: case.desc.clone(),
                    verdict,
                    reason,
                    millis: start.elapsed().as_millis(),
                    wire,
                };
                done += 1;
                print_result(&r, done, cases.len(), opts.quiet);
                results[n - 1] = Some(r);
            }
            "/updateReports" => {
                let _ = std::io::Write::write_all(
                    &mut stream,
                    &handshake::response_bytes(&request, None),
                );
                if let Ok(w) = Wire::new(stream, false, leftover, start) {
                    let mut s = Session::new(w, start, opts.windows);
                    s.run(&Case {
                        id: String::new(),
                        desc: String::new(),
                        steps: vec![],
                        expect: model::Expect::CloseReply {
                            codes: vec![Some(1000)],
                            before: vec![],
                        },
                        only: None,
                        tags: 0,
                        handshake: None,
                        deflate: None,
                    });
                    s.wire.finish();
                }
                break;
            }
            other => {
                eprintln!("conformance server: unknown path {other}");
                let _ = std::io::Write::write_all(
                    &mut stream,
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        }
        last_activity = Instant::now();
    }
    // Cases the client never ran are FAILED.
    let results = results
        .into_iter()
        .zip(cases)
        .map(|(r, c)| {
            r.unwrap_or_else(|| CaseResult {
                id: c.id.clone(),
                group: c.group().to_string(),
                desc: c.desc.clone(),
                verdict: Verdict::Failed,
                reason: "the client under test never ran this case".into(),
                millis: 0,
                wire: vec![],
            })
        })
        .collect();
    Ok((agent, results))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn finish(info: RunInfo, results: Vec<CaseResult>, opts: &Options) -> Result<ExitCode, String> {
    println!("\n{}", report::summary(&results));
    let dir = opts
        .report_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/conformance").join(&info.mode));
    report::write_reports(&dir, &info, &results)
        .map_err(|e| format!("writing the reports into {}: {e}", dir.display()))?;
    println!("reports: {}/report.json, {}/index.html", dir.display(), dir.display());
    if let Some(path) = &opts.write_expect {
        std::fs::write(path, report::expectations_json(&results))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("expectations written to {}", path.display());
    }
    if let Some(path) = &opts.expect {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let expected =
            report::parse_expectations(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let selected = |id: &str| {
            opts.cases.as_ref().is_none_or(|p| model::id_selected_by(id, p))
                && opts.skip.as_ref().is_none_or(|p| !model::id_selected_by(id, p))
        };
        let diffs = report::compare(&results, &expected, &selected);
        if diffs.is_empty() {
            println!("all {} verdicts match {}", results.len(), path.display());
        } else {
            println!("{} verdict(s) differ from {}:", diffs.len(), path.display());
            for d in &diffs {
                println!("  {d}");
            }
            let new = diffs.iter().filter(|d| d.contains("not in the expectations")).count();
            if new > 0 {
                println!(
                    "{new} case(s) are new to {}: once their verdicts are checked, regenerate it \
                     with --write-expect {} (or leave them out with --skip)",
                    path.display(),
                    path.display()
                );
            }
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Cases a mode runs, exposed for the mutant checks.
fn client_cases(opts: &Options) -> Vec<Case> {
    select(cases::for_mode(true), opts)
        .into_iter()
        .filter(|c| c.only != Some(Only::Server))
        .collect()
}
