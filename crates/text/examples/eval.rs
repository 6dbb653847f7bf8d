//! `cargo run --release -p yuqing-text --example eval -- FILE...`: the figures `yuqing eval`
//! prints, with the shipped configuration and entities, without building the whole binary.
//! Set `EVAL_ERRORS=N` to print up to N misclassified items per file.

use std::path::PathBuf;

use yuqing_model::{Alias, AliasKind, Entity};
use yuqing_text::{Analyzer, AnalyzerOptions, eval};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let opts = AnalyzerOptions {
        user_dicts: vec![root.join("config/dict/yuqing.txt")],
        sentiment_lexicon: root.join("config/sentiment.toml"),
        ..AnalyzerOptions::default()
    };
    let entities = vec![Entity {
        id: "hengxin".into(),
        name: "恒信消费金融有限公司".into(),
        aliases: vec![Alias {
            text: "恒信消费金融".into(),
            kind: AliasKind::Name,
        }],
        exclude_contexts: vec![],
    }];
    let analyzer = Analyzer::load(&opts, &entities).unwrap_or_else(|e| panic!("{e}"));
    let show: usize = std::env::var("EVAL_ERRORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for path in std::env::args().skip(1) {
        let items = eval::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
        let r = eval::evaluate(&analyzer, &items, |_| {});
        let d = r.doc;
        println!(
            "{path}: {} items, accuracy {:.3}, negative precision {:.3} recall {:.3} F1 {:.3} \
             (tp {} fp {} tn {} fn {}, neutral {})",
            d.total(),
            d.accuracy(),
            d.precision(),
            d.recall(),
            d.f1(),
            d.tp,
            d.fp,
            d.tn,
            d.fn_,
            r.neutral
        );
        if let Some(e) = r.entity {
            println!(
                "  entity level: {} decisions, precision {:.3} recall {:.3} F1 {:.3} \
                 (tp {} fp {} tn {} fn {})",
                e.total(),
                e.precision(),
                e.recall(),
                e.f1(),
                e.tp,
                e.fp,
                e.tn,
                e.fn_
            );
        }
        let mut shown = 0;
        for (i, item) in items.iter().enumerate() {
            if shown >= show {
                break;
            }
            let a = analyzer.analyze(&yuqing_model::RawDoc {
                id: yuqing_model::DocId(i.to_string()),
                source_id: yuqing_model::SourceId("e".into()),
                channel: yuqing_model::Channel::News,
                item_key: String::new(),
                url: None,
                title: item.title.clone(),
                body: item.text.clone(),
                author: None,
                published_at: None,
                fetched_at: Default::default(),
                tags: vec![],
            });
            let predicted = a.sentiment.label == yuqing_model::SentimentLabel::Negative;
            if predicted != item.negative {
                shown += 1;
                let terms: Vec<String> = a
                    .sentiment
                    .terms
                    .iter()
                    .map(|t| format!("{}{:+.1}", t.term, t.contribution))
                    .collect();
                let text: String = item.text.chars().take(120).collect();
                println!(
                    "  MISS truth={} score={:+.2} [{}] {}",
                    if item.negative { "neg" } else { "not" },
                    a.sentiment.score,
                    terms.join(" "),
                    text
                );
            }
        }
    }
}
