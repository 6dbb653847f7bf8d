//! The query language of the search console, parsed by hand and compiled to tantivy queries.
//!
//! # Syntax
//!
//! | you write | it means |
//! |---|---|
//! | `暴力催收 投诉` | both words, in the title or the body (implicit `AND`) |
//! | `"暴力 催收"`, `“恒信 客服”`, `"credit card"` | a phrase: the words in this order, adjacent |
//! | `a AND b`, `a OR b`, `NOT a`, `-a` | boolean operators (upper case; `&&` and `\|\|` also work); `+a` is just `a` |
//! | `( … )` | grouping; `NOT` binds tighter than `AND`, which binds tighter than `OR` |
//! | `title:催收`, `body:"砍头息"` | text in one field only |
//! | `source:news/sina`, `channel:complaint`, `entity:hengxin`, `tag:authoritative`, `risk:collection`, `cluster:<doc id>` | exact value of a keyword field; quote values with spaces |
//! | `sentiment:negative` (or `负面`, `neutral`/`中性`, `positive`/`正面`) | sentiment label |
//! | `dim:people` (or `人`, `事`, `财`, `物`, `信息`, `安全`, `文化`) | review dimension |
//! | `source:(news/a OR news/b)` | a field applied to every bare value inside the group |
//! | `time:2026-01-31`, `time:2026-01`, `time:2026-01-31T08:00` | that day, month or minute |
//! | `time:>=2026-01-01`, `time:>2026-01-01`, `time:<2026-02-01`, `time:<=2026-01-31` | open ranges |
//! | `time:[2026-01-01 TO 2026-01-31]` | from the start of Jan 1 to the end of Jan 31 |
//! | `time:{2026-01-01 TO 2026-02-01}`, `[… TO …}`, `[2026-01-01 TO *]` | `{`/`}` exclude their end, `*` is open |
//! | `last:24h`, `last:7d`, `time:24h`, `time:30min`, `time:2w` | from that long before *now* on |
//!
//! Times without an offset are local to the search's time zone (Asia/Shanghai by default): a
//! date means that whole local day, so `time:2026-01-31` is `[2026-01-30T16:00Z, 2026-01-31T16:00Z)`.
//! A value `V` covers a span `[start, end)` (a day, a month, a minute or a second); `>=V` is
//! from `start`, `>V` from `end`, `<V` before `start`, `<=V` before `end`; `[A TO B]` is
//! `[A.start, B.end)`, and a brace excludes its side's span. `2026-01-31T08:00:00+08:00` and
//! `…Z` are absolute. Relative times count back from the `now` the caller passes, so tests are
//! deterministic.
//!
//! Full-width `（）：` and Chinese quotes `“”` work like their ASCII forms. Words are segmented by
//! the index's own jieba tokenizer: a word the dictionary knows (`暴力催收`) is one term, a
//! longer run (`恒信暴力催收`) must match as a phrase. A bare `word:` whose `word` is ASCII
//! letters is a field name (`foo:` is an error that lists the known fields); `12:30` and
//! `"foo:bar"` are text.
//!
//! # Errors
//!
//! A query that does not parse is a [`QueryError`] with the byte offset and the character
//! offset of the problem and a message in Chinese and English, e.g. `column 7: unbalanced
//! parenthesis: this "(" is never closed (第 7 个字符：括号不配对，这个“(”没有对应的“)”)`.

use std::fmt;
use std::ops::Bound;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, NaiveDateTime, NaiveTime,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use yuqing_model::{Channel, Dimension, SentimentLabel};

use crate::Fields;

/// Field names a query may use, in the order errors list them.
pub const FIELDS: &[&str] = &[
    "title",
    "body",
    "source",
    "channel",
    "entity",
    "sentiment",
    "risk",
    "dim",
    "tag",
    "cluster",
    "time",
    "last",
];

/// How much more a title match weighs than a body match.
pub const TITLE_BOOST: f32 = 2.0;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every clause must match (no clause: every document).
    And(Vec<Expr>),
    /// At least one clause must match.
    Or(Vec<Expr>),
    /// The clause must not match.
    Not(Box<Expr>),
    /// Words or a phrase in the title or the body.
    Text {
        /// Where the text must occur.
        scope: TextScope,
        /// The text as written (without quotes).
        text: String,
        /// Whether it was quoted.
        phrase: bool,
    },
    /// An exact value of a keyword field.
    Term {
        /// The field.
        field: TermField,
        /// The value as indexed (labels and dimensions canonicalized).
        value: String,
    },
    /// Document time in `[from, to)`; `None` is open.
    Time {
        /// Inclusive lower bound.
        from: Option<DateTime<Utc>>,
        /// Exclusive upper bound.
        to: Option<DateTime<Utc>>,
    },
}

/// Where text must occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextScope {
    /// Title or body.
    Any,
    /// Title only (`title:`).
    Title,
    /// Body only (`body:`).
    Body,
}

/// Keyword fields a query filters on exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermField {
    /// `source:`
    Source,
    /// `channel:`
    Channel,
    /// `entity:`
    Entity,
    /// `sentiment:`
    Sentiment,
    /// `risk:`
    Risk,
    /// `dim:`
    Dim,
    /// `tag:`
    Tag,
    /// `cluster:`
    Cluster,
}

impl TermField {
    /// The field's name in queries.
    pub fn as_str(self) -> &'static str {
        match self {
            TermField::Source => "source",
            TermField::Channel => "channel",
            TermField::Entity => "entity",
            TermField::Sentiment => "sentiment",
            TermField::Risk => "risk",
            TermField::Dim => "dim",
            TermField::Tag => "tag",
            TermField::Cluster => "cluster",
        }
    }
}

/// What the parser needs besides the text.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext {
    /// The instant relative times (`last:24h`) count back from.
    pub now: DateTime<Utc>,
    /// The zone of times written without an offset.
    pub timezone: Tz,
}

/// What is wrong with a query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryErrorKind {
    /// A `(` is never closed.
    UnclosedParen,
    /// A `)` closes nothing.
    UnexpectedCloseParen,
    /// A `"` is never closed.
    UnclosedQuote,
    /// A `[`/`{` time range is never closed.
    UnclosedRange,
    /// An operator lacks an operand (`a AND`, `OR b`, `NOT`).
    MissingOperand {
        /// The operator as written.
        op: String,
    },
    /// `()`.
    EmptyGroup,
    /// `foo:` where `foo` is not a field.
    UnknownField {
        /// The name written.
        field: String,
    },
    /// `source:` with nothing after it.
    EmptyValue {
        /// The field.
        field: String,
    },
    /// A value the field does not have (`sentiment:angry`).
    BadValue {
        /// The field.
        field: String,
        /// The value written.
        value: String,
        /// The values allowed.
        allowed: Vec<String>,
    },
    /// A `[… TO …]` range on a field other than `time:`.
    RangeNotAllowed {
        /// The field.
        field: String,
    },
    /// A time that cannot be read.
    BadTime {
        /// The value written.
        value: String,
    },
    /// A time range that ends before it starts.
    EmptyTimeRange {
        /// The value written.
        value: String,
    },
    /// A page cursor that was not made by this index (or for another sort order).
    BadCursor,
}

/// A query that does not parse: what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// What is wrong.
    pub kind: QueryErrorKind,
    /// Byte offset of the problem in the query (UTF-8).
    pub byte: usize,
    /// Character offset of the problem in the query (0-based; [`QueryError::column`] is 1-based).
    pub char: usize,
}

const TIME_FORMS_EN: &str = "2026-01-31, 2026-01, 2026-01-31T08:00, >=2026-01-01, \
                             [2026-01-01 TO 2026-01-31], 24h, 7d, 30min or 2w";
const TIME_FORMS_ZH: &str = "2026-01-31、2026-01、2026-01-31T08:00、>=2026-01-01、\
                             [2026-01-01 TO 2026-01-31]、24h、7d、30min 或 2w";

impl QueryError {
    fn at(kind: QueryErrorKind, src: &str, byte: usize) -> QueryError {
        let byte = byte.min(src.len());
        QueryError {
            kind,
            byte,
            char: src[..byte].chars().count(),
        }
    }

    /// The 1-based column (in characters) of the problem.
    pub fn column(&self) -> usize {
        self.char + 1
    }

    /// What is wrong, in English (lowercase, no column).
    pub fn message_en(&self) -> String {
        use QueryErrorKind::*;
        match &self.kind {
            UnclosedParen => "unbalanced parenthesis: this \"(\" is never closed".into(),
            UnexpectedCloseParen => {
                "unbalanced parenthesis: this \")\" has no matching \"(\"".into()
            }
            UnclosedQuote => "unclosed quote: add the closing \"".into(),
            UnclosedRange => "unclosed time range: expected \"]\" or \"}\"".into(),
            MissingOperand { op } if op == "NOT" || op == "-" => {
                format!("\"{op}\" needs a search term after it")
            }
            MissingOperand { op } => format!("\"{op}\" needs a search term on both sides"),
            EmptyGroup => "empty parentheses".into(),
            UnknownField { field } => format!(
                "unknown field \"{field}:\"; known fields: {} (quote the text to search it as words)",
                FIELDS.join(", ")
            ),
            EmptyValue { field } => format!("\"{field}:\" needs a value"),
            BadValue {
                field,
                value,
                allowed,
            } => format!(
                "\"{field}:{value}\" is not a known value; use one of: {}",
                allowed.join(", ")
            ),
            RangeNotAllowed { field } => {
                format!("ranges apply only to \"time:\", not to \"{field}:\"")
            }
            BadTime { value } => {
                format!("cannot read the time \"{value}\"; write {TIME_FORMS_EN}")
            }
            EmptyTimeRange { value } => {
                format!("the time range \"{value}\" ends before it starts")
            }
            BadCursor => "invalid page cursor; start again from the first page".into(),
        }
    }

    /// What is wrong, in Chinese (no column).
    pub fn message_zh(&self) -> String {
        use QueryErrorKind::*;
        match &self.kind {
            UnclosedParen => "括号不配对，这个“(”没有对应的“)”".into(),
            UnexpectedCloseParen => "括号不配对，这个“)”前面没有对应的“(”".into(),
            UnclosedQuote => "引号没有闭合，请补上结尾的引号".into(),
            UnclosedRange => "时间范围没有闭合，缺少“]”或“}”".into(),
            MissingOperand { op } if op == "NOT" || op == "-" => {
                format!("“{op}”后面需要一个搜索词")
            }
            MissingOperand { op } => format!("“{op}”两边都需要搜索词"),
            EmptyGroup => "括号里没有内容".into(),
            UnknownField { field } => format!(
                "未知字段“{field}:”，可用字段：{}（如要按文字搜索，请加引号）",
                FIELDS.join("、")
            ),
            EmptyValue { field } => format!("“{field}:”后面需要一个值"),
            BadValue {
                field,
                value,
                allowed,
            } => format!(
                "“{field}:{value}”不是有效的值，可用：{}",
                allowed.join("、")
            ),
            RangeNotAllowed { field } => format!("范围只能用于“time:”，不能用于“{field}:”"),
            BadTime { value } => format!("无法识别时间“{value}”，可写作 {TIME_FORMS_ZH}"),
            EmptyTimeRange { value } => format!("时间范围“{value}”的结束早于开始"),
            BadCursor => "分页游标无效，请从第一页重新开始".into(),
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == QueryErrorKind::BadCursor {
            return write!(f, "{} ({})", self.message_en(), self.message_zh());
        }
        let c = self.column();
        write!(
            f,
            "column {c}: {} (第 {c} 个字符：{})",
            self.message_en(),
            self.message_zh()
        )
    }
}

impl std::error::Error for QueryError {}

/// Parse `input` (blank: every document).
pub fn parse(input: &str, ctx: &ParseContext) -> Result<Expr, QueryError> {
    let mut p = Parser {
        src: input,
        pos: 0,
        ctx: *ctx,
    };
    if input.trim().is_empty() {
        return Ok(Expr::And(vec![]));
    }
    let e = p.or(None)?;
    match p.peek()? {
        None => Ok(e),
        Some(t) if t.tok == Tok::RParen => {
            Err(p.err(QueryErrorKind::UnexpectedCloseParen, t.start))
        }
        // `or` stops only at the end or at `)`.
        Some(t) => Err(p.err(QueryErrorKind::UnexpectedCloseParen, t.start)),
    }
}

/// The time window every match lies in, from the top-level `AND` of the query: `(from, to)`.
pub fn time_bounds(e: &Expr) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    match e {
        Expr::Time { from, to } => (*from, *to),
        Expr::And(v) => v
            .iter()
            .map(time_bounds)
            .fold((None, None), |(a, b), (c, d)| {
                (a.max(c), b.min(d).or(b).or(d))
            }),
        _ => (None, None),
    }
}

// ------------------------------------------------------------------ lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Minus,
    Plus,
    Word(String),
    Phrase(String),
    Field(String),
}

#[derive(Debug, Clone)]
struct Lexed {
    tok: Tok,
    start: usize,
    end: usize,
}

fn is_open_paren(c: char) -> bool {
    c == '(' || c == '（'
}
fn is_close_paren(c: char) -> bool {
    c == ')' || c == '）'
}
fn is_quote(c: char) -> bool {
    c == '"' || c == '“' || c == '”'
}
fn is_colon(c: char) -> bool {
    c == ':' || c == '：'
}
/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || is_open_paren(c) || is_close_paren(c) || is_quote(c)
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    ctx: ParseContext,
}

/// The field a group applies to its bare values (`source:(a OR b)`).
#[derive(Debug, Clone)]
struct FieldCtx {
    name: String,
}

impl<'a> Parser<'a> {
    fn err(&self, kind: QueryErrorKind, byte: usize) -> QueryError {
        QueryError::at(kind, self.src, byte)
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    /// The next token, not consumed.
    fn peek(&mut self) -> Result<Option<Lexed>, QueryError> {
        self.skip_ws();
        let start = self.pos;
        let r = self.rest();
        let Some(c) = r.chars().next() else {
            return Ok(None);
        };
        let one = |tok| {
            Ok(Some(Lexed {
                tok,
                start,
                end: start + c.len_utf8(),
            }))
        };
        if is_open_paren(c) {
            return one(Tok::LParen);
        }
        if is_close_paren(c) {
            return one(Tok::RParen);
        }
        if is_quote(c) {
            let (text, end) = self.quoted(start)?;
            return Ok(Some(Lexed {
                tok: Tok::Phrase(text),
                start,
                end,
            }));
        }
        if c == '-' || c == '+' {
            let next = r[1..].chars().next();
            if next.is_some_and(|n| !n.is_whitespace() && !is_close_paren(n)) {
                return one(if c == '-' { Tok::Minus } else { Tok::Plus });
            }
        }
        // A bare word, or a field name if it is `ident:`.
        let mut end = start;
        for (i, ch) in r.char_indices() {
            if ends_word(ch) {
                break;
            }
            if is_colon(ch) && i > 0 {
                let name = &r[..i];
                if name.chars().all(|x| x.is_ascii_alphanumeric() || x == '_')
                    && name.starts_with(|x: char| x.is_ascii_alphabetic())
                {
                    return Ok(Some(Lexed {
                        tok: Tok::Field(name.to_string()),
                        start,
                        end: start + i + ch.len_utf8(),
                    }));
                }
            }
            end = start + i + ch.len_utf8();
        }
        let word = &self.src[start..end];
        let tok = match word {
            "AND" | "&&" => Tok::And,
            "OR" | "||" => Tok::Or,
            "NOT" => Tok::Not,
            _ => Tok::Word(word.to_string()),
        };
        Ok(Some(Lexed { tok, start, end }))
    }

    /// Text between quotes starting at byte `start`, and the byte after the closing quote.
    fn quoted(&self, start: usize) -> Result<(String, usize), QueryError> {
        let open = self.src[start..].chars().next().unwrap_or('"');
        let body = start + open.len_utf8();
        for (i, ch) in self.src[body..].char_indices() {
            if is_quote(ch) {
                return Ok((
                    self.src[body..body + i].to_string(),
                    body + i + ch.len_utf8(),
                ));
            }
        }
        Err(self.err(QueryErrorKind::UnclosedQuote, start))
    }

    fn bump(&mut self, t: &Lexed) {
        self.pos = t.end;
    }

    /// Whether the next token can start an operand.
    fn operand_follows(&mut self) -> Result<bool, QueryError> {
        Ok(matches!(
            self.peek()?,
            Some(Lexed {
                tok: Tok::LParen
                    | Tok::Not
                    | Tok::Minus
                    | Tok::Plus
                    | Tok::Word(_)
                    | Tok::Phrase(_)
                    | Tok::Field(_),
                ..
            })
        ))
    }

    // -------------------------------------------------------------- grammar

    fn or(&mut self, f: Option<&FieldCtx>) -> Result<Expr, QueryError> {
        let mut parts = vec![self.and(f)?];
        while let Some(t) = self.peek()? {
            if t.tok != Tok::Or {
                break;
            }
            self.bump(&t);
            if !self.operand_follows()? {
                return Err(self.missing(&t));
            }
            parts.push(self.and(f)?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Expr::And(vec![]))
        } else {
            Expr::Or(parts)
        })
    }

    fn missing(&self, op: &Lexed) -> QueryError {
        self.err(
            QueryErrorKind::MissingOperand {
                op: self.src[op.start..op.end].to_string(),
            },
            op.start,
        )
    }

    fn and(&mut self, f: Option<&FieldCtx>) -> Result<Expr, QueryError> {
        let mut parts = vec![self.unary(f)?];
        while let Some(t) = self.peek()? {
            match t.tok {
                Tok::RParen | Tok::Or => break,
                Tok::And => {
                    self.bump(&t);
                    if !self.operand_follows()? {
                        return Err(self.missing(&t));
                    }
                    parts.push(self.unary(f)?);
                }
                _ => parts.push(self.unary(f)?),
            }
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Expr::And(vec![]))
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self, f: Option<&FieldCtx>) -> Result<Expr, QueryError> {
        let Some(t) = self.peek()? else {
            return Err(self.err(
                QueryErrorKind::MissingOperand { op: "AND".into() },
                self.src.len(),
            ));
        };
        match t.tok {
            Tok::Not | Tok::Minus => {
                self.bump(&t);
                if !self.operand_follows()? {
                    return Err(self.missing(&t));
                }
                Ok(Expr::Not(Box::new(self.unary(f)?)))
            }
            Tok::Plus => {
                self.bump(&t);
                self.unary(f)
            }
            _ => self.primary(f),
        }
    }

    fn primary(&mut self, f: Option<&FieldCtx>) -> Result<Expr, QueryError> {
        let Some(t) = self.peek()? else {
            return Err(self.err(
                QueryErrorKind::MissingOperand { op: "AND".into() },
                self.src.len(),
            ));
        };
        match &t.tok {
            Tok::LParen => self.group(&t, f),
            Tok::RParen => Err(self.err(QueryErrorKind::UnexpectedCloseParen, t.start)),
            Tok::And | Tok::Or => Err(self.missing(&t)),
            Tok::Not | Tok::Minus | Tok::Plus => self.unary(f),
            Tok::Word(w) => {
                self.bump(&t);
                self.value(f, w, false, t.start)
            }
            Tok::Phrase(p) => {
                self.bump(&t);
                self.value(f, p, true, t.start)
            }
            Tok::Field(name) => {
                self.bump(&t);
                if !FIELDS.contains(&name.as_str()) {
                    return Err(self.err(
                        QueryErrorKind::UnknownField {
                            field: name.clone(),
                        },
                        t.start,
                    ));
                }
                let ctx = FieldCtx { name: name.clone() };
                self.field_value(&ctx)
            }
        }
    }

    fn group(&mut self, open: &Lexed, f: Option<&FieldCtx>) -> Result<Expr, QueryError> {
        self.bump(open);
        match self.peek()? {
            Some(Lexed {
                tok: Tok::RParen, ..
            }) => return Err(self.err(QueryErrorKind::EmptyGroup, open.start)),
            None => return Err(self.err(QueryErrorKind::UnclosedParen, open.start)),
            _ => {}
        }
        let e = self.or(f)?;
        match self.peek()? {
            Some(t) if t.tok == Tok::RParen => {
                self.bump(&t);
                Ok(e)
            }
            _ => Err(self.err(QueryErrorKind::UnclosedParen, open.start)),
        }
    }

    /// The value right after `field:` (spaces after the colon are forgiven).
    fn field_value(&mut self, f: &FieldCtx) -> Result<Expr, QueryError> {
        self.skip_ws();
        let start = self.pos;
        let r = self.rest();
        let empty = || QueryErrorKind::EmptyValue {
            field: f.name.clone(),
        };
        let Some(c) = r.chars().next() else {
            return Err(self.err(empty(), start));
        };
        if is_close_paren(c) {
            return Err(self.err(empty(), start));
        }
        if is_open_paren(c) {
            let open = Lexed {
                tok: Tok::LParen,
                start,
                end: start + c.len_utf8(),
            };
            return self.group(&open, Some(f));
        }
        if is_quote(c) {
            let (text, end) = self.quoted(start)?;
            self.pos = end;
            return self.value(Some(f), &text, true, start);
        }
        if c == '[' || c == '{' {
            if f.name != "time" {
                return Err(self.err(
                    QueryErrorKind::RangeNotAllowed {
                        field: f.name.clone(),
                    },
                    start,
                ));
            }
            let Some(close) = r.find([']', '}']) else {
                return Err(self.err(QueryErrorKind::UnclosedRange, start));
            };
            let whole = &r[..=close];
            self.pos = start + close + 1;
            return self.range(whole, start);
        }
        let len = r.find(ends_word).unwrap_or(r.len());
        let v = &r[..len];
        self.pos = start + len;
        if matches!(v, "AND" | "OR" | "NOT") {
            return Err(self.err(empty(), start));
        }
        self.value(Some(f), v, false, start)
    }

    /// A bare or quoted value under the field in force.
    fn value(
        &mut self,
        f: Option<&FieldCtx>,
        v: &str,
        phrase: bool,
        at: usize,
    ) -> Result<Expr, QueryError> {
        let name = f.map(|f| f.name.as_str()).unwrap_or("");
        let text = |scope| Expr::Text {
            scope,
            text: v.to_string(),
            phrase,
        };
        let term = |field| Expr::Term {
            field,
            value: v.to_string(),
        };
        let bad = |allowed: Vec<String>| {
            self.err(
                QueryErrorKind::BadValue {
                    field: name.to_string(),
                    value: v.to_string(),
                    allowed,
                },
                at,
            )
        };
        if !name.is_empty() && v.trim().is_empty() {
            return Err(self.err(
                QueryErrorKind::EmptyValue {
                    field: name.to_string(),
                },
                at,
            ));
        }
        Ok(match name {
            "" => text(TextScope::Any),
            "title" => text(TextScope::Title),
            "body" => text(TextScope::Body),
            "source" => term(TermField::Source),
            "entity" => term(TermField::Entity),
            "risk" => term(TermField::Risk),
            "tag" => term(TermField::Tag),
            "cluster" => term(TermField::Cluster),
            "channel" => match Channel::parse(&v.to_lowercase()) {
                Some(c) => Expr::Term {
                    field: TermField::Channel,
                    value: c.as_str().into(),
                },
                None => {
                    return Err(bad(Channel::ALL
                        .iter()
                        .map(|c| c.as_str().to_string())
                        .collect()));
                }
            },
            "sentiment" => {
                let l = SentimentLabel::parse(&v.to_lowercase()).or_else(|| {
                    [
                        SentimentLabel::Negative,
                        SentimentLabel::Neutral,
                        SentimentLabel::Positive,
                    ]
                    .into_iter()
                    .find(|l| l.zh() == v)
                });
                match l {
                    Some(l) => Expr::Term {
                        field: TermField::Sentiment,
                        value: l.as_str().into(),
                    },
                    None => {
                        return Err(bad(vec![
                            "negative (负面)".into(),
                            "neutral (中性)".into(),
                            "positive (正面)".into(),
                        ]));
                    }
                }
            }
            "dim" => match Dimension::parse(&v.to_lowercase()).or_else(|| Dimension::parse(v)) {
                Some(d) => Expr::Term {
                    field: TermField::Dim,
                    value: d.as_str().into(),
                },
                None => {
                    return Err(bad(Dimension::ALL
                        .iter()
                        .map(|d| format!("{} ({})", d.as_str(), d.zh()))
                        .collect()));
                }
            },
            "time" => self.time_value(v, at)?,
            "last" => match relative(v) {
                Some(d) => Expr::Time {
                    from: Some(self.ctx.now - d),
                    to: None,
                },
                None => {
                    return Err(self.err(
                        QueryErrorKind::BadTime {
                            value: v.to_string(),
                        },
                        at,
                    ));
                }
            },
            other => {
                return Err(self.err(
                    QueryErrorKind::UnknownField {
                        field: other.to_string(),
                    },
                    at,
                ));
            }
        })
    }

    fn bad_time(&self, v: &str, at: usize) -> QueryError {
        self.err(
            QueryErrorKind::BadTime {
                value: v.to_string(),
            },
            at,
        )
    }

    /// `time:` followed by a point, a comparison or a relative duration.
    fn time_value(&self, v: &str, at: usize) -> Result<Expr, QueryError> {
        if let Some(d) = relative(v) {
            return Ok(Expr::Time {
                from: Some(self.ctx.now - d),
                to: None,
            });
        }
        let (op, rest) = [">=", "<=", ">", "<"]
            .iter()
            .find_map(|op| v.strip_prefix(op).map(|r| (*op, r)))
            .unwrap_or(("", v));
        let at_rest = at + (v.len() - rest.len());
        let (start, end) =
            span(rest, self.ctx.timezone).ok_or_else(|| self.bad_time(rest, at_rest))?;
        Ok(match op {
            ">=" => Expr::Time {
                from: Some(start),
                to: None,
            },
            ">" => Expr::Time {
                from: Some(end),
                to: None,
            },
            "<" => Expr::Time {
                from: None,
                to: Some(start),
            },
            "<=" => Expr::Time {
                from: None,
                to: Some(end),
            },
            _ => Expr::Time {
                from: Some(start),
                to: Some(end),
            },
        })
    }

    /// `[A TO B]`, `{A TO B}` or mixed, `*` open, starting at byte `at`.
    fn range(&self, whole: &str, at: usize) -> Result<Expr, QueryError> {
        let incl_lo = whole.starts_with('[');
        let incl_hi = whole.ends_with(']');
        let inner = &whole[1..whole.len() - 1];
        let Some((lo, hi)) = inner
            .split_once(" TO ")
            .or_else(|| inner.split_once(" to "))
        else {
            return Err(self.bad_time(whole, at));
        };
        let lo_at = at + 1 + (lo.len() - lo.trim_start().len());
        let hi_at = at + 1 + lo.len() + 4 + (hi.len() - hi.trim_start().len());
        let (lo, hi) = (lo.trim(), hi.trim());
        let tz = self.ctx.timezone;
        let from = match lo {
            "*" => None,
            _ => {
                let (s, e) = span(lo, tz).ok_or_else(|| self.bad_time(lo, lo_at))?;
                Some(if incl_lo { s } else { e })
            }
        };
        let to = match hi {
            "*" => None,
            _ => {
                let (s, e) = span(hi, tz).ok_or_else(|| self.bad_time(hi, hi_at))?;
                Some(if incl_hi { e } else { s })
            }
        };
        if let (Some(a), Some(b)) = (from, to)
            && b < a
        {
            return Err(self.err(
                QueryErrorKind::EmptyTimeRange {
                    value: whole.to_string(),
                },
                at,
            ));
        }
        Ok(Expr::Time { from, to })
    }
}

/// `24h`, `7d`, `30min`, `2w`.
fn relative(v: &str) -> Option<Duration> {
    let digits = v.len() - v.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let n: i64 = v[..digits].parse().ok()?;
    let unit = match &v[digits..] {
        "min" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }?;
    Some(unit)
}

/// The span `[start, end)` a written time covers, in `tz` unless it carries an offset.
fn span(v: &str, tz: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let v = v.trim();
    if let Ok(t) = DateTime::<FixedOffset>::parse_from_rfc3339(v) {
        let t = t.with_timezone(&Utc);
        return Some((t, t + Duration::seconds(1)));
    }
    let local = |n: NaiveDateTime| {
        tz.from_local_datetime(&n)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let norm = v.replace('/', "-");
    if let Ok(d) = NaiveDate::parse_from_str(&norm, "%Y-%m-%d") {
        let s = local(d.and_time(NaiveTime::MIN))?;
        let e = local(d.succ_opt()?.and_time(NaiveTime::MIN))?;
        return Some((s, e));
    }
    if let Ok(d) = NaiveDate::parse_from_str(&format!("{norm}-01"), "%Y-%m-%d")
        && norm.len() <= 7
    {
        let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1)?;
        let s = local(first.and_time(NaiveTime::MIN))?;
        let e = local(
            first
                .checked_add_months(Months::new(1))?
                .and_time(NaiveTime::MIN),
        )?;
        return Some((s, e));
    }
    for (fmt, len) in [
        ("%Y-%m-%dT%H:%M:%S", 1),
        ("%Y-%m-%d %H:%M:%S", 1),
        ("%Y-%m-%dT%H:%M", 60),
        ("%Y-%m-%d %H:%M", 60),
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&norm, fmt) {
            let s = local(n)?;
            return Some((s, s + Duration::seconds(len)));
        }
    }
    None
}

// ------------------------------------------------------------------ compiler

/// Turns an [`Expr`] into a tantivy query over the index's fields.
pub(crate) struct Compiler<'a> {
    pub(crate) fields: &'a Fields,
    pub(crate) analyzer: TextAnalyzer,
}

fn boolean(clauses: Vec<(Occur, Box<dyn Query>)>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(clauses))
}

/// A filter: matches like `q` and adds nothing to the score.
fn filter(q: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(q, 0.0))
}

impl Compiler<'_> {
    /// The whole query (`AllQuery` if nothing searchable is left).
    pub(crate) fn compile(&mut self, e: &Expr) -> Box<dyn Query> {
        self.node(e).unwrap_or_else(|| filter(Box::new(AllQuery)))
    }

    /// `None`: the node constrains nothing (text without a single token, `()`-free empty AND).
    fn node(&mut self, e: &Expr) -> Option<Box<dyn Query>> {
        match e {
            Expr::And(v) => {
                let mut clauses = Vec::new();
                for c in v {
                    match c {
                        Expr::Not(inner) => {
                            if let Some(q) = self.node(inner) {
                                clauses.push((Occur::MustNot, q));
                            }
                        }
                        c => {
                            if let Some(q) = self.node(c) {
                                clauses.push((Occur::Must, q));
                            }
                        }
                    }
                }
                Self::finish(clauses)
            }
            Expr::Or(v) => {
                let clauses: Vec<_> = v
                    .iter()
                    .filter_map(|c| self.node(c))
                    .map(|q| (Occur::Should, q))
                    .collect();
                match clauses.len() {
                    0 => None,
                    1 => clauses.into_iter().next().map(|(_, q)| q),
                    _ => Some(boolean(clauses)),
                }
            }
            Expr::Not(inner) => {
                let q = self.node(inner)?;
                Some(boolean(vec![
                    (Occur::Must, filter(Box::new(AllQuery))),
                    (Occur::MustNot, q),
                ]))
            }
            Expr::Text { scope, text, .. } => self.text(*scope, text),
            Expr::Term { field, value } => {
                let f = self.term_field(*field);
                Some(filter(Box::new(TermQuery::new(
                    Term::from_field_text(f, value),
                    IndexRecordOption::Basic,
                ))))
            }
            Expr::Time { from, to } => {
                let f = self.fields.time;
                let b = |t: &Option<DateTime<Utc>>, incl: bool| match t {
                    None => Bound::Unbounded,
                    Some(t) => {
                        let term = Term::from_field_date(
                            f,
                            tantivy::DateTime::from_timestamp_secs(t.timestamp()),
                        );
                        if incl {
                            Bound::Included(term)
                        } else {
                            Bound::Excluded(term)
                        }
                    }
                };
                if from.is_none() && to.is_none() {
                    return None;
                }
                Some(filter(Box::new(RangeQuery::new(
                    b(from, true),
                    b(to, false),
                ))))
            }
        }
    }

    fn finish(mut clauses: Vec<(Occur, Box<dyn Query>)>) -> Option<Box<dyn Query>> {
        if clauses.is_empty() {
            return None;
        }
        if !clauses.iter().any(|(o, _)| *o == Occur::Must) {
            clauses.push((Occur::Must, filter(Box::new(AllQuery))));
        }
        if clauses.len() == 1 {
            return clauses.pop().map(|(_, q)| q);
        }
        Some(boolean(clauses))
    }

    fn term_field(&self, f: TermField) -> Field {
        let x = self.fields;
        match f {
            TermField::Source => x.source,
            TermField::Channel => x.channel,
            TermField::Entity => x.entity,
            TermField::Sentiment => x.sentiment,
            TermField::Risk => x.risk,
            TermField::Dim => x.dim,
            TermField::Tag => x.tag,
            TermField::Cluster => x.cluster,
        }
    }

    /// The terms to match for `text`: the tokens no other token contains, with their positions.
    pub(crate) fn top_tokens(&mut self, text: &str) -> Vec<(usize, String)> {
        let mut all = Vec::new();
        let mut ts = self.analyzer.token_stream(text);
        while ts.advance() {
            let t = ts.token();
            all.push((t.offset_from, t.offset_to, t.position, t.text.clone()));
        }
        let mut out: Vec<(usize, String)> = Vec::new();
        let mut seen: Vec<(usize, usize)> = Vec::new();
        for (i, a) in all.iter().enumerate() {
            let inside = all
                .iter()
                .enumerate()
                .any(|(j, b)| j != i && b.0 <= a.0 && a.1 <= b.1 && (b.1 - b.0) > (a.1 - a.0));
            if inside || seen.contains(&(a.0, a.1)) {
                continue;
            }
            seen.push((a.0, a.1));
            out.push((a.2, a.3.clone()));
        }
        if let Some(first) = out.first().map(|t| t.0) {
            for t in &mut out {
                t.0 -= first;
            }
        }
        out
    }

    fn text(&mut self, scope: TextScope, text: &str) -> Option<Box<dyn Query>> {
        let tokens = self.top_tokens(text);
        if tokens.is_empty() {
            return None;
        }
        let one = |field: Field| -> Box<dyn Query> {
            if tokens.len() == 1 {
                Box::new(TermQuery::new(
                    Term::from_field_text(field, &tokens[0].1),
                    IndexRecordOption::WithFreqs,
                ))
            } else {
                Box::new(PhraseQuery::new_with_offset(
                    tokens
                        .iter()
                        .map(|(p, t)| (*p, Term::from_field_text(field, t)))
                        .collect(),
                ))
            }
        };
        let title =
            || -> Box<dyn Query> { Box::new(BoostQuery::new(one(self.fields.title), TITLE_BOOST)) };
        Some(match scope {
            TextScope::Title => one(self.fields.title),
            TextScope::Body => one(self.fields.body),
            TextScope::Any => boolean(vec![
                (Occur::Should, title()),
                (Occur::Should, one(self.fields.body)),
            ]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ParseContext {
        ParseContext {
            now: Utc.with_ymd_and_hms(2026, 3, 10, 4, 0, 0).unwrap(),
            timezone: chrono_tz::Asia::Shanghai,
        }
    }

    fn p(q: &str) -> Expr {
        parse(q, &ctx()).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn err(q: &str) -> QueryError {
        match parse(q, &ctx()) {
            Ok(e) => panic!("{q} parsed as {e:?}"),
            Err(e) => e,
        }
    }

    fn w(s: &str) -> Expr {
        Expr::Text {
            scope: TextScope::Any,
            text: s.into(),
            phrase: false,
        }
    }

    fn not(e: Expr) -> Expr {
        Expr::Not(Box::new(e))
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(y, m, d, h, mi, s).unwrap())
    }

    fn time(q: &str) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        match p(q) {
            Expr::Time { from, to } => (from, to),
            e => panic!("{q} parsed as {e:?}"),
        }
    }

    #[test]
    fn blank_is_everything_and_words_are_implicitly_anded() {
        assert_eq!(p("  "), Expr::And(vec![]));
        assert_eq!(p("暴力催收"), w("暴力催收"));
        assert_eq!(
            p("暴力催收 投诉"),
            Expr::And(vec![w("暴力催收"), w("投诉")])
        );
        assert_eq!(p("a AND b"), p("a b"));
        assert_eq!(p("a && b"), p("a b"));
        // Lowercase operators are words.
        assert_eq!(p("a and b"), Expr::And(vec![w("a"), w("and"), w("b")]));
    }

    #[test]
    fn operators_bind_not_then_and_then_or() {
        assert_eq!(
            p("a OR b c"),
            Expr::Or(vec![w("a"), Expr::And(vec![w("b"), w("c")])])
        );
        assert_eq!(
            p("a b OR c"),
            Expr::Or(vec![Expr::And(vec![w("a"), w("b")]), w("c")])
        );
        assert_eq!(p("NOT a b"), Expr::And(vec![not(w("a")), w("b")]));
        assert_eq!(p("a OR NOT b"), Expr::Or(vec![w("a"), not(w("b"))]));
        assert_eq!(p("a || b"), Expr::Or(vec![w("a"), w("b")]));
        assert_eq!(
            p("(a OR b) c"),
            Expr::And(vec![Expr::Or(vec![w("a"), w("b")]), w("c")])
        );
        assert_eq!(p("-a"), not(w("a")));
        assert_eq!(p("a -b"), Expr::And(vec![w("a"), not(w("b"))]));
        assert_eq!(p("+a"), w("a"));
        assert_eq!(p("-(a OR b)"), not(Expr::Or(vec![w("a"), w("b")])));
        assert_eq!(p("NOT NOT a"), not(not(w("a"))));
        // A hyphen inside a word is part of it.
        assert_eq!(p("P2P-网贷"), w("P2P-网贷"));
    }

    #[test]
    fn phrases_full_width_forms_and_colons_in_words() {
        assert_eq!(
            p("\"暴力 催收\""),
            Expr::Text {
                scope: TextScope::Any,
                text: "暴力 催收".into(),
                phrase: true
            }
        );
        assert_eq!(p("“恒信 客服”"), p("\"恒信 客服\""));
        assert_eq!(p("（a OR b） c"), p("(a OR b) c"));
        assert_eq!(p("source：news/x"), p("source:news/x"));
        assert_eq!(p("12:30"), w("12:30"));
        assert_eq!(p("来源:微博"), w("来源:微博"));
    }

    #[test]
    fn field_filters_canonicalize_their_values() {
        let t = |field, v: &str| Expr::Term {
            field,
            value: v.into(),
        };
        assert_eq!(p("source:news/sina"), t(TermField::Source, "news/sina"));
        assert_eq!(p("source: news/sina"), t(TermField::Source, "news/sina"));
        assert_eq!(p("source:\"a b\""), t(TermField::Source, "a b"));
        assert_eq!(p("channel:Complaint"), t(TermField::Channel, "complaint"));
        assert_eq!(p("entity:hengxin"), t(TermField::Entity, "hengxin"));
        assert_eq!(p("sentiment:负面"), t(TermField::Sentiment, "negative"));
        assert_eq!(p("sentiment:positive"), t(TermField::Sentiment, "positive"));
        assert_eq!(p("risk:collection"), t(TermField::Risk, "collection"));
        assert_eq!(p("dim:人"), t(TermField::Dim, "people"));
        assert_eq!(p("dim:finance"), t(TermField::Dim, "finance"));
        assert_eq!(p("tag:authoritative"), t(TermField::Tag, "authoritative"));
        assert_eq!(p("cluster:abc"), t(TermField::Cluster, "abc"));
        assert_eq!(
            p("title:催收"),
            Expr::Text {
                scope: TextScope::Title,
                text: "催收".into(),
                phrase: false
            }
        );
        assert_eq!(
            p("body:\"砍头 息\""),
            Expr::Text {
                scope: TextScope::Body,
                text: "砍头 息".into(),
                phrase: true
            }
        );
        assert_eq!(
            p("source:(a OR b) 催收"),
            Expr::And(vec![
                Expr::Or(vec![t(TermField::Source, "a"), t(TermField::Source, "b")]),
                w("催收")
            ])
        );
        assert_eq!(
            p("sentiment:(负面 OR 中性)"),
            Expr::Or(vec![
                t(TermField::Sentiment, "negative"),
                t(TermField::Sentiment, "neutral")
            ])
        );
        assert_eq!(
            err("entity:hengxin)").kind,
            QueryErrorKind::UnexpectedCloseParen
        );
    }

    #[test]
    fn dates_are_shanghai_days_months_and_minutes() {
        // 2026-01-31 in Shanghai is [01-30T16:00Z, 01-31T16:00Z).
        assert_eq!(
            time("time:2026-01-31"),
            (utc(2026, 1, 30, 16, 0, 0), utc(2026, 1, 31, 16, 0, 0))
        );
        assert_eq!(time("time:2026/01/31"), time("time:2026-01-31"));
        assert_eq!(
            time("time:2026-02"),
            (utc(2026, 1, 31, 16, 0, 0), utc(2026, 2, 28, 16, 0, 0))
        );
        assert_eq!(
            time("time:2026-01-31T08:30"),
            (utc(2026, 1, 31, 0, 30, 0), utc(2026, 1, 31, 0, 31, 0))
        );
        assert_eq!(
            time("time:2026-01-31T08:30:15"),
            (utc(2026, 1, 31, 0, 30, 15), utc(2026, 1, 31, 0, 30, 16))
        );
        assert_eq!(
            time("time:2026-01-31T08:30:15Z"),
            (utc(2026, 1, 31, 8, 30, 15), utc(2026, 1, 31, 8, 30, 16))
        );
        let jan31 = utc(2026, 1, 30, 16, 0, 0);
        let feb1 = utc(2026, 1, 31, 16, 0, 0);
        assert_eq!(time("time:>=2026-01-31"), (jan31, None));
        assert_eq!(time("time:>2026-01-31"), (feb1, None));
        assert_eq!(time("time:<2026-01-31"), (None, jan31));
        assert_eq!(time("time:<=2026-01-31"), (None, feb1));
    }

    #[test]
    fn ranges_include_brackets_and_exclude_braces() {
        let d = |m, day| utc(2026, m, day, 16, 0, 0); // local midnight of the next day
        assert_eq!(
            time("time:[2026-01-01 TO 2026-01-31]"),
            (utc(2025, 12, 31, 16, 0, 0), d(1, 31))
        );
        assert_eq!(time("time:{2026-01-01 TO 2026-01-31}"), (d(1, 1), d(1, 30)));
        assert_eq!(
            time("time:[2026-01-01 TO 2026-02-01}"),
            (utc(2025, 12, 31, 16, 0, 0), d(1, 31))
        );
        assert_eq!(
            time("time:[2026-01-01 TO *]"),
            (utc(2025, 12, 31, 16, 0, 0), None)
        );
        assert_eq!(
            time("time:[* TO 2026-01-01]"),
            (None, utc(2026, 1, 1, 16, 0, 0))
        );
        assert_eq!(
            time("time:[2026-01-01 08:00 TO 2026-01-01 09:00]"),
            (utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 1, 1, 1, 0))
        );
    }

    #[test]
    fn relative_times_count_back_from_now() {
        let now = ctx().now;
        assert_eq!(time("last:24h"), (Some(now - Duration::hours(24)), None));
        assert_eq!(time("time:24h"), time("last:24h"));
        assert_eq!(time("last:7d"), (Some(now - Duration::days(7)), None));
        assert_eq!(time("last:2w"), (Some(now - Duration::days(14)), None));
        assert_eq!(
            time("last:30min"),
            (Some(now - Duration::minutes(30)), None)
        );
        // `time_bounds` intersects the top-level clauses.
        let e = p("催收 last:7d time:<2026-03-09");
        assert_eq!(
            time_bounds(&e),
            (Some(now - Duration::days(7)), utc(2026, 3, 8, 16, 0, 0))
        );
        assert_eq!(time_bounds(&p("a OR last:7d")), (None, None));
    }

    fn at(e: &QueryError) -> (usize, usize) {
        (e.byte, e.char)
    }

    #[test]
    fn errors_say_what_and_where_in_bytes_and_characters() {
        // `(` is the 10th character and starts at byte 17 (four 3-byte characters before).
        let e = err("暴力催收 AND (投诉");
        assert_eq!(e.kind, QueryErrorKind::UnclosedParen);
        assert_eq!(at(&e), (17, 9));
        assert_eq!(e.column(), 10);
        let s = e.to_string();
        assert!(s.starts_with("column 10: unbalanced parenthesis"), "{s}");
        assert!(s.contains("第 10 个字符：括号不配对"), "{s}");

        let e = err("催收 投诉)");
        assert_eq!(e.kind, QueryErrorKind::UnexpectedCloseParen);
        assert_eq!(at(&e), (13, 5));

        let e = err("a (b (c) d");
        assert_eq!(e.kind, QueryErrorKind::UnclosedParen);
        assert_eq!(at(&e), (2, 2));

        let e = err("催收 \"暴力");
        assert_eq!(e.kind, QueryErrorKind::UnclosedQuote);
        assert_eq!(at(&e), (7, 3));

        let e = err("a AND");
        assert_eq!(e.kind, QueryErrorKind::MissingOperand { op: "AND".into() });
        assert_eq!(at(&e), (2, 2));
        assert!(e.to_string().contains("needs a search term on both sides"));
        let e = err("OR a");
        assert_eq!(e.kind, QueryErrorKind::MissingOperand { op: "OR".into() });
        assert_eq!(at(&e), (0, 0));
        let e = err("a OR )");
        assert_eq!(e.kind, QueryErrorKind::MissingOperand { op: "OR".into() });
        let e = err("催收 NOT");
        assert_eq!(e.kind, QueryErrorKind::MissingOperand { op: "NOT".into() });
        assert_eq!(at(&e), (7, 3));
        assert!(e.message_zh().contains("后面需要一个搜索词"));

        let e = err("a ()");
        assert_eq!(e.kind, QueryErrorKind::EmptyGroup);
        assert_eq!(at(&e), (2, 2));
    }

    #[test]
    fn field_errors_list_what_is_allowed() {
        let e = err("催收 foo:bar");
        assert_eq!(
            e.kind,
            QueryErrorKind::UnknownField {
                field: "foo".into()
            }
        );
        assert_eq!(at(&e), (7, 3));
        let en = e.message_en();
        for f in FIELDS {
            assert!(en.contains(f), "{en}");
        }
        assert!(e.message_zh().starts_with("未知字段“foo:”"));

        let e = err("sentiment:angry");
        assert!(
            matches!(&e.kind, QueryErrorKind::BadValue { field, allowed, .. }
            if field == "sentiment" && allowed.len() == 3)
        );
        assert_eq!(at(&e), (10, 10));
        let e = err("dim:money");
        assert!(e.message_en().contains("people (人)"), "{}", e.message_en());
        let e = err("channel:tv");
        assert!(e.message_en().contains("complaint"));

        let e = err("source:");
        assert_eq!(
            e.kind,
            QueryErrorKind::EmptyValue {
                field: "source".into()
            }
        );
        assert_eq!(at(&e), (7, 7));
        let e = err("(source:)");
        assert_eq!(
            e.kind,
            QueryErrorKind::EmptyValue {
                field: "source".into()
            }
        );
        let e = err("source:[a TO b]");
        assert_eq!(
            e.kind,
            QueryErrorKind::RangeNotAllowed {
                field: "source".into()
            }
        );
    }

    #[test]
    fn time_errors_point_at_the_value() {
        let e = err("催收 time:yesterday");
        assert_eq!(
            e.kind,
            QueryErrorKind::BadTime {
                value: "yesterday".into()
            }
        );
        assert_eq!(at(&e), (12, 8));
        assert!(e.message_en().contains("2026-01-31"));
        let e = err("time:>2026-13-01");
        assert_eq!(
            e.kind,
            QueryErrorKind::BadTime {
                value: "2026-13-01".into()
            }
        );
        assert_eq!(at(&e), (6, 6));
        let e = err("time:[2026-01-01 TO 2026-02-30]");
        assert_eq!(
            e.kind,
            QueryErrorKind::BadTime {
                value: "2026-02-30".into()
            }
        );
        assert_eq!(at(&e), (20, 20));
        let e = err("time:[2026-01-01 2026-02-01]");
        assert!(matches!(e.kind, QueryErrorKind::BadTime { .. }));
        let e = err("time:[2026-01-01 TO 2026-01-05");
        assert_eq!(e.kind, QueryErrorKind::UnclosedRange);
        assert_eq!(at(&e), (5, 5));
        let e = err("time:[2026-02-01 TO 2026-01-01]");
        assert!(matches!(e.kind, QueryErrorKind::EmptyTimeRange { .. }));
        let e = err("last:7y");
        assert_eq!(e.kind, QueryErrorKind::BadTime { value: "7y".into() });
    }
}
