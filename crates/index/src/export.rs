//! Export: every hit of a query in time order, batch by batch, and writers for CSV (UTF-8
//! with a BOM, so Excel reads the Chinese right) and JSON (lines or one array) over any
//! [`std::io::Write`].
//!
//! [`DocIndex::export`] searches one snapshot of the index once and keeps only a 16-byte key
//! (time and address) per match; stored documents are read [`ExportOptions::batch`] at a time
//! as the iterator advances, so memory stays small and documents committed meanwhile neither
//! appear nor shift the rest. The iterator owns its snapshot (`'static`): the server can move
//! it into a blocking thread that feeds a channel.

use std::collections::VecDeque;
use std::io::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use crate::collect::TimeKeys;
use crate::search::hit_from_doc;
use crate::{DocIndex, Fields, Hit, Result};

/// Documents read from the store per batch unless asked otherwise.
pub const DEFAULT_EXPORT_BATCH: usize = 512;

/// Columns of the CSV export, in order.
pub const CSV_COLUMNS: [&str; 11] = [
    "time",
    "source",
    "channel",
    "title",
    "url",
    "sentiment",
    "score",
    "entities",
    "risks",
    "dims",
    "cluster",
];

/// Options of an export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Stored documents read per batch.
    pub batch: usize,
    /// The instant relative query times count back from (default: now).
    pub now: Option<DateTime<Utc>>,
    /// Zone of query times written without an offset (default Asia/Shanghai).
    pub timezone: Tz,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            oldest_first: false,
            batch: DEFAULT_EXPORT_BATCH,
            now: None,
            timezone: chrono_tz::Asia::Shanghai,
        }
    }
}

/// Every hit of a query, in time order (see [`DocIndex::export`]). Hits carry no highlights:
/// `title_snippet` is the title and `snippet` the start of the body.
pub struct Export {
    searcher: Searcher,
    fields: Fields,
    keys: std::vec::IntoIter<DocAddress>,
    buf: VecDeque<Hit>,
    batch: usize,
    total: usize,
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export")
            .field("total", &self.total)
            .field("left", &(self.keys.len() + self.buf.len()))
            .finish_non_exhaustive()
    }
}

impl Export {
    /// How many hits the export yields in all.
    pub fn total(&self) -> usize {
        self.total
    }

    fn fill(&mut self) -> Result<()> {
        let mut addrs: Vec<(usize, DocAddress)> =
            self.keys.by_ref().take(self.batch).enumerate().collect();
        // Read in store order (blocks are compressed; neighbours share them), yield in time order.
        addrs.sort_unstable_by_key(|&(_, a)| (a.segment_ord, a.doc_id));
        let mut hits: Vec<(usize, Hit)> = Vec::with_capacity(addrs.len());
        for (i, a) in addrs {
            let doc: TantivyDocument = self.searcher.doc(a)?;
            hits.push((i, hit_from_doc(&self.fields, &doc, 0.0, None)));
        }
        hits.sort_unstable_by_key(|(i, _)| *i);
        self.buf.extend(hits.into_iter().map(|(_, h)| h));
        Ok(())
    }
}

impl Iterator for Export {
    type Item = Result<Hit>;

    fn next(&mut self) -> Option<Result<Hit>> {
        if self.buf.is_empty() {
            if self.keys.len() == 0 {
                return None;
            }
            if let Err(e) = self.fill() {
                // A failed read ends the export: report once, then stop.
                self.keys = Vec::new().into_iter();
                return Some(Err(e));
            }
        }
        self.buf.pop_front().map(Ok)
    }
}

impl DocIndex {
    /// Every hit of `query` in time order (newest first unless `oldest_first`), read from one
    /// snapshot of the index in batches.
    pub fn export(&self, query: &str, opts: &ExportOptions) -> Result<Export> {
        let searcher = self.reader.searcher();
        let c = self.compile(query, opts.now, opts.timezone)?;
        let mut keys = searcher.search(&*c.query, &TimeKeys)?;
        if !opts.oldest_first {
            keys.reverse();
        }
        let total = keys.len();
        Ok(Export {
            searcher,
            fields: self.fields.clone(),
            keys: keys
                .into_iter()
                .map(|(_, a)| a)
                .collect::<Vec<_>>()
                .into_iter(),
            buf: VecDeque::new(),
            batch: opts.batch.max(1),
            total,
        })
    }
}

fn local(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// One CSV cell: quoted when it holds a comma, quote or line break (quotes doubled); text that
/// Excel would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`.
fn csv_cell(out: &mut String, s: &str, text: bool) {
    let guarded;
    let s = if text && s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{s}");
        guarded.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Writes hits as CSV: UTF-8 BOM, a header row of [`CSV_COLUMNS`], CRLF line ends (RFC 4180),
/// times in the given zone as `2026-01-31 08:00:00`, lists joined by `;`.
pub struct CsvWriter<W: Write> {
    w: W,
    tz: Tz,
    rows: u64,
    line: String,
}

impl<W: Write> CsvWriter<W> {
    /// Start a CSV document on `w` (writes the BOM and the header).
    pub fn new(mut w: W, tz: Tz) -> std::io::Result<CsvWriter<W>> {
        w.write_all("\u{feff}".as_bytes())?;
        w.write_all(CSV_COLUMNS.join(",").as_bytes())?;
        w.write_all(b"\r\n")?;
        Ok(CsvWriter {
            w,
            tz,
            rows: 0,
            line: String::new(),
        })
    }

    /// Append one hit.
    pub fn write_hit(&mut self, h: &Hit) -> std::io::Result<()> {
        let l = &mut self.line;
        l.clear();
        let cells: [(String, bool); 11] = [
            (local(h.time, self.tz), false),
            (h.source.clone(), true),
            (h.channel.clone(), true),
            (h.title.clone(), true),
            (h.url.clone().unwrap_or_default(), true),
            (h.sentiment.clone(), true),
            (format!("{:.3}", h.sentiment_score), false),
            (h.entities.join(";"), true),
            (h.risks.join(";"), true),
            (h.dimensions.join(";"), true),
            (h.cluster.clone().unwrap_or_default(), true),
        ];
        for (i, (c, text)) in cells.iter().enumerate() {
            if i > 0 {
                l.push(',');
            }
            csv_cell(l, c, *text);
        }
        l.push_str("\r\n");
        self.w.write_all(l.as_bytes())?;
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far (header excluded).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flush and hand back the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// JSON layout of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonFormat {
    /// One object per line (`application/x-ndjson`).
    #[default]
    Lines,
    /// One array of objects.
    Array,
}

/// One exported hit as JSON.
#[derive(Serialize)]
struct JsonRow<'a> {
    id: &'a str,
    time: Option<String>,
    source: &'a str,
    channel: &'a str,
    title: &'a str,
    url: Option<&'a str>,
    sentiment: &'a str,
    score: f64,
    entities: &'a [String],
    risks: &'a [String],
    dims: &'a [String],
    cluster: Option<&'a str>,
}

/// Writes hits as JSON lines or a JSON array; times are RFC 3339 in the given zone.
pub struct JsonWriter<W: Write> {
    w: W,
    tz: Tz,
    format: JsonFormat,
    rows: u64,
}

impl<W: Write> JsonWriter<W> {
    /// Start a JSON document on `w` (an array opens with `[`).
    pub fn new(mut w: W, format: JsonFormat, tz: Tz) -> std::io::Result<JsonWriter<W>> {
        if format == JsonFormat::Array {
            w.write_all(b"[")?;
        }
        Ok(JsonWriter {
            w,
            tz,
            format,
            rows: 0,
        })
    }

    /// Append one hit.
    pub fn write_hit(&mut self, h: &Hit) -> std::io::Result<()> {
        if self.format == JsonFormat::Array && self.rows > 0 {
            self.w.write_all(b",\n")?;
        }
        let row = JsonRow {
            id: &h.id,
            time: h.time.map(|t| t.with_timezone(&self.tz).to_rfc3339()),
            source: &h.source,
            channel: &h.channel,
            title: &h.title,
            url: h.url.as_deref(),
            sentiment: &h.sentiment,
            score: h.sentiment_score,
            entities: &h.entities,
            risks: &h.risks,
            dims: &h.dimensions,
            cluster: h.cluster.as_deref(),
        };
        serde_json::to_writer(&mut self.w, &row)?;
        if self.format == JsonFormat::Lines {
            self.w.write_all(b"\n")?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Close the array if any, flush, and hand back the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.format == JsonFormat::Array {
            self.w.write_all(b"]\n")?;
        }
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Write every hit as CSV (see [`CsvWriter`]); returns the rows written.
pub fn write_csv<W: Write>(
    w: W,
    hits: impl IntoIterator<Item = Result<Hit>>,
    tz: Tz,
) -> Result<u64> {
    let mut c = CsvWriter::new(w, tz)?;
    for h in hits {
        c.write_hit(&h?)?;
    }
    let n = c.rows();
    c.finish()?;
    Ok(n)
}

/// Write every hit as JSON (see [`JsonWriter`]); returns the rows written.
pub fn write_json<W: Write>(
    w: W,
    hits: impl IntoIterator<Item = Result<Hit>>,
    format: JsonFormat,
    tz: Tz,
) -> Result<u64> {
    let mut j = JsonWriter::new(w, format, tz)?;
    for h in hits {
        j.write_hit(&h?)?;
    }
    let n = j.rows();
    j.finish()?;
    Ok(n)
}
