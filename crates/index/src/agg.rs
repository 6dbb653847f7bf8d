//! Aggregations over the documents a query matches: facet counts (source, channel, entity,
//! sentiment label, risk, dimension) and a date histogram with sentiment per bucket.
//!
//! One custom collector reads fast fields only (term ordinals counted per segment, then
//! turned into strings once per segment), so the cost is a few column reads per match and no
//! stored document is opened. Buckets start at local midnights (day) or local hours (hour) in
//! the requested time zone (Asia/Shanghai by default).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Facet values returned per field unless asked otherwise.
pub const DEFAULT_FACET_TOP: usize = 10;
/// Most hour buckets one histogram has; a longer span falls back to day buckets.
pub const MAX_HOUR_BUCKETS: i64 = 24 * 200;
/// Most day buckets one histogram has; older matches are left out of the histogram only.
pub const MAX_DAY_BUCKETS: i64 = 366 * 10;
/// With [`Interval::Auto`], spans up to this many hours get hour buckets.
pub const AUTO_HOUR_MAX_HOURS: i64 = 48;

/// Width of histogram buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// Hours for spans up to [`AUTO_HOUR_MAX_HOURS`], else days.
    #[default]
    Auto,
    /// One bucket per local hour.
    Hour,
    /// One bucket per local day (midnight to midnight).
    Day,
}

/// What to aggregate.
#[derive(Debug, Clone)]
pub struct AggOptions {
    /// Values kept per facet (most frequent first).
    pub top: usize,
    /// Bucket width of the date histogram.
    pub interval: Interval,
    /// Zone the buckets are aligned to (and that query times are read in by
    /// [`DocIndex::aggregate`](crate::DocIndex::aggregate)).
    pub timezone: Tz,
    /// The instant relative query times count back from (default: now), used by
    /// [`DocIndex::aggregate`](crate::DocIndex::aggregate); within a search, the search's
    /// `now` applies.
    pub now: Option<DateTime<Utc>>,
}

impl Default for AggOptions {
    fn default() -> Self {
        AggOptions {
            top: DEFAULT_FACET_TOP,
            interval: Interval::Auto,
            timezone: chrono_tz::Asia::Shanghai,
            now: None,
        }
    }
}

/// One facet value and how many matches have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    /// The value (source id, channel, entity id, label, risk id, dimension id).
    pub value: String,
    /// Matches with this value.
    pub count: u64,
    /// Of those, matches labelled negative.
    pub negative: u64,
}

/// Facet counts per field, most frequent first (ties by value).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Facets {
    /// Top sources.
    pub source: Vec<FacetCount>,
    /// Channels.
    pub channel: Vec<FacetCount>,
    /// Mentioned entities.
    pub entity: Vec<FacetCount>,
    /// Sentiment labels.
    pub sentiment: Vec<FacetCount>,
    /// Risk categories.
    pub risk: Vec<FacetCount>,
    /// Review dimensions.
    pub dim: Vec<FacetCount>,
}

/// One histogram bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// Start of the bucket, in the requested zone.
    pub start: DateTime<FixedOffset>,
    /// Matches in the bucket.
    pub count: u64,
    /// Matches labelled negative.
    pub negative: u64,
    /// Matches labelled neutral.
    pub neutral: u64,
    /// Matches labelled positive.
    pub positive: u64,
    /// Mean sentiment score of the bucket's matches (`None` when empty).
    pub mean_score: Option<f64>,
}

/// Everything [`DocIndex::aggregate`](crate::DocIndex::aggregate) computes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregations {
    /// Documents that matched.
    pub total: u64,
    /// Facet counts.
    pub facets: Facets,
    /// Bucket width used (never `Auto`).
    pub interval: Interval,
    /// Buckets in time order, empty ones included, from the query's lower time bound (else the
    /// first match) to its upper bound (else the last match).
    pub histogram: Vec<Bucket>,
}

/// The bucket boundaries of one histogram.
#[derive(Debug)]
pub(crate) struct Grid {
    /// `n + 1` boundaries in Unix seconds: bucket `i` is `[starts[i], starts[i + 1])`.
    starts: Vec<i64>,
    step: i64,
    interval: Interval,
    tz: Tz,
    /// Keep empty buckets at the start / end (the query bounds the time on that side).
    keep_lead: bool,
    keep_trail: bool,
}

impl Grid {
    /// Buckets covering `[lo, hi)` (Unix seconds).
    pub(crate) fn new(
        lo: i64,
        hi: i64,
        interval: Interval,
        tz: Tz,
        keep_lead: bool,
        keep_trail: bool,
    ) -> Grid {
        let span_h = (hi - lo).max(0) / 3600;
        let mut interval = match interval {
            Interval::Auto if span_h <= AUTO_HOUR_MAX_HOURS => Interval::Hour,
            Interval::Auto => Interval::Day,
            i => i,
        };
        if interval == Interval::Hour && span_h > MAX_HOUR_BUCKETS {
            interval = Interval::Day;
        }
        let mut grid = Grid {
            starts: vec![],
            step: if interval == Interval::Hour {
                3600
            } else {
                86_400
            },
            interval,
            tz,
            keep_lead,
            keep_trail,
        };
        if hi <= lo {
            return grid;
        }
        let local = |secs: i64| {
            DateTime::from_timestamp(secs, 0)
                .unwrap_or_default()
                .with_timezone(&tz)
        };
        let midnight = |d: chrono::NaiveDate| {
            tz.from_local_datetime(&d.and_time(NaiveTime::MIN))
                .earliest()
                .map(|t| t.timestamp())
        };
        match interval {
            Interval::Hour => {
                let l = local(lo);
                let first = lo - i64::from(l.minute()) * 60 - i64::from(l.second());
                let mut t = first;
                while t < hi {
                    grid.starts.push(t);
                    t += 3600;
                }
                grid.starts.push(t);
            }
            _ => {
                let last_day = local(hi - 1).date_naive();
                let mut d = local(lo).date_naive();
                if (last_day - d).num_days() > MAX_DAY_BUCKETS {
                    d = last_day - Duration::days(MAX_DAY_BUCKETS);
                }
                while d <= last_day {
                    if let Some(t) = midnight(d) {
                        grid.starts.push(t);
                    }
                    d = d.succ_opt().unwrap_or(d);
                    if d == chrono::NaiveDate::MAX {
                        break;
                    }
                }
                if let Some(t) = midnight(d) {
                    grid.starts.push(t);
                }
            }
        }
        grid
    }

    fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The bucket of `t`, if inside the grid.
    #[inline]
    fn bucket(&self, t: i64) -> Option<usize> {
        let n = self.len();
        if n == 0 || t < self.starts[0] || t >= self.starts[n] {
            return None;
        }
        let mut i = (((t - self.starts[0]) / self.step) as usize).min(n - 1);
        while self.starts[i] > t {
            i -= 1;
        }
        while self.starts[i + 1] <= t {
            i += 1;
        }
        Some(i)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    /// negative, neutral, positive, other
    labels: [u64; 4],
    score_sum: f64,
}

/// Counts of one keyword field in one segment, by term ordinal: `[count, negative]`.
struct StrFacet {
    col: Option<StrColumn>,
    counts: Vec<[u64; 2]>,
}

/// Buffers reused by every block.
#[derive(Default)]
struct Scratch {
    docs_out: Vec<DocId>,
    rows: Vec<u32>,
    vals: Vec<u64>,
    times: Vec<Option<tantivy::DateTime>>,
    scores: Vec<Option<f64>>,
    labels: Vec<u8>,
    negative: Vec<bool>,
}

impl StrFacet {
    fn open(reader: &SegmentReader, name: &str) -> tantivy::Result<StrFacet> {
        let col = reader.fast_fields().str(name)?;
        let n = col.as_ref().map_or(0, |c| c.num_terms());
        Ok(StrFacet {
            col,
            counts: vec![[0; 2]; n],
        })
    }

    /// Count the values of `docs` (ascending); `negative[i]` is about `docs[i]`.
    fn add_block(&mut self, docs: &[DocId], negative: &[bool], s: &mut Scratch) {
        let Some(col) = &self.col else { return };
        let ords = col.ords();
        s.docs_out.clear();
        s.rows.clear();
        ords.row_ids_for_docs(docs, &mut s.docs_out, &mut s.rows);
        s.vals.clear();
        s.vals.resize(s.rows.len(), 0);
        ords.values.get_vals(&s.rows, &mut s.vals);
        let mut j = 0;
        for (d, &o) in s.docs_out.iter().zip(&s.vals) {
            while docs[j] != *d {
                j += 1;
            }
            let c = &mut self.counts[o as usize];
            c[0] += 1;
            c[1] += u64::from(negative[j]);
        }
    }

    fn harvest(self) -> Vec<(String, [u64; 2])> {
        let Some(col) = self.col else { return vec![] };
        let ords: Vec<u64> = (0..self.counts.len() as u64)
            .filter(|&o| self.counts[o as usize][0] > 0)
            .collect();
        // One pass over the dictionary: looking ordinals up one by one costs far more.
        let mut out = Vec::with_capacity(ords.len());
        let mut at = ords.iter();
        let _ = col.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
            if let Some(&o) = at.next() {
                out.push((
                    String::from_utf8_lossy(bytes).into_owned(),
                    self.counts[o as usize],
                ));
            }
        });
        out
    }
}

/// Collects facets and the histogram.
pub(crate) struct AggCollector {
    pub(crate) grid: Arc<Grid>,
    pub(crate) top: usize,
}

pub(crate) struct SegAgg {
    grid: Arc<Grid>,
    total: u64,
    facets: [StrFacet; 5],
    sentiment: StrFacet,
    /// Sentiment term ordinal → 0 negative, 1 neutral, 2 positive, 3 other.
    label_of: Vec<u8>,
    score: Option<Column<f64>>,
    time: Column<tantivy::DateTime>,
    hist: Vec<Acc>,
    /// Matches not counted yet (ascending).
    buf: Vec<DocId>,
    scratch: Scratch,
}

/// Matches buffered before their fast fields are read together.
const BLOCK: usize = 256;

pub(crate) struct SegAggFruit {
    total: u64,
    facets: [Vec<(String, [u64; 2])>; 6],
    hist: Vec<Acc>,
}

impl Collector for AggCollector {
    type Fruit = Aggregations;
    type Child = SegAgg;

    fn for_segment(&self, _seg: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegAgg> {
        let sentiment = StrFacet::open(reader, "sentiment")?;
        let label_of = match &sentiment.col {
            None => vec![],
            Some(c) => (0..c.num_terms() as u64)
                .map(|o| {
                    let mut s = String::new();
                    let _ = c.ord_to_str(o, &mut s);
                    match s.as_str() {
                        "negative" => 0,
                        "neutral" => 1,
                        "positive" => 2,
                        _ => 3,
                    }
                })
                .collect(),
        };
        let score: Option<Column<f64>> = reader.fast_fields().column_opt("sentiment_score")?;
        Ok(SegAgg {
            grid: self.grid.clone(),
            total: 0,
            facets: [
                StrFacet::open(reader, "source")?,
                StrFacet::open(reader, "channel")?,
                StrFacet::open(reader, "entity")?,
                StrFacet::open(reader, "risk")?,
                StrFacet::open(reader, "dim")?,
            ],
            sentiment,
            label_of,
            score,
            time: reader.fast_fields().date("time")?,
            hist: vec![Acc::default(); self.grid.len()],
            buf: Vec::with_capacity(BLOCK),
            scratch: Scratch::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<SegAggFruit>) -> tantivy::Result<Aggregations> {
        let mut total = 0;
        let mut maps: [HashMap<String, [u64; 2]>; 6] = Default::default();
        let mut hist = vec![Acc::default(); self.grid.len()];
        for f in fruits {
            total += f.total;
            for (m, v) in maps.iter_mut().zip(f.facets) {
                for (s, c) in v {
                    let e = m.entry(s).or_default();
                    e[0] += c[0];
                    e[1] += c[1];
                }
            }
            for (a, b) in hist.iter_mut().zip(f.hist) {
                for i in 0..4 {
                    a.labels[i] += b.labels[i];
                }
                a.score_sum += b.score_sum;
            }
        }
        let top = |m: HashMap<String, [u64; 2]>| {
            let mut v: Vec<FacetCount> = m
                .into_iter()
                .map(|(value, c)| FacetCount {
                    value,
                    count: c[0],
                    negative: c[1],
                })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            v.truncate(self.top);
            v
        };
        let [source, channel, entity, risk, dim, sentiment] = maps;
        let g = &self.grid;
        let count = |a: &Acc| a.labels.iter().sum::<u64>();
        let mut first = 0;
        let mut last = hist.len();
        if !g.keep_lead {
            first = hist.iter().position(|a| count(a) > 0).unwrap_or(hist.len());
        }
        if !g.keep_trail {
            last = hist
                .iter()
                .rposition(|a| count(a) > 0)
                .map_or(first, |i| i + 1);
        }
        let histogram = (first..last.max(first))
            .map(|i| {
                let a = &hist[i];
                let n = count(a);
                let start = DateTime::from_timestamp(g.starts[i], 0)
                    .unwrap_or_default()
                    .with_timezone(&g.tz)
                    .fixed_offset();
                Bucket {
                    start,
                    count: n,
                    negative: a.labels[0],
                    neutral: a.labels[1],
                    positive: a.labels[2],
                    mean_score: (n > 0).then(|| a.score_sum / n as f64),
                }
            })
            .collect();
        Ok(Aggregations {
            total,
            facets: Facets {
                source: top(source),
                channel: top(channel),
                entity: top(entity),
                sentiment: top(sentiment),
                risk: top(risk),
                dim: top(dim),
            },
            interval: g.interval,
            histogram,
        })
    }
}

impl SegAgg {
    /// Count the buffered matches: each fast field is read for the whole block at once.
    fn flush(&mut self) {
        let docs = std::mem::take(&mut self.buf);
        let n = docs.len();
        if n == 0 {
            self.buf = docs;
            return;
        }
        self.total += n as u64;
        let s = &mut self.scratch;
        // Labels: 0 negative, 1 neutral, 2 positive, 3 other.
        s.labels.clear();
        s.labels.resize(n, 3);
        if let Some(col) = &self.sentiment.col {
            let ords = col.ords();
            s.docs_out.clear();
            s.rows.clear();
            ords.row_ids_for_docs(&docs, &mut s.docs_out, &mut s.rows);
            s.vals.clear();
            s.vals.resize(s.rows.len(), 0);
            ords.values.get_vals(&s.rows, &mut s.vals);
            let mut j = 0;
            for (d, &o) in s.docs_out.iter().zip(&s.vals) {
                while docs[j] != *d {
                    j += 1;
                }
                s.labels[j] = self.label_of.get(o as usize).copied().unwrap_or(3);
            }
        }
        s.negative.clear();
        s.negative.extend(s.labels.iter().map(|&l| l == 0));
        let negative = std::mem::take(&mut s.negative);
        self.sentiment.add_block(&docs, &negative, s);
        for f in &mut self.facets {
            f.add_block(&docs, &negative, s);
        }
        s.negative = negative;
        if !self.hist.is_empty() {
            s.times.clear();
            s.times.resize(n, None);
            self.time.first_vals(&docs, &mut s.times);
            s.scores.clear();
            s.scores.resize(n, None);
            if let Some(sc) = &self.score {
                sc.first_vals(&docs, &mut s.scores);
            }
            for i in 0..n {
                let Some(t) = s.times[i] else { continue };
                if let Some(b) = self.grid.bucket(t.into_timestamp_secs()) {
                    let a = &mut self.hist[b];
                    a.labels[s.labels[i] as usize] += 1;
                    a.score_sum += s.scores[i].unwrap_or(0.0);
                }
            }
        }
        self.buf = docs;
        self.buf.clear();
    }
}

impl SegmentCollector for SegAgg {
    type Fruit = SegAggFruit;

    #[inline]
    fn collect(&mut self, doc: DocId, _score: Score) {
        self.buf.push(doc);
        if self.buf.len() == BLOCK {
            self.flush();
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        for &d in docs {
            self.collect(d, 0.0);
        }
    }

    fn harvest(mut self) -> SegAggFruit {
        self.flush();
        let [a, b, c, d, e] = self.facets;
        SegAggFruit {
            total: self.total,
            facets: [
                a.harvest(),
                b.harvest(),
                c.harvest(),
                d.harvest(),
                e.harvest(),
                self.sentiment.harvest(),
            ],
            hist: self.hist,
        }
    }
}
