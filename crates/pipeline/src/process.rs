//! Processing: analysis workers and the single writer.
//!
//! Analysis workers take [`Envelope`]s, skip items already stored with the same content,
//! analyze the rest and pass them on. The writer owns the index writer: it gathers batches up
//! to a size or a time limit, then upserts the documents into the index, commits the index,
//! and only then commits documents, seen items and checkpoints to the store in one
//! transaction, and finally acknowledges each batch. A crash anywhere before the store commit
//! leaves the checkpoint where it was, so the next poll fetches the same items again and the
//! upserts make that harmless.
//!
//! Analysts correct documents from the console or the command line while the daemon holds
//! the index: those write the corrected document to the store only, and the writer re-indexes
//! every document corrected since it last looked ([`CorrectionSync`], every
//! [`CORRECTION_POLL`], and all corrected documents when it starts).

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use yuqing_connectors::content_hash;
use yuqing_index::{DocIndex, IndexWriter};
use yuqing_model::{Document, ErrorClass, RawDoc};
use yuqing_store::{PollOutcome, PollResult, SeenItem, Store};
use yuqing_text::Analyzer;

use crate::bus::{Ack, Committed, Envelope, RawResult};

/// A batch ready to commit.
pub(crate) struct Analyzed {
    pub docs: Vec<Document>,
    pub outcome: PollOutcome,
    pub ack: Ack,
}

/// Hash of what makes an item's content: an edit changes it.
pub(crate) fn item_hash(d: &RawDoc) -> String {
    let published = d.published_at.map(|t| t.to_rfc3339()).unwrap_or_default();
    let url = d.url.as_deref().unwrap_or("");
    content_hash(format!("{}\n{}\n{}\n{}", d.title, d.body, url, published).as_bytes())
}

/// Analyze the items not already stored with the same content, applying any analyst's
/// correction; also returns the items to record as seen.
pub(crate) fn analyze_items(
    source: &yuqing_model::SourceId,
    items: Vec<RawDoc>,
    analyzer: &Analyzer,
    store: &Store,
) -> Result<(Vec<Document>, Vec<SeenItem>), yuqing_store::StoreError> {
    let keys: Vec<&str> = items.iter().map(|d| d.item_key.as_str()).collect();
    let seen = store.seen_items(source, &keys)?;
    let mut docs = Vec::new();
    let mut seen_items = Vec::new();
    for raw in items {
        let hash = item_hash(&raw);
        if seen.get(&raw.item_key) == Some(&hash) {
            continue;
        }
        seen_items.push(SeenItem {
            item_key: raw.item_key.clone(),
            doc_id: raw.id.clone(),
            content_hash: hash,
        });
        let mut analysis = analyzer.analyze(&raw);
        // An analyst's correction outlives re-analysis.
        if let Some(c) = store.correction(&raw.id)? {
            yuqing_text::apply_correction(&mut analysis, &c);
        }
        docs.push(Document {
            raw,
            analysis,
            cluster: None,
        });
    }
    Ok((docs, seen_items))
}

/// One analysis worker: runs until the input channel closes.
pub(crate) fn analyze_worker(
    rx: Arc<Mutex<mpsc::Receiver<Envelope>>>,
    tx: SyncSender<Analyzed>,
    analyzer: Arc<yuqing_text::SharedAnalyzer>,
    store: Arc<Store>,
) {
    loop {
        let env = {
            let mut guard = rx.lock().unwrap_or_else(|p| p.into_inner());
            guard.blocking_recv()
        };
        let Some(Envelope { batch, ack }) = env else {
            return;
        };
        let (docs, result) = match batch.result {
            RawResult::Failed { class, message } => {
                (Vec::new(), PollResult::Failure { class, message })
            }
            RawResult::Items { items, checkpoint } => {
                // The analyzer in force for this batch (dictionaries reload under it).
                let analyzer = analyzer.current();
                match analyze_items(&batch.source_id, items, &analyzer, &store) {
                    Ok((docs, seen_items)) => {
                        let n = docs.len() as u64;
                        (
                            docs,
                            PollResult::Success {
                                checkpoint,
                                items: seen_items,
                                docs: n,
                            },
                        )
                    }
                    // Nothing of the poll is stored and its checkpoint stays: it is fetched
                    // again, rather than stored without an analyst's correction.
                    Err(e) => (
                        Vec::new(),
                        PollResult::Failure {
                            class: ErrorClass::Internal,
                            message: format!("store: {e}"),
                        },
                    ),
                }
            }
        };
        let outcome = PollOutcome {
            source_id: batch.source_id,
            at: batch.at,
            result,
        };
        if tx.send(Analyzed { docs, outcome, ack }).is_err() {
            return;
        }
    }
}

/// Limits of the writer's batching.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriterLimits {
    pub max_docs: usize,
    pub max_wait: Duration,
}

/// How often the incident engine ticks (quiet periods, grouped follow-ups, escalations)
/// when no document arrives.
const ALERT_TICK: Duration = Duration::from_secs(15);

/// How often the writer looks for documents corrected outside it.
pub(crate) const CORRECTION_POLL: Duration = Duration::from_secs(2);

/// Corrections are read back this far before the newest one seen, so a correction whose
/// transaction committed after a later-stamped one is not missed.
const CORRECTION_LOOKBACK_SECS: i64 = 10;

/// Re-indexes documents corrected in the store by someone else (console, `yuqing correct`).
pub(crate) struct CorrectionSync {
    since: chrono::DateTime<chrono::Utc>,
    applied: std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>,
    last: Option<Instant>,
}

impl CorrectionSync {
    pub(crate) fn new() -> CorrectionSync {
        CorrectionSync {
            since: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            applied: Default::default(),
            last: None,
        }
    }

    fn due(&self) -> bool {
        self.last.is_none_or(|t| t.elapsed() >= CORRECTION_POLL)
    }

    /// Re-index the stored copy of every document corrected since the last look. Returns
    /// how many were re-indexed; a failure is logged and retried at the next look.
    pub(crate) fn run(
        &mut self,
        writer: &mut IndexWriter,
        index: &DocIndex,
        store: &Store,
    ) -> usize {
        self.last = Some(Instant::now());
        let from = self.since - chrono::Duration::seconds(CORRECTION_LOOKBACK_SECS);
        let fresh: Vec<_> = match store.corrections_since(from) {
            Ok(cs) => cs
                .into_iter()
                .filter(|c| self.applied.get(c.doc_id.as_str()) != Some(&c.at))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read corrections; retrying");
                return 0;
            }
        };
        if fresh.is_empty() {
            return 0;
        }
        let result = (|| -> Result<usize, String> {
            let mut n = 0;
            for c in &fresh {
                if let Some(d) = store.document(&c.doc_id).map_err(|e| e.to_string())? {
                    writer.upsert(&d).map_err(|e| e.to_string())?;
                    n += 1;
                }
            }
            writer.commit().map_err(|e| e.to_string())?;
            Ok(n)
        })();
        match result {
            Ok(n) => {
                let _ = index.reload();
                for c in fresh {
                    self.since = self.since.max(c.at);
                    self.applied.insert(c.doc_id.0, c.at);
                }
                let keep = self.since - chrono::Duration::seconds(CORRECTION_LOOKBACK_SECS);
                self.applied.retain(|_, at| *at >= keep);
                tracing::info!(docs = n, "re-indexed corrected documents");
                n
            }
            Err(e) => {
                tracing::warn!(error = %e, "re-indexing corrected documents failed; retrying");
                let _ = writer.rollback();
                0
            }
        }
    }
}

/// The incident engine and the deliverer's wake-up, owned by the writer thread.
pub(crate) struct Alerts {
    pub engine: yuqing_incidents::Engine,
    pub wake: Arc<tokio::sync::Notify>,
    pub last_tick: Instant,
    /// Opens complaint cases for committed complaints (after the engine, so a complaint
    /// already in an incident is linked at once).
    pub workflow: Option<Arc<yuqing_workflow::Workflow>>,
    /// Alerts for failing and stale sources.
    pub health: crate::health::HealthWatch,
}

impl Alerts {
    /// Run the engine over freshly committed documents (or just tick). It writes incidents
    /// and outbox rows in its own transactions, idempotently, so a failure here loses
    /// nothing: the next call rebuilds its state from the store.
    fn run(&mut self, store: &Store, docs: &[Document]) {
        let now = chrono::Utc::now();
        let r = if docs.is_empty() {
            self.engine.tick(store, now)
        } else {
            self.engine.on_committed(store, docs, now)
        };
        self.last_tick = Instant::now();
        match r {
            Ok(changes) if !changes.is_empty() => {
                tracing::info!(changes = changes.len(), "incidents changed");
                self.wake.notify_one();
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "incident evaluation failed; it resumes from the store")
            }
        }
        if self.health.run(store, now) > 0 {
            self.wake.notify_one();
        }
        if let Some(wf) = &self.workflow
            && !docs.is_empty()
        {
            match wf.cases_from_documents(docs, now) {
                Ok(opened) if !opened.is_empty() => {
                    tracing::info!(cases = opened.len(), "complaint cases opened")
                }
                Ok(_) => {}
                // Replaying is harmless: the supervisor's catch-up at the next start opens
                // what this missed.
                Err(e) => tracing::error!(error = %e, "opening complaint cases failed"),
            }
        }
    }
}

/// The writer: runs until the input channel closes, then commits what it holds and returns.
pub(crate) fn writer_loop(
    rx: Receiver<Analyzed>,
    mut writer: IndexWriter,
    index: Arc<DocIndex>,
    store: Arc<Store>,
    limits: WriterLimits,
    mut alerts: Option<Alerts>,
    on_commit: impl Fn(usize),
) {
    let mut pending: Vec<Analyzed> = Vec::new();
    let mut pending_docs = 0usize;
    let mut oldest: Option<Instant> = None;
    let mut corrections = CorrectionSync::new();
    loop {
        let wait = match oldest {
            Some(t) => limits.max_wait.saturating_sub(t.elapsed()),
            None => ALERT_TICK,
        }
        .min(CORRECTION_POLL);
        let closed = match rx.recv_timeout(wait) {
            Ok(a) => {
                pending_docs += a.docs.len();
                pending.push(a);
                oldest.get_or_insert_with(Instant::now);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let due = oldest.is_some_and(|t| t.elapsed() >= limits.max_wait);
        if !pending.is_empty() && (closed || due || pending_docs >= limits.max_docs) {
            let committed = commit(&mut writer, &index, &store, std::mem::take(&mut pending));
            pending_docs = 0;
            oldest = None;
            if let Some(docs) = committed {
                on_commit(docs.len());
                if let Some(a) = alerts.as_mut() {
                    a.run(&store, &docs);
                }
            }
        } else if let Some(a) = alerts.as_mut()
            && a.last_tick.elapsed() >= ALERT_TICK
        {
            a.run(&store, &[]);
        }
        if pending.is_empty() && corrections.due() {
            corrections.run(&mut writer, &index, &store);
        }
        if closed {
            return;
        }
    }
}

/// Index, commit the index, then commit the store; acknowledge every batch. Returns the
/// committed documents (`None` on failure).
fn commit(
    writer: &mut IndexWriter,
    index: &DocIndex,
    store: &Store,
    mut batches: Vec<Analyzed>,
) -> Option<Vec<Document>> {
    let started = Instant::now();
    // Near-duplicate clusters before the index write, so index and store agree (the store
    // commit assigns any document left without one).
    if let Err(e) = store.assign_clusters_all(batches.iter_mut().flat_map(|b| b.docs.iter_mut())) {
        tracing::warn!(error = %e, "cluster assignment failed; the store commit assigns");
    }
    let docs: Vec<&Document> = batches.iter().flat_map(|b| b.docs.iter()).collect();
    let n = docs.len();
    let result = (|| -> Result<(), String> {
        if n > 0 {
            for d in &docs {
                writer.upsert(d).map_err(|e| e.to_string())?;
            }
            writer.commit().map_err(|e| e.to_string())?;
        }
        let polls: Vec<PollOutcome> = batches.iter().map(|b| b.outcome.clone()).collect();
        store
            .commit(docs.iter().copied(), &polls)
            .map_err(|e| e.to_string())
    })();
    match result {
        Ok(()) => {
            if n > 0 {
                let _ = index.reload();
            }
            let elapsed_ms = started.elapsed().as_millis() as u64;
            if n > 0 {
                tracing::info!(docs = n, batches = batches.len(), elapsed_ms, "committed");
            } else {
                tracing::debug!(
                    batches = batches.len(),
                    elapsed_ms,
                    "committed poll outcomes"
                );
            }
            let mut committed = Vec::with_capacity(n);
            for b in batches {
                let new_docs = b.docs.len();
                let _ = b.ack.send(Committed::Ok { new_docs });
                committed.extend(b.docs);
            }
            Some(committed)
        }
        Err(e) => {
            tracing::error!(error = %e, docs = n, "commit failed; checkpoints not advanced");
            if let Err(re) = writer.rollback() {
                tracing::error!(error = %re, "index rollback failed");
            }
            for b in batches {
                let _ = b.ack.send(Committed::Failed(e.clone()));
            }
            None
        }
    }
}
