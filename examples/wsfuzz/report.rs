//! Reports: the per-class summary of one run, the per-case log (a file to diff between
//! runs and servers), and the markdown table of several logs side by side.
//!
//! The log is tab-separated text, one line per case after a `#` header line:
//!
//! ```text
//! # wsfuzz ws://127.0.0.1:9001/ seed=1 count=3000 timeout=500 batch=1
//! case  class  reaction  ours  ms
//! 0     valid-ping  pong  pong  0.05
//! ```
//!
//! `reaction` is the server's, `ours` rfc6455's own reaction to the same bytes
//! ([`crate::observe::ours`]), `ms` the time to the first reaction (`-` for none). Case `N`
//! of a seed is the same bytes in every run, so `cut -f1-3` of two logs diffs the servers
//! case by case; `wsfuzz --case N` replays one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::cases::CLASSES;

/// One case's result.
pub struct Row {
    pub case: u64,
    pub class: String,
    pub reaction: String,
    pub ours: String,
    pub time: Option<Duration>,
}

/// The log's first line: the run's parameters.
pub fn header(url: &str, seed: u64, count: u64, timeout: Duration, batch: u64) -> String {
    format!(
        "# wsfuzz {url} seed={seed} count={count} timeout={} batch={batch}\ncase\tclass\treaction\tours\tms\n",
        timeout.as_millis()
    )
}

/// One line of the log.
pub fn line(row: &Row) -> String {
    let ms = row.time.map_or("-".to_owned(), |t| format!("{:.2}", t.as_secs_f64() * 1e3));
    format!("{}\t{}\t{}\t{}\t{ms}\n", row.case, row.class, row.reaction, row.ours)
}

/// Read a log back: its header line and its rows (reaction times are not read back).
pub fn parse_log(text: &str) -> Result<(String, Vec<Row>), String> {
    let mut lines = text.lines();
    let head = lines.next().filter(|l| l.starts_with("# wsfuzz")).ok_or("not a wsfuzz log")?;
    let mut rows = Vec::new();
    for (n, l) in lines.enumerate().filter(|(_, l)| !l.starts_with("case\t")) {
        let f: Vec<&str> = l.split('\t').collect();
        let [case, class, reaction, ours, _ms] = f[..] else {
            return Err(format!("line {}: {} fields, not 5", n + 2, f.len()));
        };
        let case = case.parse().map_err(|_| format!("line {}: case {case:?}", n + 2))?;
        rows.push(Row {
            case,
            class: class.into(),
            reaction: reaction.into(),
            ours: ours.into(),
            time: None,
        });
    }
    Ok((head.trim_start_matches("# ").to_owned(), rows))
}

/// Reactions with their counts, most frequent first: `close 1002` when there is one, else
/// `close 1002 ×120, drop ×30`.
fn reactions<'a>(rows: impl Iterator<Item = &'a str>) -> String {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows {
        *counts.entry(r).or_default() += 1;
    }
    let mut counts: Vec<(&str, u64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    match &counts[..] {
        [] => "-".into(),
        [(one, _)] => (*one).to_owned(),
        many => many.iter().map(|(r, n)| format!("{r} ×{n}")).collect::<Vec<_>>().join(", "),
    }
}

/// The per-class summary of one run, as printed at its end.
pub fn summary(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<20} {:>5}  {:<20} {:<40} {:>8} {:>8} {:>8}\n",
        "class", "cases", "expected", "reactions", "p50 ms", "p90 ms", "p99 ms"
    );
    for class in CLASSES {
        let of: Vec<&Row> = rows.iter().filter(|r| r.class == class.name).collect();
        if of.is_empty() {
            continue;
        }
        let mut times: Vec<Duration> = of.iter().filter_map(|r| r.time).collect();
        times.sort();
        let pct = |p: usize| match times.get(times.len().saturating_sub(1) * p / 100) {
            Some(d) => format!("{:.2}", d.as_secs_f64() * 1000.0),
            None => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<20} {:>5}  {:<20} {:<40} {:>8} {:>8} {:>8}",
            class.name,
            of.len(),
            class.expected,
            reactions(of.iter().map(|r| r.reaction.as_str())),
            pct(50),
            pct(90),
            pct(99)
        );
    }
    out
}

/// The markdown table of several runs (`(label, log text)`): a row per class, a column per
/// run, each cell the reactions seen with their counts when mixed.
pub fn table(runs: &[(String, String)]) -> Result<String, String> {
    let mut parsed = Vec::new();
    for (label, text) in runs {
        let (head, rows) = parse_log(text).map_err(|e| format!("{label}: {e}"))?;
        parsed.push((label, head, rows));
    }
    let Some((_, _, first)) = parsed.first() else {
        return Err("--table wants LABEL=LOG arguments".into());
    };
    let count = |rows: &[Row], class: &str| rows.iter().filter(|r| r.class == class).count();
    let mut out = String::new();
    for (label, head, _) in &parsed {
        let _ = writeln!(out, "- {label}: `{head}`");
    }
    out.push_str("\n| class | cases | RFC 6455 | rfc6455 core |");
    for (label, _, _) in &parsed {
        let _ = write!(out, " {label} |");
    }
    out.push_str("\n|---|---|---|---|");
    out.push_str(&"---|".repeat(parsed.len()));
    out.push('\n');
    for class in CLASSES {
        let n = count(first, class.name);
        if n == 0 {
            continue;
        }
        let of = first.iter().filter(|r| r.class == class.name);
        let ours = reactions(of.map(|r| r.ours.as_str()));
        let _ = write!(out, "| {} | {n} | {} | {ours} |", class.name, class.rfc);
        for (_, _, rows) in &parsed {
            let of = rows.iter().filter(|r| r.class == class.name);
            let mut cell = reactions(of.map(|r| r.reaction.as_str()));
            let m = count(rows, class.name);
            if m != n {
                let _ = write!(cell, " ({m} cases)");
            }
            let _ = write!(out, " {} |", cell.replace('|', "\\|"));
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(case: u64, class: &str, reaction: &str) -> Row {
        let (class, reaction) = (class.to_owned(), reaction.to_owned());
        Row { case, class, reaction, ours: "close 1002".into(), time: None }
    }

    fn log(rows: &[Row]) -> String {
        let mut text = header("ws://x/", 1, rows.len() as u64, Duration::from_millis(5), 1);
        for r in rows {
            text.push_str(&line(r));
        }
        text
    }

    #[test]
    fn a_log_reads_back() {
        let mut r = row(3, "unmasked", "close 1002 (tcp open)");
        r.time = Some(Duration::from_micros(40));
        let text = log(&[r]);
        assert!(text.ends_with("3\tunmasked\tclose 1002 (tcp open)\tclose 1002\t0.04\n"));
        let (head, rows) = parse_log(&text).unwrap();
        assert_eq!(head, "wsfuzz ws://x/ seed=1 count=1 timeout=5 batch=1");
        assert_eq!((rows[0].case, rows[0].reaction.as_str()), (3, "close 1002 (tcp open)"));
        assert!(parse_log("case\tclass\n").is_err());
        assert!(parse_log("# wsfuzz\nx\ty\n").is_err());
    }

    #[test]
    fn the_table_counts_mixed_reactions() {
        let a = log(&[row(0, "unmasked", "close 1002"), row(1, "unmasked", "close 1002")]);
        let b = log(&[row(0, "unmasked", "drop"), row(1, "unmasked", "close 1002")]);
        let c = log(&[
            row(0, "unmasked", "drop"),
            row(1, "unmasked", "drop"),
            row(2, "unmasked", "drop"),
        ]);
        let runs = [("a", a), ("b", b), ("c", c)].map(|(l, t)| (l.to_owned(), t));
        let table = table(&runs).unwrap();
        let want = "| unmasked | 2 | close the connection (§5.1 MUST); a Close 1002 MAY precede it | \
                    close 1002 | close 1002 | close 1002 ×1, drop ×1 | drop (3 cases) |";
        assert!(table.contains(want), "{table}");
        assert!(table.contains("| class | cases | RFC 6455 | rfc6455 core | a | b | c |"));
        assert!(!table.contains("| valid-text |"), "classes without cases are left out");
    }

    #[test]
    fn the_summary_gives_percentiles() {
        let mut rows: Vec<Row> = (0..101).map(|i| row(i, "valid-ping", "pong")).collect();
        for (i, r) in rows.iter_mut().enumerate() {
            r.time = Some(Duration::from_millis(101 - i as u64));
        }
        rows.push(row(101, "valid-ping", "hang"));
        let text = summary(&rows);
        let line = text.lines().find(|l| l.starts_with("valid-ping")).unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1], "102", "{line}");
        assert_eq!(fields[fields.len() - 3..], ["51.00", "91.00", "100.00"], "{line}");
        assert!(line.contains("pong ×101, hang ×1"), "{line}");
    }
}
