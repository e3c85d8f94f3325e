//! Output: a summary table per group (Autobahn-compatible and strict verdicts side by
//! side), a JSON report and a self-contained HTML page, all written by hand. The
//! expectations files and the rationale are in `expect.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::autobahn::{AutobahnVerdict, CloseBehavior};
use crate::model::Case;
use crate::verdict::Verdict;

/// The outcome of one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub id: String,
    pub group: String,
    pub desc: String,
    /// Autobahn's `behavior` and `behaviorClose`, for a case it shares with us.
    pub autobahn: Option<AutobahnVerdict>,
    /// The strict verdict: Autobahn's, or worse where this project checks more.
    pub verdict: Verdict,
    pub reason: String,
    pub millis: u128,
    pub wire: Vec<String>,
}

impl CaseResult {
    /// A case that could not run (no opening handshake, or never asked for): FAILED both
    /// ways (Autobahn: "The WebSocket opening handshake was never completed!").
    pub fn failed(case: &Case, reason: String, millis: u128, wire: Vec<String>) -> CaseResult {
        let autobahn = case.autobahn.as_ref().map(|_| AutobahnVerdict {
            behavior: Verdict::Failed,
            close: CloseBehavior::Failed,
            result: reason.clone(),
            result_close: "The WebSocket opening handshake was never completed!".into(),
        });
        CaseResult {
            id: case.id.clone(),
            group: case.group().to_string(),
            desc: case.desc.clone(),
            autobahn,
            verdict: Verdict::Failed,
            reason,
            millis,
            wire,
        }
    }

    /// "OK" or "OK / WRONG CODE": Autobahn's two verdicts, or "-" for a case of ours.
    pub fn autobahn_str(&self) -> String {
        match &self.autobahn {
            Some(a) if a.close == CloseBehavior::Ok => a.behavior.as_str().to_string(),
            Some(a) => format!("{} / {}", a.behavior.as_str(), a.close.as_str()),
            None => "-".into(),
        }
    }
}

/// What a run was.
pub struct RunInfo {
    /// "client" (we drove a server) or "server" (we served a client).
    pub mode: String,
    /// The server URL, or the client's agent name.
    pub target: String,
}

const GROUP_NAMES: [(&str, &str); 14] = [
    ("1", "Framing"),
    ("2", "Pings/Pongs"),
    ("3", "Reserved bits"),
    ("4", "Opcodes"),
    ("5", "Fragmentation"),
    ("6", "UTF-8 handling"),
    ("7", "Close handling"),
    ("9", "Limits/Performance"),
    ("10", "Auto-fragmentation"),
    ("12", "permessage-deflate payloads"),
    ("13", "permessage-deflate parameters"),
    ("B", "Beyond Autobahn (framing)"),
    ("H", "Opening handshake"),
    ("", ""),
];

fn group_name(g: &str) -> &'static str {
    GROUP_NAMES.iter().find(|(id, _)| *id == g).map_or("", |(_, n)| n)
}

fn group_order(g: &str) -> (u32, String) {
    (g.parse::<u32>().unwrap_or(100), g.to_string())
}

/// The summary's verdict columns, in order.
const COLUMNS: [Verdict; 5] = [
    Verdict::Ok,
    Verdict::NonStrict,
    Verdict::Failed,
    Verdict::Informational,
    Verdict::Unimplemented,
];

/// Per group: the cases, then Autobahn's `behavior` over the ids it shares with us (and how
/// many of those have a `behaviorClose` other than OK), then the strict verdict over all.
#[derive(Default, Clone, Copy)]
struct Counts {
    cases: usize,
    shared: usize,
    autobahn: [usize; 5],
    close_not_ok: usize,
    strict: [usize; 5],
}

/// Counts per group, in group order. UNIMPLEMENTED counts neither as OK nor as FAILED.
pub fn summary(results: &[CaseResult]) -> String {
    let mut groups: BTreeMap<(u32, String), Counts> = BTreeMap::new();
    let col = |v: Verdict| COLUMNS.iter().position(|c| *c == v).unwrap_or(0);
    for r in results {
        let c = groups.entry(group_order(&r.group)).or_default();
        c.cases += 1;
        c.strict[col(r.verdict)] += 1;
        if let Some(a) = &r.autobahn {
            c.shared += 1;
            c.autobahn[col(a.behavior)] += 1;
            if !matches!(a.close, CloseBehavior::Ok | CloseBehavior::Informational) {
                c.close_not_ok += 1;
            }
        }
    }
    let mut out = String::new();
    let five = |c: &[usize; 5]| c.iter().map(|n| format!("{n:>5}")).collect::<Vec<_>>().join("");
    let row = |out: &mut String, g: &str, name: &str, c: &Counts| {
        let ab = if c.shared == 0 {
            format!("{:>5}{:>25}{:>7}", "-", "", "")
        } else {
            format!("{:>5}{}{:>7}", c.shared, five(&c.autobahn), c.close_not_ok)
        };
        let _ = writeln!(out, "{g:<5} {name:<30} {:>5} | {ab} | {}", c.cases, five(&c.strict));
    };
    let heads = format!("{:>5}{:>5}{:>5}{:>5}{:>5}", "OK", "N-S", "FAIL", "INFO", "UNIM");
    let _ = writeln!(
        out,
        "{:<5} {:<30} {:>5} | {:<37} | strict (every case)",
        "", "", "", "Autobahn-compatible (shared ids)"
    );
    let _ = writeln!(
        out,
        "{:<5} {:<30} {:>5} | {:>5}{heads}{:>7} | {heads}",
        "group", "", "cases", "ids", "close!"
    );
    let mut total = Counts::default();
    for ((_, g), c) in &groups {
        row(&mut out, g, group_name(g), c);
        total.cases += c.cases;
        total.shared += c.shared;
        total.close_not_ok += c.close_not_ok;
        for i in 0..5 {
            total.autobahn[i] += c.autobahn[i];
            total.strict[i] += c.strict[i];
        }
    }
    row(&mut out, "all", "", &total);
    out.push_str(
        "(N-S: NON-STRICT, INFO: INFORMATIONAL, UNIM: UNIMPLEMENTED; close!: Autobahn's behaviorClose is FAILED, UNCLEAN, WRONG CODE or FAILED BY CLIENT)\n",
    );
    out
}

pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn to_json(info: &RunInfo, results: &[CaseResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{{\n  \"mode\": {},\n  \"target\": {},\n  \"cases\": [",
        json_string(&info.mode),
        json_string(&info.target)
    );
    for (i, r) in results.iter().enumerate() {
        let wire: Vec<String> = r.wire.iter().map(|l| json_string(l)).collect();
        let autobahn = match &r.autobahn {
            Some(a) => format!(
                "{{\"behavior\": {}, \"behaviorClose\": {}, \"result\": {}, \"resultClose\": {}}}",
                json_string(a.behavior.as_str()),
                json_string(a.close.as_str()),
                json_string(&a.result),
                json_string(&a.result_close)
            ),
            None => "null".into(),
        };
        let _ = write!(
            out,
            "    {{\"id\": {}, \"group\": {}, \"description\": {}, \"autobahn\": {autobahn}, \"strict\": {}, \"reason\": {}, \"duration_ms\": {}, \"wire\": [{}]}}",
            json_string(&r.id),
            json_string(&r.group),
            json_string(&r.desc),
            json_string(r.verdict.as_str()),
            json_string(&r.reason),
            r.millis,
            wire.join(", ")
        );
        out.push_str(if i + 1 < results.len() { ",\n" } else { "\n" });
    }
    out.push_str("  ]\n}\n");
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn to_html(info: &RunInfo, results: &[CaseResult]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<title>rfc6455 conformance: {} mode, {}</title>",
        html_escape(&info.mode),
        html_escape(&info.target)
    );
    out.push_str(
        "<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;font-size:13px}
th{background:#eee;text-align:left}
td.v{font-weight:bold;white-space:nowrap}
.UNIMPLEMENTED{background:#ddd}.OK{background:#c8efc8}.NON-STRICT,.WRONG-CODE,.FAILED-BY-CLIENT{background:#f6e7a8}.FAILED,.UNCLEAN{background:#f4b4b4}.INFORMATIONAL{background:#c9ddf5}
pre{font-size:12px;margin:4px 0;white-space:pre-wrap;word-break:break-all}
summary{cursor:pointer;color:#035}
</style></head><body>\n",
    );
    let _ = writeln!(
        out,
        "<h1>rfc6455 conformance report</h1><p>Mode: <b>{}</b> &mdash; {}: <b>{}</b></p>",
        html_escape(&info.mode),
        if info.mode == "client" { "server under test" } else { "client under test (agent)" },
        html_escape(&info.target)
    );
    let _ = writeln!(out, "<h2>Summary</h2><pre>{}</pre>", html_escape(&summary(results)));
    out.push_str("<p><b>Autobahn</b>: the verdicts Autobahn|Testsuite gives on the ids it shares with this suite (<code>behavior</code>, <code>behaviorClose</code>), from its case sources. <b>strict</b>: Autobahn's verdict, or worse where this project checks more than Autobahn (fail-fast, close codes, non-minimal lengths, TCP close order, message content, every Pong).</p>\n");
    out.push_str("<h2>Cases</h2>\n<table><tr><th>case</th><th>description</th><th>Autobahn behavior</th><th>Autobahn behaviorClose</th><th>strict</th><th>reason and wire log</th><th>ms</th></tr>\n");
    for r in results {
        let v = r.verdict.as_str();
        let (ab, abc, ab_text) = match &r.autobahn {
            Some(a) => (
                a.behavior.as_str(),
                a.close.as_str(),
                format!(
                    "<p><i>Autobahn:</i> {} <i>Close:</i> {}</p>",
                    html_escape(&a.result),
                    html_escape(&a.result_close)
                ),
            ),
            None => ("-", "-", String::new()),
        };
        let _ = writeln!(
            out,
            "<tr id=\"case-{id}\"><td><a href=\"#case-{id}\">{id}</a></td><td>{desc}</td><td class=\"v {abk}\">{ab}</td><td class=\"v {abck}\">{abc}</td><td class=\"v {vk}\">{v}</td><td>{ab_text}{reason}<details><summary>wire log ({n} lines)</summary><pre>{wire}</pre></details></td><td>{ms}</td></tr>",
            id = html_escape(&r.id),
            desc = html_escape(&r.desc),
            abk = ab.replace(' ', "-"),
            abck = abc.replace(' ', "-"),
            vk = v.replace(' ', "-"),
            reason = html_escape(&r.reason),
            n = r.wire.len(),
            wire = html_escape(&r.wire.join("\n")),
            ms = r.millis,
        );
    }
    out.push_str("</table></body></html>\n");
    out
}

/// Write report.json and index.html into `dir`.
pub fn write_reports(dir: &Path, info: &RunInfo, results: &[CaseResult]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.json"), to_json(info, results))?;
    std::fs::write(dir.join("index.html"), to_html(info, results))?;
    Ok(())
}
