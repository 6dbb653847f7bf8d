//! `connectors/**/*.toml`: one file per monitored source. The envelope is validated here; the
//! `[params]` table is handed, interpolated, to the connector kind, which validates it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use yuqing_model::{Channel, SourceId};

use crate::error::Errors;
use crate::parse;

/// The only envelope version this build reads.
pub const SOURCE_FILE_VERSION: u32 = 1;
/// Default poll interval.
pub const DEFAULT_INTERVAL_SECS: u64 = 300;
/// Default requests per minute to one source.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 30;
/// Default concurrent requests of one source.
pub const DEFAULT_MAX_CONCURRENT: usize = 2;

/// A validated source definition.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    /// Path below the connectors directory without `.toml`, `/`-separated.
    pub id: SourceId,
    /// The file it came from.
    pub file: PathBuf,
    /// Display name.
    pub name: String,
    /// Connector kind (`feed`, …), resolved by the connectors registry.
    pub kind: String,
    /// Disabled sources are validated but never polled.
    pub enabled: bool,
    /// Poll interval.
    pub interval_secs: u64,
    /// What kind of place it is.
    pub channel: Channel,
    /// Free tags carried onto every document (e.g. `authoritative`).
    pub tags: Vec<String>,
    /// Politeness towards this source.
    pub rate_limit: RateLimit,
    /// Why robots.txt is not obeyed for this source (`None`: it is).
    pub ignore_robots: Option<String>,
    /// Kind-specific parameters, interpolated.
    pub params: toml::Table,
}

/// `[rate_limit]` of a source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    /// Requests per minute to this source.
    pub requests_per_minute: u32,
    /// Requests in flight at once.
    pub max_concurrent: usize,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            requests_per_minute: DEFAULT_REQUESTS_PER_MINUTE,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    version: u32,
    kind: String,
    name: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "d_interval")]
    interval_secs: u64,
    #[serde(default = "d_channel")]
    channel: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    rate_limit: RateLimit,
    ignore_robots: Option<String>,
    #[serde(default)]
    params: toml::Table,
}

fn yes() -> bool {
    true
}
fn d_interval() -> u64 {
    DEFAULT_INTERVAL_SECS
}
fn d_channel() -> String {
    "news".into()
}

/// Every `*.toml` below `dir`, sorted, so ids and error order are stable.
fn toml_files(dir: &Path, errors: &mut Errors) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                errors.push(&d, "", format!("cannot read connectors directory: {e}"));
                continue;
            }
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "toml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn source_id(dir: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(dir).unwrap_or(file).with_extension("");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

pub(crate) fn load(
    dir: &Path,
    env: &HashMap<String, String>,
    errors: &mut Errors,
) -> Vec<SourceSpec> {
    let mut out = Vec::new();
    for file in toml_files(dir, errors) {
        if let Some(spec) = load_one(dir, &file, env, errors) {
            out.push(spec);
        }
    }
    out
}

fn load_one(
    dir: &Path,
    file: &Path,
    env: &HashMap<String, String>,
    errors: &mut Errors,
) -> Option<SourceSpec> {
    let mut table = parse::read_table(file, errors)?;
    let before = errors.0.len();
    parse::interpolate(file, &mut table, env, errors);
    let raw = parse::typed::<RawSource>(file, "", table, errors)?;
    if raw.version != SOURCE_FILE_VERSION {
        errors.push(
            file,
            "version",
            format!(
                "unsupported version {}: this build reads version {SOURCE_FILE_VERSION}",
                raw.version
            ),
        );
    }
    if raw.interval_secs == 0 {
        errors.push(file, "interval_secs", "must be at least 1 second");
    }
    let channel = Channel::parse(&raw.channel);
    if channel.is_none() {
        let known: Vec<_> = Channel::ALL.iter().map(|c| c.as_str()).collect();
        errors.push(
            file,
            "channel",
            format!(
                "unknown channel `{}`: expected one of {}",
                raw.channel,
                known.join(", ")
            ),
        );
    }
    if raw.rate_limit.requests_per_minute == 0 {
        errors.push(file, "rate_limit.requests_per_minute", "must be at least 1");
    }
    if raw.rate_limit.max_concurrent == 0 {
        errors.push(file, "rate_limit.max_concurrent", "must be at least 1");
    }
    for (i, t) in raw.tags.iter().enumerate() {
        if t.trim().is_empty() || t.chars().any(char::is_whitespace) {
            errors.push(
                file,
                format!("tags[{i}]"),
                format!("`{t}` is not a tag: no spaces"),
            );
        }
    }
    if raw
        .ignore_robots
        .as_deref()
        .is_some_and(|r| r.trim().is_empty())
    {
        errors.push(
            file,
            "ignore_robots",
            "give the reason robots.txt is not obeyed (e.g. a written agreement)",
        );
    }
    if errors.0.len() > before {
        return None;
    }
    let id = source_id(dir, file);
    Some(SourceSpec {
        name: raw.name.unwrap_or_else(|| id.clone()),
        id: SourceId(id),
        file: file.to_path_buf(),
        kind: raw.kind,
        enabled: raw.enabled,
        interval_secs: raw.interval_secs,
        channel: channel?,
        tags: raw.tags,
        rate_limit: raw.rate_limit,
        ignore_robots: raw.ignore_robots,
        params: raw.params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_relative_paths_and_errors_name_keys() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("news")).unwrap();
        std::fs::write(
            dir.path().join("news/a.toml"),
            "version = 1\nkind = \"feed\"\ninterval_secs = 60\ntags = [\"authoritative\"]\n[params]\nurl = \"https://a.example/rss\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.toml"),
            "version = 2\nkind = \"feed\"\nchannel = \"tv\"\n[rate_limit]\nmax_concurrent = 0\n",
        )
        .unwrap();
        let mut errors = Errors::default();
        let specs = load(dir.path(), &HashMap::new(), &mut errors);
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].id.as_str(), "news/a");
        assert_eq!(specs[0].channel, Channel::News);
        assert_eq!(
            specs[0].params["url"].as_str(),
            Some("https://a.example/rss")
        );
        let keys: Vec<_> = errors.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["version", "channel", "rate_limit.max_concurrent"]);
    }

    #[test]
    fn unknown_envelope_key_is_reported_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.toml"),
            "version = 1\nkind = \"feed\"\nintervall = 5\n",
        )
        .unwrap();
        let mut errors = Errors::default();
        load(dir.path(), &HashMap::new(), &mut errors);
        assert_eq!(errors.0.len(), 1);
        assert!(
            errors.0[0].reason.contains("unknown field `intervall`"),
            "{:?}",
            errors.0
        );
    }
}
