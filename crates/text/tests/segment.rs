//! Segmentation and the tantivy tokenizer over the shipped dictionary.

mod common;

use common::{analyzer, entities};
use tantivy_tokenizer_api::{Token, TokenStream, Tokenizer};

fn tokens(text: &str) -> Vec<Token> {
    let mut tokenizer = analyzer().tokenizer();
    let mut stream = tokenizer.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.clone());
    }
    out
}

fn assert_offsets_slice_back(text: &str) -> Vec<Token> {
    let toks = tokens(text);
    assert!(!toks.is_empty(), "no tokens for {text:?}");
    for (i, t) in toks.iter().enumerate() {
        assert_eq!(t.position, i, "positions must grow by one: {toks:?}");
        assert_eq!(t.position_length, 1);
        assert!(
            text.is_char_boundary(t.offset_from) && text.is_char_boundary(t.offset_to),
            "offsets of {t:?} are not char boundaries of {text:?}"
        );
        assert_eq!(&text[t.offset_from..t.offset_to], t.text, "in {text:?}");
        assert!(
            t.text
                .chars()
                .any(|c| c.is_alphanumeric() || (c as u32) >= 0x1F000),
            "punctuation or whitespace token {t:?}"
        );
    }
    toks
}

#[test]
fn every_alias_segments_as_one_word_inside_sentences() {
    let a = analyzer();
    let contexts = [
        "{}",
        "我在{}借了一万元",
        "{}的客服态度很差，投诉了三次",
        "网友反映{}存在暴力催收问题。",
        "关于{}，记者联系了相关负责人",
        "昨天{}发布公告称",
        "用户：{}！",
        "据悉{}已经整改",
    ];
    for entity in entities() {
        for alias in &entity.aliases {
            for ctx in contexts {
                let sentence = ctx.replace("{}", &alias.text);
                let words = a.segment(&sentence);
                assert!(
                    words.contains(&alias.text),
                    "{:?} split in {sentence:?}: {words:?}",
                    alias.text
                );
            }
        }
    }
}

#[test]
fn domain_vocabulary_stays_whole() {
    let a = analyzer();
    for term in [
        "暴力催收",
        "砍头息",
        "套路贷",
        "高利贷",
        "乱收费",
        "担保费",
        "会员费",
        "泄露个人信息",
        "黑猫投诉",
        "金融监管总局",
        "年化利率",
        "提前还款",
    ] {
        let sentence = format!("用户反映存在{term}的情况");
        let words = a.segment(&sentence);
        assert!(words.iter().any(|w| w == term), "{term} split: {words:?}");
    }
}

#[test]
fn segment_drops_whitespace_and_punctuation() {
    let words = analyzer().segment("恒信消金， 暴力催收！！ ……");
    assert_eq!(words, vec!["恒信消金", "暴力催收"]);
}

#[test]
fn tokenizer_offsets_are_bytes_into_chinese_text() {
    let text = "恒信消费金融有限公司旗下恒易借被投诉暴力催收，用户称已逾期三天。";
    let toks = assert_offsets_slice_back(text);
    let words: Vec<&str> = toks.iter().map(|t| t.text.as_str()).collect();
    assert!(words.contains(&"恒信消费金融"), "{words:?}");
    assert!(words.contains(&"恒信消费金融有限公司"), "{words:?}");
    assert!(words.contains(&"恒易借"), "{words:?}");
    // Search mode: the long word's parts are there too, for recall.
    assert!(words.contains(&"恒信"), "{words:?}");
    assert!(words.contains(&"金融"), "{words:?}");
}

#[test]
fn tokenizer_offsets_on_mixed_text_and_emoji() {
    let text = "恒信APP v2.3 年化36%😡😡 太坑了!! Hello World 随心花🙂，OK";
    let toks = assert_offsets_slice_back(text);
    let words: Vec<&str> = toks.iter().map(|t| t.text.as_str()).collect();
    assert!(words.contains(&"😡"), "{words:?}");
    assert!(words.contains(&"随心花"), "{words:?}");
    // Nothing is lowercased: the index adds LowerCaser.
    assert!(words.contains(&"Hello"), "{words:?}");
    assert!(!words.iter().any(|w| w.trim().is_empty()), "{words:?}");
}

#[test]
fn tokenizer_on_empty_and_punctuation_only_input() {
    assert!(tokens("").is_empty());
    assert!(tokens("，。！？ …… ").is_empty());
}

#[test]
fn analyzer_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<yuqing_text::Analyzer>();
    assert_send_sync::<yuqing_text::JiebaTokenizer>();
}
