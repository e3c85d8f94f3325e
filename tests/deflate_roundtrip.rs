//! permessage-deflate round trips (RFC 7692 §7.2): any list of messages sent by a compressing
//! `Connection` is received, whole and in order, by a decompressing one, for every parameter
//! combination the negotiation can agree on (context takeover or not on each side, each
//! window from 8 to 15 bits), any level and threshold, in both directions, whatever the
//! chunks the bytes arrive in. Pings between messages are answered with their payload.

mod common;

use common::{chunks, decode_all};
use proptest::prelude::*;
use proptest::sample::Index;
use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::frame::OpCode;
use rfc6455::{Config, Connection, Message, Role};

fn params() -> impl Strategy<Value = DeflateParams> {
    let bits = prop::option::of(8u8..=15);
    (any::<bool>(), any::<bool>(), bits.clone(), bits).prop_map(|(snct, cnct, sbits, cbits)| {
        DeflateParams {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: sbits,
            client_max_window_bits: cbits,
        }
    })
}

fn config() -> impl Strategy<Value = DeflateConfig> {
    (0u8..=9, prop_oneof![Just(0usize), 0usize..200]).prop_map(|(level, min)| DeflateConfig {
        level,
        min_compress_len: min,
        ..DeflateConfig::default()
    })
}

/// Text and binary payloads that compress (repeats) and that do not (noise), some empty,
/// some larger than a 512-byte window so that small windows are really exercised.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        (prop::collection::vec(any::<u8>(), 1..40), 0usize..3000).prop_map(|(unit, len)| unit
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect()),
    ]
}

#[derive(Debug, Clone)]
enum Item {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => payload().prop_map(|p| Item::Text(String::from_utf8_lossy(&p).into_owned())),
        4 => payload().prop_map(Item::Binary),
        1 => prop::collection::vec(any::<u8>(), 0..=125).prop_map(Item::Ping),
    ]
}

fn message(item: &Item) -> Message {
    match item {
        Item::Text(t) => Message::text(t.clone()),
        Item::Binary(b) => Message::binary(b.clone()),
        Item::Ping(p) => Message::Ping(p.clone().into()),
    }
}

fn round_trip(
    sender_role: Role,
    params: DeflateParams,
    sender_config: DeflateConfig,
    receiver_config: DeflateConfig,
    items: &[Item],
    cuts: &[Index],
) -> Result<(), TestCaseError> {
    let receiver_role = match sender_role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    };
    let mut sender = Connection::new(sender_role, Config::default());
    sender.use_permessage_deflate(params, &sender_config);
    let mut receiver = Connection::new(receiver_role, Config::default());
    receiver.use_permessage_deflate(params, &receiver_config);
    for item in items {
        sender.send(message(item)).expect("send");
    }
    let wire = sender.take_output();
    // RFC 7692 §6: RSV1 only on data frames, and on those only when compressed.
    let mut compressed = 0;
    for frame in decode_all(&wire) {
        if frame.header.rsv1 {
            prop_assert!(!frame.header.opcode.is_control());
            compressed += 1;
        }
    }
    let long = items.iter().filter(|i| match i {
        Item::Text(t) => t.len() >= sender_config.min_compress_len,
        Item::Binary(b) => b.len() >= sender_config.min_compress_len,
        Item::Ping(_) => false,
    });
    prop_assert_eq!(compressed, long.count(), "exactly the messages at the threshold or above");
    let mut received = Vec::new();
    for chunk in chunks(&wire, cuts) {
        receiver.receive(chunk);
        while let Some(message) = receiver.next_event().expect("receive") {
            received.push(message);
        }
    }
    let expected: Vec<Message> = items.iter().map(message).collect();
    prop_assert_eq!(received, expected);
    // Each Ping was answered with its own payload, uncompressed (§5.5.3).
    let pongs: Vec<Vec<u8>> = decode_all(&receiver.take_output())
        .into_iter()
        .map(|f| {
            assert_eq!(f.header.opcode, OpCode::Pong);
            assert!(!f.header.rsv1);
            f.payload.to_vec()
        })
        .collect();
    let pings: Vec<Vec<u8>> = items
        .iter()
        .filter_map(|i| if let Item::Ping(p) = i { Some(p.clone()) } else { None })
        .collect();
    prop_assert_eq!(pongs, pings);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn any_messages_round_trip_for_every_parameter_combination(
        client_sends in any::<bool>(),
        params in params(),
        sender_config in config(),
        receiver_config in config(),
        items in prop::collection::vec(item(), 0..12),
        cuts in prop::collection::vec(any::<Index>(), 0..20),
    ) {
        let role = if client_sends { Role::Client } else { Role::Server };
        round_trip(role, params, sender_config, receiver_config, &items, &cuts)?;
    }
}

#[test]
fn every_window_and_takeover_combination_once() {
    // The exhaustive corner of the property: each window size and takeover setting, both
    // directions, with messages that reach across a small window.
    let text: String = "permessage-deflate ".repeat(200);
    let items = vec![
        Item::Text(text.clone()),
        Item::Binary(text.clone().into_bytes()),
        Item::Ping(b"between".to_vec()),
        Item::Text(text),
    ];
    for bits in 8..=15 {
        for no_takeover in [false, true] {
            let params = DeflateParams {
                server_no_context_takeover: no_takeover,
                client_no_context_takeover: no_takeover,
                server_max_window_bits: Some(bits),
                client_max_window_bits: Some(bits),
            };
            for role in [Role::Client, Role::Server] {
                let config = DeflateConfig::default();
                round_trip(role, params, config, config, &items, &[]).unwrap();
            }
        }
    }
}
