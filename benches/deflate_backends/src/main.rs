//! flate2's backends on permessage-deflate's work (RFC 7692 §7.2): raw DEFLATE, window 15, a
//! sync flush per message with its `00 00 ff ff` removed (as `src/deflate/codec.rs` does),
//! then inflation with the four octets appended back.
//!
//! `deflate_backends [SECONDS_PER_MEASUREMENT] [REP]` measures the backend it was built with
//! (one of the features `zlib-rs`, `zlib`, `zlib-ng`, `miniz`) and prints one `RESULT` line
//! per cell: message size (128 B, 1 KiB, 16 KiB, 256 KiB of the JSON-like corpus in
//! `corpus.rs`) x level (1, 2, 6) x context (`takeover`: one stream for all the messages;
//! `reset`: the stream reset after each message). `deflate_backends report FILE` reads such
//! lines (several backends, several repetitions) and prints the markdown tables of
//! `benches/README.md`. `deflate_backends memory` prints `MEMORY` lines: the heap a compressor
//! and a decompressor hold after one 1 KiB message, per window (15, 12, 9 bits; miniz: 15
//! only) and level (1, 6), counted by a global allocator (flate2 hands C zlib Rust's
//! allocator too). `run.sh` does all three.
//!
//! Each measurement is a pass over about 1 MiB of messages (at least 4), repeated for the
//! given time (at least 3 passes); the fastest pass is kept (on a shared machine the other
//! passes measure the neighbours too). MB/s are of uncompressed bytes (10^6 bytes per second),
//! for compression and inflation alike. Each backend inflates its own output, checked
//! against the original once.

mod corpus;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

#[cfg(not(any(feature = "zlib-rs", feature = "zlib", feature = "zlib-ng", feature = "miniz")))]
compile_error!("build with exactly one of the features zlib-rs, zlib, zlib-ng, miniz");

const BACKEND: &str = if cfg!(feature = "zlib-rs") {
    "zlib-rs"
} else if cfg!(feature = "zlib-ng") {
    "zlib-ng"
} else if cfg!(feature = "zlib") {
    "zlib"
} else {
    "miniz"
};

const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
const SIZES: [usize; 4] = [128, 1024, 16 * 1024, 256 * 1024];
// Level 2 as well: zlib-rs (like zlib-ng) compresses level 1 with its "quick" strategy
// (static Huffman codes), level 2 with zlib's fast one.
const LEVELS: [u32; 3] = [1, 2, 6];
const WINDOW_BITS: u8 = 15;

/// Live heap bytes, for `memory`.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn compressor(level: u32) -> Compress {
    compressor_bits(level, WINDOW_BITS)
}

fn decompressor() -> Decompress {
    decompressor_bits(WINDOW_BITS)
}

#[cfg(feature = "miniz")]
fn compressor_bits(level: u32, _bits: u8) -> Compress {
    // miniz_oxide has no window setting: always 2^15.
    Compress::new(Compression::new(level), false)
}

#[cfg(not(feature = "miniz"))]
fn compressor_bits(level: u32, bits: u8) -> Compress {
    Compress::new_with_window_bits(Compression::new(level), false, bits)
}

#[cfg(feature = "miniz")]
fn decompressor_bits(_bits: u8) -> Decompress {
    Decompress::new(false)
}

#[cfg(not(feature = "miniz"))]
fn decompressor_bits(bits: u8) -> Decompress {
    Decompress::new_with_window_bits(false, bits)
}

/// The heap a compressor and a decompressor hold once one message went through each.
fn memory() {
    let message = corpus::message(0, 1024);
    let windows: &[u8] = if cfg!(feature = "miniz") { &[15] } else { &[15, 12, 9] };
    let (mut out, mut plain) = (Vec::with_capacity(4096), Vec::with_capacity(4096));
    for &bits in windows {
        for level in [1, 6] {
            let before = LIVE.load(Ordering::Relaxed);
            let mut zlib = compressor_bits(level, bits);
            compress(&mut zlib, message.as_bytes(), &mut out);
            let compress_bytes = LIVE.load(Ordering::Relaxed) - before;
            out.extend_from_slice(&TAIL);
            let before = LIVE.load(Ordering::Relaxed);
            let mut unzlib = decompressor_bits(bits);
            inflate(&mut unzlib, &out, &mut plain);
            let inflate_bytes = LIVE.load(Ordering::Relaxed) - before;
            assert!(plain == message.as_bytes());
            println!(
                "MEMORY backend={BACKEND} bits={bits} level={level} \
                 compress_bytes={compress_bytes} inflate_bytes={inflate_bytes}"
            );
        }
    }
}

/// One message, as `Compressor::compress` does it: sync flush, tail removed.
fn compress(zlib: &mut Compress, payload: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut consumed = 0;
    loop {
        out.reserve(payload.len() - consumed + payload.len() / 1024 + 64);
        let before = zlib.total_in();
        let status = zlib.compress_vec(&payload[consumed..], out, FlushCompress::Sync);
        consumed += (zlib.total_in() - before) as usize;
        assert!(matches!(status, Ok(Status::Ok | Status::BufError)), "{status:?}");
        if consumed == payload.len() && out.len() < out.capacity() {
            break;
        }
    }
    if out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    } else {
        out.push(0);
    }
}

/// One message back: `compressed` already has the tail appended; `out` has room for the
/// message.
fn inflate(zlib: &mut Decompress, compressed: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut consumed = 0;
    while consumed < compressed.len() || out.len() == out.capacity() {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1024));
        }
        let before = zlib.total_in();
        let status = zlib.decompress_vec(&compressed[consumed..], out, FlushDecompress::Sync);
        consumed += (zlib.total_in() - before) as usize;
        assert!(matches!(status, Ok(Status::Ok | Status::BufError)), "{status:?}");
    }
}

/// The fastest of the passes run within `budget` (at least 3).
fn fastest(budget: Duration, mut pass: impl FnMut() -> Duration) -> Duration {
    let start = Instant::now();
    let mut best = Duration::MAX;
    let mut passes = 0;
    while passes < 3 || start.elapsed() < budget {
        best = best.min(pass());
        passes += 1;
    }
    best
}

fn measure(budget: Duration, rep: &str) {
    for size in SIZES {
        let count = ((1 << 20) / size).max(4);
        let messages = corpus::messages(count, size);
        let original = (count * size) as f64;
        for level in LEVELS {
            for takeover in [true, false] {
                // The compressed messages once, for the ratio and for inflation.
                let mut zlib = compressor(level);
                let mut wire: Vec<Vec<u8>> = Vec::with_capacity(count);
                let mut out = Vec::new();
                for m in &messages {
                    compress(&mut zlib, m.as_bytes(), &mut out);
                    let mut frame = out.clone();
                    frame.extend_from_slice(&TAIL);
                    wire.push(frame);
                    if !takeover {
                        zlib.reset();
                    }
                }
                let compressed: usize = wire.iter().map(|w| w.len() - TAIL.len()).sum();
                let mut plain = Vec::with_capacity(size + 64);
                let mut check = decompressor();
                for (w, m) in wire.iter().zip(&messages) {
                    inflate(&mut check, w, &mut plain);
                    assert!(plain == m.as_bytes(), "{BACKEND} round trip");
                    if !takeover {
                        check.reset(false);
                    }
                }

                let compress_time = fastest(budget, || {
                    let mut zlib = compressor(level);
                    let start = Instant::now();
                    for m in &messages {
                        compress(&mut zlib, black_box(m.as_bytes()), &mut out);
                        black_box(&out);
                        if !takeover {
                            zlib.reset();
                        }
                    }
                    start.elapsed()
                });
                let inflate_time = fastest(budget, || {
                    let mut zlib = decompressor();
                    let start = Instant::now();
                    for w in &wire {
                        inflate(&mut zlib, black_box(w), &mut plain);
                        black_box(&plain);
                        if !takeover {
                            zlib.reset(false);
                        }
                    }
                    start.elapsed()
                });
                println!(
                    "RESULT backend={BACKEND} rep={rep} size={size} level={level} context={} \
                     ratio={:.4} compress_mbps={:.1} inflate_mbps={:.1}",
                    if takeover { "takeover" } else { "reset" },
                    compressed as f64 / original,
                    original / compress_time.as_secs_f64() / 1e6,
                    original / inflate_time.as_secs_f64() / 1e6,
                );
            }
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn size_name(size: usize) -> String {
    if size >= 1024 { format!("{} KiB", size / 1024) } else { format!("{size} B") }
}

/// The tables: per cell, each backend's ratio (the same every repetition) and its throughput,
/// zlib-rs's in MB/s and the others' as their throughput over zlib-rs's in the same
/// repetition (median over repetitions); under them, the geometric mean of those ratios.
fn report(path: &str) {
    let text = std::fs::read_to_string(path).expect("results file");
    // (size, level, context) -> backend -> rep -> (ratio, compress, inflate)
    type Cells = BTreeMap<(usize, u32, String), BTreeMap<String, BTreeMap<String, [f64; 3]>>>;
    let mut cells: Cells = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("RESULT ")) {
        let field: BTreeMap<&str, &str> =
            line.split_whitespace().skip(1).filter_map(|kv| kv.split_once('=')).collect();
        let num = |k: &str| field[k].parse::<f64>().expect("number");
        let key = (
            field["size"].parse().expect("size"),
            field["level"].parse().expect("level"),
            field["context"].to_string(),
        );
        cells.entry(key).or_default().entry(field["backend"].to_string()).or_default().insert(
            field["rep"].to_string(),
            [num("ratio"), num("compress_mbps"), num("inflate_mbps")],
        );
    }
    let order = ["zlib-rs", "zlib", "zlib-ng", "miniz"];
    let backends: Vec<&str> =
        order.iter().copied().filter(|b| cells.values().any(|c| c.contains_key(*b))).collect();
    let reference = "zlib-rs";
    let mut sorted: Vec<_> = cells.iter().collect();
    // Level, then context, then size: the rows of one setting together.
    sorted.sort_by_key(|((size, level, context), _)| (*level, context.clone(), *size));
    for (metric, title) in [(0, "compressed / original"), (1, "compress"), (2, "inflate")] {
        let mut head = format!("| {title} | level | context |");
        let mut rule = String::from("|---|---:|---|");
        for b in &backends {
            if metric == 0 || *b == reference {
                head += &format!(" {b}{} |", if metric == 0 { "" } else { " MB/s" });
            } else {
                head += &format!(" {b} / {reference} |");
            }
            rule += "---:|";
        }
        println!("{head}\n{rule}");
        let mut logs: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for ((size, level, context), by_backend) in &sorted {
            let mut row = format!("| {} | {level} | {context} |", size_name(*size));
            for b in &backends {
                let Some(reps) = by_backend.get(*b) else {
                    row += " - |";
                    continue;
                };
                let value = if metric == 0 || *b == reference {
                    median(reps.values().map(|r| r[metric]).collect())
                } else {
                    let Some(base) = by_backend.get(reference) else {
                        row += " - |";
                        continue;
                    };
                    let ratios = reps
                        .iter()
                        .filter_map(|(rep, r)| base.get(rep).map(|z| r[metric] / z[metric]))
                        .collect();
                    let m = median(ratios);
                    logs.entry(b).or_default().push(m.ln());
                    m
                };
                row += &if metric == 0 {
                    format!(" {value:.3} |")
                } else if *b == reference {
                    format!(" {value:.0} |")
                } else {
                    format!(" {value:.2} |")
                };
            }
            println!("{row}");
        }
        if metric != 0 {
            let mut row = String::from("| **geometric mean** | | |");
            for b in &backends {
                match logs.get(b) {
                    Some(l) => {
                        row +=
                            &format!(" **{:.2}** |", (l.iter().sum::<f64>() / l.len() as f64).exp())
                    }
                    None => row += " |",
                }
            }
            println!("{row}");
        }
        println!();
    }
    report_memory(&text);
}

/// The `MEMORY` lines as a table: KiB held by the compressor + the decompressor.
fn report_memory(text: &str) {
    let lines: Vec<BTreeMap<&str, &str>> = text
        .lines()
        .filter(|l| l.starts_with("MEMORY "))
        .map(|l| l.split_whitespace().skip(1).filter_map(|kv| kv.split_once('=')).collect())
        .collect();
    if lines.is_empty() {
        return;
    }
    println!("| heap KiB (compressor + decompressor) | window bits | level | total |");
    println!("|---|---:|---:|---:|");
    for l in lines {
        let kib = |k: &str| l[k].parse::<f64>().expect("bytes") / 1024.0;
        println!(
            "| {} | {} | {} | {:.1} + {:.1} = **{:.1}** |",
            l["backend"],
            l["bits"],
            l["level"],
            kib("compress_bytes"),
            kib("inflate_bytes"),
            kib("compress_bytes") + kib("inflate_bytes"),
        );
    }
    println!();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("report") {
        report(args.get(1).map_or("results.txt", String::as_str));
        return;
    }
    if args.first().map(String::as_str) == Some("memory") {
        memory();
        return;
    }
    let seconds: f64 = args.first().map_or(0.25, |s| s.parse().expect("seconds"));
    let rep = args.get(1).map_or("1", String::as_str);
    measure(Duration::from_secs_f64(seconds), rep);
}
