//! Search: a query string over title and body (tantivy's query syntax: words, `"phrases"`,
//! `AND`/`OR`/`-`, `field:value` on `source`, `channel`, `sentiment`, `entity`, `tag`, `risk`,
//! `dim` (a dimension id such as `people`), `cluster` (a cluster id)), sorted
//! by relevance or time, with highlighted snippets.

use std::ops::Range;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::QueryParser;
use tantivy::schema::{Field, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument};

use crate::{DocIndex, IndexError, Result};

/// How hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Best match first.
    #[default]
    Relevance,
    /// Newest first (publication time, else fetch time).
    Time,
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
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 20,
            sort: SortOrder::Relevance,
            snippet_bytes: 240,
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
    /// The hits, in order.
    pub hits: Vec<Hit>,
}

impl DocIndex {
    /// Run `query` (empty: every document).
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.body]);
        parser.set_conjunction_by_default();
        parser.set_field_boost(f.title, 2.0);
        let q: Box<dyn tantivy::query::Query> = if query.trim().is_empty() {
            Box::new(tantivy::query::AllQuery)
        } else {
            parser
                .parse_query(query)
                .map_err(|e| IndexError::Query(e.to_string()))?
        };
        let limit = opts.limit.max(1);
        let (total, addrs): (usize, Vec<(f32, DocAddress)>) = match opts.sort {
            SortOrder::Relevance => {
                searcher.search(&q, &(Count, TopDocs::with_limit(limit).order_by_score()))?
            }
            SortOrder::Time => {
                let (n, v) = searcher.search(
                    &q,
                    &(
                        Count,
                        TopDocs::with_limit(limit)
                            .order_by_fast_field::<tantivy::DateTime>("time", Order::Desc),
                    ),
                )?;
                (n, v.into_iter().map(|(_, a)| (0.0, a)).collect())
            }
        };
        let mut title_gen = SnippetGenerator::create(&searcher, &*q, f.title)?;
        title_gen.set_max_num_chars(1024);
        let mut body_gen = SnippetGenerator::create(&searcher, &*q, f.body)?;
        body_gen.set_max_num_chars(opts.snippet_bytes.max(32));
        let hits = addrs
            .into_iter()
            .map(|(score, addr)| self.hit(&searcher, addr, score, &title_gen, &body_gen))
            .collect::<Result<Vec<_>>>()?;
        Ok(SearchResults { total, hits })
    }

    fn hit(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        score: f32,
        title_gen: &SnippetGenerator,
        body_gen: &SnippetGenerator,
    ) -> Result<Hit> {
        let f = &self.fields;
        let doc: TantivyDocument = searcher.doc(addr)?;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let title = text(f.title).unwrap_or_default();
        let mut title_snippet = snippet(title_gen.snippet_from_doc(&doc));
        if title_snippet.text.is_empty() {
            title_snippet = Snippet {
                text: title.clone(),
                highlights: vec![],
            };
        }
        let mut body = snippet(body_gen.snippet_from_doc(&doc));
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
        Ok(Hit {
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
            entities: doc
                .get_all(f.entity)
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            risks: doc
                .get_all(f.risk)
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            dimensions: doc
                .get_all(f.dim)
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            cluster: text(f.cluster),
            cluster_size: doc
                .get_first(f.cluster_size)
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            title_snippet,
            snippet: body,
        })
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
