//! Memory per connection with permessage-deflate (RFC 7692): the heap a server `Connection`
//! holds once it has sent one compressed message and received one, for windows of 15, 12 and
//! 9 bits, with and without context takeover, at levels 1 and 6, measured by a counting
//! allocator (this thread's live bytes) and printed as the table of `benches/README.md`
//! (`cargo test --release --test deflate_memory -- --nocapture`). The bounds asserted are
//! generous (what zlib-rs allocates, doubled, plus the connection without the extension):
//! they catch a leak or a doubled buffer, not a few KiB; and a smaller window must hold less.

mod heap_peak;

#[path = "../benches/deflate_backends/src/corpus.rs"]
mod corpus;

use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::{Config, Connection, Message, Role};

#[global_allocator]
static GLOBAL: heap_peak::Peak = heap_peak::Peak;

/// The extension as both ends agreed it: `bits` each way, context takeover or not.
fn deflate(bits: u8, takeover: bool, level: u8) -> (DeflateParams, DeflateConfig) {
    let params = DeflateParams {
        server_no_context_takeover: !takeover,
        client_no_context_takeover: !takeover,
        server_max_window_bits: Some(bits),
        client_max_window_bits: Some(bits),
    };
    let config = DeflateConfig {
        level,
        compress_window_bits: bits,
        decompress_window_bits: bits,
        compress_context_takeover: takeover,
        decompress_context_takeover: takeover,
        ..DeflateConfig::default()
    };
    (params, config)
}

/// What a message of the corpus costs: the server's heap once it sent `message` and received
/// it back from a client (both compressed when `extension` is given), and the peak during.
struct Measured {
    held: usize,
    peak: usize,
}

fn measure(extension: Option<(DeflateParams, DeflateConfig)>, message: &'static str) -> Measured {
    // The client's frames are made before the count starts.
    let mut client = Connection::new(Role::Client, Config::default());
    if let Some((params, config)) = &extension {
        client.use_permessage_deflate(*params, config);
    }
    client.send(Message::text(message)).expect("client send");
    let from_client = client.take_output();

    let before = heap_peak::reset_peak();
    let mut server = Connection::new(Role::Server, Config::default());
    if let Some((params, config)) = &extension {
        server.use_permessage_deflate(*params, config);
    }
    server.send(Message::text(message)).expect("server send");
    let written = server.output_len();
    server.advance_output(written);
    server.receive(&from_client);
    match server.next_event().expect("receive") {
        Some(Message::Text(t)) => assert_eq!(t.as_str(), message),
        other => panic!("expected the text back, got {other:?}"),
    }
    let held = heap_peak::live() - before;
    let peak = heap_peak::peak() - before;
    drop(server);
    assert_eq!(heap_peak::live(), before, "the connection freed all it held");
    Measured { held, peak }
}

/// What zlib-rs allocates for a window of 2^`bits` bytes (its `DeflateAllocOffsets` and
/// `InflateAllocOffsets`, with flate2's memLevel 8), states aside: deflate a window of
/// `2 * 2^bits`, `prev` of `2 * 2^bits`, a hash head of 2^16 two-byte entries whatever the
/// window (C zlib: 2^(memLevel+7)), 64 KiB of pending output and 48 KiB of symbol buffer;
/// inflate a window of 2^15 (+ 64 bytes) whatever the window.
fn zlib_rs_estimate(bits: u8) -> usize {
    4 * (1usize << bits) + (128 + 64 + 48) * 1024 + 32 * 1024
}

#[test]
fn heap_per_compressed_connection() {
    // `'static`, so that sending it allocates nothing the count would see freed.
    let message: &'static str = corpus::message(0, 1024).leak();
    let plain = measure(None, message);
    println!("\nheap of a server Connection after it sent and received one 1 KiB text message");
    println!("(JSON-like corpus), counting allocator; plain (no extension): {} B\n", plain.held);
    println!(
        "| window bits | context takeover | level | held KiB | of which deflate KiB | peak KiB |"
    );
    println!("|---:|---|---:|---:|---:|---:|");
    let mut by_bits = Vec::new();
    for bits in [15u8, 12, 9] {
        for takeover in [true, false] {
            for level in [1u8, 6] {
                let m = measure(Some(deflate(bits, takeover, level)), message);
                let extension = m.held.saturating_sub(plain.held);
                println!(
                    "| {bits} | {} | {level} | {:.1} | {:.1} | {:.1} |",
                    if takeover { "on" } else { "off" },
                    m.held as f64 / 1024.0,
                    extension as f64 / 1024.0,
                    m.peak as f64 / 1024.0,
                );
                by_bits.push((bits, takeover, level, m.held));
            }
        }
    }
    println!();
    for &(bits, takeover, level, held) in &by_bits {
        let bound = 2 * zlib_rs_estimate(bits) + plain.held;
        assert!(
            held <= bound,
            "{bits} bits, takeover {takeover}, level {level}: {held} B held, bound {bound}"
        );
        assert!(held > plain.held, "the extension holds its state");
    }
    // A smaller window is what saves memory (`DeflateConfig`'s documentation).
    let held = |b: u8| by_bits.iter().filter(move |m| m.0 == b).map(|m| m.3);
    assert!(held(9).max() < held(12).min() && held(12).max() < held(15).min(), "{by_bits:?}");
}
