//! The checked-in expectations (`tests/conformance/expected-*.json`) and the rationale of
//! the non-OK Autobahn verdicts (`tests/conformance/rationale-*.md`).
//!
//! An expectations file is a JSON object, one case per line: "id" → {"behavior",
//! "behaviorClose", "strict"} (the first two for the ids shared with Autobahn only). A value
//! may list alternatives, "OK|NON-STRICT", where the peer's behaviour depends on how TCP
//! delivers our writes and the RFC allows both.
//!
//! A rationale file is a Markdown table `| peer | case | behavior | behaviorClose | why |`:
//! every case whose Autobahn verdicts are not both OK must have its row (peer `server` when
//! the suite ran in client mode against the peer's server, `client` in server mode), with
//! the verdicts of the run, and no row may stay for a case that is now OK.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::{CaseResult, json_string};

/// The expected verdicts of one case (None: not checked).
#[derive(Clone, Debug, Default)]
pub struct Expected {
    pub behavior: Option<String>,
    pub close: Option<String>,
    pub strict: Option<String>,
}

fn allows(expected: &str, got: &str) -> bool {
    expected.split('|').any(|alt| alt.trim() == got)
}

/// Keep an "A|B" of the old file when the new verdict is one of its alternatives.
fn keep(old: Option<&String>, new: &str) -> String {
    match old {
        Some(o) if o.contains('|') && allows(o, new) => o.clone(),
        _ => new.to_string(),
    }
}

/// The expectations of this run merged into `old`: one case per line, in `order` (the
/// case ids of the suite); the cases this run did not cover keep their old lines, and the
/// alternatives of `old` that still hold are kept.
pub fn expectations_json(
    results: &[CaseResult],
    old: &[(String, Expected)],
    order: &[String],
) -> String {
    let old: BTreeMap<&str, &Expected> = old.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let new: BTreeMap<&str, &CaseResult> = results.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut lines = Vec::new();
    for id in order {
        let was = old.get(id.as_str()).copied();
        let e = match new.get(id.as_str()) {
            Some(r) => Expected {
                behavior: r
                    .autobahn
                    .as_ref()
                    .map(|a| keep(was.and_then(|e| e.behavior.as_ref()), a.behavior.as_str())),
                close: r
                    .autobahn
                    .as_ref()
                    .map(|a| keep(was.and_then(|e| e.close.as_ref()), a.close.as_str())),
                strict: Some(keep(was.and_then(|e| e.strict.as_ref()), r.verdict.as_str())),
            },
            None => match was {
                Some(e) => e.clone(),
                None => continue,
            },
        };
        let mut line = format!("  {}: {{", json_string(id));
        let mut fields = Vec::new();
        for (name, v) in
            [("behavior", &e.behavior), ("behaviorClose", &e.close), ("strict", &e.strict)]
        {
            if let Some(v) = v {
                fields.push(format!("\"{name}\": {}", json_string(v)));
            }
        }
        let _ = write!(line, "{}}}", fields.join(", "));
        lines.push(line);
    }
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

/// A tiny reader for the expectations format: an object whose values are strings (a bare
/// string is the strict verdict) or objects of strings.
struct Reader<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.chars.next();
        }
    }
    fn eat(&mut self, c: char) -> Result<(), String> {
        self.ws();
        match self.chars.next() {
            Some(x) if x == c => Ok(()),
            other => Err(format!("expected {c:?}, found {other:?}")),
        }
    }
    fn peek(&mut self) -> Option<char> {
        self.ws();
        self.chars.peek().copied()
    }
    fn string(&mut self) -> Result<String, String> {
        self.eat('"')?;
        let mut s = String::new();
        loop {
            match self.chars.next() {
                Some('"') => return Ok(s),
                Some('\\') => match self.chars.next() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(x) => s.push(x),
                    None => return Err("unterminated escape".into()),
                },
                Some(x) => s.push(x),
                None => return Err("unterminated string".into()),
            }
        }
    }
    /// `{ "k": V, ... }`, calling `value` for each V.
    fn object(
        &mut self,
        mut value: impl FnMut(&mut Self, String) -> Result<(), String>,
    ) -> Result<(), String> {
        self.eat('{')?;
        if self.peek() == Some('}') {
            self.chars.next();
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.eat(':')?;
            value(self, key)?;
            match self.peek() {
                Some(',') => {
                    self.chars.next();
                    if self.peek() == Some('}') {
                        self.chars.next();
                        return Ok(());
                    }
                }
                Some('}') => {
                    self.chars.next();
                    return Ok(());
                }
                other => return Err(format!("expected ',' or '}}', found {other:?}")),
            }
        }
    }
}

pub fn parse_expectations(text: &str) -> Result<Vec<(String, Expected)>, String> {
    let mut r = Reader { chars: text.chars().peekable() };
    let mut out = Vec::new();
    r.object(|r, id| {
        let mut e = Expected::default();
        if r.peek() == Some('"') {
            e.strict = Some(r.string()?);
        } else {
            r.object(|r, field| {
                let v = r.string()?;
                match field.as_str() {
                    "behavior" => e.behavior = Some(v),
                    "behaviorClose" => e.close = Some(v),
                    "strict" => e.strict = Some(v),
                    other => return Err(format!("{id}: unknown field {other:?}")),
                }
                Ok(())
            })
            .map_err(|e| format!("{id}: {e}"))?;
        }
        out.push((id, e));
        Ok(())
    })?;
    Ok(out)
}

/// Differences between results and expectations; `selected` says which ids of the
/// expectations the run had to cover (`--cases`, `--skip`).
pub fn compare(
    results: &[CaseResult],
    expected: &[(String, Expected)],
    selected: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let exp: BTreeMap<&str, &Expected> = expected.iter().map(|(k, v)| (k.as_str(), v)).collect();
    for r in results {
        let Some(e) = exp.get(r.id.as_str()) else {
            diffs.push(format!(
                "{}: not in the expectations, got Autobahn {} / strict {} ({})",
                r.id,
                r.autobahn_str(),
                r.verdict.as_str(),
                r.reason
            ));
            continue;
        };
        let mut wrong = Vec::new();
        let mut check = |what: &str, want: &Option<String>, got: Option<&str>| match (want, got) {
            (Some(w), Some(g)) if allows(w, g) => {}
            (Some(w), Some(g)) => wrong.push(format!("{what} expected {w}, got {g}")),
            (Some(w), None) => wrong.push(format!("{what} expected {w}, but the case has none")),
            (None, Some(g)) => wrong.push(format!("{what} {g} is not in the expectations")),
            (None, None) => {}
        };
        check("strict", &e.strict, Some(r.verdict.as_str()));
        check("behavior", &e.behavior, r.autobahn.as_ref().map(|a| a.behavior.as_str()));
        check("behaviorClose", &e.close, r.autobahn.as_ref().map(|a| a.close.as_str()));
        if !wrong.is_empty() {
            let ab = r
                .autobahn
                .as_ref()
                .map(|a| format!("; Autobahn: {} {}", a.result, a.result_close))
                .unwrap_or_default();
            diffs.push(format!("{}: {} ({}{ab})", r.id, wrong.join(", "), r.reason));
        }
    }
    let ran: std::collections::HashSet<&str> = results.iter().map(|r| r.id.as_str()).collect();
    for (k, _) in expected {
        if selected(k) && !ran.contains(k.as_str()) {
            diffs.push(format!("{k}: expected, but the case did not run"));
        }
    }
    diffs
}

/// One row of a rationale table.
#[derive(Debug)]
pub struct Rationale {
    pub peer: String,
    pub id: String,
    pub behavior: String,
    pub close: String,
    pub why: String,
}

/// The cells of a Markdown table row (`\|` is a `|` inside a cell).
fn cells(row: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                out.last_mut().expect("never empty").push('|');
            }
            '|' => out.push(String::new()),
            c => out.last_mut().expect("never empty").push(c),
        }
    }
    out.into_iter().map(|c| c.trim().to_string()).collect()
}

pub fn parse_rationale(text: &str) -> Vec<Rationale> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let inner = l.strip_prefix('|')?.strip_suffix('|')?;
            let cells = cells(inner);
            let [peer, id, behavior, close, why] = cells.as_slice() else { return None };
            if *id == "case" || id.starts_with("---") || id.starts_with(":-") {
                return None;
            }
            Some(Rationale {
                peer: peer.to_string(),
                id: id.trim_matches('`').to_string(),
                behavior: behavior.to_string(),
                close: close.to_string(),
                why: why.to_string(),
            })
        })
        .collect()
}

/// Problems with the rationale of this run's non-OK Autobahn verdicts (`peer`: "server"
/// or "client", the role of the implementation under test).
pub fn check_rationale(results: &[CaseResult], rows: &[Rationale], peer: &str) -> Vec<String> {
    let by_id: BTreeMap<&str, &Rationale> =
        rows.iter().filter(|r| r.peer == peer).map(|r| (r.id.as_str(), r)).collect();
    let mut problems = Vec::new();
    for r in results {
        let Some(a) = &r.autobahn else { continue };
        let row = by_id.get(r.id.as_str());
        match row {
            None if !a.ok() => problems.push(format!(
                "{}: Autobahn {} has no rationale (add a row `| {peer} | {} | {} | {} | why |`)",
                r.id,
                r.autobahn_str(),
                r.id,
                a.behavior.as_str(),
                a.close.as_str()
            )),
            None => {}
            Some(row) if row.why.is_empty() => {
                problems.push(format!("{}: the rationale is empty", r.id))
            }
            // A row for a case that is OK now is stale unless it allows OK.
            Some(row)
                if !allows(&row.behavior, a.behavior.as_str())
                    || !allows(&row.close, a.close.as_str()) =>
            {
                problems.push(format!(
                    "{}: the rationale is for {} / {}, the run gave {}",
                    r.id,
                    row.behavior,
                    row.close,
                    r.autobahn_str()
                ));
            }
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autobahn::{AutobahnVerdict, CloseBehavior};
    use crate::verdict::Verdict;

    fn result(id: &str, ab: Option<(Verdict, CloseBehavior)>, strict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            group: id.split('.').next().unwrap_or("").into(),
            desc: String::new(),
            autobahn: ab.map(|(behavior, close)| AutobahnVerdict {
                behavior,
                close,
                result: String::new(),
                result_close: String::new(),
            }),
            verdict: strict,
            reason: String::new(),
            millis: 0,
            wire: vec![],
        }
    }

    #[test]
    fn expectations_round_trip_and_keep_alternatives() {
        let results = vec![
            result("3.2", Some((Verdict::NonStrict, CloseBehavior::Ok)), Verdict::NonStrict),
            result("B.1.1", None, Verdict::Ok),
        ];
        let old = parse_expectations(
            "{\"3.2\": {\"behavior\": \"OK|NON-STRICT\", \"behaviorClose\": \"OK\", \"strict\": \"OK|NON-STRICT\"}, \"B.1.1\": \"OK\"}",
        )
        .expect("parses");
        let order = vec!["3.2".to_string(), "B.1.1".to_string()];
        let text = expectations_json(&results, &old, &order);
        assert!(text.contains("\"3.2\": {\"behavior\": \"OK|NON-STRICT\", \"behaviorClose\": \"OK\", \"strict\": \"OK|NON-STRICT\"}"));
        assert!(text.contains("\"B.1.1\": {\"strict\": \"OK\"}"));
        let back = parse_expectations(&text).expect("parses");
        assert!(compare(&results, &back, &|_| true).is_empty());
        let changed =
            vec![result("3.2", Some((Verdict::Failed, CloseBehavior::Ok)), Verdict::Failed)];
        assert_eq!(compare(&changed, &back[..1], &|_| true).len(), 1);
    }

    #[test]
    fn every_non_ok_autobahn_verdict_needs_its_row() {
        let table = "| peer | case | behavior | behaviorClose | why |\n|---|---|---|---|---|\n| server | 9.3.1 | FAILED | FAILED | 1009: too many fragments |\n| server | 3.2 | OK\\|NON-STRICT | OK | timing |\n";
        let rows = parse_rationale(table);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].behavior, "OK|NON-STRICT");
        let rows = &rows[..1];
        let failed =
            result("9.3.1", Some((Verdict::Failed, CloseBehavior::Failed)), Verdict::Failed);
        assert!(check_rationale(std::slice::from_ref(&failed), rows, "server").is_empty());
        assert_eq!(check_rationale(&[failed], rows, "client").len(), 1);
        let ok = result("9.3.1", Some((Verdict::Ok, CloseBehavior::Ok)), Verdict::Ok);
        assert_eq!(check_rationale(&[ok], rows, "server").len(), 1, "a stale row");
    }
}
