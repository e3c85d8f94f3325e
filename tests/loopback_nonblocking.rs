//! The driver on nonblocking streams: `WouldBlock` surfaces as an error and the same call
//! resumes later without losing or duplicating a byte.

use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::{CloseCode, Error, MaybeTlsStream, Message, WebSocket, accept, connect};

fn pair() -> (WebSocket<MaybeTlsStream>, WebSocket<MaybeTlsStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    // The server as a (plain) `MaybeTlsStream` too: one type for both ends.
    let server = thread::spawn(move || {
        accept(MaybeTlsStream::from(listener.accept().expect("accept").0)).expect("hs")
    });
    let (client, _) = connect(&url).expect("connect");
    (client, server.join().expect("server"))
}

/// Repeat `op` while it would block, for at most 20 seconds.
fn retry<T>(mut op: impl FnMut() -> Result<T, Error>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match op() {
            Err(e) if e.is_would_block() && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(1));
            }
            other => return other.expect("operation"),
        }
    }
}

#[test]
fn large_messages_survive_would_block_in_both_directions() {
    let (mut client, mut server) = pair();
    server.get_ref().set_nonblocking(true).expect("nonblocking");
    client.get_ref().set_nonblocking(true).expect("nonblocking");

    // Nothing to read yet: WouldBlock, and nothing is lost by asking.
    assert!(server.read().expect_err("nothing sent yet").is_would_block());

    // 8 MiB each way cannot fit in the socket buffers: writes must block part-way.
    let big: Vec<u8> = (0..8usize << 20).map(|i| (i % 253) as u8).collect();
    client.write(Message::binary(big.clone())).expect("queue");
    server.write(Message::binary(big.clone())).expect("queue");
    let mut client_got = None;
    let mut server_got = None;
    let mut saw_write_block = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while (client_got.is_none() || server_got.is_none()) && Instant::now() < deadline {
        for (ws, got) in [(&mut client, &mut client_got), (&mut server, &mut server_got)] {
            match ws.flush() {
                Err(e) if e.is_would_block() => saw_write_block = true,
                other => other.expect("flush"),
            }
            if got.is_none() {
                match ws.read() {
                    Ok(message) => *got = Some(message),
                    Err(e) if e.is_would_block() => {}
                    Err(e) => panic!("read: {e}"),
                }
            }
        }
    }
    assert!(saw_write_block, "8 MiB should not fit in loopback socket buffers at once");
    assert_eq!(client_got, Some(Message::binary(big.clone())));
    assert_eq!(server_got, Some(Message::binary(big)));

    // Many small messages in one go, then the close handshake, all nonblocking.
    for i in 0..1000 {
        client.write(Message::text(format!("message {i}"))).expect("queue");
    }
    retry(|| client.flush());
    for i in 0..1000 {
        assert_eq!(retry(|| server.read()), Message::text(format!("message {i}")));
    }
    client.close(CloseCode::NORMAL, "bye").ok();
    retry(|| client.flush());
    assert!(matches!(retry(|| server.read()), Message::Close(Some(_))));
    // The server's echo completes the handshake. It then closes its sending side and waits
    // for the client's FIN (§7.1.1), which on a nonblocking stream is a WouldBlock.
    assert!(server.read().expect_err("lingering for the client's FIN").is_would_block());
    assert!(matches!(retry(|| client.read()), Message::Close(Some(_))));
    // The client sees the server's FIN and reports the clean end; its FIN ends the server's.
    assert!(matches!(until_done(|| client.read()), Err(Error::ConnectionClosed)));
    drop(client);
    assert!(matches!(until_done(|| server.read()), Err(Error::ConnectionClosed)));
}

/// Repeat `op` while it would block, for at most 20 seconds; return what it ends with.
fn until_done<T>(mut op: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match op() {
            Err(e) if e.is_would_block() && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(1));
            }
            other => return other,
        }
    }
}

#[test]
fn the_read_buffer_is_let_go_after_a_large_message() {
    let (mut client, mut server) = pair();
    let big = vec![3u8; 4 << 20];
    let writer = thread::spawn(move || {
        client.send(Message::binary(big)).expect("send");
        client.send(Message::text("small")).expect("send");
        client
    });
    assert_eq!(server.read().expect("big").payload().len(), 4 << 20);
    assert_eq!(server.read().expect("small"), Message::text("small"));
    // The next read finds nothing (WouldBlock) ...
    server.get_ref().set_nonblocking(true).expect("nonblocking");
    assert!(server.read().expect_err("nothing more").is_would_block());
    // ... and the multi-MiB buffer the big message needed is not kept by the connection.
    assert!(
        server.connection_mut().read_buf().capacity() <= 256 * 1024,
        "{} bytes kept",
        server.connection_mut().read_buf().capacity()
    );
    drop(writer.join().expect("writer"));
}
