//! Improvement measures: owners, deadlines, planned → in progress → done → verified, progress
//! reports and on-site checks; and the supervision view over every open measure.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use yuqing_model::workflow::{
    CheckNote, Measure, MeasureCategory, MeasureStatus, ProgressUpdate, WorkflowObject,
    WorkflowState,
};
use yuqing_store::MeasureQuery;

use crate::audit::Audit;
use crate::{Error, Result, Workflow, non_empty};

/// A new measure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMeasure {
    /// Area.
    pub category: MeasureCategory,
    /// What will be done.
    pub description: String,
    /// Owning department (from the configured list).
    pub owner_department: String,
    /// Owning person.
    pub owner: String,
    /// Resources needed.
    #[serde(default)]
    pub resources: String,
    /// Deadline.
    pub deadline: DateTime<Utc>,
    /// The review's root cause it answers.
    #[serde(default)]
    pub root_cause: Option<u32>,
}

/// Changes to a measure; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeasureEdit {
    /// Area.
    pub category: Option<MeasureCategory>,
    /// Description.
    pub description: Option<String>,
    /// Owning department.
    pub owner_department: Option<String>,
    /// Owning person.
    pub owner: Option<String>,
    /// Resources.
    pub resources: Option<String>,
    /// Deadline.
    pub deadline: Option<DateTime<Utc>>,
    /// Root cause answered (`Some(None)` clears it).
    pub root_cause: Option<Option<u32>>,
}

/// Where something stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueState {
    /// Open, deadline more than the due-soon margin away.
    OnTrack,
    /// Open, deadline within the due-soon margin.
    DueSoon,
    /// Open, deadline passed.
    Overdue,
    /// No longer open (a measure done or verified, a case answered or closed).
    Stopped,
}

impl DueState {
    /// The state of something `open` with `deadline` at `now`, due soon within `soon`.
    pub fn of(open: bool, deadline: DateTime<Utc>, now: DateTime<Utc>, soon: Duration) -> DueState {
        if !open {
            DueState::Stopped
        } else if now > deadline {
            DueState::Overdue
        } else if deadline - now <= soon {
            DueState::DueSoon
        } else {
            DueState::OnTrack
        }
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            DueState::OnTrack => "正常",
            DueState::DueSoon => "即将到期",
            DueState::Overdue => "已逾期",
            DueState::Stopped => "已停止计时",
        }
    }
}

/// One row of the supervision view (督办): an open measure with its age and clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupervisionItem {
    /// The measure.
    pub measure: Measure,
    /// Its incident's title.
    pub incident_title: String,
    /// Days since it was created.
    pub age_days: f64,
    /// Days to its deadline (negative: overdue by that many).
    pub days_left: f64,
    /// Where it stands (`Stopped` for a done measure awaiting verification).
    pub due: DueState,
}

fn days(d: Duration) -> f64 {
    d.num_seconds() as f64 / 86_400.0
}

fn audit<'a>(m: &Measure, actor: &'a str, action: &'a str, at: DateTime<Utc>) -> Audit<'a> {
    Audit {
        object: WorkflowObject::Measure,
        object_id: m.id,
        incident_id: Some(m.incident_id),
        actor,
        action,
        at,
    }
}

impl Workflow {
    /// The due-soon margin.
    pub(crate) fn due_soon(&self) -> Duration {
        Duration::days(self.settings.due_soon_days as i64)
    }

    fn check_root_cause(&self, incident_id: i64, rc: Option<u32>) -> Result<()> {
        let Some(id) = rc else {
            return Ok(());
        };
        let known = self
            .store
            .review(incident_id)?
            .is_some_and(|r| r.root_causes.iter().any(|c| c.id == id));
        if known {
            Ok(())
        } else {
            Err(Error::invalid(
                "root_cause",
                format!("复盘中没有根因#{id} (the review has no root cause {id})"),
            ))
        }
    }

    /// Add a measure (planned) to an incident.
    pub fn add_measure(
        &self,
        incident_id: i64,
        new: &NewMeasure,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Measure> {
        self.incident(incident_id)?;
        non_empty("description", &new.description)?;
        non_empty("owner", &new.owner)?;
        self.check_department("owner_department", &new.owner_department)?;
        self.check_root_cause(incident_id, new.root_cause)?;
        let mut m = Measure {
            id: 0,
            incident_id,
            category: new.category,
            description: new.description.trim().to_string(),
            owner_department: new.owner_department.clone(),
            owner: new.owner.trim().to_string(),
            resources: new.resources.clone(),
            deadline: new.deadline,
            status: MeasureStatus::Planned,
            root_cause: new.root_cause,
            progress: Vec::new(),
            checks: Vec::new(),
            created_at: now,
            created_by: actor.to_string(),
            updated_at: now,
            updated_by: actor.to_string(),
            started_at: None,
            done_at: None,
            verified_at: None,
            verified_by: None,
        };
        let mut tx = self.store.workflow_tx()?;
        m.id = tx.insert_measure(&m)?;
        audit(&m, actor, "created", now).created(&mut tx, &m)?;
        tx.commit()?;
        Ok(m)
    }

    /// One measure.
    pub fn measure(&self, id: i64) -> Result<Measure> {
        self.store
            .measure(id)?
            .ok_or_else(|| Error::not_found(WorkflowObject::Measure, id))
    }

    /// Measures matching `q` (e.g. one incident's), by incident then id.
    pub fn measures(&self, q: &MeasureQuery) -> Result<Vec<Measure>> {
        Ok(self.store.measures(q)?)
    }

    /// Apply `change` to measure `id` in one transaction with its audit rows.
    fn update_measure(
        &self,
        id: i64,
        actor: &str,
        action: &str,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Measure) -> Result<()>,
    ) -> Result<Measure> {
        let mut tx = self.store.workflow_tx()?;
        let old = tx
            .measure(id)?
            .ok_or_else(|| Error::not_found(WorkflowObject::Measure, id))?;
        let mut new = old.clone();
        change(&mut new)?;
        new.updated_at = now;
        new.updated_by = actor.to_string();
        let n = audit(&old, actor, action, now).changed(&mut tx, &old, &new)?;
        if n == 0 {
            return Ok(old);
        }
        tx.save_measure(&new)?;
        tx.commit()?;
        Ok(new)
    }

    /// Edit a measure that is not verified.
    pub fn edit_measure(
        &self,
        id: i64,
        edit: &MeasureEdit,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Measure> {
        let current = self.measure(id)?;
        if let Some(d) = &edit.owner_department {
            self.check_department("owner_department", d)?;
        }
        if let Some(rc) = edit.root_cause {
            self.check_root_cause(current.incident_id, rc)?;
        }
        self.update_measure(id, actor, "edited", now, |m| {
            if m.status == MeasureStatus::Verified {
                return Err(Error::Locked {
                    object: WorkflowObject::Measure,
                    id,
                    state: m.status.as_str(),
                    state_zh: m.status.zh(),
                });
            }
            if let Some(c) = edit.category {
                m.category = c;
            }
            if let Some(d) = &edit.description {
                non_empty("description", d)?;
                m.description = d.trim().to_string();
            }
            if let Some(d) = &edit.owner_department {
                m.owner_department = d.clone();
            }
            if let Some(o) = &edit.owner {
                non_empty("owner", o)?;
                m.owner = o.trim().to_string();
            }
            if let Some(r) = &edit.resources {
                m.resources = r.clone();
            }
            if let Some(d) = edit.deadline {
                m.deadline = d;
            }
            if let Some(rc) = edit.root_cause {
                m.root_cause = rc;
            }
            Ok(())
        })
    }

    /// Move a measure to `to` (planned → in progress → done → verified; done → in progress
    /// when verification fails). Done records the done time, the evaluation's pivot.
    pub fn set_measure_status(
        &self,
        id: i64,
        to: MeasureStatus,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Measure> {
        self.update_measure(id, actor, "status", now, |m| {
            m.status.check(id, to)?;
            m.status = to;
            match to {
                MeasureStatus::InProgress => m.started_at = Some(now),
                MeasureStatus::Done => m.done_at = Some(now),
                MeasureStatus::Verified => {
                    m.verified_at = Some(now);
                    m.verified_by = Some(actor.to_string());
                }
                MeasureStatus::Planned => {}
            }
            Ok(())
        })
    }

    /// Add a dated progress report (定期汇报).
    pub fn add_progress(
        &self,
        id: i64,
        text: &str,
        percent: Option<u8>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Measure> {
        non_empty("text", text)?;
        if percent.is_some_and(|p| p > 100) {
            return Err(Error::invalid("percent", "须在 0–100 之间 (must be 0–100)"));
        }
        self.update_measure(id, actor, "progress", now, |m| {
            m.progress.push(ProgressUpdate {
                at: now,
                by: actor.to_string(),
                text: text.trim().to_string(),
                percent,
            });
            Ok(())
        })
    }

    /// Add an on-site check note (现场检查).
    pub fn add_check(
        &self,
        id: i64,
        text: &str,
        passed: Option<bool>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Measure> {
        non_empty("text", text)?;
        self.update_measure(id, actor, "check", now, |m| {
            m.checks.push(CheckNote {
                at: now,
                by: actor.to_string(),
                text: text.trim().to_string(),
                passed,
            });
            Ok(())
        })
    }

    /// Where a measure stands against its deadline at `now`.
    pub fn measure_due(&self, m: &Measure, now: DateTime<Utc>) -> DueState {
        DueState::of(m.status.is_open(), m.deadline, now, self.due_soon())
    }

    /// The supervision view (督办): every measure not yet verified, across incidents, with
    /// its age and deadline clock; overdue first, then by deadline.
    pub fn supervision(&self, now: DateTime<Utc>) -> Result<Vec<SupervisionItem>> {
        let ms = self.store.measures(&MeasureQuery {
            statuses: vec![
                MeasureStatus::Planned,
                MeasureStatus::InProgress,
                MeasureStatus::Done,
            ],
            ..Default::default()
        })?;
        let mut titles = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(ms.len());
        for m in ms {
            let title = match titles.get(&m.incident_id) {
                Some(t) => t,
                None => {
                    let t = self
                        .store
                        .incident(m.incident_id)?
                        .map(|i| i.title)
                        .unwrap_or_default();
                    titles.entry(m.incident_id).or_insert(t)
                }
            }
            .clone();
            out.push(SupervisionItem {
                incident_title: title,
                age_days: days(now - m.created_at),
                days_left: days(m.deadline - now),
                due: self.measure_due(&m, now),
                measure: m,
            });
        }
        let rank = |d: DueState| match d {
            DueState::Overdue => 0,
            DueState::DueSoon => 1,
            DueState::OnTrack => 2,
            DueState::Stopped => 3,
        };
        out.sort_by(|a, b| {
            rank(a.due)
                .cmp(&rank(b.due))
                .then(a.measure.deadline.cmp(&b.measure.deadline))
                .then(a.measure.id.cmp(&b.measure.id))
        });
        Ok(out)
    }
}
