//! §7.1.2 on a nonblocking stream: after `close`, `read` says `WouldBlock` (the stream has
//! nothing yet) until the peer's Close arrives, however long that takes within
//! `close_timeout`; it is never taken for the close wait running out.

mod loopback;

use std::thread;
use std::time::Duration;

use loopback::*;
use rfc6455::{CloseCode, CloseFrame, Error, Message, Settings};

#[test]
fn a_nonblocking_close_waits_for_the_echo_sent_half_a_second_later() {
    let (mut client, mut server) = ws_pair(Settings::default());
    client.get_ref().set_nonblocking(true).expect("nonblocking");
    let server = thread::spawn(move || {
        // The server reads the Close but answers only after 0.5 s: our own read loop is
        // what sends the echo, so hold it back by sleeping before the read.
        thread::sleep(Duration::from_millis(500));
        let close = server.read().expect("the client's Close");
        assert_eq!(
            server.read().err().map(|e| e.to_string()),
            Some(Error::ConnectionClosed.to_string())
        );
        close
    });
    client.close(CloseCode::NORMAL, "bye").expect("close");
    // The first read finds nothing: WouldBlock, not "the peer did not answer in time".
    let first = client.read().expect_err("nothing arrived yet");
    assert!(first.is_would_block(), "expected WouldBlock, got {first}");
    assert_eq!(
        until_done(|| client.read()).expect("the echo"),
        Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
    );
    assert!(matches!(until_done(|| client.read()), Err(Error::ConnectionClosed)));
    assert_eq!(
        server.join().expect("server"),
        Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "bye")))
    );
}
