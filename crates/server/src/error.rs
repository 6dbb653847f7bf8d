//! One error type for the JSON API; internals are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// What an API handler can fail with. Each variant maps to one status code; the body is
/// `{"error": "<code>", "message": "<safe text>"}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (the message is safe to show: it describes the input).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid session or token.
    #[error("authentication required")]
    Unauthorized,
    /// 403: authenticated, but the role does not allow it, or the CSRF token is missing.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 404: nothing with that id.
    #[error("not found")]
    NotFound,
    /// 409: the state does not allow it (e.g. acknowledging a resolved incident).
    #[error("{0}")]
    Conflict(String),
    /// 429: too many attempts.
    #[error("too many attempts; try again later")]
    TooManyRequests,
    /// 503: the index or store is not usable right now.
    #[error("service unavailable")]
    Unavailable,
    /// 500: anything else; the cause is logged, the client sees a generic message.
    #[error("internal error")]
    Internal(String),
}

/// The JSON body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `too_many_requests`, `unavailable`, `internal`.
    pub error: &'static str,
    /// Human-readable message; never contains internal details.
    pub message: String,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooManyRequests => "too_many_requests",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// An internal failure: logged here with its cause, shown as "internal error".
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

impl From<yuqing_store::StoreError> for ApiError {
    fn from(e: yuqing_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<yuqing_index::IndexError> for ApiError {
    fn from(e: yuqing_index::IndexError) -> Self {
        match e {
            // The parser's message describes the query the user typed: safe and useful.
            yuqing_index::IndexError::Query(m) => {
                ApiError::BadRequest(format!("invalid query: {m}"))
            }
            e => ApiError::internal(e),
        }
    }
}

impl From<crate::users::UserError> for ApiError {
    fn from(e: crate::users::UserError) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(cause = %cause, "api request failed");
        }
        let status = self.status();
        let mut res = (
            status,
            Json(ErrorBody {
                error: self.code(),
                message: self.to_string(),
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"yuqing\""),
            );
        }
        res
    }
}
