//! Output: a summary table per group, a JSON report, a self-contained HTML page, and the
//! expectations files (a flat JSON object "case id" → "verdict"), all written by hand.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::verdict::Verdict;

/// The outcome of one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub id: String,
    pub group: String,
    pub desc: String,
    pub verdict: Verdict,
    pub reason: String,
    pub millis: u128,
    pub wire: Vec<String>,
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

/// Counts per group, in group order. UNIMPLEMENTED counts neither as OK nor as FAILED.
pub fn summary(results: &[CaseResult]) -> String {
    let mut groups: BTreeMap<(u32, String), [usize; 5]> = BTreeMap::new();
    let col = |v: Verdict| COLUMNS.iter().position(|c| *c == v).unwrap_or(0);
    for r in results {
        groups.entry(group_order(&r.group)).or_default()[col(r.verdict)] += 1;
    }
    let mut out = String::new();
    let row = |out: &mut String, g: &str, name: &str, c: &[usize; 5]| {
        let n: usize = c.iter().sum();
        let _ = writeln!(
            out,
            "{:<5} {:<30} {:>6} {:>6} {:>10} {:>7} {:>13} {:>13}",
            g, name, n, c[0], c[1], c[2], c[3], c[4]
        );
    };
    let _ = writeln!(
        out,
        "{:<5} {:<30} {:>6} {:>6} {:>10} {:>7} {:>13} {:>13}",
        "group", "", "cases", "OK", "NON-STRICT", "FAILED", "INFORMATIONAL", "UNIMPLEMENTED"
    );
    let mut total = [0usize; 5];
    for ((_, g), c) in &groups {
        row(&mut out, g, group_name(g), c);
        for (t, n) in total.iter_mut().zip(c) {
            *t += n;
        }
    }
    row(&mut out, "all", "", &total);
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
        let _ = write!(
            out,
            "    {{\"id\": {}, \"group\": {}, \"description\": {}, \"verdict\": {}, \"reason\": {}, \"duration_ms\": {}, \"wire\": [{}]}}",
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
.UNIMPLEMENTED{background:#ddd}.OK{background:#c8efc8}.NON-STRICT{background:#f6e7a8}.FAILED{background:#f4b4b4}.INFORMATIONAL{background:#c9ddf5}
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
    out.push_str("<h2>Cases</h2>\n<table><tr><th>case</th><th>description</th><th>verdict</th><th>reason and wire log</th><th>ms</th></tr>\n");
    for r in results {
        let v = r.verdict.as_str();
        let _ = writeln!(
            out,
            "<tr id=\"case-{id}\"><td><a href=\"#case-{id}\">{id}</a></td><td>{desc}</td><td class=\"v {v}\">{v}</td><td>{reason}<details><summary>wire log ({n} lines)</summary><pre>{wire}</pre></details></td><td>{ms}</td></tr>",
            id = html_escape(&r.id),
            desc = html_escape(&r.desc),
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

/// The expectations format: one case per line, in case order.
pub fn expectations_json(results: &[CaseResult]) -> String {
    let mut out = String::from("{\n");
    for (i, r) in results.iter().enumerate() {
        let _ = write!(out, "  {}: {}", json_string(&r.id), json_string(r.verdict.as_str()));
        out.push_str(if i + 1 < results.len() { ",\n" } else { "\n" });
    }
    out.push_str("}\n");
    out
}

/// Parse a flat JSON object of strings. Minimal: objects of "key": "value" pairs only.
pub fn parse_expectations(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut chars = text.chars().peekable();
    let mut out = Vec::new();
    let skip_ws = |c: &mut std::iter::Peekable<std::str::Chars>| {
        while c.peek().is_some_and(|x| x.is_whitespace()) {
            c.next();
        }
    };
    let read_string = |c: &mut std::iter::Peekable<std::str::Chars>| -> Result<String, String> {
        if c.next() != Some('"') {
            return Err("expected a string".into());
        }
        let mut s = String::new();
        loop {
            match c.next() {
                Some('"') => return Ok(s),
                Some('\\') => match c.next() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(x) => s.push(x),
                    None => return Err("unterminated escape".into()),
                },
                Some(x) => s.push(x),
                None => return Err("unterminated string".into()),
            }
        }
    };
    skip_ws(&mut chars);
    if chars.next() != Some('{') {
        return Err("expected '{'".into());
    }
    loop {
        skip_ws(&mut chars);
        match chars.peek() {
            Some('}') => break,
            Some('"') => {}
            _ => return Err("expected a key or '}'".into()),
        }
        let key = read_string(&mut chars)?;
        skip_ws(&mut chars);
        if chars.next() != Some(':') {
            return Err(format!("expected ':' after {key:?}"));
        }
        skip_ws(&mut chars);
        let value = read_string(&mut chars)?;
        out.push((key, value));
        skip_ws(&mut chars);
        match chars.next() {
            Some(',') => {}
            Some('}') => break,
            _ => return Err("expected ',' or '}'".into()),
        }
    }
    Ok(out)
}

/// Differences between results and expectations; `selected` says which ids of the
/// expectations the run had to cover (`--cases`, `--skip`).
pub fn compare(
    results: &[CaseResult],
    expected: &[(String, String)],
    selected: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let exp: BTreeMap<&str, &str> =
        expected.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for r in results {
        match exp.get(r.id.as_str()) {
            // "OK|NON-STRICT": either verdict is expected (a peer whose behaviour depends on
            // how TCP delivers our writes, where the RFC allows both).
            Some(v) if v.split('|').any(|alt| alt.trim() == r.verdict.as_str()) => {}
            Some(v) => diffs.push(format!(
                "{}: expected {v}, got {} ({})",
                r.id,
                r.verdict.as_str(),
                r.reason
            )),
            None => diffs.push(format!(
                "{}: not in the expectations, got {} ({})",
                r.id,
                r.verdict.as_str(),
                r.reason
            )),
        }
    }
    let ran: std::collections::HashSet<&str> = results.iter().map(|r| r.id.as_str()).collect();
    for (k, v) in expected {
        if selected(k) && !ran.contains(k.as_str()) {
            diffs.push(format!("{k}: expected {v}, but the case did not run"));
        }
    }
    diffs
}
