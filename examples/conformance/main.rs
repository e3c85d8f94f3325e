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
//! Every case is data (`cases*.rs`): the frames to send, valid or not, how the bytes are
//! chopped and paced, and the acceptable outcomes; a case that Autobahn|Testsuite also has
//! (same id) carries Autobahn's own expectation and timers, read from its case sources. The
//! runner (`runner.rs`) sends them over a fresh connection per case, as Autobahn would for
//! its ids, and records what the peer does. Each case gets two verdicts: the one Autobahn
//! gives (`autobahn.rs`: `behavior` and `behaviorClose`, for the shared ids) and the strict
//! one (`verdict.rs`: Autobahn's, or worse where this project checks more: fail-fast, close
//! codes, non-minimal lengths …). `report.rs` writes a summary per group with both, a JSON
//! report and an HTML page with each case's wire log. `--expect FILE` compares the verdicts
//! with a checked-in file (`expect.rs`) and exits non-zero on any difference; `--rationale
//! FILE` requires a reason for every non-OK Autobahn verdict.
//!
//! Hidden: `mutant utf8|nonminimal` runs client mode against an in-process server built on
//! rfc6455 with one check switched off, and asserts that exactly the cases that check
//! protects change verdict (the suite judges real implementations correctly);
//! `mutant-serve utf8|nonminimal HOST:PORT` serves that server until killed, for the real
//! Autobahn|Testsuite to judge too (`.ci/autobahn-real`).

mod autobahn;
mod cases;
mod cases_close;
mod cases_deflate;
mod cases_extra;
mod cases_framing;
mod cases_limits;
mod cases_utf8;
mod corpus;
mod expect;
mod handshake;
mod model;
mod mutant;
mod pmce;
mod report;
mod runner;
mod serve;
mod verdict;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use model::{Case, Handshake, Only};
use report::{CaseResult, RunInfo};
use runner::{Observed, Session, Windows};
use verdict::Verdict;
use wire::{Wire, WireLog};

struct Options {
    cases: Option<String>,
    skip: Option<String>,
    report_dir: Option<PathBuf>,
    expect: Option<PathBuf>,
    write_expect: Option<PathBuf>,
    rationale: Option<PathBuf>,
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
  --write-expect FILE  write the verdicts of this run as an expectations file (alternatives
                    \"A|B\" already in FILE are kept where they still hold)
  --rationale FILE  every case whose Autobahn verdicts are not both OK needs its row in FILE
                    (a Markdown table | peer | case | behavior | behaviorClose | why |)
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
        rationale: None,
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
            "--rationale" => opts.rationale = Some(value()?.into()),
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
            let (agent, results) = serve::run_server(addr, &cases, &opts)?;
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
        "mutant-serve" => {
            let kind = positional.first().ok_or("mutant-serve needs a kind: utf8 or nonminimal")?;
            let addr = positional.get(1).ok_or("mutant-serve needs an address: HOST:PORT")?;
            mutant::serve_forever(kind, addr)
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
        println!(
            "[{n:>3}/{total}] {:<8} Autobahn {:<24} strict {:<13} {reason}",
            r.id,
            r.autobahn_str(),
            r.verdict.as_str()
        );
    }
}

/// Both verdicts of a case that ran over a session.
pub fn judge_session(
    case: &Case,
    obs: &Observed,
    client: bool,
    start: Instant,
    wire: Vec<String>,
) -> CaseResult {
    let (own, reason) = verdict::judge(&case.expect, obs, client);
    let autobahn = obs.ab.as_ref().map(|a| autobahn::judge(a, client));
    let (verdict, reason) = verdict::strict(own, reason, autobahn.as_ref());
    CaseResult {
        id: case.id.clone(),
        group: case.group().to_string(),
        desc: case.desc.clone(),
        autobahn,
        verdict,
        reason,
        millis: start.elapsed().as_millis(),
        wire,
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
    let ms = || start.elapsed().as_millis();
    if let Some(Handshake::Request { raw, chop }) = &case.handshake {
        let (verdict, reason) =
            handshake::run_http_case(url, raw, *chop, &case.expect, windows.fail, &mut log);
        return CaseResult {
            id: case.id.clone(),
            group: case.group().to_string(),
            desc: case.desc.clone(),
            autobahn: None,
            verdict,
            reason,
            millis: ms(),
            wire: log.lines(),
        };
    }
    match open_client(url, case, &mut log) {
        Err(e) => {
            CaseResult::failed(case, format!("opening handshake failed: {e}"), ms(), log.lines())
        }
        Ok((stream, leftover, deflate)) => {
            let head = log.lines();
            match Wire::new(stream, true, leftover, start) {
                Err(e) => CaseResult::failed(case, format!("socket setup: {e}"), ms(), head),
                Ok(wire) => {
                    let mut session = Session::new(wire, start, windows);
                    if let Some((agreed, note)) = deflate {
                        session = session.with_deflate(agreed, note);
                    }
                    session.run(case);
                    let mut lines = head;
                    lines.extend(session.wire.log.lines());
                    let r = judge_session(case, &session.obs, true, start, lines);
                    session.wire.finish();
                    r
                }
            }
        }
    }
}

/// The agreed permessage-deflate of a case (None: declined), and the story in words.
pub type Negotiated = (Option<pmce::Agreed>, String);

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

fn finish(info: RunInfo, results: Vec<CaseResult>, opts: &Options) -> Result<ExitCode, String> {
    println!("\n{}", report::summary(&results));
    let dir = opts
        .report_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/conformance").join(&info.mode));
    report::write_reports(&dir, &info, &results)
        .map_err(|e| format!("writing the reports into {}: {e}", dir.display()))?;
    println!("reports: {}/report.json, {}/index.html", dir.display(), dir.display());
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
    };
    if let Some(path) = &opts.write_expect {
        let old = match std::fs::read_to_string(path) {
            Ok(text) => expect::parse_expectations(&text).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let order: Vec<String> = cases::all().into_iter().map(|c| c.id).collect();
        std::fs::write(path, expect::expectations_json(&results, &old, &order))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("expectations written to {}", path.display());
    }
    let mut failed = false;
    if let Some(path) = &opts.expect {
        let expected = expect::parse_expectations(&read(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let selected = |id: &str| {
            opts.cases.as_ref().is_none_or(|p| model::id_selected_by(id, p))
                && opts.skip.as_ref().is_none_or(|p| !model::id_selected_by(id, p))
        };
        let diffs = expect::compare(&results, &expected, &selected);
        if diffs.is_empty() {
            println!("all {} verdicts match {}", results.len(), path.display());
        } else {
            println!("{} case(s) differ from {}:", diffs.len(), path.display());
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
            failed = true;
        }
    }
    if let Some(path) = &opts.rationale {
        // The role of the implementation under test: a server when we ran as the client.
        let peer = if info.mode == "client" { "server" } else { "client" };
        let rows = expect::parse_rationale(&read(path)?);
        let problems = expect::check_rationale(&results, &rows, peer);
        if problems.is_empty() {
            let n = results.iter().filter(|r| r.autobahn.as_ref().is_some_and(|a| !a.ok())).count();
            println!("every non-OK Autobahn verdict ({n}) has its rationale in {}", path.display());
        } else {
            println!("{} rationale problem(s) in {}:", problems.len(), path.display());
            for p in &problems {
                println!("  {p}");
            }
            failed = true;
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Cases a mode runs, exposed for the mutant checks.
fn client_cases(opts: &Options) -> Vec<Case> {
    select(cases::for_mode(true), opts)
        .into_iter()
        .filter(|c| c.only != Some(Only::Server))
        .collect()
}
