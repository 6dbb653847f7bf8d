//! Lexicon sentiment over the shipped `config/sentiment.toml`.

mod common;

use common::{analyzer, doc};
use yuqing_model::{Sentiment, SentimentLabel};

fn body(text: &str) -> Sentiment {
    analyzer().analyze(&doc("", text)).sentiment
}

fn term<'a>(s: &'a Sentiment, t: &str) -> &'a yuqing_model::SentimentTerm {
    match s.terms.iter().find(|x| x.term == t) {
        Some(x) => x,
        None => panic!("{t} not among {:?}", s.terms),
    }
}

#[test]
fn lending_complaint_is_negative_with_its_terms() {
    let a = analyzer().analyze(&doc(
        "恒信消金暴力催收，还收砍头息",
        "我在恒易借借了5000元，到手只有4000，逾期三天就被暴力催收，催收员天天打电话骚扰我的家人和同事，\
         还威胁要上门。已经在黑猫投诉了，希望监管部门管管这种套路贷。",
    ));
    let s = &a.sentiment;
    assert_eq!(s.label, SentimentLabel::Negative, "{s:?}");
    assert!(s.score < -0.8, "{s:?}");
    let t = term(s, "暴力催收");
    assert_eq!(t.weight, -3.0);
    assert!(t.modifiers.contains(&"标题×2".to_string()), "{t:?}");
    assert_eq!(t.contribution, -6.0);
    for word in ["砍头息", "逾期", "骚扰", "威胁", "套路贷", "黑猫投诉"] {
        term(s, word);
    }
    // 天天 amplifies 骚扰 (degree within two tokens).
    let t = s.terms.iter().find(|t| t.term == "骚扰");
    assert!(
        t.is_some_and(|t| t.modifiers.iter().any(|m| m.starts_with("程度:天天"))),
        "{t:?}"
    );
    assert!((-1.0..=1.0).contains(&s.score));
}

#[test]
fn praise_is_positive() {
    let s =
        body("恒信消金的客服非常耐心，问题很快就妥善解决了，提前还款也很方便，给个好评，感谢！");
    assert_eq!(s.label, SentimentLabel::Positive, "{s:?}");
    assert!(s.score > 0.5, "{s:?}");
    let t = term(&s, "耐心");
    assert_eq!(t.modifiers, vec!["程度:非常×1.8".to_string()]);
    assert!((t.contribution - 1.5 * 1.8).abs() < 1e-5, "{t:?}");
}

#[test]
fn negated_complaint_is_less_negative() {
    let plain = body("恒信消金暴力催收");
    let denied = body("恒信消金没有暴力催收");
    assert!(denied.score > plain.score, "{denied:?} vs {plain:?}");
    let t = term(&denied, "暴力催收");
    assert_eq!(t.modifiers, vec!["否定:没有".to_string()]);
    assert!((t.contribution - 1.5).abs() < 1e-5, "{t:?}");
    assert_eq!(plain.label, SentimentLabel::Negative);
}

#[test]
fn negated_praise_is_negative() {
    let s = body("对处理结果不满意");
    assert_eq!(s.label, SentimentLabel::Negative, "{s:?}");
    let s = body("客服一点也不专业");
    assert!(s.score < 0.0, "{s:?}");
}

#[test]
fn negation_before_degree_softens_and_after_amplifies() {
    let not_very = body("服务不太满意");
    let very_not = body("服务太不满意");
    let t1 = term(&not_very, "满意").contribution;
    let t2 = term(&very_not, "满意").contribution;
    assert!(t1 < 0.0 && t2 < 0.0, "{not_very:?} {very_not:?}");
    assert!(
        t2 < t1,
        "太不满意 ({t2}) must be worse than 不太满意 ({t1})"
    );
}

#[test]
fn fused_dictionary_words_are_read_as_modifier_and_term() {
    // jieba keeps 十分满意 and 非暴力 whole.
    let s = body("十分满意");
    let t = term(&s, "满意");
    assert_eq!(t.modifiers, vec!["程度:十分×1.8".to_string()]);
    let s = body("坚持非暴力");
    assert!(term(&s, "暴力").contribution > 0.0, "{s:?}");
}

#[test]
fn negation_does_not_cross_clauses() {
    let s = body("我没有意见，但是暴力催收");
    let t = term(&s, "暴力催收");
    assert!(!t.modifiers.iter().any(|m| m.contains("否定")), "{t:?}");
    // 但是 does apply: what follows a contrast weighs more (analyzer v2).
    assert_eq!(t.modifiers, vec!["转折:但是×1.5".to_string()]);
}

#[test]
fn contrast_outweighs_what_comes_before() {
    let s = body("味道还不错，但是送餐太慢了，等了两个小时");
    assert_eq!(s.label, SentimentLabel::Negative, "{s:?}");
    assert!(
        s.terms
            .iter()
            .any(|t| t.modifiers.iter().any(|m| m.starts_with("转折:但是×0.5"))),
        "{s:?}"
    );
}

#[test]
fn neutral_fact_is_neutral() {
    for text in [
        "恒信消费金融有限公司于2024年3月在上海召开年度工作会议，会议由总经理主持。",
        "本文介绍个人所得税的计算方法。",
        "",
    ] {
        let s = body(text);
        assert_eq!(s.label, SentimentLabel::Neutral, "{text}: {s:?}");
    }
}

#[test]
fn title_counts_double() {
    let in_title = analyzer().analyze(&doc("投诉", "")).sentiment;
    let in_body = body("投诉");
    assert!(
        (term(&in_title, "投诉").contribution - 2.0 * term(&in_body, "投诉").contribution).abs()
            < 1e-6
    );
    assert!(in_title.score < in_body.score);
}

#[test]
fn analysis_is_complete_and_deterministic() {
    let raw = doc(" 恒信消金　ＡＰＰ ", "用户投诉 恒易借\u{200B}乱收费。");
    let a = analyzer().analyze(&raw);
    assert_eq!(a.title, "恒信消金 APP");
    assert_eq!(a.body, "用户投诉 恒易借乱收费。");
    assert_eq!(a.analyzer_version, yuqing_text::ANALYZER_VERSION);
    // 恒信消金 APP | 用户投诉 恒易借乱收费: word characters, spaces and 。 not counted
    assert_eq!(a.char_count, 17, "{a:?}");
    assert_eq!(a, analyzer().analyze(&raw));
}
