//! Every file of the feedparser test suite (../shared/corpora/feeds/feedparser) through the
//! feed parser: none may panic, and the share that parses is printed. (Each file's
//! expectation is checked by `yuqing feedcheck`, `yuqing_connectors::feedcheck`; this guards
//! against crashes.)

use std::path::{Path, PathBuf};

use chrono::Utc;
use yuqing_connectors::feed::{ItemMeta, parse};
use yuqing_model::{Channel, SourceId};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "xml") {
            out.push(p);
        }
    }
}

#[test]
fn feedparser_corpus_never_panics() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/feeds/feedparser/tests");
    if !root.is_dir() {
        println!(
            "skip: {} not found (the corpus lives beside the repository)",
            root.display()
        );
        return;
    }
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    let meta = ItemMeta {
        source_id: SourceId("corpus".into()),
        channel: Channel::News,
        tags: vec![],
    };
    let base = url::Url::parse("http://feeds.example.org/feed.xml").unwrap();
    let (mut parsed, mut with_items, mut errors, mut panics) = (0, 0, 0, Vec::new());
    for f in &all {
        let bytes = std::fs::read(f).unwrap();
        match std::panic::catch_unwind(|| parse(&bytes, None, &base, &meta, Utc::now())) {
            Ok(Ok(docs)) => {
                parsed += 1;
                if !docs.is_empty() {
                    with_items += 1;
                }
            }
            Ok(Err(_)) => errors += 1,
            Err(_) => panics.push(f.strip_prefix(&root).unwrap_or(f).display().to_string()),
        }
    }
    println!(
        "feedparser corpus: {} files, {parsed} parsed ({with_items} with items), {errors} parse errors, {} panics",
        all.len(),
        panics.len()
    );
    assert!(
        all.len() > 1000,
        "the corpus is incomplete: {} files",
        all.len()
    );
    assert!(panics.is_empty(), "panics on: {panics:?}");
}
