//! `cargo run --release -p yuqing-text --example phases`: where analysis time goes, with the
//! shipped configuration and entities (as `benches/analysis.rs` loads them), on
//! ../shared/corpora/text/finna and the PKU paragraphs grouped into ~1.5 KB documents:
//! normalize, jieba alone, and the whole analysis. `PHASES_REPEAT=N` repeats the whole-analysis
//! pass N times (for `perf record`); `PHASES_ONLY=finna` runs one corpus.

use std::path::PathBuf;
use std::time::Instant;

use yuqing_model::{Channel, DocId, RawDoc, SourceId};
use yuqing_text::{Analyzer, AnalyzerOptions, normalize};

fn raw(title: &str, body: &str) -> RawDoc {
    RawDoc {
        id: DocId("0".into()),
        source_id: SourceId("x".into()),
        channel: Channel::News,
        item_key: String::new(),
        url: None,
        title: title.to_string(),
        body: body.to_string(),
        author: None,
        published_at: None,
        fetched_at: Default::default(),
        tags: vec![],
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corpora = root.join("../shared/corpora/text");
    let Ok(text) = std::fs::read_to_string(corpora.join("finna/eval_list.json")) else {
        println!("skip: corpus not found");
        return;
    };
    let finna: Vec<(String, String)> = serde_json::from_str(&text).expect("finna list");
    let mut sets = vec![("finna", finna)];
    if let Ok(pku) = std::fs::read_to_string(corpora.join("pku-199801/199801.raw.txt")) {
        let mut docs = Vec::new();
        let mut body = String::new();
        for line in pku.lines().map(str::trim).filter(|l| !l.is_empty()) {
            body.push_str(line);
            body.push('\n');
            if body.len() >= 1500 {
                let title: String = body.chars().take(20).collect();
                docs.push((title, std::mem::take(&mut body)));
                if docs.len() == 4000 {
                    break;
                }
            }
        }
        sets.push(("pku-199801", docs));
    }
    let config = yuqing_config::load(
        &root.join("config/yuqing.toml"),
        &std::collections::HashMap::new(),
        &Default::default(),
    )
    .expect("the shipped configuration loads");
    let opts = AnalyzerOptions::from_settings(&config.settings.analysis);
    let a = Analyzer::load(&opts, &config.entities).expect("config loads");
    let repeat: usize = std::env::var("PHASES_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);

    let only = std::env::var("PHASES_ONLY").ok();
    for (name, docs) in &sets {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        let bytes: usize = docs.iter().map(|(t, b)| t.len() + b.len()).sum();
        println!(
            "{name}: {} docs, {:.2} KB avg",
            docs.len(),
            bytes as f64 / docs.len() as f64 / 1024.0
        );
        let time = |stage: &str, n: usize, f: &mut dyn FnMut()| {
            let t = Instant::now();
            f();
            let s = t.elapsed().as_secs_f64();
            println!(
                "  {stage:<24} {:>8.0} docs/s {:>6.1} MB/s",
                (docs.len() * n) as f64 / s,
                (bytes * n) as f64 / s / 1e6
            );
        };
        time("normalize", 1, &mut || {
            for (t, b) in docs {
                std::hint::black_box((normalize(t), normalize(b)));
            }
        });
        let normed: Vec<(String, String)> = docs
            .iter()
            .map(|(t, b)| (normalize(t), normalize(b)))
            .collect();
        time("segment (jieba, HMM)", 1, &mut || {
            for (t, b) in &normed {
                std::hint::black_box((a.segment(t), a.segment(b)));
            }
        });
        let raws: Vec<RawDoc> = docs.iter().map(|(t, b)| raw(t, b)).collect();
        for r in raws.iter().take(200) {
            std::hint::black_box(a.analyze(r));
        }
        time("analyze", repeat, &mut || {
            for _ in 0..repeat {
                for r in &raws {
                    std::hint::black_box(a.analyze(r));
                }
            }
        });
    }
}
