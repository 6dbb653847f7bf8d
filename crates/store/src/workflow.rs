//! The improvement workflow's tables (migration 0004): event reports, reviews, measures,
//! complaint cases, effect evaluations, conclusions, their audit trail, and the runs of
//! scheduled jobs; plus the document queries the workflow computes from.
//!
//! Contract:
//! * each object is stored whole as JSON beside the columns queries filter on; both are
//!   written by the same statement, so they never disagree;
//! * every change goes through one [`WorkflowTx`] (`BEGIN IMMEDIATE`): the workflow crate reads
//!   the current object, checks the state machine, writes the new object, its audit rows
//!   ([`WorkflowTx::audit`]) and any outbox rows ([`WorkflowTx::enqueue`]) and commits them
//!   together, or nothing (a dropped transaction rolls back). Because the transaction holds
//!   the store's connection, no other [`Store`] method may be called while it is open;
//! * idempotent creation: a case from a monitored document is inserted with `INSERT OR
//!   IGNORE` on its source document ([`WorkflowTx::insert_case`]), an event report or review
//!   only when the incident has none, outbox rows on their dedup key, and a scheduled job's
//!   period is recorded with the notifications it queued ([`WorkflowTx::set_last_run`]).

use std::sync::MutexGuard;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use yuqing_model::workflow::{
    AuditEntry, Case, CaseStatus, Conclusion, Evaluation, EventReport, Measure, MeasureStatus,
    Review, WorkflowObject, WorkflowState,
};
use yuqing_model::{Channel, DocId, Document, Notification, SentimentLabel, SourceId};

use crate::{Result, Store, StoreError, parse_ts, ts};

use crate::incidents::{corrupt, json as to_json};

fn from_json<T: DeserializeOwned>(what: impl ToString, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

/// Which measures to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeasureQuery {
    /// Only this incident's.
    pub incident_id: Option<i64>,
    /// Only in these states (empty: any).
    pub statuses: Vec<MeasureStatus>,
    /// Only of this owner department.
    pub department: Option<String>,
}

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    /// Only in these states (empty: any).
    pub statuses: Vec<CaseStatus>,
    /// Only linked to this incident.
    pub incident_id: Option<i64>,
    /// Only about this entity.
    pub entity_id: Option<String>,
    /// Only assigned to this person.
    pub assignee: Option<String>,
    /// Only accepted at or after this time.
    pub accepted_from: Option<DateTime<Utc>>,
    /// Only accepted before this time.
    pub accepted_to: Option<DateTime<Utc>>,
    /// Only with a deadline at or before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// At most this many, newest first (0: no limit).
    pub limit: usize,
}

/// The last run of a scheduled job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleRun {
    /// Job name, e.g. `briefing:daily`.
    pub job: String,
    /// The period it last ran for, e.g. `2024-05-06`.
    pub last_period: String,
    /// When.
    pub last_run_at: DateTime<Utc>,
}

/// A stored document's columns, without its analysed JSON (cheap to read in bulk).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocRow {
    /// Id.
    pub id: DocId,
    /// Source.
    pub source_id: SourceId,
    /// Channel (`None` if the stored name is unknown to this build).
    pub channel: Option<Channel>,
    /// Title.
    pub title: String,
    /// Link.
    pub url: Option<String>,
    /// Event time: publication time unless it is missing or after the fetch time.
    pub at: DateTime<Utc>,
    /// Document sentiment score.
    pub sentiment_score: f64,
    /// Document sentiment label.
    pub sentiment_label: Option<SentimentLabel>,
    /// Mentioned entity ids.
    pub entities: Vec<String>,
}

/// Event time in SQL, as `yuqing_incidents::event_time` defines it: publication time unless it
/// is missing or later than the fetch time. Times are RFC 3339 UTC with milliseconds, so text
/// order is time order.
const EVENT_TIME: &str = "(CASE WHEN published_at IS NOT NULL AND published_at <= fetched_at
     THEN published_at ELSE fetched_at END)";

/// Documents whose event time is in `[?1, ?2)`: the OR of the two indexed columns narrows,
/// the event-time test decides.
fn window_clause() -> String {
    format!(
        "((published_at >= ?1 AND published_at < ?2) OR (fetched_at >= ?1 AND fetched_at < ?2))
         AND {EVENT_TIME} >= ?1 AND {EVENT_TIME} < ?2"
    )
}

fn read_json_row<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    key: i64,
    what: &str,
) -> Result<Option<T>> {
    let j: Option<String> = conn
        .prepare_cached(sql)?
        .query_row([key], |r| r.get(0))
        .optional()?;
    j.map(|j| from_json(format!("{what} {key}"), &j))
        .transpose()
}

fn read_report(conn: &Connection, incident_id: i64) -> Result<Option<EventReport>> {
    read_json_row(
        conn,
        "SELECT json FROM workflow_reports WHERE incident_id = ?1",
        incident_id,
        "report",
    )
}

fn read_review(conn: &Connection, incident_id: i64) -> Result<Option<Review>> {
    read_json_row(
        conn,
        "SELECT json FROM workflow_reviews WHERE incident_id = ?1",
        incident_id,
        "review",
    )
}

fn read_measure(conn: &Connection, id: i64) -> Result<Option<Measure>> {
    let m: Option<Measure> = read_json_row(
        conn,
        "SELECT json FROM workflow_measures WHERE id = ?1",
        id,
        "measure",
    )?;
    Ok(m.map(|mut m| {
        m.id = id;
        m
    }))
}

fn read_case(conn: &Connection, id: i64) -> Result<Option<Case>> {
    let c: Option<Case> = read_json_row(
        conn,
        "SELECT json FROM workflow_cases WHERE id = ?1",
        id,
        "case",
    )?;
    Ok(c.map(|mut c| {
        c.id = id;
        c
    }))
}

fn read_evaluation(conn: &Connection, id: i64) -> Result<Option<Evaluation>> {
    let e: Option<Evaluation> = read_json_row(
        conn,
        "SELECT json FROM workflow_evaluations WHERE id = ?1",
        id,
        "evaluation",
    )?;
    Ok(e.map(|mut e| {
        e.id = id;
        e
    }))
}

fn read_conclusion(conn: &Connection, incident_id: i64) -> Result<Option<Conclusion>> {
    read_json_row(
        conn,
        "SELECT json FROM workflow_conclusions WHERE incident_id = ?1",
        incident_id,
        "conclusion",
    )
}

/// Rows of `(id, json)` into objects with their id set.
fn with_ids<T: DeserializeOwned>(
    rows: Vec<(i64, String)>,
    what: &str,
    set_id: impl Fn(&mut T, i64),
) -> Result<Vec<T>> {
    rows.into_iter()
        .map(|(id, j)| {
            let mut v: T = from_json(format!("{what} {id}"), &j)?;
            set_id(&mut v, id);
            Ok(v)
        })
        .collect()
}

/// An open write transaction for workflow changes (`BEGIN IMMEDIATE`). Dropped without
/// [`WorkflowTx::commit`], it rolls back.
pub struct WorkflowTx<'a> {
    conn: MutexGuard<'a, Connection>,
    done: bool,
}

impl Drop for WorkflowTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl WorkflowTx<'_> {
    /// Whether the incident exists.
    pub fn incident_exists(&mut self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM incidents WHERE id = ?1")?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The incident's event report.
    pub fn report(&mut self, incident_id: i64) -> Result<Option<EventReport>> {
        read_report(&self.conn, incident_id)
    }

    /// Insert or replace the incident's event report.
    pub fn save_report(&mut self, r: &EventReport) -> Result<()> {
        let j = to_json(format!("report {}", r.incident_id), r)?;
        self.conn
            .prepare_cached(
                "INSERT INTO workflow_reports (incident_id, json, refreshed_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(incident_id) DO UPDATE SET json = ?2, refreshed_at = ?3,
                     updated_at = ?4",
            )?
            .execute(params![
                r.incident_id,
                j,
                ts(r.refreshed_at),
                ts(r.updated_at)
            ])?;
        Ok(())
    }

    /// The incident's review.
    pub fn review(&mut self, incident_id: i64) -> Result<Option<Review>> {
        read_review(&self.conn, incident_id)
    }

    /// Insert or replace the incident's review.
    pub fn save_review(&mut self, r: &Review) -> Result<()> {
        let j = to_json(format!("review {}", r.incident_id), r)?;
        self.conn
            .prepare_cached(
                "INSERT INTO workflow_reviews (incident_id, status, json, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(incident_id) DO UPDATE SET status = ?2, json = ?3, updated_at = ?4",
            )?
            .execute(params![
                r.incident_id,
                r.status.as_str(),
                j,
                ts(r.updated_at)
            ])?;
        Ok(())
    }

    /// One measure.
    pub fn measure(&mut self, id: i64) -> Result<Option<Measure>> {
        read_measure(&self.conn, id)
    }

    /// Insert a new measure; returns its id (the `id` field is ignored and not stored).
    pub fn insert_measure(&mut self, m: &Measure) -> Result<i64> {
        let j = to_json("new measure", m)?;
        self.conn
            .prepare_cached(
                "INSERT INTO workflow_measures (incident_id, status, category, owner_department,
                     deadline, done_at, created_at, updated_at, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                m.incident_id,
                m.status.as_str(),
                m.category.as_str(),
                m.owner_department,
                ts(m.deadline),
                m.done_at.map(ts),
                ts(m.created_at),
                ts(m.updated_at),
                j,
            ])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Save a stored measure (by its id).
    pub fn save_measure(&mut self, m: &Measure) -> Result<()> {
        let j = to_json(format!("measure {}", m.id), m)?;
        self.conn
            .prepare_cached(
                "UPDATE workflow_measures SET status = ?2, category = ?3, owner_department = ?4,
                     deadline = ?5, done_at = ?6, updated_at = ?7, json = ?8
                 WHERE id = ?1",
            )?
            .execute(params![
                m.id,
                m.status.as_str(),
                m.category.as_str(),
                m.owner_department,
                ts(m.deadline),
                m.done_at.map(ts),
                ts(m.updated_at),
                j,
            ])?;
        Ok(())
    }

    /// One case.
    pub fn case(&mut self, id: i64) -> Result<Option<Case>> {
        read_case(&self.conn, id)
    }

    /// Insert a new case; `None` when its source document already has one (the `id` field is
    /// ignored).
    pub fn insert_case(&mut self, c: &Case) -> Result<Option<i64>> {
        let j = to_json("new case", c)?;
        let n = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO workflow_cases (status, entity_id, incident_id, source_doc,
                     assignee, accepted_at, deadline, answered_at, updated_at, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                c.status.as_str(),
                c.entity_id,
                c.incident_id,
                c.source_doc.as_ref().map(DocId::as_str),
                c.assignee,
                ts(c.accepted_at),
                ts(c.deadline),
                c.answered_at.map(ts),
                ts(c.updated_at),
                j,
            ])?;
        Ok((n > 0).then(|| self.conn.last_insert_rowid()))
    }

    /// Save a stored case (by its id). Its source document never changes.
    pub fn save_case(&mut self, c: &Case) -> Result<()> {
        let j = to_json(format!("case {}", c.id), c)?;
        self.conn
            .prepare_cached(
                "UPDATE workflow_cases SET status = ?2, entity_id = ?3, incident_id = ?4,
                     assignee = ?5, accepted_at = ?6, deadline = ?7, answered_at = ?8,
                     updated_at = ?9, json = ?10
                 WHERE id = ?1",
            )?
            .execute(params![
                c.id,
                c.status.as_str(),
                c.entity_id,
                c.incident_id,
                c.assignee,
                ts(c.accepted_at),
                ts(c.deadline),
                c.answered_at.map(ts),
                ts(c.updated_at),
                j,
            ])?;
        Ok(())
    }

    /// One evaluation.
    pub fn evaluation(&mut self, id: i64) -> Result<Option<Evaluation>> {
        read_evaluation(&self.conn, id)
    }

    /// Insert a new evaluation; returns its id.
    pub fn insert_evaluation(&mut self, e: &Evaluation) -> Result<i64> {
        let j = to_json("new evaluation", e)?;
        self.conn
            .prepare_cached(
                "INSERT INTO workflow_evaluations (incident_id, measure_id, computed_at, json)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![e.incident_id, e.measure_id, ts(e.computed_at), j])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Save a stored evaluation (its manual inputs).
    pub fn save_evaluation(&mut self, e: &Evaluation) -> Result<()> {
        let j = to_json(format!("evaluation {}", e.id), e)?;
        self.conn
            .prepare_cached("UPDATE workflow_evaluations SET json = ?2 WHERE id = ?1")?
            .execute(params![e.id, j])?;
        Ok(())
    }

    /// The incident's conclusion.
    pub fn conclusion(&mut self, incident_id: i64) -> Result<Option<Conclusion>> {
        read_conclusion(&self.conn, incident_id)
    }

    /// Insert or replace the incident's conclusion.
    pub fn save_conclusion(&mut self, c: &Conclusion) -> Result<()> {
        let j = to_json(format!("conclusion {}", c.incident_id), c)?;
        self.conn
            .prepare_cached(
                "INSERT INTO workflow_conclusions (incident_id, json) VALUES (?1, ?2)
                 ON CONFLICT(incident_id) DO UPDATE SET json = ?2",
            )?
            .execute(params![c.incident_id, j])?;
        Ok(())
    }

    /// Append an audit row (the `id` field is ignored).
    pub fn audit(&mut self, a: &AuditEntry) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO workflow_audit (object, object_id, incident_id, at, actor, action,
                     field, old_value, new_value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                a.object.as_str(),
                a.object_id,
                a.incident_id,
                ts(a.at),
                a.actor,
                a.action,
                a.field,
                a.old,
                a.new,
            ])?;
        Ok(())
    }

    /// Queue a notification for one channel in the shared outbox; `false` when `dedup_key`
    /// was already queued (by this or an earlier run).
    pub fn enqueue(
        &mut self,
        channel: &str,
        dedup_key: &str,
        n: &Notification,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        crate::incidents::enqueue_in(&self.conn, channel, dedup_key, n, now)
    }

    /// The period a scheduled job last ran for.
    pub fn last_run(&mut self, job: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT last_period FROM workflow_schedule WHERE job = ?1")?
            .query_row([job], |r| r.get(0))
            .optional()?)
    }

    /// Record that `job` ran for `period` at `at`.
    pub fn set_last_run(&mut self, job: &str, period: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO workflow_schedule (job, last_period, last_run_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(job) DO UPDATE SET last_period = ?2, last_run_at = ?3",
            )?
            .execute(params![job, period, ts(at)])?;
        Ok(())
    }

    /// Commit every change made through this transaction.
    pub fn commit(mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.done = true;
        Ok(())
    }
}

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<AuditEntry>> {
    let object: String = r.get(1)?;
    let at: String = r.get(4)?;
    let Some(object) = WorkflowObject::parse(&object) else {
        return Ok(None);
    };
    Ok(Some(AuditEntry {
        id: r.get(0)?,
        object,
        object_id: r.get(2)?,
        incident_id: r.get(3)?,
        at: parse_ts(Some(at)).unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        actor: r.get(5)?,
        action: r.get(6)?,
        field: r.get(7)?,
        old: r.get(8)?,
        new: r.get(9)?,
    }))
}

const AUDIT_COLUMNS: &str =
    "id, object, object_id, incident_id, at, actor, action, field, old_value, new_value";

impl Store {
    /// Begin a write transaction for workflow changes.
    pub fn workflow_tx(&self) -> Result<WorkflowTx<'_>> {
        let conn = self.conn();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(WorkflowTx { conn, done: false })
    }

    /// An incident's event report.
    pub fn event_report(&self, incident_id: i64) -> Result<Option<EventReport>> {
        read_report(&self.conn(), incident_id)
    }

    /// Ids of incidents opened at or after `since` that have no event report yet, oldest
    /// first.
    pub fn incidents_without_report(&self, since: DateTime<Utc>) -> Result<Vec<i64>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT id FROM incidents
             WHERE opened_at >= ?1
               AND NOT EXISTS (SELECT 1 FROM workflow_reports r WHERE r.incident_id = incidents.id)
             ORDER BY id",
        )?;
        let ids = st
            .query_map([ts(since)], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    /// Ids of resolved incidents whose event report's facts were drafted before they
    /// resolved: the supervisor re-drafts them so the report covers the whole event.
    pub fn reports_to_refresh(&self) -> Result<Vec<i64>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT r.incident_id FROM workflow_reports r JOIN incidents i ON i.id = r.incident_id
             WHERE i.status = 'resolved' AND i.resolved_at > r.refreshed_at
             ORDER BY r.incident_id",
        )?;
        let ids = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    /// An incident's review.
    pub fn review(&self, incident_id: i64) -> Result<Option<Review>> {
        read_review(&self.conn(), incident_id)
    }

    /// One measure.
    pub fn measure(&self, id: i64) -> Result<Option<Measure>> {
        read_measure(&self.conn(), id)
    }

    /// Measures matching `q`, by incident then id.
    pub fn measures(&self, q: &MeasureQuery) -> Result<Vec<Measure>> {
        let rows: Vec<(i64, String)> = {
            let conn = self.conn();
            let mut st = conn.prepare_cached(
                "SELECT id, json FROM workflow_measures
                 WHERE (?1 IS NULL OR incident_id = ?1)
                   AND (?2 IS NULL OR owner_department = ?2)
                 ORDER BY incident_id, id",
            )?;
            st.query_map(params![q.incident_id, q.department], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let all: Vec<Measure> = with_ids(rows, "measure", |m: &mut Measure, id| m.id = id)?;
        Ok(all
            .into_iter()
            .filter(|m| q.statuses.is_empty() || q.statuses.contains(&m.status))
            .collect())
    }

    /// One case.
    pub fn case(&self, id: i64) -> Result<Option<Case>> {
        read_case(&self.conn(), id)
    }

    /// The case created from a document, if any.
    pub fn case_for_doc(&self, doc: &DocId) -> Result<Option<Case>> {
        let id: Option<i64> = self
            .conn()
            .prepare_cached("SELECT id FROM workflow_cases WHERE source_doc = ?1")?
            .query_row([doc.as_str()], |r| r.get(0))
            .optional()?;
        match id {
            Some(id) => self.case(id),
            None => Ok(None),
        }
    }

    /// Cases matching `q`, newest first.
    pub fn cases(&self, q: &CaseQuery) -> Result<Vec<Case>> {
        let statuses: Vec<&str> = q.statuses.iter().map(|s| s.as_str()).collect();
        let statuses = (!statuses.is_empty()).then(|| format!(",{},", statuses.join(",")));
        let rows: Vec<(i64, String)> = {
            let conn = self.conn();
            let mut st = conn.prepare_cached(
                "SELECT id, json FROM workflow_cases
                 WHERE (?1 IS NULL OR instr(?1, ',' || status || ',') > 0)
                   AND (?2 IS NULL OR incident_id = ?2)
                   AND (?3 IS NULL OR entity_id = ?3)
                   AND (?4 IS NULL OR assignee = ?4)
                   AND (?5 IS NULL OR accepted_at >= ?5)
                   AND (?6 IS NULL OR accepted_at < ?6)
                   AND (?7 IS NULL OR deadline <= ?7)
                 ORDER BY id DESC
                 LIMIT ?8",
            )?;
            st.query_map(
                params![
                    statuses,
                    q.incident_id,
                    q.entity_id,
                    q.assignee,
                    q.accepted_from.map(ts),
                    q.accepted_to.map(ts),
                    q.due_before.map(ts),
                    if q.limit == 0 { -1 } else { q.limit as i64 },
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .collect::<rusqlite::Result<_>>()?
        };
        with_ids(rows, "case", |c: &mut Case, id| c.id = id)
    }

    /// Cases from a document that are not linked to an incident, with that document: what the
    /// supervisor tries to link.
    pub fn unlinked_cases(&self) -> Result<Vec<(i64, DocId)>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT id, source_doc FROM workflow_cases
             WHERE incident_id IS NULL AND source_doc IS NOT NULL
             ORDER BY id",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, DocId(r.get(1)?))))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Incidents a document is attached to, newest first.
    pub fn incidents_of_doc(&self, doc: &DocId) -> Result<Vec<i64>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT incident_id FROM incident_docs WHERE doc_id = ?1 ORDER BY incident_id DESC",
        )?;
        let ids = st
            .query_map([doc.as_str()], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    /// One evaluation.
    pub fn evaluation(&self, id: i64) -> Result<Option<Evaluation>> {
        read_evaluation(&self.conn(), id)
    }

    /// Evaluations of an incident (directly or through its measures) or of a measure, oldest
    /// first; both `None`: all.
    pub fn evaluations(
        &self,
        incident_id: Option<i64>,
        measure_id: Option<i64>,
    ) -> Result<Vec<Evaluation>> {
        let rows: Vec<(i64, String)> = {
            let conn = self.conn();
            let mut st = conn.prepare_cached(
                "SELECT id, json FROM workflow_evaluations
                 WHERE (?1 IS NULL OR incident_id = ?1) AND (?2 IS NULL OR measure_id = ?2)
                 ORDER BY id",
            )?;
            st.query_map(params![incident_id, measure_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        with_ids(rows, "evaluation", |e: &mut Evaluation, id| e.id = id)
    }

    /// An incident's conclusion.
    pub fn conclusion(&self, incident_id: i64) -> Result<Option<Conclusion>> {
        read_conclusion(&self.conn(), incident_id)
    }

    /// The audit trail of one object, oldest first.
    pub fn workflow_audit(
        &self,
        object: WorkflowObject,
        object_id: i64,
    ) -> Result<Vec<AuditEntry>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM workflow_audit WHERE object = ?1 AND object_id = ?2
             ORDER BY id"
        ))?;
        let rows = st
            .query_map(params![object.as_str(), object_id], audit_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// The workflow audit trail of an incident (its report, review, measures, linked cases,
    /// evaluations and conclusion), oldest first.
    pub fn workflow_audit_of_incident(&self, incident_id: i64) -> Result<Vec<AuditEntry>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM workflow_audit WHERE incident_id = ?1 ORDER BY id"
        ))?;
        let rows = st
            .query_map([incident_id], audit_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// The last run of every scheduled job.
    pub fn schedule_runs(&self) -> Result<Vec<ScheduleRun>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT job, last_period, last_run_at FROM workflow_schedule ORDER BY job",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok(ScheduleRun {
                    job: r.get(0)?,
                    last_period: r.get(1)?,
                    last_run_at: parse_ts(Some(r.get(2)?)).unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Stored documents whose event time (publication, else fetch time; fetch time when the
    /// publication time is after it) is in `[from, to)`, mentioning `entity` when given, in
    /// event-time order then id. Loads them all: for long windows use
    /// [`Store::for_each_document_in_window`].
    pub fn documents_in_window(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        entity: Option<&str>,
    ) -> Result<Vec<Document>> {
        let mut out = Vec::new();
        self.for_each_document_in_window(from, to, entity, 1000, |batch| {
            out.extend(batch);
            Ok::<(), StoreError>(())
        })?;
        Ok(out)
    }

    /// Call `f` with the documents of [`Store::documents_in_window`], `batch` at a time in the
    /// same order, releasing the database between batches (a long window does not hold up
    /// the pipeline's commits, nor memory). Stops at the first error `f` returns.
    pub fn for_each_document_in_window<E: From<StoreError>>(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        entity: Option<&str>,
        batch: usize,
        mut f: impl FnMut(Vec<Document>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let needle = entity.map(|e| serde_json::to_string(e).unwrap_or_default());
        let (mut after_t, mut after_id) = (String::new(), String::new());
        loop {
            let rows: Vec<(String, String, String)> = {
                let conn = self.conn();
                let mut st = conn
                    .prepare_cached(&format!(
                        "SELECT id, {EVENT_TIME}, doc_json FROM documents
                         WHERE {} AND (?3 IS NULL OR instr(entities, ?3) > 0)
                           AND ({EVENT_TIME}, id) > (?4, ?5)
                         ORDER BY {EVENT_TIME}, id
                         LIMIT ?6",
                        window_clause()
                    ))
                    .map_err(StoreError::from)?;
                st.query_map(
                    params![
                        ts(from),
                        ts(to),
                        needle,
                        after_t,
                        after_id,
                        batch.max(1) as i64
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .and_then(|rows| rows.collect())
                .map_err(StoreError::from)?
            };
            let Some(last) = rows.last() else {
                return Ok(());
            };
            (after_id, after_t) = (last.0.clone(), last.1.clone());
            let docs = rows
                .into_iter()
                .map(|(id, _, j)| from_json(id, &j))
                .collect::<Result<Vec<Document>>>()?;
            f(docs)?;
        }
    }

    /// The columns of stored documents whose event time is in `[from, to)` (see
    /// [`Store::documents_in_window`]), without their analysed JSON: cheap enough for a
    /// week's briefing.
    pub fn doc_rows_in_window(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DocRow>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT id, source_id, channel, title, url, {EVENT_TIME}, sentiment_score,
                    sentiment_label, entities
             FROM documents WHERE {} ORDER BY {EVENT_TIME}, id",
            window_clause()
        ))?;
        let rows = st
            .query_map(params![ts(from), ts(to)], |r| {
                let entities: String = r.get(8)?;
                Ok(DocRow {
                    id: DocId(r.get(0)?),
                    source_id: SourceId(r.get(1)?),
                    channel: Channel::parse(&r.get::<_, String>(2)?),
                    title: r.get(3)?,
                    url: r.get(4)?,
                    at: parse_ts(Some(r.get(5)?)).unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
                    sentiment_score: r.get(6)?,
                    sentiment_label: SentimentLabel::parse(&r.get::<_, String>(7)?),
                    entities: serde_json::from_str(&entities).unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use yuqing_model::workflow::{MeasureCategory, ReviewStatus};
    use yuqing_model::{Analysis, Mention, RawDoc, Sentiment};

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn doc(id: &str, published: Option<i64>, fetched: i64, entity: Option<&str>) -> Document {
        Document {
            raw: RawDoc {
                id: DocId(id.into()),
                source_id: SourceId("s".into()),
                channel: Channel::Complaint,
                item_key: id.into(),
                url: None,
                title: format!("标题{id}"),
                body: String::new(),
                author: None,
                published_at: published.map(t),
                fetched_at: t(fetched),
                tags: vec![],
            },
            analysis: Analysis {
                title: String::new(),
                body: String::new(),
                char_count: 0,
                mentions: entity
                    .map(|e| Mention {
                        entity_id: e.into(),
                        alias: e.into(),
                        kind: yuqing_model::AliasKind::Name,
                        field: yuqing_model::Field::Title,
                        start: 0,
                        end: 1,
                    })
                    .into_iter()
                    .collect(),
                sentiment: Sentiment::neutral(),
                entity_sentiments: vec![],
                risks: vec![],
                dimensions: vec![],
                simhash: 0,
                analyzer_version: 1,
            },
            cluster: None,
        }
    }

    #[test]
    fn window_uses_event_time_and_entity() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("y.db"), 3).unwrap();
        let docs = [
            doc("a", Some(1), 2, Some("hx")),   // event 1
            doc("b", None, 3, Some("hx")),      // event 3
            doc("c", Some(50), 4, Some("hx")),  // published after fetch: event 4
            doc("d", Some(-10), 5, Some("hx")), // event -10
            doc("e", Some(2), 2, Some("other_x")),
        ];
        store.commit(&docs, &[]).unwrap();
        let ids = |v: Vec<Document>| v.into_iter().map(|d| d.raw.id.0).collect::<Vec<_>>();
        assert_eq!(
            ids(store.documents_in_window(t(0), t(10), Some("hx")).unwrap()),
            ["a", "b", "c"]
        );
        assert_eq!(
            ids(store.documents_in_window(t(0), t(10), None).unwrap()),
            ["a", "e", "b", "c"]
        );
        let mut batches = Vec::new();
        store
            .for_each_document_in_window(t(-20), t(10), Some("hx"), 2, |b| {
                batches.push(ids(b));
                Ok::<(), StoreError>(())
            })
            .unwrap();
        assert_eq!(batches, [vec!["d", "a"], vec!["b", "c"]]);
        assert!(
            store
                .documents_in_window(t(0), t(10), Some("other"))
                .unwrap()
                .is_empty()
        );
        let rows = store.doc_rows_in_window(t(-20), t(0)).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id.as_str(), "d");
        assert_eq!(rows[0].entities, ["hx"]);
        assert_eq!(rows[0].at, t(-10));
    }

    fn incident(store: &Store) -> i64 {
        use yuqing_model::*;
        let inc = Incident {
            id: 0,
            group_key: "g".into(),
            rule_id: "r".into(),
            rule_kind: RuleKind::Volume,
            entity_id: "hx".into(),
            topic: None,
            status: IncidentStatus::Open,
            severity: Severity::Medium,
            title: "t".into(),
            opened_at: t(0),
            updated_at: t(0),
            last_doc_at: t(0),
            resolved_at: None,
            acknowledged_at: None,
            acknowledged_by: None,
            assignee: None,
            open_count: 1,
            doc_count: 0,
            peak: 0.0,
            notified_at: None,
            notified_docs: 0,
            update_seq: 0,
            unacked_escalated: 0,
            why: IncidentWhy {
                rule_id: "r".into(),
                rule_kind: RuleKind::Volume,
                observed: 0.0,
                threshold: 0.0,
                baseline: None,
                baseline_stddev: None,
                ratio_threshold: None,
                largest_wave: None,
                window_secs: 0,
                top_terms: vec![],
                top_sources: vec![],
                first_source: None,
                first_seen: None,
            },
        };
        let mut tx = store.incident_tx().unwrap();
        let id = tx.insert_incident(&inc).unwrap();
        tx.commit().unwrap();
        id
    }

    #[test]
    fn objects_round_trip_and_a_dropped_transaction_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("y.db"), 3).unwrap();
        let inc = incident(&store);
        let m = Measure {
            id: 0,
            incident_id: inc,
            category: MeasureCategory::Personnel,
            description: "培训".into(),
            owner_department: "客服".into(),
            owner: "张三".into(),
            resources: String::new(),
            deadline: t(100),
            status: MeasureStatus::Planned,
            root_cause: None,
            progress: vec![],
            checks: vec![],
            created_at: t(0),
            created_by: "a".into(),
            updated_at: t(0),
            updated_by: "a".into(),
            started_at: None,
            done_at: None,
            verified_at: None,
            verified_by: None,
        };
        let mut tx = store.workflow_tx().unwrap();
        assert!(tx.incident_exists(inc).unwrap());
        assert!(!tx.incident_exists(inc + 1).unwrap());
        let id = tx.insert_measure(&m).unwrap();
        tx.commit().unwrap();
        {
            let mut tx = store.workflow_tx().unwrap();
            let mut m2 = tx.measure(id).unwrap().unwrap();
            m2.status = MeasureStatus::InProgress;
            tx.save_measure(&m2).unwrap();
        }
        let got = store.measure(id).unwrap().unwrap();
        assert_eq!(got.id, id);
        assert_eq!(got.status, MeasureStatus::Planned);
        let q = MeasureQuery {
            statuses: vec![MeasureStatus::Planned],
            ..Default::default()
        };
        assert_eq!(store.measures(&q).unwrap().len(), 1);
        let q = MeasureQuery {
            statuses: vec![MeasureStatus::Done],
            ..Default::default()
        };
        assert!(store.measures(&q).unwrap().is_empty());
        assert_eq!(ReviewStatus::parse("草稿"), Some(ReviewStatus::Draft));

        let mut tx = store.workflow_tx().unwrap();
        tx.set_last_run("briefing:daily", "2024-05-01", t(1))
            .unwrap();
        tx.commit().unwrap();
        let runs = store.schedule_runs().unwrap();
        assert_eq!(runs[0].last_period, "2024-05-01");
    }
}
