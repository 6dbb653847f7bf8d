//! Types of the improvement workflow (舆情后续改进): an incident's event report, its review
//! (复盘) along the seven [`Dimension`]s with root causes, improvement measures, complaint cases,
//! effect evaluations, the incident's conclusion, and the audit trail of every edit.
//!
//! The three state machines live here as pure data ([`WorkflowState`]): [`ReviewStatus`]
//! (draft → in review → approved), [`MeasureStatus`] (planned → in progress → done → verified)
//! and [`CaseStatus`] (受理 → 分析 → 处理 → 答复 → closed). [`WorkflowState::check`] refuses a
//! change the machine does not allow with an [`IllegalTransition`] naming both states in
//! Chinese and English. Persistence (store) and the operations (crate `yuqing-workflow`) use
//! these types; nothing here does I/O.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Channel, Dimension, DocId, SentimentLabel, SourceId};

/// The kind of workflow object an audit entry or an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowObject {
    /// An incident's event report (id: the incident id).
    Report,
    /// An incident's review (id: the incident id).
    Review,
    /// An improvement measure.
    Measure,
    /// A complaint case.
    Case,
    /// An effect evaluation.
    Evaluation,
    /// An incident's conclusion (id: the incident id).
    Conclusion,
}

impl WorkflowObject {
    /// Every kind.
    pub const ALL: [WorkflowObject; 6] = [
        WorkflowObject::Report,
        WorkflowObject::Review,
        WorkflowObject::Measure,
        WorkflowObject::Case,
        WorkflowObject::Evaluation,
        WorkflowObject::Conclusion,
    ];

    /// The id used in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowObject::Report => "report",
            WorkflowObject::Review => "review",
            WorkflowObject::Measure => "measure",
            WorkflowObject::Case => "case",
            WorkflowObject::Evaluation => "evaluation",
            WorkflowObject::Conclusion => "conclusion",
        }
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            WorkflowObject::Report => "事件报告",
            WorkflowObject::Review => "复盘",
            WorkflowObject::Measure => "改进措施",
            WorkflowObject::Case => "投诉工单",
            WorkflowObject::Evaluation => "效果评估",
            WorkflowObject::Conclusion => "事件结论",
        }
    }

    /// Parse the id.
    pub fn parse(s: &str) -> Option<WorkflowObject> {
        WorkflowObject::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for WorkflowObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state change the object's state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}#{id} 不能从「{from_zh}」变为「{to_zh}」（可变为：{}） \
     (illegal {object} transition: {from} → {to}; allowed: {})",
    .object.zh(),
    allowed_zh(.allowed),
    allowed_en(.allowed)
)]
pub struct IllegalTransition {
    /// What kind of object.
    pub object: WorkflowObject,
    /// Its id.
    pub id: i64,
    /// Its current state (id).
    pub from: &'static str,
    /// Its current state (Chinese).
    pub from_zh: &'static str,
    /// The state asked for (id).
    pub to: &'static str,
    /// The state asked for (Chinese).
    pub to_zh: &'static str,
    /// The states it may move to from `from`: (id, Chinese).
    pub allowed: Vec<(&'static str, &'static str)>,
}

fn allowed_zh(a: &[(&'static str, &'static str)]) -> String {
    if a.is_empty() {
        "无，已是终态".into()
    } else {
        a.iter().map(|(_, z)| *z).collect::<Vec<_>>().join("、")
    }
}

fn allowed_en(a: &[(&'static str, &'static str)]) -> String {
    if a.is_empty() {
        "none, final state".into()
    } else {
        a.iter().map(|(e, _)| *e).collect::<Vec<_>>().join(", ")
    }
}

/// A workflow state machine: the states and the moves between them.
pub trait WorkflowState: Copy + Eq + fmt::Debug + 'static {
    /// The kind of object whose state this is.
    const OBJECT: WorkflowObject;

    /// Every state, in lifecycle order.
    fn all() -> &'static [Self];

    /// The id used in the store and the API.
    fn as_str(self) -> &'static str;

    /// The Chinese name.
    fn zh(self) -> &'static str;

    /// The states this one may move to.
    fn next(self) -> &'static [Self];

    /// Parse the id (or the Chinese name).
    fn parse(s: &str) -> Option<Self> {
        Self::all()
            .iter()
            .copied()
            .find(|v| v.as_str() == s || v.zh() == s)
    }

    /// `Ok` when the object `id` may move from `self` to `to`.
    fn check(self, id: i64, to: Self) -> Result<(), IllegalTransition> {
        if self.next().contains(&to) {
            Ok(())
        } else {
            Err(IllegalTransition {
                object: Self::OBJECT,
                id,
                from: self.as_str(),
                from_zh: self.zh(),
                to: to.as_str(),
                to_zh: to.zh(),
                allowed: self.next().iter().map(|s| (s.as_str(), s.zh())).collect(),
            })
        }
    }
}

/// State of a review: draft → in review → approved; a review in review can be returned to
/// draft, an approved one reopened as a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Being written; editable.
    Draft,
    /// Submitted for approval; editable by the approver's comments only through a return.
    InReview,
    /// Approved; the approver is recorded. Read-only until reopened.
    Approved,
}

impl WorkflowState for ReviewStatus {
    const OBJECT: WorkflowObject = WorkflowObject::Review;

    fn all() -> &'static [Self] {
        &[
            ReviewStatus::Draft,
            ReviewStatus::InReview,
            ReviewStatus::Approved,
        ]
    }

    fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Draft => "draft",
            ReviewStatus::InReview => "in_review",
            ReviewStatus::Approved => "approved",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            ReviewStatus::Draft => "草稿",
            ReviewStatus::InReview => "审核中",
            ReviewStatus::Approved => "已批准",
        }
    }

    fn next(self) -> &'static [Self] {
        match self {
            ReviewStatus::Draft => &[ReviewStatus::InReview],
            ReviewStatus::InReview => &[ReviewStatus::Draft, ReviewStatus::Approved],
            ReviewStatus::Approved => &[ReviewStatus::Draft],
        }
    }
}

/// State of a measure: planned → in progress → done → verified; a done measure that fails
/// verification goes back to in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureStatus {
    /// Agreed, not started.
    Planned,
    /// Being carried out.
    InProgress,
    /// Carried out, awaiting verification (its done time is the evaluation's pivot).
    Done,
    /// Checked and confirmed effective. Final.
    Verified,
}

impl MeasureStatus {
    /// Planned or in progress: the deadline clock runs.
    pub fn is_open(self) -> bool {
        matches!(self, MeasureStatus::Planned | MeasureStatus::InProgress)
    }
}

impl WorkflowState for MeasureStatus {
    const OBJECT: WorkflowObject = WorkflowObject::Measure;

    fn all() -> &'static [Self] {
        &[
            MeasureStatus::Planned,
            MeasureStatus::InProgress,
            MeasureStatus::Done,
            MeasureStatus::Verified,
        ]
    }

    fn as_str(self) -> &'static str {
        match self {
            MeasureStatus::Planned => "planned",
            MeasureStatus::InProgress => "in_progress",
            MeasureStatus::Done => "done",
            MeasureStatus::Verified => "verified",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            MeasureStatus::Planned => "计划中",
            MeasureStatus::InProgress => "进行中",
            MeasureStatus::Done => "已完成",
            MeasureStatus::Verified => "已验证",
        }
    }

    fn next(self) -> &'static [Self] {
        match self {
            MeasureStatus::Planned => &[MeasureStatus::InProgress],
            MeasureStatus::InProgress => &[MeasureStatus::Done],
            MeasureStatus::Done => &[MeasureStatus::Verified, MeasureStatus::InProgress],
            MeasureStatus::Verified => &[],
        }
    }
}

/// State of a complaint case: 受理 → 分析 → 处理 → 答复 → 关闭; an answered case the customer
/// does not accept goes back to handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// 受理: accepted; the deadline clock starts.
    Accepted,
    /// 分析: being analysed.
    Analyzing,
    /// 处理: being handled.
    Handling,
    /// 答复: answered to the customer (needs a reply); the clock stops.
    Answered,
    /// 关闭: closed. Final.
    Closed,
}

impl CaseStatus {
    /// Not yet answered: the deadline clock runs.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CaseStatus::Accepted | CaseStatus::Analyzing | CaseStatus::Handling
        )
    }
}

impl WorkflowState for CaseStatus {
    const OBJECT: WorkflowObject = WorkflowObject::Case;

    fn all() -> &'static [Self] {
        &[
            CaseStatus::Accepted,
            CaseStatus::Analyzing,
            CaseStatus::Handling,
            CaseStatus::Answered,
            CaseStatus::Closed,
        ]
    }

    fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Accepted => "accepted",
            CaseStatus::Analyzing => "analyzing",
            CaseStatus::Handling => "handling",
            CaseStatus::Answered => "answered",
            CaseStatus::Closed => "closed",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            CaseStatus::Accepted => "受理",
            CaseStatus::Analyzing => "分析",
            CaseStatus::Handling => "处理",
            CaseStatus::Answered => "答复",
            CaseStatus::Closed => "关闭",
        }
    }

    fn next(self) -> &'static [Self] {
        match self {
            CaseStatus::Accepted => &[CaseStatus::Analyzing],
            CaseStatus::Analyzing => &[CaseStatus::Handling],
            CaseStatus::Handling => &[CaseStatus::Answered],
            CaseStatus::Answered => &[CaseStatus::Closed, CaseStatus::Handling],
            CaseStatus::Closed => &[],
        }
    }
}

macro_rules! display_state {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_state!(ReviewStatus, MeasureStatus, CaseStatus);

/// The seven areas of improvement measures (the seed's 人员, 业务流程, 财务, 物资, 信息管理,
/// 安全管理, 企业文化), one per review [`Dimension`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureCategory {
    /// 人员: training, appraisal, care.
    Personnel,
    /// 业务流程: business process.
    Process,
    /// 财务: finance.
    Finance,
    /// 物资: materials and facilities.
    Materials,
    /// 信息管理: information management.
    Information,
    /// 安全管理: security management.
    Security,
    /// 企业文化: corporate culture.
    Culture,
}

impl MeasureCategory {
    /// All seven, in the workflow's order.
    pub const ALL: [MeasureCategory; 7] = [
        MeasureCategory::Personnel,
        MeasureCategory::Process,
        MeasureCategory::Finance,
        MeasureCategory::Materials,
        MeasureCategory::Information,
        MeasureCategory::Security,
        MeasureCategory::Culture,
    ];

    /// The id used in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            MeasureCategory::Personnel => "personnel",
            MeasureCategory::Process => "process",
            MeasureCategory::Finance => "finance",
            MeasureCategory::Materials => "materials",
            MeasureCategory::Information => "information",
            MeasureCategory::Security => "security",
            MeasureCategory::Culture => "culture",
        }
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            MeasureCategory::Personnel => "人员",
            MeasureCategory::Process => "业务流程",
            MeasureCategory::Finance => "财务",
            MeasureCategory::Materials => "物资",
            MeasureCategory::Information => "信息管理",
            MeasureCategory::Security => "安全管理",
            MeasureCategory::Culture => "企业文化",
        }
    }

    /// Parse the id or the Chinese name.
    pub fn parse(s: &str) -> Option<MeasureCategory> {
        MeasureCategory::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.zh() == s)
    }

    /// The review dimension this area answers.
    pub fn dimension(self) -> Dimension {
        match self {
            MeasureCategory::Personnel => Dimension::People,
            MeasureCategory::Process => Dimension::Process,
            MeasureCategory::Finance => Dimension::Finance,
            MeasureCategory::Materials => Dimension::Materials,
            MeasureCategory::Information => Dimension::Information,
            MeasureCategory::Security => Dimension::Security,
            MeasureCategory::Culture => Dimension::Culture,
        }
    }
}

impl fmt::Display for MeasureCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name (source, entity, product, person, term, category) with how many documents carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameCount {
    /// Id or text.
    pub name: String,
    /// Display label (source display name, entity name, Chinese dimension name), if different.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Documents.
    pub count: u64,
}

/// Documents per sentiment label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelCounts {
    /// Negative documents.
    pub negative: u64,
    /// Neutral documents.
    pub neutral: u64,
    /// Positive documents.
    pub positive: u64,
}

/// A document as a report cites it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDoc {
    /// The document.
    pub doc_id: DocId,
    /// Its title.
    pub title: String,
    /// Link to the original.
    pub url: Option<String>,
    /// Its source.
    pub source_id: SourceId,
    /// Source display name, when known.
    pub source_name: Option<String>,
    /// Its channel.
    pub channel: Channel,
    /// Its time (publication, else fetch).
    pub at: DateTime<Utc>,
    /// Sentiment score (towards the incident's entity when known).
    pub sentiment: f32,
    /// Sentiment label.
    pub label: SentimentLabel,
}

/// One story of the propagation path: a near-duplicate cluster's documents among the
/// incident's, in time order across sources and channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropagationStory {
    /// Cluster id (its first document's id).
    pub cluster_id: DocId,
    /// Where the story surfaced first.
    pub first_source: SourceId,
    /// When it surfaced first.
    pub first_seen: DateTime<Utc>,
    /// Documents in the whole cluster (reposts anywhere), as recorded: its reach where known.
    pub cluster_size: u64,
    /// The incident's documents of this story, oldest first.
    pub steps: Vec<ReportDoc>,
}

/// An incident's event report: drafted from the data when the incident opens, then edited by
/// analysts (every edit audited). The data part can be refreshed from newer data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventReport {
    /// The incident.
    pub incident_id: i64,
    /// Title (drafted from the incident's).
    pub title: String,
    /// 事件概述: what happened, in words (drafted, then the analysts').
    pub summary: String,
    /// 影响评估: impact assessment (analysts').
    pub impact: String,
    /// 备注: notes (analysts').
    pub notes: String,
    /// The data part, drafted from the incident's documents.
    pub facts: ReportFacts,
    /// When it was first drafted.
    pub drafted_at: DateTime<Utc>,
    /// When its facts were last drafted from the data.
    pub refreshed_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Who made the last change (`None`: drafted by the system).
    pub updated_by: Option<String>,
}

/// The data part of an [`EventReport`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportFacts {
    /// The watched entity (id).
    pub entity_id: String,
    /// Its display name.
    pub entity_name: String,
    /// Time of the earliest attached document.
    pub start: Option<DateTime<Utc>>,
    /// Time of the newest attached document.
    pub end: Option<DateTime<Utc>>,
    /// Attached documents.
    pub doc_count: u64,
    /// Where the story surfaced first (cluster first source, else the earliest document).
    pub first_source: Option<SourceId>,
    /// Display name of the first source, when known.
    pub first_source_name: Option<String>,
    /// Channel of the first source, when known.
    pub first_channel: Option<Channel>,
    /// When it surfaced first.
    pub first_seen: Option<DateTime<Utc>>,
    /// Documents per source, most first (label: display name).
    pub sources: Vec<NameCount>,
    /// Documents per channel, most first.
    pub channels: Vec<NameCount>,
    /// Watched entities mentioned (label: display name), most first.
    pub entities: Vec<NameCount>,
    /// Products mentioned, most first.
    pub products: Vec<NameCount>,
    /// People mentioned, most first.
    pub people: Vec<NameCount>,
    /// Main content: the most negative, earliest documents (at most ten).
    pub top_docs: Vec<ReportDoc>,
    /// Most frequent evidence terms, most first.
    pub top_terms: Vec<NameCount>,
    /// Propagation path: each story (near-duplicate cluster) with its steps, earliest first.
    pub propagation: Vec<PropagationStory>,
    /// Documents per sentiment label (towards the entity when known).
    pub sentiment: LabelCounts,
    /// Risk categories of the documents, most first.
    pub risks: Vec<NameCount>,
    /// Review dimensions of the documents, most first (label: Chinese name).
    pub dimensions: Vec<NameCount>,
}

/// One dimension of a review: whether it applies, what was found, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimensionFinding {
    /// The dimension.
    pub dimension: Dimension,
    /// Whether it applies to this event (pre-set when documents carry the dimension).
    pub applies: bool,
    /// The finding, in words.
    pub finding: String,
    /// Evidence: linked documents (pre-selected from the documents' dimension tags).
    pub evidence: Vec<DocId>,
}

/// A root cause, linked to the dimensions it explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCause {
    /// Number within the review (1, 2, …), stable across edits; measures refer to it.
    pub id: u32,
    /// The cause, in words.
    pub text: String,
    /// The dimensions it explains.
    pub dimensions: Vec<Dimension>,
}

/// An incident's review (复盘).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// The incident.
    pub incident_id: i64,
    /// State.
    pub status: ReviewStatus,
    /// The seven dimensions, in [`Dimension::ALL`] order.
    pub dimensions: Vec<DimensionFinding>,
    /// Root causes.
    pub root_causes: Vec<RootCause>,
    /// Participants (names).
    pub participants: Vec<String>,
    /// Departments taking part (from the configured list).
    pub departments: Vec<String>,
    /// External experts consulted, as a note.
    pub external_experts: String,
    /// 复盘总结: overall summary.
    pub summary: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// By whom.
    pub created_by: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// By whom.
    pub updated_by: String,
    /// Last submitted for approval.
    pub submitted_at: Option<DateTime<Utc>>,
    /// By whom.
    pub submitted_by: Option<String>,
    /// Approved (cleared when reopened).
    pub approved_at: Option<DateTime<Utc>>,
    /// The approver (cleared when reopened).
    pub approved_by: Option<String>,
}

/// A dated progress report on a measure (定期汇报).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressUpdate {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: String,
    /// What was done.
    pub text: String,
    /// Completion estimate, 0–100, if given.
    pub percent: Option<u8>,
}

/// An on-site check of a measure (现场检查).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckNote {
    /// When.
    pub at: DateTime<Utc>,
    /// Who checked.
    pub by: String,
    /// What was found.
    pub text: String,
    /// Whether it passed, if judged.
    pub passed: Option<bool>,
}

/// An improvement measure (改进措施).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    /// Store id (0 before it is stored).
    pub id: i64,
    /// The incident it follows up.
    pub incident_id: i64,
    /// Area.
    pub category: MeasureCategory,
    /// What will be done.
    pub description: String,
    /// Owning department (from the configured list).
    pub owner_department: String,
    /// Owning person.
    pub owner: String,
    /// Resources needed (people, budget, systems).
    pub resources: String,
    /// Deadline.
    pub deadline: DateTime<Utc>,
    /// State.
    pub status: MeasureStatus,
    /// The review's root cause it answers ([`RootCause::id`]).
    pub root_cause: Option<u32>,
    /// Progress reports, oldest first.
    pub progress: Vec<ProgressUpdate>,
    /// On-site check notes, oldest first.
    pub checks: Vec<CheckNote>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// By whom.
    pub created_by: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// By whom.
    pub updated_by: String,
    /// When it (last) went in progress.
    pub started_at: Option<DateTime<Utc>>,
    /// When it was (last) marked done: the effect evaluation's pivot.
    pub done_at: Option<DateTime<Utc>>,
    /// When it was verified.
    pub verified_at: Option<DateTime<Utc>>,
    /// Who verified it.
    pub verified_by: Option<String>,
}

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseNote {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: String,
    /// What.
    pub text: String,
}

/// The answer given to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseReply {
    /// The reply text.
    pub text: String,
    /// How it was given (电话, 平台回复, 短信, 邮件 …).
    pub channel: String,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// Who wrote it.
    pub by: String,
}

/// A deadline extension, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineExtension {
    /// When it was extended.
    pub at: DateTime<Utc>,
    /// Who extended it.
    pub by: String,
    /// The deadline before.
    pub from: DateTime<Utc>,
    /// The deadline after.
    pub to: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

/// A complaint case (客户反馈处理).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Store id (0 before it is stored).
    pub id: i64,
    /// State.
    pub status: CaseStatus,
    /// Title (the complaint's).
    pub title: String,
    /// The complaint's text (an excerpt for long documents).
    pub content: String,
    /// The watched entity complained about.
    pub entity_id: Option<String>,
    /// Where it came from.
    pub channel: Channel,
    /// Source, when it came from a monitored document.
    pub source_id: Option<SourceId>,
    /// The document it came from (at most one case per document).
    pub source_doc: Option<DocId>,
    /// Link to the original.
    pub url: Option<String>,
    /// The complainant, if known.
    pub complainant: Option<String>,
    /// The incident it belongs to.
    pub incident_id: Option<i64>,
    /// Who works it.
    pub assignee: Option<String>,
    /// Notes, oldest first.
    pub notes: Vec<CaseNote>,
    /// The answer to the customer.
    pub reply: Option<CaseReply>,
    /// 受理 time: the deadline clock starts here.
    pub accepted_at: DateTime<Utc>,
    /// Current deadline.
    pub deadline: DateTime<Utc>,
    /// Extensions, oldest first.
    pub extensions: Vec<DeadlineExtension>,
    /// When it was (last) answered: the clock stops here.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Who created it (`system` for cases from monitored documents).
    pub created_by: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// By whom.
    pub updated_by: String,
}

impl Case {
    /// Past its deadline without an answer at `now` (an answered case counts as overdue
    /// when it was answered after its deadline).
    pub fn overdue_at(&self, now: DateTime<Utc>) -> bool {
        match self.answered_at {
            Some(a) if !self.status.is_open() => a > self.deadline,
            _ => now > self.deadline,
        }
    }
}

/// What an evaluation counts as the incident's topic, within the entity's documents.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EvaluationTopic {
    /// Terms, any of which in the normalized title or body makes a document on topic.
    pub terms: Vec<String>,
    /// Risk categories, any of which makes a document on topic.
    pub risks: Vec<String>,
    /// A near-duplicate cluster whose documents are on topic.
    pub cluster: Option<DocId>,
}

impl EvaluationTopic {
    /// No criterion given.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.risks.is_empty() && self.cluster.is_none()
    }
}

/// Document figures of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocFigures {
    /// Window start (inclusive).
    pub from: DateTime<Utc>,
    /// Window end (exclusive).
    pub to: DateTime<Utc>,
    /// Documents.
    pub docs: u64,
    /// Negative documents (towards the entity when the analysis says, else overall).
    pub negative: u64,
    /// `negative / docs`; `None` without documents.
    pub negative_rate: Option<f64>,
    /// Mean sentiment score (towards the entity when known); `None` without documents.
    pub mean_sentiment: Option<f64>,
    /// Documents from the complaint channel.
    pub complaints: u64,
}

/// Before/after document figures with the change and its significance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodComparison {
    /// Before the pivot.
    pub before: DocFigures,
    /// After the pivot.
    pub after: DocFigures,
    /// After minus before, negative rate (percentage points / 100).
    pub negative_rate_change: Option<f64>,
    /// Two-proportion z-score of the negative-rate change (after − before, pooled standard
    /// error); |z| ≥ 1.96 is significant at 5 %. `None` when a window is empty or the pooled
    /// rate is 0 or 1.
    pub negative_rate_z: Option<f64>,
    /// After minus before, mean sentiment.
    pub mean_sentiment_change: Option<f64>,
    /// After minus before, complaint documents.
    pub complaints_change: i64,
}

/// Case figures of one window (cases accepted in it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseFigures {
    /// Window start (inclusive).
    pub from: DateTime<Utc>,
    /// Window end (exclusive).
    pub to: DateTime<Utc>,
    /// Cases accepted.
    pub cases: u64,
    /// Of them, answered by the evaluation time.
    pub answered: u64,
    /// Mean hours from acceptance to answer, over the answered ones.
    pub mean_hours_to_answer: Option<f64>,
    /// Of them, answered after their deadline or unanswered past it.
    pub overdue: u64,
    /// `overdue / cases`.
    pub overdue_share: Option<f64>,
}

/// A satisfaction survey's figures before and after (entered by hand).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyFigure {
    /// Survey name, e.g. `客户满意度`.
    pub name: String,
    /// Unit, e.g. `%` or `分`.
    pub unit: String,
    /// Before.
    pub before: Option<f64>,
    /// After.
    pub after: Option<f64>,
    /// Respondents before.
    pub respondents_before: Option<u64>,
    /// Respondents after.
    pub respondents_after: Option<u64>,
}

/// A business indicator before and after (entered by hand).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// Name, e.g. `投诉率`.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Before.
    pub before: Option<f64>,
    /// After.
    pub after: Option<f64>,
    /// Note (source of the figure).
    pub note: String,
}

/// Hand-entered inputs of an evaluation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ManualInputs {
    /// Customer-satisfaction surveys.
    pub surveys: Vec<SurveyFigure>,
    /// Business indicators.
    pub indicators: Vec<Indicator>,
    /// Free note.
    pub note: String,
}

/// An effect evaluation (效果评估), computed from the monitored data around a pivot time,
/// with hand-entered inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Store id (0 before it is stored).
    pub id: i64,
    /// The incident evaluated (directly or through its measure).
    pub incident_id: Option<i64>,
    /// The measure evaluated, if any.
    pub measure_id: Option<i64>,
    /// The entity.
    pub entity_id: String,
    /// The topic within the entity's documents.
    pub topic: EvaluationTopic,
    /// The pivot: the measure's done time, or a given time.
    pub pivot: DateTime<Utc>,
    /// Length of each window, days.
    pub window_days: u32,
    /// All documents about the entity.
    pub entity: PeriodComparison,
    /// The entity's documents on the topic (`None` without a topic).
    pub on_topic: Option<PeriodComparison>,
    /// Cases about the entity accepted before / after.
    pub cases_before: CaseFigures,
    /// See `cases_before`.
    pub cases_after: CaseFigures,
    /// Hand-entered figures.
    pub manual: ManualInputs,
    /// When it was computed; the after window is cut at this time.
    pub computed_at: DateTime<Utc>,
    /// Who asked for it.
    pub computed_by: String,
}

/// An incident's conclusion (结论), citing an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conclusion {
    /// The incident.
    pub incident_id: i64,
    /// The conclusion in words.
    pub text: String,
    /// The evaluation it cites.
    pub evaluation_id: Option<i64>,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: String,
}

/// One audited change: who changed which field of what, when, from what to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Store id (0 before it is stored).
    pub id: i64,
    /// What kind of object.
    pub object: WorkflowObject,
    /// Its id (the incident id for reports, reviews and conclusions).
    pub object_id: i64,
    /// The incident concerned, if any.
    pub incident_id: Option<i64>,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`system` for automatic changes).
    pub actor: String,
    /// What kind of change: `created`, `edited`, `status`, `drafted`, `linked` ….
    pub action: String,
    /// The field path (`status`, `dimensions[people].finding`, `deadline` …); empty for
    /// the whole object.
    pub field: String,
    /// Value before (text as is, other values as JSON); `None` when it did not exist.
    pub old: Option<String>,
    /// Value after; `None` when removed.
    pub new: Option<String>,
}
