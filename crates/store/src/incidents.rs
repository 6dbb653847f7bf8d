//! Incidents, their attached documents and audit trail, and the notification outbox.
//!
//! Contract:
//! * the incident engine (crate `yuqing-incidents`) makes every change of one evaluation in
//!   one [`IncidentTx`] (`BEGIN IMMEDIATE`): incident rows, attached documents, audit events
//!   and outbox rows commit together or not at all;
//! * every write is idempotent: documents attach with `INSERT OR IGNORE` on
//!   `(incident_id, doc_id)` and outbox rows with `INSERT OR IGNORE` on a deterministic
//!   `dedup_key`, so replaying a batch after a crash neither loses nor duplicates anything;
//! * the engine's saves never touch the columns people own (`acknowledged_at`,
//!   `acknowledged_by`, `assignee`), and acknowledging never touches the engine's columns;
//! * the delivery side ([`Store::outbox_due`], [`Store::outbox_mark_sent`],
//!   [`Store::outbox_mark_retry`], [`Store::outbox_mark_failed`]) only moves a row's status.

use std::sync::MutexGuard;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use yuqing_model::{
    DocId, Document, Incident, IncidentDoc, IncidentEvent, IncidentEventKind, IncidentStatus,
    Notification, RuleKind, Severity, SourceId,
};

use crate::{Result, Store, StoreError, parse_ts, ts};

/// Delivery state of an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for (another) attempt at `next_attempt_at`.
    Pending,
    /// Delivered (confirmed by the platform).
    Sent,
    /// Given up: a permanent error or the retry deadline passed.
    Failed,
}

impl OutboxStatus {
    /// The value stored in `outbox.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> OutboxStatus {
        match s {
            "sent" => OutboxStatus::Sent,
            "failed" => OutboxStatus::Failed,
            _ => OutboxStatus::Pending,
        }
    }
}

/// One outbox row: a notification for one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// Channel id (a named chat group from the notify configuration).
    pub channel: String,
    /// Deterministic key that makes the write idempotent.
    pub dedup_key: String,
    /// The incident it is about, if any.
    pub incident_id: Option<i64>,
    /// The message.
    pub notification: Notification,
    /// Delivery state.
    pub status: OutboxStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// Last failure, if any (never holds secrets: notifiers redact before recording).
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub sent_at: Option<DateTime<Utc>>,
}

/// An open write transaction for incident changes (`BEGIN IMMEDIATE`). Dropped without
/// [`IncidentTx::commit`], it rolls back.
pub struct IncidentTx<'a> {
    conn: MutexGuard<'a, Connection>,
    done: bool,
}

impl Drop for IncidentTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

const INCIDENT_COLUMNS: &str = "id, group_key, rule_id, rule_kind, entity_id, topic, status,
    severity, title, opened_at, updated_at, last_doc_at, resolved_at, acknowledged_at,
    acknowledged_by, assignee, open_count, doc_count, peak, notified_at, notified_docs,
    update_seq, unacked_escalated, why_json";

pub(crate) fn corrupt(id: impl ToString, source: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        id: id.to_string(),
        source,
    }
}

pub(crate) fn json<T: Serialize>(id: impl ToString, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| corrupt(id, e))
}

fn req_ts(s: String) -> DateTime<Utc> {
    parse_ts(Some(s)).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Read an incident row selected with [`INCIDENT_COLUMNS`]; the why is returned raw.
fn incident_row(r: &Row<'_>) -> rusqlite::Result<(Incident, String)> {
    let kind: String = r.get(3)?;
    let status: String = r.get(6)?;
    let severity: String = r.get(7)?;
    let rule_kind = RuleKind::parse(&kind).unwrap_or(RuleKind::Volume);
    let rule_id: String = r.get(2)?;
    Ok((
        Incident {
            id: r.get(0)?,
            group_key: r.get(1)?,
            rule_id: rule_id.clone(),
            rule_kind,
            entity_id: r.get(4)?,
            topic: r.get(5)?,
            status: IncidentStatus::parse(&status).unwrap_or(IncidentStatus::Open),
            severity: Severity::parse(&severity).unwrap_or(Severity::Low),
            title: r.get(8)?,
            opened_at: req_ts(r.get(9)?),
            updated_at: req_ts(r.get(10)?),
            last_doc_at: req_ts(r.get(11)?),
            resolved_at: parse_ts(r.get(12)?),
            acknowledged_at: parse_ts(r.get(13)?),
            acknowledged_by: r.get(14)?,
            assignee: r.get(15)?,
            open_count: r.get(16)?,
            doc_count: r.get::<_, i64>(17)?.max(0) as u64,
            peak: r.get(18)?,
            notified_at: parse_ts(r.get(19)?),
            notified_docs: r.get::<_, i64>(20)?.max(0) as u64,
            update_seq: r.get(21)?,
            unacked_escalated: r.get(22)?,
            why: yuqing_model::IncidentWhy {
                rule_id,
                rule_kind,
                observed: 0.0,
                threshold: 0.0,
                baseline: None,
                baseline_stddev: None,
                ratio_threshold: None,
                largest_wave: None,
                window_secs: 0,
                top_terms: Vec::new(),
                top_sources: Vec::new(),
                first_source: None,
                first_seen: None,
            },
        },
        r.get(23)?,
    ))
}

fn finish_incident((mut inc, why): (Incident, String)) -> Result<Incident> {
    inc.why = serde_json::from_str(&why).map_err(|e| corrupt(format!("incident {}", inc.id), e))?;
    Ok(inc)
}

fn outbox_row(r: &Row<'_>) -> rusqlite::Result<(OutboxRow, String)> {
    let status: String = r.get(5)?;
    let payload: String = r.get(4)?;
    Ok((
        OutboxRow {
            id: r.get(0)?,
            channel: r.get(1)?,
            dedup_key: r.get(2)?,
            incident_id: r.get(3)?,
            notification: Notification {
                kind: yuqing_model::NotificationKind::Opened,
                incident_id: None,
                severity: Severity::Low,
                title: String::new(),
                entity: None,
                lines: Vec::new(),
                top_docs: Vec::new(),
                console_url: None,
                mentions: Vec::new(),
            },
            status: OutboxStatus::parse(&status),
            attempts: r.get(6)?,
            next_attempt_at: req_ts(r.get(7)?),
            last_error: r.get(8)?,
            created_at: req_ts(r.get(9)?),
            sent_at: parse_ts(r.get(10)?),
        },
        payload,
    ))
}

fn finish_outbox((mut row, payload): (OutboxRow, String)) -> Result<OutboxRow> {
    row.notification =
        serde_json::from_str(&payload).map_err(|e| corrupt(format!("outbox {}", row.id), e))?;
    Ok(row)
}

const OUTBOX_COLUMNS: &str = "id, channel, dedup_key, incident_id, payload, status, attempts,
    next_attempt_at, last_error, created_at, sent_at";

impl IncidentTx<'_> {
    /// Insert a new incident; returns its id (the `id` field is ignored).
    pub fn insert_incident(&mut self, inc: &Incident) -> Result<i64> {
        let why = json("incident why", &inc.why)?;
        self.conn
            .prepare_cached(
                "INSERT INTO incidents (group_key, rule_id, rule_kind, entity_id, topic, status,
                     severity, title, opened_at, updated_at, last_doc_at, resolved_at,
                     open_count, doc_count, peak, notified_at, notified_docs, update_seq,
                     unacked_escalated, why_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19, ?20)",
            )?
            .execute(params![
                inc.group_key,
                inc.rule_id,
                inc.rule_kind.as_str(),
                inc.entity_id,
                inc.topic,
                inc.status.as_str(),
                inc.severity.as_str(),
                inc.title,
                ts(inc.opened_at),
                ts(inc.updated_at),
                ts(inc.last_doc_at),
                inc.resolved_at.map(ts),
                inc.open_count,
                inc.doc_count as i64,
                inc.peak,
                inc.notified_at.map(ts),
                inc.notified_docs as i64,
                inc.update_seq,
                inc.unacked_escalated,
                why,
            ])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Save the engine-owned columns of an incident. `status` is written only when it is a
    /// transition the engine owns: resolving, or reopening (which also clears the
    /// acknowledgement); an open incident that someone acknowledged stays acknowledged.
    pub fn save_incident(&mut self, inc: &Incident) -> Result<()> {
        let why = json(format!("incident {}", inc.id), &inc.why)?;
        self.conn
            .prepare_cached(
                "UPDATE incidents SET
                     status = CASE
                         WHEN ?2 = 'resolved' THEN 'resolved'
                         WHEN status = 'resolved' THEN 'open'
                         ELSE status END,
                     acknowledged_at = CASE WHEN ?2 != 'resolved' AND status = 'resolved'
                         THEN NULL ELSE acknowledged_at END,
                     acknowledged_by = CASE WHEN ?2 != 'resolved' AND status = 'resolved'
                         THEN NULL ELSE acknowledged_by END,
                     severity = ?3, title = ?4, opened_at = ?5, updated_at = ?6,
                     last_doc_at = ?7, resolved_at = ?8, open_count = ?9, doc_count = ?10,
                     peak = ?11, notified_at = ?12, notified_docs = ?13, update_seq = ?14,
                     unacked_escalated = ?15, why_json = ?16
                 WHERE id = ?1",
            )?
            .execute(params![
                inc.id,
                inc.status.as_str(),
                inc.severity.as_str(),
                inc.title,
                ts(inc.opened_at),
                ts(inc.updated_at),
                ts(inc.last_doc_at),
                inc.resolved_at.map(ts),
                inc.open_count,
                inc.doc_count as i64,
                inc.peak,
                inc.notified_at.map(ts),
                inc.notified_docs as i64,
                inc.update_seq,
                inc.unacked_escalated,
                why,
            ])?;
        Ok(())
    }

    /// Attach a document; `false` when it was already attached.
    pub fn attach_doc(&mut self, d: &IncidentDoc) -> Result<bool> {
        let terms = json(d.doc_id.as_str(), &d.terms)?;
        let n = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO incident_docs (incident_id, doc_id, source_id, title, url,
                     doc_at, attached_at, terms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                d.incident_id,
                d.doc_id.as_str(),
                d.source_id.as_str(),
                d.title,
                d.url,
                ts(d.doc_at),
                ts(d.attached_at),
                terms,
            ])?;
        Ok(n > 0)
    }

    /// Append to the audit trail.
    pub fn add_event(&mut self, e: &IncidentEvent) -> Result<()> {
        insert_event(&self.conn, e)
    }

    /// Queue a notification for one channel; `false` when `dedup_key` was already queued.
    pub fn enqueue(
        &mut self,
        channel: &str,
        dedup_key: &str,
        n: &Notification,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        enqueue_in(&self.conn, channel, dedup_key, n, now)
    }

    /// When the incident was acknowledged (read inside the transaction, so a concurrent
    /// acknowledgement is never overwritten by a stale view).
    pub fn acknowledged_at(&mut self, id: i64) -> Result<Option<DateTime<Utc>>> {
        let v: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT acknowledged_at FROM incidents WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(parse_ts(v.flatten()))
    }

    /// Commit every change made through this transaction.
    pub fn commit(mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.done = true;
        Ok(())
    }
}

/// Queue a notification for one channel in the outbox (idempotent by `dedup_key`): the one
/// insert incidents, workflow reminders and briefings share.
pub(crate) fn enqueue_in(
    conn: &Connection,
    channel: &str,
    dedup_key: &str,
    n: &Notification,
    now: DateTime<Utc>,
) -> Result<bool> {
    let payload = json(dedup_key, n)?;
    let rows = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO outbox (channel, dedup_key, incident_id, payload, status,
                 attempts, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5)",
        )?
        .execute(params![channel, dedup_key, n.incident_id, payload, ts(now)])?;
    Ok(rows > 0)
}

fn insert_event(conn: &Connection, e: &IncidentEvent) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO incident_events (incident_id, at, kind, actor, detail)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        e.incident_id,
        ts(e.at),
        e.kind.as_str(),
        e.actor,
        e.detail
    ])?;
    Ok(())
}

impl Store {
    /// How many incidents are in `status` (a count, for metrics: no rows are read).
    pub fn incident_count(&self, status: IncidentStatus) -> Result<u64> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM incidents WHERE status = ?1",
            [status.as_str()],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// How many outbox rows are in `status` (a count, for metrics: no rows are read).
    pub fn outbox_count(&self, status: OutboxStatus) -> Result<u64> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM outbox WHERE status = ?1",
            [status.as_str()],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Begin a write transaction for incident changes.
    pub fn incident_tx(&self) -> Result<IncidentTx<'_>> {
        let conn = self.conn();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(IncidentTx { conn, done: false })
    }

    /// One incident.
    pub fn incident(&self, id: i64) -> Result<Option<Incident>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                &format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?1"),
                [id],
                incident_row,
            )
            .optional()?;
        row.map(finish_incident).transpose()
    }

    /// Incidents, newest first, optionally only those in `status`.
    pub fn incidents(&self, status: Option<IncidentStatus>, limit: usize) -> Result<Vec<Incident>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents
             WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = st
            .query_map(
                params![status.map(IncidentStatus::as_str), limit as i64],
                incident_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_incident).collect()
    }

    /// The newest incident of every group key that is still active, or that resolved at or
    /// after `resolved_since` (it may still reopen): what the engine restores on start-up.
    pub fn incidents_to_restore(&self, resolved_since: DateTime<Utc>) -> Result<Vec<Incident>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents
             WHERE id IN (SELECT MAX(id) FROM incidents GROUP BY group_key)
               AND (status != 'resolved' OR resolved_at >= ?1)
             ORDER BY id"
        ))?;
        let rows = st
            .query_map([ts(resolved_since)], incident_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_incident).collect()
    }

    /// An incident's documents in time order: its propagation path.
    pub fn incident_docs(&self, id: i64) -> Result<Vec<IncidentDoc>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT doc_id, source_id, title, url, doc_at, attached_at, terms
             FROM incident_docs WHERE incident_id = ?1 ORDER BY doc_at, doc_id",
        )?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(doc, src, title, url, at, attached, terms)| {
                Ok(IncidentDoc {
                    incident_id: id,
                    terms: serde_json::from_str(&terms).map_err(|e| corrupt(&doc, e))?,
                    doc_id: DocId(doc),
                    source_id: SourceId(src),
                    title,
                    url,
                    doc_at: req_ts(at),
                    attached_at: req_ts(attached),
                })
            })
            .collect()
    }

    /// An incident's audit trail, oldest first.
    pub fn incident_events(&self, id: i64) -> Result<Vec<IncidentEvent>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT at, kind, actor, detail FROM incident_events
             WHERE incident_id = ?1 ORDER BY id",
        )?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(at, kind, actor, detail)| {
                Some(IncidentEvent {
                    incident_id: id,
                    at: req_ts(at),
                    kind: IncidentEventKind::parse(&kind)?,
                    actor,
                    detail,
                })
            })
            .collect())
    }

    /// Acknowledge an open incident; `false` when it is not open (unknown, already
    /// acknowledged or resolved). Recorded in the audit trail.
    pub fn acknowledge_incident(&self, id: i64, by: &str, at: DateTime<Utc>) -> Result<bool> {
        self.change_with_event(
            "UPDATE incidents SET status = 'acknowledged', acknowledged_at = ?2,
                 acknowledged_by = ?3
             WHERE id = ?1 AND status = 'open'",
            params![id, ts(at), by],
            IncidentEvent {
                incident_id: id,
                at,
                kind: IncidentEventKind::Acknowledged,
                actor: Some(by.to_string()),
                detail: format!("{by} 已认领"),
            },
        )
    }

    /// Assign an incident to `assignee`; `false` when it does not exist. Recorded in the
    /// audit trail with who assigned it.
    pub fn assign_incident(
        &self,
        id: i64,
        assignee: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        self.change_with_event(
            "UPDATE incidents SET assignee = ?2 WHERE id = ?1",
            params![id, assignee],
            IncidentEvent {
                incident_id: id,
                at,
                kind: IncidentEventKind::Assigned,
                actor: Some(by.to_string()),
                detail: format!("指派给 {assignee}"),
            },
        )
    }

    /// Run one `UPDATE` on an incident and, if it changed a row, record `event` in the audit
    /// trail, in one `BEGIN IMMEDIATE` transaction. `false` when no row changed.
    fn change_with_event(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
        event: IncidentEvent,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let changed = tx.execute(sql, args)? > 0;
        if changed {
            insert_event(&tx, &event)?;
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Stored documents fetched or published in `[from, to)`, in no particular order (the
    /// caller orders them by its own notion of event time).
    pub fn documents_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Document>> {
        let rows: Vec<(String, String)> = {
            let conn = self.conn();
            let mut st = conn.prepare_cached(
                "SELECT id, doc_json FROM documents
                 WHERE (fetched_at >= ?1 AND fetched_at < ?2)
                    OR (published_at >= ?1 AND published_at < ?2)",
            )?;
            st.query_map(params![ts(from), ts(to)], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        rows.into_iter()
            .map(|(id, j)| serde_json::from_str(&j).map_err(|e| corrupt(id, e)))
            .collect()
    }

    /// Pending outbox rows due at `now`, oldest first, at most `limit`.
    pub fn outbox_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox
             WHERE status = 'pending' AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT ?2"
        ))?;
        let rows = st
            .query_map(params![ts(now), limit as i64], outbox_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_outbox).collect()
    }

    /// Every outbox row, optionally of one incident, in insertion order.
    pub fn outbox_rows(&self, incident_id: Option<i64>) -> Result<Vec<OutboxRow>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ?1 IS NULL OR incident_id = ?1 ORDER BY id"
        ))?;
        let rows = st
            .query_map([incident_id], outbox_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_outbox).collect()
    }

    /// Record a confirmed delivery.
    pub fn outbox_mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1,
                 last_error = NULL
             WHERE id = ?1",
            params![id, ts(at)],
        )?;
        Ok(())
    }

    /// Record a failed attempt to retry at `next_attempt_at`; `attempts` is the total so far.
    pub fn outbox_mark_retry(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET status = 'pending', attempts = ?2, next_attempt_at = ?3,
                 last_error = ?4
             WHERE id = ?1",
            params![id, attempts, ts(next_attempt_at), error],
        )?;
        Ok(())
    }

    /// Give up on a row (permanent error or deadline passed).
    pub fn outbox_mark_failed(&self, id: i64, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2
             WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_model::NotificationKind;

    fn note(id: i64) -> Notification {
        Notification {
            kind: NotificationKind::Opened,
            incident_id: Some(id),
            severity: Severity::High,
            title: "【高】恒信 负面舆情激增".into(),
            entity: Some("恒信".into()),
            lines: vec![],
            top_docs: vec![],
            console_url: None,
            mentions: vec![],
        }
    }

    #[test]
    fn outbox_is_idempotent_and_moves_through_delivery_states() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("y.db"), 3).unwrap();
        let now = Utc::now();
        let mut tx = store.incident_tx().unwrap();
        assert!(tx.enqueue("ops", "k1#ops", &note(1), now).unwrap());
        assert!(!tx.enqueue("ops", "k1#ops", &note(1), now).unwrap());
        tx.commit().unwrap();
        // A dropped transaction rolls back.
        {
            let mut tx = store.incident_tx().unwrap();
            assert!(tx.enqueue("ops", "k2#ops", &note(1), now).unwrap());
        }
        let due = store.outbox_due(now, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].notification, note(1));
        assert_eq!(store.outbox_count(OutboxStatus::Pending).unwrap(), 1);
        assert_eq!(store.outbox_count(OutboxStatus::Sent).unwrap(), 0);
        let later = now + chrono::Duration::seconds(30);
        store
            .outbox_mark_retry(due[0].id, 1, later, "http 500")
            .unwrap();
        assert!(store.outbox_due(now, 10).unwrap().is_empty());
        let again = store.outbox_due(later, 10).unwrap();
        assert_eq!(again[0].attempts, 1);
        assert_eq!(again[0].last_error.as_deref(), Some("http 500"));
        store.outbox_mark_sent(again[0].id, later).unwrap();
        assert!(store.outbox_due(later, 10).unwrap().is_empty());
        let rows = store.outbox_rows(Some(1)).unwrap();
        assert_eq!(rows[0].status, OutboxStatus::Sent);
        assert_eq!(rows[0].attempts, 2);
        assert_eq!(store.outbox_count(OutboxStatus::Pending).unwrap(), 0);
        assert_eq!(store.outbox_count(OutboxStatus::Sent).unwrap(), 1);
    }
}
