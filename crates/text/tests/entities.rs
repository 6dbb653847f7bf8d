//! Entity mentions: word boundaries, exclusion contexts, offsets.

mod common;

use common::{analyzer, doc};
use yuqing_model::{AliasKind, Field, Mention};

fn mentions(title: &str, body: &str) -> (yuqing_model::Analysis, Vec<Mention>) {
    let a = analyzer().analyze(&doc(title, body));
    let m = a.mentions.clone();
    (a, m)
}

#[test]
fn finds_names_products_and_people_with_byte_spans() {
    let (a, m) = mentions(
        "恒信消费金融被投诉",
        "用户称恒易借和随心花都存在乱收费，董事长王建华回应。速达小贷也被点名。",
    );
    let got: Vec<(&str, &str, AliasKind, Field)> = m
        .iter()
        .map(|m| (m.entity_id.as_str(), m.alias.as_str(), m.kind, m.field))
        .collect();
    assert_eq!(
        got,
        vec![
            ("hengxin", "恒信消费金融", AliasKind::Name, Field::Title),
            ("hengxin", "恒易借", AliasKind::Product, Field::Body),
            ("hengxin", "随心花", AliasKind::Product, Field::Body),
            ("hengxin", "王建华", AliasKind::Person, Field::Body),
            ("suda", "速达小贷", AliasKind::Name, Field::Body),
        ]
    );
    for m in &m {
        let text = match m.field {
            Field::Title => &a.title,
            Field::Body => &a.body,
        };
        assert_eq!(&text[m.start..m.end], m.alias);
    }
    assert_eq!(
        a.entity_ids(),
        vec!["hengxin".to_string(), "suda".to_string()]
    );
}

#[test]
fn longest_alias_wins() {
    let (_, m) = mentions("", "恒信消费金融有限公司发布公告");
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].alias, "恒信消费金融有限公司");
    assert_eq!((m[0].start, m[0].end), (0, "恒信消费金融有限公司".len()));
}

#[test]
fn offsets_refer_to_normalized_text() {
    // Full-width spaces and a zero-width space before the name shift raw offsets.
    let (a, m) = mentions("", "\u{3000}\u{3000}网友：\u{200B}恒信消金　ＡＰＰ很差");
    assert_eq!(a.body, "网友：恒信消金 APP很差");
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(&a.body[m[0].start..m[0].end], "恒信消金");
}

#[test]
fn exclusion_context_drops_the_match() {
    let (_, m) = mentions(
        "恒信东方股价大涨",
        "恒信汽车4S店开业，恒信钟表与恒信玺利也有活动",
    );
    assert!(m.is_empty(), "{m:?}");
    // The same text with the watched brand elsewhere still finds that one.
    let (_, m) = mentions("", "恒信东方不是恒信，恒信金融另有其事");
    let aliases: Vec<&str> = m.iter().map(|m| m.alias.as_str()).collect();
    assert_eq!(aliases, vec!["恒信", "恒信金融"], "{m:?}");
}

#[test]
fn alias_inside_a_longer_word_is_not_a_mention() {
    // jieba cuts 永恒/信念: 恒信 straddles a word boundary.
    let words = analyzer().segment("他对永恒信念的追求");
    assert!(words.contains(&"永恒".to_string()), "{words:?}");
    let (_, m) = mentions("", "他对永恒信念的追求");
    assert!(m.is_empty(), "{m:?}");
}

#[test]
fn no_entities_no_mentions() {
    let a = yuqing_text::Analyzer::load(&common::options(), &[]);
    let a = match a {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    };
    assert!(a.analyze(&doc("恒信消金", "恒信消金")).mentions.is_empty());
}
