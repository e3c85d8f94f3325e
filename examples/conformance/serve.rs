//! Server mode: we serve the cases to a client under test over Autobahn's client protocol
//! (`GET /getCaseCount`, `/runCase?case=N&agent=A`, `/updateReports?agent=A`).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::model::{self, Case, Handshake};
use crate::report::CaseResult;
use crate::runner::Session;
use crate::wire::{Wire, WireLog};
use crate::{Negotiated, Options, handshake, pmce, print_result};

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
pub fn run_server(
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
                        autobahn: None,
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
                        let r =
                            CaseResult::failed(case, e, start.elapsed().as_millis(), log.lines());
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
                let r = if let Err(e) = std::io::Write::write_all(&mut stream, &response) {
                    let why = format!("writing the handshake answer: {e}");
                    CaseResult::failed(case, why, start.elapsed().as_millis(), log.lines())
                } else {
                    match Wire::new(stream, false, leftover, start) {
                        Err(e) => CaseResult::failed(
                            case,
                            format!("socket setup: {e}"),
                            start.elapsed().as_millis(),
                            log.lines(),
                        ),
                        Ok(w) => {
                            let mut s = Session::new(w, start, opts.windows);
                            if let Some((agreed, note)) = deflate {
                                s = s.with_deflate(agreed, note);
                            }
                            s.run(case);
                            let mut lines = log.lines();
                            lines.extend(s.wire.log.lines());
                            let r = crate::judge_session(case, &s.obs, false, start, lines);
                            s.wire.finish();
                            r
                        }
                    }
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
                        autobahn: None,
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
            r.unwrap_or_else(|| {
                CaseResult::failed(c, "the client under test never ran this case".into(), 0, vec![])
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
