//! Text analysis for yuqing: normalization, Chinese segmentation, entity mentions and
//! lexicon sentiment, plus the jieba tokenizer the index registers.
//!
//! # Job
//!
//! [`Analyzer::analyze`] turns a [`RawDoc`] into an [`Analysis`]: normalized title and body
//! ([`normalize`]), a token count, [`Mention`](yuqing_model::Mention)s of the watched entities
//! with their evidence spans, and a [`Sentiment`](yuqing_model::Sentiment) with the terms that produced it. [`Analyzer::tokenizer`] gives the index a
//! [`JiebaTokenizer`] over the *same* dictionary, so names the analyzer keeps whole are also
//! whole words in search.
//!
//! # Contract and invariants
//!
//! * **Offsets are byte offsets into the normalized text** of their field
//!   ([`Analysis::title`] / [`Analysis::body`]), always on `char` boundaries; so are the
//!   tokenizer's offsets into whatever it is given. Index the normalized text.
//! * **Analysis is deterministic:** the same document and the same configuration give the same
//!   [`Analysis`], on any thread. A change of code, dictionary or lexicon that could change a
//!   result comes with a bump of [`ANALYZER_VERSION`], so stored results can be recomputed.
//!   The entity list is configuration too: its non-ASCII aliases become jieba words, so editing
//!   it changes mentions *and* tokenization of what is analyzed afterwards.
//! * **No I/O after load:** [`Analyzer::load`] reads every file once and validates it (errors
//!   name the file, line or key); `analyze`, `segment` and the tokenizer only compute. They are
//!   CPU-bound (jieba): call them from a blocking thread, not an async task.
//! * An [`Analyzer`] is immutable, `Send + Sync`, and meant to be shared in an `Arc`.
//!
//! # Stages, and where the next ones go
//!
//! `analyze` normalizes each field and cuts it once with jieba into a `FieldText` (the
//! normalized text and its words, every byte covered); every stage reads those: entity matching
//! (`entities.rs`) and [`sentiment`]. A later stage (risk categories, the seven dimensions,
//! near-duplicate fingerprints) is one more function over the `FieldText`s, called from
//! `analyze`, with its configuration loaded and validated in [`Analyzer::load`]; a change of
//! text itself (traditional → simplified) belongs in [`normalize`], before any offset exists.

#![warn(missing_docs)]

mod entities;
mod error;
mod normalize;
mod segment;
pub mod sentiment;
mod tokenizer;

use std::path::PathBuf;
use std::sync::Arc;

use jieba_rs::Jieba;
use yuqing_model::{Analysis, Entity, Field, RawDoc};

pub use error::TextError;
pub use normalize::{KEPT_FULLWIDTH, normalize};
pub use tokenizer::{JiebaTokenStream, JiebaTokenizer};

use crate::entities::EntityMatcher;
use crate::segment::{cut, is_word};
use crate::sentiment::Lexicon;

/// Version of the analysis this crate produces; stored in [`Analysis::analyzer_version`].
/// Bump it whenever a result could change (code, dictionary or lexicon).
pub const ANALYZER_VERSION: u32 = 1;

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
    /// A score at or below this is negative (default [`DEFAULT_NEGATIVE_THRESHOLD`]).
    pub negative_threshold: f32,
    /// A score at or above this is positive (default [`DEFAULT_POSITIVE_THRESHOLD`]).
    pub positive_threshold: f32,
}

impl Default for AnalyzerOptions {
    /// [`DEFAULT_USER_DICT`], [`DEFAULT_SENTIMENT_LEXICON`] and the default thresholds.
    fn default() -> AnalyzerOptions {
        AnalyzerOptions {
            user_dicts: vec![PathBuf::from(DEFAULT_USER_DICT)],
            sentiment_lexicon: PathBuf::from(DEFAULT_SENTIMENT_LEXICON),
            negative_threshold: DEFAULT_NEGATIVE_THRESHOLD,
            positive_threshold: DEFAULT_POSITIVE_THRESHOLD,
        }
    }
}

/// The loaded analyzer: jieba with the user dictionaries and entity aliases, the entity matcher
/// and the sentiment lexicon. Immutable and `Send + Sync`; share it with an `Arc`.
#[derive(Debug)]
pub struct Analyzer {
    jieba: Arc<Jieba>,
    matcher: EntityMatcher,
    lexicon: Lexicon,
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
        let matcher = EntityMatcher::new(entities)?;
        let lexicon = Lexicon::load(&opts.sentiment_lexicon)?;
        let aliases: Vec<&str> = matcher.jieba_words().collect();
        let jieba = segment::build_jieba(&opts.user_dicts, &aliases)?;
        Ok(Analyzer {
            jieba: Arc::new(jieba),
            matcher,
            lexicon,
            negative_threshold: neg,
            positive_threshold: pos,
        })
    }

    /// Analyze one document. Pure computation; deterministic.
    pub fn analyze(&self, raw: &RawDoc) -> Analysis {
        let title = normalize(&raw.title);
        let body = normalize(&raw.body);
        let fields = [
            FieldText::new(&self.jieba, Field::Title, &title),
            FieldText::new(&self.jieba, Field::Body, &body),
        ];
        let [t, b] = &fields;

        let token_count = fields
            .iter()
            .flat_map(|f| &f.words)
            .filter(|w| is_word(w.text))
            .count();
        let mentions = fields
            .iter()
            .flat_map(|f| self.matcher.find(f.text, &f.words, f.field))
            .collect();
        let sentiment = self.lexicon.score(
            &t.words,
            &b.words,
            self.negative_threshold,
            self.positive_threshold,
        );
        Analysis {
            title,
            body,
            token_count,
            mentions,
            sentiment,
            entity_sentiments: Vec::new(),
            risks: Vec::new(),
            dimensions: Vec::new(),
            simhash: 0,
            analyzer_version: ANALYZER_VERSION,
        }
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

/// One normalized field and its jieba words (default mode, HMM, every byte covered in order):
/// the input of every analysis stage.
struct FieldText<'a> {
    field: Field,
    text: &'a str,
    words: Vec<segment::Word<'a>>,
}

impl<'a> FieldText<'a> {
    fn new(jieba: &Jieba, field: Field, text: &'a str) -> FieldText<'a> {
        FieldText {
            field,
            text,
            words: cut(jieba, text),
        }
    }
}
