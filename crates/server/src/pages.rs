//! The console's server-rendered zh-CN pages (askama, HTML auto-escaping on).
//!
//! Scraped text reaches templates only as plain strings or as [`Seg`]ments (text plus a
//! highlight flag) that the templates escape one by one; no handler builds HTML by hand.

use std::ops::Range;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use yuqing_index::{Hit, SearchOptions, SortOrder};
use yuqing_model::{
    AliasKind, Dimension, DocId, Field, IncidentStatus, RuleKind, SentimentLabel, Severity,
};
use yuqing_store::connectors::ConnectorHealth;

use crate::api::{self, IncidentDetail};
use crate::auth::{
    self, Authed, LOGIN_CSRF_COOKIE, PageUser, SESSION_COOKIE, clear_cookie, client_ip,
    encode_component, safe_next, see_other, session_cookie,
};
use crate::error::ApiError;
use crate::users::{Role, random_token};
use crate::{AppState, blocking, charts};

const CSS: &str = include_str!("../static/app.css");

/// A piece of text, highlighted or not; templates escape `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    /// The text.
    pub text: String,
    /// Whether it is wrapped in `<mark>`.
    pub mark: bool,
    /// Tooltip of a highlight (e.g. the entity it mentions).
    pub note: String,
}

/// Split `text` at the byte `ranges` (sorted or not); ranges that overlap an earlier one, run
/// past the end or cut a UTF-8 character are dropped rather than trusted.
pub fn segments(text: &str, ranges: &[(Range<usize>, String)]) -> Vec<Seg> {
    let mut rs: Vec<&(Range<usize>, String)> = ranges.iter().collect();
    rs.sort_by_key(|(r, _)| (r.start, r.end));
    let mut out = Vec::new();
    let mut at = 0;
    for (r, note) in rs {
        if r.start < at
            || r.start >= r.end
            || r.end > text.len()
            || !text.is_char_boundary(r.start)
            || !text.is_char_boundary(r.end)
        {
            continue;
        }
        if r.start > at {
            out.push(Seg {
                text: text[at..r.start].to_string(),
                mark: false,
                note: String::new(),
            });
        }
        out.push(Seg {
            text: text[r.clone()].to_string(),
            mark: true,
            note: note.clone(),
        });
        at = r.end;
    }
    if at < text.len() {
        out.push(Seg {
            text: text[at..].to_string(),
            mark: false,
            note: String::new(),
        });
    }
    out
}

/// `url` if it is an `http://` or `https://` link, else `None`: nothing else becomes an href.
pub fn safe_href(url: &str) -> Option<String> {
    let u = url.trim();
    let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
    let ok = (lower.starts_with("http://") || lower.starts_with("https://"))
        && !u.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then(|| u.to_string())
}

fn fmt_time(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

fn label_zh(label: &str) -> (&'static str, &'static str) {
    match SentimentLabel::parse(label) {
        Some(l @ SentimentLabel::Negative) => (l.zh(), "neg"),
        Some(l @ SentimentLabel::Positive) => (l.zh(), "pos"),
        Some(l) => (l.zh(), "neu"),
        None => ("未知", "neu"),
    }
}

fn health_zh(h: ConnectorHealth) -> (&'static str, &'static str) {
    match h {
        ConnectorHealth::Pending => ("待抓取", "neu"),
        ConnectorHealth::Ok => ("正常", "pos"),
        ConnectorHealth::Degraded => ("异常", "warn"),
        ConnectorHealth::Failing => ("故障", "neg"),
        ConnectorHealth::Stale => ("停滞", "warn"),
    }
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Low => "neu",
        Severity::Medium => "warn",
        Severity::High | Severity::Critical => "neg",
    }
}

/// The navigation bar: who is logged in, and the token the logout form needs.
pub struct Nav {
    /// User name.
    pub user: String,
    /// Role in Chinese.
    pub role: &'static str,
    /// The session's CSRF token.
    pub csrf: String,
    /// Which tab is current.
    pub active: &'static str,
}

impl Nav {
    fn new(a: &Authed, active: &'static str) -> Nav {
        Nav {
            user: a.user.name.clone(),
            role: a.user.role.zh(),
            csrf: a.csrf().to_string(),
            active,
        }
    }
}

fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => error_page(&ApiError::internal(e)),
    }
}

/// An error as an HTML page (the message is escaped; internals are never shown).
pub fn error_page(e: &ApiError) -> Response {
    if let ApiError::Internal(cause) = e {
        tracing::error!(cause = %cause, "page request failed");
    }
    let message = match e {
        ApiError::BadRequest(m) => m.clone(),
        ApiError::Unauthorized => "请先登录".into(),
        ApiError::Forbidden(_) => "当前角色无权执行此操作".into(),
        ApiError::NotFound => "未找到".into(),
        ApiError::Conflict(_) => "状态已变化，无法执行此操作".into(),
        ApiError::TooManyRequests => "尝试次数过多，请稍后再试".into(),
        ApiError::Unavailable => "服务暂不可用".into(),
        ApiError::Internal(_) => "内部错误".into(),
    };
    let t = ErrorTemplate {
        status: e.status().as_u16(),
        message,
    };
    let body = t.render().unwrap_or_else(|_| "error".into());
    (e.status(), Html(body)).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    status: u16,
    message: String,
}

/// 404 for every unknown path.
pub async fn not_found() -> Response {
    error_page(&ApiError::NotFound)
}

/// The embedded stylesheet (the only asset).
pub async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "app.css" => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/css; charset=utf-8"),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("max-age=3600"),
                ),
            ],
            CSS,
        )
            .into_response(),
        _ => error_page(&ApiError::NotFound),
    }
}

// ---------------------------------------------------------------- login

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTemplate {
    csrf: String,
    next: String,
    error: Option<String>,
}

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    /// Where to go after login (validated by [`safe_next`]).
    #[serde(default)]
    pub next: Option<String>,
}

fn login_page(status: StatusCode, next: &str, error: Option<String>) -> Response {
    let csrf = random_token();
    let mut res = render(&LoginTemplate {
        csrf: csrf.clone(),
        next: safe_next(next).unwrap_or_default(),
        error,
    });
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// `GET /login`.
pub async fn login_form(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = q.next.unwrap_or_default();
    if let Ok(Some(_)) = auth::authenticate(&headers, &st).await {
        return see_other(&safe_next(&next).unwrap_or_else(|| "/".into()));
    }
    login_page(StatusCode::OK, &next, None)
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// User name.
    #[serde(default)]
    pub name: String,
    /// Password.
    #[serde(default)]
    pub password: String,
    /// Double-submit CSRF token (must equal the login cookie).
    #[serde(default)]
    pub csrf: String,
    /// Where to go after.
    #[serde(default)]
    pub next: String,
}

/// `POST /login`.
pub async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    req_ext: axum::extract::Request,
) -> Response {
    let ip_key = format!("ip:{}", client_ip(req_ext.extensions()));
    let form =
        <Form<LoginForm> as axum::extract::FromRequest<AppState>>::from_request(req_ext, &st);
    let Ok(Form(f)) = form.await else {
        return error_page(&ApiError::BadRequest("表单无效".into()));
    };
    let cookie_ok = auth::cookie(&headers, LOGIN_CSRF_COOKIE).is_some_and(|c| {
        !f.csrf.is_empty() && crate::users::constant_time_eq(c.as_bytes(), f.csrf.as_bytes())
    });
    if !cookie_ok {
        return login_page(
            StatusCode::FORBIDDEN,
            &f.next,
            Some("页面已过期，请重新登录".into()),
        );
    }
    let user_key = format!("user:{}", f.name);
    let throttle = &st.inner().throttle;
    if throttle.blocked(&ip_key) || throttle.blocked(&user_key) {
        return login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &f.next,
            Some("尝试次数过多，请稍后再试".into()),
        );
    }
    let (name, password) = (f.name.clone(), f.password.clone());
    let verified = blocking(&st, move |s| {
        let Some(user) = s.users.verify(&name, &password)? else {
            return Ok(None);
        };
        Ok(Some(s.users.create_session(&user, Utc::now())?))
    })
    .await;
    match verified {
        Ok(Some((token, _session))) => {
            throttle.clear(&user_key);
            let mut res = see_other(&safe_next(&f.next).unwrap_or_else(|| "/".into()));
            let h = res.headers_mut();
            for c in [
                session_cookie(&token, st.inner().settings.secure_cookies),
                clear_cookie(LOGIN_CSRF_COOKIE, "/login"),
            ] {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    h.append(header::SET_COOKIE, v);
                }
            }
            res
        }
        Ok(None) => {
            throttle.fail(&ip_key);
            throttle.fail(&user_key);
            login_page(
                StatusCode::UNAUTHORIZED,
                &f.next,
                Some("用户名或密码错误".into()),
            )
        }
        Err(e) => error_page(&e),
    }
}

/// A form that carries only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: Option<String>,
}

/// `POST /logout`.
pub async fn logout(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(e) = a.check_csrf(f.csrf.as_deref()) {
        return error_page(&e);
    }
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
        let token = token.to_string();
        if let Err(e) = blocking(&st, move |s| Ok(s.users.end_session(&token)?)).await {
            return error_page(&e);
        }
    }
    let mut res = see_other("/login");
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(SESSION_COOKIE, "/")) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

// ---------------------------------------------------------------- search

/// A search hit ready for a template.
pub struct HitView {
    /// Document id.
    pub id: String,
    /// Title with highlights.
    pub title: Vec<Seg>,
    /// Body fragment with highlights.
    pub snippet: Vec<Seg>,
    /// Source id.
    pub source: String,
    /// Time in the display zone.
    pub time: String,
    /// Sentiment label in Chinese.
    pub label: &'static str,
    /// CSS class of the label.
    pub class: &'static str,
    /// Score, signed.
    pub score: String,
    /// Link to the original, only when it is http(s).
    pub href: Option<String>,
    /// Mentioned entity ids.
    pub entities: String,
    /// Other matching reposts folded into this hit.
    pub collapsed: u64,
    /// `cluster:<id>` search listing the reposts.
    pub reposts_href: Option<String>,
}

fn hit_view(h: &Hit, tz: Tz) -> HitView {
    let marks = |s: &yuqing_index::Snippet| {
        let rs: Vec<(Range<usize>, String)> = s
            .highlights
            .iter()
            .map(|r| (r.clone(), String::new()))
            .collect();
        segments(&s.text, &rs)
    };
    let (label, class) = label_zh(&h.sentiment);
    HitView {
        id: h.id.clone(),
        title: marks(&h.title_snippet),
        snippet: marks(&h.snippet),
        source: h.source.clone(),
        time: fmt_time(h.time, tz),
        label,
        class,
        score: format!("{:+.2}", h.sentiment_score),
        href: h.url.as_deref().and_then(safe_href),
        entities: h.entities.join("、"),
        collapsed: h.collapsed,
        reposts_href: h
            .cluster
            .as_deref()
            .filter(|_| h.collapsed > 0)
            .map(|c| search_href(&filter_term("cluster", c), true, true, None)),
    }
}

/// One value of a facet as the search page links it.
pub struct FacetLink {
    /// Shown label.
    pub label: String,
    /// Matches with this value.
    pub count: u64,
    /// Of them, negative.
    pub negative: u64,
    /// The filter it adds (`entity:hengxin`), also the link's `data-facet`.
    pub filter: String,
    /// The search URL with the filter added.
    pub href: String,
    /// The filter is already in the query.
    pub on: bool,
}

/// A facet of the search page.
pub struct FacetView {
    /// Heading.
    pub name: &'static str,
    /// Values, most frequent first.
    pub values: Vec<FacetLink>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchTemplate {
    nav: Nav,
    q: String,
    by_time: bool,
    show_dups: bool,
    total: usize,
    groups: usize,
    hits: Vec<HitView>,
    error: Option<String>,
    searched: bool,
    facets: Vec<FacetView>,
    chart: Option<charts::StackedBars>,
    sources: Option<charts::HBars>,
    next: Option<String>,
    first_page: Option<String>,
    export_csv: String,
    export_json: String,
}

/// Query of the search page.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// The query.
    #[serde(default)]
    pub q: Option<String>,
    /// `relevance` or `time`.
    #[serde(default)]
    pub sort: Option<String>,
    /// `show` lists every repost instead of one hit per near-duplicate cluster.
    #[serde(default)]
    pub dup: Option<String>,
    /// Continue after this position.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Hits per page of the search page.
pub const PAGE_HITS: usize = 20;

/// `field:value`, quoting the value when the query language needs it.
pub fn filter_term(field: &str, value: &str) -> String {
    if value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || "\"()（）“”:：".contains(c))
    {
        format!("{field}:\"{}\"", value.replace('"', ""))
    } else {
        format!("{field}:{value}")
    }
}

fn search_href(q: &str, by_time: bool, show_dups: bool, cursor: Option<&str>) -> String {
    let mut h = format!("/search?q={}", encode_component(q));
    if by_time {
        h.push_str("&sort=time");
    }
    if show_dups {
        h.push_str("&dup=show");
    }
    if let Some(c) = cursor {
        h.push_str("&cursor=");
        h.push_str(&encode_component(c));
    }
    h
}

fn facet_views(
    f: &yuqing_index::Facets,
    q: &str,
    by_time: bool,
    show_dups: bool,
) -> Vec<FacetView> {
    let label = |field: &str, v: &str| -> String {
        match field {
            "sentiment" => label_zh(v).0.to_string(),
            "dim" => Dimension::ALL
                .iter()
                .find(|d| d.as_str() == v)
                .map_or(v.to_string(), |d| d.zh().to_string()),
            "channel" => channel_zh(v).to_string(),
            _ => v.to_string(),
        }
    };
    [
        ("来源", "source", &f.source),
        ("渠道", "channel", &f.channel),
        ("主体", "entity", &f.entity),
        ("情感", "sentiment", &f.sentiment),
        ("风险类别", "risk", &f.risk),
        ("七维度", "dim", &f.dim),
    ]
    .into_iter()
    .filter(|(_, _, v)| !v.is_empty())
    .map(|(name, field, values)| FacetView {
        name,
        values: values
            .iter()
            .map(|c| {
                let filter = filter_term(field, &c.value);
                let on = q.contains(&filter);
                let nq = if on {
                    q.to_string()
                } else if q.trim().is_empty() {
                    filter.clone()
                } else {
                    format!("({}) AND {filter}", q.trim())
                };
                FacetLink {
                    label: label(field, &c.value),
                    count: c.count,
                    negative: c.negative,
                    href: search_href(&nq, by_time, show_dups, None),
                    filter,
                    on,
                }
            })
            .collect(),
    })
    .collect()
}

fn channel_zh(c: &str) -> &str {
    match c {
        "news" => "新闻",
        "web" => "网页",
        "social" => "社交媒体",
        "complaint" => "投诉平台",
        "official" => "官方",
        "inbound" => "客户反馈",
        other => other,
    }
}

fn bucket_label(b: &yuqing_index::Bucket, interval: yuqing_index::Interval) -> String {
    match interval {
        yuqing_index::Interval::Hour => b.start.format("%m-%d %H时").to_string(),
        _ => b.start.format("%m-%d").to_string(),
    }
}

/// The histogram of an aggregation as a chart.
pub fn time_chart(a: &yuqing_index::Aggregations) -> Option<charts::StackedBars> {
    let buckets: Vec<charts::Bucket> = a
        .histogram
        .iter()
        .map(|b| charts::Bucket {
            label: bucket_label(b, a.interval),
            negative: b.negative,
            neutral: b.neutral,
            positive: b.positive,
            mean_score: b.mean_score,
        })
        .collect();
    charts::StackedBars::new(&buckets)
}

/// `GET /search`.
pub async fn search(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Query(p): Query<SearchQuery>,
) -> Response {
    let q = p.q.unwrap_or_default();
    let by_time = p.sort.as_deref() == Some("time");
    let show_dups = p.dup.as_deref() == Some("show");
    let cursor = p.cursor.filter(|c| !c.is_empty());
    let mut t = SearchTemplate {
        nav: Nav::new(&a, "search"),
        q: q.clone(),
        by_time,
        show_dups,
        total: 0,
        groups: 0,
        hits: vec![],
        error: None,
        searched: !q.trim().is_empty(),
        facets: vec![],
        chart: None,
        sources: None,
        next: None,
        first_page: cursor
            .is_some()
            .then(|| search_href(&q, by_time, show_dups, None)),
        export_csv: format!("/api/v1/export?format=csv&q={}", encode_component(&q)),
        export_json: format!("/api/v1/export?format=jsonl&q={}", encode_component(&q)),
    };
    if t.searched {
        let tz = st.inner().settings.timezone;
        let opts = SearchOptions {
            limit: PAGE_HITS,
            sort: if by_time {
                SortOrder::Time
            } else {
                SortOrder::Relevance
            },
            cursor: cursor.clone(),
            collapse: !show_dups,
            timezone: tz,
            aggregations: Some(yuqing_index::AggOptions {
                timezone: tz,
                ..yuqing_index::AggOptions::default()
            }),
            ..SearchOptions::default()
        };
        let query = q.clone();
        match blocking(&st, move |s| Ok(s.index.search(&query, &opts)?)).await {
            Ok(res) => {
                t.total = res.total;
                t.groups = res.groups;
                t.hits = res.hits.iter().map(|h| hit_view(h, tz)).collect();
                t.next = res
                    .next_cursor
                    .as_deref()
                    .map(|c| search_href(&q, by_time, show_dups, Some(c)));
                if let Some(agg) = &res.aggregations {
                    t.facets = facet_views(&agg.facets, &q, by_time, show_dups);
                    t.chart = time_chart(agg);
                    let top: Vec<(String, u64)> = agg
                        .facets
                        .source
                        .iter()
                        .take(10)
                        .map(|c| (c.value.clone(), c.count))
                        .collect();
                    t.sources = charts::HBars::new(&top);
                }
            }
            Err(ApiError::BadRequest(m)) => t.error = Some(m),
            Err(e) => return error_page(&e),
        }
    }
    render(&t)
}

// ---------------------------------------------------------------- dashboard

/// Negative share over one period.
pub struct Share {
    /// Period label.
    pub period: &'static str,
    /// Documents in the period.
    pub total: usize,
    /// Negative documents in the period.
    pub negative: usize,
    /// Percentage, formatted.
    pub percent: String,
}

/// One sentiment label's share of the last 7 days.
pub struct SentimentShare {
    /// Label in Chinese.
    pub label: &'static str,
    /// CSS class.
    pub class: &'static str,
    /// Documents.
    pub count: u64,
    /// Share, formatted.
    pub percent: String,
}

/// An incident row.
pub struct IncidentRow {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Severity in Chinese.
    pub severity: &'static str,
    /// CSS class of the severity.
    pub class: &'static str,
    /// Status in Chinese.
    pub status: &'static str,
    /// Rule kind in Chinese.
    pub rule: &'static str,
    /// Entity id.
    pub entity: String,
    /// When it opened.
    pub opened: String,
    /// Attached documents.
    pub docs: u64,
}

fn incident_row(i: &yuqing_model::Incident, tz: Tz) -> IncidentRow {
    IncidentRow {
        id: i.id,
        title: i.title.clone(),
        severity: i.severity.zh(),
        class: severity_class(i.severity),
        status: i.status.zh(),
        rule: i.rule_kind.zh(),
        entity: i.entity_id.clone(),
        opened: fmt_time(Some(i.opened_at), tz),
        docs: i.doc_count,
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardTemplate {
    nav: Nav,
    indexed: u64,
    chart: Option<charts::StackedBars>,
    sentiments: Vec<SentimentShare>,
    sources: Option<charts::HBars>,
    shares: Vec<Share>,
    incidents: Vec<IncidentRow>,
    company: Option<String>,
    negatives: Vec<HitView>,
}

fn since(t: DateTime<Utc>) -> String {
    format!(
        "time:[{} TO *]",
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// `GET /`.
pub async fn dashboard(State(st): State<AppState>, PageUser(a): PageUser) -> Response {
    let tz = st.inner().settings.timezone;
    let company = st.inner().settings.company.clone();
    let company_id = company.as_ref().map(|c| c.id.clone());
    let r = blocking(&st, move |s| {
        let count = |q: &str| -> Result<usize, ApiError> {
            let opts = SearchOptions {
                limit: 1,
                ..SearchOptions::default()
            };
            Ok(s.index.search(q, &opts)?.total)
        };
        let now = Utc::now();
        let mut shares = Vec::new();
        for (period, d) in [
            ("近 24 小时", Duration::hours(24)),
            ("近 7 天", Duration::days(7)),
        ] {
            let range = since(now - d);
            let total = count(&range)?;
            let negative = count(&format!("{range} AND sentiment:negative"))?;
            let percent = if total == 0 {
                "—".to_string()
            } else {
                format!("{:.1}%", negative as f64 * 100.0 / total as f64)
            };
            shares.push(Share {
                period,
                total,
                negative,
                percent,
            });
        }
        let mut incidents = s.store.incidents(Some(IncidentStatus::Open), 20)?;
        incidents.extend(s.store.incidents(Some(IncidentStatus::Acknowledged), 20)?);
        incidents.sort_by_key(|i| std::cmp::Reverse(i.id));
        let negatives = match &company_id {
            Some(id) => {
                let opts = SearchOptions {
                    limit: 10,
                    sort: SortOrder::Time,
                    ..SearchOptions::default()
                };
                s.index
                    .search(&format!("entity:{id} AND sentiment:negative"), &opts)?
                    .hits
            }
            None => vec![],
        };
        let week = s.index.aggregate(
            "last:7d",
            &yuqing_index::AggOptions {
                interval: yuqing_index::Interval::Day,
                timezone: tz,
                now: Some(now),
                ..yuqing_index::AggOptions::default()
            },
        )?;
        Ok((s.index.num_docs(), shares, incidents, negatives, week))
    })
    .await;
    match r {
        Ok((indexed, shares, incidents, negatives, week)) => render(&DashboardTemplate {
            nav: Nav::new(&a, "dashboard"),
            indexed,
            chart: time_chart(&week),
            sentiments: week
                .facets
                .sentiment
                .iter()
                .map(|c| SentimentShare {
                    label: label_zh(&c.value).0,
                    class: label_zh(&c.value).1,
                    count: c.count,
                    percent: format!("{:.1}%", c.count as f64 * 100.0 / week.total.max(1) as f64),
                })
                .collect(),
            sources: charts::HBars::new(
                &week
                    .facets
                    .source
                    .iter()
                    .take(8)
                    .map(|c| (c.value.clone(), c.count))
                    .collect::<Vec<_>>(),
            ),
            shares,
            incidents: incidents.iter().map(|i| incident_row(i, tz)).collect(),
            company: company.map(|c| c.name),
            negatives: negatives.iter().map(|h| hit_view(h, tz)).collect(),
        }),
        Err(e) => error_page(&e),
    }
}

// ---------------------------------------------------------------- document

/// A sentiment term as shown.
pub struct TermView {
    /// The term.
    pub term: String,
    /// Lexicon weight.
    pub weight: String,
    /// Contribution after modifiers.
    pub contribution: String,
    /// Modifiers applied.
    pub modifiers: String,
}

/// A tag with its evidence.
pub struct TagView {
    /// Name.
    pub name: String,
    /// Evidence terms.
    pub evidence: String,
}

/// A mention as listed.
pub struct MentionView {
    /// Entity id.
    pub entity: String,
    /// Alias that matched.
    pub alias: String,
    /// Kind in Chinese.
    pub kind: &'static str,
    /// Title or body.
    pub field: &'static str,
}

/// Cluster facts.
pub struct ClusterView {
    /// Cluster id (its first document).
    pub id: String,
    /// Where the story surfaced.
    pub first_source: String,
    /// When.
    pub first_seen: String,
    /// Documents in it.
    pub size: u32,
}

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentTemplate {
    nav: Nav,
    id: String,
    title: Vec<Seg>,
    body: Vec<Seg>,
    source: String,
    channel: String,
    author: Option<String>,
    time: String,
    fetched: String,
    href: Option<String>,
    url_text: Option<String>,
    label: &'static str,
    class: &'static str,
    score: String,
    terms: Vec<TermView>,
    entity_sentiments: Vec<TagView>,
    mentions: Vec<MentionView>,
    risks: Vec<TagView>,
    dimensions: Vec<TagView>,
    cluster: Option<ClusterView>,
    tags: String,
    correction: Option<CorrectionView>,
    can_correct: bool,
    corrected: bool,
    /// Entity ids the form offers as false mentions.
    mentioned: Vec<String>,
}

/// An analyst's correction as the document page shows it.
pub struct CorrectionView {
    /// Corrected label in Chinese, if the label was corrected.
    pub label: Option<&'static str>,
    /// Entity ids marked as false mentions.
    pub false_mentions: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: String,
    /// Why.
    pub note: String,
}

/// Query of `GET /documents/{id}`.
#[derive(Debug, Deserialize)]
pub struct DocumentQuery {
    /// Set after a correction was stored, to confirm it.
    #[serde(default)]
    pub corrected: Option<String>,
}

fn kind_zh(k: AliasKind) -> &'static str {
    match k {
        AliasKind::Name => "名称",
        AliasKind::Brand => "品牌",
        AliasKind::Product => "产品",
        AliasKind::Person => "人物",
    }
}

/// `GET /documents/{id}`.
pub async fn document(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Query(q): Query<DocumentQuery>,
) -> Response {
    let tz = st.inner().settings.timezone;
    let found = blocking(&st, move |s| {
        let id = DocId(id);
        Ok(match s.store.document(&id)? {
            Some(d) => Some((d, s.store.correction(&id)?)),
            None => None,
        })
    })
    .await;
    let (doc, correction) = match found {
        Ok(Some(d)) => d,
        Ok(None) => return error_page(&ApiError::NotFound),
        Err(e) => return error_page(&e),
    };
    let an = &doc.analysis;
    let spans = |field: Field| -> Vec<(Range<usize>, String)> {
        an.mentions
            .iter()
            .filter(|m| m.field == field)
            .map(|m| {
                (
                    m.start..m.end,
                    format!("{}（{}）", m.entity_id, kind_zh(m.kind)),
                )
            })
            .collect()
    };
    let (label, class) = label_zh(an.sentiment.label.as_str());
    let t = DocumentTemplate {
        nav: Nav::new(&a, "search"),
        id: doc.raw.id.to_string(),
        title: segments(&an.title, &spans(Field::Title)),
        body: segments(&an.body, &spans(Field::Body)),
        source: doc.raw.source_id.to_string(),
        channel: doc.raw.channel.as_str().to_string(),
        author: doc.raw.author.clone(),
        time: fmt_time(doc.raw.published_at, tz),
        fetched: fmt_time(Some(doc.raw.fetched_at), tz),
        href: doc.raw.url.as_deref().and_then(safe_href),
        url_text: doc.raw.url.clone(),
        label,
        class,
        score: format!("{:+.2}", an.sentiment.score),
        terms: an
            .sentiment
            .terms
            .iter()
            .map(|t| TermView {
                term: t.term.clone(),
                weight: format!("{:+.2}", t.weight),
                contribution: format!("{:+.2}", t.contribution),
                modifiers: t.modifiers.join("，"),
            })
            .collect(),
        entity_sentiments: an
            .entity_sentiments
            .iter()
            .map(|e| TagView {
                name: e.entity_id.clone(),
                evidence: format!("{}（{:+.2}）", e.sentiment.label.zh(), e.sentiment.score),
            })
            .collect(),
        mentions: an
            .mentions
            .iter()
            .map(|m| MentionView {
                entity: m.entity_id.clone(),
                alias: m.alias.clone(),
                kind: kind_zh(m.kind),
                field: if m.field == Field::Title {
                    "标题"
                } else {
                    "正文"
                },
            })
            .collect(),
        risks: an
            .risks
            .iter()
            .map(|r| TagView {
                name: r.id.clone(),
                evidence: r.evidence.join("、"),
            })
            .collect(),
        dimensions: an
            .dimensions
            .iter()
            .map(|d| TagView {
                name: d.dimension.zh().to_string(),
                evidence: d.evidence.join("、"),
            })
            .collect(),
        cluster: doc.cluster.as_ref().map(|c| ClusterView {
            id: c.id.to_string(),
            first_source: c.first_source.to_string(),
            first_seen: fmt_time(Some(c.first_seen), tz),
            size: c.size,
        }),
        tags: doc.raw.tags.join("、"),
        correction: correction.map(|c| CorrectionView {
            label: c.label.map(|l| l.zh()),
            false_mentions: c.false_mentions.join("、"),
            by: c.by,
            at: fmt_time(Some(c.at), tz),
            note: c.note.unwrap_or_default(),
        }),
        can_correct: a.user.role >= Role::Analyst,
        corrected: q.corrected.is_some(),
        mentioned: an.entity_ids(),
    };
    render(&t)
}

// ---------------------------------------------------------------- sources

/// A source row.
pub struct SourceRow {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Channel.
    pub channel: String,
    /// Polled or not.
    pub enabled: bool,
    /// Health in Chinese.
    pub health: &'static str,
    /// CSS class.
    pub class: &'static str,
    /// Last success.
    pub last_success: String,
    /// Last error time.
    pub last_error_at: String,
    /// Last error class and message.
    pub last_error: String,
    /// Failures in a row.
    pub failures: u32,
    /// Documents ever.
    pub docs: u64,
    /// Poll interval in force (adaptive).
    pub interval: String,
    /// When something new last came.
    pub last_new: String,
}

#[derive(Template)]
#[template(path = "sources.html")]
struct SourcesTemplate {
    nav: Nav,
    sources: Vec<SourceRow>,
}

/// `GET /sources`.
pub async fn sources(State(st): State<AppState>, PageUser(a): PageUser) -> Response {
    let tz = st.inner().settings.timezone;
    match blocking(&st, |s| Ok(s.store.connector_statuses(Utc::now())?)).await {
        Ok(statuses) => render(&SourcesTemplate {
            nav: Nav::new(&a, "sources"),
            sources: statuses
                .iter()
                .map(|c| {
                    let s = &c.source;
                    let (health, class) = health_zh(c.health);
                    SourceRow {
                        interval: c
                            .interval_secs
                            .map_or(String::new(), |i| format!("{i:.0} 秒")),
                        last_new: c
                            .last_new_item_at
                            .map_or(String::new(), |t| fmt_time(Some(t), tz)),
                        id: s.id.to_string(),
                        name: s.name.clone(),
                        channel: s.channel.clone(),
                        enabled: s.enabled,
                        health,
                        class,
                        last_success: fmt_time(s.last_success_at, tz),
                        last_error_at: fmt_time(s.last_error_at, tz),
                        last_error: match (&s.last_error_class, &s.last_error) {
                            (Some(c), Some(m)) => format!("[{c}] {m}"),
                            (None, Some(m)) => m.clone(),
                            _ => String::new(),
                        },
                        failures: s.consecutive_failures,
                        docs: s.docs_total,
                    }
                })
                .collect(),
        }),
        Err(e) => error_page(&e),
    }
}

// ---------------------------------------------------------------- incidents

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsTemplate {
    nav: Nav,
    status: String,
    incidents: Vec<IncidentRow>,
}

/// Query of the incidents page.
#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    /// Status filter.
    #[serde(default)]
    pub status: Option<String>,
}

/// `GET /incidents`.
pub async fn incidents(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Query(q): Query<StatusQuery>,
) -> Response {
    let tz = st.inner().settings.timezone;
    let status = match api::parse_status(q.status.as_deref()) {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    match blocking(&st, move |s| {
        Ok(s.store.incidents(status, api::MAX_INCIDENTS)?)
    })
    .await
    {
        Ok(list) => render(&IncidentsTemplate {
            nav: Nav::new(&a, "incidents"),
            status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            incidents: list.iter().map(|i| incident_row(i, tz)).collect(),
        }),
        Err(e) => error_page(&e),
    }
}

/// One step of the propagation path.
pub struct PathStep {
    /// Document id.
    pub doc_id: String,
    /// Title.
    pub title: String,
    /// Source.
    pub source: String,
    /// Document time.
    pub time: String,
    /// Evidence terms.
    pub terms: String,
}

/// One history entry.
pub struct EventView {
    /// When.
    pub at: String,
    /// What (id).
    pub kind: String,
    /// Who.
    pub actor: String,
    /// Details.
    pub detail: String,
}

/// One notification.
pub struct NotificationView {
    /// Channel id.
    pub channel: String,
    /// Message title.
    pub title: String,
    /// Delivery status.
    pub status: &'static str,
    /// CSS class.
    pub class: &'static str,
    /// Attempts.
    pub attempts: u32,
    /// Queued at.
    pub created: String,
    /// Delivered at.
    pub sent: String,
    /// Last error.
    pub error: String,
}

/// Why it opened, in words.
pub struct WhyView {
    /// Rule id.
    pub rule_id: String,
    /// Rule kind in Chinese.
    pub rule: &'static str,
    /// Observed count.
    pub observed: String,
    /// Threshold.
    pub threshold: String,
    /// Baseline line for spikes.
    pub baseline: Option<String>,
    /// Largest wave for complaint surges.
    pub wave: Option<u64>,
    /// Window in hours or minutes.
    pub window: String,
    /// Top terms.
    pub terms: String,
    /// Top sources.
    pub sources: String,
    /// First source.
    pub first_source: Option<String>,
    /// First seen.
    pub first_seen: Option<String>,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentTemplate {
    nav: Nav,
    row: IncidentRow,
    why: WhyView,
    ack_by: Option<String>,
    can_ack: bool,
    path: Vec<PathStep>,
    events: Vec<EventView>,
    notifications: Vec<NotificationView>,
}

fn window_zh(secs: u64) -> String {
    if secs.is_multiple_of(3600) {
        format!("{} 小时", secs / 3600)
    } else {
        format!("{} 分钟", secs / 60)
    }
}

fn incident_page(a: &Authed, d: &IncidentDetail, tz: Tz) -> IncidentTemplate {
    let i = &d.incident;
    let w = &i.why;
    IncidentTemplate {
        nav: Nav::new(a, "incidents"),
        row: incident_row(i, tz),
        why: WhyView {
            rule_id: w.rule_id.clone(),
            rule: w.rule_kind.zh(),
            observed: format!("{}", w.observed),
            threshold: format!("{}", w.threshold),
            baseline: match (w.rule_kind, w.baseline) {
                (RuleKind::Spike, Some(b)) => Some(format!(
                    "基线均值 {b:.1}{}{}",
                    w.baseline_stddev
                        .map(|s| format!("，标准差 {s:.1}"))
                        .unwrap_or_default(),
                    w.ratio_threshold
                        .map(|r| format!("，倍数阈值 {r:.1}"))
                        .unwrap_or_default()
                )),
                _ => None,
            },
            wave: w.largest_wave,
            window: window_zh(w.window_secs),
            terms: w.top_terms.join("、"),
            sources: w
                .top_sources
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            first_source: w.first_source.as_ref().map(|s| s.to_string()),
            first_seen: w.first_seen.map(|t| fmt_time(Some(t), tz)),
        },
        ack_by: i.acknowledged_by.clone(),
        can_ack: a.user.role >= Role::Analyst && i.status == IncidentStatus::Open,
        path: d
            .documents
            .iter()
            .map(|p| PathStep {
                doc_id: p.doc_id.to_string(),
                title: p.title.clone(),
                source: p.source_id.to_string(),
                time: fmt_time(Some(p.doc_at), tz),
                terms: p.terms.join("、"),
            })
            .collect(),
        events: d
            .events
            .iter()
            .map(|e| EventView {
                at: fmt_time(Some(e.at), tz),
                kind: e.kind.as_str().to_string(),
                actor: e.actor.clone().unwrap_or_else(|| "系统".into()),
                detail: e.detail.clone(),
            })
            .collect(),
        notifications: d
            .notifications
            .iter()
            .map(|n| {
                let (status, class) = match n.status {
                    yuqing_store::OutboxStatus::Pending => ("待发送", "warn"),
                    yuqing_store::OutboxStatus::Sent => ("已送达", "pos"),
                    yuqing_store::OutboxStatus::Failed => ("失败", "neg"),
                };
                NotificationView {
                    channel: n.channel.clone(),
                    title: n.notification.title.clone(),
                    status,
                    class,
                    attempts: n.attempts,
                    created: fmt_time(Some(n.created_at), tz),
                    sent: fmt_time(n.sent_at, tz),
                    error: n.last_error.clone().unwrap_or_default(),
                }
            })
            .collect(),
    }
}

/// `GET /incidents/{id}`.
pub async fn incident(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
) -> Response {
    let tz = st.inner().settings.timezone;
    let id = match api::incident_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&e),
    };
    match blocking(&st, move |s| api::load_incident(s, id)).await {
        Ok(Some(d)) => render(&incident_page(&a, &d, tz)),
        Ok(None) => error_page(&ApiError::NotFound),
        Err(e) => error_page(&e),
    }
}

/// `POST /incidents/{id}/ack` (analyst or admin, CSRF token required).
pub async fn acknowledge(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(e) = a
        .check_csrf(f.csrf.as_deref())
        .and_then(|()| a.require(Role::Analyst))
    {
        return error_page(&e);
    }
    let id = match api::incident_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&e),
    };
    let by = a.user.name.clone();
    match blocking(&st, move |s| api::ack(s, id, &by)).await {
        Ok(_) => see_other(&format!("/incidents/{id}")),
        Err(e) => error_page(&e),
    }
}
