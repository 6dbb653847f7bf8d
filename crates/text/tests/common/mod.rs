//! Shared fixtures: the example entities and one analyzer loaded from the real config files.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use yuqing_model::{Alias, AliasKind, Channel, DocId, Entity, RawDoc, SourceId};
use yuqing_text::{Analyzer, AnalyzerOptions};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn options() -> AnalyzerOptions {
    let root = workspace_root();
    AnalyzerOptions {
        user_dicts: vec![root.join("config/dict/yuqing.txt")],
        sentiment_lexicon: root.join("config/sentiment.toml"),
        ..AnalyzerOptions::default()
    }
}

fn alias(text: &str, kind: AliasKind) -> Alias {
    Alias {
        text: text.into(),
        kind,
    }
}

/// The two example entities of the brief (the real `entities.toml` has exactly these).
pub fn entities() -> Vec<Entity> {
    use AliasKind::*;
    vec![
        Entity {
            id: "hengxin".into(),
            name: "恒信消费金融有限公司".into(),
            aliases: vec![
                alias("恒信消费金融有限公司", Name),
                alias("恒信消费金融", Name),
                alias("恒信消金", Name),
                alias("恒信金融", Brand),
                alias("恒信", Brand),
                alias("恒易借", Product),
                alias("恒信分期", Product),
                alias("随心花", Product),
                alias("王建华", Person),
                alias("李慧敏", Person),
            ],
            exclude_contexts: vec![
                "恒信东方".into(),
                "恒信汽车".into(),
                "恒信钟表".into(),
                "恒信玺利".into(),
            ],
        },
        Entity {
            id: "suda".into(),
            name: "速达小额贷款有限公司".into(),
            aliases: vec![
                alias("速达小贷", Name),
                alias("速达小额贷款", Name),
                alias("速达借款", Product),
            ],
            exclude_contexts: vec![],
        },
    ]
}

/// One analyzer for the whole test binary (loading jieba is slow in debug builds).
pub fn analyzer() -> &'static Analyzer {
    static ANALYZER: OnceLock<Analyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| match Analyzer::load(&options(), &entities()) {
        Ok(a) => a,
        Err(e) => panic!("the shipped config must load: {e}"),
    })
}

pub fn doc(title: &str, body: &str) -> RawDoc {
    RawDoc {
        id: DocId("0".repeat(32)),
        source_id: SourceId("test/fixture".into()),
        channel: Channel::Complaint,
        item_key: "k".into(),
        url: None,
        title: title.into(),
        body: body.into(),
        author: None,
        published_at: None,
        fetched_at: Default::default(),
        tags: vec![],
    }
}
