//! Alerting wiring: the incident engine runs in the writer thread right after each store
//! commit (it writes incidents and their outbox rows in its own transaction, idempotently),
//! and the notify [`Deliverer`] drains the SQLite outbox to the chat groups.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use yuqing_incidents::{Engine, RouteInput};
use yuqing_model::{IncidentEvent, IncidentEventKind, Notification};
use yuqing_notify::{Deliverer, NotifyConfig, Outbox, OutboxItem, RouteContext};
use yuqing_store::{Store, StoreError};

/// The notify crate's outbox over the store's `outbox` table.
pub struct SqliteOutbox(pub Arc<Store>);

impl Outbox for SqliteOutbox {
    type Error = StoreError;

    fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        Ok(self
            .0
            .outbox_due(now, limit)?
            .into_iter()
            .map(|r| OutboxItem {
                id: r.id,
                channel: r.channel,
                dedup_key: r.dedup_key,
                notification: r.notification,
                attempts: r.attempts,
                created_at: r.created_at,
            })
            .collect())
    }

    fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.0.outbox_mark_sent(id, at)
    }

    fn mark_retry(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        self.0
            .outbox_mark_retry(id, attempts, next_attempt_at, error)
    }

    fn mark_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.0.outbox_mark_failed(id, error)
    }

    fn enqueue(
        &self,
        channel: &str,
        dedup_key: &str,
        n: &Notification,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.0.incident_tx()?;
        let inserted = tx.enqueue(channel, dedup_key, n, now)?;
        tx.commit()?;
        Ok(inserted)
    }
}

/// An incident engine whose notifications are routed by the notify configuration.
pub fn engine(
    rules: yuqing_incidents::RuleSet,
    entities: &[yuqing_model::Entity],
    notify: Arc<NotifyConfig>,
) -> Engine {
    let route = Box::new(move |n: &Notification, r: &RouteInput<'_>| {
        let ctx = RouteContext {
            entity_id: Some(r.entity_id.to_string()),
            risk_categories: r.risks.to_vec(),
            doc_channels: r.channels.iter().map(|c| c.as_str().to_string()).collect(),
            source_tags: Vec::new(),
        };
        notify.route(n, &ctx)
    });
    Engine::new(rules, entities, route)
}

/// A deliverer over the store's outbox that records permanent failures on the incident.
pub fn deliverer(
    notify: NotifyConfig,
    store: Arc<Store>,
) -> Result<Deliverer<SqliteOutbox>, yuqing_notify::SendError> {
    let s = store.clone();
    let on_failure: yuqing_notify::FailureCallback = Arc::new(move |f: &yuqing_notify::Failure| {
        tracing::error!(channel = %f.channel, incident = ?f.incident_id, error = %f.message, "notification failed permanently");
        if let Some(id) = f.incident_id {
            let event = IncidentEvent {
                incident_id: id,
                at: Utc::now(),
                kind: IncidentEventKind::NotifyFailed,
                actor: None,
                detail: format!("{}: {}", f.channel, f.message),
            };
            let r = s.incident_tx().and_then(|mut tx| {
                tx.add_event(&event)?;
                tx.commit()
            });
            if let Err(e) = r {
                tracing::error!(error = %e, "cannot record the notification failure on the incident");
            }
        }
    });
    Ok(Deliverer::new(notify, Arc::new(SqliteOutbox(store)))?.on_failure(on_failure))
}
