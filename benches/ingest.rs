//! Ingest throughput: financial news from ../shared/corpora/text/finna served as local RSS
//! feeds on 127.0.0.1, through the real pipeline (fetch → parse → analyze → tantivy commit →
//! SQLite commit), until every document is committed. Prints docs/s; also prints the analysis
//! stage alone for comparison.
//!
//! `cargo bench --bench ingest` (YUQING_BENCH_FEEDS / YUQING_BENCH_DOCS resize it,
//! YUQING_BENCH_ANALYZERS sets the analysis threads).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use yuqing_connectors::Registry;
use yuqing_index::DocIndex;
use yuqing_store::Store;
use yuqing_text::AnalyzerOptions;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = repo.join("../shared/corpora/text/finna/eval_list.json");
    let Ok(text) = std::fs::read_to_string(&corpus) else {
        println!(
            "skip: {} not found (the corpus lives beside the repository)",
            corpus.display()
        );
        return;
    };
    let docs: Vec<(String, String)> =
        serde_json::from_str(&text).expect("finna is a JSON list of [summary, text]");
    let want: usize = std::env::var("YUQING_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(docs.len());
    let analyzers: usize = std::env::var("YUQING_BENCH_ANALYZERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let feeds: usize = std::env::var("YUQING_BENCH_FEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let docs: Vec<_> = docs.into_iter().cycle().take(want).collect();
    let bytes: usize = docs.iter().map(|(t, b)| t.len() + b.len()).sum();

    // Feeds: document i goes to feed i % feeds.
    let mut bodies: HashMap<String, String> = HashMap::new();
    for f in 0..feeds {
        let mut x = String::from(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>finna</title>",
        );
        for (i, (title, body)) in docs.iter().enumerate().filter(|(i, _)| i % feeds == f) {
            x.push_str(&format!(
                "<item><title>{}</title><guid>finna-{i}</guid><pubDate>Mon, 02 Nov 2026 08:00:00 +0800</pubDate><description>{}</description></item>",
                esc(title), esc(body)
            ));
        }
        x.push_str("</channel></rss>");
        bodies.insert(format!("f{f}.xml"), x);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bodies = Arc::new(bodies);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route(
            "/{name}",
            get(
                |State(b): State<Arc<HashMap<String, String>>>, Path(n): Path<String>| async move {
                    b.get(&n).cloned().unwrap_or_default().into_response()
                },
            ),
        )
        .with_state(bodies);
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("config");
    std::fs::create_dir_all(c.join("dict")).unwrap();
    std::fs::create_dir_all(dir.path().join("connectors")).unwrap();
    copy_config(&repo.join("config"), &c);
    std::fs::write(
        c.join("yuqing.toml"),
        format!("[fetch]\nallow_private_addresses = true\nper_host_requests_per_minute = 100000\nper_host_max_concurrent = 8\n[pipeline]\npoll_jitter_ratio = 0.0\nmax_batch_docs = 2000\nanalyzer_threads = {analyzers}\n"),
    )
    .unwrap();
    for f in 0..feeds {
        std::fs::write(
            dir.path().join(format!("connectors/f{f}.toml")),
            format!("version = 1\nkind = \"feed\"\ninterval_secs = 3600\n[params]\nurl = \"http://{addr}/f{f}.xml\"\n"),
        )
        .unwrap();
    }
    let config =
        yuqing_config::load(&c.join("yuqing.toml"), &HashMap::new(), &Default::default()).unwrap();
    let a = &config.settings.analysis;
    let analyzer = Arc::new(
        yuqing_text::SharedAnalyzer::load(&AnalyzerOptions::from_settings(a), &config.entities)
            .unwrap(),
    );

    // The analysis stage alone, for comparison.
    let raws: Vec<yuqing_model::RawDoc> = docs
        .iter()
        .enumerate()
        .map(|(i, (t, b))| yuqing_model::RawDoc {
            id: yuqing_model::DocId(format!("{i}")),
            source_id: yuqing_model::SourceId("bench".into()),
            channel: yuqing_model::Channel::News,
            item_key: format!("{i}"),
            url: None,
            title: t.clone(),
            body: b.clone(),
            author: None,
            published_at: None,
            fetched_at: chrono::Utc::now(),
            tags: vec![],
        })
        .collect();
    let t0 = Instant::now();
    let mut negatives = 0;
    for r in &raws {
        if analyzer.current().analyze(r).sentiment.label == yuqing_model::SentimentLabel::Negative {
            negatives += 1;
        }
    }
    let analysis = t0.elapsed();

    let data = &config.settings.data_dir;
    let store = Arc::new(Store::open(&data.join("yuqing.db"), 5).unwrap());
    let index = Arc::new(DocIndex::open(&data.join("index"), analyzer.tokenizer()).unwrap());
    let started = Instant::now();
    let n = want as u64;
    let (elapsed, committed) = rt.block_on(async {
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
        let deadline = Instant::now() + Duration::from_secs(600);
        while running.stats.committed_docs.load(Ordering::Relaxed) < n && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let e = started.elapsed();
        let c = running.stats.committed_docs.load(Ordering::Relaxed);
        running.shutdown().await;
        (e, c)
    });
    index.reload().unwrap();
    assert_eq!(committed, n, "not every document was committed");
    assert_eq!(index.num_docs(), n, "index holds a different count");
    assert_eq!(
        store.document_count().unwrap(),
        n,
        "store holds a different count"
    );
    let mb = bytes as f64 / 1e6;
    println!(
        "ingest: {n} docs ({mb:.1} MB, {feeds} local feeds) fetched, analyzed, indexed and committed in {:.2} s = {:.0} docs/s ({:.2} MB/s)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64()
    );
    println!(
        "analysis alone: {:.0} docs/s ({:.1} MB/s), {negatives} labelled negative",
        n as f64 / analysis.as_secs_f64(),
        mb / analysis.as_secs_f64()
    );
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
