//! The improvement workflow (舆情后续改进): from an incident to a reviewed, measured
//! improvement. An incident gets an event report drafted from its documents, a review (复盘)
//! along the seven dimensions 人 事 财 物 信息 安全 文化 with root causes, improvement measures
//! with owners and deadlines under supervision, and an effect evaluation computed from the
//! monitored data; complaint cases run 受理 → 分析 → 处理 → 答复 on a deadline clock; daily
//! and weekly briefings go to chat groups.
//!
//! # Contract
//!
//! * **One entry point**: [`Workflow`] wraps the [`Store`] and the `[workflow]` settings. Every
//!   method is blocking (SQLite): call it from a blocking thread (`spawn_blocking`) in async
//!   code. Every method that depends on the time takes `now`, so tests control the clock and
//!   never sleep ([`Clock`] for the daemon loop).
//! * **State machines** ([`ReviewStatus`], [`MeasureStatus`], [`CaseStatus`], defined in
//!   `yuqing_model::workflow` and re-exported here): a change the machine does not allow is
//!   refused with [`Error::Transition`] ([`IllegalTransition`]), whose message names both
//!   states in Chinese and English and the allowed ones. An approved review is read-only
//!   ([`Error::Locked`]) until reopened; a case is answered only with a reply.
//! * **Audit**: every change is one `BEGIN IMMEDIATE` transaction that reads the current
//!   object, checks it, writes the new one and one [`AuditEntry`] per changed field (who,
//!   when, field path, old → new). An edit that changes nothing writes nothing. Creation
//!   writes one `created` entry with the whole object.
//! * **Idempotent automation**: event reports are drafted once per incident; a case is
//!   created once per source document ([`Workflow::cases_from_documents`] may be replayed);
//!   reminders are outbox rows with deterministic dedup keys
//!   (`measure:{id}:overdue:{deadline}#{channel}`, `…:due_soon:…`, `case:{id}:…`, repeats
//!   `…:overdue:{deadline}:{n}`), so each due event is reminded once across restarts; a
//!   scheduled briefing's period is recorded with its outbox rows in one transaction
//!   (`workflow_schedule`), so a restart neither repeats nor skips it.
//! * **Effect evaluation** ([`Workflow::compute_evaluation`] and friends) counts stored
//!   documents by event time (publication, else fetch time) in `[pivot − window, pivot)` and
//!   `[pivot, min(pivot + window, now))`: documents, negative documents and rate, mean
//!   sentiment (towards the entity when the analysis has it), complaint-channel volume, the
//!   two-proportion z-score of the negative-rate change, and the figures of cases accepted in
//!   each window; for all of the entity's documents and for those on the incident's topic.
//! * **Supervisor** ([`Workflow::tick`], [`run_supervisor`]): drafts missing event reports,
//!   links cases to the incidents their documents joined, queues due-soon/overdue reminders
//!   and sends the scheduled briefings.
//!
//! # Wiring in the daemon
//!
//! * `let wf = Arc::new(Workflow::from_config(store.clone(), &config));`
//! * the pipeline writer, after the store commit and the incident engine, calls
//!   [`Workflow::cases_from_documents`]`(&docs, now)` on its blocking thread (errors are
//!   logged, never fail the batch); at start-up, [`Workflow::cases_catch_up`]`(now − 2 days,
//!   now)` opens the cases of documents committed just before a crash;
//! * `tokio::spawn(run_supervisor(wf, Arc::new(SystemClock), cancel, Some(deliverer.waker())))`.
//!
//! # Console links
//!
//! Reminders link to `{console_base_url}/incidents/{id}` (measures) and
//! `{console_base_url}/cases/{id}`; briefings to `{console_base_url}/briefings`.

#![warn(missing_docs)]

mod audit;
mod briefing;
mod cases;
mod clock;
mod evaluate;
mod measures;
mod report;
mod review;
mod supervise;

use std::sync::Arc;

use chrono_tz::Tz;
use yuqing_config::WorkflowSettings;
use yuqing_model::Entity;
use yuqing_store::{Store, StoreError};

pub use briefing::{
    Briefing, BriefingCase, BriefingDoc, BriefingIncident, BriefingKind, BriefingMeasure,
    EntityVolume, IncidentFullReport, render_briefing_markdown, render_full_report_markdown,
};
pub use cases::{CaseClock, CaseEdit, NewCase};
pub use clock::{Clock, ManualClock, SystemClock};
pub use evaluate::{EvaluationSpec, two_proportion_z};
pub use measures::{DueState, MeasureEdit, NewMeasure, SupervisionItem};
pub use report::ReportEdit;
pub use review::{DimensionEdit, ReviewEdit, RootCauseEdit};
pub use supervise::{ReminderReport, TickReport, run_supervisor};
pub use yuqing_model::workflow::*;
pub use yuqing_store::{CaseQuery, MeasureQuery};

/// The actor name recorded for automatic changes.
pub const SYSTEM_ACTOR: &str = "system";

/// What kind of failure an [`Error`] is (the API maps it to an HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The object does not exist (404).
    NotFound,
    /// The object's state does not allow it (409).
    Conflict,
    /// The input is invalid (400/422).
    Invalid,
    /// The store failed (500).
    Internal,
}

/// Errors of the workflow.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A state change the state machine does not allow.
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    /// The object does not exist.
    #[error("{}#{id} 不存在 ({object} {id} not found)", .object.zh())]
    NotFound {
        /// What kind.
        object: WorkflowObject,
        /// Which (the incident id for reports, reviews and conclusions).
        id: i64,
    },
    /// The incident does not exist.
    #[error("事件#{0} 不存在 (incident {0} not found)")]
    NoIncident(i64),
    /// The object cannot be edited in its current state.
    #[error("{}#{id} 处于「{state_zh}」状态，不能修改 ({object} {id} is {state} and read-only)", .object.zh())]
    Locked {
        /// What kind.
        object: WorkflowObject,
        /// Which.
        id: i64,
        /// Its state (id).
        state: &'static str,
        /// Its state (Chinese).
        state_zh: &'static str,
    },
    /// An input is invalid.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why, in Chinese and English.
        reason: String,
    },
    /// The store failed.
    #[error("workflow store: {0}")]
    Store(#[from] StoreError),
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } | Error::NoIncident(_) => ErrorKind::NotFound,
            Error::Transition(_) | Error::Locked { .. } => ErrorKind::Conflict,
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::Store(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(object: WorkflowObject, id: i64) -> Error {
        Error::NotFound { object, id }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

/// The improvement workflow over a store. Cheap to share behind an `Arc`.
pub struct Workflow {
    store: Arc<Store>,
    settings: WorkflowSettings,
    tz: Tz,
    entities: Vec<Entity>,
}

impl Workflow {
    /// A workflow over `store` with `settings`; `tz` is the local zone of briefing times and
    /// of dates in texts; `entities` give display names and the products and people of
    /// reports.
    pub fn new(
        store: Arc<Store>,
        settings: WorkflowSettings,
        tz: Tz,
        entities: Vec<Entity>,
    ) -> Workflow {
        Workflow {
            store,
            settings,
            tz,
            entities,
        }
    }

    /// A workflow from the loaded configuration (`[workflow]`, `timezone`, entities). An
    /// unparsable time zone (validation refuses it) falls back to Asia/Shanghai.
    pub fn from_config(store: Arc<Store>, config: &yuqing_config::Config) -> Workflow {
        let tz = config
            .settings
            .timezone
            .parse()
            .unwrap_or(chrono_tz::Asia::Shanghai);
        Workflow::new(
            store,
            config.settings.workflow.clone(),
            tz,
            config.entities.clone(),
        )
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The settings.
    pub fn settings(&self) -> &WorkflowSettings {
        &self.settings
    }

    /// The local time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The configured departments (for pickers).
    pub fn departments(&self) -> &[String] {
        &self.settings.departments
    }

    /// Display name of an entity (its id when unknown).
    pub fn entity_name(&self, id: &str) -> String {
        self.entities
            .iter()
            .find(|e| e.id == id)
            .map_or_else(|| id.to_string(), |e| e.name.clone())
    }

    /// The audit trail of one object, oldest first.
    pub fn audit(&self, object: WorkflowObject, id: i64) -> Result<Vec<AuditEntry>> {
        Ok(self.store.workflow_audit(object, id)?)
    }

    /// The workflow audit trail of an incident (report, review, measures, linked cases,
    /// evaluations, conclusion), oldest first.
    pub fn incident_audit(&self, incident_id: i64) -> Result<Vec<AuditEntry>> {
        Ok(self.store.workflow_audit_of_incident(incident_id)?)
    }

    fn incident(&self, id: i64) -> Result<yuqing_model::Incident> {
        self.store.incident(id)?.ok_or(Error::NoIncident(id))
    }

    fn check_department(&self, field: &'static str, d: &str) -> Result<()> {
        if self.settings.departments.iter().any(|x| x == d) {
            Ok(())
        } else {
            Err(Error::invalid(
                field,
                format!(
                    "「{d}」不在配置的部门列表中：{} (`{d}` is not a configured department)",
                    self.settings.departments.join("、")
                ),
            ))
        }
    }

    fn console_url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.settings.console_base_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

fn non_empty(field: &'static str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        Err(Error::invalid(field, "不能为空 (must not be empty)"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
