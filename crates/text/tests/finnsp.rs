//! Accuracy on real labelled data: FinNSP (CCF BDCI 2019 financial negative-entity task), if the
//! shared corpora folder is present. Prints the figures; asserts only a loose floor.

mod common;

use std::path::PathBuf;

use common::{analyzer, doc};
use yuqing_model::SentimentLabel;

/// How many labelled items to score (the file's first rows, header skipped).
const ITEMS: usize = 500;

#[test]
fn finnsp_negative_recall_if_corpus_present() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sentiment/finnsp/train_list.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skip: FinNSP corpus not found at {}", path.display());
        return;
    };
    let rows: Vec<Vec<String>> = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let a = analyzer();
    let (mut tp, mut fp, mut tn, mut fn_) = (0u32, 0u32, 0u32, 0u32);
    let mut scored = 0;
    for row in &rows {
        // Rows are [id, title, text, entities, negative "0"/"1", key entities]; the header row
        // (negative == "negative") sits somewhere in the middle of the file.
        let (Some(title), Some(body), Some(negative)) = (row.get(1), row.get(2), row.get(4)) else {
            continue;
        };
        let truth = match negative.as_str() {
            "1" => true,
            "0" => false,
            _ => continue,
        };
        // Many rows repeat the text as the title; count it once.
        let title = if body.starts_with(title.as_str()) {
            ""
        } else {
            title.as_str()
        };
        let predicted = a.analyze(&doc(title, body)).sentiment.label == SentimentLabel::Negative;
        match (predicted, truth) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
        scored += 1;
        if scored == ITEMS {
            break;
        }
    }
    let ratio = |a: u32, b: u32| {
        if b == 0 {
            0.0
        } else {
            f64::from(a) / f64::from(b)
        }
    };
    let accuracy = ratio(tp + tn, tp + tn + fp + fn_);
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    println!(
        "finnsp: {scored} items, tp {tp} fp {fp} tn {tn} fn {fn_}; accuracy {accuracy:.3} \
         precision {precision:.3} recall {recall:.3} f1 {f1:.3}"
    );
    assert!(f1 > 0.3, "negative F1 {f1:.3} is below the floor");
}
