//! The whole server-side `Connection` after a valid handshake: arbitrary peer bytes in
//! arbitrary chunks, interleaved with arbitrary application calls. See `common/conn.rs` for
//! the invariants.
#![no_main]

#[path = "../common/alloc.rs"]
mod alloc;
#[path = "../common/conn.rs"]
mod conn;
#[path = "../common/peer.rs"]
mod peer;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: conn::Input| {
    conn::run(rfc6455::Role::Server, &input);
});
