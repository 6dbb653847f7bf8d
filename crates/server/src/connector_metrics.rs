//! The `yuqing_connector_*` metrics (Prometheus text format), one series per source, from the
//! store's connector statuses (`Store::connector_statuses`): polls, errors by class, items,
//! gaps, last success, the adaptive interval in force, health (with `stale`) and the inbound
//! queue. Labels are bounded: the source id, the error class, the health; never a URL.

use std::fmt::Write;

use chrono::Utc;
use yuqing_store::connectors::{ConnectorHealth, ConnectorStatus};

/// Render the metrics of every source in `store` as of now.
pub fn render(store: &yuqing_store::Store) -> Result<String, yuqing_store::StoreError> {
    Ok(render_statuses(&store.connector_statuses(Utc::now())?))
}

/// A label value with `\`, `"` and line breaks escaped.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Render the metrics of these statuses.
pub fn render_statuses(statuses: &[ConnectorStatus]) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    };
    let per = |f: &dyn Fn(&ConnectorStatus) -> Option<f64>| -> Vec<(String, f64)> {
        statuses
            .iter()
            .filter_map(|s| {
                f(s).map(|v| (format!("source=\"{}\"", label(s.source.id.as_str())), v))
            })
            .collect()
    };
    family(
        "yuqing_connector_polls_total",
        "counter",
        "Polls of the source, failed ones included.",
        per(&|s| Some(s.source.polls_total as f64)),
    );
    family(
        "yuqing_connector_errors_total",
        "counter",
        "Failed polls of the source, by error class.",
        statuses
            .iter()
            .flat_map(|s| {
                s.errors_by_class.iter().map(move |(class, n)| {
                    (
                        format!(
                            "source=\"{}\",class=\"{}\"",
                            label(s.source.id.as_str()),
                            label(class)
                        ),
                        *n as f64,
                    )
                })
            })
            .collect(),
    );
    family(
        "yuqing_connector_items_total",
        "counter",
        "Items the source's polls returned, new or not.",
        per(&|s| Some(s.items_total as f64)),
    );
    family(
        "yuqing_connector_documents_total",
        "counter",
        "Documents the source added or changed.",
        per(&|s| Some(s.source.docs_total as f64)),
    );
    family(
        "yuqing_connector_gaps_total",
        "counter",
        "Polls whose items shared nothing with what the source delivered before (items possibly missed).",
        per(&|s| Some(s.gaps_total as f64)),
    );
    family(
        "yuqing_connector_last_success_timestamp_seconds",
        "gauge",
        "Start of the source's last successful poll (Unix time).",
        per(&|s| s.source.last_success_at.map(|t| t.timestamp() as f64)),
    );
    family(
        "yuqing_connector_last_new_item_timestamp_seconds",
        "gauge",
        "Start of the last poll that brought something new (Unix time).",
        per(&|s| s.last_new_item_at.map(|t| t.timestamp() as f64)),
    );
    family(
        "yuqing_connector_interval_seconds",
        "gauge",
        "Poll interval in force (adaptive).",
        per(&|s| s.interval_secs),
    );
    family(
        "yuqing_connector_consecutive_failures",
        "gauge",
        "Failed polls in a row.",
        per(&|s| Some(f64::from(s.source.consecutive_failures))),
    );
    family(
        "yuqing_connector_health",
        "gauge",
        "1 for the source's health (pending, ok, degraded, failing, stale), 0 for the others.",
        statuses
            .iter()
            .flat_map(|s| {
                ConnectorHealth::ALL.into_iter().map(move |h| {
                    (
                        format!(
                            "source=\"{}\",health=\"{}\"",
                            label(s.source.id.as_str()),
                            h.as_str()
                        ),
                        if s.health == h { 1.0 } else { 0.0 },
                    )
                })
            })
            .collect(),
    );
    family(
        "yuqing_connector_inbound_queued",
        "gauge",
        "Inbound records waiting for the daemon to index them.",
        per(&|s| (s.source.kind == "inbound").then_some(s.inbound_queued as f64)),
    );
    out
}
