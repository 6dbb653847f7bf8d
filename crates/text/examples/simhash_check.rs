//! `cargo run --release -p yuqing-text --example simhash_check`: how SimHash separates reposts
//! with small edits from different stories, on ../shared/corpora/text/finna. For each document
//! of at least 300 characters: a repost with a source line prepended, one word changed and the
//! title extended; prints the share of reposts within NEAR_DUPLICATE_BITS, and the share of
//! pairs of different documents that fall within it (false merges).

use std::path::PathBuf;

use yuqing_model::{Channel, DocId, RawDoc, SourceId};
use yuqing_text::{Analyzer, AnalyzerOptions, NEAR_DUPLICATE_BITS, hamming};

fn raw(title: &str, body: &str) -> RawDoc {
    RawDoc {
        id: DocId("0".into()),
        source_id: SourceId("x".into()),
        channel: Channel::News,
        item_key: String::new(),
        url: None,
        title: title.into(),
        body: body.into(),
        author: None,
        published_at: None,
        fetched_at: Default::default(),
        tags: vec![],
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join("../shared/corpora/text/finna/eval_list.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skip: {} not found", path.display());
        return;
    };
    let docs: Vec<(String, String)> = serde_json::from_str(&text).expect("finna list");
    let opts = AnalyzerOptions {
        user_dicts: vec![root.join("config/dict/yuqing.txt")],
        sentiment_lexicon: root.join("config/sentiment.toml"),
        ..AnalyzerOptions::default()
    };
    let a = Analyzer::load(&opts, &[]).expect("config loads");
    let (mut n, mut near, mut dist_sum) = (0u32, 0u32, 0u32);
    let mut hashes = Vec::new();
    for (title, body) in docs.iter().filter(|(_, b)| b.chars().count() >= 300) {
        let h = a.analyze(&raw(title, body)).simhash;
        // Change one word in the middle: the first "的" after the half becomes "之".
        let mid = body.len() / 2;
        let mid = (mid..body.len())
            .find(|&i| body.is_char_boundary(i))
            .unwrap_or(0);
        let edited = format!(
            "（转载自财经日报）{}{}",
            &body[..mid],
            body[mid..].replacen('的', "之", 1)
        );
        let r = a.analyze(&raw(&format!("{title}（转）"), &edited)).simhash;
        let d = hamming(h, r);
        n += 1;
        dist_sum += d;
        near += u32::from(d <= NEAR_DUPLICATE_BITS);
        hashes.push(h);
    }
    let mut pairs = 0u64;
    let mut false_merges = 0u64;
    for i in 0..hashes.len().min(1500) {
        for j in (i + 1)..hashes.len().min(1500) {
            pairs += 1;
            false_merges += u64::from(hamming(hashes[i], hashes[j]) <= NEAR_DUPLICATE_BITS);
        }
    }
    println!(
        "{n} documents ≥ 300 chars: {near} reposts within {NEAR_DUPLICATE_BITS} bits ({:.1}%), mean distance {:.2}; \
         {false_merges} of {pairs} pairs of different documents within it",
        100.0 * f64::from(near) / f64::from(n),
        f64::from(dist_sum) / f64::from(n)
    );
}
