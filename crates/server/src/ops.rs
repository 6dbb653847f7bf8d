//! Probes and metrics.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use yuqing_model::{IncidentStatus, SourceHealth};
use yuqing_store::OutboxStatus;

use crate::error::ApiError;
use crate::{AppState, blocking};

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the index and the store answer a query; 503 with the reason otherwise.
pub async fn readyz(State(st): State<AppState>) -> Response {
    let r = blocking(&st, |s| {
        s.store
            .document_count()
            .map_err(|e| ApiError::Internal(format!("store: {e}")))?;
        s.index
            .reload()
            .map_err(|e| ApiError::Internal(format!("index: {e}")))?;
        Ok(())
    })
    .await;
    match r {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            // Only operators read this; the reason names the failing part, not a path.
            let reason = match &e {
                ApiError::Internal(m) if m.starts_with("store") => "store unavailable",
                ApiError::Internal(m) if m.starts_with("index") => "index unavailable",
                _ => "not ready",
            };
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response()
        }
    }
}

/// Counts gathered from the store and index at scrape time.
struct Snapshot {
    indexed: u64,
    stored: u64,
    sources: Vec<(SourceHealth, usize)>,
    incidents: Vec<(IncidentStatus, usize)>,
    outbox: Vec<(OutboxStatus, usize)>,
    /// `yuqing_connector_*` families, rendered.
    connectors: String,
}

/// Prometheus text format. Requires authentication unless `metrics_public` is set.
pub async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if !st.inner().settings.metrics_public
        && crate::auth::authenticate(&headers, &st).await?.is_none()
    {
        return Err(ApiError::Unauthorized);
    }
    let snap = blocking(&st, |s| {
        let states = s.store.source_states()?;
        let sources = [
            SourceHealth::Pending,
            SourceHealth::Ok,
            SourceHealth::Degraded,
            SourceHealth::Failing,
        ]
        .into_iter()
        .map(|h| (h, states.iter().filter(|s| s.health == h).count()))
        .collect();
        let mut incidents = Vec::new();
        for status in [IncidentStatus::Open, IncidentStatus::Acknowledged] {
            incidents.push((status, s.store.incident_count(status)? as usize));
        }
        let mut outbox = Vec::new();
        for status in [
            OutboxStatus::Pending,
            OutboxStatus::Failed,
            OutboxStatus::Sent,
        ] {
            outbox.push((status, s.store.outbox_count(status)? as usize));
        }
        Ok(Snapshot {
            indexed: s.index.num_docs(),
            stored: s.store.document_count()?,
            sources,
            incidents,
            outbox,
            connectors: crate::connector_metrics::render(&s.store)?,
        })
    })
    .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&snap),
    )
        .into_response())
}

fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, rows: Vec<(String, usize)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, v) in rows {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    gauge(
        "yuqing_index_documents",
        "Documents searchable in the index.",
        vec![(String::new(), s.indexed as usize)],
    );
    gauge(
        "yuqing_store_documents",
        "Documents stored in the database.",
        vec![(String::new(), s.stored as usize)],
    );
    gauge(
        "yuqing_sources",
        "Configured sources by health.",
        s.sources
            .iter()
            .map(|(h, n)| (format!("{{health=\"{}\"}}", h.as_str()), *n))
            .collect(),
    );
    gauge(
        "yuqing_incidents_active",
        "Incidents that are open or acknowledged, by status.",
        s.incidents
            .iter()
            .map(|(st, n)| (format!("{{status=\"{}\"}}", st.as_str()), *n))
            .collect(),
    );
    gauge(
        "yuqing_outbox_notifications",
        "Chat notifications in the outbox, by delivery status.",
        s.outbox
            .iter()
            .map(|(st, n)| (format!("{{status=\"{}\"}}", st.as_str()), *n))
            .collect(),
    );
    out.push_str(&s.connectors);
    out
}
