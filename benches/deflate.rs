//! What permessage-deflate (RFC 7692) costs through the library's own path, next to the same
//! messages sent uncompressed, in one run: quote the ratios between rows of a group.
//!
//! The messages are the JSON-like corpus of `benches/deflate_backends/src/corpus.rs` (objects
//! with repeated keys, ids, timestamps, floats, nested fields), 128 B, 1 KiB, 16 KiB, 256 KiB;
//! each iteration handles 256 messages (128 B, 1 KiB), 16 (16 KiB) or 4 (256 KiB), all
//! different. Rows: `plain` (no extension), `deflate-1` and `deflate-6` (levels 1 and 6,
//! context takeover, window 15: the defaults but the level), `deflate-1-reset` (level 1, no
//! context takeover on either side). No syscalls, no copy to a socket.
//!
//! * `deflate_send/<size>`: a server `Connection` sends the messages as text (compressing
//!   each), then the queued bytes are dropped as if written.
//! * `deflate_receive/<size>`: a server `Connection` is handed a client's masked frames (64 KiB
//!   per `receive`) and reads the messages back: decode, unmask, inflate, UTF-8 check. The
//!   same bytes are replayed every iteration, which a context-takeover stream allows here: the
//!   first message refers to nothing before it, so each replay inflates to the same messages
//!   (checked before measuring).
//!
//! Before measuring, each size prints the bytes on the wire per message (frame headers
//! included) and their ratio to the uncompressed frames.
//!
//! Neither tungstenite 0.30 nor fastwebsockets 0.10 implements permessage-deflate (no such
//! feature; fastwebsockets' docs: "permessage-deflate is not supported yet"), so there is no
//! other crate to compare with here.
//!
//! Run: `cargo bench --bench deflate -- --warm-up-time 1 --measurement-time 2`.

#[path = "deflate_backends/src/corpus.rs"]
mod corpus;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::{Config, Connection, Message, Role, Utf8Bytes};

const SIZES: [(usize, &str); 4] =
    [(128, "128B"), (1024, "1KiB"), (16 * 1024, "16KiB"), (256 * 1024, "256KiB")];

/// What the peer's bytes are handed over in, as a socket read would.
const READ_CHUNK: usize = 64 * 1024;

fn count_for(size: usize) -> usize {
    match size {
        0..=1024 => 256,
        1025..=65536 => 16,
        _ => 4,
    }
}

/// A row: its name and the extension it runs with (`None`: plain).
type Setting = (&'static str, Option<(DeflateParams, DeflateConfig)>);

fn settings() -> [Setting; 4] {
    let level = |level| DeflateConfig { level, ..DeflateConfig::default() };
    let reset = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateParams::default()
    };
    [
        ("plain", None),
        ("deflate-1", Some((DeflateParams::default(), level(1)))),
        ("deflate-6", Some((DeflateParams::default(), level(6)))),
        ("deflate-1-reset", Some((reset, level(1)))),
    ]
}

fn connection(role: Role, setting: &Setting) -> Connection {
    let mut conn = Connection::new(role, Config::default());
    if let Some((params, config)) = &setting.1 {
        conn.use_permessage_deflate(*params, config);
    }
    conn
}

/// The messages as `'static` text, so that cloning one for `send` copies a pointer.
fn texts(size: usize) -> Vec<Utf8Bytes> {
    corpus::messages(count_for(size), size)
        .into_iter()
        .map(|m| Utf8Bytes::from(&*Box::leak(m.into_boxed_str())))
        .collect()
}

/// Drain what `conn` queued; returns its length.
fn drain(conn: &mut Connection) -> usize {
    let len = conn.output_len();
    conn.advance_output(len);
    len
}

fn send(c: &mut Criterion) {
    for (size, name) in SIZES {
        let texts = texts(size);
        let mut group = c.benchmark_group(format!("deflate_send/{name}"));
        group.throughput(Throughput::Bytes((size * texts.len()) as u64));
        if size > 16 * 1024 {
            group.sample_size(20);
        }
        let mut wire = Vec::new();
        for setting in settings() {
            let mut conn = connection(Role::Server, &setting);
            let mut run = || -> usize {
                for text in &texts {
                    conn.send(Message::Text(text.clone())).expect("send");
                }
                drain(&mut conn)
            };
            wire.push((setting.0, run()));
            group.bench_function(setting.0, |b| b.iter(|| black_box(run())));
        }
        print_wire("server sends", name, texts.len(), &wire);
        group.finish();
    }
}

fn receive(c: &mut Criterion) {
    for (size, name) in SIZES {
        let texts = texts(size);
        let expected: usize = texts.iter().map(|t| t.len()).sum();
        let mut group = c.benchmark_group(format!("deflate_receive/{name}"));
        group.throughput(Throughput::Bytes(expected as u64));
        if size > 16 * 1024 {
            group.sample_size(20);
        }
        let mut wire = Vec::new();
        for setting in settings() {
            let mut client = connection(Role::Client, &setting);
            for text in &texts {
                client.send(Message::Text(text.clone())).expect("client send");
            }
            let input = client.take_output();
            wire.push((setting.0, input.len()));
            let mut server = connection(Role::Server, &setting);
            let mut run = |mut keep: Option<&mut Vec<Utf8Bytes>>| -> usize {
                let mut total = 0;
                for read in input.chunks(READ_CHUNK) {
                    server.receive(read);
                    while let Some(message) = server.next_event().expect("receive") {
                        if let Message::Text(text) = message {
                            total += black_box(text.as_str()).len();
                            if let Some(keep) = keep.as_deref_mut() {
                                keep.push(text);
                            }
                        }
                    }
                }
                total
            };
            // Twice: the replay must inflate to the same messages as the first pass.
            for _ in 0..2 {
                let mut received = Vec::with_capacity(texts.len());
                assert_eq!(run(Some(&mut received)), expected, "{}", setting.0);
                assert!(received == texts, "{}", setting.0);
            }
            group.bench_function(setting.0, |b| b.iter(|| black_box(run(None))));
        }
        print_wire("client sends", name, texts.len(), &wire);
        group.finish();
    }
}

fn print_wire(who: &str, name: &str, count: usize, wire: &[(&str, usize)]) {
    let plain = wire[0].1 as f64;
    let cells: Vec<String> = wire
        .iter()
        .map(|(row, bytes)| {
            format!("{row} {:.0} B ({:.3})", *bytes as f64 / count as f64, *bytes as f64 / plain)
        })
        .collect();
    println!("wire bytes per message, {who}, {name}: {}", cells.join(", "));
}

criterion_group!(benches, send, receive);
criterion_main!(benches);
