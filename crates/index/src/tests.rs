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

// ---------------------------------------------------------------- query language, aggregations,
// paging, collapse and export

use std::collections::{BTreeSet, HashMap};

use chrono::DateTime;
use yuqing_model::{
    AliasKind, Analysis, Dimension, DimensionTag, Mention, RiskTag, Sentiment, SentimentLabel,
};

/// A document with every indexed field chosen by the test.
#[derive(Clone)]
struct D {
    id: String,
    title: String,
    body: String,
    time: DateTime<Utc>,
    source: String,
    channel: Channel,
    label: SentimentLabel,
    score: f32,
    entities: Vec<String>,
    risks: Vec<String>,
    dims: Vec<Dimension>,
    cluster: Option<String>,
}

fn d(id: &str, title: &str, body: &str) -> D {
    D {
        id: id.into(),
        title: title.into(),
        body: body.into(),
        time: Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap(),
        source: "news/a".into(),
        channel: Channel::News,
        label: SentimentLabel::Neutral,
        score: 0.0,
        entities: vec![],
        risks: vec![],
        dims: vec![],
        cluster: None,
    }
}

impl D {
    fn at(mut self, t: DateTime<Utc>) -> D {
        self.time = t;
        self
    }
    fn src(mut self, s: &str) -> D {
        self.source = s.into();
        self
    }
    fn chan(mut self, c: Channel) -> D {
        self.channel = c;
        self
    }
    fn senti(mut self, label: SentimentLabel, score: f32) -> D {
        self.label = label;
        self.score = score;
        self
    }
    fn ent(mut self, e: &[&str]) -> D {
        self.entities = e.iter().map(|s| s.to_string()).collect();
        self
    }
    fn risk(mut self, r: &[&str]) -> D {
        self.risks = r.iter().map(|s| s.to_string()).collect();
        self
    }
    fn dim(mut self, x: &[Dimension]) -> D {
        self.dims = x.to_vec();
        self
    }
    fn cl(mut self, c: &str) -> D {
        self.cluster = Some(c.into());
        self
    }

    fn doc(&self) -> Document {
        let raw = RawDoc {
            id: DocId(self.id.clone()),
            source_id: SourceId(self.source.clone()),
            channel: self.channel,
            item_key: self.id.clone(),
            url: Some(format!("https://n.example/{}", self.id)),
            title: self.title.clone(),
            body: self.body.clone(),
            author: None,
            published_at: Some(self.time),
            fetched_at: self.time,
            tags: vec![],
        };
        let analysis = Analysis {
            title: self.title.clone(),
            body: self.body.clone(),
            char_count: 0,
            mentions: self
                .entities
                .iter()
                .map(|e| Mention {
                    entity_id: e.clone(),
                    alias: e.clone(),
                    kind: AliasKind::Name,
                    field: yuqing_model::Field::Title,
                    start: 0,
                    end: 0,
                })
                .collect(),
            sentiment: Sentiment {
                score: self.score,
                label: self.label,
                terms: vec![],
            },
            entity_sentiments: vec![],
            risks: self
                .risks
                .iter()
                .map(|r| RiskTag {
                    id: r.clone(),
                    evidence: vec![],
                })
                .collect(),
            dimensions: self
                .dims
                .iter()
                .map(|&dimension| DimensionTag {
                    dimension,
                    evidence: vec![],
                })
                .collect(),
            simhash: 0,
            analyzer_version: 1,
        };
        Document {
            raw,
            analysis,
            cluster: self.cluster.as_ref().map(|c| yuqing_model::ClusterInfo {
                id: DocId(c.clone()),
                first_source: SourceId(self.source.clone()),
                first_seen: self.time,
                size: 1,
            }),
        }
    }
}

fn utc(y: i32, m: u32, dd: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, dd, h, mi, s).unwrap()
}

/// An index holding `docs`, committed and reloaded (several commits: several segments).
fn index_of(a: &Analyzer, dir: &std::path::Path, docs: &[D]) -> DocIndex {
    let index = open(dir, a);
    let mut w = index.writer(1, 20_000_000).unwrap();
    for (i, x) in docs.iter().enumerate() {
        w.upsert(&x.doc()).unwrap();
        if i % 7 == 6 {
            w.commit().unwrap();
        }
    }
    w.commit().unwrap();
    index.reload().unwrap();
    index
}

fn ids_of(r: &SearchResults) -> BTreeSet<String> {
    r.hits.iter().map(|h| h.id.clone()).collect()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn query_language_runs_against_the_index() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        d(
            "a",
            "恒信消费金融被投诉暴力催收",
            "借款人反映遭遇暴力催收。",
        )
        .senti(SentimentLabel::Negative, -0.8)
        .ent(&["hengxin"]),
        d(
            "b",
            "央行公布贷款市场报价利率",
            "一年期贷款市场报价利率维持不变。",
        )
        .src("news/b"),
        d("c", "恒信消费金融推出新产品", "客户服务获得好评。")
            .src("social/c")
            .chan(Channel::Social)
            .senti(SentimentLabel::Positive, 0.7)
            .ent(&["hengxin"]),
        d(
            "d",
            "Credit card fees rise",
            "The credit card annual fee went up again.",
        )
        .senti(SentimentLabel::Negative, -0.3),
    ];
    let index = index_of(&a, dir.path(), &docs);
    let q = |s: &str| -> BTreeSet<String> {
        let r = index
            .search(s, &SearchOptions::default())
            .unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(r.total, r.hits.len(), "{s}");
        ids_of(&r)
    };
    assert_eq!(q("暴力催收"), set(&["a"]));
    assert_eq!(q("暴力催收 OR 利率"), set(&["a", "b"]));
    assert_eq!(q("恒信消费金融 暴力催收"), set(&["a"]));
    assert_eq!(q("恒信消费金融 -暴力催收"), set(&["c"]));
    assert_eq!(q("恒信消费金融 AND NOT 暴力催收"), set(&["c"]));
    assert_eq!(q("(暴力催收 OR 利率) source:news/b"), set(&["b"]));
    assert_eq!(q("暴力催收 OR 利率 source:news/b"), set(&["a", "b"]));
    assert_eq!(q("sentiment:负面"), set(&["a", "d"]));
    assert_eq!(q("-sentiment:negative"), set(&["b", "c"]));
    assert_eq!(q("channel:social"), set(&["c"]));
    assert_eq!(q("entity:hengxin sentiment:positive"), set(&["c"]));
    assert_eq!(q("source:(news/b OR social/c)"), set(&["b", "c"]));
    assert_eq!(q("\"credit card\""), set(&["d"]));
    assert_eq!(q("\"card credit\""), set(&[]));
    assert_eq!(q("CREDIT"), set(&["d"]));
    assert_eq!(q("title:新产品"), set(&["c"]));
    assert_eq!(q("body:新产品"), set(&[]));
    assert_eq!(q("title:好评 OR body:好评"), set(&["c"]));
    // Nothing searchable in the text: every document.
    assert_eq!(q("，"), set(&["a", "b", "c", "d"]));
    assert_eq!(q(""), set(&["a", "b", "c", "d"]));

    match index.search("暴力催收 AND (投诉", &SearchOptions::default()) {
        Err(IndexError::Query(e)) => {
            assert_eq!(e.kind, QueryErrorKind::UnclosedParen);
            assert_eq!((e.byte, e.char), (17, 9));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        index.aggregate("foo:bar", &AggOptions::default()),
        Err(IndexError::Query(QueryError {
            kind: QueryErrorKind::UnknownField { .. },
            ..
        }))
    ));
}

#[test]
fn a_title_match_outranks_a_body_match() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        d("body", "公司公告", "关于催收外包的说明，公司将加强管理。"),
        d("title", "催收外包说明", "公司将加强管理，详见公告。"),
    ];
    let index = index_of(&a, dir.path(), &docs);
    let r = index.search("催收", &SearchOptions::default()).unwrap();
    assert_eq!(
        r.hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["title", "body"]
    );
    assert!(r.hits[0].score > r.hits[1].score);
}

#[test]
fn time_filters_follow_shanghai_days() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        // 2026-01-31 00:00:00 Shanghai
        d("first", "t", "b").at(utc(2026, 1, 30, 16, 0, 0)),
        // 2026-01-31 23:59:59 Shanghai
        d("last", "t", "b").at(utc(2026, 1, 31, 15, 59, 59)),
        // 2026-02-01 00:00:00 Shanghai
        d("next", "t", "b").at(utc(2026, 1, 31, 16, 0, 0)),
    ];
    let index = index_of(&a, dir.path(), &docs);
    let now = utc(2026, 1, 31, 16, 30, 0);
    let q = |s: &str| -> BTreeSet<String> {
        let o = SearchOptions {
            now: Some(now),
            ..Default::default()
        };
        ids_of(&index.search(s, &o).unwrap_or_else(|e| panic!("{s}: {e}")))
    };
    assert_eq!(q("time:2026-01-31"), set(&["first", "last"]));
    assert_eq!(q("time:2026-02-01"), set(&["next"]));
    assert_eq!(q("time:2026-02"), set(&["next"]));
    assert_eq!(q("time:>=2026-02-01"), set(&["next"]));
    assert_eq!(q("time:>2026-01-31"), set(&["next"]));
    assert_eq!(q("time:<2026-02-01"), set(&["first", "last"]));
    assert_eq!(q("time:<=2026-01-30"), set(&[]));
    assert_eq!(
        q("time:[2026-01-31 TO 2026-01-31]"),
        set(&["first", "last"])
    );
    assert_eq!(
        q("time:{2026-01-30 TO 2026-02-01}"),
        set(&["first", "last"])
    );
    assert_eq!(q("time:[2026-01-31T23:59 TO *]"), set(&["last", "next"]));
    assert_eq!(q("time:2026-01-31T23:59:59"), set(&["last"]));
    assert_eq!(q("last:30min"), set(&["next"]));
    assert_eq!(q("time:30min"), set(&["next"]));
    assert_eq!(q("last:1h"), set(&["last", "next"]));
    assert_eq!(q("last:31min"), set(&["last", "next"]));
    assert_eq!(q("last:24h"), set(&["last", "next"]));
    assert_eq!(q("last:1d"), q("last:24h"));
    assert_eq!(q("last:25h"), set(&["first", "last", "next"]));
    assert_eq!(q("t -last:30min"), set(&["first", "last"]));
    // Another zone reads the same date differently.
    let utc_day = index
        .search(
            "time:2026-01-31",
            &SearchOptions {
                timezone: chrono_tz::UTC,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ids_of(&utc_day), set(&["last", "next"]));
}

fn facet(v: &[FacetCount]) -> Vec<(&str, u64, u64)> {
    v.iter()
        .map(|f| (f.value.as_str(), f.count, f.negative))
        .collect()
}

#[test]
fn facets_count_every_match() {
    use Dimension::*;
    use SentimentLabel::*;
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        d("1", "催收", "x")
            .src("s1")
            .senti(Negative, -0.5)
            .ent(&["hx", "px"])
            .risk(&["collection"])
            .dim(&[People, Process]),
        d("2", "催收", "x")
            .src("s1")
            .senti(Negative, -0.6)
            .ent(&["hx"])
            .risk(&["collection", "fees"])
            .dim(&[People]),
        d("3", "催收", "x")
            .src("s1")
            .senti(Neutral, 0.0)
            .ent(&["hx"]),
        d("4", "催收", "x")
            .src("s2")
            .chan(Channel::Complaint)
            .senti(Negative, -0.9)
            .risk(&["fees"])
            .dim(&[Finance]),
        d("5", "催收", "x")
            .src("s2")
            .chan(Channel::Complaint)
            .senti(Positive, 0.5),
        d("6", "催收", "x")
            .src("s3")
            .chan(Channel::Social)
            .senti(Positive, 0.4)
            .ent(&["px"]),
        d("7", "利率", "x")
            .src("s3")
            .senti(Negative, -0.2)
            .ent(&["hx"])
            .risk(&["fees"]),
    ];
    let index = index_of(&a, dir.path(), &docs);
    let ag = index.aggregate("催收", &AggOptions::default()).unwrap();
    assert_eq!(ag.total, 6);
    let f = &ag.facets;
    assert_eq!(facet(&f.source), [("s1", 3, 2), ("s2", 2, 1), ("s3", 1, 0)]);
    assert_eq!(
        facet(&f.channel),
        [("complaint", 2, 1), ("news", 3, 2), ("social", 1, 0)]
            .into_iter()
            .collect::<Vec<_>>()
            .tap_sort()
    );
    assert_eq!(
        facet(&f.sentiment),
        [("negative", 3, 3), ("positive", 2, 0), ("neutral", 1, 0)]
    );
    assert_eq!(facet(&f.entity), [("hx", 3, 2), ("px", 2, 1)]);
    assert_eq!(facet(&f.risk), [("collection", 2, 2), ("fees", 2, 2)]);
    assert_eq!(
        facet(&f.dim),
        [("people", 2, 2), ("finance", 1, 1), ("process", 1, 1)]
    );
    // Only the top N per field.
    let top1 = index
        .aggregate(
            "",
            &AggOptions {
                top: 1,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(top1.total, 7);
    assert_eq!(facet(&top1.facets.source), [("s1", 3, 2)]);
    assert_eq!(facet(&top1.facets.entity), [("hx", 4, 3)]);
    // Filters narrow the counts; the same facets come with a search when asked.
    let r = index
        .search(
            "source:s2 OR entity:px",
            &SearchOptions {
                aggregations: Some(AggOptions::default()),
                ..Default::default()
            },
        )
        .unwrap();
    let ag = r.aggregations.unwrap();
    assert_eq!(ag.total, 4);
    assert_eq!(
        facet(&ag.facets.source),
        [("s2", 2, 1), ("s1", 1, 1), ("s3", 1, 0)]
    );
    assert_eq!(
        ag,
        index
            .aggregate("source:s2 OR entity:px", &AggOptions::default())
            .unwrap()
    );
}

trait TapSort {
    fn tap_sort(self) -> Self;
}
impl TapSort for Vec<(&str, u64, u64)> {
    /// Facet order: count descending, then value.
    fn tap_sort(mut self) -> Self {
        self.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        self
    }
}

#[test]
fn histogram_buckets_align_to_shanghai_midnight_with_sentiment() {
    use SentimentLabel::*;
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        // 2026-01-01 23:30 Shanghai
        d("1", "催收", "x")
            .at(utc(2026, 1, 1, 15, 30, 0))
            .senti(Negative, -0.8),
        // 2026-01-02 00:30 and 01:00 Shanghai
        d("2", "催收", "x")
            .at(utc(2026, 1, 1, 16, 30, 0))
            .senti(Positive, 0.6),
        d("3", "催收", "x")
            .at(utc(2026, 1, 1, 17, 0, 0))
            .senti(Negative, -0.4),
        // 2026-01-04 04:00 Shanghai (nothing on the 3rd)
        d("4", "催收", "x")
            .at(utc(2026, 1, 3, 20, 0, 0))
            .senti(Neutral, 0.0),
    ];
    let index = index_of(&a, dir.path(), &docs);
    let ag = index
        .aggregate(
            "",
            &AggOptions {
                interval: Interval::Day,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ag.interval, Interval::Day);
    let h: Vec<_> = ag
        .histogram
        .iter()
        .map(|b| {
            (
                b.start.to_rfc3339(),
                b.count,
                [b.negative, b.neutral, b.positive],
                b.mean_score.map(|m| (m * 100.0).round() / 100.0),
            )
        })
        .collect();
    assert_eq!(
        h,
        [
            (
                "2026-01-01T00:00:00+08:00".to_string(),
                1,
                [1, 0, 0],
                Some(-0.8)
            ),
            (
                "2026-01-02T00:00:00+08:00".to_string(),
                2,
                [1, 0, 1],
                Some(0.1)
            ),
            ("2026-01-03T00:00:00+08:00".to_string(), 0, [0, 0, 0], None),
            (
                "2026-01-04T00:00:00+08:00".to_string(),
                1,
                [0, 1, 0],
                Some(0.0)
            ),
        ]
    );
    // Auto picks days for this 52-hour span of data …
    let auto = index.aggregate("", &AggOptions::default()).unwrap();
    assert_eq!(auto.interval, Interval::Day);
    assert_eq!(auto.histogram, ag.histogram);
    // … and hours for one day; a bounded query keeps its empty buckets.
    let day = index
        .aggregate("time:2026-01-02", &AggOptions::default())
        .unwrap();
    assert_eq!(day.interval, Interval::Hour);
    assert_eq!(day.histogram.len(), 24);
    assert_eq!(
        day.histogram[0].start.to_rfc3339(),
        "2026-01-02T00:00:00+08:00"
    );
    assert_eq!(
        day.histogram[23].start.to_rfc3339(),
        "2026-01-02T23:00:00+08:00"
    );
    let counts: Vec<u64> = day.histogram.iter().map(|b| b.count).collect();
    assert_eq!(&counts[..3], [1, 1, 0]);
    assert_eq!(counts.iter().sum::<u64>(), 2);
    assert_eq!(day.histogram[0].positive, 1);
    assert_eq!(day.histogram[1].negative, 1);
    // A relative range runs up to now, empty hours included.
    let now = utc(2026, 1, 4, 0, 30, 0); // 08:30 Shanghai
    let recent = index
        .aggregate(
            "last:6h",
            &AggOptions {
                now: Some(now),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(recent.interval, Interval::Hour);
    assert_eq!(
        recent.histogram.first().unwrap().start.to_rfc3339(),
        "2026-01-04T02:00:00+08:00"
    );
    assert_eq!(
        recent.histogram.last().unwrap().start.to_rfc3339(),
        "2026-01-04T08:00:00+08:00"
    );
    assert_eq!(recent.histogram.iter().map(|b| b.count).sum::<u64>(), 1);
    assert_eq!(recent.histogram[2].count, 1);
    // Buckets in UTC when asked.
    let u = index
        .aggregate(
            "",
            &AggOptions {
                interval: Interval::Day,
                timezone: chrono_tz::UTC,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        u.histogram[0].start.to_rfc3339(),
        "2026-01-01T00:00:00+00:00"
    );
    assert_eq!(u.histogram[0].count, 3);
}

/// Every page of `query` in `opts.sort` order; `between` runs after each page.
fn all_pages(
    index: &DocIndex,
    query: &str,
    opts: &SearchOptions,
    mut between: impl FnMut(usize),
) -> Vec<Vec<Hit>> {
    let mut pages = vec![];
    let mut cursor = None;
    loop {
        let o = SearchOptions {
            cursor: cursor.clone(),
            ..opts.clone()
        };
        let r = index.search(query, &o).unwrap();
        assert!(r.hits.len() <= opts.limit);
        cursor = r.next_cursor.clone();
        if cursor.is_some() {
            assert_eq!(r.hits.len(), opts.limit);
        }
        pages.push(r.hits);
        between(pages.len());
        if cursor.is_none() || pages.len() > 100 {
            break;
        }
    }
    pages
}

fn paging_corpus() -> Vec<D> {
    // 42 documents on 5 distinct seconds (many ties), with different body lengths for
    // different scores (and ties among those too).
    (0..42)
        .map(|i| {
            let body = format!("{}催收", "文".repeat(i % 4));
            d(&format!("doc{i:02}"), "催收 通知", &body).at(utc(2026, 1, 10, 0, 0, (i % 5) as u32))
        })
        .collect()
}

#[test]
fn cursor_paging_visits_every_document_exactly_once() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let docs = paging_corpus();
    let index = index_of(&a, dir.path(), &docs);
    let want: BTreeSet<String> = docs.iter().map(|x| x.id.clone()).collect();
    for sort in [SortOrder::Time, SortOrder::Relevance] {
        let opts = SearchOptions {
            limit: 7,
            sort,
            ..Default::default()
        };
        let pages = all_pages(&index, "催收", &opts, |_| {});
        assert_eq!(pages.len(), 6, "{sort:?}");
        let seen: Vec<&Hit> = pages.iter().flatten().collect();
        assert_eq!(seen.len(), 42, "{sort:?}");
        let ids: BTreeSet<String> = seen.iter().map(|h| h.id.clone()).collect();
        assert_eq!(ids, want, "{sort:?}");
        // Order holds across page boundaries.
        for w in seen.windows(2) {
            match sort {
                SortOrder::Time => assert!(
                    (w[0].time, &w[0].id) > (w[1].time, &w[1].id),
                    "{:?} before {:?}",
                    (w[0].time, &w[0].id),
                    (w[1].time, &w[1].id)
                ),
                SortOrder::Relevance => assert!(w[0].score >= w[1].score),
            }
        }
        // The same pages as one big page.
        let one = index
            .search(
                "催收",
                &SearchOptions {
                    limit: 100,
                    ..opts.clone()
                },
            )
            .unwrap();
        assert_eq!(
            one.hits.iter().map(|h| &h.id).collect::<Vec<_>>(),
            seen.iter().map(|h| &h.id).collect::<Vec<_>>()
        );
        assert!(one.next_cursor.is_none());
    }
}

#[test]
fn time_paging_is_stable_while_documents_arrive() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let docs = paging_corpus();
    let index = index_of(&a, dir.path(), &docs);
    let mut w = index.writer(1, 20_000_000).unwrap();
    let opts = SearchOptions {
        limit: 5,
        sort: SortOrder::Time,
        ..Default::default()
    };
    let mut added = 0;
    let pages = all_pages(&index, "催收", &opts, |n| {
        if n <= 3 {
            // Newer documents, and documents on a second already paged through.
            for t in [59, 2] {
                added += 1;
                w.upsert(
                    &d(&format!("new{added:02}"), "催收", "新")
                        .at(utc(2026, 1, 10, 0, 0, t))
                        .doc(),
                )
                .unwrap();
            }
            w.commit().unwrap();
            index.reload().unwrap();
        }
    });
    let seen: Vec<String> = pages.iter().flatten().map(|h| h.id.clone()).collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for id in &seen {
        *count.entry(id.as_str()).or_default() += 1;
    }
    for x in &docs {
        assert_eq!(count.get(x.id.as_str()), Some(&1), "{} in {seen:?}", x.id);
    }
    assert!(count.values().all(|&n| n == 1), "{seen:?}");
    assert!(index.num_docs() > 42);
}

#[test]
fn bad_cursors_are_reported_as_query_errors() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let index = index_of(&a, dir.path(), &paging_corpus());
    let bad = |cursor: &str, sort| {
        let r = index.search(
            "催收",
            &SearchOptions {
                cursor: Some(cursor.into()),
                sort,
                ..Default::default()
            },
        );
        matches!(
            r,
            Err(IndexError::Query(QueryError {
                kind: QueryErrorKind::BadCursor,
                ..
            }))
        )
    };
    assert!(bad("garbage", SortOrder::Time));
    assert!(bad("t1.zz.0.00", SortOrder::Time));
    let r = index
        .search(
            "催收",
            &SearchOptions {
                limit: 3,
                sort: SortOrder::Time,
                ..Default::default()
            },
        )
        .unwrap();
    let c = r.next_cursor.unwrap();
    assert!(bad(&c, SortOrder::Relevance));
    assert!(!bad(&c, SortOrder::Time));
}

#[test]
fn collapse_keeps_the_best_hit_per_cluster_and_counts_the_rest() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let t = |s| utc(2026, 1, 10, 0, 0, s);
    let docs = [
        d("x1", "催收", "a").cl("x").at(t(1)),
        d("x2", "催收", "b").cl("x").at(t(5)),
        d("x3", "催收", "c").cl("x").at(t(3)),
        d("y1", "催收", "d").cl("y").at(t(4)),
        d("y2", "催收", "e").cl("y").at(t(2)),
        d("z", "催收", "f").at(t(0)),
        d("other", "利率", "g").cl("x").at(t(9)),
    ];
    let index = index_of(&a, dir.path(), &docs);
    let opts = SearchOptions {
        sort: SortOrder::Time,
        collapse: true,
        ..Default::default()
    };
    let r = index.search("催收", &opts).unwrap();
    assert_eq!(r.total, 6);
    assert_eq!(r.groups, 3);
    let got: Vec<(&str, u64)> = r
        .hits
        .iter()
        .map(|h| (h.id.as_str(), h.collapsed))
        .collect();
    assert_eq!(got, [("x2", 2), ("y1", 1), ("z", 0)]);
    // Paging by one group at a time visits each group once.
    let pages = all_pages(
        &index,
        "催收",
        &SearchOptions {
            limit: 1,
            ..opts.clone()
        },
        |_| {},
    );
    let got: Vec<(String, u64)> = pages
        .iter()
        .flatten()
        .map(|h| (h.id.clone(), h.collapsed))
        .collect();
    assert_eq!(got, [("x2".into(), 2), ("y1".into(), 1), ("z".into(), 0)]);
    // Without collapse nothing is folded.
    let r = index
        .search(
            "催收",
            &SearchOptions {
                collapse: false,
                ..opts
            },
        )
        .unwrap();
    assert_eq!(r.hits.len(), 6);
    assert_eq!(r.groups, 6);
    assert!(r.hits.iter().all(|h| h.collapsed == 0));
}

#[test]
fn export_streams_every_hit_in_time_order() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let docs: Vec<D> = (0..23)
        .map(|i| d(&format!("e{i:02}"), "催收", "x").at(utc(2026, 1, 10, 0, i, 0)))
        .chain([d("skip", "利率", "x")])
        .collect();
    let index = index_of(&a, dir.path(), &docs);
    let opts = ExportOptions {
        batch: 4,
        ..Default::default()
    };
    let ex = index.export("催收", &opts).unwrap();
    assert_eq!(ex.total(), 23);
    let ids: Vec<String> = ex.map(|h| h.unwrap().id).collect();
    let want: Vec<String> = (0..23).rev().map(|i| format!("e{i:02}")).collect();
    assert_eq!(ids, want);
    let oldest: Vec<String> = index
        .export(
            "催收",
            &ExportOptions {
                oldest_first: true,
                ..opts
            },
        )
        .unwrap()
        .map(|h| h.unwrap().id)
        .collect();
    assert_eq!(oldest, want.into_iter().rev().collect::<Vec<_>>());
}

#[test]
fn csv_has_a_bom_quotes_and_shanghai_times_and_json_parses() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        d("q", "他说\"暴力催收\",还有\n换行", "正文")
            .at(utc(2026, 1, 31, 15, 59, 59))
            .senti(SentimentLabel::Negative, -0.75)
            .ent(&["hx", "px"])
            .risk(&["collection"])
            .dim(&[Dimension::People])
            .cl("q"),
        d("f", "=HYPERLINK(\"http://x\")", "正文").at(utc(2026, 1, 1, 0, 0, 0)),
    ];
    let index = index_of(&a, dir.path(), &docs);
    let mut out = Vec::new();
    let n = write_csv(
        &mut out,
        index.export("", &ExportOptions::default()).unwrap(),
        chrono_tz::Asia::Shanghai,
    )
    .unwrap();
    assert_eq!(n, 2);
    assert_eq!(&out[..3], b"\xEF\xBB\xBF");
    let text = String::from_utf8(out[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "time,source,channel,title,url,sentiment,score,entities,risks,dims,cluster"
    );
    assert_eq!(
        lines[1],
        "2026-01-31 23:59:59,news/a,news,\"他说\"\"暴力催收\"\",还有\n换行\",https://n.example/q,negative,-0.750,hx;px,collection,people,q"
    );
    assert_eq!(
        lines[2],
        "2026-01-01 08:00:00,news/a,news,\"'=HYPERLINK(\"\"http://x\"\")\",https://n.example/f,neutral,0.000,,,,"
    );
    assert_eq!(lines[3], "");
    assert_eq!(lines.len(), 4);

    let mut out = Vec::new();
    write_json(
        &mut out,
        index.export("", &ExportOptions::default()).unwrap(),
        JsonFormat::Lines,
        chrono_tz::Asia::Shanghai,
    )
    .unwrap();
    let rows: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], "q");
    assert_eq!(rows[0]["time"], "2026-01-31T23:59:59+08:00");
    assert_eq!(rows[0]["title"], "他说\"暴力催收\",还有\n换行");
    assert_eq!(rows[0]["entities"], serde_json::json!(["hx", "px"]));
    let mut out = Vec::new();
    write_json(
        &mut out,
        index.export("", &ExportOptions::default()).unwrap(),
        JsonFormat::Array,
        chrono_tz::Asia::Shanghai,
    )
    .unwrap();
    let arr: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(arr.as_array().unwrap().len(), 2);
    assert_eq!(arr[1]["id"], "f");
    // An empty export is still a valid document.
    let mut out = Vec::new();
    write_json(
        &mut out,
        std::iter::empty(),
        JsonFormat::Array,
        chrono_tz::UTC,
    )
    .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn an_index_with_another_schema_is_refused_then_rebuilt() {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    {
        let mut b = tantivy::schema::Schema::builder();
        b.add_text_field("id", tantivy::schema::STRING | tantivy::schema::STORED);
        let old = tantivy::Index::create_in_dir(dir.path(), b.build()).unwrap();
        let mut w: tantivy::IndexWriter = old.writer(15_000_000).unwrap();
        w.commit().unwrap();
    }
    assert!(matches!(
        DocIndex::open(dir.path(), a.tokenizer()),
        Err(IndexError::Schema { .. })
    ));
    let index = DocIndex::open_for_rebuild(dir.path(), a.tokenizer()).unwrap();
    assert_eq!(index.num_docs(), 0);
    let mut w = index.writer(1, 20_000_000).unwrap();
    w.upsert(&d("a", "催收", "x").doc()).unwrap();
    w.commit().unwrap();
    index.reload().unwrap();
    assert_eq!(
        index
            .search("催收", &SearchOptions::default())
            .unwrap()
            .total,
        1
    );
    drop(w);
    // The normal open works again, and a rebuild of a current index keeps it.
    drop(index);
    let again = DocIndex::open_for_rebuild(dir.path(), a.tokenizer()).unwrap();
    assert_eq!(again.num_docs(), 1);
}
