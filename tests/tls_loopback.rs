//! `wss://` in process (the `rustls` feature): our client and our server over TLS on loopback,
//! with a CA made at test time. Echoes across rustls's buffer size, both close orders (the
//! close_notify half-close), a nonblocking handshake, and the refusals: a server no trusted
//! root signed, a certificate for another name, a PEM file without certificates.
#![cfg(feature = "rustls")]

mod tls_support;

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::handshake::ClientRequest;
use rfc6455::socket::{ClientHandshake, Handshaking};
use rfc6455::tls::rustls::{self, CertificateError};
use rfc6455::tls::{self as tls, ClientTlsStream, TlsStream};
use rfc6455::{CloseCode, Error, Message, Settings, connect, error::TlsError};
use tls_support::{TestPki, make_pki};

const WAIT: Duration = Duration::from_secs(10);

/// A server that accepts `n` TLS connections and echoes data until each closes, with the
/// outcome of each (`Ok` for a clean close).
fn tls_echo_server(pki: &TestPki, n: usize) -> (u16, thread::JoinHandle<Vec<Result<(), String>>>) {
    tls_echo_server_after(pki, n, None)
}

/// The same server, accepting only once `gate` says so (if given): until then a client's
/// bytes wait in the listen queue, unanswered.
fn tls_echo_server_after(
    pki: &TestPki,
    n: usize,
    gate: Option<std::sync::mpsc::Receiver<()>>,
) -> (u16, thread::JoinHandle<Vec<Result<(), String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let config = tls::server_config_from_pem(&pki.cert, &pki.key).expect("server config");
    let server = thread::spawn(move || {
        if let Some(gate) = gate {
            gate.recv().expect("the test opens the gate");
        }
        (0..n)
            .map(|_| {
                let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
                tcp.set_read_timeout(Some(WAIT)).map_err(|e| e.to_string())?;
                let mut ws = tls::accept_tls(tcp, config.clone(), Settings::default(), |_| {
                    Ok(Default::default())
                })
                .map_err(|e| e.to_string())?;
                loop {
                    match ws.read() {
                        Ok(Message::Text(t)) if t.as_str() == "close, please" => {
                            ws.close(CloseCode::NORMAL, "as asked").map_err(|e| e.to_string())?;
                        }
                        Ok(m) if m.is_data() => ws.write(m).map_err(|e| e.to_string())?,
                        Ok(_) => {}
                        Err(Error::ConnectionClosed) => return Ok(()),
                        Err(e) => return Err(e.to_string()),
                    }
                }
            })
            .collect()
    });
    (port, server)
}

fn trusting(pki: &TestPki) -> Arc<rustls::ClientConfig> {
    let mut roots = tls::default_roots();
    assert_eq!(tls::add_pem_roots(&mut roots, &pki.ca).expect("CA file"), 1);
    tls::client_config(roots).expect("client config")
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn client_and_server_echo_over_tls_and_close_cleanly_either_way() {
    let pki = make_pki("echo");
    let (port, server) = tls_echo_server(&pki, 2);
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("wss://{host}:{port}/chat");
        let request = ClientRequest::new(&url).unwrap();
        let (mut ws, response) =
            tls::connect_tls(request, Settings::default(), trusting(&pki)).expect(&url);
        assert_eq!(response.status(), 101);
        assert!(ws.get_ref().is_tls());
        ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
        // Around rustls's 64 KiB buffer, and a message many TLS records long.
        for len in [0, 1, 125, 65_535, 65_536, 300_000] {
            let sent = Message::binary(payload(len));
            ws.send(sent.clone()).unwrap();
            assert_eq!(ws.read().unwrap(), sent, "{len} bytes over {url}");
        }
        ws.send(Message::text("héllo")).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text("héllo"));
        if host == "localhost" {
            // We close first: the server echoes, sends close_notify and its FIN.
            ws.close(CloseCode::NORMAL, "done").unwrap();
        } else {
            // The server closes first (close_notify, then shutdown of its sending side).
            ws.send(Message::text("close, please")).unwrap();
            assert!(
                matches!(ws.read().unwrap(), Message::Close(Some(f)) if f.reason == "as asked")
            );
        }
        loop {
            match ws.read() {
                Err(Error::ConnectionClosed) => break,
                Ok(_) => {}
                Err(e) => panic!("{url}: closing: {e}"),
            }
        }
    }
    for outcome in server.join().unwrap() {
        outcome.expect("server side");
    }
}

#[test]
fn a_server_no_trusted_root_signed_is_refused_with_unknown_issuer() {
    let pki = make_pki("served");
    let other = make_pki("other");
    let (port, server) = tls_echo_server(&pki, 2);
    let url = format!("wss://localhost:{port}/");
    // A root of our own that did not sign the server's certificate.
    let wrong =
        tls::connect_tls(ClientRequest::new(&url).unwrap(), Settings::default(), trusting(&other));
    // The default roots (Mozilla's) do not know the test CA either.
    let default = connect(&url);
    for result in [wrong.map(|_| ()), default.map(|_| ())] {
        match result {
            Err(Error::Tls(TlsError::Rustls(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )))) => {}
            other => panic!("expected UnknownIssuer, got {other:?}"),
        }
    }
    // The server heard our refusal as a TLS alert.
    for outcome in server.join().unwrap() {
        let e = outcome.expect_err("the client refused the server");
        assert!(e.contains("TLS"), "{e}");
    }
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let pki = make_pki("name");
    let (port, server) = tls_echo_server(&pki, 1);
    // The right address, but the URL names a host the certificate does not cover.
    let request = ClientRequest::new("wss://example.com/").unwrap();
    let result =
        tls::connect_addrs_tls(("127.0.0.1", port), request, Settings::default(), trusting(&pki));
    match result {
        Err(Error::Tls(TlsError::Rustls(rustls::Error::InvalidCertificate(e)))) => {
            assert!(matches!(e, CertificateError::NotValidForNameContext { .. }), "{e:?}");
        }
        other => panic!("expected a name mismatch, got {:?}", other.map(|_| ())),
    }
    assert!(server.join().unwrap()[0].is_err());
}

#[test]
fn pem_files_without_certificates_or_keys_are_typed_errors() {
    let pki = make_pki("pem");
    let mut roots = tls::default_roots();
    // The key file holds no certificate; a missing file is a PEM (IO) error with its path.
    let err = tls::add_pem_roots(&mut roots, &pki.key).unwrap_err();
    assert!(matches!(err, Error::Tls(TlsError::NoCertificates { .. })), "{err:?}");
    let missing = pki.dir.join("missing.pem");
    let err = tls::server_config_from_pem(&missing, &pki.key).unwrap_err();
    assert!(matches!(&err, Error::Tls(TlsError::Pem { path, .. }) if *path == missing), "{err:?}");
    // A certificate where the key should be.
    let err = tls::server_config_from_pem(&pki.cert, &pki.cert).unwrap_err();
    assert!(matches!(err, Error::Tls(TlsError::Pem { .. })), "{err:?}");
}

#[test]
fn a_nonblocking_client_resumes_through_the_tls_and_websocket_handshakes() {
    let pki = make_pki("nonblocking");
    // The server answers only once the client has waited: the first `resume` must block
    // (its ClientHello sits unanswered in the listen queue), whatever the scheduling.
    let (open, gate) = std::sync::mpsc::channel();
    let (port, server) = tls_echo_server_after(&pki, 1, Some(gate));
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_nonblocking(true).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(trusting(&pki), name).unwrap();
    let stream: ClientTlsStream = TlsStream::new(conn, tcp);
    let request = ClientRequest::new(&format!("wss://localhost:{port}/")).unwrap();
    let mut handshake = ClientHandshake::new(stream, &request, Settings::default());
    let started = Instant::now();
    let mut would_block = 0;
    let mut ws = loop {
        match handshake.resume() {
            Ok((ws, _)) => break ws,
            Err(Handshaking::WouldBlock(h)) => {
                would_block += 1;
                if would_block == 1 {
                    open.send(()).unwrap();
                }
                assert!(started.elapsed() < WAIT, "handshake stalled");
                thread::sleep(Duration::from_millis(1));
                handshake = h;
            }
            Err(Handshaking::Failed(e)) => panic!("handshake: {e}"),
        }
    };
    assert!(would_block > 0, "a nonblocking handshake waits for the server at least once");
    let sent = Message::binary(payload(200_000));
    let mut queued = ws.send(sent.clone()).unwrap();
    let got = loop {
        assert!(started.elapsed() < WAIT, "echo stalled");
        match ws.read() {
            Ok(m) => break m,
            Err(e) if e.is_would_block() => {
                if queued == rfc6455::Sent::Queued && ws.flush().is_ok() {
                    queued = rfc6455::Sent::Flushed;
                }
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("read: {e}"),
        }
    };
    assert_eq!(got, sent);
    ws.close(CloseCode::NORMAL, "").unwrap();
    loop {
        assert!(started.elapsed() < WAIT, "close stalled");
        match ws.read() {
            Err(Error::ConnectionClosed) => break,
            Err(e) if e.is_would_block() => thread::sleep(Duration::from_millis(1)),
            Ok(_) => {}
            Err(e) => panic!("close: {e}"),
        }
    }
    server.join().unwrap()[0].clone().expect("server side");
}
