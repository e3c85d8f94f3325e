//! The outgoing byte queue: what the connection has encoded and the caller has not yet
//! written.
//!
//! Small things (headers, control frames, masked client payloads) are appended to one
//! reusable `staging` buffer. A large unmasked payload (a server's) is not copied: the queue
//! records it as a part of its own, by reference, between two runs of staging bytes, so one
//! vectored write sends header and payload straight from the application's buffer. The
//! staging buffer is never split, so once it has reached its working size the queue
//! allocates nothing.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Payloads at least this long are queued by reference instead of copied.
const ZERO_COPY_MIN: usize = 8 * 1024;

/// One run of the queue, in order.
#[derive(Debug)]
enum Part {
    /// The next this many bytes of `staging`.
    Staged(usize),
    /// A payload queued by reference.
    Shared(Bytes),
}

#[derive(Debug, Default)]
pub(crate) struct Output {
    /// The queue, in order.
    parts: VecDeque<Part>,
    /// The bytes of every `Part::Staged`, in order; written ones are advanced past.
    staging: BytesMut,
    /// Total unwritten bytes.
    len: usize,
}

impl Output {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The staging buffer, for encoders that write in place; call [`Output::grew`] after.
    pub(crate) fn staging(&mut self) -> &mut BytesMut {
        &mut self.staging
    }

    /// Account for `n` bytes appended to the staging buffer.
    pub(crate) fn grew(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.len += n;
        match self.parts.back_mut() {
            Some(Part::Staged(run)) => *run += n,
            _ => self.parts.push_back(Part::Staged(n)),
        }
    }

    /// Append a payload, by reference when it is large enough to be worth a part of its own.
    pub(crate) fn push_payload(&mut self, payload: &Bytes) {
        if payload.len() >= ZERO_COPY_MIN {
            self.len += payload.len();
            self.parts.push_back(Part::Shared(payload.clone()));
        } else {
            self.staging.extend_from_slice(payload);
            self.grew(payload.len());
        }
    }

    /// Fill `dst` with the unwritten bytes in order; returns how many slices were filled.
    pub(crate) fn slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut staged: &[u8] = &self.staging;
        let mut n = 0;
        for (slot, part) in dst.iter_mut().zip(&self.parts) {
            let bytes = match part {
                Part::Staged(run) => {
                    let (run, rest) = staged.split_at((*run).min(staged.len()));
                    staged = rest;
                    run
                }
                Part::Shared(payload) => &payload[..],
            };
            *slot = IoSlice::new(bytes);
            n += 1;
        }
        n
    }

    /// Drop the first `n` bytes (they were written).
    pub(crate) fn advance(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.parts.front_mut() else {
                break;
            };
            match front {
                Part::Staged(run) => {
                    let k = (*run).min(n);
                    self.staging.advance(k);
                    *run -= k;
                    n -= k;
                    if *run == 0 {
                        self.parts.pop_front();
                    }
                }
                Part::Shared(payload) => {
                    let k = payload.len().min(n);
                    payload.advance(k);
                    n -= k;
                    if payload.is_empty() {
                        self.parts.pop_front();
                    }
                }
            }
        }
        if self.len == 0 {
            // Reuse the staging allocation from its start.
            self.parts.clear();
            self.staging.clear();
        }
    }

    /// Take the first run of unwritten bytes by reference (no copy of a payload; a run of
    /// staging bytes is split off the staging buffer).
    pub(crate) fn pop_chunk(&mut self) -> Option<Bytes> {
        let chunk = match self.parts.pop_front()? {
            Part::Staged(run) => self.staging.split_to(run).freeze(),
            Part::Shared(payload) => payload,
        };
        self.len -= chunk.len();
        Some(chunk)
    }

    /// The staging buffer, when nothing is queued (for a pool of buffers shared by idle
    /// connections); a fresh empty one takes its place.
    pub(crate) fn take_idle_staging(&mut self) -> Option<BytesMut> {
        if self.len != 0 || self.staging.capacity() == 0 {
            return None;
        }
        self.staging.clear();
        Some(std::mem::take(&mut self.staging))
    }

    /// Use `buf` as the staging buffer, when nothing is queued.
    pub(crate) fn give_staging(&mut self, mut buf: BytesMut) {
        if self.len == 0 {
            buf.clear();
            self.staging = buf;
        }
    }

    /// Take everything as one buffer (copies the payloads; for callers without vectored IO).
    pub(crate) fn take(&mut self) -> BytesMut {
        let mut all = BytesMut::with_capacity(self.len);
        let mut slots = vec![IoSlice::new(&[]); self.parts.len()];
        let n = self.slices(&mut slots);
        for slice in &slots[..n] {
            all.extend_from_slice(slice);
        }
        drop(slots);
        self.parts.clear();
        self.staging.clear();
        self.len = 0;
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_kept_across_segments_and_partial_writes() {
        let mut out = Output::default();
        out.staging().extend_from_slice(b"h1");
        out.grew(2);
        out.push_payload(&Bytes::from(vec![b'a'; 9000]));
        out.staging().extend_from_slice(b"h2");
        out.grew(2);
        out.push_payload(&Bytes::from_static(b"small"));
        assert_eq!(out.len(), 9009);
        let mut expected = b"h1".to_vec();
        expected.extend(vec![b'a'; 9000]);
        expected.extend(b"h2small");
        let mut written = Vec::new();
        while !out.is_empty() {
            let mut slots = [IoSlice::new(&[]); 8];
            let n = out.slices(&mut slots);
            // Write at most 7 bytes per call, to exercise partial advances.
            let mut budget = 7;
            let mut took = 0;
            for slice in &slots[..n] {
                let k = slice.len().min(budget);
                written.extend_from_slice(&slice[..k]);
                budget -= k;
                took += k;
            }
            out.advance(took);
        }
        assert_eq!(written, expected);
    }
}
