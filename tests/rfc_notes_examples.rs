//! `rfc-notes/` stays true.
//!
//! 1. Every annotated example in a note is output of the crate's own dissector, never typed by
//!    hand. A note holds marker blocks:
//!
//!    ````text
//!    <!-- dissect frames role=client: 81 85 37 fa 21 3d 7f 9f 4d 51 58 -->
//!    ```text
//!    (what rfc6455::dissect prints for those bytes)
//!    ```
//!    <!-- end dissect -->
//!    ````
//!
//!    This test re-generates each block and fails with a diff when a note is out of date. Run
//!    it with `RFC_NOTES_BLESS=1` to rewrite the blocks in place instead.
//! 2. Every note has exactly as many blocks as `rfc-notes/README.md` says it has, every note
//!    is in that index, and the total is at least [`MIN_BLOCKS`].
//! 3. Every `src/….rs` and `tests/….rs` path a note mentions exists, and every
//!    `path.rs::name` names an item (`fn`, `struct`, `enum`, `const` …) defined in that file.
//!
//! Directive grammar (inside `<!-- dissect … -->`, may span lines):
//! * `frames [role=client|server|none] [deflate[=…]]: HEX` — a byte stream of frames; `role`
//!   is the endpoint that *sent* the bytes. HEX is whitespace-separated tokens: hex digit
//!   pairs (`81`, `37fa213d`), optionally followed by `*N` to repeat that group `N` times
//!   (`00*256`). `deflate`: permessage-deflate (RFC 7692) was negotiated, and compressed
//!   messages are inflated; `deflate=P,P` names the agreed parameters
//!   (`server_no_context_takeover`, `client_no_context_takeover`, `server_max_window_bits=N`,
//!   `client_max_window_bits=N`); `deflate=negotiated` judges RSV1 without inflating.
//! * `handshake: TEXT` — an HTTP head as text: each line of the directive is taken with its
//!   indentation removed and its line break dropped; `\r`, `\n`, `\t`, `\\` and `\xHH` are
//!   escapes.
//! * `handshake hex: HEX` — the same, given as bytes.
//! * `handshake key=KEY: TEXT` — a server's response, its `Sec-WebSocket-Accept` checked
//!   against the request's `Sec-WebSocket-Key` KEY.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use rfc6455::Role;
use rfc6455::deflate::DeflateParams;
use rfc6455::dissect::Deflate;

/// The notes hold at least this many verified examples (the index may not shrink silently).
const MIN_BLOCKS: usize = 28;

const OPEN: &str = "<!-- dissect ";
const CLOSE_COMMENT: &str = "-->";
const END: &str = "<!-- end dissect -->";

fn notes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rfc-notes")
}

fn bless() -> bool {
    std::env::var_os("RFC_NOTES_BLESS").is_some_and(|v| v != "0" && !v.is_empty())
}

// ------------------------------------------------------------------------------ directives

#[derive(Debug, Clone, PartialEq, Eq)]
enum Directive {
    Frames {
        role: Option<Role>,
        deflate: Deflate,
        bytes: Vec<u8>,
    },
    /// `key`: the request's `Sec-WebSocket-Key`, to check a response's accept value.
    Handshake {
        key: Option<String>,
        bytes: Vec<u8>,
    },
}

fn parse_directive(text: &str) -> Result<Directive, String> {
    let (head, input) = text
        .split_once(':')
        .ok_or_else(|| format!("no ':' after the directive name in {text:?}"))?;
    let words: Vec<&str> = head.split_whitespace().collect();
    match words.as_slice() {
        ["frames", rest @ ..] => {
            let mut role = None;
            let mut deflate = Deflate::Off;
            for word in rest {
                match *word {
                    "role=client" => role = Some(Role::Client),
                    "role=server" => role = Some(Role::Server),
                    "role=none" => role = None,
                    "deflate" => deflate = Deflate::Inflate(DeflateParams::default()),
                    "deflate=negotiated" => deflate = Deflate::Negotiated,
                    other => match other.strip_prefix("deflate=") {
                        Some(params) => deflate = Deflate::Inflate(parse_params(params)?),
                        None => return Err(format!("unknown frames option {other:?}")),
                    },
                }
            }
            Ok(Directive::Frames { role, deflate, bytes: parse_hex(input)? })
        }
        ["handshake", rest @ ..] => {
            let mut key = None;
            let mut hex = false;
            for word in rest {
                match word.strip_prefix("key=") {
                    Some(k) => key = Some(k.to_owned()),
                    None if *word == "hex" => hex = true,
                    None => return Err(format!("unknown handshake option {word:?}")),
                }
            }
            let bytes = if hex { parse_hex(input)? } else { parse_text(input)? };
            Ok(Directive::Handshake { key, bytes })
        }
        _ => Err(format!("unknown directive {head:?}")),
    }
}

/// `server_no_context_takeover,client_max_window_bits=10`.
fn parse_params(list: &str) -> Result<DeflateParams, String> {
    let mut params = DeflateParams::default();
    for item in list.split(',') {
        let bits = |value: &str| match value.parse::<u8>() {
            Ok(bits @ 8..=15) => Ok(Some(bits)),
            _ => Err(format!("{item:?}: window bits are 8 to 15")),
        };
        match item.split_once('=') {
            None if item == "server_no_context_takeover" => {
                params.server_no_context_takeover = true;
            }
            None if item == "client_no_context_takeover" => {
                params.client_no_context_takeover = true;
            }
            Some(("server_max_window_bits", v)) => params.server_max_window_bits = bits(v)?,
            Some(("client_max_window_bits", v)) => params.client_max_window_bits = bits(v)?,
            _ => return Err(format!("unknown deflate parameter {item:?}")),
        }
    }
    Ok(params)
}

fn parse_hex(input: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for token in input.split_whitespace() {
        let (digits, count) = match token.split_once('*') {
            Some((digits, count)) => {
                let count: usize = count.parse().map_err(|e| format!("{token:?}: {e}"))?;
                (digits, count)
            }
            None => (token, 1),
        };
        if digits.is_empty() || digits.len() % 2 != 0 {
            return Err(format!("{token:?}: hex digits must come in pairs"));
        }
        let mut group = Vec::new();
        for pair in digits.as_bytes().chunks(2) {
            let pair = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
            group.push(u8::from_str_radix(pair, 16).map_err(|e| format!("{token:?}: {e}"))?);
        }
        for _ in 0..count {
            out.extend_from_slice(&group);
        }
    }
    if out.is_empty() {
        return Err("no bytes given".into());
    }
    Ok(out)
}

fn parse_text(input: &str) -> Result<Vec<u8>, String> {
    let joined: String = input.trim().lines().map(str::trim_start).collect();
    let mut out = Vec::new();
    let mut chars = joined.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).map_err(|e| format!("\\x{hex}: {e}"))?);
            }
            other => return Err(format!("unknown escape \\{other:?}")),
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------------------ the dissector

/// What the dissector prints for a directive. The one place this test calls the crate.
fn render(directive: &Directive) -> String {
    match directive {
        Directive::Frames { role, deflate, bytes } => {
            rfc6455::dissect::frames_with(bytes, *role, *deflate)
        }
        Directive::Handshake { key: None, bytes } => rfc6455::dissect::handshake(bytes),
        Directive::Handshake { key: Some(key), bytes } => {
            rfc6455::dissect::handshake_response(bytes, Some(key))
        }
    }
}

// ------------------------------------------------------------------------------ blocks

/// One marker block of a note: its directive and the byte range of the generated part
/// (between the end of the directive comment and the end marker).
#[derive(Debug)]
struct Block {
    line: usize,
    directive: Directive,
    body: std::ops::Range<usize>,
}

fn find_blocks(text: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    // The backticks of the fenced code block we are in: a directive shown inside one (as the
    // README does, to explain the syntax) is an illustration, not a block.
    let mut fence: Option<&str> = None;
    let mut at = 0;
    while at < text.len() {
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        let trimmed = text[at..line_end].trim();
        let ticks = &trimmed[..trimmed.len() - trimmed.trim_start_matches('`').len()];
        match fence {
            Some(open) if ticks.len() >= open.len() && trimmed.len() == ticks.len() => {
                fence = None;
            }
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks),
            None if trimmed.starts_with(OPEN) => {
                let block = parse_block(text, at)?;
                at = block.body.end + END.len();
                blocks.push(block);
                continue;
            }
            None if text[at..line_end].contains(OPEN) => {
                let line = text[..at].lines().count() + 1;
                return Err(format!("line {line}: a dissect directive must start its line"));
            }
            None => {}
        }
        at = line_end;
    }
    Ok(blocks)
}

/// The block whose directive starts the line at byte `at`.
fn parse_block(text: &str, at: usize) -> Result<Block, String> {
    let line = text[..at].lines().count() + 1;
    let directive_start = at + text[at..].find(OPEN).unwrap_or_default() + OPEN.len();
    let directive_end = text[directive_start..]
        .find(CLOSE_COMMENT)
        .map(|i| directive_start + i)
        .ok_or_else(|| format!("line {line}: directive without {CLOSE_COMMENT}"))?;
    let directive = parse_directive(&text[directive_start..directive_end])
        .map_err(|e| format!("line {line}: {e}"))?;
    let after = directive_end + CLOSE_COMMENT.len();
    let body_start = match text[after..].find('\n') {
        Some(i) if text[after..after + i].trim().is_empty() => after + i + 1,
        _ => return Err(format!("line {line}: text after the directive on its line")),
    };
    let end = text[body_start..]
        .find(END)
        .map(|i| body_start + i)
        .ok_or_else(|| format!("line {line}: no {END} after the directive"))?;
    if let Some(nested) = text[body_start..end].find(OPEN) {
        let nested_line = text[..body_start + nested].lines().count() + 1;
        return Err(format!(
            "line {line}: directive at line {nested_line} before this block's {END}"
        ));
    }
    Ok(Block { line, directive, body: body_start..end })
}

fn fenced(output: &str) -> String {
    format!("```text\n{}\n```\n", output.trim_end_matches('\n'))
}

/// A line diff (longest common subsequence), `-` for the note, `+` for the dissector.
fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] =
                if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "  {}", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "- {}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+ {}", b[j]);
            j += 1;
        }
    }
    out
}

// ------------------------------------------------------------------------------ the index

/// `(note file name, examples)` for every row of the README's index table whose first link
/// points at a note.
fn index(readme: &str) -> Vec<(String, usize)> {
    let mut rows = Vec::new();
    for line in readme.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Some(note) = cells.iter().find_map(|c| link_target(c)) else {
            continue;
        };
        let Some(Ok(examples)) = cells.last().map(|c| c.parse::<usize>()) else {
            continue;
        };
        rows.push((note, examples));
    }
    rows
}

fn link_target(cell: &str) -> Option<String> {
    let start = cell.find("](")? + 2;
    let end = start + cell[start..].find(')')?;
    let target = &cell[start..end];
    (target.ends_with(".md") && !target.contains('/')).then(|| target.to_owned())
}

// ------------------------------------------------------------------------------ pointers

/// Every `src/…` or `tests/…` path in `text`, with the `::item::item` names that follow it.
fn pointers(text: &str) -> Vec<(String, Vec<String>)> {
    let bytes = text.as_bytes();
    let path_char = |b: u8| b.is_ascii_alphanumeric() || b"_./-".contains(&b);
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !text.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &text[i..];
        let starts = rest.starts_with("src/") || rest.starts_with("tests/");
        let boundary = i == 0 || !path_char(bytes[i - 1]);
        if !(starts && boundary) {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len() && path_char(bytes[end]) {
            end += 1;
        }
        let path = text[i..end].trim_end_matches(['.', '-']).to_owned();
        let mut items = Vec::new();
        let mut at = i + path.len();
        while text[at..].starts_with("::") {
            let name_start = at + 2;
            let mut name_end = name_start;
            while name_end < bytes.len()
                && (bytes[name_end].is_ascii_alphanumeric() || bytes[name_end] == b'_')
            {
                name_end += 1;
            }
            if name_end == name_start {
                break;
            }
            items.push(text[name_start..name_end].to_owned());
            at = name_end;
        }
        out.push((path, items));
        i = at.max(i + 1);
    }
    out
}

fn defines(source: &str, name: &str) -> bool {
    const KINDS: [&str; 9] = [
        "fn ",
        "struct ",
        "enum ",
        "const ",
        "static ",
        "trait ",
        "type ",
        "mod ",
        "macro_rules! ",
    ];
    KINDS.iter().any(|kind| {
        let needle = format!("{kind}{name}");
        source.match_indices(&needle).any(|(at, _)| {
            let next = source[at + needle.len()..].chars().next();
            !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

// ------------------------------------------------------------------------------ the test

#[test]
fn rfc_notes_are_up_to_date() {
    let dir = notes_dir();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut notes: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("rfc-notes/ exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    notes.sort();

    let readme = fs::read_to_string(dir.join("README.md")).expect("rfc-notes/README.md");
    let index = index(&readme);
    assert!(!index.is_empty(), "rfc-notes/README.md has no index table");

    let bless = bless();
    let mut problems = Vec::new();
    let mut verified = 0;
    let mut total = 0;

    for path in &notes {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let text = fs::read_to_string(path).expect("readable note");

        // Pointers into the code.
        for (pointer, items) in pointers(&text) {
            let target = root.join(&pointer);
            if !target.exists() {
                problems.push(format!("{name}: `{pointer}` does not exist"));
                continue;
            }
            if items.is_empty() {
                continue;
            }
            let Ok(source) = fs::read_to_string(&target) else {
                problems.push(format!("{name}: `{pointer}` is not a readable file"));
                continue;
            };
            for item in items {
                if !defines(&source, &item) {
                    problems.push(format!("{name}: `{pointer}` defines no `{item}`"));
                }
            }
        }

        // The examples.
        let blocks = match find_blocks(&text) {
            Ok(blocks) => blocks,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        total += blocks.len();
        if name != "README.md" {
            match index.iter().find(|(note, _)| note == name) {
                None => problems.push(format!("{name} is not in the README index")),
                Some((_, expected)) if *expected != blocks.len() => problems.push(format!(
                    "{name} has {} example blocks; the README index says {expected}",
                    blocks.len()
                )),
                Some(_) => {}
            }
        }

        let mut rewritten = String::with_capacity(text.len());
        let mut copied = 0;
        for block in &blocks {
            let expected = fenced(&render(&block.directive));
            let found = &text[block.body.clone()];
            if found == expected {
                verified += 1;
            } else if bless {
                rewritten.push_str(&text[copied..block.body.start]);
                rewritten.push_str(&expected);
                copied = block.body.end;
                verified += 1;
            } else {
                problems.push(format!(
                    "{name}:{}: example out of date (run with RFC_NOTES_BLESS=1 to rewrite):\n{}",
                    block.line,
                    diff(found, &expected)
                ));
            }
        }
        if copied > 0 {
            rewritten.push_str(&text[copied..]);
            fs::write(path, rewritten).expect("rewrite the note");
            eprintln!("blessed {name}");
        }
    }

    for (note, _) in &index {
        if !dir.join(note).exists() {
            problems.push(format!("the README index lists {note}, which does not exist"));
        }
    }
    let indexed: usize = index.iter().map(|(_, n)| n).sum();
    if total < MIN_BLOCKS || indexed < MIN_BLOCKS {
        problems.push(format!(
            "{total} example blocks found, {indexed} indexed; at least {MIN_BLOCKS} expected"
        ));
    }
    eprintln!("rfc-notes: {total} example blocks, {verified} verified against the dissector");
    assert!(problems.is_empty(), "rfc-notes problems:\n\n{}", problems.join("\n\n"));
    assert_eq!(verified, total, "every example block was compared with the dissector");
}

#[test]
fn directive_grammar() {
    assert_eq!(
        parse_directive("frames role=client: 81 85 37fa213d 00*2 0102*2\n  ff"),
        Ok(Directive::Frames {
            role: Some(Role::Client),
            deflate: Deflate::Off,
            bytes: vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0, 0, 1, 2, 1, 2, 0xff],
        })
    );
    assert_eq!(
        parse_directive("frames: 80"),
        Ok(Directive::Frames { role: None, deflate: Deflate::Off, bytes: vec![0x80] })
    );
    let params = DeflateParams {
        server_no_context_takeover: true,
        client_max_window_bits: Some(10),
        ..DeflateParams::default()
    };
    assert_eq!(
        parse_directive(
            "frames role=server deflate=server_no_context_takeover,client_max_window_bits=10: 80"
        ),
        Ok(Directive::Frames {
            role: Some(Role::Server),
            deflate: Deflate::Inflate(params),
            bytes: vec![0x80],
        })
    );
    assert!(parse_directive("frames deflate=server_max_window_bits=16: 80").is_err());
    assert_eq!(
        parse_directive("handshake:\n    GET / HTTP/1.1\\r\\n\n    Host: a\\r\\n\\r\\n "),
        Ok(Directive::Handshake {
            key: None,
            bytes: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
        })
    );
    assert_eq!(
        parse_directive("handshake hex key=AQ==: 48 54"),
        Ok(Directive::Handshake { key: Some("AQ==".to_owned()), bytes: b"HT".to_vec() })
    );
    assert!(parse_directive("frames role=peer: 80").is_err());
    assert!(parse_directive("frames: 8").is_err());
    assert!(parse_directive("pictures: 80").is_err());

    let note = "a\n<!-- dissect frames: 89 00 -->\n```text\nold\n```\n<!-- end dissect -->\nb\n";
    let blocks = find_blocks(note).expect("one block");
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].line, 2);
    assert_eq!(&note[blocks[0].body.clone()], "```text\nold\n```\n");
    assert!(find_blocks("<!-- dissect frames: 89 00 -->\n").is_err());
    let shown =
        "````text\n<!-- dissect frames: 89 00 -->\n```text\nx\n```\n<!-- end dissect -->\n````\n";
    assert_eq!(find_blocks(shown).map(|b| b.len()), Ok(0));
    assert_eq!(find_blocks(&format!("{shown}{note}")).map(|b| b.len()), Ok(1));

    assert_eq!(
        pointers("see `src/frame/mask.rs::apply_mask` and tests/x.rs, not mysrc/y.rs."),
        vec![
            ("src/frame/mask.rs".to_owned(), vec!["apply_mask".to_owned()]),
            ("tests/x.rs".to_owned(), vec![]),
        ]
    );
    assert!(defines("pub fn check(", "check"));
    assert!(!defines("pub fn checked(", "check"));
    assert_eq!(diff("a\nb\n", "a\nc\n"), "  a\n- b\n+ c\n");
}
