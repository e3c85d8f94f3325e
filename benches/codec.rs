//! The codec in isolation, next to fastwebsockets and tungstenite: masking (§5.3), a client
//! encoding masked frames, a server decoding, unmasking and validating text.
//!
//! Sizes 16 B, 125 B (the largest control payload), 1 KiB, 64 KiB, 1 MiB. Each comparison
//! gives every crate the same bytes and asks for the same result; the comments on each
//! group say what each side does. No syscalls: writes go to an in-memory sink. Quote ratios
//! between rows of one run, not absolute times: these machines are shared.
//!
//! Groups (filter with their name):
//! * `mask/<size>`: XOR a buffer in place: `apply_mask` vs `fastwebsockets::unmask` vs the
//!   byte-at-a-time loop of §5.3.
//! * `mask_impl/<len>`: each of our implementations forced at short lengths, which is how
//!   `SIMD_MIN_LEN` was chosen.
//! * `encode_frame/<size>`: one masked client frame into a reused buffer, frame API only.
//! * `client_send/<size>`: client messages through each crate's connection into a sink.
//! * `server_decode/<size>`: masked client text frames in, validated messages out.
//!
//! Run: `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 2` (or add a
//! group name to run one group).

use std::cell::Cell;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rfc6455::frame::{FrameHeader, MaskImpl, OpCode, apply_mask, apply_mask_naive, encode_frame};

const SIZES: [(usize, &str); 5] =
    [(16, "16B"), (125, "125B"), (1024, "1KiB"), (64 * 1024, "64KiB"), (1024 * 1024, "1MiB")];

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// How many messages one iteration of `client_send` / `server_decode` handles: enough that
/// per-iteration setup is small next to the work.
fn count_for(size: usize) -> usize {
    match size {
        0..=1024 => 256,
        1025..=65536 => 8,
        _ => 2,
    }
}

/// Mixed-script UTF-8 of exactly `len` bytes (ASCII padding at the end), so that text
/// validation does real work and not only the ASCII fast path.
fn text_of_len(len: usize) -> String {
    let mut text = String::with_capacity(len);
    for c in "WebSocket ☃ κόσμε 𝄞 ".chars().cycle() {
        if text.len() + c.len_utf8() > len {
            break;
        }
        text.push(c);
    }
    while text.len() < len {
        text.push('.');
    }
    text
}

/// `count` masked client text frames of `payload`, each with its own key.
fn client_frames(payload: &[u8], count: usize) -> Vec<u8> {
    let mut out = BytesMut::new();
    for i in 0..count {
        let key = (i as u32).wrapping_mul(0x9E37_79B9).to_be_bytes();
        let header = FrameHeader::new(true, OpCode::Text, Some(key), payload.len() as u64);
        encode_frame(&header, payload, &mut out);
    }
    out.to_vec()
}

/// An in-memory stream: reads hand out `input` from `pos`, at most `READ_CHUNK` bytes at a
/// time (as a socket would); running out of input is `WouldBlock` (sync) or end of stream
/// (async). Writes are only counted: every crate's bytes stop at the same sink, and no crate
/// pays for copying them into it. `pos` and `written` are shared with the benchmark, so one
/// connection can be fed the same input again in every iteration (steady state: buffers
/// already grown, as on a long-lived connection).
struct Memory {
    input: Rc<[u8]>,
    pos: Rc<Cell<usize>>,
    written: Rc<Cell<usize>>,
}

/// What one read of the in-memory stream returns at most, for every crate alike.
const READ_CHUNK: usize = 64 * 1024;

impl Memory {
    fn new(input: &Rc<[u8]>) -> (Self, Rc<Cell<usize>>, Rc<Cell<usize>>) {
        let (pos, written) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        (Memory { input: input.clone(), pos: pos.clone(), written: written.clone() }, pos, written)
    }

    fn next_read(&self, room: usize) -> &[u8] {
        let pos = self.pos.get();
        let n = (self.input.len() - pos).min(room).min(READ_CHUNK);
        self.pos.set(pos + n);
        &self.input[pos..pos + n]
    }
}

impl rfc6455::socket::Transport for Memory {}

impl Read for Memory {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = self.next_read(buf.len());
        if chunk.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        buf[..chunk.len()].copy_from_slice(chunk);
        Ok(chunk.len())
    }
}

impl Write for Memory {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.set(self.written.get() + buf.len());
        Ok(buf.len())
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = bufs.iter().map(|b| b.len()).sum();
        self.written.set(self.written.get() + n);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Memory {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let chunk = self.next_read(buf.remaining());
        buf.put_slice(chunk);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Memory {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Write::write(self.get_mut(), buf))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Write::write_vectored(self.get_mut(), bufs))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// (a) Masking alone, in place, offset 0, on the same buffer (kept in cache between rounds,
/// since masking twice is the identity):
/// * `rfc6455`: `apply_mask` (the word loop below `SIMD_MIN_LEN`, else AVX-512 / AVX2 /
///   NEON as the CPU has them);
/// * `fastwebsockets`: `fastwebsockets::unmask` (an aligned `u32` loop that the compiler
///   vectorises for the baseline target, SSE2 on x86_64);
/// * `naive`: the byte-at-a-time loop of §5.3 (`apply_mask_naive`).
fn mask(c: &mut Criterion) {
    for (size, name) in SIZES {
        let mut buf: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut group = c.benchmark_group(format!("mask/{name}"));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function("rfc6455", |b| b.iter(|| apply_mask(black_box(&mut buf), KEY, 0)));
        group.bench_function("fastwebsockets", |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut buf), KEY))
        });
        group.bench_function("naive", |b| b.iter(|| apply_mask_naive(black_box(&mut buf), KEY, 0)));
        group.finish();
    }
}

/// Each implementation forced at every length (and `apply_mask`, which picks one). One
/// iteration masks 32 buffers of `len` bytes that start `mis` bytes past a 64-byte boundary
/// (so the time of one call is not lost in the loop's overhead, and no call waits for the
/// previous one's stores). Below `SIMD_MIN_LEN` the word loop must win, or the threshold is
/// wrong.
fn mask_impl(c: &mut Criterion) {
    const BUFS: usize = 32;
    for len in [8usize, 16, 32, 63, 64, 128, 160, 191, 192, 256, 1024, 4096] {
        let stride = len.next_multiple_of(64) + 64;
        let mut room = vec![0u8; BUFS * stride + 64];
        let shift = room.as_ptr().align_offset(64);
        for mis in [0usize, 1] {
            let mut group = c.benchmark_group(format!("mask_impl/{len}/{mis}"));
            group.throughput(Throughput::Bytes((BUFS * len) as u64));
            let arena = &mut room[shift + mis..shift + mis + (BUFS - 1) * stride + len];
            let each = |arena: &mut [u8], f: &dyn Fn(&mut [u8])| {
                for buf in arena.chunks_mut(stride) {
                    f(&mut buf[..len]);
                }
            };
            group.bench_function("apply_mask", |b| {
                b.iter(|| each(black_box(&mut *arena), &|buf| apply_mask(buf, KEY, 0)))
            });
            for imp in MaskImpl::supported() {
                group.bench_function(BenchmarkId::from_parameter(format!("{imp:?}")), |b| {
                    b.iter(|| {
                        each(black_box(&mut *arena), &|buf| {
                            let _ = black_box(imp.apply_mask(buf, KEY, 0));
                        })
                    })
                });
            }
            group.bench_function("fastwebsockets", |b| {
                b.iter(|| each(black_box(&mut *arena), &|buf| fastwebsockets::unmask(buf, KEY)))
            });
            group.finish();
        }
    }
}

/// (b1) One masked client text frame, frame API only, into a reused output buffer, from a
/// payload the caller still owns (so nobody may mask it in place):
/// * `rfc6455`: `encode_frame`: header on the stack, then `extend_masked` (copy and XOR in one
///   pass into the spare capacity);
/// * `rfc6455 copy then mask`: the same header, `extend_from_slice` then `apply_mask` over the
///   copy (two passes: what `extend_masked` replaces);
/// * `fastwebsockets`: `Frame::new(.., Some(key), Payload::Borrowed)`, `mask()` (which copies
///   the borrowed payload into a new `Vec` and XORs it), then `write` into the output `Vec`;
/// * `tungstenite`: `Frame::message` with the key set on its header, then `format` into the
///   output `Vec` (its one public encoder: copies the shared payload into a new `Vec`, XORs,
///   writes header and payload).
///
/// All three produce the same bytes (checked first).
fn encode(c: &mut Criterion) {
    for (size, name) in SIZES {
        let text = text_of_len(size);
        let payload = Bytes::from(text.clone().into_bytes());
        let header = FrameHeader::new(true, OpCode::Text, Some(KEY), size as u64);

        let ours = |out: &mut BytesMut| {
            out.clear();
            encode_frame(&header, &payload, out);
        };
        let ours_two_pass = |out: &mut BytesMut| {
            out.clear();
            let mut head = [0u8; rfc6455::frame::MAX_HEADER_LEN];
            let n = header.encode(&mut head);
            out.extend_from_slice(&head[..n]);
            let start = out.len();
            out.extend_from_slice(&payload);
            apply_mask(&mut out[start..], KEY, 0);
        };
        let fws = |out: &mut Vec<u8>| -> usize {
            use fastwebsockets::{Frame, OpCode, Payload};
            let mut frame =
                Frame::new(true, OpCode::Text, Some(KEY), Payload::Borrowed(&payload[..]));
            frame.mask();
            frame.write(out).len()
        };
        let tung = |out: &mut Vec<u8>| {
            use tungstenite::protocol::frame::Frame;
            use tungstenite::protocol::frame::coding::{Data, OpCode};
            out.clear();
            let mut frame = Frame::message(payload.clone(), OpCode::Data(Data::Text), true);
            frame.header_mut().mask = Some(KEY);
            frame.format(out).expect("tungstenite format");
        };

        // Same bytes from every side.
        let mut expected = BytesMut::new();
        ours(&mut expected);
        let mut two = BytesMut::new();
        ours_two_pass(&mut two);
        assert_eq!(two, expected, "copy-then-mask differs");
        let mut v = Vec::new();
        let n = fws(&mut v);
        assert_eq!(&v[..n], &expected[..], "fastwebsockets frame differs");
        tung(&mut v);
        assert_eq!(&v[..], &expected[..], "tungstenite frame differs");

        let mut group = c.benchmark_group(format!("encode_frame/{name}"));
        group.throughput(Throughput::Bytes(size as u64));
        let mut out = BytesMut::with_capacity(size + 14);
        group.bench_function("rfc6455", |b| b.iter(|| ours(black_box(&mut out))));
        group.bench_function("rfc6455 copy then mask", |b| {
            b.iter(|| ours_two_pass(black_box(&mut out)))
        });
        let mut out = Vec::with_capacity(size + 16);
        group.bench_function("fastwebsockets", |b| b.iter(|| fws(black_box(&mut out))));
        group.bench_function("tungstenite", |b| b.iter(|| tung(black_box(&mut out))));
        group.finish();
    }
}

/// (b2) `count` client text messages (the same `'static` text) through each crate's
/// connection, then a flush, into a sink that counts bytes. One connection per crate serves every iteration (steady state);
/// each crate draws a fresh masking key per frame, as a client must:
/// * `rfc6455`: `WebSocket::from_raw(.., Role::Client, ..)`, `write(Message::Text)` per
///   message (the core queues the header and the masked payload), `flush` (vectored writes);
/// * `tungstenite`: `WebSocket::from_raw_socket(.., Role::Client, None)`, `write` per message
///   (copies then masks into its write buffer), `flush`;
/// * `fastwebsockets`: `WebSocket::after_handshake(.., Role::Client)`, `write_frame` per
///   message with a borrowed payload (copied into a new `Vec` and masked there, then written
///   through its write buffer, or by `writev` above 1 KiB).
///
/// All three write the same number of bytes (checked first).
fn client_send(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let nothing: Rc<[u8]> = Rc::from(Vec::new());
    for (size, name) in SIZES {
        let count = count_for(size);
        // A `'static` payload: cloning the message is then a pointer copy for us and for
        // tungstenite (no reference count to touch), as borrowing is for fastwebsockets, so
        // what is measured is the sending, not the bookkeeping of the application's buffer.
        let text: &'static str = Box::leak(text_of_len(size).into_boxed_str());
        let ours_text = rfc6455::Utf8Bytes::from(text);
        let tung_text = tungstenite::Utf8Bytes::from_static(text);
        let bytes = text.as_bytes();

        let (memory, _, ours_written) = Memory::new(&nothing);
        let mut ours_ws = rfc6455::WebSocket::from_raw(
            memory,
            rfc6455::Role::Client,
            rfc6455::Config::default(),
            BytesMut::new(),
        );
        let mut ours = || -> usize {
            for _ in 0..count {
                ours_ws.write(rfc6455::Message::Text(ours_text.clone())).expect("rfc6455 write");
            }
            ours_ws.flush().expect("rfc6455 flush");
            ours_written.replace(0)
        };
        let (memory, _, tung_written) = Memory::new(&nothing);
        let mut tung_ws = tungstenite::WebSocket::from_raw_socket(
            memory,
            tungstenite::protocol::Role::Client,
            None,
        );
        let mut tung = || -> usize {
            for _ in 0..count {
                tung_ws
                    .write(tungstenite::Message::Text(tung_text.clone()))
                    .expect("tungstenite write");
            }
            tung_ws.flush().expect("tungstenite flush");
            tung_written.replace(0)
        };
        let (memory, _, fws_written) = Memory::new(&nothing);
        let mut fws_ws =
            fastwebsockets::WebSocket::after_handshake(memory, fastwebsockets::Role::Client);
        let mut fws = || -> usize {
            use fastwebsockets::{Frame, OpCode, Payload};
            runtime.block_on(async {
                for _ in 0..count {
                    let frame = Frame::new(true, OpCode::Text, None, Payload::Borrowed(bytes));
                    fws_ws.write_frame(frame).await.expect("fastwebsockets write");
                }
            });
            fws_written.replace(0)
        };

        let expected = ours();
        assert_eq!(tung(), expected, "tungstenite wrote another length");
        assert_eq!(fws(), expected, "fastwebsockets wrote another length");

        let mut group = c.benchmark_group(format!("client_send/{name}"));
        group.throughput(Throughput::Bytes((size * count) as u64));
        group.bench_function("rfc6455", |b| b.iter(|| black_box(ours())));
        group.bench_function("tungstenite", |b| b.iter(|| black_box(tung())));
        group.bench_function("fastwebsockets", |b| b.iter(|| black_box(fws())));
        group.finish();
    }
}

/// (c) A server reads `count` masked client text frames (mixed-script UTF-8) from an
/// in-memory stream that hands out at most 64 KiB per read, and gets each as a validated text
/// message (header parsed and judged, payload unmasked, UTF-8 checked, the message handed
/// out without a copy where the crate can). One connection per crate reads the same input
/// again in every iteration (steady state):
/// * `rfc6455`: the sans-IO core, no driver: `Connection::new(Role::Server, ..)`, `receive`
///   per 64 KiB read, then `next_event` until it needs more bytes;
/// * `tungstenite`: `WebSocket::from_raw_socket(.., Role::Server, None)`, `read` per message;
/// * `fastwebsockets`: `FragmentCollector` over `WebSocket::after_handshake(.., Role::Server)`,
///   `read_frame` per message (it unmasks, and checks UTF-8 with simdutf8, as we do).
///
/// All three hand out the same number of payload bytes (checked first).
fn server_decode(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    for (size, name) in SIZES {
        let count = count_for(size);
        let text = text_of_len(size);
        let input: Rc<[u8]> = Rc::from(client_frames(text.as_bytes(), count));

        let mut conn = rfc6455::Connection::new(rfc6455::Role::Server, rfc6455::Config::default());
        let mut ours = || -> usize {
            let mut total = 0;
            for read in input.chunks(READ_CHUNK) {
                conn.receive(read);
                while let Some(message) = conn.next_event().expect("rfc6455 decode") {
                    if let rfc6455::Message::Text(text) = message {
                        total += black_box(text.as_str()).len();
                    }
                }
            }
            total
        };
        let (memory, tung_pos, _) = Memory::new(&input);
        let mut tung_ws = tungstenite::WebSocket::from_raw_socket(
            memory,
            tungstenite::protocol::Role::Server,
            None,
        );
        let mut tung = || -> usize {
            tung_pos.set(0);
            let mut total = 0;
            for _ in 0..count {
                if let tungstenite::Message::Text(text) = tung_ws.read().expect("tungstenite read")
                {
                    total += black_box(text.as_str()).len();
                }
            }
            total
        };
        let (memory, fws_pos, _) = Memory::new(&input);
        let mut fws_ws = fastwebsockets::FragmentCollector::new(
            fastwebsockets::WebSocket::after_handshake(memory, fastwebsockets::Role::Server),
        );
        let mut fws = || -> usize {
            fws_pos.set(0);
            runtime.block_on(async {
                let mut total = 0;
                for _ in 0..count {
                    let frame = fws_ws.read_frame().await.expect("fastwebsockets read");
                    if frame.opcode == fastwebsockets::OpCode::Text {
                        total += black_box(&frame.payload[..]).len();
                    }
                }
                total
            })
        };

        let expected = size * count;
        assert_eq!(ours(), expected, "rfc6455 decoded another length");
        assert_eq!(tung(), expected, "tungstenite decoded another length");
        assert_eq!(fws(), expected, "fastwebsockets decoded another length");

        let mut group = c.benchmark_group(format!("server_decode/{name}"));
        group.throughput(Throughput::Bytes(expected as u64));
        group.bench_function("rfc6455", |b| b.iter(|| black_box(ours())));
        group.bench_function("tungstenite", |b| b.iter(|| black_box(tung())));
        group.bench_function("fastwebsockets", |b| b.iter(|| black_box(fws())));
        group.finish();
    }
}

criterion_group!(benches, mask, mask_impl, encode, client_send, server_decode);
criterion_main!(benches);
