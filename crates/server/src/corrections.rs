//! Analysts' corrections of a document's analysis, from the document page's form and from
//! `POST /api/v1/documents/{id}/correction`.
//!
//! Contract: a correction is validated (a known label, false mentions among the document's
//! mentioned entities, a note of at most [`MAX_NOTE_CHARS`] characters without control
//! characters), then the correction and the corrected stored document are written in one
//! store transaction ([`Store::correct`](yuqing_store::Store::correct)). The console never
//! takes the index writer: the daemon's writer re-indexes corrected documents within seconds
//! (and every corrected document when it starts). Analysts and admins correct; viewers read.

use axum::Form;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yuqing_model::{Correction, DocId, Document, SentimentLabel};

use crate::auth::{ApiUser, PageUser, see_other};
use crate::error::ErrorBody;
use crate::pages::error_page;
use crate::{ApiError, AppState, Inner, Role, blocking};

/// Header carrying the session's CSRF token on API writes made with a cookie.
const CSRF_HEADER: &str = "x-csrf-token";

/// Most characters of a correction's note.
pub const MAX_NOTE_CHARS: usize = 500;

/// Body of `POST /api/v1/documents/{id}/correction`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CorrectionRequest {
    /// The right document-level label: `negative`, `neutral` or `positive` (omit to keep).
    #[serde(default)]
    pub label: Option<String>,
    /// Entity ids whose mentions in this document are false (they accumulate).
    #[serde(default)]
    pub false_mentions: Vec<String>,
    /// Why, in the analyst's words.
    #[serde(default)]
    pub note: Option<String>,
}

/// The stored correction and the corrected document.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionResponse {
    /// The correction as stored (merged with any earlier one).
    #[schema(value_type = Object)]
    pub correction: Correction,
    /// The document with the correction applied.
    #[schema(value_type = Object)]
    pub document: Document,
}

/// A validated correction request.
#[derive(Debug, PartialEq)]
pub struct Checked {
    label: Option<SentimentLabel>,
    false_mentions: Vec<String>,
    note: Option<String>,
}

/// Validate a request (without the store: which entities are mentioned is checked later).
pub fn check(req: &CorrectionRequest) -> Result<Checked, ApiError> {
    let label = match req.label.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(l) => Some(SentimentLabel::parse(l).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "label: expected negative, neutral or positive, got {l:?}"
            ))
        })?),
    };
    let mut false_mentions = Vec::new();
    for e in &req.false_mentions {
        let e = e.trim();
        if !e.is_empty() && !false_mentions.iter().any(|x: &String| x == e) {
            false_mentions.push(e.to_string());
        }
    }
    if label.is_none() && false_mentions.is_empty() {
        return Err(ApiError::BadRequest(
            "nothing to correct: give a label and/or false mentions".into(),
        ));
    }
    let note = req
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    if let Some(n) = &note {
        if n.chars().count() > MAX_NOTE_CHARS {
            return Err(ApiError::BadRequest(format!(
                "note: at most {MAX_NOTE_CHARS} characters"
            )));
        }
        if n.chars().any(|c| c.is_control() && c != '\n') {
            return Err(ApiError::BadRequest(
                "note: control characters are not allowed".into(),
            ));
        }
    }
    Ok(Checked {
        label,
        false_mentions,
        note,
    })
}

/// Store the correction of `id` by `by` (blocking).
pub(crate) fn correct(
    s: &Inner,
    id: &str,
    c: Checked,
    by: &str,
) -> Result<(Correction, Document), ApiError> {
    let id = DocId(id.to_string());
    let doc = s.store.document(&id)?.ok_or(ApiError::NotFound)?;
    let earlier = s.store.correction(&id)?;
    let mentioned = doc.analysis.entity_ids();
    for e in &c.false_mentions {
        let corrected_before = earlier
            .as_ref()
            .is_some_and(|x| x.false_mentions.contains(e));
        if !mentioned.contains(e) && !corrected_before {
            return Err(ApiError::BadRequest(format!(
                "false_mentions: {e:?} is not mentioned in this document"
            )));
        }
    }
    s.store
        .correct(
            &id,
            |earlier| {
                Correction::merged(
                    earlier,
                    id.clone(),
                    c.label,
                    &c.false_mentions,
                    by,
                    c.note.clone(),
                    Utc::now(),
                )
            },
            yuqing_text::apply_correction,
        )?
        .ok_or(ApiError::NotFound)
}

/// Correct a document's label or false mentions (analyst or admin). With a session cookie
/// instead of a bearer token, the session's CSRF token must be sent in `X-CSRF-Token`.
#[utoipa::path(post, path = "/api/v1/documents/{id}/correction", tag = "documents",
    params(("id" = String, Path, description = "Document id")),
    request_body = CorrectionRequest,
    responses(
        (status = 200, description = "Stored; the index shows it within seconds", body = CorrectionResponse),
        (status = 400, description = "Invalid correction", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below analyst, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such document", body = ErrorBody),
    ))]
pub(crate) async fn correct_api(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(req): Json<CorrectionRequest>,
) -> Result<Json<CorrectionResponse>, ApiError> {
    user.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
    user.require(Role::Analyst)?;
    let c = check(&req)?;
    let by = user.user.name.clone();
    let (correction, document) = blocking(&st, move |s| correct(s, &id, c, &by)).await?;
    Ok(Json(CorrectionResponse {
        correction,
        document,
    }))
}

/// The document page's correction form.
#[derive(Debug, Deserialize)]
pub struct CorrectionForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: Option<String>,
    /// `negative` / `neutral` / `positive`, or empty to keep.
    #[serde(default)]
    pub label: Option<String>,
    /// One entity id whose mention is false (the form offers a select), or empty.
    #[serde(default)]
    pub false_mention: Option<String>,
    /// Why.
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /documents/{id}/correct` (analyst or admin, CSRF token required).
pub async fn correct_page(
    State(st): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<CorrectionForm>,
) -> Response {
    if let Err(e) = a
        .check_csrf(f.csrf.as_deref())
        .and_then(|()| a.require(Role::Analyst))
    {
        return error_page(&e);
    }
    let req = CorrectionRequest {
        label: f.label,
        false_mentions: f.false_mention.into_iter().collect(),
        note: f.note,
    };
    let c = match check(&req) {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let by = a.user.name.clone();
    let target = format!("/documents/{}", crate::auth::encode_component(&id));
    match blocking(&st, move |s| correct(s, &id, c, &by)).await {
        Ok(_) => see_other(&format!("{target}?corrected=1")),
        Err(e) => error_page(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(label: Option<&str>, fm: &[&str], note: Option<&str>) -> CorrectionRequest {
        CorrectionRequest {
            label: label.map(str::to_string),
            false_mentions: fm.iter().map(|s| s.to_string()).collect(),
            note: note.map(str::to_string),
        }
    }

    #[test]
    fn a_correction_needs_a_label_or_a_false_mention() {
        assert!(matches!(
            check(&req(None, &[], Some("x"))),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            check(&req(Some("  "), &[" "], None)),
            Err(ApiError::BadRequest(_))
        ));
        let c = check(&req(Some("negative"), &[], None)).unwrap();
        assert_eq!(c.label, Some(SentimentLabel::Negative));
    }

    #[test]
    fn unknown_labels_long_notes_and_control_characters_are_refused() {
        assert!(check(&req(Some("bad"), &[], None)).is_err());
        let long = "很".repeat(MAX_NOTE_CHARS + 1);
        assert!(check(&req(Some("neutral"), &[], Some(&long))).is_err());
        assert!(check(&req(Some("neutral"), &[], Some("a\u{7}b"))).is_err());
        let ok = check(&req(None, &["hengxin", "hengxin", ""], Some(" 同名 "))).unwrap();
        assert_eq!(ok.false_mentions, vec!["hengxin".to_string()]);
        assert_eq!(ok.note.as_deref(), Some("同名"));
    }
}
