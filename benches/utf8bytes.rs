//! Why `Utf8Bytes::as_str` uses `from_utf8_unchecked` (the crate's one `unsafe` block):
//! the text was validated once, on arrival; checking it again on every access costs O(n).
//! This compares the unchecked accessor with the plain, checked one on the same bytes.
//!
//! Run: `cargo bench --bench utf8bytes` (add `-- --quick` for a fast pass).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rfc6455::Utf8Bytes;

fn access(c: &mut Criterion) {
    for len in [16usize, 1024, 64 * 1024] {
        let text: String = "WebSocket ☃ κόσμε 𝄞 ".chars().cycle().take(len / 2).collect();
        let utf8 = Utf8Bytes::from(text);
        let mut group = c.benchmark_group(format!("utf8bytes_as_str_{}B", utf8.as_bytes().len()));
        group.throughput(Throughput::Bytes(utf8.as_bytes().len() as u64));
        group.bench_function("unchecked (as_str)", |b| b.iter(|| black_box(utf8.as_str()).len()));
        group.bench_function("checked (std::str::from_utf8)", |b| {
            b.iter(|| black_box(std::str::from_utf8(utf8.as_bytes())).map_or(0, str::len))
        });
        group.finish();
    }
}

criterion_group!(benches, access);
criterion_main!(benches);
