//! Briefings (daily and weekly: volume and negative share, top negative documents, new and
//! open incidents, overdue measures and cases) and an incident's full report (event, review,
//! measures, evaluations, cases, conclusion): serializable data for the console's HTML
//! pages, Markdown for export, and a chat [`Notification`] for briefings.
//!
//! Scraped text (titles, source names) and analysts' text are neutralized for Markdown with
//! the notify crate's `escape_markdown`; links are only `http(s)`.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use yuqing_model::workflow::{
    Case, CaseStatus, Conclusion, Evaluation, EventReport, Measure, MeasureStatus, NameCount,
    PeriodComparison, Review, WorkflowState,
};
use yuqing_model::{
    Channel, DocId, Incident, IncidentStatus, Notification, NotificationKind, NotifiedDoc,
    SentimentLabel, Severity, SourceId,
};
use yuqing_notify::render::{escape_markdown, safe_url};
use yuqing_store::{CaseQuery, MeasureQuery};

use crate::measures::DueState;
use crate::{Result, Workflow};

/// Which briefing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BriefingKind {
    /// 舆情日报: the 24 hours before its time.
    Daily,
    /// 舆情周报: the 7 days before its time.
    Weekly,
}

impl BriefingKind {
    /// The id used in job names, dedup keys and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            BriefingKind::Daily => "daily",
            BriefingKind::Weekly => "weekly",
        }
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            BriefingKind::Daily => "舆情日报",
            BriefingKind::Weekly => "舆情周报",
        }
    }

    /// Parse the id.
    pub fn parse(s: &str) -> Option<BriefingKind> {
        match s {
            "daily" => Some(BriefingKind::Daily),
            "weekly" => Some(BriefingKind::Weekly),
            _ => None,
        }
    }

    /// The period it covers.
    pub fn period(self) -> Duration {
        match self {
            BriefingKind::Daily => Duration::days(1),
            BriefingKind::Weekly => Duration::days(7),
        }
    }
}

/// Documents about one entity in a briefing period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityVolume {
    /// Entity id.
    pub entity_id: String,
    /// Display name.
    pub name: String,
    /// Documents.
    pub docs: u64,
    /// Negative documents.
    pub negative: u64,
}

/// A document listed in a briefing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefingDoc {
    /// Id.
    pub doc_id: DocId,
    /// Title.
    pub title: String,
    /// Link.
    pub url: Option<String>,
    /// Source.
    pub source_id: SourceId,
    /// Source display name, when known.
    pub source_name: Option<String>,
    /// Channel.
    pub channel: Option<Channel>,
    /// Event time.
    pub at: DateTime<Utc>,
    /// Document sentiment score.
    pub sentiment: f64,
}

/// An incident listed in a briefing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefingIncident {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// State.
    pub status: IncidentStatus,
    /// When it (last) opened.
    pub opened_at: DateTime<Utc>,
    /// Attached documents.
    pub doc_count: u64,
}

/// A measure listed in a briefing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefingMeasure {
    /// Id.
    pub id: i64,
    /// Its incident.
    pub incident_id: i64,
    /// Description.
    pub description: String,
    /// Owner department.
    pub owner_department: String,
    /// Owner.
    pub owner: String,
    /// Deadline.
    pub deadline: DateTime<Utc>,
    /// Days past the deadline (negative: days left).
    pub overdue_days: f64,
}

/// A case listed in a briefing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefingCase {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Assignee.
    pub assignee: Option<String>,
    /// State.
    pub status: CaseStatus,
    /// Deadline.
    pub deadline: DateTime<Utc>,
    /// Days past the deadline.
    pub overdue_days: f64,
}

/// A daily or weekly briefing's data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Briefing {
    /// Which.
    pub kind: BriefingKind,
    /// Period start (inclusive).
    pub from: DateTime<Utc>,
    /// Period end (exclusive): the scheduled time.
    pub to: DateTime<Utc>,
    /// When it was put together (current states are as of this time).
    pub generated_at: DateTime<Utc>,
    /// Documents in the period.
    pub docs: u64,
    /// Negative documents.
    pub negative: u64,
    /// `negative / docs`.
    pub negative_share: Option<f64>,
    /// Documents in the period before.
    pub previous_docs: u64,
    /// Negative documents in the period before.
    pub previous_negative: u64,
    /// Per watched entity, most documents first.
    pub by_entity: Vec<EntityVolume>,
    /// Per channel, most first.
    pub by_channel: Vec<NameCount>,
    /// The most negative documents about watched entities.
    pub top_negative: Vec<BriefingDoc>,
    /// Incidents opened in the period.
    pub new_incidents: Vec<BriefingIncident>,
    /// Incidents open or acknowledged now.
    pub open_incidents: Vec<BriefingIncident>,
    /// Measures past their deadline.
    pub overdue_measures: Vec<BriefingMeasure>,
    /// Measures due within the due-soon margin.
    pub due_soon_measures: Vec<BriefingMeasure>,
    /// Cases accepted in the period.
    pub cases_opened: u64,
    /// Cases answered in the period.
    pub cases_answered: u64,
    /// Cases not yet answered.
    pub open_cases: u64,
    /// Unanswered cases past their deadline.
    pub overdue_cases: Vec<BriefingCase>,
}

/// An incident's full report: everything the workflow knows about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentFullReport {
    /// The incident.
    pub incident: Incident,
    /// Its event report.
    pub report: EventReport,
    /// Its review, if started.
    pub review: Option<Review>,
    /// Its measures.
    pub measures: Vec<Measure>,
    /// Its evaluations, oldest first.
    pub evaluations: Vec<Evaluation>,
    /// Cases linked to it.
    pub cases: Vec<Case>,
    /// Its conclusion, if concluded.
    pub conclusion: Option<Conclusion>,
    /// When the report was put together.
    pub generated_at: DateTime<Utc>,
}

fn days(d: Duration) -> f64 {
    d.num_seconds() as f64 / 86_400.0
}

fn brief_incident(i: &Incident) -> BriefingIncident {
    BriefingIncident {
        id: i.id,
        title: i.title.clone(),
        severity: i.severity,
        status: i.status,
        opened_at: i.opened_at,
        doc_count: i.doc_count,
    }
}

fn brief_measure(m: &Measure, now: DateTime<Utc>) -> BriefingMeasure {
    BriefingMeasure {
        id: m.id,
        incident_id: m.incident_id,
        description: m.description.clone(),
        owner_department: m.owner_department.clone(),
        owner: m.owner.clone(),
        deadline: m.deadline,
        overdue_days: days(now - m.deadline),
    }
}

impl Workflow {
    /// The briefing of the `kind` period ending at `to`; current states (open incidents,
    /// overdue measures and cases) as of `now`.
    pub fn briefing(
        &self,
        kind: BriefingKind,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Briefing> {
        let from = to - kind.period();
        let rows = self.store.doc_rows_in_window(from, to)?;
        let prev = self.store.doc_rows_in_window(from - kind.period(), from)?;
        let is_neg = |l: Option<SentimentLabel>| l == Some(SentimentLabel::Negative);
        let names: HashMap<SourceId, String> = self
            .store
            .source_states()?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();

        let mut by_entity: HashMap<String, (u64, u64)> = HashMap::new();
        let mut by_channel: HashMap<String, u64> = HashMap::new();
        for r in &rows {
            for e in &r.entities {
                let v = by_entity.entry(e.clone()).or_default();
                v.0 += 1;
                v.1 += is_neg(r.sentiment_label) as u64;
            }
            *by_channel
                .entry(r.channel.map_or("unknown", |c| c.as_str()).to_string())
                .or_default() += 1;
        }
        let mut by_entity: Vec<EntityVolume> = by_entity
            .into_iter()
            .map(|(id, (docs, negative))| EntityVolume {
                name: self.entity_name(&id),
                entity_id: id,
                docs,
                negative,
            })
            .collect();
        by_entity.sort_by(|a, b| b.docs.cmp(&a.docs).then(a.entity_id.cmp(&b.entity_id)));
        let mut by_channel: Vec<NameCount> = by_channel
            .into_iter()
            .map(|(name, count)| NameCount {
                name,
                label: None,
                count,
            })
            .collect();
        by_channel.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));

        let mut negatives: Vec<_> = rows
            .iter()
            .filter(|r| is_neg(r.sentiment_label) && !r.entities.is_empty())
            .collect();
        negatives.sort_by(|a, b| {
            a.sentiment_score
                .total_cmp(&b.sentiment_score)
                .then(a.at.cmp(&b.at))
        });
        let top_negative = negatives
            .into_iter()
            .take(self.settings.briefing.top_docs)
            .map(|r| BriefingDoc {
                doc_id: r.id.clone(),
                title: r.title.clone(),
                url: r.url.clone(),
                source_name: names.get(&r.source_id).cloned(),
                source_id: r.source_id.clone(),
                channel: r.channel,
                at: r.at,
                sentiment: r.sentiment_score,
            })
            .collect();

        let recent = self.store.incidents(None, 1000)?;
        let new_incidents = recent
            .iter()
            .filter(|i| i.opened_at >= from && i.opened_at < to)
            .map(brief_incident)
            .collect();
        let mut open_incidents: Vec<BriefingIncident> = recent
            .iter()
            .filter(|i| i.status.is_active())
            .map(brief_incident)
            .collect();
        open_incidents.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.id.cmp(&a.id)));

        let open_measures = self.store.measures(&MeasureQuery {
            statuses: vec![MeasureStatus::Planned, MeasureStatus::InProgress],
            ..Default::default()
        })?;
        let mut overdue_measures = Vec::new();
        let mut due_soon_measures = Vec::new();
        for m in &open_measures {
            match self.measure_due(m, now) {
                DueState::Overdue => overdue_measures.push(brief_measure(m, now)),
                DueState::DueSoon => due_soon_measures.push(brief_measure(m, now)),
                _ => {}
            }
        }
        overdue_measures.sort_by_key(|m| m.deadline);
        due_soon_measures.sort_by_key(|m| m.deadline);

        let cases_opened = self
            .store
            .cases(&CaseQuery {
                accepted_from: Some(from),
                accepted_to: Some(to),
                ..Default::default()
            })?
            .len() as u64;
        let cases_answered = self
            .store
            .cases(&CaseQuery {
                statuses: vec![CaseStatus::Answered, CaseStatus::Closed],
                accepted_from: Some(from - Duration::days(90)),
                accepted_to: Some(to),
                ..Default::default()
            })?
            .iter()
            .filter(|c| c.answered_at.is_some_and(|a| a >= from && a < to))
            .count() as u64;
        let open = self.store.cases(&CaseQuery {
            statuses: vec![
                CaseStatus::Accepted,
                CaseStatus::Analyzing,
                CaseStatus::Handling,
            ],
            ..Default::default()
        })?;
        let mut overdue_cases: Vec<BriefingCase> = open
            .iter()
            .filter(|c| c.overdue_at(now))
            .map(|c| BriefingCase {
                id: c.id,
                title: c.title.clone(),
                assignee: c.assignee.clone(),
                status: c.status,
                deadline: c.deadline,
                overdue_days: days(now - c.deadline),
            })
            .collect();
        overdue_cases.sort_by_key(|c| c.deadline);

        let docs = rows.len() as u64;
        let negative = rows.iter().filter(|r| is_neg(r.sentiment_label)).count() as u64;
        Ok(Briefing {
            kind,
            from,
            to,
            generated_at: now,
            docs,
            negative,
            negative_share: (docs > 0).then(|| negative as f64 / docs as f64),
            previous_docs: prev.len() as u64,
            previous_negative: prev.iter().filter(|r| is_neg(r.sentiment_label)).count() as u64,
            by_entity,
            by_channel,
            top_negative,
            new_incidents,
            open_incidents,
            overdue_measures,
            due_soon_measures,
            cases_opened,
            cases_answered,
            open_cases: open.len() as u64,
            overdue_cases,
        })
    }

    /// The chat notification of a briefing (kind `Briefing`; the notifiers render it for
    /// each platform).
    pub fn briefing_notification(&self, b: &Briefing) -> Notification {
        let tz = self.tz;
        let mut lines = vec![format!(
            "**周期**：{} — {}",
            local(b.from, tz),
            local(b.to, tz)
        )];
        lines.push(format!(
            "**信息总量**：{} 篇（上期 {}），负面 {} 篇，占比 {}",
            b.docs,
            b.previous_docs,
            b.negative,
            pct(b.negative_share)
        ));
        for e in b.by_entity.iter().take(3) {
            lines.push(format!(
                "{}：{} 篇，负面 {} 篇",
                escape_markdown(&e.name),
                e.docs,
                e.negative
            ));
        }
        lines.push(format!(
            "**事件**：新增 {} 起，处理中 {} 起",
            b.new_incidents.len(),
            b.open_incidents.len()
        ));
        for i in b.new_incidents.iter().take(5) {
            lines.push(format!(
                "【{}】#{} {}",
                i.severity.zh(),
                i.id,
                escape_markdown(&i.title)
            ));
        }
        lines.push(format!(
            "**督办**：逾期措施 {} 项，即将到期 {} 项",
            b.overdue_measures.len(),
            b.due_soon_measures.len()
        ));
        for m in b.overdue_measures.iter().take(5) {
            lines.push(format!(
                "措施#{} {}（{}·{}，逾期 {:.0} 天）",
                m.id,
                escape_markdown(&cut(&m.description, 30)),
                escape_markdown(&m.owner_department),
                escape_markdown(&m.owner),
                m.overdue_days.ceil()
            ));
        }
        lines.push(format!(
            "**客户投诉**：新受理 {} 件，答复 {} 件，在办 {} 件，逾期 {} 件",
            b.cases_opened,
            b.cases_answered,
            b.open_cases,
            b.overdue_cases.len()
        ));
        Notification {
            kind: NotificationKind::Briefing,
            incident_id: None,
            severity: Severity::Low,
            title: format!(
                "{} {}",
                b.kind.zh(),
                b.to.with_timezone(&tz).format("%m-%d")
            ),
            entity: None,
            lines,
            top_docs: b
                .top_negative
                .iter()
                .map(|d| NotifiedDoc {
                    title: d.title.clone(),
                    url: d.url.clone(),
                    source: d
                        .source_name
                        .clone()
                        .unwrap_or_else(|| d.source_id.to_string()),
                    time: Some(d.at),
                })
                .collect(),
            console_url: Some(self.console_url("briefings")),
            mentions: Vec::new(),
        }
    }

    /// Everything about an incident for its full report (drafts the event report if it has
    /// none).
    pub fn full_report(&self, incident_id: i64, now: DateTime<Utc>) -> Result<IncidentFullReport> {
        let incident = self.incident(incident_id)?;
        let report = self.event_report(incident_id, now)?;
        Ok(IncidentFullReport {
            incident,
            report,
            review: self.store.review(incident_id)?,
            measures: self.store.measures(&MeasureQuery {
                incident_id: Some(incident_id),
                ..Default::default()
            })?,
            evaluations: self.store.evaluations(Some(incident_id), None)?,
            cases: self.store.cases(&CaseQuery {
                incident_id: Some(incident_id),
                ..Default::default()
            })?,
            conclusion: self.store.conclusion(incident_id)?,
            generated_at: now,
        })
    }
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// A share as a percentage with one decimal, `—` when unknown.
pub(crate) fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.digits$}"))
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut o: String = s.chars().take(max.saturating_sub(1)).collect();
        o.push('…');
        o
    }
}

/// Analysts' multi-line text: each line neutralized, line breaks kept.
fn esc_text(s: &str) -> String {
    s.lines()
        .map(escape_markdown)
        .collect::<Vec<_>>()
        .join("  \n")
}

fn link(title: &str, url: Option<&str>) -> String {
    let t = escape_markdown(title.trim());
    let t = if t.is_empty() {
        "（无标题）".into()
    } else {
        t
    };
    match url.and_then(safe_url) {
        Some(u) => format!("[{t}]({u})"),
        None => t,
    }
}

/// A briefing as Markdown (for export and printing; chat uses
/// [`Workflow::briefing_notification`]).
pub fn render_briefing_markdown(b: &Briefing, tz: Tz) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {}（{} — {}）\n",
        b.kind.zh(),
        local(b.from, tz),
        local(b.to, tz)
    );
    let _ = writeln!(s, "## 总体\n");
    let _ = writeln!(
        s,
        "- 信息总量：{} 篇（上期 {} 篇）",
        b.docs, b.previous_docs
    );
    let prev_share =
        (b.previous_docs > 0).then(|| b.previous_negative as f64 / b.previous_docs as f64);
    let _ = writeln!(
        s,
        "- 负面信息：{} 篇，占比 {}（上期 {}）",
        b.negative,
        pct(b.negative_share),
        pct(prev_share)
    );
    if !b.by_channel.is_empty() {
        let ch: Vec<String> = b
            .by_channel
            .iter()
            .map(|c| format!("{} {}", escape_markdown(&c.name), c.count))
            .collect();
        let _ = writeln!(s, "- 渠道分布：{}", ch.join("，"));
    }
    if !b.by_entity.is_empty() {
        let _ = writeln!(s, "\n| 主体 | 信息量 | 负面 |\n|---|---:|---:|");
        for e in &b.by_entity {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                escape_markdown(&e.name),
                e.docs,
                e.negative
            );
        }
    }
    let _ = writeln!(s, "\n## 重点负面信息\n");
    if b.top_negative.is_empty() {
        let _ = writeln!(s, "无");
    }
    for (i, d) in b.top_negative.iter().enumerate() {
        let src = d
            .source_name
            .clone()
            .unwrap_or_else(|| d.source_id.to_string());
        let _ = writeln!(
            s,
            "{}. {} · {} · {}",
            i + 1,
            link(&d.title, d.url.as_deref()),
            escape_markdown(&src),
            local(d.at, tz)
        );
    }
    let _ = writeln!(
        s,
        "\n## 事件\n\n### 新增事件（{}）\n",
        b.new_incidents.len()
    );
    for i in &b.new_incidents {
        let _ = writeln!(
            s,
            "- 【{}】#{} {}（{}，{} 篇，{}）",
            i.severity.zh(),
            i.id,
            escape_markdown(&i.title),
            i.status.zh(),
            i.doc_count,
            local(i.opened_at, tz)
        );
    }
    let _ = writeln!(s, "\n### 处理中事件（{}）\n", b.open_incidents.len());
    for i in &b.open_incidents {
        let _ = writeln!(
            s,
            "- 【{}】#{} {}（{}，{} 篇）",
            i.severity.zh(),
            i.id,
            escape_markdown(&i.title),
            i.status.zh(),
            i.doc_count
        );
    }
    let _ = writeln!(
        s,
        "\n## 督办\n\n### 逾期改进措施（{}）\n",
        b.overdue_measures.len()
    );
    for m in &b.overdue_measures {
        let _ = writeln!(
            s,
            "- 措施#{}（事件#{}）{} — {}·{}，截止 {}，已逾期 {:.0} 天",
            m.id,
            m.incident_id,
            escape_markdown(&m.description),
            escape_markdown(&m.owner_department),
            escape_markdown(&m.owner),
            local(m.deadline, tz),
            m.overdue_days.ceil()
        );
    }
    let _ = writeln!(s, "\n### 即将到期措施（{}）\n", b.due_soon_measures.len());
    for m in &b.due_soon_measures {
        let _ = writeln!(
            s,
            "- 措施#{}（事件#{}）{} — {}·{}，截止 {}",
            m.id,
            m.incident_id,
            escape_markdown(&m.description),
            escape_markdown(&m.owner_department),
            escape_markdown(&m.owner),
            local(m.deadline, tz)
        );
    }
    let _ = writeln!(s, "\n## 客户投诉\n");
    let _ = writeln!(
        s,
        "- 新受理 {} 件，答复 {} 件，在办 {} 件",
        b.cases_opened, b.cases_answered, b.open_cases
    );
    let _ = writeln!(s, "\n### 逾期工单（{}）\n", b.overdue_cases.len());
    for c in &b.overdue_cases {
        let _ = writeln!(
            s,
            "- 工单#{} {}（{}，{}，截止 {}，已逾期 {:.0} 天）",
            c.id,
            escape_markdown(&c.title),
            c.status.zh(),
            escape_markdown(c.assignee.as_deref().unwrap_or("未指派")),
            local(c.deadline, tz),
            c.overdue_days.ceil()
        );
    }
    s
}

fn comparison_table(s: &mut String, title: &str, c: &PeriodComparison) {
    let _ = writeln!(s, "\n**{title}**\n");
    let _ = writeln!(s, "| 指标 | 之前 | 之后 | 变化 |\n|---|---:|---:|---:|");
    let _ = writeln!(
        s,
        "| 信息量 | {} | {} | {:+} |",
        c.before.docs,
        c.after.docs,
        c.after.docs as i64 - c.before.docs as i64
    );
    let _ = writeln!(
        s,
        "| 负面数 | {} | {} | {:+} |",
        c.before.negative,
        c.after.negative,
        c.after.negative as i64 - c.before.negative as i64
    );
    let _ = writeln!(
        s,
        "| 负面率 | {} | {} | {}（z = {}） |",
        pct(c.before.negative_rate),
        pct(c.after.negative_rate),
        c.negative_rate_change
            .map_or_else(|| "—".into(), |d| format!("{:+.1} 个百分点", d * 100.0)),
        num(c.negative_rate_z, 2)
    );
    let _ = writeln!(
        s,
        "| 平均情感 | {} | {} | {} |",
        num(c.before.mean_sentiment, 3),
        num(c.after.mean_sentiment, 3),
        c.mean_sentiment_change
            .map_or_else(|| "—".into(), |d| format!("{d:+.3}"))
    );
    let _ = writeln!(
        s,
        "| 投诉量 | {} | {} | {:+} |",
        c.before.complaints, c.after.complaints, c.complaints_change
    );
}

/// An incident's full report as Markdown (export; the console prints its HTML page from
/// [`IncidentFullReport`]).
pub fn render_full_report_markdown(r: &IncidentFullReport, tz: Tz) -> String {
    let mut s = String::new();
    let rep = &r.report;
    let f = &rep.facts;
    let _ = writeln!(s, "# 事件报告：{}\n", escape_markdown(&rep.title));
    let _ = writeln!(
        s,
        "事件#{} · {} · 级别{} · 生成于 {}\n",
        r.incident.id,
        r.incident.status.zh(),
        r.incident.severity.zh(),
        local(r.generated_at, tz)
    );
    let _ = writeln!(s, "## 一、事件概况\n");
    let _ = writeln!(s, "{}\n", esc_text(&rep.summary));
    let span = match (f.start, f.end) {
        (Some(a), Some(b)) => format!("{} — {}", local(a, tz), local(b, tz)),
        _ => "—".into(),
    };
    let _ = writeln!(s, "- 时间：{span}");
    let _ = writeln!(s, "- 主体：{}", escape_markdown(&f.entity_name));
    if let Some(src) = &f.first_source {
        let name = f
            .first_source_name
            .clone()
            .unwrap_or_else(|| src.to_string());
        let _ = writeln!(
            s,
            "- 首发：{}（{}）",
            escape_markdown(&name),
            f.first_seen.map_or_else(|| "—".into(), |t| local(t, tz))
        );
    }
    let _ = writeln!(
        s,
        "- 信息量：{} 篇（负面 {}，中性 {}，正面 {}）",
        f.doc_count, f.sentiment.negative, f.sentiment.neutral, f.sentiment.positive
    );
    let list = |v: &[NameCount]| -> String {
        if v.is_empty() {
            return "—".into();
        }
        v.iter()
            .take(10)
            .map(|n| {
                format!(
                    "{} {}",
                    escape_markdown(n.label.as_deref().unwrap_or(&n.name)),
                    n.count
                )
            })
            .collect::<Vec<_>>()
            .join("，")
    };
    let _ = writeln!(s, "- 来源：{}", list(&f.sources));
    let _ = writeln!(s, "- 渠道：{}", list(&f.channels));
    let _ = writeln!(s, "- 涉及产品：{}", list(&f.products));
    let _ = writeln!(s, "- 涉及人员：{}", list(&f.people));
    let _ = writeln!(s, "- 关键词：{}", list(&f.top_terms));
    let _ = writeln!(s, "- 风险类别：{}", list(&f.risks));
    let _ = writeln!(s, "- 分析维度：{}", list(&f.dimensions));
    if !rep.impact.trim().is_empty() {
        let _ = writeln!(s, "\n**影响评估**：{}", esc_text(&rep.impact));
    }
    if !rep.notes.trim().is_empty() {
        let _ = writeln!(s, "\n**备注**：{}", esc_text(&rep.notes));
    }
    let _ = writeln!(s, "\n### 主要内容\n");
    for (i, d) in f.top_docs.iter().enumerate() {
        let src = d
            .source_name
            .clone()
            .unwrap_or_else(|| d.source_id.to_string());
        let _ = writeln!(
            s,
            "{}. {} · {} · {} · {}",
            i + 1,
            link(&d.title, d.url.as_deref()),
            escape_markdown(&src),
            local(d.at, tz),
            d.label.zh()
        );
    }
    let _ = writeln!(s, "\n## 二、传播路径\n");
    for st in &f.propagation {
        let _ = writeln!(
            s,
            "- {} 首发于 {}，全网相似 {} 篇：",
            local(st.first_seen, tz),
            escape_markdown(st.first_source.as_str()),
            st.cluster_size
        );
        for d in &st.steps {
            let src = d
                .source_name
                .clone()
                .unwrap_or_else(|| d.source_id.to_string());
            let _ = writeln!(
                s,
                "  - {} {}（{}）{}",
                local(d.at, tz),
                escape_markdown(&src),
                d.channel.as_str(),
                link(&d.title, d.url.as_deref())
            );
        }
    }
    let _ = writeln!(s, "\n## 三、复盘\n");
    match &r.review {
        None => {
            let _ = writeln!(s, "尚未开始复盘。");
        }
        Some(rv) => {
            let _ = writeln!(
                s,
                "状态：{}{}\n",
                rv.status.zh(),
                match (&rv.approved_by, rv.approved_at) {
                    (Some(b), Some(t)) =>
                        format!("（{} 于 {} 批准）", escape_markdown(b), local(t, tz)),
                    _ => String::new(),
                }
            );
            if !rv.departments.is_empty() || !rv.participants.is_empty() {
                let _ = writeln!(
                    s,
                    "参与部门：{}；参与人员：{}\n",
                    escape_markdown(&rv.departments.join("、")),
                    escape_markdown(&rv.participants.join("、"))
                );
            }
            if !rv.external_experts.trim().is_empty() {
                let _ = writeln!(s, "外部专家：{}\n", esc_text(&rv.external_experts));
            }
            let _ = writeln!(s, "| 维度 | 适用 | 发现 | 证据 |\n|---|---|---|---:|");
            for d in &rv.dimensions {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} 篇 |",
                    d.dimension.zh(),
                    if d.applies { "是" } else { "否" },
                    escape_markdown(&d.finding).replace('\n', " "),
                    d.evidence.len()
                );
            }
            let _ = writeln!(s, "\n### 根本原因\n");
            for c in &rv.root_causes {
                let dims: Vec<&str> = c.dimensions.iter().map(|d| d.zh()).collect();
                let _ = writeln!(
                    s,
                    "{}. {}（{}）",
                    c.id,
                    escape_markdown(&c.text),
                    dims.join("、")
                );
            }
            if !rv.summary.trim().is_empty() {
                let _ = writeln!(s, "\n**复盘总结**：{}", esc_text(&rv.summary));
            }
        }
    }
    let _ = writeln!(s, "\n## 四、改进措施\n");
    if r.measures.is_empty() {
        let _ = writeln!(s, "暂无。");
    } else {
        let _ = writeln!(
            s,
            "| # | 类别 | 措施 | 责任部门 | 责任人 | 期限 | 状态 | 根因 |\n|---|---|---|---|---|---|---|---|"
        );
        for m in &r.measures {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                m.id,
                m.category.zh(),
                escape_markdown(&m.description),
                escape_markdown(&m.owner_department),
                escape_markdown(&m.owner),
                local(m.deadline, tz),
                m.status.zh(),
                m.root_cause.map_or_else(|| "—".into(), |c| format!("#{c}"))
            );
        }
        for m in &r.measures {
            if m.progress.is_empty() && m.checks.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n措施#{} 进展：", m.id);
            for p in &m.progress {
                let _ = writeln!(
                    s,
                    "- {} {}：{}{}",
                    local(p.at, tz),
                    escape_markdown(&p.by),
                    escape_markdown(&p.text),
                    p.percent.map_or_else(String::new, |v| format!("（{v}%）"))
                );
            }
            for c in &m.checks {
                let _ = writeln!(
                    s,
                    "- 现场检查 {} {}：{}{}",
                    local(c.at, tz),
                    escape_markdown(&c.by),
                    escape_markdown(&c.text),
                    match c.passed {
                        Some(true) => "（通过）",
                        Some(false) => "（未通过）",
                        None => "",
                    }
                );
            }
        }
    }
    let _ = writeln!(s, "\n## 五、效果评估\n");
    if r.evaluations.is_empty() {
        let _ = writeln!(s, "暂无。");
    }
    for e in &r.evaluations {
        let _ = writeln!(
            s,
            "### 评估#{}{}：以 {} 为界，前后各 {} 天\n",
            e.id,
            e.measure_id
                .map_or_else(String::new, |m| format!("（措施#{m}）")),
            local(e.pivot, tz),
            e.window_days
        );
        comparison_table(&mut s, "主体全部信息", &e.entity);
        if let Some(t) = &e.on_topic {
            comparison_table(&mut s, "事件话题信息", t);
        }
        let _ = writeln!(
            s,
            "\n投诉工单：之前 {} 件（平均答复 {} 小时，逾期 {}），之后 {} 件（平均答复 {} 小时，逾期 {}）",
            e.cases_before.cases,
            num(e.cases_before.mean_hours_to_answer, 1),
            pct(e.cases_before.overdue_share),
            e.cases_after.cases,
            num(e.cases_after.mean_hours_to_answer, 1),
            pct(e.cases_after.overdue_share)
        );
        for sv in &e.manual.surveys {
            let _ = writeln!(
                s,
                "- {}：{} → {} {}",
                escape_markdown(&sv.name),
                num(sv.before, 2),
                num(sv.after, 2),
                escape_markdown(&sv.unit)
            );
        }
        for i in &e.manual.indicators {
            let _ = writeln!(
                s,
                "- {}：{} → {} {}",
                escape_markdown(&i.name),
                num(i.before, 2),
                num(i.after, 2),
                escape_markdown(&i.unit)
            );
        }
        if !e.manual.note.trim().is_empty() {
            let _ = writeln!(s, "\n{}", esc_text(&e.manual.note));
        }
    }
    let _ = writeln!(s, "\n## 六、客户投诉\n");
    if r.cases.is_empty() {
        let _ = writeln!(s, "无关联工单。");
    }
    for c in &r.cases {
        let _ = writeln!(
            s,
            "- 工单#{} {}（{}，受理 {}，期限 {}）",
            c.id,
            link(&c.title, c.url.as_deref()),
            c.status.zh(),
            local(c.accepted_at, tz),
            local(c.deadline, tz)
        );
    }
    let _ = writeln!(s, "\n## 七、结论\n");
    match &r.conclusion {
        None => {
            let _ = writeln!(s, "尚未结案。");
        }
        Some(c) => {
            let _ = writeln!(s, "{}\n", esc_text(&c.text));
            let _ = writeln!(
                s,
                "—— {}，{}{}",
                escape_markdown(&c.by),
                local(c.at, tz),
                c.evaluation_id
                    .map_or_else(String::new, |e| format!("（依据评估#{e}）"))
            );
        }
    }
    s
}
