//! The durable outbox the [`Deliverer`](crate::Deliverer) reads. The daemon implements
//! [`Outbox`] over the SQLite table `notify_outbox` (store migration 0003); [`MemoryOutbox`]
//! implements it in memory for tests and examples.
//!
//! Contract for implementations:
//! * [`Outbox::due`] returns rows with `status = 'pending'` and `next_attempt_at <= now`,
//!   oldest `id` first, at most `limit`.
//! * `mark_*` only change rows that are still `pending` (a second call is a no-op), so a
//!   row once `sent` or `failed` is never sent again.
//! * [`Outbox::enqueue`] inserts a pending row due now, or does nothing when the
//!   `dedup_key` exists (`INSERT OR IGNORE`); it returns whether a row was inserted.
//! * Methods block (SQLite); the deliverer calls them from `spawn_blocking`.

use std::convert::Infallible;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use yuqing_model::Notification;

/// One pending notification for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Row id (`notify_outbox.id`).
    pub id: i64,
    /// Channel id from `notify.toml`.
    pub channel: String,
    /// Unique key: a notification with the same key is never enqueued twice.
    pub dedup_key: String,
    /// What to send (`payload`, JSON).
    pub notification: Notification,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the row was written.
    pub created_at: DateTime<Utc>,
}

/// Where notifications wait until they are confirmed sent or failed for good.
pub trait Outbox: Send + Sync + 'static {
    /// The implementation's error (e.g. a SQLite error); its `Display` must not contain
    /// secrets.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Pending rows due at `now`, oldest first, at most `limit`.
    fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxItem>, Self::Error>;

    /// The row was confirmed delivered at `at` (status `sent`, `sent_at`).
    fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), Self::Error>;

    /// Try again at `next_attempt_at`, after `attempts` attempts; `error` is the last error
    /// (or why the row is held, e.g. quiet hours), already redacted.
    fn mark_retry(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), Self::Error>;

    /// Give up on the row (status `failed`); `error` is redacted.
    fn mark_failed(&self, id: i64, error: &str) -> Result<(), Self::Error>;

    /// Insert a pending row due at `now` unless `dedup_key` exists; `true` if inserted.
    /// Used to page a fallback channel.
    fn enqueue(
        &self,
        channel: &str,
        dedup_key: &str,
        notification: &Notification,
        now: DateTime<Utc>,
    ) -> Result<bool, Self::Error>;
}

/// Status of a [`MemoryOutbox`] row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    /// Waiting to be sent.
    Pending,
    /// Confirmed sent.
    Sent,
    /// Failed for good.
    Failed,
}

/// A [`MemoryOutbox`] row, mirroring the SQLite columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The item.
    pub item: OutboxItem,
    /// Status.
    pub status: RowStatus,
    /// Next attempt.
    pub next_attempt_at: DateTime<Utc>,
    /// Last error.
    pub last_error: Option<String>,
    /// When it was confirmed sent.
    pub sent_at: Option<DateTime<Utc>>,
}

/// An in-memory [`Outbox`] with the same semantics as the SQLite one. Cloning the rows out
/// ([`MemoryOutbox::rows`]) and back in ([`MemoryOutbox::from_rows`]) simulates a restart.
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    rows: Mutex<Vec<Row>>,
}

impl MemoryOutbox {
    /// An empty outbox.
    pub fn new() -> MemoryOutbox {
        MemoryOutbox::default()
    }

    /// An outbox holding `rows` (e.g. taken from another one).
    pub fn from_rows(rows: Vec<Row>) -> MemoryOutbox {
        MemoryOutbox {
            rows: Mutex::new(rows),
        }
    }

    /// A snapshot of every row.
    pub fn rows(&self) -> Vec<Row> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Row>> {
        // A panic elsewhere while holding the lock leaves consistent rows: recover them.
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, id: i64, f: impl FnOnce(&mut Row)) {
        let mut rows = self.lock();
        if let Some(r) = rows
            .iter_mut()
            .find(|r| r.item.id == id && r.status == RowStatus::Pending)
        {
            f(r);
        }
    }
}

impl Outbox for MemoryOutbox {
    type Error = Infallible;

    fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxItem>, Infallible> {
        Ok(self
            .lock()
            .iter()
            .filter(|r| r.status == RowStatus::Pending && r.next_attempt_at <= now)
            .take(limit)
            .map(|r| r.item.clone())
            .collect())
    }

    fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), Infallible> {
        self.update(id, |r| {
            r.status = RowStatus::Sent;
            r.sent_at = Some(at);
        });
        Ok(())
    }

    fn mark_retry(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), Infallible> {
        self.update(id, |r| {
            r.item.attempts = attempts;
            r.next_attempt_at = next_attempt_at;
            r.last_error = Some(error.to_string());
        });
        Ok(())
    }

    fn mark_failed(&self, id: i64, error: &str) -> Result<(), Infallible> {
        self.update(id, |r| {
            r.status = RowStatus::Failed;
            r.last_error = Some(error.to_string());
        });
        Ok(())
    }

    fn enqueue(
        &self,
        channel: &str,
        dedup_key: &str,
        notification: &Notification,
        now: DateTime<Utc>,
    ) -> Result<bool, Infallible> {
        let mut rows = self.lock();
        if rows.iter().any(|r| r.item.dedup_key == dedup_key) {
            return Ok(false);
        }
        let id = rows.iter().map(|r| r.item.id).max().unwrap_or(0) + 1;
        rows.push(Row {
            item: OutboxItem {
                id,
                channel: channel.to_string(),
                dedup_key: dedup_key.to_string(),
                notification: notification.clone(),
                attempts: 0,
                created_at: now,
            },
            status: RowStatus::Pending,
            next_attempt_at: now,
            last_error: None,
            sent_at: None,
        });
        Ok(true)
    }
}
