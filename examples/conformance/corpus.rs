//! The payloads of groups 12 and 13. Autobahn sends slices of five files of its own
//! (`autobahntestsuite/testdata/`): a JSON document, a 512×512 grey bitmap, Goethe's Faust
//! (sent as binary), an HTML page and a PDF. Those files are not ours to ship, so by default
//! the suite generates stand-ins of the same kind and byte size (text or binary, about as
//! compressible); `--testdata DIR` reads Autobahn's own files from DIR instead.
//!
//! Each message of a case is the next slice of the file, wrapping at its end (Autobahn's
//! `payloadRXPtr`): `len` bytes of a binary file, `len` code points of a text file.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corpus {
    Json,
    Bitmap,
    Faust,
    Html,
    Pdf,
}

/// A corpus in memory.
pub struct Loaded {
    pub bytes: Vec<u8>,
    /// Where it came from: Autobahn's file, or "generated".
    pub source: String,
    /// Text: the byte offset of each code point. Binary: empty.
    starts: Vec<usize>,
}

static TESTDATA: OnceLock<PathBuf> = OnceLock::new();
static LOADED: [OnceLock<Result<Loaded, String>>; 5] =
    [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];

/// Read Autobahn's own files from `dir` (checked at once).
pub fn use_testdata(dir: &Path) -> Result<(), String> {
    let _ = TESTDATA.set(dir.to_path_buf());
    for c in Corpus::IN_ORDER {
        c.load()?;
    }
    Ok(())
}

impl Corpus {
    /// Autobahn's order of the 12.x subgroups (`WS_COMPRESSION_TESTDATA_KEYS`).
    pub const IN_ORDER: [Corpus; 5] =
        [Corpus::Json, Corpus::Bitmap, Corpus::Faust, Corpus::Html, Corpus::Pdf];

    /// Autobahn's file name.
    pub fn file(self) -> &'static str {
        match self {
            Corpus::Json => "data1.json",
            Corpus::Bitmap => "lena512.bmp",
            Corpus::Faust => "pg2229.txt",
            Corpus::Html => "data1.html",
            Corpus::Pdf => "10.1.1.105.5439.pdf",
        }
    }

    /// Sent as binary messages (else text).
    pub fn binary(self) -> bool {
        !matches!(self, Corpus::Json | Corpus::Html)
    }

    /// The size of Autobahn's file, which the stand-in matches.
    pub fn size(self) -> usize {
        match self {
            Corpus::Json => 194_056,
            Corpus::Bitmap => 263_222,
            Corpus::Faust => 222_218,
            Corpus::Html => 263_647,
            Corpus::Pdf => 1_042_328,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Corpus::Json => "a large JSON document",
            Corpus::Bitmap => "a 512x512 8-bit grey bitmap",
            Corpus::Faust => "German verse, Goethe's Faust I",
            Corpus::Html => "a large HTML page",
            Corpus::Pdf => "a large PDF",
        }
    }

    pub fn load(self) -> Result<&'static Loaded, String> {
        let slot = &LOADED[self as usize];
        slot.get_or_init(|| {
            let (bytes, source) = match TESTDATA.get() {
                Some(dir) => {
                    let path = dir.join(self.file());
                    let b = std::fs::read(&path)
                        .map_err(|e| format!("reading {}: {e}", path.display()))?;
                    (b, path.display().to_string())
                }
                None => (generate(self), "generated".to_string()),
            };
            let starts = if self.binary() {
                Vec::new()
            } else {
                let text = std::str::from_utf8(&bytes)
                    .map_err(|e| format!("{}: not UTF-8 text ({e})", self.file()))?;
                text.char_indices().map(|(i, _)| i).collect()
            };
            Ok(Loaded { bytes, source, starts })
        })
        .as_ref()
        .map_err(Clone::clone)
    }
}

/// The messages of one case, slice after slice.
pub struct Slicer {
    data: &'static Loaded,
    ptr: usize,
}

impl Slicer {
    pub fn new(data: &'static Loaded) -> Slicer {
        Slicer { data, ptr: 0 }
    }

    /// The next `len` units (bytes, or code points of text), wrapping around.
    pub fn next_message(&mut self, len: usize) -> Vec<u8> {
        let text = !self.data.starts.is_empty();
        let units = if text { self.data.starts.len() } else { self.data.bytes.len() };
        if units == 0 || len == 0 {
            return Vec::new();
        }
        let byte_at = |u: usize| if text { self.data.starts[u] } else { u };
        let from = self.ptr;
        let to = (from + len) % units;
        self.ptr = to;
        let (a, b) = (byte_at(from), byte_at(to));
        if to > from {
            self.data.bytes[a..b].to_vec()
        } else {
            let mut m = self.data.bytes[a..].to_vec();
            m.extend_from_slice(&self.data.bytes[..b]);
            m
        }
    }
}

/// A small deterministic generator (xorshift64*): the same stand-ins on every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn generate(c: Corpus) -> Vec<u8> {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1));
    let target = c.size();
    let mut out = match c {
        Corpus::Json => json(&mut g, target),
        Corpus::Bitmap => bitmap(&mut g),
        Corpus::Faust => verse(&mut g, target),
        Corpus::Html => html(&mut g, target),
        Corpus::Pdf => pdf(&mut g, target),
    };
    // Exactly the size of Autobahn's file; text is cut at a code point and padded.
    let mut cut = target.min(out.len());
    while !c.binary() && cut > 0 && out.get(cut).is_some_and(|b| b & 0xC0 == 0x80) {
        cut -= 1;
    }
    out.truncate(cut);
    out.resize(target, b'\n');
    out
}

const VERDICTS: &[&str] = &["OK", "OK", "OK", "OK", "NON-STRICT", "FAILED", "INFORMATIONAL"];

/// A conformance report: agents, cases, verdicts (repetitive, like Autobahn's JSON).
fn json(g: &mut Gen, target: usize) -> Vec<u8> {
    let mut s = String::from("{\n");
    let mut agent = 0;
    while s.len() < target {
        agent += 1;
        s.push_str(&format!("   \"testee-{agent}/0.{}\": {{\n", g.below(20)));
        for (i, group) in [1, 2, 3, 4, 5, 6, 7, 9, 10].iter().enumerate() {
            for case in 1..=(4 + g.below(12)) {
                let v = g.pick(VERDICTS);
                s.push_str(&format!(
                    "      \"{group}.{}.{case}\": {{\n         \"verdict\": \"{v}\",\n         \"close\": \"{}\",\n         \"duration_ms\": {},\n         \"peer_close_code\": {},\n         \"report\": \"testee_{agent}_case_{group}_{}_{case}.json\"\n      }},\n",
                    1 + i % 3,
                    g.pick(&["OK", "OK", "OK", "UNCLEAN"]),
                    g.below(40),
                    g.pick(&["1000", "1000", "1002", "1007", "null"]),
                    1 + i % 3,
                ));
            }
        }
        s.push_str("   },\n");
    }
    s.into_bytes()
}

/// A BMP file: 54-byte header, a 256-grey palette, 512×512 one-byte pixels of a smooth
/// picture with grain.
fn bitmap(g: &mut Gen) -> Vec<u8> {
    let (w, h) = (512u32, 512u32);
    let offset = 54 + 1024;
    let size = offset + w * h;
    let mut b = Vec::with_capacity(size as usize);
    b.extend_from_slice(b"BM");
    for v in [size, 0, offset, 40, w, h] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    for v in [0, w * h, 2835, 2835, 256, 256] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for i in 0..=255u8 {
        b.extend_from_slice(&[i, i, i, 0]);
    }
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (f64::from(x), f64::from(y));
            let v = 120.0
                + 60.0 * (fx / 37.0).sin() * (fy / 53.0).cos()
                + 35.0 * ((fx + 2.0 * fy) / 71.0).sin()
                + (g.below(25) as f64 - 12.0);
            b.push(v.clamp(0.0, 255.0) as u8);
        }
    }
    b
}

const WORDS: &[&str] = &[
    "und",
    "die",
    "der",
    "ich",
    "nicht",
    "das",
    "zu",
    "ist",
    "mit",
    "sich",
    "mir",
    "ein",
    "so",
    "mich",
    "dich",
    "wie",
    "was",
    "auf",
    "nur",
    "doch",
    "mein",
    "Herz",
    "Welt",
    "Geist",
    "Natur",
    "Himmel",
    "Erde",
    "Nacht",
    "Licht",
    "Seele",
    "Leben",
    "Kraft",
    "Teufel",
    "Pudel",
    "Kern",
    "Wissen",
    "Gelehrter",
    "Studierstube",
    "Mephistopheles",
    "Faust",
    "Gretchen",
    "Wagner",
    "Schüler",
    "Geister",
    "schön",
    "Brüder",
    "Tür",
    "Mädchen",
    "hören",
    "Gefühl",
    "Glück",
    "müssen",
    "wäre",
    "über",
    "für",
    "Träne",
    "Gebärde",
    "süß",
    "heiß",
    "Straße",
    "Fuß",
    "weiß",
    "Grüße",
    "Stühle",
    "Bücher",
    "ewig",
    "zögern",
    "Ruh",
    "Augenblick",
    "verweile",
    "doch",
    "bist",
    "so",
    "Philosophie",
    "Juristerei",
    "Medizin",
    "Theologie",
    "studiert",
    "heißem",
    "Bemühn",
    "Tor",
    "klug",
    "als",
    "wie",
    "zuvor",
];

/// Verse: lines of German words (umlauts and ß: multi-byte UTF-8), speakers, stanzas.
fn verse(g: &mut Gen, target: usize) -> Vec<u8> {
    let mut s = String::from("Faust: Der Tragödie erster Teil\n\n");
    let speakers = ["FAUST.", "MEPHISTOPHELES.", "WAGNER.", "MARGARETE.", "CHOR DER ENGEL."];
    while s.len() < target {
        s.push_str(&format!("{}\n", g.pick(&speakers)));
        for _ in 0..(2 + g.below(8)) {
            let mut line = String::new();
            for k in 0..(4 + g.below(5)) {
                let w = g.pick(WORDS);
                if k == 0 {
                    let mut cs = w.chars();
                    if let Some(first) = cs.next() {
                        line.extend(first.to_uppercase());
                        line.push_str(cs.as_str());
                    }
                } else {
                    line.push(' ');
                    line.push_str(w);
                }
            }
            line.push_str(g.pick(&[",", ",", ";", ".", "!", "?", ""]));
            s.push_str(&line);
            s.push('\n');
        }
        s.push('\n');
    }
    s.into_bytes()
}

/// A report page: a style sheet, then one table row per case (a few non-ASCII characters).
fn html(g: &mut Gen, target: usize) -> Vec<u8> {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html>\n   <head>\n      <meta charset=\"utf-8\" />\n      <style lang=\"css\">\nbody {\n   background-color: #F4F4F4;\n   color: #333;\n   font-family: Segoe UI,Tahoma,Arial,Verdana,sans-serif;\n}\ntd.ok { background-color: #0a0; }\ntd.failed { background-color: #900; }\n      </style>\n   </head>\n   <body>\n      <h1>Conformance report – κόσμε</h1>\n      <table>\n",
    );
    let mut n = 0;
    while s.len() < target {
        n += 1;
        let v = g.pick(VERDICTS);
        s.push_str(&format!(
            "         <tr>\n            <td class=\"case\"><a href=\"#case_{n}\">{}.{}.{}</a></td>\n            <td class=\"{}\">{v}</td>\n            <td class=\"duration\">{} µs</td>\n         </tr>\n",
            1 + g.below(13),
            1 + g.below(9),
            1 + g.below(18),
            v.to_ascii_lowercase(),
            g.below(100_000),
        ));
        if n % 400 == 0 {
            s.push_str("      </table>\n      <p>Next part → see below</p>\n      <table>\n");
        }
    }
    s.into_bytes()
}

/// A PDF: text objects around streams of incompressible bytes (compressed content).
fn pdf(g: &mut Gen, target: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut obj = 0;
    while b.len() < target {
        obj += 1;
        if obj % 4 == 0 {
            b.extend_from_slice(
                format!("{obj} 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding /WinAnsiEncoding >>\nendobj\n").as_bytes(),
            );
            continue;
        }
        let len = 2000 + g.below(30_000);
        b.extend_from_slice(
            format!("{obj} 0 obj\n<< /Length {len} /Filter /FlateDecode >>\nstream\n").as_bytes(),
        );
        for _ in 0..len.div_ceil(8) {
            b.extend_from_slice(&g.next().to_le_bytes());
        }
        b.extend_from_slice(b"\nendstream\nendobj\n");
    }
    b
}
