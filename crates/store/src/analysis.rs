//! Analysis data in the store: near-duplicate clusters and analysts' corrections.
//!
//! # Clusters
//!
//! Every committed document with a SimHash is recorded in `doc_simhash` with its four 16-bit
//! bands. A document joins the cluster of the nearest stored (or earlier in the same batch)
//! document within [`NEAR_DUPLICATE_BITS`] bits: two hashes that close share at least one
//! band, so a lookup by each band finds every candidate. Otherwise it starts a cluster whose
//! id is its own id. A document already recorded keeps its cluster (re-analysis and re-commits
//! do not move documents). `first_source`/`first_seen` follow the earliest document
//! (publication time, else fetch time); `size` counts the members when the document is
//! assigned. [`Store::assign_clusters`] does this read-only, so the pipeline can fill
//! `Document::cluster` before the index write; [`Store::commit`] records the assignment in its
//! transaction, assigning documents that arrive without one itself.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use yuqing_model::{ClusterInfo, Correction, DocId, Document, SentimentLabel, SourceId};

use crate::{Result, Store, StoreError, parse_ts, ts};

/// Largest Hamming distance at which two documents are near-duplicates (matches the text
/// crate's `NEAR_DUPLICATE_BITS`; the four-band lookup is exact up to 3).
pub const NEAR_DUPLICATE_BITS: u32 = 3;

fn bands(h: u64) -> [i64; 4] {
    [0, 1, 2, 3].map(|i| ((h >> (16 * i)) & 0xFFFF) as i64)
}

fn doc_time(d: &Document) -> DateTime<Utc> {
    d.raw.published_at.unwrap_or(d.raw.fetched_at)
}

/// A cluster as assignment sees it.
#[derive(Debug, Clone)]
struct Cluster {
    first_source: SourceId,
    first_seen: DateTime<Utc>,
    size: u32,
}

fn load_cluster(conn: &Connection, id: &str) -> Result<Option<Cluster>> {
    let row = conn
        .prepare_cached("SELECT first_source, first_seen, size FROM clusters WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .optional()?;
    Ok(row.and_then(|(s, t, n)| {
        parse_ts(Some(t)).map(|first_seen| Cluster {
            first_source: SourceId(s),
            first_seen,
            size: n.max(0) as u32,
        })
    }))
}

/// Assign clusters to `docs` in order, reading through `conn` (no writes).
pub(crate) fn assign_in<'a>(
    conn: &Connection,
    docs: impl IntoIterator<Item = &'a mut Document>,
) -> Result<()> {
    // Clusters touched by this batch: id → state including this batch's members so far.
    let mut touched: HashMap<String, Cluster> = HashMap::new();
    // Earlier documents of this batch: (simhash, cluster id).
    let mut batch: Vec<(u64, String)> = Vec::new();
    for d in docs {
        let h = d.analysis.simhash;
        let id = d.raw.id.as_str().to_string();
        let t = doc_time(d);
        if h == 0 {
            d.cluster = Some(ClusterInfo {
                id: d.raw.id.clone(),
                first_source: d.raw.source_id.clone(),
                first_seen: t,
                size: 1,
            });
            continue;
        }
        // Already recorded: keep its cluster.
        let existing: Option<String> = conn
            .prepare_cached("SELECT cluster_id FROM doc_simhash WHERE doc_id = ?1")?
            .query_row([&id], |r| r.get(0))
            .optional()?;
        let (cluster_id, joins) = match existing {
            Some(c) => (c, false),
            None => match nearest(conn, h, &batch)? {
                Some(c) => (c, true),
                None => (id.clone(), false),
            },
        };
        let state = match touched.get(&cluster_id) {
            Some(s) => Some(s.clone()),
            None => load_cluster(conn, &cluster_id)?,
        };
        let mut state = state.unwrap_or(Cluster {
            first_source: d.raw.source_id.clone(),
            first_seen: t,
            size: 0,
        });
        if joins || state.size == 0 {
            state.size += 1;
        }
        if t < state.first_seen {
            state.first_seen = t;
            state.first_source = d.raw.source_id.clone();
        }
        d.cluster = Some(ClusterInfo {
            id: DocId(cluster_id.clone()),
            first_source: state.first_source.clone(),
            first_seen: state.first_seen,
            size: state.size,
        });
        touched.insert(cluster_id.clone(), state);
        batch.push((h, cluster_id));
    }
    Ok(())
}

/// The cluster of the nearest document within the threshold (stored or earlier in the batch);
/// ties go to the stored one with the earliest cluster.
fn nearest(conn: &Connection, h: u64, batch: &[(u64, String)]) -> Result<Option<String>> {
    let b = bands(h);
    let mut best: Option<(u32, String)> = None;
    let mut st = conn.prepare_cached(
        "SELECT d.simhash, d.cluster_id FROM doc_simhash d JOIN clusters c ON c.id = d.cluster_id
         WHERE d.band0 = ?1 OR d.band1 = ?2 OR d.band2 = ?3 OR d.band3 = ?4
         ORDER BY c.first_seen, d.cluster_id",
    )?;
    let rows = st.query_map(params![b[0], b[1], b[2], b[3]], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (other, cluster) = row?;
        let dist = (other ^ h).count_ones();
        if dist <= NEAR_DUPLICATE_BITS && best.as_ref().is_none_or(|(bd, _)| dist < *bd) {
            best = Some((dist, cluster));
        }
    }
    for (other, cluster) in batch {
        let dist = (other ^ h).count_ones();
        if dist <= NEAR_DUPLICATE_BITS && best.as_ref().is_none_or(|(bd, _)| dist < *bd) {
            best = Some((dist, cluster.clone()));
        }
    }
    Ok(best.map(|(_, c)| c))
}

/// Record a document's cluster (inside the commit transaction).
pub(crate) fn record_cluster(conn: &Connection, d: &Document) -> Result<()> {
    let Some(c) = &d.cluster else {
        return Ok(());
    };
    let h = d.analysis.simhash;
    if h == 0 {
        return Ok(());
    }
    let b = bands(h);
    conn.prepare_cached(
        "INSERT INTO doc_simhash (doc_id, simhash, cluster_id, band0, band1, band2, band3)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(doc_id) DO UPDATE SET simhash = ?2, band0 = ?4, band1 = ?5, band2 = ?6,
             band3 = ?7",
    )?
    .execute(params![
        d.raw.id.as_str(),
        h as i64,
        c.id.as_str(),
        b[0],
        b[1],
        b[2],
        b[3]
    ])?;
    // The cluster the document is really in (an earlier record wins over `c.id`).
    let cluster_id: String = conn
        .prepare_cached("SELECT cluster_id FROM doc_simhash WHERE doc_id = ?1")?
        .query_row([d.raw.id.as_str()], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO clusters (id, first_source, first_seen, size) VALUES (?1, ?2, ?3, 0)
         ON CONFLICT(id) DO UPDATE SET
             first_source = CASE WHEN ?3 < first_seen THEN ?2 ELSE first_source END,
             first_seen = MIN(first_seen, ?3)",
    )?
    .execute(params![
        cluster_id,
        d.raw.source_id.as_str(),
        ts(doc_time(d))
    ])?;
    conn.prepare_cached(
        "UPDATE clusters SET size = (SELECT COUNT(*) FROM doc_simhash WHERE cluster_id = ?1)
         WHERE id = ?1",
    )?
    .execute([&cluster_id])?;
    Ok(())
}

fn correction_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Correction, String)> {
    let label: Option<String> = r.get(1)?;
    let fm: String = r.get(2)?;
    let at: String = r.get(5)?;
    Ok((
        Correction {
            doc_id: DocId(r.get(0)?),
            label: label.as_deref().and_then(SentimentLabel::parse),
            false_mentions: Vec::new(),
            by: r.get(3)?,
            note: r.get(4)?,
            at: parse_ts(Some(at)).unwrap_or_default(),
        },
        fm,
    ))
}

fn finish(row: (Correction, String)) -> Result<Correction> {
    let (mut c, fm) = row;
    c.false_mentions = serde_json::from_str(&fm).map_err(|source| StoreError::Corrupt {
        id: c.doc_id.to_string(),
        source,
    })?;
    Ok(c)
}

const CORRECTION_COLUMNS: &str = "doc_id, label, false_mentions, by_user, note, at";

fn upsert_correction(conn: &Connection, c: &Correction) -> Result<()> {
    let fm = serde_json::to_string(&c.false_mentions).map_err(|source| StoreError::Corrupt {
        id: c.doc_id.to_string(),
        source,
    })?;
    conn.execute(
        "INSERT INTO corrections (doc_id, label, false_mentions, by_user, note, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(doc_id) DO UPDATE SET label = ?2, false_mentions = ?3, by_user = ?4,
             note = ?5, at = ?6",
        params![
            c.doc_id.as_str(),
            c.label.map(|l| l.as_str()),
            fm,
            c.by,
            c.note,
            ts(c.at)
        ],
    )?;
    Ok(())
}

impl Store {
    /// Fill `Document::cluster` of each document from the stored clusters and the earlier
    /// documents of `docs` (read-only; [`Store::commit`] records the result). Call it before
    /// the index write so the index and the store agree.
    pub fn assign_clusters(&self, docs: &mut [Document]) -> Result<()> {
        self.assign_clusters_all(docs.iter_mut())
    }

    /// [`Store::assign_clusters`] over documents held in several places (the writer's
    /// batches), in order, as one sequence.
    pub fn assign_clusters_all<'a>(
        &self,
        docs: impl IntoIterator<Item = &'a mut Document>,
    ) -> Result<()> {
        let conn = self.conn();
        assign_in(&conn, docs)
    }

    /// Store an analyst's correction of a document, replacing any earlier one.
    pub fn save_correction(&self, c: &Correction) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        upsert_correction(&tx, c)?;
        tx.commit()?;
        Ok(())
    }

    /// Correct a stored document in one transaction: `merge` turns the earlier correction
    /// (if any) into the new one, `apply` applies it to the document's analysis, and the
    /// correction and the corrected document are written together. `None` when no such
    /// document is stored. The index is not touched: the daemon's writer picks corrections
    /// up through [`Store::corrections_since`].
    pub fn correct(
        &self,
        doc: &DocId,
        merge: impl FnOnce(Option<Correction>) -> Correction,
        apply: impl FnOnce(&mut yuqing_model::Analysis, &Correction),
    ) -> Result<Option<(Correction, Document)>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let json: Option<String> = tx
            .query_row(
                "SELECT doc_json FROM documents WHERE id = ?1",
                [doc.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(json) = json else {
            return Ok(None);
        };
        let mut d: Document =
            serde_json::from_str(&json).map_err(|source| StoreError::Corrupt {
                id: doc.to_string(),
                source,
            })?;
        let earlier = tx
            .prepare_cached(&format!(
                "SELECT {CORRECTION_COLUMNS} FROM corrections WHERE doc_id = ?1"
            ))?
            .query_row([doc.as_str()], correction_from_row)
            .optional()?
            .map(finish)
            .transpose()?;
        let c = merge(earlier);
        upsert_correction(&tx, &c)?;
        apply(&mut d.analysis, &c);
        crate::write_document(&tx, &d, &ts(Utc::now()))?;
        tx.commit()?;
        Ok(Some((c, d)))
    }

    /// Corrections made at or after `since`, oldest first (the writer re-indexes their
    /// documents; re-indexing twice is harmless).
    pub fn corrections_since(&self, since: DateTime<Utc>) -> Result<Vec<Correction>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {CORRECTION_COLUMNS} FROM corrections WHERE at >= ?1 ORDER BY at, doc_id"
        ))?;
        let rows = st
            .query_map([ts(since)], correction_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish).collect()
    }

    /// The correction of one document, if any.
    pub fn correction(&self, doc: &DocId) -> Result<Option<Correction>> {
        let conn = self.conn();
        let row = conn
            .prepare_cached(&format!(
                "SELECT {CORRECTION_COLUMNS} FROM corrections WHERE doc_id = ?1"
            ))?
            .query_row([doc.as_str()], correction_from_row)
            .optional()?;
        row.map(finish).transpose()
    }

    /// Every correction, oldest first (for export as labelled data).
    pub fn corrections(&self) -> Result<Vec<Correction>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {CORRECTION_COLUMNS} FROM corrections ORDER BY at, doc_id"
        ))?;
        let rows = st
            .query_map([], correction_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish).collect()
    }

    /// The ids of a cluster's documents, oldest first.
    pub fn cluster_members(&self, cluster: &DocId) -> Result<Vec<DocId>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT s.doc_id FROM doc_simhash s JOIN documents d ON d.id = s.doc_id
             WHERE s.cluster_id = ?1 ORDER BY COALESCE(d.published_at, d.fetched_at), s.doc_id",
        )?;
        let ids = st
            .query_map([cluster.as_str()], |r| Ok(DocId(r.get(0)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids)
    }
}
