//! The stage boundary between ingest (fetch + parse) and processing (analyze + commit).
//!
//! What crosses it is a [`RawBatch`]: one poll's outcome, serializable so that a later
//! transport (Kafka) can carry it unchanged. Each batch travels with an [`Ack`] that fires
//! once the batch is durably committed (index and store); in-process that is a oneshot, with
//! Kafka it becomes the offset commit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use yuqing_model::{Checkpoint, ErrorClass, RawDoc, SourceId};

/// One poll's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawBatch {
    /// The source polled.
    pub source_id: SourceId,
    /// When the poll started.
    pub at: DateTime<Utc>,
    /// What it produced.
    pub result: RawResult,
}

/// What a poll produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RawResult {
    /// Items (possibly none) and the validators to save once they are committed.
    Items {
        /// The items, in source order.
        items: Vec<RawDoc>,
        /// New validators, if any.
        checkpoint: Option<Checkpoint>,
    },
    /// The poll failed.
    Failed {
        /// The class.
        class: ErrorClass,
        /// The message (URL queries already redacted).
        message: String,
    },
}

/// Whether a committed batch made it.
#[derive(Debug, Clone, PartialEq)]
pub enum Committed {
    /// Durably written; `new_docs` documents were added or changed.
    Ok {
        /// Documents added or changed.
        new_docs: usize,
    },
    /// The write failed; nothing of the batch is durable and the checkpoint did not move.
    Failed(String),
}

/// Fires once the batch is committed (or failed to be).
pub type Ack = oneshot::Sender<Committed>;

/// A batch and its acknowledgement.
pub struct Envelope {
    /// The batch.
    pub batch: RawBatch,
    /// Fired after the commit.
    pub ack: Ack,
}
