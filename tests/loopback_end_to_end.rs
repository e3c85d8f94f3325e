//! Our client against our server over loopback TCP: every payload length form (§5.2), text
//! and binary, fragmented sends (§5.4), ping/pong (§5.5.2), and the close handshake (§7).

use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use rfc6455::frame::OpCode;
use rfc6455::{CloseCode, CloseFrame, Error, Message, WebSocket, accept, connect};

/// Start an echo server for one connection; the thread returns the messages it saw.
fn echo_server() -> (String, thread::JoinHandle<Vec<Message>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/echo", listener.local_addr().expect("addr"));
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        let mut ws = accept(stream).expect("handshake");
        let mut seen = Vec::new();
        loop {
            match ws.read() {
                Ok(message) => {
                    if message.is_data() {
                        ws.send(message.clone()).expect("echo");
                    }
                    seen.push(message);
                }
                Err(Error::ConnectionClosed) => break,
                Err(e) => panic!("server read failed: {e}"),
            }
        }
        seen
    });
    (url, handle)
}

fn client(url: &str) -> WebSocket<rfc6455::MaybeTlsStream> {
    let (ws, _response) = connect(url).expect("connect");
    ws.get_ref().set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    ws
}

fn read_data<S: std::io::Read + std::io::Write + rfc6455::Transport>(
    ws: &mut WebSocket<S>,
) -> Message {
    loop {
        let message = ws.read().expect("read");
        if message.is_data() {
            return message;
        }
    }
}

#[test]
fn every_length_form_echoes_text_and_binary() {
    let (url, server) = echo_server();
    let mut ws = client(&url);
    // 125/126 and 65535/65536 straddle the 7-bit, 16-bit and 64-bit length forms (§5.2).
    for len in [0usize, 1, 125, 126, 65_535, 65_536, 1 << 20] {
        let binary: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        ws.send(Message::binary(binary.clone())).expect("send binary");
        assert_eq!(read_data(&mut ws), Message::binary(binary), "binary of {len} bytes");

        let text: String = "aé€𝄞".chars().cycle().take(len / 4).collect();
        ws.send(Message::text(text.clone())).expect("send text");
        match read_data(&mut ws) {
            Message::Text(echo) => assert_eq!(echo.as_str(), text, "text of {} bytes", text.len()),
            other => panic!("expected text, got {other:?}"),
        }
    }
    ws.close(CloseCode::NORMAL, "done").expect("close");
    assert_eq!(
        ws.read().expect("close echo"),
        Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
    );
    assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
    let seen = server.join().expect("server thread");
    assert_eq!(
        seen.last(),
        Some(&Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "done"))))
    );
}

#[test]
fn fragmented_send_arrives_as_one_message() {
    let (url, server) = echo_server();
    let mut ws = client(&url);
    // "€" (E2 82 AC) is split across fragments: only the whole message must be UTF-8.
    ws.send_fragment(OpCode::Text, &b"Hel\xE2"[..], false).expect("first");
    ws.send(Message::Ping("between".into())).expect("ping between fragments");
    ws.send_fragment(OpCode::Continuation, &b"\x82"[..], false).expect("middle");
    ws.send_fragment(OpCode::Continuation, &b"\xAClo"[..], true).expect("last");
    assert_eq!(read_data(&mut ws), Message::text("Hel€lo"));

    let parts: [&[u8]; 3] = [b"ab", b"", b"cd"];
    for (i, part) in parts.iter().enumerate() {
        let opcode = if i == 0 { OpCode::Binary } else { OpCode::Continuation };
        ws.send_fragment(opcode, part.to_vec(), i == parts.len() - 1).expect("fragment");
    }
    assert_eq!(read_data(&mut ws), Message::binary(&b"abcd"[..]));
    ws.close(CloseCode::NORMAL, "").expect("close");
    while ws.read().is_ok() {}
    let seen = server.join().expect("server thread");
    assert!(seen.contains(&Message::Ping("between".into())));
}

#[test]
fn ping_is_answered_with_identical_pong() {
    let (url, server) = echo_server();
    let mut ws = client(&url);
    ws.send(Message::Ping("are you there?".into())).expect("ping");
    // §5.5.3: the Pong "must have identical "Application data" as found in the message body
    // of the Ping frame being replied to".
    assert_eq!(ws.read().expect("pong"), Message::Pong("are you there?".into()));
    ws.close(CloseCode::GOING_AWAY, "").expect("close");
    while ws.read().is_ok() {}
    server.join().expect("server thread");
}

#[test]
fn server_initiated_close_carries_code_and_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut ws = accept(stream).expect("handshake");
        ws.close(CloseCode(4001), "shutting down").expect("close");
        // The client's echo completes the handshake; then the server drops TCP first.
        let echo = ws.read().expect("echo");
        assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
        echo
    });
    let mut ws = client(&url);
    assert_eq!(
        ws.read().expect("close"),
        Message::Close(Some(CloseFrame::new(CloseCode(4001), "shutting down")))
    );
    // The client waits for the server to close TCP (§7.1.1), then reports a clean close.
    assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
    assert_eq!(ws.connection().close_code(), Some(CloseCode(4001)));
    assert_eq!(
        server.join().expect("server"),
        Message::Close(Some(CloseFrame::new(CloseCode(4001), "")))
    );
}

#[test]
fn dropped_tcp_without_close_is_abnormal_1006() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut ws = accept(stream).expect("handshake");
        ws.send(Message::text("last words")).expect("send");
        // Dropping the WebSocket closes TCP with no Close frame.
    });
    let mut ws = client(&url);
    server.join().expect("server");
    assert_eq!(ws.read().expect("message before the drop"), Message::text("last words"));
    assert!(matches!(ws.read(), Err(Error::AbnormalClosure)));
    assert_eq!(ws.connection().close_code(), Some(CloseCode::ABNORMAL));
}
