//! SQLite persistence (bundled SQLite, WAL): sources and their checkpoints and health, the
//! items each source delivered, and document metadata with the full analysed document.
//!
//! Contract:
//! * [`Store::open`] runs the numbered migrations in `src/migrations/` inside one transaction
//!   each, tracked by `PRAGMA user_version`; opening a database newer than this build is an
//!   error, not a downgrade;
//! * every write is one `BEGIN IMMEDIATE` transaction with a busy timeout, so concurrent
//!   writers wait instead of failing with `SQLITE_BUSY`;
//! * [`Store::commit`] writes a batch's documents, the items each poll delivered, the polls'
//!   checkpoints and health in one transaction. The pipeline calls it only after the index
//!   commit that covers the same documents, so a checkpoint never runs ahead of the data;
//! * documents are upserted by id: committing the same batch twice changes nothing but
//!   `updated_at`/`last_seen_at`;
//! * near-duplicate clusters (migration 0002, `analysis.rs`): [`Store::assign_clusters`] fills
//!   `Document::cluster` read-only (SimHash within [`NEAR_DUPLICATE_BITS`] bits of a stored or
//!   earlier document, found through four 16-bit band indexes), so the writer can call it
//!   before the index write; [`Store::commit`] records each document's cluster in its
//!   transaction, assigning one itself to a document that arrives without. A recorded document
//!   keeps its cluster across re-analysis;
//! * analysts' corrections ([`Store::save_correction`], [`Store::correction`],
//!   [`Store::corrections`]): one per document, the latest replacing the earlier; callers
//!   apply them after every analysis.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use yuqing_model::{Checkpoint, DocId, Document, ErrorClass, SourceHealth, SourceId};

mod analysis;
pub use analysis::NEAR_DUPLICATE_BITS;

mod incidents;
pub use incidents::{IncidentTx, OutboxRow, OutboxStatus};

mod workflow;
pub use workflow::{CaseQuery, DocRow, MeasureQuery, ScheduleRun, WorkflowTx};

pub mod connectors;

/// Migrations, in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_analysis.sql"),
    include_str!("migrations/0003_incidents.sql"),
    include_str!("migrations/0004_workflow.sql"),
    include_str!("migrations/0005_connectors.sql"),
];

/// How long a writer waits for the database lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON column did not parse.
    #[error("stored document {id} is unreadable: {source}")]
    Corrupt {
        /// The document id.
        id: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The database was written by a newer build.
    #[error("database schema version {found} is newer than this build's {supported}")]
    TooNew {
        /// Found in the file.
        found: i64,
        /// What this build knows.
        supported: i64,
    },
    /// The data directory could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A configured source as the store mirrors it.
#[derive(Debug, Clone)]
pub struct SourceInfo<'a> {
    /// Id.
    pub id: &'a SourceId,
    /// Display name.
    pub name: &'a str,
    /// Connector kind.
    pub kind: &'a str,
    /// Channel name.
    pub channel: &'a str,
    /// Whether it is polled.
    pub enabled: bool,
}

/// One item a poll delivered, recorded as seen once committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenItem {
    /// The item's key within the source.
    pub item_key: String,
    /// The document it became.
    pub doc_id: DocId,
    /// Hash of its content, to notice edits.
    pub content_hash: String,
}

/// How a poll ended, as the store records it.
#[derive(Debug, Clone, PartialEq)]
pub enum PollResult {
    /// Fetched and parsed (or 304). `checkpoint` replaces the stored one when `Some`.
    Success {
        /// New validators, if the response carried any.
        checkpoint: Option<Checkpoint>,
        /// Items delivered (new or changed ones; unchanged ones may be left out).
        items: Vec<SeenItem>,
        /// How many documents this poll added or changed.
        docs: u64,
    },
    /// Failed; the checkpoint is left alone.
    Failure {
        /// Error class.
        class: ErrorClass,
        /// Message (never contains secrets: connectors redact URLs).
        message: String,
    },
}

/// A poll's outcome, committed together with the documents it produced.
#[derive(Debug, Clone, PartialEq)]
pub struct PollOutcome {
    /// Which source.
    pub source_id: SourceId,
    /// When the poll started.
    pub at: DateTime<Utc>,
    /// What happened.
    pub result: PollResult,
}

/// A source's stored state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceState {
    /// Id.
    pub id: SourceId,
    /// Display name.
    pub name: String,
    /// Connector kind.
    pub kind: String,
    /// Channel.
    pub channel: String,
    /// Polled or not.
    pub enabled: bool,
    /// Health.
    pub health: SourceHealth,
    /// Stored validators.
    pub checkpoint: Checkpoint,
    /// Last poll start.
    pub last_poll_at: Option<DateTime<Utc>>,
    /// Last successful poll.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Last failed poll.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Class of the last error.
    pub last_error_class: Option<String>,
    /// Message of the last error.
    pub last_error: Option<String>,
    /// Failed polls in a row.
    pub consecutive_failures: u32,
    /// Polls ever.
    pub polls_total: u64,
    /// Failed polls ever.
    pub errors_total: u64,
    /// Documents added or changed ever.
    pub docs_total: u64,
}

/// The SQLite store. One connection behind a mutex: callers are blocking threads.
pub struct Store {
    conn: Mutex<Connection>,
    failing_after: u32,
}

impl Store {
    /// Open (creating if needed) `path`, run migrations. `failing_after` is the number of
    /// failed polls in a row that turns a source from `degraded` to `failing`.
    pub fn open(path: &Path, failing_after: u32) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
            failing_after: failing_after.max(1),
        })
    }

    /// Open an existing database read-only (for `yuqing search`/`status` beside a daemon).
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if v > MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew {
                found: v,
                supported: MIGRATIONS.len() as i64,
            });
        }
        Ok(Store {
            conn: Mutex::new(conn),
            failing_after: 1,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (the transaction
        // rolls back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Mirror the configured sources: insert new ones, update name/kind/channel/enabled of
    /// known ones. State of sources no longer configured is kept (their documents remain).
    pub fn sync_sources(&self, sources: &[SourceInfo<'_>]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = ts(Utc::now());
        {
            let mut st = tx.prepare(
                "INSERT INTO sources (id, name, kind, channel, enabled, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET name = ?2, kind = ?3, channel = ?4,
                     enabled = ?5, updated_at = ?6",
            )?;
            for s in sources {
                st.execute(params![
                    s.id.as_str(),
                    s.name,
                    s.kind,
                    s.channel,
                    s.enabled,
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The stored checkpoint of a source (empty when unknown).
    pub fn checkpoint(&self, source: &SourceId) -> Result<Checkpoint> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT etag, last_modified, content_hash FROM sources WHERE id = ?1",
                [source.as_str()],
                |r| {
                    Ok(Checkpoint {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                        content_hash: r.get(2)?,
                    })
                },
            )
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// Of `keys`, those already stored for `source`, with their content hash.
    pub fn seen_items(&self, source: &SourceId, keys: &[&str]) -> Result<HashMap<String, String>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT content_hash FROM source_items WHERE source_id = ?1 AND item_key = ?2",
        )?;
        let mut out = HashMap::new();
        for k in keys {
            if let Some(h) = st
                .query_row(params![source.as_str(), k], |r| r.get::<_, String>(0))
                .optional()?
            {
                out.insert((*k).to_string(), h);
            }
        }
        Ok(out)
    }

    /// Write documents and poll outcomes in one `BEGIN IMMEDIATE` transaction.
    pub fn commit<'a>(
        &self,
        docs: impl IntoIterator<Item = &'a Document>,
        polls: &[PollOutcome],
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = ts(Utc::now());
        for d in docs {
            write_document(&tx, d, &now)?;
        }
        for p in polls {
            record_poll(&tx, p, &now, self.failing_after)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every source's state, by id.
    pub fn source_states(&self) -> Result<Vec<SourceState>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT id, name, kind, channel, enabled, health, etag, last_modified, content_hash,
                    last_poll_at, last_success_at, last_error_at, last_error_class, last_error,
                    consecutive_failures, polls_total, errors_total, docs_total
             FROM sources ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(SourceState {
                id: SourceId(r.get(0)?),
                name: r.get(1)?,
                kind: r.get(2)?,
                channel: r.get(3)?,
                enabled: r.get(4)?,
                health: SourceHealth::parse(&r.get::<_, String>(5)?)
                    .unwrap_or(SourceHealth::Pending),
                checkpoint: Checkpoint {
                    etag: r.get(6)?,
                    last_modified: r.get(7)?,
                    content_hash: r.get(8)?,
                },
                last_poll_at: parse_ts(r.get(9)?),
                last_success_at: parse_ts(r.get(10)?),
                last_error_at: parse_ts(r.get(11)?),
                last_error_class: r.get(12)?,
                last_error: r.get(13)?,
                consecutive_failures: r.get(14)?,
                polls_total: r.get::<_, i64>(15)?.max(0) as u64,
                errors_total: r.get::<_, i64>(16)?.max(0) as u64,
                docs_total: r.get::<_, i64>(17)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One stored document.
    pub fn document(&self, id: &DocId) -> Result<Option<Document>> {
        let conn = self.conn();
        let json: Option<String> = conn
            .query_row(
                "SELECT doc_json FROM documents WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|source| StoreError::Corrupt {
                id: id.to_string(),
                source,
            })
        })
        .transpose()
    }

    /// Number of stored documents.
    pub fn document_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM documents", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Call `f` with every stored document in id order, `batch` at a time (for reindexing).
    /// Stops at the first error `f` returns.
    pub fn for_each_document<E: From<StoreError>>(
        &self,
        batch: usize,
        mut f: impl FnMut(Vec<Document>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut after = String::new();
        loop {
            let rows: Vec<(String, String)> = {
                let conn = self.conn();
                let mut st = conn
                    .prepare_cached(
                        "SELECT id, doc_json FROM documents WHERE id > ?1 ORDER BY id LIMIT ?2",
                    )
                    .map_err(StoreError::from)?;
                st.query_map(params![after, batch as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                    .and_then(|rows| rows.collect())
                    .map_err(StoreError::from)?
            };
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.0.clone();
            let docs = rows
                .into_iter()
                .map(|(id, j)| {
                    serde_json::from_str(&j).map_err(|source| StoreError::Corrupt { id, source })
                })
                .collect::<Result<Vec<Document>>>()?;
            f(docs)?;
        }
    }
}

fn record_poll(
    tx: &rusqlite::Transaction<'_>,
    p: &PollOutcome,
    now: &str,
    failing_after: u32,
) -> Result<()> {
    let at = ts(p.at);
    let id = p.source_id.as_str();
    match &p.result {
        PollResult::Success {
            checkpoint,
            items,
            docs,
        } => {
            if let Some(c) = checkpoint {
                tx.execute(
                    "UPDATE sources SET etag = ?2, last_modified = ?3, content_hash = ?4 WHERE id = ?1",
                    params![id, c.etag, c.last_modified, c.content_hash],
                )?;
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO source_items (source_id, item_key, doc_id, content_hash,
                     first_seen_at, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT(source_id, item_key) DO UPDATE SET doc_id = ?3,
                     content_hash = ?4, last_seen_at = ?5",
            )?;
            for it in items {
                st.execute(params![
                    id,
                    it.item_key,
                    it.doc_id.as_str(),
                    it.content_hash,
                    at
                ])?;
            }
            tx.execute(
                "UPDATE sources SET health = 'ok', last_poll_at = ?2, last_success_at = ?2,
                     consecutive_failures = 0, polls_total = polls_total + 1,
                     docs_total = docs_total + ?3, updated_at = ?4
                 WHERE id = ?1",
                params![id, at, *docs as i64, now],
            )?;
        }
        PollResult::Failure { class, message } => {
            tx.execute(
                "UPDATE sources SET last_poll_at = ?2, last_error_at = ?2, last_error_class = ?3,
                     last_error = ?4, consecutive_failures = consecutive_failures + 1,
                     polls_total = polls_total + 1, errors_total = errors_total + 1,
                     health = CASE WHEN consecutive_failures + 1 >= ?5 THEN 'failing'
                                   ELSE 'degraded' END,
                     updated_at = ?6
                 WHERE id = ?1",
                params![id, at, class.as_str(), message, failing_after, now],
            )?;
        }
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::TooNew {
            found: current,
            supported,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied store migration");
    }
    Ok(())
}

/// Upsert one document in `tx`: its near-duplicate cluster (assigned here unless the caller
/// already did, see [`Store::assign_clusters`]) and its row with the full JSON.
fn write_document(tx: &rusqlite::Transaction<'_>, d: &Document, now: &str) -> Result<()> {
    let assigned;
    let d = if d.cluster.is_none() {
        let mut one = [d.clone()];
        analysis::assign_in(tx, one.iter_mut())?;
        let [one] = one;
        assigned = one;
        &assigned
    } else {
        d
    };
    analysis::record_cluster(tx, d)?;
    let json = serde_json::to_string(d).map_err(|source| StoreError::Corrupt {
        id: d.raw.id.to_string(),
        source,
    })?;
    let entities = serde_json::to_string(&d.analysis.entity_ids()).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO documents (id, source_id, channel, url, title, published_at,
             fetched_at, sentiment_score, sentiment_label, entities, analyzer_version,
             doc_json, first_stored_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)
         ON CONFLICT(id) DO UPDATE SET source_id = ?2, channel = ?3, url = ?4,
             title = ?5, published_at = ?6, fetched_at = ?7, sentiment_score = ?8,
             sentiment_label = ?9, entities = ?10, analyzer_version = ?11,
             doc_json = ?12, updated_at = ?13",
    )?
    .execute(params![
        d.raw.id.as_str(),
        d.raw.source_id.as_str(),
        d.raw.channel.as_str(),
        d.raw.url,
        d.raw.title,
        d.raw.published_at.map(ts),
        ts(d.raw.fetched_at),
        d.analysis.sentiment.score,
        d.analysis.sentiment.label.as_str(),
        entities,
        d.analysis.analyzer_version,
        json,
        now,
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests;
