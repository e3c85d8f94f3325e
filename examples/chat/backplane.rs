//! The backplane: Redis pub/sub joins the rooms of several chat instances into one.
//!
//! A load balancer sends each browser to one instance; a line sent on instance A must reach
//! the clients of instance B too, so no instance broadcasts by itself: each publishes what
//! its clients send, and broadcasts what the channel brings (its own lines included, so that
//! every instance sees the lines in Redis's one order). Presence works the same way: each
//! instance publishes its names every [`PRESENCE_EVERY`].
//!
//! Redis's client is blocking, and the event loop must never block: two threads talk to
//! Redis (one publishes what the loop hands it over a channel, one waits on the
//! subscription), and the subscriber wakes the loop (a `mio::Waker`) for each delivery.
//! Both reconnect with backoff when Redis goes away; lines published meanwhile are lost
//! (and said so on stderr): pub/sub keeps nothing for a subscriber that is not there.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use mio::Waker;

/// The channel of chat lines (each the JSON of a `message`, as the browsers get it).
pub const MESSAGES: &str = "rfc6455-chat:messages";
/// The channel of presence: `INSTANCE\tNAME\tNAME…`.
pub const PRESENCE: &str = "rfc6455-chat:presence";
/// How often each instance announces its names.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(2);
/// An instance not heard for this long has left (it crashed, or lost Redis).
pub const PRESENCE_EXPIRES: Duration = Duration::from_secs(6);

/// What the channel brought.
pub enum Delivery {
    /// A chat line, ready for the browsers.
    Message(String),
    /// An instance's names: the instance, then the names.
    Presence(String, Vec<String>),
}

/// The loop's handle: publish on a channel, receive what the subscription delivered.
pub struct Backplane {
    publish: Sender<(&'static str, String)>,
    deliveries: Receiver<Delivery>,
}

impl Backplane {
    /// Connect (once each, so that a wrong URL fails at start) and start both threads.
    pub fn start(url: &str, waker: Arc<Waker>) -> redis::RedisResult<Backplane> {
        let client = redis::Client::open(url)?;
        let publisher = client.get_connection()?;
        let subscriber = client.get_connection()?;
        let (publish, to_publish) = mpsc::channel();
        let (delivered, deliveries) = mpsc::channel();
        let publish_client = client.clone();
        thread::Builder::new()
            .name("redis-publish".into())
            .spawn(move || publish_loop(publish_client, publisher, to_publish))?;
        thread::Builder::new()
            .name("redis-subscribe".into())
            .spawn(move || subscribe_loop(client, subscriber, delivered, waker))?;
        Ok(Backplane { publish, deliveries })
    }

    /// Hand `payload` to the publisher thread (never blocks).
    pub fn publish(&self, channel: &'static str, payload: String) {
        let _ = self.publish.send((channel, payload));
    }

    /// The next delivery, if one is waiting.
    pub fn try_next(&self) -> Option<Delivery> {
        self.deliveries.try_recv().ok()
    }
}

/// Wait between reconnection attempts: 0.25 s doubling to 4 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 << attempt.min(4))
}

fn reconnect(client: &redis::Client, what: &str) -> redis::Connection {
    let mut attempt = 0;
    loop {
        thread::sleep(backoff(attempt));
        match client.get_connection() {
            Ok(connection) => {
                eprintln!("chat: redis {what}: reconnected");
                return connection;
            }
            Err(e) if attempt == 0 => eprintln!("chat: redis {what}: {e}; retrying"),
            Err(_) => {}
        }
        attempt += 1;
    }
}

fn publish_loop(
    client: redis::Client,
    mut connection: redis::Connection,
    to_publish: Receiver<(&'static str, String)>,
) {
    // Ends when the loop's `Backplane` is dropped.
    while let Ok((channel, payload)) = to_publish.recv() {
        let sent: redis::RedisResult<i64> =
            redis::cmd("PUBLISH").arg(channel).arg(&payload).query(&mut connection);
        if let Err(e) = sent {
            eprintln!("chat: redis publish: {e}; a line on {channel} is lost");
            connection = reconnect(&client, "publish");
        }
    }
}

fn subscribe_loop(
    client: redis::Client,
    mut connection: redis::Connection,
    delivered: Sender<Delivery>,
    waker: Arc<Waker>,
) {
    loop {
        let mut pubsub = connection.as_pubsub();
        let subscribed = pubsub.subscribe(MESSAGES).and_then(|()| pubsub.subscribe(PRESENCE));
        if let Err(e) = subscribed {
            eprintln!("chat: redis subscribe: {e}");
        } else {
            loop {
                let message = match pubsub.get_message() {
                    Ok(message) => message,
                    Err(e) => {
                        eprintln!("chat: redis subscription: {e}");
                        break;
                    }
                };
                let Ok(payload) = message.get_payload::<String>() else { continue };
                let delivery = match message.get_channel_name() {
                    MESSAGES => Delivery::Message(payload),
                    PRESENCE => {
                        let mut fields = payload.split('\t').map(str::to_owned);
                        let Some(instance) = fields.next() else { continue };
                        Delivery::Presence(instance, fields.collect())
                    }
                    _ => continue,
                };
                if delivered.send(delivery).is_err() || waker.wake().is_err() {
                    return;
                }
            }
        }
        drop(pubsub);
        connection = reconnect(&client, "subscription");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_ceiling() {
        let waits: Vec<u64> = (0..7).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 4000, 4000]);
    }
}
