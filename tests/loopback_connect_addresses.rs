//! `connect` tries every address a host resolves to, in order, each within
//! `Settings::connect_timeout`, and uses the first that answers (a host with an IPv6 address
//! nobody listens on and an IPv4 one that works is common).

use std::net::{SocketAddr, TcpListener};
use std::thread;

use rfc6455::handshake::ClientRequest;
use rfc6455::socket::connect_addrs;
use rfc6455::{Message, Settings};

#[test]
fn an_address_that_refuses_is_skipped_for_the_next_one() {
    // A port that was just free: connecting to it is refused.
    let refused: SocketAddr = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr")
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let good = listener.local_addr().expect("addr");
    let server = thread::spawn(move || {
        let mut ws = rfc6455::accept(listener.accept().expect("accept").0).expect("handshake");
        ws.read().expect("message")
    });
    let request = ClientRequest::new(&format!("ws://example.test:{}/", good.port())).expect("url");
    let (mut ws, _) =
        connect_addrs(&[refused, good][..], request, Settings::default()).expect("connect");
    ws.send(Message::text("second address")).expect("send");
    assert_eq!(server.join().expect("server"), Message::text("second address"));
}

#[test]
fn when_every_address_refuses_the_last_error_is_reported() {
    let refused: SocketAddr = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr")
    };
    let request = ClientRequest::new(&format!("ws://{refused}/")).expect("url");
    match connect_addrs(&[refused, refused][..], request, Settings::default()) {
        Err(rfc6455::Error::Io(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused)
        }
        other => panic!("expected a refused connection, got {:?}", other.map(|_| ())),
    }
}
