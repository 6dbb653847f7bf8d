//! `cargo run --release -p yuqing-text --example phases`: where analysis time goes on
//! ../shared/corpora/text/finna (normalize, jieba with and without HMM, the whole analysis).

use std::path::PathBuf;
use std::time::Instant;

use yuqing_model::{Channel, DocId, RawDoc, SourceId};
use yuqing_text::{Analyzer, AnalyzerOptions, normalize};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Ok(text) =
        std::fs::read_to_string(root.join("../shared/corpora/text/finna/eval_list.json"))
    else {
        println!("skip: corpus not found");
        return;
    };
    let docs: Vec<(String, String)> = serde_json::from_str(&text).expect("finna list");
    let opts = AnalyzerOptions {
        user_dicts: vec![root.join("config/dict/yuqing.txt")],
        sentiment_lexicon: root.join("config/sentiment.toml"),
        ..AnalyzerOptions::default()
    };
    let a = Analyzer::load(&opts, &[]).expect("config loads");
    let bytes: usize = docs.iter().map(|(t, b)| t.len() + b.len()).sum();
    let time = |name: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name:<24} {:>8.0} docs/s {:>6.1} MB/s",
            docs.len() as f64 / s,
            bytes as f64 / s / 1e6
        );
    };
    time("normalize", &mut || {
        for (t, b) in &docs {
            std::hint::black_box((normalize(t), normalize(b)));
        }
    });
    let normed: Vec<(String, String)> = docs
        .iter()
        .map(|(t, b)| (normalize(t), normalize(b)))
        .collect();
    time("segment (jieba, HMM)", &mut || {
        for (t, b) in &normed {
            std::hint::black_box((a.segment(t), a.segment(b)));
        }
    });
    let raws: Vec<RawDoc> = docs
        .iter()
        .map(|(t, b)| RawDoc {
            id: DocId("0".into()),
            source_id: SourceId("x".into()),
            channel: Channel::News,
            item_key: String::new(),
            url: None,
            title: t.clone(),
            body: b.clone(),
            author: None,
            published_at: None,
            fetched_at: Default::default(),
            tags: vec![],
        })
        .collect();
    time("analyze", &mut || {
        for r in &raws {
            std::hint::black_box(a.analyze(r));
        }
    });
}
