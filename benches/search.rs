//! Search latency at scale: synthetic documents recycled from the sentences of
//! ../shared/corpora/text (finna financial news and the PKU 1998-01 People's Daily), with random
//! sources, channels, entities, sentiment, risks, dimensions, reposts (near-duplicate clusters)
//! and times over 90 days, indexed once per size into `target/bench-search/` (reused by later
//! runs), then a 2-term Chinese query with facets and a date histogram, 200 times: p50/p99.
//!
//! `cargo bench --bench search` (sizes: `YUQING_BENCH_SEARCH_DOCS`, default `100000,1000000`;
//! iterations: `YUQING_BENCH_SEARCH_ITERS`, default 200). Goal: p99 < 50 ms at 1M documents.
//! The bench asserts what it counted: every document indexed, facets and histogram summing to
//! the hit count.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use yuqing_index::{AggOptions, DocIndex, SearchOptions, SortOrder};
use yuqing_model::{
    AliasKind, Analysis, Channel, ClusterInfo, Dimension, DimensionTag, DocId, Document, Mention,
    RawDoc, RiskTag, Sentiment, SentimentLabel, SourceId,
};
use yuqing_text::{Analyzer, AnalyzerOptions};

/// Bumped when the generated documents change, so an index left by an older bench is rebuilt.
const GENERATOR_VERSION: u32 = 1;
/// The goal at 1M documents.
const GOAL_P99: Duration = Duration::from_millis(50);
/// Days the documents spread over.
const DAYS: i64 = 90;

const ENTITIES: [&str; 20] = [
    "hengxin",
    "anxin",
    "jiayin",
    "dudu",
    "xiaoyi",
    "kaixin",
    "huifu",
    "zhongyin",
    "mayi",
    "jingdong",
    "duxiaoman",
    "lexin",
    "qudian",
    "weilidai",
    "xinyongka",
    "pingan",
    "zhaolian",
    "mashang",
    "xingye",
    "haier",
];
const RISKS: [&str; 8] = [
    "collection",
    "fees",
    "personal_data",
    "credit_report",
    "usury",
    "fraud",
    "service",
    "regulatory",
];

/// splitmix64: fast, seedable, good enough to spread documents.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Sentences to recycle: titles (short) and body sentences.
struct Pool {
    titles: Vec<String>,
    sentences: Vec<String>,
}

fn pool(corpora: &Path) -> Option<Pool> {
    let finna = std::fs::read_to_string(corpora.join("finna/eval_list.json")).ok()?;
    let pairs: Vec<(String, String)> =
        serde_json::from_str(&finna).expect("finna is a JSON list of [summary, text]");
    let mut titles: Vec<String> = Vec::new();
    let mut sentences: Vec<String> = Vec::new();
    let split = |text: &str, out: &mut Vec<String>| {
        let mut cur = String::new();
        for c in text.chars() {
            cur.push(c);
            if matches!(c, '。' | '！' | '？' | '\n') {
                let s = cur.trim();
                if s.chars().count() >= 6 {
                    out.push(s.to_string());
                }
                cur.clear();
            }
        }
        let s = cur.trim();
        if s.chars().count() >= 6 {
            out.push(s.to_string());
        }
    };
    for (t, b) in &pairs {
        titles.push(t.chars().take(40).collect());
        split(b, &mut sentences);
    }
    if let Ok(pku) = std::fs::read_to_string(corpora.join("pku-199801/199801.raw.txt")) {
        for line in pku.lines() {
            let n = line.chars().count();
            if (8..=30).contains(&n) {
                titles.push(line.trim().to_string());
            }
            split(line, &mut sentences);
        }
    }
    Some(Pool { titles, sentences })
}

/// Document `i` of the synthetic corpus (deterministic in `i`).
fn synth(p: &Pool, i: usize, clusters: &mut [u32], end: chrono::DateTime<Utc>) -> Document {
    let mut r = Rng(i as u64 ^ 0xA076_1D64_78BD_642F);
    let id = format!("b{i:08}");
    let title = p.titles[r.below(p.titles.len())].clone();
    let mut body = String::new();
    for _ in 0..2 + r.below(3) {
        body.push_str(&p.sentences[r.below(p.sentences.len())]);
    }
    // Sources: Zipf-like over 300; the channel follows the source.
    let s = (300.0 * r.unit().powi(3)) as usize;
    let channel = Channel::ALL[s % Channel::ALL.len()];
    let source = format!("{}/s{s:03}", channel.as_str());
    let u = r.unit();
    let (label, score) = if u < 0.3 {
        (SentimentLabel::Negative, -0.2 - 0.8 * r.unit() as f32)
    } else if u < 0.8 {
        (SentimentLabel::Neutral, -0.2 + 0.4 * r.unit() as f32)
    } else {
        (SentimentLabel::Positive, 0.2 + 0.8 * r.unit() as f32)
    };
    let pick = |r: &mut Rng, n: usize, p1: f64, p2: f64| -> Vec<usize> {
        let u = r.unit();
        let k = if u < p2 {
            2
        } else if u < p1 {
            1
        } else {
            0
        };
        let mut v: Vec<usize> = (0..k).map(|_| r.below(n)).collect();
        v.dedup();
        v
    };
    let entities = pick(&mut r, ENTITIES.len(), 0.35, 0.05);
    let risks = pick(&mut r, RISKS.len(), 0.25, 0.05);
    let dims = pick(&mut r, Dimension::ALL.len(), 0.25, 0.05);
    let time = end - chrono::Duration::seconds((r.unit() * (DAYS * 86_400) as f64) as i64);
    // One in five documents reposts an earlier story.
    clusters[i] = if i > 0 && r.unit() < 0.2 {
        clusters[r.below(i)]
    } else {
        i as u32
    };
    let cluster = format!("b{:08}", clusters[i]);
    let raw = RawDoc {
        id: DocId(id.clone()),
        source_id: SourceId(source.clone()),
        channel,
        item_key: id.clone(),
        url: Some(format!("https://bench.example/{id}")),
        title: title.clone(),
        body: body.clone(),
        author: None,
        published_at: Some(time),
        fetched_at: time,
        tags: vec![],
    };
    let analysis = Analysis {
        title,
        body,
        char_count: 0,
        mentions: entities
            .iter()
            .map(|&e| Mention {
                entity_id: ENTITIES[e].to_string(),
                alias: ENTITIES[e].to_string(),
                kind: AliasKind::Name,
                field: yuqing_model::Field::Title,
                start: 0,
                end: 0,
            })
            .collect(),
        sentiment: Sentiment {
            score,
            label,
            terms: vec![],
        },
        entity_sentiments: vec![],
        risks: risks
            .iter()
            .map(|&k| RiskTag {
                id: RISKS[k].to_string(),
                evidence: vec![],
            })
            .collect(),
        dimensions: dims
            .iter()
            .map(|&k| DimensionTag {
                dimension: Dimension::ALL[k],
                evidence: vec![],
            })
            .collect(),
        simhash: 0,
        analyzer_version: 0,
    };
    Document {
        raw,
        analysis,
        cluster: Some(ClusterInfo {
            id: DocId(cluster),
            first_source: SourceId(source),
            first_seen: time,
            size: 1,
        }),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Open the index of `n` documents, building it if no complete one is there.
fn index_of(dir: &Path, n: usize, p: &Pool, a: &Analyzer, end: chrono::DateTime<Utc>) -> DocIndex {
    let done = dir.join("bench-complete");
    if done.exists() {
        let index = DocIndex::open(dir, a.tokenizer()).expect("open the bench index");
        if index.num_docs() == n as u64 {
            println!("  reusing {} ({} docs)", dir.display(), n);
            return index;
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    let index = DocIndex::open(dir, a.tokenizer()).expect("create the bench index");
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    let mut w = index
        .writer(threads, 256 * 1024 * 1024 * threads)
        .expect("take the writer");
    let mut clusters = vec![0u32; n];
    let t0 = Instant::now();
    for i in 0..n {
        w.upsert(&synth(p, i, &mut clusters, end))
            .expect("index a document");
        if (i + 1) % 100_000 == 0 {
            eprintln!("  indexed {} docs in {:.0?}", i + 1, t0.elapsed());
        }
    }
    w.commit().expect("commit");
    w.wait_merging_threads().expect("merge");
    index.reload().expect("reload");
    println!(
        "  indexed {n} docs in {:.1?} ({:.0} docs/s) into {}",
        t0.elapsed(),
        n as f64 / t0.elapsed().as_secs_f64(),
        dir.display()
    );
    assert_eq!(index.num_docs(), n as u64, "every document indexed");
    std::fs::write(&done, b"ok").expect("mark the bench index complete");
    index
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpora = repo.join("../shared/corpora/text");
    let Some(p) = pool(&corpora) else {
        println!(
            "skip: {} not found (the corpus lives beside the repository)",
            corpora.display()
        );
        return;
    };
    let sizes: Vec<usize> = std::env::var("YUQING_BENCH_SEARCH_DOCS")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect();
    let iters: usize = std::env::var("YUQING_BENCH_SEARCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let config = repo.join("config");
    let a = Analyzer::load(
        &AnalyzerOptions {
            user_dicts: vec![config.join("dict/yuqing.txt")],
            sentiment_lexicon: config.join("sentiment.toml"),
            ..AnalyzerOptions::default()
        },
        &[],
    )
    .expect("load the analyzer");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target"));
    let end = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    println!(
        "search bench: {} titles, {} sentences; {iters} runs per query after 10 warm-ups",
        p.titles.len(),
        p.sentences.len()
    );
    let agg = AggOptions {
        interval: yuqing_index::Interval::Day,
        ..AggOptions::default()
    };
    for n in sizes {
        let dir = target.join(format!(
            "bench-search/docs-{n}-schema{}-gen{GENERATOR_VERSION}",
            yuqing_index::SCHEMA_VERSION
        ));
        println!("{n} documents:");
        let index = index_of(&dir, n, &p, &a, end);
        println!("  {} segments", index.num_segments());
        let cases: [(&str, &str, SearchOptions); 5] = [
            (
                "2 terms + facets + histogram, by relevance",
                "银行 贷款",
                SearchOptions {
                    aggregations: Some(agg.clone()),
                    ..SearchOptions::default()
                },
            ),
            (
                "2 terms + facets + histogram, by time",
                "银行 贷款",
                SearchOptions {
                    sort: SortOrder::Time,
                    aggregations: Some(agg.clone()),
                    ..SearchOptions::default()
                },
            ),
            (
                "2 terms + facets + histogram, collapsed",
                "银行 贷款",
                SearchOptions {
                    collapse: true,
                    aggregations: Some(agg.clone()),
                    ..SearchOptions::default()
                },
            ),
            (
                "2 terms + filters + last:30d + facets + histogram",
                "银行 贷款 sentiment:负面 -channel:official last:30d",
                SearchOptions {
                    now: Some(end),
                    aggregations: Some(agg.clone()),
                    ..SearchOptions::default()
                },
            ),
            (
                "2 frequent terms + facets + histogram (worst case)",
                "中国 发展",
                SearchOptions {
                    aggregations: Some(agg.clone()),
                    ..SearchOptions::default()
                },
            ),
        ];
        for (name, q, opts) in cases {
            let mut last = None;
            for _ in 0..10 {
                last = Some(index.search(q, &opts).expect("search"));
            }
            let r = last.expect("ran");
            let ag = r.aggregations.as_ref().expect("aggregations asked");
            assert!(r.total > 0, "{q}: no hits");
            assert_eq!(ag.total as usize, r.total, "{q}: aggregated every match");
            let by_label: u64 = ag.facets.sentiment.iter().map(|f| f.count).sum();
            assert_eq!(
                by_label as usize, r.total,
                "{q}: sentiment facet sums to the hits"
            );
            let in_buckets: u64 = ag.histogram.iter().map(|b| b.count).sum();
            assert_eq!(
                in_buckets as usize, r.total,
                "{q}: histogram sums to the hits"
            );
            assert_eq!(r.hits.len(), 20, "{q}: a full first page");
            let mut times = Vec::with_capacity(iters);
            for _ in 0..iters {
                let t = Instant::now();
                let r = index.search(q, &opts).expect("search");
                times.push(t.elapsed());
                std::hint::black_box(r);
            }
            times.sort();
            let p99 = percentile(&times, 0.99);
            println!(
                "  {name}: `{q}` {} hits ({} groups), {} buckets: p50 {}  p99 {}  max {}",
                r.total,
                r.groups,
                ag.histogram.len(),
                ms(percentile(&times, 0.5)),
                ms(p99),
                ms(*times.last().expect("ran"))
            );
            if n >= 1_000_000 && name.contains("by relevance") {
                println!(
                    "  goal p99 < {}: {}",
                    ms(GOAL_P99),
                    if p99 < GOAL_P99 { "met" } else { "MISSED" }
                );
            }
        }
    }
}
