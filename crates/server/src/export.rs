//! `GET /api/v1/export`: every document a query matches, streamed as CSV (UTF-8 with a BOM,
//! so Excel opens Chinese text right) or JSON (lines or one array).
//!
//! Contract: the export reads one snapshot of the index in batches on a blocking thread and
//! writes through a bounded in-memory pipe into the response body, so memory stays flat
//! whatever the number of rows and a slow client slows the reader down instead of filling
//! memory. The query is parsed before the response starts: a bad query answers 400. A failure
//! after the first byte can only end the stream early; it is logged.

use std::io::Write;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use tokio_util::io::{ReaderStream, SyncIoBridge};
use utoipa::IntoParams;
use yuqing_index::{CsvWriter, ExportOptions, JsonFormat, JsonWriter};

use crate::auth::ApiUser;
use crate::error::ErrorBody;
use crate::{ApiError, AppState};

/// Size of the pipe between the index reader and the response.
const PIPE_BYTES: usize = 64 * 1024;

/// Query of `GET /api/v1/export`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// The query, as for `/api/v1/search` (empty: everything).
    pub q: Option<String>,
    /// `csv` (default), `jsonl` (one object per line) or `json` (one array).
    pub format: Option<String>,
    /// `oldest` for oldest first; default newest first.
    pub order: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Csv,
    Json(JsonFormat),
}

fn format(v: Option<&str>) -> Result<Format, ApiError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("csv") => Ok(Format::Csv),
        Some("jsonl") | Some("ndjson") => Ok(Format::Json(JsonFormat::Lines)),
        Some("json") => Ok(Format::Json(JsonFormat::Array)),
        Some(_) => Err(ApiError::BadRequest(
            "format must be csv, jsonl or json".into(),
        )),
    }
}

/// Export every matching document (newest first), streamed.
#[utoipa::path(get, path = "/api/v1/export", tag = "search", params(ExportParams),
    responses(
        (status = 200, description = "CSV (text/csv, UTF-8 with BOM) or JSON, streamed", content_type = "text/csv"),
        (status = 400, description = "Bad query or format", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub(crate) async fn export(
    State(st): State<AppState>,
    ApiUser(_user): ApiUser,
    Query(p): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let fmt = format(p.format.as_deref())?;
    let tz = st.inner().settings.timezone;
    let opts = ExportOptions {
        oldest_first: match p.order.as_deref().map(str::trim) {
            None | Some("") | Some("newest") => false,
            Some("oldest") => true,
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "order must be newest or oldest".into(),
                ));
            }
        },
        timezone: tz,
        ..ExportOptions::default()
    };
    let q = p.q.unwrap_or_default();
    // Parse and snapshot before answering, so a bad query is a 400, not a broken download.
    let rows = crate::blocking(&st, move |s| Ok(s.index.export(&q, &opts)?)).await?;
    let total = rows.total();
    let (reader, writer) = tokio::io::duplex(PIPE_BYTES);
    let mut sink = std::io::BufWriter::with_capacity(16 * 1024, SyncIoBridge::new(writer));
    tokio::task::spawn_blocking(move || {
        let written = (|| -> std::io::Result<u64> {
            match fmt {
                Format::Csv => {
                    let mut w = CsvWriter::new(&mut sink, tz)?;
                    for h in rows {
                        w.write_hit(&h.map_err(std::io::Error::other)?)?;
                    }
                    let n = w.rows();
                    w.finish()?;
                    Ok(n)
                }
                Format::Json(f) => {
                    let mut w = JsonWriter::new(&mut sink, f, tz)?;
                    for h in rows {
                        w.write_hit(&h.map_err(std::io::Error::other)?)?;
                    }
                    let n = w.rows();
                    w.finish()?;
                    Ok(n)
                }
            }
        })()
        .and_then(|n| sink.flush().map(|()| n));
        match written {
            Ok(n) => tracing::info!(rows = n, "export finished"),
            // A client that goes away ends the export: nothing else to do.
            Err(e) => tracing::warn!(error = %e, "export ended early"),
        }
    });
    let (ctype, ext) = match fmt {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json(JsonFormat::Lines) => ("application/x-ndjson", "jsonl"),
        Format::Json(JsonFormat::Array) => ("application/json", "json"),
    };
    let name = format!(
        "yuqing-export-{}.{ext}",
        Utc::now().with_timezone(&tz).format("%Y%m%d-%H%M%S")
    );
    let mut res = Body::from_stream(ReaderStream::new(reader)).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        h.insert("x-total-count", v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_unknown_ones_are_refused() {
        assert_eq!(format(None).unwrap(), Format::Csv);
        assert_eq!(
            format(Some("jsonl")).unwrap(),
            Format::Json(JsonFormat::Lines)
        );
        assert_eq!(
            format(Some("json")).unwrap(),
            Format::Json(JsonFormat::Array)
        );
        assert!(format(Some("xlsx")).is_err());
    }
}
