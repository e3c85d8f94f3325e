//! `wss://` with Python's `websockets` over Python's `ssl` (OpenSSL), both ways, with a CA
//! made at test time (the `rustls` feature):
//!
//! - `python_client_against_our_tls_server`: `tests/peers/python_client.py --ca CA wss://…`
//!   trusts only the test CA and checks the host name (`localhost`), then drives our server
//!   (`accept_tls`, the loop of `examples/echo_server --threads --tls-cert … --tls-key …`)
//!   through every check it has (every payload-length encoding, fragments, pings, close);
//! - `our_client_against_python_tls_server`: our `connect_tls` client, trusting the default
//!   roots plus the test CA, against `tests/peers/python_echo_server.py --tls-cert --tls-key`,
//!   through the echoes of `interop_support::our_client_echoes` and the close handshake.
//!
//! Needs `python3` with `websockets` (>= 13): `bash .ci/test` installs it; the tests fail
//! (never skip) when it is missing. Every wait is bounded; only the child processes spawned
//! here are ever killed (by their PID, through `Child::kill`).
#![cfg(feature = "rustls")]

mod interop_support;
mod tls_support;

use std::time::{Duration, Instant};

use interop_support::{our_tls_client_echoes, python_peer, std_tls_echo_server};
use rfc6455::{Settings, tls};
use tls_support::make_pki;

/// The longest any Python peer may run before it is killed.
const PEER_DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn python_client_against_our_tls_server() {
    let pki = make_pki("py-client");
    let config = tls::server_config_from_pem(&pki.cert, &pki.key).expect("server config");
    let (port, served) = std_tls_echo_server(Settings::default(), config);
    let url = format!("wss://localhost:{port}/");
    let ca = pki.ca.to_str().expect("utf-8 path");
    let mut peer = python_peer("python_client.py", &[&url, "--ca", ca]);
    let version = peer.expect_tagged("TLS", Duration::from_secs(20));
    let (status, report) = peer.finish(Instant::now() + PEER_DEADLINE);
    assert!(status.is_some_and(|s| s.success()), "python client over TLS failed\n{report}");
    assert!(version.starts_with("TLSv1."), "negotiated {version:?}\n{report}");
    let served = served.recv_timeout(Duration::from_secs(10)).expect("our server's report");
    assert_eq!(served.result, Ok(()), "{served:?}\n{report}");
    assert!(served.messages_echoed > 30, "{served:?}\n{report}");
}

#[test]
fn our_client_against_python_tls_server() {
    let pki = make_pki("py-server");
    let (cert, key) = (pki.cert.to_str().expect("utf-8"), pki.key.to_str().expect("utf-8"));
    let mut peer = python_peer("python_echo_server.py", &["--tls-cert", cert, "--tls-key", key]);
    let port = peer.expect_tagged("PORT", Duration::from_secs(20));
    let mut roots = tls::default_roots();
    tls::add_pem_roots(&mut roots, &pki.ca).expect("CA");
    let config = tls::client_config(roots).expect("client config");
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("wss://{host}:{port}/");
        our_tls_client_echoes(&url, Settings::default(), config.clone(), &url);
        let close = peer.expect_tagged("CLOSE", Duration::from_secs(20));
        assert_eq!(close, "1000 done", "{url}: the Close the Python server received");
    }
    let (status, report) = peer.finish(Instant::now() + Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "python server\n{report}");
}
