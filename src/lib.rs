//! # rfc6455: RFC 6455, The WebSocket Protocol, from scratch
//!
//! A WebSocket implementation built to be read: every rule of the RFC is enforced in one
//! place, with its section quoted beside it. It is layered so that each audience can stop at
//! the layer it needs:
//!
//! | module | RFC 6455 | what it does |
//! |---|---|---|
//! | [`handshake`] | §1.3, §3, §4 | parses and validates the opening handshake (httparse tokenises; our code judges every header), computes `Sec-WebSocket-Accept`, builds the 101 and the rejections (400, 405, 426, 431 …); client URL, request and response validation; a server's plain HTTP requests next to its endpoint ([`handshake::RequestParser::parse_http`]: a page, a health check); its budgets ([`handshake::Limits`]) and its error ([`HandshakeError`], which knows its HTTP response) |
//! | [`frame`] | §5.2, §5.3 | the total frame model (any byte pattern is a [`frame::FrameHeader`]), header parse/encode into a 14-byte stack buffer, masking at any offset (AVX-512, AVX2 or NEON picked at run time, a portable twin; in place or while copying), an incremental zero-copy decoder; its one refusal, [`FrameError`] |
//! | [`deflate`] | RFC 7692 | permessage-deflate: negotiation of its four parameters ([`deflate::DeflateConfig`] what we agree to, [`deflate::DeflateParams`] what was agreed), compression of a message and inflation held to a budget (zlib-rs, windows 8–15); the core switches it on with [`Connection::use_permessage_deflate`], the driver with [`Settings::deflate`] |
//! | [`protocol`] | §5.1, §5.4–§5.8, §6, §7, §8 | [`protocol::check`] judges each header for a role and state; [`Connection`] is the sans-IO state machine (receiving: reassembly or large binary messages in parts, fail-fast UTF-8, ping/pong, the close handshake; sending: masking, fragments, our Close); its budgets ([`Config`]) and errors ([`ProtocolError`], which knows its close code, and [`SendError`]) |
//! | [`socket`] | — | [`WebSocket`]`<S: Read + Write + Transport>`: [`connect`], [`accept`], `read`, `write`, `send`, `flush`, `close`, blocking or nonblocking, resumable handshakes, split halves, reads into spare capacity (`read(2)`, no zero-fill, on Unix sockets); `wss://` (§3, §4.1 step 5) over rustls with the `rustls` feature (`socket::tls`: [`MaybeTlsStream`] from `connect`, `connect_tls`, `accept_tls`, PEM helpers); [`Settings`] (the core's `Config`, the handshake's `Limits`, the driver's timeouts); it moves bytes and owns the clock, and knows no rule |
//! | [`dissect`] | §4, §5; RFC 7692 | for learners: prints a handshake or a byte stream of frames field by field with the RFC's names, and flags every rule each one breaks (judged by the layers above, never by itself); told that permessage-deflate was negotiated ([`dissect::Deflate`]), it reads RSV1 as "compressed" and shows compressed messages inflated |
//! | [`error`] | — | the driver's [`Error`] (IO, the lifecycle, or one of the layers' errors), with every layer's error re-exported |
//!
//! Imports point one way, down: `frame`, `handshake` and `deflate` use no other layer,
//! `protocol` uses `frame` and `deflate`, `socket` and `error` use those four, and `dissect` reads through `frame`,
//! `protocol` and `handshake`. Nothing but the crate root imports `socket`, `error` or
//! `dissect`.
//!
//! ## One connection, start to finish
//!
//! 1. **Opening handshake** (§4, [`handshake`]). The client sends an HTTP/1.1 `GET` with
//!    `Upgrade: websocket`, `Connection: Upgrade`, a random 16-byte `Sec-WebSocket-Key` and
//!    `Sec-WebSocket-Version: 13`. The server checks each header and answers
//!    `101 Switching Protocols` with `Sec-WebSocket-Accept` = base64(SHA-1(key + GUID)).
//! 2. **Frames** (§5.2, [`frame`]). From then on both sides exchange frames: a 2–14 byte
//!    header (FIN, RSV1–3, opcode, MASK, a 7/16/64-bit length, a masking key) and a payload.
//!    Every frame a client sends is masked with a fresh random key (§5.3).
//! 3. **Judging** (§5.1–§5.5, [`protocol::check`]). Each received header is checked before its
//!    payload is read: masking by role, RSV bits, opcodes, control-frame rules, fragment
//!    order, budgets.
//! 4. **Messages** (§5.4, §5.6, [`Connection`]). Fragments are joined into messages; text is
//!    validated as UTF-8 while it arrives. A Ping is answered with a Pong (§5.5.2).
//! 5. **Closing** (§7, [`protocol::CloseFrame`]). One side sends a Close with a code; the other
//!    echoes it; the server closes TCP. A peer that breaks a rule gets a Close with the
//!    matching code (1002, 1007, 1009 …) and the connection is failed (§7.1.7).
//!
//! ## Quick start
//!
//! ```no_run
//! use rfc6455::{Message, accept, connect};
//! use std::net::TcpListener;
//!
//! // Server: echo every message.
//! let listener = TcpListener::bind("127.0.0.1:9001")?;
//! for stream in listener.incoming() {
//!     let mut ws = accept(stream?)?;
//!     while let Ok(message) = ws.read() {
//!         if message.is_data() {
//!             // Queue the echo; `read` writes everything queued before it waits again.
//!             ws.write(message)?;
//!         }
//!     }
//! }
//!
//! // Client.
//! let (mut ws, _response) = connect("ws://127.0.0.1:9001/chat")?;
//! ws.send(Message::text("hello"))?;
//! println!("{:?}", ws.read()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Sans-IO
//!
//! [`Connection`] never touches a socket and never reads a clock: append received bytes to
//! [`Connection::read_buf`], tell it the time with [`Connection::set_time`], take messages
//! from [`Connection::next_event`], queue with [`Connection::send`], write out what
//! [`Connection::output_slices`] gives you, and come back by [`Connection::next_deadline`]
//! (the close wait, keepalive) even if nothing arrives.
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

pub mod deflate;
pub mod dissect;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod protocol;
pub mod socket;

pub use error::{Error, FrameError, HandshakeError, ProtocolError, SendError};
pub use protocol::{
    CloseCode, CloseFrame, Config, Connection, Keepalive, Message, Role, State, Utf8Bytes,
};
#[cfg(feature = "rustls")]
pub use socket::tls;
pub use socket::{
    MaybeTlsStream, Sent, Settings, Transport, WebSocket, accept, accept_tcp, accept_with, connect,
    connect_with,
};
