//! §7.1.1: after the close handshake "The server MUST close the underlying TCP connection
//! immediately; the client SHOULD wait for the server to close the connection". A server made
//! by `accept_tcp` shuts its sending side down as soon as the handshake is over, even while
//! the application still holds the socket; our client waits for that and reports a clean close.

use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rfc6455::handshake::{Accept, ClientRequest};
use rfc6455::{CloseCode, CloseFrame, Config, Error, Message, WebSocket, accept_tcp};

#[test]
fn the_server_closes_tcp_first_while_still_holding_the_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut ws = accept_tcp(stream, Config::default(), |_| Ok(Accept::default())).expect("hs");
        let close = ws.read().expect("the client's close");
        assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
        // Keep the WebSocket (and so the file descriptor) alive until the client is done.
        release_rx.recv_timeout(Duration::from_secs(60)).ok();
        drop(ws);
        close
    });
    // A client over a plain stream (no driver hooks): it can only learn of the server's close
    // from the FIN itself; a read timeout instead would surface as an IO error.
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let request = ClientRequest::new(&format!("ws://{addr}/")).expect("url");
    let (mut ws, _) = WebSocket::client(stream, &request, Config::default()).expect("hs");
    ws.close(CloseCode::NORMAL, "bye").expect("close");
    assert_eq!(
        ws.read().expect("echo"),
        Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
    );
    // This only returns once the server's FIN arrived: the server still holds its socket.
    assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
    release_tx.send(()).ok();
    assert_eq!(
        server.join().expect("server"),
        Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "bye")))
    );
}
