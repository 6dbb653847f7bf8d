//! Complaint cases (客户反馈处理): 受理 → 分析 → 处理 → 答复 → 关闭 on a deadline clock
//! (default 15 days, extendable with a reason); created by hand or from complaint-channel
//! documents about a watched entity, and linked to the incident their document joined.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use yuqing_incidents::event_time;
use yuqing_model::workflow::{
    Case, CaseNote, CaseReply, CaseStatus, DeadlineExtension, WorkflowObject, WorkflowState,
};
use yuqing_model::{Channel, Document};
use yuqing_store::CaseQuery;

use crate::audit::Audit;
use crate::measures::DueState;
use crate::{Error, Result, SYSTEM_ACTOR, Workflow, non_empty};

/// Characters of a document's body kept as a case's content.
pub const CASE_CONTENT_CHARS: usize = 1000;

/// A case entered by hand (hotline, walk-in, e-mail).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// Title.
    pub title: String,
    /// The complaint.
    #[serde(default)]
    pub content: String,
    /// The entity complained about.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// Where it came from (default `inbound`).
    #[serde(default = "inbound")]
    pub channel: Channel,
    /// Link, if any.
    #[serde(default)]
    pub url: Option<String>,
    /// The complainant.
    #[serde(default)]
    pub complainant: Option<String>,
    /// Who works it.
    #[serde(default)]
    pub assignee: Option<String>,
    /// The incident it belongs to.
    #[serde(default)]
    pub incident_id: Option<i64>,
    /// When it was accepted (default: now).
    #[serde(default)]
    pub accepted_at: Option<DateTime<Utc>>,
}

fn inbound() -> Channel {
    Channel::Inbound
}

/// Changes to a case; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaseEdit {
    /// Title.
    pub title: Option<String>,
    /// Content.
    pub content: Option<String>,
    /// Assignee.
    pub assignee: Option<Option<String>>,
    /// Complainant.
    pub complainant: Option<Option<String>>,
    /// Linked incident.
    pub incident_id: Option<Option<i64>>,
}

/// A case's deadline clock at some time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CaseClock {
    /// Where it stands.
    pub due: DueState,
    /// Hours since acceptance (to the answer once answered).
    pub elapsed_hours: f64,
    /// Hours to the deadline (negative: overdue by that many); `None` once answered.
    pub hours_left: Option<f64>,
    /// Answered after the deadline, or open past it.
    pub overdue: bool,
}

fn hours(d: Duration) -> f64 {
    d.num_seconds() as f64 / 3600.0
}

fn audit<'a>(c: &Case, actor: &'a str, action: &'a str, at: DateTime<Utc>) -> Audit<'a> {
    Audit {
        object: WorkflowObject::Case,
        object_id: c.id,
        incident_id: c.incident_id,
        actor,
        action,
        at,
    }
}

fn excerpt(s: &str, max: usize) -> String {
    let t = s.trim();
    if t.chars().count() <= max {
        t.to_string()
    } else {
        let mut out: String = t.chars().take(max).collect();
        out.push('…');
        out
    }
}

impl Workflow {
    /// The default deadline of a case accepted at `at`.
    pub fn case_deadline(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at + Duration::days(self.settings.case_deadline_days as i64)
    }

    /// A case's clock at `now`.
    pub fn case_clock(&self, c: &Case, now: DateTime<Utc>) -> CaseClock {
        let open = c.status.is_open();
        let end = if open {
            now
        } else {
            c.answered_at.unwrap_or(now)
        };
        CaseClock {
            due: DueState::of(open, c.deadline, now, self.due_soon()),
            elapsed_hours: hours(end - c.accepted_at),
            hours_left: open.then(|| hours(c.deadline - now)),
            overdue: c.overdue_at(now),
        }
    }

    fn insert_case(&self, c: &mut Case, actor: &str, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.store.workflow_tx()?;
        if let Some(i) = c.incident_id
            && !tx.incident_exists(i)?
        {
            return Err(Error::NoIncident(i));
        }
        let Some(id) = tx.insert_case(c)? else {
            return Ok(false);
        };
        c.id = id;
        audit(c, actor, "created", now).created(&mut tx, c)?;
        tx.commit()?;
        Ok(true)
    }

    /// Open a case by hand (受理 at `accepted_at`, default `now`).
    pub fn open_case(&self, new: &NewCase, actor: &str, now: DateTime<Utc>) -> Result<Case> {
        non_empty("title", &new.title)?;
        let accepted = new.accepted_at.unwrap_or(now);
        let mut c = Case {
            id: 0,
            status: CaseStatus::Accepted,
            title: new.title.trim().to_string(),
            content: new.content.clone(),
            entity_id: new.entity_id.clone(),
            channel: new.channel,
            source_id: None,
            source_doc: None,
            url: new.url.clone(),
            complainant: new.complainant.clone(),
            incident_id: new.incident_id,
            assignee: new.assignee.clone(),
            notes: Vec::new(),
            reply: None,
            accepted_at: accepted,
            deadline: self.case_deadline(accepted),
            extensions: Vec::new(),
            answered_at: None,
            closed_at: None,
            created_by: actor.to_string(),
            updated_at: now,
            updated_by: actor.to_string(),
        };
        self.insert_case(&mut c, actor, now)?;
        Ok(c)
    }

    /// Open a case for each committed document from a case channel (`case_source_channels`,
    /// default complaint and inbound) that mentions a case entity (`case_entities`, default
    /// every watched entity) and is at most `case_max_age_days` old; linked to the incident
    /// the document is attached to, if any. Idempotent: a document that already has a case is
    /// skipped, so the pipeline writer may call this after every commit, replays included.
    /// Returns the ids of the cases opened.
    pub fn cases_from_documents(&self, docs: &[Document], now: DateTime<Utc>) -> Result<Vec<i64>> {
        let s = &self.settings;
        let oldest = now - Duration::days(s.case_max_age_days as i64);
        let mut opened = Vec::new();
        for d in docs {
            if !s.case_source_channels.contains(&d.raw.channel) || event_time(d) < oldest {
                continue;
            }
            let entity = d
                .analysis
                .entity_ids()
                .into_iter()
                .find(|e| s.case_entities.is_empty() || s.case_entities.contains(e));
            let Some(entity) = entity else {
                continue;
            };
            if self.store.case_for_doc(&d.raw.id)?.is_some() {
                continue;
            }
            let incident_id = self.store.incidents_of_doc(&d.raw.id)?.first().copied();
            let title = if d.raw.title.trim().is_empty() {
                excerpt(&d.raw.body, 40)
            } else {
                d.raw.title.trim().to_string()
            };
            let mut c = Case {
                id: 0,
                status: CaseStatus::Accepted,
                title,
                content: excerpt(&d.raw.body, CASE_CONTENT_CHARS),
                entity_id: Some(entity),
                channel: d.raw.channel,
                source_id: Some(d.raw.source_id.clone()),
                source_doc: Some(d.raw.id.clone()),
                url: d.raw.url.clone(),
                complainant: d.raw.author.clone(),
                incident_id,
                assignee: None,
                notes: Vec::new(),
                reply: None,
                accepted_at: now,
                deadline: self.case_deadline(now),
                extensions: Vec::new(),
                answered_at: None,
                closed_at: None,
                created_by: SYSTEM_ACTOR.to_string(),
                updated_at: now,
                updated_by: SYSTEM_ACTOR.to_string(),
            };
            if self.insert_case(&mut c, SYSTEM_ACTOR, now)? {
                opened.push(c.id);
            }
        }
        Ok(opened)
    }

    /// [`Workflow::cases_from_documents`] over the stored documents whose event time is in
    /// `[since, now]`: the daemon calls it once at start-up to catch up documents committed
    /// just before a crash, before the writer could open their cases.
    pub fn cases_catch_up(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<i64>> {
        let mut opened = Vec::new();
        let end = now + Duration::seconds(1);
        self.store
            .for_each_document_in_window(since, end, None, 500, |docs| {
                let mine: Vec<Document> = docs
                    .into_iter()
                    .filter(|d| self.settings.case_source_channels.contains(&d.raw.channel))
                    .collect();
                opened.extend(self.cases_from_documents(&mine, now)?);
                Ok::<(), Error>(())
            })?;
        Ok(opened)
    }

    /// Link cases from documents that have since joined an incident; returns how many.
    pub fn link_cases_to_incidents(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut n = 0;
        for (id, doc) in self.store.unlinked_cases()? {
            let Some(inc) = self.store.incidents_of_doc(&doc)?.first().copied() else {
                continue;
            };
            self.update_case(id, SYSTEM_ACTOR, "linked", now, |c| {
                if c.incident_id.is_none() {
                    c.incident_id = Some(inc);
                }
                Ok(())
            })?;
            n += 1;
        }
        Ok(n)
    }

    /// One case.
    pub fn case(&self, id: i64) -> Result<Case> {
        self.store
            .case(id)?
            .ok_or_else(|| Error::not_found(WorkflowObject::Case, id))
    }

    /// Cases matching `q`, newest first.
    pub fn cases(&self, q: &CaseQuery) -> Result<Vec<Case>> {
        Ok(self.store.cases(q)?)
    }

    fn update_case(
        &self,
        id: i64,
        actor: &str,
        action: &str,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Case) -> Result<()>,
    ) -> Result<Case> {
        let mut tx = self.store.workflow_tx()?;
        let old = tx
            .case(id)?
            .ok_or_else(|| Error::not_found(WorkflowObject::Case, id))?;
        let mut new = old.clone();
        change(&mut new)?;
        if let Some(i) = new.incident_id
            && old.incident_id != Some(i)
            && !tx.incident_exists(i)?
        {
            return Err(Error::NoIncident(i));
        }
        new.updated_at = now;
        new.updated_by = actor.to_string();
        // Audited under the incident it belongs to after the change.
        let n = audit(&new, actor, action, now).changed(&mut tx, &old, &new)?;
        if n == 0 {
            return Ok(old);
        }
        tx.save_case(&new)?;
        tx.commit()?;
        Ok(new)
    }

    fn open_only(c: &Case) -> Result<()> {
        if c.status == CaseStatus::Closed {
            Err(Error::Locked {
                object: WorkflowObject::Case,
                id: c.id,
                state: c.status.as_str(),
                state_zh: c.status.zh(),
            })
        } else {
            Ok(())
        }
    }

    /// Edit a case that is not closed.
    pub fn edit_case(
        &self,
        id: i64,
        edit: &CaseEdit,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Case> {
        self.update_case(id, actor, "edited", now, |c| {
            Self::open_only(c)?;
            if let Some(t) = &edit.title {
                non_empty("title", t)?;
                c.title = t.trim().to_string();
            }
            if let Some(t) = &edit.content {
                c.content = t.clone();
            }
            if let Some(a) = &edit.assignee {
                c.assignee = a.clone();
            }
            if let Some(a) = &edit.complainant {
                c.complainant = a.clone();
            }
            if let Some(i) = edit.incident_id {
                c.incident_id = i;
            }
            Ok(())
        })
    }

    /// Add a note to a case.
    pub fn add_case_note(
        &self,
        id: i64,
        text: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Case> {
        non_empty("text", text)?;
        self.update_case(id, actor, "note", now, |c| {
            c.notes.push(CaseNote {
                at: now,
                by: actor.to_string(),
                text: text.trim().to_string(),
            });
            Ok(())
        })
    }

    /// Write (or rewrite) the reply to the customer without changing the state.
    pub fn set_case_reply(
        &self,
        id: i64,
        text: &str,
        channel: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Case> {
        non_empty("reply", text)?;
        non_empty("reply_channel", channel)?;
        self.update_case(id, actor, "reply", now, |c| {
            Self::open_only(c)?;
            c.reply = Some(CaseReply {
                text: text.trim().to_string(),
                channel: channel.trim().to_string(),
                at: now,
                by: actor.to_string(),
            });
            Ok(())
        })
    }

    /// Extend an open case's deadline to `to` (later than the current one) for `reason`.
    pub fn extend_case_deadline(
        &self,
        id: i64,
        to: DateTime<Utc>,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Case> {
        non_empty("reason", reason)?;
        self.update_case(id, actor, "extended", now, |c| {
            if !c.status.is_open() {
                return Err(Error::Locked {
                    object: WorkflowObject::Case,
                    id: c.id,
                    state: c.status.as_str(),
                    state_zh: c.status.zh(),
                });
            }
            if to <= c.deadline {
                return Err(Error::invalid(
                    "deadline",
                    "延期后的期限须晚于当前期限 (the new deadline must be later than the current one)",
                ));
            }
            c.extensions.push(DeadlineExtension {
                at: now,
                by: actor.to_string(),
                from: c.deadline,
                to,
                reason: reason.trim().to_string(),
            });
            c.deadline = to;
            Ok(())
        })
    }

    /// Move a case to `to` (受理 → 分析 → 处理 → 答复 → 关闭; 答复 → 处理 when the customer
    /// does not accept the answer). Answering needs a reply ([`Workflow::set_case_reply`])
    /// and stops the clock.
    pub fn set_case_status(
        &self,
        id: i64,
        to: CaseStatus,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Case> {
        self.update_case(id, actor, "status", now, |c| {
            c.status.check(id, to)?;
            match to {
                CaseStatus::Answered => {
                    if c.reply.is_none() {
                        return Err(Error::invalid(
                            "reply",
                            "答复前请先填写答复内容 (a case is answered with a reply: write it first)",
                        ));
                    }
                    c.answered_at = Some(now);
                }
                CaseStatus::Closed => c.closed_at = Some(now),
                _ => {}
            }
            c.status = to;
            Ok(())
        })
    }

    /// Write the reply and answer the case (处理 → 答复) in one change.
    pub fn answer_case(
        &self,
        id: i64,
        text: &str,
        channel: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Case> {
        non_empty("reply", text)?;
        non_empty("reply_channel", channel)?;
        self.update_case(id, actor, "answered", now, |c| {
            c.status.check(id, CaseStatus::Answered)?;
            c.reply = Some(CaseReply {
                text: text.trim().to_string(),
                channel: channel.trim().to_string(),
                at: now,
                by: actor.to_string(),
            });
            c.status = CaseStatus::Answered;
            c.answered_at = Some(now);
            Ok(())
        })
    }
}
