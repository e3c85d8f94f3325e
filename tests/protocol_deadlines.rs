//! Deadlines as values (the core never reads a clock): the caller passes the time in with
//! `Connection::set_time` and the connection reports when it next needs attention. The close
//! wait (§7.1.1: an endpoint may give up on a peer that does not answer its Close; the close
//! code is then 1006, §7.1.5) and keepalive (§5.5.2: a Ping "may serve either as a keepalive
//! or as a means to verify that the remote endpoint is still responsive").

mod common;

use std::time::{Duration, Instant};

use common::*;
use rfc6455::frame::OpCode;
use rfc6455::{CloseCode, CloseFrame, Config, Connection, Keepalive, ProtocolError, Role, State};

const SECOND: Duration = Duration::from_secs(1);

fn with(config: Config) -> Connection {
    Connection::new(Role::Server, config)
}

fn keepalive(interval: u64, timeout: u64) -> Config {
    Config {
        keepalive: Some(Keepalive {
            interval: Duration::from_secs(interval),
            timeout: Duration::from_secs(timeout),
        }),
        ..Config::default()
    }
}

#[test]
fn a_connection_never_told_the_time_has_no_deadline() {
    let mut conn = with(keepalive(1, 1));
    conn.close(Some(CloseFrame::new(CloseCode::NORMAL, "bye"))).expect("close");
    assert_eq!(conn.next_deadline(), None);
    assert_eq!(conn.close_deadline(), None);
}

#[test]
fn the_close_wait_runs_from_our_close_and_ends_in_1006() {
    let t0 = Instant::now();
    let mut conn = with(Config { close_timeout: 5 * SECOND, ..Config::default() });
    conn.set_time(t0);
    assert_eq!(conn.next_deadline(), None, "no deadline while open without keepalive");
    conn.close(Some(CloseFrame::new(CloseCode::NORMAL, "bye"))).expect("close");
    assert_eq!(conn.close_deadline(), Some(t0 + 5 * SECOND));
    assert_eq!(conn.next_deadline(), Some(t0 + 5 * SECOND));
    conn.set_time(t0 + 4 * SECOND);
    assert_eq!(conn.state(), State::CloseSent);
    conn.set_time(t0 + 5 * SECOND);
    assert_eq!(conn.state(), State::Aborted);
    assert!(conn.close_timed_out());
    assert_eq!(conn.close_code(), Some(CloseCode::ABNORMAL));
    assert_eq!(conn.next_deadline(), None);
}

#[test]
fn the_peers_close_ends_the_wait() {
    let t0 = Instant::now();
    let mut conn = with(Config::default());
    conn.set_time(t0);
    conn.close(None).expect("close");
    let _ = conn.take_output();
    feed_ok(&mut conn, &client_frame(true, OpCode::Close, &close_payload(1000, b"")));
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.close_deadline(), None);
    conn.set_time(t0 + 60 * SECOND);
    assert!(!conn.close_timed_out());
    assert_eq!(conn.close_code(), Some(CloseCode::NORMAL));
}

#[test]
fn a_silent_peer_is_pinged_after_the_interval() {
    let t0 = Instant::now();
    let mut conn = with(keepalive(10, 5));
    conn.set_time(t0);
    assert_eq!(conn.next_deadline(), Some(t0 + 10 * SECOND));
    conn.set_time(t0 + 9 * SECOND);
    assert!(output_frames(&mut conn).is_empty());
    conn.set_time(t0 + 10 * SECOND);
    let frames = output_frames(&mut conn);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].header.opcode, OpCode::Ping);
    assert!(!frames[0].header.is_masked(), "a server never masks (§5.1)");
    // Now the Pong deadline.
    assert_eq!(conn.next_deadline(), Some(t0 + 15 * SECOND));
}

#[test]
fn anything_from_the_peer_resets_the_silence() {
    let t0 = Instant::now();
    let mut conn = with(keepalive(10, 5));
    conn.set_time(t0);
    conn.set_time(t0 + 8 * SECOND);
    conn.receive(&client_frame(true, OpCode::Binary, b"alive"));
    assert_eq!(drain(&mut conn).expect("ok").len(), 1);
    assert_eq!(conn.next_deadline(), Some(t0 + 18 * SECOND));
    conn.set_time(t0 + 12 * SECOND);
    assert!(output_frames(&mut conn).is_empty(), "no Ping: the peer spoke 4 s ago");
}

#[test]
fn bytes_appended_to_the_read_buffer_count_when_the_time_is_passed_in() {
    let t0 = Instant::now();
    let mut conn = with(keepalive(10, 5));
    conn.set_time(t0);
    // The zero-copy path: bytes appended directly, then the time, then decoding.
    conn.read_buf().extend_from_slice(&client_frame(true, OpCode::Text, b"hi"));
    conn.set_time(t0 + 7 * SECOND);
    assert_eq!(drain(&mut conn).expect("ok").len(), 1);
    assert_eq!(conn.next_deadline(), Some(t0 + 17 * SECOND));
}

#[test]
fn a_pong_answers_the_keepalive_ping() {
    let t0 = Instant::now();
    let mut conn = with(keepalive(10, 5));
    conn.set_time(t0);
    conn.set_time(t0 + 10 * SECOND);
    assert_eq!(output_frames(&mut conn).len(), 1);
    conn.set_time(t0 + 12 * SECOND);
    conn.receive(&client_frame(true, OpCode::Pong, b""));
    assert_eq!(drain(&mut conn).expect("ok").len(), 1);
    conn.set_time(t0 + 16 * SECOND);
    assert_eq!(conn.state(), State::Open, "answered: not failed at the old Pong deadline");
    assert_eq!(conn.next_deadline(), Some(t0 + 22 * SECOND));
}

#[test]
fn a_peer_silent_past_the_timeout_is_failed_with_1011() {
    let t0 = Instant::now();
    let mut conn = with(keepalive(10, 5));
    conn.set_time(t0);
    conn.set_time(t0 + 10 * SECOND);
    let _ = conn.take_output();
    conn.set_time(t0 + 14 * SECOND);
    assert_eq!(conn.state(), State::Open);
    conn.set_time(t0 + 15 * SECOND);
    let expected = ProtocolError::KeepaliveTimeout { timeout: 5 * SECOND };
    assert_eq!(conn.state(), State::Failed);
    assert_eq!(conn.failure(), Some(&expected));
    assert_eq!(conn.next_event(), Err(expected));
    assert_eq!(only_close_code(&mut conn), 1011);
}

#[test]
fn a_keepalive_ping_never_grows_the_queue_past_the_write_budget() {
    let t0 = Instant::now();
    let mut config = keepalive(10, 5);
    config.max_write_buffer = 64;
    let mut conn = with(config);
    conn.set_time(t0);
    // Fill the queue to 62 of its 64 bytes (a raw frame bypasses the budget's own check).
    let header = rfc6455::frame::FrameHeader::new(true, OpCode::Binary, None, 60);
    conn.send_raw_frame(&header, &[0u8; 60]);
    let before = conn.output_len();
    conn.set_time(t0 + 10 * SECOND);
    assert!(conn.output_len() <= 64);
    assert_eq!(conn.output_len(), before, "the Ping did not fit: not queued");
    // The timeout runs all the same: a peer that neither reads nor writes is failed.
    conn.set_time(t0 + 15 * SECOND);
    assert_eq!(conn.state(), State::Failed);
}
