//! Alert latency: from a document's store commit to the chat webhook POST, through the real
//! pipeline library (fetch → analyze → tantivy commit → SQLite commit → incident engine →
//! outbox → deliverer → signed POST) on 127.0.0.1.
//!
//! Design: every keyword incident is one sample. The repository's `config/rules.toml` groups
//! its `keyword` rule by term, so a negative document about 恒信消费金融 with a high-risk
//! term no earlier document used opens a new incident and sends one `opened` notification.
//! A run publishes one such document per term of that rule (8), one at a time: the next is
//! published only after the previous one's notification arrived, so each store commit holds
//! exactly one document and the k-th increment of the pipeline's `Stats.committed_docs` is
//! the commit of document k. Several runs, each with a fresh store, index and pipeline (the
//! analyzer is loaded once), give 8 × runs samples (default 5 runs: 40 samples, ~30 s).
//!
//! Latency = arrival of the POST at the fake chat server − the instant the store commit of
//! the triggering document returned (the pipeline bumps `Stats.committed_docs` right after
//! the SQLite commit, which follows the tantivy commit, and after the index reader reload; a
//! watcher thread samples it every 0.2 ms, so a commit time may be late by that much, plus
//! the reload). Polling and analysis come before the
//! commit and are not counted. The chat channel has `group_wait_secs = 0` as in the demo: the
//! default 30 s group wait deliberately holds a new alert so a burst becomes one message.
//!
//! `cargo bench --bench alert_latency` (YUQING_BENCH_RUNS sets the number of runs).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use yuqing_connectors::Registry;
use yuqing_index::DocIndex;
use yuqing_model::RuleKind;
use yuqing_store::Store;
use yuqing_text::{Analyzer, AnalyzerOptions};

/// What the fake web serves and what the fake chat received.
#[derive(Default)]
struct Web {
    /// `<item>`s of the feed of the current run.
    items: Mutex<Vec<String>>,
    /// Arrival of each webhook POST with its JSON body.
    posts: Mutex<Vec<(Instant, serde_json::Value)>>,
}

async fn feed(State(w): State<Arc<Web>>) -> impl IntoResponse {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>bench</title>",
    );
    for i in w.items.lock().unwrap().iter() {
        x.push_str(i);
    }
    x.push_str("</channel></rss>");
    ([("content-type", "application/rss+xml; charset=utf-8")], x)
}

async fn hook(State(w): State<Arc<Web>>, body: Bytes) -> &'static str {
    let at = Instant::now();
    let v = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    w.posts.lock().unwrap().push((at, v));
    ""
}

/// Whether `post` is an `opened` notification listing `url` among its documents.
fn opened_for(post: &serde_json::Value, url: &str) -> bool {
    let n = &post["notification"];
    n["kind"] == "opened"
        && n["top_docs"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["url"] == url))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runs: usize = std::env::var("YUQING_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let web = Arc::new(Web::default());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/feed.xml", get(feed))
        .route("/hook", post(hook))
        .with_state(web.clone());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("config");
    std::fs::create_dir_all(c.join("dict")).unwrap();
    std::fs::create_dir_all(dir.path().join("connectors")).unwrap();
    copy_config(&repo.join("config"), &c);
    std::fs::write(
        c.join("yuqing.toml"),
        "[fetch]\nallow_private_addresses = true\nper_host_requests_per_minute = 100000\n[pipeline]\npoll_jitter_ratio = 0.0\ncommit_interval_ms = 50\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("connectors/bench.toml"),
        format!(
            "version = 1\nkind = \"feed\"\ninterval_secs = 1\n[params]\nurl = \"http://{addr}/feed.xml\"\n"
        ),
    )
    .unwrap();
    let config =
        yuqing_config::load(&c.join("yuqing.toml"), &HashMap::new(), &Default::default()).unwrap();
    let a = &config.settings.analysis;
    let analyzer = Arc::new(
        yuqing_text::SharedAnalyzer::load(&AnalyzerOptions::from_settings(a), &config.entities)
            .unwrap(),
    );
    // The repository's rules; the chat: one signed generic webhook to the fake server.
    let rules = yuqing_pipeline::load_alerting(&config, &HashMap::new())
        .unwrap()
        .rules;
    let terms: Vec<String> = rules
        .rules
        .iter()
        .find(|r| r.kind == RuleKind::Keyword)
        .expect("config/rules.toml has a keyword rule")
        .terms
        .clone();
    let notify = yuqing_notify::parse(
        std::path::Path::new("<bench>/notify.toml"),
        &format!(
            "default_channels = [\"bench-chat\"]\n\n[[channel]]\nid = \"bench-chat\"\nkind = \"webhook\"\nurl = \"http://{addr}/hook\"\nsecret = \"${{BENCH_CHAT_SECRET}}\"\n\n[grouping]\ngroup_wait_secs = 0\ngroup_interval_secs = 60\n"
        ),
        &HashMap::from([("BENCH_CHAT_SECRET".to_string(), "bench-secret".to_string())]),
    )
    .unwrap();

    let started = Instant::now();
    let mut samples: Vec<Duration> = Vec::new();
    let mut missing = 0usize;
    // POSTs that arrived before the watcher saw their commit (counted as 0 ms).
    let mut early = 0usize;
    for run in 0..runs {
        web.items.lock().unwrap().clear();
        web.posts.lock().unwrap().clear();
        let data = dir.path().join(format!("data{run}"));
        let store = Arc::new(Store::open(&data.join("yuqing.db"), 5).unwrap());
        let index = Arc::new(DocIndex::open(&data.join("index"), analyzer.tokenizer()).unwrap());
        rt.block_on(async {
            let running = yuqing_pipeline::start(
                &config,
                yuqing_pipeline::Alerting {
                    rules: rules.clone(),
                    notify: notify.clone(),
                },
                &Registry::builtin(yuqing_connectors::BuildContext::from_settings(
                    &config.settings.fetch,
                )),
                analyzer.clone(),
                index.clone(),
                store.clone(),
            )
            .unwrap();
            // Commit instants: the k-th entry is when `committed_docs` reached k + 1.
            let commits: Arc<Mutex<Vec<Instant>>> = Arc::default();
            let done = Arc::new(AtomicBool::new(false));
            let watcher = {
                let (stats, commits, done) =
                    (running.stats.clone(), commits.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut seen = 0;
                    while !done.load(Ordering::Relaxed) {
                        let n = stats.committed_docs.load(Ordering::Relaxed);
                        if n > seen {
                            let now = Instant::now();
                            let mut c = commits.lock().unwrap();
                            for _ in seen..n {
                                c.push(now);
                            }
                            seen = n;
                        }
                        std::thread::sleep(Duration::from_micros(200));
                    }
                })
            };
            for (k, term) in terms.iter().enumerate() {
                let url = format!("https://news.bench.example/{run}/{k}");
                let title = format!("恒信消费金融被曝{term}，借款人集中投诉（{run}-{k}）");
                let body = format!(
                    "多名借款人投诉恒信消费金融{term}，态度恶劣，严重违规，要求监管部门严查。"
                );
                if run == 0 {
                    check_opens(&analyzer.current(), &title, &body, term);
                }
                web.items.lock().unwrap().push(format!(
                    "<item><title>{title}</title><link>{url}</link><guid>bench-{run}-{k}</guid><description>{body}</description></item>"
                ));
                let deadline = Instant::now() + Duration::from_secs(10);
                let arrival = loop {
                    let found = web
                        .posts
                        .lock()
                        .unwrap()
                        .iter()
                        .find(|(_, p)| opened_for(p, &url))
                        .map(|(at, _)| *at);
                    if found.is_some() {
                        break found;
                    }
                    if Instant::now() > deadline {
                        break None;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                };
                let committed = commits.lock().unwrap().get(k).copied();
                match (arrival, committed) {
                    (Some(at), Some(c)) => {
                        early += usize::from(at < c);
                        samples.push(at.saturating_duration_since(c));
                    }
                    _ => {
                        missing += 1;
                        println!(
                            "run {run}, term {term}: no opened notification within 10 s (committed: {})",
                            committed.is_some()
                        );
                    }
                }
            }
            done.store(true, Ordering::Relaxed);
            watcher.join().unwrap();
            running.shutdown().await;
        });
    }
    let wall = started.elapsed();
    samples.sort();
    println!(
        "alert latency: store commit of the triggering document → webhook POST arrival \
         (real pipeline, repository rules, `keyword` incidents, signed generic webhook on \
         127.0.0.1, group_wait 0; commit time = pipeline Stats.committed_docs bump right after \
         the SQLite commit, sampled every 0.2 ms)"
    );
    if samples.is_empty() {
        println!("no samples ({missing} documents opened no notification)");
        return;
    }
    println!(
        "{} samples ({runs} runs × {} terms, {missing} missing, {early} arrived within the \
         sampling step) in {:.1} s: p50 {}  p95 {}  p99 {}  max {}  (goal p99 < 1 s)",
        samples.len(),
        terms.len(),
        wall.as_secs_f64(),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 95.0)),
        ms(percentile(&samples, 99.0)),
        ms(*samples.last().unwrap()),
    );
}

/// The document must be one the keyword rule fires on: it mentions 恒信, is negative, and
/// carries the term.
fn check_opens(analyzer: &Analyzer, title: &str, body: &str, term: &str) {
    let raw = yuqing_model::RawDoc {
        id: yuqing_model::DocId("check".into()),
        source_id: yuqing_model::SourceId("bench".into()),
        channel: yuqing_model::Channel::News,
        item_key: "check".into(),
        url: None,
        title: title.into(),
        body: body.into(),
        author: None,
        published_at: None,
        fetched_at: chrono::Utc::now(),
        tags: vec![],
    };
    let a = analyzer.analyze(&raw);
    assert!(
        a.entity_ids().iter().any(|e| e == "hengxin"),
        "bench document does not mention hengxin: {title}"
    );
    assert_eq!(
        a.sentiment.label,
        yuqing_model::SentimentLabel::Negative,
        "bench document is not negative: {title}"
    );
    assert!(body.contains(term));
}

/// Copy the repository's `config/` (dictionaries, lexicons, rules, channels) except the
/// settings file, which each run writes for itself.
fn copy_config(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_config(&src, &dst);
        } else if e.file_name() != "yuqing.toml" {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}
