//! The event report: drafted from an incident's documents when it opens, then edited.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use yuqing_incidents::event_time;
use yuqing_model::workflow::{
    EventReport, NameCount, PropagationStory, ReportDoc, ReportFacts, WorkflowObject,
};
use yuqing_model::{
    AliasKind, Channel, DocId, Document, Incident, IncidentDoc, SentimentLabel, SourceId,
};

use crate::audit::Audit;
use crate::{Result, SYSTEM_ACTOR, Workflow};

/// Most attached documents read in full for a report (counts by source still cover all).
pub const MAX_REPORT_DOCS: usize = 2000;
/// Documents listed as the report's main content.
pub const REPORT_TOP_DOCS: usize = 10;
/// Terms listed.
pub const REPORT_TOP_TERMS: usize = 15;
/// Stories (clusters) on the propagation path.
pub const REPORT_MAX_STORIES: usize = 20;
/// Steps listed per story.
pub const REPORT_MAX_STEPS: usize = 30;

/// Changes to an event report's text; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportEdit {
    /// Title.
    pub title: Option<String>,
    /// 事件概述.
    pub summary: Option<String>,
    /// 影响评估.
    pub impact: Option<String>,
    /// 备注.
    pub notes: Option<String>,
}

/// The sentiment of a document towards `entity` when the analysis has it, else the
/// document's: (score, label).
pub(crate) fn entity_sentiment(d: &Document, entity: &str) -> (f32, SentimentLabel) {
    d.analysis
        .entity_sentiments
        .iter()
        .find(|s| s.entity_id == entity)
        .map(|s| (s.sentiment.score, s.sentiment.label))
        .unwrap_or((d.analysis.sentiment.score, d.analysis.sentiment.label))
}

fn counted(map: HashMap<String, u64>, labels: impl Fn(&str) -> Option<String>) -> Vec<NameCount> {
    let mut v: Vec<NameCount> = map
        .into_iter()
        .map(|(name, count)| NameCount {
            label: labels(&name),
            name,
            count,
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v
}

fn add(map: &mut HashMap<String, u64>, k: impl Into<String>) {
    *map.entry(k.into()).or_default() += 1;
}

impl Workflow {
    fn report_doc(
        &self,
        d: &Document,
        entity: &str,
        names: &HashMap<SourceId, String>,
    ) -> ReportDoc {
        let (score, label) = entity_sentiment(d, entity);
        ReportDoc {
            doc_id: d.raw.id.clone(),
            title: d.raw.title.clone(),
            url: d.raw.url.clone(),
            source_id: d.raw.source_id.clone(),
            source_name: names.get(&d.raw.source_id).cloned(),
            channel: d.raw.channel,
            at: event_time(d),
            sentiment: score,
            label,
        }
    }

    /// The data part of an incident's report, from its attached documents.
    pub fn draft_facts(&self, inc: &Incident) -> Result<ReportFacts> {
        let attached = self.store.incident_docs(inc.id)?;
        let mut docs: Vec<Document> = Vec::new();
        for a in attached.iter().take(MAX_REPORT_DOCS) {
            if let Some(d) = self.store.document(&a.doc_id)? {
                docs.push(d);
            }
        }
        let states = self.store.source_states()?;
        let names: HashMap<SourceId, String> = states
            .iter()
            .map(|s| (s.id.clone(), s.name.clone()))
            .collect();
        let channels_of: HashMap<SourceId, String> = states
            .iter()
            .map(|s| (s.id.clone(), s.channel.clone()))
            .collect();
        Ok(facts(self, inc, &attached, &docs, &names, &channels_of))
    }

    fn summary_text(&self, f: &ReportFacts) -> String {
        let local = |t: DateTime<Utc>| {
            t.with_timezone(&self.tz)
                .format("%m月%d日 %H:%M")
                .to_string()
        };
        let mut s = String::new();
        if let (Some(a), Some(b)) = (f.start, f.end) {
            s.push_str(&format!("{}至{}，", local(a), local(b)));
        }
        s.push_str(&format!(
            "监测到与{}相关的信息{}篇，其中负面{}篇",
            f.entity_name, f.doc_count, f.sentiment.negative
        ));
        if let (Some(src), Some(t)) = (&f.first_source, f.first_seen) {
            let name = f
                .first_source_name
                .clone()
                .unwrap_or_else(|| src.to_string());
            s.push_str(&format!("，最早出现于{name}（{}）", local(t)));
        }
        if !f.channels.is_empty() {
            let ch: Vec<String> = f
                .channels
                .iter()
                .map(|c| format!("{}{}篇", c.label.as_deref().unwrap_or(&c.name), c.count))
                .collect();
            s.push_str(&format!("；传播渠道：{}", ch.join("、")));
        }
        if !f.top_terms.is_empty() {
            let t: Vec<&str> = f
                .top_terms
                .iter()
                .take(5)
                .map(|t| t.name.as_str())
                .collect();
            s.push_str(&format!("；主要涉及：{}", t.join("、")));
        }
        s.push('。');
        s
    }

    /// The incident's event report, drafted from its documents if it has none yet (recorded
    /// in the audit trail as drafted by `system`).
    pub fn event_report(&self, incident_id: i64, now: DateTime<Utc>) -> Result<EventReport> {
        if let Some(r) = self.store.event_report(incident_id)? {
            return Ok(r);
        }
        let inc = self.incident(incident_id)?;
        let facts = self.draft_facts(&inc)?;
        let report = EventReport {
            incident_id,
            title: inc.title.clone(),
            summary: self.summary_text(&facts),
            impact: String::new(),
            notes: String::new(),
            facts,
            drafted_at: now,
            refreshed_at: now,
            updated_at: now,
            updated_by: None,
        };
        let mut tx = self.store.workflow_tx()?;
        if let Some(existing) = tx.report(incident_id)? {
            return Ok(existing);
        }
        tx.save_report(&report)?;
        Audit {
            object: WorkflowObject::Report,
            object_id: incident_id,
            incident_id: Some(incident_id),
            actor: SYSTEM_ACTOR,
            action: "drafted",
            at: now,
        }
        .created(&mut tx, &report)?;
        tx.commit()?;
        Ok(report)
    }

    /// Edit the report's text fields; every changed field is audited.
    pub fn edit_report(
        &self,
        incident_id: i64,
        edit: &ReportEdit,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<EventReport> {
        self.event_report(incident_id, now)?;
        let mut tx = self.store.workflow_tx()?;
        let old = tx
            .report(incident_id)?
            .ok_or_else(|| crate::Error::not_found(WorkflowObject::Report, incident_id))?;
        let mut new = old.clone();
        if let Some(t) = &edit.title {
            crate::non_empty("title", t)?;
            new.title = t.trim().to_string();
        }
        for (field, v) in [
            (&mut new.summary, &edit.summary),
            (&mut new.impact, &edit.impact),
            (&mut new.notes, &edit.notes),
        ] {
            if let Some(v) = v {
                *field = v.clone();
            }
        }
        new.updated_at = now;
        new.updated_by = Some(actor.to_string());
        let n = Audit {
            object: WorkflowObject::Report,
            object_id: incident_id,
            incident_id: Some(incident_id),
            actor,
            action: "edited",
            at: now,
        }
        .changed(&mut tx, &old, &new)?;
        if n == 0 {
            return Ok(old);
        }
        tx.save_report(&new)?;
        tx.commit()?;
        Ok(new)
    }

    /// Re-draft the report's data part from the incident's current documents; changed facts
    /// are audited as `refreshed` by `actor`. The summary is re-drafted too while it is still
    /// the drafted text; text someone wrote is kept.
    pub fn refresh_report(
        &self,
        incident_id: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<EventReport> {
        self.event_report(incident_id, now)?;
        let inc = self.incident(incident_id)?;
        let facts = self.draft_facts(&inc)?;
        let mut tx = self.store.workflow_tx()?;
        let old = tx
            .report(incident_id)?
            .ok_or_else(|| crate::Error::not_found(WorkflowObject::Report, incident_id))?;
        let mut new = old.clone();
        if old.summary == self.summary_text(&old.facts) {
            new.summary = self.summary_text(&facts);
        }
        new.facts = facts;
        new.refreshed_at = now;
        new.updated_at = now;
        if actor != SYSTEM_ACTOR {
            new.updated_by = Some(actor.to_string());
        }
        Audit {
            object: WorkflowObject::Report,
            object_id: incident_id,
            incident_id: Some(incident_id),
            actor,
            action: "refreshed",
            at: now,
        }
        .changed(&mut tx, &old, &new)?;
        // Saved even when no fact changed: `refreshed_at` records that it was checked.
        tx.save_report(&new)?;
        tx.commit()?;
        Ok(new)
    }
}

/// The facts of a report; pure over what was read.
fn facts(
    wf: &Workflow,
    inc: &Incident,
    attached: &[IncidentDoc],
    docs: &[Document],
    names: &HashMap<SourceId, String>,
    channels_of: &HashMap<SourceId, String>,
) -> ReportFacts {
    let entity = inc.entity_id.as_str();
    let mut f = ReportFacts {
        entity_id: entity.to_string(),
        entity_name: wf.entity_name(entity),
        doc_count: attached.len() as u64,
        start: attached.iter().map(|d| d.doc_at).min(),
        end: attached.iter().map(|d| d.doc_at).max(),
        ..Default::default()
    };

    let mut sources = HashMap::new();
    for a in attached {
        add(&mut sources, a.source_id.as_str());
    }
    f.sources = counted(sources, |s| names.get(&SourceId(s.to_string())).cloned());

    let mut channels = HashMap::new();
    let mut entities = HashMap::new();
    let mut products = HashMap::new();
    let mut people = HashMap::new();
    let mut risks = HashMap::new();
    let mut dims = HashMap::new();
    for d in docs {
        add(&mut channels, d.raw.channel.as_str());
        for e in d.analysis.entity_ids() {
            add(&mut entities, e);
        }
        let mut seen: Vec<(&str, AliasKind)> = Vec::new();
        for m in &d.analysis.mentions {
            if matches!(m.kind, AliasKind::Product | AliasKind::Person)
                && !seen.contains(&(m.alias.as_str(), m.kind))
            {
                seen.push((m.alias.as_str(), m.kind));
                let map = if m.kind == AliasKind::Product {
                    &mut products
                } else {
                    &mut people
                };
                add(map, m.alias.clone());
            }
        }
        for r in &d.analysis.risks {
            add(&mut risks, r.id.clone());
        }
        for t in &d.analysis.dimensions {
            add(&mut dims, t.dimension.as_str());
        }
        match entity_sentiment(d, entity).1 {
            SentimentLabel::Negative => f.sentiment.negative += 1,
            SentimentLabel::Neutral => f.sentiment.neutral += 1,
            SentimentLabel::Positive => f.sentiment.positive += 1,
        }
    }
    let channel_zh = |c: &str| {
        Some(
            match Channel::parse(c) {
                Some(Channel::News) => "新闻",
                Some(Channel::Web) => "网页",
                Some(Channel::Social) => "社交媒体",
                Some(Channel::Complaint) => "投诉平台",
                Some(Channel::Official) => "官方",
                Some(Channel::Inbound) => "客户反馈",
                None => return None,
            }
            .to_string(),
        )
    };
    f.channels = counted(channels, channel_zh);
    f.entities = counted(entities, |e| Some(wf.entity_name(e)));
    f.products = counted(products, |_| None);
    f.people = counted(people, |_| None);
    f.risks = counted(risks, |_| None);
    f.dimensions = counted(dims, |d| {
        yuqing_model::Dimension::parse(d).map(|d| d.zh().to_string())
    });

    let mut terms = HashMap::new();
    for a in attached {
        for t in &a.terms {
            add(&mut terms, t.clone());
        }
    }
    let mut top_terms = counted(terms, |_| None);
    if top_terms.is_empty() {
        top_terms = inc
            .why
            .top_terms
            .iter()
            .map(|t| NameCount {
                name: t.clone(),
                label: None,
                count: 0,
            })
            .collect();
    }
    top_terms.truncate(REPORT_TOP_TERMS);
    f.top_terms = top_terms;

    // Main content: negative first, most negative, then earliest.
    let mut rds: Vec<ReportDoc> = docs
        .iter()
        .map(|d| wf.report_doc(d, entity, names))
        .collect();
    rds.sort_by(|a, b| {
        (a.label != SentimentLabel::Negative)
            .cmp(&(b.label != SentimentLabel::Negative))
            .then(a.sentiment.total_cmp(&b.sentiment))
            .then(a.at.cmp(&b.at))
    });
    f.top_docs = rds.iter().take(REPORT_TOP_DOCS).cloned().collect();

    // Propagation path: stories by cluster, each in time order.
    let mut stories: BTreeMap<DocId, PropagationStory> = BTreeMap::new();
    for d in docs {
        let (cid, first_source, first_seen, size) = match &d.cluster {
            Some(c) => (
                c.id.clone(),
                c.first_source.clone(),
                c.first_seen,
                c.size as u64,
            ),
            None => (d.raw.id.clone(), d.raw.source_id.clone(), event_time(d), 1),
        };
        let s = stories
            .entry(cid.clone())
            .or_insert_with(|| PropagationStory {
                cluster_id: cid,
                first_source: first_source.clone(),
                first_seen,
                cluster_size: size,
                steps: Vec::new(),
            });
        if first_seen < s.first_seen {
            s.first_seen = first_seen;
            s.first_source = first_source;
        }
        s.cluster_size = s.cluster_size.max(size);
        s.steps.push(wf.report_doc(d, entity, names));
    }
    let mut stories: Vec<PropagationStory> = stories.into_values().collect();
    for s in &mut stories {
        s.steps
            .sort_by(|a, b| a.at.cmp(&b.at).then(a.doc_id.cmp(&b.doc_id)));
        s.cluster_size = s.cluster_size.max(s.steps.len() as u64);
        s.steps.truncate(REPORT_MAX_STEPS);
    }
    // Largest stories first, then earliest; the path reads earliest first.
    stories.sort_by(|a, b| {
        b.steps
            .len()
            .cmp(&a.steps.len())
            .then(a.first_seen.cmp(&b.first_seen))
    });
    stories.truncate(REPORT_MAX_STORIES);
    stories.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then(a.cluster_id.cmp(&b.cluster_id))
    });

    // First source: the rule's record, else the earliest story.
    match (&inc.why.first_source, inc.why.first_seen) {
        (Some(s), Some(t)) => {
            f.first_source = Some(s.clone());
            f.first_seen = Some(t);
        }
        _ => {
            if let Some(s) = stories.first() {
                f.first_source = Some(s.first_source.clone());
                f.first_seen = Some(s.first_seen);
            }
        }
    }
    if let Some(s) = &f.first_source {
        f.first_source_name = names.get(s).cloned();
        f.first_channel = channels_of.get(s).and_then(|c| Channel::parse(c));
    }
    f.propagation = stories;
    f
}
