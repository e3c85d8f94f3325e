//! Autobahn|Testsuite's verdicts, for the cases it shares with us: `behavior` and
//! `behaviorClose`, decided as its `Case.onConnectionLost` (`case/case.py`) and the
//! overrides of the case classes decide them, from what Autobahn's side of the connection
//! recorded (`runner/autobahn.rs`).
//!
//! `behavior`: the verdict whose `expected` list equals `received` (FAILED when none does),
//! or what the case's own `onMessage` set (9.x, 12, 13). `behaviorClose`, in this order:
//! FAILED when the wrong side started the closing handshake (`closedByMe`), UNCLEAN when a
//! clean close was required and did not happen, WRONG CODE when the peer's Close carried a
//! code outside `closeCode`, FAILED BY CLIENT when Autobahn, the client, had to drop TCP;
//! else OK.

use crate::model::{Rule, Verdict};
use crate::runner::{AbStatus, describe_rx, same};

/// Autobahn's `behaviorClose`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseBehavior {
    Ok,
    Informational,
    FailedByClient,
    WrongCode,
    Unclean,
    Failed,
}

impl CloseBehavior {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseBehavior::Ok => "OK",
            CloseBehavior::Informational => "INFORMATIONAL",
            CloseBehavior::FailedByClient => "FAILED BY CLIENT",
            CloseBehavior::WrongCode => "WRONG CODE",
            CloseBehavior::Unclean => "UNCLEAN",
            CloseBehavior::Failed => "FAILED",
        }
    }

    pub const ALL: [CloseBehavior; 6] = [
        CloseBehavior::Ok,
        CloseBehavior::Informational,
        CloseBehavior::FailedByClient,
        CloseBehavior::WrongCode,
        CloseBehavior::Unclean,
        CloseBehavior::Failed,
    ];

    /// What the close behaviour costs in the strict verdict: Autobahn's red (FAILED,
    /// UNCLEAN) and amber (WRONG CODE, FAILED BY CLIENT) as FAILED and NON-STRICT.
    pub fn floor(self) -> Verdict {
        match self {
            CloseBehavior::Ok | CloseBehavior::Informational => Verdict::Ok,
            CloseBehavior::FailedByClient | CloseBehavior::WrongCode => Verdict::NonStrict,
            CloseBehavior::Unclean | CloseBehavior::Failed => Verdict::Failed,
        }
    }
}

/// Autobahn's two verdicts of one case, with its `result` and `resultClose` in words.
#[derive(Clone, Debug)]
pub struct AutobahnVerdict {
    pub behavior: Verdict,
    pub close: CloseBehavior,
    pub result: String,
    pub result_close: String,
}

impl AutobahnVerdict {
    /// Both verdicts are OK.
    pub fn ok(&self) -> bool {
        self.behavior == Verdict::Ok && self.close == CloseBehavior::Ok
    }
}

/// `client`: Autobahn (we) played the client.
pub fn judge(ab: &AbStatus, client: bool) -> AutobahnVerdict {
    let spec = &ab.spec;
    let (mut behavior, mut result) = match spec.rule {
        Rule::EchoLength { .. } => ab.behavior.clone().unwrap_or((
            Verdict::Failed,
            "Did not receive the message before the connection closed.".into(),
        )),
        Rule::Stream { wait_secs } => ab.behavior.clone().unwrap_or((
            Verdict::Failed,
            format!("Case did not finish within {wait_secs} seconds."),
        )),
        _ => (Verdict::Failed, "Actual events differ from any expected.".into()),
    };
    let mut matched = false;
    for (v, rx) in &spec.expected {
        if same(&ab.received, rx) {
            behavior = *v;
            result = "Actual events match at least one expected.".into();
            matched = true;
            break;
        }
    }
    if !spec.expected.is_empty() {
        let expected: Vec<String> = spec
            .expected
            .iter()
            .map(|(v, rx)| format!("{} {}", v.as_str(), describe_rx(rx)))
            .collect();
        let got: Vec<String> = ab.received.iter().map(|g| g.describe()).collect();
        result = format!(
            "{result} Expected: {}; observed: [{}]{}",
            expected.join(" or "),
            got.join(", "),
            if matched { "" } else { " (matches none)" }
        );
    }
    let c = &spec.close;
    let wrong_endpoint = c.closed_by_me != ab.closed_by_me;
    let (mut close, text) = if wrong_endpoint {
        (CloseBehavior::Failed, "The connection was failed by the wrong endpoint".to_string())
    } else if c.require_clean && !ab.was_clean {
        (
            CloseBehavior::Unclean,
            "The spec requires the connection to be failed cleanly here".to_string(),
        )
    } else if ab.remote_close_code.is_some_and(|code| !c.codes.contains(&code)) {
        let codes: Vec<String> = c.codes.iter().map(u16::to_string).collect();
        (
            CloseBehavior::WrongCode,
            format!("The close code should have been {} or empty", codes.join(",")),
        )
    } else if client && ab.dropped_by_me {
        (
            CloseBehavior::FailedByClient,
            "It is preferred that the server close the TCP connection".to_string(),
        )
    } else {
        (CloseBehavior::Ok, "Connection was properly closed".to_string())
    };
    let code = |c: Option<u16>| c.map_or_else(|| "None".to_string(), |c| c.to_string());
    let mut result_close = format!(
        "{text} (closedByMe={}, expected {}; failedByMe={}; droppedByMe={}; wasClean={}{}; localCloseCode={}; remoteCloseCode={})",
        py(ab.closed_by_me),
        py(c.closed_by_me),
        py(ab.failed_by_me),
        py(ab.dropped_by_me),
        py(ab.was_clean),
        ab.not_clean_reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(),
        code(ab.local_close_code),
        code(ab.remote_close_code),
    );
    if c.wrong_endpoint_fatal && wrong_endpoint {
        behavior = Verdict::Failed;
        result = format!("{result}; the peer did not fail the connection itself");
    }
    match spec.rule {
        Rule::WrongCodeFails if close == CloseBehavior::WrongCode => {
            behavior = Verdict::Failed;
            result = text;
        }
        Rule::Informational => {
            // 7.1.6 names which of its two expectations happened; 7.13 says nothing.
            if spec.expected.len() < 2 {
                result = "Actual events are undefined by the spec.".into();
            } else if behavior == Verdict::Ok {
                result = format!("Text message was processed before close. {result}");
            } else if behavior == Verdict::NonStrict {
                result =
                    format!("Close was processed before text message could be returned. {result}");
            }
            behavior = Verdict::Informational;
            close = CloseBehavior::Informational;
        }
        _ => {}
    }
    for n in &ab.notes {
        result_close = format!("{result_close}; {n}");
    }
    AutobahnVerdict { behavior, close, result, result_close }
}

fn py(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::{ab_echo, ab_fail, rx_msg};
    use crate::model::TEXT;
    use crate::runner::{AbState, Got};

    fn closed(spec: crate::model::Autobahn) -> AbStatus {
        let mut a = AbStatus::new(spec);
        a.state = AbState::Closed;
        a
    }

    #[test]
    fn an_echo_then_our_clean_close_is_ok() {
        let mut a = closed(ab_echo(vec![rx_msg(TEXT, &b"hi"[..])]));
        a.received.push(Got::Message { binary: false, data: bytes::Bytes::from_static(b"hi") });
        a.closed_by_me = true;
        a.was_clean = true;
        a.remote_close_code = Some(1000);
        let v = judge(&a, true);
        assert_eq!((v.behavior, v.close), (Verdict::Ok, CloseBehavior::Ok));
        // The server left TCP open: Autobahn dropped it.
        a.dropped_by_me = true;
        assert_eq!(judge(&a, true).close, CloseBehavior::FailedByClient);
        assert_eq!(judge(&a, false).close, CloseBehavior::Ok);
    }

    #[test]
    fn a_peer_that_closes_itself_in_an_echo_case_fails_both() {
        let mut a = closed(ab_echo(vec![rx_msg(TEXT, &b"hi"[..])]));
        a.was_clean = true;
        a.remote_close_code = Some(1009);
        let v = judge(&a, true);
        assert_eq!((v.behavior, v.close), (Verdict::Failed, CloseBehavior::Failed));
    }

    #[test]
    fn failing_with_another_code_or_by_dropping_tcp() {
        let mut a = closed(ab_fail(&[1002]));
        a.remote_close_code = Some(1011);
        a.was_clean = true;
        assert_eq!(judge(&a, true).close, CloseBehavior::WrongCode);
        let b = closed(ab_fail(&[1002]));
        // No Close at all, TCP dropped by the peer: OK for Autobahn (requireClean False).
        let v = judge(&b, true);
        assert_eq!((v.behavior, v.close), (Verdict::Ok, CloseBehavior::Ok));
    }
}
