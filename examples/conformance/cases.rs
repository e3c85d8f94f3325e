//! The case table. Groups 1–7, 9, 10, 12 and 13 are Autobahn|Testsuite's cases, with its
//! ids: each sends what Autobahn's case class sends (`autobahntestsuite/case/caseN_M.py`,
//! cited beside each group: the frames, payloads, fragment and chop sizes, waits and
//! timers) and carries Autobahn's expectation (`Autobahn`: `expected`, `expectedClose`)
//! next to ours (`Expect`, for the strict verdict). A few ids beyond Autobahn's extend its
//! groups (6.24–6.26, 7.8, 7.9.10, 10.1.2–10.1.3) and groups B and H are ours alone
//! (`cases_extra.rs`); they have the strict verdict only. Here: the helpers; groups 1–5
//! are in `cases_framing.rs`, 6 in `cases_utf8.rs`, 7 in `cases_close.rs`, 9 and 10 in
//! `cases_limits.rs`, 12 and 13 in `cases_deflate.rs`.

use crate::model::*;

/// Protocol errors: §7.4.1 1002.
pub const PROTO: &[u16] = &[1002];
/// Invalid UTF-8 in a text message: §7.4.1 1007.
pub const UTF8: &[u16] = &[1007];
/// A close reason that is not UTF-8: 1007 (inconsistent data) or 1002 (malformed Close).
pub const REASON: &[u16] = &[1007, 1002];

/// Autobahn's ASCII filler.
pub const STAR: &[u8] = b"*";
/// Autobahn's binary filler.
pub const FE: &[u8] = &[0xfe];
/// Text filler with 2- and 3-byte code points: 16 bytes ("κόσμε-abcd"), so that big
/// messages cut into fragments split code points across frames (cases of ours).
pub const KOSME16: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5-abcd";
/// Binary filler with every byte value (cases of ours).
pub const ALL_BYTES: &[u8] = &{
    let mut a = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        a[i] = i as u8;
        i += 1;
    }
    a
};

/// Markus Kuhn's "κόσμε" (with U+1F79, a 3-byte code point): 11 bytes.
pub const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
pub const HELLO: &[u8] = b"Hello, world!";

pub fn frame(opcode: u8, payload: impl Into<Payload>) -> FrameSpec {
    FrameSpec::new(opcode, payload)
}
pub fn text(p: impl Into<Payload>) -> FrameSpec {
    frame(TEXT, p)
}
pub fn binary(p: impl Into<Payload>) -> FrameSpec {
    frame(BINARY, p)
}
pub fn cont(p: impl Into<Payload>) -> FrameSpec {
    frame(CONT, p)
}
pub fn ping(p: impl Into<Payload>) -> FrameSpec {
    frame(PING, p)
}
pub fn pong(p: impl Into<Payload>) -> FrameSpec {
    frame(PONG, p)
}
pub fn close(code: u16, reason: &[u8]) -> FrameSpec {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    frame(CLOSE, p)
}
pub fn repeat(pattern: &'static [u8], len: usize) -> Payload {
    Payload::Repeat { pattern, offset: 0, len }
}
pub fn msg(opcode: u8, data: impl Into<Payload>) -> Msg {
    Msg { opcode, data: data.into() }
}
pub fn send(frames: Vec<FrameSpec>) -> Step {
    Step::Send { frames, chop: Chop::Whole }
}
pub fn send_chop(frames: Vec<FrameSpec>, chop: Chop) -> Step {
    Step::Send { frames, chop }
}
/// Autobahn's `chopsize = 1`: one octet per write, one reactor turn apart.
pub fn octets() -> Chop {
    Chop::Bytes { size: 1, delay_ms: 0 }
}
/// Autobahn's `sync = True`: one write per frame, one reactor turn apart.
pub fn framewise() -> Chop {
    Chop::PerFrame { delay_ms: 0 }
}
pub fn echo(msgs: Vec<Msg>) -> Expect {
    Expect::Echo { msgs, pongs: vec![], settle_ms: 0, last_pong_suffices: false }
}
pub fn echo_pongs(msgs: Vec<Msg>, pongs: Vec<Payload>) -> Expect {
    Expect::Echo { msgs, pongs, settle_ms: 0, last_pong_suffices: false }
}
pub fn silence(pongs: Vec<Payload>) -> Expect {
    Expect::Echo { msgs: vec![], pongs, settle_ms: 500, last_pong_suffices: false }
}
pub fn fail(codes: &'static [u16]) -> Expect {
    Expect::Fail { codes, before: vec![], pongs_before: vec![], fast: false, tolerated: None }
}
pub fn fail_after(codes: &'static [u16], before: Vec<Msg>) -> Expect {
    Expect::Fail { codes, before, pongs_before: vec![], fast: false, tolerated: None }
}
pub fn close_reply(codes: Vec<Option<u16>>, before: Vec<Msg>) -> Expect {
    Expect::CloseReply { codes, before }
}
pub fn is_utf8(b: &[u8]) -> bool {
    std::str::from_utf8(b).is_ok()
}

/// Autobahn's `sendMessage(payload, fragmentSize = size)` (autobahn-python 0.10.9,
/// `sendMessageHybi`): one frame when the payload fits, else frames of `size` bytes; when
/// the payload is an exact multiple of `size`, the last of them has FIN = 0 and an empty
/// continuation frame ends the message.
pub fn fragmented(opcode: u8, pattern: &'static [u8], len: usize, size: usize) -> Vec<FrameSpec> {
    let payload = |offset: usize, n: usize| Payload::Repeat { pattern, offset, len: n };
    if len <= size {
        return vec![frame(opcode, payload(0, len))];
    }
    let mut frames = Vec::new();
    let mut at = 0;
    loop {
        let end = at + size;
        let done = end > len;
        let end = end.min(len);
        let op = if at == 0 { opcode } else { CONT };
        frames.push(frame(op, payload(at, end - at)).fin(done));
        if done {
            break;
        }
        at += size;
    }
    frames
}

/// The same, for a literal payload.
pub fn fragmented_bytes(opcode: u8, data: &[u8], size: usize) -> Vec<FrameSpec> {
    let mut frames = Vec::new();
    if data.len() <= size {
        return vec![frame(opcode, data.to_vec())];
    }
    let mut at = 0;
    loop {
        let end = at + size;
        let done = end > data.len();
        let end = end.min(data.len());
        let op = if at == 0 { opcode } else { CONT };
        frames.push(frame(op, data[at..end].to_vec()).fin(done));
        if done {
            break;
        }
        at += size;
    }
    frames
}

// ---------------------------------------------------------------- Autobahn's expectations

pub fn rx_msg(opcode: u8, data: impl Into<Payload>) -> Rx {
    Rx::Message { binary: opcode != TEXT, data: data.into() }
}
pub fn rx_pong(p: impl Into<Payload>) -> Rx {
    Rx::Pong(p.into())
}

/// `expectedClose = {"closedByMe": True, "closeCode": codes, "requireClean": True}`.
pub fn closed_by_me(codes: &[u16]) -> ExpectClose {
    ExpectClose {
        closed_by_me: true,
        codes: codes.to_vec(),
        require_clean: true,
        wrong_endpoint_fatal: false,
    }
}

/// `expectedClose = {"closedByMe": False, "closeCode": codes, "requireClean": False}`:
/// the peer must fail the connection.
pub fn failed_by_peer(codes: &[u16]) -> ExpectClose {
    ExpectClose {
        closed_by_me: false,
        codes: codes.to_vec(),
        require_clean: false,
        wrong_endpoint_fatal: false,
    }
}

/// `self.expected[Case.OK] = ok`.
pub fn ab(ok: Vec<Rx>, close: ExpectClose) -> Autobahn {
    Autobahn {
        expected: vec![(Verdict::Ok, ok)],
        close,
        suppress_close: false,
        rule: Rule::Compare,
    }
}

/// `self.expected[Case.OK] = ok; self.expected[Case.NON_STRICT] = non_strict`.
pub fn ab_or(ok: Vec<Rx>, non_strict: Vec<Rx>, close: ExpectClose) -> Autobahn {
    Autobahn {
        expected: vec![(Verdict::Ok, ok), (Verdict::NonStrict, non_strict)],
        close,
        suppress_close: false,
        rule: Rule::Compare,
    }
}

/// The echo of `rx`, then Autobahn closes with 1000: the common expectation.
pub fn ab_echo(rx: Vec<Rx>) -> Autobahn {
    ab(rx, closed_by_me(&[1000]))
}

/// The peer must fail the connection with one of `codes`, having sent nothing back.
pub fn ab_fail(codes: &[u16]) -> Autobahn {
    ab(vec![], failed_by_peer(codes))
}

#[derive(Default)]
pub struct Table {
    pub cases: Vec<Case>,
}

impl Table {
    /// A case of ours only (strict verdict).
    pub fn add(
        &mut self,
        id: impl Into<String>,
        desc: impl Into<String>,
        steps: Vec<Step>,
        expect: Expect,
    ) -> &mut Case {
        self.cases.push(Case {
            id: id.into(),
            desc: desc.into(),
            steps,
            expect,
            only: None,
            tags: 0,
            handshake: None,
            deflate: None,
            autobahn: None,
        });
        self.cases.last_mut().expect("just pushed")
    }

    /// A case Autobahn|Testsuite has under the same id: run as Autobahn runs it, judged
    /// both ways.
    pub fn shared(
        &mut self,
        id: impl Into<String>,
        desc: impl Into<String>,
        steps: Vec<Step>,
        expect: Expect,
        autobahn: Autobahn,
    ) -> &mut Case {
        let case = self.add(id, desc, steps, expect);
        case.autobahn = Some(autobahn);
        case
    }
}

/// Every case, in order.
pub fn all() -> Vec<Case> {
    let mut t = Table::default();
    crate::cases_framing::group1(&mut t);
    crate::cases_framing::group2(&mut t);
    crate::cases_framing::group3(&mut t);
    crate::cases_framing::group4(&mut t);
    crate::cases_framing::group5(&mut t);
    crate::cases_utf8::group6(&mut t);
    crate::cases_close::group7(&mut t);
    crate::cases_limits::group9(&mut t);
    crate::cases_limits::group10(&mut t);
    crate::cases_deflate::group12(&mut t.cases);
    crate::cases_deflate::group13(&mut t.cases);
    crate::cases_extra::group_b(&mut t);
    crate::cases_extra::group_h(&mut t);
    t.cases
}

/// The cases a mode runs (`client`: we are the client, the peer is the server under test).
pub fn for_mode(client: bool) -> Vec<Case> {
    let skip = if client { Only::Server } else { Only::Client };
    all().into_iter().filter(|c| c.only != Some(skip)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(frames: &[FrameSpec]) -> Vec<(u8, bool, usize)> {
        frames.iter().map(|f| (f.opcode, f.fin, f.payload.len())).collect()
    }

    #[test]
    fn the_fragmenter_ends_an_exact_multiple_with_an_empty_frame() {
        // Autobahn's sendMessageHybi: 4 bytes in fragments of 2 are 2 + 2 (FIN = 0) + 0.
        assert_eq!(
            shape(&fragmented(TEXT, STAR, 4, 2)),
            [(TEXT, false, 2), (CONT, false, 2), (CONT, true, 0)]
        );
        assert_eq!(
            shape(&fragmented(TEXT, STAR, 5, 2)),
            [(TEXT, false, 2), (CONT, false, 2), (CONT, true, 1)]
        );
        assert_eq!(shape(&fragmented(BINARY, FE, 4, 4)), [(BINARY, true, 4)]);
        assert_eq!(
            shape(&fragmented_bytes(TEXT, b"ab", 1)),
            [(TEXT, false, 1), (CONT, false, 1), (CONT, true, 0)]
        );
    }

    #[test]
    fn fragments_continue_the_pattern() {
        let frames = fragmented(TEXT, KOSME16, 40, 7);
        let joined: Vec<u8> = frames.iter().flat_map(|f| f.payload.to_vec()).collect();
        assert_eq!(joined, repeat(KOSME16, 40).to_vec());
    }

    #[test]
    fn autobahn_ids_are_unique_and_shared_ones_have_a_timer() {
        let cases = all();
        let mut ids = std::collections::HashSet::new();
        for c in &cases {
            assert!(ids.insert(c.id.clone()), "duplicate id {}", c.id);
            if c.autobahn.is_some() && c.deflate.is_none() {
                let timer =
                    c.steps.iter().any(|s| matches!(s, Step::KillAfter(_) | Step::CloseAfter(_)));
                assert!(timer, "{}: Autobahn arms killAfter or closeAfter in every case", c.id);
            }
        }
        // The ids Autobahn|Testsuite has in groups 1–10 (301), and in 12 and 13 (216).
        let shared =
            |p: &str| cases.iter().filter(|c| c.autobahn.is_some() && c.selected_by(p)).count();
        assert_eq!(shared("1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*"), 301);
        assert_eq!(shared("12.*,13.*"), 216);
        assert_eq!(shared("6.*"), 145);
        assert_eq!(shared("6.22.*"), 34);
        assert_eq!(shared("7.9.*"), 9);
    }
}
