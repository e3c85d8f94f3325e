//! The driver under a hostile schedule: both ends of a client/server pair run over an
//! in-memory pipe whose every read and write may, as proptest decides, be short, return
//! `WouldBlock`, or be `Interrupted`, and whose buffers are small enough to push back. For any
//! schedule the opening handshake (§4), the messages (fragmented too, §5.4), Pings (§5.5.2)
//! and the close handshake (§7.1.2) complete, with exactly the messages sent, in order,
//! nothing duplicated or lost.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

use bytes::Bytes;
use proptest::prelude::*;
use rfc6455::frame::OpCode;
use rfc6455::handshake::{Accept, ClientRequest};
use rfc6455::socket::{ClientHandshake, Handshaking, ServerHandshake};
use rfc6455::{CloseCode, Error, Message, Settings, Transport, WebSocket};

/// What the schedule makes of one read or write call.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Move at most this many bytes.
    Short(usize),
    /// Move as much as fits.
    Full,
    WouldBlock,
    Interrupted,
}

/// A schedule: any steps, ending in one that moves bytes, so that every cycle through it
/// makes progress.
fn schedule() -> impl Strategy<Value = Vec<Step>> {
    let moving = prop_oneof![(1usize..64).prop_map(Step::Short), Just(Step::Full)];
    (proptest::collection::vec(step(), 0..31), moving).prop_map(|(mut steps, last)| {
        steps.push(last);
        steps
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1usize..64).prop_map(Step::Short),
        3 => Just(Step::Full),
        2 => Just(Step::WouldBlock),
        1 => Just(Step::Interrupted),
    ]
}

/// One direction of the pipe: bytes in flight, a capacity, and whether the writer shut down.
#[derive(Debug, Default)]
struct Lane {
    bytes: VecDeque<u8>,
    shut: bool,
}

/// Most bytes one direction holds: writes beyond it would block (backpressure).
const LANE_CAPACITY: usize = 4096;

/// A cycle of steps; each direction of each stream has its own, so that no alignment of
/// reads and writes can starve one of them forever.
#[derive(Debug)]
struct Cycle {
    steps: Vec<Step>,
    next: usize,
}

impl Cycle {
    fn new(steps: Vec<Step>) -> Self {
        Cycle { steps, next: 0 }
    }

    fn step(&mut self) -> Step {
        let step = self.steps[self.next % self.steps.len()];
        self.next += 1;
        step
    }
}

#[derive(Debug)]
struct ChaosStream {
    inbox: Rc<RefCell<Lane>>,
    outbox: Rc<RefCell<Lane>>,
    reads: Cycle,
    writes: Cycle,
}

impl Read for ChaosStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let limit = match self.reads.step() {
            Step::WouldBlock => return Err(io::ErrorKind::WouldBlock.into()),
            Step::Interrupted => return Err(io::ErrorKind::Interrupted.into()),
            Step::Short(n) => n,
            Step::Full => usize::MAX,
        };
        let mut lane = self.inbox.borrow_mut();
        if lane.bytes.is_empty() {
            return if lane.shut { Ok(0) } else { Err(io::ErrorKind::WouldBlock.into()) };
        }
        let n = buf.len().min(limit).min(lane.bytes.len());
        for (slot, byte) in buf.iter_mut().zip(lane.bytes.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for ChaosStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let limit = match self.writes.step() {
            Step::WouldBlock => return Err(io::ErrorKind::WouldBlock.into()),
            Step::Interrupted => return Err(io::ErrorKind::Interrupted.into()),
            Step::Short(n) => n,
            Step::Full => usize::MAX,
        };
        let mut lane = self.outbox.borrow_mut();
        assert!(!lane.shut, "a write after our own shutdown");
        let room = LANE_CAPACITY - lane.bytes.len();
        if room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(limit).min(room);
        lane.bytes.extend(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for ChaosStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.outbox.borrow_mut().shut = true;
        Ok(())
    }
}

/// What the client sends, in order.
#[derive(Debug, Clone)]
enum Send {
    Whole(Message),
    /// A message in these fragments (text fragments split anywhere, code points included).
    Fragments {
        text: bool,
        pieces: Vec<Vec<u8>>,
    },
    Ping(Vec<u8>),
}

fn send() -> impl Strategy<Value = Send> {
    let text = "[a-zé€😀 ]{0,40}";
    prop_oneof![
        3 => text.prop_map(|t| Send::Whole(Message::text(t))),
        2 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| Send::Whole(Message::binary(b))),
        2 => (text, proptest::collection::vec(0usize..40, 1..5)).prop_map(|(t, cuts)| {
            let bytes = t.into_bytes();
            let mut pieces = Vec::new();
            let mut at = 0;
            for cut in cuts {
                let end = (at + cut).min(bytes.len());
                pieces.push(bytes[at..end].to_vec());
                at = end;
            }
            pieces.push(bytes[at..].to_vec());
            Send::Fragments { text: true, pieces }
        }),
        1 => proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 1..5)
            .prop_map(|pieces| Send::Fragments { text: false, pieces }),
        1 => proptest::collection::vec(any::<u8>(), 0..125).prop_map(Send::Ping),
    ]
}

/// The message a `Send` delivers, if it is a data message.
fn delivered(send: &Send) -> Option<Message> {
    match send {
        Send::Whole(m) => Some(m.clone()),
        Send::Fragments { text, pieces } => {
            let all: Vec<u8> = pieces.concat();
            Some(if *text {
                Message::text(String::from_utf8(all).expect("text"))
            } else {
                Message::binary(all)
            })
        }
        Send::Ping(_) => None,
    }
}

/// Queue one `Send` on the client (fragments with `send_fragment`).
fn queue(ws: &mut WebSocket<ChaosStream>, item: &Send) {
    match item {
        Send::Whole(m) => ws.write(m.clone()).expect("queue"),
        Send::Ping(p) => ws.write(Message::Ping(Bytes::from(p.clone()))).expect("queue ping"),
        Send::Fragments { text, pieces } => {
            let first = if *text { OpCode::Text } else { OpCode::Binary };
            for (i, piece) in pieces.iter().enumerate() {
                let opcode = if i == 0 { first } else { OpCode::Continuation };
                let fin = i + 1 == pieces.len();
                ws.send_fragment(opcode, Bytes::from(piece.clone()), fin).expect("fragment");
            }
        }
    }
}

/// Most steps one run may take before it counts as a hang.
const MAX_STEPS: usize = 1_000_000;

fn would_block(e: &Error) -> bool {
    e.is_would_block()
}

/// The four schedules: the client's reads and writes, the server's reads and writes.
type Schedules = [Vec<Step>; 4];

fn run(sends: Vec<Send>, schedules: Schedules) {
    let [client_reads, client_writes, server_reads, server_writes] = schedules;
    let up = Rc::new(RefCell::new(Lane::default()));
    let down = Rc::new(RefCell::new(Lane::default()));
    let client_stream = ChaosStream {
        inbox: Rc::clone(&down),
        outbox: Rc::clone(&up),
        reads: Cycle::new(client_reads),
        writes: Cycle::new(client_writes),
    };
    let server_stream = ChaosStream {
        inbox: up,
        outbox: down,
        reads: Cycle::new(server_reads),
        writes: Cycle::new(server_writes),
    };

    // The opening handshake, both sides resumed in turn.
    let request = ClientRequest::new("ws://chaos.test/").expect("url");
    let mut client_hs = Some(ClientHandshake::new(client_stream, &request, Settings::default()));
    let mut server_hs =
        Some(ServerHandshake::new(server_stream, Settings::default(), |_| Ok(Accept::new())));
    let (mut client, mut server) = (None, None);
    let mut steps = 0;
    while client.is_none() || server.is_none() {
        steps += 1;
        assert!(steps < MAX_STEPS, "the handshake never completed");
        if let Some(hs) = server_hs.take() {
            match hs.resume() {
                Ok(ws) => server = Some(ws),
                Err(Handshaking::WouldBlock(hs)) => server_hs = Some(hs),
                Err(Handshaking::Failed(e)) => panic!("server handshake: {e}"),
            }
        }
        if let Some(hs) = client_hs.take() {
            match hs.resume() {
                Ok((ws, _)) => client = Some(ws),
                Err(Handshaking::WouldBlock(hs)) => client_hs = Some(hs),
                Err(Handshaking::Failed(e)) => panic!("client handshake: {e}"),
            }
        }
    }
    let (mut client, mut server) = (client.expect("client"), server.expect("server"));

    let expected: Vec<Message> = sends.iter().filter_map(delivered).collect();
    let pings: Vec<Bytes> = sends
        .iter()
        .filter_map(|s| match s {
            Send::Ping(p) => Some(Bytes::from(p.clone())),
            _ => None,
        })
        .collect();
    for item in &sends {
        queue(&mut client, item);
    }

    let (mut server_got, mut echoes, mut pongs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut client_closed, mut server_closed, mut close_sent) = (false, false, false);
    while !(client_closed && server_closed) {
        steps += 1;
        assert!(
            steps < MAX_STEPS,
            "stuck: {} of {} echoed, {} received; client {:?} server {:?}",
            echoes.len(),
            expected.len(),
            server_got.len(),
            client.connection().state(),
            server.connection().state(),
        );
        if !client_closed {
            match client.flush() {
                Err(e) if !would_block(&e) => panic!("client flush: {e}"),
                _ => {}
            }
            match client.read() {
                Ok(Message::Pong(p)) => pongs.push(p),
                Ok(Message::Close(_)) => {}
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => echoes.push(m),
                Ok(other) => panic!("client got {other:?}"),
                Err(Error::ConnectionClosed) => client_closed = true,
                Err(e) if would_block(&e) => {}
                Err(e) => panic!("client read: {e}"),
            }
            if !close_sent && echoes.len() == expected.len() && pongs.len() == pings.len() {
                client.close(CloseCode::NORMAL, "done").expect("close");
                close_sent = true;
            }
        }
        if !server_closed {
            match server.read() {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                    server_got.push(m.clone());
                    server.write(m).expect("echo");
                }
                Ok(Message::Ping(_) | Message::Close(_)) => {}
                Ok(other) => panic!("server got {other:?}"),
                Err(Error::ConnectionClosed) => server_closed = true,
                Err(e) if would_block(&e) => {}
                Err(e) => panic!("server read: {e}"),
            }
        }
    }
    assert_eq!(server_got, expected, "what the server received");
    assert_eq!(echoes, expected, "what came back");
    assert_eq!(pongs, pings, "a Pong for each Ping, with its payload (§5.5.3)");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_schedule_delivers_exactly_what_was_sent(
        sends in proptest::collection::vec(send(), 0..24),
        schedules in [schedule(), schedule(), schedule(), schedule()],
    ) {
        run(sends, schedules);
    }
}

#[test]
fn a_schedule_that_always_blocks_once_then_moves_one_byte_still_completes() {
    let schedule = vec![Step::WouldBlock, Step::Interrupted, Step::Short(1)];
    let sends = vec![
        Send::Whole(Message::text("héllo")),
        Send::Ping(b"are you there".to_vec()),
        Send::Fragments { text: true, pieces: vec![b"caf\xc3".to_vec(), b"\xa9".to_vec()] },
        Send::Whole(Message::binary(vec![0u8; 70_000])),
    ];
    run(sends, [schedule.clone(), schedule.clone(), schedule.clone(), schedule]);
}
