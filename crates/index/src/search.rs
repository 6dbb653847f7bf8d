//! Search: a query in our own language ([`crate::query`]) over title and body with field
//! filters and time ranges, sorted by relevance or time, paged by an opaque cursor, optionally
//! one hit per near-duplicate cluster, with highlighted snippets and, on request, facets and a
//! date histogram computed in the same pass.
//!
//! Paging contract: [`SearchResults::next_cursor`] names the position of the page's last hit
//! as `(score, time, id)` (relevance) or `(time, id)` (time); passing it back returns the hits
//! strictly after it. Ids break every tie, so with time order, paging visits each document that
//! existed when paging started exactly once even while documents are being added (new ones
//! newer than the cursor are simply not on later pages). With relevance order, scores move a
//! little when the index changes, so a concurrent insert can shift a hit across a page boundary.

use std::ops::Range;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tantivy::query::Query;
use tantivy::schema::{Field, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Searcher, TantivyDocument};

use crate::agg::{AggCollector, AggOptions, Aggregations, Grid};
use crate::collect::{Key, PageCollector};
use crate::query::{self, Compiler, Expr, ParseContext};
use crate::{DocIndex, Fields, IndexError, Result, TOKENIZER};

/// How hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Best match first (ties: newest first, then by id).
    #[default]
    Relevance,
    /// Newest first (publication time, else fetch time; ties by id).
    Time,
}

impl SortOrder {
    fn cursor_tag(self) -> char {
        match self {
            SortOrder::Relevance => 'r',
            SortOrder::Time => 't',
        }
    }
}

/// Options of one search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Most hits returned.
    pub limit: usize,
    /// Ordering.
    pub sort: SortOrder,
    /// Longest snippet, in bytes of UTF-8 text.
    pub snippet_bytes: usize,
    /// Continue after this position ([`SearchResults::next_cursor`] of the previous page, made
    /// with the same query and sort order).
    pub cursor: Option<String>,
    /// Keep the best hit per near-duplicate cluster; [`Hit::collapsed`] counts the others.
    pub collapse: bool,
    /// The instant relative times (`last:24h`) count back from (default: now).
    pub now: Option<DateTime<Utc>>,
    /// Zone of query times written without an offset (default Asia/Shanghai).
    pub timezone: Tz,
    /// Also compute facets and a date histogram over every match (not only this page).
    pub aggregations: Option<AggOptions>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 20,
            sort: SortOrder::Relevance,
            snippet_bytes: 240,
            cursor: None,
            collapse: false,
            now: None,
            timezone: chrono_tz::Asia::Shanghai,
            aggregations: None,
        }
    }
}

/// A fragment of text with the byte ranges of the query terms in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snippet {
    /// The fragment.
    pub text: String,
    /// Byte ranges inside `text` to highlight.
    pub highlights: Vec<Range<usize>>,
}

impl Snippet {
    /// The fragment with each highlight wrapped in `open`/`close`.
    pub fn marked(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + 8 * self.highlights.len());
        let mut at = 0;
        for r in &self.highlights {
            if r.start < at || r.end > self.text.len() {
                continue;
            }
            out.push_str(&self.text[at..r.start]);
            out.push_str(open);
            out.push_str(&self.text[r.clone()]);
            out.push_str(close);
            at = r.end;
        }
        out.push_str(&self.text[at..]);
        out
    }
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// Document id.
    pub id: String,
    /// Relevance score (0 when sorted by time).
    pub score: f32,
    /// Title.
    pub title: String,
    /// Source id.
    pub source: String,
    /// Channel.
    pub channel: String,
    /// Link to the original.
    pub url: Option<String>,
    /// Publication time, else fetch time.
    pub time: Option<DateTime<Utc>>,
    /// Sentiment score.
    pub sentiment_score: f64,
    /// Sentiment label.
    pub sentiment: String,
    /// Mentioned entity ids.
    pub entities: Vec<String>,
    /// Risk category ids.
    pub risks: Vec<String>,
    /// Review dimension ids.
    pub dimensions: Vec<String>,
    /// Near-duplicate cluster id, if assigned.
    pub cluster: Option<String>,
    /// Size of the cluster when the document was assigned (0 if none).
    pub cluster_size: u64,
    /// With [`SearchOptions::collapse`]: other matches of this hit's cluster folded into it
    /// ("+12 reposts"); else 0.
    pub collapsed: u64,
    /// Highlighted title.
    pub title_snippet: Snippet,
    /// Highlighted body fragment.
    pub snippet: Snippet,
}

/// A page of hits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// How many documents matched in all.
    pub total: usize,
    /// With [`SearchOptions::collapse`], how many clusters (and unclustered documents) matched;
    /// else equal to `total`.
    pub groups: usize,
    /// The hits, in order.
    pub hits: Vec<Hit>,
    /// Pass as [`SearchOptions::cursor`] for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Facets and histogram over every match, when [`SearchOptions::aggregations`] asked.
    pub aggregations: Option<Aggregations>,
}

/// A parsed and compiled query with the time window it implies.
pub(crate) struct Compiled {
    pub(crate) query: Box<dyn Query>,
    pub(crate) bounds: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    pub(crate) now: DateTime<Utc>,
}

impl DocIndex {
    /// Parse `query` ([`crate::query`] syntax; blank: every document) and compile it.
    pub(crate) fn compile(
        &self,
        query: &str,
        now: Option<DateTime<Utc>>,
        timezone: Tz,
    ) -> Result<Compiled> {
        let now = now.unwrap_or_else(Utc::now);
        let expr: Expr = query::parse(query, &ParseContext { now, timezone })?;
        let analyzer = self.index.tokenizers().get(TOKENIZER).ok_or_else(|| {
            IndexError::Tantivy(tantivy::TantivyError::InternalError(
                "jieba tokenizer not registered".into(),
            ))
        })?;
        let mut c = Compiler {
            fields: &self.fields,
            analyzer,
        };
        Ok(Compiled {
            query: c.compile(&expr),
            bounds: query::time_bounds(&expr),
            now,
        })
    }

    /// The histogram grid for a query over `searcher`: from the query's time bounds, else the
    /// index's first and last document times.
    pub(crate) fn grid(&self, searcher: &Searcher, c: &Compiled, agg: &AggOptions) -> Result<Grid> {
        let mut lo = i64::MAX;
        let mut hi = i64::MIN;
        for r in searcher.segment_readers() {
            if r.num_docs() == 0 {
                continue;
            }
            let col = r.fast_fields().date("time")?;
            lo = lo.min(col.min_value().into_timestamp_secs());
            hi = hi.max(col.max_value().into_timestamp_secs() + 1);
        }
        let (from, to) = c.bounds;
        if let Some(f) = from {
            lo = f.timestamp();
            // `last:7d`: the chart runs up to now even if nothing came in lately.
            if to.is_none() && hi != i64::MIN {
                hi = hi.max(c.now.timestamp() + 1);
            }
        }
        if let Some(t) = to {
            hi = t.timestamp();
        }
        if lo == i64::MAX || hi == i64::MIN {
            return Ok(Grid::new(0, 0, agg.interval, agg.timezone, false, false));
        }
        Ok(Grid::new(
            lo,
            hi,
            agg.interval,
            agg.timezone,
            from.is_some(),
            to.is_some() || from.is_some(),
        ))
    }

    /// Facets and a date histogram over every document `query` matches.
    pub fn aggregate(&self, query: &str, opts: &AggOptions) -> Result<Aggregations> {
        let searcher = self.reader.searcher();
        let c = self.compile(query, opts.now, opts.timezone)?;
        let grid = self.grid(&searcher, &c, opts)?;
        Ok(searcher.search(
            &*c.query,
            &AggCollector {
                grid: Arc::new(grid),
                top: opts.top,
            },
        )?)
    }

    /// Run `query` ([`crate::query`] syntax; blank: every document).
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let c = self.compile(query, opts.now, opts.timezone)?;
        let tag = opts.sort.cursor_tag();
        let after = opts
            .cursor
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| Key::decode(s, tag))
            .transpose()?;
        let limit = opts.limit.max(1);
        let page = PageCollector {
            by_score: opts.sort == SortOrder::Relevance,
            limit,
            after,
            collapse: opts.collapse,
        };
        let agg = match &opts.aggregations {
            None => None,
            Some(a) => Some(AggCollector {
                grid: Arc::new(self.grid(&searcher, &c, a)?),
                top: a.top,
            }),
        };
        let (page, aggregations) = searcher.search(&*c.query, &(page, agg))?;
        let next_cursor = page.next.as_ref().map(|k| k.encode(tag));
        let mut title_gen = SnippetGenerator::create(&searcher, &*c.query, f.title)?;
        title_gen.set_max_num_chars(1024);
        let mut body_gen = SnippetGenerator::create(&searcher, &*c.query, f.body)?;
        body_gen.set_max_num_chars(opts.snippet_bytes.max(32));
        let hits = page
            .hits
            .iter()
            .map(|p| {
                let score = if opts.sort == SortOrder::Relevance {
                    p.primary as f32
                } else {
                    0.0
                };
                let doc: TantivyDocument = searcher.doc(p.addr)?;
                let mut h = hit_from_doc(&self.fields, &doc, score, Some((&title_gen, &body_gen)));
                h.collapsed = p.collapsed;
                Ok(h)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SearchResults {
            total: page.total as usize,
            groups: page.groups as usize,
            hits,
            next_cursor,
            aggregations,
        })
    }
}

/// A hit from a stored document; without snippet generators, the title and the first 120
/// characters of the body, unhighlighted.
pub(crate) fn hit_from_doc(
    f: &Fields,
    doc: &TantivyDocument,
    score: f32,
    gens: Option<(&SnippetGenerator, &SnippetGenerator)>,
) -> Hit {
    let text = |field: Field| {
        doc.get_first(field)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let title = text(f.title).unwrap_or_default();
    let (mut title_snippet, mut body) = match gens {
        Some((t, b)) => (
            snippet(t.snippet_from_doc(doc)),
            snippet(b.snippet_from_doc(doc)),
        ),
        None => (
            Snippet {
                text: String::new(),
                highlights: vec![],
            },
            Snippet {
                text: String::new(),
                highlights: vec![],
            },
        ),
    };
    if title_snippet.text.is_empty() {
        title_snippet = Snippet {
            text: title.clone(),
            highlights: vec![],
        };
    }
    if body.text.is_empty() {
        let full = text(f.body).unwrap_or_default();
        body = Snippet {
            text: prefix(&full, 120),
            highlights: vec![],
        };
    }
    let time = doc
        .get_first(f.time)
        .and_then(|v| v.as_datetime())
        .and_then(|d| DateTime::from_timestamp(d.into_timestamp_secs(), 0));
    let all = |field: Field| {
        doc.get_all(field)
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    Hit {
        id: text(f.id).unwrap_or_default(),
        score,
        title,
        source: text(f.source).unwrap_or_default(),
        channel: text(f.channel).unwrap_or_default(),
        url: text(f.url),
        time,
        sentiment_score: doc
            .get_first(f.sentiment_score)
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0),
        sentiment: text(f.sentiment).unwrap_or_default(),
        entities: all(f.entity),
        risks: all(f.risk),
        dimensions: all(f.dim),
        cluster: text(f.cluster),
        cluster_size: doc
            .get_first(f.cluster_size)
            .and_then(|v| v.as_u64())
            .unwrap_or(0),
        collapsed: 0,
        title_snippet,
        snippet: body,
    }
}

fn snippet(s: tantivy::snippet::Snippet) -> Snippet {
    Snippet {
        text: s.fragment().to_string(),
        highlights: merge(s.highlighted().to_vec()),
    }
}

/// Sort ranges and merge those that overlap or touch: the tokenizer emits a word and its
/// sub-words (暴力催收, 暴力, 催收), and one highlight over the whole word reads right.
fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// At most `max_chars` characters of `s`, cut on a character boundary.
fn prefix(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_and_touching_highlights_merge() {
        assert_eq!(merge(vec![6..12, 0..6, 0..12, 20..23]), vec![0..12, 20..23]);
        let s = Snippet {
            text: "恒信暴力催收".into(),
            highlights: merge(vec![6..12, 12..18, 6..18]),
        };
        assert_eq!(s.marked("【", "】"), "恒信【暴力催收】");
    }
}
