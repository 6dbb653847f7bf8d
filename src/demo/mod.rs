//! `yuqing demo`: the real daemon against a simulated web on 127.0.0.1.
//!
//! The simulated web serves three Chinese financial-news feeds written for this project
//! (`fixtures/*.json`): 财经快讯 as RSS 2.0, 金融观察 as Atom, and 南方消费者报 as RSS 2.0 in
//! GBK. Items dated in the past are there from the start; the others are published one by one
//! while the demo runs, telling an escalating story of complaints against the watched company.
//! Feeds answer conditional GETs with 304 when nothing changed.

mod script;
mod web;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result};
use yuqing_config::{RateLimit, SourceSpec};
use yuqing_model::{Channel, SourceId};

use crate::cli::Cli;

pub use web::{SimWeb, spawn as spawn_web};

/// `yuqing demo` options.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Port of the simulated web on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub web_port: u16,
    /// Seconds between two newly published items.
    #[arg(long, default_value_t = 6)]
    pub publish_every_secs: u64,
    /// Poll interval of the simulated sources.
    #[arg(long, default_value_t = 5)]
    pub interval_secs: u64,
    /// Stop by itself after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub exit_after_secs: Option<u64>,
}

/// The demo's sources, pointing at the simulated web.
fn sources(base: &str, interval_secs: u64) -> Vec<SourceSpec> {
    web::FEEDS
        .iter()
        .map(|f| {
            let mut params = toml::Table::new();
            params.insert(
                "url".into(),
                toml::Value::String(format!("{base}/{}/feed.xml", f.slug)),
            );
            SourceSpec {
                id: SourceId(format!("demo/{}", f.slug)),
                file: format!("<demo>/{}.toml", f.slug).into(),
                name: f.title.to_string(),
                kind: "feed".into(),
                enabled: true,
                interval_secs,
                channel: Channel::News,
                tags: f.tags.iter().map(|t| t.to_string()).collect(),
                rate_limit: RateLimit::default(),
                ignore_robots: None,
                params,
            }
        })
        .collect()
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// The shipped incident rules, with chat going to the simulated web's signed webhook sink.
fn demo_alerting(
    config: &yuqing_config::Config,
    base: &str,
    secret: &str,
) -> Result<yuqing_pipeline::Alerting> {
    let ids: Vec<String> = config.entities.iter().map(|e| e.id.clone()).collect();
    let rules = yuqing_incidents::load_rules(&config.settings.rules_file, &ids)?;
    let text = format!(
        "default_channels = [\"demo-chat\"]\n\n[[channel]]\nid = \"demo-chat\"\nkind = \"webhook\"\nurl = \"{base}/chat/webhook\"\nsecret = \"${{YUQING_DEMO_CHAT_SECRET}}\"\n\n[grouping]\ngroup_wait_secs = 0\ngroup_interval_secs = 60\n"
    );
    let env = std::collections::HashMap::from([(
        "YUQING_DEMO_CHAT_SECRET".to_string(),
        secret.to_string(),
    )]);
    let notify = yuqing_notify::parse(std::path::Path::new("<demo>/notify.toml"), &text, &env)
        .map_err(|e| anyhow::anyhow!("demo chat configuration: {e:?}"))?;
    Ok(yuqing_pipeline::Alerting { rules, notify })
}

/// Run the demo until Ctrl-C, SIGTERM or `--exit-after-secs`.
pub fn run(cli: &Cli, args: &DemoArgs) -> Result<()> {
    let mut config = crate::cli::load_config(cli)?;
    crate::logging::init(&config.settings.log);
    let rt = crate::cli::runtime()?;
    rt.block_on(async move {
        let sink_secret = format!("demo-{:016x}", rand_u64());
        let web = Arc::new(SimWeb::new(
            Duration::from_secs(args.publish_every_secs.max(1)),
            sink_secret.clone(),
        ));
        let total = web.total_items();
        let addr = spawn_web(web.clone(), args.web_port)
            .await
            .context("cannot start the simulated web")?;
        let base = format!("http://{addr}");
        config.sources = sources(&base, args.interval_secs.max(1));
        config.settings.fetch.allow_private_addresses = true;
        // Every simulated outlet lives on one local host: give it a budget for all of them.
        config.settings.fetch.per_host_requests_per_minute = 600;
        config.settings.fetch.per_host_max_concurrent = 4;
        config.settings.pipeline.poll_jitter_ratio = 0.0;
        let data_dir = config.settings.data_dir.clone();
        let exe = std::env::args().next().unwrap_or_else(|| "yuqing".into());
        let me = if exe.contains("target/") {
            "cargo run --release --".to_string()
        } else {
            exe
        };
        println!("yuqing 舆情监测演示");
        println!(
            "  模拟站点 (simulated web): {base}/  ({total} 篇文章, 每 {} 秒发布一篇新文章)",
            args.publish_every_secs
        );
        println!("  数据目录 (data dir):      {}", data_dir.display());
        println!("  在同一目录的另一个终端里试试 (try in another terminal, same folder):");
        println!("    {me} search 恒信");
        println!("    {me} search 暴力催收 --sort time");
        println!("    {me} search 'entity:hengxin AND sentiment:negative'");
        println!("    {me} status");
        println!("  告警发往本地聊天接收端 (alerts go to the local chat sink): {base}/chat/");
        let (user, password) = yuqing_server::cli::ensure_demo_user(&data_dir)?;
        println!(
            "  控制台 (console): http://{}/  登录 (login): {user} / {password}",
            config.settings.server.bind
        );
        println!("  Ctrl-C 停止 (stops).");
        let until = args.exit_after_secs.map(|s| {
            Box::pin(tokio::time::sleep(Duration::from_secs(s))) as crate::cli::StopFuture
        });
        let alerting = demo_alerting(&config, &base, &sink_secret)?;
        // The scripted improvement loop on the company's first incident.
        if let Some(company) = config.entities.first().map(|e| e.id.clone()) {
            let (c, db) = (config.clone(), crate::cli::paths(&config).1);
            let settle = Duration::from_millis(
                args.interval_secs.max(1) * 2000 + config.settings.pipeline.commit_interval_ms,
            );
            tokio::spawn(async move {
                if let Err(e) = script::run(c, db, web, company, settle).await {
                    println!("  [改进闭环] 脚本中止 (script stopped): {e:#}");
                }
            });
        }
        crate::cli::daemon_with(config, alerting, until, |stats| {
            let stats = Arc::clone(stats);
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let mut last = 0;
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    let n = stats.committed_docs.load(Ordering::Relaxed);
                    if n != last {
                        println!(
                            "  [{:>5.1}s] 已入库 {n} 篇 (committed; +{})",
                            started.elapsed().as_secs_f64(),
                            n - last
                        );
                        last = n;
                    }
                }
            });
        })
        .await
    })
}
