//! The case model: what a case sends (steps of frames, chopped and paced) and which outcomes
//! are acceptable. Cases are data (see `cases.rs`); the runner interprets them.

use rfc6455::frame::LengthForm;

pub use crate::corpus::Corpus;
pub use crate::pmce::{Offer, ServerAccept};
pub use crate::verdict::Verdict;

/// Opcodes, as the 4-bit numbers of §5.2 (any value can be sent).
pub const CONT: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// Tags: which check of the implementation a case exercises (used by the mutant tests).
pub const TAG_INVALID_UTF8: u8 = 1;
pub const TAG_NON_MINIMAL: u8 = 2;

/// A payload, small ones literal, big ones generated when the case runs.
#[derive(Clone, Debug)]
pub enum Payload {
    Bytes(Vec<u8>),
    /// `pattern` repeated to `len` bytes, starting at byte `offset` of the repetition.
    Repeat {
        pattern: &'static [u8],
        offset: usize,
        len: usize,
    },
}

impl Payload {
    pub fn len(&self) -> usize {
        match self {
            Payload::Bytes(b) => b.len(),
            Payload::Repeat { len, .. } => *len,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Payload::Bytes(b) => b.clone(),
            Payload::Repeat { pattern, offset, len } => pattern
                .iter()
                .copied()
                .cycle()
                .skip(offset % pattern.len().max(1))
                .take(*len)
                .collect(),
        }
    }

    /// Does `data` equal this payload (without building it)?
    pub fn matches(&self, data: &[u8]) -> bool {
        match self {
            Payload::Bytes(b) => b.as_slice() == data,
            Payload::Repeat { pattern, offset, len } => {
                data.len() == *len
                    && (pattern.is_empty()
                        || data
                            .iter()
                            .zip(pattern.iter().cycle().skip(offset % pattern.len()))
                            .all(|(a, b)| a == b))
            }
        }
    }
}

impl From<&[u8]> for Payload {
    fn from(b: &[u8]) -> Self {
        Payload::Bytes(b.to_vec())
    }
}
impl From<Vec<u8>> for Payload {
    fn from(b: Vec<u8>) -> Self {
        Payload::Bytes(b)
    }
}
impl From<&str> for Payload {
    fn from(s: &str) -> Self {
        Payload::Bytes(s.as_bytes().to_vec())
    }
}
impl<const N: usize> From<&[u8; N]> for Payload {
    fn from(b: &[u8; N]) -> Self {
        Payload::Bytes(b.to_vec())
    }
}

/// The length field of a frame we send.
#[derive(Clone, Copy, Debug)]
pub enum Len {
    /// The minimal encoding of the real payload length (what §5.2 requires).
    Minimal,
    /// The real payload length in a chosen (possibly non-minimal) form.
    Form(LengthForm),
    /// Declare this length (64-bit form), whatever the payload actually is.
    Declared(u64),
}

/// Whether a frame we send is masked.
#[derive(Clone, Copy, Debug)]
pub enum Mask {
    /// As our role requires: masked when we play the client, unmasked as the server.
    Role,
    /// Masked with the all-zero key (legal for a client: the payload goes out in clear).
    Zero,
    /// The opposite of what our role requires (a protocol violation either way).
    Flip,
}

/// One frame to send, valid or not.
#[derive(Clone, Debug)]
pub struct FrameSpec {
    pub fin: bool,
    /// RSV1·RSV2·RSV3 as a 3-bit number.
    pub rsv: u8,
    pub opcode: u8,
    pub payload: Payload,
    pub len: Len,
    pub mask: Mask,
    /// A Close sent the way Autobahn's `sendClose`/`sendCloseFrame` sends one: it opens the
    /// closing handshake (our side is CLOSING, `closedByMe`). A Close sent with its raw
    /// `sendFrame(opcode = 8)` does not.
    pub closing: bool,
}

impl FrameSpec {
    pub fn new(opcode: u8, payload: impl Into<Payload>) -> FrameSpec {
        FrameSpec {
            fin: true,
            rsv: 0,
            opcode,
            payload: payload.into(),
            len: Len::Minimal,
            mask: Mask::Role,
            closing: false,
        }
    }
    pub fn closing(mut self) -> Self {
        self.closing = true;
        self
    }
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }
    pub fn rsv(mut self, rsv: u8) -> Self {
        self.rsv = rsv;
        self
    }
    pub fn len(mut self, len: Len) -> Self {
        self.len = len;
        self
    }
    pub fn mask(mut self, mask: Mask) -> Self {
        self.mask = mask;
        self
    }
}

/// How the bytes of a `Send` step are cut into writes.
#[derive(Clone, Debug)]
pub enum Chop {
    /// All frames in one write.
    Whole,
    /// One write per frame, `delay_ms` apart.
    PerFrame { delay_ms: u64 },
    /// The concatenated bytes in writes of `size` bytes, `delay_ms` apart.
    Bytes { size: usize, delay_ms: u64 },
    /// The frames cut at these offsets of the first frame's payload, each write `delay_ms`
    /// after the previous, written at once (no send queue: a reply of ours goes out between
    /// two cuts, even inside our unfinished frame, as Autobahn's `sendMessageFrameData`
    /// lets it). Before cut `i` (from 1), Autobahn's `("timeout", marks[i - 1])` is
    /// recorded if the connection is still open; if not, the rest is not sent.
    Cuts { at: Vec<usize>, delay_ms: u64, marks: Vec<&'static str> },
}

impl Chop {
    /// Autobahn's send queue (`chopsize`, `sync = True`): the writes go out one reactor
    /// turn apart, and a frame of ours queued meanwhile (a Pong, a Close) waits behind them.
    pub fn queued(&self) -> bool {
        matches!(self, Chop::PerFrame { .. } | Chop::Bytes { .. })
    }
}

/// One step of a case.
#[derive(Clone, Debug)]
pub enum Step {
    Send {
        frames: Vec<FrameSpec>,
        chop: Chop,
    },
    /// Wait this many milliseconds (shortened if the peer ends the connection). In a case
    /// shared with Autobahn, its `continueLater`: the steps after it run only while the
    /// connection is not closed.
    Wait(u64),
    /// Autobahn's `killAfter`: this many milliseconds from here, if the connection is still
    /// not closed, fail it (a Close 1001 "Going Away"; when already closing, drop TCP).
    KillAfter(u64),
    /// Autobahn's `closeAfter`: this many milliseconds from here, if the connection is
    /// still open, start the closing handshake with a Close without payload.
    CloseAfter(u64),
    /// Autobahn's `("timeout", tag)`: recorded in `received` while the connection is open;
    /// once it is not, the rest of the case is not sent (6.4).
    Mark(&'static str),
    /// Send `count` messages one at a time, each after the echo of the previous (latency):
    /// `fill` repeated to `size` bytes.
    RoundTrips {
        count: usize,
        opcode: u8,
        size: usize,
        fill: &'static [u8],
    },
    /// Groups 12 and 13: `count` compressed messages, one at a time, each after the echo of
    /// the previous: the next `len` units of `corpus`, compressed as one message and cut
    /// into frames of `frag` bytes (0: one frame). Nothing is sent when the extension was
    /// not agreed.
    DeflateEchoes {
        corpus: Corpus,
        len: usize,
        count: usize,
        frag: usize,
    },
}

/// A data message we expect back.
#[derive(Clone, Debug)]
pub struct Msg {
    pub opcode: u8,
    pub data: Payload,
}

/// Which outcomes are acceptable.
#[derive(Clone, Debug)]
pub enum Expect {
    /// The peer echoes `msgs` and answers our Pings with `pongs`; when we then close with
    /// 1000 it answers with a Close and the connection ends. `settle_ms`: keep listening at
    /// least this long (to see that nothing unexpected arrives). `last_pong_suffices`: the
    /// peer may answer only the most recent of several Pings (§5.5.3).
    Echo { msgs: Vec<Msg>, pongs: Vec<Payload>, settle_ms: u64, last_pong_suffices: bool },
    /// The peer must fail the connection with a code in `codes`, after echoing `before`
    /// (missing ones: NON-STRICT) and answering the Pings before the bad frame with
    /// `pongs_before`. `fast`: the failure must come before our last write (fail-fast).
    /// `tolerated`: processing the frame as if it were valid is NON-STRICT, not FAILED,
    /// when the peer then meets this expectation (a rule for senders only).
    Fail {
        codes: &'static [u16],
        before: Vec<Msg>,
        pongs_before: Vec<Payload>,
        fast: bool,
        tolerated: Option<Box<Expect>>,
    },
    /// The case sent a Close: the peer must answer with one of `codes` (`None`: no code),
    /// after echoing exactly `before`, and then end the connection.
    CloseReply { codes: Vec<Option<u16>>, before: Vec<Msg> },
    /// The RFC leaves the behaviour open: whatever happens is recorded, not judged (a
    /// protocol violation by the peer is still FAILED).
    Informational(&'static str),
    /// Client mode, raw HTTP: the status line must be one of `ok` (OK) or `nonstrict`.
    Http { ok: &'static [u16], nonstrict: &'static [u16] },
    /// Server mode: the client under test must refuse our broken opening handshake (close
    /// TCP without sending a frame or echoing our message).
    Refuse,
    /// Groups 12 and 13: every message of the `DeflateEchoes` step echoed, within
    /// `wait_secs` for the whole case, then the close handshake; UNIMPLEMENTED when the
    /// peer did not agree to permessage-deflate.
    DeflateEcho { count: usize, wait_secs: u64 },
}

/// The permessage-deflate negotiation of a case of groups 12 and 13 (RFC 7692).
#[derive(Clone, Debug)]
pub struct Deflate {
    /// Client mode: what we offer, most preferred first.
    pub offers: Vec<Offer>,
    /// Server mode: how we answer the client's offers.
    pub accept: ServerAccept,
}

/// The opening handshake of a case, when it is not the ordinary one.
#[derive(Clone, Debug)]
pub enum Handshake {
    /// Client mode: send this raw request (`{key}` and `{host}` are filled in), in chops of
    /// `chop` bytes (0: one write).
    Request { raw: String, chop: usize },
    /// Server mode: answer the client with this broken (or unusual) response.
    Response(BadResponse),
}

/// Server mode: how we answer the client's opening handshake.
#[derive(Clone, Copy, Debug)]
pub enum BadResponse {
    WrongAccept,
    NoUpgrade,
    NoConnection,
    Status200,
    UnofferedSubprotocol,
    UnofferedExtension,
    /// Valid, but with odd-case names, a token list and a mixed-case value.
    OddButValid,
}

/// Which mode runs a case (`None`: both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    Client,
    Server,
}

/// One conformance case.
#[derive(Clone, Debug)]
pub struct Case {
    pub id: String,
    pub desc: String,
    pub steps: Vec<Step>,
    pub expect: Expect,
    pub only: Option<Only>,
    pub tags: u8,
    pub handshake: Option<Handshake>,
    /// Groups 12 and 13 only: negotiate permessage-deflate.
    pub deflate: Option<Deflate>,
    /// How Autobahn|Testsuite judges this case, for the ids it shares with us (None: a
    /// case of ours only).
    pub autobahn: Option<Autobahn>,
}

/// What Autobahn records in a case's `received` list.
#[derive(Clone, Debug)]
pub enum Rx {
    /// `("message", payload, isBinary)`
    Message { binary: bool, data: Payload },
    /// `("pong", payload)`
    Pong(Payload),
    /// `("timeout", tag)`: a `continueLater` part ran while the connection was open.
    Timeout(&'static str),
}

/// A case's `expectedClose`.
#[derive(Clone, Debug)]
pub struct ExpectClose {
    /// `closedByMe`: Autobahn (we) must be the one to start the closing handshake.
    pub closed_by_me: bool,
    /// `closeCode`: the codes the peer's Close may carry (no code is always accepted).
    pub codes: Vec<u16>,
    /// `requireClean`: the closing handshake must complete, and the server drop TCP.
    pub require_clean: bool,
    /// `closedByWrongEndpointIsFatal` (group 6): a close by the wrong side fails `behavior`.
    pub wrong_endpoint_fatal: bool,
}

/// How a case turns what happened into Autobahn's `behavior`.
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// `Case.onConnectionLost`: the verdict whose `expected` list equals `received`.
    Compare,
    /// Group 7 (`onConnectionLost` of case7_*): as `Compare`, and a close with the wrong
    /// code (WRONG CODE) also fails `behavior`.
    WrongCodeFails,
    /// 7.1.6, 7.13: INFORMATIONAL, `behavior` and `behaviorClose`, whatever happened.
    Informational,
    /// 9.1–9.6 (`onMessage` of case9_*): OK once a message of this kind and length came
    /// back; each message that comes back closes the connection (code 1000).
    EchoLength { binary: bool, len: usize },
    /// 9.7, 9.8, 12, 13: the step that sends the messages one by one says (OK when every
    /// echo came back right, FAILED at the first wrong one or when the case's
    /// `closeAfter(wait_secs)` came first).
    Stream { wait_secs: u64 },
}

/// Autobahn|Testsuite's judgement of a case it shares with us, as its case class states it
/// (`autobahntestsuite/case/caseN_M.py`); the timers are steps (`KillAfter`, `CloseAfter`).
#[derive(Clone, Debug)]
pub struct Autobahn {
    /// `self.expected`: each verdict with the `received` list that earns it.
    pub expected: Vec<(Verdict, Vec<Rx>)>,
    pub close: ExpectClose,
    /// `suppressClose`: no Close of ours when `received` matches.
    pub suppress_close: bool,
    pub rule: Rule,
}

impl Autobahn {
    /// `self.expected[Case.NON_STRICT] = rx`.
    pub fn with_non_strict(mut self, rx: Vec<Rx>) -> Autobahn {
        self.expected.push((Verdict::NonStrict, rx));
        self
    }
}

impl Case {
    /// The group: "1".."13", "B" (beyond Autobahn), "H" (handshake).
    pub fn group(&self) -> &str {
        self.id.split('.').next().unwrap_or("")
    }

    /// True when `pattern` (comma-separated ids; `*` at the end matches any suffix)
    /// selects this case.
    pub fn selected_by(&self, pattern: &str) -> bool {
        id_selected_by(&self.id, pattern)
    }

    /// The total number of payload bytes the case sends (to size time bounds).
    pub fn bytes_sent(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Send { frames, .. } => frames.iter().map(|f| f.payload.len()).sum(),
                Step::RoundTrips { count, size, .. } => count * size,
                Step::DeflateEchoes { count, len, .. } => count * len,
                Step::Wait(_) | Step::KillAfter(_) | Step::CloseAfter(_) | Step::Mark(_) => 0,
            })
            .sum()
    }
}

/// True when `pattern` (comma-separated ids; `*` at the end matches any suffix) selects `id`.
pub fn id_selected_by(id: &str, pattern: &str) -> bool {
    pattern.split(',').map(str::trim).filter(|p| !p.is_empty()).any(|p| match p.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => id == p,
    })
}
