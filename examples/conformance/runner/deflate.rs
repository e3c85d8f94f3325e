//! Groups 12 and 13 in the runner: our compressed messages, cut into frames as Autobahn
//! cuts them, and the check of each echo.

use std::time::{Duration, Instant};

use super::Session;
use crate::corpus::{Corpus, Slicer};
use crate::model::{BINARY, CONT, FrameSpec, TEXT, Verdict};
use crate::pmce::Agreed;
use crate::wire::{Rng, encode};

/// The permessage-deflate negotiation of a case of groups 12 and 13.
#[derive(Debug)]
pub struct Negotiation {
    /// The agreed parameters (None: the peer declined).
    pub agreed: Option<Agreed>,
    /// What happened, in words (the offers and the answer).
    pub note: String,
}

/// Groups 12 and 13: the echoes of our compressed messages, checked one by one as they
/// arrive (1000 messages of up to 128 KiB are not kept).
#[derive(Debug, Default)]
pub struct StreamObs {
    /// Received data messages are checked here rather than kept in `Observed::msgs`.
    pub active: bool,
    /// The message whose echo is awaited.
    pub expected: Option<(u8, Vec<u8>)>,
    pub sent: usize,
    pub echoed: usize,
    /// The first wrong echo, in words.
    pub mismatch: Option<String>,
    /// Why we stopped before the last message.
    pub stopped: Option<String>,
    /// Payload bytes before and after compression, ours and the peer's.
    pub app_out: u64,
    pub wire_out: u64,
    pub frames_out: u64,
    pub peer_compressed: usize,
    pub peer_wire: u64,
}

impl Session {
    /// Groups 12 and 13: compare an echo with the message sent (Autobahn's checks: the
    /// kind, the length, the content).
    pub(super) fn check_echo(&mut self, opcode: u8, data: &[u8]) {
        let st = &mut self.obs.stream;
        if st.mismatch.is_some() {
            return;
        }
        let n = st.echoed + 1;
        let kind = |op: u8| if op == TEXT { "text" } else { "binary" };
        match st.expected.take() {
            Some((op, sent)) if op == opcode && sent == data => st.echoed += 1,
            Some((op, _)) if op != opcode => {
                st.mismatch =
                    Some(format!("echo {n} is a {} message, we sent {}", kind(opcode), kind(op)))
            }
            Some((_, sent)) if sent.len() != data.len() => {
                st.mismatch =
                    Some(format!("echo {n} has {} bytes, we sent {}", data.len(), sent.len()))
            }
            Some((_, sent)) => {
                let at = sent.iter().zip(data).position(|(a, b)| a != b).unwrap_or(0);
                st.mismatch = Some(format!("echo {n} differs from what we sent from byte {at} on"))
            }
            None => {
                st.mismatch = Some(format!(
                    "a message of {} bytes we did not send (after {} echoes)",
                    data.len(),
                    st.echoed
                ))
            }
        }
    }

    /// Groups 12 and 13 (Autobahn's `sendOne` / `onMessage`): send `count` compressed
    /// messages, each once the previous one's echo has arrived, until the echoes are done,
    /// one is wrong, or the connection is no longer open (the peer closed, or the case's
    /// `closeAfter` fired: Autobahn's only time bound). Without the extension, nothing is
    /// sent: UNIMPLEMENTED, and Autobahn closes at once. Returns false when the case stops.
    pub(super) fn send_compressed(
        &mut self,
        corpus: Corpus,
        len: usize,
        count: usize,
        frag: usize,
    ) -> bool {
        if self.pmce.is_none() {
            self.wire.log.push("·", "permessage-deflate not agreed: nothing to send".into());
            let note = self.obs.negotiation.as_ref().map(|n| n.note.clone()).unwrap_or_default();
            self.ab_stream_outcome(Verdict::Unimplemented, note);
            return true;
        }
        let data = match corpus.load() {
            Ok(d) => d,
            Err(e) => {
                self.obs.stream.stopped = Some(e);
                return true;
            }
        };
        let mut slicer = Slicer::new(data);
        let opcode = if corpus.binary() { BINARY } else { TEXT };
        self.obs.stream.active = true;
        self.wire.log.push(
            "·",
            format!("sending {count} compressed messages of {len} units of {} ({}), one per echo, frames of {frag} octets", corpus.file(), data.source),
        );
        // The next message is compressed while the peer works on the previous one (it
        // depends on nothing the echo brings).
        let mut next = Some(self.prepare(&mut slicer, len, opcode, frag));
        for i in 0..count {
            let Some((msg, bytes, wire_len, frames)) = next.take() else { break };
            let st = &mut self.obs.stream;
            st.app_out += msg.len() as u64;
            st.wire_out += wire_len;
            st.frames_out += frames;
            st.expected = Some((opcode, msg));
            st.sent += 1;
            if !self.write(&bytes) {
                self.obs.stream.stopped =
                    Some(format!("the connection ended before message {} could be sent", i + 1));
                self.stop_sending();
                return false;
            }
            if i + 1 < count {
                next = Some(self.prepare(&mut slicer, len, opcode, frag));
            }
            let want = i + 1;
            let far = Instant::now() + Duration::from_secs(24 * 3600);
            self.pump_until(far, |o| {
                o.stream.echoed >= want
                    || o.stream.mismatch.is_some()
                    || o.peer_ended()
                    || o.ab.as_ref().is_some_and(|a| !a.open())
            });
            if let Some(m) = &self.obs.stream.mismatch {
                let why = m.clone();
                self.ab_stream_outcome(Verdict::Failed, why);
                return true;
            }
            if self.obs.stream.echoed < want {
                let why = if self.obs.peer_ended() {
                    "the peer ended the connection".to_string()
                } else {
                    "the case's closeAfter fired".to_string()
                };
                self.obs.stream.stopped =
                    Some(format!("{why} (waiting for the echo of message {want})"));
                return true;
            }
        }
        self.ab_stream_outcome(Verdict::Ok, "Ok, received all echo'ed messages in time.".into());
        true
    }
}

impl Session {
    /// The next message: its data, its frames' bytes, its compressed size, its frame count.
    fn prepare(
        &mut self,
        slicer: &mut Slicer,
        len: usize,
        opcode: u8,
        frag: usize,
    ) -> (Vec<u8>, Vec<u8>, u64, u64) {
        let msg = slicer.next_message(len);
        let payload = self.pmce.as_mut().map(|p| p.compress(&msg)).unwrap_or_default();
        let client = self.wire.we_are_client;
        let (bytes, frames) = autofragment(opcode, &payload, frag, client, &mut self.wire.rng);
        (msg, bytes, payload.len() as u64, frames)
    }
}

/// One compressed message in frames as Autobahn's `sendMessageHybi` cuts it: one frame
/// when `frag` is 0 or the payload fits; else frames of `frag` bytes, and when the payload
/// is an exact multiple of `frag`, a last empty frame carries FIN. RSV1 on the first only.
fn autofragment(
    opcode: u8,
    payload: &[u8],
    frag: usize,
    client: bool,
    rng: &mut Rng,
) -> (Vec<u8>, u64) {
    let mut out = Vec::with_capacity(payload.len() + 16);
    let mut frames = 0;
    let mut push = |op: u8, fin: bool, rsv: u8, p: &[u8]| {
        let spec = FrameSpec::new(op, p.to_vec()).fin(fin).rsv(rsv);
        out.extend_from_slice(&encode(&spec, client, rng).0);
        frames += 1;
    };
    if frag == 0 || payload.len() <= frag {
        push(opcode, true, 4, payload);
        return (out, frames);
    }
    let mut at = 0;
    loop {
        let end = at + frag;
        let done = end > payload.len();
        let end = end.min(payload.len());
        let (op, rsv) = if at == 0 { (opcode, 4) } else { (CONT, 0) };
        push(op, done, rsv, &payload[at..end]);
        if done {
            break;
        }
        at += frag;
    }
    (out, frames)
}
