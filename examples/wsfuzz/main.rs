//! wsfuzz: send malformed and edge-case frames to a live WebSocket server and report how it
//! reacts, per class of case. The frames are built with `RawFrame`, which writes any
//! FIN/RSV/opcode/mask/length with no validation.
//!
//! ```text
//! cargo run --release --example echo_server &                  # a target to attack
//! cargo run --release --example wsfuzz -- ws://127.0.0.1:9001/ --seed 1 --count 2000 --log run.tsv
//! cargo run --release --example wsfuzz -- ws://127.0.0.1:9001/ --seed 1 --case 17   # replay one
//! cargo run --release --example wsfuzz -- ws://127.0.0.1:9001/ --replay '81 85 37 fa 21 3d 7f 9f 4d 51 58'
//! cargo run --release --example wsfuzz -- --seed 1 --show 17   # case 17's bytes, no server
//! cargo run --release --example wsfuzz -- --table ours=run.tsv other=other.tsv  # markdown
//! ```
//!
//! A run: `--seed N` (the PRNG seed; case i of a seed is always the same bytes), `--count N`
//! (cases, default 500), `--duration S` (stop after S seconds, default 60), `--timeout MS`
//! (how long to wait for a reaction, and after a Close for TCP to end, default 500; the
//! opening handshake may take 5 s),
//! `--batch N` (cases per connection, default 1: a fresh connection per case, so that one
//! case's verdict is not another's; with a larger batch a connection is reused only after a
//! valid case was answered), `--class A,B` (send only the cases of these classes; the others
//! are still drawn, so case numbers stay those of the full run), `--log FILE` (the per-case
//! log, `report.rs`). It prints, per class, the reactions seen, what rfc6455 does with the
//! same bytes, and the reaction time percentiles.
//!
//! One case at a time, for a bug report: `--case N` (case N of `--seed`) or `--replay HEX`
//! (any bytes: hex as the dissector reads it) does the handshake, sends the bytes, and
//! prints the request, the bytes sent and everything the server sent back (hex, then
//! dissected), with the reaction; `--show N` prints case N without a server.
//!
//! The handshake is done with `ClientRequest` (the RFC's sample key, no extension offered)
//! over a `TcpStream`; the reactions are described in `observe.rs`.

mod cases;
mod observe;
mod report;

use std::io::Write;
use std::time::{Duration, Instant};

use rfc6455::{Role, dissect};

use cases::{Case, Expect, Rng};
use observe::{End, connect, observe, ours};
use report::Row;

#[derive(Default)]
struct Args {
    url: String,
    seed: u64,
    count: u64,
    duration: Duration,
    timeout: Duration,
    batch: u64,
    classes: Option<Vec<String>>,
    log: Option<String>,
    case: Option<u64>,
    replay: Option<Vec<u8>>,
    show: Option<u64>,
    table: Vec<(String, String)>,
}

const USAGE: &str = "usage: wsfuzz ws://host:port/path [--seed N] [--count N] [--duration S] \
[--timeout MS] [--batch N] [--class A,B] [--log FILE]
       wsfuzz ws://host:port/path [--seed N] (--case N | --replay HEX) [--timeout MS]
       wsfuzz [--seed N] --show N
       wsfuzz --table LABEL=LOG...";

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args_out = Args {
        seed: 1,
        count: 500,
        duration: Duration::from_secs(60),
        timeout: Duration::from_millis(500),
        batch: 1,
        ..Args::default()
    };
    let a = &mut args_out;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut text = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let number =
            |name: &str, v: String| v.parse().map_err(|_| format!("{name} needs a number"));
        match arg.as_str() {
            "--seed" => a.seed = number("--seed", text("--seed")?)?,
            "--count" => a.count = number("--count", text("--count")?)?,
            "--duration" => a.duration = Duration::from_secs(number("--duration", text("-")?)?),
            "--timeout" => a.timeout = Duration::from_millis(number("--timeout", text("-")?)?),
            "--batch" => a.batch = number("--batch", text("--batch")?)?.max(1),
            "--case" => a.case = Some(number("--case", text("--case")?)?),
            "--show" => a.show = Some(number("--show", text("--show")?)?),
            "--log" => a.log = Some(text("--log")?),
            "--replay" => a.replay = Some(dissect::parse_hex(&text("--replay")?)?),
            "--class" => {
                let names: Vec<String> = text("--class")?.split(',').map(str::to_owned).collect();
                if let Some(bad) = names.iter().find(|n| cases::find(n).is_none()) {
                    return Err(format!("no class {bad:?}"));
                }
                a.classes = Some(names);
            }
            "--table" => {
                for spec in it.by_ref() {
                    let (label, path) = spec.split_once('=').ok_or("--table wants LABEL=LOG")?;
                    a.table.push((label.to_owned(), path.to_owned()));
                }
            }
            "-h" | "--help" => return Err(USAGE.into()),
            url if !url.starts_with("--") && a.url.is_empty() => a.url = url.to_owned(),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let offline = a.show.is_some() || !a.table.is_empty();
    if a.url.is_empty() != offline {
        return Err(USAGE.into());
    }
    if a.replay.as_ref().is_some_and(Vec::is_empty) {
        return Err("--replay: no bytes".into());
    }
    Ok(args_out)
}

fn main() {
    let result = parse_args(std::env::args().skip(1)).and_then(|args| {
        if let Some(n) = args.show {
            print!("{}", show(&cases::nth(args.seed, n), n, args.seed));
            Ok(())
        } else if !args.table.is_empty() {
            let mut runs = Vec::new();
            for (label, path) in &args.table {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                runs.push((label.clone(), text));
            }
            print!("{}", report::table(&runs)?);
            Ok(())
        } else if let Some(bytes) = &args.replay {
            one(&args, bytes, &Expect::default())
        } else if let Some(n) = args.case {
            let case = cases::nth(args.seed, n);
            println!("case {n} of seed {}: {}", args.seed, case.class);
            one(&args, &case.bytes, &case.expect)
        } else {
            run(&args)
        }
    });
    if let Err(e) = result {
        eprintln!("{e}");
        std::process::exit(2);
    }
}

/// Spaced lowercase hex, as the dissector reads it back.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

fn show(case: &Case, n: u64, seed: u64) -> String {
    format!(
        "case {n} of seed {seed}: {} ({} bytes)\n{}\n\n{}",
        case.class,
        case.bytes.len(),
        hex(&case.bytes),
        dissect::frames(&case.bytes, Some(Role::Client))
    )
}

/// Send one case on a fresh connection and print everything, for a bug report.
fn one(args: &Args, bytes: &[u8], expect: &Expect) -> Result<(), String> {
    let request = observe::request_bytes(&args.url)?;
    println!("request:\n{}", String::from_utf8_lossy(&request).trim_end());
    let (mut stream, leftover) =
        connect(&args.url, handshake_timeout(args)).map_err(|e| format!("handshake: {e}"))?;
    println!("\nsent after the 101 ({} bytes):\n{}\n", bytes.len(), hex(bytes));
    print!("{}", dissect::frames(bytes, Some(Role::Client)));
    let sent = Instant::now();
    stream.write_all(bytes).map_err(|e| format!("write: {e}"))?;
    let (observer, end, first) = observe(&mut stream, &leftover, expect, sent, args.timeout, true);
    let reaction = observer.finish(end);
    let elapsed = sent.elapsed().as_secs_f64() * 1e3;
    let when = first.map_or("-".into(), |t| format!("{:.2} ms", t.as_secs_f64() * 1e3));
    println!("\nreaction: {reaction} (first after {when}; rfc6455: {})", ours(bytes, expect));
    match end {
        End::Eof => println!("the server closed TCP; {elapsed:.1} ms after the bytes were sent"),
        End::Quiet => println!("TCP still open {elapsed:.1} ms after the bytes were sent"),
    }
    let reply = observer.reply();
    if !reply.is_empty() {
        println!("\nreceived ({} bytes):\n{}\n", reply.len(), hex(reply));
        print!("{}", dissect::frames(reply, Some(Role::Server)));
    }
    Ok(())
}

/// How long the opening handshake may take: not a reaction to a case, so not bounded by
/// `--timeout` (a loaded machine can take longer than a reaction's timeout to accept).
fn handshake_timeout(args: &Args) -> Duration {
    args.timeout.max(Duration::from_secs(5))
}

/// Does the case go out (the `--class` filter)?
fn wanted(args: &Args, class: &str) -> bool {
    args.classes.as_ref().is_none_or(|names| names.iter().any(|n| n == class))
}

fn run(args: &Args) -> Result<(), String> {
    let mut log = match &args.log {
        Some(path) => Some(std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?),
        None => None,
    };
    let header = report::header(&args.url, args.seed, args.count, args.timeout, args.batch);
    if let Some(f) = &mut log {
        f.write_all(header.as_bytes()).map_err(|e| e.to_string())?;
    }
    let mut rng = Rng::new(args.seed);
    let start = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    let mut index = 0;
    // The next case to send, drawn ahead so that a failed handshake still uses it up.
    let mut next = || loop {
        let (case, n) = (cases::make_case(&mut rng), index);
        index += 1;
        if n >= args.count {
            return None;
        }
        if wanted(args, case.class) {
            return Some((n, case));
        }
    };
    let mut pending = next();
    'outer: while pending.is_some() && start.elapsed() < args.duration {
        let connection = connect(&args.url, handshake_timeout(args));
        let (mut stream, mut leftover) = match connection {
            Ok(c) => c,
            Err(e) => {
                let Some((n, case)) = pending.take() else { break };
                eprintln!("case {n}: handshake failed: {e}");
                let reaction = "handshake failed".to_owned();
                let ours = ours(&case.bytes, &case.expect);
                let row = Row { case: n, class: case.class.into(), reaction, ours, time: None };
                if let Some(f) = &mut log {
                    f.write_all(report::line(&row).as_bytes()).map_err(|e| e.to_string())?;
                }
                rows.push(row);
                pending = next();
                continue;
            }
        };
        for _ in 0..args.batch {
            let Some((n, case)) = pending.take() else { break 'outer };
            if start.elapsed() >= args.duration {
                break 'outer;
            }
            let sent = Instant::now();
            let (reaction, time) = match stream.write_all(&case.bytes) {
                Ok(()) => {
                    let (o, end, first) =
                        observe(&mut stream, &leftover, &case.expect, sent, args.timeout, false);
                    leftover.clear();
                    (o.finish(end), first)
                }
                Err(_) => ("drop".to_owned(), None),
            };
            let ours = ours(&case.bytes, &case.expect);
            let row = Row { case: n, class: case.class.into(), reaction, ours, time };
            if let Some(f) = &mut log {
                f.write_all(report::line(&row).as_bytes()).map_err(|e| e.to_string())?;
            }
            // Only a valid case answered as owed leaves the connection usable (a random
            // mutation may have left the server inside a frame or a message).
            let reusable = case.class.starts_with("valid-")
                && row.reaction == row.ours
                && !row.reaction.contains("close");
            rows.push(row);
            pending = next();
            if !reusable {
                break;
            }
        }
    }
    println!(
        "{} seed={} cases={} in {:.1}s (timeout {} ms, batch {})",
        args.url,
        args.seed,
        rows.len(),
        start.elapsed().as_secs_f64(),
        args.timeout.as_millis(),
        args.batch
    );
    print!("{}", report::summary(&rows));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, String> {
        parse_args(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn arguments() {
        let a = parse("ws://h:1/ --seed 9 --count 7 --class unmasked,rsv-bits --log x").unwrap();
        assert_eq!(
            (a.url.as_str(), a.seed, a.count, a.log.as_deref()),
            ("ws://h:1/", 9, 7, Some("x"))
        );
        assert!(wanted(&a, "rsv-bits") && !wanted(&a, "valid-text"));
        assert!(parse("ws://h:1/ --class nonsense").is_err());
        assert_eq!(parse("ws://h:1/ --replay 8180").unwrap().replay, Some(vec![0x81, 0x80]));
        assert!(parse("--show 3").is_ok() && parse("ws://h:1/ --show 3").is_err());
        let t = parse("--table a=x.tsv b=y.tsv").unwrap();
        assert_eq!(t.table, [("a".into(), "x.tsv".into()), ("b".into(), "y.tsv".into())]);
        assert!(parse("--seed 1").is_err(), "a run needs a URL");
    }

    #[test]
    fn show_prints_hex_the_dissector_reads() {
        let case = cases::nth(1, 0);
        let text = show(&case, 0, 1);
        let hex_line = text.lines().nth(1).unwrap();
        assert_eq!(dissect::parse_hex(hex_line).unwrap(), case.bytes);
        assert!(text.contains("FIN="), "{text}");
    }
}
