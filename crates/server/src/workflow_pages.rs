//! The improvement workflow's console pages (issue 7), server-rendered zh-CN:
//!
//! * `/incidents/{id}/workflow`: the event report with its edit form, the review (复盘) along
//!   人 事 财 物 信息 安全 文化 with root causes, participants and departments, the measures with
//!   their progress and on-site checks, the effect evaluations (table and before/after
//!   chart, manual inputs), the conclusion, linked cases and the audit trail;
//! * `/incidents/{id}/report` (printable) and `/incidents/{id}/report.md` (download): the
//!   full report;
//! * `/supervision` (督办): every open measure across incidents with its age and clock;
//! * `/cases`, `/cases/{id}`: complaint cases on their deadline clock;
//! * `/briefings` (printable) and `/briefings.md`: the daily and weekly briefings.
//!
//! Every form posts with the session's CSRF token and a `back` path (a local path, checked
//! by [`safe_next`]) to return to. Writes need an analyst; approving (and reopening) a
//! review needs the approver role. A refused change (illegal transition, locked object,
//! invalid input) is answered with its status and the workflow's message in Chinese and
//! English. Scraped text reaches the templates only as plain strings (askama escapes
//! them); a link becomes an `href` only through [`safe_href`].

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use yuqing_model::workflow::{
    CaseFigures, DocFigures, Indicator, ManualInputs, PeriodComparison, SurveyFigure,
};
use yuqing_model::{Channel, Dimension, DocId, SentimentLabel};
use yuqing_workflow::{
    AuditEntry, Briefing, BriefingKind, Case, CaseEdit, CaseQuery, CaseStatus, DimensionEdit,
    DueState, Evaluation, MeasureCategory, MeasureEdit, MeasureQuery, MeasureStatus, NewCase,
    NewMeasure, ReportEdit, ReviewEdit, ReviewStatus, RootCauseEdit, WorkflowState,
};

use crate::api::incident_id;
use crate::auth::{Authed, PageUser, safe_next, see_other};
use crate::error::ApiError;
use crate::pages::{Nav, safe_href};
use crate::users::Role;
use crate::workflow_api::{
    CasesParams, WorkflowConsole, briefing_kind, case_query, markdown_response, set_review_status,
    with_workflow,
};
use crate::{AppState, Inner};

/// Candidate evidence documents offered per dimension.
pub const MAX_EVIDENCE_OFFERED: usize = 20;
/// Rows of manual survey and indicator inputs the form accepts.
pub const MAX_MANUAL_ROWS: usize = 50;
/// Characters of an audit value shown.
const AUDIT_VALUE_CHARS: usize = 240;

/// Every workflow page and form handler.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/workflow", get(incident_workflow))
        .route("/incidents/{id}/workflow/report", post(report_edit))
        .route(
            "/incidents/{id}/workflow/report/refresh",
            post(report_refresh),
        )
        .route("/incidents/{id}/workflow/review/start", post(review_start))
        .route("/incidents/{id}/workflow/review", post(review_edit))
        .route(
            "/incidents/{id}/workflow/review/status",
            post(review_status),
        )
        .route("/incidents/{id}/workflow/measures", post(measure_add))
        .route("/incidents/{id}/workflow/evaluate", post(incident_evaluate))
        .route("/incidents/{id}/workflow/conclusion", post(conclude))
        .route("/incidents/{id}/report", get(full_report_page))
        .route("/incidents/{id}/report.md", get(full_report_md))
        .route("/measures/{id}/edit", post(measure_edit))
        .route("/measures/{id}/status", post(measure_status))
        .route("/measures/{id}/progress", post(measure_progress))
        .route("/measures/{id}/check", post(measure_check))
        .route("/measures/{id}/evaluate", post(measure_evaluate))
        .route("/evaluations/{id}/manual", post(manual_inputs))
        .route("/supervision", get(supervision))
        .route("/cases", get(cases).post(case_new))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/edit", post(case_edit))
        .route("/cases/{id}/note", post(case_note))
        .route("/cases/{id}/reply", post(case_reply))
        .route("/cases/{id}/status", post(case_status))
        .route("/cases/{id}/extend", post(case_extend))
        .route("/briefings", get(briefings))
        .route("/briefings.md", get(briefing_md))
}

// ------------------------------------------------------------------ failures

/// Why a page or form failed: an API-level error or the workflow's own (whose message, in
/// Chinese and English, is shown as it is).
pub(crate) enum Fail {
    Api(ApiError),
    Wf(yuqing_workflow::Error),
}

impl From<ApiError> for Fail {
    fn from(e: ApiError) -> Self {
        Fail::Api(e)
    }
}

impl From<yuqing_workflow::Error> for Fail {
    fn from(e: yuqing_workflow::Error) -> Self {
        Fail::Wf(e)
    }
}

impl From<yuqing_store::StoreError> for Fail {
    fn from(e: yuqing_store::StoreError) -> Self {
        Fail::Api(ApiError::internal(e))
    }
}

fn bad(msg: impl Into<String>) -> Fail {
    Fail::Api(ApiError::BadRequest(msg.into()))
}

impl Fail {
    fn status_message(&self) -> (StatusCode, String) {
        use yuqing_workflow::ErrorKind;
        match self {
            Fail::Wf(e) => match e.kind() {
                ErrorKind::NotFound => (StatusCode::NOT_FOUND, e.to_string()),
                ErrorKind::Conflict => (StatusCode::CONFLICT, e.to_string()),
                ErrorKind::Invalid => (StatusCode::BAD_REQUEST, e.to_string()),
                ErrorKind::Internal => {
                    tracing::error!(cause = %e, "workflow page failed");
                    (StatusCode::INTERNAL_SERVER_ERROR, "内部错误".into())
                }
            },
            Fail::Api(e) => {
                if let ApiError::Internal(cause) = e {
                    tracing::error!(cause = %cause, "workflow page failed");
                }
                let m = match e {
                    ApiError::BadRequest(m) | ApiError::Conflict(m) => m.clone(),
                    ApiError::Forbidden(m) if m.contains("CSRF") => {
                        "页面已过期或缺少安全令牌，请刷新页面后重试 (missing or wrong CSRF token)"
                            .into()
                    }
                    ApiError::Forbidden(m) => format!("当前角色无权执行此操作 ({m})"),
                    ApiError::Unauthorized => "请先登录".into(),
                    ApiError::NotFound => "未找到 (not found)".into(),
                    ApiError::TooManyRequests => "尝试次数过多，请稍后再试".into(),
                    ApiError::Unavailable => {
                        "改进工作流未启用 (the improvement workflow is not enabled)".into()
                    }
                    ApiError::Internal(_) => "内部错误".into(),
                };
                (e.status(), m)
            }
        }
    }
}

#[derive(Template)]
#[template(path = "wf_error.html")]
struct ErrorPage {
    nav: Nav,
    status: u16,
    message: String,
    back: String,
}

fn fail_page(nav: Nav, back: &str, f: Fail) -> Response {
    let (status, message) = f.status_message();
    let t = ErrorPage {
        nav,
        status: status.as_u16(),
        message,
        back: safe_next(back).unwrap_or_else(|| "/".into()),
    };
    let body = t.render().unwrap_or_else(|_| "error".into());
    (status, Html(body)).into_response()
}

fn render(nav_for_error: impl FnOnce() -> Nav, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => fail_page(nav_for_error(), "/", ApiError::internal(e).into()),
    }
}

fn nav(a: &Authed, active: &'static str) -> Nav {
    Nav {
        user: a.user.name.clone(),
        role: a.user.role.zh(),
        csrf: a.csrf().to_string(),
        active,
    }
}

// ------------------------------------------------------------------ forms

/// A submitted form as its (name, value) pairs, repeated names kept.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, `None` when empty.
    pub fn opt(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// The first value of `name` as typed ("" when absent).
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether `name` was submitted (a ticked checkbox).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

fn parse_num<T: std::str::FromStr>(f: &Fields, name: &str, what: &str) -> Result<Option<T>, Fail> {
    match f.opt(name) {
        None => Ok(None),
        Some(s) => s.parse::<T>().map(Some).map_err(|_| {
            bad(format!(
                "{what}：「{s}」不是有效的数字 ({name} must be a number)"
            ))
        }),
    }
}

/// The end (23:59:59) of a local date `YYYY-MM-DD`, as UTC.
pub fn end_of_local_day(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    let t = d.and_time(NaiveTime::from_hms_opt(23, 59, 59)?);
    tz.from_local_datetime(&t)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// A local `YYYY-MM-DDTHH:MM` (or a date: its start), as UTC.
pub fn local_time(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    tz.from_local_datetime(&t)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn date_field(f: &Fields, name: &str, tz: Tz) -> Result<Option<DateTime<Utc>>, Fail> {
    match f.opt(name) {
        None => Ok(None),
        Some(s) => end_of_local_day(&s, tz).map(Some).ok_or_else(|| {
            bad(format!(
                "日期「{s}」格式应为 YYYY-MM-DD ({name} must be a date)"
            ))
        }),
    }
}

/// Split a list typed in one field (lines, commas, 、).
fn split_list(s: &str) -> Vec<String> {
    s.split(['\n', ',', '，', '、', ';', '；'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

type Op = Box<dyn FnOnce(&WorkflowConsole, &Inner, &Authed) -> Result<Option<String>, Fail> + Send>;

/// Run a form's change: CSRF, role, then `op` on a blocking thread; on success go to the
/// path `op` names, else to the form's `back`; on failure show why, with a link back.
async fn act(
    st: &AppState,
    a: Authed,
    f: &Fields,
    active: &'static str,
    default_back: String,
    role: Role,
    op: Op,
) -> Response {
    let back = f.get("back").and_then(safe_next).unwrap_or(default_back);
    let n = nav(&a, active);
    if let Err(e) = a.check_csrf(f.get("csrf")).and_then(|()| a.require(role)) {
        return fail_page(n, &back, e.into());
    }
    match with_workflow(st, move |wc, s| op(wc, s, &a)).await {
        Ok(to) => see_other(&to.unwrap_or(back)),
        Err(e) => fail_page(n, &back, e),
    }
}

fn path_id(raw: &str) -> Result<i64, Fail> {
    Ok(incident_id(raw)?)
}

// ------------------------------------------------------------------ formatting

fn fmt_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

fn fmt_opt_time(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map_or_else(|| "—".into(), |t| fmt_time(t, tz))
}

fn fmt_date(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.digits$}"))
}

fn signed(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:+.digits$}"))
}

fn days_left(d: f64) -> String {
    if d >= 0.0 {
        format!("剩 {d:.1} 天")
    } else {
        format!("逾期 {:.1} 天", -d)
    }
}

fn due_class(d: DueState) -> &'static str {
    match d {
        DueState::OnTrack => "pos",
        DueState::DueSoon => "warn",
        DueState::Overdue => "neg",
        DueState::Stopped => "neu",
    }
}

fn label_class(l: SentimentLabel) -> &'static str {
    match l {
        SentimentLabel::Negative => "neg",
        SentimentLabel::Neutral => "neu",
        SentimentLabel::Positive => "pos",
    }
}

/// A channel in Chinese.
pub fn channel_zh(c: Channel) -> &'static str {
    match c {
        Channel::News => "新闻",
        Channel::Web => "网页",
        Channel::Social => "社交媒体",
        Channel::Complaint => "投诉平台",
        Channel::Official => "官方",
        Channel::Inbound => "客户反馈",
    }
}

/// A dimension with its area: `人（人员）`.
pub fn dimension_label(d: Dimension) -> String {
    let area = MeasureCategory::ALL
        .into_iter()
        .find(|c| c.dimension() == d)
        .map_or("", |c| c.zh());
    format!("{}（{area}）", d.zh())
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut o: String = s.chars().take(max).collect();
        o.push('…');
        o
    }
}

/// A state-change button.
pub struct StateButton {
    /// The state id posted.
    pub to: &'static str,
    /// What the button says.
    pub label: String,
    /// Whether the viewer may press it (shown disabled otherwise).
    pub allowed: bool,
}

/// A select option or a checkbox.
pub struct Choice {
    /// Value posted.
    pub value: String,
    /// Label shown.
    pub label: String,
    /// Selected or ticked.
    pub on: bool,
}

fn choices<'a>(all: impl IntoIterator<Item = &'a String>, on: &[String]) -> Vec<Choice> {
    all.into_iter()
        .map(|d| Choice {
            value: d.clone(),
            label: d.clone(),
            on: on.contains(d),
        })
        .collect()
}

// ------------------------------------------------------------------ before/after chart

/// One bar of a before/after chart.
#[derive(Debug, Clone, PartialEq)]
pub struct BaBar {
    /// Top.
    pub y: String,
    /// Width.
    pub w: String,
    /// Value label x.
    pub text_x: String,
    /// Value label baseline.
    pub text_y: String,
    /// Value label.
    pub text: String,
}

/// One measure of a before/after chart: two bars scaled to the larger of the two.
#[derive(Debug, Clone, PartialEq)]
pub struct BaRow {
    /// What is measured.
    pub label: String,
    /// Label baseline.
    pub label_y: String,
    /// Before the pivot (class `before`).
    pub before: BaBar,
    /// After the pivot (class `after`).
    pub after: BaBar,
}

/// A before/after chart as SVG geometry (colours from `app.css`: `rect.before`,
/// `rect.after`).
#[derive(Debug, Clone, PartialEq)]
pub struct BaChart {
    /// viewBox.
    pub view_box: String,
    /// Rows.
    pub rows: Vec<BaRow>,
    /// Accessible summary.
    pub summary: String,
}

/// One row to draw: label, before, after, and their labels.
pub struct BaInput {
    /// What is measured.
    pub label: String,
    /// Value before (drawn from 0; negative values draw nothing).
    pub before: f64,
    /// Value after.
    pub after: f64,
    /// Label of the value before.
    pub before_text: String,
    /// Label of the value after.
    pub after_text: String,
}

const BA_WIDTH: f64 = 720.0;
const BA_LABEL: f64 = 170.0;
const BA_ROOM: f64 = BA_WIDTH - BA_LABEL - 130.0;
const BA_BAR: f64 = 14.0;
const BA_ROW: f64 = 40.0;

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

impl BaChart {
    /// Lay out `rows`; `None` when there is none.
    pub fn new(rows: &[BaInput]) -> Option<BaChart> {
        if rows.is_empty() {
            return None;
        }
        let out: Vec<BaRow> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let top = i as f64 * BA_ROW + 4.0;
                let max = r.before.max(r.after);
                let width = |v: f64| {
                    if max > 0.0 && v > 0.0 {
                        (v / max * BA_ROOM).max(1.0)
                    } else {
                        0.0
                    }
                };
                let bar = |v: f64, y: f64, text: &str| {
                    let w = width(v);
                    BaBar {
                        y: f1(y),
                        w: f1(w),
                        text_x: f1(BA_LABEL + w + 6.0),
                        text_y: f1(y + BA_BAR - 3.0),
                        text: text.to_string(),
                    }
                };
                BaRow {
                    label: r.label.clone(),
                    label_y: f1(top + BA_BAR + 4.0),
                    before: bar(r.before, top, &r.before_text),
                    after: bar(r.after, top + BA_BAR + 2.0, &r.after_text),
                }
            })
            .collect();
        let summary = rows
            .iter()
            .map(|r| format!("{}：之前 {}，之后 {}", r.label, r.before_text, r.after_text))
            .collect::<Vec<_>>()
            .join("；");
        Some(BaChart {
            view_box: format!(
                "0 0 {} {}",
                f1(BA_WIDTH),
                f1(rows.len() as f64 * BA_ROW + 4.0)
            ),
            rows: out,
            summary,
        })
    }
}

// ------------------------------------------------------------------ views: report

/// A name with a count.
pub struct Named {
    /// Label.
    pub label: String,
    /// Documents.
    pub count: u64,
}

fn named(v: &[yuqing_model::workflow::NameCount]) -> Vec<Named> {
    v.iter()
        .map(|n| Named {
            label: match &n.label {
                Some(l) if l != &n.name => format!("{l}（{}）", n.name),
                _ => n.name.clone(),
            },
            count: n.count,
        })
        .collect()
}

/// A document line.
pub struct DocLine {
    /// Document id (links to `/documents/{id}`).
    pub id: String,
    /// Title.
    pub title: String,
    /// The original, only when http(s).
    pub href: Option<String>,
    /// Source display name.
    pub source: String,
    /// Channel in Chinese.
    pub channel: &'static str,
    /// Time.
    pub time: String,
    /// Sentiment score.
    pub score: String,
    /// Sentiment label in Chinese.
    pub label: &'static str,
    /// CSS class.
    pub class: &'static str,
}

fn doc_line(d: &yuqing_model::workflow::ReportDoc, tz: Tz) -> DocLine {
    DocLine {
        id: d.doc_id.to_string(),
        title: d.title.clone(),
        href: d.url.as_deref().and_then(safe_href),
        source: d
            .source_name
            .clone()
            .unwrap_or_else(|| d.source_id.to_string()),
        channel: channel_zh(d.channel),
        time: fmt_time(d.at, tz),
        score: format!("{:+.2}", d.sentiment),
        label: d.label.zh(),
        class: label_class(d.label),
    }
}

/// One story of the propagation path.
pub struct StoryView {
    /// Where it surfaced first.
    pub first_source: String,
    /// When.
    pub first_seen: String,
    /// Documents in the whole cluster.
    pub size: u64,
    /// The incident's documents of it.
    pub steps: Vec<DocLine>,
}

/// The event report as shown.
pub struct ReportView {
    /// Title.
    pub title: String,
    /// 事件概述.
    pub summary: String,
    /// 影响评估.
    pub impact: String,
    /// 备注.
    pub notes: String,
    /// Drafted, refreshed, last edit.
    pub drafted: String,
    /// Facts last drafted.
    pub refreshed: String,
    /// Last edit and by whom.
    pub updated: String,
    /// Entity name.
    pub entity: String,
    /// Time span.
    pub span: String,
    /// Attached documents.
    pub doc_count: u64,
    /// First source, channel and time.
    pub first: Option<String>,
    /// Sentiment counts.
    pub sentiment: String,
    /// By source.
    pub sources: Vec<Named>,
    /// By channel.
    pub channels: Vec<Named>,
    /// Entities.
    pub entities: Vec<Named>,
    /// Products.
    pub products: Vec<Named>,
    /// People.
    pub people: Vec<Named>,
    /// Top terms.
    pub terms: Vec<Named>,
    /// Risks.
    pub risks: Vec<Named>,
    /// Dimensions.
    pub dimensions: Vec<Named>,
    /// Main content.
    pub top_docs: Vec<DocLine>,
    /// Propagation path.
    pub stories: Vec<StoryView>,
}

fn report_view(r: &yuqing_model::workflow::EventReport, tz: Tz) -> ReportView {
    let f = &r.facts;
    ReportView {
        title: r.title.clone(),
        summary: r.summary.clone(),
        impact: r.impact.clone(),
        notes: r.notes.clone(),
        drafted: fmt_time(r.drafted_at, tz),
        refreshed: fmt_time(r.refreshed_at, tz),
        updated: match &r.updated_by {
            Some(b) => format!("{}（{b}）", fmt_time(r.updated_at, tz)),
            None => format!("{}（系统）", fmt_time(r.updated_at, tz)),
        },
        entity: if f.entity_name == f.entity_id {
            f.entity_name.clone()
        } else {
            format!("{}（{}）", f.entity_name, f.entity_id)
        },
        span: format!(
            "{} 至 {}",
            fmt_opt_time(f.start, tz),
            fmt_opt_time(f.end, tz)
        ),
        doc_count: f.doc_count,
        first: f.first_source.as_ref().map(|s| {
            let name = f.first_source_name.clone().unwrap_or_else(|| s.to_string());
            let ch = f
                .first_channel
                .map(|c| format!("（{}）", channel_zh(c)))
                .unwrap_or_default();
            format!("{name}{ch}，{}", fmt_opt_time(f.first_seen, tz))
        }),
        sentiment: format!(
            "负面 {} · 中性 {} · 正面 {}",
            f.sentiment.negative, f.sentiment.neutral, f.sentiment.positive
        ),
        sources: named(&f.sources),
        channels: named(&f.channels),
        entities: named(&f.entities),
        products: named(&f.products),
        people: named(&f.people),
        terms: named(&f.top_terms),
        risks: named(&f.risks),
        dimensions: named(&f.dimensions),
        top_docs: f.top_docs.iter().map(|d| doc_line(d, tz)).collect(),
        stories: f
            .propagation
            .iter()
            .map(|s| StoryView {
                first_source: s.first_source.to_string(),
                first_seen: fmt_time(s.first_seen, tz),
                size: s.cluster_size,
                steps: s.steps.iter().map(|d| doc_line(d, tz)).collect(),
            })
            .collect(),
    }
}

// ------------------------------------------------------------------ views: review

/// An evidence document offered or chosen.
pub struct EvidenceView {
    /// Document id.
    pub id: String,
    /// Its title (the id when unknown).
    pub title: String,
    /// Chosen as evidence.
    pub on: bool,
}

/// One dimension of the review.
pub struct DimView {
    /// Id (`people` …), used in field names.
    pub id: &'static str,
    /// `人（人员）`.
    pub label: String,
    /// Applies.
    pub applies: bool,
    /// Finding.
    pub finding: String,
    /// Evidence chosen and offered.
    pub evidence: Vec<EvidenceView>,
}

/// A root cause.
pub struct RootView {
    /// Number.
    pub id: u32,
    /// Text.
    pub text: String,
    /// Dimensions (ticked: explained).
    pub dims: Vec<Choice>,
    /// Dimensions explained, in words.
    pub dims_text: String,
}

/// The review as shown.
pub struct ReviewView {
    /// State in Chinese.
    pub status: &'static str,
    /// CSS class of the state.
    pub class: &'static str,
    /// Created.
    pub created: String,
    /// Submitted, by whom.
    pub submitted: Option<String>,
    /// Approved, by whom (the approver).
    pub approved: Option<String>,
    /// The seven dimensions.
    pub dims: Vec<DimView>,
    /// Root causes.
    pub roots: Vec<RootView>,
    /// New root cause's dimension checkboxes.
    pub new_root_dims: Vec<Choice>,
    /// Participants, one per line (form) …
    pub participants_lines: String,
    /// … and joined (display).
    pub participants: String,
    /// Departments (configured list, ticked: taking part).
    pub departments: Vec<Choice>,
    /// Departments taking part, joined.
    pub departments_text: String,
    /// External experts.
    pub experts: String,
    /// Summary.
    pub summary: String,
    /// Editable (not approved, viewer may edit).
    pub editable: bool,
    /// State buttons.
    pub buttons: Vec<StateButton>,
}

fn review_button(from: ReviewStatus, to: ReviewStatus) -> String {
    match (from, to) {
        (ReviewStatus::Draft, ReviewStatus::InReview) => "提交审核".into(),
        (ReviewStatus::InReview, ReviewStatus::Draft) => "退回草稿".into(),
        (ReviewStatus::InReview, ReviewStatus::Approved) => "批准".into(),
        (ReviewStatus::Approved, ReviewStatus::Draft) => "重新打开".into(),
        (_, to) => format!("改为「{}」", to.zh()),
    }
}

fn review_class(s: ReviewStatus) -> &'static str {
    match s {
        ReviewStatus::Draft => "neu",
        ReviewStatus::InReview => "warn",
        ReviewStatus::Approved => "pos",
    }
}

// ------------------------------------------------------------------ views: measures

/// A dated line (progress, check, note).
pub struct LineView {
    /// When.
    pub at: String,
    /// Who.
    pub by: String,
    /// What.
    pub text: String,
    /// Percent or verdict.
    pub extra: String,
}

/// A measure as listed.
pub struct MeasureRow {
    /// Id.
    pub id: i64,
    /// Incident.
    pub incident_id: i64,
    /// Category in Chinese.
    pub category: &'static str,
    /// Description.
    pub description: String,
    /// Owner department.
    pub department: String,
    /// Owner.
    pub owner: String,
    /// Resources.
    pub resources: String,
    /// Deadline.
    pub deadline: String,
    /// Deadline for the date input.
    pub deadline_input: String,
    /// State in Chinese.
    pub status: &'static str,
    /// Due state in Chinese.
    pub due: &'static str,
    /// CSS class of the due state.
    pub due_class: &'static str,
    /// Root cause answered.
    pub root_cause: Option<String>,
    /// Its number (for the edit form).
    pub root_cause_id: Option<u32>,
    /// Progress reports.
    pub progress: Vec<LineView>,
    /// On-site checks.
    pub checks: Vec<LineView>,
    /// State buttons.
    pub buttons: Vec<StateButton>,
    /// Done or verified: can be evaluated.
    pub evaluable: bool,
    /// Not verified: can be edited.
    pub editable: bool,
    /// Created, by whom.
    pub created: String,
    /// Done time.
    pub done: Option<String>,
    /// Verified, by whom.
    pub verified: Option<String>,
    /// Category options for the edit form.
    pub categories: Vec<Choice>,
    /// Department options for the edit form.
    pub departments: Vec<Choice>,
}

fn measure_button(from: MeasureStatus, to: MeasureStatus) -> String {
    match (from, to) {
        (MeasureStatus::Planned, MeasureStatus::InProgress) => "开始实施".into(),
        (MeasureStatus::InProgress, MeasureStatus::Done) => "标记完成".into(),
        (MeasureStatus::Done, MeasureStatus::Verified) => "验证通过".into(),
        (MeasureStatus::Done, MeasureStatus::InProgress) => "验证未通过，退回进行中".into(),
        (_, to) => format!("改为「{}」", to.zh()),
    }
}

fn category_choices(on: Option<MeasureCategory>) -> Vec<Choice> {
    MeasureCategory::ALL
        .into_iter()
        .map(|c| Choice {
            value: c.as_str().into(),
            label: format!("{}（{}）", c.zh(), c.dimension().zh()),
            on: Some(c) == on,
        })
        .collect()
}

fn measure_row(
    m: &yuqing_workflow::Measure,
    wc: &WorkflowConsole,
    roots: &[yuqing_model::workflow::RootCause],
    can_edit: bool,
    now: DateTime<Utc>,
    tz: Tz,
) -> MeasureRow {
    let w = &wc.workflow;
    let due = w.measure_due(m, now);
    MeasureRow {
        id: m.id,
        incident_id: m.incident_id,
        category: m.category.zh(),
        description: m.description.clone(),
        department: m.owner_department.clone(),
        owner: m.owner.clone(),
        resources: m.resources.clone(),
        deadline: fmt_date(m.deadline, tz),
        deadline_input: fmt_date(m.deadline, tz),
        status: m.status.zh(),
        due: due.zh(),
        due_class: due_class(due),
        root_cause: m
            .root_cause
            .map(|id| match roots.iter().find(|r| r.id == id) {
                Some(r) => format!("根因#{id}：{}", r.text),
                None => format!("根因#{id}"),
            }),
        root_cause_id: m.root_cause,
        progress: m
            .progress
            .iter()
            .map(|p| LineView {
                at: fmt_time(p.at, tz),
                by: p.by.clone(),
                text: p.text.clone(),
                extra: p.percent.map(|p| format!("{p}%")).unwrap_or_default(),
            })
            .collect(),
        checks: m
            .checks
            .iter()
            .map(|c| LineView {
                at: fmt_time(c.at, tz),
                by: c.by.clone(),
                text: c.text.clone(),
                extra: match c.passed {
                    Some(true) => "通过".into(),
                    Some(false) => "未通过".into(),
                    None => String::new(),
                },
            })
            .collect(),
        buttons: m
            .status
            .next()
            .iter()
            .map(|to| StateButton {
                to: to.as_str(),
                label: measure_button(m.status, *to),
                allowed: can_edit,
            })
            .collect(),
        evaluable: matches!(m.status, MeasureStatus::Done | MeasureStatus::Verified)
            && m.done_at.is_some(),
        editable: m.status != MeasureStatus::Verified,
        created: format!("{}（{}）", fmt_time(m.created_at, tz), m.created_by),
        done: m.done_at.map(|t| fmt_time(t, tz)),
        verified: m.verified_at.map(|t| {
            format!(
                "{}（{}）",
                fmt_time(t, tz),
                m.verified_by.clone().unwrap_or_default()
            )
        }),
        categories: category_choices(Some(m.category)),
        departments: choices(w.departments(), std::slice::from_ref(&m.owner_department)),
    }
}

// ------------------------------------------------------------------ views: evaluations

/// Figures of one window.
pub struct FigView {
    /// Window.
    pub range: String,
    /// Documents.
    pub docs: u64,
    /// Negative documents.
    pub negative: u64,
    /// Negative rate.
    pub rate: String,
    /// Mean sentiment.
    pub sentiment: String,
    /// Complaint-channel documents.
    pub complaints: u64,
}

fn fig_view(f: &DocFigures, tz: Tz) -> FigView {
    FigView {
        range: format!("{} — {}", fmt_time(f.from, tz), fmt_time(f.to, tz)),
        docs: f.docs,
        negative: f.negative,
        rate: pct(f.negative_rate),
        sentiment: num(f.mean_sentiment, 3),
        complaints: f.complaints,
    }
}

/// A before/after comparison.
pub struct ScopeView {
    /// Scope name.
    pub name: &'static str,
    /// Before.
    pub before: FigView,
    /// After.
    pub after: FigView,
    /// Document change.
    pub docs_change: String,
    /// Negative change.
    pub negative_change: String,
    /// Negative-rate change, percentage points.
    pub rate_change: String,
    /// z-score.
    pub z: String,
    /// Significance in words.
    pub significance: &'static str,
    /// Mean sentiment change.
    pub sentiment_change: String,
    /// Complaint change.
    pub complaints_change: String,
}

fn scope_view(name: &'static str, c: &PeriodComparison, tz: Tz) -> ScopeView {
    ScopeView {
        name,
        before: fig_view(&c.before, tz),
        after: fig_view(&c.after, tz),
        docs_change: format!("{:+}", c.after.docs as i64 - c.before.docs as i64),
        negative_change: format!("{:+}", c.after.negative as i64 - c.before.negative as i64),
        rate_change: c
            .negative_rate_change
            .map_or_else(|| "—".into(), |d| format!("{:+.1} 个百分点", d * 100.0)),
        z: signed(c.negative_rate_z, 2),
        significance: match c.negative_rate_z {
            Some(z) if z.abs() >= 1.96 => "显著（5% 水平）",
            Some(_) => "不显著",
            None => "样本不足",
        },
        sentiment_change: signed(c.mean_sentiment_change, 3),
        complaints_change: format!("{:+}", c.complaints_change),
    }
}

/// Case figures of one window.
pub struct CaseFigView {
    /// Cases accepted.
    pub cases: u64,
    /// Answered.
    pub answered: u64,
    /// Mean hours to answer.
    pub hours: String,
    /// Overdue.
    pub overdue: u64,
    /// Overdue share.
    pub share: String,
}

fn case_fig_view(c: &CaseFigures) -> CaseFigView {
    CaseFigView {
        cases: c.cases,
        answered: c.answered,
        hours: num(c.mean_hours_to_answer, 1),
        overdue: c.overdue,
        share: pct(c.overdue_share),
    }
}

/// A manual survey row (as typed).
pub struct SurveyRow {
    /// Index in the form.
    pub i: usize,
    /// Name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Before.
    pub before: String,
    /// After.
    pub after: String,
    /// Respondents before.
    pub n_before: String,
    /// Respondents after.
    pub n_after: String,
}

/// A manual indicator row (as typed).
pub struct IndicatorRow {
    /// Index in the form.
    pub i: usize,
    /// Name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Before.
    pub before: String,
    /// After.
    pub after: String,
    /// Source note.
    pub note: String,
}

fn opt_s<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// An evaluation as shown.
pub struct EvalView {
    /// Id.
    pub id: i64,
    /// What was evaluated.
    pub subject: String,
    /// Pivot.
    pub pivot: String,
    /// Window, days.
    pub window_days: u32,
    /// Computed, by whom.
    pub computed: String,
    /// Topic in words.
    pub topic: String,
    /// Entity and on-topic comparisons.
    pub scopes: Vec<ScopeView>,
    /// Cases before.
    pub cases_before: CaseFigView,
    /// Cases after.
    pub cases_after: CaseFigView,
    /// The chart.
    pub chart: Option<BaChart>,
    /// Surveys (filled rows).
    pub surveys: Vec<SurveyRow>,
    /// Indicators (filled rows).
    pub indicators: Vec<IndicatorRow>,
    /// Survey rows of the form (filled plus one blank).
    pub survey_form: Vec<SurveyRow>,
    /// Indicator rows of the form (filled plus one blank).
    pub indicator_form: Vec<IndicatorRow>,
    /// Manual note.
    pub note: String,
}

fn eval_view(e: &Evaluation, tz: Tz) -> EvalView {
    let mut scopes = vec![scope_view("该主体全部信息", &e.entity, tz)];
    if let Some(t) = &e.on_topic {
        scopes.push(scope_view("本事件话题", t, tz));
    }
    let mut rows = Vec::new();
    let rate_row = |label: &str, c: &PeriodComparison| BaInput {
        label: label.to_string(),
        before: c.before.negative_rate.unwrap_or(0.0) * 100.0,
        after: c.after.negative_rate.unwrap_or(0.0) * 100.0,
        before_text: format!(
            "{}（{}/{}）",
            pct(c.before.negative_rate),
            c.before.negative,
            c.before.docs
        ),
        after_text: format!(
            "{}（{}/{}）",
            pct(c.after.negative_rate),
            c.after.negative,
            c.after.docs
        ),
    };
    rows.push(rate_row("负面率·全部", &e.entity));
    if let Some(t) = &e.on_topic {
        rows.push(rate_row("负面率·话题", t));
    }
    let count_row = |label: &str, b: u64, a: u64| BaInput {
        label: label.to_string(),
        before: b as f64,
        after: a as f64,
        before_text: b.to_string(),
        after_text: a.to_string(),
    };
    rows.push(count_row(
        "投诉渠道信息",
        e.entity.before.complaints,
        e.entity.after.complaints,
    ));
    rows.push(count_row(
        "客诉工单",
        e.cases_before.cases,
        e.cases_after.cases,
    ));
    for s in &e.manual.surveys {
        if let (Some(b), Some(a)) = (s.before, s.after)
            && b >= 0.0
            && a >= 0.0
        {
            rows.push(BaInput {
                label: cut(&s.name, 12),
                before: b,
                after: a,
                before_text: format!("{b}{}", s.unit),
                after_text: format!("{a}{}", s.unit),
            });
        }
    }
    for s in &e.manual.indicators {
        if let (Some(b), Some(a)) = (s.before, s.after)
            && b >= 0.0
            && a >= 0.0
        {
            rows.push(BaInput {
                label: cut(&s.name, 12),
                before: b,
                after: a,
                before_text: format!("{b}{}", s.unit),
                after_text: format!("{a}{}", s.unit),
            });
        }
    }
    let surveys: Vec<SurveyRow> = e
        .manual
        .surveys
        .iter()
        .enumerate()
        .map(|(i, s)| SurveyRow {
            i,
            name: s.name.clone(),
            unit: s.unit.clone(),
            before: opt_s(s.before),
            after: opt_s(s.after),
            n_before: opt_s(s.respondents_before),
            n_after: opt_s(s.respondents_after),
        })
        .collect();
    let indicators: Vec<IndicatorRow> = e
        .manual
        .indicators
        .iter()
        .enumerate()
        .map(|(i, s)| IndicatorRow {
            i,
            name: s.name.clone(),
            unit: s.unit.clone(),
            before: opt_s(s.before),
            after: opt_s(s.after),
            note: s.note.clone(),
        })
        .collect();
    let blank_s = SurveyRow {
        i: surveys.len(),
        name: String::new(),
        unit: String::new(),
        before: String::new(),
        after: String::new(),
        n_before: String::new(),
        n_after: String::new(),
    };
    let blank_i = IndicatorRow {
        i: indicators.len(),
        name: String::new(),
        unit: String::new(),
        before: String::new(),
        after: String::new(),
        note: String::new(),
    };
    let survey_form = surveys
        .iter()
        .map(|s| SurveyRow {
            i: s.i,
            name: s.name.clone(),
            unit: s.unit.clone(),
            before: s.before.clone(),
            after: s.after.clone(),
            n_before: s.n_before.clone(),
            n_after: s.n_after.clone(),
        })
        .chain(std::iter::once(blank_s))
        .collect();
    let indicator_form = indicators
        .iter()
        .map(|s| IndicatorRow {
            i: s.i,
            name: s.name.clone(),
            unit: s.unit.clone(),
            before: s.before.clone(),
            after: s.after.clone(),
            note: s.note.clone(),
        })
        .chain(std::iter::once(blank_i))
        .collect();
    let mut topic = Vec::new();
    if !e.topic.terms.is_empty() {
        topic.push(format!("关键词：{}", e.topic.terms.join("、")));
    }
    if !e.topic.risks.is_empty() {
        topic.push(format!("风险类别：{}", e.topic.risks.join("、")));
    }
    if let Some(c) = &e.topic.cluster {
        topic.push(format!("相似稿件簇 {c}"));
    }
    EvalView {
        id: e.id,
        subject: match e.measure_id {
            Some(m) => format!("措施#{m}"),
            None => "事件整体".into(),
        },
        pivot: fmt_time(e.pivot, tz),
        window_days: e.window_days,
        computed: format!("{}（{}）", fmt_time(e.computed_at, tz), e.computed_by),
        topic: if topic.is_empty() {
            "无".into()
        } else {
            topic.join("；")
        },
        scopes,
        cases_before: case_fig_view(&e.cases_before),
        cases_after: case_fig_view(&e.cases_after),
        chart: BaChart::new(&rows),
        surveys,
        indicators,
        survey_form,
        indicator_form,
        note: e.manual.note.clone(),
    }
}

// ------------------------------------------------------------------ views: cases, audit

/// A case as listed.
pub struct CaseRow {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// State in Chinese.
    pub status: &'static str,
    /// Channel in Chinese.
    pub channel: &'static str,
    /// Entity.
    pub entity: String,
    /// Assignee.
    pub assignee: String,
    /// Accepted.
    pub accepted: String,
    /// Deadline.
    pub deadline: String,
    /// Remaining time or overdue.
    pub clock: String,
    /// Due state in Chinese.
    pub due: &'static str,
    /// CSS class.
    pub due_class: &'static str,
    /// Linked incident.
    pub incident_id: Option<i64>,
}

fn case_row(c: &Case, wc: &WorkflowConsole, now: DateTime<Utc>, tz: Tz) -> CaseRow {
    let w = &wc.workflow;
    let clock = w.case_clock(c, now);
    CaseRow {
        id: c.id,
        title: c.title.clone(),
        status: c.status.zh(),
        channel: channel_zh(c.channel),
        entity: c
            .entity_id
            .as_deref()
            .map(|e| w.entity_name(e))
            .unwrap_or_default(),
        assignee: c.assignee.clone().unwrap_or_default(),
        accepted: fmt_time(c.accepted_at, tz),
        deadline: fmt_time(c.deadline, tz),
        clock: match clock.hours_left {
            Some(h) => days_left(h / 24.0),
            None if clock.overdue => "逾期后答复".into(),
            None => "按期答复".into(),
        },
        due: clock.due.zh(),
        due_class: if clock.overdue {
            "neg"
        } else {
            due_class(clock.due)
        },
        incident_id: c.incident_id,
    }
}

/// An audit entry as shown.
pub struct AuditRow {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What object.
    pub object: String,
    /// Action.
    pub action: String,
    /// Field.
    pub field: String,
    /// Old value.
    pub old: String,
    /// New value.
    pub new: String,
}

fn audit_rows(v: &[AuditEntry], tz: Tz) -> Vec<AuditRow> {
    v.iter()
        .rev()
        .map(|e| AuditRow {
            at: fmt_time(e.at, tz),
            actor: if e.actor == yuqing_workflow::SYSTEM_ACTOR {
                "系统".into()
            } else {
                e.actor.clone()
            },
            object: format!("{}#{}", e.object.zh(), e.object_id),
            action: e.action.clone(),
            field: e.field.clone(),
            old: e
                .old
                .as_deref()
                .map(|s| cut(s, AUDIT_VALUE_CHARS))
                .unwrap_or_default(),
            new: e
                .new
                .as_deref()
                .map(|s| cut(s, AUDIT_VALUE_CHARS))
                .unwrap_or_default(),
        })
        .collect()
}

// ------------------------------------------------------------------ incident workflow page

/// The incident heading.
pub struct IncidentHead {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Severity in Chinese.
    pub severity: &'static str,
    /// Status in Chinese.
    pub status: &'static str,
    /// Entity.
    pub entity: String,
    /// Opened.
    pub opened: String,
    /// Attached documents.
    pub docs: u64,
}

/// The conclusion as shown.
pub struct ConclusionView {
    /// Text.
    pub text: String,
    /// Cited evaluation.
    pub evaluation: Option<i64>,
    /// When, by whom.
    pub at: String,
}

/// Everything the incident workflow page and the full report show.
pub struct WfView {
    /// The incident.
    pub inc: IncidentHead,
    /// The event report.
    pub report: ReportView,
    /// The review, if started.
    pub review: Option<ReviewView>,
    /// Measures.
    pub measures: Vec<MeasureRow>,
    /// Add-form: categories.
    pub categories: Vec<Choice>,
    /// Add-form: departments.
    pub departments: Vec<Choice>,
    /// Add-form: root causes.
    pub roots: Vec<Choice>,
    /// Evaluations, newest first.
    pub evaluations: Vec<EvalView>,
    /// The conclusion.
    pub conclusion: Option<ConclusionView>,
    /// Conclusion form: evaluations to cite.
    pub eval_choices: Vec<Choice>,
    /// Linked cases.
    pub cases: Vec<CaseRow>,
    /// Audit trail, newest first (not in the printed report).
    pub audit: Vec<AuditRow>,
    /// The viewer may edit.
    pub can_edit: bool,
    /// The viewer may approve.
    pub can_approve: bool,
    /// Default evaluation window.
    pub window_days: u32,
    /// The page's own path (forms come back here).
    pub back: String,
    /// Generated at.
    pub generated: String,
}

fn doc_titles(s: &Inner, ids: &[&DocId]) -> Result<HashMap<DocId, String>, Fail> {
    let mut out = HashMap::new();
    for id in ids {
        if out.contains_key(*id) {
            continue;
        }
        let t = s
            .store
            .document(id)?
            .map_or_else(|| id.to_string(), |d| d.raw.title);
        out.insert((*id).clone(), t);
    }
    Ok(out)
}

fn load_view(
    wc: &WorkflowConsole,
    s: &Inner,
    id: i64,
    role: Role,
    print: bool,
) -> Result<WfView, Fail> {
    let tz = s.settings.timezone;
    let now = Utc::now();
    let w = &wc.workflow;
    let inc = s.store.incident(id)?.ok_or(ApiError::NotFound)?;
    let can_edit = role >= Role::Analyst && !print;
    let can_approve = wc.may_approve(role) && !print;
    let report = w.event_report(id, now)?;
    let review = w.review(id)?;
    let measures = w.measures(&MeasureQuery {
        incident_id: Some(id),
        ..Default::default()
    })?;
    let mut evals = w.evaluations(Some(id), None)?;
    evals.reverse();
    let conclusion = w.conclusion(id)?;
    let cases = w.cases(&CaseQuery {
        incident_id: Some(id),
        limit: 200,
        ..Default::default()
    })?;
    let audit = if print {
        Vec::new()
    } else {
        w.incident_audit(id)?
    };

    let roots = review
        .as_ref()
        .map(|r| r.root_causes.clone())
        .unwrap_or_default();
    let review_view = match &review {
        None => None,
        Some(r) => {
            let mut candidates: BTreeMap<Dimension, Vec<DocId>> = if print {
                BTreeMap::new()
            } else {
                w.evidence_candidates(id)?
            };
            for v in candidates.values_mut() {
                v.truncate(MAX_EVIDENCE_OFFERED);
            }
            let mut wanted: Vec<&DocId> = r.dimensions.iter().flat_map(|d| &d.evidence).collect();
            wanted.extend(candidates.values().flatten());
            let titles = doc_titles(s, &wanted)?;
            let dims = r
                .dimensions
                .iter()
                .map(|d| {
                    let mut evidence: Vec<EvidenceView> = d
                        .evidence
                        .iter()
                        .map(|e| EvidenceView {
                            id: e.to_string(),
                            title: titles.get(e).cloned().unwrap_or_else(|| e.to_string()),
                            on: true,
                        })
                        .collect();
                    for c in candidates.get(&d.dimension).into_iter().flatten() {
                        if !d.evidence.contains(c) {
                            evidence.push(EvidenceView {
                                id: c.to_string(),
                                title: titles.get(c).cloned().unwrap_or_else(|| c.to_string()),
                                on: false,
                            });
                        }
                    }
                    DimView {
                        id: d.dimension.as_str(),
                        label: dimension_label(d.dimension),
                        applies: d.applies,
                        finding: d.finding.clone(),
                        evidence,
                    }
                })
                .collect();
            let dim_choices = |on: &[Dimension]| -> Vec<Choice> {
                Dimension::ALL
                    .into_iter()
                    .map(|d| Choice {
                        value: d.as_str().into(),
                        label: d.zh().into(),
                        on: on.contains(&d),
                    })
                    .collect()
            };
            Some(ReviewView {
                status: r.status.zh(),
                class: review_class(r.status),
                created: format!("{}（{}）", fmt_time(r.created_at, tz), r.created_by),
                submitted: r.submitted_at.map(|t| {
                    format!(
                        "{}（{}）",
                        fmt_time(t, tz),
                        r.submitted_by.clone().unwrap_or_default()
                    )
                }),
                approved: r.approved_at.map(|t| {
                    format!(
                        "{}，{}",
                        r.approved_by.clone().unwrap_or_default(),
                        fmt_time(t, tz)
                    )
                }),
                dims,
                roots: r
                    .root_causes
                    .iter()
                    .map(|rc| RootView {
                        id: rc.id,
                        text: rc.text.clone(),
                        dims: dim_choices(&rc.dimensions),
                        dims_text: rc
                            .dimensions
                            .iter()
                            .map(|d| d.zh())
                            .collect::<Vec<_>>()
                            .join("、"),
                    })
                    .collect(),
                new_root_dims: dim_choices(&[]),
                participants_lines: r.participants.join("\n"),
                participants: r.participants.join("、"),
                departments: choices(w.departments(), &r.departments),
                departments_text: r.departments.join("、"),
                experts: r.external_experts.clone(),
                summary: r.summary.clone(),
                editable: can_edit && r.status != ReviewStatus::Approved,
                buttons: r
                    .status
                    .next()
                    .iter()
                    .map(|to| StateButton {
                        to: to.as_str(),
                        label: review_button(r.status, *to),
                        allowed: if *to == ReviewStatus::Approved
                            || r.status == ReviewStatus::Approved
                        {
                            can_approve
                        } else {
                            can_edit
                        },
                    })
                    .collect(),
            })
        }
    };
    Ok(WfView {
        inc: IncidentHead {
            id,
            title: inc.title.clone(),
            severity: inc.severity.zh(),
            status: inc.status.zh(),
            entity: w.entity_name(&inc.entity_id),
            opened: fmt_time(inc.opened_at, tz),
            docs: inc.doc_count,
        },
        report: report_view(&report, tz),
        review: review_view,
        measures: measures
            .iter()
            .map(|m| measure_row(m, wc, &roots, can_edit, now, tz))
            .collect(),
        categories: category_choices(None),
        departments: choices(w.departments(), &[]),
        roots: roots
            .iter()
            .map(|r| Choice {
                value: r.id.to_string(),
                label: format!("#{} {}", r.id, cut(&r.text, 40)),
                on: false,
            })
            .collect(),
        eval_choices: evals
            .iter()
            .map(|e| Choice {
                value: e.id.to_string(),
                label: format!(
                    "评估#{}（{}，{}）",
                    e.id,
                    e.measure_id
                        .map_or("事件整体".into(), |m| format!("措施#{m}")),
                    fmt_time(e.computed_at, tz)
                ),
                on: conclusion
                    .as_ref()
                    .is_some_and(|c| c.evaluation_id == Some(e.id)),
            })
            .collect(),
        evaluations: evals.iter().map(|e| eval_view(e, tz)).collect(),
        conclusion: conclusion.map(|c| ConclusionView {
            text: c.text,
            evaluation: c.evaluation_id,
            at: format!("{}（{}）", fmt_time(c.at, tz), c.by),
        }),
        cases: cases.iter().map(|c| case_row(c, wc, now, tz)).collect(),
        audit: audit_rows(&audit, tz),
        can_edit,
        can_approve,
        window_days: w.settings().evaluation_window_days,
        back: format!("/incidents/{id}/workflow"),
        generated: fmt_time(now, tz),
    })
}

#[derive(Template)]
#[template(path = "wf_incident.html")]
struct IncidentPage {
    nav: Nav,
    v: WfView,
}

#[derive(Template)]
#[template(path = "wf_report.html")]
struct ReportPage {
    nav: Nav,
    v: WfView,
}

/// `GET /incidents/{id}/workflow`.
async fn incident_workflow(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
) -> Response {
    let role = a.user.role;
    let n = nav(&a, "incidents");
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(e) => return fail_page(n, "/incidents", e),
    };
    match with_workflow(&st, move |wc, s| load_view(wc, s, id, role, false)).await {
        Ok(v) => render(|| nav(&a, "incidents"), &IncidentPage { nav: n, v }),
        Err(e) => fail_page(n, &format!("/incidents/{id}"), e),
    }
}

/// `GET /incidents/{id}/report`: the full report, printable.
async fn full_report_page(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
) -> Response {
    let role = a.user.role;
    let n = nav(&a, "incidents");
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(e) => return fail_page(n, "/incidents", e),
    };
    match with_workflow(&st, move |wc, s| load_view(wc, s, id, role, true)).await {
        Ok(v) => render(|| nav(&a, "incidents"), &ReportPage { nav: n, v }),
        Err(e) => fail_page(n, &format!("/incidents/{id}"), e),
    }
}

/// `GET /incidents/{id}/report.md`: the full report as Markdown.
async fn full_report_md(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
) -> Response {
    let n = nav(&a, "incidents");
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(e) => return fail_page(n, "/incidents", e),
    };
    let tz = st.inner().settings.timezone;
    match with_workflow(&st, move |wc, _| {
        Ok::<_, Fail>(wc.workflow.full_report(id, Utc::now())?)
    })
    .await
    {
        Ok(r) => markdown_response(
            yuqing_workflow::render_full_report_markdown(&r, tz),
            &format!("incident-{id}-report.md"),
        ),
        Err(e) => fail_page(n, &format!("/incidents/{id}/workflow"), e),
    }
}

// ------------------------------------------------------------------ incident forms

fn wf_back(id: i64, anchor: &str) -> String {
    format!("/incidents/{id}/workflow#{anchor}")
}

/// `POST /incidents/{id}/workflow/report`.
async fn report_edit(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/incidents",
            ApiError::NotFound.into(),
        );
    };
    let edit = ReportEdit {
        title: f.get("title").map(str::to_string),
        summary: f.get("summary").map(str::to_string),
        impact: f.get("impact").map(str::to_string),
        notes: f.get("notes").map(str::to_string),
    };
    act(
        &st,
        a,
        &f,
        "incidents",
        wf_back(id, "report"),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            wc.workflow
                .edit_report(id, &edit, &a.user.name, Utc::now())?;
            Ok(None)
        }),
    )
    .await
}

/// `POST /incidents/{id}/workflow/report/refresh`.
async fn report_refresh(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/incidents",
            ApiError::NotFound.into(),
        );
    };
    act(
        &st,
        a,
        &f,
        "incidents",
        wf_back(id, "report"),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            wc.workflow.refresh_report(id, &a.user.name, Utc::now())?;
            Ok(None)
        }),
    )
    .await
}

/// `POST /incidents/{id}/workflow/review/start`.
async fn review_start(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/incidents",
            ApiError::NotFound.into(),
        );
    };
    act(
        &st,
        a,
        &f,
        "incidents",
        wf_back(id, "review"),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            wc.workflow.start_review(id, &a.user.name, Utc::now())?;
            Ok(None)
        }),
    )
    .await
}

/// The review edit of a submitted review form.
pub fn review_edit_of(f: &Fields) -> ReviewEdit {
    let mut edit = ReviewEdit::default();
    for d in Dimension::ALL {
        let k = d.as_str();
        if !f.has(&format!("dim_{k}_present")) {
            continue;
        }
        let mut evidence: Vec<DocId> = f
            .all(&format!("dim_{k}_evidence"))
            .into_iter()
            .map(|s| DocId(s.trim().to_string()))
            .filter(|d| !d.0.is_empty())
            .collect();
        for extra in split_list(&f.text(&format!("dim_{k}_extra"))) {
            for one in extra.split_whitespace() {
                let id = DocId(one.to_string());
                if !evidence.contains(&id) {
                    evidence.push(id);
                }
            }
        }
        edit.dimensions.push(DimensionEdit {
            dimension: d,
            applies: Some(f.has(&format!("dim_{k}_applies"))),
            finding: Some(f.text(&format!("dim_{k}_finding"))),
            evidence: Some(evidence),
        });
    }
    if f.has("roots_present") {
        let mut roots = Vec::new();
        for raw in f.all("rc_id") {
            let Ok(id) = raw.trim().parse::<u32>() else {
                continue;
            };
            let text = f.text(&format!("rc_{id}_text"));
            if f.has(&format!("rc_{id}_remove")) || text.trim().is_empty() {
                continue;
            }
            roots.push(RootCauseEdit {
                id: Some(id),
                text,
                dimensions: f
                    .all(&format!("rc_{id}_dims"))
                    .into_iter()
                    .filter_map(Dimension::parse)
                    .collect(),
            });
        }
        let text = f.text("rc_new_text");
        if !text.trim().is_empty() {
            roots.push(RootCauseEdit {
                id: None,
                text,
                dimensions: f
                    .all("rc_new_dims")
                    .into_iter()
                    .filter_map(Dimension::parse)
                    .collect(),
            });
        }
        edit.root_causes = Some(roots);
    }
    if f.has("people_present") {
        edit.participants = Some(split_list(&f.text("participants")));
        edit.departments = Some(
            f.all("department")
                .into_iter()
                .map(str::to_string)
                .collect(),
        );
        edit.external_experts = Some(f.text("external_experts"));
        edit.summary = Some(f.text("summary"));
    }
    edit
}

/// `POST /incidents/{id}/workflow/review`.
async fn review_edit(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/incidents",
            ApiError::NotFound.into(),
        );
    };
    let edit = review_edit_of(&f);
    act(
        &st,
        a,
        &f,
        "incidents",
        wf_back(id, "review"),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            wc.workflow
                .edit_review(id, &edit, &a.user.name, Utc::now())?;
            Ok(None)
        }),
    )
    .await
}

/// `POST /incidents/{id}/workflow/review/status`.
async fn review_status(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/incidents",
            ApiError::NotFound.into(),
        );
    };
    let to = f.text("status");
    act(
        &st,
        a,
        &f,
        "incidents",
        wf_back(id, "review"),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            let to = ReviewStatus::parse(to.trim())
                .ok_or_else(|| bad(format!("未知状态「{to}」 (unknown status)")))?;
            set_review_status(wc, id, to, a)?;
            Ok(None)
        }),
    )
    .await
}

/// `POST /incidents/{id}/workflow/measures`.
async fn measure_add(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/incidents",
            ApiError::NotFound.into(),
        );
    };
    let tz = st.inner().settings.timezone;
    let parsed = (|| -> Result<NewMeasure, Fail> {
        let cat = f.text("category");
        Ok(NewMeasure {
            category: MeasureCategory::parse(cat.trim())
                .ok_or_else(|| bad(format!("未知措施类别「{cat}」 (unknown category)")))?,
            description: f.text("description"),
            owner_department: f.text("owner_department"),
            owner: f.text("owner"),
            resources: f.text("resources"),
            deadline: date_field(&f, "deadline", tz)?
                .ok_or_else(|| bad("请填写截止日期 (deadline is required)"))?,
            root_cause: parse_num(&f, "root_cause", "根因")?,
        })
    })();
    act(
        &st,
        a,
        &f,
        "incidents",
        wf_back(id, "measures"),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            let m = wc
                .workflow
                .add_measure(id, &parsed?, &a.user.name, Utc::now())?;
            Ok(Some(wf_back(id, &format!("measure-{}", m.id))))
        }),
    )
    .await
}

/// `POST /incidents/{id}/workflow/evaluate`.
async fn incident_evaluate(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/incidents",
            ApiError::NotFound.into(),
        );
    };
    let tz = st.inner().settings.timezone;
    let parsed = (|| -> Result<(Option<DateTime<Utc>>, Option<u32>), Fail> {
        let pivot = match f.opt("pivot") {
            None => None,
            Some(s) => Some(local_time(&s, tz).ok_or_else(|| {
                bad(format!(
                    "评估时点「{s}」格式应为 YYYY-MM-DD HH:MM (pivot must be a time)"
                ))
            })?),
        };
        Ok((pivot, parse_num(&f, "window_days", "窗口天数")?))
    })();
    act(
        &st,
        a,
        &f,
        "incidents",
        wf_back(id, "evaluation"),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            let (pivot, window) = parsed?;
            let e = wc
                .workflow
                .evaluate_incident(id, pivot, window, &a.user.name, Utc::now())?;
            Ok(Some(wf_back(id, &format!("evaluation-{}", e.id))))
        }),
    )
    .await
}

/// `POST /incidents/{id}/workflow/conclusion`.
async fn conclude(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/incidents",
            ApiError::NotFound.into(),
        );
    };
    let text = f.text("text");
    let eval = parse_num::<i64>(&f, "evaluation_id", "评估");
    act(
        &st,
        a,
        &f,
        "incidents",
        wf_back(id, "conclusion"),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            wc.workflow
                .conclude(id, &text, eval?, &a.user.name, Utc::now())?;
            Ok(None)
        }),
    )
    .await
}

// ------------------------------------------------------------------ measure forms

fn measure_back(wc: &WorkflowConsole, id: i64) -> Result<String, Fail> {
    let m = wc.workflow.measure(id)?;
    Ok(wf_back(m.incident_id, &format!("measure-{id}")))
}

/// `POST /measures/{id}/edit`.
async fn measure_edit(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/supervision",
            ApiError::NotFound.into(),
        );
    };
    let tz = st.inner().settings.timezone;
    let parsed = (|| -> Result<MeasureEdit, Fail> {
        let category = match f.opt("category") {
            None => None,
            Some(c) => Some(
                MeasureCategory::parse(&c)
                    .ok_or_else(|| bad(format!("未知措施类别「{c}」 (unknown category)")))?,
            ),
        };
        Ok(MeasureEdit {
            category,
            description: f.get("description").map(str::to_string),
            owner_department: f.opt("owner_department"),
            owner: f.get("owner").map(str::to_string),
            resources: f.get("resources").map(str::to_string),
            deadline: date_field(&f, "deadline", tz)?,
            root_cause: if f.has("root_cause") {
                Some(parse_num(&f, "root_cause", "根因")?)
            } else {
                None
            },
        })
    })();
    act(
        &st,
        a,
        &f,
        "incidents",
        "/supervision".into(),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            let mut edit = parsed?;
            // The date input always carries the deadline: only a different day changes it.
            let cur = wc.workflow.measure(id)?;
            if edit.deadline.map(|d| fmt_date(d, tz)) == Some(fmt_date(cur.deadline, tz)) {
                edit.deadline = None;
            }
            wc.workflow
                .edit_measure(id, &edit, &a.user.name, Utc::now())?;
            Ok(Some(measure_back(wc, id)?))
        }),
    )
    .await
}

/// `POST /measures/{id}/status`.
async fn measure_status(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/supervision",
            ApiError::NotFound.into(),
        );
    };
    let to = f.text("status");
    act(
        &st,
        a,
        &f,
        "incidents",
        "/supervision".into(),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            let to = MeasureStatus::parse(to.trim())
                .ok_or_else(|| bad(format!("未知状态「{to}」 (unknown status)")))?;
            wc.workflow
                .set_measure_status(id, to, &a.user.name, Utc::now())?;
            Ok(Some(measure_back(wc, id)?))
        }),
    )
    .await
}

/// `POST /measures/{id}/progress`.
async fn measure_progress(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/supervision",
            ApiError::NotFound.into(),
        );
    };
    let text = f.text("text");
    let percent = parse_num::<u8>(&f, "percent", "完成度");
    act(
        &st,
        a,
        &f,
        "incidents",
        "/supervision".into(),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            wc.workflow
                .add_progress(id, &text, percent?, &a.user.name, Utc::now())?;
            Ok(Some(measure_back(wc, id)?))
        }),
    )
    .await
}

/// `POST /measures/{id}/check`.
async fn measure_check(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/supervision",
            ApiError::NotFound.into(),
        );
    };
    let text = f.text("text");
    let passed = match f.get("passed").map(str::trim) {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    act(
        &st,
        a,
        &f,
        "incidents",
        "/supervision".into(),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            wc.workflow
                .add_check(id, &text, passed, &a.user.name, Utc::now())?;
            Ok(Some(measure_back(wc, id)?))
        }),
    )
    .await
}

/// `POST /measures/{id}/evaluate`.
async fn measure_evaluate(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/supervision",
            ApiError::NotFound.into(),
        );
    };
    let window = parse_num::<u32>(&f, "window_days", "窗口天数");
    act(
        &st,
        a,
        &f,
        "incidents",
        "/supervision".into(),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            let e = wc
                .workflow
                .evaluate_measure(id, window?, &a.user.name, Utc::now())?;
            let inc = e.incident_id.unwrap_or_default();
            Ok(Some(wf_back(inc, &format!("evaluation-{}", e.id))))
        }),
    )
    .await
}

/// The manual inputs of a submitted form.
pub(crate) fn manual_of(f: &Fields) -> Result<ManualInputs, Fail> {
    let mut m = ManualInputs {
        note: f.text("note"),
        ..Default::default()
    };
    for i in 0..MAX_MANUAL_ROWS {
        let k = |x: &str| format!("s{i}_{x}");
        if let Some(name) = f.opt(&k("name")) {
            m.surveys.push(SurveyFigure {
                name,
                unit: f.text(&k("unit")).trim().to_string(),
                before: parse_num(f, &k("before"), "调查结果（之前）")?,
                after: parse_num(f, &k("after"), "调查结果（之后）")?,
                respondents_before: parse_num(f, &k("nb"), "样本量（之前）")?,
                respondents_after: parse_num(f, &k("na"), "样本量（之后）")?,
            });
        }
        let k = |x: &str| format!("i{i}_{x}");
        if let Some(name) = f.opt(&k("name")) {
            m.indicators.push(Indicator {
                name,
                unit: f.text(&k("unit")).trim().to_string(),
                before: parse_num(f, &k("before"), "指标（之前）")?,
                after: parse_num(f, &k("after"), "指标（之后）")?,
                note: f.text(&k("note")),
            });
        }
    }
    Ok(m)
}

/// `POST /evaluations/{id}/manual`.
async fn manual_inputs(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(
            nav(&a, "incidents"),
            "/incidents",
            ApiError::NotFound.into(),
        );
    };
    let manual = manual_of(&f);
    act(
        &st,
        a,
        &f,
        "incidents",
        "/incidents".into(),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            let e = wc
                .workflow
                .set_manual_inputs(id, &manual?, &a.user.name, Utc::now())?;
            Ok(e.incident_id
                .map(|i| wf_back(i, &format!("evaluation-{id}"))))
        }),
    )
    .await
}

// ------------------------------------------------------------------ supervision

/// A row of the supervision view.
pub struct SupervisionRow {
    /// The measure.
    pub m: MeasureRow,
    /// Its incident's title.
    pub incident_title: String,
    /// Age.
    pub age: String,
    /// Days left or overdue.
    pub left: String,
}

#[derive(Template)]
#[template(path = "wf_supervision.html")]
struct SupervisionPage {
    nav: Nav,
    rows: Vec<SupervisionRow>,
    overdue: usize,
    due_soon: usize,
    generated: String,
}

/// `GET /supervision`.
async fn supervision(State(st): State<AppState>, PageUser(a): PageUser) -> Response {
    let n = nav(&a, "supervision");
    let tz = st.inner().settings.timezone;
    let r = with_workflow(&st, move |wc, _| {
        let now = Utc::now();
        let items = wc.workflow.supervision(now)?;
        let mut roots: HashMap<i64, Vec<yuqing_model::workflow::RootCause>> = HashMap::new();
        let mut rows = Vec::new();
        let (mut overdue, mut due_soon) = (0, 0);
        for it in items {
            if let std::collections::hash_map::Entry::Vacant(e) =
                roots.entry(it.measure.incident_id)
            {
                e.insert(
                    wc.workflow
                        .review(it.measure.incident_id)?
                        .map(|r| r.root_causes)
                        .unwrap_or_default(),
                );
            }
            match it.due {
                DueState::Overdue => overdue += 1,
                DueState::DueSoon => due_soon += 1,
                _ => {}
            }
            rows.push(SupervisionRow {
                m: measure_row(
                    &it.measure,
                    wc,
                    &roots[&it.measure.incident_id],
                    false,
                    now,
                    tz,
                ),
                incident_title: it.incident_title,
                age: format!("{:.1} 天", it.age_days),
                left: if it.due == DueState::Stopped {
                    "待验证".into()
                } else {
                    days_left(it.days_left)
                },
            });
        }
        Ok::<_, Fail>((rows, overdue, due_soon, fmt_time(now, tz)))
    })
    .await;
    match r {
        Ok((rows, overdue, due_soon, generated)) => render(
            || nav(&a, "supervision"),
            &SupervisionPage {
                nav: n,
                rows,
                overdue,
                due_soon,
                generated,
            },
        ),
        Err(e) => fail_page(n, "/", e),
    }
}

// ------------------------------------------------------------------ cases

/// Query of `/cases`.
#[derive(Debug, Default, Deserialize)]
pub struct CasesQuery {
    /// State id, or `open`.
    #[serde(default)]
    pub status: Option<String>,
    /// Only overdue.
    #[serde(default)]
    pub overdue: Option<String>,
    /// Only this incident's.
    #[serde(default)]
    pub incident: Option<String>,
}

#[derive(Template)]
#[template(path = "wf_cases.html")]
struct CasesPage {
    nav: Nav,
    rows: Vec<CaseRow>,
    statuses: Vec<Choice>,
    overdue: bool,
    incident: String,
    can_edit: bool,
    channels: Vec<Choice>,
    deadline_days: u32,
}

/// `GET /cases`.
async fn cases(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Query(q): Query<CasesQuery>,
) -> Response {
    let n = nav(&a, "cases");
    let tz = st.inner().settings.timezone;
    let status = q.status.clone().unwrap_or_default();
    let overdue = q.overdue.as_deref().is_some_and(|v| !v.trim().is_empty());
    let incident = q.incident.clone().unwrap_or_default();
    let params = CasesParams {
        status: q.status.clone(),
        overdue: overdue.then(|| "true".to_string()),
        incident: q.incident.clone(),
        limit: Some("500".into()),
        ..Default::default()
    };
    let r = with_workflow(&st, move |wc, _| {
        let now = Utc::now();
        let query = case_query(&params, now)?;
        let list = match &query {
            Some(q) => wc.workflow.cases(q)?,
            None => Vec::new(),
        };
        Ok::<_, Fail>((
            list.iter()
                .map(|c| case_row(c, wc, now, tz))
                .collect::<Vec<_>>(),
            wc.workflow.settings().case_deadline_days,
        ))
    })
    .await;
    let mut statuses = vec![
        Choice {
            value: String::new(),
            label: "全部".into(),
            on: status.is_empty(),
        },
        Choice {
            value: "open".into(),
            label: "未答复（受理/分析/处理）".into(),
            on: status == "open",
        },
    ];
    statuses.extend(CaseStatus::all().iter().map(|s| Choice {
        value: s.as_str().into(),
        label: s.zh().into(),
        on: status == s.as_str(),
    }));
    match r {
        Ok((rows, deadline_days)) => render(
            || nav(&a, "cases"),
            &CasesPage {
                nav: n,
                rows,
                statuses,
                overdue,
                incident,
                can_edit: a.user.role >= Role::Analyst,
                channels: Channel::ALL
                    .into_iter()
                    .map(|c| Choice {
                        value: c.as_str().into(),
                        label: channel_zh(c).into(),
                        on: c == Channel::Inbound,
                    })
                    .collect(),
                deadline_days,
            },
        ),
        Err(e) => fail_page(n, "/cases", e),
    }
}

/// `POST /cases`: open a case by hand.
async fn case_new(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let parsed = (|| -> Result<NewCase, Fail> {
        let ch = f.opt("channel").unwrap_or_else(|| "inbound".into());
        Ok(NewCase {
            title: f.text("title"),
            content: f.text("content"),
            entity_id: f.opt("entity_id"),
            channel: Channel::parse(&ch)
                .ok_or_else(|| bad(format!("未知渠道「{ch}」 (unknown channel)")))?,
            url: f.opt("url"),
            complainant: f.opt("complainant"),
            assignee: f.opt("assignee"),
            incident_id: parse_num(&f, "incident_id", "关联事件")?,
            accepted_at: None,
        })
    })();
    act(
        &st,
        a,
        &f,
        "cases",
        "/cases".into(),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            let c = wc.workflow.open_case(&parsed?, &a.user.name, Utc::now())?;
            Ok(Some(format!("/cases/{}", c.id)))
        }),
    )
    .await
}

/// A case as its page shows it.
pub struct CaseView {
    /// The row facts.
    pub row: CaseRow,
    /// Content.
    pub content: String,
    /// The original, only when http(s).
    pub href: Option<String>,
    /// The link as text.
    pub url_text: Option<String>,
    /// Source document.
    pub source_doc: Option<String>,
    /// Source.
    pub source: Option<String>,
    /// Complainant.
    pub complainant: String,
    /// Elapsed.
    pub elapsed: String,
    /// Answered at.
    pub answered: Option<String>,
    /// Closed at.
    pub closed: Option<String>,
    /// Created by.
    pub created_by: String,
    /// The lifecycle with the current state marked.
    pub steps: Vec<Choice>,
    /// Notes.
    pub notes: Vec<LineView>,
    /// Reply text.
    pub reply: Option<LineView>,
    /// Reply text for the form.
    pub reply_text: String,
    /// Reply channel for the form.
    pub reply_channel: String,
    /// Extensions.
    pub extensions: Vec<LineView>,
    /// State buttons.
    pub buttons: Vec<StateButton>,
    /// Open (clock running): extendable.
    pub open: bool,
    /// Not closed: editable.
    pub editable: bool,
    /// In 处理: can be answered.
    pub answerable: bool,
    /// Deadline + 7 days, for the extension form.
    pub extend_default: String,
    /// Audit trail.
    pub audit: Vec<AuditRow>,
}

fn case_button(from: CaseStatus, to: CaseStatus) -> String {
    match (from, to) {
        (CaseStatus::Answered, CaseStatus::Handling) => "客户不认可，退回处理".into(),
        (_, CaseStatus::Analyzing) => "开始分析".into(),
        (_, CaseStatus::Handling) => "进入处理".into(),
        (_, CaseStatus::Answered) => "标记已答复".into(),
        (_, CaseStatus::Closed) => "关闭".into(),
        (_, to) => format!("改为「{}」", to.zh()),
    }
}

#[derive(Template)]
#[template(path = "wf_case.html")]
struct CasePage {
    nav: Nav,
    c: CaseView,
    can_edit: bool,
}

/// `GET /cases/{id}`.
async fn case_page(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
) -> Response {
    let n = nav(&a, "cases");
    let can_edit = a.user.role >= Role::Analyst;
    let tz = st.inner().settings.timezone;
    let id = match path_id(&id) {
        Ok(id) => id,
        Err(e) => return fail_page(n, "/cases", e),
    };
    let r = with_workflow(&st, move |wc, _| {
        let now = Utc::now();
        let w = &wc.workflow;
        let c = w.case(id)?;
        let clock = w.case_clock(&c, now);
        let audit = w.audit(yuqing_workflow::WorkflowObject::Case, id)?;
        Ok::<_, Fail>(CaseView {
            row: case_row(&c, wc, now, tz),
            content: c.content.clone(),
            href: c.url.as_deref().and_then(safe_href),
            url_text: c.url.clone(),
            source_doc: c.source_doc.as_ref().map(|d| d.to_string()),
            source: c.source_id.as_ref().map(|s| s.to_string()),
            complainant: c.complainant.clone().unwrap_or_default(),
            elapsed: format!("{:.1} 天", clock.elapsed_hours / 24.0),
            answered: c.answered_at.map(|t| fmt_time(t, tz)),
            closed: c.closed_at.map(|t| fmt_time(t, tz)),
            created_by: if c.created_by == yuqing_workflow::SYSTEM_ACTOR {
                "系统（来自监测信息）".into()
            } else {
                c.created_by.clone()
            },
            steps: CaseStatus::all()
                .iter()
                .map(|s| Choice {
                    value: s.as_str().into(),
                    label: s.zh().into(),
                    on: *s == c.status,
                })
                .collect(),
            notes: c
                .notes
                .iter()
                .map(|n| LineView {
                    at: fmt_time(n.at, tz),
                    by: n.by.clone(),
                    text: n.text.clone(),
                    extra: String::new(),
                })
                .collect(),
            reply: c.reply.as_ref().map(|r| LineView {
                at: fmt_time(r.at, tz),
                by: r.by.clone(),
                text: r.text.clone(),
                extra: r.channel.clone(),
            }),
            reply_text: c.reply.as_ref().map(|r| r.text.clone()).unwrap_or_default(),
            reply_channel: c
                .reply
                .as_ref()
                .map(|r| r.channel.clone())
                .unwrap_or_default(),
            extensions: c
                .extensions
                .iter()
                .map(|x| LineView {
                    at: fmt_time(x.at, tz),
                    by: x.by.clone(),
                    text: x.reason.clone(),
                    extra: format!("{} → {}", fmt_time(x.from, tz), fmt_time(x.to, tz)),
                })
                .collect(),
            buttons: c
                .status
                .next()
                .iter()
                .map(|to| StateButton {
                    to: to.as_str(),
                    label: case_button(c.status, *to),
                    allowed: can_edit,
                })
                .collect(),
            open: c.status.is_open(),
            editable: c.status != CaseStatus::Closed,
            answerable: c.status == CaseStatus::Handling,
            extend_default: fmt_date(c.deadline + Duration::days(7), tz),
            audit: audit_rows(&audit, tz),
        })
    })
    .await;
    match r {
        Ok(c) => render(
            || nav(&a, "cases"),
            &CasePage {
                nav: n,
                c,
                can_edit,
            },
        ),
        Err(e) => fail_page(n, "/cases", e),
    }
}

fn case_back(id: i64) -> String {
    format!("/cases/{id}")
}

/// `POST /cases/{id}/edit`.
async fn case_edit(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(nav(&a, "cases"), "/cases", ApiError::NotFound.into());
    };
    let parsed = (|| -> Result<CaseEdit, Fail> {
        Ok(CaseEdit {
            title: f.get("title").map(str::to_string),
            content: None,
            assignee: f.get("assignee").map(|_| f.opt("assignee")),
            complainant: f.get("complainant").map(|_| f.opt("complainant")),
            incident_id: if f.has("incident_id") {
                Some(parse_num(&f, "incident_id", "关联事件")?)
            } else {
                None
            },
        })
    })();
    act(
        &st,
        a,
        &f,
        "cases",
        case_back(id),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            wc.workflow
                .edit_case(id, &parsed?, &a.user.name, Utc::now())?;
            Ok(None)
        }),
    )
    .await
}

/// `POST /cases/{id}/note`.
async fn case_note(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(nav(&a, "cases"), "/cases", ApiError::NotFound.into());
    };
    let text = f.text("text");
    act(
        &st,
        a,
        &f,
        "cases",
        case_back(id),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            wc.workflow
                .add_case_note(id, &text, &a.user.name, Utc::now())?;
            Ok(None)
        }),
    )
    .await
}

/// `POST /cases/{id}/reply`: save the reply (`action=save`) or answer with it
/// (`action=answer`).
async fn case_reply(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(nav(&a, "cases"), "/cases", ApiError::NotFound.into());
    };
    let text = f.text("text");
    let channel = f.text("channel");
    let answer = f.get("action") == Some("answer");
    act(
        &st,
        a,
        &f,
        "cases",
        case_back(id),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            let w = &wc.workflow;
            if answer {
                w.answer_case(id, &text, &channel, &a.user.name, Utc::now())?;
            } else {
                w.set_case_reply(id, &text, &channel, &a.user.name, Utc::now())?;
            }
            Ok(None)
        }),
    )
    .await
}

/// `POST /cases/{id}/status`.
async fn case_status(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(nav(&a, "cases"), "/cases", ApiError::NotFound.into());
    };
    let to = f.text("status");
    act(
        &st,
        a,
        &f,
        "cases",
        case_back(id),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            let to = CaseStatus::parse(to.trim())
                .ok_or_else(|| bad(format!("未知状态「{to}」 (unknown status)")))?;
            wc.workflow
                .set_case_status(id, to, &a.user.name, Utc::now())?;
            Ok(None)
        }),
    )
    .await
}

/// `POST /cases/{id}/extend`.
async fn case_extend(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let Ok(id) = path_id(&id) else {
        return fail_page(nav(&a, "cases"), "/cases", ApiError::NotFound.into());
    };
    let tz = st.inner().settings.timezone;
    let deadline = date_field(&f, "deadline", tz)
        .and_then(|d| d.ok_or_else(|| bad("请填写新的期限 (deadline is required)")));
    let reason = f.text("reason");
    act(
        &st,
        a,
        &f,
        "cases",
        case_back(id),
        Role::Analyst,
        Box::new(move |wc, _, a| {
            wc.workflow
                .extend_case_deadline(id, deadline?, &reason, &a.user.name, Utc::now())?;
            Ok(None)
        }),
    )
    .await
}

// ------------------------------------------------------------------ briefings

/// Query of `/briefings`.
#[derive(Debug, Default, Deserialize)]
pub struct BriefingQuery {
    /// `daily` (default) or `weekly`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The last local day of the period (default: up to now).
    #[serde(default)]
    pub date: Option<String>,
}

/// A document in a briefing.
pub struct BriefDoc {
    /// Document id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The original, only when http(s).
    pub href: Option<String>,
    /// Source.
    pub source: String,
    /// Time.
    pub time: String,
    /// Score.
    pub score: String,
}

/// An incident in a briefing.
pub struct BriefIncident {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: &'static str,
    /// Status.
    pub status: &'static str,
    /// Opened.
    pub opened: String,
    /// Documents.
    pub docs: u64,
}

/// An overdue or due-soon item in a briefing.
pub struct BriefItem {
    /// Link.
    pub href: String,
    /// Id.
    pub id: i64,
    /// Text.
    pub text: String,
    /// Who.
    pub who: String,
    /// Deadline.
    pub deadline: String,
    /// Overdue by / left.
    pub clock: String,
}

/// Documents about one entity in a briefing.
pub struct EntityRow {
    /// Display name.
    pub name: String,
    /// Documents.
    pub docs: u64,
    /// Negative documents.
    pub negative: u64,
}

/// A briefing as its page shows it.
pub struct BriefingView {
    /// 舆情日报 / 舆情周报.
    pub title: &'static str,
    /// Kind id.
    pub kind: &'static str,
    /// Period.
    pub period: String,
    /// Generated.
    pub generated: String,
    /// Documents.
    pub docs: u64,
    /// Negative.
    pub negative: u64,
    /// Negative share.
    pub share: String,
    /// Previous period.
    pub previous: String,
    /// By entity: (name, documents, negative).
    pub by_entity: Vec<EntityRow>,
    /// By channel.
    pub by_channel: Vec<Named>,
    /// Top negative.
    pub top_negative: Vec<BriefDoc>,
    /// New incidents.
    pub new_incidents: Vec<BriefIncident>,
    /// Open incidents.
    pub open_incidents: Vec<BriefIncident>,
    /// Overdue measures.
    pub overdue_measures: Vec<BriefItem>,
    /// Due-soon measures.
    pub due_soon_measures: Vec<BriefItem>,
    /// Cases opened / answered / open.
    pub cases: String,
    /// Overdue cases.
    pub overdue_cases: Vec<BriefItem>,
}

fn brief_incident(i: &yuqing_workflow::BriefingIncident, tz: Tz) -> BriefIncident {
    BriefIncident {
        id: i.id,
        title: i.title.clone(),
        severity: i.severity.zh(),
        status: i.status.zh(),
        opened: fmt_time(i.opened_at, tz),
        docs: i.doc_count,
    }
}

fn brief_measure(m: &yuqing_workflow::BriefingMeasure, tz: Tz) -> BriefItem {
    BriefItem {
        href: wf_back(m.incident_id, &format!("measure-{}", m.id)),
        id: m.id,
        text: m.description.clone(),
        who: format!("{} {}", m.owner_department, m.owner),
        deadline: fmt_date(m.deadline, tz),
        clock: days_left(-m.overdue_days),
    }
}

fn briefing_view(b: &Briefing, tz: Tz) -> BriefingView {
    BriefingView {
        title: b.kind.zh(),
        kind: b.kind.as_str(),
        period: format!("{} — {}", fmt_time(b.from, tz), fmt_time(b.to, tz)),
        generated: fmt_time(b.generated_at, tz),
        docs: b.docs,
        negative: b.negative,
        share: pct(b.negative_share),
        previous: format!(
            "上期 {} 篇，负面 {} 篇（{}）",
            b.previous_docs,
            b.previous_negative,
            pct((b.previous_docs > 0).then(|| b.previous_negative as f64 / b.previous_docs as f64))
        ),
        by_entity: b
            .by_entity
            .iter()
            .map(|e| EntityRow {
                name: e.name.clone(),
                docs: e.docs,
                negative: e.negative,
            })
            .collect(),
        by_channel: b
            .by_channel
            .iter()
            .map(|c| Named {
                label: Channel::parse(&c.name)
                    .map_or_else(|| c.name.clone(), |ch| channel_zh(ch).to_string()),
                count: c.count,
            })
            .collect(),
        top_negative: b
            .top_negative
            .iter()
            .map(|d| BriefDoc {
                id: d.doc_id.to_string(),
                title: d.title.clone(),
                href: d.url.as_deref().and_then(safe_href),
                source: d
                    .source_name
                    .clone()
                    .unwrap_or_else(|| d.source_id.to_string()),
                time: fmt_time(d.at, tz),
                score: format!("{:+.2}", d.sentiment),
            })
            .collect(),
        new_incidents: b
            .new_incidents
            .iter()
            .map(|i| brief_incident(i, tz))
            .collect(),
        open_incidents: b
            .open_incidents
            .iter()
            .map(|i| brief_incident(i, tz))
            .collect(),
        overdue_measures: b
            .overdue_measures
            .iter()
            .map(|m| brief_measure(m, tz))
            .collect(),
        due_soon_measures: b
            .due_soon_measures
            .iter()
            .map(|m| brief_measure(m, tz))
            .collect(),
        cases: format!(
            "新受理 {} 件，已答复 {} 件，未答复 {} 件",
            b.cases_opened, b.cases_answered, b.open_cases
        ),
        overdue_cases: b
            .overdue_cases
            .iter()
            .map(|c| BriefItem {
                href: case_back(c.id),
                id: c.id,
                text: c.title.clone(),
                who: c.assignee.clone().unwrap_or_default(),
                deadline: fmt_date(c.deadline, tz),
                clock: days_left(-c.overdue_days),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "wf_briefing.html")]
struct BriefingPage {
    nav: Nav,
    b: BriefingView,
    date: String,
}

fn briefing_args(q: &BriefingQuery, tz: Tz) -> Result<(BriefingKind, DateTime<Utc>, String), Fail> {
    let kind = briefing_kind(q.kind.as_deref().unwrap_or("daily"))?;
    let date = q.date.clone().unwrap_or_default();
    let to = match date.trim() {
        "" => Utc::now(),
        d => end_of_local_day(d, tz)
            .map(|t| t + Duration::seconds(1))
            .ok_or_else(|| {
                bad(format!(
                    "日期「{d}」格式应为 YYYY-MM-DD (date must be a date)"
                ))
            })?,
    };
    Ok((kind, to, date))
}

/// `GET /briefings`: the daily or weekly briefing, printable.
async fn briefings(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Query(q): Query<BriefingQuery>,
) -> Response {
    let n = nav(&a, "briefings");
    let tz = st.inner().settings.timezone;
    let (kind, to, date) = match briefing_args(&q, tz) {
        Ok(x) => x,
        Err(e) => return fail_page(n, "/briefings", e),
    };
    match with_workflow(&st, move |wc, _| {
        Ok::<_, Fail>(wc.workflow.briefing(kind, to, Utc::now())?)
    })
    .await
    {
        Ok(b) => render(
            || nav(&a, "briefings"),
            &BriefingPage {
                nav: n,
                b: briefing_view(&b, tz),
                date,
            },
        ),
        Err(e) => fail_page(n, "/", e),
    }
}

/// `GET /briefings.md`: the briefing as Markdown.
async fn briefing_md(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Query(q): Query<BriefingQuery>,
) -> Response {
    let n = nav(&a, "briefings");
    let tz = st.inner().settings.timezone;
    let (kind, to, _) = match briefing_args(&q, tz) {
        Ok(x) => x,
        Err(e) => return fail_page(n, "/briefings", e),
    };
    match with_workflow(&st, move |wc, _| {
        Ok::<_, Fail>(wc.workflow.briefing(kind, to, Utc::now())?)
    })
    .await
    {
        Ok(b) => markdown_response(
            yuqing_workflow::render_briefing_markdown(&b, tz),
            &format!(
                "briefing-{}-{}.md",
                kind.as_str(),
                b.to.with_timezone(&tz).format("%Y%m%d")
            ),
        ),
        Err(e) => fail_page(n, "/briefings", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, b: f64, a: f64) -> BaInput {
        BaInput {
            label: label.into(),
            before: b,
            after: a,
            before_text: b.to_string(),
            after_text: a.to_string(),
        }
    }

    #[test]
    fn before_after_bars_scale_to_the_larger_of_each_pair() {
        let c = BaChart::new(&[row("负面率", 40.0, 10.0), row("工单", 0.0, 0.0)]).unwrap();
        let w = |s: &str| s.parse::<f64>().unwrap();
        assert!((w(&c.rows[0].before.w) - BA_ROOM).abs() < 0.1);
        assert!((w(&c.rows[0].after.w) - BA_ROOM / 4.0).abs() < 0.1);
        // Nothing to compare draws no bar.
        assert_eq!(w(&c.rows[1].before.w), 0.0);
        assert_eq!(w(&c.rows[1].after.w), 0.0);
        // The after bar sits under the before bar, rows below each other.
        assert!(w(&c.rows[0].after.y) > w(&c.rows[0].before.y));
        assert!(w(&c.rows[1].before.y) > w(&c.rows[0].after.y));
        assert!(c.summary.contains("负面率：之前 40，之后 10"));
        assert!(BaChart::new(&[]).is_none());
    }

    #[test]
    fn dates_are_local_days() {
        let tz = chrono_tz::Asia::Shanghai;
        let t = end_of_local_day("2024-05-06", tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-06T15:59:59+00:00");
        assert!(end_of_local_day("06/05/2024", tz).is_none());
        let p = local_time("2024-05-06T08:30", tz).unwrap();
        assert_eq!(p.to_rfc3339(), "2024-05-06T00:30:00+00:00");
    }

    #[test]
    fn review_form_becomes_an_edit() {
        let f = Fields(
            [
                ("dim_people_present", "1"),
                ("dim_people_applies", "1"),
                ("dim_people_finding", "催收外包管理缺位"),
                ("dim_people_evidence", "d1"),
                ("dim_people_extra", "d2, d3"),
                ("dim_process_present", "1"),
                ("roots_present", "1"),
                ("rc_id", "1"),
                ("rc_1_text", "外包考核只看回款"),
                ("rc_1_dims", "people"),
                ("rc_1_dims", "process"),
                ("rc_id", "2"),
                ("rc_2_text", "旧的"),
                ("rc_2_remove", "1"),
                ("rc_new_text", "投诉处理无闭环"),
                ("rc_new_dims", "information"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let e = review_edit_of(&f);
        assert_eq!(e.dimensions.len(), 2);
        assert_eq!(e.dimensions[0].applies, Some(true));
        assert_eq!(
            e.dimensions[0].evidence.as_deref().unwrap(),
            &[DocId("d1".into()), DocId("d2".into()), DocId("d3".into())]
        );
        assert_eq!(e.dimensions[1].applies, Some(false));
        let rc = e.root_causes.unwrap();
        assert_eq!(rc.len(), 2);
        assert_eq!(rc[0].id, Some(1));
        assert_eq!(
            rc[0].dimensions,
            vec![Dimension::People, Dimension::Process]
        );
        assert_eq!(rc[1].id, None);
        assert!(e.participants.is_none());
    }
}
