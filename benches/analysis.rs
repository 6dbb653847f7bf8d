//! Analysis throughput on one core: normalize + segment (jieba on every clause that can hold a
//! lexicon term or an alias) + entities + document and per-entity sentiment (lexicon and the
//! character n-gram model) + risk and dimension tags + SimHash, over the financial news of
//! ../shared/corpora/text/finna (summary as title, news text as body) and, when present, the
//! paragraphs of ../shared/corpora/text/pku-199801 grouped into ~1.5 KB documents, and the
//! FinNSP news (../shared/corpora/sentiment/finnsp) with the ~3,000 companies it names watched
//! (mentions and per-entity sentiment in nearly every document).
//!
//! `cargo bench --bench analysis` prints docs/s (the median of five passes, with their range)
//! and MB/s per corpus and asserts what it counted (every document analyzed, its characters
//! counted, the learned sentiment model loaded and scoring most documents). The target is
//! 20,000 docs/s per core; set `YUQING_BENCH_ASSERT_RATE=1` to make a miss fail the bench, and
//! `YUQING_BENCH_ONLY=pku` to run the corpora whose name starts so (for a profiler). For
//! comparison, `cargo run --release -p yuqing-text --example phases` times jieba's cut of
//! whole documents.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;
use yuqing_model::{Channel, DocId, RawDoc, SourceId};
use yuqing_text::{Analyzer, AnalyzerOptions};

/// The throughput target, in documents per second on one core.
const TARGET_DOCS_PER_SEC: f64 = 20_000.0;
/// Timed passes over each corpus; the median is the figure.
const PASSES: usize = 5;

fn raw(i: usize, title: &str, body: &str) -> RawDoc {
    RawDoc {
        id: DocId(format!("{i:032x}")),
        source_id: SourceId("bench/text".into()),
        channel: Channel::News,
        item_key: i.to_string(),
        url: None,
        title: title.to_string(),
        body: body.to_string(),
        author: None,
        published_at: None,
        fetched_at: Utc::now(),
        tags: Vec::new(),
    }
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpora = repo.join("../shared/corpora/text");
    let finna = corpora.join("finna/eval_list.json");
    let Ok(text) = std::fs::read_to_string(&finna) else {
        println!(
            "skip: {} not found (the corpus lives beside the repository)",
            finna.display()
        );
        return;
    };
    let pairs: Vec<(String, String)> =
        serde_json::from_str(&text).expect("finna is a JSON list of [summary, text]");
    // (name, documents, whether its own entity list is watched)
    let mut sets: Vec<(&str, Vec<RawDoc>, bool)> = vec![(
        "finna",
        pairs
            .iter()
            .enumerate()
            .map(|(i, (t, b))| raw(i, t, b))
            .collect(),
        false,
    )];
    if let Ok(pku) = std::fs::read_to_string(corpora.join("pku-199801/199801.raw.txt")) {
        // Paragraphs grouped into documents of about 1.5 KB; at most 4,000 documents.
        let mut docs = Vec::new();
        let mut body = String::new();
        for line in pku.lines().map(str::trim).filter(|l| !l.is_empty()) {
            body.push_str(line);
            body.push('\n');
            if body.len() >= 1500 {
                let title: String = body.chars().take(20).collect();
                docs.push(raw(docs.len(), &title, &body));
                body.clear();
                if docs.len() == 4000 {
                    break;
                }
            }
        }
        sets.push(("pku-199801", docs, false));
    }
    // Financial news about the companies it names, every one of them watched: the path of the
    // documents that matter (mentions, per-entity sentiment, salience).
    let finnsp = repo.join("../shared/corpora/sentiment/finnsp/train_list.json");
    let mut finnsp_entities: Vec<yuqing_model::Entity> = Vec::new();
    match yuqing_text::eval::load(&finnsp) {
        Ok(items) => {
            let mut names: Vec<&str> = items
                .iter()
                .flat_map(|i| i.entities.iter().map(|(n, _)| n.as_str()))
                .filter(|n| !yuqing_text::normalize(n).is_empty())
                .collect();
            names.sort_unstable();
            names.dedup();
            finnsp_entities = names
                .iter()
                .enumerate()
                .map(|(i, n)| yuqing_model::Entity {
                    id: format!("e{i}"),
                    name: n.to_string(),
                    aliases: vec![yuqing_model::Alias {
                        text: n.to_string(),
                        kind: yuqing_model::AliasKind::Name,
                    }],
                    exclude_contexts: Vec::new(),
                })
                .collect();
            let docs = items
                .iter()
                .enumerate()
                .map(|(i, it)| raw(i, &it.title, &it.text))
                .collect();
            sets.push(("finnsp (its companies watched)", docs, true));
        }
        Err(e) => println!("skip FinNSP: {e}"),
    }

    // The shipped configuration: dictionaries, lexicon, risk rules and entities.
    let config = yuqing_config::load(
        &repo.join("config/yuqing.toml"),
        &std::collections::HashMap::new(),
        &Default::default(),
    )
    .expect("the shipped configuration loads");
    let a = &config.settings.analysis;
    let opts = AnalyzerOptions::from_settings(a);
    let analyzer = Analyzer::load(&opts, &config.entities).expect("the analyzer loads");
    assert!(analyzer.risk_category_count() >= 8, "risk rules loaded");
    assert!(
        analyzer.model_feature_count() > 0,
        "the learned sentiment model is loaded (config/sentiment-model.tsv)"
    );

    let watching_finnsp = (!finnsp_entities.is_empty()).then(|| {
        Analyzer::load(&opts, &finnsp_entities).expect("the analyzer loads FinNSP's companies")
    });

    let mut all_met = true;
    let only = std::env::var("YUQING_BENCH_ONLY").unwrap_or_default();
    for (name, docs, own_entities) in sets.iter().filter(|s| s.0.starts_with(&only)) {
        let analyzer = match (&watching_finnsp, own_entities) {
            (Some(a), true) => a,
            _ => &analyzer,
        };
        let bytes: usize = docs.iter().map(|d| d.title.len() + d.body.len()).sum();
        // Warm-up pass (page faults, caches), then PASSES timed passes: this machine's speed
        // drifts by up to 40% between minutes, so the median is reported with the range.
        for d in docs.iter().take(200) {
            black_box(analyzer.analyze(d));
        }
        let mut rates = Vec::with_capacity(PASSES);
        let (mut analyzed, mut chars, mut mentions, mut tagged) = (0usize, 0usize, 0usize, 0usize);
        let mut modelled = 0usize;
        for _ in 0..PASSES {
            (analyzed, chars, mentions, tagged, modelled) = (0, 0, 0, 0, 0);
            let started = Instant::now();
            for d in docs {
                let a = analyzer.analyze(black_box(d));
                analyzed += 1;
                chars += a.char_count;
                mentions += a.mentions.len();
                tagged += usize::from(!a.risks.is_empty() || !a.dimensions.is_empty());
                modelled += usize::from(
                    a.sentiment
                        .terms
                        .iter()
                        .any(|t| t.modifiers.iter().any(|m| m == "模型")),
                );
                assert_ne!(a.simhash, 0, "every non-empty document has a SimHash");
                black_box(a);
            }
            rates.push(analyzed as f64 / started.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let rate = rates[PASSES / 2];
        println!(
            "{name}: {analyzed} docs ({:.1} KB avg), {chars} word chars, {mentions} mentions, \
             {tagged} tagged, {modelled} with model evidence; median of {PASSES} passes \
             {rate:.0} docs/s (range {:.0}–{:.0}), {:.1} MB/s on one core",
            bytes as f64 / analyzed as f64 / 1024.0,
            rates[0],
            rates[PASSES - 1],
            bytes as f64 * rate / analyzed as f64 / 1e6,
        );
        assert_eq!(analyzed, docs.len(), "every document analyzed");
        assert!(
            chars > analyzed * 100,
            "too few word characters counted: {chars}"
        );
        assert!(
            modelled > analyzed / 2,
            "the model scored too few documents: {modelled}"
        );
        assert!(
            !own_entities || mentions > analyzed,
            "too few mentions of the watched companies: {mentions}"
        );
        all_met &= rate >= TARGET_DOCS_PER_SEC;
    }
    if !all_met {
        println!("below the target of {TARGET_DOCS_PER_SEC:.0} docs/s per core");
        if std::env::var_os("YUQING_BENCH_ASSERT_RATE").is_some() {
            panic!("throughput below target");
        }
    }
}
