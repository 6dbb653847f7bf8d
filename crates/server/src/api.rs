//! The JSON API under `/api/v1`. Each handler is registered through utoipa-axum, so the
//! OpenAPI document at `/api/v1/openapi.json` lists exactly these routes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yuqing_index::{Hit, SearchOptions, SortOrder};
use yuqing_model::{DocId, Document, Incident, IncidentDoc, IncidentEvent, IncidentStatus};
use yuqing_store::{OutboxRow, SourceState};

use crate::auth::{ApiUser, CSRF_HEADER};
use crate::error::{ApiError, ErrorBody};
use crate::users::Role;
use crate::{AppState, blocking};

/// Most hits one search returns.
pub const MAX_LIMIT: usize = 100;
/// Hits returned when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;
/// Most incidents one listing returns.
pub const MAX_INCIDENTS: usize = 500;

#[derive(OpenApi)]
#[openapi(
    info(title = "yuqing 舆情 API", description = "Search, documents, sources and incidents of the yuqing public-opinion monitor. Authenticate with `Authorization: Bearer <token>` (`yuqing user token NAME`)."),
    modifiers(&BearerScheme),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every API route with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(search))
        .routes(routes!(crate::export::export))
        .routes(routes!(document))
        .routes(routes!(crate::corrections::correct_api))
        .routes(routes!(sources))
        .routes(routes!(incidents))
        .routes(routes!(incident))
        .routes(routes!(acknowledge))
        .routes(routes!(assign))
}

/// Query of `GET /api/v1/search`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Query: words, "phrases", AND / OR / NOT / -word, parentheses, field filters
    /// `source:` `channel:` `entity:` `sentiment:` `risk:` `dim:` `tag:` `cluster:` `title:`
    /// `body:`, times `time:2026-01-31`, `time:[2026-01-01 TO 2026-01-31]`, `time:>=…`,
    /// `last:24h` / `last:7d` (Asia/Shanghai). Empty: every document. A bad query answers 400
    /// with the column and the reason.
    pub q: Option<String>,
    /// Most hits (1–100, default 20).
    pub limit: Option<String>,
    /// `relevance` (default) or `time` (newest first).
    pub sort: Option<String>,
    /// `next_cursor` of the previous page (same query and sort).
    pub cursor: Option<String>,
    /// `true` keeps the best hit per near-duplicate cluster and counts the rest in
    /// `collapsed` ("+12 reposts"). Default `false`.
    pub collapse: Option<String>,
    /// `true` adds `aggregations` (facets and the date histogram over every match).
    pub facets: Option<String>,
    /// Histogram buckets: `auto` (default), `hour` or `day` (Asia/Shanghai).
    pub interval: Option<String>,
}

/// A byte range inside a snippet's text to highlight.
#[derive(Debug, Serialize, ToSchema)]
pub struct Highlight {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A fragment of text with the byte ranges that matched the query.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnippetDto {
    /// The fragment (plain text: escape it before putting it in HTML).
    pub text: String,
    /// Byte ranges of `text` to highlight, ordered, not overlapping.
    pub highlights: Vec<Highlight>,
}

impl From<&yuqing_index::Snippet> for SnippetDto {
    fn from(s: &yuqing_index::Snippet) -> Self {
        SnippetDto {
            text: s.text.clone(),
            highlights: s
                .highlights
                .iter()
                .map(|r| Highlight {
                    start: r.start,
                    end: r.end,
                })
                .collect(),
        }
    }
}

/// One search hit.
#[derive(Debug, Serialize, ToSchema)]
pub struct HitDto {
    /// Document id.
    pub id: String,
    /// Relevance score (0 when sorted by time).
    pub score: f32,
    /// Title.
    pub title: String,
    /// Source id.
    pub source: String,
    /// Channel.
    pub channel: String,
    /// Link to the original.
    pub url: Option<String>,
    /// Publication time, else fetch time (RFC 3339, UTC).
    pub time: Option<String>,
    /// Sentiment score in [-1, 1].
    pub sentiment_score: f64,
    /// `negative`, `neutral` or `positive`.
    pub sentiment: String,
    /// Mentioned entity ids.
    pub entities: Vec<String>,
    /// Risk category ids.
    pub risks: Vec<String>,
    /// Review dimension ids.
    pub dimensions: Vec<String>,
    /// Near-duplicate cluster id.
    pub cluster: Option<String>,
    /// With `collapse=true`: other matching documents of the same cluster ("+N reposts").
    pub collapsed: u64,
    /// Highlighted title.
    pub title_snippet: SnippetDto,
    /// Highlighted body fragment.
    pub snippet: SnippetDto,
}

impl From<&Hit> for HitDto {
    fn from(h: &Hit) -> Self {
        HitDto {
            id: h.id.clone(),
            score: h.score,
            title: h.title.clone(),
            source: h.source.clone(),
            channel: h.channel.clone(),
            url: h.url.clone(),
            time: h.time.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            sentiment_score: h.sentiment_score,
            sentiment: h.sentiment.clone(),
            entities: h.entities.clone(),
            risks: h.risks.clone(),
            dimensions: h.dimensions.clone(),
            cluster: h.cluster.clone(),
            collapsed: h.collapsed,
            title_snippet: (&h.title_snippet).into(),
            snippet: (&h.snippet).into(),
        }
    }
}

/// A page of search hits.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Documents that matched in all.
    pub total: usize,
    /// With `collapse=true`: distinct clusters among the matches (else equals `total`).
    pub groups: usize,
    /// The hits, in order.
    pub hits: Vec<HitDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// With `facets=true`: facet counts (source, channel, entity, sentiment, risk, dim) and
    /// the date histogram with sentiment per bucket.
    #[schema(value_type = Option<Object>)]
    pub aggregations: Option<yuqing_index::Aggregations>,
}

/// A boolean query parameter: `true`/`1`/`on` or `false`/`0`/`off` (absent: `default`).
pub fn flag(name: &str, v: Option<&str>, default: bool) -> Result<bool, ApiError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some("true" | "1" | "on" | "yes") => Ok(true),
        Some("false" | "0" | "off" | "no") => Ok(false),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{name} must be true or false"
        ))),
    }
}

/// Parse `interval` (`auto`, `hour`, `day`).
pub fn interval(v: Option<&str>) -> Result<yuqing_index::Interval, ApiError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("auto") => Ok(yuqing_index::Interval::Auto),
        Some("hour") => Ok(yuqing_index::Interval::Hour),
        Some("day") => Ok(yuqing_index::Interval::Day),
        Some(_) => Err(ApiError::BadRequest(
            "interval must be auto, hour or day".into(),
        )),
    }
}

/// Parse `limit` and `sort` as the API and the console accept them.
pub fn search_options(limit: Option<&str>, sort: Option<&str>) -> Result<SearchOptions, ApiError> {
    let limit = match limit.map(str::trim).filter(|s| !s.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("limit must be a number from 1 to {MAX_LIMIT}"))
            })?,
    };
    let sort = match sort.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("relevance") => SortOrder::Relevance,
        Some("time") => SortOrder::Time,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "sort must be `relevance` or `time`".into(),
            ));
        }
    };
    Ok(SearchOptions {
        limit,
        sort,
        ..SearchOptions::default()
    })
}

/// Search the collected documents.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchParams),
    responses(
        (status = 200, description = "Hits", body = SearchResponse),
        (status = 400, description = "The query does not parse; the message says why", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
async fn search(
    State(st): State<AppState>,
    ApiUser(_user): ApiUser,
    Query(p): Query<SearchParams>,
) -> Result<Json<SearchResponse>, ApiError> {
    let mut opts = search_options(p.limit.as_deref(), p.sort.as_deref())?;
    opts.cursor = p.cursor.filter(|c| !c.trim().is_empty());
    opts.collapse = flag("collapse", p.collapse.as_deref(), false)?;
    opts.timezone = st.inner().settings.timezone;
    let interval = interval(p.interval.as_deref())?;
    if flag("facets", p.facets.as_deref(), false)? {
        opts.aggregations = Some(yuqing_index::AggOptions {
            interval,
            timezone: st.inner().settings.timezone,
            ..yuqing_index::AggOptions::default()
        });
    }
    let q = p.q.unwrap_or_default();
    let res = blocking(&st, move |s| Ok(s.index.search(&q, &opts)?)).await?;
    Ok(Json(SearchResponse {
        total: res.total,
        groups: res.groups,
        hits: res.hits.iter().map(HitDto::from).collect(),
        next_cursor: res.next_cursor,
        aggregations: res.aggregations,
    }))
}

/// A stored document with its full analysis.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentResponse {
    /// The document: `raw` (as fetched), `analysis` (normalized text, mentions with byte
    /// spans, sentiment with its terms, risks, dimensions), `cluster`.
    #[schema(value_type = Object)]
    pub document: Document,
}

/// One document with everything the analyzer found.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "Document id (32 hex characters)")),
    responses(
        (status = 200, description = "The document", body = DocumentResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such document", body = ErrorBody),
    ))]
async fn document(
    State(st): State<AppState>,
    ApiUser(_user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<DocumentResponse>, ApiError> {
    let doc = blocking(&st, move |s| Ok(s.store.document(&DocId(id))?)).await?;
    doc.map(|document| Json(DocumentResponse { document }))
        .ok_or(ApiError::NotFound)
}

/// Every source with its health.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourcesResponse {
    /// Sources by id: health, last poll, last success, last error, counters.
    #[schema(value_type = Vec<Object>)]
    pub sources: Vec<SourceState>,
}

/// Sources and their health.
#[utoipa::path(get, path = "/api/v1/sources", tag = "sources",
    responses(
        (status = 200, description = "Sources", body = SourcesResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
async fn sources(
    State(st): State<AppState>,
    ApiUser(_user): ApiUser,
) -> Result<Json<SourcesResponse>, ApiError> {
    let sources = blocking(&st, |s| Ok(s.store.source_states()?)).await?;
    Ok(Json(SourcesResponse { sources }))
}

/// Query of `GET /api/v1/incidents`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentsParams {
    /// `open`, `acknowledged` or `resolved`; all when absent.
    pub status: Option<String>,
}

/// Parse an incident status filter.
pub fn parse_status(s: Option<&str>) -> Result<Option<IncidentStatus>, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => IncidentStatus::parse(s).map(Some).ok_or_else(|| {
            ApiError::BadRequest("status must be `open`, `acknowledged` or `resolved`".into())
        }),
    }
}

/// A list of incidents, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentsResponse {
    /// The incidents, each with why it opened.
    #[schema(value_type = Vec<Object>)]
    pub incidents: Vec<Incident>,
}

/// Incidents, newest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(IncidentsParams),
    responses(
        (status = 200, description = "Incidents", body = IncidentsResponse),
        (status = 400, description = "Unknown status", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
async fn incidents(
    State(st): State<AppState>,
    ApiUser(_user): ApiUser,
    Query(p): Query<IncidentsParams>,
) -> Result<Json<IncidentsResponse>, ApiError> {
    let status = parse_status(p.status.as_deref())?;
    let incidents = blocking(&st, move |s| {
        Ok(s.store.incidents(status, MAX_INCIDENTS)?)
    })
    .await?;
    Ok(Json(IncidentsResponse { incidents }))
}

/// One incident with its propagation path, history and notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    /// The incident, with why it opened.
    #[schema(value_type = Object)]
    pub incident: Incident,
    /// Its documents in time order: the propagation path.
    #[schema(value_type = Vec<Object>)]
    pub documents: Vec<IncidentDoc>,
    /// Its audit trail.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<IncidentEvent>,
    /// Chat notifications about it and their delivery state.
    #[schema(value_type = Vec<Object>)]
    pub notifications: Vec<OutboxRow>,
}

/// Load an incident with everything about it; `None` if unknown.
pub(crate) fn load_incident(s: &crate::Inner, id: i64) -> Result<Option<IncidentDetail>, ApiError> {
    let Some(incident) = s.store.incident(id)? else {
        return Ok(None);
    };
    Ok(Some(IncidentDetail {
        incident,
        documents: s.store.incident_docs(id)?,
        events: s.store.incident_events(id)?,
        notifications: s.store.outbox_rows(Some(id))?,
    }))
}

/// Parse an incident id from the path.
pub fn incident_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::NotFound)
}

/// One incident: why it opened, its documents in order, its history, its notifications.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The incident", body = IncidentDetail),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
    ))]
async fn incident(
    State(st): State<AppState>,
    ApiUser(_user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id = incident_id(&id)?;
    blocking(&st, move |s| load_incident(s, id))
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// Result of an acknowledgement.
#[derive(Debug, Serialize, ToSchema)]
pub struct AckResponse {
    /// The incident after the change.
    #[schema(value_type = Object)]
    pub incident: Incident,
}

/// Acknowledge an incident in the caller's name, as `yuqing incidents ack` does.
pub(crate) fn ack(s: &crate::Inner, id: i64, by: &str) -> Result<Incident, ApiError> {
    if s.store.incident(id)?.is_none() {
        return Err(ApiError::NotFound);
    }
    if !s.store.acknowledge_incident(id, by, Utc::now())? {
        return Err(ApiError::Conflict(
            "incident is not open (already acknowledged or resolved)".into(),
        ));
    }
    s.store.incident(id)?.ok_or(ApiError::NotFound)
}

/// Acknowledge an open incident (analyst or admin). With a session cookie instead of a
/// bearer token, the session's CSRF token must be sent in `X-CSRF-Token`.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/ack", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "Acknowledged", body = AckResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "Not open", body = ErrorBody),
    ))]
async fn acknowledge(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<AckResponse>, ApiError> {
    user.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
    user.require(Role::Analyst)?;
    let id = incident_id(&id)?;
    let by = user.user.name.clone();
    let incident = blocking(&st, move |s| ack(s, id, &by)).await?;
    Ok(Json(AckResponse { incident }))
}

/// Body of `POST /api/v1/incidents/{id}/assign`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignRequest {
    /// Who the incident is assigned to (1–64 characters).
    pub assignee: String,
}

/// Most characters of an assignee's name.
pub const MAX_ASSIGNEE_CHARS: usize = 64;

/// Check an assignee's name: trimmed, 1–64 characters, no control characters.
pub fn assignee_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > MAX_ASSIGNEE_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::BadRequest(format!(
            "assignee must be 1 to {MAX_ASSIGNEE_CHARS} characters, without control characters"
        )));
    }
    Ok(name.to_string())
}

/// Assign an incident in the caller's name, as `yuqing incidents assign` does.
pub(crate) fn assign_to(
    s: &crate::Inner,
    id: i64,
    assignee: &str,
    by: &str,
) -> Result<Incident, ApiError> {
    if !s.store.assign_incident(id, assignee, by, Utc::now())? {
        return Err(ApiError::NotFound);
    }
    s.store.incident(id)?.ok_or(ApiError::NotFound)
}

/// Assign an incident to someone (analyst or admin); recorded in its history in the caller's
/// name. With a session cookie instead of a bearer token, the session's CSRF token must be
/// sent in `X-CSRF-Token`.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/assign", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "Assigned", body = AckResponse),
        (status = 400, description = "The body is not `{\"assignee\": \"…\"}` with a valid name", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
    ))]
async fn assign(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<AckResponse>, ApiError> {
    user.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
    user.require(Role::Analyst)?;
    let id = incident_id(&id)?;
    // Parsed here rather than by `Json` so that a bad body gets the API's error shape, and
    // only after the caller is known to be allowed.
    let req: AssignRequest = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadRequest("body must be {\"assignee\": \"NAME\"}".into()))?;
    let assignee = assignee_name(&req.assignee)?;
    let by = user.user.name.clone();
    let incident = blocking(&st, move |s| assign_to(s, id, &assignee, &by)).await?;
    Ok(Json(AckResponse { incident }))
}
