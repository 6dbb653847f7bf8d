//! The learned half of sentiment: a linear model over jieba words and character bigrams,
//! trained offline and shipped as a text file, combined additively with the lexicon.
//!
//! # Features
//!
//! Over the normalized text of each field, in text order ([`for_each_feature`]):
//!
//! * `w:<word>`: every jieba word that carries meaning (letters, digits, ideographs) and is not only ASCII
//!   digits, ASCII lowercased;
//! * `c:<two characters>`: every pair of adjacent CJK ideographs (`不好`, `太慢`), across word
//!   boundaries.
//!
//! A document's `n` is the number of feature occurrences in title and body together.
//!
//! # Score
//!
//! With the `@norm` the file declares (the shipped one: `mean-binary`), a feature with model
//! weight `w` present in a document contributes `scale × w / n` (`mean`; `sqrt`: `/ √n`),
//! shared among its occurrences (`binary`; `count`: each occurrence adds it), to the same sum
//! the lexicon terms add to (`score = tanh(sum / squash)`, see [`crate::sentiment`]). Dividing
//! by `n` keeps long documents from drifting on many weak features; `scale` is `[model] weight`
//! in the lexicon file. There is no intercept: a text with no known feature adds nothing.
//!
//! The weights are in *lexicon units*: the trainer fits a logistic regression whose inputs are
//! the lexicon's own sum (one input) and the length-normalized feature counts, then divides
//! every feature weight by the lexicon input's weight, so the model adds what the lexicon
//! misses instead of counting its terms twice.
//!
//! # File
//!
//! UTF-8 text, one entry a line, fields separated by a tab (shown as `→` here); `#` lines are
//! comments (the file header records the training data, its licence and the held-out figures):
//!
//! ```text
//! @format→yuqing-sentiment-lr/1
//! @norm→mean-binary
//! w:满意→0.4812
//! c:太慢→-0.9377
//! ```
//!
//! Weights are finite, at most [`MAX_MODEL_WEIGHT`] in magnitude; a key appears once.
//! `crates/text/examples/train_sentiment.rs` writes it.

use std::path::Path;

use crate::error::TextError;
use crate::fxhash::FxHashMap;
use crate::segment::Word;

/// The `@format` line every model file must carry.
pub const MODEL_FORMAT: &str = "yuqing-sentiment-lr/1";
/// Largest accepted feature weight magnitude.
pub const MAX_MODEL_WEIGHT: f32 = 100.0;

/// What kind of feature an occurrence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A jieba word.
    Word,
    /// Two adjacent ideographs.
    Bigram,
}

/// How feature occurrences become model inputs (the file's `@norm` line; see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Norm {
    /// A feature counts once however often it occurs (its weight is shared by its occurrences).
    pub binary: bool,
    /// Divide by `n` instead of `√n`.
    pub mean: bool,
}

impl Norm {
    fn parse(s: &str) -> Option<Norm> {
        Some(match s {
            "sqrt-count" => Norm {
                binary: false,
                mean: false,
            },
            "sqrt-binary" => Norm {
                binary: true,
                mean: false,
            },
            "mean-count" => Norm {
                binary: false,
                mean: true,
            },
            "mean-binary" => Norm {
                binary: true,
                mean: true,
            },
            _ => return None,
        })
    }

    /// The divisor for a document with `n` feature occurrences.
    pub(crate) fn divisor(self, n: usize) -> f32 {
        if self.mean {
            n as f32
        } else {
            (n as f32).sqrt()
        }
    }
}

/// The loaded model: feature key hash → weight (lexicon units).
#[derive(Debug)]
pub(crate) struct SentimentModel {
    weights: FxHashMap<u64, f32>,
    /// One bit per [`FILTER_BITS`] slot of the key hashes present: most features of a text
    /// are unknown, and this 16 KB bitmap (in L1 cache) answers them without probing the map.
    filter: Vec<u64>,
    pub(crate) norm: Norm,
}

/// Bits of the known-feature prefilter (a power of two).
const FILTER_BITS: u64 = 1 << 17;

fn filter_slot(hash: u64) -> (usize, u64) {
    let slot = hash >> (64 - FILTER_BITS.trailing_zeros());
    ((slot / 64) as usize, 1 << (slot % 64))
}

impl SentimentModel {
    /// Read and validate a model file.
    pub(crate) fn load(path: &Path) -> Result<SentimentModel, TextError> {
        let text = std::fs::read_to_string(path).map_err(|source| TextError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        SentimentModel::parse(&text, path)
    }

    /// Parse and validate model text; `path` only names the file in errors.
    pub(crate) fn parse(text: &str, path: &Path) -> Result<SentimentModel, TextError> {
        let err = |line: usize, reason: String| TextError::Model {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let mut weights: FxHashMap<u64, f32> = FxHashMap::default();
        let mut format = false;
        let mut norm = None;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('\t') else {
                return Err(err(n, "expected `key<TAB>value`".into()));
            };
            if let Some(param) = key.strip_prefix('@') {
                match param {
                    "format" if value == MODEL_FORMAT => format = true,
                    "format" => {
                        return Err(err(
                            n,
                            format!("unknown format {value:?}, expected {MODEL_FORMAT:?}"),
                        ));
                    }
                    "norm" => match Norm::parse(value) {
                        Some(v) => norm = Some(v),
                        None => {
                            return Err(err(
                                n,
                                format!(
                                    "unknown norm {value:?}, expected sqrt-count, sqrt-binary, \
                                     mean-count or mean-binary"
                                ),
                            ));
                        }
                    },
                    other => return Err(err(n, format!("unknown parameter `@{other}`"))),
                }
                continue;
            }
            let (kind, feature) = if let Some(f) = key.strip_prefix("w:") {
                (Kind::Word, f)
            } else if let Some(f) = key.strip_prefix("c:") {
                (Kind::Bigram, f)
            } else {
                return Err(err(n, format!("key {key:?} must start with `w:` or `c:`")));
            };
            if feature.is_empty() {
                return Err(err(n, "empty feature".into()));
            }
            let w: f32 = value
                .trim()
                .parse()
                .map_err(|_| err(n, format!("weight {value:?} of {key:?} is not a number")))?;
            if !(w.is_finite() && w.abs() <= MAX_MODEL_WEIGHT) {
                return Err(err(
                    n,
                    format!("weight of {key:?} must be finite and at most {MAX_MODEL_WEIGHT}"),
                ));
            }
            let hash = match kind {
                Kind::Word => feature_hash(Kind::Word, feature.as_bytes()),
                Kind::Bigram => {
                    let mut cs = feature.chars();
                    match (cs.next(), cs.next(), cs.next()) {
                        (Some(a), Some(b), None) => bigram_hash(a, b),
                        _ => return Err(err(n, format!("{key:?}: a bigram is two characters"))),
                    }
                }
            };
            if weights.insert(hash, w).is_some() {
                return Err(err(n, format!("{key:?} listed twice")));
            }
        }
        if !format {
            return Err(err(0, format!("missing `@format\t{MODEL_FORMAT}` line")));
        }
        let Some(norm) = norm else {
            return Err(err(0, "missing `@norm` line".into()));
        };
        let mut filter = vec![0u64; (FILTER_BITS / 64) as usize];
        for &h in weights.keys() {
            let (word, bit) = filter_slot(h);
            filter[word] |= bit;
        }
        Ok(SentimentModel {
            weights,
            filter,
            norm,
        })
    }

    /// Number of features with a weight.
    pub(crate) fn len(&self) -> usize {
        self.weights.len()
    }

    /// The weight of a feature occurrence, if the model knows it.
    #[inline]
    pub(crate) fn weight(&self, hash: u64) -> Option<f32> {
        let (word, bit) = filter_slot(hash);
        if self.filter[word] & bit == 0 {
            return None;
        }
        self.weights.get(&hash).copied()
    }
}

/// The key hash of a word feature: its bytes (ASCII lowercased), eight bytes at a time,
/// finalized. The same function hashes file keys at load and text at analysis.
#[inline]
pub(crate) fn feature_hash(kind: Kind, feature: &[u8]) -> u64 {
    if feature.iter().any(u8::is_ascii_uppercase) {
        return hash_bytes(kind, &feature.to_ascii_lowercase());
    }
    hash_bytes(kind, feature)
}

#[inline]
fn hash_bytes(kind: Kind, bytes: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h: u64 = match kind {
        Kind::Word => 0x9e37_79b9_7f4a_7c15,
        Kind::Bigram => 0xc2b2_ae3d_27d4_eb4f,
    } ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
    }
    crate::simhash::mix(h)
}

fn is_ideograph(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// The key hash of a bigram feature, from its two characters (cheaper than hashing bytes).
#[inline]
pub(crate) fn bigram_hash(a: char, b: char) -> u64 {
    crate::simhash::mix(((a as u64) << 21 | b as u64) ^ 0xc2b2_ae3d_27d4_eb4f)
}

/// Every feature occurrence of one normalized field, in text order: `f(kind, start, end, hash)`
/// with the byte range of the feature text and its key hash. `words` is jieba's default-mode
/// cut of `text`.
pub(crate) fn for_each_feature(
    text: &str,
    words: &[Word<'_>],
    mut f: impl FnMut(Kind, usize, usize, u64),
) {
    for w in words {
        if w.meaningful && !w.text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            f(
                Kind::Word,
                w.start,
                w.end,
                feature_hash(Kind::Word, w.text.as_bytes()),
            );
        }
    }
    let mut prev: Option<(usize, char)> = None; // the previous ideograph and where it starts
    for (i, c) in text.char_indices() {
        if is_ideograph(c) {
            if let Some((p, pc)) = prev {
                f(Kind::Bigram, p, i + c.len_utf8(), bigram_hash(pc, c));
            }
            prev = Some((i, c));
        } else {
            prev = None;
        }
    }
}

/// The feature keys (`w:…`, `c:…`) of a field, in text order: what the trainer counts.
pub(crate) fn feature_keys(text: &str, words: &[Word<'_>], out: &mut Vec<String>) {
    for_each_feature(text, words, |kind, s, e, _| {
        let prefix = match kind {
            Kind::Word => "w:",
            Kind::Bigram => "c:",
        };
        out.push(format!("{prefix}{}", text[s..e].to_ascii_lowercase()));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Word<'_>> {
        let mut out = Vec::new();
        let mut pos = 0;
        for tok in text.split_inclusive('|') {
            let t = tok.trim_end_matches('|');
            out.push(Word {
                text: t,
                start: pos,
                end: pos + t.len(),
                meaningful: crate::segment::is_word(t),
            });
            pos += tok.len();
        }
        out
    }

    #[test]
    fn features_are_words_and_ideograph_bigrams() {
        let text = "送餐|太慢|，|APP|123|卡";
        let mut keys = Vec::new();
        feature_keys(text, &words(text), &mut keys);
        assert_eq!(
            keys,
            ["w:送餐", "w:太慢", "w:app", "w:卡", "c:送餐", "c:太慢"]
        );
    }

    #[test]
    fn parse_validates_and_hashes_like_the_text() {
        let m = SentimentModel::parse(
            "# header\n@format\tyuqing-sentiment-lr/1\n@norm\tsqrt-binary\nw:满意\t0.5\nc:太慢\t-1.25\nw:APP\t0.1\n",
            Path::new("m.tsv"),
        )
        .unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(
            m.weight(feature_hash(Kind::Word, "满意".as_bytes())),
            Some(0.5)
        );
        assert_eq!(m.weight(bigram_hash('太', '慢')), Some(-1.25));
        assert_eq!(m.weight(feature_hash(Kind::Word, b"app")), Some(0.1));
        assert_eq!(m.weight(feature_hash(Kind::Word, "太慢".as_bytes())), None);
        for (bad, what) in [
            ("w:a\t1\n", "@format"),
            ("@format\tother\n", "unknown format"),
            ("@format\tyuqing-sentiment-lr/1\nw:a\t1\n", "@norm"),
            (
                "@format\tyuqing-sentiment-lr/1\n@norm\tcube\n",
                "unknown norm",
            ),
            ("@format\tyuqing-sentiment-lr/1\nx:a\t1\n", "must start"),
            ("@format\tyuqing-sentiment-lr/1\nw:a\tNaN\n", "finite"),
            ("@format\tyuqing-sentiment-lr/1\nw:a\t1\nw:A\t2\n", "twice"),
            ("@format\tyuqing-sentiment-lr/1\nw:a 1\n", "key<TAB>value"),
        ] {
            let e = SentimentModel::parse(bad, Path::new("m.tsv")).unwrap_err();
            assert!(e.to_string().contains(what), "{bad:?}: {e}");
        }
    }
}
