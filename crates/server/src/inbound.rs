//! `POST /api/v1/inbound/{source}` (the source id may contain `/`, e.g.
//! `/api/v1/inbound/inbound/callcenter`): customer feedback pushed by a call-centre or app backend
//! into an `inbound` source (see `yuqing_connectors::inbound`).
//!
//! Contract:
//! * authentication is a bearer token only (no session cookie, so no CSRF surface): the
//!   source's own `params.token` (compared by SHA-256 in constant time with the hash the
//!   daemon registered), or a console API token (`yuqing user token NAME`) of an analyst or
//!   admin. No token: 401; a viewer's token: 403; a source that is not a registered inbound
//!   source: 404 (after authentication, so source names cannot be probed);
//! * the body is one record, an array of records, or `{"records": [...]}`, at most
//!   [`MAX_RECORDS`] records and [`MAX_BODY_BYTES`] bytes. Each record is validated on its own
//!   (`yuqing_store::connectors::InboundRecord`); a bad record never drops the good ones;
//! * accepted records are committed to the store's durable inbound queue before the answer:
//!   202 `{"accepted": n, "rejected": [{"index": i, "reason": "…"}]}` means they are on disk
//!   and the daemon will index them (at its next drain of the source). When every record is
//!   rejected the answer is 422 with the same body;
//! * record text is never logged.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use yuqing_model::SourceId;
use yuqing_store::connectors::InboundRecord;

use crate::auth::{Credential, authenticate};
use crate::users::{constant_time_eq, token_hash};
use crate::{ApiError, AppState, Role};

/// Most records in one request.
pub const MAX_RECORDS: usize = 1000;
/// Largest request body.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The route, ready to merge into the application: `.merge(inbound::router())`.
pub fn router() -> Router<AppState> {
    Router::new()
        // Source ids are paths (`inbound/callcenter`): the rest of the URL path is the id.
        .route("/api/v1/inbound/{*source}", post(push))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// One rejected record.
#[derive(Debug, Serialize)]
pub struct Rejected {
    /// Position in the request (0-based).
    pub index: usize,
    /// Why, naming the field.
    pub reason: String,
}

/// The answer to a push.
#[derive(Debug, Serialize)]
pub struct PushReport {
    /// Records durably queued.
    pub accepted: usize,
    /// Records refused, with the reason.
    pub rejected: Vec<Rejected>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

async fn store_call<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&yuqing_store::Store) -> Result<T, yuqing_store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = st.inner().store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)
}

/// The records of a request body, or why the body as a whole is unusable.
fn records_of(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let list = match v {
        Value::Array(a) => a,
        Value::Object(mut o) if o.contains_key("records") => match o.remove("records") {
            Some(Value::Array(a)) => a,
            _ => return Err(ApiError::BadRequest("`records` must be an array".into())),
        },
        one @ Value::Object(_) => vec![one],
        _ => {
            return Err(ApiError::BadRequest(
                "send a record object, an array of records or {\"records\": [...]}".into(),
            ));
        }
    };
    if list.is_empty() {
        return Err(ApiError::BadRequest("no records".into()));
    }
    if list.len() > MAX_RECORDS {
        return Err(ApiError::BadRequest(format!(
            "{} records: at most {MAX_RECORDS} per request",
            list.len()
        )));
    }
    Ok(list)
}

/// `POST /api/v1/inbound/{source}`.
pub async fn push(
    State(st): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(token) = bearer(&headers).map(str::to_string) else {
        return Err(ApiError::Unauthorized);
    };
    let id = SourceId(source);
    let sid = id.clone();
    let registered = store_call(&st, move |s| s.inbound_source(&sid)).await?;
    let by_source_token = matches!(&registered,
        Some(Some(hash)) if constant_time_eq(token_hash(&token).as_bytes(), hash.as_bytes()));
    if !by_source_token {
        // Only a bearer header reaches here, so `authenticate` checks the API token.
        match authenticate(&headers, &st).await? {
            Some(a) if matches!(a.credential, Credential::Bearer) => a.require(Role::Analyst)?,
            _ => return Err(ApiError::Unauthorized),
        }
    }
    if registered.is_none() {
        return Err(ApiError::NotFound);
    }
    let now = Utc::now();
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for (index, v) in records_of(&body)?.iter().enumerate() {
        match InboundRecord::from_json(v, now) {
            Ok(r) => accepted.push(r),
            Err(reason) => rejected.push(Rejected { index, reason }),
        }
    }
    let n = accepted.len();
    if n > 0 {
        let sid = id.clone();
        store_call(&st, move |s| s.enqueue_inbound(&sid, &accepted, now)).await?;
    }
    tracing::info!(source = %id, accepted = n, rejected = rejected.len(), "inbound records pushed");
    let status = if n > 0 {
        StatusCode::ACCEPTED
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        Json(PushReport {
            accepted: n,
            rejected,
        }),
    )
        .into_response())
}
