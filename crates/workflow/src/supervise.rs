//! Supervision (督办): due-soon and overdue reminders for measures and cases, scheduled
//! briefings, drafting missing event reports (and re-drafting their facts once the incident
//! resolves, so the report covers the whole event), linking cases to incidents; one
//! [`Workflow::tick`] does them all, [`run_supervisor`] calls it periodically.
//!
//! Every reminder is an outbox row with a deterministic dedup key, written with `INSERT OR
//! IGNORE`: a measure overdue since its deadline `D` is reminded once as
//! `measure:{id}:overdue:{D}#{channel}` and, with `overdue_repeat_days = r`, again every `r`
//! days as `…:overdue:{D}:{n}`; due soon once as `measure:{id}:due_soon:{D}`. Moving the
//! deadline makes a new due event. Cases use `case:{id}:…`. A briefing's period is recorded
//! in `workflow_schedule` in the transaction that queues it (keys
//! `briefing:{kind}:{local date}#{channel}`), so a restart neither repeats nor skips it; only
//! the latest missed period is sent.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use yuqing_config::ClockTime;
use yuqing_model::workflow::{Case, CaseStatus, Measure, MeasureStatus, WorkflowState};
use yuqing_model::{Notification, NotificationKind, Severity};
use yuqing_notify::render::escape_markdown;
use yuqing_store::{CaseQuery, MeasureQuery};

use crate::briefing::BriefingKind;
use crate::clock::Clock;
use crate::measures::DueState;
use crate::{Result, Workflow};

/// Incidents opened within this many days get an event report drafted by the supervisor.
pub const DRAFT_REPORTS_FOR_DAYS: i64 = 30;

/// What one reminder pass found and queued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReminderReport {
    /// Open measures past their deadline.
    pub measures_overdue: usize,
    /// Open measures due soon.
    pub measures_due_soon: usize,
    /// Open cases past their deadline.
    pub cases_overdue: usize,
    /// Open cases due soon.
    pub cases_due_soon: usize,
    /// Outbox rows newly queued (0 when every due event was already reminded).
    pub queued: usize,
}

/// What one supervisor pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Event reports drafted.
    pub reports_drafted: usize,
    /// Event reports re-drafted from the data because their incident resolved since.
    pub reports_refreshed: usize,
    /// Cases linked to the incident their document joined.
    pub cases_linked: usize,
    /// Reminders.
    pub reminders: ReminderReport,
    /// Briefings sent this pass, as `kind:period`.
    pub briefings: Vec<String>,
    /// Outbox rows newly queued, reminders and briefings.
    pub queued: usize,
}

fn span_zh(d: Duration) -> String {
    let d = d.abs();
    if d >= Duration::days(1) {
        format!("{}天", d.num_days())
    } else if d >= Duration::hours(1) {
        format!("{}小时", d.num_hours())
    } else {
        format!("{}分钟", d.num_minutes().max(1))
    }
}

fn key_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The dedup key (without `#channel`) of a reminder for `object` `id` in `state` with
/// `deadline` at `now`, or `None` when nothing is due.
pub(crate) fn reminder_key(
    object: &str,
    id: i64,
    state: DueState,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
    repeat_days: u32,
) -> Option<String> {
    let d = key_time(deadline);
    match state {
        DueState::DueSoon => Some(format!("{object}:{id}:due_soon:{d}")),
        DueState::Overdue => {
            let n = if repeat_days == 0 {
                0
            } else {
                (now - deadline).num_seconds() / (repeat_days as i64 * 86_400)
            };
            Some(if n == 0 {
                format!("{object}:{id}:overdue:{d}")
            } else {
                format!("{object}:{id}:overdue:{d}:{n}")
            })
        }
        DueState::OnTrack | DueState::Stopped => None,
    }
}

/// The latest local `at` on a day accepted by `day_ok`, at or before `now`.
fn latest_slot(
    tz: chrono_tz::Tz,
    at: ClockTime,
    now: DateTime<Utc>,
    day_ok: impl Fn(NaiveDate) -> bool,
) -> Option<DateTime<Utc>> {
    let today = now.with_timezone(&tz).date_naive();
    (0..8).find_map(|back| {
        let day = today - Duration::days(back);
        if !day_ok(day) {
            return None;
        }
        let naive = day.and_hms_opt(at.hour, at.minute, 0)?;
        let t = tz
            .from_local_datetime(&naive)
            .earliest()?
            .with_timezone(&Utc);
        (t <= now).then_some(t)
    })
}

impl Workflow {
    fn local(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    fn measure_reminder(
        &self,
        m: &Measure,
        incident_title: &str,
        state: DueState,
        now: DateTime<Utc>,
    ) -> Notification {
        let overdue = state == DueState::Overdue;
        let clock = if overdue {
            format!("已逾期{}", span_zh(now - m.deadline))
        } else {
            format!("剩余{}", span_zh(m.deadline - now))
        };
        Notification {
            kind: NotificationKind::Reminder,
            incident_id: Some(m.incident_id),
            severity: if overdue {
                Severity::High
            } else {
                Severity::Medium
            },
            title: format!(
                "{}：{}",
                if overdue {
                    "改进措施已逾期"
                } else {
                    "改进措施即将到期"
                },
                m.description.chars().take(40).collect::<String>()
            ),
            entity: None,
            lines: vec![
                format!(
                    "**事件**：#{} {}",
                    m.incident_id,
                    escape_markdown(incident_title)
                ),
                format!(
                    "**措施**：#{} {}（{}）",
                    m.id,
                    escape_markdown(&m.description),
                    m.category.zh()
                ),
                format!(
                    "**责任**：{} · {}",
                    escape_markdown(&m.owner_department),
                    escape_markdown(&m.owner)
                ),
                format!("**期限**：{}（{clock}）", self.local(m.deadline)),
                format!("**状态**：{}", m.status.zh()),
            ],
            top_docs: Vec::new(),
            console_url: Some(self.console_url(&format!("incidents/{}", m.incident_id))),
            mentions: Vec::new(),
        }
    }

    fn case_reminder(&self, c: &Case, state: DueState, now: DateTime<Utc>) -> Notification {
        let overdue = state == DueState::Overdue;
        let clock = if overdue {
            format!("已逾期{}", span_zh(now - c.deadline))
        } else {
            format!("剩余{}", span_zh(c.deadline - now))
        };
        Notification {
            kind: NotificationKind::Reminder,
            incident_id: c.incident_id,
            severity: if overdue {
                Severity::High
            } else {
                Severity::Medium
            },
            title: format!(
                "{}：{}",
                if overdue {
                    "投诉工单已逾期"
                } else {
                    "投诉工单即将到期"
                },
                c.title.chars().take(40).collect::<String>()
            ),
            entity: c.entity_id.as_deref().map(|e| self.entity_name(e)),
            lines: vec![
                format!("**工单**：#{} {}", c.id, escape_markdown(&c.title)),
                format!(
                    "**处理人**：{}　**状态**：{}",
                    escape_markdown(c.assignee.as_deref().unwrap_or("未指派")),
                    c.status.zh()
                ),
                format!(
                    "**受理**：{}　**期限**：{}（{clock}）",
                    self.local(c.accepted_at),
                    self.local(c.deadline)
                ),
            ],
            top_docs: Vec::new(),
            console_url: Some(self.console_url(&format!("cases/{}", c.id))),
            mentions: Vec::new(),
        }
    }

    fn enqueue_all(
        &self,
        channels: &[String],
        key: &str,
        n: &Notification,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        if channels.is_empty() {
            tracing::debug!(key, "workflow reminder has no channel configured");
            return Ok(0);
        }
        let mut tx = self.store.workflow_tx()?;
        let mut queued = 0;
        for ch in channels {
            queued += tx.enqueue(ch, &format!("{key}#{ch}"), n, now)? as usize;
        }
        tx.commit()?;
        Ok(queued)
    }

    /// Queue the due-soon and overdue reminders of open measures (to their department's
    /// channels) and open cases (to the case channels), each due event once.
    pub fn send_reminders(&self, now: DateTime<Utc>) -> Result<ReminderReport> {
        let mut r = ReminderReport::default();
        let repeat = self.settings.overdue_repeat_days;
        let measures = self.store.measures(&MeasureQuery {
            statuses: vec![MeasureStatus::Planned, MeasureStatus::InProgress],
            ..Default::default()
        })?;
        let mut titles = std::collections::HashMap::new();
        for m in &measures {
            let state = self.measure_due(m, now);
            match state {
                DueState::Overdue => r.measures_overdue += 1,
                DueState::DueSoon => r.measures_due_soon += 1,
                _ => continue,
            }
            let Some(key) = reminder_key("measure", m.id, state, m.deadline, now, repeat) else {
                continue;
            };
            let title = match titles.entry(m.incident_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    self.store
                        .incident(m.incident_id)?
                        .map(|i| i.title)
                        .unwrap_or_default(),
                ),
            };
            let n = self.measure_reminder(m, title, state, now);
            r.queued += self.enqueue_all(
                self.settings.measure_channels(&m.owner_department),
                &key,
                &n,
                now,
            )?;
        }
        let cases = self.store.cases(&CaseQuery {
            statuses: vec![
                CaseStatus::Accepted,
                CaseStatus::Analyzing,
                CaseStatus::Handling,
            ],
            due_before: Some(now + self.due_soon()),
            ..Default::default()
        })?;
        for c in &cases {
            let state = DueState::of(true, c.deadline, now, self.due_soon());
            match state {
                DueState::Overdue => r.cases_overdue += 1,
                DueState::DueSoon => r.cases_due_soon += 1,
                _ => continue,
            }
            let Some(key) = reminder_key("case", c.id, state, c.deadline, now, repeat) else {
                continue;
            };
            let n = self.case_reminder(c, state, now);
            r.queued += self.enqueue_all(self.settings.case_reminder_channels(), &key, &n, now)?;
        }
        Ok(r)
    }

    /// The latest scheduled time of a briefing at or before `now`, if it is enabled.
    pub fn briefing_slot(&self, kind: BriefingKind, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let b = &self.settings.briefing;
        match kind {
            BriefingKind::Daily if b.daily => latest_slot(self.tz, b.daily_at, now, |_| true),
            BriefingKind::Weekly if b.weekly => latest_slot(self.tz, b.weekly_at, now, |d| {
                d.weekday().num_days_from_monday() == b.weekly_day.days_from_monday()
            }),
            _ => None,
        }
    }

    /// Send the latest due briefing of `kind` unless its period was already sent; returns
    /// the period sent and the rows queued.
    pub fn send_due_briefing(
        &self,
        kind: BriefingKind,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, usize)>> {
        let Some(slot) = self.briefing_slot(kind, now) else {
            return Ok(None);
        };
        let job = format!("briefing:{}", kind.as_str());
        let period = slot.with_timezone(&self.tz).format("%Y-%m-%d").to_string();
        {
            let mut tx = self.store.workflow_tx()?;
            if tx.last_run(&job)?.is_some_and(|p| p >= period) {
                return Ok(None);
            }
        }
        let b = self.briefing(kind, slot, now)?;
        let n = self.briefing_notification(&b);
        let mut tx = self.store.workflow_tx()?;
        if tx.last_run(&job)?.is_some_and(|p| p >= period) {
            return Ok(None);
        }
        let mut queued = 0;
        for ch in &self.settings.briefing.channels {
            let key = format!("briefing:{}:{period}#{ch}", kind.as_str());
            queued += tx.enqueue(ch, &key, &n, now)? as usize;
        }
        tx.set_last_run(&job, &period, now)?;
        tx.commit()?;
        tracing::info!(kind = kind.as_str(), period, queued, "briefing sent");
        Ok(Some((period, queued)))
    }

    /// One supervisor pass at `now`: draft missing event reports of recent incidents, link
    /// cases to incidents, queue reminders, send due briefings. A failing step is logged and
    /// the others still run; the first error is returned after all ran.
    pub fn tick(&self, now: DateTime<Utc>) -> Result<TickReport> {
        let mut r = TickReport::default();
        let mut first_err = None;
        let mut keep = |e: crate::Error, what: &str| {
            tracing::error!(error = %e, what, "workflow supervisor step failed");
            if first_err.is_none() {
                first_err = Some(e);
            }
        };
        match self
            .store
            .incidents_without_report(now - Duration::days(DRAFT_REPORTS_FOR_DAYS))
        {
            Ok(ids) => {
                for id in ids {
                    match self.event_report(id, now) {
                        Ok(_) => r.reports_drafted += 1,
                        Err(e) => keep(e, "draft event report"),
                    }
                }
            }
            Err(e) => keep(e.into(), "list incidents without report"),
        }
        match self.store.reports_to_refresh() {
            Ok(ids) => {
                for id in ids {
                    match self.refresh_report(id, crate::SYSTEM_ACTOR, now) {
                        Ok(_) => r.reports_refreshed += 1,
                        Err(e) => keep(e, "refresh event report"),
                    }
                }
            }
            Err(e) => keep(e.into(), "list event reports to refresh"),
        }
        match self.link_cases_to_incidents(now) {
            Ok(n) => r.cases_linked = n,
            Err(e) => keep(e, "link cases"),
        }
        match self.send_reminders(now) {
            Ok(rem) => r.reminders = rem,
            Err(e) => keep(e, "reminders"),
        }
        for kind in [BriefingKind::Daily, BriefingKind::Weekly] {
            match self.send_due_briefing(kind, now) {
                Ok(Some((period, q))) => {
                    r.briefings.push(format!("{}:{period}", kind.as_str()));
                    r.queued += q;
                }
                Ok(None) => {}
                Err(e) => keep(e, "briefing"),
            }
        }
        r.queued += r.reminders.queued;
        match first_err {
            Some(e) => Err(e),
            None => Ok(r),
        }
    }
}

/// Run [`Workflow::tick`] every `supervisor_interval_secs` on a blocking thread until
/// `cancel` fires; `wake` (the deliverer's waker) is notified when rows were queued.
pub async fn run_supervisor(
    workflow: Arc<Workflow>,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
    wake: Option<Arc<tokio::sync::Notify>>,
) {
    let interval =
        std::time::Duration::from_secs(workflow.settings.supervisor_interval_secs.max(1));
    loop {
        let now = clock.now();
        let wf = workflow.clone();
        match tokio::task::spawn_blocking(move || wf.tick(now)).await {
            Ok(Ok(r)) => {
                if r.queued > 0
                    && let Some(w) = &wake
                {
                    w.notify_one();
                }
                if r.queued > 0 || r.reports_drafted > 0 || r.cases_linked > 0 {
                    tracing::info!(
                        queued = r.queued,
                        reports = r.reports_drafted,
                        cases_linked = r.cases_linked,
                        "workflow supervisor pass"
                    );
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "workflow supervisor pass failed"),
            Err(e) => tracing::error!(error = %e, "workflow supervisor pass panicked"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
