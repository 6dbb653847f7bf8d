//! Domain types of yuqing, shared by every other crate. No I/O lives here.
//!
//! The flow of types mirrors the pipeline:
//!
//! * a connector turns what it fetched into [`RawDoc`]s, each with a stable [`DocId`] derived
//!   from what the source says about the item (GUID, else canonical link, else content hash);
//! * the analyzer adds an [`Analysis`] (normalized text, token count, [`Mention`]s of watched
//!   entities, a [`Sentiment`] with the terms that produced it) to make a [`Document`];
//! * the index and the store persist [`Document`]s, upserted by [`DocId`], so writing one
//!   twice changes nothing;
//! * a source's progress is a [`Checkpoint`], saved only after the documents it covers are
//!   committed.
//!
//! The improvement workflow's types (event reports, reviews, measures, cases, evaluations,
//! audit entries, and the state machines of reviews, measures and cases) are in [`workflow`].
//!
//! Invariants: a [`DocId`] is a pure function of its source id and item key, so a replayed
//! item always maps to the same document; sentiment scores lie in `[-1, 1]`.
#![warn(missing_docs)]

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod workflow;

/// Identifier of a configured source: the connector file's path below `connectors/`, without
/// the `.toml` extension (e.g. `news/caixin`). Stable across restarts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceId(pub String);

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl SourceId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Stable identifier of a document: 32 hex characters of SHA-256 over the source id and the
/// item key (computed by the connectors crate), so the same item always gets the same id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocId(pub String);

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl DocId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What kind of place a document came from; used for filtering and by incident rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// News sites and their feeds.
    News,
    /// Blogs, forums and other web pages.
    Web,
    /// Social media posts.
    Social,
    /// Complaint platforms (黑猫投诉 and the like).
    Complaint,
    /// Regulators and official bodies.
    Official,
    /// Pushed or imported records: hotline, online service feedback.
    Inbound,
}

impl Channel {
    /// Every channel, in display order.
    pub const ALL: [Channel; 6] = [
        Channel::News,
        Channel::Web,
        Channel::Social,
        Channel::Complaint,
        Channel::Official,
        Channel::Inbound,
    ];

    /// The lowercase name used in config files, the index and queries.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::News => "news",
            Channel::Web => "web",
            Channel::Social => "social",
            Channel::Complaint => "complaint",
            Channel::Official => "official",
            Channel::Inbound => "inbound",
        }
    }

    /// Parse the lowercase name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document as a connector produced it, before analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawDoc {
    /// Stable id (see [`DocId`]).
    pub id: DocId,
    /// The source that produced it.
    pub source_id: SourceId,
    /// The source's channel.
    pub channel: Channel,
    /// What identifies the item within its source (GUID, canonical link or content hash).
    pub item_key: String,
    /// Link to the original, if any.
    pub url: Option<String>,
    /// Title as published (entities decoded, tags stripped).
    pub title: String,
    /// Body text as published (tags stripped), possibly only a summary.
    pub body: String,
    /// Author, if given.
    pub author: Option<String>,
    /// When the source says it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// When we fetched it.
    pub fetched_at: DateTime<Utc>,
    /// Tags from the source's configuration (e.g. `authoritative`).
    pub tags: Vec<String>,
}

/// Sentiment label derived from a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentLabel {
    /// Score at or below the negative threshold.
    Negative,
    /// Between the thresholds.
    Neutral,
    /// Score at or above the positive threshold.
    Positive,
}

impl SentimentLabel {
    /// The lowercase name used in the index and queries.
    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Negative => "negative",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::Positive => "positive",
        }
    }

    /// The Chinese name shown to users.
    pub fn zh(self) -> &'static str {
        match self {
            SentimentLabel::Negative => "负面",
            SentimentLabel::Neutral => "中性",
            SentimentLabel::Positive => "正面",
        }
    }

    /// Parse the lowercase name; `None` for anything else.
    pub fn parse(s: &str) -> Option<SentimentLabel> {
        match s {
            "negative" => Some(SentimentLabel::Negative),
            "neutral" => Some(SentimentLabel::Neutral),
            "positive" => Some(SentimentLabel::Positive),
            _ => None,
        }
    }
}

impl fmt::Display for SentimentLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One term that moved a sentiment score, with the modifiers applied to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentTerm {
    /// The lexicon term as it appears in the text.
    pub term: String,
    /// Its lexicon weight before modifiers.
    pub weight: f32,
    /// Its contribution after negation and degree words.
    pub contribution: f32,
    /// Human-readable modifiers that applied (e.g. `否定:不`, `程度:非常×1.8`).
    pub modifiers: Vec<String>,
}

/// A sentiment judgement with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    /// Score in `[-1, 1]`; negative means unfavourable.
    pub score: f32,
    /// Label from the score and the configured thresholds.
    pub label: SentimentLabel,
    /// The terms that produced the score, in text order.
    pub terms: Vec<SentimentTerm>,
}

impl Sentiment {
    /// A neutral judgement with no evidence.
    pub fn neutral() -> Sentiment {
        Sentiment {
            score: 0.0,
            label: SentimentLabel::Neutral,
            terms: Vec::new(),
        }
    }
}

/// Which part of a document a span refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The title.
    Title,
    /// The body.
    Body,
}

/// Kind of a watched name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AliasKind {
    /// The canonical name or a short name of the company.
    Name,
    /// A brand.
    Brand,
    /// A product or app.
    Product,
    /// A person (executive, spokesperson).
    Person,
}

/// A watched entity (the company, a subsidiary, a rival) as configured in `entities.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Short stable id used in queries (`entity:<id>`), e.g. `xinyi`.
    pub id: String,
    /// Canonical display name.
    pub name: String,
    /// Every name that refers to it, with its kind; the canonical name is included.
    pub aliases: Vec<Alias>,
    /// Phrases in which an alias does *not* refer to the entity (e.g. an alias that is also an
    /// ordinary word); a match inside one of these is ignored.
    pub exclude_contexts: Vec<String>,
}

/// One name of an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    /// The name as written.
    pub text: String,
    /// What it names.
    pub kind: AliasKind,
}

/// A mention of a watched entity, with its evidence span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// Entity id.
    pub entity_id: String,
    /// The alias that matched.
    pub alias: String,
    /// Kind of the alias.
    pub kind: AliasKind,
    /// Field of the span.
    pub field: Field,
    /// Byte range of the match in the field's normalized text.
    pub start: usize,
    /// End of the byte range (exclusive).
    pub end: usize,
}

/// Everything the analyzer found in a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Normalized title (offsets in [`Mention`] refer to it).
    pub title: String,
    /// Normalized body (offsets in [`Mention`] refer to it).
    pub body: String,
    /// Number of word characters (ideographs, letters, digits) in title and body.
    #[serde(default)]
    pub char_count: usize,
    /// Mentions of watched entities, in text order (title first).
    pub mentions: Vec<Mention>,
    /// Document-level sentiment.
    pub sentiment: Sentiment,
    /// Sentiment towards each mentioned entity, from the sentences around its mentions.
    #[serde(default)]
    pub entity_sentiments: Vec<EntitySentiment>,
    /// Risk categories (ids from `config/risk.toml`, e.g. `collection`), with evidence.
    #[serde(default)]
    pub risks: Vec<RiskTag>,
    /// The seven review dimensions that apply, with evidence.
    #[serde(default)]
    pub dimensions: Vec<DimensionTag>,
    /// 64-bit SimHash of the normalized text, for near-duplicate clustering.
    #[serde(default)]
    pub simhash: u64,
    /// Version of the analyzer that produced this, bumped when results would change.
    pub analyzer_version: u32,
}

/// Sentiment towards one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitySentiment {
    /// Entity id.
    pub entity_id: String,
    /// The judgement, with the terms from the sentences around the entity's mentions.
    pub sentiment: Sentiment,
    /// The most prominent place the entity is mentioned: the highest [`Salience`] of its
    /// mentions. `None` in analyses stored before salience existed (analyzer version < 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salience: Option<Salience>,
    /// The salience of each of this entity's mentions, in the order they appear in
    /// [`Analysis::mentions`] (see [`Analysis::mention_salience`]). Empty in analyses stored
    /// before salience existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mention_salience: Vec<Salience>,
}

/// How prominent a mention is: in the title, in the lead, or a passing mention in the body.
/// Ordered from least to most prominent, so `max` gives the most prominent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Salience {
    /// In the body after the lead: a passing mention.
    Body,
    /// In the lead: the body's first paragraph or its first ~100 characters (the analyzer
    /// documents the exact rule).
    Lead,
    /// In the title.
    Title,
}

impl Salience {
    /// The name used in JSON and queries: `title`, `lead`, `body`.
    pub fn as_str(self) -> &'static str {
        match self {
            Salience::Title => "title",
            Salience::Lead => "lead",
            Salience::Body => "body",
        }
    }
}

/// A risk category found in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskTag {
    /// Category id as configured (e.g. `collection`, `fees`, `personal_data`).
    pub id: String,
    /// The terms that triggered it, in text order, distinct.
    pub evidence: Vec<String>,
}

/// The seven dimensions of the improvement workflow's review (人 事 财 物 信息 安全 文化).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// 人: people (staff conduct, training, appraisal, care).
    People,
    /// 事: business process.
    Process,
    /// 财: finance (pricing, fees, funds).
    Finance,
    /// 物: materials and facilities.
    Materials,
    /// 信息: information (disclosure, data, communication).
    Information,
    /// 安全: security (data security, fund safety, personal safety).
    Security,
    /// 文化: culture (values, customer orientation).
    Culture,
}

impl Dimension {
    /// All seven, in the workflow's order.
    pub const ALL: [Dimension; 7] = [
        Dimension::People,
        Dimension::Process,
        Dimension::Finance,
        Dimension::Materials,
        Dimension::Information,
        Dimension::Security,
        Dimension::Culture,
    ];

    /// The id used in config files, the index and queries (`dim:people`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::People => "people",
            Dimension::Process => "process",
            Dimension::Finance => "finance",
            Dimension::Materials => "materials",
            Dimension::Information => "information",
            Dimension::Security => "security",
            Dimension::Culture => "culture",
        }
    }

    /// The Chinese name: 人 事 财 物 信息 安全 文化.
    pub fn zh(self) -> &'static str {
        match self {
            Dimension::People => "人",
            Dimension::Process => "事",
            Dimension::Finance => "财",
            Dimension::Materials => "物",
            Dimension::Information => "信息",
            Dimension::Security => "安全",
            Dimension::Culture => "文化",
        }
    }

    /// Parse the id or the Chinese name.
    pub fn parse(s: &str) -> Option<Dimension> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.as_str() == s || d.zh() == s)
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A review dimension found in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimensionTag {
    /// The dimension.
    pub dimension: Dimension,
    /// The terms that triggered it, in text order, distinct.
    pub evidence: Vec<String>,
}

/// The near-duplicate cluster a document belongs to: reposts of one story share it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// Cluster id: the id of the cluster's first document.
    pub id: DocId,
    /// Source of the cluster's first document (where the story surfaced).
    pub first_source: SourceId,
    /// Time of the cluster's first document.
    pub first_seen: DateTime<Utc>,
    /// Documents in the cluster, this one included, when it was assigned.
    pub size: u32,
}

/// An analyst's correction of a document's analysis; kept and respected on re-analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// The document.
    pub doc_id: DocId,
    /// Corrected document-level label, if the label was corrected.
    pub label: Option<SentimentLabel>,
    /// Entity ids whose mentions in this document are false.
    pub false_mentions: Vec<String>,
    /// Who corrected it.
    pub by: String,
    /// Why, in the analyst's words.
    pub note: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl Correction {
    /// A new correction of `doc_id` on top of `earlier`: a label given here replaces the
    /// earlier one (none keeps it), false mentions accumulate, the note and author are this
    /// correction's.
    pub fn merged(
        earlier: Option<Correction>,
        doc_id: DocId,
        label: Option<SentimentLabel>,
        false_mentions: &[String],
        by: &str,
        note: Option<String>,
        at: DateTime<Utc>,
    ) -> Correction {
        let (earlier_label, mut all) = earlier
            .map(|c| (c.label, c.false_mentions))
            .unwrap_or_default();
        for e in false_mentions {
            if !all.contains(e) {
                all.push(e.clone());
            }
        }
        Correction {
            doc_id,
            label: label.or(earlier_label),
            false_mentions: all,
            by: by.to_string(),
            note,
            at,
        }
    }
}

impl Analysis {
    /// Every mention with its salience (from [`EntitySentiment::mention_salience`]); `None`
    /// for analyses stored before salience existed.
    pub fn mention_salience(&self) -> Vec<(&Mention, Option<Salience>)> {
        let mut seen: Vec<(&str, usize)> = Vec::new();
        self.mentions
            .iter()
            .map(|m| {
                let k = match seen.iter_mut().find(|(id, _)| *id == m.entity_id) {
                    Some((_, k)) => {
                        *k += 1;
                        *k
                    }
                    None => {
                        seen.push((&m.entity_id, 0));
                        0
                    }
                };
                let s = self
                    .entity_sentiments
                    .iter()
                    .find(|e| e.entity_id == m.entity_id)
                    .and_then(|e| e.mention_salience.get(k).copied());
                (m, s)
            })
            .collect()
    }

    /// Distinct entity ids mentioned, in first-mention order.
    pub fn entity_ids(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in &self.mentions {
            if !out.contains(&m.entity_id) {
                out.push(m.entity_id.clone());
            }
        }
        out
    }
}

/// An analyzed document: what is indexed and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The document as fetched.
    pub raw: RawDoc,
    /// What the analyzer found (with any correction applied).
    pub analysis: Analysis,
    /// Its near-duplicate cluster, once assigned at commit time.
    #[serde(default)]
    pub cluster: Option<ClusterInfo>,
}

/// A source's progress marker. Saved only after the documents it covers are committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// `ETag` of the last fully stored response.
    pub etag: Option<String>,
    /// `Last-Modified` of the last fully stored response.
    pub last_modified: Option<String>,
    /// SHA-256 (hex) of the last fully stored response body, for servers without validators.
    pub content_hash: Option<String>,
}

/// Health of a source as the console and `yuqing status` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceHealth {
    /// Never polled yet.
    Pending,
    /// Last poll succeeded.
    Ok,
    /// Recent polls failed, fewer than the failing threshold in a row.
    Degraded,
    /// Many polls in a row failed; still retried at a capped interval.
    Failing,
}

impl SourceHealth {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceHealth::Pending => "pending",
            SourceHealth::Ok => "ok",
            SourceHealth::Degraded => "degraded",
            SourceHealth::Failing => "failing",
        }
    }

    /// Parse the lowercase name; `None` for anything else.
    pub fn parse(s: &str) -> Option<SourceHealth> {
        match s {
            "pending" => Some(SourceHealth::Pending),
            "ok" => Some(SourceHealth::Ok),
            "degraded" => Some(SourceHealth::Degraded),
            "failing" => Some(SourceHealth::Failing),
            _ => None,
        }
    }
}

impl fmt::Display for SourceHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Outcome class of a failed poll, used for health and retry decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// DNS, connect, reset.
    Network,
    /// The total deadline fired.
    Timeout,
    /// HTTP 4xx.
    Client,
    /// HTTP 5xx.
    Server,
    /// Rate limited (429/503 with Retry-After).
    RateLimited,
    /// The response exceeded the body cap.
    TooLarge,
    /// The body could not be parsed as the kind expects.
    Parse,
    /// A local error (store, index).
    Internal,
}

impl ErrorClass {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Network => "network",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Client => "client",
            ErrorClass::Server => "server",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::TooLarge => "too_large",
            ErrorClass::Parse => "parse",
            ErrorClass::Internal => "internal",
        }
    }

    /// Whether a later attempt may succeed without anything changing on our side.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorClass::Network
                | ErrorClass::Timeout
                | ErrorClass::Server
                | ErrorClass::RateLimited
        )
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious an incident or alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 低: worth a look.
    Low,
    /// 中: act today.
    Medium,
    /// 高: act now.
    High,
    /// 紧急: wake people up.
    Critical,
}

impl Severity {
    /// All, in increasing order.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The id used in config files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            Severity::Low => "低",
            Severity::Medium => "中",
            Severity::High => "高",
            Severity::Critical => "紧急",
        }
    }

    /// Parse the id.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// An incident opened (or reopened).
    Opened,
    /// An open incident's severity rose.
    Escalated,
    /// New documents attached to an open incident (grouped follow-up).
    Update,
    /// An incident resolved.
    Resolved,
    /// A reminder (unacknowledged incident, overdue measure).
    Reminder,
    /// Several notifications folded into one because of a rate limit.
    Digest,
    /// A daily or weekly briefing.
    Briefing,
    /// A source is failing, or has gone quiet (stale).
    SourceHealth,
}

/// A document cited in a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifiedDoc {
    /// Title (plain text).
    pub title: String,
    /// Link to the original, if any.
    pub url: Option<String>,
    /// Source display name or id.
    pub source: String,
    /// Publication (else fetch) time.
    pub time: Option<DateTime<Utc>>,
}

/// A chat notification, platform-neutral: each notifier renders it within its platform's
/// limits. Stored as JSON in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Why it is sent.
    pub kind: NotificationKind,
    /// The incident it is about, if any.
    pub incident_id: Option<i64>,
    /// Severity shown in the message.
    pub severity: Severity,
    /// One-line Chinese title, e.g. `【高】恒信消费金融 负面舆情激增`.
    pub title: String,
    /// The entity concerned (display name), if any.
    pub entity: Option<String>,
    /// Chinese markdown lines: rule, numbers against the threshold, top terms.
    pub lines: Vec<String>,
    /// 3–5 top documents.
    pub top_docs: Vec<NotifiedDoc>,
    /// Link to the incident (or page) in the console.
    pub console_url: Option<String>,
    /// Platform user ids or phone numbers to @-mention, where the platform allows.
    pub mentions: Vec<String>,
}

/// Kind of an incident rule (see `config/rules.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// At least N (negative) documents mentioning an entity in a window.
    Volume,
    /// The current window against the same hours on past days.
    Spike,
    /// A document containing a high-risk term (爆雷, 跑路, 立案 …) mentioning an entity.
    Keyword,
    /// A negative document from a source tagged `authoritative`.
    Authority,
    /// Complaint-channel volume, including coordinated waves of near-identical complaints.
    ComplaintSurge,
}

impl RuleKind {
    /// Every kind.
    pub const ALL: [RuleKind; 5] = [
        RuleKind::Volume,
        RuleKind::Spike,
        RuleKind::Keyword,
        RuleKind::Authority,
        RuleKind::ComplaintSurge,
    ];

    /// The id used in `rules.toml` and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Volume => "volume",
            RuleKind::Spike => "spike",
            RuleKind::Keyword => "keyword",
            RuleKind::Authority => "authority",
            RuleKind::ComplaintSurge => "complaint_surge",
        }
    }

    /// The Chinese name shown to users.
    pub fn zh(self) -> &'static str {
        match self {
            RuleKind::Volume => "负面声量",
            RuleKind::Spike => "负面激增",
            RuleKind::Keyword => "高风险词",
            RuleKind::Authority => "权威来源负面",
            RuleKind::ComplaintSurge => "投诉激增",
        }
    }

    /// Parse the id.
    pub fn parse(s: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lifecycle state of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Firing, nobody has acknowledged it.
    Open,
    /// Firing, someone owns it.
    Acknowledged,
    /// Quiet for the rule's quiet period (a later wave may reopen it).
    Resolved,
}

impl IncidentStatus {
    /// The id used in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Resolved => "resolved",
        }
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            IncidentStatus::Open => "处理中",
            IncidentStatus::Acknowledged => "已认领",
            IncidentStatus::Resolved => "已解除",
        }
    }

    /// Parse the id.
    pub fn parse(s: &str) -> Option<IncidentStatus> {
        match s {
            "open" => Some(IncidentStatus::Open),
            "acknowledged" => Some(IncidentStatus::Acknowledged),
            "resolved" => Some(IncidentStatus::Resolved),
            _ => None,
        }
    }

    /// Open or acknowledged.
    pub fn is_active(self) -> bool {
        self != IncidentStatus::Resolved
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an incident opened: the rule, its numbers against the threshold, and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentWhy {
    /// Rule id from `rules.toml`.
    pub rule_id: String,
    /// Rule kind.
    pub rule_kind: RuleKind,
    /// Matching documents counted in the window when it opened.
    pub observed: f64,
    /// The threshold the count was compared with (minimum count).
    pub threshold: f64,
    /// Spike rules: mean count of the same window on past days.
    pub baseline: Option<f64>,
    /// Spike rules: standard deviation of the baseline counts.
    pub baseline_stddev: Option<f64>,
    /// Spike rules: the ratio the count had to reach against the baseline.
    pub ratio_threshold: Option<f64>,
    /// Complaint surges: documents in the largest near-duplicate cluster (coordinated wave).
    pub largest_wave: Option<u64>,
    /// Length of the rule's window, seconds.
    pub window_secs: u64,
    /// Most frequent evidence terms (high-risk words, risk evidence, negative terms).
    pub top_terms: Vec<String>,
    /// Sources with the most attached documents, most first.
    pub top_sources: Vec<SourceId>,
    /// Where the story surfaced first (its cluster's first source when known).
    pub first_source: Option<SourceId>,
    /// When the story surfaced first.
    pub first_seen: Option<DateTime<Utc>>,
}

/// One event = one incident: a rule firing for an entity (and topic), with its documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Store id (0 before it is stored).
    pub id: i64,
    /// Grouping key: rule, entity and topic (cluster or term), e.g. `vol|hengxin|`.
    pub group_key: String,
    /// Rule id.
    pub rule_id: String,
    /// Rule kind.
    pub rule_kind: RuleKind,
    /// Entity id.
    pub entity_id: String,
    /// Topic within the entity (cluster id or term) when the rule groups by one.
    pub topic: Option<String>,
    /// Lifecycle state.
    pub status: IncidentStatus,
    /// Current severity (only rises while it is open).
    pub severity: Severity,
    /// Chinese title, without the severity prefix (e.g. `恒信消费金融 负面舆情激增`).
    pub title: String,
    /// When it (last) opened.
    pub opened_at: DateTime<Utc>,
    /// When the engine last changed it.
    pub updated_at: DateTime<Utc>,
    /// Time of the newest attached document (drives the quiet period).
    pub last_doc_at: DateTime<Utc>,
    /// When it resolved (the end of the quiet period), if it is resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When someone acknowledged it (cleared when it reopens).
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Who it is assigned to.
    pub assignee: Option<String>,
    /// How many times it opened: 1, plus one per reopen.
    pub open_count: u32,
    /// Attached documents.
    pub doc_count: u64,
    /// Highest window count seen while it was open.
    pub peak: f64,
    /// When the last notification about it was queued.
    pub notified_at: Option<DateTime<Utc>>,
    /// `doc_count` when the last notification was queued (updates only when it changed).
    pub notified_docs: u64,
    /// Update notifications queued so far (numbers their dedup keys).
    pub update_seq: u32,
    /// The `open_count` for which the unacknowledged escalation already fired (0: none).
    pub unacked_escalated: u32,
    /// Why it opened.
    pub why: IncidentWhy,
}

/// A document attached to an incident: one step of its propagation path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentDoc {
    /// The incident.
    pub incident_id: i64,
    /// The document.
    pub doc_id: DocId,
    /// Its source.
    pub source_id: SourceId,
    /// Its title.
    pub title: String,
    /// Link to the original.
    pub url: Option<String>,
    /// Its time (publication, else fetch).
    pub doc_at: DateTime<Utc>,
    /// When it was attached.
    pub attached_at: DateTime<Utc>,
    /// The evidence terms it contributed.
    pub terms: Vec<String>,
}

/// What happened to an incident, for its audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentEventKind {
    /// It opened.
    Opened,
    /// Documents attached.
    Attached,
    /// Its severity rose because the numbers crossed an escalation threshold.
    SeverityRaised,
    /// Nobody acknowledged it in time: severity raised and a reminder sent.
    UnacknowledgedEscalation,
    /// A follow-up notification was queued.
    Updated,
    /// Quiet for the quiet period.
    Resolved,
    /// A new wave reopened it.
    Reopened,
    /// Someone acknowledged it.
    Acknowledged,
    /// Someone assigned it.
    Assigned,
    /// A notification about it failed permanently (the detail names the channel and why).
    NotifyFailed,
}

impl IncidentEventKind {
    /// The id used in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentEventKind::Opened => "opened",
            IncidentEventKind::Attached => "attached",
            IncidentEventKind::SeverityRaised => "severity_raised",
            IncidentEventKind::UnacknowledgedEscalation => "unacknowledged_escalation",
            IncidentEventKind::Updated => "updated",
            IncidentEventKind::Resolved => "resolved",
            IncidentEventKind::Reopened => "reopened",
            IncidentEventKind::Acknowledged => "acknowledged",
            IncidentEventKind::Assigned => "assigned",
            IncidentEventKind::NotifyFailed => "notify_failed",
        }
    }

    /// Parse the id.
    pub fn parse(s: &str) -> Option<IncidentEventKind> {
        use IncidentEventKind::*;
        [
            Opened,
            Attached,
            SeverityRaised,
            UnacknowledgedEscalation,
            Updated,
            Resolved,
            Reopened,
            Acknowledged,
            Assigned,
            NotifyFailed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One entry of an incident's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentEvent {
    /// The incident.
    pub incident_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: IncidentEventKind,
    /// Who (`None` for the engine).
    pub actor: Option<String>,
    /// Details in words (numbers, severities, counts).
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        for l in [
            SentimentLabel::Negative,
            SentimentLabel::Neutral,
            SentimentLabel::Positive,
        ] {
            assert_eq!(SentimentLabel::parse(l.as_str()), Some(l));
        }
        for h in [
            SourceHealth::Pending,
            SourceHealth::Ok,
            SourceHealth::Degraded,
            SourceHealth::Failing,
        ] {
            assert_eq!(SourceHealth::parse(h.as_str()), Some(h));
        }
    }

    #[test]
    fn dimensions_parse_by_id_and_chinese_name() {
        for d in Dimension::ALL {
            assert_eq!(Dimension::parse(d.as_str()), Some(d));
            assert_eq!(Dimension::parse(d.zh()), Some(d));
        }
    }

    #[test]
    fn entity_ids_are_distinct_in_first_mention_order() {
        let m = |e: &str| Mention {
            entity_id: e.into(),
            alias: e.into(),
            kind: AliasKind::Name,
            field: Field::Body,
            start: 0,
            end: 1,
        };
        let a = Analysis {
            title: String::new(),
            body: String::new(),
            char_count: 0,
            mentions: vec![m("b"), m("a"), m("b")],
            sentiment: Sentiment::neutral(),
            entity_sentiments: vec![],
            risks: vec![],
            dimensions: vec![],
            simhash: 0,
            analyzer_version: 1,
        };
        assert_eq!(a.entity_ids(), vec!["b".to_string(), "a".to_string()]);
    }

    #[test]
    fn mention_salience_follows_mention_order() {
        let m = |e: &str, field: Field| Mention {
            entity_id: e.into(),
            alias: e.into(),
            kind: AliasKind::Name,
            field,
            start: 0,
            end: 1,
        };
        let es = |id: &str, s: Vec<Salience>| EntitySentiment {
            entity_id: id.into(),
            sentiment: Sentiment::neutral(),
            salience: s.iter().copied().max(),
            mention_salience: s,
        };
        let a = Analysis {
            title: String::new(),
            body: String::new(),
            char_count: 0,
            mentions: vec![
                m("b", Field::Title),
                m("a", Field::Body),
                m("b", Field::Body),
            ],
            sentiment: Sentiment::neutral(),
            entity_sentiments: vec![
                es("b", vec![Salience::Title, Salience::Body]),
                es("a", vec![Salience::Lead]),
            ],
            risks: vec![],
            dimensions: vec![],
            simhash: 0,
            analyzer_version: 3,
        };
        let got: Vec<Option<Salience>> = a.mention_salience().into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            got,
            vec![
                Some(Salience::Title),
                Some(Salience::Lead),
                Some(Salience::Body)
            ]
        );
        assert!(Salience::Title > Salience::Lead && Salience::Lead > Salience::Body);
    }
}
