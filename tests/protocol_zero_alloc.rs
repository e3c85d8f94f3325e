//! Zero allocations per message in steady state, on the echo path of the sans-IO core: a
//! server receives masked client frames (text and binary, small and 64 KiB), validates and
//! unmasks them, echoes each one, and its output is written out, with a counting allocator
//! watching. After a warm-up (buffers reach their working size), a thousand more round trips
//! allocate nothing. The test counts allocations; it never measures time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::IoSlice;

use bytes::BytesMut;
use rfc6455::frame::{FrameHeader, OpCode, encode_frame};
use rfc6455::{Config, Connection, Role};

/// Counts this thread's allocations (other test threads do not disturb it).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator, whose contract the caller meets.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// One batch of client traffic: what a client sends in one write.
fn batch() -> Vec<u8> {
    let mut wire = BytesMut::new();
    let text = "ascii, ünïcödé, 中文, 😀".repeat(4);
    for (i, (opcode, payload)) in [
        (OpCode::Text, text.as_bytes().to_vec()),
        (OpCode::Binary, vec![7u8; 16]),
        (OpCode::Binary, vec![9u8; 64 * 1024]),
        (OpCode::Text, b"tiny".to_vec()),
    ]
    .into_iter()
    .enumerate()
    {
        let key = [i as u8 + 1, 0x5a, 0xa5, 0x3c];
        let header = FrameHeader::new(true, opcode, Some(key), payload.len() as u64);
        encode_frame(&header, &payload, &mut wire);
    }
    wire.to_vec()
}

/// One round trip: the batch arrives (copied into the read buffer, as a socket read would),
/// every message is echoed, and the output is written out by vectored slices.
fn round_trip(server: &mut Connection, wire: &[u8], sink: &mut u64) -> usize {
    server.read_buf().extend_from_slice(wire);
    let mut echoed = 0;
    while let Some(message) = server.next_event().expect("valid traffic") {
        if message.is_data() {
            server.send(message).expect("fits the budget");
            echoed += 1;
        }
    }
    loop {
        let mut slots = [IoSlice::new(&[]); 16];
        let n = server.output_slices(&mut slots);
        if n == 0 {
            break;
        }
        let written: usize = slots[..n].iter().map(|s| s.len()).sum();
        *sink += slots[..n].iter().map(|s| u64::from(s[0])).sum::<u64>();
        server.advance_output(written);
    }
    echoed
}

#[test]
fn the_echo_path_allocates_nothing_per_message_in_steady_state() {
    let wire = batch();
    let mut server = Connection::new(Role::Server, Config::default());
    let mut sink = 0;
    // Warm-up: the read buffer, the output queue and the decoder reach their working size.
    let start = allocations();
    for _ in 0..100 {
        assert_eq!(round_trip(&mut server, &wire, &mut sink), 4);
    }
    assert!(allocations() > start, "the counter counts (the warm-up allocates)");
    let before = allocations();
    for _ in 0..1000 {
        assert_eq!(round_trip(&mut server, &wire, &mut sink), 4);
    }
    let during = allocations() - before;
    assert_eq!(during, 0, "{during} allocations for 4000 echoed messages");
    assert!(sink > 0);
}

/// An in-memory stream: reads come from `input` (then `WouldBlock`), writes are counted.
struct Memory {
    input: Vec<u8>,
    pos: usize,
    written: u64,
}

impl std::io::Read for Memory {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.input[self.pos..];
        if rest.is_empty() {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl std::io::Write for Memory {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written += buf.len() as u64;
        Ok(buf.len())
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
        let n: usize = bufs.iter().map(|b| b.len()).sum();
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl rfc6455::Transport for Memory {}

#[test]
fn the_std_drivers_echo_loop_allocates_nothing_per_message_in_steady_state() {
    let wire = batch();
    let rounds = 1100;
    let mut input = Vec::with_capacity(wire.len() * rounds);
    for _ in 0..rounds {
        input.extend_from_slice(&wire);
    }
    let memory = Memory { input, pos: 0, written: 0 };
    let mut ws =
        rfc6455::WebSocket::from_raw(memory, Role::Server, Config::default(), BytesMut::new());
    // The model echo loop: `write` per message; `read` flushes before it reads again.
    let echo = |ws: &mut rfc6455::WebSocket<Memory>, messages: usize| {
        for _ in 0..messages {
            let message = ws.read().expect("a message");
            ws.write(message).expect("queued");
        }
    };
    echo(&mut ws, 100 * 4);
    let before = allocations();
    echo(&mut ws, 1000 * 4);
    let during = allocations() - before;
    assert_eq!(during, 0, "{during} allocations for 4000 echoed messages");
    ws.flush().expect("flush");
    assert!(ws.get_ref().written > 0);
}
