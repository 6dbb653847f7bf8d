//! The improvement workflow's JSON API under `/api/v1` (issue 7): an incident's event
//! report, review (复盘), measures, effect evaluations and conclusion; the supervision view;
//! complaint cases; briefings and the full report (JSON or Markdown).
//!
//! Rules, as for the rest of the API: every route needs a bearer token or a session; reads
//! are open to every role, writes need an analyst, and with a session cookie the CSRF token
//! in `X-CSRF-Token`. Approving a review, and reopening an approved one, need the approver
//! role ([`WorkflowConsole::approver_role`], at least analyst; admins always may). Errors of
//! the workflow map by kind: not found 404, illegal transition or locked 409 (the message
//! names both states in Chinese and English), invalid input 400. Without a workflow
//! ([`crate::AppState::with_workflow`] not called) every route answers 503.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yuqing_model::DocId;
use yuqing_workflow::{
    AuditEntry, BriefingKind, Case, CaseClock, CaseEdit, CaseQuery, CaseStatus, Conclusion,
    DueState, Evaluation, ManualInputs, Measure, MeasureEdit, MeasureQuery, MeasureStatus, NewCase,
    NewMeasure, ReportEdit, Review, ReviewEdit, ReviewStatus, SupervisionItem, Workflow,
    WorkflowState,
};

use crate::api::incident_id;
use crate::auth::{ApiUser, Authed, CSRF_HEADER};
use crate::error::{ApiError, ErrorBody};
use crate::users::Role;
use crate::{AppState, Inner};

/// Most cases one listing returns.
pub const MAX_CASES: usize = 1000;
/// Cases listed when `limit` is not given.
pub const DEFAULT_CASES: usize = 200;

/// The improvement workflow as the console serves it.
#[derive(Clone)]
pub struct WorkflowConsole {
    /// The workflow over the daemon's store.
    pub workflow: Arc<Workflow>,
    /// Who approves reviews (and reopens approved ones): this role and above, never below
    /// analyst. `Role::Admin` by default.
    pub approver_role: Role,
}

impl WorkflowConsole {
    /// The workflow with admins as approvers.
    pub fn new(workflow: Arc<Workflow>) -> WorkflowConsole {
        WorkflowConsole {
            workflow,
            approver_role: Role::Admin,
        }
    }

    /// Whether `role` may approve a review or reopen an approved one.
    pub fn may_approve(&self, role: Role) -> bool {
        role >= Role::Analyst && role >= self.approver_role
    }
}

impl From<yuqing_workflow::Error> for ApiError {
    fn from(e: yuqing_workflow::Error) -> Self {
        use yuqing_workflow::ErrorKind;
        match e.kind() {
            ErrorKind::NotFound => ApiError::NotFound,
            ErrorKind::Conflict => ApiError::Conflict(e.to_string()),
            ErrorKind::Invalid => ApiError::BadRequest(e.to_string()),
            ErrorKind::Internal => ApiError::internal(e),
        }
    }
}

/// Run `f` with the workflow on a blocking thread; 503 when the console has none.
pub(crate) async fn with_workflow<T, E, F>(st: &AppState, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<ApiError> + Send + 'static,
    F: FnOnce(&WorkflowConsole, &Inner) -> Result<T, E> + Send + 'static,
{
    if st.inner().workflow.is_none() {
        return Err(ApiError::Unavailable.into());
    }
    let st = st.clone();
    tokio::task::spawn_blocking(move || {
        let inner = st.inner();
        match &inner.workflow {
            Some(wc) => f(wc, inner),
            None => Err(ApiError::Unavailable.into()),
        }
    })
    .await
    .map_err(|e| E::from(ApiError::internal(e)))?
}

/// CSRF (for sessions) then role.
fn guard(user: &Authed, headers: &HeaderMap, role: Role) -> Result<(), ApiError> {
    user.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
    user.require(role)
}

/// Parse a JSON body; the message describes what is wrong with it (safe to show).
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))
}

/// Parse an optional JSON body (empty: the default).
fn parse_opt_body<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_body(body)
    }
}

fn id_of(raw: &str) -> Result<i64, ApiError> {
    incident_id(raw)
}

fn actor(user: &Authed) -> String {
    user.user.name.clone()
}

/// Every workflow route with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_report, edit_report))
        .routes(routes!(refresh_report))
        .routes(routes!(get_review, start_review, edit_review))
        .routes(routes!(review_status))
        .routes(routes!(incident_measures, add_measure))
        .routes(routes!(get_measure, edit_measure))
        .routes(routes!(measure_status))
        .routes(routes!(measure_progress))
        .routes(routes!(measure_check))
        .routes(routes!(evaluate_measure))
        .routes(routes!(supervision))
        .routes(routes!(evaluate_incident))
        .routes(routes!(incident_evaluations))
        .routes(routes!(get_evaluation))
        .routes(routes!(set_manual))
        .routes(routes!(get_conclusion, conclude))
        .routes(routes!(incident_audit))
        .routes(routes!(list_cases, open_case))
        .routes(routes!(get_case, edit_case))
        .routes(routes!(case_note))
        .routes(routes!(case_reply))
        .routes(routes!(case_answer))
        .routes(routes!(case_extend))
        .routes(routes!(case_status))
        .routes(routes!(briefing))
        .routes(routes!(full_report))
}

// ------------------------------------------------------------------ report

/// The incident's event report, drafted from its documents on first read.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/report", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The event report: title, summary, impact, notes and the facts drafted from the data (time span, sources, channels, first source, entities, products, people, top documents and terms, propagation path, sentiment, risks, dimensions)", body = Object),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn get_report(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let r = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.event_report(id, Utc::now())?)
    })
    .await?;
    Ok(Json(r).into_response())
}

/// Edit the report's text (analyst). Body: `{"title"?, "summary"?, "impact"?, "notes"?}`;
/// absent fields stay as they are; every changed field is audited.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}/report", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    request_body(content = Object, description = "ReportEdit: `title`, `summary`, `impact`, `notes` (all optional strings; unknown fields refused)"),
    responses(
        (status = 200, description = "The report after the edit", body = Object),
        (status = 400, description = "Invalid body or value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn edit_report(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let edit: ReportEdit = parse_body(&body)?;
    let by = actor(&user);
    let r = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.edit_report(id, &edit, &by, Utc::now())?)
    })
    .await?;
    Ok(Json(r).into_response())
}

/// Re-draft the report's facts from the incident's current documents (analyst).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/report/refresh", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The report with refreshed facts", body = Object),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn refresh_report(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let by = actor(&user);
    let r = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.refresh_report(id, &by, Utc::now())?)
    })
    .await?;
    Ok(Json(r).into_response())
}

// ------------------------------------------------------------------ review

/// An incident's review and the evidence to pick from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewResponse {
    /// The review (`null` until started): status, the seven dimensions (applies, finding,
    /// evidence), root causes, participants, departments, external experts, summary,
    /// submitter and approver.
    #[schema(value_type = Object)]
    pub review: Option<Review>,
    /// Attached documents carrying each dimension (`people`, `process`, …), in time order.
    #[schema(value_type = Object)]
    pub evidence_candidates: BTreeMap<String, Vec<DocId>>,
    /// The configured departments.
    pub departments: Vec<String>,
}

/// The incident's review (复盘), if started, with the evidence candidates per dimension.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/review", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The review", body = ReviewResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn get_review(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<ReviewResponse>, ApiError> {
    let id = id_of(&id)?;
    with_workflow(&st, move |wc, s| {
        if s.store.incident(id)?.is_none() {
            return Err(ApiError::NotFound);
        }
        let w = &wc.workflow;
        Ok(Json(ReviewResponse {
            review: w.review(id)?,
            evidence_candidates: w
                .evidence_candidates(id)?
                .into_iter()
                .map(|(d, v)| (d.as_str().to_string(), v))
                .collect(),
            departments: w.departments().to_vec(),
        }))
    })
    .await
}

/// Start the incident's review as a draft, evidence pre-selected from the documents'
/// dimension tags (analyst). An existing review is returned as it is.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/review", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The review", body = Object),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn start_review(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let by = actor(&user);
    let r = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.start_review(id, &by, Utc::now())?)
    })
    .await?;
    Ok(Json(r).into_response())
}

/// Edit a review that is not approved (analyst); every changed field is audited.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}/review", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    request_body(content = Object, description = "ReviewEdit: `dimensions` (list of `{dimension, applies?, finding?, evidence?}`, dimension one of people, process, finance, materials, information, security, culture), `root_causes` (the full list of `{id?, text, dimensions}`; new ones without id), `participants`, `departments` (configured ones), `external_experts`, `summary`; absent fields stay as they are"),
    responses(
        (status = 200, description = "The review after the edit", body = Object),
        (status = 400, description = "Invalid body or value (unknown department, document, root cause)", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No review for this incident", body = ErrorBody),
        (status = 409, description = "The review is approved (read-only until reopened)", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn edit_review(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let edit: ReviewEdit = parse_body(&body)?;
    let by = actor(&user);
    let r = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.edit_review(id, &edit, &by, Utc::now())?)
    })
    .await?;
    Ok(Json(r).into_response())
}

/// Body of the status routes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// The state to move to (its id, e.g. `in_review`, or its Chinese name).
    pub status: String,
}

fn parse_state<S: WorkflowState>(raw: &str) -> Result<S, ApiError> {
    S::parse(raw.trim()).ok_or_else(|| {
        let ids: Vec<&str> = S::all().iter().map(|s| s.as_str()).collect();
        ApiError::BadRequest(format!("status must be one of: {}", ids.join(", ")))
    })
}

/// Change the review's state as its approver or analyst may.
pub(crate) fn set_review_status(
    wc: &WorkflowConsole,
    id: i64,
    to: ReviewStatus,
    user: &Authed,
) -> Result<Review, ApiError> {
    let w = &wc.workflow;
    let cur = w.review(id)?.ok_or(ApiError::NotFound)?;
    if (to == ReviewStatus::Approved || cur.status == ReviewStatus::Approved)
        && !wc.may_approve(user.user.role)
    {
        return Err(ApiError::Forbidden(
            "approving or reopening a review needs the approver role",
        ));
    }
    Ok(w.set_review_status(id, to, &user.user.name, Utc::now())?)
}

/// Move the review: `in_review` (submit), `draft` (return or reopen), `approved` (approver
/// role). Approving and reopening an approved review need the approver role.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/review/status", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The review in its new state (the approver recorded)", body = Object),
        (status = 400, description = "Unknown state", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role not allowed, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No review for this incident", body = ErrorBody),
        (status = 409, description = "Illegal transition (the message names both states and the allowed ones)", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn review_status(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: StatusRequest = parse_body(&body)?;
    let to: ReviewStatus = parse_state(&req.status)?;
    let r = with_workflow(&st, move |wc, _| set_review_status(wc, id, to, &user)).await?;
    Ok(Json(r).into_response())
}

// ------------------------------------------------------------------ measures

/// A measure with where it stands against its deadline.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureView {
    /// The measure: category, description, owner department and person, resources,
    /// deadline, status, root cause, progress updates, on-site checks, times.
    #[schema(value_type = Object)]
    pub measure: Measure,
    /// `on_track`, `due_soon`, `overdue` or `stopped` (done or verified).
    #[schema(value_type = String)]
    pub due: DueState,
}

/// An incident's measures.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasuresResponse {
    /// By id.
    pub measures: Vec<MeasureView>,
}

/// The incident's improvement measures (改进措施) with their deadline states.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/measures", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "Measures", body = MeasuresResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn incident_measures(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<MeasuresResponse>, ApiError> {
    let id = id_of(&id)?;
    with_workflow(&st, move |wc, s| {
        if s.store.incident(id)?.is_none() {
            return Err(ApiError::NotFound);
        }
        let now = Utc::now();
        let w = &wc.workflow;
        let measures = w
            .measures(&MeasureQuery {
                incident_id: Some(id),
                ..Default::default()
            })?
            .into_iter()
            .map(|m| MeasureView {
                due: w.measure_due(&m, now),
                measure: m,
            })
            .collect();
        Ok(Json(MeasuresResponse { measures }))
    })
    .await
}

/// Add a measure (planned) to the incident (analyst).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/measures", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    request_body(content = Object, description = "NewMeasure: `category` (personnel, process, finance, materials, information, security, culture), `description`, `owner_department` (a configured department), `owner`, `resources`?, `deadline` (RFC 3339), `root_cause`? (a root cause id of the review)"),
    responses(
        (status = 201, description = "The new measure", body = Object),
        (status = 400, description = "Invalid body or value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn add_measure(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let new: NewMeasure = parse_body(&body)?;
    let by = actor(&user);
    let m = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.add_measure(id, &new, &by, Utc::now())?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

/// One measure with its deadline state.
#[utoipa::path(get, path = "/api/v1/measures/{id}", tag = "workflow",
    params(("id" = i64, Path, description = "Measure id")),
    responses(
        (status = 200, description = "The measure", body = MeasureView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such measure", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn get_measure(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<MeasureView>, ApiError> {
    let id = id_of(&id)?;
    with_workflow(&st, move |wc, _| {
        let m = wc.workflow.measure(id)?;
        Ok(Json(MeasureView {
            due: wc.workflow.measure_due(&m, Utc::now()),
            measure: m,
        }))
    })
    .await
}

/// Edit a measure that is not verified (analyst).
#[utoipa::path(patch, path = "/api/v1/measures/{id}", tag = "workflow",
    params(("id" = i64, Path, description = "Measure id")),
    request_body(content = Object, description = "MeasureEdit: `category`?, `description`?, `owner_department`?, `owner`?, `resources`?, `deadline`? (RFC 3339), `root_cause`? (`null` clears it)"),
    responses(
        (status = 200, description = "The measure after the edit", body = Object),
        (status = 400, description = "Invalid body or value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such measure", body = ErrorBody),
        (status = 409, description = "The measure is verified (read-only)", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn edit_measure(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let edit: MeasureEdit = parse_body(&body)?;
    let by = actor(&user);
    let m = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.edit_measure(id, &edit, &by, Utc::now())?)
    })
    .await?;
    Ok(Json(m).into_response())
}

/// Move a measure: `in_progress`, `done` (records the evaluation's pivot), `verified`, or
/// back to `in_progress` from done (analyst).
#[utoipa::path(post, path = "/api/v1/measures/{id}/status", tag = "workflow",
    params(("id" = i64, Path, description = "Measure id")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The measure in its new state", body = Object),
        (status = 400, description = "Unknown state", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such measure", body = ErrorBody),
        (status = 409, description = "Illegal transition (the message names both states and the allowed ones)", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn measure_status(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: StatusRequest = parse_body(&body)?;
    let to: MeasureStatus = parse_state(&req.status)?;
    let by = actor(&user);
    let m = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.set_measure_status(id, to, &by, Utc::now())?)
    })
    .await?;
    Ok(Json(m).into_response())
}

/// Body of `POST /api/v1/measures/{id}/progress`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressRequest {
    /// What was done.
    pub text: String,
    /// Completion estimate, 0–100.
    #[serde(default)]
    pub percent: Option<u8>,
}

/// Add a dated progress report (定期汇报) to a measure (analyst).
#[utoipa::path(post, path = "/api/v1/measures/{id}/progress", tag = "workflow",
    params(("id" = i64, Path, description = "Measure id")),
    request_body = ProgressRequest,
    responses(
        (status = 200, description = "The measure with the report", body = Object),
        (status = 400, description = "Invalid body or value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such measure", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn measure_progress(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: ProgressRequest = parse_body(&body)?;
    let by = actor(&user);
    let m = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(
            wc.workflow
                .add_progress(id, &req.text, req.percent, &by, Utc::now())?,
        )
    })
    .await?;
    Ok(Json(m).into_response())
}

/// Body of `POST /api/v1/measures/{id}/check`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// What was found on site.
    pub text: String,
    /// Whether it passed, if judged.
    #[serde(default)]
    pub passed: Option<bool>,
}

/// Add an on-site check note (现场检查) to a measure (analyst).
#[utoipa::path(post, path = "/api/v1/measures/{id}/check", tag = "workflow",
    params(("id" = i64, Path, description = "Measure id")),
    request_body = CheckRequest,
    responses(
        (status = 200, description = "The measure with the check", body = Object),
        (status = 400, description = "Invalid body or value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such measure", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn measure_check(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: CheckRequest = parse_body(&body)?;
    let by = actor(&user);
    let m = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(
            wc.workflow
                .add_check(id, &req.text, req.passed, &by, Utc::now())?,
        )
    })
    .await?;
    Ok(Json(m).into_response())
}

/// Body of the evaluate routes (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// The pivot (RFC 3339; incidents only; default: the latest done time of its measures).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub pivot: Option<DateTime<Utc>>,
    /// Days of each window (default: the configured `evaluation_window_days`).
    #[serde(default)]
    pub window_days: Option<u32>,
}

/// Evaluate a done or verified measure around its done time and store the evaluation
/// (analyst).
#[utoipa::path(post, path = "/api/v1/measures/{id}/evaluate", tag = "workflow",
    params(("id" = i64, Path, description = "Measure id")),
    request_body(content = EvaluateRequest, description = "Optional: `window_days`"),
    responses(
        (status = 201, description = "The stored evaluation: before/after document figures for the entity and the incident's topic (counts, negative rate, mean sentiment, complaints, z-score), case figures, manual inputs", body = Object),
        (status = 400, description = "The measure is not done, or the body is invalid", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such measure", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn evaluate_measure(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: EvaluateRequest = parse_opt_body(&body)?;
    if req.pivot.is_some() {
        return Err(ApiError::BadRequest(
            "a measure is evaluated around its done time: no pivot".into(),
        ));
    }
    let by = actor(&user);
    let e = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(
            wc.workflow
                .evaluate_measure(id, req.window_days, &by, Utc::now())?,
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}

/// The supervision view.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupervisionResponse {
    /// Every measure not yet verified, across incidents: the measure, its incident's title,
    /// `age_days`, `days_left` (negative: overdue), `due`. Overdue first, then by deadline.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<SupervisionItem>,
}

/// The supervision view (督办): every open measure across incidents with its age.
#[utoipa::path(get, path = "/api/v1/supervision", tag = "workflow",
    responses(
        (status = 200, description = "Open measures", body = SupervisionResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn supervision(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
) -> Result<Json<SupervisionResponse>, ApiError> {
    with_workflow(&st, move |wc, _| {
        Ok(Json(SupervisionResponse {
            items: wc.workflow.supervision(Utc::now())?,
        }))
    })
    .await
}

// ------------------------------------------------------------------ evaluations

/// Evaluate an incident around a pivot (default: the latest done time of its measures) and
/// store the evaluation (analyst).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/evaluate", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    request_body(content = EvaluateRequest, description = "Optional: `pivot`, `window_days`"),
    responses(
        (status = 201, description = "The stored evaluation", body = Object),
        (status = 400, description = "No measure is done and no pivot given, or the body is invalid", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn evaluate_incident(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: EvaluateRequest = parse_opt_body(&body)?;
    let by = actor(&user);
    let e = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.evaluate_incident(
            id,
            req.pivot,
            req.window_days,
            &by,
            Utc::now(),
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}

/// An incident's evaluations.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationsResponse {
    /// Stored evaluations of the incident and its measures, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub evaluations: Vec<Evaluation>,
}

/// The incident's stored effect evaluations (效果评估), oldest first.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/evaluations", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "Evaluations", body = EvaluationsResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn incident_evaluations(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<EvaluationsResponse>, ApiError> {
    let id = id_of(&id)?;
    with_workflow(&st, move |wc, s| {
        if s.store.incident(id)?.is_none() {
            return Err(ApiError::NotFound);
        }
        Ok(Json(EvaluationsResponse {
            evaluations: wc.workflow.evaluations(Some(id), None)?,
        }))
    })
    .await
}

/// One stored evaluation.
#[utoipa::path(get, path = "/api/v1/evaluations/{id}", tag = "workflow",
    params(("id" = i64, Path, description = "Evaluation id")),
    responses(
        (status = 200, description = "The evaluation", body = Object),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such evaluation", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn get_evaluation(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let e = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.evaluation(id)?)
    })
    .await?;
    Ok(Json(e).into_response())
}

/// Replace an evaluation's hand-entered inputs (analyst): satisfaction surveys, business
/// indicators, a note.
#[utoipa::path(put, path = "/api/v1/evaluations/{id}/manual", tag = "workflow",
    params(("id" = i64, Path, description = "Evaluation id")),
    request_body(content = Object, description = "ManualInputs: `surveys` (list of `{name, unit, before?, after?, respondents_before?, respondents_after?}`), `indicators` (list of `{name, unit, before?, after?, note}`), `note`"),
    responses(
        (status = 200, description = "The evaluation with the inputs", body = Object),
        (status = 400, description = "Invalid body", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such evaluation", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn set_manual(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let manual: ManualInputs = parse_body(&body)?;
    let by = actor(&user);
    let e = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(
            wc.workflow
                .set_manual_inputs(id, &manual, &by, Utc::now())?,
        )
    })
    .await?;
    Ok(Json(e).into_response())
}

/// An incident's conclusion.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConclusionResponse {
    /// The conclusion (`null` until concluded): text, the evaluation it cites, when, who.
    #[schema(value_type = Object)]
    pub conclusion: Option<Conclusion>,
}

/// The incident's conclusion (结论), if concluded.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/conclusion", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The conclusion", body = ConclusionResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn get_conclusion(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<ConclusionResponse>, ApiError> {
    let id = id_of(&id)?;
    with_workflow(&st, move |wc, s| {
        if s.store.incident(id)?.is_none() {
            return Err(ApiError::NotFound);
        }
        Ok(Json(ConclusionResponse {
            conclusion: wc.workflow.conclusion(id)?,
        }))
    })
    .await
}

/// Body of `POST /api/v1/incidents/{id}/conclusion`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcludeRequest {
    /// The conclusion in words.
    pub text: String,
    /// The evaluation it cites (one of the incident's).
    #[serde(default)]
    pub evaluation_id: Option<i64>,
}

/// Close the incident's workflow with a conclusion citing one of its evaluations (analyst);
/// refused while a measure is still planned or in progress.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/conclusion", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    request_body = ConcludeRequest,
    responses(
        (status = 200, description = "The conclusion", body = Object),
        (status = 400, description = "Empty text, foreign evaluation, or open measures", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such incident or evaluation", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn conclude(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: ConcludeRequest = parse_body(&body)?;
    let by = actor(&user);
    let c = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.conclude(
            id,
            &req.text,
            req.evaluation_id,
            &by,
            Utc::now(),
        )?)
    })
    .await?;
    Ok(Json(c).into_response())
}

/// An audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditResponse {
    /// Entries, oldest first: object, id, when, who, action, field, old → new.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<AuditEntry>,
}

/// The incident's workflow audit trail: every change to its report, review, measures,
/// linked cases, evaluations and conclusion, oldest first.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/audit", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "Audit entries", body = AuditResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn incident_audit(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<AuditResponse>, ApiError> {
    let id = id_of(&id)?;
    with_workflow(&st, move |wc, s| {
        if s.store.incident(id)?.is_none() {
            return Err(ApiError::NotFound);
        }
        Ok(Json(AuditResponse {
            entries: wc.workflow.incident_audit(id)?,
        }))
    })
    .await
}

// ------------------------------------------------------------------ cases

/// Query of `GET /api/v1/cases`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CasesParams {
    /// States, comma-separated (`accepted`, `analyzing`, `handling`, `answered`, `closed`),
    /// or `open` for the first three; all when absent.
    pub status: Option<String>,
    /// `true`: only open cases past their deadline.
    pub overdue: Option<String>,
    /// Only cases linked to this incident.
    pub incident: Option<String>,
    /// Only cases about this entity.
    pub entity: Option<String>,
    /// Only cases assigned to this person.
    pub assignee: Option<String>,
    /// Most cases (1–1000, default 200), newest first.
    pub limit: Option<String>,
}

fn flag(v: Option<&str>) -> bool {
    matches!(
        v.map(str::trim),
        Some("1" | "true" | "yes" | "on" | "overdue")
    )
}

/// The case query of a listing's parameters at `now`; `None` when no case can match.
pub(crate) fn case_query(
    p: &CasesParams,
    now: DateTime<Utc>,
) -> Result<Option<CaseQuery>, ApiError> {
    let mut statuses: Vec<CaseStatus> = Vec::new();
    for s in p
        .status
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if s == "open" {
            statuses.extend(CaseStatus::all().iter().filter(|c| c.is_open()));
        } else {
            statuses.push(parse_state(s)?);
        }
    }
    let overdue = flag(p.overdue.as_deref());
    if overdue {
        let open: Vec<CaseStatus> = CaseStatus::all()
            .iter()
            .copied()
            .filter(|c| c.is_open())
            .collect();
        statuses = if statuses.is_empty() {
            open
        } else {
            statuses.into_iter().filter(|s| open.contains(s)).collect()
        };
        if statuses.is_empty() {
            // Only answered or closed cases, and only open ones: none.
            return Ok(None);
        }
    }
    let incident_id = match p
        .incident
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => Some(
            s.parse::<i64>()
                .map_err(|_| ApiError::BadRequest("incident must be a number".into()))?,
        ),
    };
    let limit = match p.limit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => DEFAULT_CASES,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_CASES).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("limit must be a number from 1 to {MAX_CASES}"))
            })?,
    };
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(Some(CaseQuery {
        statuses,
        incident_id,
        entity_id: text(&p.entity),
        assignee: text(&p.assignee),
        due_before: overdue.then_some(now),
        limit,
        ..Default::default()
    }))
}

/// A case with its deadline clock.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    /// The case: status, title, content, entity, channel, source, complainant, incident,
    /// assignee, notes, reply, acceptance, deadline, extensions.
    #[schema(value_type = Object)]
    pub case: Case,
    /// Its clock now: `due`, `elapsed_hours`, `hours_left` (`null` once answered), `overdue`.
    #[schema(value_type = Object)]
    pub clock: CaseClock,
}

/// A list of cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasesResponse {
    /// Newest first.
    pub cases: Vec<CaseView>,
}

/// Complaint cases (客户反馈处理), newest first, filtered by state, overdue, incident, entity,
/// assignee.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CasesParams),
    responses(
        (status = 200, description = "Cases", body = CasesResponse),
        (status = 400, description = "Invalid filter", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn list_cases(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Query(p): Query<CasesParams>,
) -> Result<Json<CasesResponse>, ApiError> {
    let now = Utc::now();
    let q = case_query(&p, now)?;
    with_workflow(&st, move |wc, _| {
        let w = &wc.workflow;
        let cases = match &q {
            Some(q) => w.cases(q)?,
            None => Vec::new(),
        };
        Ok(Json(CasesResponse {
            cases: cases
                .into_iter()
                .map(|c| CaseView {
                    clock: w.case_clock(&c, now),
                    case: c,
                })
                .collect(),
        }))
    })
    .await
}

/// Open a case by hand (analyst): hotline, walk-in, e-mail. 受理 now unless `accepted_at`.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases",
    request_body(content = Object, description = "NewCase: `title`, `content`?, `entity_id`?, `channel`? (default inbound), `url`?, `complainant`?, `assignee`?, `incident_id`?, `accepted_at`? (RFC 3339)"),
    responses(
        (status = 201, description = "The new case", body = Object),
        (status = 400, description = "Invalid body or value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "The incident named does not exist", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn open_case(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let new: NewCase = parse_body(&body)?;
    let by = actor(&user);
    let c = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.open_case(&new, &by, Utc::now())?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// One case with its clock and audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    /// The case.
    #[schema(value_type = Object)]
    pub case: Case,
    /// Its clock now.
    #[schema(value_type = Object)]
    pub clock: CaseClock,
    /// Every change, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub audit: Vec<AuditEntry>,
}

/// One case with its deadline clock and audit trail.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn get_case(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<CaseDetail>, ApiError> {
    let id = id_of(&id)?;
    with_workflow(&st, move |wc, _| {
        let w = &wc.workflow;
        let case = w.case(id)?;
        Ok(Json(CaseDetail {
            clock: w.case_clock(&case, Utc::now()),
            audit: w.audit(yuqing_workflow::WorkflowObject::Case, id)?,
            case,
        }))
    })
    .await
}

/// Edit a case that is not closed (analyst).
#[utoipa::path(patch, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    request_body(content = Object, description = "CaseEdit: `title`?, `content`?, `assignee`?, `complainant`?, `incident_id`? (`null` clears an optional field)"),
    responses(
        (status = 200, description = "The case after the edit", body = Object),
        (status = 400, description = "Invalid body or value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such case or incident", body = ErrorBody),
        (status = 409, description = "The case is closed", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn edit_case(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let edit: CaseEdit = parse_body(&body)?;
    let by = actor(&user);
    let c = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.edit_case(id, &edit, &by, Utc::now())?)
    })
    .await?;
    Ok(Json(c).into_response())
}

/// Body of `POST /api/v1/cases/{id}/note`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note.
    pub text: String,
}

/// Add a note to a case (analyst).
#[utoipa::path(post, path = "/api/v1/cases/{id}/note", tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "The case with the note", body = Object),
        (status = 400, description = "Invalid body or empty note", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn case_note(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: NoteRequest = parse_body(&body)?;
    let by = actor(&user);
    let c = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.add_case_note(id, &req.text, &by, Utc::now())?)
    })
    .await?;
    Ok(Json(c).into_response())
}

/// Body of the reply and answer routes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// The reply to the customer.
    pub text: String,
    /// How it is given: 电话, 平台回复, 短信, 邮件 ….
    pub channel: String,
}

/// Write (or rewrite) the reply to the customer without changing the state (analyst).
#[utoipa::path(post, path = "/api/v1/cases/{id}/reply", tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    request_body = ReplyRequest,
    responses(
        (status = 200, description = "The case with the reply", body = Object),
        (status = 400, description = "Invalid body or empty reply", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "The case is closed", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn case_reply(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: ReplyRequest = parse_body(&body)?;
    let by = actor(&user);
    let c = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.set_case_reply(
            id,
            &req.text,
            &req.channel,
            &by,
            Utc::now(),
        )?)
    })
    .await?;
    Ok(Json(c).into_response())
}

/// Write the reply and answer the case (处理 → 答复) in one change; the clock stops
/// (analyst).
#[utoipa::path(post, path = "/api/v1/cases/{id}/answer", tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    request_body = ReplyRequest,
    responses(
        (status = 200, description = "The answered case", body = Object),
        (status = 400, description = "Invalid body or empty reply", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "Not in 处理 (handling): illegal transition", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn case_answer(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: ReplyRequest = parse_body(&body)?;
    let by = actor(&user);
    let c = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(
            wc.workflow
                .answer_case(id, &req.text, &req.channel, &by, Utc::now())?,
        )
    })
    .await?;
    Ok(Json(c).into_response())
}

/// Body of `POST /api/v1/cases/{id}/extend`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendRequest {
    /// The new deadline (RFC 3339), later than the current one.
    #[schema(value_type = String)]
    pub deadline: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

/// Extend an open case's deadline with a reason (analyst).
#[utoipa::path(post, path = "/api/v1/cases/{id}/extend", tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    request_body = ExtendRequest,
    responses(
        (status = 200, description = "The case with the new deadline", body = Object),
        (status = 400, description = "Invalid body, empty reason, or not later", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "The case is answered or closed", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn case_extend(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: ExtendRequest = parse_body(&body)?;
    let by = actor(&user);
    let c = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.extend_case_deadline(
            id,
            req.deadline,
            &req.reason,
            &by,
            Utc::now(),
        )?)
    })
    .await?;
    Ok(Json(c).into_response())
}

/// Move a case: 受理 `accepted` → 分析 `analyzing` → 处理 `handling` → 答复 `answered` (needs
/// a reply) → 关闭 `closed`; 答复 → 处理 when the customer does not accept (analyst).
#[utoipa::path(post, path = "/api/v1/cases/{id}/status", tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The case in its new state", body = Object),
        (status = 400, description = "Unknown state, or answering without a reply", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "Illegal transition (the message names both states and the allowed ones)", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn case_status(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    guard(&user, &headers, Role::Analyst)?;
    let id = id_of(&id)?;
    let req: StatusRequest = parse_body(&body)?;
    let to: CaseStatus = parse_state(&req.status)?;
    let by = actor(&user);
    let c = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.set_case_status(id, to, &by, Utc::now())?)
    })
    .await?;
    Ok(Json(c).into_response())
}

// ------------------------------------------------------------------ briefings and reports

/// Query of the briefing and full-report routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (default) or `markdown`.
    pub format: Option<String>,
    /// Briefings only: the end of the period (RFC 3339; default now).
    pub to: Option<String>,
}

/// Whether the caller asked for Markdown.
fn markdown(format: Option<&str>) -> Result<bool, ApiError> {
    match format.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("json") => Ok(false),
        Some("markdown" | "md") => Ok(true),
        Some(_) => Err(ApiError::BadRequest(
            "format must be `json` or `markdown`".into(),
        )),
    }
}

/// A Markdown document, as a download named `file`.
pub(crate) fn markdown_response(text: String, file: &str) -> Response {
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/markdown; charset=utf-8"),
        )],
        text,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Parse a briefing kind.
pub(crate) fn briefing_kind(raw: &str) -> Result<BriefingKind, ApiError> {
    BriefingKind::parse(raw.trim())
        .ok_or_else(|| ApiError::BadRequest("kind must be `daily` or `weekly`".into()))
}

/// The daily (24 hours) or weekly (7 days) briefing ending at `to` (default now): volume and
/// negative share, top negative documents, new and open incidents, overdue measures and
/// cases. JSON, or Markdown with `format=markdown`.
#[utoipa::path(get, path = "/api/v1/briefings/{kind}", tag = "workflow",
    params(("kind" = String, Path, description = "`daily` or `weekly`"), ExportParams),
    responses(
        (status = 200, description = "The briefing", content(
            (Object = "application/json"),
            (String = "text/markdown"),
        )),
        (status = 400, description = "Unknown kind, format or time", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn briefing(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(kind): Path<String>,
    Query(p): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let kind = briefing_kind(&kind)?;
    let md = markdown(p.format.as_deref())?;
    let now = Utc::now();
    let to = match p.to.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => now,
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map_err(|_| ApiError::BadRequest("to must be an RFC 3339 time".into()))?
            .with_timezone(&Utc),
    };
    let tz = st.inner().settings.timezone;
    let b = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.briefing(kind, to, now)?)
    })
    .await?;
    Ok(if md {
        let file = format!(
            "briefing-{}-{}.md",
            kind.as_str(),
            to.with_timezone(&tz).format("%Y%m%d")
        );
        markdown_response(yuqing_workflow::render_briefing_markdown(&b, tz), &file)
    } else {
        Json(b).into_response()
    })
}

/// Everything about an incident: event report, review, measures, evaluations, cases,
/// conclusion. JSON, or Markdown with `format=markdown` (the printable report).
#[utoipa::path(get, path = "/api/v1/incidents/{id}/full-report", tag = "workflow",
    params(("id" = i64, Path, description = "Incident id"), ExportParams),
    responses(
        (status = 200, description = "The full report", content(
            (Object = "application/json"),
            (String = "text/markdown"),
        )),
        (status = 400, description = "Unknown format", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 503, description = "The workflow is not enabled", body = ErrorBody),
    ))]
async fn full_report(
    State(st): State<AppState>,
    ApiUser(_u): ApiUser,
    Path(id): Path<String>,
    Query(p): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let md = markdown(p.format.as_deref())?;
    let tz = st.inner().settings.timezone;
    let r = with_workflow(&st, move |wc, _| {
        Ok::<_, ApiError>(wc.workflow.full_report(id, Utc::now())?)
    })
    .await?;
    Ok(if md {
        markdown_response(
            yuqing_workflow::render_full_report_markdown(&r, tz),
            &format!("incident-{id}-report.md"),
        )
    } else {
        Json(r).into_response()
    })
}
