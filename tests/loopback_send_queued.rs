//! The send/flush contract on a nonblocking stream: `send` queues, then writes what the
//! stream takes; when the stream would block it says `Sent::Queued` (never `WouldBlock`), so
//! a caller never repeats it and no message goes out twice.

mod loopback;

use std::thread;

use loopback::*;
use rfc6455::{Error, Message, Sent, Settings};

#[test]
fn send_on_a_full_socket_reports_queued_and_nothing_is_duplicated() {
    let (mut client, mut server) = ws_pair(Settings::default());
    server.get_ref().set_nonblocking(true).expect("nonblocking");
    let chunk = vec![7u8; 256 * 1024];
    let mut sent = 0usize;
    let mut queued = 0usize;
    // Nobody reads yet: the socket buffers fill and `send` starts saying Queued.
    while queued < 3 {
        match server.send(Message::binary(chunk.clone())).expect("send never fails here") {
            Sent::Flushed => {}
            Sent::Queued => queued += 1,
        }
        sent += 1;
    }
    assert!(server.has_pending_output());
    let reader = thread::spawn(move || {
        let mut got = 0usize;
        for _ in 0..sent {
            match client.read().expect("message") {
                Message::Binary(b) => {
                    assert_eq!(b.len(), chunk.len());
                    got += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        client.close(rfc6455::CloseCode::NORMAL, "done").expect("close");
        loop {
            match client.read() {
                Ok(_) => {}
                Err(Error::ConnectionClosed) => break,
                Err(e) => panic!("client: {e}"),
            }
        }
        got
    });
    until_done(|| server.flush()).expect("flush");
    // Exactly the messages sent, once each, then the client's Close.
    assert!(matches!(until_done(|| server.read()), Ok(Message::Close(_))));
    assert!(matches!(until_done(|| server.read()), Err(Error::ConnectionClosed)));
    assert_eq!(reader.join().expect("reader"), sent);
}
