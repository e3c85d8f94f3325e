//! The sans-IO connection over a byte stream: what it delivers and what it answers does not
//! depend on how the peer's bytes were cut into reads (TCP gives no message boundaries; §5.2
//! framing is the only boundary there is).
//!
//! * A stream of valid client frames (text, binary, fragmented messages with Pings between
//!   the fragments, Pings, Pongs, and sometimes a final Close), fed to a server in arbitrary
//!   chunks, yields exactly the messages that were sent, in order, and exactly the replies
//!   (a Pong per Ping, the Close echo) that feeding it whole yields.
//! * Arbitrary bytes (raw noise, or frames with arbitrary header bits), fed to a server or a
//!   client in arbitrary chunks, never panic; the events, the error and the replies are the
//!   same for every chunking; a failed connection repeats its error and queues one Close;
//!   and the read buffer never holds more than the bytes actually received.

mod common;

use bytes::Bytes;
use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use rfc6455::frame::{FrameHeader, LengthForm, OpCode};
use rfc6455::{CloseCode, CloseFrame, Config, Connection, Message, ProtocolError, Role};

/// One thing a client sends.
#[derive(Debug, Clone)]
enum Item {
    /// A data message, split at `cuts` (duplicates give empty fragments); before fragment
    /// `i + 1` the Ping `pings[i]`, if any, is injected.
    Data {
        text: bool,
        payload: Vec<u8>,
        cuts: Vec<Index>,
        pings: Vec<Option<Vec<u8>>>,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

fn control_payload() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=125)
}

fn item() -> impl Strategy<Value = Item> {
    let data = (
        any::<bool>(),
        prop_oneof![
            8 => prop::collection::vec(any::<u8>(), 0..200),
            1 => prop::collection::vec(any::<u8>(), 126..3000),
        ],
        "\\PC{0,60}",
        prop::collection::vec(any::<Index>(), 0..6),
        prop::collection::vec(proptest::option::of(control_payload()), 0..6),
    )
        .prop_map(|(text, bytes, string, cuts, pings)| Item::Data {
            text,
            payload: if text { string.into_bytes() } else { bytes },
            cuts,
            pings,
        });
    prop_oneof![
        6 => data,
        2 => control_payload().prop_map(Item::Ping),
        1 => control_payload().prop_map(Item::Pong),
    ]
}

/// A frame queued for the peer: (fin, opcode, payload).
type Reply = (bool, OpCode, Vec<u8>);

/// What a server run produced.
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<Message>,
    error: Option<ProtocolError>,
    /// Every frame queued for the peer: (fin, opcode, payload).
    replies: Vec<Reply>,
}

/// A cheap deterministic key stream, so every frame gets its own masking key.
fn key(seed: u64, i: usize) -> [u8; 4] {
    let mut x = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    (x as u32).to_be_bytes()
}

/// Encode the items as a client would; return the bytes, the messages the server must
/// deliver, and the replies it must queue.
fn encode(items: &[Item], close: Option<u16>, seed: u64) -> (Vec<u8>, Vec<Message>, Vec<Reply>) {
    let mut bytes = Vec::new();
    let mut events = Vec::new();
    let mut replies = Vec::new();
    let mut n = 0;
    let mut frame = |bytes: &mut Vec<u8>, fin: bool, opcode: OpCode, payload: &[u8]| {
        bytes.extend(client_frame_with_key(fin, opcode, key(seed, n), payload));
        n += 1;
    };
    for item in items {
        match item {
            Item::Ping(p) => {
                frame(&mut bytes, true, OpCode::Ping, p);
                events.push(Message::Ping(Bytes::from(p.clone())));
                replies.push((true, OpCode::Pong, p.clone()));
            }
            Item::Pong(p) => {
                frame(&mut bytes, true, OpCode::Pong, p);
                events.push(Message::Pong(Bytes::from(p.clone())));
            }
            Item::Data { text, payload, cuts, pings } => {
                // Any byte position, even inside a code point of a text message.
                let mut bounds: Vec<usize> =
                    cuts.iter().map(|c| c.index(payload.len() + 1)).collect();
                bounds.sort_unstable();
                bounds.insert(0, 0);
                bounds.push(payload.len());
                let last = bounds.len() - 2;
                for (i, pair) in bounds.windows(2).enumerate() {
                    if i > 0
                        && let Some(Some(p)) = pings.get(i - 1)
                    {
                        frame(&mut bytes, true, OpCode::Ping, p);
                        events.push(Message::Ping(Bytes::from(p.clone())));
                        replies.push((true, OpCode::Pong, p.clone()));
                    }
                    let opcode = match (i, text) {
                        (0, true) => OpCode::Text,
                        (0, false) => OpCode::Binary,
                        _ => OpCode::Continuation,
                    };
                    frame(&mut bytes, i == last, opcode, &payload[pair[0]..pair[1]]);
                }
                events.push(if *text {
                    Message::text(String::from_utf8(payload.clone()).unwrap())
                } else {
                    Message::binary(payload.clone())
                });
            }
        }
    }
    if let Some(code) = close {
        let body = close_payload(code, b"done");
        frame(&mut bytes, true, OpCode::Close, &body);
        events.push(Message::Close(Some(CloseFrame::new(CloseCode(code), "done"))));
        replies.push((true, OpCode::Close, close_payload(code, b"")));
    }
    (bytes, events, replies)
}

/// Feed the chunks one by one, draining events (and taking the output after each event, so
/// that each Ping is answered before the next is read). Checks the per-step invariants.
fn run(role: Role, config: Config, chunks: &[&[u8]]) -> Outcome {
    let mut conn = Connection::new(role, config);
    let mut outcome = Outcome { events: Vec::new(), error: None, replies: Vec::new() };
    let mut fed = 0usize;
    let take = |conn: &mut Connection, replies: &mut Vec<Reply>| {
        let out = conn.take_output();
        for frame in decode_all(&out) {
            // §5.1: a client masks everything, a server nothing.
            assert_eq!(frame.header.is_masked(), role == Role::Client);
            replies.push((frame.header.fin, frame.header.opcode, frame.payload.to_vec()));
        }
    };
    for chunk in chunks {
        conn.receive(chunk);
        fed += chunk.len();
        loop {
            match conn.next_event() {
                Ok(Some(message)) => {
                    outcome.events.push(message);
                    take(&mut conn, &mut outcome.replies);
                }
                Ok(None) => break,
                Err(error) => {
                    match &outcome.error {
                        // Every later call repeats the same error.
                        Some(first) => assert_eq!(first, &error),
                        None => outcome.error = Some(error),
                    }
                    take(&mut conn, &mut outcome.replies);
                    break;
                }
            }
        }
        // The connection holds no more than what was received, and did not reserve a
        // declared length (BytesMut may round its growth up to double).
        assert!(conn.read_buf().len() <= fed);
        assert!(
            conn.read_buf().capacity() <= 2 * fed + 4096,
            "capacity {} after {fed} bytes",
            conn.read_buf().capacity()
        );
    }
    take(&mut conn, &mut outcome.replies);
    outcome
}

fn chunking() -> impl Strategy<Value = Vec<Index>> {
    prop::collection::vec(any::<Index>(), 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_client_frames_in_any_chunks_give_the_same_messages_and_replies(
        items in prop::collection::vec(item(), 0..8),
        close in proptest::option::of(prop_oneof![Just(1000u16), Just(1001), Just(4000)]),
        seed in any::<u64>(),
        cuts in chunking(),
        step in 1usize..16,
    ) {
        let (bytes, events, replies) = encode(&items, close, seed);
        let expected = Outcome { events, error: None, replies };

        let whole = run(Role::Server, Config::default(), &[&bytes]);
        prop_assert_eq!(&whole, &expected);

        let random = run(Role::Server, Config::default(), &chunks(&bytes, &cuts));
        prop_assert_eq!(&random, &expected);

        let fixed: Vec<&[u8]> = bytes.chunks(step).collect();
        let fixed = run(Role::Server, Config::default(), &fixed);
        prop_assert_eq!(&fixed, &expected);
    }
}

/// Frames with arbitrary header bits (any opcode, RSV bits, mask or not, any length form)
/// and short payloads: most streams break a rule somewhere, at a random place.
fn wild_frames() -> impl Strategy<Value = Vec<u8>> {
    let frame = (
        any::<[bool; 4]>(),
        0u8..16,
        proptest::option::of(any::<[u8; 4]>()),
        prop::collection::vec(any::<u8>(), 0..140),
        prop_oneof![
            8 => Just(None),
            1 => Just(Some(LengthForm::Extended16)),
            1 => Just(Some(LengthForm::Extended64)),
        ],
    )
        .prop_map(|([fin, rsv1, rsv2, rsv3], opcode, key, payload, form)| {
            let mut header =
                FrameHeader::new(fin, OpCode::from_u4(opcode), key, payload.len() as u64);
            header.rsv1 = rsv1 && rsv2 && rsv3; // rarely set, so later rules get exercised
            if let Some(form) = form {
                header.length_form = form;
            }
            raw(header, &payload)
        });
    prop::collection::vec(frame, 0..12).prop_map(|frames| frames.concat())
}

fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        wild_frames(),
        // Valid-looking client frames followed by noise.
        (wild_frames(), prop::collection::vec(any::<u8>(), 0..50)).prop_map(|(mut a, b)| {
            a.extend(b);
            a
        }),
    ]
}

fn small_config() -> impl Strategy<Value = Config> {
    (
        prop_oneof![Just(16usize), Just(200), Just(16 << 20)],
        prop_oneof![Just(32usize), Just(64 << 20)],
        prop_oneof![Just(2usize), Just(65_536)],
    )
        .prop_map(|(max_frame_size, max_message_size, max_fragments)| Config {
            max_frame_size,
            max_message_size,
            max_fragments,
            ..Config::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_in_any_chunks_never_panic_and_do_not_depend_on_chunking(
        bytes in any_bytes(),
        client in any::<bool>(),
        config in small_config(),
        cuts in chunking(),
    ) {
        let role = if client { Role::Client } else { Role::Server };
        let whole = run(role, config, &[&bytes]);
        let chunked = run(role, config, &chunks(&bytes, &cuts));
        prop_assert_eq!(&chunked, &whole);
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        let bytewise = run(role, config, &bytewise);
        prop_assert_eq!(&bytewise, &whole);

        if let Some(error) = &whole.error {
            // Failing the connection queues exactly one Close, with the error's code.
            let closes: Vec<&Reply> = whole
                .replies
                .iter()
                .filter(|(_, op, _)| *op == OpCode::Close)
                .collect();
            let received_close = whole.events.iter().any(|m| matches!(m, Message::Close(_)));
            prop_assert!(!received_close, "nothing is read after a Close");
            prop_assert_eq!(closes.len(), 1);
            let body = &closes[0].2;
            prop_assert!(body.len() >= 2);
            prop_assert_eq!(
                CloseCode(u16::from_be_bytes([body[0], body[1]])),
                error.close_code()
            );
            prop_assert_eq!(whole.replies.last().map(|r| r.1), Some(OpCode::Close));
        }
    }
}
