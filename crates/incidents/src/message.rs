//! Platform-neutral Chinese notifications about incidents (each notifier renders them).

use chrono::Duration;
use yuqing_model::{Incident, IncidentDoc, Notification, NotificationKind, NotifiedDoc, RuleKind};

use crate::rules::{Defaults, Rule};

/// Most documents cited in one notification.
pub const MAX_TOP_DOCS: usize = 5;

/// A rule's numbers at one evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Numbers {
    pub observed: f64,
    pub threshold: f64,
    pub window: Duration,
    pub baseline: Option<f64>,
    pub stddev: Option<f64>,
    pub ratio: Option<f64>,
    pub stddevs: Option<f64>,
    pub largest_wave: Option<u64>,
    pub wave_min: Option<u64>,
}

/// `3600 s` → `1小时`, `90 s` → `1分30秒`.
pub(crate) fn duration_zh(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    for (v, unit) in [(days, "天"), (h, "小时"), (m, "分钟"), (sec, "秒")] {
        if v > 0 {
            out.push_str(&format!("{v}{unit}"));
        }
    }
    if out.is_empty() { "0秒".into() } else { out }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The rule's numbers against its threshold, in one Chinese line.
pub(crate) fn numbers_line(rule: &Rule, n: &Numbers) -> String {
    let window = duration_zh(rule.window);
    match rule.kind {
        RuleKind::Spike => format!(
            "近{window} {} 篇；过去同时段均值 {} 篇（标准差 {}），阈值：均值的 {} 倍且高出 {} 个标准差、至少 {} 篇",
            num(n.observed),
            num(n.baseline.unwrap_or(0.0)),
            num(n.stddev.unwrap_or(0.0)),
            num(n.ratio.unwrap_or(0.0)),
            num(n.stddevs.unwrap_or(0.0)),
            rule.min_count
        ),
        RuleKind::ComplaintSurge => format!(
            "近{window} 投诉 {} 篇（阈值 {} 篇）；最大同质投诉簇 {} 篇（阈值 {} 篇）",
            num(n.observed),
            rule.min_count,
            n.largest_wave.unwrap_or(0),
            n.wave_min.unwrap_or(rule.wave_min_size)
        ),
        _ => format!(
            "近{window} {} 篇（阈值 {} 篇）",
            num(n.observed),
            rule.min_count
        ),
    }
}

/// Build the notification of `kind` about `inc`.
pub(crate) fn build(
    kind: NotificationKind,
    inc: &Incident,
    rule: &Rule,
    entity_name: &str,
    numbers: &Numbers,
    docs: &[IncidentDoc],
    defaults: &Defaults,
) -> Notification {
    let sev = inc.severity.zh();
    let title = match kind {
        NotificationKind::Opened if inc.open_count > 1 => {
            format!("【{sev}】{}（再次发生）", inc.title)
        }
        NotificationKind::Escalated => format!("【{sev}】{}（升级）", inc.title),
        NotificationKind::Update => format!("【{sev}】{}（进展）", inc.title),
        NotificationKind::Resolved => format!("【已解除】{}", inc.title),
        NotificationKind::Reminder => format!("【{sev}】{}（未认领）", inc.title),
        _ => format!("【{sev}】{}", inc.title),
    };
    let tz = defaults.timezone;
    let mut lines = vec![format!(
        "规则：{}（{}，{}）",
        rule.name,
        rule.id,
        rule.kind.zh()
    )];
    if kind == NotificationKind::Resolved {
        lines.push(format!(
            "已平静 {}，共 {} 篇，峰值 {} 篇",
            duration_zh(rule.quiet_period),
            inc.doc_count,
            num(inc.peak)
        ));
    } else {
        lines.push(numbers_line(rule, numbers));
        lines.push(format!(
            "累计 {} 篇，峰值 {} 篇",
            inc.doc_count,
            num(inc.peak)
        ));
    }
    if !inc.why.top_terms.is_empty() {
        lines.push(format!("高频词：{}", inc.why.top_terms.join("、")));
    }
    if !inc.why.top_sources.is_empty() {
        let s: Vec<&str> = inc.why.top_sources.iter().map(|s| s.as_str()).collect();
        lines.push(format!("主要来源：{}", s.join("、")));
    }
    if let (Some(s), Some(t)) = (&inc.why.first_source, inc.why.first_seen) {
        lines.push(format!(
            "首发：{s}，{}",
            t.with_timezone(&tz).format("%m-%d %H:%M")
        ));
    }
    if let Some(a) = &inc.assignee {
        lines.push(format!("负责人：{a}"));
    }
    // The first document (where it surfaced), then the newest ones.
    let mut picked: Vec<&IncidentDoc> = docs.first().into_iter().collect();
    for d in docs.iter().rev() {
        if picked.len() >= MAX_TOP_DOCS {
            break;
        }
        if !picked.iter().any(|p| p.doc_id == d.doc_id) {
            picked.push(d);
        }
    }
    if picked.len() > 1 {
        picked[1..].sort_by_key(|d| std::cmp::Reverse(d.doc_at));
    }
    let top_docs = picked
        .into_iter()
        .map(|d| NotifiedDoc {
            title: d.title.clone(),
            url: d.url.clone(),
            source: d.source_id.to_string(),
            time: Some(d.doc_at),
        })
        .collect();
    Notification {
        kind,
        incident_id: Some(inc.id),
        severity: inc.severity,
        title,
        entity: Some(entity_name.to_string()),
        lines,
        top_docs,
        console_url: Some(format!(
            "{}/incidents/{}",
            defaults.console_base_url, inc.id
        )),
        mentions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_chinese() {
        assert_eq!(duration_zh(Duration::seconds(3600)), "1小时");
        assert_eq!(duration_zh(Duration::seconds(5400)), "1小时30分钟");
        assert_eq!(duration_zh(Duration::seconds(86_400)), "1天");
        assert_eq!(duration_zh(Duration::zero()), "0秒");
    }
}
