//! permessage-deflate through the std driver over loopback TCP (RFC 7692): our client and our
//! server negotiate it when both have `Settings::deflate` (the parameters each records are
//! the same), compress in both directions, and go on uncompressed when either side has it
//! off; a 101 that breaks the client's offer fails the client with `Error::Negotiation`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use rfc6455::deflate::{DeflateConfig, DeflateNegotiationError, DeflateParams};
use rfc6455::handshake::ClientRequest;
use rfc6455::{Error, Message, Settings, WebSocket, accept_with, connect_with};

fn settings(deflate: Option<DeflateConfig>) -> Settings {
    Settings { deflate, ..Settings::default() }
}

/// An echo server for one connection; returns what it agreed to.
fn echo_server(server: Settings) -> (String, thread::JoinHandle<Option<DeflateParams>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        let mut ws = accept_with(stream, server, |_| Ok(Default::default())).expect("handshake");
        let agreed = ws.connection().permessage_deflate().copied();
        loop {
            match ws.read() {
                Ok(message) if message.is_data() => ws.write(message).expect("echo"),
                Ok(_) => {}
                Err(Error::ConnectionClosed) => break,
                Err(e) => panic!("server read failed: {e}"),
            }
        }
        agreed
    });
    (url, handle)
}

fn client(url: &str, settings: Settings) -> WebSocket<rfc6455::MaybeTlsStream> {
    let request = ClientRequest::new(url).expect("url");
    let (ws, _) = connect_with(request, settings).expect("connect");
    ws.get_ref().set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    ws
}

fn echo(ws: &mut WebSocket<rfc6455::MaybeTlsStream>, message: Message) {
    ws.send(message.clone()).expect("send");
    loop {
        let got = ws.read().expect("read");
        if got.is_data() {
            assert_eq!(got, message);
            return;
        }
    }
}

/// Compressible JSON-like text of about `len` bytes, and bytes that do not compress.
fn messages(len: usize) -> [Message; 2] {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < len {
        text.push_str(&format!("{{\"id\":{i},\"name\":\"user-{i}\",\"online\":true}},"));
        i += 1;
    }
    text.truncate(len);
    let noise: Vec<u8> =
        (0..len as u64).map(|i| (i.wrapping_mul(0x9E37_79B9) >> 13) as u8).collect();
    [Message::text(text), Message::binary(noise)]
}

fn run(
    client_side: Option<DeflateConfig>,
    server_side: Option<DeflateConfig>,
) -> (Option<DeflateParams>, Option<DeflateParams>) {
    let (url, server) = echo_server(settings(server_side));
    let mut ws = client(&url, settings(client_side));
    let ours = ws.connection().permessage_deflate().copied();
    for len in [0, 1, 31, 32, 125, 126, 4096, 65_536, 1 << 20] {
        for message in messages(len) {
            echo(&mut ws, message);
        }
    }
    close(ws);
    (ours, server.join().expect("server thread"))
}

/// The close handshake, until the server has answered.
fn close(mut ws: WebSocket<rfc6455::MaybeTlsStream>) {
    ws.close(rfc6455::CloseCode::NORMAL, "done").expect("close");
    while !matches!(ws.read(), Err(Error::ConnectionClosed)) {}
}

#[test]
fn both_sides_on_agree_and_compress_both_ways() {
    let on = Some(DeflateConfig::default());
    let (client_params, server_params) = run(on, on);
    assert!(client_params.is_some(), "the client agreed to nothing");
    assert_eq!(client_params, server_params, "both ends record the same parameters");
}

#[test]
fn every_setting_pair_agrees_on_the_same_parameters() {
    let configs = [
        DeflateConfig::default(),
        DeflateConfig { compress_context_takeover: false, ..DeflateConfig::default() },
        DeflateConfig { decompress_context_takeover: false, ..DeflateConfig::default() },
        DeflateConfig {
            compress_window_bits: 9,
            decompress_window_bits: 10,
            ..DeflateConfig::default()
        },
        DeflateConfig {
            compress_window_bits: 8,
            decompress_window_bits: 8,
            level: 9,
            ..DeflateConfig::default()
        },
    ];
    for client_config in configs {
        for server_config in configs {
            let (url, server) = echo_server(settings(Some(server_config)));
            let mut ws = client(&url, settings(Some(client_config)));
            for message in messages(40_000) {
                echo(&mut ws, message);
            }
            let ours = ws.connection().permessage_deflate().copied();
            close(ws);
            let theirs = server.join().expect("server thread");
            // A server that wants a smaller client window than the client offers to limit
            // declines (our offer always allows a limit); otherwise both agree.
            assert!(ours.is_some(), "{client_config:?} / {server_config:?}: declined");
            assert_eq!(ours, theirs, "{client_config:?} / {server_config:?}");
        }
    }
}

#[test]
fn one_side_off_means_no_compression() {
    let on = Some(DeflateConfig::default());
    assert_eq!(run(on, None), (None, None));
    assert_eq!(run(None, on), (None, None));
}

#[test]
fn a_response_that_breaks_the_offer_fails_the_client() {
    // A hand-written server whose 101 accepts with a parameter RFC 7692 does not define.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).expect("read request");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).expect("ascii");
        assert!(head.contains("Sec-WebSocket-Extensions: permessage-deflate"), "{head}");
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .expect("a key")
            .trim()
            .to_owned();
        let accept = rfc6455::handshake::accept_key(key.as_bytes());
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate; \
             x_speed=fast\r\n\r\n"
        );
        stream.write_all(response.as_bytes()).expect("write 101");
        // The client drops the connection.
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        rest
    });
    let request = ClientRequest::new(&url).expect("url");
    match connect_with(request, settings(Some(DeflateConfig::default()))) {
        Err(Error::Negotiation(DeflateNegotiationError::UnknownParameter(name))) => {
            assert_eq!(name, "x_speed")
        }
        other => panic!("expected a negotiation failure, got {:?}", other.map(|_| ())),
    }
    assert!(server.join().expect("server").is_empty(), "not a byte after a failed 101");
}
