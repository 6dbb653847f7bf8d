//! `config/rules.toml`: parsed with `deny_unknown_fields`, then validated into [`RuleSet`].
//! Every mistake is a [`ConfigError`] naming the file, the dotted key and the reason.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::Duration;
use serde::Deserialize;
use yuqing_config::{ConfigError, ConfigErrors};
use yuqing_model::{Channel, Dimension, RuleKind, Severity};

/// Version of the rules file format this build reads.
pub const RULES_FILE_VERSION: u32 = 1;
/// Default base URL of the console, for links in notifications.
pub const DEFAULT_CONSOLE_BASE_URL: &str = "http://127.0.0.1:8080";
/// Default display time zone of notification texts.
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";
/// Default minimum time between two update notifications of one incident.
pub const DEFAULT_GROUP_INTERVAL_SECS: u64 = 300;
/// Smallest accepted `group_interval_secs`: below it chat groups flood (RELIABILITY §E 32).
pub const MIN_GROUP_INTERVAL_SECS: u64 = 60;
/// Default interval after which an open, unacknowledged incident is reminded again (4 h).
pub const DEFAULT_REPEAT_INTERVAL_SECS: u64 = 4 * 3600;
/// Default quiet time after the newest matching document that resolves an incident.
pub const DEFAULT_QUIET_PERIOD_SECS: u64 = 3600;
/// Default time after resolution during which a new wave reopens the same incident.
pub const DEFAULT_REOPEN_WINDOW_SECS: u64 = 86_400;
/// Default time after opening an unacknowledged incident escalates (0 disables).
pub const DEFAULT_ESCALATE_UNACKNOWLEDGED_AFTER_SECS: u64 = 1800;
/// Default window of every rule kind.
pub const DEFAULT_WINDOW_SECS: u64 = 3600;
/// Longest accepted window.
pub const MAX_WINDOW_SECS: u64 = 7 * 86_400;
/// Default number of past days a spike rule compares against.
pub const DEFAULT_BASELINE_DAYS: u32 = 7;
/// Most past days a spike rule may compare against.
pub const MAX_BASELINE_DAYS: u32 = 28;
/// Default size of a near-duplicate cluster in the window that counts as a coordinated wave.
pub const DEFAULT_WAVE_MIN_SIZE: u64 = 5;
/// Default tag that marks an authoritative source.
pub const DEFAULT_AUTHORITY_TAG: &str = "authoritative";

/// How sensitive a spike rule is: `(ratio, standard deviations, minimum count)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Ratio 4, 4 standard deviations, at least 20 documents.
    Low,
    /// Ratio 3, 3 standard deviations, at least 10 documents.
    Medium,
    /// Ratio 2, 2 standard deviations, at least 5 documents.
    High,
}

impl Sensitivity {
    /// `(ratio, stddevs, min_count)` of this sensitivity.
    pub fn params(self) -> (f64, f64, u64) {
        match self {
            Sensitivity::Low => (4.0, 4.0, 20),
            Sensitivity::Medium => (3.0, 3.0, 10),
            Sensitivity::High => (2.0, 2.0, 5),
        }
    }
}

/// What splits one rule's matches into separate incidents within an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One incident per entity.
    Entity,
    /// One incident per near-duplicate cluster (story) of the entity.
    Cluster,
    /// One incident per matched high-risk term (keyword rules only).
    Term,
}

/// Which sentiment a document must have towards the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentFilter {
    /// Negative towards the entity (per-entity sentiment, else the document's).
    Negative,
    /// Any sentiment.
    Any,
}

/// A severity reached when the window count reaches `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    /// Window count at which it applies.
    pub count: u64,
    /// The severity from then on.
    pub severity: Severity,
}

/// Spike parameters, sensitivity defaults applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikeParams {
    /// Past days in the baseline.
    pub baseline_days: u32,
    /// The count must be at least `ratio` × the baseline mean.
    pub ratio: f64,
    /// The count must exceed the mean by `stddevs` standard deviations.
    pub stddevs: f64,
}

/// What a document must satisfy to count for a rule (all given filters; empty = any).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Entity ids; empty: every watched entity.
    pub entities: Vec<String>,
    /// Channels; empty: any.
    pub channels: Vec<Channel>,
    /// Risk category ids (any of them); empty: any.
    pub risks: Vec<String>,
    /// Dimensions (any of them); empty: any.
    pub dimensions: Vec<Dimension>,
    /// Source tags (any of them); empty: any.
    pub tags: Vec<String>,
    /// Required sentiment towards the entity.
    pub sentiment: SentimentFilter,
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Stable id (`[a-z0-9_-]+`), used in group keys and dedup keys.
    pub id: String,
    /// Kind.
    pub kind: RuleKind,
    /// Chinese name shown in titles (e.g. `负面舆情激增`).
    pub name: String,
    /// Severity when it opens.
    pub severity: Severity,
    /// Higher severities by window count, ascending.
    pub escalate: Vec<EscalationStep>,
    /// Which documents count.
    pub filter: Filter,
    /// Counting window; for keyword/authority rules, how fresh a document must be.
    pub window: Duration,
    /// Documents in the window needed to open.
    pub min_count: u64,
    /// Spike rules only.
    pub spike: Option<SpikeParams>,
    /// Keyword rules: the high-risk terms (matched in the normalized title and body).
    pub terms: Vec<String>,
    /// Complaint surges: cluster size in the window that opens as a coordinated wave (0: off).
    pub wave_min_size: u64,
    /// Grouping within an entity.
    pub group_by: GroupBy,
    /// Quiet time after the newest matching document that resolves the incident.
    pub quiet_period: Duration,
    /// After resolution, how long a new wave reopens the same incident (then: a new one).
    pub reopen_window: Duration,
    /// Unacknowledged this long after opening: severity one up and a reminder (`None`: never).
    pub escalate_unacknowledged_after: Option<Duration>,
}

impl Rule {
    /// The severity for a window count: the base, raised by every step reached.
    pub fn severity_for(&self, count: u64) -> Severity {
        self.escalate
            .iter()
            .filter(|s| count >= s.count)
            .map(|s| s.severity)
            .fold(self.severity, Ord::max)
    }

    /// How far back the rule looks: the window, plus the baseline days of a spike rule.
    pub fn span(&self) -> Duration {
        let days = self.spike.map_or(0, |s| s.baseline_days);
        self.window + Duration::days(i64::from(days))
    }
}

/// Settings shared by every rule (`[defaults]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    /// Base URL of the console; incident links are `{base}/incidents/{id}`.
    pub console_base_url: String,
    /// Time zone of times in notification texts.
    pub timezone: chrono_tz::Tz,
    /// At most one update notification per incident per this interval, and only when its
    /// documents changed.
    pub group_interval: Duration,
    /// An open incident nobody acknowledged is reminded again after this long without any
    /// notification (`None`: never).
    pub repeat_interval: Option<Duration>,
}

/// Every rule, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// The file they came from.
    pub file: PathBuf,
    /// Shared settings.
    pub defaults: Defaults,
    /// Enabled rules, in file order.
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// The longest [`Rule::span`]: how much history the engine keeps and rebuilds.
    pub fn span(&self) -> Duration {
        self.rules
            .iter()
            .map(Rule::span)
            .max()
            .unwrap_or(Duration::zero())
    }

    /// The longest reopen window.
    pub fn max_reopen_window(&self) -> Duration {
        self.rules
            .iter()
            .map(|r| r.reopen_window)
            .max()
            .unwrap_or(Duration::zero())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    version: u32,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawDefaults {
    console_base_url: String,
    timezone: String,
    group_interval_secs: u64,
    repeat_interval_secs: u64,
    quiet_period_secs: u64,
    reopen_window_secs: u64,
    escalate_unacknowledged_after_secs: u64,
}

impl Default for RawDefaults {
    fn default() -> Self {
        RawDefaults {
            console_base_url: DEFAULT_CONSOLE_BASE_URL.into(),
            timezone: DEFAULT_TIMEZONE.into(),
            group_interval_secs: DEFAULT_GROUP_INTERVAL_SECS,
            repeat_interval_secs: DEFAULT_REPEAT_INTERVAL_SECS,
            quiet_period_secs: DEFAULT_QUIET_PERIOD_SECS,
            reopen_window_secs: DEFAULT_REOPEN_WINDOW_SECS,
            escalate_unacknowledged_after_secs: DEFAULT_ESCALATE_UNACKNOWLEDGED_AFTER_SECS,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    kind: RuleKind,
    name: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "medium")]
    severity: Severity,
    #[serde(default)]
    escalate: Vec<EscalationStep>,
    #[serde(default)]
    entities: Vec<String>,
    channels: Option<Vec<Channel>>,
    #[serde(default)]
    risks: Vec<String>,
    #[serde(default)]
    dimensions: Vec<Dimension>,
    tags: Option<Vec<String>>,
    sentiment: Option<SentimentFilter>,
    window_secs: Option<u64>,
    min_count: Option<u64>,
    terms: Option<Vec<String>>,
    baseline_days: Option<u32>,
    sensitivity: Option<Sensitivity>,
    ratio: Option<f64>,
    stddevs: Option<f64>,
    wave_min_size: Option<u64>,
    group_by: Option<GroupBy>,
    quiet_period_secs: Option<u64>,
    reopen_window_secs: Option<u64>,
    escalate_unacknowledged_after_secs: Option<u64>,
}

fn yes() -> bool {
    true
}

fn medium() -> Severity {
    Severity::Medium
}

fn secs(s: u64) -> Duration {
    Duration::seconds(s.min(i64::MAX as u64 / 1000) as i64)
}

/// Read and validate `path`. `known_entities` are the configured entity ids; a rule naming
/// another entity is an error (pass an empty slice to skip that check).
pub fn load_rules(path: &Path, known_entities: &[String]) -> Result<RuleSet, ConfigErrors> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_rules(path, &text, known_entities),
        Err(e) => Err(ConfigErrors(vec![ConfigError::new(
            path,
            "",
            format!("cannot read file: {e}"),
        )])),
    }
}

/// Validate rules from `text` (read from `path`, which errors name).
pub fn parse_rules(
    path: &Path,
    text: &str,
    known_entities: &[String],
) -> Result<RuleSet, ConfigErrors> {
    let one = |key: String, reason: String| ConfigErrors(vec![ConfigError::new(path, key, reason)]);
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let key = e.span().map_or(String::new(), |s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("{line}:{col}")
        });
        one(key, format!("invalid TOML: {}", e.message().trim()))
    })?;
    let raw: RawRules =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            one(key, e.into_inner().message().trim().to_string())
        })?;
    let mut errors = Vec::new();
    let mut push = |key: String, reason: String| errors.push(ConfigError::new(path, key, reason));
    if raw.version != RULES_FILE_VERSION {
        push(
            "version".into(),
            format!(
                "unsupported version {}: expected {RULES_FILE_VERSION}",
                raw.version
            ),
        );
    }
    let d = &raw.defaults;
    let timezone = d.timezone.parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
        push(
            "defaults.timezone".into(),
            format!(
                "`{}` is not an IANA time zone such as Asia/Shanghai",
                d.timezone
            ),
        );
        chrono_tz::Asia::Shanghai
    });
    if !(d.console_base_url.starts_with("http://") || d.console_base_url.starts_with("https://")) {
        push(
            "defaults.console_base_url".into(),
            "expected an http:// or https:// URL".into(),
        );
    }
    if d.group_interval_secs < MIN_GROUP_INTERVAL_SECS {
        push(
            "defaults.group_interval_secs".into(),
            format!(
                "{} is below the floor of {MIN_GROUP_INTERVAL_SECS} seconds (a short interval floods chat groups)",
                d.group_interval_secs
            ),
        );
    }
    if d.quiet_period_secs == 0 {
        push(
            "defaults.quiet_period_secs".into(),
            "must be at least 1".into(),
        );
    }
    if d.repeat_interval_secs != 0 && d.repeat_interval_secs < d.group_interval_secs {
        push(
            "defaults.repeat_interval_secs".into(),
            "must be 0 (never) or at least defaults.group_interval_secs".into(),
        );
    }
    let defaults = Defaults {
        console_base_url: d.console_base_url.trim_end_matches('/').to_string(),
        timezone,
        group_interval: secs(d.group_interval_secs),
        repeat_interval: (d.repeat_interval_secs > 0).then(|| secs(d.repeat_interval_secs)),
    };

    let mut ids = HashSet::new();
    let mut rules = Vec::new();
    for (i, r) in raw.rule.into_iter().enumerate() {
        let k = |field: &str| format!("rule[{i}].{field}");
        let id_ok = !r.id.is_empty()
            && r.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !id_ok {
            push(k("id"), format!("`{}`: expected [a-z0-9_-]+", r.id));
        } else if !ids.insert(r.id.clone()) {
            push(k("id"), format!("`{}` is used by an earlier rule", r.id));
        }
        for e in &r.entities {
            if !known_entities.is_empty() && !known_entities.contains(e) {
                push(
                    k("entities"),
                    format!(
                        "unknown entity `{e}`: expected one of {}",
                        known_entities.join(", ")
                    ),
                );
            }
        }
        let kind = r.kind;
        // Fields that belong to one kind only.
        let only = |present: bool, field: &str, kinds: &[RuleKind]| -> Option<(String, String)> {
            (present && !kinds.contains(&kind)).then(|| {
                let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                (
                    k(field),
                    format!("not used by kind `{kind}` (only by {})", names.join(", ")),
                )
            })
        };
        let spike_only = [RuleKind::Spike];
        for (key, reason) in [
            only(r.terms.is_some(), "terms", &[RuleKind::Keyword]),
            only(r.baseline_days.is_some(), "baseline_days", &spike_only),
            only(r.sensitivity.is_some(), "sensitivity", &spike_only),
            only(r.ratio.is_some(), "ratio", &spike_only),
            only(r.stddevs.is_some(), "stddevs", &spike_only),
            only(
                r.wave_min_size.is_some(),
                "wave_min_size",
                &[RuleKind::ComplaintSurge],
            ),
            only(
                r.group_by == Some(GroupBy::Term),
                "group_by",
                &[RuleKind::Keyword],
            ),
        ]
        .into_iter()
        .flatten()
        {
            push(key, reason);
        }
        let terms: Vec<String> = r
            .terms
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.trim().to_string())
            .collect();
        if kind == RuleKind::Keyword && (terms.is_empty() || terms.iter().any(String::is_empty)) {
            push(
                k("terms"),
                "a keyword rule needs a list of non-empty terms such as [\"爆雷\", \"跑路\"]"
                    .into(),
            );
        }
        let window_secs = r.window_secs.unwrap_or(DEFAULT_WINDOW_SECS);
        if window_secs == 0 || window_secs > MAX_WINDOW_SECS {
            push(
                k("window_secs"),
                format!("{window_secs}: expected 1..={MAX_WINDOW_SECS}"),
            );
        }
        let spike = (kind == RuleKind::Spike).then(|| {
            let (ratio, stddevs, _) = r.sensitivity.unwrap_or(Sensitivity::Medium).params();
            SpikeParams {
                baseline_days: r.baseline_days.unwrap_or(DEFAULT_BASELINE_DAYS),
                ratio: r.ratio.unwrap_or(ratio),
                stddevs: r.stddevs.unwrap_or(stddevs),
            }
        });
        if let Some(s) = spike {
            if s.baseline_days == 0 || s.baseline_days > MAX_BASELINE_DAYS {
                push(
                    k("baseline_days"),
                    format!("{}: expected 1..={MAX_BASELINE_DAYS}", s.baseline_days),
                );
            }
            if !(s.ratio.is_finite() && s.ratio >= 1.0) {
                push(k("ratio"), "expected a number of at least 1.0".into());
            }
            if !(s.stddevs.is_finite() && s.stddevs >= 0.0) {
                push(k("stddevs"), "expected a number of at least 0".into());
            }
            if window_secs > 86_400 {
                push(
                    k("window_secs"),
                    "a spike rule compares the same hours on past days: at most 86400".into(),
                );
            }
        }
        let default_min = match kind {
            RuleKind::Volume => 10,
            RuleKind::Spike => r.sensitivity.unwrap_or(Sensitivity::Medium).params().2,
            RuleKind::Keyword | RuleKind::Authority => 1,
            RuleKind::ComplaintSurge => 20,
        };
        let min_count = r.min_count.unwrap_or(default_min);
        if min_count == 0 {
            push(k("min_count"), "must be at least 1".into());
        }
        let mut last = (0u64, r.severity);
        for (j, step) in r.escalate.iter().enumerate() {
            if step.count <= last.0 || step.count < min_count || step.severity <= last.1 {
                push(
                    format!("rule[{i}].escalate[{j}]"),
                    "steps must rise: count above min_count and the previous step, severity above the rule's and the previous step's".into(),
                );
            }
            last = (step.count, step.severity);
        }
        let default_channels = match kind {
            RuleKind::ComplaintSurge => vec![Channel::Complaint],
            _ => Vec::new(),
        };
        let default_tags = match kind {
            RuleKind::Authority => vec![DEFAULT_AUTHORITY_TAG.to_string()],
            _ => Vec::new(),
        };
        let tags = r.tags.unwrap_or(default_tags);
        if kind == RuleKind::Authority && tags.is_empty() {
            push(
                k("tags"),
                "an authority rule needs the tags of authoritative sources".into(),
            );
        }
        let sentiment = r.sentiment.unwrap_or(match kind {
            RuleKind::Keyword | RuleKind::ComplaintSurge => SentimentFilter::Any,
            _ => SentimentFilter::Negative,
        });
        let unack = r
            .escalate_unacknowledged_after_secs
            .unwrap_or(d.escalate_unacknowledged_after_secs);
        let quiet = r.quiet_period_secs.unwrap_or(d.quiet_period_secs);
        if quiet == 0 {
            push(k("quiet_period_secs"), "must be at least 1".into());
        }
        let name = r.name.unwrap_or_else(|| {
            match kind {
                RuleKind::Volume => "负面舆情增多",
                RuleKind::Spike => "负面舆情激增",
                RuleKind::Keyword => "高风险舆情",
                RuleKind::Authority => "权威来源负面报道",
                RuleKind::ComplaintSurge => "投诉激增",
            }
            .to_string()
        });
        if !r.enabled {
            continue;
        }
        rules.push(Rule {
            id: r.id,
            kind,
            name,
            severity: r.severity,
            escalate: r.escalate,
            filter: Filter {
                entities: r.entities,
                channels: r.channels.unwrap_or(default_channels),
                risks: r.risks,
                dimensions: r.dimensions,
                tags,
                sentiment,
            },
            window: secs(window_secs),
            min_count,
            spike,
            terms,
            wave_min_size: if kind == RuleKind::ComplaintSurge {
                r.wave_min_size.unwrap_or(DEFAULT_WAVE_MIN_SIZE)
            } else {
                0
            },
            group_by: r.group_by.unwrap_or(GroupBy::Entity),
            quiet_period: secs(quiet),
            reopen_window: secs(r.reopen_window_secs.unwrap_or(d.reopen_window_secs)),
            escalate_unacknowledged_after: (unack > 0).then(|| secs(unack)),
        });
    }
    if errors.is_empty() {
        Ok(RuleSet {
            file: path.to_path_buf(),
            defaults,
            rules,
        })
    } else {
        Err(ConfigErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuleSet, ConfigErrors> {
        parse_rules(
            Path::new("config/rules.toml"),
            text,
            &["hengxin".to_string(), "rival".to_string()],
        )
    }

    fn only_error(text: &str) -> ConfigError {
        let e = parse(text).unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
        e.0.into_iter().next().unwrap()
    }

    #[test]
    fn the_shipped_rules_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/rules.toml");
        let set = load_rules(&path, &["hengxin".to_string(), "rival".to_string()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(set.rules.len() >= 5);
        for kind in RuleKind::ALL {
            assert!(set.rules.iter().any(|r| r.kind == kind), "no {kind} rule");
        }
    }

    #[test]
    fn defaults_per_kind() {
        let set = parse(
            "version = 1\n[[rule]]\nid = \"s\"\nkind = \"spike\"\nsensitivity = \"high\"\n\
             [[rule]]\nid = \"c\"\nkind = \"complaint_surge\"\n\
             [[rule]]\nid = \"a\"\nkind = \"authority\"\n",
        )
        .unwrap();
        let s = &set.rules[0];
        assert_eq!(s.min_count, 5);
        assert_eq!(s.spike.unwrap().ratio, 2.0);
        assert_eq!(s.span(), Duration::hours(1) + Duration::days(7));
        assert_eq!(set.rules[1].filter.channels, vec![Channel::Complaint]);
        assert_eq!(set.rules[1].wave_min_size, DEFAULT_WAVE_MIN_SIZE);
        assert_eq!(set.rules[2].filter.tags, vec!["authoritative".to_string()]);
        assert_eq!(set.rules[2].filter.sentiment, SentimentFilter::Negative);
        assert_eq!(set.defaults.group_interval, Duration::seconds(300));
    }

    #[test]
    fn severity_rises_with_steps() {
        let set = parse(
            "version = 1\n[[rule]]\nid = \"v\"\nkind = \"volume\"\nmin_count = 10\n\
             escalate = [{ count = 50, severity = \"high\" }, { count = 200, severity = \"critical\" }]\n",
        )
        .unwrap();
        let r = &set.rules[0];
        assert_eq!(r.severity_for(10), Severity::Medium);
        assert_eq!(r.severity_for(60), Severity::High);
        assert_eq!(r.severity_for(500), Severity::Critical);
    }

    #[test]
    fn errors_name_file_key_and_reason() {
        let e = only_error("version = 1\n[[rule]]\nid = \"v\"\nkind = \"volume\"\nwindow = 3\n");
        assert_eq!(e.file, Path::new("config/rules.toml"));
        assert_eq!(e.key, "rule[0].window");
        assert!(e.reason.contains("unknown field `window`"), "{}", e.reason);

        let e = only_error("version = 1\n[[rule]]\nid = \"v\"\nkind = \"surge\"\n");
        assert_eq!(e.key, "rule[0].kind");
        assert!(e.reason.contains("unknown variant"), "{}", e.reason);

        let e = only_error("version = 1\n[[rule]]\nid = \"k\"\nkind = \"keyword\"\n");
        assert_eq!(e.key, "rule[0].terms");

        let e = only_error("version = 1\n[defaults]\ngroup_interval_secs = 1\n");
        assert_eq!(e.key, "defaults.group_interval_secs");
        assert!(e.reason.contains("floor"), "{}", e.reason);

        let e =
            only_error("version = 1\n[[rule]]\nid = \"v\"\nkind = \"volume\"\nterms = [\"a\"]\n");
        assert_eq!(e.key, "rule[0].terms");
        assert!(
            e.reason.contains("not used by kind `volume`"),
            "{}",
            e.reason
        );

        let e = only_error(
            "version = 1\n[[rule]]\nid = \"v\"\nkind = \"volume\"\nentities = [\"nobody\"]\n",
        );
        assert_eq!(e.key, "rule[0].entities");

        let e = only_error(
            "version = 1\n[[rule]]\nid = \"v\"\nkind = \"volume\"\n[[rule]]\nid = \"v\"\nkind = \"spike\"\n",
        );
        assert_eq!(e.key, "rule[1].id");

        let e = only_error("version = 1\n[[rule]\n");
        assert!(e.key.starts_with("2:"), "{e}");

        let e = only_error(
            "version = 1\n[[rule]]\nid = \"v\"\nkind = \"volume\"\nmin_count = 10\n\
             escalate = [{ count = 5, severity = \"high\" }]\n",
        );
        assert_eq!(e.key, "rule[0].escalate[0]");
    }
}
