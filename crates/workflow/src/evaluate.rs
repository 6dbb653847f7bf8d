//! Effect evaluation (效果评估): before/after figures from the monitored data around a pivot
//! (a measure's done time, or a given time), with counts and a significance test, plus
//! hand-entered inputs.
//!
//! Windows: before `[pivot − w, pivot)`, after `[pivot, min(pivot + w, now))`, by document
//! event time. A document is negative when its sentiment towards the entity (else the
//! document's) is negative; mean sentiment uses the same score. The negative-rate change is
//! tested with the two-proportion z-test over the pooled rate:
//! `z = (p₂ − p₁) / √(p(1 − p)(1/n₁ + 1/n₂))`, `p = (x₁ + x₂)/(n₁ + n₂)`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use yuqing_incidents::event_time;
use yuqing_model::workflow::{
    Case, CaseFigures, CaseStatus, DocFigures, Evaluation, EvaluationTopic, ManualInputs,
    MeasureStatus, PeriodComparison, WorkflowObject,
};
use yuqing_model::{Channel, Document, Incident, SentimentLabel};
use yuqing_store::{CaseQuery, MeasureQuery};

use crate::audit::Audit;
use crate::report::entity_sentiment;
use crate::{Error, Result, Workflow};

/// Most terms taken from an incident as its topic.
pub const TOPIC_MAX_TERMS: usize = 10;
/// Most risk categories taken from an incident as its topic.
pub const TOPIC_MAX_RISKS: usize = 3;

/// What to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationSpec {
    /// The entity.
    pub entity_id: String,
    /// The topic within its documents (empty: no topic figures).
    #[serde(default)]
    pub topic: EvaluationTopic,
    /// The pivot time.
    pub pivot: DateTime<Utc>,
    /// Length of each window, days.
    pub window_days: u32,
}

/// Two-proportion z-score of the change from `x1/n1` to `x2/n2` (positive: the rate rose);
/// `None` when a sample is empty or the pooled rate is 0 or 1.
pub fn two_proportion_z(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let p = (x1 + x2) / (n1 + n2);
    let se = (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
    (se > 0.0).then(|| (x2 / n2 - x1 / n1) / se)
}

fn on_topic(d: &Document, t: &EvaluationTopic) -> bool {
    t.cluster
        .as_ref()
        .is_some_and(|c| d.cluster.as_ref().is_some_and(|dc| &dc.id == c) || &d.raw.id == c)
        || t.risks
            .iter()
            .any(|r| d.analysis.risks.iter().any(|x| &x.id == r))
        || t.terms.iter().any(|term| {
            !term.is_empty() && (d.analysis.title.contains(term) || d.analysis.body.contains(term))
        })
}

/// Document figures of one window, accumulated one document at a time.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    docs: u64,
    negative: u64,
    complaints: u64,
    score_sum: f64,
}

impl Tally {
    fn add(&mut self, d: &Document, entity: &str) {
        let (score, label) = entity_sentiment(d, entity);
        self.docs += 1;
        self.score_sum += score as f64;
        self.negative += (label == SentimentLabel::Negative) as u64;
        self.complaints += (d.raw.channel == Channel::Complaint) as u64;
    }

    fn figures(self, from: DateTime<Utc>, to: DateTime<Utc>) -> DocFigures {
        let n = self.docs;
        DocFigures {
            from,
            to,
            docs: n,
            negative: self.negative,
            negative_rate: (n > 0).then(|| self.negative as f64 / n as f64),
            mean_sentiment: (n > 0).then(|| self.score_sum / n as f64),
            complaints: self.complaints,
        }
    }
}

pub(crate) fn compare(before: DocFigures, after: DocFigures) -> PeriodComparison {
    let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
    PeriodComparison {
        negative_rate_change: delta(before.negative_rate, after.negative_rate),
        negative_rate_z: two_proportion_z(before.negative, before.docs, after.negative, after.docs),
        mean_sentiment_change: delta(before.mean_sentiment, after.mean_sentiment),
        complaints_change: after.complaints as i64 - before.complaints as i64,
        before,
        after,
    }
}

/// Figures of the cases accepted in `[from, to)`, judged at `now`.
pub(crate) fn case_figures(
    cases: &[Case],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> CaseFigures {
    let mut f = CaseFigures {
        from,
        to,
        cases: 0,
        answered: 0,
        mean_hours_to_answer: None,
        overdue: 0,
        overdue_share: None,
    };
    let mut hours = 0f64;
    for c in cases
        .iter()
        .filter(|c| c.accepted_at >= from && c.accepted_at < to)
    {
        f.cases += 1;
        if matches!(c.status, CaseStatus::Answered | CaseStatus::Closed)
            && let Some(a) = c.answered_at
        {
            f.answered += 1;
            hours += (a - c.accepted_at).num_seconds() as f64 / 3600.0;
        }
        if c.overdue_at(now) {
            f.overdue += 1;
        }
    }
    if f.answered > 0 {
        f.mean_hours_to_answer = Some(hours / f.answered as f64);
    }
    if f.cases > 0 {
        f.overdue_share = Some(f.overdue as f64 / f.cases as f64);
    }
    f
}

impl Workflow {
    /// The topic of an incident: its evidence terms (and its term topic), the most common risk
    /// categories of its documents, and its cluster when it groups by one.
    pub fn incident_topic(&self, inc: &Incident) -> Result<EvaluationTopic> {
        let mut terms: Vec<String> = Vec::new();
        let mut cluster = None;
        if let Some(t) = &inc.topic {
            let id = yuqing_model::DocId(t.clone());
            if self.store.cluster_members(&id)?.is_empty() {
                terms.push(t.clone());
            } else {
                cluster = Some(id);
            }
        }
        for t in &inc.why.top_terms {
            if !terms.contains(t) {
                terms.push(t.clone());
            }
        }
        terms.truncate(TOPIC_MAX_TERMS);
        let mut risks: std::collections::HashMap<String, u64> = Default::default();
        for a in self.store.incident_docs(inc.id)?.iter().take(500) {
            if let Some(d) = self.store.document(&a.doc_id)? {
                for r in &d.analysis.risks {
                    *risks.entry(r.id.clone()).or_default() += 1;
                }
            }
        }
        let mut risks: Vec<(String, u64)> = risks.into_iter().collect();
        risks.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(EvaluationTopic {
            terms,
            risks: risks
                .into_iter()
                .take(TOPIC_MAX_RISKS)
                .map(|(r, _)| r)
                .collect(),
            cluster,
        })
    }

    /// Compute an evaluation from the stored documents and cases (not stored: `id` 0, no
    /// incident or measure, computed by nobody).
    pub fn compute_evaluation(
        &self,
        spec: &EvaluationSpec,
        now: DateTime<Utc>,
    ) -> Result<Evaluation> {
        if spec.window_days == 0 {
            return Err(Error::invalid(
                "window_days",
                "至少 1 天 (must be at least 1)",
            ));
        }
        let w = Duration::days(spec.window_days as i64);
        let (b0, b1) = (spec.pivot - w, spec.pivot);
        let a1 = (spec.pivot + w).min(now).max(spec.pivot);
        let e = spec.entity_id.as_str();
        // [entity before, entity after, topic before, topic after]
        let mut t = [Tally::default(); 4];
        self.store
            .for_each_document_in_window(b0, a1, Some(e), 1000, |docs| {
                for d in &docs {
                    let after = usize::from(event_time(d) >= b1);
                    t[after].add(d, e);
                    if !spec.topic.is_empty() && on_topic(d, &spec.topic) {
                        t[2 + after].add(d, e);
                    }
                }
                Ok::<(), Error>(())
            })?;
        let entity = compare(t[0].figures(b0, b1), t[1].figures(b1, a1));
        let on_topic =
            (!spec.topic.is_empty()).then(|| compare(t[2].figures(b0, b1), t[3].figures(b1, a1)));
        let cases = self.store.cases(&CaseQuery {
            entity_id: Some(e.to_string()),
            accepted_from: Some(b0),
            accepted_to: Some(a1),
            ..Default::default()
        })?;
        Ok(Evaluation {
            id: 0,
            incident_id: None,
            measure_id: None,
            entity_id: e.to_string(),
            topic: spec.topic.clone(),
            pivot: spec.pivot,
            window_days: spec.window_days,
            entity,
            on_topic,
            cases_before: case_figures(&cases, b0, b1, now),
            cases_after: case_figures(&cases, b1, a1, now),
            manual: ManualInputs::default(),
            computed_at: now,
            computed_by: String::new(),
        })
    }

    fn store_evaluation(
        &self,
        mut e: Evaluation,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Evaluation> {
        e.computed_by = actor.to_string();
        let mut tx = self.store.workflow_tx()?;
        e.id = tx.insert_evaluation(&e)?;
        Audit {
            object: WorkflowObject::Evaluation,
            object_id: e.id,
            incident_id: e.incident_id,
            actor,
            action: "created",
            at: now,
        }
        .created(&mut tx, &e)?;
        tx.commit()?;
        Ok(e)
    }

    /// Evaluate a done (or verified) measure around its done time, for its incident's entity
    /// and topic, and store the evaluation. `window_days` defaults to the configured one.
    pub fn evaluate_measure(
        &self,
        measure_id: i64,
        window_days: Option<u32>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Evaluation> {
        let m = self.measure(measure_id)?;
        let pivot = match (m.status, m.done_at) {
            (MeasureStatus::Done | MeasureStatus::Verified, Some(t)) => t,
            _ => {
                return Err(Error::invalid(
                    "measure",
                    format!(
                        "措施#{measure_id} 尚未完成，无法评估 (measure {measure_id} is not done yet)"
                    ),
                ));
            }
        };
        let inc = self.incident(m.incident_id)?;
        let spec = EvaluationSpec {
            entity_id: inc.entity_id.clone(),
            topic: self.incident_topic(&inc)?,
            pivot,
            window_days: window_days.unwrap_or(self.settings.evaluation_window_days),
        };
        let mut e = self.compute_evaluation(&spec, now)?;
        e.incident_id = Some(inc.id);
        e.measure_id = Some(measure_id);
        self.store_evaluation(e, actor, now)
    }

    /// Evaluate an incident around `pivot` (default: the latest done time of its measures)
    /// and store the evaluation.
    pub fn evaluate_incident(
        &self,
        incident_id: i64,
        pivot: Option<DateTime<Utc>>,
        window_days: Option<u32>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Evaluation> {
        let inc = self.incident(incident_id)?;
        let pivot = match pivot {
            Some(p) => p,
            None => self
                .store
                .measures(&MeasureQuery {
                    incident_id: Some(incident_id),
                    ..Default::default()
                })?
                .into_iter()
                .filter_map(|m| m.done_at)
                .max()
                .ok_or_else(|| {
                    Error::invalid(
                        "pivot",
                        "没有已完成的措施，请指定评估时点 (no measure is done: give a pivot time)",
                    )
                })?,
        };
        let spec = EvaluationSpec {
            entity_id: inc.entity_id.clone(),
            topic: self.incident_topic(&inc)?,
            pivot,
            window_days: window_days.unwrap_or(self.settings.evaluation_window_days),
        };
        let mut e = self.compute_evaluation(&spec, now)?;
        e.incident_id = Some(incident_id);
        self.store_evaluation(e, actor, now)
    }

    /// One stored evaluation.
    pub fn evaluation(&self, id: i64) -> Result<Evaluation> {
        self.store
            .evaluation(id)?
            .ok_or_else(|| Error::not_found(WorkflowObject::Evaluation, id))
    }

    /// Stored evaluations of an incident and/or a measure, oldest first.
    pub fn evaluations(
        &self,
        incident_id: Option<i64>,
        measure_id: Option<i64>,
    ) -> Result<Vec<Evaluation>> {
        Ok(self.store.evaluations(incident_id, measure_id)?)
    }

    /// Replace the hand-entered inputs of a stored evaluation (audited per field).
    pub fn set_manual_inputs(
        &self,
        id: i64,
        manual: &ManualInputs,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Evaluation> {
        let mut tx = self.store.workflow_tx()?;
        let old = tx
            .evaluation(id)?
            .ok_or_else(|| Error::not_found(WorkflowObject::Evaluation, id))?;
        let mut new = old.clone();
        new.manual = manual.clone();
        let n = Audit {
            object: WorkflowObject::Evaluation,
            object_id: id,
            incident_id: old.incident_id,
            actor,
            action: "edited",
            at: now,
        }
        .changed(&mut tx, &old, &new)?;
        if n == 0 {
            return Ok(old);
        }
        tx.save_evaluation(&new)?;
        tx.commit()?;
        Ok(new)
    }

    /// Close the incident's workflow with a conclusion citing one of its evaluations. Refused
    /// while a measure is still planned or in progress.
    pub fn conclude(
        &self,
        incident_id: i64,
        text: &str,
        evaluation_id: Option<i64>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<yuqing_model::workflow::Conclusion> {
        crate::non_empty("text", text)?;
        self.incident(incident_id)?;
        if let Some(eid) = evaluation_id {
            let e = self.evaluation(eid)?;
            if e.incident_id != Some(incident_id) {
                return Err(Error::invalid(
                    "evaluation_id",
                    format!(
                        "评估#{eid} 不属于事件#{incident_id} (evaluation {eid} is not of incident {incident_id})"
                    ),
                ));
            }
        }
        if self.has_open_measures(incident_id)? {
            return Err(Error::invalid(
                "measures",
                "仍有未完成的改进措施 (some measures are still planned or in progress)",
            ));
        }
        let new = yuqing_model::workflow::Conclusion {
            incident_id,
            text: text.trim().to_string(),
            evaluation_id,
            at: now,
            by: actor.to_string(),
        };
        let mut tx = self.store.workflow_tx()?;
        let old = tx.conclusion(incident_id)?;
        let a = Audit {
            object: WorkflowObject::Conclusion,
            object_id: incident_id,
            incident_id: Some(incident_id),
            actor,
            action: "concluded",
            at: now,
        };
        match &old {
            Some(o) => {
                a.changed(&mut tx, o, &new)?;
            }
            None => a.created(&mut tx, &new)?,
        }
        tx.save_conclusion(&new)?;
        tx.commit()?;
        Ok(new)
    }

    /// The incident's conclusion, if concluded.
    pub fn conclusion(
        &self,
        incident_id: i64,
    ) -> Result<Option<yuqing_model::workflow::Conclusion>> {
        Ok(self.store.conclusion(incident_id)?)
    }
}
