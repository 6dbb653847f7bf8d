use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use yuqing_model::{Channel, DocId, Document, RawDoc, SourceId};
use yuqing_text::{Analyzer, AnalyzerOptions};

use super::*;

fn analyzer() -> Analyzer {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let opts = AnalyzerOptions {
        user_dicts: vec![root.join("dict/yuqing.txt")],
        sentiment_lexicon: root.join("sentiment.toml"),
        risk_rules: None,
        negative_threshold: -0.2,
        positive_threshold: 0.2,
    };
    let entities = vec![yuqing_model::Entity {
        id: "hengxin".into(),
        name: "恒信消费金融有限公司".into(),
        aliases: vec![yuqing_model::Alias {
            text: "恒信消费金融".into(),
            kind: yuqing_model::AliasKind::Name,
        }],
        exclude_contexts: vec![],
    }];
    Analyzer::load(&opts, &entities).unwrap()
}

fn doc(a: &Analyzer, id: &str, title: &str, body: &str, hour: u32) -> Document {
    let raw = RawDoc {
        id: DocId(id.into()),
        source_id: SourceId("news/t".into()),
        channel: Channel::News,
        item_key: id.into(),
        url: Some(format!("https://n.example/{id}")),
        title: title.into(),
        body: body.into(),
        author: None,
        published_at: Some(Utc.with_ymd_and_hms(2026, 11, 1, hour, 0, 0).unwrap()),
        fetched_at: Utc::now(),
        tags: vec!["authoritative".into()],
    };
    let analysis = a.analyze(&raw);
    Document {
        raw,
        analysis,
        cluster: None,
    }
}

fn open(dir: &std::path::Path, a: &Analyzer) -> DocIndex {
    DocIndex::open(dir, a.tokenizer()).unwrap()
}

#[test]
fn upsert_keeps_one_copy_and_search_finds_chinese() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path(), &a);
    let mut w = index.writer(1, 20_000_000).unwrap();
    let d1 = doc(
        &a,
        "a",
        "恒信消费金融被投诉暴力催收",
        "多名借款人反映遭遇暴力催收，电话打到通讯录联系人。",
        8,
    );
    let d2 = doc(
        &a,
        "b",
        "央行公布贷款市场报价利率",
        "一年期贷款市场报价利率维持不变。",
        9,
    );
    w.upsert(&d1).unwrap();
    w.upsert(&d2).unwrap();
    w.commit().unwrap();
    w.upsert(&d1).unwrap();
    w.commit().unwrap();
    index.reload().unwrap();
    assert_eq!(index.num_docs(), 2);
    assert!(index.contains("a").unwrap());

    let r = index.search("暴力催收", &SearchOptions::default()).unwrap();
    assert_eq!(r.total, 1);
    assert_eq!(r.hits[0].id, "a");
    assert_eq!(r.hits[0].entities, ["hengxin"]);
    let r = index.search("贷款", &SearchOptions::default()).unwrap();
    assert_eq!(
        r.hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    let r = index
        .search("entity:hengxin", &SearchOptions::default())
        .unwrap();
    assert_eq!(r.total, 1);
    let r = index
        .search(
            "tag:authoritative",
            &SearchOptions {
                sort: SortOrder::Time,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        r.hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
}

#[test]
fn highlights_are_exact_on_chinese_text() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path(), &a);
    let mut w = index.writer(1, 20_000_000).unwrap();
    w.upsert(&doc(
        &a,
        "a",
        "标题",
        "据报道，恒信消费金融今日回应：将全面整改催收外包，暴力催收零容忍。",
        8,
    ))
    .unwrap();
    w.commit().unwrap();
    index.reload().unwrap();
    let r = index.search("暴力催收", &SearchOptions::default()).unwrap();
    let s = &r.hits[0].snippet;
    assert!(!s.highlights.is_empty());
    for h in &s.highlights {
        let marked = &s.text[h.clone()];
        assert!(
            ["暴力催收", "暴力", "催收"].contains(&marked),
            "highlighted {marked:?}"
        );
    }
    assert!(
        s.marked("[", "]").contains("[暴力催收]") || s.marked("[", "]").contains("[暴力][催收]")
    );
}

#[test]
fn second_writer_is_refused_clearly_and_bad_query_is_an_error() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path(), &a);
    let _w = index.writer(1, 20_000_000).unwrap();
    let other = open(dir.path(), &a);
    assert!(matches!(
        other.writer(1, 20_000_000),
        Err(IndexError::Locked(_))
    ));
    assert!(matches!(
        index.search("title:(", &SearchOptions::default()),
        Err(IndexError::Query(_))
    ));
}

#[test]
fn reader_in_another_handle_sees_commits() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path(), &a);
    let reader = open(dir.path(), &a);
    let mut w = index.writer(1, 20_000_000).unwrap();
    w.upsert(&doc(&a, "a", "恒信消费金融", "正文", 8)).unwrap();
    w.commit().unwrap();
    reader.reload().unwrap();
    assert_eq!(reader.num_docs(), 1);
}

#[test]
fn risk_dimension_and_cluster_fields_filter() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path(), &a);
    let mut w = index.writer(1, 20_000_000).unwrap();
    let mut d1 = doc(
        &a,
        "a",
        "恒信消费金融被投诉暴力催收",
        "借款人反映遭遇暴力催收，还被收取砍头息。",
        8,
    );
    assert!(
        d1.analysis.risks.iter().any(|r| r.id == "collection"),
        "{:?}",
        d1.analysis.risks
    );
    d1.cluster = Some(yuqing_model::ClusterInfo {
        id: DocId("a".into()),
        first_source: SourceId("news/t".into()),
        first_seen: Utc::now(),
        size: 2,
    });
    let d2 = doc(
        &a,
        "b",
        "央行公布贷款市场报价利率",
        "一年期贷款市场报价利率维持不变。",
        9,
    );
    w.upsert(&d1).unwrap();
    w.upsert(&d2).unwrap();
    w.commit().unwrap();
    index.reload().unwrap();
    let ids = |q: &str| -> Vec<String> {
        let r = index.search(q, &SearchOptions::default()).unwrap();
        r.hits.into_iter().map(|h| h.id).collect()
    };
    assert_eq!(ids("risk:collection"), ["a"]);
    assert_eq!(ids("risk:fees AND dim:finance"), ["a"]);
    assert_eq!(ids("dim:people"), ["a"]);
    assert_eq!(ids("cluster:a"), ["a"]);
    let r = index
        .search("cluster:a", &SearchOptions::default())
        .unwrap();
    assert_eq!(r.hits[0].cluster.as_deref(), Some("a"));
    assert_eq!(r.hits[0].cluster_size, 2);
    assert!(r.hits[0].risks.contains(&"fees".to_string()));
    assert!(r.hits[0].dimensions.contains(&"finance".to_string()));
}
