//! An arbitrary valid message sequence (text, binary, ping, pong, fragmented messages with
//! control frames between the fragments, a Close at the end) sent by one `Connection` is
//! received unchanged by a `Connection` of the other role, the bytes moved through
//! `take_output` → `receive` in arbitrary chunks; then the receiver's replies (the Pong owed
//! for the last Ping, the Close echo) reach the sender. Both directions.
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rfc6455::frame::OpCode;
use rfc6455::{CloseCode, CloseFrame, Config, Connection, Message, Role, State};

#[derive(Arbitrary, Debug)]
struct Input {
    server_sends: bool,
    items: Vec<Item>,
    close: Option<(u16, String)>,
    chunk_sizes: Vec<u16>,
}

#[derive(Arbitrary, Debug)]
enum Item {
    /// Any message of the crate's `Arbitrary` impl (a Close is skipped: it comes last).
    Message(Message),
    /// A message cut into fragments at the given byte positions (text may be cut inside a
    /// code point), with a Ping sent after fragment `ping_after`.
    Fragmented { text: Option<String>, binary: Vec<u8>, cuts: Vec<u8>, ping_after: Option<u8> },
}

/// A sendable close code for any `u16`: §7.4.1's and the IANA ones, or 3000–4999.
fn sendable(code: u16) -> CloseCode {
    const DEFINED: [u16; 12] =
        [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014];
    if code.is_multiple_of(2) {
        CloseCode(DEFINED[usize::from(code / 2) % DEFINED.len()])
    } else {
        CloseCode(3000 + code % 2000)
    }
}

fn move_bytes(from: &mut Connection, to: &mut Connection, sizes: &[u16], turn: &mut usize) {
    let bytes = from.take_output();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let size = match sizes.get(*turn % sizes.len().max(1)) {
            Some(&n) => usize::from(n).max(1),
            None => rest.len(),
        };
        *turn += 1;
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        to.receive(chunk);
        rest = tail;
    }
}

fn drain(conn: &mut Connection) -> Vec<Message> {
    let mut events = Vec::new();
    loop {
        match conn.next_event() {
            Ok(Some(m)) => events.push(m),
            Ok(None) => return events,
            Err(e) => panic!("{:?} refused a conforming peer's bytes: {e:?}", conn.role()),
        }
    }
}

fuzz_target!(|input: Input| {
    let (sender_role, receiver_role) = if input.server_sends {
        (Role::Server, Role::Client)
    } else {
        (Role::Client, Role::Server)
    };
    let mut sender = Connection::new(sender_role, Config::default());
    let mut receiver = Connection::new(receiver_role, Config::default());
    let mut expected = Vec::new();
    let mut received = Vec::new();
    let mut last_ping: Option<Bytes> = None;
    let mut turn = 0;

    for item in &input.items {
        match item {
            Item::Message(Message::Close(_)) => continue,
            Item::Message(message) => {
                sender.send(message.clone()).expect("an arbitrary Message is sendable");
                if let Message::Ping(p) = message {
                    last_ping = Some(p.clone());
                }
                expected.push(message.clone());
            }
            Item::Fragmented { text, binary, cuts, ping_after } => {
                let (opcode, data): (OpCode, Bytes) = match text {
                    Some(t) => (OpCode::Text, Bytes::from(t.clone())),
                    None => (OpCode::Binary, Bytes::from(binary.clone())),
                };
                let mut points: Vec<usize> =
                    cuts.iter().map(|&c| usize::from(c).min(data.len())).collect();
                points.sort_unstable();
                points.push(data.len());
                let mut start = 0;
                let mut ping = None;
                for (i, &end) in points.iter().enumerate() {
                    let first = i == 0;
                    let fin = i + 1 == points.len();
                    let op = if first { opcode } else { OpCode::Continuation };
                    sender
                        .send_fragment(op, data.slice(start..end), fin)
                        .expect("a valid fragment");
                    start = end;
                    if !fin && ping_after.map(usize::from) == Some(i) {
                        let payload = Bytes::copy_from_slice(&data[..data.len().min(125)]);
                        sender.send(Message::Ping(payload.clone())).expect("a Ping");
                        last_ping = Some(payload.clone());
                        ping = Some(Message::Ping(payload));
                    }
                }
                expected.extend(ping);
                expected.push(match text {
                    Some(t) => Message::text(t.clone()),
                    None => Message::binary(binary.clone()),
                });
            }
        }
        move_bytes(&mut sender, &mut receiver, &input.chunk_sizes, &mut turn);
        received.append(&mut drain(&mut receiver));
    }

    let close = input.close.as_ref().map(|(code, reason)| {
        let mut reason = reason.clone();
        let mut cut = reason.len().min(123);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        CloseFrame::new(sendable(*code), reason)
    });
    sender.close(close.clone()).expect("a valid Close");
    assert_eq!(sender.state(), State::CloseSent);
    expected.push(Message::Close(close.clone()));
    move_bytes(&mut sender, &mut receiver, &input.chunk_sizes, &mut turn);
    received.append(&mut drain(&mut receiver));
    assert_eq!(received, expected, "the receiver saw something else than was sent");
    assert_eq!(receiver.state(), State::Closed);

    // The receiver's replies: Pongs it owed, then its Close echo with the same code.
    move_bytes(&mut receiver, &mut sender, &input.chunk_sizes, &mut turn);
    let replies = drain(&mut sender);
    let (echo, pongs) = replies.split_last().expect("the Close echo");
    assert_eq!(echo, &Message::Close(close.map(|f| CloseFrame::new(f.code, ""))));
    assert!(pongs.iter().all(|m| matches!(m, Message::Pong(_))), "{pongs:?}");
    if let Some(last) = pongs.last() {
        // A Pong "MAY" answer only the most recent Ping (§5.5.3); it carries that Ping's data.
        assert!(expected.contains(&Message::Ping(last.payload().to_vec().into())));
    }
    if last_ping.is_some() {
        assert!(!pongs.is_empty(), "a Ping went unanswered");
    }
    assert_eq!(sender.state(), State::Closed);
    assert!(receiver.should_close_transport());
});
