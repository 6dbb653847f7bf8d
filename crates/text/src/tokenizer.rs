//! The tantivy tokenizer: jieba search mode over the same dictionary the analyzer uses.

use std::sync::Arc;

use jieba_rs::Jieba;
use tantivy_tokenizer_api::{Token, TokenStream, Tokenizer};

use crate::segment::is_word;

/// Shortest sub-word (in characters) this crate adds inside a long word; jieba itself already
/// emits the 2- and 3-character ones.
const LONG_SUBWORD_MIN_CHARS: usize = 4;
/// Words longer than this (in characters) get no extra sub-words (bounds the quadratic scan).
const LONG_SUBWORD_MAX_CHARS: usize = 32;

/// A tantivy tokenizer backed by the analyzer's jieba instance (default dictionary plus the
/// user dictionaries and entity aliases), obtained from
/// [`Analyzer::tokenizer`](crate::Analyzer::tokenizer). Cloning is cheap (an `Arc`).
///
/// Contract:
///
/// * jieba **search mode** with HMM: a long word is emitted whole and also as every dictionary
///   word inside it, for recall: jieba's 2- and 3-character ones, plus the longer ones this crate
///   adds (`恒信消费金融有限公司` → `恒信`, `消费`, `金融`, `有限`, `公司`, `恒信消费金融`, then
///   the whole name); sub-words come right before the word that contains them;
/// * `offset_from..offset_to` are **byte** offsets into the input, so
///   `&text[token.offset_from..token.offset_to] == token.text` always holds;
/// * positions start at 0 and grow by exactly one per emitted token;
/// * tokens made only of whitespace, punctuation or symbols are skipped;
/// * nothing is lowercased or otherwise changed: add tantivy's `LowerCaser` when registering.
///
/// Index the analyzer's *normalized* text ([`Analysis::title`](yuqing_model::Analysis) and
/// `body`), so highlight offsets and mention offsets refer to the same string.
#[derive(Clone)]
pub struct JiebaTokenizer {
    source: Source,
}

/// Where a tokenizer's jieba comes from.
#[derive(Clone)]
enum Source {
    /// One analyzer's, for the tokenizer's lifetime.
    Fixed(Arc<Jieba>),
    /// A [`SharedAnalyzer`](crate::SharedAnalyzer)'s current one, looked up per text.
    Live(Arc<arc_swap::ArcSwap<crate::Analyzer>>),
}

impl JiebaTokenizer {
    pub(crate) fn new(jieba: Arc<Jieba>) -> JiebaTokenizer {
        JiebaTokenizer {
            source: Source::Fixed(jieba),
        }
    }

    pub(crate) fn live(current: Arc<arc_swap::ArcSwap<crate::Analyzer>>) -> JiebaTokenizer {
        JiebaTokenizer {
            source: Source::Live(current),
        }
    }

    /// The tokens this tokenizer emits for `text`, collected (handy outside tantivy).
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        match &self.source {
            Source::Fixed(jieba) => tokens(jieba, text),
            Source::Live(current) => tokens(&current.load().jieba, text),
        }
    }
}

fn tokens(jieba: &Jieba, text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let push = |out: &mut Vec<Token>, from: usize, to: usize| {
        out.push(Token {
            offset_from: from,
            offset_to: to,
            position: out.len(),
            text: text[from..to].to_string(),
            position_length: 1,
        });
    };
    for t in jieba.cut_for_search(text, true) {
        if !is_word(t.word) {
            continue;
        }
        debug_assert_eq!(&text[t.byte_start..t.byte_end], t.word);
        // jieba's search mode adds the 2- and 3-character dictionary words inside a long
        // word; add the longer ones too, so `恒信消费金融` is found inside the full name.
        let chars = t.end - t.start;
        if chars > LONG_SUBWORD_MIN_CHARS && chars <= LONG_SUBWORD_MAX_CHARS && !t.word.is_ascii() {
            let bounds: Vec<usize> = t
                .word
                .char_indices()
                .map(|(i, _)| i)
                .chain([t.word.len()])
                .collect();
            for len in LONG_SUBWORD_MIN_CHARS..chars {
                for start in 0..=chars - len {
                    let (a, b) = (bounds[start], bounds[start + len]);
                    if jieba.has_word(&t.word[a..b]) {
                        push(&mut out, t.byte_start + a, t.byte_start + b);
                    }
                }
            }
        }
        push(&mut out, t.byte_start, t.byte_end);
    }
    out
}

impl std::fmt::Debug for JiebaTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiebaTokenizer").finish_non_exhaustive()
    }
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        JiebaTokenStream {
            tokens: self.tokens(text),
            next: 0,
            current: Token::default(),
        }
    }
}

/// The token stream of a [`JiebaTokenizer`]: all tokens computed up front.
#[derive(Debug)]
pub struct JiebaTokenStream {
    tokens: Vec<Token>,
    next: usize,
    current: Token,
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        match self.tokens.get_mut(self.next) {
            Some(t) => {
                self.current = std::mem::take(t);
                self.next += 1;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}
