//! Dictionaries, lexicon, model and rules reload without a restart: every
//! [`CHECK`] the daemon `stat`s the files the analyzer read (and `entities.toml`), and on a
//! change (or on SIGHUP) it re-reads the configuration and swaps in a new analyzer. Batches
//! being analyzed finish with the old one; the next batch uses the new one. A configuration
//! that no longer loads is reported and the old analyzer keeps running.
//!
//! Documents stored earlier keep their analysis: `yuqing reanalyze` re-scores them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use yuqing_config::Overrides;
use yuqing_text::{AnalyzerOptions, SharedAnalyzer};

/// How often the files are looked at.
pub const CHECK: Duration = Duration::from_secs(5);

fn mtime(p: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Re-read `config_file` and swap the analyzer in. Returns the new generation.
pub fn reload(shared: &SharedAnalyzer, config_file: &std::path::Path) -> anyhow::Result<u64> {
    let config = yuqing_config::load(config_file, &crate::cli::env_map(), &Overrides::default())?;
    let opts = AnalyzerOptions::from_settings(&config.settings.analysis);
    Ok(shared.reload(&opts, &config.entities)?)
}

/// Watch until `cancel` fires.
pub async fn watch(
    shared: Arc<SharedAnalyzer>,
    config_file: PathBuf,
    entities_file: PathBuf,
    cancel: CancellationToken,
) {
    #[cfg(unix)]
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "no SIGHUP handler; file changes still reload");
            None
        }
    };
    let mut entities_mtime = mtime(&entities_file);
    loop {
        #[cfg(unix)]
        let hup_recv = async {
            match hup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hup_recv = std::future::pending::<()>();
        let forced = tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(CHECK) => false,
            _ = hup_recv => true,
        };
        let changed: Vec<String> = shared
            .current()
            .changed_files()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let now_mtime = mtime(&entities_file);
        let entities_changed = now_mtime != entities_mtime;
        if !forced && changed.is_empty() && !entities_changed {
            continue;
        }
        entities_mtime = now_mtime;
        let (s, f) = (shared.clone(), config_file.clone());
        match tokio::task::spawn_blocking(move || reload(&s, &f)).await {
            Ok(Ok(generation)) => tracing::info!(
                generation,
                ?changed,
                entities_changed,
                sighup = forced,
                "analyzer reloaded: new documents use the new dictionaries and rules"
            ),
            Ok(Err(e)) => tracing::error!(
                error = format!("{e:#}"),
                "analyzer reload failed; the previous dictionaries stay in force"
            ),
            Err(e) => tracing::error!(error = %e, "analyzer reload panicked"),
        }
    }
}
