//! The review (复盘): seven dimensions with findings and evidence, root causes, participants
//! and departments; draft → in review → approved.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use yuqing_incidents::event_time;
use yuqing_model::workflow::{
    DimensionFinding, MeasureStatus, Review, ReviewStatus, RootCause, WorkflowObject, WorkflowState,
};
use yuqing_model::{Dimension, DocId};
use yuqing_store::MeasureQuery;

use crate::audit::Audit;
use crate::{Error, Result, Workflow};

/// Evidence documents pre-selected per dimension.
pub const MAX_PRESELECTED_EVIDENCE: usize = 10;

/// Changes to one dimension; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionEdit {
    /// Which dimension.
    pub dimension: Dimension,
    /// Whether it applies.
    #[serde(default)]
    pub applies: Option<bool>,
    /// The finding.
    #[serde(default)]
    pub finding: Option<String>,
    /// The evidence documents (replacing the list).
    #[serde(default)]
    pub evidence: Option<Vec<DocId>>,
}

/// A root cause as edited: an existing one keeps its `id`, a new one has none.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootCauseEdit {
    /// The id of an existing root cause; `None` for a new one.
    #[serde(default)]
    pub id: Option<u32>,
    /// The cause.
    pub text: String,
    /// The dimensions it explains.
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
}

/// Changes to a review; `None` (or an empty `dimensions`) leaves a part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewEdit {
    /// Dimensions to change.
    pub dimensions: Vec<DimensionEdit>,
    /// The full list of root causes (removing one a measure answers is refused).
    pub root_causes: Option<Vec<RootCauseEdit>>,
    /// Participants.
    pub participants: Option<Vec<String>>,
    /// Departments (from the configured list).
    pub departments: Option<Vec<String>>,
    /// External experts consulted.
    pub external_experts: Option<String>,
    /// 复盘总结.
    pub summary: Option<String>,
}

fn audit<'a>(incident_id: i64, actor: &'a str, action: &'a str, at: DateTime<Utc>) -> Audit<'a> {
    Audit {
        object: WorkflowObject::Review,
        object_id: incident_id,
        incident_id: Some(incident_id),
        actor,
        action,
        at,
    }
}

impl Workflow {
    /// The incident's review, if started.
    pub fn review(&self, incident_id: i64) -> Result<Option<Review>> {
        Ok(self.store.review(incident_id)?)
    }

    /// Every attached document carrying each dimension, in time order: the evidence the
    /// console offers to pick from.
    pub fn evidence_candidates(&self, incident_id: i64) -> Result<BTreeMap<Dimension, Vec<DocId>>> {
        let mut out: BTreeMap<Dimension, Vec<(DateTime<Utc>, DocId)>> = BTreeMap::new();
        for a in self
            .store
            .incident_docs(incident_id)?
            .iter()
            .take(crate::report::MAX_REPORT_DOCS)
        {
            let Some(d) = self.store.document(&a.doc_id)? else {
                continue;
            };
            for t in &d.analysis.dimensions {
                out.entry(t.dimension)
                    .or_default()
                    .push((event_time(&d), d.raw.id.clone()));
            }
        }
        Ok(out
            .into_iter()
            .map(|(k, mut v)| {
                v.sort();
                v.dedup();
                (k, v.into_iter().map(|(_, id)| id).collect())
            })
            .collect())
    }

    /// Start the incident's review as a draft with each dimension's evidence pre-selected
    /// from the documents' dimension tags (and marked as applying when there is any); an
    /// existing review is returned as it is.
    pub fn start_review(
        &self,
        incident_id: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        if let Some(r) = self.store.review(incident_id)? {
            return Ok(r);
        }
        self.incident(incident_id)?;
        let mut candidates = self.evidence_candidates(incident_id)?;
        let review = Review {
            incident_id,
            status: ReviewStatus::Draft,
            dimensions: Dimension::ALL
                .into_iter()
                .map(|d| {
                    let mut evidence = candidates.remove(&d).unwrap_or_default();
                    evidence.truncate(MAX_PRESELECTED_EVIDENCE);
                    DimensionFinding {
                        dimension: d,
                        applies: !evidence.is_empty(),
                        finding: String::new(),
                        evidence,
                    }
                })
                .collect(),
            root_causes: Vec::new(),
            participants: Vec::new(),
            departments: Vec::new(),
            external_experts: String::new(),
            summary: String::new(),
            created_at: now,
            created_by: actor.to_string(),
            updated_at: now,
            updated_by: actor.to_string(),
            submitted_at: None,
            submitted_by: None,
            approved_at: None,
            approved_by: None,
        };
        let mut tx = self.store.workflow_tx()?;
        if let Some(r) = tx.review(incident_id)? {
            return Ok(r);
        }
        tx.save_review(&review)?;
        audit(incident_id, actor, "created", now).created(&mut tx, &review)?;
        tx.commit()?;
        Ok(review)
    }

    /// Edit a review that is not approved; every changed field is audited.
    pub fn edit_review(
        &self,
        incident_id: i64,
        edit: &ReviewEdit,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        // Checks that read other rows happen before the write transaction.
        for d in edit.departments.iter().flatten() {
            self.check_department("departments", d)?;
        }
        for de in &edit.dimensions {
            for id in de.evidence.iter().flatten() {
                if self.store.document(id)?.is_none() {
                    return Err(Error::invalid(
                        "evidence",
                        format!("文档 {id} 不存在 (document {id} not found)"),
                    ));
                }
            }
        }
        let answered: Vec<u32> = self
            .store
            .measures(&MeasureQuery {
                incident_id: Some(incident_id),
                ..Default::default()
            })?
            .into_iter()
            .filter_map(|m| m.root_cause)
            .collect();

        let mut tx = self.store.workflow_tx()?;
        let old = tx
            .review(incident_id)?
            .ok_or_else(|| Error::not_found(WorkflowObject::Review, incident_id))?;
        if old.status == ReviewStatus::Approved {
            return Err(Error::Locked {
                object: WorkflowObject::Review,
                id: incident_id,
                state: old.status.as_str(),
                state_zh: old.status.zh(),
            });
        }
        let mut new = old.clone();
        for de in &edit.dimensions {
            let Some(f) = new
                .dimensions
                .iter_mut()
                .find(|f| f.dimension == de.dimension)
            else {
                continue;
            };
            if let Some(a) = de.applies {
                f.applies = a;
            }
            if let Some(t) = &de.finding {
                f.finding = t.clone();
            }
            if let Some(e) = &de.evidence {
                let mut e = e.clone();
                e.dedup();
                f.evidence = e;
            }
        }
        if let Some(rcs) = &edit.root_causes {
            let mut next = old
                .root_causes
                .iter()
                .map(|r| r.id)
                .chain(rcs.iter().filter_map(|r| r.id))
                .max()
                .unwrap_or(0)
                + 1;
            let mut out = Vec::new();
            for rc in rcs {
                crate::non_empty("root_causes.text", &rc.text)?;
                let id = match rc.id {
                    Some(id) if old.root_causes.iter().any(|r| r.id == id) => id,
                    Some(id) => {
                        return Err(Error::invalid(
                            "root_causes.id",
                            format!("根因#{id} 不存在 (root cause {id} not found)"),
                        ));
                    }
                    None => {
                        next += 1;
                        next - 1
                    }
                };
                let mut dims = rc.dimensions.clone();
                dims.sort();
                dims.dedup();
                out.push(RootCause {
                    id,
                    text: rc.text.trim().to_string(),
                    dimensions: dims,
                });
            }
            for a in &answered {
                if old.root_causes.iter().any(|r| r.id == *a) && !out.iter().any(|r| r.id == *a) {
                    return Err(Error::invalid(
                        "root_causes",
                        format!(
                            "根因#{a} 已有改进措施对应，不能删除 (root cause {a} is answered by a measure)"
                        ),
                    ));
                }
            }
            new.root_causes = out;
        }
        if let Some(p) = &edit.participants {
            new.participants = p
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if let Some(d) = &edit.departments {
            let mut d = d.clone();
            d.dedup();
            new.departments = d;
        }
        if let Some(e) = &edit.external_experts {
            new.external_experts = e.clone();
        }
        if let Some(s) = &edit.summary {
            new.summary = s.clone();
        }
        new.updated_at = now;
        new.updated_by = actor.to_string();
        let n = audit(incident_id, actor, "edited", now).changed(&mut tx, &old, &new)?;
        if n == 0 {
            return Ok(old);
        }
        tx.save_review(&new)?;
        tx.commit()?;
        Ok(new)
    }

    /// Move the review to `to`: submit (draft → in review), return (in review → draft),
    /// approve (in review → approved, the approver recorded) or reopen (approved → draft).
    pub fn set_review_status(
        &self,
        incident_id: i64,
        to: ReviewStatus,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Review> {
        let mut tx = self.store.workflow_tx()?;
        let old = tx
            .review(incident_id)?
            .ok_or_else(|| Error::not_found(WorkflowObject::Review, incident_id))?;
        old.status.check(incident_id, to)?;
        let mut new = old.clone();
        new.status = to;
        match to {
            ReviewStatus::InReview => {
                new.submitted_at = Some(now);
                new.submitted_by = Some(actor.to_string());
            }
            ReviewStatus::Approved => {
                new.approved_at = Some(now);
                new.approved_by = Some(actor.to_string());
            }
            ReviewStatus::Draft => {
                new.approved_at = None;
                new.approved_by = None;
            }
        }
        new.updated_at = now;
        new.updated_by = actor.to_string();
        audit(incident_id, actor, "status", now).changed(&mut tx, &old, &new)?;
        tx.save_review(&new)?;
        tx.commit()?;
        Ok(new)
    }

    /// Whether any of the incident's measures is still planned or in progress.
    pub(crate) fn has_open_measures(&self, incident_id: i64) -> Result<bool> {
        Ok(self
            .store
            .measures(&MeasureQuery {
                incident_id: Some(incident_id),
                statuses: vec![MeasureStatus::Planned, MeasureStatus::InProgress],
                ..Default::default()
            })?
            .into_iter()
            .next()
            .is_some())
    }
}
