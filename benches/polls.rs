//! Polling throughput: 2,000 feed sources on 20 local hosts (127.0.0.1–127.0.0.20, one
//! in-process server answering 304 to conditional GETs once a feed is known), run by the real
//! pipeline (scheduler with jitter, shared fetcher with per-host budgets, writer recording
//! every poll's outcome and figures in SQLite). After a warm-up in which every source is
//! polled once, counts the polls committed over a measured window and the process's CPU time
//! (user + system from /proc/self/stat; the local server runs in the same process, so the
//! figure is an upper bound for the daemon).
//!
//! `cargo bench --bench polls` (YUQING_BENCH_SOURCES, YUQING_BENCH_INTERVAL_SECS and
//! YUQING_BENCH_SECS resize it).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use yuqing_connectors::Registry;
use yuqing_index::DocIndex;
use yuqing_store::Store;
use yuqing_text::AnalyzerOptions;

const HOSTS: usize = 20;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU time of this process.
fn cpu_time(ticks_per_sec: f64) -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at state (field 3).
    let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime is field 14, stime field 15; `rest` starts at field 3.
    Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / ticks_per_sec)
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

struct Feeds {
    hits: AtomicU64,
    not_modified: AtomicU64,
}

async fn feed(
    State(s): State<Arc<Feeds>>,
    Path(n): Path<u64>,
    headers: HeaderMap,
) -> axum::response::Response {
    s.hits.fetch_add(1, Ordering::Relaxed);
    let etag = format!("\"f{n}-v1\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        s.not_modified.fetch_add(1, Ordering::Relaxed);
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>源{n}</title>"
    );
    for i in 0..5 {
        x.push_str(&format!(
            "<item><title>第{n}号源的第{i}条消息</title><guid>f{n}-{i}</guid><pubDate>Mon, 02 Nov 2026 08:00:00 +0800</pubDate><description>消费金融行业动态{i}</description></item>"
        ));
    }
    x.push_str("</channel></rss>");
    (
        [
            (
                header::CONTENT_TYPE,
                "application/rss+xml; charset=utf-8".to_string(),
            ),
            (header::ETAG, etag),
        ],
        x,
    )
        .into_response()
}

fn main() {
    let sources = env("YUQING_BENCH_SOURCES", 2000) as usize;
    let interval = env("YUQING_BENCH_INTERVAL_SECS", 2);
    let secs = env("YUQING_BENCH_SECS", 20);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let ticks = clock_ticks();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let feeds = Arc::new(Feeds {
        hits: AtomicU64::new(0),
        not_modified: AtomicU64::new(0),
    });
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("0.0.0.0:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new()
        .route("/f/{n}", get(feed))
        .with_state(feeds.clone());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("config");
    std::fs::create_dir_all(c.join("dict")).unwrap();
    std::fs::create_dir_all(dir.path().join("connectors/news")).unwrap();
    copy_config(&repo.join("config"), &c);
    std::fs::write(
        c.join("yuqing.toml"),
        "[server]\nbind = \"127.0.0.1:0\"\n[fetch]\nallow_private_addresses = true\nobey_robots = false\nper_host_requests_per_minute = 600000\nper_host_max_concurrent = 16\n[pipeline]\npoll_jitter_ratio = 0.5\nadaptive_max_ratio = 1.0\nanalyzer_threads = 1\nindex_writer_threads = 1\nindex_writer_memory_mb = 32\ncommit_interval_ms = 200\nchannel_capacity = 256\n",
    )
    .unwrap();
    for i in 0..sources {
        let host = 1 + i % HOSTS;
        std::fs::write(
            dir.path().join(format!("connectors/news/s{i}.toml")),
            format!(
                "version = 1\nkind = \"feed\"\ninterval_secs = {interval}\n[params]\nurl = \"http://127.0.0.{host}:{port}/f/{i}\"\n"
            ),
        )
        .unwrap();
    }
    let config =
        yuqing_config::load(&c.join("yuqing.toml"), &HashMap::new(), &Default::default()).unwrap();
    assert_eq!(config.sources.len(), sources);
    let analyzer = Arc::new(
        yuqing_text::SharedAnalyzer::load(
            &AnalyzerOptions::from_settings(&config.settings.analysis),
            &config.entities,
        )
        .unwrap(),
    );
    let data = &config.settings.data_dir;
    let store = Arc::new(Store::open(&data.join("yuqing.db"), 5).unwrap());
    let index = Arc::new(DocIndex::open(&data.join("index"), analyzer.tokenizer()).unwrap());
    let polls_total = |store: &Store| -> u64 {
        store
            .source_states()
            .unwrap()
            .iter()
            .map(|s| s.polls_total)
            .sum()
    };
    let (warmup, polls, hits, not_modified, wall, cpu) = rt.block_on(async {
        let running = yuqing_pipeline::start(
            &config,
            yuqing_pipeline::load_alerting(&config, &HashMap::new()).unwrap(),
            &Registry::builtin(yuqing_connectors::BuildContext::from_settings(
                &config.settings.fetch,
            )),
            analyzer,
            index.clone(),
            store.clone(),
        )
        .unwrap();
        // Warm-up: every source polled at least once (its items committed, validators kept).
        let t0 = Instant::now();
        loop {
            let s = store.clone();
            let polled = tokio::task::spawn_blocking(move || {
                s.source_states()
                    .unwrap()
                    .iter()
                    .filter(|s| s.polls_total > 0)
                    .count()
            })
            .await
            .unwrap();
            if polled == sources || t0.elapsed() > Duration::from_secs(600) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let warmup = t0.elapsed();
        let s = store.clone();
        let p0 = tokio::task::spawn_blocking(move || polls_total(&s))
            .await
            .unwrap();
        let (h0, n0) = (
            feeds.hits.load(Ordering::Relaxed),
            feeds.not_modified.load(Ordering::Relaxed),
        );
        let (c0, w0) = (cpu_time(ticks), Instant::now());
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let (c1, wall) = (cpu_time(ticks), w0.elapsed());
        let s = store.clone();
        let p1 = tokio::task::spawn_blocking(move || polls_total(&s))
            .await
            .unwrap();
        let (h1, n1) = (
            feeds.hits.load(Ordering::Relaxed),
            feeds.not_modified.load(Ordering::Relaxed),
        );
        running.shutdown().await;
        (warmup, p1 - p0, h1 - h0, n1 - n0, wall, c1 - c0)
    });
    let w = wall.as_secs_f64();
    println!(
        "polls: {sources} local feed sources on {HOSTS} hosts, interval {interval} s (ideal {:.0} polls/s); warm-up (every source polled once, {} documents) {:.1} s",
        sources as f64 / interval as f64,
        store.document_count().unwrap(),
        warmup.as_secs_f64()
    );
    println!(
        "polls: {polls} polls committed in {w:.1} s = {:.0} polls/s ({hits} requests, {not_modified} answered 304)",
        polls as f64 / w
    );
    println!(
        "polls: CPU {:.2} s over {w:.1} s = {:.0}% of one core, {:.0} µs per poll (local server included)",
        cpu.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / w,
        1e6 * cpu.as_secs_f64() / polls.max(1) as f64
    );
    assert!(polls > 0, "nothing was polled");
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
