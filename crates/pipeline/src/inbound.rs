//! Inbound customer feedback: records (validated as [`InboundRecord`]) become documents here,
//! whether the daemon drains them from the store's durable queue (the `inbound` source's
//! poll, see [`crate::schedule`]) or `yuqing import` writes them directly ([`ingest`]).
//!
//! A record's document: item key `inbound:<id>` (or `inbound:sha256:<hash>` of channel,
//! customer, time and text when it has no id, so importing a file twice changes nothing),
//! title from the start of the text, body the text, author the customer reference, published
//! at the record's time, tags `inbound_channel:<channel>` plus the source's tags.
//!
//! [`ingest`] follows the daemon's commit protocol: analyze (skipping items stored with the
//! same content, applying analysts' corrections), index, commit the index, then commit the
//! documents and their seen items to the store in one transaction.

use chrono::{DateTime, Utc};
use yuqing_connectors::feed::ItemMeta;
use yuqing_connectors::inbound::{InboundSource, checkpoint_at, checkpoint_seq};
use yuqing_connectors::{Poll, content_hash, doc_id};
use yuqing_index::IndexWriter;
use yuqing_model::{Checkpoint, Document, RawDoc, SourceId};
use yuqing_store::connectors::{InboundRecord, channel_label};
use yuqing_store::{PollOutcome, PollResult, SeenItem, Store, StoreError};
use yuqing_text::Analyzer;

/// Characters of the text used as a record's title.
pub const TITLE_CHARS: usize = 30;

/// The record's key within its source.
pub fn item_key(r: &InboundRecord) -> String {
    match &r.id {
        Some(id) => format!("inbound:{id}"),
        None => format!(
            "inbound:sha256:{}",
            content_hash(
                format!(
                    "{}\u{1}{}\u{1}{}\u{1}{}",
                    r.channel,
                    r.customer,
                    r.time.timestamp(),
                    r.text
                )
                .as_bytes()
            )
        ),
    }
}

/// The document a record becomes.
pub fn to_raw_doc(r: &InboundRecord, meta: &ItemMeta, fetched_at: DateTime<Utc>) -> RawDoc {
    let key = item_key(r);
    let mut title: String = r.text.chars().take(TITLE_CHARS).collect();
    if r.text.chars().count() > TITLE_CHARS {
        title.push('…');
    }
    if let Some(label) = channel_label(&r.channel) {
        title = format!("【{label}】{title}");
    }
    let mut tags = meta.tags.clone();
    tags.push(format!("inbound_channel:{}", r.channel));
    RawDoc {
        id: doc_id(&meta.source_id, &key),
        source_id: meta.source_id.clone(),
        channel: meta.channel,
        item_key: key,
        url: None,
        title,
        body: r.text.clone(),
        author: Some(r.customer.clone()),
        published_at: Some(r.time),
        fetched_at,
        tags,
    }
}

/// One drain of `src`'s queue after `checkpoint`: the records become the poll's items and the
/// checkpoint moves to the last one; rows at or before the committed checkpoint are purged
/// first (their documents are durable). Returns the poll and whether more records wait.
pub(crate) fn drain(
    store: &Store,
    src: &InboundSource,
    checkpoint: &Checkpoint,
) -> Result<(Poll, bool), StoreError> {
    let after = checkpoint_seq(checkpoint);
    if after > 0 {
        store.purge_inbound(&src.meta.source_id, after)?;
    }
    let rows = store.inbound_pending(&src.meta.source_id, after, src.max_records)?;
    let more = rows.len() >= src.max_records;
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok((
            Poll {
                not_modified: true,
                ..Poll::default()
            },
            false,
        ));
    };
    let now = Utc::now();
    let items = rows
        .iter()
        .map(|(_, r)| to_raw_doc(r, &src.meta, now))
        .collect();
    Ok((
        Poll {
            items,
            checkpoint: Some(checkpoint_at(last)),
            not_modified: false,
        },
        more,
    ))
}

/// Analyze the items not stored with the same content (corrections applied); also the items
/// to record as seen. Same rule as the daemon's analysis workers.
pub fn analyze_new(
    source: &SourceId,
    items: Vec<RawDoc>,
    analyzer: &Analyzer,
    store: &Store,
) -> Result<(Vec<Document>, Vec<SeenItem>), StoreError> {
    crate::process::analyze_items(source, items, analyzer, store)
}

/// Why [`ingest`] failed; nothing of the batch is in the store then.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The index failed (the batch was rolled back).
    #[error(transparent)]
    Index(#[from] yuqing_index::IndexError),
}

/// Write `items` of `source` the way the daemon's writer does: analyze the new or changed
/// ones, index them, commit the index, then commit documents and seen items to the store in
/// one transaction (recorded as one successful delivery of the source). Returns the number
/// of documents added or changed.
pub fn ingest(
    analyzer: &Analyzer,
    store: &Store,
    writer: &mut IndexWriter,
    source: &SourceId,
    items: Vec<RawDoc>,
) -> Result<usize, IngestError> {
    let (mut docs, seen) = analyze_new(source, items, analyzer, store)?;
    store.assign_clusters(&mut docs)?;
    let n = docs.len();
    if n > 0 {
        let indexed = (|| {
            for d in &docs {
                writer.upsert(d)?;
            }
            writer.commit()
        })();
        if let Err(e) = indexed {
            let _ = writer.rollback();
            return Err(e.into());
        }
    }
    let outcome = PollOutcome {
        source_id: source.clone(),
        at: Utc::now(),
        result: PollResult::Success {
            checkpoint: None,
            items: seen,
            docs: n as u64,
        },
    };
    store.commit(docs.iter(), &[outcome])?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_model::Channel;

    fn rec(id: Option<&str>, text: &str) -> InboundRecord {
        InboundRecord {
            channel: "hotline".into(),
            customer: "C-9".into(),
            text: text.into(),
            time: DateTime::parse_from_rfc3339("2024-05-01T08:00:00+08:00")
                .unwrap()
                .to_utc(),
            id: id.map(str::to_string),
        }
    }

    fn meta() -> ItemMeta {
        ItemMeta {
            source_id: SourceId("inbound/cc".into()),
            channel: Channel::Inbound,
            tags: vec!["客服".into()],
        }
    }

    #[test]
    fn records_become_documents_with_stable_ids() {
        let t = Utc::now();
        let long = "恒信消费金融的催收人员一天打了二十多个电话给我的家人和同事，严重影响生活，要求立即停止并道歉";
        let d = to_raw_doc(&rec(None, long), &meta(), t);
        assert!(d.item_key.starts_with("inbound:sha256:"));
        assert_eq!(d, to_raw_doc(&rec(None, long), &meta(), t));
        assert!(d.title.starts_with("【热线】恒信消费金融"));
        assert!(d.title.ends_with('…'));
        assert_eq!(d.body, long);
        assert_eq!(d.author.as_deref(), Some("C-9"));
        assert_eq!(d.tags, ["客服", "inbound_channel:hotline"]);
        assert_eq!(d.channel, Channel::Inbound);
        let with_id = to_raw_doc(&rec(Some("A1"), "短"), &meta(), t);
        assert_eq!(with_id.item_key, "inbound:A1");
        assert_eq!(with_id.title, "【热线】短");
        // The same id with new text is the same document (updated in place).
        assert_eq!(
            with_id.id,
            to_raw_doc(&rec(Some("A1"), "改"), &meta(), t).id
        );
    }

    #[test]
    fn drain_reads_after_the_checkpoint_and_purges_what_it_covers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("y.db"), 3).unwrap();
        let src = InboundSource {
            meta: meta(),
            token: None,
            max_records: 2,
        };
        let (p, more) = drain(&store, &src, &Checkpoint::default()).unwrap();
        assert!(p.not_modified && p.items.is_empty() && !more);
        let recs: Vec<_> = ["一", "二", "三"].iter().map(|t| rec(None, t)).collect();
        store
            .enqueue_inbound(&src.meta.source_id, &recs, Utc::now())
            .unwrap();
        let (p, more) = drain(&store, &src, &Checkpoint::default()).unwrap();
        assert_eq!(p.items.len(), 2);
        assert!(more);
        let cp = p.checkpoint.unwrap();
        // Not committed yet: draining again from the old checkpoint yields the same items.
        let (again, _) = drain(&store, &src, &Checkpoint::default()).unwrap();
        assert_eq!(again.items.len(), 2);
        // Committed: the next drain purges them and reads the rest.
        let (p, more) = drain(&store, &src, &cp).unwrap();
        assert_eq!(p.items.len(), 1);
        assert!(!more);
        assert_eq!(p.items[0].body, "三");
        assert_eq!(store.inbound_queued(&src.meta.source_id).unwrap(), 1);
    }
}
