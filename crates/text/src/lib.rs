//! Text analysis for yuqing: normalization (traditional → simplified included), Chinese
//! segmentation, entity mentions, explainable sentiment per document and per entity, risk
//! categories and the seven review dimensions, SimHash fingerprints, analysts' corrections,
//! and the jieba tokenizer the index registers.
//!
//! # Job
//!
//! [`Analyzer::analyze`] turns a [`RawDoc`] into an [`Analysis`]:
//!
//! * normalized title and body ([`normalize`]: NFKC, traditional → simplified, invisible
//!   characters removed, whitespace collapsed; [`normalize_mapped`] and [`original_range`] map
//!   offsets back to the text as published);
//! * a count of word characters; [`Mention`](yuqing_model::Mention)s of the watched entities
//!   with their evidence spans (word boundaries, exclusion contexts);
//! * a document [`Sentiment`] and one per mentioned entity
//!   ([`Analysis::entity_sentiments`], from the sentences around its mentions: see the
//!   `targets` module docs), each with the terms and modifiers (negation, degree, contrast,
//!   title) that produced it ([`sentiment`]);
//! * risk categories and review dimensions with their evidence terms, from the rules file
//!   ([`risk`], `config/risk.toml`);
//! * a 64-bit SimHash over character bigrams ([`simhash`]) for near-duplicate clustering
//!   (done by the store);
//! * per entity, the salience of each mention (title, lead, passing mention in the body; see
//!   [`lead_end`]).
//!
//! Sentiment adds two sources into one sum: the lexicon's terms with their rules, and a small
//! learned model (logistic regression over character n-grams, trained offline
//! by `examples/train_sentiment.rs` on MIT-licensed data, shipped as `config/sentiment-model.tsv`
//! and named by the lexicon's `[model]` table). Its strongest features are listed as evidence
//! marked `模型`; see [`sentiment`].
//!
//! [`SharedAnalyzer`] replaces the analyzer while it is in use (dictionary, lexicon, model,
//! rules or entities changed, no restart): readers never block, a failed reload keeps the old
//! one.
//!
//! [`apply_correction`] applies an analyst's [`Correction`] to an analysis; callers apply the
//! stored correction after every analysis and re-analysis. [`eval`] measures the analyzer on
//! labelled files (`yuqing eval`). [`Analyzer::tokenizer`] gives the index a
//! [`JiebaTokenizer`] over the *same* dictionary, so names the analyzer keeps whole are also
//! whole words in search.
//!
//! # Contract and invariants
//!
//! * **Offsets are byte offsets into the normalized text** of their field
//!   ([`Analysis::title`] / [`Analysis::body`]), always on `char` boundaries; so are the
//!   tokenizer's offsets into whatever it is given. Index the normalized text. Traditional →
//!   simplified conversion is character for character, so it moves no offset;
//!   [`original_range`] gives the range of the original text.
//! * **Analysis is deterministic:** the same document and the same configuration give the same
//!   [`Analysis`], on any thread. A change of code, dictionary, lexicon or rules that could
//!   change a result comes with a bump of [`ANALYZER_VERSION`], so stored results can be
//!   recomputed (`yuqing reanalyze --outdated`). The entity list is configuration too: its
//!   non-ASCII aliases become jieba words, so editing it changes mentions *and* tokenization
//!   of what is analyzed afterwards.
//! * **No I/O after load:** [`Analyzer::load`] reads every file once and validates it (errors
//!   name the file, line or key); `analyze`, `segment` and the tokenizer only compute. They are
//!   CPU-bound (jieba): call them from a blocking thread, not an async task. No model or data
//!   is downloaded, ever.
//! * An [`Analyzer`] is immutable, `Send + Sync`, and meant to be shared in an `Arc` (or in a
//!   [`SharedAnalyzer`] to be replaceable).
//!
//! # Stages
//!
//! `analyze` normalizes each field and builds a `FieldText`: the normalized text, the alias
//! occurrences, and jieba's words of the clauses that need them. A clause (the text between
//! two separators: whitespace, `，。！？；：…、` and their ASCII forms) is segmented only when
//! it holds a lexicon term, a contrast word or a non-ASCII alias; the other clauses cannot
//! yield a mention or a sentiment term (a third of FinNSP's tokens and about three quarters
//! of PKU prose are skipped). jieba segments between separators independently, so every word
//! cut is the word a cut of the whole text has there (a test compares both on FinNSP). Every
//! stage reads the `FieldText`s: entity matching (`entities.rs`), [`sentiment`] (placed
//! terms), per-entity attribution (`targets.rs`); the learned model, [`risk`] and [`simhash`]
//! read the normalized text only. A new stage is one more function over the `FieldText`s,
//! called from `analyze`, with its configuration loaded and validated in [`Analyzer::load`].
//! The index tokenizer ([`Analyzer::tokenizer`]) segments all of the text, with the same
//! dictionary.

#![warn(missing_docs)]

mod entities;
mod error;
pub mod eval;
mod fxhash;
mod model;
mod normalize;
pub mod risk;
mod segment;
pub mod sentiment;
mod shared;
pub mod simhash;
mod targets;
mod tokenizer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jieba_rs::Jieba;
use yuqing_model::{
    Analysis, Correction, Entity, EntitySentiment, Field, RawDoc, Salience, Sentiment,
    SentimentTerm,
};

pub use entities::{LEAD_CHARS, LEAD_MAX_CHARS, lead_end};
pub use error::TextError;
pub use normalize::{KEPT_FULLWIDTH, Normalized, normalize, normalize_mapped};
pub use shared::SharedAnalyzer;
pub use simhash::{NEAR_DUPLICATE_BITS, hamming};
pub use tokenizer::{JiebaTokenStream, JiebaTokenizer};

use crate::entities::EntityMatcher;
use crate::risk::RiskRules;
use crate::segment::{cut, is_word};
use crate::sentiment::{Evidence, Lexicon, PlacedTerm};
use crate::targets::Span;

/// Version of the analysis this crate produces; stored in [`Analysis::analyzer_version`].
/// Bump it whenever a result could change (code, dictionary or lexicon).
///
/// 2: traditional → simplified normalization, contrast words, per-entity sentiment, risk and
/// dimension tags, SimHash.
/// 3: the learned sentiment model (`config/sentiment-model.tsv`) with its register gate, model
/// features as evidence, mention salience.
/// 4: SimHash over character bigrams; only clauses that can hold a term or an alias are
/// segmented; the sentiment model over character n-grams (no segmentation), retrained;
/// `char_count` instead of a token count.
/// 5: `…` survives normalization (a clause and sentence boundary; NFKC made it `...`); model
/// contributions summed apart from the lexicon's (last-bit differences in scores); only model
/// features of two or more characters are listed one by one in the evidence.
pub const ANALYZER_VERSION: u32 = 5;

/// File name of the risk rules looked for beside the sentiment lexicon when
/// [`AnalyzerOptions::risk_rules`] is `None`.
pub const RISK_RULES_FILE_NAME: &str = "risk.toml";

/// Default user dictionary, relative to the working directory.
pub const DEFAULT_USER_DICT: &str = "config/dict/yuqing.txt";
/// Default sentiment lexicon, relative to the working directory.
pub const DEFAULT_SENTIMENT_LEXICON: &str = "config/sentiment.toml";
/// Default negative threshold: a score at or below it is [`SentimentLabel::Negative`].
///
/// [`SentimentLabel::Negative`]: yuqing_model::SentimentLabel::Negative
pub const DEFAULT_NEGATIVE_THRESHOLD: f32 = -0.2;
/// Default positive threshold: a score at or above it is [`SentimentLabel::Positive`].
///
/// [`SentimentLabel::Positive`]: yuqing_model::SentimentLabel::Positive
pub const DEFAULT_POSITIVE_THRESHOLD: f32 = 0.2;

/// What [`Analyzer::load`] reads and how it labels sentiment.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzerOptions {
    /// jieba user dictionaries, loaded in order after the default dictionary. Format: one
    /// `word [freq] [tag]` a line; blank lines and `#` comments are skipped.
    pub user_dicts: Vec<PathBuf>,
    /// The sentiment lexicon (TOML, see [`sentiment`]).
    pub sentiment_lexicon: PathBuf,
    /// Risk categories and dimension rules (TOML, see [`risk`]). `None`: the file
    /// [`RISK_RULES_FILE_NAME`] beside the sentiment lexicon if it exists, else no rules (no
    /// document is tagged). `Some(path)`: that file, which must exist.
    pub risk_rules: Option<PathBuf>,
    /// A score at or below this is negative (default [`DEFAULT_NEGATIVE_THRESHOLD`]).
    pub negative_threshold: f32,
    /// A score at or above this is positive (default [`DEFAULT_POSITIVE_THRESHOLD`]).
    pub positive_threshold: f32,
}

impl AnalyzerOptions {
    /// The options the `[analysis]` settings of `yuqing.toml` describe (paths already
    /// resolved by the config crate).
    pub fn from_settings(a: &yuqing_config::AnalysisSettings) -> AnalyzerOptions {
        AnalyzerOptions {
            user_dicts: a.user_dicts.clone(),
            sentiment_lexicon: a.sentiment_lexicon.clone(),
            risk_rules: Some(a.risk_rules.clone()),
            negative_threshold: a.negative_threshold,
            positive_threshold: a.positive_threshold,
        }
    }
}

impl Default for AnalyzerOptions {
    /// [`DEFAULT_USER_DICT`], [`DEFAULT_SENTIMENT_LEXICON`] and the default thresholds.
    fn default() -> AnalyzerOptions {
        AnalyzerOptions {
            user_dicts: vec![PathBuf::from(DEFAULT_USER_DICT)],
            sentiment_lexicon: PathBuf::from(DEFAULT_SENTIMENT_LEXICON),
            risk_rules: None,
            negative_threshold: DEFAULT_NEGATIVE_THRESHOLD,
            positive_threshold: DEFAULT_POSITIVE_THRESHOLD,
        }
    }
}

/// The loaded analyzer: jieba with the user dictionaries and entity aliases, the entity matcher
/// and the sentiment lexicon. Immutable and `Send + Sync`; share it with an `Arc`.
#[derive(Debug)]
pub struct Analyzer {
    /// Every file read, with its modification time and length when read.
    files: Vec<shared::FileStamp>,
    jieba: Arc<Jieba>,
    matcher: EntityMatcher,
    lexicon: Lexicon,
    risk: RiskRules,
    negative_threshold: f32,
    positive_threshold: f32,
}

impl Analyzer {
    /// Read and validate everything the analyzer needs; the only I/O this crate does.
    ///
    /// Every non-ASCII alias of `entities` becomes a jieba word (if it is not one already, with
    /// jieba's suggested frequency), so the tokenizer and the word-boundary check do not split a
    /// watched name. The entities are therefore part of the analyzer's configuration: changing
    /// them changes tokenization too. Loading the default jieba
    /// dictionary takes a noticeable fraction of a second: load once, share the result.
    pub fn load(opts: &AnalyzerOptions, entities: &[Entity]) -> Result<Analyzer, TextError> {
        let (neg, pos) = (opts.negative_threshold, opts.positive_threshold);
        if !(neg.is_finite() && (-1.0..=0.0).contains(&neg)) {
            return Err(TextError::Option {
                option: "negative_threshold",
                reason: format!("must be in [-1, 0], got {neg}"),
            });
        }
        if !(pos.is_finite() && (0.0..=1.0).contains(&pos)) || pos <= neg {
            return Err(TextError::Option {
                option: "positive_threshold",
                reason: format!("must be in [0, 1] and above negative_threshold, got {pos}"),
            });
        }
        // Stamp the files before reading them: a change while loading shows as a change later.
        let mut files: Vec<shared::FileStamp> = opts
            .user_dicts
            .iter()
            .chain([&opts.sentiment_lexicon])
            .map(|p| shared::FileStamp::of(p))
            .collect();
        let matcher = EntityMatcher::new(entities)?;
        let lexicon = Lexicon::load(&opts.sentiment_lexicon)?;
        if let Some(p) = &lexicon.model_path {
            files.push(shared::FileStamp::of(p));
        }
        let risk = match &opts.risk_rules {
            Some(path) => {
                files.push(shared::FileStamp::of(path));
                RiskRules::load(path)?
            }
            None => {
                let sibling = opts
                    .sentiment_lexicon
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(RISK_RULES_FILE_NAME);
                files.push(shared::FileStamp::of(&sibling));
                if sibling.exists() {
                    RiskRules::load(&sibling)?
                } else {
                    RiskRules::empty()
                }
            }
        };
        let aliases: Vec<&str> = matcher.jieba_words().collect();
        let jieba = segment::build_jieba(&opts.user_dicts, &aliases)?;
        Ok(Analyzer {
            files,
            jieba: Arc::new(jieba),
            matcher,
            lexicon,
            risk,
            negative_threshold: neg,
            positive_threshold: pos,
        })
    }

    /// Analyze one document. Pure computation; deterministic.
    pub fn analyze(&self, raw: &RawDoc) -> Analysis {
        self.analyze_with_targets(raw, &[]).0
    }

    /// Analyze one document and also judge the sentiment towards each of `targets`, names
    /// that need not be configured entities (used by `yuqing eval` on labelled sets that name
    /// their own entities). A target is found by plain substring search of its normalized
    /// form; its sentiment is computed exactly like a configured entity's (see
    /// [`Analysis::entity_sentiments`]). Returns one [`Sentiment`] per target, in order.
    pub fn analyze_with_targets(
        &self,
        raw: &RawDoc,
        targets: &[&str],
    ) -> (Analysis, Vec<Sentiment>) {
        let title = normalize(&raw.title);
        let body = normalize(&raw.body);
        let fields = [
            self.field_text(Field::Title, &title),
            self.field_text(Field::Body, &body),
        ];
        let [t, b] = &fields;

        let mentions: Vec<yuqing_model::Mention> = fields
            .iter()
            .flat_map(|f| self.matcher.find(f.text, &f.occurrences, &f.words, f.field))
            .collect();
        let terms: [Vec<PlacedTerm>; 2] = [
            self.lexicon.terms(&t.words, true),
            self.lexicon.terms(&b.words, false),
        ];
        let texts = [t.text, b.text];
        let model = self.lexicon.model_hits(texts);

        // Per-entity sentiment from the configured entities' mentions.
        let ids = {
            let mut ids: Vec<&str> = Vec::new();
            for m in &mentions {
                if !ids.contains(&m.entity_id.as_str()) {
                    ids.push(&m.entity_id);
                }
            }
            ids
        };
        let spans: Vec<Span> = mentions
            .iter()
            .map(|m| Span {
                target: ids.iter().position(|&i| i == m.entity_id).unwrap_or(0),
                field: m.field,
                start: m.start,
                end: m.end,
            })
            .collect();
        let per = targets::attribute(&texts, &terms, &model, &spans, ids.len());
        // Ad-hoc targets.
        let adhoc = if targets.is_empty() {
            Vec::new()
        } else {
            let names: Vec<String> = targets.iter().map(|n| normalize(n)).collect();
            let spans = targets::find_targets(&texts, &names);
            targets::attribute(&texts, &terms, &model, &spans, names.len())
        };

        // The document's own judgement takes the evidence, without a copy; a target judged on
        // all of it gets a copy of the result.
        let evidence = Evidence {
            terms: terms.into_iter().flatten().map(|p| p.term).collect(),
            model,
        };
        let sentiment = self.judge(evidence, texts);
        let judged = |a: targets::Attributed| match a {
            targets::Attributed::Own(evidence) => self.judge(evidence, texts),
            targets::Attributed::Document => sentiment.clone(),
        };
        let lead = if ids.is_empty() {
            0
        } else {
            entities::lead_end(b.text)
        };
        let entity_sentiments = ids
            .iter()
            .zip(per)
            .map(|(id, a)| {
                let mention_salience: Vec<Salience> = mentions
                    .iter()
                    .filter(|m| m.entity_id == *id)
                    .map(|m| entities::salience(m, lead))
                    .collect();
                EntitySentiment {
                    entity_id: id.to_string(),
                    sentiment: judged(a),
                    salience: mention_salience.iter().copied().max(),
                    mention_salience,
                }
            })
            .collect();
        let target_sentiments = adhoc.into_iter().map(judged).collect();
        let (risks, dimensions) = self.risk.tag(&texts);
        let (simhash, char_count) = simhash::document(&title, &body);
        let analysis = Analysis {
            title,
            body,
            char_count,
            mentions,
            sentiment,
            entity_sentiments,
            risks,
            dimensions,
            simhash,
            analyzer_version: ANALYZER_VERSION,
        };
        (analysis, target_sentiments)
    }

    fn judge(&self, evidence: Evidence, texts: [&str; 2]) -> Sentiment {
        self.lexicon.judge(
            evidence,
            texts,
            self.negative_threshold,
            self.positive_threshold,
        )
    }

    /// Number of features of the learned sentiment model (0 when the lexicon names none).
    pub fn model_feature_count(&self) -> usize {
        self.lexicon.model_features()
    }

    /// What the sentiment model's trainer (`examples/train_sentiment.rs`) needs of one text:
    /// the lexicon's sum for it (title and body, without the model) and the model's feature
    /// keys of every kind (`u:…`, `c:…`, `t:…`, `a:…`, negated `c:!…`; see the `model`
    /// module), extracted exactly as analysis does.
    #[doc(hidden)]
    pub fn model_inputs(&self, title: &str, body: &str) -> (f32, Vec<String>) {
        let title = normalize(title);
        let body = normalize(body);
        let t = self.field_text(Field::Title, &title);
        let b = self.field_text(Field::Body, &body);
        let lexicon_sum: f32 = [
            self.lexicon.terms(&t.words, true),
            self.lexicon.terms(&b.words, false),
        ]
        .iter()
        .flatten()
        .map(|p| p.term.contribution)
        .sum();
        let mut keys = Vec::new();
        model::feature_keys(t.text, &mut keys);
        model::feature_keys(b.text, &mut keys);
        (lexicon_sum, keys)
    }

    /// Every file this analyzer read (user dictionaries, lexicon, model, risk rules), in that
    /// order. The entities came from the caller, not from a file read here.
    pub fn files(&self) -> Vec<&Path> {
        self.files.iter().map(|f| f.path.as_path()).collect()
    }

    /// The files of [`Analyzer::files`] whose modification time or length differs from when
    /// this analyzer read them (or that appeared or disappeared). Only `stat`s them: cheap
    /// enough to poll every few seconds.
    pub fn changed_files(&self) -> Vec<&Path> {
        self.files
            .iter()
            .filter(|f| f.changed())
            .map(|f| f.path.as_path())
            .collect()
    }

    /// Number of risk categories loaded (0 when no rules file was found).
    pub fn risk_category_count(&self) -> usize {
        self.risk.category_count()
    }

    /// A tantivy tokenizer over this analyzer's dictionary (search mode; see
    /// [`JiebaTokenizer`]). Cheap: it shares the jieba instance.
    pub fn tokenizer(&self) -> JiebaTokenizer {
        JiebaTokenizer::new(Arc::clone(&self.jieba))
    }

    /// The words of `text` in jieba's default mode with HMM, without whitespace or
    /// punctuation tokens. `text` is used as given: normalize it first if it came from outside.
    pub fn segment(&self, text: &str) -> Vec<String> {
        cut(&self.jieba, text)
            .into_iter()
            .filter(|w| is_word(w.text))
            .map(|w| w.text.to_string())
            .collect()
    }
}

/// One normalized field, its alias occurrences and its jieba words where analysis reads them:
/// the input of every analysis stage.
struct FieldText<'a> {
    field: Field,
    text: &'a str,
    /// Every alias occurrence ([`entities::EntityMatcher::occurrences`]).
    occurrences: Vec<aho_corasick::Match>,
    /// jieba's cut (default mode, HMM) of every clause holding a lexicon term, a contrast word
    /// or a non-ASCII alias, and the clause separators ([`segment::cut_clauses`]): each word
    /// exactly as a cut of the whole text has it. Clauses where no stage could find anything
    /// are not segmented.
    words: Vec<segment::Word<'a>>,
}

impl Analyzer {
    fn field_text<'a>(&self, field: Field, text: &'a str) -> FieldText<'a> {
        let occurrences = self.matcher.occurrences(text);
        // Non-ASCII aliases need word boundaries (overlapping ones included).
        let mut aliases: Vec<(usize, usize)> = occurrences
            .iter()
            .filter(|m| self.matcher.needs_words(m))
            .map(|m| (m.start(), m.end()))
            .collect();
        aliases.sort_unstable();
        let mut behind = 0; // aliases ending before the current clause
        let words = segment::cut_clauses(&self.jieba, text, |start, end| {
            while behind < aliases.len() && aliases[behind].1 <= start {
                behind += 1;
            }
            let alias = aliases[behind..]
                .iter()
                .take_while(|a| a.0 < end)
                .any(|a| a.1 > start);
            alias || self.lexicon.may_find(&text[start..end])
        });
        FieldText {
            field,
            text,
            words,
            occurrences,
        }
    }
}

/// Apply an analyst's correction to an analysis (after every analysis and re-analysis):
/// a corrected label replaces the document label, and the evidence gains a zero-weight term
/// `人工校正` whose modifiers say who and why; the mentions and per-entity sentiments of
/// every entity listed as a false mention are removed. Idempotent.
pub fn apply_correction(analysis: &mut Analysis, correction: &Correction) {
    const MARK: &str = "人工校正";
    if let Some(label) = correction.label {
        analysis.sentiment.label = label;
        analysis.sentiment.terms.retain(|t| t.term != MARK);
        let mut modifiers = vec![format!("校正人:{}", correction.by)];
        if let Some(n) = &correction.note {
            modifiers.push(format!("说明:{n}"));
        }
        modifiers.push(format!("标签:{}", label.as_str()));
        analysis.sentiment.terms.push(SentimentTerm {
            term: MARK.into(),
            weight: 0.0,
            contribution: 0.0,
            modifiers,
        });
    }
    if !correction.false_mentions.is_empty() {
        let false_ids = &correction.false_mentions;
        analysis
            .mentions
            .retain(|m| !false_ids.contains(&m.entity_id));
        analysis
            .entity_sentiments
            .retain(|e| !false_ids.contains(&e.entity_id));
    }
}

/// The byte range of `raw`'s original title or body that produced `normalized[start..end]`
/// of the same field (offsets as in [`Mention`](yuqing_model::Mention)): for display of the
/// text as published.
pub fn original_range(
    raw: &RawDoc,
    field: Field,
    start: usize,
    end: usize,
) -> std::ops::Range<usize> {
    let text = match field {
        Field::Title => &raw.title,
        Field::Body => &raw.body,
    };
    normalize_mapped(text).to_original(start, end)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::PathBuf;

    use yuqing_model::{Alias, AliasKind, Entity};

    use super::*;

    /// Segmenting only the clauses a stage can find something in must find exactly what a cut
    /// of the whole text finds: the same mentions and the same sentiment terms with the same
    /// modifiers. Checked on FinNSP (its entity names as the watched entities) when the
    /// corpora are present, and on hand-written texts always.
    #[test]
    fn clause_segmentation_finds_what_a_whole_cut_finds() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut texts: Vec<String> = [
            "恒信消金，服务很差。但是客服态度不错！借款3.5万元，年化36%。",
            "不满意。非常满意\r\n没有暴力催收 “恒信”分期…骚扰家人、威胁",
            "HXCF借钱,利息太高;不过到账快:好评",
        ]
        .map(String::from)
        .to_vec();
        let mut names: Vec<String> = vec!["恒信".into(), "恒信消金".into(), "HXCF".into()];
        match eval::load(&root.join("../shared/corpora/sentiment/finnsp/train_list.json")) {
            Ok(items) => {
                for item in items.iter().take(600) {
                    texts.push(format!("{} {}", item.title, item.text));
                    names.extend(item.entities.iter().map(|(n, _)| n.clone()));
                }
            }
            Err(e) => println!("skip FinNSP part: {e}"),
        }
        names.sort();
        names.dedup();
        let entities: Vec<Entity> = names
            .iter()
            .filter(|n| !normalize(n).is_empty())
            .enumerate()
            .map(|(i, n)| Entity {
                id: format!("e{i}"),
                name: n.clone(),
                aliases: vec![Alias {
                    text: n.clone(),
                    kind: AliasKind::Name,
                }],
                exclude_contexts: vec![],
            })
            .collect();
        let opts = AnalyzerOptions {
            user_dicts: vec![root.join("config/dict/yuqing.txt")],
            sentiment_lexicon: root.join("config/sentiment.toml"),
            ..AnalyzerOptions::default()
        };
        let analyzer = Analyzer::load(&opts, &entities).unwrap();
        let (mut mentions, mut terms, mut skipped, mut cut_words) = (0, 0, 0, 0);
        for text in &texts {
            let text = normalize(text);
            let part = analyzer.field_text(Field::Body, &text);
            let whole = cut(&analyzer.jieba, &text);
            let whole_set: HashSet<(usize, usize)> =
                whole.iter().map(|w| (w.start, w.end)).collect();
            assert!(
                part.words
                    .iter()
                    .all(|w| whole_set.contains(&(w.start, w.end))),
                "a clause cut differs from the whole cut in {text:?}"
            );
            skipped += whole.len() - part.words.len();
            cut_words += part.words.len();

            let found = analyzer
                .matcher
                .find(&text, &part.occurrences, &part.words, Field::Body);
            let expected = analyzer
                .matcher
                .find(&text, &part.occurrences, &whole, Field::Body);
            assert_eq!(found, expected, "mentions in {text:?}");
            mentions += found.len();

            let show = |t: Vec<sentiment::PlacedTerm>| -> Vec<String> {
                t.iter()
                    .map(|p| format!("{} {:?}", p.start, p.term))
                    .collect()
            };
            let found = show(analyzer.lexicon.terms(&part.words, false));
            let expected = show(analyzer.lexicon.terms(&whole, false));
            assert_eq!(found, expected, "sentiment terms in {text:?}");
            terms += found.len();
        }
        println!(
            "{} texts: {mentions} mentions, {terms} terms alike; {cut_words} tokens cut, \
             {skipped} not",
            texts.len()
        );
        assert!(mentions > 0 && terms > 0 && skipped > 0);
    }
}
