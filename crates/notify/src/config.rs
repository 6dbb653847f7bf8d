//! `config/notify.toml`: chat channels, routing rules, grouping, quiet hours and delivery
//! policy. Parsed with `deny_unknown_fields`, validated without network I/O, every mistake
//! reported as a [`ConfigError`] naming the file and the key.
//!
//! Secrets (webhook URLs, signing secrets) come only from `${ENV}` interpolation. A disabled
//! channel's strings are not interpolated, so a missing variable for a disabled channel is
//! not an error.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use yuqing_config::{ConfigError, interpolate_str};
use yuqing_model::{Notification, NotificationKind, Severity};

/// Default wait before the first notification of a group, so a burst becomes one message.
pub const DEFAULT_GROUP_WAIT_SECS: u64 = 30;
/// Default minimum time between two follow-ups of one incident in one channel.
pub const DEFAULT_GROUP_INTERVAL_SECS: u64 = 300;
/// Lowest accepted `group_interval_secs`: below it a flapping rule becomes a storm.
pub const MIN_GROUP_INTERVAL_SECS: u64 = 60;
/// Default time zone of the quiet hours.
pub const DEFAULT_QUIET_TIMEZONE: &str = "Asia/Shanghai";
/// Default lowest severity that is sent during quiet hours.
pub const DEFAULT_QUIET_MIN_SEVERITY: Severity = Severity::High;
/// Default outbox poll interval.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 1000;
/// Default total deadline of one send (connect, request, response).
pub const DEFAULT_SEND_TIMEOUT_SECS: u64 = 10;
/// Default first retry delay; doubles per attempt.
pub const DEFAULT_BACKOFF_BASE_SECS: u64 = 5;
/// Default cap of the retry delay.
pub const DEFAULT_BACKOFF_MAX_SECS: u64 = 600;
/// Default cap on an honoured `Retry-After`.
pub const DEFAULT_MAX_RETRY_AFTER_SECS: u64 = 900;
/// Default number of attempts before a retryable failure becomes permanent.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 12;
/// Default number of outbox items read per poll.
pub const DEFAULT_BATCH_LIMIT: usize = 200;
/// Default half-width of the window around hh:00 and hh:30 in which a Feishu channel does
/// not send (Feishu answers 11232 "frequency limited" around those peaks).
pub const DEFAULT_FEISHU_PEAK_AVOID_SECS: u64 = 30;
/// Largest accepted `peak_avoid_secs`: a wider window would leave too little of each half
/// hour to send in.
pub const MAX_PEAK_AVOID_SECS: u64 = 300;

/// A chat platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// DingTalk custom robot (钉钉自定义机器人), optionally signed (加签).
    DingTalk,
    /// WeCom group robot (企业微信群机器人); the URL key is the only credential.
    WeCom,
    /// Feishu/Lark custom bot (飞书自定义机器人), optionally signed.
    Feishu,
    /// Slack incoming webhook; the URL is the credential.
    Slack,
    /// Generic JSON webhook, signed with an HMAC header when a secret is set.
    Webhook,
}

impl ChannelKind {
    /// All kinds, in the order the config documents them.
    pub const ALL: [ChannelKind; 5] = [
        ChannelKind::DingTalk,
        ChannelKind::WeCom,
        ChannelKind::Feishu,
        ChannelKind::Slack,
        ChannelKind::Webhook,
    ];

    /// The id used in `notify.toml` and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::DingTalk => "dingtalk",
            ChannelKind::WeCom => "wecom",
            ChannelKind::Feishu => "feishu",
            ChannelKind::Slack => "slack",
            ChannelKind::Webhook => "webhook",
        }
    }

    /// Parse the id.
    pub fn parse(s: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The rate-limit windows used when the config sets none: below the platform limits
    /// (DingTalk 20/min, WeCom 20/min, Feishu 5/s and 100/min, Slack about 1/s).
    pub fn default_limits(self) -> Vec<Window> {
        match self {
            ChannelKind::DingTalk | ChannelKind::WeCom => vec![Window::per_min(18)],
            ChannelKind::Feishu => vec![Window::per_sec(4), Window::per_min(90)],
            ChannelKind::Slack => vec![Window::per_sec(1), Window::per_min(50)],
            ChannelKind::Webhook => vec![Window::per_min(60)],
        }
    }

    /// The platform's own limits as (per second, per minute); a configured limit may not
    /// exceed them.
    fn platform_limits(self) -> (Option<u32>, Option<u32>) {
        match self {
            ChannelKind::DingTalk | ChannelKind::WeCom => (None, Some(20)),
            ChannelKind::Feishu => (Some(5), Some(100)),
            ChannelKind::Slack => (Some(1), Some(60)),
            ChannelKind::Webhook => (None, None),
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that must never be printed: `Debug` shows `[redacted]`, and there is no
/// `Display`. Read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself; only for building a request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// "At most `max` sends in any `period`" (a sliding window, so it holds for every window,
/// not only aligned ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Sends allowed in one period.
    pub max: u32,
    /// The period.
    pub period: Duration,
}

impl Window {
    /// `max` per second.
    pub fn per_sec(max: u32) -> Window {
        Window {
            max,
            period: Duration::from_secs(1),
        }
    }

    /// `max` per minute.
    pub fn per_min(max: u32) -> Window {
        Window {
            max,
            period: Duration::from_secs(60),
        }
    }
}

/// One chat channel (a robot in a group).
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// Id used by routes and the outbox.
    pub id: String,
    /// Platform.
    pub kind: ChannelKind,
    /// Webhook URL (a credential: never logged).
    pub url: Secret,
    /// Signing secret, if the robot uses signing.
    pub secret: Option<Secret>,
    /// Whether notifications are sent; a disabled channel is never routed to.
    pub enabled: bool,
    /// Users to @-mention in every message of this channel (phone numbers or user ids).
    pub mentions: Vec<String>,
    /// Rate-limit windows; all must allow a send.
    pub limits: Vec<Window>,
    /// Channel paged when a notification fails permanently here.
    pub fallback: Option<String>,
    /// Half-width of the windows around hh:00 and hh:30 in which nothing is sent (the send
    /// waits until the window has passed, plus a small random jitter). Zero: no window.
    /// Feishu only (default 30 s); zero for the other platforms.
    pub peak_avoid: Duration,
}

impl ChannelConfig {
    /// The URL as it may appear in logs: scheme and host only.
    pub fn redacted_url(&self) -> String {
        redact_url(self.url.expose())
    }
}

/// `scheme://host[:port]/…`: no path (Slack, Feishu and WeCom carry tokens there), no query,
/// no credentials. Unparseable input becomes `[invalid url]`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}/…", u.scheme()),
            (Some(h), None) => format!("{}://{h}/…", u.scheme()),
            _ => format!("{}:…", u.scheme()),
        },
        Err(_) => "[invalid url]".into(),
    }
}

/// Facts about the event a notification is for, used by [`NotifyConfig::route`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteContext {
    /// Entity id (from `entities.toml`), if the incident is about one.
    pub entity_id: Option<String>,
    /// Risk categories of the incident (e.g. `collection`, `fraud`).
    pub risk_categories: Vec<String>,
    /// Document channels involved (e.g. `news`, `complaint`).
    pub doc_channels: Vec<String>,
    /// Tags of the sources involved (e.g. `authoritative`).
    pub source_tags: Vec<String>,
}

/// One routing rule: every non-empty criterion must match (any value of a list matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// Entity ids; empty = any.
    pub entities: Vec<String>,
    /// Lowest severity routed.
    pub min_severity: Severity,
    /// Notification kinds; empty = any.
    pub kinds: Vec<NotificationKind>,
    /// Risk categories; empty = any.
    pub risk_categories: Vec<String>,
    /// Document channels; empty = any.
    pub doc_channels: Vec<String>,
    /// Source tags; empty = any.
    pub source_tags: Vec<String>,
    /// Channel ids to send to.
    pub to: Vec<String>,
    /// Whether later rules are evaluated after this one matched.
    pub continue_matching: bool,
}

impl RouteRule {
    fn matches(&self, n: &Notification, ctx: &RouteContext) -> bool {
        fn any(want: &[String], have: &[String]) -> bool {
            want.is_empty() || want.iter().any(|w| have.contains(w))
        }
        n.severity >= self.min_severity
            && (self.kinds.is_empty() || self.kinds.contains(&n.kind))
            && (self.entities.is_empty()
                || ctx
                    .entity_id
                    .as_ref()
                    .is_some_and(|e| self.entities.contains(e)))
            && any(&self.risk_categories, &ctx.risk_categories)
            && any(&self.doc_channels, &ctx.doc_channels)
            && any(&self.source_tags, &ctx.source_tags)
    }
}

/// Grouping, after Alertmanager: wait and interval between follow-ups. (Reminders of an
/// unchanged open incident are the incident engine's: `repeat_interval_secs` in rules.toml.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouping {
    /// How long a new notification waits so a burst becomes one message.
    pub group_wait: Duration,
    /// Minimum time between two follow-ups (`update`) of one incident in one channel.
    pub group_interval: Duration,
}

impl Default for Grouping {
    fn default() -> Grouping {
        Grouping {
            group_wait: Duration::from_secs(DEFAULT_GROUP_WAIT_SECS),
            group_interval: Duration::from_secs(DEFAULT_GROUP_INTERVAL_SECS),
        }
    }
}

/// Hours in which only severe notifications are sent; the rest wait until the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Local start time.
    pub start: NaiveTime,
    /// Local end time (may be earlier than `start`: the period spans midnight).
    pub end: NaiveTime,
    /// Time zone of `start` and `end`.
    pub timezone: Tz,
    /// Lowest severity sent anyway.
    pub min_severity_to_break: Severity,
}

impl QuietHours {
    /// When `now` is inside the quiet hours, the instant they end.
    pub fn until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&self.timezone);
        let t = local.time();
        let (inside, end_tomorrow) = if self.start <= self.end {
            (t >= self.start && t < self.end, false)
        } else {
            (t >= self.start || t < self.end, t >= self.start)
        };
        if !inside {
            return None;
        }
        let mut date = local.date_naive();
        if end_tomorrow {
            date = date.succ_opt()?;
        }
        let end = self
            .timezone
            .from_local_datetime(&date.and_time(self.end))
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(now + chrono::Duration::hours(1));
        Some(end)
    }

    /// Whether a notification of `severity` waits at `now`; if so, until when.
    pub fn holds(&self, severity: Severity, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if severity >= self.min_severity_to_break {
            None
        } else {
            self.until(now)
        }
    }
}

/// How the deliverer polls, sends and retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeliveryPolicy {
    /// Outbox poll interval (the deliverer can also be woken).
    pub poll_interval: Duration,
    /// Total deadline of one send.
    pub send_timeout: Duration,
    /// First retry delay; doubles per attempt, jittered to 50–100 %.
    pub backoff_base: Duration,
    /// Cap of the retry delay.
    pub backoff_max: Duration,
    /// Cap on an honoured `Retry-After`.
    pub max_retry_after: Duration,
    /// Attempts before a retryable failure becomes permanent.
    pub max_attempts: u32,
    /// Outbox items read per poll.
    pub batch_limit: usize,
}

impl Default for DeliveryPolicy {
    fn default() -> DeliveryPolicy {
        DeliveryPolicy {
            poll_interval: Duration::from_millis(DEFAULT_POLL_INTERVAL_MS),
            send_timeout: Duration::from_secs(DEFAULT_SEND_TIMEOUT_SECS),
            backoff_base: Duration::from_secs(DEFAULT_BACKOFF_BASE_SECS),
            backoff_max: Duration::from_secs(DEFAULT_BACKOFF_MAX_SECS),
            max_retry_after: Duration::from_secs(DEFAULT_MAX_RETRY_AFTER_SECS),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            batch_limit: DEFAULT_BATCH_LIMIT,
        }
    }
}

/// The validated `notify.toml`.
#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    /// Channels, enabled or not.
    pub channels: Vec<ChannelConfig>,
    /// Routing rules, in file order.
    pub routes: Vec<RouteRule>,
    /// Channels used when no rule matches.
    pub default_channels: Vec<String>,
    /// Grouping intervals.
    pub grouping: Grouping,
    /// Quiet hours, if any.
    pub quiet_hours: Option<QuietHours>,
    /// Delivery policy.
    pub delivery: DeliveryPolicy,
}

impl NotifyConfig {
    /// A channel by id.
    pub fn channel(&self, id: &str) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// The enabled channel ids `n` goes to, without duplicates, in rule order. Rules are
    /// evaluated in file order; the first match stops evaluation unless it has
    /// `continue = true`. When nothing matches, `default_channels`.
    pub fn route(&self, n: &Notification, ctx: &RouteContext) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut matched = false;
        for rule in &self.routes {
            if !rule.matches(n, ctx) {
                continue;
            }
            matched = true;
            out.extend(rule.to.iter().cloned());
            if !rule.continue_matching {
                break;
            }
        }
        if !matched {
            out.extend(self.default_channels.iter().cloned());
        }
        let mut seen = HashSet::new();
        out.retain(|id| self.channel(id).is_some_and(|c| c.enabled) && seen.insert(id.clone()));
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    channel: Vec<RawChannel>,
    #[serde(default)]
    route: Vec<RawRoute>,
    #[serde(default)]
    default_channels: Vec<String>,
    #[serde(default)]
    grouping: Option<RawGrouping>,
    #[serde(default)]
    quiet_hours: Option<RawQuiet>,
    #[serde(default)]
    delivery: Option<RawDelivery>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    id: String,
    kind: String,
    url: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    mentions: Vec<String>,
    #[serde(default)]
    rate_limit_per_sec: Option<u32>,
    #[serde(default)]
    rate_limit_per_min: Option<u32>,
    #[serde(default)]
    fallback: Option<String>,
    #[serde(default)]
    peak_avoid_secs: Option<u64>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default)]
    entities: Vec<String>,
    #[serde(default)]
    min_severity: Option<String>,
    #[serde(default)]
    kinds: Vec<NotificationKind>,
    #[serde(default)]
    risk_categories: Vec<String>,
    #[serde(default)]
    doc_channels: Vec<String>,
    #[serde(default)]
    source_tags: Vec<String>,
    to: Vec<String>,
    #[serde(default, rename = "continue")]
    continue_matching: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrouping {
    #[serde(default = "d_group_wait")]
    group_wait_secs: u64,
    #[serde(default = "d_group_interval")]
    group_interval_secs: u64,
}

fn d_group_wait() -> u64 {
    DEFAULT_GROUP_WAIT_SECS
}
fn d_group_interval() -> u64 {
    DEFAULT_GROUP_INTERVAL_SECS
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuiet {
    start: String,
    end: String,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    min_severity_to_break: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    #[serde(default)]
    poll_interval_ms: Option<u64>,
    #[serde(default)]
    send_timeout_secs: Option<u64>,
    #[serde(default)]
    backoff_base_secs: Option<u64>,
    #[serde(default)]
    backoff_max_secs: Option<u64>,
    #[serde(default)]
    max_retry_after_secs: Option<u64>,
    #[serde(default)]
    max_attempts: Option<u32>,
    #[serde(default)]
    batch_limit: Option<usize>,
}

/// Read, interpolate and validate `notify.toml`. Every mistake is returned, each naming the
/// file, the key and the reason.
pub fn load(path: &Path, env: &HashMap<String, String>) -> Result<NotifyConfig, Vec<ConfigError>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text, env),
        Err(e) => Err(vec![ConfigError::new(
            path,
            "",
            format!("cannot read file: {e}"),
        )]),
    }
}

/// Like [`load`], over text already read (`path` is only used in errors).
pub fn parse(
    path: &Path,
    text: &str,
    env: &HashMap<String, String>,
) -> Result<NotifyConfig, Vec<ConfigError>> {
    let mut errs: Vec<ConfigError> = Vec::new();
    let table = match text.parse::<toml::Table>() {
        Ok(t) => t,
        Err(e) => {
            let key = e.span().map_or(String::new(), |s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("{line}:{col}")
            });
            return Err(vec![ConfigError::new(
                path,
                key,
                format!("invalid TOML: {}", e.message().trim()),
            )]);
        }
    };
    let raw: RawFile = match serde_path_to_error::deserialize(toml::Value::Table(table)) {
        Ok(r) => r,
        Err(e) => {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            return Err(vec![ConfigError::new(
                path,
                key,
                e.into_inner().message().trim().to_string(),
            )]);
        }
    };
    let mut push = |key: String, reason: String| errs.push(ConfigError::new(path, key, reason));

    let mut channels: Vec<ChannelConfig> = Vec::new();
    for (i, c) in raw.channel.into_iter().enumerate() {
        let at = |k: &str| format!("channel[{i}].{k}");
        if !valid_id(&c.id) {
            push(
                at("id"),
                format!(
                    "`{}` is not a valid id: use lowercase letters, digits, `_`, `-`",
                    c.id
                ),
            );
        }
        if channels.iter().any(|o| o.id == c.id) {
            push(at("id"), format!("duplicate channel id `{}`", c.id));
        }
        let Some(kind) = ChannelKind::parse(&c.kind) else {
            let known: Vec<&str> = ChannelKind::ALL.iter().map(|k| k.as_str()).collect();
            push(
                at("kind"),
                format!(
                    "unknown channel kind `{}`; known: {}",
                    c.kind,
                    known.join(", ")
                ),
            );
            continue;
        };
        let mut url = c.url.clone();
        let mut secret = c.secret.clone();
        let mut mentions = c.mentions.clone();
        if c.enabled {
            match interpolate_str(&c.url, env) {
                Ok(u) => {
                    url = u;
                    match url::Url::parse(&url) {
                        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {}
                        // The value may be a secret: never echo it.
                        _ => push(at("url"), "expected an http(s) URL".into()),
                    }
                }
                Err(reason) => push(at("url"), reason),
            }
            if let Some(s) = &c.secret {
                match interpolate_str(s, env) {
                    Ok(v) if v.is_empty() => {
                        push(at("secret"), "empty secret: remove the key instead".into())
                    }
                    Ok(v) => secret = Some(v),
                    Err(reason) => push(at("secret"), reason),
                }
            }
            for (j, m) in c.mentions.iter().enumerate() {
                match interpolate_str(m, env) {
                    Ok(v) => mentions[j] = v,
                    Err(reason) => push(at(&format!("mentions[{j}]")), reason),
                }
            }
        }
        if secret.is_some() && matches!(kind, ChannelKind::WeCom | ChannelKind::Slack) {
            push(
                at("secret"),
                format!("{kind} webhooks have no signing: remove `secret`"),
            );
        }
        let (max_sec, max_min) = kind.platform_limits();
        let mut limits = Vec::new();
        for (key, value, max, mk) in [
            (
                "rate_limit_per_sec",
                c.rate_limit_per_sec,
                max_sec,
                Window::per_sec as fn(u32) -> Window,
            ),
            (
                "rate_limit_per_min",
                c.rate_limit_per_min,
                max_min,
                Window::per_min,
            ),
        ] {
            let Some(v) = value else { continue };
            if v == 0 {
                push(at(key), "must be at least 1".into());
            } else if max.is_some_and(|m| v > m) {
                push(
                    at(key),
                    format!(
                        "{v} exceeds the {kind} platform limit of {}",
                        max.unwrap_or(v)
                    ),
                );
            } else {
                limits.push(mk(v));
            }
        }
        if limits.is_empty() {
            limits = kind.default_limits();
        } else {
            // An override of one window keeps the defaults of the others.
            for d in kind.default_limits() {
                if !limits.iter().any(|l| l.period == d.period) {
                    limits.push(d);
                }
            }
        }
        let peak_avoid = match (kind, c.peak_avoid_secs) {
            (ChannelKind::Feishu, v) => {
                let v = v.unwrap_or(DEFAULT_FEISHU_PEAK_AVOID_SECS);
                if v > MAX_PEAK_AVOID_SECS {
                    push(
                        at("peak_avoid_secs"),
                        format!("{v} exceeds the maximum of {MAX_PEAK_AVOID_SECS}"),
                    );
                }
                Duration::from_secs(v.min(MAX_PEAK_AVOID_SECS))
            }
            (_, None) => Duration::ZERO,
            (_, Some(_)) => {
                push(
                    at("peak_avoid_secs"),
                    format!(
                        "only feishu channels avoid the :00/:30 peaks; remove it from this {kind} channel"
                    ),
                );
                Duration::ZERO
            }
        };
        channels.push(ChannelConfig {
            id: c.id,
            kind,
            url: Secret(url),
            secret: secret.map(Secret),
            enabled: c.enabled,
            mentions,
            limits,
            fallback: c.fallback,
            peak_avoid,
        });
    }
    let known = |id: &str| channels.iter().any(|c| c.id == id);
    for (i, c) in channels.iter().enumerate() {
        if let Some(f) = &c.fallback {
            if f == &c.id {
                push(
                    format!("channel[{i}].fallback"),
                    "a channel cannot be its own fallback".into(),
                );
            } else if !known(f) {
                push(
                    format!("channel[{i}].fallback"),
                    format!("unknown channel `{f}`"),
                );
            }
        }
    }

    let mut routes = Vec::new();
    for (i, r) in raw.route.into_iter().enumerate() {
        let at = |k: &str| format!("route[{i}].{k}");
        let min_severity = match r.min_severity.as_deref() {
            None => Severity::Low,
            Some(s) => Severity::parse(s).unwrap_or_else(|| {
                push(
                    at("min_severity"),
                    format!("unknown severity `{s}`; known: low, medium, high, critical"),
                );
                Severity::Low
            }),
        };
        if r.to.is_empty() {
            push(at("to"), "at least one channel id is required".into());
        }
        for (j, t) in r.to.iter().enumerate() {
            if !known(t) {
                push(at(&format!("to[{j}]")), format!("unknown channel `{t}`"));
            }
        }
        routes.push(RouteRule {
            entities: r.entities,
            min_severity,
            kinds: r.kinds,
            risk_categories: r.risk_categories,
            doc_channels: r.doc_channels,
            source_tags: r.source_tags,
            to: r.to,
            continue_matching: r.continue_matching,
        });
    }
    for (j, t) in raw.default_channels.iter().enumerate() {
        if !known(t) {
            push(
                format!("default_channels[{j}]"),
                format!("unknown channel `{t}`"),
            );
        }
    }

    let grouping = match raw.grouping {
        None => Grouping::default(),
        Some(g) => {
            if g.group_interval_secs < MIN_GROUP_INTERVAL_SECS {
                push(
                    "grouping.group_interval_secs".into(),
                    format!(
                        "{} is below the floor of {MIN_GROUP_INTERVAL_SECS}: a short interval turns a flapping rule into a notification storm",
                        g.group_interval_secs
                    ),
                );
            }
            if g.group_wait_secs > g.group_interval_secs {
                push(
                    "grouping.group_wait_secs".into(),
                    "must not exceed group_interval_secs".into(),
                );
            }
            Grouping {
                group_wait: Duration::from_secs(g.group_wait_secs),
                group_interval: Duration::from_secs(g.group_interval_secs),
            }
        }
    };

    let quiet_hours = raw.quiet_hours.and_then(|q| {
        let time = |k: &str, v: &str, push: &mut dyn FnMut(String, String)| {
            NaiveTime::parse_from_str(v, "%H:%M").map_err(|_| {
                push(
                    format!("quiet_hours.{k}"),
                    format!("`{v}` is not a time: expected HH:MM, e.g. \"22:00\""),
                )
            })
        };
        let start = time("start", &q.start, &mut push);
        let end = time("end", &q.end, &mut push);
        let tzs = q.timezone.as_deref().unwrap_or(DEFAULT_QUIET_TIMEZONE);
        let tz = tzs.parse::<Tz>().map_err(|_| {
            push(
                "quiet_hours.timezone".into(),
                format!("unknown time zone `{tzs}`: expected an IANA name like Asia/Shanghai"),
            )
        });
        let sev = match q.min_severity_to_break.as_deref() {
            None => Ok(DEFAULT_QUIET_MIN_SEVERITY),
            Some(s) => Severity::parse(s).ok_or_else(|| {
                push(
                    "quiet_hours.min_severity_to_break".into(),
                    format!("unknown severity `{s}`; known: low, medium, high, critical"),
                )
            }),
        };
        let (Ok(start), Ok(end), Ok(timezone), Ok(min_severity_to_break)) = (start, end, tz, sev)
        else {
            return None;
        };
        if start == end {
            push(
                "quiet_hours.end".into(),
                "equals start: remove [quiet_hours] to disable them".into(),
            );
        }
        Some(QuietHours {
            start,
            end,
            timezone,
            min_severity_to_break,
        })
    });

    let mut delivery = DeliveryPolicy::default();
    if let Some(d) = raw.delivery {
        let secs = Duration::from_secs;
        if let Some(v) = d.poll_interval_ms {
            if v == 0 {
                push(
                    "delivery.poll_interval_ms".into(),
                    "must be at least 1".into(),
                );
            }
            delivery.poll_interval = Duration::from_millis(v.max(1));
        }
        for (key, value, slot) in [
            (
                "send_timeout_secs",
                d.send_timeout_secs,
                &mut delivery.send_timeout,
            ),
            (
                "backoff_base_secs",
                d.backoff_base_secs,
                &mut delivery.backoff_base,
            ),
            (
                "backoff_max_secs",
                d.backoff_max_secs,
                &mut delivery.backoff_max,
            ),
            (
                "max_retry_after_secs",
                d.max_retry_after_secs,
                &mut delivery.max_retry_after,
            ),
        ] {
            if let Some(v) = value {
                if v == 0 {
                    push(format!("delivery.{key}"), "must be at least 1".into());
                }
                *slot = secs(v.max(1));
            }
        }
        if let Some(v) = d.max_attempts {
            if v == 0 {
                push("delivery.max_attempts".into(), "must be at least 1".into());
            }
            delivery.max_attempts = v.max(1);
        }
        if let Some(v) = d.batch_limit {
            if v == 0 {
                push("delivery.batch_limit".into(), "must be at least 1".into());
            }
            delivery.batch_limit = v.max(1);
        }
        if delivery.backoff_max < delivery.backoff_base {
            push(
                "delivery.backoff_max_secs".into(),
                "must be at least backoff_base_secs".into(),
            );
        }
    }

    if errs.is_empty() {
        Ok(NotifyConfig {
            channels,
            routes,
            default_channels: raw.default_channels,
            grouping,
            quiet_hours,
            delivery,
        })
    } else {
        Err(errs)
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}
