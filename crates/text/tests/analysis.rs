//! Analyzer v2 over the shipped configuration: negation, per-entity sentiment, exclusion
//! contexts, traditional characters, offsets on mixed text, risk and dimension tags, SimHash,
//! corrections.

mod common;

use common::{analyzer, doc};
use yuqing_model::{Analysis, Correction, DocId, Field, Sentiment, SentimentLabel};
use yuqing_text::{NEAR_DUPLICATE_BITS, apply_correction, hamming, original_range};

/// A complaint story of typical length (the same text as the end-to-end test's).
const STORY: &str = "多名借款人向记者反映，恒信消费金融旗下恒易借在放款时收取高额砍头息和会员费，\
     逾期后催收人员频繁拨打借款人通讯录联系人的电话，言语威胁，严重影响正常生活。\
     借款人表示已向监管部门投诉，希望相关部门介入调查，规范平台收费和催收行为。\
     记者调查发现，多名借款人的借款合同显示，借款本金为一万元，但实际到账金额仅为八千余元，\
     其余部分以服务费、担保费和会员费的名义被提前扣除，综合年化利率远超法定上限。\
     有借款人提供的通话录音显示，催收人员自称律师事务所工作人员，威胁将上门催收并通知其单位。\
     对此，恒信消费金融客服回应称，会员费为借款人自愿购买，催收工作均由合作机构按规定开展，\
     公司将对相关投诉进行核实。法律人士指出，以会员费等名义变相收取利息属于违规行为，\
     借款人可以保留证据，向金融监管部门和消费者协会投诉维权。";

fn analyze(title: &str, body: &str) -> Analysis {
    analyzer().analyze(&doc(title, body))
}

fn entity<'a>(a: &'a Analysis, id: &str) -> &'a Sentiment {
    match a.entity_sentiments.iter().find(|e| e.entity_id == id) {
        Some(e) => &e.sentiment,
        None => panic!("no sentiment for {id} in {:?}", a.entity_sentiments),
    }
}

#[test]
fn negation_flips_satisfaction() {
    let pos = analyze("", "对恒信消金的服务很满意");
    let neg = analyze("", "对恒信消金的服务很不满意");
    assert_eq!(
        pos.sentiment.label,
        SentimentLabel::Positive,
        "{:?}",
        pos.sentiment
    );
    assert_eq!(
        neg.sentiment.label,
        SentimentLabel::Negative,
        "{:?}",
        neg.sentiment
    );
    let t = neg
        .sentiment
        .terms
        .iter()
        .find(|t| t.term == "满意")
        .unwrap();
    assert!(
        t.modifiers.iter().any(|m| m.starts_with("否定:不")),
        "{t:?}"
    );
    // The per-entity judgement follows.
    assert_eq!(entity(&neg, "hengxin").label, SentimentLabel::Negative);
}

#[test]
fn two_companies_in_one_text_get_their_own_sentiment() {
    let a = analyze(
        "",
        "速达小贷的客服很耐心，放款也快，用户普遍好评。恒信消金却暴力催收，还乱收费，借款人纷纷投诉。",
    );
    let suda = entity(&a, "suda");
    let heng = entity(&a, "hengxin");
    assert_eq!(suda.label, SentimentLabel::Positive, "{suda:?}");
    assert_eq!(heng.label, SentimentLabel::Negative, "{heng:?}");
    assert!(heng.terms.iter().any(|t| t.term == "暴力催收"));
    assert!(!heng.terms.iter().any(|t| t.term == "好评"), "{heng:?}");
    assert!(!suda.terms.iter().any(|t| t.term == "暴力催收"), "{suda:?}");

    // Within one sentence: praise for the rival, an attack on us.
    let a = analyze("", "速达小贷服务很好，恒信消金却乱收费");
    assert_eq!(entity(&a, "suda").label, SentimentLabel::Positive);
    assert_eq!(entity(&a, "hengxin").label, SentimentLabel::Negative);

    // Joined by 和: both are the subject.
    let a = analyze("", "恒信消金和速达小贷均因违规催收被监管部门处罚。");
    assert_eq!(entity(&a, "suda").label, SentimentLabel::Negative);
    assert_eq!(entity(&a, "hengxin").label, SentimentLabel::Negative);
}

#[test]
fn exclusion_contexts_are_no_mention_and_get_no_sentiment() {
    let a = analyze("", "恒信汽车召回部分车型，车主投诉不断。");
    assert!(a.mentions.is_empty(), "{:?}", a.mentions);
    assert!(a.entity_sentiments.is_empty());
    let a = analyze("", "恒信汽车召回部分车型；恒信消金暴力催收被投诉。");
    assert_eq!(a.entity_ids(), vec!["hengxin".to_string()]);
    assert_eq!(a.mentions.len(), 1, "{:?}", a.mentions);
}

#[test]
fn traditional_input_is_analyzed_like_simplified() {
    let t = analyze(
        "恆信消費金融暴力催收",
        "借款人稱還款後仍被騷擾，還被收取砍頭息。",
    );
    let s = analyze(
        "恒信消费金融暴力催收",
        "借款人称还款后仍被骚扰，还被收取砍头息。",
    );
    assert_eq!(t.title, s.title);
    assert_eq!(t.body, s.body);
    assert_eq!(t.mentions, s.mentions);
    assert_eq!(t.sentiment, s.sentiment);
    assert_eq!(t.risks, s.risks);
    assert_eq!(t.simhash, s.simhash);
    assert_eq!(t.sentiment.label, SentimentLabel::Negative);
    assert!(t.risks.iter().any(|r| r.id == "collection"));
}

#[test]
fn offsets_on_mixed_chinese_and_ascii_text() {
    let title = "2025年Q3：ＡＰＰ用户 投诉恆信消金";
    let body = "App v2.1 更新后，user@example.com 反映恒易借 HTTP 500 错误；速达小贷OK。";
    let raw = doc(title, body);
    let a = analyzer().analyze(&raw);
    assert_eq!(a.title, "2025年Q3：APP用户 投诉恒信消金");
    assert_eq!(a.mentions.len(), 3, "{:?}", a.mentions);
    for m in &a.mentions {
        let (norm, orig) = match m.field {
            Field::Title => (&a.title, &raw.title),
            Field::Body => (&a.body, &raw.body),
        };
        assert!(norm.is_char_boundary(m.start) && norm.is_char_boundary(m.end));
        assert_eq!(&norm[m.start..m.end], m.alias, "{m:?}");
        let r = original_range(&raw, m.field, m.start, m.end);
        let expected = match m.alias.as_str() {
            "恒信消金" => "恆信消金",
            other => other,
        };
        assert_eq!(&orig[r], expected, "{m:?}");
    }
    // Sentiment evidence and risk evidence are normalized words of the text.
    assert!(a.body.contains("HTTP 500"));
}

#[test]
fn risk_categories_and_dimensions_carry_evidence() {
    let a = analyze(
        "恒信消金被曝泄露个人信息",
        "用户称恒易借在放款时收取高额担保费，逾期后被爆通讯录，客服态度恶劣，推诿不处理。\
         监管部门已约谈该公司并责令整改。",
    );
    let ids: Vec<&str> = a.risks.iter().map(|r| r.id.as_str()).collect();
    for want in [
        "collection",
        "fees",
        "personal_data",
        "service",
        "compliance",
    ] {
        assert!(ids.contains(&want), "{want} not in {ids:?}");
    }
    let fees = a.risks.iter().find(|r| r.id == "fees").unwrap();
    assert!(fees.evidence.contains(&"担保费".to_string()), "{fees:?}");
    let dims: Vec<&str> = a.dimensions.iter().map(|d| d.dimension.as_str()).collect();
    for want in [
        "people",
        "process",
        "finance",
        "information",
        "security",
        "culture",
    ] {
        assert!(dims.contains(&want), "{want} not in {dims:?}");
    }
    assert!(a.dimensions.iter().all(|d| !d.evidence.is_empty()));
    let neutral = analyze("央行公布贷款市场报价利率", "一年期贷款市场报价利率为3.1%。");
    assert!(neutral.risks.is_empty(), "{:?}", neutral.risks);
}

#[test]
fn a_reposted_story_with_small_edits_is_a_near_duplicate() {
    let story = STORY;
    let a = analyze("恒易借被曝收取砍头息", story);
    let repost = analyze(
        "恒易借被曝收取砍头息 暴力催收",
        &format!(
            "（转载自财经日报）{}",
            story.replace("严重影响", "严重干扰")
        ),
    );
    let other = analyze(
        "央行公布贷款市场报价利率",
        "一年期贷款市场报价利率为3.1%，五年期以上为3.6%，均与上月持平。业内人士认为，\
         下一阶段货币政策将保持稳健，消费信贷利率有望继续下行。",
    );
    let d = hamming(a.simhash, repost.simhash);
    assert!(d <= NEAR_DUPLICATE_BITS, "repost differs in {d} bits");
    let far = hamming(a.simhash, other.simhash);
    assert!(
        far > 3 * NEAR_DUPLICATE_BITS,
        "different stories differ in only {far} bits"
    );
}

#[test]
fn corrections_override_label_and_drop_false_mentions() {
    let mut a = analyze("", "恒信消金暴力催收，速达小贷也被点名。");
    assert_eq!(a.sentiment.label, SentimentLabel::Negative);
    let c = Correction {
        doc_id: DocId("x".into()),
        label: Some(SentimentLabel::Neutral),
        false_mentions: vec!["suda".into()],
        by: "li".into(),
        note: Some("旧闻".into()),
        at: Default::default(),
    };
    apply_correction(&mut a, &c);
    apply_correction(&mut a, &c); // idempotent
    assert_eq!(a.sentiment.label, SentimentLabel::Neutral);
    assert_eq!(
        a.sentiment
            .terms
            .iter()
            .filter(|t| t.term == "人工校正")
            .count(),
        1
    );
    assert_eq!(a.entity_ids(), vec!["hengxin".to_string()]);
    assert!(a.entity_sentiments.iter().all(|e| e.entity_id != "suda"));
}
