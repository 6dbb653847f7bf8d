//! Back-testing: replay stored documents through a fresh engine that writes nothing, and list
//! the incidents each rule would have opened.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use yuqing_model::{Document, Entity, RuleKind, Severity};
use yuqing_store::Store;

use crate::Result;
use crate::engine::{Engine, MemorySink, event_time};
use crate::rules::RuleSet;

/// Documents whose times lie within this of the first one are evaluated together, as one
/// committed batch would be.
pub const BACKTEST_BATCH: Duration = Duration::seconds(60);

/// An incident a rule would have opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestIncident {
    /// Rule id.
    pub rule_id: String,
    /// Rule kind.
    pub rule_kind: RuleKind,
    /// Entity id.
    pub entity_id: String,
    /// Topic (cluster or term) when the rule groups by one.
    pub topic: Option<String>,
    /// Chinese title.
    pub title: String,
    /// When it would first have opened (a reopen does not move it).
    pub opened_at: DateTime<Utc>,
    /// When it would (last) have resolved; `None` if still open at the end of the range.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Times it would have opened (1 + reopens).
    pub open_count: u32,
    /// Highest window count.
    pub peak: f64,
    /// The window count when it (last) opened.
    pub observed_at_open: f64,
    /// The rule's threshold (minimum count).
    pub threshold: f64,
    /// Highest severity reached.
    pub max_severity: Severity,
    /// Attached documents.
    pub doc_count: u64,
    /// Notifications it would have queued (opened, escalations, updates, resolved).
    pub notifications: usize,
}

/// Replay the documents stored with event times in `[from, to)` (after warming the windows
/// with the preceding [`RuleSet::span`], so spike baselines are real) through a fresh engine
/// with an in-memory sink, and list what each rule would have opened, in opening order.
/// Writes nothing. Unacknowledged escalation is off: nobody acknowledges in a replay.
pub fn backtest(
    store: &Store,
    rules: &RuleSet,
    entities: &[Entity],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<BacktestIncident>> {
    let warm_from = from - rules.span();
    let mut docs: Vec<(DateTime<Utc>, Document)> = store
        .documents_between(warm_from, to)?
        .into_iter()
        .map(|d| (event_time(&d), d))
        .filter(|(t, _)| *t >= warm_from && *t < to)
        .collect();
    docs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.raw.id.cmp(&b.1.raw.id)));
    Ok(replay(rules, entities, &docs, from, to))
}

/// The replay itself, over documents sorted by event time.
pub(crate) fn replay(
    rules: &RuleSet,
    entities: &[Entity],
    docs: &[(DateTime<Utc>, Document)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<BacktestIncident> {
    let mut engine = Engine::new(
        rules.clone(),
        entities,
        Box::new(|_, _| vec!["backtest".into()]),
    )
    .without_unacknowledged_escalation();
    let mut sink = MemorySink::default();
    let split = docs.partition_point(|(t, _)| *t < from);
    let warm: Vec<&Document> = docs[..split].iter().map(|(_, d)| d).collect();
    engine.observe(&warm, from);
    let mut max_severity = std::collections::HashMap::new();
    let mut first_opened = std::collections::HashMap::new();
    let mut rest = &docs[split..];
    while let Some((start, _)) = rest.first() {
        let n = rest.partition_point(|(t, _)| *t < *start + BACKTEST_BATCH);
        let now = rest[n - 1].0;
        let batch: Vec<&Document> = rest[..n].iter().map(|(_, d)| d).collect();
        // The memory sink never fails.
        let _ = engine.process(&mut sink, &batch, now);
        for i in sink.incidents.values() {
            let e = max_severity.entry(i.id).or_insert(i.severity);
            *e = (*e).max(i.severity);
            first_opened.entry(i.id).or_insert(i.opened_at);
        }
        rest = &rest[n..];
    }
    let _ = engine.process(&mut sink, &[], to);
    let mut out = Vec::new();
    for i in sink.incidents.values() {
        let notifications = sink
            .notifications
            .iter()
            .filter(|(_, n)| n.incident_id == Some(i.id))
            .count();
        out.push(BacktestIncident {
            rule_id: i.rule_id.clone(),
            rule_kind: i.rule_kind,
            entity_id: i.entity_id.clone(),
            topic: i.topic.clone(),
            title: i.title.clone(),
            opened_at: first_opened.get(&i.id).copied().unwrap_or(i.opened_at),
            resolved_at: i.resolved_at,
            open_count: i.open_count,
            peak: i.peak,
            observed_at_open: i.why.observed,
            threshold: i.why.threshold,
            max_severity: max_severity
                .get(&i.id)
                .copied()
                .unwrap_or(i.severity)
                .max(i.severity),
            doc_count: i.doc_count,
            notifications,
        });
    }
    out
}

/// Parse a `--from`/`--to` argument: RFC 3339 (`2024-05-01T08:00:00+08:00`), or a local date
/// (`2024-05-01`, midnight) or date and time (`2024-05-01 08:00`) in `tz`.
pub fn parse_time_arg(s: &str, tz: chrono_tz::Tz) -> std::result::Result<DateTime<Utc>, String> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone};
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or_else(|| {
            format!(
                "`{s}`: expected a date (2024-05-01), a local time (2024-05-01 08:00) or RFC 3339"
            )
        })?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("`{s}` does not exist in {tz}"))
}

/// A plain-text table of back-test results, times in `tz`, one incident per line.
pub fn render_backtest(found: &[BacktestIncident], tz: chrono_tz::Tz) -> String {
    use std::fmt::Write;
    let fmt = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let mut out = String::new();
    if found.is_empty() {
        out.push_str("no rule would have opened an incident\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<28} {:<12} {:<16} {:<16} {:>5} {:>6} {:>6} {:>5} {:<8} topic",
        "rule", "entity", "opened", "resolved", "opens", "peak", "thresh", "docs", "severity"
    );
    for i in found {
        let _ = writeln!(
            out,
            "{:<28} {:<12} {:<16} {:<16} {:>5} {:>6} {:>6} {:>5} {:<8} {}",
            i.rule_id,
            i.entity_id,
            fmt(i.opened_at),
            i.resolved_at.map_or_else(|| "(open)".to_string(), fmt),
            i.open_count,
            i.peak,
            i.threshold,
            i.doc_count,
            i.max_severity.as_str(),
            i.topic.as_deref().unwrap_or("-"),
        );
    }
    let mut per_rule: std::collections::BTreeMap<&str, usize> = Default::default();
    for i in found {
        *per_rule.entry(i.rule_id.as_str()).or_default() += 1;
    }
    for (rule, n) in per_rule {
        let _ = writeln!(out, "{rule}: {n} incident{}", if n == 1 { "" } else { "s" });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_arguments_are_local_dates_or_rfc3339() {
        let tz = chrono_tz::Asia::Shanghai;
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            parse_time_arg("2024-05-01", tz).unwrap(),
            utc("2024-04-30T16:00:00Z")
        );
        assert_eq!(
            parse_time_arg("2024-05-01 08:30", tz).unwrap(),
            utc("2024-05-01T00:30:00Z")
        );
        assert_eq!(
            parse_time_arg("2024-05-01T08:00:00Z", tz).unwrap(),
            utc("2024-05-01T08:00:00Z")
        );
        assert!(parse_time_arg("yesterday", tz).is_err());
    }
}
