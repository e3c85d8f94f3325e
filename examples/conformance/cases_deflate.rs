//! Groups 12 and 13: permessage-deflate (RFC 7692), Autobahn's cases of the same ids
//! (`autobahntestsuite/case/case12_x_x.py`).
//!
//! Every case sends 1000 messages, one at a time, each after the echo of the previous, and
//! checks each echo (kind, length, content). The 18 cases of a subgroup differ in message
//! size and auto-fragmentation (`MSG_SIZES`). Group 12 varies the payload (five files) with
//! Autobahn's default offer; group 13 varies the negotiation (seven offers / accept
//! functions) with the JSON payload. A peer that does not agree to the extension gets
//! UNIMPLEMENTED, as in Autobahn.

use crate::model::*;

/// Autobahn's `MSG_SIZES`: (payload length, message count, case timeout in seconds,
/// auto-fragment size; 0: one frame per message).
const MSG_SIZES: [(usize, usize, u64, usize); 18] = [
    (16, 1000, 60, 0),
    (64, 1000, 60, 0),
    (256, 1000, 120, 0),
    (1024, 1000, 240, 0),
    (4096, 1000, 480, 0),
    (8192, 1000, 480, 0),
    (16384, 1000, 480, 0),
    (32768, 1000, 480, 0),
    (65536, 1000, 480, 0),
    (131072, 1000, 480, 0),
    (8192, 1000, 480, 256),
    (16384, 1000, 480, 256),
    (32768, 1000, 480, 256),
    (65536, 1000, 480, 256),
    (131072, 1000, 480, 256),
    (131072, 1000, 480, 1024),
    (131072, 1000, 480, 4096),
    (131072, 1000, 480, 32768),
];

/// Autobahn's `DEFLATE_PARAMS`: group 13's client offers and server accept functions.
const DEFLATE_PARAMS: [(&[Offer], ServerAccept); 7] = [
    (&[Offer::new(false, 0)], ServerAccept::Plain),
    (&[Offer::new(true, 0)], ServerAccept::NoContextTakeover),
    (&[Offer::new(false, 9)], ServerAccept::MaxWindowBits(9)),
    (&[Offer::new(false, 15)], ServerAccept::MaxWindowBits(15)),
    (&[Offer::new(true, 9)], ServerAccept::NoContextTakeoverMaxWindowBits(9)),
    (&[Offer::new(true, 15)], ServerAccept::NoContextTakeoverMaxWindowBits(15)),
    (&[Offer::new(true, 9), Offer::new(true, 0), Offer::new(false, 0)], ServerAccept::Fallback),
];

fn offers_desc(offers: &[Offer]) -> String {
    let each: Vec<String> = offers
        .iter()
        .map(|o| {
            let py = |b: bool| if b { "True" } else { "False" };
            format!("({}, {})", py(o.request_no_context_takeover), o.request_max_window_bits)
        })
        .collect();
    format!("[{}]", each.join(", "))
}

fn add_subgroup(
    cases: &mut Vec<Case>,
    sub: &str,
    corpus: Corpus,
    offers: &[Offer],
    accept: ServerAccept,
    negotiation: &str,
) {
    let kind = if corpus.binary() { "binary" } else { "text" };
    for (i, (len, count, wait_secs, frag)) in MSG_SIZES.into_iter().enumerate() {
        let unit = if corpus.binary() { "bytes" } else { "code points" };
        cases.push(Case {
            id: format!("{sub}.{}", i + 1),
            desc: format!(
                "Send {count} compressed {kind} messages of {len} {unit} of {} ({} bytes), one \
                 after each echo, auto-fragmented to {frag} octets (0: unfragmented); {negotiation}. \
                 Each echo must equal what was sent; the case times out after {wait_secs} s",
                corpus.describe(),
                corpus.size(),
            ),
            // Autobahn's onOpen: closeAfter(WAITSECS), then the first message (none, and a
            // Close at once, when the extension was not agreed: UNIMPLEMENTED).
            steps: vec![
                Step::CloseAfter(wait_secs * 1000),
                Step::DeflateEchoes { corpus, len, count, frag },
            ],
            expect: Expect::DeflateEcho { count, wait_secs },
            only: None,
            tags: 0,
            handshake: None,
            deflate: Some(Deflate { offers: offers.to_vec(), accept }),
            autobahn: Some(Autobahn {
                expected: vec![],
                close: ExpectClose {
                    closed_by_me: true,
                    codes: vec![1000],
                    require_clean: true,
                    wrong_endpoint_fatal: false,
                },
                suppress_close: false,
                rule: Rule::Stream { wait_secs },
            }),
        });
    }
}

/// Group 12: the five payloads, with Autobahn's default offer (client mode) and its
/// `accept_deflate` (server mode: accept the first offer as it is).
pub fn group12(cases: &mut Vec<Case>) {
    for (j, corpus) in Corpus::IN_ORDER.into_iter().enumerate() {
        add_subgroup(
            cases,
            &format!("12.{}", j + 1),
            corpus,
            &[Offer::new(false, 0)],
            ServerAccept::Plain,
            "default permessage-deflate offer",
        );
    }
}

/// Group 13: the JSON payload with seven negotiations.
pub fn group13(cases: &mut Vec<Case>) {
    for (j, (offers, accept)) in DEFLATE_PARAMS.into_iter().enumerate() {
        let negotiation = format!(
            "client offers (server_no_context_takeover, server_max_window_bits): {} / server \
             accepts (client_no_context_takeover, client_max_window_bits): {}",
            offers_desc(offers),
            accept.describe()
        );
        add_subgroup(cases, &format!("13.{}", j + 1), Corpus::Json, offers, accept, &negotiation);
    }
}
