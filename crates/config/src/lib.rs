//! Reads, interpolates and validates yuqing's configuration into domain types. No network I/O.
//!
//! Inputs: `yuqing.toml` (settings), the entities file and one TOML file per source below the
//! connectors directory. Relative paths inside `yuqing.toml` resolve against the directory of
//! `yuqing.toml` itself, so the daemon behaves the same from any working directory.
//!
//! Contract:
//! * every file is parsed with `deny_unknown_fields`; a mistake is reported as a
//!   [`ConfigError`] naming the file, the dotted key and the reason, and one load reports every
//!   mistake it can find (one per file at most for type errors, all validation errors);
//! * secrets come only from `${NAME}` interpolation in string values; the environment is passed
//!   in as a map so tests never touch the process environment;
//! * precedence is file < environment (`YUQING_DATA_DIR`, `YUQING_BIND`, `YUQING_LOG_FORMAT`,
//!   `YUQING_LOG_LEVEL`) < command line ([`Overrides`]);
//! * a source's `[params]` are checked by its connector kind, not here.

mod entities;
mod error;
mod parse;
mod settings;
mod sources;
mod workflow;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use error::{ConfigError, ConfigErrors, Errors};
pub use parse::interpolate_str;
pub use settings::*;
pub use sources::{
    DEFAULT_INTERVAL_SECS, DEFAULT_MAX_CONCURRENT, DEFAULT_REQUESTS_PER_MINUTE, RateLimit,
    SOURCE_FILE_VERSION, SourceSpec,
};
pub use workflow::*;
use yuqing_model::Entity;

/// Everything the daemon needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `yuqing.toml` this came from.
    pub config_file: PathBuf,
    /// Settings with paths resolved.
    pub settings: Settings,
    /// Watched entities.
    pub entities: Vec<Entity>,
    /// Every source file, enabled or not.
    pub sources: Vec<SourceSpec>,
}

/// Values given on the command line; they win over file and environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--bind`.
    pub bind: Option<std::net::SocketAddr>,
}

/// Load and validate everything. `env` is the process environment (or a test's map).
pub fn load(
    config_file: &Path,
    env: &HashMap<String, String>,
    overrides: &Overrides,
) -> Result<Config, ConfigErrors> {
    match load_partial(config_file, env, overrides) {
        (Some(config), errors) if errors.is_empty() => Ok(config),
        (_, errors) => Err(ConfigErrors(errors)),
    }
}

/// Load what can be loaded and every error found. The config is `None` only when the settings
/// file itself is unusable; otherwise it holds every source and entity that loaded, so a caller
/// (`yuqing check`) can go on validating them and report all mistakes in one run.
pub fn load_partial(
    config_file: &Path,
    env: &HashMap<String, String>,
    overrides: &Overrides,
) -> (Option<Config>, Vec<ConfigError>) {
    let mut errors = Errors::default();
    let Some(settings) = load_settings(config_file, env, overrides, &mut errors) else {
        return (None, errors.0);
    };
    let entities = entities::load(&settings.entities_file, env, &mut errors);
    let sources = sources::load(&settings.connectors_dir, env, &mut errors);
    let config = Config {
        config_file: config_file.to_path_buf(),
        settings,
        entities,
        sources,
    };
    (Some(config), errors.0)
}

/// `p` against `base`, with `.` and `..` folded away where possible (so messages show
/// `/srv/yuqing/connectors/a.toml`, not `/srv/yuqing/config/../connectors/a.toml`).
fn resolve(base: &Path, p: PathBuf) -> PathBuf {
    use std::path::Component;
    let joined = if p.is_absolute() { p } else { base.join(p) };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

fn load_settings(
    file: &Path,
    env: &HashMap<String, String>,
    overrides: &Overrides,
    errors: &mut Errors,
) -> Option<Settings> {
    let mut table = parse::read_table(file, errors)?;
    parse::interpolate(file, &mut table, env, errors);
    let raw: settings::RawSettings = parse::typed(file, "", table, errors)?;
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut s = Settings {
        data_dir: resolve(&base, raw.data_dir),
        connectors_dir: resolve(&base, raw.connectors_dir),
        entities_file: resolve(&base, raw.entities_file),
        rules_file: resolve(&base, raw.rules_file),
        notify_file: resolve(&base, raw.notify_file),
        timezone: raw.timezone,
        server: raw.server,
        log: raw.log,
        fetch: raw.fetch,
        pipeline: raw.pipeline,
        analysis: AnalysisSettings {
            user_dicts: raw
                .analysis
                .user_dicts
                .into_iter()
                .map(|p| resolve(&base, p))
                .collect(),
            sentiment_lexicon: resolve(&base, raw.analysis.sentiment_lexicon),
            risk_rules: resolve(&base, raw.analysis.risk_rules),
            negative_threshold: raw.analysis.negative_threshold,
            positive_threshold: raw.analysis.positive_threshold,
        },
        workflow: raw.workflow,
    };
    apply_env(file, &mut s, env, errors);
    if let Some(d) = &overrides.data_dir {
        s.data_dir = d.clone();
    }
    if let Some(b) = overrides.bind {
        s.server.bind = b;
    }
    validate(file, &s, errors);
    Some(s)
}

fn apply_env(file: &Path, s: &mut Settings, env: &HashMap<String, String>, errors: &mut Errors) {
    if let Some(v) = env.get("YUQING_DATA_DIR") {
        s.data_dir = PathBuf::from(v);
    }
    if let Some(v) = env.get("YUQING_BIND") {
        match v.parse() {
            Ok(b) => s.server.bind = b,
            Err(_) => errors.push(
                file,
                "server.bind",
                format!("YUQING_BIND=`{v}` is not an address like 127.0.0.1:8080"),
            ),
        }
    }
    if let Some(v) = env.get("YUQING_LOG_FORMAT") {
        match v.as_str() {
            "text" => s.log.format = LogFormat::Text,
            "json" => s.log.format = LogFormat::Json,
            _ => errors.push(
                file,
                "log.format",
                format!("YUQING_LOG_FORMAT=`{v}`: expected `text` or `json`"),
            ),
        }
    }
    if let Some(v) = env.get("YUQING_LOG_LEVEL") {
        s.log.level = v.clone();
    }
}

fn validate(file: &Path, s: &Settings, errors: &mut Errors) {
    if s.timezone.parse::<chrono_tz::Tz>().is_err() {
        errors.push(
            file,
            "timezone",
            format!(
                "`{}` is not an IANA time zone such as Asia/Shanghai",
                s.timezone
            ),
        );
    }
    let f = &s.fetch;
    if f.timeout_secs == 0 {
        errors.push(file, "fetch.timeout_secs", "must be at least 1");
    }
    if f.connect_timeout_secs == 0 || f.connect_timeout_secs > f.timeout_secs {
        errors.push(
            file,
            "fetch.connect_timeout_secs",
            "must be between 1 and fetch.timeout_secs",
        );
    }
    if f.max_body_bytes < 1024 {
        errors.push(file, "fetch.max_body_bytes", "must be at least 1024");
    }
    for (i, n) in f.allowed_networks.iter().enumerate() {
        if n.parse::<ipnet::IpNet>().is_err() {
            errors.push(
                file,
                format!("fetch.allowed_networks[{i}]"),
                format!("`{n}` is not a network like 10.20.0.0/16"),
            );
        }
    }
    if f.per_host_requests_per_minute == 0 {
        errors.push(
            file,
            "fetch.per_host_requests_per_minute",
            "must be at least 1",
        );
    }
    if f.per_host_max_concurrent == 0 {
        errors.push(file, "fetch.per_host_max_concurrent", "must be at least 1");
    }
    if f.user_agent.trim().is_empty() {
        errors.push(
            file,
            "fetch.user_agent",
            "must not be empty: sites deserve to know who calls",
        );
    }
    let p = &s.pipeline;
    for (key, v) in [
        ("pipeline.channel_capacity", p.channel_capacity),
        ("pipeline.max_batch_docs", p.max_batch_docs),
        ("pipeline.analyzer_threads", p.analyzer_threads),
        ("pipeline.index_writer_threads", p.index_writer_threads),
    ] {
        if v == 0 {
            errors.push(file, key, "must be at least 1");
        }
    }
    if p.index_writer_memory_mb < 15 * p.index_writer_threads.max(1) {
        errors.push(
            file,
            "pipeline.index_writer_memory_mb",
            "must be at least 15 per index writer thread (tantivy's minimum)",
        );
    }
    if !(0.0..=0.5).contains(&p.poll_jitter_ratio) {
        errors.push(
            file,
            "pipeline.poll_jitter_ratio",
            "must be between 0 and 0.5",
        );
    }
    if p.failing_after == 0 {
        errors.push(file, "pipeline.failing_after", "must be at least 1");
    }
    if p.max_backoff_secs == 0 {
        errors.push(file, "pipeline.max_backoff_secs", "must be at least 1");
    }
    if !(p.adaptive_min_ratio > 0.0 && p.adaptive_min_ratio <= 1.0) {
        errors.push(file, "pipeline.adaptive_min_ratio", "must be in (0, 1]");
    }
    if !(p.adaptive_max_ratio >= 1.0 && p.adaptive_max_ratio <= 100.0) {
        errors.push(file, "pipeline.adaptive_max_ratio", "must be in [1, 100]");
    }
    if !(p.stale_factor >= 0.0 && p.stale_factor.is_finite()) {
        errors.push(file, "pipeline.stale_factor", "must be 0 (never) or more");
    }
    workflow::validate(file, &s.workflow, errors);
    let a = &s.analysis;
    if !(-1.0..0.0).contains(&a.negative_threshold) {
        errors.push(file, "analysis.negative_threshold", "must be in [-1, 0)");
    }
    if !(a.positive_threshold > 0.0 && a.positive_threshold <= 1.0) {
        errors.push(file, "analysis.positive_threshold", "must be in (0, 1]");
    }
    for (i, d) in a.user_dicts.iter().enumerate() {
        if !d.is_file() {
            errors.push(
                file,
                format!("analysis.user_dicts[{i}]"),
                format!("no such file: {}", d.display()),
            );
        }
    }
    if !a.sentiment_lexicon.is_file() {
        errors.push(
            file,
            "analysis.sentiment_lexicon",
            format!("no such file: {}", a.sentiment_lexicon.display()),
        );
    }
    if !a.risk_rules.is_file() {
        errors.push(
            file,
            "analysis.risk_rules",
            format!("no such file: {}", a.risk_rules.display()),
        );
    }
    for (key, f) in [
        ("rules_file", &s.rules_file),
        ("notify_file", &s.notify_file),
    ] {
        if !f.is_file() {
            errors.push(file, key, format!("no such file: {}", f.display()));
        }
    }
    if !s.entities_file.is_file() {
        errors.push(
            file,
            "entities_file",
            format!("no such file: {}", s.entities_file.display()),
        );
    }
    if !s.connectors_dir.is_dir() {
        errors.push(
            file,
            "connectors_dir",
            format!("no such directory: {}", s.connectors_dir.display()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(yuqing: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("config");
        std::fs::create_dir_all(c.join("dict")).unwrap();
        std::fs::create_dir_all(dir.path().join("connectors")).unwrap();
        std::fs::write(c.join("yuqing.toml"), yuqing).unwrap();
        std::fs::write(c.join("dict/yuqing.txt"), "恒信消费金融 1000 nt\n").unwrap();
        std::fs::write(c.join("sentiment.toml"), "").unwrap();
        std::fs::write(c.join("risk.toml"), "").unwrap();
        std::fs::write(c.join("rules.toml"), "").unwrap();
        std::fs::write(c.join("notify.toml"), "").unwrap();
        std::fs::write(
            c.join("entities.toml"),
            "[[entity]]\nid = \"a\"\nname = \"甲公司\"\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn defaults_resolve_against_the_config_directory() {
        let dir = layout("");
        let cfg = load(
            &dir.path().join("config/yuqing.toml"),
            &HashMap::new(),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(cfg.settings.data_dir, dir.path().join("data"));
        assert_eq!(cfg.settings.server.bind.to_string(), DEFAULT_BIND);
        assert_eq!(cfg.entities.len(), 1);
    }

    #[test]
    fn relative_paths_fold_parent_components() {
        assert_eq!(
            resolve(Path::new("config"), "../data".into()),
            PathBuf::from("data")
        );
        assert_eq!(
            resolve(Path::new(""), "../data".into()),
            PathBuf::from("../data")
        );
        assert_eq!(
            resolve(Path::new("/a/b"), "/abs".into()),
            PathBuf::from("/abs")
        );
    }

    #[test]
    fn precedence_is_file_then_env_then_cli() {
        let dir = layout("data_dir = \"/from/file\"\n[server]\nbind = \"127.0.0.1:1\"\n");
        let f = dir.path().join("config/yuqing.toml");
        let env = HashMap::from([
            ("YUQING_DATA_DIR".to_string(), "/from/env".to_string()),
            ("YUQING_BIND".to_string(), "127.0.0.1:2".to_string()),
        ]);
        let cfg = load(&f, &env, &Overrides::default()).unwrap();
        assert_eq!(cfg.settings.data_dir, PathBuf::from("/from/env"));
        assert_eq!(cfg.settings.server.bind.port(), 2);
        let cli = Overrides {
            data_dir: Some("/from/cli".into()),
            bind: Some("127.0.0.1:3".parse().unwrap()),
        };
        let cfg = load(&f, &env, &cli).unwrap();
        assert_eq!(cfg.settings.data_dir, PathBuf::from("/from/cli"));
        assert_eq!(cfg.settings.server.bind.port(), 3);
    }

    #[test]
    fn every_settings_mistake_is_reported() {
        let dir = layout("timezone = \"Mars/Base\"\n[pipeline]\nindex_writer_threads = 0\n");
        let errs = load(
            &dir.path().join("config/yuqing.toml"),
            &HashMap::new(),
            &Overrides::default(),
        )
        .unwrap_err();
        let keys: Vec<_> = errs.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["timezone", "pipeline.index_writer_threads"]);
    }

    #[test]
    fn unknown_settings_key_names_its_path() {
        let dir = layout("[fetch]\ntimeout = 5\n");
        let errs = load(
            &dir.path().join("config/yuqing.toml"),
            &HashMap::new(),
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(errs.0.len(), 1);
        assert!(errs.0[0].key.starts_with("fetch"), "{:?}", errs.0);
        assert!(
            errs.0[0].reason.contains("unknown field `timeout`"),
            "{:?}",
            errs.0
        );
    }
}
