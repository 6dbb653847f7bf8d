//! Sentiment: a lexicon (weighted terms, negation, degree and contrast words over jieba tokens)
//! plus an optional learned model, added into one explained sum.
//!
//! # Lexicon file
//!
//! TOML, every table optional except that a useful file has `[negative.terms]` and
//! `[positive.terms]` (see `config/sentiment.toml`):
//!
//! ```toml
//! [scoring]                      # all optional; defaults are the DEFAULT_* consts
//! squash = 4.0                   # score = tanh(sum / squash)
//! title_factor = 2.0             # a title hit counts this many times
//! negated_negative_factor = -0.5 # "没有暴力催收": weight × -0.5 (weakened and flipped)
//! negated_positive_factor = -1.0 # "不满意" via 不 + 满意: weight × -1
//! negation_window = 3            # tokens before a term searched for negation words
//! degree_window = 2              # tokens before a term searched for a degree word
//! contrast_before_factor = 0.5   # terms before 但是 in the sentence
//! contrast_after_factor = 1.5    # terms after it
//! [negation]
//! words = ["不", "没有"]
//! [contrast]
//! words = ["但是", "不过"]
//! [degree.words]
//! "非常" = 1.8
//! [negative.terms]
//! "暴力催收" = -3.0
//! [positive.terms]
//! "满意" = 1.5
//! ```
//!
//! Weights: negative terms in `[-5, 0)`, positive in `(0, 5]`, degree factors in `(0, 5]`. A word
//! may appear in only one of the four lists, and every word must already be normalized.
//!
//! # Scoring
//!
//! Title and body are scored separately over jieba's default-mode tokens. A lexicon term matches
//! one token or a run of up to [`MAX_TERM_TOKENS`] consecutive tokens whose concatenation is the
//! term (longest match first), so multi-word terms work whether or not jieba keeps them whole;
//! a token that fuses a negation or degree word with a term (`十分满意`, `非暴力`, `较差`, all
//! words of jieba's dictionary), or a negation with a degree word (`不太`), is read as the two;
//! any other token of three or more characters that ends with a term of two or more
//! (`态度恶劣`) yields that term.
//! For each match, the *window* is the word tokens before it, back to the nearest clause boundary
//! (`，。！？；：,.!?;:…` or a space) or the previous matched term, whichever is nearer:
//!
//! * **degree:** the nearest degree word among the last `degree_window` tokens multiplies the
//!   weight; if a negation word precedes that degree word (`不太满意`), the degree *softens*
//!   instead (× 1/factor), while `太不满意` amplifies;
//! * **negation:** an odd number of negation words among the last `negation_window` tokens
//!   multiplies by `negated_positive_factor` (positive terms) or `negated_negative_factor`
//!   (negative terms: a denied complaint is weak evidence of the opposite, not a full reversal);
//!   an even number cancels out and is recorded as `双重否定`;
//! * **contrast:** in a sentence (up to `。！？!?…` or a space) with a contrast word, terms
//!   before the last one × `contrast_before_factor`, terms after it × `contrast_after_factor`
//!   (`味道不错，但是送得太慢`: the complaint outweighs the praise);
//! * **title:** × `title_factor`.
//!
//! # Learned model
//!
//! An optional `[model]` table names the learned model (see `crate::model` for the features
//! and the file, and `examples/train_sentiment.rs` for the training):
//!
//! ```toml
//! [model]
//! file = "sentiment-model.tsv"   # relative to the lexicon file
//! weight = 1.0                   # scale of its contributions (0: off)
//! evidence_features = 5          # features listed one by one per judgement
//! objective_factor = 0.25        # its weight in a document without any subjective cue
//! subjective_cues = ["我", "！"]  # cues of personal, spoken register
//! ```
//!
//! Each occurrence of a feature the model knows adds `weight × w / n` (`n`: the document's
//! feature occurrences; a feature occurring k times shares its weight among them) to the same
//! sum, in the same units as the terms, at its position (so per-entity attribution treats it
//! like a term). A judgement lists the lexicon terms, then the `evidence_features` strongest
//! model features of two or more characters (modifier `模型`; a single character such as `的`
//! explains little) and one `模型:其余特征` entry with the rest: the listed contributions
//! always add up to the sum. The model learned from reviews, where nearly every
//! text judges; in a document containing none of `subjective_cues` (news register) its
//! contributions are multiplied by `objective_factor` (modifier `客观语体×0.25`).
//!
//! The score is `tanh(sum / squash)`, in `[-1, 1]`; the label comes from the thresholds.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use yuqing_model::{Field, Sentiment, SentimentLabel, SentimentTerm};

use crate::error::TextError;
use crate::fxhash::{FxHashMap, FxHashSet};
use crate::model::SentimentModel;
use crate::normalize::normalize;
use crate::segment::Word;

/// Default `squash`: `score = tanh(sum / squash)`; one strong term (-3) alone scores ≈ -0.64.
pub const DEFAULT_SQUASH: f32 = 4.0;
/// Default `title_factor`: title hits count double.
pub const DEFAULT_TITLE_FACTOR: f32 = 2.0;
/// Default `negated_negative_factor`: a negated negative term weakens and flips.
pub const DEFAULT_NEGATED_NEGATIVE_FACTOR: f32 = -0.5;
/// Default `negated_positive_factor`: a negated positive term counts as negative.
pub const DEFAULT_NEGATED_POSITIVE_FACTOR: f32 = -1.0;
/// Default `negation_window`, in tokens.
pub const DEFAULT_NEGATION_WINDOW: usize = 3;
/// Default `degree_window`, in tokens.
pub const DEFAULT_DEGREE_WINDOW: usize = 2;
/// Default `contrast_before_factor`: terms before 但是/不过 in a sentence weigh half.
pub const DEFAULT_CONTRAST_BEFORE_FACTOR: f32 = 0.5;
/// Default `contrast_after_factor`: terms after 但是/不过 in a sentence weigh 1.5 times.
pub const DEFAULT_CONTRAST_AFTER_FACTOR: f32 = 1.5;
/// Longest run of jieba tokens one lexicon term may span.
pub const MAX_TERM_TOKENS: usize = 4;
/// Default `[model] weight`: the learned model's contributions count as trained.
pub const DEFAULT_MODEL_WEIGHT: f32 = 1.0;
/// Default `[model] evidence_features`: model features listed one by one in a judgement (the
/// rest are summed into one [`MODEL_REST`] entry).
pub const DEFAULT_MODEL_EVIDENCE_FEATURES: usize = 5;
/// Modifier that marks an evidence entry from the learned model.
pub const MODEL_MODIFIER: &str = "模型";
/// Default `[model] objective_factor`: the model's weight in a document without any subjective
/// cue (news register).
pub const DEFAULT_OBJECTIVE_FACTOR: f32 = 0.25;
/// Modifier on model evidence damped by the register gate.
pub const OBJECTIVE_MODIFIER: &str = "客观语体";
/// Term of the evidence entry summing the model features not listed one by one.
pub const MODEL_REST: &str = "模型:其余特征";

const MAX_TERM_WEIGHT: f32 = 5.0;
const MAX_DEGREE: f32 = 5.0;
const MAX_WINDOW: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    #[serde(default)]
    scoring: ScoringFile,
    #[serde(default)]
    negation: NegationFile,
    #[serde(default)]
    contrast: NegationFile,
    #[serde(default)]
    degree: DegreeFile,
    #[serde(default)]
    negative: TermsFile,
    #[serde(default)]
    positive: TermsFile,
    model: Option<ModelFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    file: String,
    weight: Option<f32>,
    evidence_features: Option<usize>,
    #[serde(default)]
    subjective_cues: Vec<String>,
    objective_factor: Option<f32>,
}

/// How the model is gated by register: its contributions are multiplied by `objective_factor`
/// in a document that contains none of the subjective cues.
#[derive(Debug)]
struct Register {
    cues: Option<aho_corasick::AhoCorasick>,
    objective_factor: f32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoringFile {
    squash: Option<f32>,
    title_factor: Option<f32>,
    negated_negative_factor: Option<f32>,
    negated_positive_factor: Option<f32>,
    negation_window: Option<usize>,
    degree_window: Option<usize>,
    contrast_before_factor: Option<f32>,
    contrast_after_factor: Option<f32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NegationFile {
    #[serde(default)]
    words: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DegreeFile {
    #[serde(default)]
    words: BTreeMap<String, f32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TermsFile {
    #[serde(default)]
    terms: BTreeMap<String, f32>,
}

/// What a lexicon word is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Entry {
    Term(f32),
    Negation,
    Degree(f32),
    Contrast,
}

/// The validated lexicon and scoring parameters. Immutable after load.
#[derive(Debug)]
pub(crate) struct Lexicon {
    entries: FxHashMap<String, Entry>,
    /// Every term and contrast word, to find the clauses analysis must segment.
    candidates: Option<aho_corasick::AhoCorasick>,
    /// Every entry and every proper prefix of one (on `char` boundaries): a run of tokens that
    /// is not in here cannot grow into an entry.
    prefixes: FxHashSet<String>,
    /// First characters of negation and degree words (for splitting fused tokens).
    modifier_first: FxHashSet<char>,
    /// Bitmap over the BMP of the first characters of every entry: a token (or a suffix)
    /// starting with any other character cannot be or start an entry, without a hash lookup.
    entry_first: Vec<u64>,
    max_entry_bytes: usize,
    squash: f32,
    title_factor: f32,
    negated_negative_factor: f32,
    negated_positive_factor: f32,
    negation_window: usize,
    degree_window: usize,
    contrast_before_factor: f32,
    contrast_after_factor: f32,
    /// The learned model, its scale and how many of its features a judgement lists.
    model: Option<(SentimentModel, f32, usize)>,
    register: Register,
    /// The model file, when the lexicon names one.
    pub(crate) model_path: Option<std::path::PathBuf>,
}

/// A lexicon term (with its modifiers) found in a field, with where it starts (byte offset in
/// the field text).
#[derive(Debug, Clone)]
pub(crate) struct PlacedTerm {
    pub start: usize,
    pub term: SentimentTerm,
}

/// One occurrence of a model feature: where its text is, its model weight and what it adds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ModelHit {
    pub field: Field,
    pub start: u32,
    pub end: u32,
    pub weight: f32,
    pub contribution: f32,
    /// Damped by the register gate (no subjective cue in the document).
    pub objective: bool,
}

/// The evidence one judgement weighs: lexicon terms (in text order) and model feature
/// occurrences.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evidence {
    pub terms: Vec<SentimentTerm>,
    pub model: Vec<ModelHit>,
}

thread_local! {
    /// Per known model feature (by slot number), its occurrences in the document being
    /// scored; all zero between documents. See [`Lexicon::model_hits`].
    static OCCURRENCES: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Lexicon {
    /// Read and validate a lexicon file.
    pub(crate) fn load(path: &Path) -> Result<Lexicon, TextError> {
        let text = crate::error::read_file(path)?;
        Lexicon::parse(&text, path)
    }

    /// Parse and validate lexicon text; `path` only names the file in errors.
    pub(crate) fn parse(text: &str, path: &Path) -> Result<Lexicon, TextError> {
        let file: LexiconFile = crate::error::parse_toml(text, path)?;
        let err = |key: String, reason: String| TextError::Lexicon {
            path: path.to_path_buf(),
            key,
            reason,
        };

        let s = &file.scoring;
        let squash = s.squash.unwrap_or(DEFAULT_SQUASH);
        if !(squash.is_finite() && squash > 0.0) {
            return Err(err(
                "scoring.squash".into(),
                format!("must be > 0, got {squash}"),
            ));
        }
        let title_factor = s.title_factor.unwrap_or(DEFAULT_TITLE_FACTOR);
        if !(title_factor.is_finite() && (0.0..=10.0).contains(&title_factor)) {
            return Err(err(
                "scoring.title_factor".into(),
                format!("must be in [0, 10], got {title_factor}"),
            ));
        }
        let nn = s
            .negated_negative_factor
            .unwrap_or(DEFAULT_NEGATED_NEGATIVE_FACTOR);
        let np = s
            .negated_positive_factor
            .unwrap_or(DEFAULT_NEGATED_POSITIVE_FACTOR);
        for (key, v) in [
            ("scoring.negated_negative_factor", nn),
            ("scoring.negated_positive_factor", np),
        ] {
            if !(v.is_finite() && (-2.0..=1.0).contains(&v)) {
                return Err(err(key.into(), format!("must be in [-2, 1], got {v}")));
            }
        }
        let negation_window = s.negation_window.unwrap_or(DEFAULT_NEGATION_WINDOW);
        let degree_window = s.degree_window.unwrap_or(DEFAULT_DEGREE_WINDOW);
        for (key, v) in [
            ("scoring.negation_window", negation_window),
            ("scoring.degree_window", degree_window),
        ] {
            if v > MAX_WINDOW {
                return Err(err(
                    key.into(),
                    format!("must be at most {MAX_WINDOW}, got {v}"),
                ));
            }
        }

        let cb = s
            .contrast_before_factor
            .unwrap_or(DEFAULT_CONTRAST_BEFORE_FACTOR);
        let ca = s
            .contrast_after_factor
            .unwrap_or(DEFAULT_CONTRAST_AFTER_FACTOR);
        for (key, v) in [
            ("scoring.contrast_before_factor", cb),
            ("scoring.contrast_after_factor", ca),
        ] {
            if !(v.is_finite() && (0.0..=5.0).contains(&v)) {
                return Err(err(key.into(), format!("must be in [0, 5], got {v}")));
            }
        }

        let mut entries: FxHashMap<String, Entry> = FxHashMap::default();
        let mut add = |table: &str, word: &str, entry: Entry| -> Result<(), TextError> {
            let key = format!("{table}.{word}");
            if word.is_empty() {
                return Err(err(key, "empty word".into()));
            }
            let normalized = normalize(word);
            if normalized != word {
                return Err(err(key, format!("not normalized: write {normalized:?}")));
            }
            if let Some(c) = word.chars().find(|&c| crate::segment::is_separator(c)) {
                return Err(err(
                    key,
                    format!(
                        "contains {c:?}: a lexicon word lies within one clause (no whitespace or clause punctuation)"
                    ),
                ));
            }
            if entries.insert(word.to_string(), entry).is_some() {
                return Err(err(
                    key,
                    "word listed more than once across the lexicon".into(),
                ));
            }
            Ok(())
        };
        for w in &file.negation.words {
            add("negation.words", w, Entry::Negation)?;
        }
        for w in &file.contrast.words {
            add("contrast.words", w, Entry::Contrast)?;
        }
        for (w, &f) in &file.degree.words {
            if !(f.is_finite() && f > 0.0 && f <= MAX_DEGREE) {
                return Err(err(
                    format!("degree.words.{w}"),
                    format!("factor must be in (0, {MAX_DEGREE}], got {f}"),
                ));
            }
            add("degree.words", w, Entry::Degree(f))?;
        }
        for (w, &v) in &file.negative.terms {
            if !(v.is_finite() && (-MAX_TERM_WEIGHT..0.0).contains(&v)) {
                return Err(err(
                    format!("negative.terms.{w}"),
                    format!("weight must be in [-{MAX_TERM_WEIGHT}, 0), got {v}"),
                ));
            }
            add("negative.terms", w, Entry::Term(v))?;
        }
        for (w, &v) in &file.positive.terms {
            if !(v.is_finite() && v > 0.0 && v <= MAX_TERM_WEIGHT) {
                return Err(err(
                    format!("positive.terms.{w}"),
                    format!("weight must be in (0, {MAX_TERM_WEIGHT}], got {v}"),
                ));
            }
            add("positive.terms", w, Entry::Term(v))?;
        }

        let model = match &file.model {
            None => None,
            Some(m) => {
                let weight = m.weight.unwrap_or(DEFAULT_MODEL_WEIGHT);
                if !(weight.is_finite() && (0.0..=5.0).contains(&weight)) {
                    return Err(err(
                        "model.weight".into(),
                        format!("must be in [0, 5], got {weight}"),
                    ));
                }
                let evidence = m
                    .evidence_features
                    .unwrap_or(DEFAULT_MODEL_EVIDENCE_FEATURES);
                if evidence > 50 {
                    return Err(err(
                        "model.evidence_features".into(),
                        format!("must be at most 50, got {evidence}"),
                    ));
                }
                if m.file.trim().is_empty() {
                    return Err(err("model.file".into(), "empty path".into()));
                }
                let model_path = path.parent().unwrap_or(Path::new("")).join(&m.file);
                Some((model_path, weight, evidence))
            }
        };
        let register = match &file.model {
            None => Register {
                cues: None,
                objective_factor: 1.0,
            },
            Some(m) => {
                let f = m.objective_factor.unwrap_or(DEFAULT_OBJECTIVE_FACTOR);
                if !(f.is_finite() && (0.0..=1.0).contains(&f)) {
                    return Err(err(
                        "model.objective_factor".into(),
                        format!("must be in [0, 1], got {f}"),
                    ));
                }
                for c in &m.subjective_cues {
                    if c.is_empty() || normalize(c) != *c {
                        return Err(err(
                            format!("model.subjective_cues.{c}"),
                            format!("empty or not normalized: write {:?}", normalize(c)),
                        ));
                    }
                }
                let cues = if m.subjective_cues.is_empty() {
                    None
                } else {
                    Some(
                        aho_corasick::AhoCorasick::new(&m.subjective_cues)
                            .map_err(|e| err("model.subjective_cues".into(), e.to_string()))?,
                    )
                };
                Register {
                    cues,
                    objective_factor: f,
                }
            }
        };
        let (model, model_path) = match model {
            None => (None, None),
            Some((p, weight, evidence)) => {
                (Some((SentimentModel::load(&p)?, weight, evidence)), Some(p))
            }
        };

        let max_entry_bytes = entries.keys().map(String::len).max().unwrap_or(0);
        let mut prefixes = FxHashSet::default();
        for k in entries.keys() {
            for (i, _) in k.char_indices().skip(1) {
                prefixes.insert(k[..i].to_string());
            }
            prefixes.insert(k.clone());
        }
        let mut entry_first = vec![0u64; 0x10000 / 64];
        for k in entries.keys() {
            if let Some(c) = k.chars().next() {
                let u = c as usize;
                if u < 0x10000 {
                    entry_first[u / 64] |= 1 << (u % 64);
                }
            }
        }
        // Terms and contrast words: where one occurs, analysis segments the clause.
        let candidates = {
            let words: Vec<&str> = entries
                .iter()
                .filter(|(_, e)| matches!(e, Entry::Term(_) | Entry::Contrast))
                .map(|(k, _)| k.as_str())
                .collect();
            if words.is_empty() {
                None
            } else {
                Some(
                    aho_corasick::AhoCorasick::builder()
                        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                        .build(&words)
                        .map_err(|e| err("negative.terms".into(), e.to_string()))?,
                )
            }
        };
        let modifier_first = entries
            .iter()
            .filter(|(_, e)| matches!(e, Entry::Negation | Entry::Degree(_)))
            .filter_map(|(k, _)| k.chars().next())
            .collect();
        Ok(Lexicon {
            entries,
            candidates,
            prefixes,
            modifier_first,
            entry_first,
            max_entry_bytes,
            squash,
            title_factor,
            negated_negative_factor: nn,
            negated_positive_factor: np,
            negation_window,
            degree_window,
            contrast_before_factor: cb,
            contrast_after_factor: ca,
            model,
            register,
            model_path,
        })
    }

    /// Number of features of the learned model (0 without one).
    pub(crate) fn model_features(&self) -> usize {
        self.model.as_ref().map_or(0, |(m, _, _)| m.len())
    }

    /// Number of negative and positive terms.
    #[cfg(test)]
    fn term_counts(&self) -> (usize, usize) {
        let neg = self
            .entries
            .values()
            .filter(|e| matches!(e, Entry::Term(w) if *w < 0.0))
            .count();
        let pos = self
            .entries
            .values()
            .filter(|e| matches!(e, Entry::Term(w) if *w > 0.0))
            .count();
        (neg, pos)
    }

    /// Score a document from the jieba tokens of its normalized title and body.
    #[cfg(test)]
    pub(crate) fn score(
        &self,
        title: &[Word<'_>],
        body: &[Word<'_>],
        negative_threshold: f32,
        positive_threshold: f32,
    ) -> Sentiment {
        let mut terms = self.terms(title, true);
        terms.extend(self.terms(body, false));
        self.judge(
            Evidence {
                terms: terms.into_iter().map(|t| t.term).collect(),
                model: Vec::new(),
            },
            ["", ""],
            negative_threshold,
            positive_threshold,
        )
    }

    /// Whether `clause` (text between two clause separators) holds a term or a contrast word:
    /// only then can [`Lexicon::terms`] find something in it. Negation and degree words matter
    /// only before a term in its clause, so they need not be looked for.
    pub(crate) fn may_find(&self, clause: &str) -> bool {
        self.candidates
            .as_ref()
            .is_some_and(|ac| ac.is_match(clause))
    }

    /// The sentiment terms of one field, with their positions (title hits weighted).
    pub(crate) fn terms(&self, words: &[Word<'_>], title: bool) -> Vec<PlacedTerm> {
        let mut out = Vec::new();
        let factor = if title { self.title_factor } else { 1.0 };
        self.collect(words, factor, &mut out);
        out
    }

    /// The learned model's evidence for a document: every occurrence of a feature the model
    /// knows, title first, in text order, contributing `scale × weight / n` (`n`: feature
    /// occurrences in both fields; see [`crate::model`]), shared among a feature's occurrences
    /// when the model's features are binary. `fields` are the normalized title and body.
    /// Nothing without a model.
    pub(crate) fn model_hits(&self, fields: [&str; 2]) -> Vec<ModelHit> {
        let Some((model, scale, _)) = &self.model else {
            return Vec::new();
        };
        let mut hits: Vec<ModelHit> =
            Vec::with_capacity(fields.iter().map(|t| t.len()).sum::<usize>() / 2);
        // Each hit's slot number: the feature's identity, to count its occurrences.
        let mut slots: Vec<u32> = Vec::with_capacity(hits.capacity());
        let mut n = 0usize;
        for (text, field) in fields.iter().zip([Field::Title, Field::Body]) {
            n += model.scan(text, |start, end, slot, weight| {
                hits.push(ModelHit {
                    field,
                    start,
                    end,
                    weight,
                    contribution: 0.0,
                    objective: false,
                });
                slots.push(slot);
            });
        }
        if hits.is_empty() {
            return hits;
        }
        // Register: a document with no subjective cue reads as news; the model, trained on
        // reviews, weighs less there.
        let objective = self
            .register
            .cues
            .as_ref()
            .is_some_and(|cues| !fields.iter().any(|text| cues.find(*text).is_some()));
        let gate = if objective {
            self.register.objective_factor
        } else {
            1.0
        };
        let norm = gate * scale / model.norm.divisor(n);
        if model.norm.binary {
            // A feature counts once: its occurrences share its weight.
            OCCURRENCES.with_borrow_mut(|count| {
                count.resize(model.slot_count(), 0);
                for &s in &slots {
                    count[s as usize] += 1;
                }
                for (h, &s) in hits.iter_mut().zip(&slots) {
                    h.contribution = h.weight * norm / count[s as usize] as f32;
                    h.objective = objective;
                }
                for &s in &slots {
                    count[s as usize] = 0;
                }
            });
        } else {
            for h in &mut hits {
                h.contribution = h.weight * norm;
                h.objective = objective;
            }
        }
        hits
    }

    /// Score and label from evidence: the sum of every contribution, squashed. The result lists
    /// the lexicon terms in text order, then the model's strongest features of two or more
    /// characters (at most `[model] evidence_features`, identical texts merged, in text order)
    /// and one [`MODEL_REST`] entry summing the other model features, so the listed
    /// contributions always add up to the score's sum. `texts` are the normalized title and
    /// body the model evidence points into.
    pub(crate) fn judge(
        &self,
        evidence: Evidence,
        texts: [&str; 2],
        negative_threshold: f32,
        positive_threshold: f32,
    ) -> Sentiment {
        let Evidence { mut terms, model } = evidence;
        let sum: f32 = terms.iter().map(|t| t.contribution).sum::<f32>()
            + model.iter().map(|m| m.contribution).sum::<f32>();
        if !model.is_empty() {
            self.list_model_evidence(model, texts, &mut terms);
        }
        let score = (sum / self.squash).tanh().clamp(-1.0, 1.0);
        let label = if score <= negative_threshold {
            SentimentLabel::Negative
        } else if score >= positive_threshold {
            SentimentLabel::Positive
        } else {
            SentimentLabel::Neutral
        };
        Sentiment {
            score,
            label,
            terms,
        }
    }

    fn list_model_evidence(
        &self,
        mut hits: Vec<ModelHit>,
        texts: [&str; 2],
        terms: &mut Vec<SentimentTerm>,
    ) {
        let listed = self
            .model
            .as_ref()
            .map_or(0, |(_, _, k)| *k)
            .min(hits.len());
        let by_strength = |a: &ModelHit, b: &ModelHit| {
            b.contribution
                .abs()
                .total_cmp(&a.contribution.abs())
                .then((a.field as u8, a.start).cmp(&(b.field as u8, b.start)))
        };
        // A single character (的, 客) explains little: only features of two or more characters
        // are listed one by one (moved to the front here); single ones stay in the rest.
        let mut multi = 0;
        for i in 0..hits.len() {
            let m = hits[i];
            let text = &texts[m.field as usize][m.start as usize..m.end as usize];
            if text.chars().nth(1).is_some() {
                hits.swap(i, multi);
                multi += 1;
            }
        }
        let listed = listed.min(multi);
        if listed > 0 && listed < multi {
            hits[..multi].select_nth_unstable_by(listed - 1, by_strength);
        }
        let gate = if hits.first().is_some_and(|m| m.objective) {
            Some(format!(
                "{OBJECTIVE_MODIFIER}×{}",
                fmt_factor(self.register.objective_factor)
            ))
        } else {
            None
        };
        let (top, rest) = hits.split_at_mut(listed);
        top.sort_by_key(|m| (m.field as u8, m.start, m.end));
        // Merge identical texts (repeats): one entry each.
        // (text, summed weight, summed contribution, distinct places)
        type Merged<'t> = (&'t str, f32, f32, Vec<(Field, u32)>);
        let mut merged: Vec<Merged<'_>> = Vec::new();
        for m in top.iter() {
            let text = &texts[m.field as usize][m.start as usize..m.end as usize];
            match merged.iter_mut().find(|(t, ..)| *t == text) {
                Some((_, w, c, at)) => {
                    *w += m.weight;
                    *c += m.contribution;
                    if !at.contains(&(m.field, m.start)) {
                        at.push((m.field, m.start));
                    }
                }
                None => merged.push((text, m.weight, m.contribution, vec![(m.field, m.start)])),
            }
        }
        for (text, weight, contribution, at) in merged {
            let mut modifiers = vec![MODEL_MODIFIER.to_string()];
            if at.len() > 1 {
                modifiers.push(format!("×{}", at.len()));
            }
            modifiers.extend(gate.clone());
            terms.push(SentimentTerm {
                term: text.to_string(),
                weight,
                contribution,
                modifiers,
            });
        }
        if !rest.is_empty() {
            terms.push(SentimentTerm {
                term: MODEL_REST.to_string(),
                weight: 0.0,
                contribution: rest.iter().map(|m| m.contribution).sum(),
                modifiers: [MODEL_MODIFIER.to_string(), format!("特征数:{}", rest.len())]
                    .into_iter()
                    .chain(gate)
                    .collect(),
            });
        }
    }

    /// Turn tokens into units: lexicon matches (longest first), boundaries and other words.
    fn units(&self, words: &[Word<'_>]) -> (Vec<Unit>, Vec<usize>) {
        let mut units = Vec::with_capacity(words.len());
        let mut starts = Vec::with_capacity(words.len());
        let mut i = 0;
        let mut concat = String::new();
        while i < words.len() {
            let w = words[i].text;
            if !words[i].meaningful {
                if let Some(sentence_end) = boundary(w) {
                    units.push(Unit::Boundary(sentence_end));
                    starts.push(words[i].start);
                }
                i += 1;
                continue;
            }
            // Longest run of tokens i..j whose concatenation is a lexicon entry.
            let mut found: Option<(usize, Entry)> = None;
            concat.clear();
            let may_start = w.chars().next().is_some_and(|c| self.may_start(c));
            let run = if may_start { MAX_TERM_TOKENS } else { 0 };
            for (j, next) in words.iter().enumerate().skip(i).take(run) {
                concat.push_str(next.text);
                // Every entry is in `prefixes`: one lookup settles most tokens.
                if concat.len() > self.max_entry_bytes || !self.prefixes.contains(concat.as_str()) {
                    break;
                }
                if let Some(&e) = self.entries.get(concat.as_str()) {
                    found = Some((j + 1, e));
                }
            }
            match found {
                Some((end, entry)) => {
                    let text = words[i..end].iter().map(|w| w.text).collect::<String>();
                    units.push(Unit::Entry(text, entry));
                    starts.push(words[i].start);
                    i = end;
                }
                None => {
                    // A fused modifier starts with an entry's first character.
                    let fused = if may_start { self.split_fused(w) } else { None };
                    match fused {
                        Some((modifier, m, term, t)) => {
                            units.push(Unit::Entry(modifier.to_string(), m));
                            starts.push(words[i].start);
                            units.push(Unit::Entry(term.to_string(), t));
                            starts.push(words[i].start + modifier.len());
                        }
                        None => match self.term_suffix(w) {
                            // 态度恶劣 (one jieba word) ends with the term 恶劣.
                            Some((k, term, t)) => {
                                units.push(Unit::Other);
                                starts.push(words[i].start);
                                units.push(Unit::Entry(term.to_string(), t));
                                starts.push(words[i].start + k);
                            }
                            None => {
                                units.push(Unit::Other);
                                starts.push(words[i].start);
                            }
                        },
                    }
                    i += 1;
                }
            }
        }
        (units, starts)
    }

    /// jieba fuses some modifiers with what follows (`十分满意`, `非暴力`, `较差` are dictionary
    /// words; HMM makes `不太`): a token that is a negation or degree word followed by a term,
    /// or a negation word followed by a degree word, is read as those two units. Other pairs
    /// (`太太`, `莫非`, `无不`) are ordinary words.
    /// The longest proper suffix (two characters or more) of a token of three characters or
    /// more that is a sentiment term: jieba keeps some phrases whole (`态度恶劣`, `服务态度差`)
    /// whose last word is the judgement. Returns its byte offset in the token.
    /// Whether some entry starts with `c` (always true outside the BMP: not tracked).
    #[inline]
    fn may_start(&self, c: char) -> bool {
        let u = c as usize;
        u >= 0x10000 || self.entry_first[u / 64] >> (u % 64) & 1 == 1
    }

    fn term_suffix<'w>(&self, token: &'w str) -> Option<(usize, &'w str, Entry)> {
        let mut offsets = token.char_indices().map(|(k, _)| k).skip(1);
        token.chars().nth(2)?; // three characters or more
        let last_start = token.char_indices().next_back().map_or(0, |(k, _)| k);
        offsets.find_map(|k| {
            if k >= last_start {
                return None;
            }
            let tail = &token[k..];
            if !tail.chars().next().is_some_and(|c| self.may_start(c)) {
                return None;
            }
            match self.entries.get(tail) {
                Some(&e @ Entry::Term(_)) => Some((k, tail, e)),
                _ => None,
            }
        })
    }

    fn split_fused<'w>(&self, token: &'w str) -> Option<(&'w str, Entry, &'w str, Entry)> {
        if !token
            .chars()
            .next()
            .is_some_and(|c| self.modifier_first.contains(&c))
        {
            return None;
        }
        for (k, _) in token.char_indices().skip(1) {
            let (head, tail) = token.split_at(k);
            let (Some(&h), Some(&t)) = (self.entries.get(head), self.entries.get(tail)) else {
                continue;
            };
            match (h, t) {
                (Entry::Negation | Entry::Degree(_), Entry::Term(_))
                | (Entry::Negation, Entry::Degree(_)) => return Some((head, h, tail, t)),
                _ => {}
            }
        }
        None
    }

    fn collect(&self, words: &[Word<'_>], field_factor: f32, out: &mut Vec<PlacedTerm>) {
        let (units, starts) = self.units(words);
        // Contrast (但是, 不过 …): in a sentence, terms before the last contrast word weigh
        // less and terms after it more. Per unit: the factor and the word, if any.
        let mut contrast: Vec<Option<(f32, &str)>> = vec![None; units.len()];
        let mut sentence_start = 0;
        for k in 0..=units.len() {
            let end_here = k == units.len() || matches!(units[k], Unit::Boundary(true));
            if !end_here {
                continue;
            }
            let last_contrast = (sentence_start..k)
                .rev()
                .find(|&j| matches!(units[j], Unit::Entry(_, Entry::Contrast)));
            if let Some(c) = last_contrast {
                let Unit::Entry(word, _) = &units[c] else {
                    unreachable!()
                };
                for (j, slot) in contrast.iter_mut().enumerate().take(k).skip(sentence_start) {
                    *slot = Some(if j < c {
                        (self.contrast_before_factor, word.as_str())
                    } else {
                        (self.contrast_after_factor, word.as_str())
                    });
                }
            }
            sentence_start = k + 1;
        }
        for (k, unit) in units.iter().enumerate() {
            let Unit::Entry(term, Entry::Term(weight)) = unit else {
                continue;
            };
            // The window: word units before k, back to a boundary or the previous term.
            let window_len = self.negation_window.max(self.degree_window);
            let mut window: Vec<(usize, &Unit)> = Vec::new(); // nearest first
            for back in (0..k).rev() {
                match &units[back] {
                    Unit::Boundary(_) | Unit::Entry(_, Entry::Term(_) | Entry::Contrast) => break,
                    u => window.push((k - back, u)),
                }
                if window.len() == window_len {
                    break;
                }
            }
            let negations: Vec<(usize, &str)> = window
                .iter()
                .take(self.negation_window)
                .filter_map(|(d, u)| match u {
                    Unit::Entry(t, Entry::Negation) => Some((*d, t.as_str())),
                    _ => None,
                })
                .collect();
            let degree = window
                .iter()
                .take(self.degree_window)
                .find_map(|(d, u)| match u {
                    Unit::Entry(t, Entry::Degree(f)) => Some((*d, t.as_str(), *f)),
                    _ => None,
                });

            let mut modifiers = Vec::new();
            let mut contribution = *weight;
            if let Some((d, word, factor)) = degree {
                // A negation farther away than the degree word reads "not very": soften.
                let softened = negations.iter().any(|&(nd, _)| nd > d);
                let f = if softened { 1.0 / factor } else { factor };
                contribution *= f;
                modifiers.push(format!("程度:{word}×{}", fmt_factor(f)));
            }
            if !negations.is_empty() {
                // Text order for display.
                let words: Vec<&str> = negations.iter().rev().map(|&(_, w)| w).collect();
                if negations.len() % 2 == 1 {
                    contribution *= if *weight < 0.0 {
                        self.negated_negative_factor
                    } else {
                        self.negated_positive_factor
                    };
                    modifiers.push(format!("否定:{}", words.join("+")));
                } else {
                    modifiers.push(format!("双重否定:{}", words.join("+")));
                }
            }
            if let Some((f, word)) = contrast[k]
                && f != 1.0
            {
                contribution *= f;
                modifiers.push(format!("转折:{word}×{}", fmt_factor(f)));
            }
            if field_factor != 1.0 {
                contribution *= field_factor;
                modifiers.push(format!("标题×{}", fmt_factor(field_factor)));
            }
            out.push(PlacedTerm {
                start: starts[k],
                term: SentimentTerm {
                    term: term.clone(),
                    weight: *weight,
                    contribution,
                    modifiers,
                },
            });
        }
    }
}

#[derive(Debug)]
enum Unit {
    /// A clause boundary; `true` when it also ends a sentence.
    Boundary(bool),
    Entry(String, Entry),
    Other,
}

/// Whether a non-word token ends a clause (`Some`), and whether it also ends a sentence.
fn boundary(token: &str) -> Option<bool> {
    if token
        .chars()
        .any(|c| matches!(c, '。' | '！' | '？' | '!' | '?' | '…' | ' '))
    {
        return Some(true);
    }
    is_boundary(token).then_some(false)
}

/// A non-word token that ends a clause: one holding a clause separator (the characters
/// analysis segments between, [`crate::segment::is_separator`]) or a `.`, which jieba keeps
/// inside its blocks (`3.5`) but which ends a clause where it stands alone.
fn is_boundary(token: &str) -> bool {
    token
        .chars()
        .any(|c| c == '.' || crate::segment::is_separator(c))
}

/// `1.8` → "1.8", `2.0` → "2", `0.5555` → "0.56".
fn fmt_factor(f: f32) -> String {
    let s = format!("{f:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEX: &str = r#"
[negation]
words = ["不", "没有"]
[degree.words]
"很" = 1.5
[negative.terms]
"暴力催收" = -3.0
"无法提现" = -2.0
[positive.terms]
"满意" = 1.5
"#;

    fn lexicon() -> Lexicon {
        match Lexicon::parse(LEX, Path::new("test.toml")) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        }
    }

    /// Words from space-separated tokens (a stand-in for jieba).
    fn words(text: &str) -> Vec<Word<'_>> {
        let mut out = Vec::new();
        let mut pos = 0;
        for tok in text.split('|') {
            out.push(Word {
                text: tok,
                start: pos,
                end: pos + tok.len(),
                meaningful: crate::segment::is_word(tok),
            });
            pos += tok.len() + 1;
        }
        out
    }

    fn score(tokens: &str) -> Sentiment {
        lexicon().score(&[], &words(tokens), -0.2, 0.2)
    }

    #[test]
    fn multi_token_terms_match_longest_first() {
        let s = score("用户|无法|提现");
        assert_eq!(s.terms.len(), 1);
        assert_eq!(s.terms[0].term, "无法提现");
        assert_eq!(s.terms[0].contribution, -2.0);
    }

    #[test]
    fn double_negation_cancels() {
        let s = score("不|是|不|满意");
        assert_eq!(s.terms[0].contribution, 1.5);
        assert_eq!(s.terms[0].modifiers, vec!["双重否定:不+不".to_string()]);
    }

    #[test]
    fn negation_window_is_three_tokens() {
        let near = score("没有|被|暴力催收");
        assert_eq!(near.terms[0].contribution, 1.5);
        let far = score("没有|人|说|过|暴力催收");
        assert_eq!(far.terms[0].contribution, -3.0);
    }

    #[test]
    fn window_stops_at_the_previous_term() {
        let s = score("不|满意|暴力催收");
        assert_eq!(s.terms[0].contribution, -1.5);
        assert_eq!(s.terms[1].contribution, -3.0, "{s:?}");
    }

    #[test]
    fn score_is_squashed_and_labelled() {
        let s = score("暴力催收|暴力催收|暴力催收|暴力催收|暴力催收");
        assert!(s.score > -1.0 && s.score < -0.99, "{s:?}");
        assert_eq!(s.label, SentimentLabel::Negative);
        let s = score("今天|天气");
        assert_eq!(
            (s.score, s.label, s.terms.len()),
            (0.0, SentimentLabel::Neutral, 0)
        );
    }

    #[test]
    fn a_word_in_two_lists_is_rejected() {
        let text = format!("{LEX}\"不\" = 1.0\n");
        let Err(e) = Lexicon::parse(&text, Path::new("x.toml")) else {
            panic!("must fail");
        };
        assert!(e.to_string().contains("positive.terms.不"), "{e}");
    }

    #[test]
    fn a_word_spanning_clauses_is_rejected() {
        // Analysis segments clause by clause, so a word with a separator could never be found.
        for word in ["好,吧", "很 好", "真的!"] {
            let text = format!("{LEX}\"{word}\" = 1.0\n");
            let Err(e) = Lexicon::parse(&text, Path::new("x.toml")) else {
                panic!("{word:?} must fail");
            };
            assert!(e.to_string().contains("within one clause"), "{e}");
        }
    }

    #[test]
    fn shipped_lexicon_counts() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sentiment.toml");
        let lex = match Lexicon::load(&path) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        let (neg, pos) = lex.term_counts();
        assert!(neg >= 150 && pos >= 80, "{neg} negative, {pos} positive");
    }

    #[test]
    fn factors_print_compactly() {
        assert_eq!(fmt_factor(1.8), "1.8");
        assert_eq!(fmt_factor(2.0), "2");
        assert_eq!(fmt_factor(1.0 / 1.8), "0.56");
    }
}
