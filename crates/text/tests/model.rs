//! The learned sentiment model combined with the lexicon, mention salience, and replacing the
//! analyzer while it is in use.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{analyzer, doc, entities};
use yuqing_model::{Salience, SentimentLabel};
use yuqing_text::sentiment::{MODEL_MODIFIER, MODEL_REST, OBJECTIVE_MODIFIER};
use yuqing_text::{AnalyzerOptions, SharedAnalyzer};

fn body(text: &str) -> yuqing_model::Sentiment {
    analyzer().analyze(&doc("", text)).sentiment
}

fn is_model(t: &yuqing_model::SentimentTerm) -> bool {
    t.modifiers.iter().any(|m| m == MODEL_MODIFIER)
}

#[test]
fn the_shipped_lexicon_loads_the_model() {
    assert!(analyzer().model_feature_count() > 5_000);
}

#[test]
fn model_features_are_evidence_and_the_evidence_adds_up_to_the_score() {
    // No lexicon term: the model alone finds the complaint.
    let s = body("我要的是冰咖啡，给我送来热的，以后再也不点了");
    assert_eq!(s.label, SentimentLabel::Negative, "{s:?}");
    let listed: Vec<_> = s.terms.iter().filter(|t| is_model(t)).collect();
    assert!(!listed.is_empty() && listed.len() <= 6, "{s:?}");
    // Every model entry points at text of the document, except the one summing the rest.
    for t in &listed {
        assert!(
            t.term == MODEL_REST
                || "我要的是冰咖啡，给我送来热的，以后再也不点了".contains(&t.term)
        );
    }
    let sum: f32 = s.terms.iter().map(|t| t.contribution).sum();
    assert!(
        ((sum / 4.0).tanh() - s.score).abs() < 1e-4,
        "{sum} vs {s:?}"
    );
}

#[test]
fn model_features_listed_one_by_one_are_words_not_single_characters() {
    let text = "多名借款人向记者反映，逾期后催收人员频繁拨打借款人通讯录联系人的电话，言语威胁，严重影响正常生活。";
    let s = body(text);
    let listed: Vec<&str> = s
        .terms
        .iter()
        .filter(|t| is_model(t) && t.term != MODEL_REST)
        .map(|t| t.term.as_str())
        .collect();
    assert!(!listed.is_empty(), "{s:?}");
    assert!(listed.iter().all(|t| t.chars().count() >= 2), "{listed:?}");
    // The single characters are not lost: they are in the rest, and the evidence adds up.
    let rest = s
        .terms
        .iter()
        .find(|t| t.term == MODEL_REST)
        .expect("a rest entry");
    assert!(rest.modifiers.iter().any(|m| m.starts_with("特征数:")));
    let sum: f32 = s.terms.iter().map(|t| t.contribution).sum();
    assert!(
        ((sum / 4.0).tanh() - s.score).abs() < 1e-4,
        "{sum} vs {s:?}"
    );
}

#[test]
fn domain_vocabulary_still_decides() {
    for text in [
        "恒信消费金融暴力催收，爆通讯录，还收砍头息",
        "这就是套路贷，乱收费，还泄露个人信息",
        "平台爆雷跑路，投资人维权",
    ] {
        let s = body(text);
        assert_eq!(s.label, SentimentLabel::Negative, "{text}: {s:?}");
        let lexicon: f32 = s
            .terms
            .iter()
            .filter(|t| !is_model(t))
            .map(|t| t.contribution)
            .sum();
        assert!(lexicon <= -3.0, "the lexicon carries the judgement: {s:?}");
    }
}

#[test]
fn negation_still_flips_with_the_model() {
    assert_eq!(body("服务很满意").label, SentimentLabel::Positive);
    assert_eq!(body("服务很不满意").label, SentimentLabel::Negative);
}

#[test]
fn news_register_damps_the_model() {
    for text in [
        "记者联系了该公司客服，对方表示会将情况反映给相关部门。",
        "该平台已接入央行征信系统。",
        "消费者可拨打客服热线咨询相关业务。",
        "公司董事会审议通过了2023年度财务报告和利润分配方案。",
    ] {
        let s = body(text);
        assert_eq!(s.label, SentimentLabel::Neutral, "{text}: {s:?}");
        let model: Vec<_> = s.terms.iter().filter(|t| is_model(t)).collect();
        assert!(
            model.iter().all(|t| t
                .modifiers
                .iter()
                .any(|m| m.starts_with(OBJECTIVE_MODIFIER))),
            "{text}: {s:?}"
        );
    }
}

#[test]
fn mentions_have_salience() {
    let lead = "恒信消费金融发布公告。";
    let filler = "行业整体保持平稳发展，各机构持续完善服务流程。".repeat(12);
    let body_text = format!("{lead}{filler}另据了解，速达小贷也在调整产品。");
    let a = analyzer().analyze(&doc("恒信回应用户投诉", &body_text));
    let hx = a
        .entity_sentiments
        .iter()
        .find(|e| e.entity_id == "hengxin")
        .expect("hengxin mentioned");
    assert_eq!(hx.mention_salience, vec![Salience::Title, Salience::Lead]);
    assert_eq!(hx.salience, Some(Salience::Title));
    let sd = a
        .entity_sentiments
        .iter()
        .find(|e| e.entity_id == "suda")
        .expect("suda mentioned");
    assert_eq!(sd.mention_salience, vec![Salience::Body]);
    let per: Vec<_> = a.mention_salience().into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        per,
        vec![
            Some(Salience::Title),
            Some(Salience::Lead),
            Some(Salience::Body)
        ]
    );
}

#[test]
fn the_lead_is_the_first_paragraph_or_the_first_hundred_characters() {
    use yuqing_text::{LEAD_CHARS, lead_end};
    let short = "第一段很短。 第二段";
    assert_eq!(lead_end(short), short.len().min(lead_end(short)));
    let para = format!("{}。 后文", "长".repeat(150));
    assert_eq!(lead_end(&para), para.find(' ').unwrap());
    let no_para = "字".repeat(400);
    assert_eq!(lead_end(&no_para), LEAD_CHARS * "字".len());
}

#[test]
fn entity_sentiment_stored_before_salience_still_reads() {
    let old = r#"{"entity_id":"a","sentiment":{"score":0.0,"label":"neutral","terms":[]}}"#;
    let e: yuqing_model::EntitySentiment = serde_json::from_str(old).unwrap();
    assert_eq!((e.salience, e.mention_salience.len()), (None, 0));
}

/// A lexicon in a temporary folder, so a test can change it.
fn temp_lexicon(terms: &str) -> (tempfile::TempDir, AnalyzerOptions) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sentiment.toml");
    std::fs::write(&path, format!("[negative.terms]\n{terms}\n")).unwrap();
    let opts = AnalyzerOptions {
        user_dicts: vec![common::workspace_root().join("config/dict/yuqing.txt")],
        sentiment_lexicon: path,
        ..AnalyzerOptions::default()
    };
    (dir, opts)
}

#[test]
fn reload_swaps_atomically_and_keeps_the_old_analyzer_on_error() {
    let (_dir, opts) = temp_lexicon("\"差劲\" = -2.0");
    let shared = Arc::new(SharedAnalyzer::load(&opts, &entities()).unwrap());
    let text = doc("", "这家公司真磨叽");
    assert_eq!(shared.generation(), 0);
    assert_eq!(
        shared.current().analyze(&text).sentiment.label,
        SentimentLabel::Neutral
    );
    assert!(shared.current().changed_files().is_empty());

    // Readers keep analyzing while the reload happens; none of them waits for it.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let a = shared.current();
                assert!(a.analyze(&doc("", "恒信消费金融")).mentions.len() == 1);
                n += 1;
            }
            n
        })
    };

    // The lexicon gains a term: a changed file, then a reload picks it up.
    std::fs::write(
        &opts.sentiment_lexicon,
        "[negative.terms]\n\"差劲\" = -2.0\n\"磨叽\" = -2.0\n",
    )
    .unwrap();
    let before = shared.current();
    assert_eq!(
        before.changed_files(),
        vec![opts.sentiment_lexicon.as_path()]
    );
    assert_eq!(shared.reload(&opts, &entities()).unwrap(), 1);
    assert_eq!(
        shared.current().analyze(&text).sentiment.label,
        SentimentLabel::Negative
    );
    // Whoever held the old analyzer still has it, unchanged.
    assert_eq!(
        before.analyze(&text).sentiment.label,
        SentimentLabel::Neutral
    );

    // A broken file: the reload fails, names the file, and the current analyzer stays.
    std::fs::write(
        &opts.sentiment_lexicon,
        "[negative.terms]\n\"磨叽\" = 7.0\n",
    )
    .unwrap();
    let err = shared.reload(&opts, &entities()).unwrap_err();
    assert!(err.to_string().contains("sentiment.toml"), "{err}");
    assert_eq!(shared.generation(), 1);
    assert_eq!(
        shared.current().analyze(&text).sentiment.label,
        SentimentLabel::Negative
    );

    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
}

#[test]
fn the_shared_tokenizer_follows_reloads() {
    let (dir, mut opts) = temp_lexicon("\"差劲\" = -2.0");
    let tokenizer = {
        let shared = SharedAnalyzer::load(&opts, &[]).unwrap();
        let tok = shared.tokenizer();
        let words = |t: &yuqing_text::JiebaTokenizer| -> Vec<String> {
            t.tokens("磨叽借").into_iter().map(|t| t.text).collect()
        };
        assert!(!words(&tok).contains(&"磨叽借".to_string()));
        let dict = dir.path().join("extra.txt");
        std::fs::write(&dict, "磨叽借 100000\n").unwrap();
        opts.user_dicts.push(dict);
        shared.reload(&opts, &[]).unwrap();
        assert!(words(&tok).contains(&"磨叽借".to_string()));
        tok
    };
    // The tokenizer keeps the shared analyzer alive after the handle is gone.
    assert!(!tokenizer.tokens("磨叽借").is_empty());
}
