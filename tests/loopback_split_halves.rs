//! Split halves: a reader thread and a writer thread on one connection, on both ends. The
//! reader's obligations (§5.5.2: a Pong for each Ping; §5.5.1: the echo of a Close) go out
//! in order with the writer's frames and never inside one of them (the peer would fail the
//! connection on the first broken frame).

mod loopback;

use std::sync::mpsc;
use std::thread;

use bytes::Bytes;
use loopback::*;
use rfc6455::{CloseCode, Error, Message, Settings};

const MESSAGES: usize = 100_000;
const PING_EVERY: usize = 1_000;

fn text(side: &str, i: usize) -> Message {
    Message::text(format!("{side} {i}"))
}

#[test]
fn reader_and_writer_threads_through_100_000_messages_pings_and_a_clean_close() {
    let (client, server) = ws_pair(Settings::default());
    let (mut client_read, client_write) = client.split().expect("split client");
    let (mut server_read, server_write) = server.split().expect("split server");

    // The server's writer: 100 000 messages, queued in batches and flushed once per batch.
    let server_writer = thread::spawn(move || {
        for i in 0..MESSAGES {
            server_write.write(text("server", i)).expect("queue");
            if i % 64 == 63 {
                server_write.flush().expect("flush");
            }
        }
        server_write.flush().expect("flush");
    });
    // The server's reader: every client message in order, the Pings (answered by the
    // reader itself), then the Close, whose echo it owes.
    let server_reader = thread::spawn(move || {
        let (mut got, mut pings) = (0, 0);
        loop {
            match server_read.read() {
                Ok(Message::Text(t)) => {
                    assert_eq!(&*t, format!("client {got}"));
                    got += 1;
                }
                Ok(Message::Ping(_)) => pings += 1,
                Ok(Message::Close(_)) => {}
                Ok(other) => panic!("server got {other:?}"),
                Err(Error::ConnectionClosed) => return (got, pings),
                Err(e) => panic!("server reader: {e}"),
            }
        }
    });
    // The client's reader counts the server's messages and the Pongs for its Pings.
    let (all_read_tx, all_read_rx) = mpsc::channel();
    let client_reader = thread::spawn(move || {
        let (mut got, mut pongs) = (0, 0);
        loop {
            match client_read.read() {
                Ok(Message::Text(t)) => {
                    assert_eq!(&*t, format!("server {got}"));
                    got += 1;
                    if got == MESSAGES {
                        all_read_tx.send(()).expect("signal");
                    }
                }
                Ok(Message::Pong(p)) => {
                    assert_eq!(p, Bytes::from(format!("ping {pongs}")));
                    pongs += 1;
                }
                Ok(Message::Close(_)) => {}
                Ok(other) => panic!("client got {other:?}"),
                Err(Error::ConnectionClosed) => return (got, pongs),
                Err(e) => panic!("client reader: {e}"),
            }
        }
    });
    // The client's writer (this thread): messages with a Ping every 1 000, then, once every
    // server message has arrived, the Close.
    for i in 0..MESSAGES {
        client_write.write(text("client", i)).expect("queue");
        if i % PING_EVERY == 0 {
            client_write
                .write(Message::Ping(Bytes::from(format!("ping {}", i / PING_EVERY))))
                .expect("ping");
        }
        if i % 64 == 63 {
            client_write.flush().expect("flush");
        }
    }
    client_write.flush().expect("flush");
    server_writer.join().expect("server writer");
    all_read_rx.recv_timeout(PATIENCE).expect("all server messages read");
    client_write.close(CloseCode::NORMAL, "done").expect("close");

    assert_eq!(server_reader.join().expect("server reader"), (MESSAGES, MESSAGES / PING_EVERY));
    assert_eq!(client_reader.join().expect("client reader"), (MESSAGES, MESSAGES / PING_EVERY));
}
