//! The JSON-like corpus of the permessage-deflate benchmarks (shared by
//! `benches/deflate_backends/`, `benches/deflate.rs` and `tests/deflate_memory.rs`).
//!
//! What an API or a trading feed pushes over a WebSocket: each message is an object
//! `{"seq":N,"events":[...]}` holding records with the same keys in the same order (ids,
//! an event type from 8, an ISO timestamp that increases, a user object with a name from 32
//! and a flag, a price and a quantity, a currency, a nested geo object with two 5-decimal
//! floats and a region, a 64-bit hex trace id, a list of 0-3 tags). Repeated keys and
//! vocabularies compress well; the floats, timestamps and trace ids do not. A message is cut
//! at exactly its length (inside a record: nothing here parses it, and the text is ASCII, so
//! any cut is valid UTF-8). Deterministic: a SplitMix64 generator seeded by the message's
//! number.
#![allow(dead_code)]

use std::fmt::Write;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

const EVENTS: [&str; 8] = [
    "order.created",
    "order.filled",
    "order.cancelled",
    "quote.updated",
    "user.login",
    "cart.item_added",
    "payment.captured",
    "shipment.dispatched",
];

const NAMES: [&str; 32] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "uma", "victor", "walter", "xena",
    "yusuf", "zoe", "amara", "bjorn", "chen", "dmitri", "elif", "farah", "goran", "hana", "ines",
];

const CURRENCIES: [&str; 4] = ["EUR", "USD", "GBP", "JPY"];

const REGIONS: [&str; 6] =
    ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "sa-east-1"];

const TAGS: [&str; 10] =
    ["new", "vip", "mobile", "web", "retry", "promo", "bulk", "gift", "express", "beta"];

fn record(rng: &mut Rng, seq: u64, index: u64, out: &mut String) {
    let t = seq * 977 + index * 13 + rng.below(13);
    let user = rng.below(5000);
    let _ = write!(
        out,
        r#"{{"id":{},"type":"{}","ts":"2026-12-01T{:02}:{:02}:{:02}.{:03}Z","user":{{"id":{},"name":"{}_{}","premium":{}}},"price":{}.{:02},"qty":{},"currency":"{}","geo":{{"lat":{:.5},"lon":{:.5},"region":"{}"}},"trace":"{:016x}","tags":["#,
        1_000_000 + seq * 64 + index,
        rng.pick(&EVENTS),
        (t / 3_600_000) % 24,
        (t / 60_000) % 60,
        (t / 1000) % 60,
        t % 1000,
        user,
        NAMES[(user % 32) as usize],
        user / 32,
        rng.below(4) == 0,
        rng.below(2000),
        rng.below(100),
        1 + rng.below(20),
        rng.pick(&CURRENCIES),
        rng.below(180_000_000) as f64 / 1e6 - 90.0,
        rng.below(360_000_000) as f64 / 1e6 - 180.0,
        rng.pick(&REGIONS),
        rng.next(),
    );
    for i in 0..rng.below(4) {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#""{}""#, rng.pick(&TAGS));
    }
    out.push_str("]}");
}

/// Message number `seq`, exactly `len` bytes long.
pub fn message(seq: u64, len: usize) -> String {
    let mut rng = Rng(seq.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x6a09_e667_f3bc_c908);
    let mut out = String::with_capacity(len + 400);
    let _ = write!(out, r#"{{"seq":{seq},"events":["#);
    let mut index = 0;
    while out.len() < len {
        if index > 0 {
            out.push(',');
        }
        record(&mut rng, seq, index, &mut out);
        index += 1;
    }
    out.truncate(len);
    out
}

/// `count` consecutive messages (numbers 0 to `count - 1`) of `len` bytes each.
pub fn messages(count: usize, len: usize) -> Vec<String> {
    (0..count as u64).map(|seq| message(seq, len)).collect()
}
