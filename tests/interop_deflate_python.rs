//! permessage-deflate (RFC 7692) with Python's `websockets`, an independent implementation,
//! in both directions over loopback TCP, across the negotiation matrix:
//!
//! - `python_client_against_our_std_server` and `python_client_against_our_event_loop`:
//!   `tests/peers/python_client.py --deflate SPEC` offers each cell's parameters to our server
//!   (the std driver as in `examples/echo_server --threads`, and that example's own event
//!   loop, its default mode) configured with the cell's [`DeflateConfig`];
//! - `our_client_against_python_server`: our `connect_with` client, with each cell's
//!   [`DeflateConfig`], against `tests/peers/python_echo_server.py --deflate SPEC`.
//!
//! In every cell: the 101's `Sec-WebSocket-Extensions` is the expected response (or absent
//! when the offer is declined), both ends run with the same parameters (Python prints its
//! `PerMessageDeflate` state, ours is `Connection::permessage_deflate`), every echo (text and
//! binary of 0 … 1 MiB bytes, compressible and random, fragmented, a burst, a Ping) comes back
//! identical, and when compression is agreed the peer received compressed messages (RSV1,
//! counted where websockets decompresses them) — websockets compresses every data message it
//! sends, so our side decompressed all of its messages. Where a peer must refuse the other's
//! terms (RFC 7692 §7) the refusal is checked instead.
//!
//! Needs `python3` with `websockets` (>= 13): `bash .ci/test` installs it; the tests fail
//! (never skip) when it is missing. Set `RFC6455_TEST_PYTHON` to use another interpreter.
//! Every wait is bounded; only the child processes spawned here are ever killed.

mod interop_support;

use std::time::{Duration, Instant};

use interop_support::{
    agreed_line, event_loop_echo_server, example_settings, our_client_echoes, python_peer,
    require_python_websockets, std_echo_server,
};
use rfc6455::Settings;
use rfc6455::deflate::DeflateConfig;

/// The longest any Python peer may run before it is killed.
const PEER_DEADLINE: Duration = Duration::from_secs(60);

/// What a cell expects of the negotiation.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Accepted with this response element.
    Agreed(&'static str),
    /// The server declines: no `Sec-WebSocket-Extensions`, no compression.
    Declined,
    /// The client refuses the response and fails the connection (RFC 7692 §7); the text is
    /// part of its reason.
    ClientFails(&'static str),
}

/// `DeflateConfig::default()` changed by `f`.
fn config(f: impl FnOnce(&mut DeflateConfig)) -> DeflateConfig {
    let mut c = DeflateConfig::default();
    f(&mut c);
    c
}

/// Python client offers `spec`; our server runs with `server`.
fn client_cells() -> Vec<(&'static str, DeflateConfig, Expect)> {
    use Expect::*;
    let default = DeflateConfig::default();
    vec![
        // What websockets offers by default (and Chromium too).
        ("client_max_window_bits", default, Agreed("permessage-deflate")),
        ("", default, Agreed("permessage-deflate")),
        (
            "server_no_context_takeover",
            default,
            Agreed("permessage-deflate; server_no_context_takeover"),
        ),
        (
            "client_no_context_takeover",
            default,
            Agreed("permessage-deflate; client_no_context_takeover"),
        ),
        (
            "server_no_context_takeover;client_no_context_takeover",
            default,
            Agreed("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ),
        (
            "server_max_window_bits=8;client_max_window_bits",
            default,
            Agreed("permessage-deflate; server_max_window_bits=8"),
        ),
        (
            "server_max_window_bits=9",
            default,
            Agreed("permessage-deflate; server_max_window_bits=9"),
        ),
        (
            "server_max_window_bits=12",
            default,
            Agreed("permessage-deflate; server_max_window_bits=12"),
        ),
        // websockets' client cannot offer client_max_window_bits=8 (zlib cannot compress
        // with an 8-bit window; its factory refuses it), so 9 and 12.
        (
            "client_max_window_bits=9",
            default,
            Agreed("permessage-deflate; client_max_window_bits=9"),
        ),
        (
            "client_max_window_bits=12",
            default,
            Agreed("permessage-deflate; client_max_window_bits=12"),
        ),
        (
            "server_no_context_takeover;client_no_context_takeover;server_max_window_bits=10;client_max_window_bits=11",
            default,
            Agreed(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=10; client_max_window_bits=11",
            ),
        ),
        // Imposed by our server.
        (
            "client_max_window_bits",
            config(|c| c.compress_context_takeover = false),
            Agreed("permessage-deflate; server_no_context_takeover"),
        ),
        (
            "client_max_window_bits",
            config(|c| c.decompress_context_takeover = false),
            Agreed("permessage-deflate; client_no_context_takeover"),
        ),
        (
            "client_max_window_bits",
            config(|c| c.compress_window_bits = 8),
            Agreed("permessage-deflate; server_max_window_bits=8"),
        ),
        (
            "client_max_window_bits",
            config(|c| c.compress_window_bits = 9),
            Agreed("permessage-deflate; server_max_window_bits=9"),
        ),
        (
            "client_max_window_bits",
            config(|c| c.compress_window_bits = 12),
            Agreed("permessage-deflate; server_max_window_bits=12"),
        ),
        (
            "server_max_window_bits=10",
            config(|c| c.compress_window_bits = 12),
            Agreed("permessage-deflate; server_max_window_bits=10"),
        ),
        (
            "client_max_window_bits",
            config(|c| c.decompress_window_bits = 9),
            Agreed("permessage-deflate; client_max_window_bits=9"),
        ),
        (
            "client_max_window_bits",
            config(|c| c.decompress_window_bits = 12),
            Agreed("permessage-deflate; client_max_window_bits=12"),
        ),
        (
            "client_max_window_bits=12",
            config(|c| c.decompress_window_bits = 9),
            Agreed("permessage-deflate; client_max_window_bits=9"),
        ),
        // Our server asks for an 8-bit client window, which websockets' client cannot
        // compress with: it fails the connection, as RFC 7692 §7 tells a client to when "The
        // client does not support the configuration that the response represents."
        (
            "client_max_window_bits",
            config(|c| c.decompress_window_bits = 8),
            ClientFails("('client_max_window_bits', '8')"),
        ),
        // Our server decompresses with less than 2^15 and the offer has no
        // client_max_window_bits to say so: it must decline (RFC 7692 §7.1.2.2).
        ("", config(|c| c.decompress_window_bits = 12), Declined),
        ("server_no_context_takeover", config(|c| c.decompress_window_bits = 9), Declined),
    ]
}

/// Our client offers with `client`; the Python server is configured with `spec`.
fn server_cells() -> Vec<(DeflateConfig, &'static str, Expect)> {
    use Expect::*;
    let default = DeflateConfig::default();
    vec![
        // Our default offer is `permessage-deflate; client_max_window_bits`.
        (default, "", Agreed("permessage-deflate")),
        // websockets' default server configuration.
        (
            default,
            "default",
            Agreed("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        ),
        // Offered by our client.
        (
            config(|c| c.decompress_context_takeover = false),
            "",
            Agreed("permessage-deflate; server_no_context_takeover"),
        ),
        (
            config(|c| c.compress_context_takeover = false),
            "",
            Agreed("permessage-deflate; client_no_context_takeover"),
        ),
        (
            config(|c| {
                c.compress_context_takeover = false;
                c.decompress_context_takeover = false;
            }),
            "",
            Agreed("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ),
        // websockets' server cannot compress with an 8-bit window: it declines the offer.
        (config(|c| c.decompress_window_bits = 8), "", Declined),
        (
            config(|c| c.decompress_window_bits = 9),
            "",
            Agreed("permessage-deflate; server_max_window_bits=9"),
        ),
        (
            config(|c| c.decompress_window_bits = 12),
            "",
            Agreed("permessage-deflate; server_max_window_bits=12"),
        ),
        (
            config(|c| c.compress_window_bits = 8),
            "",
            Agreed("permessage-deflate; client_max_window_bits=8"),
        ),
        (
            config(|c| c.compress_window_bits = 9),
            "",
            Agreed("permessage-deflate; client_max_window_bits=9"),
        ),
        (
            config(|c| c.compress_window_bits = 12),
            "",
            Agreed("permessage-deflate; client_max_window_bits=12"),
        ),
        // Imposed by the Python server.
        (
            default,
            "server_no_context_takeover",
            Agreed("permessage-deflate; server_no_context_takeover"),
        ),
        (
            default,
            "client_no_context_takeover",
            Agreed("permessage-deflate; client_no_context_takeover"),
        ),
        (
            default,
            "server_no_context_takeover;client_no_context_takeover",
            Agreed("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ),
        (
            default,
            "server_max_window_bits=9",
            Agreed("permessage-deflate; server_max_window_bits=9"),
        ),
        (
            default,
            "server_max_window_bits=12",
            Agreed("permessage-deflate; server_max_window_bits=12"),
        ),
        (
            default,
            "client_max_window_bits=8",
            Agreed("permessage-deflate; client_max_window_bits=8"),
        ),
        (
            default,
            "client_max_window_bits=9",
            Agreed("permessage-deflate; client_max_window_bits=9"),
        ),
        (
            default,
            "client_max_window_bits=12",
            Agreed("permessage-deflate; client_max_window_bits=12"),
        ),
        (
            config(|c| c.compress_window_bits = 12),
            "client_max_window_bits=9",
            Agreed("permessage-deflate; client_max_window_bits=9"),
        ),
        (
            config(|c| c.decompress_window_bits = 10),
            "server_max_window_bits=12",
            Agreed("permessage-deflate; server_max_window_bits=10"),
        ),
        (
            config(|c| c.compress_window_bits = 9),
            "require_client_max_window_bits;client_max_window_bits=10",
            Agreed("permessage-deflate; client_max_window_bits=9"),
        ),
    ]
}

/// The Python client against a server of ours at `port`; `served` gives what our side
/// recorded (the std server), if it records.
fn run_python_client(
    port: u16,
    spec: &str,
    server: &DeflateConfig,
    expect: Expect,
    served: Option<&std::sync::mpsc::Receiver<interop_support::Served>>,
) -> String {
    let url = format!("ws://127.0.0.1:{port}/");
    let what = format!("python client offering {spec:?}, our server with {server:?}");
    let mut peer = python_peer("python_client.py", &[&url, "--deflate", spec]);
    let deadline = Instant::now() + PEER_DEADLINE;
    if let Expect::ClientFails(reason) = expect {
        let failed = peer.expect_tagged("NEGOTIATION_FAILED", PEER_DEADLINE);
        let (status, report) = peer.finish(deadline);
        assert!(failed.contains(reason), "{what}: refused for another reason: {failed}\n{report}");
        assert_eq!(status.and_then(|s| s.code()), Some(3), "{what}\n{report}");
        if let Some(served) = served {
            let ours = served.recv_timeout(Duration::from_secs(20)).expect("our server's record");
            assert!(ours.params.is_some(), "{what}: our server accepted: {ours:?}\n{report}");
        }
        return format!("python client fails: {failed}");
    }
    let extensions = peer.expect_tagged("EXTENSIONS", Duration::from_secs(20));
    let agreed = peer.expect_tagged("AGREED", Duration::from_secs(5));
    let rsv1: usize = peer.expect_tagged("RSV1_RECEIVED", PEER_DEADLINE).parse().expect("a count");
    let compressible: usize =
        peer.expect_tagged("COMPRESSIBLE_SENT", Duration::from_secs(5)).parse().expect("a count");
    let (status, report) = peer.finish(deadline);
    assert!(matches!(status, Some(s) if s.success()), "{what}: the python client failed\n{report}");
    match expect {
        Expect::Agreed(response) => {
            assert_eq!(extensions, response, "{what}: our response\n{report}");
            assert_ne!(agreed, "none", "{what}\n{report}");
            assert!(
                rsv1 >= compressible,
                "{what}: python received {rsv1} compressed messages, expected at least \
                 {compressible}\n{report}"
            );
        }
        Expect::Declined => {
            assert_eq!(extensions, "-", "{what}: our server must decline\n{report}");
            assert_eq!(agreed, "none", "{what}\n{report}");
            assert_eq!(rsv1, 0, "{what}: compressed messages without agreement\n{report}");
        }
        Expect::ClientFails(_) => unreachable!(),
    }
    if let Some(served) = served {
        let ours = served
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{what}: our server never finished\n{report}"));
        assert_eq!(ours.result, Ok(()), "{what}: our server: {ours:?}\n{report}");
        assert!(!ours.offers.is_empty(), "{what}: no offer reached us\n{report}");
        assert_eq!(
            agreed_line(ours.params.as_ref()),
            agreed,
            "{what}: the two ends run with different parameters\n{report}"
        );
    }
    format!("{extensions} | python {agreed} | {rsv1} compressed echoes received")
}

#[test]
fn python_client_against_our_std_server() {
    require_python_websockets();
    for (spec, server, expect) in client_cells() {
        let (port, served) = std_echo_server(example_settings(Some(server)));
        let result = run_python_client(port, spec, &server, expect, Some(&served));
        println!("python client {spec:?} -> std server {server:?}: {result}");
    }
}

#[test]
fn python_client_against_our_event_loop() {
    require_python_websockets();
    for (spec, server, expect) in client_cells() {
        let port = event_loop_echo_server(example_settings(Some(server)));
        let result = run_python_client(port, spec, &server, expect, None);
        println!("python client {spec:?} -> event loop {server:?}: {result}");
    }
}

#[test]
fn python_client_against_the_example_defaults() {
    // `examples/echo_server` as users run it: event loop, `DeflateConfig::default()`, and
    // websockets' default client (compression="deflate" is an offer of
    // `permessage-deflate; client_max_window_bits`).
    require_python_websockets();
    let port = event_loop_echo_server(example_settings(Some(DeflateConfig::default())));
    let result = run_python_client(
        port,
        "client_max_window_bits",
        &DeflateConfig::default(),
        Expect::Agreed("permessage-deflate"),
        None,
    );
    println!("python client default -> example defaults: {result}");
}

#[test]
fn our_client_against_python_server() {
    require_python_websockets();
    for (client, spec, expect) in server_cells() {
        let what = format!("our client with {client:?}, python server {spec:?}");
        let mut peer =
            python_peer("python_echo_server.py", &["--timeout", "60", "--deflate", spec]);
        let deadline = Instant::now() + PEER_DEADLINE;
        let port: u16 = peer
            .expect_tagged("PORT", Duration::from_secs(30))
            .parse()
            .expect("PORT line holds a number");
        let url = format!("ws://127.0.0.1:{port}/echo");
        let settings = Settings { deflate: Some(client), ..Settings::default() };
        let run = our_client_echoes(&url, settings, &what);
        let extensions = peer.expect_tagged("EXTENSIONS", Duration::from_secs(15));
        let agreed = peer.expect_tagged("AGREED", Duration::from_secs(5));
        let rsv1: usize =
            peer.expect_tagged("RSV1_RECEIVED", Duration::from_secs(15)).parse().expect("count");
        let close = peer.expect_tagged("CLOSE", Duration::from_secs(15));
        let (status, report) = peer.finish(deadline);
        assert_eq!(close, "1000 done", "{what}\n{report}");
        assert!(matches!(status, Some(s) if s.success()), "{what}: exit {status:?}\n{report}");
        assert_eq!(
            agreed_line(run.params.as_ref()),
            agreed,
            "{what}: the two ends run with different parameters\n{report}"
        );
        match expect {
            Expect::Agreed(response) => {
                assert_eq!(extensions, response, "{what}: python's response\n{report}");
                assert_eq!(run.response_extensions, vec![response.to_string()], "{what}");
                assert!(
                    rsv1 >= run.compressible_sent,
                    "{what}: python received {rsv1} compressed messages, expected at least {}\n\
                     {report}",
                    run.compressible_sent
                );
            }
            Expect::Declined => {
                assert_eq!(extensions, "-", "{what}: python must decline\n{report}");
                assert!(run.response_extensions.is_empty(), "{what}");
                assert_eq!(run.params, None, "{what}");
                assert_eq!(rsv1, 0, "{what}\n{report}");
            }
            Expect::ClientFails(_) => unreachable!("no such cell"),
        }
        println!(
            "our client {client:?} -> python server {spec:?}: {extensions} | ours {} | {rsv1} \
             compressed messages received by python",
            agreed_line(run.params.as_ref())
        );
    }
}
