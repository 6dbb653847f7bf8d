//! Chat alerts for sources that stop delivering: a source that turns `failing` (many polls
//! in a row failed) or `stale` (polls succeed but nothing new for `stale_factor` times its
//! usual gap) raises one notification per episode to the default chat channels. The dedup key
//! names the source, the health and when the episode began (its last success, or its last new
//! item), so a restart never repeats an alert and a new episode after a recovery alerts again.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use yuqing_model::{Notification, NotificationKind, Severity};
use yuqing_store::Store;
use yuqing_store::connectors::{ConnectorHealth, ConnectorStatus};

/// How often sources' health is looked at.
pub(crate) const HEALTH_CHECK: Duration = Duration::from_secs(5);

/// Watches sources' health from the writer thread.
pub(crate) struct HealthWatch {
    channels: Vec<String>,
    last: Option<Instant>,
}

fn stamp(t: Option<DateTime<Utc>>) -> String {
    t.map_or("never".into(), |t| {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    })
}

/// The alert for a source in trouble and its dedup key (`None` for a healthy source).
pub(crate) fn alert(c: &ConnectorStatus) -> Option<(String, Notification)> {
    let s = &c.source;
    if !s.enabled {
        return None;
    }
    let (what, since, severity) = match c.health {
        ConnectorHealth::Failing => ("故障", s.last_success_at, Severity::High),
        ConnectorHealth::Stale => ("停滞", c.last_new_item_at, Severity::Medium),
        _ => return None,
    };
    let key = format!(
        "source:{}:{}:{}",
        s.id.as_str(),
        c.health.as_str(),
        stamp(since)
    );
    let mut lines = vec![format!(
        "信息源 {}（{}）状态：{what}",
        s.name,
        s.id.as_str()
    )];
    match c.health {
        ConnectorHealth::Failing => {
            lines.push(format!("连续失败 {} 次", s.consecutive_failures));
            if let Some(e) = &s.last_error {
                let class = s.last_error_class.as_deref().unwrap_or("error");
                lines.push(format!("最近错误：[{class}] {e}"));
            }
            lines.push(format!("最近成功：{}", stamp(s.last_success_at)));
            lines.push("系统会按上限间隔继续重试。".into());
        }
        _ => {
            lines.push(format!("最近新内容：{}", stamp(c.last_new_item_at)));
            if let Some(secs) = c.stale_after_secs {
                lines.push(format!(
                    "超过 {:.0} 分钟无新内容（通常间隔的若干倍），请检查来源是否改版或失效。",
                    secs / 60.0
                ));
            }
        }
    }
    Some((
        key,
        Notification {
            kind: NotificationKind::SourceHealth,
            incident_id: None,
            severity,
            title: format!("【信息源{what}】{}", s.name),
            entity: None,
            lines,
            top_docs: vec![],
            console_url: None,
            mentions: vec![],
        },
    ))
}

impl HealthWatch {
    pub(crate) fn new(channels: Vec<String>) -> HealthWatch {
        HealthWatch {
            channels,
            last: None,
        }
    }

    /// Queue alerts for sources in trouble, at most every [`HEALTH_CHECK`]. Returns how many
    /// rows were queued; errors are logged and retried at the next look.
    pub(crate) fn run(&mut self, store: &Store, now: DateTime<Utc>) -> usize {
        if self.channels.is_empty() || self.last.is_some_and(|t| t.elapsed() < HEALTH_CHECK) {
            return 0;
        }
        self.last = Some(Instant::now());
        let r = (|| -> Result<usize, yuqing_store::StoreError> {
            let alerts: Vec<_> = store
                .connector_statuses(now)?
                .iter()
                .filter_map(alert)
                .collect();
            if alerts.is_empty() {
                return Ok(0);
            }
            let mut tx = store.incident_tx()?;
            let mut queued = 0;
            for (key, n) in &alerts {
                for ch in &self.channels {
                    if tx.enqueue(ch, &format!("{key}#{ch}"), n, now)? {
                        queued += 1;
                    }
                }
            }
            tx.commit()?;
            Ok(queued)
        })();
        match r {
            Ok(n) => {
                if n > 0 {
                    tracing::warn!(queued = n, "source health alerts queued");
                }
                n
            }
            Err(e) => {
                tracing::error!(error = %e, "source health check failed");
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_model::{ErrorClass, SourceId};
    use yuqing_store::{PollOutcome, PollResult, SourceInfo};

    #[test]
    fn a_failing_source_alerts_once_per_episode_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("y.db");
        let store = Store::open(&db, 2).unwrap();
        let id = SourceId("news/down".into());
        store
            .sync_sources(&[SourceInfo {
                id: &id,
                name: "坏掉的源",
                kind: "feed",
                channel: "news",
                enabled: true,
            }])
            .unwrap();
        let fail = |at| PollOutcome {
            source_id: id.clone(),
            at,
            result: PollResult::Failure {
                class: ErrorClass::Server,
                message: "HTTP 500".into(),
            },
        };
        let now = Utc::now();
        let mut w = HealthWatch::new(vec!["ops".into()]);
        assert_eq!(w.run(&store, now), 0, "healthy: nothing");
        store.commit([], &[fail(now), fail(now)]).unwrap();
        let mut w = HealthWatch::new(vec!["ops".into()]);
        assert_eq!(w.run(&store, now), 1);
        let rows = store.outbox_rows(None).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].dedup_key.starts_with("source:news/down:failing:"));
        // A restart (a new watcher) does not repeat it.
        let mut w = HealthWatch::new(vec!["ops".into()]);
        assert_eq!(w.run(&store, now), 0);
        assert_eq!(store.outbox_rows(None).unwrap().len(), 1);
        // Without chat channels nothing is queued.
        assert_eq!(HealthWatch::new(vec![]).run(&store, now), 0);
    }
}
