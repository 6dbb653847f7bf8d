//! `yuqing.toml`: the daemon's settings. Every option has a named default here and appears,
//! commented, in `config/yuqing.toml`.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Default data directory, relative to the config file's directory.
pub const DEFAULT_DATA_DIR: &str = "../data";
/// Default connectors directory, relative to the config file's directory.
pub const DEFAULT_CONNECTORS_DIR: &str = "../connectors";
/// Default entities file, relative to the config file's directory.
pub const DEFAULT_ENTITIES_FILE: &str = "entities.toml";
/// Default console and API bind address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default incident rules file, relative to the config file's directory.
pub const DEFAULT_RULES_FILE: &str = "rules.toml";
/// Default chat channels and routing file, relative to the config file's directory.
pub const DEFAULT_NOTIFY_FILE: &str = "notify.toml";
/// Default display time zone.
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";
/// Default total deadline of one fetch.
pub const DEFAULT_FETCH_TIMEOUT_SECS: u64 = 30;
/// Default TCP connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
/// Default cap on a response body, after decompression (15 MiB).
pub const DEFAULT_MAX_BODY_BYTES: u64 = 15 * 1024 * 1024;
/// Default cap on redirects followed by one fetch.
pub const DEFAULT_MAX_REDIRECTS: usize = 5;
/// Default requests per minute to one host, over all sources.
pub const DEFAULT_PER_HOST_REQUESTS_PER_MINUTE: u32 = 60;
/// Default requests in flight to one host, over all sources.
pub const DEFAULT_PER_HOST_MAX_CONCURRENT: usize = 2;
/// Default retries of a fetch after a timeout, network error or 5xx.
pub const DEFAULT_FETCH_RETRIES: u32 = 2;
/// Default first retry delay; doubles per retry, with jitter.
pub const DEFAULT_RETRY_BASE_MS: u64 = 500;
/// Default cap on a server's `Retry-After`.
pub const DEFAULT_MAX_RETRY_AFTER_SECS: u64 = 3600;
/// Default capacity of each bounded channel between stages.
pub const DEFAULT_CHANNEL_CAPACITY: usize = 64;
/// Default longest wait before buffered documents are committed.
pub const DEFAULT_COMMIT_INTERVAL_MS: u64 = 1000;
/// Default most documents in one commit.
pub const DEFAULT_MAX_BATCH_DOCS: usize = 2000;
/// Default tantivy writer threads (2 measured best on a 2-core machine).
pub const DEFAULT_INDEX_WRITER_THREADS: usize = 2;
/// Default tantivy writer memory budget over all threads.
pub const DEFAULT_INDEX_WRITER_MEMORY_MB: usize = 128;
/// Default jitter applied to each poll interval, as a fraction of it.
pub const DEFAULT_POLL_JITTER_RATIO: f64 = 0.1;
/// Default failed polls in a row before a source is `failing`.
pub const DEFAULT_FAILING_AFTER: u32 = 5;
/// Default cap on the backoff between polls of a failing source.
pub const DEFAULT_MAX_BACKOFF_SECS: u64 = 3600;
/// Default shortest adaptive poll interval, as a fraction of a source's `interval_secs`.
pub const DEFAULT_ADAPTIVE_MIN_RATIO: f64 = 0.25;
/// Default longest adaptive poll interval, as a multiple of a source's `interval_secs`.
pub const DEFAULT_ADAPTIVE_MAX_RATIO: f64 = 4.0;
/// Default number of usual gaps between new items after which a quiet source is `stale`.
pub const DEFAULT_STALE_FACTOR: f64 = 5.0;
/// Default analysis worker threads (2 measured 1.7× the ingest rate of 1 on 2 cores:
/// `YUQING_BENCH_ANALYZERS=2 cargo bench --bench ingest`).
pub const DEFAULT_ANALYZER_THREADS: usize = 2;
/// Default sentiment score at or below which a document is negative.
pub const DEFAULT_NEGATIVE_THRESHOLD: f32 = -0.2;
/// Default sentiment score at or above which a document is positive.
pub const DEFAULT_POSITIVE_THRESHOLD: f32 = 0.2;

/// The whole of `yuqing.toml`, validated; relative paths already resolved against the config
/// file's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Where `index/` and `yuqing.db` live.
    pub data_dir: PathBuf,
    /// One TOML file per source, searched recursively.
    pub connectors_dir: PathBuf,
    /// The watched entities.
    pub entities_file: PathBuf,
    /// Incident rules.
    pub rules_file: PathBuf,
    /// Chat channels, routing, grouping and quiet hours.
    pub notify_file: PathBuf,
    /// IANA zone for display.
    pub timezone: String,
    /// Console and API.
    pub server: ServerSettings,
    /// Logging.
    pub log: LogSettings,
    /// Shared HTTP fetcher.
    pub fetch: FetchSettings,
    /// Stage wiring.
    pub pipeline: PipelineSettings,
    /// Text analysis.
    pub analysis: AnalysisSettings,
    /// The improvement workflow.
    pub workflow: crate::workflow::WorkflowSettings,
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address the console and API listen on.
    pub bind: SocketAddr,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: DEFAULT_BIND.parse().expect("default bind address is valid"),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `info,yuqing_connectors=debug`; `RUST_LOG` overrides.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// `[fetch]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchSettings {
    /// User-Agent sent with every request.
    pub user_agent: String,
    /// Total wall-clock deadline of one fetch, headers and body.
    pub timeout_secs: u64,
    /// TCP connect timeout.
    pub connect_timeout_secs: u64,
    /// Cap on a response body after decompression.
    pub max_body_bytes: u64,
    /// Most redirects one fetch follows.
    pub max_redirects: usize,
    /// Allow fetching loopback and private-range addresses (the demo and tests need it).
    pub allow_private_addresses: bool,
    /// Networks allowed even though they are private (CIDR, e.g. `10.20.0.0/16`).
    pub allowed_networks: Vec<String>,
    /// Requests per minute to one host, over all sources (charged to the host actually
    /// contacted, redirects included).
    pub per_host_requests_per_minute: u32,
    /// Requests in flight to one host, over all sources.
    pub per_host_max_concurrent: usize,
    /// Retries of one fetch after a timeout, network error or 5xx.
    pub retries: u32,
    /// First retry delay; doubles per retry, with jitter.
    pub retry_base_ms: u64,
    /// Cap on a server's `Retry-After`; the host is paused that long at most.
    pub max_retry_after_secs: u64,
    /// Respect robots.txt (a source can opt out with `ignore_robots = "reason"`).
    pub obey_robots: bool,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            user_agent: format!(
                "yuqing/{} (public-opinion monitor; contact: ops@example.com)",
                env!("CARGO_PKG_VERSION")
            ),
            timeout_secs: DEFAULT_FETCH_TIMEOUT_SECS,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            allow_private_addresses: false,
            allowed_networks: Vec::new(),
            per_host_requests_per_minute: DEFAULT_PER_HOST_REQUESTS_PER_MINUTE,
            per_host_max_concurrent: DEFAULT_PER_HOST_MAX_CONCURRENT,
            retries: DEFAULT_FETCH_RETRIES,
            retry_base_ms: DEFAULT_RETRY_BASE_MS,
            max_retry_after_secs: DEFAULT_MAX_RETRY_AFTER_SECS,
            obey_robots: true,
        }
    }
}

/// `[pipeline]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSettings {
    /// Capacity of each bounded channel between stages (in batches).
    pub channel_capacity: usize,
    /// Longest wait before buffered documents are committed.
    pub commit_interval_ms: u64,
    /// Most documents in one commit.
    pub max_batch_docs: usize,
    /// Analysis worker threads.
    pub analyzer_threads: usize,
    /// tantivy indexing threads.
    pub index_writer_threads: usize,
    /// tantivy memory budget over all indexing threads.
    pub index_writer_memory_mb: usize,
    /// Random jitter of each poll interval, as a fraction of it (0 to 0.5).
    pub poll_jitter_ratio: f64,
    /// Failed polls in a row before a source is `failing`.
    pub failing_after: u32,
    /// Cap on the backoff between polls of a failing source.
    pub max_backoff_secs: u64,
    /// Shortest adaptive interval (a feed that rolls over between polls is polled faster), as
    /// a fraction of the source's `interval_secs` (1 disables shrinking).
    pub adaptive_min_ratio: f64,
    /// Longest adaptive interval (a source where nothing changes is polled slower), as a
    /// multiple of the source's `interval_secs` (1 disables growing).
    pub adaptive_max_ratio: f64,
    /// A source that polls fine but brings nothing new for this many usual gaps between new
    /// items is `stale` (0: never).
    pub stale_factor: f64,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
            commit_interval_ms: DEFAULT_COMMIT_INTERVAL_MS,
            max_batch_docs: DEFAULT_MAX_BATCH_DOCS,
            analyzer_threads: DEFAULT_ANALYZER_THREADS,
            index_writer_threads: DEFAULT_INDEX_WRITER_THREADS,
            index_writer_memory_mb: DEFAULT_INDEX_WRITER_MEMORY_MB,
            poll_jitter_ratio: DEFAULT_POLL_JITTER_RATIO,
            failing_after: DEFAULT_FAILING_AFTER,
            max_backoff_secs: DEFAULT_MAX_BACKOFF_SECS,
            adaptive_min_ratio: DEFAULT_ADAPTIVE_MIN_RATIO,
            adaptive_max_ratio: DEFAULT_ADAPTIVE_MAX_RATIO,
            stale_factor: DEFAULT_STALE_FACTOR,
        }
    }
}

/// `[analysis]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSettings {
    /// jieba user dictionaries, resolved.
    pub user_dicts: Vec<PathBuf>,
    /// The sentiment lexicon, resolved.
    pub sentiment_lexicon: PathBuf,
    /// Risk-category and review-dimension rules, resolved.
    pub risk_rules: PathBuf,
    /// Score at or below which a document is negative.
    pub negative_threshold: f32,
    /// Score at or above which a document is positive.
    pub positive_threshold: f32,
}

/// The file as written, before path resolution and validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSettings {
    #[serde(default = "d_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default = "d_connectors_dir")]
    pub connectors_dir: PathBuf,
    #[serde(default = "d_entities_file")]
    pub entities_file: PathBuf,
    #[serde(default = "d_rules_file")]
    pub rules_file: PathBuf,
    #[serde(default = "d_notify_file")]
    pub notify_file: PathBuf,
    #[serde(default = "d_timezone")]
    pub timezone: String,
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub log: LogSettings,
    #[serde(default)]
    pub fetch: FetchSettings,
    #[serde(default)]
    pub pipeline: PipelineSettings,
    #[serde(default)]
    pub analysis: RawAnalysis,
    #[serde(default)]
    pub workflow: crate::workflow::WorkflowSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawAnalysis {
    pub user_dicts: Vec<PathBuf>,
    pub sentiment_lexicon: PathBuf,
    pub risk_rules: PathBuf,
    pub negative_threshold: f32,
    pub positive_threshold: f32,
}

impl Default for RawAnalysis {
    fn default() -> Self {
        RawAnalysis {
            user_dicts: vec![PathBuf::from("dict/yuqing.txt")],
            sentiment_lexicon: PathBuf::from("sentiment.toml"),
            risk_rules: PathBuf::from("risk.toml"),
            negative_threshold: DEFAULT_NEGATIVE_THRESHOLD,
            positive_threshold: DEFAULT_POSITIVE_THRESHOLD,
        }
    }
}

fn d_data_dir() -> PathBuf {
    PathBuf::from(DEFAULT_DATA_DIR)
}
fn d_connectors_dir() -> PathBuf {
    PathBuf::from(DEFAULT_CONNECTORS_DIR)
}
fn d_entities_file() -> PathBuf {
    PathBuf::from(DEFAULT_ENTITIES_FILE)
}
fn d_rules_file() -> PathBuf {
    PathBuf::from(DEFAULT_RULES_FILE)
}
fn d_notify_file() -> PathBuf {
    PathBuf::from(DEFAULT_NOTIFY_FILE)
}
fn d_timezone() -> String {
    DEFAULT_TIMEZONE.into()
}
