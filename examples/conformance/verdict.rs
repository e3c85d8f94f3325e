//! The strict verdict: what the peer did (`Observed`) against what the case allows
//! (`Expect`), by this project's reading of the RFC, combined with Autobahn's verdicts
//! (`autobahn.rs`) so that it is never more lenient than they are (`strict`).
//!
//! Like Autobahn's: OK when the peer did what the RFC requires; NON-STRICT when it did the
//! right thing in a way the RFC only recommends against (dropping TCP instead of sending a
//! Close, another close code, failing only after the whole message); FAILED when it broke a
//! MUST (echoed what it must refuse, kept going, sent a bad frame); INFORMATIONAL where the
//! RFC leaves the choice to the implementation; UNIMPLEMENTED (groups 12 and 13) when the
//! peer did not agree to the extension the case is about.

use crate::model::{Expect, Msg, TEXT};
use crate::runner::Observed;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    Ok,
    Informational,
    Unimplemented,
    NonStrict,
    Failed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::Informational => "INFORMATIONAL",
            Verdict::Unimplemented => "UNIMPLEMENTED",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Failed => "FAILED",
        }
    }
}

/// The worst of the findings wins; the reason lists them.
struct Judgement {
    findings: Vec<(Verdict, String)>,
    notes: Vec<String>,
}

impl Judgement {
    fn new() -> Self {
        Judgement { findings: Vec::new(), notes: Vec::new() }
    }
    fn add(&mut self, v: Verdict, why: impl Into<String>) {
        self.findings.push((v, why.into()));
    }
    fn note(&mut self, n: impl Into<String>) {
        self.notes.push(n.into());
    }
    fn finish(self, default_ok: &str) -> (Verdict, String) {
        let verdict = self.findings.iter().map(|(v, _)| *v).max().unwrap_or(Verdict::Ok);
        let mut parts: Vec<String> =
            self.findings.into_iter().map(|(v, s)| format!("{}: {s}", v.as_str())).collect();
        if parts.is_empty() {
            parts.push(default_ok.to_string());
        }
        parts.extend(self.notes);
        (verdict, parts.join("; "))
    }
}

fn show_msg(opcode: u8, data: &[u8]) -> String {
    let kind = if opcode == TEXT {
        "text"
    } else if opcode == 2 {
        "binary"
    } else {
        "opcode?"
    };
    format!("{kind} of {} bytes {}", data.len(), crate::wire::preview(data))
}

fn code_name(code: Option<u16>) -> String {
    code.map_or_else(|| "no code".to_string(), |c| c.to_string())
}

/// Compare received data messages with `expected`: returns (matching prefix length, first
/// mismatch description).
fn compare_msgs(expected: &[Msg], got: &[(u8, bytes::Bytes)]) -> (usize, Option<String>) {
    for (i, (op, data)) in got.iter().enumerate() {
        match expected.get(i) {
            Some(m) if m.opcode == *op && m.data.matches(data) => {}
            Some(m) => {
                return (
                    i,
                    Some(format!(
                        "message {}: expected {} bytes with opcode {}, got {}",
                        i + 1,
                        m.data.len(),
                        m.opcode,
                        show_msg(*op, data)
                    )),
                );
            }
            None => {
                return (i, Some(format!("unexpected message {}: {}", i + 1, show_msg(*op, data))));
            }
        }
    }
    (got.len(), None)
}

fn peer_end_summary(o: &Observed) -> String {
    let close = match &o.peer_close {
        Some(c) => format!(
            "the peer's Close ({}{}{}) at {:.0} ms",
            code_name(c.code),
            if c.reason.is_empty() {
                String::new()
            } else {
                format!(" {}", crate::wire::preview(&c.reason))
            },
            if c.reply { ", answering ours" } else { "" },
            c.at.as_secs_f64() * 1000.0
        ),
        None => "no Close from the peer".into(),
    };
    let tcp = match &o.eof {
        Some((at, how)) => format!("TCP ended ({how}) at {:.0} ms", at.as_secs_f64() * 1000.0),
        None => "TCP still open".into(),
    };
    format!("{close}; {tcp}")
}

/// The peer's answer to our Close: its code must be ours (§5.5.1: "typically echos the
/// status code it received"; to a Close without a code, no code or 1000).
fn reply_code_finding(o: &Observed, c: &crate::runner::PeerClose) -> Option<String> {
    let ok = match o.our_close_code {
        None => matches!(c.code, None | Some(1000)),
        Some(ours) => c.code == Some(ours),
    };
    (!ok).then(|| {
        format!(
            "answered our Close ({}) with {} (§5.5.1: typically echoes the code)",
            code_name(o.our_close_code),
            code_name(c.code)
        )
    })
}

/// No message of the peer's differs from `msgs` (a shorter prefix is fine).
fn mismatch_free(msgs: &[Msg], o: &Observed) -> bool {
    compare_msgs(msgs, &o.msgs).1.is_none()
}

/// Judge a frames case. `client`: we were the client (the peer is a server).
pub fn judge(expect: &Expect, o: &Observed, client: bool) -> (Verdict, String) {
    let mut j = Judgement::new();
    for v in &o.violations {
        j.add(Verdict::Failed, format!("the peer {v}"));
    }
    // §7.1.1: after the close handshake the server closes TCP; we are the server in
    // server mode and close it ourselves.
    let tcp_close_check = |j: &mut Judgement| {
        if client && o.peer_close.is_some() && o.eof.is_none() {
            j.add(
                Verdict::NonStrict,
                "the server did not close TCP after the close handshake (§7.1.1 SHOULD)",
            );
        }
    };
    match expect {
        Expect::Echo { msgs, pongs, last_pong_suffices, .. } => {
            let (ok_prefix, mismatch) = compare_msgs(msgs, &o.msgs);
            if let Some(m) = mismatch {
                j.add(Verdict::Failed, m);
            } else if ok_prefix < msgs.len() {
                let why = match &o.peer_close {
                    Some(c) if !c.reply => format!(
                        "the peer closed with {} before echoing ({} of {} messages echoed)",
                        code_name(c.code),
                        ok_prefix,
                        msgs.len()
                    ),
                    _ if o.eof.is_some() => format!(
                        "the connection ended before the echo ({} of {} messages echoed)",
                        ok_prefix,
                        msgs.len()
                    ),
                    _ => format!(
                        "no echo within the time bound ({} of {} messages echoed)",
                        ok_prefix,
                        msgs.len()
                    ),
                };
                let limit = o.peer_close.as_ref().is_some_and(|c| !c.reply && c.code == Some(1009));
                if limit {
                    j.add(
                        Verdict::NonStrict,
                        format!("{why}: 1009 is an implementation limit (§10.4 allows limits)"),
                    );
                } else {
                    j.add(Verdict::Failed, why);
                }
            }
            if *last_pong_suffices {
                // §5.5.3: "If an endpoint receives a Ping frame and has not yet sent Pong frame(s)
                // in response to previous Ping frame(s), the endpoint MAY elect to send a Pong
                // frame for only the most recently processed Ping frame."
                let mut it = pongs.iter();
                let in_order = o.pongs.iter().all(|got| it.by_ref().any(|p| p.matches(got)));
                let last_ok =
                    pongs.last().is_none_or(|p| o.pongs.last().is_some_and(|g| p.matches(g)));
                if !in_order || !last_ok {
                    j.add(Verdict::Failed, format!("Pongs do not answer our Pings in order ending with the last ({} received)", o.pongs.len()));
                } else if o.pongs.len() < pongs.len() {
                    j.note(format!(
                        "answered {} of {} Pings (§5.5.3 allows answering only the most recent)",
                        o.pongs.len(),
                        pongs.len()
                    ));
                }
            } else {
                for (i, p) in pongs.iter().enumerate() {
                    match o.pongs.get(i) {
                        Some(g) if p.matches(g) => {}
                        Some(g) => j.add(
                            Verdict::Failed,
                            format!(
                                "Pong {} carries {}, expected {}",
                                i + 1,
                                crate::wire::preview(g),
                                crate::wire::preview(&p.to_vec())
                            ),
                        ),
                        None => j.add(
                            Verdict::Failed,
                            format!("no Pong for Ping {} (§5.5.2 MUST)", i + 1),
                        ),
                    }
                }
                if o.pongs.len() > pongs.len() {
                    j.add(
                        Verdict::Failed,
                        format!("{} unexpected Pong(s)", o.pongs.len() - pongs.len()),
                    );
                }
            }
            match &o.peer_close {
                Some(c) if c.reply => {
                    if let Some(f) = reply_code_finding(o, c) {
                        j.add(Verdict::NonStrict, f);
                    }
                }
                Some(c) => {
                    if ok_prefix >= msgs.len() && mismatch_free(msgs, o) {
                        j.add(
                            Verdict::Failed,
                            format!(
                                "the peer closed the connection itself with {} in a valid case",
                                code_name(c.code)
                            ),
                        );
                    }
                }
                None => j.add(Verdict::Failed, "no Close in answer to ours (§5.5.1 MUST)"),
            }
            tcp_close_check(&mut j);
            if let Some((n, total, max)) = o.rtt
                && n > 0
            {
                j.note(format!(
                    "INFORMATIONAL: {n} round trips, mean {:.0} µs, max {:.0} µs",
                    total.as_secs_f64() * 1e6 / n as f64,
                    max.as_secs_f64() * 1e6
                ));
            }
            let (v, r) = j.finish("the echo and the close handshake are correct");
            let r = format!("{r}; took {:.0} ms", o.elapsed.as_secs_f64() * 1000.0);
            (v, r)
        }
        Expect::Fail { codes, before, pongs_before, fast, tolerated } => {
            let (ok_prefix, mismatch) = compare_msgs(before, &o.msgs);
            if let Some(m) = mismatch {
                j.add(Verdict::Failed, format!("{m} (it must not be echoed)"));
            } else if ok_prefix < before.len() {
                j.add(
                    Verdict::NonStrict,
                    format!(
                        "echoed {ok_prefix} of the {} valid message(s) sent before the bad frame",
                        before.len()
                    ),
                );
            }
            for (i, g) in o.pongs.iter().enumerate() {
                if !pongs_before.get(i).is_some_and(|p| p.matches(g)) {
                    j.add(
                        Verdict::Failed,
                        format!(
                            "answered a Ping sent after the bad frame (Pong {})",
                            crate::wire::preview(g)
                        ),
                    );
                }
            }
            let failed_at = o.failure_at_write.unwrap_or(usize::MAX);
            match &o.peer_close {
                Some(c) if !c.reply => {
                    if !codes.contains(&c.code.unwrap_or(0)) {
                        j.add(
                            Verdict::NonStrict,
                            format!(
                                "failed the connection with {}, expected {:?}",
                                code_name(c.code),
                                codes
                            ),
                        );
                    }
                    tcp_close_check(&mut j);
                }
                Some(c) => j.add(
                    Verdict::Failed,
                    format!(
                        "did not fail the connection; it answered our closing Close with {}",
                        code_name(c.code)
                    ),
                ),
                None if o.peer_dropped() => j.add(
                    Verdict::NonStrict,
                    "dropped TCP without a Close frame (§7.1.7: SHOULD send a Close first)",
                ),
                None if o.eof.is_some() => j.add(
                    Verdict::Failed,
                    "did not fail the connection within the time bound (it closed TCP only after we closed ours)",
                ),
                None => j.add(Verdict::Failed, "did not fail the connection within the time bound"),
            }
            let failed = o.peer_close.as_ref().is_some_and(|c| !c.reply) || o.peer_dropped();
            if *fast && failed && failed_at >= o.writes_total {
                j.add(Verdict::NonStrict, "failed only after everything was sent, not as soon as the data was invalid (fail-fast)");
            }
            let fast_note = if *fast && failed_at < o.writes_total {
                format!(" (fail-fast: after {failed_at} of {} writes)", o.writes_total)
            } else {
                String::new()
            };
            let (v, r) = j.finish(&format!(
                "failed the connection as required: {}{fast_note}",
                peer_end_summary(o)
            ));
            if let (Verdict::Failed, Some(t)) = (v, tolerated)
                && let (Verdict::Ok, _) = judge(t, o, client)
            {
                return (
                        Verdict::NonStrict,
                        "tolerated the frame and processed it as valid (the RFC forbids sending it but does not say that a receiver must fail)".into(),
                    );
            }
            (v, r)
        }
        Expect::CloseReply { codes, before } => {
            let (ok_prefix, mismatch) = compare_msgs(before, &o.msgs);
            if let Some(m) = mismatch {
                j.add(Verdict::Failed, format!("{m} (sent after our Close: must be ignored)"));
            } else if ok_prefix < before.len() {
                // §5.5.1: an endpoint "MAY delay sending a Close frame until its current
                // message is sent": it may also answer at once and drop the echo.
                j.add(
                    Verdict::Informational,
                    format!(
                        "answered our Close before echoing the message sent before it ({ok_prefix} of {} echoed; §5.5.1 leaves the order to the peer)",
                        before.len()
                    ),
                );
            }
            if !o.pongs.is_empty() {
                j.add(Verdict::Failed, "answered a Ping sent after our Close");
            }
            match &o.peer_close {
                Some(c) if codes.contains(&c.code) => {}
                Some(c) if matches!(c.code, Some(1002 | 1007)) => j.add(
                    Verdict::NonStrict,
                    format!(
                        "answered our Close with {} (an error) instead of {}",
                        code_name(c.code),
                        codes.iter().map(|c| code_name(*c)).collect::<Vec<_>>().join(" or ")
                    ),
                ),
                Some(c) => j.add(
                    Verdict::NonStrict,
                    format!(
                        "answered with {}, expected {} (§5.5.1: typically echoes the code)",
                        code_name(c.code),
                        codes.iter().map(|c| code_name(*c)).collect::<Vec<_>>().join(" or ")
                    ),
                ),
                None => j.add(Verdict::Failed, "no Close in answer to ours (§5.5.1 MUST)"),
            }
            tcp_close_check(&mut j);
            j.finish(&format!("closed as required: {}", peer_end_summary(o)))
        }
        Expect::Informational(why) => {
            let summary = format!(
                "{} message(s) echoed, {} Pong(s); {}. {why}",
                o.msgs.len(),
                o.pongs.len(),
                peer_end_summary(o)
            );
            j.add(Verdict::Informational, summary);
            j.finish("")
        }
        Expect::Refuse => {
            if !o.msgs.is_empty() {
                j.add(
                    Verdict::Failed,
                    "the client accepted the broken handshake and echoed our message",
                );
            } else if o.peer_close.is_some() || o.pongs.len() + o.pings > 0 {
                j.add(
                    Verdict::Failed,
                    "the client accepted the broken handshake (it sent WebSocket frames)",
                );
            } else if o.eof.is_none() {
                j.add(Verdict::NonStrict, "the client neither accepted nor closed the connection");
            }
            j.finish("the client refused the handshake and closed the connection")
        }
        Expect::Http { .. } => j.finish("(judged by the handshake runner)"),
        Expect::DeflateEcho { count, .. } => judge_deflate(*count, o, client, j),
    }
}

/// Groups 12 and 13, as Autobahn judges them: UNIMPLEMENTED without the extension; OK when
/// every echo arrived and matched, then the close handshake ended as in group 9.
fn judge_deflate(count: usize, o: &Observed, client: bool, mut j: Judgement) -> (Verdict, String) {
    let st = &o.stream;
    let Some(n) = &o.negotiation else {
        return (Verdict::Failed, "internal: a deflate case without a negotiation".into());
    };
    if n.agreed.is_none() && o.violations.is_empty() {
        return (Verdict::Unimplemented, format!("{}; {}", n.note, peer_end_summary(o)));
    }
    if let Some(m) = &st.mismatch {
        j.add(Verdict::Failed, m.clone());
    } else if st.echoed < count {
        let why = st.stopped.clone().unwrap_or_else(|| "no echo".into());
        j.add(Verdict::Failed, format!("{} of {count} echoes: {why}", st.echoed));
    }
    match &o.peer_close {
        Some(c) if c.reply => {
            if let Some(f) = reply_code_finding(o, c) {
                j.add(Verdict::NonStrict, f);
            }
        }
        Some(c) if st.mismatch.is_none() && st.echoed >= count => j.add(
            Verdict::Failed,
            format!(
                "the peer closed the connection itself with {} in a valid case",
                code_name(c.code)
            ),
        ),
        Some(_) => {}
        None => j.add(Verdict::Failed, "no Close in answer to ours (§5.5.1 MUST)"),
    }
    if client && o.peer_close.is_some() && o.eof.is_none() {
        j.add(
            Verdict::NonStrict,
            "the server did not close TCP after the close handshake (§7.1.1 SHOULD)",
        );
    }
    j.note(n.note.clone());
    if st.app_out > 0 {
        j.note(format!(
            "ours: {} bytes compressed to {} in {} frames; the peer compressed {} of its {} echoes",
            st.app_out, st.wire_out, st.frames_out, st.peer_compressed, st.echoed
        ));
    }
    let (v, r) = j.finish(&format!("all {count} echoes correct"));
    (v, format!("{r}; took {:.0} ms", o.elapsed.as_secs_f64() * 1000.0))
}

/// The strict verdict: ours (`judge`), never more lenient than Autobahn's where Autobahn
/// has the case: its `behavior`, and its `behaviorClose` as `CloseBehavior::floor` says.
pub fn strict(
    own: Verdict,
    reason: String,
    autobahn: Option<&crate::autobahn::AutobahnVerdict>,
) -> (Verdict, String) {
    let Some(a) = autobahn else { return (own, reason) };
    let floor = a.behavior.max(a.close.floor());
    if floor <= own {
        return (own, reason);
    }
    let why = if a.behavior >= a.close.floor() {
        format!("Autobahn's behavior is {}: {}", a.behavior.as_str(), a.result)
    } else {
        format!("Autobahn's behaviorClose is {}: {}", a.close.as_str(), a.result_close)
    };
    (floor, format!("{}: {why}; ours: {reason}", floor.as_str()))
}
