//! Collectors over fast fields: one page of hits after a cursor (optionally one hit per
//! near-duplicate cluster), and the time-ordered keys of every match (for export).
//!
//! Order: every page is sorted by a key `(primary, secondary, id)`, all descending:
//! `(score, time, id)` for relevance, `(time, 0, id)` for time. The document id breaks every
//! tie, so the order is total and a cursor `(primary, secondary, id)` names a position that
//! stays put when documents are added or removed: the next page is everything strictly after
//! it. Within a segment, `id` is compared by its term ordinal in the fast-field dictionary,
//! which is sorted like the ids themselves.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Debug;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, Column, StrColumn, TermOrdHit};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::query::{QueryError, QueryErrorKind};

/// A single-valued fast column read without per-call cardinality checks when it is full.
pub(crate) struct Single<T> {
    col: Column<T>,
    full: bool,
}

impl<T: PartialOrd + Copy + Debug + Send + Sync + 'static> Single<T> {
    pub(crate) fn new(col: Column<T>) -> Single<T> {
        let full = col.get_cardinality() == Cardinality::Full;
        Single { col, full }
    }

    #[inline]
    pub(crate) fn get(&self, doc: DocId) -> Option<T> {
        if self.full {
            Some(self.col.values.get_val(doc))
        } else {
            self.col.first(doc)
        }
    }
}

/// The `time` column of a segment, in seconds.
pub(crate) struct Secs(Single<tantivy::DateTime>);

impl Secs {
    pub(crate) fn open(reader: &SegmentReader) -> tantivy::Result<Secs> {
        Ok(Secs(Single::new(reader.fast_fields().date("time")?)))
    }

    #[inline]
    pub(crate) fn get(&self, doc: DocId) -> i64 {
        self.0.get(doc).map_or(0, |d| d.into_timestamp_secs())
    }
}

fn str_column(reader: &SegmentReader, name: &str) -> tantivy::Result<Option<StrColumn>> {
    reader.fast_fields().str(name)
}

fn ord_to_string(col: &StrColumn, ord: u64) -> String {
    let mut s = String::new();
    // A dictionary read fails only on a corrupt segment; an empty id then sorts first.
    let _ = col.ord_to_str(ord, &mut s);
    s
}

/// A position in the sort order (all three descending).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub(crate) primary: f64,
    pub(crate) secondary: i64,
    pub(crate) id: String,
}

impl Key {
    /// The opaque cursor string: `<tag>1.<primary bits>.<secondary>.<id hex>`.
    pub(crate) fn encode(&self, tag: char) -> String {
        let mut id = String::with_capacity(self.id.len() * 2);
        for b in self.id.bytes() {
            id.push_str(&format!("{b:02x}"));
        }
        format!(
            "{tag}1.{:x}.{:x}.{id}",
            self.primary.to_bits(),
            self.secondary as u64
        )
    }

    /// Parse a cursor made by [`Key::encode`] with the same `tag`.
    pub(crate) fn decode(s: &str, tag: char) -> Result<Key, QueryError> {
        let bad = || QueryError {
            kind: QueryErrorKind::BadCursor,
            byte: 0,
            char: 0,
        };
        let rest = s
            .strip_prefix(tag)
            .and_then(|r| r.strip_prefix("1."))
            .ok_or_else(bad)?;
        let mut parts = rest.split('.');
        let (Some(p), Some(sec), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let primary = f64::from_bits(u64::from_str_radix(p, 16).map_err(|_| bad())?);
        let secondary = u64::from_str_radix(sec, 16).map_err(|_| bad())? as i64;
        if id.len() % 2 != 0 || !id.is_ascii() {
            return Err(bad());
        }
        let bytes = (0..id.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&id[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| bad())?;
        let id = String::from_utf8(bytes).map_err(|_| bad())?;
        if primary.is_nan() {
            return Err(bad());
        }
        Ok(Key {
            primary,
            secondary,
            id,
        })
    }
}

/// A candidate: ids are compared by ordinal within a segment, by string across segments.
#[derive(Debug, Clone, Copy)]
struct Cand {
    primary: f64,
    secondary: i64,
    seg: SegmentOrdinal,
    ord: u64,
    doc: DocId,
}

impl Cand {
    /// Ascending by rank within one segment: the greater candidate comes first in the page.
    fn rank(&self, o: &Cand) -> Ordering {
        self.primary
            .total_cmp(&o.primary)
            .then(self.secondary.cmp(&o.secondary))
            .then(self.ord.cmp(&o.ord))
    }

    fn coarse(&self, o: &Cand) -> Ordering {
        self.primary
            .total_cmp(&o.primary)
            .then(self.secondary.cmp(&o.secondary))
    }
}

impl PartialEq for Cand {
    fn eq(&self, o: &Self) -> bool {
        self.rank(o) == Ordering::Equal
    }
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Cand {
    fn cmp(&self, o: &Self) -> Ordering {
        self.rank(o)
    }
}

/// One hit of a page.
#[derive(Debug, Clone)]
pub(crate) struct PageHit {
    /// Score (relevance) or time in seconds (time order).
    pub(crate) primary: f64,
    pub(crate) addr: DocAddress,
    /// Other matches of the same cluster folded into this hit.
    pub(crate) collapsed: u64,
}

/// What a [`PageCollector`] returns.
#[derive(Debug, Clone, Default)]
pub(crate) struct Page {
    /// Documents that matched.
    pub(crate) total: u64,
    /// Result groups (clusters plus unclustered documents) when collapsing, else `total`.
    pub(crate) groups: u64,
    /// Up to `limit` hits after the cursor, in order.
    pub(crate) hits: Vec<PageHit>,
    /// Position of the last hit, when more hits follow it.
    pub(crate) next: Option<Key>,
}

/// Collects the first `limit` hits after `after`, by score or by time.
pub(crate) struct PageCollector {
    pub(crate) by_score: bool,
    pub(crate) limit: usize,
    pub(crate) after: Option<Key>,
    pub(crate) collapse: bool,
}

pub(crate) struct SegPage {
    seg: SegmentOrdinal,
    by_score: bool,
    /// Candidates kept: one more than the page, to know whether another page follows.
    k: usize,
    total: u64,
    unclustered: u64,
    time: Secs,
    ids: Option<StrColumn>,
    clusters: Option<Column<u64>>,
    /// Cursor: `(primary, secondary, ord)`: a doc is after it iff its key is smaller, and on
    /// an equal `(primary, secondary)` iff its ord is below `ord`.
    after: Option<(f64, i64, u64)>,
    heap: BinaryHeap<Reverse<Cand>>,
    groups: HashMap<u64, (Cand, u64)>,
}

pub(crate) struct SegPageFruit {
    seg: SegmentOrdinal,
    total: u64,
    unclustered: u64,
    cands: Vec<Cand>,
    groups: HashMap<u64, (Cand, u64)>,
    ids: Option<StrColumn>,
}

/// Ids of candidates, looked up once each (a lookup by ordinal costs tens of microseconds, so
/// only ties and the cursor ask).
struct Ids {
    cols: HashMap<SegmentOrdinal, StrColumn>,
    cache: RefCell<HashMap<(SegmentOrdinal, u64), String>>,
}

impl Ids {
    fn get(&self, c: &Cand) -> String {
        if let Some(s) = self.cache.borrow().get(&(c.seg, c.ord)) {
            return s.clone();
        }
        let s = self
            .cols
            .get(&c.seg)
            .map(|col| ord_to_string(col, c.ord))
            .unwrap_or_default();
        self.cache.borrow_mut().insert((c.seg, c.ord), s.clone());
        s
    }

    /// Page order: `Less` means `a` comes first.
    fn order(&self, a: &Cand, b: &Cand) -> Ordering {
        match b.coarse(a) {
            Ordering::Equal if a.seg == b.seg => b.ord.cmp(&a.ord),
            Ordering::Equal => self.get(b).cmp(&self.get(a)),
            o => o,
        }
    }

    fn key(&self, c: &Cand) -> Key {
        Key {
            primary: c.primary,
            secondary: c.secondary,
            id: self.get(c),
        }
    }
}

impl Collector for PageCollector {
    type Fruit = Page;
    type Child = SegPage;

    fn for_segment(&self, seg: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegPage> {
        let ids = str_column(reader, "id")?;
        let after = match (&self.after, &ids) {
            (None, _) => None,
            (Some(k), Some(col)) => {
                let ord = match col.dictionary().term_ord_or_next(k.id.as_bytes())? {
                    TermOrdHit::Exact(o) | TermOrdHit::Next(o) => o,
                };
                Some((k.primary, k.secondary, ord))
            }
            (Some(k), None) => Some((k.primary, k.secondary, 0)),
        };
        let k = self.limit + 1;
        Ok(SegPage {
            seg,
            by_score: self.by_score,
            k,
            total: 0,
            unclustered: 0,
            time: Secs::open(reader)?,
            ids,
            clusters: if self.collapse {
                reader.fast_fields().column_opt("cluster_hash")?
            } else {
                None
            },
            after,
            heap: BinaryHeap::with_capacity(k + 1),
            groups: HashMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.by_score
    }

    fn merge_fruits(&self, fruits: Vec<SegPageFruit>) -> tantivy::Result<Page> {
        let mut page = Page::default();
        let ids = Ids {
            cols: fruits
                .iter()
                .filter_map(|f| f.ids.clone().map(|c| (f.seg, c)))
                .collect(),
            cache: RefCell::new(HashMap::new()),
        };
        let mut cands: Vec<(Cand, u64)> = Vec::new();
        let mut groups: HashMap<u64, (Cand, u64)> = HashMap::new();
        for f in fruits {
            page.total += f.total;
            page.groups += f.unclustered;
            cands.extend(f.cands.into_iter().map(|c| (c, 0)));
            for (cluster, (best, n)) in f.groups {
                match groups.get_mut(&cluster) {
                    Some(g) => {
                        g.1 += n;
                        if ids.order(&best, &g.0) == Ordering::Less {
                            g.0 = best;
                        }
                    }
                    None => {
                        groups.insert(cluster, (best, n));
                    }
                }
            }
        }
        page.groups += groups.len() as u64;
        if !self.collapse {
            page.groups = page.total;
        }
        // A group shows at its best hit, if that comes after the cursor.
        for (_, (best, n)) in groups {
            let after = match &self.after {
                None => true,
                Some(a) => match best
                    .primary
                    .total_cmp(&a.primary)
                    .then(best.secondary.cmp(&a.secondary))
                {
                    Ordering::Less => true,
                    Ordering::Greater => false,
                    Ordering::Equal => ids.get(&best) < a.id,
                },
            };
            if after {
                cands.push((best, n - 1));
            }
        }
        // Order by (primary, secondary) first; ids are looked up only to break ties.
        cands.sort_by(|a, b| b.0.coarse(&a.0));
        let mut i = 0;
        while i < cands.len() && i <= self.limit {
            let mut j = i + 1;
            while j < cands.len() && cands[j].0.coarse(&cands[i].0) == Ordering::Equal {
                j += 1;
            }
            if j - i > 1 {
                cands[i..j].sort_by(|a, b| ids.order(&a.0, &b.0));
            }
            i = j;
        }
        if cands.len() > self.limit {
            cands.truncate(self.limit);
            page.next = cands.last().map(|(c, _)| ids.key(c));
        }
        page.hits = cands
            .into_iter()
            .map(|(c, collapsed)| PageHit {
                primary: c.primary,
                addr: DocAddress::new(c.seg, c.doc),
                collapsed,
            })
            .collect();
        Ok(page)
    }
}

impl SegPage {
    #[inline]
    fn is_after(&self, c: &Cand) -> bool {
        match self.after {
            None => true,
            Some((p, s, ord)) => match c.primary.total_cmp(&p).then(c.secondary.cmp(&s)) {
                Ordering::Less => true,
                Ordering::Greater => false,
                Ordering::Equal => c.ord < ord,
            },
        }
    }

    #[inline]
    fn offer(&mut self, c: Cand) {
        if self.heap.len() < self.k {
            self.heap.push(Reverse(c));
        } else if let Some(mut min) = self.heap.peek_mut()
            && c > min.0
        {
            min.0 = c;
        }
    }

    #[inline]
    fn full_and_below(&self, primary: f64, secondary: i64) -> bool {
        self.heap.len() >= self.k
            && self.heap.peek().is_some_and(|m| {
                primary
                    .total_cmp(&m.0.primary)
                    .then(secondary.cmp(&m.0.secondary))
                    == Ordering::Less
            })
    }

    #[inline]
    fn ord(&self, doc: DocId) -> u64 {
        self.ids
            .as_ref()
            .and_then(|i| i.ords().first(doc))
            .unwrap_or(0)
    }
}

impl SegmentCollector for SegPage {
    type Fruit = SegPageFruit;

    #[inline]
    fn collect(&mut self, doc: DocId, score: Score) {
        self.total += 1;
        let t = self.time.get(doc);
        let (primary, secondary) = if self.by_score {
            (f64::from(score), t)
        } else {
            (t as f64, 0)
        };
        if let Some(cl) = &self.clusters
            && let Some(c) = cl.first(doc)
        {
            let cand = Cand {
                primary,
                secondary,
                seg: self.seg,
                ord: self.ord(doc),
                doc,
            };
            self.groups
                .entry(c)
                .and_modify(|g| {
                    g.1 += 1;
                    if cand > g.0 {
                        g.0 = cand;
                    }
                })
                .or_insert((cand, 1));
            return;
        }
        self.unclustered += 1;
        if self.full_and_below(primary, secondary) {
            return;
        }
        let cand = Cand {
            primary,
            secondary,
            seg: self.seg,
            ord: self.ord(doc),
            doc,
        };
        if self.is_after(&cand) {
            self.offer(cand);
        }
    }

    fn harvest(self) -> SegPageFruit {
        SegPageFruit {
            seg: self.seg,
            total: self.total,
            unclustered: self.unclustered,
            cands: self.heap.into_iter().map(|Reverse(c)| c).collect(),
            groups: self.groups,
            ids: self.ids,
        }
    }
}

/// Collects `(time, address)` of every match, for export in time order.
pub(crate) struct TimeKeys;

pub(crate) struct SegTimeKeys {
    seg: SegmentOrdinal,
    time: Secs,
    out: Vec<(i64, DocAddress)>,
}

impl Collector for TimeKeys {
    type Fruit = Vec<(i64, DocAddress)>;
    type Child = SegTimeKeys;

    fn for_segment(
        &self,
        seg: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegTimeKeys> {
        Ok(SegTimeKeys {
            seg,
            time: Secs::open(reader)?,
            out: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(i64, DocAddress)>>) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<_> = fruits.into_iter().flatten().collect();
        all.sort_unstable_by_key(|&(t, a)| (t, a.segment_ord, a.doc_id));
        Ok(all)
    }
}

impl SegmentCollector for SegTimeKeys {
    type Fruit = Vec<(i64, DocAddress)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.out
            .push((self.time.get(doc), DocAddress::new(self.seg, doc)));
    }

    fn harvest(self) -> Self::Fruit {
        self.out
    }
}
