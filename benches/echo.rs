//! Server-side echo cost, in memory: rfc6455 next to tungstenite and fastwebsockets.
//!
//! Each implementation plays the server over the same in-memory stream: it reads N masked
//! client messages, decodes them (unmasking, UTF-8 validation for text, reassembly where
//! the crate offers it), and writes each back, then flushes. No syscalls are involved, so
//! what differs is the framing code, the buffering and the allocations. Quote the ratios
//! between rows of one run, not the absolute times: these machines are shared.
//!
//! Run: `cargo bench --bench echo` (add `-- --quick` for a fast pass).

use std::cell::Cell;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rfc6455::frame::{FrameHeader, OpCode, encode_frame};

/// An in-memory stream: reads come from `input`, writes go to `output`. Running out of
/// input is `WouldBlock` (sync) or end of stream (async).
struct Memory {
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
    /// Bytes written in all, readable after the stream was moved into a crate's wrapper.
    written: Rc<Cell<usize>>,
}

impl Memory {
    fn new(input: Vec<u8>) -> (Self, Rc<Cell<usize>>) {
        let written = Rc::new(Cell::new(0));
        let memory =
            Memory { input, pos: 0, output: Vec::with_capacity(1 << 20), written: written.clone() };
        (memory, written)
    }

    fn record(&mut self, buf: &[u8]) {
        self.output.extend_from_slice(buf);
        self.written.set(self.written.get() + buf.len());
    }
}

/// An in-memory stream has no timeouts and no half-close: the driver's defaults.
impl rfc6455::socket::Transport for Memory {}

impl Read for Memory {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.input[self.pos..];
        if rest.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Memory {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.record(buf);
        Ok(buf.len())
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut n = 0;
        for b in bufs {
            self.record(b);
            n += b.len();
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Memory {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let pos = self.pos;
        let n = (self.input.len() - pos).min(buf.remaining());
        buf.put_slice(&self.input[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Memory {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.record(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// `count` masked client frames of `payload`, as a browser would send them.
fn client_stream(opcode: OpCode, payload: &[u8], count: usize) -> Vec<u8> {
    let mut out = BytesMut::new();
    for i in 0..count {
        let key = (i as u32).wrapping_mul(0x9E37_79B9).to_be_bytes();
        let header = FrameHeader::new(true, opcode, Some(key), payload.len() as u64);
        encode_frame(&header, payload, &mut out);
    }
    out.to_vec()
}

fn ours(input: Vec<u8>, count: usize) -> usize {
    use rfc6455::{Config, Role, WebSocket};
    let (memory, written) = Memory::new(input);
    let mut ws = WebSocket::from_raw(memory, Role::Server, Config::default(), BytesMut::new());
    for _ in 0..count {
        let message = ws.read().expect("rfc6455 read");
        ws.write(message).expect("rfc6455 write");
    }
    ws.flush().expect("flush");
    written.get()
}

fn tungstenite(input: Vec<u8>, count: usize) -> usize {
    use tungstenite::protocol::{Role, WebSocket};
    let (memory, written) = Memory::new(input);
    let mut ws = WebSocket::from_raw_socket(memory, Role::Server, None);
    for _ in 0..count {
        let message = ws.read().expect("tungstenite read");
        ws.write(message).expect("tungstenite write");
    }
    ws.flush().expect("flush");
    written.get()
}

fn fastwebsockets(runtime: &tokio::runtime::Runtime, input: Vec<u8>, count: usize) -> usize {
    use fastwebsockets::{FragmentCollector, Frame, Role, WebSocket};
    runtime.block_on(async move {
        let (memory, written) = Memory::new(input);
        let mut raw = WebSocket::after_handshake(memory, Role::Server);
        raw.set_auto_close(true);
        raw.set_auto_pong(true);
        // FragmentCollector gives whole messages with UTF-8 checked, like the others.
        let mut ws = FragmentCollector::new(raw);
        for _ in 0..count {
            let frame = ws.read_frame().await.expect("fastwebsockets read");
            let echo = Frame::new(true, frame.opcode, None, frame.payload);
            ws.write_frame(echo).await.expect("fastwebsockets write");
        }
        written.get()
    })
}

fn bench_case(c: &mut Criterion, name: &str, opcode: OpCode, payload: &[u8], count: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let input = client_stream(opcode, payload, count);
    // All three must produce the same number of bytes: the same frames, echoed unmasked.
    let expected = ours(input.clone(), count);
    assert_eq!(tungstenite(input.clone(), count), expected, "tungstenite output differs");
    assert_eq!(
        fastwebsockets(&runtime, input.clone(), count),
        expected,
        "fastwebsockets output differs"
    );

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function("rfc6455", |b| {
        b.iter_batched(|| input.clone(), |i| black_box(ours(i, count)), BatchSize::LargeInput)
    });
    group.bench_function("tungstenite", |b| {
        b.iter_batched(
            || input.clone(),
            |i| black_box(tungstenite(i, count)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("fastwebsockets", |b| {
        b.iter_batched(
            || input.clone(),
            |i| black_box(fastwebsockets(&runtime, i, count)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn echo(c: &mut Criterion) {
    bench_case(c, "echo_binary_16B_x1000", OpCode::Binary, &[0xAB; 16], 1000);
    let text: String = "WebSocket ☃ κόσμε 𝄞 ".chars().cycle().take(400).collect();
    bench_case(c, "echo_text_1KiB_x200", OpCode::Text, text.as_bytes(), 200);
    let big = vec![0x5A; 1 << 20];
    bench_case(c, "echo_binary_1MiB_x4", OpCode::Binary, &big, 4);
}

criterion_group!(benches, echo);
criterion_main!(benches);
