//! Logging setup: `RUST_LOG` wins over the configured level; text or JSON lines on stderr.

use tracing_subscriber::EnvFilter;
use yuqing_config::{LogFormat, LogSettings};

/// Install the global subscriber. Safe to call once per process.
pub fn init(s: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&s.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match s.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
