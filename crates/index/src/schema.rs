//! The index schema and the mapping from [`Document`] to a tantivy document.
//!
//! Search reads fast fields, not stored documents, for everything it sorts, filters, counts or
//! pages by: `id` (cursor tie-break), `time`, `cluster_hash` (collapse), `source`, `channel`, `sentiment`,
//! `sentiment_score`, `entity`, `risk`, `dim`, `cluster`. tantivy stores the schema in the
//! index's `meta.json` and [`crate::DocIndex::open`] refuses an index built with another one
//! (see [`crate::SCHEMA_VERSION`]).

use tantivy::DateTime;
use tantivy::TantivyDocument;
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, STORED, STRING,
    Schema, TextFieldIndexing, TextOptions,
};
use yuqing_model::Document;

use crate::TOKENIZER;

/// Handles of every field.
#[derive(Debug, Clone)]
pub struct Fields {
    /// Document id (raw term, fast; the upsert key and the tie-break of every sort order).
    pub id: Field,
    /// Link to the original (stored only).
    pub url: Field,
    /// Source id (raw term, fast).
    pub source: Field,
    /// Channel name (raw term, fast).
    pub channel: Field,
    /// Normalized title (jieba, stored).
    pub title: Field,
    /// Normalized body (jieba, stored).
    pub body: Field,
    /// Author (stored).
    pub author: Field,
    /// Publication time, if known.
    pub published: Field,
    /// Fetch time.
    pub fetched: Field,
    /// Publication time, else fetch time: what "time" means for sorting and ranges.
    pub time: Field,
    /// Sentiment score in [-1, 1].
    pub sentiment_score: Field,
    /// Sentiment label (raw term).
    pub sentiment: Field,
    /// Mentioned entity ids (raw terms, multi-valued).
    pub entity: Field,
    /// Source tags (raw terms, multi-valued).
    pub tag: Field,
    /// Risk category ids (raw terms, multi-valued): `risk:collection`.
    pub risk: Field,
    /// Review dimensions (raw terms, multi-valued, `Dimension::as_str`): `dim:people`.
    pub dim: Field,
    /// Near-duplicate cluster id (raw term): `cluster:<doc id>`.
    pub cluster: Field,
    /// Cluster size when the document was assigned (stored, fast).
    pub cluster_size: Field,
    /// [`cluster_hash`] of the cluster id (fast): collapsing merges clusters across segments
    /// by this number instead of looking strings up in each segment's dictionary.
    pub cluster_hash: Field,
}

/// A stable 64-bit hash of a cluster id (FNV-1a, then a murmur3 finalizer): the same in every
/// process and version, so it can be stored. Two clusters colliding would be collapsed
/// together; with 64 bits that takes billions of clusters to become likely.
pub fn cluster_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let date = DateOptions::default()
        .set_indexed()
        .set_stored()
        .set_fast()
        .set_precision(DateTimePrecision::Seconds);
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED | FAST),
        url: b.add_text_field("url", STORED),
        source: b.add_text_field("source", STRING | STORED | FAST),
        channel: b.add_text_field("channel", STRING | STORED | FAST),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text),
        author: b.add_text_field("author", STORED),
        published: b.add_date_field("published", date.clone()),
        fetched: b.add_date_field("fetched", date.clone()),
        time: b.add_date_field("time", date),
        sentiment_score: b.add_f64_field("sentiment_score", INDEXED | STORED | FAST),
        sentiment: b.add_text_field("sentiment", STRING | STORED | FAST),
        entity: b.add_text_field("entity", STRING | STORED | FAST),
        tag: b.add_text_field("tag", STRING | STORED | FAST),
        risk: b.add_text_field("risk", STRING | STORED | FAST),
        dim: b.add_text_field("dim", STRING | STORED | FAST),
        cluster: b.add_text_field("cluster", STRING | STORED | FAST),
        cluster_size: b.add_u64_field("cluster_size", STORED | FAST),
        cluster_hash: b.add_u64_field("cluster_hash", FAST),
    };
    (b.build(), fields)
}

fn date(t: chrono::DateTime<chrono::Utc>) -> DateTime {
    DateTime::from_timestamp_secs(t.timestamp())
}

impl Fields {
    pub(crate) fn to_tantivy(&self, d: &Document) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.id, d.raw.id.as_str());
        if let Some(u) = &d.raw.url {
            doc.add_text(self.url, u);
        }
        doc.add_text(self.source, d.raw.source_id.as_str());
        doc.add_text(self.channel, d.raw.channel.as_str());
        doc.add_text(self.title, &d.analysis.title);
        doc.add_text(self.body, &d.analysis.body);
        if let Some(a) = &d.raw.author {
            doc.add_text(self.author, a);
        }
        if let Some(p) = d.raw.published_at {
            doc.add_date(self.published, date(p));
        }
        doc.add_date(self.fetched, date(d.raw.fetched_at));
        doc.add_date(
            self.time,
            date(d.raw.published_at.unwrap_or(d.raw.fetched_at)),
        );
        doc.add_f64(self.sentiment_score, f64::from(d.analysis.sentiment.score));
        doc.add_text(self.sentiment, d.analysis.sentiment.label.as_str());
        for e in d.analysis.entity_ids() {
            doc.add_text(self.entity, &e);
        }
        for t in &d.raw.tags {
            doc.add_text(self.tag, t);
        }
        for r in &d.analysis.risks {
            doc.add_text(self.risk, &r.id);
        }
        for t in &d.analysis.dimensions {
            doc.add_text(self.dim, t.dimension.as_str());
        }
        if let Some(c) = &d.cluster {
            doc.add_text(self.cluster, c.id.as_str());
            doc.add_u64(self.cluster_size, u64::from(c.size));
            doc.add_u64(self.cluster_hash, cluster_hash(c.id.as_str()));
        }
        doc
    }
}
