//! The running daemon's stage wiring: scheduler → fetch/parse (connectors) → bounded channel
//! → analysis workers → bounded channel → the single writer (index commit, then store commit,
//! then acknowledgement).
//!
//! Contract:
//! * one task per enabled source: polls of one source never overlap, and each poll starts
//!   from the checkpoint committed by the previous one;
//! * every channel is bounded, so a slow writer slows fetching instead of growing memory;
//! * a source's checkpoint (validators, seen items) is written in the same store transaction
//!   as its documents, after the index commit that covers them;
//! * one source's failure is recorded as that source's health and affects no other source;
//! * [`Running::shutdown`] stops scheduling, lets in-flight batches drain, commits them and
//!   returns once the writer has finished; dropping work mid-poll is safe because nothing of
//!   an unacknowledged poll is checkpointed;
//! * the boundary between ingest and processing carries serializable [`bus::RawBatch`]es, so
//!   a transport other than an in-process channel can take its place.

pub mod alerts;
pub mod bus;
mod health;
pub mod inbound;
mod process;
pub mod schedule;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use yuqing_config::{Config, ConfigError};
use yuqing_connectors::{Connector, FetchError, Fetcher, PollContext, Registry};
use yuqing_index::{DocIndex, IndexError};
use yuqing_store::{SourceInfo, Store, StoreError};

use schedule::Timing;

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Some source definitions are invalid.
    #[error("invalid source configuration:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Config(Vec<ConfigError>),
    /// The index could not be opened for writing.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Fetch(#[from] FetchError),
    /// A thread could not be started.
    #[error("cannot start thread: {0}")]
    Thread(#[from] std::io::Error),
    /// Incident rules or chat channels are invalid.
    #[error("invalid alerting configuration:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Alerting(Vec<ConfigError>),
    /// A notifier could not be built.
    #[error("notifier: {0}")]
    Notify(#[from] yuqing_notify::SendError),
}

/// How far back the start-up catch-up looks for complaints without a case.
const CASE_CATCH_UP_DAYS: i64 = 2;

/// Counters a caller may watch (tests, the demo's progress line).
#[derive(Debug, Default)]
pub struct Stats {
    /// Documents committed since start.
    pub committed_docs: AtomicU64,
    /// Commits since start.
    pub commits: AtomicU64,
}

/// A started pipeline.
pub struct Running {
    stop: CancellationToken,
    sources: JoinSet<()>,
    threads: Vec<std::thread::JoinHandle<()>>,
    delivery: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
    /// The workflow supervisor; stops with delivery.
    supervisor: Option<tokio::task::JoinHandle<()>>,
    /// Live counters.
    pub stats: Arc<Stats>,
}

/// Incident rules and chat channels, loaded.
pub struct Alerting {
    /// Incident rules.
    pub rules: yuqing_incidents::RuleSet,
    /// Chat channels and routing.
    pub notify: yuqing_notify::NotifyConfig,
}

/// Load the incident rules and the chat configuration named in the settings; `env`
/// interpolates the chat secrets.
pub fn load_alerting(
    config: &Config,
    env: &std::collections::HashMap<String, String>,
) -> Result<Alerting, Vec<ConfigError>> {
    let ids: Vec<String> = config.entities.iter().map(|e| e.id.clone()).collect();
    let rules = yuqing_incidents::load_rules(&config.settings.rules_file, &ids).map_err(|e| e.0);
    let notify = yuqing_notify::load(&config.settings.notify_file, env);
    match (rules, notify) {
        (Ok(rules), Ok(notify)) => Ok(Alerting { rules, notify }),
        (r, n) => Err(r.err().into_iter().chain(n.err()).flatten().collect()),
    }
}

/// Mirror every configured source (enabled or not) in the store.
pub fn sync_sources(config: &Config, store: &Store) -> Result<(), yuqing_store::StoreError> {
    let infos: Vec<SourceInfo<'_>> = config
        .sources
        .iter()
        .map(|s| SourceInfo {
            id: &s.id,
            name: &s.name,
            kind: &s.kind,
            channel: s.channel.as_str(),
            enabled: s.enabled,
        })
        .collect();
    store.sync_sources(&infos)
}

/// An enabled source and its connector.
pub type Enabled = (yuqing_config::SourceSpec, Arc<dyn Connector>);

/// Build every enabled source's connector, or every error found.
pub fn build_connectors(
    config: &Config,
    registry: &Registry,
) -> Result<Vec<Enabled>, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for spec in &config.sources {
        match registry.build(spec) {
            Ok(c) if spec.enabled => out.push((spec.clone(), c)),
            Ok(_) => {}
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Start polling every enabled source, evaluating incident rules and delivering chat
/// notifications. Must be called inside a tokio runtime.
pub fn start(
    config: &Config,
    alerting: Alerting,
    registry: &Registry,
    analyzer: Arc<yuqing_text::SharedAnalyzer>,
    index: Arc<DocIndex>,
    store: Arc<Store>,
) -> Result<Running, PipelineError> {
    let Alerting { rules, notify } = alerting;
    let connectors = build_connectors(config, registry).map_err(PipelineError::Config)?;
    sync_sources(config, &store)?;
    let p = &config.settings.pipeline;
    let writer = index.writer(
        p.index_writer_threads,
        p.index_writer_memory_mb * 1024 * 1024,
    )?;
    let ctx = PollContext {
        fetcher: Fetcher::new(&config.settings.fetch)?,
    };

    let (raw_tx, raw_rx) = mpsc::channel(p.channel_capacity);
    let (an_tx, an_rx) = std::sync::mpsc::sync_channel(p.channel_capacity);
    let raw_rx = Arc::new(Mutex::new(raw_rx));
    let stats = Arc::new(Stats::default());
    let mut threads = Vec::new();
    for i in 0..p.analyzer_threads {
        let (rx, tx, a, s) = (
            raw_rx.clone(),
            an_tx.clone(),
            analyzer.clone(),
            store.clone(),
        );
        threads.push(
            std::thread::Builder::new()
                .name(format!("yuqing-analyze-{i}"))
                .spawn(move || process::analyze_worker(rx, tx, a, s))?,
        );
    }
    drop(an_tx);
    let limits = process::WriterLimits {
        max_docs: p.max_batch_docs,
        max_wait: Duration::from_millis(p.commit_interval_ms),
    };
    let deliverer = Arc::new(alerts::deliverer(notify.clone(), store.clone())?);
    let workflow = Arc::new(yuqing_workflow::Workflow::from_config(
        store.clone(),
        config,
    ));
    let health = health::HealthWatch::new(notify.default_channels.clone());
    let alerting = process::Alerts {
        engine: alerts::engine(rules, &config.entities, Arc::new(notify)),
        health,
        wake: deliverer.waker(),
        last_tick: std::time::Instant::now(),
        workflow: Some(workflow.clone()),
    };
    let delivery_stop = CancellationToken::new();
    let (d, ds) = (deliverer.clone(), delivery_stop.clone());
    let delivery = tokio::spawn(async move { d.run(ds).await });
    // The improvement workflow's supervisor: event reports, case links, reminders, briefings.
    // It first opens cases for complaints committed just before a crash.
    let (wf, ws, wake) = (workflow, delivery_stop.clone(), deliverer.waker());
    let supervisor = tokio::spawn(async move {
        let now = chrono::Utc::now();
        let catch_up = wf.clone();
        match tokio::task::spawn_blocking(move || {
            catch_up.cases_catch_up(now - chrono::Duration::days(CASE_CATCH_UP_DAYS), now)
        })
        .await
        {
            Ok(Ok(opened)) if !opened.is_empty() => {
                tracing::info!(cases = opened.len(), "complaint cases opened at start")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "complaint case catch-up failed"),
            Err(e) => tracing::error!(error = %e, "complaint case catch-up panicked"),
        }
        yuqing_workflow::run_supervisor(wf, Arc::new(yuqing_workflow::SystemClock), ws, Some(wake))
            .await
    });
    let st = stats.clone();
    let (idx, s) = (index.clone(), store.clone());
    threads.push(
        std::thread::Builder::new()
            .name("yuqing-writer".into())
            .spawn(move || {
                process::writer_loop(an_rx, writer, idx, s, limits, Some(alerting), |n| {
                    st.commits.fetch_add(1, Ordering::Relaxed);
                    st.committed_docs.fetch_add(n as u64, Ordering::Relaxed);
                })
            })?,
    );

    let stop = CancellationToken::new();
    let mut sources = JoinSet::new();
    for (spec, connector) in connectors {
        let timing = Timing {
            interval: Duration::from_secs(spec.interval_secs),
            jitter_ratio: p.poll_jitter_ratio,
            max_backoff: Duration::from_secs(p.max_backoff_secs.max(spec.interval_secs)),
            ..Timing::adaptive(spec.interval_secs, p)
        };
        sources.spawn(schedule::run_source(
            spec.id.clone(),
            connector,
            ctx.clone(),
            store.clone(),
            timing,
            raw_tx.clone(),
            stop.clone(),
        ));
    }
    tracing::info!(sources = sources.len(), "pipeline started");
    Ok(Running {
        stop,
        sources,
        threads,
        delivery: Some((delivery_stop, delivery)),
        supervisor: Some(supervisor),
        stats,
    })
}

impl Running {
    /// Stop polling, drain and commit what is in flight, and wait for the writer.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        while self.sources.join_next().await.is_some() {}
        // Every sender is gone now: the workers drain, the writer commits and exits.
        let threads = std::mem::take(&mut self.threads);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
        // The writer's last incident changes are in the outbox: let delivery finish what is
        // in flight, then stop; anything unsent stays pending for the next start.
        if let Some((stop, task)) = self.delivery.take() {
            stop.cancel();
            let _ = task.await;
        }
        if let Some(task) = self.supervisor.take() {
            let _ = task.await;
        }
        tracing::info!(
            docs = self.stats.committed_docs.load(Ordering::Relaxed),
            "pipeline stopped"
        );
    }
}
