//! The feedparser-suite checker (`yuqing feedcheck`): every file of the feedparser test
//! suite (`manifest.tsv`: path, description, expectation, headers, skip condition) goes
//! through [`crate::feed::parse_model`], the decoding and parsing our `feed` connector uses,
//! and each file's expectation, a Python expression over feedparser's result, is evaluated
//! against a feedparser-shaped view of what we produced.
//!
//! * **The view.** `bozo` is true when parsing failed, bytes were malformed, a declared
//!   charset did not fit the bytes and was overridden, or the document had to be repaired
//!   (bare `&`); `encoding` is the encoding used;
//!   `feed` and `entries` carry feedparser's keys (`title`, `title_detail`, `link`, `links`,
//!   `id`, `summary`/`description`, `content`, `updated_parsed`, `author_detail`, `tags`, …)
//!   from feed-rs's model, with links resolved as our connector resolves them.
//! * **Comparisons.** Text fields (titles, summaries, content, subtitles, rights) compare as
//!   the text our connector stores: HTML rendered to text on both sides (feedparser keeps
//!   sanitized HTML; we keep text). An encoding compares equal to any WHATWG label of the same
//!   decoder (`gb2312` is GBK, `us-ascii` and `iso-8859-1` are windows-1252). A date string
//!   (`updated`, `published`) compares equal to feedparser's raw string when that string,
//!   parsed by our date parser, is the same instant (feed-rs keeps no raw strings); parsed
//!   dates as Python `time.struct_time` 9-tuples in UTC. Everything else compares exactly.
//! * **Outcomes.** An expectation is *met*, *unmet* (false, or a missing key as Python's
//!   `KeyError`), *unsupported* (a construct this evaluator does not implement; counted as not
//!   met) or a *panic* (must be 0). Rows about HTTP behaviour (`tests/http/`) and rows without
//!   an expectation are *not applicable* and left out of the shares.
//! * **Categories** (one per row, first that applies): `ill-formed` (files under
//!   `tests/illformed/` and expectations that require `bozo`), `encoding` (`tests/encoding/`),
//!   `date` (dates and times), `title`, `link`, `other`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::feed::{Decoding, entry_link, parse_model};
use crate::html;

/// One row of `manifest.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Path of the file, relative to the manifest.
    pub path: String,
    /// What the test is about.
    pub description: String,
    /// The Python expectation.
    pub expect: String,
    /// HTTP headers the test serves the file with (`Name: value | Name: value`).
    pub headers: String,
}

/// Read `manifest.tsv` (a header row, then tab-separated rows).
pub fn read_manifest(text: &str) -> Vec<Row> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t').map(str::to_string);
            Row {
                path: f.next().unwrap_or_default(),
                description: f.next().unwrap_or_default(),
                expect: f.next().unwrap_or_default(),
                headers: f.next().unwrap_or_default(),
            }
        })
        .collect()
}

/// What a row's expectation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Titles.
    Title,
    /// Links.
    Link,
    /// Dates and times.
    Date,
    /// Character encodings.
    Encoding,
    /// Ill-formed documents.
    IllFormed,
    /// Everything else.
    Other,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 6] = [
        Category::Title,
        Category::Link,
        Category::Date,
        Category::Encoding,
        Category::IllFormed,
        Category::Other,
    ];

    /// The report name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Title => "title",
            Category::Link => "link",
            Category::Date => "date",
            Category::Encoding => "encoding",
            Category::IllFormed => "ill-formed",
            Category::Other => "other",
        }
    }
}

/// The category of a row, `None` when it does not apply offline (HTTP tests, no expectation).
pub fn categorize(row: &Row) -> Option<Category> {
    let e = row.expect.trim();
    if e.is_empty() || row.path.starts_with("tests/http/") {
        return None;
    }
    let keys = |names: &[&str]| {
        names.iter().any(|n| {
            e.contains(&format!("['{n}']"))
                || e.contains(&format!("[\"{n}\"]"))
                || e.contains(&format!(".{n} "))
                || e.ends_with(&format!(".{n}"))
        })
    };
    if row.path.starts_with("tests/illformed/") || e.starts_with("bozo") {
        return Some(Category::IllFormed);
    }
    if row.path.starts_with("tests/encoding/") {
        return Some(Category::Encoding);
    }
    if e.contains("_parsed")
        || keys(&[
            "updated",
            "published",
            "created",
            "modified",
            "issued",
            "date",
            "expired",
        ])
    {
        return Some(Category::Date);
    }
    if keys(&["title", "title_detail"]) {
        return Some(Category::Title);
    }
    if keys(&["link", "links", "href"]) {
        return Some(Category::Link);
    }
    Some(Category::Other)
}

/// A value of the evaluated Python subset.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string compared exactly.
    Str(String),
    /// A text field: compared as rendered text.
    Text(String),
    /// An encoding name: compared by decoder.
    Enc(String),
    /// A date as a feed wrote it: compared by instant with a string that parses as a date.
    Date(DateTime<Utc>),
    /// A list.
    List(Vec<V>),
    /// A tuple.
    Tuple(Vec<V>),
    /// A dict (feedparser's `FeedParserDict`), keys in insertion order.
    Dict(Vec<(String, V)>),
    /// A built-in function (`len`, `ord`).
    Func(&'static str),
    /// A bound method of a dict (`get`, `has_key`, `keys`).
    Method(Box<V>, String),
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// Python would raise (missing key, index out of range, bad types): the expectation fails.
    Raise(String),
    /// A construct this evaluator does not implement.
    Unsupported(String),
}

fn raise<T>(m: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError::Raise(m.into()))
}

fn unsupported<T>(m: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError::Unsupported(m.into()))
}

impl V {
    fn truthy(&self) -> bool {
        match self {
            V::None => false,
            V::Bool(b) => *b,
            V::Int(i) => *i != 0,
            V::Float(f) => *f != 0.0,
            V::Str(s) | V::Text(s) | V::Enc(s) => !s.is_empty(),
            V::Date(_) => true,
            V::List(v) | V::Tuple(v) => !v.is_empty(),
            V::Dict(d) => !d.is_empty(),
            V::Func(_) | V::Method(..) => true,
        }
    }

    fn get(&self, key: &str) -> Option<&V> {
        match self {
            V::Dict(d) => d.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

fn text_eq(a: &str, b: &str) -> bool {
    a == b || html::to_text(a) == html::to_text(b)
}

fn enc_eq(ours: &str, label: &str) -> bool {
    let l = encoding_rs::Encoding::for_label(label.trim().as_bytes());
    let o = encoding_rs::Encoding::for_label(ours.as_bytes());
    let gbk = |e: Option<&'static encoding_rs::Encoding>| {
        e.map(|e| {
            if e == encoding_rs::GBK {
                encoding_rs::GB18030
            } else {
                e
            }
        })
    };
    ours.eq_ignore_ascii_case(label.trim()) || (l.is_some() && gbk(l) == gbk(o))
}

fn py_eq(a: &V, b: &V) -> bool {
    use V::*;
    match (a, b) {
        (Text(x), Str(y) | Text(y)) | (Str(x), Text(y)) => text_eq(x, y),
        (Enc(x), Str(y)) | (Str(y), Enc(x)) => enc_eq(x, y),
        (Enc(x), Enc(y)) | (Str(x), Str(y)) => x == y,
        (Date(x), Str(y)) | (Str(y), Date(x)) => crate::feed::parse_date(y) == Some(*x),
        (Date(x), Date(y)) => x == y,
        (Int(x), Int(y)) => x == y,
        (Int(x), Float(y)) | (Float(y), Int(x)) => (*x as f64) == *y,
        (Float(x), Float(y)) => x == y,
        (Bool(x), Bool(y)) => x == y,
        (Bool(x), Int(y)) | (Int(y), Bool(x)) => i64::from(*x) == *y,
        (None, None) => true,
        (List(x), List(y)) | (Tuple(x), Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| py_eq(a, b))
        }
        (Dict(x), Dict(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| b.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// Tokens and parser

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Int(i64),
    Float(f64),
    Name(String),
    Op(&'static str),
}

fn lex(src: &str) -> Result<Vec<Tok>, EvalError> {
    let cs: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // String literals, with an optional u/b/r prefix.
        let (prefix, q) = match (c, cs.get(i + 1)) {
            ('u' | 'U' | 'b' | 'B' | 'r' | 'R', Some(&q @ ('\'' | '"'))) => (Some(c), q),
            ('\'' | '"', _) => (None, c),
            _ => (None, '\0'),
        };
        if q != '\0' {
            let raw = matches!(prefix, Some('r' | 'R'));
            i += if prefix.is_some() { 2 } else { 1 };
            let mut s = String::new();
            loop {
                let Some(&ch) = cs.get(i) else {
                    return unsupported("unterminated string");
                };
                i += 1;
                if ch == q {
                    break;
                }
                if ch != '\\' || raw {
                    s.push(ch);
                    continue;
                }
                let Some(&e) = cs.get(i) else {
                    return unsupported("bad escape");
                };
                i += 1;
                let hex = |n: usize, i: &mut usize| -> Result<char, EvalError> {
                    let h: String = cs.get(*i..*i + n).unwrap_or_default().iter().collect();
                    *i += n;
                    u32::from_str_radix(&h, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .map_or_else(|| unsupported("bad escape"), Ok)
                };
                match e {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    '0' => s.push('\0'),
                    '\\' | '\'' | '"' => s.push(e),
                    'x' => s.push(hex(2, &mut i)?),
                    'u' => s.push(hex(4, &mut i)?),
                    'U' => s.push(hex(8, &mut i)?),
                    other => {
                        s.push('\\');
                        s.push(other);
                    }
                }
            }
            // Adjacent literals concatenate.
            if let Some(Tok::Str(prev)) = out.last_mut() {
                prev.push_str(&s);
            } else {
                out.push(Tok::Str(s));
            }
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            let n: String = cs[start..i].iter().collect();
            out.push(if n.contains('.') {
                Tok::Float(n.parse().map_err(|_| EvalError::Unsupported(n.clone()))?)
            } else {
                Tok::Int(n.parse().map_err(|_| EvalError::Unsupported(n.clone()))?)
            });
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            out.push(Tok::Name(cs[start..i].iter().collect()));
            continue;
        }
        let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
        let op = match two.as_str() {
            "==" => Some("=="),
            "!=" => Some("!="),
            _ => None,
        };
        if let Some(op) = op {
            out.push(Tok::Op(op));
            i += 2;
            continue;
        }
        let op = match c {
            '(' => "(",
            ')' => ")",
            '[' => "[",
            ']' => "]",
            '{' => "{",
            '}' => "}",
            ',' => ",",
            ':' => ":",
            '.' => ".",
            '+' => "+",
            '-' => "-",
            other => return unsupported(format!("operator `{other}`")),
        };
        out.push(Tok::Op(op));
        i += 1;
    }
    Ok(out)
}

struct Eval<'a> {
    toks: Vec<Tok>,
    pos: usize,
    env: &'a BTreeMap<&'static str, V>,
}

impl Eval<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn is_name(&self, n: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(x)) if x == n)
    }

    fn is_op(&self, o: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(x)) if *x == o)
    }

    fn expect_op(&mut self, o: &str) -> Result<(), EvalError> {
        if self.is_op(o) {
            self.pos += 1;
            Ok(())
        } else {
            unsupported(format!("expected `{o}`"))
        }
    }

    // Python evaluates `and`/`or` lazily: a KeyError on the right of a false `and` never
    // happens. Short-circuit by evaluating the right side only when needed, skipping its
    // tokens otherwise through a dry run that swallows errors.
    fn or(&mut self) -> Result<V, EvalError> {
        let mut v = self.and()?;
        while self.is_name("or") {
            self.pos += 1;
            let r = self.lazy(v.truthy(), Self::and)?;
            if !v.truthy() {
                v = r;
            }
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<V, EvalError> {
        let mut v = self.not()?;
        while self.is_name("and") {
            self.pos += 1;
            let r = self.lazy(!v.truthy(), Self::not)?;
            if v.truthy() {
                v = r;
            }
        }
        Ok(v)
    }

    /// Evaluate `f`; when `skip`, only consume its tokens (errors of a skipped operand are
    /// not raised, as in Python; unsupported syntax still is).
    fn lazy(
        &mut self,
        skip: bool,
        f: fn(&mut Self) -> Result<V, EvalError>,
    ) -> Result<V, EvalError> {
        if !skip {
            return f(self);
        }
        let start = self.pos;
        match f(self) {
            Ok(v) => Ok(v),
            Err(EvalError::Raise(_)) => {
                // Skip the operand: from its start to the next `and`/`or` or unmatched
                // closing bracket at its own level.
                self.pos = start;
                let mut depth = 0i32;
                while let Some(t) = self.peek() {
                    match t {
                        Tok::Op("(" | "[" | "{") => depth += 1,
                        Tok::Op(")" | "]" | "}") if depth == 0 => break,
                        Tok::Op(")" | "]" | "}") => depth -= 1,
                        Tok::Name(n) if depth == 0 && (n == "and" || n == "or") => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                Ok(V::None)
            }
            Err(e) => Err(e),
        }
    }

    fn not(&mut self) -> Result<V, EvalError> {
        if self.is_name("not") {
            self.pos += 1;
            return Ok(V::Bool(!self.not()?.truthy()));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<V, EvalError> {
        let mut left = self.arith()?;
        let mut result: Option<bool> = None;
        loop {
            let op = if self.is_op("==") {
                "=="
            } else if self.is_op("!=") {
                "!="
            } else if self.is_name("is") {
                if matches!(self.toks.get(self.pos + 1), Some(Tok::Name(n)) if n == "not") {
                    self.pos += 1;
                    "is not"
                } else {
                    "is"
                }
            } else if self.is_name("in") {
                "in"
            } else if self.is_name("not")
                && matches!(self.toks.get(self.pos + 1), Some(Tok::Name(n)) if n == "in")
            {
                self.pos += 1;
                "not in"
            } else {
                break;
            };
            self.pos += 1;
            let right = self.arith()?;
            let r = match op {
                "==" => py_eq(&left, &right),
                "!=" => !py_eq(&left, &right),
                "is" | "is not" => {
                    let same = match (&left, &right) {
                        (V::None, V::None) => true,
                        (V::Bool(a), V::Bool(b)) => a == b,
                        (_, V::None | V::Bool(_)) | (V::None | V::Bool(_), _) => false,
                        _ => return unsupported("`is` between objects"),
                    };
                    same == (op == "is")
                }
                _ => {
                    let inside = match &right {
                        V::Dict(d) => match &left {
                            V::Str(k) => d.iter().any(|(x, _)| x == k),
                            _ => false,
                        },
                        V::Str(s) | V::Text(s) => match &left {
                            V::Str(x) | V::Text(x) => s.contains(x.as_str()),
                            _ => return raise("`in <string>` needs a string"),
                        },
                        V::List(v) | V::Tuple(v) => v.iter().any(|x| py_eq(x, &left)),
                        _ => return raise("`in` needs a container"),
                    };
                    inside == (op == "in")
                }
            };
            result = Some(result.unwrap_or(true) && r);
            left = right;
        }
        Ok(match result {
            Some(b) => V::Bool(b),
            None => left,
        })
    }

    fn arith(&mut self) -> Result<V, EvalError> {
        let mut v = self.unary()?;
        while self.is_op("+") || self.is_op("-") {
            let plus = self.is_op("+");
            self.pos += 1;
            let r = self.unary()?;
            v = match (v, r, plus) {
                (V::Int(a), V::Int(b), true) => V::Int(a + b),
                (V::Int(a), V::Int(b), false) => V::Int(a - b),
                (V::Str(a), V::Str(b), true) => V::Str(a + &b),
                (V::Text(a) | V::Str(a), V::Text(b) | V::Str(b), true) => V::Text(a + &b),
                _ => return raise("unsupported operand types"),
            };
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<V, EvalError> {
        if self.is_op("-") {
            self.pos += 1;
            return match self.unary()? {
                V::Int(i) => Ok(V::Int(-i)),
                V::Float(f) => Ok(V::Float(-f)),
                _ => raise("bad operand for unary -"),
            };
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<V, EvalError> {
        let mut v = self.atom()?;
        loop {
            if self.is_op("[") {
                self.pos += 1;
                let k = self.or()?;
                self.expect_op("]")?;
                v = index(&v, &k)?;
            } else if self.is_op(".") {
                self.pos += 1;
                let Some(Tok::Name(n)) = self.peek().cloned() else {
                    return unsupported("attribute name");
                };
                self.pos += 1;
                v = match (&v, n.as_str()) {
                    (V::Dict(_), "get" | "has_key" | "keys") => V::Method(Box::new(v), n),
                    (V::Dict(_), _) => match v.get(&n) {
                        Some(x) => x.clone(),
                        None => return raise(format!("no attribute {n}")),
                    },
                    _ => return unsupported(format!("attribute .{n}")),
                };
            } else if self.is_op("(") {
                self.pos += 1;
                let mut args = Vec::new();
                while !self.is_op(")") {
                    args.push(self.or()?);
                    if self.is_op(",") {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                self.expect_op(")")?;
                v = call(v, args)?;
            } else {
                return Ok(v);
            }
        }
    }

    fn seq(&mut self, close: &str) -> Result<(Vec<V>, bool), EvalError> {
        let mut items = Vec::new();
        let mut comma = false;
        while !self.is_op(close) {
            items.push(self.or()?);
            if self.is_op(",") {
                comma = true;
                self.pos += 1;
            } else {
                break;
            }
        }
        self.expect_op(close)?;
        Ok((items, comma))
    }

    fn atom(&mut self) -> Result<V, EvalError> {
        let Some(t) = self.peek().cloned() else {
            return unsupported("unexpected end");
        };
        self.pos += 1;
        match t {
            Tok::Str(s) => Ok(V::Str(s)),
            Tok::Int(i) => Ok(V::Int(i)),
            Tok::Float(f) => Ok(V::Float(f)),
            Tok::Op("(") => {
                let (items, comma) = self.seq(")")?;
                match (items.len(), comma) {
                    (1, false) => Ok(items.into_iter().next().unwrap_or(V::None)),
                    _ => Ok(V::Tuple(items)),
                }
            }
            Tok::Op("[") => Ok(V::List(self.seq("]")?.0)),
            Tok::Op("{") => {
                let mut d = Vec::new();
                while !self.is_op("}") {
                    let k = match self.or()? {
                        V::Str(s) => s,
                        _ => return unsupported("non-string dict key"),
                    };
                    self.expect_op(":")?;
                    d.push((k, self.or()?));
                    if self.is_op(",") {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                self.expect_op("}")?;
                Ok(V::Dict(d))
            }
            Tok::Name(n) => match n.as_str() {
                "None" => Ok(V::None),
                "True" => Ok(V::Bool(true)),
                "False" => Ok(V::Bool(false)),
                "len" => Ok(V::Func("len")),
                "ord" => Ok(V::Func("ord")),
                _ => match self.env.get(n.as_str()) {
                    Some(v) => Ok(v.clone()),
                    None => unsupported(format!("name `{n}`")),
                },
            },
            Tok::Op(o) => unsupported(format!("`{o}`")),
        }
    }
}

fn index(v: &V, k: &V) -> Result<V, EvalError> {
    match (v, k) {
        (V::Dict(_), V::Str(key)) => match v.get(key) {
            Some(x) => Ok(x.clone()),
            None => raise(format!("KeyError: {key}")),
        },
        (V::List(items) | V::Tuple(items), V::Int(i)) => {
            let n = items.len() as i64;
            let at = if *i < 0 { n + i } else { *i };
            if (0..n).contains(&at) {
                Ok(items[at as usize].clone())
            } else {
                raise("IndexError")
            }
        }
        (V::Str(s) | V::Text(s), V::Int(i)) => {
            let cs: Vec<char> = s.chars().collect();
            let n = cs.len() as i64;
            let at = if *i < 0 { n + i } else { *i };
            if (0..n).contains(&at) {
                Ok(V::Str(cs[at as usize].to_string()))
            } else {
                raise("IndexError")
            }
        }
        _ => raise("TypeError: bad index"),
    }
}

fn call(f: V, args: Vec<V>) -> Result<V, EvalError> {
    match (f, args.as_slice()) {
        (V::Func("len"), [V::Str(s) | V::Text(s)]) => Ok(V::Int(s.chars().count() as i64)),
        (V::Func("len"), [V::List(v) | V::Tuple(v)]) => Ok(V::Int(v.len() as i64)),
        (V::Func("len"), [V::Dict(d)]) => Ok(V::Int(d.len() as i64)),
        (V::Func("ord"), [V::Str(s) | V::Text(s)]) => {
            let mut cs = s.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Ok(V::Int(i64::from(u32::from(c)))),
                _ => raise("ord() expected a character"),
            }
        }
        (V::Method(d, m), args) => match (m.as_str(), args) {
            ("get", [V::Str(k)]) => Ok(d.get(k).cloned().unwrap_or(V::None)),
            ("get", [V::Str(k), default]) => Ok(d.get(k).cloned().unwrap_or(default.clone())),
            ("has_key", [V::Str(k)]) => Ok(V::Bool(d.get(k).is_some())),
            ("keys", []) => match *d {
                V::Dict(items) => Ok(V::List(items.into_iter().map(|(k, _)| V::Str(k)).collect())),
                _ => raise("keys of a non-dict"),
            },
            _ => unsupported(format!("method {m}")),
        },
        (V::Func(f), _) => raise(format!("{f}() arguments")),
        _ => unsupported("call"),
    }
}

/// Evaluate a Python expectation in `env`.
pub fn eval(expr: &str, env: &BTreeMap<&'static str, V>) -> Result<bool, EvalError> {
    let mut e = Eval {
        toks: lex(expr)?,
        pos: 0,
        env,
    };
    let v = e.or()?;
    if e.pos != e.toks.len() {
        return unsupported(format!("trailing tokens in `{expr}`"));
    }
    Ok(v.truthy())
}

// ---------------------------------------------------------------------------------------
// The view

fn dict(items: Vec<(&str, Option<V>)>) -> V {
    V::Dict(
        items
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect(),
    )
}

fn s(v: &Option<String>) -> Option<V> {
    v.as_ref().map(|x| V::Str(x.clone()))
}

fn time_tuple(t: DateTime<Utc>) -> V {
    V::Tuple(vec![
        V::Int(i64::from(t.year())),
        V::Int(i64::from(t.month())),
        V::Int(i64::from(t.day())),
        V::Int(i64::from(t.hour())),
        V::Int(i64::from(t.minute())),
        V::Int(i64::from(t.second())),
        V::Int(i64::from(t.weekday().num_days_from_monday())),
        V::Int(i64::from(t.ordinal())),
        V::Int(0),
    ])
}

fn text_detail(t: &feed_rs::model::Text, language: Option<&String>, base: &str) -> V {
    let ty = t.content_type.to_string();
    let ty = match ty.as_str() {
        "text/plain" | "text/html" | "application/xhtml+xml" => ty,
        other if other.contains("html") => "text/html".into(),
        _ => ty,
    };
    dict(vec![
        ("type", Some(V::Str(ty))),
        ("language", language.map(|l| V::Str(l.clone()))),
        ("base", Some(V::Str(base.to_string()))),
        ("value", Some(V::Text(t.content.clone()))),
    ])
}

fn person(p: &feed_rs::model::Person) -> V {
    dict(vec![
        ("name", s(&p.name)),
        ("email", s(&p.email)),
        ("href", s(&p.uri)),
    ])
}

fn link(l: &feed_rs::model::Link, base: &url::Url) -> V {
    let href = base
        .join(&l.href)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| l.href.clone());
    dict(vec![
        (
            "rel",
            Some(V::Str(l.rel.clone().unwrap_or_else(|| "alternate".into()))),
        ),
        ("type", s(&l.media_type)),
        ("href", Some(V::Str(href))),
        ("title", s(&l.title)),
        ("hreflang", s(&l.href_lang)),
        ("length", l.length.map(|n| V::Str(n.to_string()))),
    ])
}

fn tag(c: &feed_rs::model::Category) -> V {
    dict(vec![
        ("term", Some(V::Str(c.term.clone()))),
        ("scheme", s(&c.scheme)),
        ("label", s(&c.label)),
    ])
}

fn date_keys(out: &mut Vec<(String, V)>, name: &str, t: Option<DateTime<Utc>>) {
    if let Some(t) = t {
        out.push((name.to_string(), V::Date(t)));
        out.push((format!("{name}_parsed"), time_tuple(t)));
    }
}

/// The feedparser-shaped result of one file: `bozo`, `encoding`, `version`, `feed`,
/// `entries`.
pub fn view(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &url::Url,
) -> BTreeMap<&'static str, V> {
    let (dec, parsed): (Decoding, _) = parse_model(bytes, content_type, base);
    let mut env = BTreeMap::new();
    let bozo = parsed.is_err() || dec.had_errors || dec.overridden || dec.repaired;
    env.insert("bozo", V::Bool(bozo));
    env.insert("encoding", V::Enc(dec.encoding.name().to_ascii_lowercase()));
    let Ok(f) = parsed else {
        env.insert("feed", V::Dict(vec![]));
        env.insert("entries", V::List(vec![]));
        env.insert("version", V::Str(String::new()));
        return env;
    };
    let b = base.as_str();
    env.insert(
        "version",
        V::Str(
            match f.feed_type {
                feed_rs::model::FeedType::Atom => "atom10",
                feed_rs::model::FeedType::JSON => "json1",
                feed_rs::model::FeedType::RSS0 => "rss092",
                feed_rs::model::FeedType::RSS1 => "rss10",
                feed_rs::model::FeedType::RSS2 => "rss20",
            }
            .into(),
        ),
    );
    let lang = f.language.as_ref();
    let mut feed: Vec<(String, V)> = Vec::new();
    let text = |out: &mut Vec<(String, V)>,
                names: &[&str],
                t: &Option<feed_rs::model::Text>,
                l: Option<&String>| {
        if let Some(t) = t {
            for n in names {
                out.push((n.to_string(), V::Text(t.content.clone())));
                out.push((format!("{n}_detail"), text_detail(t, l, b)));
            }
        }
    };
    text(&mut feed, &["title"], &f.title, lang);
    text(
        &mut feed,
        &["subtitle", "tagline", "description"],
        &f.description,
        lang,
    );
    text(&mut feed, &["rights", "copyright"], &f.rights, lang);
    if let Some(l) = entry_link(&f.links, base) {
        feed.push(("link".into(), V::Str(l.to_string())));
    }
    if !f.links.is_empty() {
        feed.push((
            "links".into(),
            V::List(f.links.iter().map(|l| link(l, base)).collect()),
        ));
    }
    if !f.id.is_empty() {
        feed.push(("id".into(), V::Str(f.id.clone())));
    }
    if let Some(l) = lang {
        feed.push(("language".into(), V::Str(l.clone())));
    }
    date_keys(&mut feed, "updated", f.updated.or(f.published));
    date_keys(&mut feed, "published", f.published);
    if let Some(a) = f.authors.first() {
        if let Some(n) = &a.name {
            feed.push(("author".into(), V::Str(n.clone())));
        }
        feed.push(("author_detail".into(), person(a)));
        feed.push((
            "authors".into(),
            V::List(f.authors.iter().map(person).collect()),
        ));
    }
    if !f.contributors.is_empty() {
        feed.push((
            "contributors".into(),
            V::List(f.contributors.iter().map(person).collect()),
        ));
    }
    if !f.categories.is_empty() {
        feed.push((
            "tags".into(),
            V::List(f.categories.iter().map(tag).collect()),
        ));
    }
    if let Some(g) = &f.generator {
        feed.push(("generator".into(), V::Str(g.content.clone())));
        feed.push((
            "generator_detail".into(),
            dict(vec![
                ("name", Some(V::Str(g.content.clone()))),
                ("href", s(&g.uri)),
                ("version", s(&g.version)),
            ]),
        ));
    }
    if let Some(i) = f.logo.as_ref().or(f.icon.as_ref()) {
        feed.push((
            "image".into(),
            dict(vec![
                ("href", Some(V::Str(i.uri.clone()))),
                ("title", s(&i.title)),
            ]),
        ));
    }
    let mut entries = Vec::new();
    for e in &f.entries {
        let mut out: Vec<(String, V)> = Vec::new();
        let l = e.language.as_ref().or(lang);
        let eb = e.base.as_deref().unwrap_or(b);
        if let Some(t) = &e.title {
            out.push(("title".into(), V::Text(t.content.clone())));
            out.push(("title_detail".into(), text_detail(t, l, eb)));
        }
        if let Some(t) = &e.summary {
            for n in ["summary", "description"] {
                out.push((n.into(), V::Text(t.content.clone())));
            }
            out.push(("summary_detail".into(), text_detail(t, l, eb)));
        } else if let Some(body) = e.content.as_ref().and_then(|c| c.body.as_ref()) {
            // feedparser falls back to the content for the summary.
            for n in ["summary", "description"] {
                out.push((n.into(), V::Text(body.clone())));
            }
        }
        if let Some(c) = &e.content
            && let Some(body) = &c.body
        {
            out.push((
                "content".into(),
                V::List(vec![dict(vec![
                    ("type", Some(V::Str(c.content_type.to_string()))),
                    ("language", l.map(|x| V::Str(x.clone()))),
                    ("base", Some(V::Str(eb.to_string()))),
                    ("value", Some(V::Text(body.clone()))),
                ])]),
            ));
        }
        if let Some(u) = entry_link(&e.links, base) {
            out.push(("link".into(), V::Str(u.to_string())));
        }
        if !e.links.is_empty() {
            out.push((
                "links".into(),
                V::List(e.links.iter().map(|x| link(x, base)).collect()),
            ));
        }
        if !e.id.is_empty() {
            out.push(("id".into(), V::Str(e.id.clone())));
            out.push(("guid".into(), V::Str(e.id.clone())));
        }
        date_keys(&mut out, "updated", e.updated.or(e.published));
        date_keys(&mut out, "published", e.published);
        if let Some(a) = e.authors.first() {
            if let Some(n) = &a.name {
                out.push(("author".into(), V::Str(n.clone())));
            }
            out.push(("author_detail".into(), person(a)));
            out.push((
                "authors".into(),
                V::List(e.authors.iter().map(person).collect()),
            ));
        }
        if !e.contributors.is_empty() {
            out.push((
                "contributors".into(),
                V::List(e.contributors.iter().map(person).collect()),
            ));
        }
        if let Some(c) = e.categories.first() {
            out.push(("category".into(), V::Str(c.term.clone())));
            out.push((
                "tags".into(),
                V::List(e.categories.iter().map(tag).collect()),
            ));
        }
        if let Some(r) = &e.rights {
            out.push(("rights".into(), V::Text(r.content.clone())));
            out.push(("rights_detail".into(), text_detail(r, l, eb)));
        }
        entries.push(V::Dict(out));
    }
    env.insert("feed", V::Dict(feed));
    env.insert("entries", V::List(entries));
    env
}

// ---------------------------------------------------------------------------------------
// The run

/// How one row ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The expectation holds.
    Met,
    /// It does not (false, or Python would raise).
    Unmet(String),
    /// The expectation uses a construct the evaluator does not implement.
    Unsupported(String),
    /// Our parser or the evaluator panicked.
    Panic,
    /// The file could not be read.
    Missing,
}

/// One row's result.
#[derive(Debug, Clone)]
pub struct RowResult {
    /// The row.
    pub row: Row,
    /// Its category.
    pub category: Category,
    /// How it ended.
    pub outcome: Outcome,
}

/// Tallies of one category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Rows evaluated.
    pub total: usize,
    /// Expectations met.
    pub met: usize,
    /// Not met.
    pub unmet: usize,
    /// Unsupported expressions (not met).
    pub unsupported: usize,
    /// Panics.
    pub panics: usize,
}

impl Tally {
    /// Share of expectations met.
    pub fn share(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.met as f64 / self.total as f64
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every applicable row.
    pub rows: Vec<RowResult>,
    /// Rows left out (HTTP tests, no expectation).
    pub not_applicable: usize,
}

impl Report {
    /// Tallies per category, and over all.
    pub fn tallies(&self) -> (BTreeMap<Category, Tally>, Tally) {
        let mut per: BTreeMap<Category, Tally> = BTreeMap::new();
        let mut all = Tally::default();
        for r in &self.rows {
            for t in [per.entry(r.category).or_default(), &mut all] {
                t.total += 1;
                match r.outcome {
                    Outcome::Met => t.met += 1,
                    Outcome::Unmet(_) | Outcome::Missing => t.unmet += 1,
                    Outcome::Unsupported(_) => t.unsupported += 1,
                    Outcome::Panic => t.panics += 1,
                }
            }
        }
        (per, all)
    }
}

/// The `Content-Type` a row's headers give, if any.
fn content_type_of(headers: &str) -> Option<String> {
    headers.split('|').find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-type")
            .then(|| v.trim().to_string())
    })
}

/// Check one row against the file at `root/row.path`.
pub fn check_row(root: &Path, row: &Row) -> Option<RowResult> {
    let category = categorize(row)?;
    let path: PathBuf = root.join(&row.path);
    let outcome = match std::fs::read(&path) {
        Err(_) => Outcome::Missing,
        Ok(bytes) => {
            let base = url::Url::parse(&format!("http://127.0.0.1:8097/{}", row.path))
                .unwrap_or_else(|_| url::Url::parse("http://127.0.0.1:8097/").expect("valid"));
            let ct = content_type_of(&row.headers);
            let run = std::panic::catch_unwind(|| {
                let env = view(&bytes, ct.as_deref(), &base);
                eval(&row.expect, &env)
            });
            match run {
                Err(_) => Outcome::Panic,
                Ok(Ok(true)) => Outcome::Met,
                Ok(Ok(false)) => Outcome::Unmet("false".into()),
                Ok(Err(EvalError::Raise(m))) => Outcome::Unmet(m),
                Ok(Err(EvalError::Unsupported(m))) => Outcome::Unsupported(m),
            }
        }
    };
    Some(RowResult {
        row: row.clone(),
        category,
        outcome,
    })
}

/// Check every row of `dir/manifest.tsv`.
pub fn check_dir(dir: &Path) -> std::io::Result<Report> {
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv"))?;
    let mut report = Report::default();
    for row in read_manifest(&manifest) {
        match check_row(dir, &row) {
            Some(r) => report.rows.push(r),
            None => report.not_applicable += 1,
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(xml: &str) -> BTreeMap<&'static str, V> {
        view(
            xml.as_bytes(),
            None,
            &url::Url::parse("http://127.0.0.1:8097/tests/x.xml").unwrap(),
        )
    }

    const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">&lt;b&gt;Example&lt;/b&gt; Atom</title>
<link rel="alternate" href="/home"/><updated>2003-12-31T10:14:55Z</updated>
<entry><title>Entry</title><id>urn:e1</id><link href="http://example.com/e1"/>
<updated>2004-01-01T19:48:21Z</updated><summary>S &amp; T</summary></entry></feed>"#;

    #[test]
    fn expectations_evaluate_like_python() {
        let env = env_of(ATOM);
        let yes = |e: &str| assert_eq!(eval(e, &env), Ok(true), "{e}");
        let no = |e: &str| assert!(!matches!(eval(e, &env), Ok(true)), "{e}");
        yes("not bozo and feed['title'] == '<b>Example</b> Atom'");
        yes("feed.title == 'Example Atom'");
        yes("feed['link'] == 'http://127.0.0.1:8097/home'");
        yes("entries[0]['link'] == 'http://example.com/e1'");
        yes("entries[0].links[0] == {'rel': 'alternate', 'href': 'http://example.com/e1'}");
        yes("entries[0]['updated_parsed'] == (2004, 1, 1, 19, 48, 21, 3, 1, 0)");
        yes("feed['updated_parsed'] == (2003, 12, 31, 10, 14, 55, 2, 365, 0)");
        yes("entries[0]['summary'] == u'S &amp; T'");
        yes("entries[-1]['id'] == 'urn:e1' and len(entries) == 1");
        yes("encoding == 'utf-8' and version == 'atom10'");
        yes("entries[0].get('where') is None and not entries[0].has_key('where')");
        yes("'title' in feed and 'nope' not in feed");
        yes("ord(entries[0]['title'][0]) == 69");
        yes("feed['title'] == '<b>' + 'Example</b> ' 'Atom'");
        yes("bozo or feed['title'] == feed['title']");
        // A false `and` never evaluates its right side (no KeyError).
        no("bozo and entries[5]['title'] == 'x'");
        no("entries[0]['nope'] == 'x'");
        assert!(matches!(
            eval("isinstance(bozo_exception, feedparser.X)", &env),
            Err(EvalError::Unsupported(_))
        ));
    }

    #[test]
    fn encodings_compare_by_decoder_and_bozo_marks_overrides() {
        let bytes = encoding_rs::GBK
            .encode("<?xml version=\"1.0\" encoding=\"gb2312\"?><rss version=\"2.0\"><channel><title>财经</title></channel></rss>")
            .0
            .into_owned();
        let env = view(
            &bytes,
            None,
            &url::Url::parse("http://127.0.0.1/x").unwrap(),
        );
        assert_eq!(eval("not bozo and encoding == 'gb2312'", &env), Ok(true));
        assert_eq!(
            eval("encoding == 'gb18030' and feed['title'] == '财经'", &env),
            Ok(true)
        );
        let env = view(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss><channel><title>é".as_bytes(),
            Some("text/xml; charset=koi8-r"),
            &url::Url::parse("http://127.0.0.1/x").unwrap(),
        );
        assert_eq!(eval("bozo", &env), Ok(true));
    }

    #[test]
    fn rows_are_categorized() {
        let row = |path: &str, expect: &str| Row {
            path: path.into(),
            description: String::new(),
            expect: expect.into(),
            headers: String::new(),
        };
        let c = |p, e| categorize(&row(p, e));
        assert_eq!(c("tests/http/x.xml", "0"), None);
        assert_eq!(c("tests/compression/x.gz", ""), None);
        assert_eq!(
            c("tests/illformed/x.xml", "not bozo"),
            Some(Category::IllFormed)
        );
        assert_eq!(
            c("tests/wellformed/x.xml", "bozo"),
            Some(Category::IllFormed)
        );
        assert_eq!(
            c("tests/encoding/x.xml", "not bozo and feed['title'] == 'x'"),
            Some(Category::Encoding)
        );
        assert_eq!(
            c(
                "tests/wellformed/x.xml",
                "entries[0]['updated_parsed'] == (1,)"
            ),
            Some(Category::Date)
        );
        assert_eq!(
            c("tests/wellformed/x.xml", "not bozo and feed.title == 'x'"),
            Some(Category::Title)
        );
        assert_eq!(
            c(
                "tests/wellformed/x.xml",
                "entries[0]['links'][0]['href'] == 'x'"
            ),
            Some(Category::Link)
        );
        assert_eq!(
            c("tests/wellformed/x.xml", "feed['language'] == 'en'"),
            Some(Category::Other)
        );
        assert_eq!(
            content_type_of("Status: 200 | Content-type: text/xml; charset=utf-8").as_deref(),
            Some("text/xml; charset=utf-8")
        );
    }
}
