//! A case's steps: planned into writes, then run; then the wait for the outcome (Autobahn's
//! timers in a shared case, our time windows in a case of ours) and the end of the
//! connection.

use std::time::{Duration, Instant};

use super::{AbStatus, Observed, Session};
use crate::corpus::Corpus;
use crate::model::{CLOSE, Case, Chop, Expect, FrameSpec, Payload, Step, TEXT, Verdict};
use crate::wire::encode;

/// A Close inside a `Send`: where its bytes start, and its code.
#[derive(Clone, Copy)]
struct CloseAt {
    offset: usize,
    code: Option<u16>,
}

enum Planned {
    Send {
        bytes: Vec<u8>,
        cuts: Vec<(usize, usize)>,
        delay_ms: u64,
        /// Autobahn's send queue (see `Chop::queued`).
        queued: bool,
        /// `Chop::Cuts`: the mark before each cut after the first.
        marks: Vec<&'static str>,
        /// The first valid Close: it opens a close handshake (for the strict verdict).
        valid_close: Option<CloseAt>,
        /// The first Close sent as Autobahn's `sendClose` sends it (`FrameSpec::closing`).
        closing: Option<CloseAt>,
    },
    Wait(u64),
    KillAfter(u64),
    CloseAfter(u64),
    Mark(&'static str),
    RoundTrips {
        count: usize,
        spec: FrameSpec,
        binary: bool,
        len: usize,
    },
    DeflateEchoes {
        corpus: Corpus,
        len: usize,
        count: usize,
        frag: usize,
    },
}

impl Planned {
    fn writes(&self) -> usize {
        match self {
            Planned::Send { cuts, .. } => cuts.len(),
            Planned::RoundTrips { count, .. } | Planned::DeflateEchoes { count, .. } => *count,
            Planned::Wait(_)
            | Planned::KillAfter(_)
            | Planned::CloseAfter(_)
            | Planned::Mark(_) => 0,
        }
    }
}

impl Session {
    /// Run the case's steps, then wait for the outcome, then end the connection.
    pub fn run(&mut self, case: &Case) {
        if let Some(spec) = &case.autobahn {
            self.obs.ab = Some(AbStatus::new(spec.clone()));
        }
        let plan = self.plan(case);
        self.obs.writes_total = plan.iter().map(Planned::writes).sum();
        for item in plan {
            if !self.ab_alive() || !self.run_step(item) {
                break;
            }
        }
        if self.wire.mid_frame() {
            // The frame of ours in progress stays unfinished (the case's header promised
            // more, or the case stopped): no Close of ours can follow it.
            self.wire.log_unfinished_output();
            if self.ab().is_none() {
                self.deferred.clear();
                self.unfinished = true;
            }
        }
        if self.ab().is_some() {
            self.ab_await_closed(self.windows.close);
            self.linger(Duration::from_secs(1));
        } else {
            self.await_outcome(case);
        }
        self.obs.elapsed = self.start.elapsed();
    }

    /// One step; false when the case stops here.
    fn run_step(&mut self, item: Planned) -> bool {
        match item {
            Planned::Send { bytes, cuts, delay_ms, queued, marks, valid_close, closing } => {
                if cuts.len() > 1 {
                    let sizes: Vec<usize> = cuts.iter().map(|(a, b)| b - a).collect();
                    let (min, max) = (
                        sizes.iter().min().copied().unwrap_or(0),
                        sizes.iter().max().copied().unwrap_or(0),
                    );
                    self.wire.log.push(
                        "·",
                        format!(
                            "sending {} bytes in {} writes of {min}–{max} bytes, {delay_ms} ms apart",
                            bytes.len(),
                            cuts.len()
                        ),
                    );
                }
                self.queued = queued && self.ab().is_some();
                let mut going = true;
                for (i, (a, b)) in cuts.iter().enumerate() {
                    if i > 0 && delay_ms == 0 && b - a <= 16 {
                        // Tiny writes back to back: let our reader see a Close first.
                        std::thread::yield_now();
                    }
                    if i > 0 && delay_ms > 0 {
                        let until = Instant::now() + Duration::from_millis(delay_ms);
                        self.pump_until(until, |_| false);
                    }
                    if i > 0
                        && let Some(tag) = marks.get(i - 1)
                        && !self.ab_mark(tag)
                    {
                        going = false;
                        break;
                    }
                    if cuts.len() > 1 && cuts.len() <= 12 {
                        let note = format!("write {} of {}: bytes {a}..{b}", i + 1, cuts.len());
                        self.wire.log.push("·", note);
                    }
                    if !self.write(&bytes[*a..*b]) {
                        self.stop_sending();
                        going = false;
                        break;
                    }
                    if let Some(c) = valid_close
                        && c.offset < *b
                        && self.obs.our_close.is_none()
                    {
                        self.obs.our_close = Some((self.since(Instant::now()), false));
                        self.obs.our_close_code = c.code;
                    }
                    if let Some(c) = closing
                        && c.offset < *b
                    {
                        self.ab_closing(c.code, false);
                    }
                }
                if self.queued {
                    // Autobahn's queue is empty: what waited behind it goes out now.
                    self.queued = false;
                    if self.ab_alive() {
                        for (opcode, payload) in std::mem::take(&mut self.deferred) {
                            let _ = self.wire.send_frame(opcode, &payload);
                        }
                    }
                    self.deferred.clear();
                }
                going
            }
            Planned::Wait(ms) => {
                self.wire.log.push("·", format!("waiting {ms} ms"));
                let until = Instant::now() + Duration::from_millis(ms);
                if self.ab().is_some() {
                    self.pump_until(until, |_| false);
                } else {
                    self.pump_until(until, Observed::peer_ended);
                }
                true
            }
            Planned::KillAfter(ms) => {
                self.wire.log.push("·", format!("killAfter({ms} ms)"));
                self.ab_arm(true, ms);
                true
            }
            Planned::CloseAfter(ms) => {
                self.wire.log.push("·", format!("closeAfter({ms} ms)"));
                self.ab_arm(false, ms);
                true
            }
            Planned::Mark(tag) => self.ab_mark(tag),
            Planned::DeflateEchoes { corpus, len, count, frag } => {
                self.send_compressed(corpus, len, count, frag)
            }
            Planned::RoundTrips { count, spec, binary, len } => {
                self.round_trips(count, &spec, binary, len);
                true
            }
        }
    }

    /// 9.7 and 9.8 (Autobahn's `sendOne` / `onMessage`): `count` messages, each once the
    /// echo of the previous one is back; the time bound is the case's `closeAfter`. A case
    /// of ours waits the echo window for each echo.
    fn round_trips(&mut self, count: usize, spec: &FrameSpec, binary: bool, len: usize) {
        let shared = self.ab().is_some();
        let mut total = Duration::ZERO;
        let mut max = Duration::ZERO;
        let mut done = 0;
        let mut outcome = None;
        for _ in 0..count {
            if self.ab().is_some_and(|a| !a.open()) {
                break;
            }
            let want = self.obs.msgs.len() + 1;
            // A fresh masking key for each message, as Autobahn's `sendFrame` draws one.
            let (frame, _) = encode(spec, self.wire.we_are_client, &mut self.wire.rng);
            let sent = Instant::now();
            if !self.write(&frame) {
                self.stop_sending();
                break;
            }
            let until = if shared {
                sent + Duration::from_secs(24 * 3600)
            } else {
                sent + self.windows.echo
            };
            self.pump_until(until, |o| {
                o.msgs.len() >= want || o.peer_ended() || o.ab.as_ref().is_some_and(|a| !a.open())
            });
            let Some((op, data)) = self.obs.msgs.get(want - 1) else { break };
            let rtt = sent.elapsed();
            total += rtt;
            max = max.max(rtt);
            if (*op != TEXT) != binary || data.len() != len {
                outcome = Some((
                    Verdict::Failed,
                    format!(
                        "Echo'ed message type or length differs from what I sent (got binary = {}, payload length = {}).",
                        *op != TEXT,
                        data.len()
                    ),
                ));
                break;
            }
            done += 1;
        }
        self.obs.rtt = Some((done, total, max));
        if done == count {
            outcome = Some((Verdict::Ok, "Ok, received all echo'ed messages in time.".into()));
        }
        if let Some((v, why)) = outcome {
            self.ab_stream_outcome(v, why);
        }
    }

    /// After Autobahn's side closed TCP: wait a little for the peer's own TCP close, so that
    /// the strict verdict sees it and our late close does not reset the connection.
    fn linger(&mut self, up_to: Duration) {
        let deadline = Instant::now() + up_to;
        while self.obs.eof.is_none() && self.obs.we_shut.is_some() && Instant::now() < deadline {
            if let Some((at, ev)) = self.wire.next_event(deadline) {
                self.handle(at, ev);
            }
        }
    }

    /// A case of ours: wait for the outcome its expectation needs, then close.
    fn await_outcome(&mut self, case: &Case) {
        let now = Instant::now();
        match &case.expect {
            Expect::Echo { msgs, pongs, settle_ms, last_pong_suffices } => {
                let mib = (case.bytes_sent() >> 20) as u32;
                let deadline = now + self.windows.echo + Duration::from_millis(100) * mib;
                let settle = now + Duration::from_millis(*settle_ms);
                let want_msgs = msgs.len();
                let want_pongs = pongs.len();
                let last_pong = pongs.last().cloned();
                let done = |o: &Observed| {
                    let pongs_in = o.pongs.len() >= want_pongs
                        || (*last_pong_suffices
                            && last_pong
                                .as_ref()
                                .is_some_and(|p| o.pongs.last().is_some_and(|got| p.matches(got))));
                    o.peer_ended()
                        || o.msgs.len() > want_msgs
                        || (o.msgs.len() == want_msgs && pongs_in)
                };
                self.pump_until(deadline, done);
                if Instant::now() < settle && !self.obs.peer_ended() {
                    self.pump_until(settle, Observed::peer_ended);
                }
            }
            Expect::Fail { before, .. } => {
                let allowed = before.len();
                self.pump_until(now + self.windows.fail, |o| {
                    o.peer_close.is_some() || o.msgs.len() > allowed
                });
            }
            // Groups 12 and 13 are always shared with Autobahn.
            Expect::DeflateEcho { .. } => {}
            Expect::CloseReply { .. } | Expect::Refuse | Expect::Informational(_) => {
                self.pump_until(now + self.windows.fail, |o| o.peer_close.is_some());
            }
            Expect::Http { .. } => {}
        }
        self.close_politely();
    }

    /// End the connection as a conforming peer: our Close (if none was sent), the peer's
    /// answer, and the TCP close (the server's first).
    fn close_politely(&mut self) {
        if self.unfinished {
            // Our last frame is unfinished: a Close would be read as its payload. Close TCP.
            self.shut();
        } else if self.obs.eof.is_none()
            && self.obs.our_close.is_none()
            && self.wire.send_frame(CLOSE, &1000u16.to_be_bytes()).is_ok()
        {
            self.obs.our_close = Some((self.since(Instant::now()), false));
            self.obs.our_close_code = Some(1000);
        }
        let deadline = Instant::now() + self.windows.close;
        self.pump_until(deadline, |o| o.peer_close.is_some());
        if !self.wire.we_are_client && self.obs.peer_close.is_some() {
            self.shut();
        }
        self.pump_until(deadline, |_| false);
    }

    /// Materialise the steps into writes.
    fn plan(&mut self, case: &Case) -> Vec<Planned> {
        let mut out = Vec::new();
        for step in &case.steps {
            match step {
                Step::Wait(ms) => out.push(Planned::Wait(*ms)),
                Step::KillAfter(ms) => out.push(Planned::KillAfter(*ms)),
                Step::CloseAfter(ms) => out.push(Planned::CloseAfter(*ms)),
                Step::Mark(tag) => out.push(Planned::Mark(tag)),
                Step::DeflateEchoes { corpus, len, count, frag } => {
                    out.push(Planned::DeflateEchoes {
                        corpus: *corpus,
                        len: *len,
                        count: *count,
                        frag: *frag,
                    })
                }
                Step::RoundTrips { count, opcode, size, fill } => {
                    let payload = Payload::Repeat { pattern: fill, offset: 0, len: *size };
                    out.push(Planned::RoundTrips {
                        count: *count,
                        spec: FrameSpec::new(*opcode, payload),
                        binary: *opcode != TEXT,
                        len: *size,
                    });
                }
                Step::Send { frames, chop } => out.push(self.plan_send(frames, chop)),
            }
        }
        out
    }

    fn plan_send(&mut self, frames: &[FrameSpec], chop: &Chop) -> Planned {
        let client = self.wire.we_are_client;
        let mut bytes = Vec::new();
        let mut bounds = Vec::new();
        let mut first_header = 0;
        let mut valid_close = None;
        let mut closing = None;
        for (i, f) in frames.iter().enumerate() {
            let (b, header_len) = encode(f, client, &mut self.wire.rng);
            if i == 0 {
                first_header = header_len;
            }
            let start = bytes.len();
            let at = CloseAt { offset: start, code: close_code(f) };
            // Only a valid Close of ours opens a close handshake for the strict verdict (an
            // invalid one is a bad frame the peer must fail the connection on).
            if valid_close.is_none() && is_valid_close(f) {
                valid_close = Some(at);
            }
            if closing.is_none() && f.closing {
                closing = Some(at);
            }
            bytes.extend_from_slice(&b);
            bounds.push((start, bytes.len()));
        }
        let mut marks = Vec::new();
        let (cuts, delay_ms) = match chop {
            Chop::Whole => (vec![(0, bytes.len())], 0),
            Chop::PerFrame { delay_ms } => (bounds, *delay_ms),
            Chop::Bytes { size, delay_ms } => {
                let size = (*size).max(1);
                let cuts = (0..bytes.len())
                    .step_by(size)
                    .map(|a| (a, (a + size).min(bytes.len())))
                    .collect();
                (cuts, *delay_ms)
            }
            Chop::Cuts { at, delay_ms, marks: m } => {
                marks = m.clone();
                let mut points: Vec<usize> = vec![0];
                points.extend(at.iter().map(|p| first_header + p).filter(|p| *p < bytes.len()));
                points.push(bytes.len());
                (points.windows(2).map(|w| (w[0], w[1])).collect(), *delay_ms)
            }
        };
        Planned::Send { bytes, cuts, delay_ms, queued: chop.queued(), marks, valid_close, closing }
    }
}

fn close_code(f: &FrameSpec) -> Option<u16> {
    match &f.payload {
        Payload::Bytes(p) if p.len() >= 2 => Some(u16::from_be_bytes([p[0], p[1]])),
        _ => None,
    }
}

fn is_valid_close(f: &FrameSpec) -> bool {
    use crate::model::{Len, Mask};
    let p = match &f.payload {
        Payload::Bytes(b) => b.as_slice(),
        Payload::Repeat { .. } => return false,
    };
    let code_ok = match p {
        [] => true,
        [a, b, reason @ ..] => {
            matches!(u16::from_be_bytes([*a, *b]), 1000..=1003 | 1007..=1014 | 3000..=4999)
                && std::str::from_utf8(reason).is_ok()
        }
        _ => false,
    };
    f.opcode == CLOSE
        && f.fin
        && f.rsv == 0
        && p.len() <= 125
        && code_ok
        && matches!(f.len, Len::Minimal)
        && matches!(f.mask, Mask::Role)
}
