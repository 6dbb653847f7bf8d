//! Command-line interface.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand, ValueEnum};
use yuqing_config::{Config, ConfigErrors, Overrides};
use yuqing_connectors::Registry;
use yuqing_index::{DocIndex, IndexError, SearchOptions, SortOrder};
use yuqing_store::Store;
use yuqing_text::{Analyzer, AnalyzerOptions};

/// yuqing (舆情): 24-hour public-opinion monitoring for a consumer-credit company.
///
/// Polls news feeds and other sources, segments Chinese text with jieba, scores every
/// document for mentions of the watched company and for sentiment, and indexes it for search.
#[derive(Debug, Parser)]
#[command(name = "yuqing", version, about, long_about)]
pub struct Cli {
    /// The settings file; connectors and entities are found from it.
    #[arg(
        long,
        global = true,
        env = "YUQING_CONFIG",
        default_value = "config/yuqing.toml"
    )]
    pub config: PathBuf,
    /// Data directory (index and database); overrides the file and YUQING_DATA_DIR.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poll every enabled source until SIGINT or SIGTERM.
    Run,
    /// Run the daemon against a simulated web on 127.0.0.1 (feeds that fill up over time).
    Demo(crate::demo::DemoArgs),
    /// Validate the configuration without network I/O; exit code 3 when anything is wrong.
    Check,
    /// Search the collected documents (works while `run` or `demo` is running).
    Search(SearchArgs),
    /// Show every source's health, last success and last error.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the search index from the database (stop the daemon first).
    Reindex,
    /// Incidents: list, show, acknowledge, assign.
    Incidents {
        /// What to do.
        #[command(subcommand)]
        cmd: crate::incidents_cmd::IncidentsCmd,
    },
    /// Incident rules: `backtest` replays history through config/rules.toml.
    Rules {
        /// What to do.
        #[command(subcommand)]
        cmd: RulesCmd,
    },
    /// Analyze a text (stdin, a file, or --title/--body) and print the analysis as JSON.
    Analyze(crate::analysis_cmd::AnalyzeArgs),
    /// Measure the analyzer on labelled files (CSV, FinNSP JSON, neg.txt/pos.txt).
    Eval(crate::analysis_cmd::EvalArgs),
    /// Re-run analysis over stored documents after a dictionary or rule change (stop the daemon).
    Reanalyze(crate::analysis_cmd::ReanalyzeArgs),
    /// Correct a document's label or mark a false mention; kept across re-analysis.
    Correct(crate::analysis_cmd::CorrectArgs),
    /// Analysts' corrections (`export` as labelled data).
    Corrections {
        /// What to do with them.
        #[command(subcommand)]
        cmd: crate::analysis_cmd::CorrectionsCmd,
    },
    /// Poll a connector file (or a URL as a kind) once and print its documents; writes nothing.
    Preview(crate::preview_cmd::PreviewArgs),
    /// Import customer-feedback records (CSV or JSONL) into an `inbound` source.
    Import(crate::import_cmd::ImportArgs),
    /// Check the feed parser against the feedparser test suite's expectations (manifest.tsv).
    Feedcheck(crate::feedcheck_cmd::FeedcheckArgs),
    /// Serve the web console and REST API alone (read-only index beside a running daemon).
    Serve(yuqing_server::cli::ServeArgs),
    /// Console users: add, passwd, token, list (stored in data_dir/users.db).
    User {
        /// What to do.
        #[command(subcommand)]
        cmd: yuqing_server::cli::UserCmd,
    },
}

/// `yuqing rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// List the incidents each rule would have opened over a past period (writes nothing).
    Backtest {
        /// Start: a date (2024-05-01), a local time (2024-05-01 08:00) or RFC 3339.
        #[arg(long)]
        from: String,
        /// End (exclusive), same forms.
        #[arg(long)]
        to: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `yuqing search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Words, "phrases", AND/OR/-word, field:value (source, channel, sentiment, entity, tag).
    pub query: String,
    /// Most hits to show.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub limit: usize,
    /// Order of hits.
    #[arg(long, value_enum, default_value_t = Sort::Relevance)]
    pub sort: Sort,
    /// Print JSON (one object with `total` and `hits`).
    #[arg(long)]
    pub json: bool,
}

/// Hit order.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Sort {
    /// Best match first.
    Relevance,
    /// Newest first.
    Time,
}

/// A failure the exit code distinguishes.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    /// Configuration is invalid.
    #[error("{0}")]
    Config(String),
}

/// Map an error to the documented exit code.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<Fatal>().is_some() || e.downcast_ref::<ConfigErrors>().is_some() {
        return 3;
    }
    if let Some(IndexError::Locked(_)) = e.downcast_ref::<IndexError>() {
        return 4;
    }
    if let Some(yuqing_pipeline::PipelineError::Index(IndexError::Locked(_))) =
        e.downcast_ref::<yuqing_pipeline::PipelineError>()
    {
        return 4;
    }
    if let Some(
        yuqing_pipeline::PipelineError::Config(_) | yuqing_pipeline::PipelineError::Alerting(_),
    ) = e.downcast_ref::<yuqing_pipeline::PipelineError>()
    {
        return 3;
    }
    1
}

/// The process environment as a map (the config crate never reads it itself).
pub fn env_map() -> HashMap<String, String> {
    std::env::vars().collect()
}

/// Load and validate the configuration.
pub fn load_config(cli: &Cli) -> Result<Config> {
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        bind: None,
    };
    Ok(yuqing_config::load(&cli.config, &env_map(), &overrides)?)
}

/// Build the analyzer from the settings and entities.
pub fn analyzer(config: &Config) -> Result<Analyzer> {
    let a = &config.settings.analysis;
    let opts = AnalyzerOptions::from_settings(a);
    Analyzer::load(&opts, &config.entities).map_err(|e| Fatal::Config(e.to_string()).into())
}

/// `data_dir/index` and `data_dir/yuqing.db`.
pub fn paths(config: &Config) -> (PathBuf, PathBuf) {
    let d = &config.settings.data_dir;
    (d.join("index"), d.join("yuqing.db"))
}

pub fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Check => check(&cli),
        Command::Run => {
            let config = load_config(&cli)?;
            crate::logging::init(&config.settings.log);
            runtime()?.block_on(daemon(config, None))
        }
        Command::Demo(args) => crate::demo::run(&cli, args),
        Command::Search(args) => search(&cli, args),
        Command::Status { json } => status(&cli, *json),
        Command::Reindex => reindex(&cli),
        Command::Incidents { cmd } => crate::incidents_cmd::run(&cli, cmd),
        Command::Rules {
            cmd: RulesCmd::Backtest { from, to, json },
        } => crate::rules_cmd::backtest_cmd(&cli, from, to, *json),
        Command::Analyze(a) => crate::analysis_cmd::analyze(&cli, a),
        Command::Eval(a) => crate::analysis_cmd::eval(&cli, a),
        Command::Reanalyze(a) => crate::analysis_cmd::reanalyze(&cli, a),
        Command::Correct(a) => crate::analysis_cmd::correct(&cli, a),
        Command::Corrections { cmd } => crate::analysis_cmd::corrections(&cli, cmd),
        Command::Preview(a) => crate::preview_cmd::preview(&cli, a),
        Command::Import(a) => crate::import_cmd::import(&cli, a),
        Command::Feedcheck(a) => crate::feedcheck_cmd::feedcheck(a),
        Command::Serve(a) => {
            let config = load_config(&cli)?;
            crate::logging::init(&config.settings.log);
            let mut opts = yuqing_server::cli::console_options(
                &config,
                analyzer(&config)?.tokenizer(),
                a.bind,
            );
            opts.settings.metrics_public = a.metrics_public;
            runtime()?.block_on(yuqing_server::cli::serve_until_signal(opts))
        }
        Command::User { cmd } => {
            yuqing_server::cli::user_cmd(&load_config(&cli)?.settings.data_dir, cmd)
        }
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("yuqing-rt")
        .build()
        .context("cannot start the async runtime")
}

/// Run the pipeline until a signal (or `until` resolves), then shut down cleanly.
pub async fn daemon(config: Config, until: Option<StopFuture>) -> Result<()> {
    let alerting = yuqing_pipeline::load_alerting(&config, &env_map())
        .map_err(yuqing_pipeline::PipelineError::Alerting)?;
    daemon_with(config, alerting, until, |_| {}).await
}

/// A future that stops the daemon when it resolves.
pub type StopFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// [`daemon`], calling `watch` with the pipeline's live counters once it runs.
pub async fn daemon_with(
    config: Config,
    alerting: yuqing_pipeline::Alerting,
    until: Option<StopFuture>,
    watch: impl FnOnce(&Arc<yuqing_pipeline::Stats>),
) -> Result<()> {
    let (index_dir, db) = paths(&config);
    let analyzer = Arc::new(yuqing_text::SharedAnalyzer::new(analyzer(&config)?));
    let store = Arc::new(
        Store::open(&db, config.settings.pipeline.failing_after)
            .with_context(|| format!("cannot open database {}", db.display()))?,
    );
    let index = Arc::new(DocIndex::open(&index_dir, analyzer.tokenizer())?);
    let console_opts = yuqing_server::cli::console_options(&config, analyzer.tokenizer(), None);
    let running = yuqing_pipeline::start(
        &config,
        alerting,
        &Registry::builtin(yuqing_connectors::BuildContext::from_settings(
            &config.settings.fetch,
        )),
        analyzer.clone(),
        index,
        store,
    )?;
    watch(&running.stats);
    let reload_stop = tokio_util::sync::CancellationToken::new();
    let reloader = tokio::spawn(crate::reload::watch(
        analyzer,
        config.config_file.clone(),
        config.settings.entities_file.clone(),
        reload_stop.clone(),
    ));
    // The console reads beside the pipeline with its own connections; if it cannot start
    // (say, its port is taken) monitoring goes on and the error says why.
    let console_stop = tokio_util::sync::CancellationToken::new();
    let console = tokio::spawn({
        let stop = console_stop.clone();
        let bind = console_opts.bind;
        async move {
            if let Err(e) = yuqing_server::run_console(console_opts, stop).await {
                tracing::error!(%bind, error = format!("{e:#}"), "console unavailable; monitoring goes on");
            }
        }
    });
    tracing::info!(
        data_dir = %config.settings.data_dir.display(),
        console = %config.settings.server.bind,
        "yuqing running; SIGINT or SIGTERM stops it"
    );
    let stop = async {
        match until {
            Some(f) => f.await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = yuqing_server::cli::shutdown_signal() => tracing::info!("signal received; shutting down"),
        _ = stop => {}
    }
    reload_stop.cancel();
    let _ = reloader.await;
    running.shutdown().await;
    console_stop.cancel();
    let _ = console.await;
    Ok(())
}

fn check(cli: &Cli) -> Result<()> {
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        bind: None,
    };
    let (config, errors) = yuqing_config::load_partial(&cli.config, &env_map(), &overrides);
    let mut problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let Some(config) = config else {
        print_errors(problems.iter().cloned());
        return Err(Fatal::Config(format!("{} configuration error(s)", problems.len())).into());
    };
    let registry = Registry::builtin(yuqing_connectors::BuildContext::from_settings(
        &config.settings.fetch,
    ));
    for spec in &config.sources {
        if let Err(errs) = registry.build(spec) {
            problems.extend(errs.iter().map(ToString::to_string));
        }
    }
    let files_ok = errors
        .iter()
        .all(|e| e.file != config.settings.entities_file && !e.key.starts_with("analysis."));
    if files_ok && let Err(e) = analyzer(&config) {
        problems.push(e.to_string());
    }
    match yuqing_pipeline::load_alerting(&config, &env_map()) {
        Ok(alerting) => problems.extend(workflow_channel_problems(&config, &alerting.notify)),
        Err(errs) => problems.extend(errs.iter().map(ToString::to_string)),
    }
    if !problems.is_empty() {
        print_errors(problems.iter().cloned());
        return Err(Fatal::Config(format!("{} configuration error(s)", problems.len())).into());
    }
    let enabled = config.sources.iter().filter(|s| s.enabled).count();
    println!(
        "ok: {} ({} entities, {} sources of which {} enabled, data in {})",
        config.config_file.display(),
        config.entities.len(),
        config.sources.len(),
        enabled,
        config.settings.data_dir.display()
    );
    Ok(())
}

/// `[workflow]` names chat channels that `notify.toml` must define.
fn workflow_channel_problems(config: &Config, notify: &yuqing_notify::NotifyConfig) -> Vec<String> {
    let w = &config.settings.workflow;
    let known: Vec<&str> = notify.channels.iter().map(|c| c.id.as_str()).collect();
    let mut refs: Vec<(String, String)> = Vec::new();
    let mut list = |key: &str, ids: &[String]| {
        for (i, id) in ids.iter().enumerate() {
            refs.push((format!("{key}[{i}]"), id.clone()));
        }
    };
    list("workflow.reminder_channels", &w.reminder_channels);
    list("workflow.case_channels", &w.case_channels);
    list("workflow.briefing.channels", &w.briefing.channels);
    for (dept, ids) in &w.department_channels {
        list(&format!("workflow.department_channels.{dept}"), ids);
    }
    refs.into_iter()
        .filter(|(_, id)| !known.contains(&id.as_str()))
        .map(|(key, id)| {
            format!(
                "{}: {key}: unknown chat channel `{id}` (defined in {}: {})",
                config.config_file.display(),
                config.settings.notify_file.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )
        })
        .collect()
}

fn print_errors(errs: impl Iterator<Item = String>) {
    for e in errs {
        println!("error: {e}");
    }
}

fn open_read(config: &Config) -> Result<(DocIndex, PathBuf)> {
    let (index_dir, db) = paths(config);
    if !index_dir.join("meta.json").exists() {
        return Err(anyhow!(
            "no index in {}: run `yuqing run` or `yuqing demo` first",
            index_dir.display()
        ));
    }
    let analyzer = analyzer(config)?;
    Ok((DocIndex::open(&index_dir, analyzer.tokenizer())?, db))
}

fn search(cli: &Cli, args: &SearchArgs) -> Result<()> {
    let config = load_config(cli)?;
    let (index, _) = open_read(&config)?;
    let opts = SearchOptions {
        limit: args.limit,
        sort: match args.sort {
            Sort::Relevance => SortOrder::Relevance,
            Sort::Time => SortOrder::Time,
        },
        ..SearchOptions::default()
    };
    let res = index.search(&args.query, &opts)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&res)?);
        return Ok(());
    }
    let tz: chrono_tz::Tz = config
        .settings
        .timezone
        .parse()
        .unwrap_or(chrono_tz::Asia::Shanghai);
    println!("{} 条结果 (显示 {} 条)", res.total, res.hits.len());
    for h in &res.hits {
        let time = h
            .time
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "-".into());
        let label = yuqing_model::SentimentLabel::parse(&h.sentiment).map_or("?", |l| l.zh());
        println!(
            "\n{time}  [{}]  {}  {}({:+.2})",
            h.source,
            h.title_snippet.marked("【", "】"),
            label,
            h.sentiment_score
        );
        if !h.entities.is_empty() {
            println!("  提及: {}", h.entities.join(", "));
        }
        println!("  {}", h.snippet.marked("【", "】").replace('\n', " "));
        if let Some(u) = &h.url {
            println!("  {u}");
        }
    }
    Ok(())
}

fn status(cli: &Cli, json: bool) -> Result<()> {
    let config = load_config(cli)?;
    let (_, db) = paths(&config);
    if !db.exists() {
        return Err(anyhow!(
            "no database at {}: run `yuqing run` first",
            db.display()
        ));
    }
    let store = Store::open_read_only(&db)?;
    // Health here includes `stale`: polls succeed but nothing new has come for
    // `stale_factor` times the source's usual gap between new items.
    let statuses = store.connector_statuses(chrono::Utc::now())?;
    if json {
        let rows: Vec<serde_json::Value> = statuses
            .iter()
            .map(|c| {
                let mut v = serde_json::to_value(&c.source).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("health".into(), c.health.as_str().into());
                    o.insert("interval_secs".into(), c.interval_secs.into());
                    o.insert("gaps_total".into(), c.gaps_total.into());
                    o.insert(
                        "last_new_item_at".into(),
                        c.last_new_item_at.map(|t| t.to_rfc3339()).into(),
                    );
                    o.insert("stale_after_secs".into(), c.stale_after_secs.into());
                    o.insert("inbound_queued".into(), c.inbound_queued.into());
                }
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<28} {:<9} {:>6} {:>6} {:>5} {:>9}  last error",
        "source", "health", "docs", "polls", "fails", "interval"
    );
    for c in statuses {
        let s = &c.source;
        println!(
            "{:<28} {:<9} {:>6} {:>6} {:>5} {:>9}  {}",
            s.id.as_str(),
            c.health.as_str(),
            s.docs_total,
            s.polls_total,
            s.consecutive_failures,
            c.interval_secs
                .map_or("-".to_string(), |i| format!("{i:.0}s")),
            s.last_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// What rewriting the index from the store needs: the analyzer, the store, the index, its
/// only writer (taking it fails with exit code 4 while a daemon runs) and a progress bar.
pub struct Rewrite {
    /// The analyzer (its tokenizer is registered on the index).
    pub analyzer: Analyzer,
    /// The store, opened for writing.
    pub store: Store,
    /// The index's writer.
    pub writer: yuqing_index::IndexWriter,
    /// Documents in the store.
    pub total: u64,
    /// A progress bar over `total`, labelled with what is done.
    pub bar: indicatif::ProgressBar,
}

/// Open everything a full pass over the stored documents needs; `verb` labels the bar.
pub fn open_rewrite(config: &Config, verb: &str) -> Result<Rewrite> {
    let (index_dir, db) = paths(config);
    if !db.exists() {
        return Err(anyhow!(
            "no database at {}: nothing to {verb}",
            db.display()
        ));
    }
    let analyzer = analyzer(config)?;
    let store = Store::open(&db, config.settings.pipeline.failing_after)?;
    // Every stored document is written again, so an index of an older schema is replaced.
    let index = match DocIndex::open(&index_dir, analyzer.tokenizer()) {
        Err(IndexError::Schema { .. }) => {
            eprintln!(
                "the index at {} has an older schema: rebuilding it from the database",
                index_dir.display()
            );
            DocIndex::open_for_rebuild(&index_dir, analyzer.tokenizer())?
        }
        r => r?,
    };
    let p = &config.settings.pipeline;
    let writer = index.writer(
        p.index_writer_threads,
        p.index_writer_memory_mb * 1024 * 1024,
    )?;
    let total = store.document_count()?;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{verb} {{bar:40}} {{pos}}/{{len}} ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Ok(Rewrite {
        analyzer,
        store,
        writer,
        total,
        bar,
    })
}

fn reindex(cli: &Cli) -> Result<()> {
    let config = load_config(cli)?;
    crate::logging::init(&config.settings.log);
    let Rewrite {
        store,
        mut writer,
        total,
        bar,
        ..
    } = open_rewrite(&config, "reindexing")?;
    // Stored documents are indexed as they are: their analysis (and any correction) is kept.
    writer.delete_all()?;
    store.for_each_document::<anyhow::Error>(1000, |docs| {
        for d in &docs {
            writer.upsert(d)?;
        }
        bar.inc(docs.len() as u64);
        Ok(())
    })?;
    writer.commit()?;
    bar.finish_and_clear();
    eprintln!(
        "reindexed {total} documents into {}",
        paths(&config).0.display()
    );
    Ok(())
}
