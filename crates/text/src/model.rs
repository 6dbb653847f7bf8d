//! The learned half of sentiment: a linear model over character n-grams, trained offline and
//! shipped as a text file, combined additively with the lexicon. It needs no segmentation:
//! features come from the normalized text alone.
//!
//! # Features
//!
//! Over the normalized text of each field, in text order ([`for_each_feature`]), within every
//! run of CJK ideographs (U+4E00–U+9FFF; any other character ends a run):
//!
//! * `u:<character>`: every ideograph (`差`);
//! * `c:<two characters>`: every pair of adjacent ideographs (`不好`, `太慢`);
//! * `t:<three characters>`: every three adjacent ideographs (`不满意`, `送得慢`);
//!
//! and `a:<letters>`: every maximal run of ASCII letters and digits that is not only digits,
//! lowercased (`app`, `vip`).
//!
//! **Negation scope:** an n-gram that starts after a negation character ([`NEGATORS`]: 不 没 无
//! 未) of its ideograph run is a feature of its own, marked `!`: in `服务很不满意`, `u:!满`,
//! `u:!意` and `c:!满意` are not `u:满`, `u:意` and `c:满意`, so the praise after `不` is not
//! read as praise. The n-grams containing the negation character (`c:不满`, `t:很不满`) are
//! plain; the scope ends with the run (at punctuation).
//!
//! The file's `@features` line says which kinds the model was trained with, and `neg` whether
//! it keys negated n-grams apart; only those kinds are counted. A document's `n` is the number
//! of occurrences of those kinds in title and body together. Keys are hashed from their
//! characters ([`unigram_hash`], [`bigram_hash`], [`trigram_hash`], [`ascii_hash`],
//! [`negated_hash`]), so analysis allocates nothing per feature.
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
//! @format→yuqing-sentiment-lr/2
//! @norm→mean-binary
//! @features→u c t a neg
//! u:差→-52.10
//! c:太慢→-93.77
//! c:!满意→-40.02
//! t:不满意→-120.34
//! a:app→10.22
//! ```
//!
//! Weights are finite, at most [`MAX_MODEL_WEIGHT`] in magnitude; a key appears once, its kind
//! is one `@features` lists, and a negated key (`!`) needs `neg` there.
//! `crates/text/examples/train_sentiment.rs` writes it. (Format 1 had jieba words, `w:`; its
//! files are refused.)

use std::path::Path;

use crate::error::TextError;
use crate::segment::is_ideograph;

/// The `@format` line every model file must carry.
pub const MODEL_FORMAT: &str = "yuqing-sentiment-lr/2";
/// Largest accepted feature weight magnitude. A weight is shared by a document's `n` feature
/// occurrences (a few hundred for a review), so a decisive feature weighs in the hundreds.
pub const MAX_MODEL_WEIGHT: f32 = 1000.0;

/// What kind of feature an occurrence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One ideograph (`u:`).
    Unigram,
    /// Two adjacent ideographs (`c:`).
    Bigram,
    /// Three adjacent ideographs (`t:`).
    Trigram,
    /// A run of ASCII letters and digits, lowercased (`a:`).
    Ascii,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Unigram, Kind::Bigram, Kind::Trigram, Kind::Ascii];

    /// The key prefix, without its colon.
    pub(crate) fn letter(self) -> &'static str {
        match self {
            Kind::Unigram => "u",
            Kind::Bigram => "c",
            Kind::Trigram => "t",
            Kind::Ascii => "a",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
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
    weights: WeightTable,
    pub(crate) norm: Norm,
    /// The kinds the model was trained with ([`Kind::bit`]s): only they are counted.
    kinds: u8,
    /// Whether features after a negation character are keyed apart (`neg`).
    negation: bool,
}

/// Feature key hash → weight, as one flat open-addressing table of 8-byte slots (the high 32
/// bits of the hash and the weight), at most three quarters full (the shipped model's table is
/// 512 KB, within this machine's L2 cache), behind a one-bit-per-key membership filter.
/// A text looks up every n-gram it has; one probe usually reads one cache line, where a general
/// hash map reads a control group and a bucket elsewhere. The slot is found by the low bits of
/// the hash and checked against the high bits, so two keys would be confused only if all 64
/// bits (beyond the table's index bits, 32 of them) agreed; loading refuses such a pair.
///
/// Most n-grams of a text are not features (on news: 94% of trigrams, two thirds of
/// bigrams), and an absent key walks the slots to the next empty one (8.5 slots on average
/// at three quarters full). The filter (about 8 bits per key, 64 KB for the shipped model,
/// indexed by hash bits the table does not use for its slots) settles nine in ten of them
/// with one bit.
#[derive(Debug)]
struct WeightTable {
    slots: Vec<(u32, f32)>,
    len: usize,
    filter: Vec<u64>,
    /// `filter` holds 2^`filter_bits` bits.
    filter_bits: u32,
}

/// A slot's tag: never 0, which marks an empty slot.
#[inline]
fn tag(hash: u64) -> u32 {
    ((hash >> 32) as u32).max(1)
}

impl WeightTable {
    fn with_capacity(n: usize) -> WeightTable {
        let size = (n + n / 3 + 1).next_power_of_two().max(16);
        let filter_bits = (8 * n).next_power_of_two().max(64).trailing_zeros();
        WeightTable {
            slots: vec![(0, 0.0); size],
            len: 0,
            filter: vec![0; 1 << (filter_bits - 6)],
            filter_bits,
        }
    }

    /// The filter bit of a key: from the hash's top bits (the slot comes from the low ones).
    #[inline]
    fn filter_bit(&self, hash: u64) -> usize {
        (hash >> (64 - self.filter_bits)) as usize
    }

    /// Whether the key may be in the table (`false`: it is not).
    #[inline]
    fn may_have(&self, hash: u64) -> bool {
        let b = self.filter_bit(hash);
        self.filter[b >> 6] >> (b & 63) & 1 != 0
    }

    /// Insert; `false` when a key with the same slot chain and tag is already there.
    fn insert(&mut self, hash: u64, weight: f32) -> bool {
        debug_assert!(4 * (self.len + 1) <= 3 * self.slots.len());
        let mask = self.slots.len() - 1;
        let t = tag(hash);
        let mut i = hash as usize & mask;
        loop {
            match self.slots[i].0 {
                0 => {
                    self.slots[i] = (t, weight);
                    self.len += 1;
                    let b = self.filter_bit(hash);
                    self.filter[b >> 6] |= 1 << (b & 63);
                    return true;
                }
                x if x == t => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The slot number and weight of a key, if the table has it.
    #[cfg(test)]
    fn get(&self, hash: u64) -> Option<(u32, f32)> {
        if !self.may_have(hash) {
            return None;
        }
        self.probe(hash)
    }

    /// [`WeightTable::get`] without the filter.
    #[inline]
    fn probe(&self, hash: u64) -> Option<(u32, f32)> {
        let mask = self.slots.len() - 1;
        let t = tag(hash);
        let mut i = hash as usize & mask;
        loop {
            let (x, w) = self.slots[i];
            if x == t {
                return Some((i as u32, w));
            }
            if x == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Read the first slot a key's probe reads, for its cache line only (see
    /// [`SentimentModel::scan`]).
    #[inline]
    fn touch(&self, hash: u64) -> u32 {
        self.slots[hash as usize & (self.slots.len() - 1)].0
    }
}

/// Occurrences looked up together by [`SentimentModel::scan`].
const SCAN_BATCH: usize = 64;

impl SentimentModel {
    /// Read and validate a model file.
    pub(crate) fn load(path: &Path) -> Result<SentimentModel, TextError> {
        let text = crate::error::read_file(path)?;
        SentimentModel::parse(&text, path)
    }

    /// Parse and validate model text; `path` only names the file in errors.
    pub(crate) fn parse(text: &str, path: &Path) -> Result<SentimentModel, TextError> {
        let err = |line: usize, reason: String| TextError::Model {
            path: path.to_path_buf(),
            line,
            reason,
        };
        // Keys and weights first: the table is sized once their number is known.
        let mut entries: Vec<(u64, f32, usize, String)> = Vec::new();
        let mut format = false;
        let mut norm = None;
        let mut kinds: Option<u8> = None;
        let mut negation = false;
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
                    "features" => {
                        let mut bits = 0u8;
                        for name in value.split_whitespace() {
                            if name == "neg" {
                                negation = true;
                                continue;
                            }
                            let Some(k) = Kind::ALL.iter().find(|k| k.letter() == name) else {
                                return Err(err(
                                    n,
                                    format!(
                                        "unknown feature kind {name:?}, expected u, c, t, a or neg"
                                    ),
                                ));
                            };
                            bits |= k.bit();
                        }
                        if bits == 0 {
                            return Err(err(n, "`@features` lists no kind".into()));
                        }
                        kinds = Some(bits);
                    }
                    other => return Err(err(n, format!("unknown parameter `@{other}`"))),
                }
                continue;
            }
            let Some(kind) = key
                .split_once(':')
                .and_then(|(p, _)| Kind::ALL.iter().copied().find(|k| k.letter() == p))
            else {
                return Err(err(
                    n,
                    format!("key {key:?} must start with `u:`, `c:`, `t:` or `a:`"),
                ));
            };
            let Some(kinds) = kinds else {
                return Err(err(
                    n,
                    "the `@features` line must come before the keys".into(),
                ));
            };
            if kinds & kind.bit() == 0 {
                return Err(err(
                    n,
                    format!("{key:?}: kind `{}` is not in `@features`", kind.letter()),
                ));
            }
            let (negated, feature) = match key[2..].strip_prefix('!') {
                Some(f) if kind != Kind::Ascii => (true, f),
                _ => (false, &key[2..]),
            };
            if negated && !negation {
                return Err(err(
                    n,
                    format!("{key:?}: a negated feature, and `@features` has no `neg`"),
                ));
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
            let hash = key_hash(kind, feature).map(|h| if negated { negated_hash(h) } else { h });
            let hash = hash.ok_or_else(|| {
                err(
                    n,
                    format!(
                        "{key:?}: u:, c: and t: take one, two and three CJK ideographs, a: a run \
                         of ASCII letters and digits that is not only digits"
                    ),
                )
            })?;
            entries.push((hash, w, n, key.to_string()));
        }
        if !format {
            return Err(err(0, format!("missing `@format\t{MODEL_FORMAT}` line")));
        }
        let Some(norm) = norm else {
            return Err(err(0, "missing `@norm` line".into()));
        };
        let Some(kinds) = kinds else {
            return Err(err(0, "missing `@features` line".into()));
        };
        let mut weights = WeightTable::with_capacity(entries.len());
        for (hash, w, n, key) in entries {
            if !weights.insert(hash, w) {
                return Err(err(
                    n,
                    format!("{key:?} listed twice (or its hash collides with another key's)"),
                ));
            }
        }
        Ok(SentimentModel {
            weights,
            norm,
            kinds,
            negation,
        })
    }

    /// Number of features with a weight.
    pub(crate) fn len(&self) -> usize {
        self.weights.len
    }

    /// Whether occurrences of `kind` are features of this model (count in `n`).
    #[inline]
    pub(crate) fn counts(&self, kind: Kind) -> bool {
        self.kinds & kind.bit() != 0
    }

    /// The key hash of an occurrence from [`for_each_feature`] (negated apart when the model
    /// has `neg`): what [`SentimentModel::weight`] looks up.
    #[inline]
    pub(crate) fn key_of(&self, negated: bool, hash: u64) -> u64 {
        if negated && self.negation {
            negated_hash(hash)
        } else {
            hash
        }
    }

    /// The weight of a feature key hash, if the model knows it.
    #[cfg(test)]
    pub(crate) fn weight(&self, hash: u64) -> Option<f32> {
        self.weights.get(hash).map(|(_, w)| w)
    }

    /// Bound of the slot numbers [`SentimentModel::scan`] reports: a known feature's slot
    /// number identifies it.
    pub(crate) fn slot_count(&self) -> usize {
        self.weights.slots.len()
    }

    /// Count the feature occurrences of one normalized field (the kinds this model counts,
    /// negated apart when it has `neg`) and look each up: `known(start, end, slot, weight)`
    /// for every occurrence of a feature the model knows, in text order. Returns how many
    /// occurrences were counted (known or not).
    ///
    /// Occurrences are looked up [`SCAN_BATCH`] at a time, in three passes with few branches
    /// on what they read, so that the cache misses of a batch overlap instead of each waiting
    /// for the previous probe's branch: the filter keeps the keys that may be features, their
    /// first slots are read, then they are probed (from the cache by now).
    pub(crate) fn scan(&self, text: &str, mut known: impl FnMut(u32, u32, u32, f32)) -> usize {
        let mut batch = [(0u64, 0u32, 0u32); SCAN_BATCH];
        let mut len = 0;
        let mut n = 0;
        for_each_feature(text, |kind, negated, s, e, h| {
            if !self.counts(kind) {
                return;
            }
            n += 1;
            batch[len] = (self.key_of(negated, h), s as u32, e as u32);
            len += 1;
            if len == SCAN_BATCH {
                self.look_up(&mut batch, &mut known);
                len = 0;
            }
        });
        self.look_up(&mut batch[..len], &mut known);
        n
    }

    fn look_up(&self, batch: &mut [(u64, u32, u32)], known: &mut impl FnMut(u32, u32, u32, f32)) {
        // Compact the keys the filter passes to the front (each written, kept or not).
        let mut kept = 0;
        for i in 0..batch.len() {
            let item = batch[i];
            batch[kept] = item;
            kept += usize::from(self.weights.may_have(item.0));
        }
        let batch = &batch[..kept];
        let touched = batch.iter().fold(0u32, |acc, &(h, ..)| {
            acc.wrapping_add(self.weights.touch(h))
        });
        std::hint::black_box(touched);
        for &(h, s, e) in batch {
            if let Some((slot, w)) = self.weights.probe(h) {
                known(s, e, slot, w);
            }
        }
    }
}

/// The hash of a file key's feature text, `None` when it is not one the text can produce.
fn key_hash(kind: Kind, feature: &str) -> Option<u64> {
    let mut cs = feature.chars();
    let ideographs = feature.chars().all(is_ideograph);
    match kind {
        Kind::Unigram if ideographs => match (cs.next(), cs.next()) {
            (Some(a), None) => Some(unigram_hash(a)),
            _ => None,
        },
        Kind::Bigram if ideographs => match (cs.next(), cs.next(), cs.next()) {
            (Some(a), Some(b), None) => Some(bigram_hash(a, b)),
            _ => None,
        },
        Kind::Trigram if ideographs => match (cs.next(), cs.next(), cs.next(), cs.next()) {
            (Some(a), Some(b), Some(c), None) => Some(trigram_hash(a, b, c)),
            _ => None,
        },
        Kind::Ascii
            if !feature.is_empty()
                && feature.bytes().all(|b| b.is_ascii_alphanumeric())
                && !feature.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(ascii_hash(feature.as_bytes()))
        }
        _ => None,
    }
}

// Seeds of the n-gram hashes. An ideograph is below 2^16, so the mixed input of a unigram
// keeps the top 48 bits of its seed, a bigram's the top 27 and a trigram's the top 6: their
// top six bits (100111, 110000, 000101) differ, so no two n-grams share an input, and `mix`
// is a bijection: no two n-grams share a hash.
const UNIGRAM_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const BIGRAM_SEED: u64 = 0xc2b2_ae3d_27d4_eb4f;
const TRIGRAM_SEED: u64 = 0x1656_67b1_9e37_79f9;
const ASCII_SEED: u64 = 0x27d4_eb2f_1656_67c5;

/// The key hash of a unigram feature, from its character.
#[inline]
pub(crate) fn unigram_hash(a: char) -> u64 {
    crate::simhash::mix(a as u64 ^ UNIGRAM_SEED)
}

/// The key hash of a bigram feature, from its two characters (cheaper than hashing bytes).
#[inline]
pub(crate) fn bigram_hash(a: char, b: char) -> u64 {
    crate::simhash::mix(((a as u64) << 21 | b as u64) ^ BIGRAM_SEED)
}

/// The key hash of a trigram feature, from its three characters.
#[inline]
pub(crate) fn trigram_hash(a: char, b: char, c: char) -> u64 {
    crate::simhash::mix(((a as u64) << 42 | (b as u64) << 21 | c as u64) ^ TRIGRAM_SEED)
}

/// Characters that open a negation scope: the n-grams after one, to the end of its ideograph
/// run, are negated features (`c:!满意` in `很不满意`) when the model has them (`neg`).
pub(crate) const NEGATORS: [char; 4] = ['不', '没', '无', '未'];

/// The key hash of a negated feature, from its plain hash.
#[inline]
pub(crate) fn negated_hash(hash: u64) -> u64 {
    crate::simhash::mix(hash ^ NEGATED_SEED)
}

const NEGATED_SEED: u64 = 0x85eb_ca77_c2b2_ae63;

/// The key hash of an ASCII run: its bytes lowercased, eight at a time (on the stack),
/// finalized. The same function hashes file keys at load and text at analysis.
#[inline]
pub(crate) fn ascii_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = ASCII_SEED ^ bytes.len() as u64;
    for c in bytes.chunks(8) {
        let mut b = [0u8; 8];
        b[..c.len()].copy_from_slice(c);
        b.make_ascii_lowercase();
        h = (h.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
    }
    crate::simhash::mix(h)
}

/// Every feature occurrence of one normalized field, of every kind, in text order (by where
/// it ends): `f(kind, negated, start, end, hash)` with the byte range of the feature text, its
/// key hash, and whether it starts after a negation character ([`NEGATORS`]) of its ideograph
/// run. Callers keep the kinds their model counts ([`SentimentModel::counts`]) and look the
/// occurrence up by [`SentimentModel::key_of`].
pub(crate) fn for_each_feature(text: &str, mut f: impl FnMut(Kind, bool, usize, usize, u64)) {
    fn ascii(text: &str, s: usize, e: usize, f: &mut impl FnMut(Kind, bool, usize, usize, u64)) {
        let run = &text.as_bytes()[s..e];
        if !run.iter().all(u8::is_ascii_digit) {
            f(Kind::Ascii, false, s, e, ascii_hash(run));
        }
    }
    // The two previous ideographs of the current run (nearest first) and where they start.
    let mut p1: Option<(usize, char)> = None;
    let mut p2: Option<(usize, char)> = None;
    // Where the last negation character of the current run starts.
    let mut negation: Option<usize> = None;
    let mut run_start: Option<usize> = None; // of the current ASCII alphanumeric run
    for (i, c) in text.char_indices() {
        if c.is_ascii_alphanumeric() {
            run_start.get_or_insert(i);
            (p1, p2, negation) = (None, None, None);
            continue;
        }
        if let Some(s) = run_start.take() {
            ascii(text, s, i, &mut f);
        }
        if is_ideograph(c) {
            let e = i + c.len_utf8();
            let after = |start: usize| negation.is_some_and(|n| start > n);
            f(Kind::Unigram, after(i), i, e, unigram_hash(c));
            if let Some((p, pc)) = p1 {
                f(Kind::Bigram, after(p), p, e, bigram_hash(pc, c));
                if let Some((q, qc)) = p2 {
                    f(Kind::Trigram, after(q), q, e, trigram_hash(qc, pc, c));
                }
            }
            p2 = p1;
            p1 = Some((i, c));
            if NEGATORS.contains(&c) {
                negation = Some(i);
            }
        } else {
            (p1, p2, negation) = (None, None, None);
        }
    }
    if let Some(s) = run_start {
        ascii(text, s, text.len(), &mut f);
    }
}

/// The feature keys (`u:…`, `c:…`, `t:…`, `a:…`) of a field, every kind, in text order: what
/// the trainer counts (it keeps the kinds it trains).
pub(crate) fn feature_keys(text: &str, out: &mut Vec<String>) {
    for_each_feature(text, |kind, negated, s, e, _| {
        let mark = if negated { "!" } else { "" };
        out.push(format!(
            "{}:{mark}{}",
            kind.letter(),
            text[s..e].to_ascii_lowercase()
        ));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_table_finds_every_key_and_nothing_else() {
        let keys: Vec<u64> = (0..30_000u64).map(crate::simhash::mix).collect();
        let mut table = WeightTable::with_capacity(keys.len());
        assert!(4 * keys.len() <= 3 * table.slots.len());
        for (i, &k) in keys.iter().enumerate() {
            assert!(table.insert(k, i as f32));
        }
        assert!(!table.insert(keys[7], 1.0), "a key twice is refused");
        assert_eq!(table.len, keys.len());
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(table.get(k).map(|(_, w)| w), Some(i as f32));
        }
        let absent = (30_000..60_000u64)
            .map(crate::simhash::mix)
            .filter(|&k| table.get(k).is_some())
            .count();
        assert_eq!(absent, 0);
        // A tag of zero is stored as 1, and still found.
        let mut small = WeightTable::with_capacity(2);
        assert!(small.insert(5, 2.5));
        assert_eq!(small.get(5).map(|(_, w)| w), Some(2.5));
        assert_eq!(small.get(6), None);
    }

    fn keys(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        feature_keys(text, &mut out);
        out
    }

    #[test]
    fn features_are_ideograph_ngrams_and_ascii_runs() {
        assert_eq!(
            keys("送餐太慢，APP 123卡x2"),
            [
                "u:送",
                "u:餐",
                "c:送餐",
                "u:太",
                "c:餐太",
                "t:送餐太",
                "u:慢",
                "c:太慢",
                "t:餐太慢",
                "a:app",
                "u:卡",
                "a:x2",
            ]
        );
        // After a negation character, to the end of its run, n-grams are negated.
        assert_eq!(
            keys("很不满意，好"),
            [
                "u:很",
                "u:不",
                "c:很不",
                "u:!满",
                "c:不满",
                "t:很不满",
                "u:!意",
                "c:!满意",
                "t:不满意",
                "u:好",
            ]
        );
        // Every kind, with the byte range of its text and the hash analysis looks up.
        let text = "Ok不好";
        let mut seen = Vec::new();
        for_each_feature(text, |kind, negated, s, e, h| {
            seen.push((kind, negated, &text[s..e], h))
        });
        assert_eq!(
            seen,
            [
                (Kind::Ascii, false, "Ok", ascii_hash(b"ok")),
                (Kind::Unigram, false, "不", unigram_hash('不')),
                (Kind::Unigram, true, "好", unigram_hash('好')),
                (Kind::Bigram, false, "不好", bigram_hash('不', '好')),
            ]
        );
        assert!(keys("，。! 2024 3.45%").is_empty());
        let hashes = [
            unigram_hash('好'),
            bigram_hash('好', '好'),
            trigram_hash('好', '好', '好'),
            ascii_hash(b"hao"),
        ];
        for (i, a) in hashes.iter().enumerate() {
            assert!(hashes[i + 1..].iter().all(|b| a != b));
        }
    }

    const HEAD: &str = "@format\tyuqing-sentiment-lr/2\n@norm\tsqrt-binary\n@features\tu c t a\n";

    #[test]
    fn parse_validates_and_hashes_like_the_text() {
        let m = SentimentModel::parse(
            &format!("# header\n{HEAD}u:差\t-0.5\nc:太慢\t-1.25\nt:不满意\t-2\na:APP\t0.1\n"),
            Path::new("m.tsv"),
        )
        .unwrap();
        assert_eq!(m.len(), 4);
        let mut found = Vec::new();
        for_each_feature("差，太慢！不满意app", |_, negated, _, _, h| {
            found.extend(m.weight(m.key_of(negated, h)));
        });
        assert_eq!(found, [-0.5, -1.25, -2.0, 0.1]);
        assert_eq!(m.weight(bigram_hash('满', '意')), None);
        assert!(Kind::ALL.iter().all(|&k| m.counts(k)));
        // Negated n-grams: their own keys when the model has `neg`, the plain ones otherwise.
        let neg = SentimentModel::parse(
            "@format\tyuqing-sentiment-lr/2\n@norm\tmean-binary\n@features\tc neg\n\
             c:满意\t3\nc:!满意\t-4\n",
            Path::new("m.tsv"),
        )
        .unwrap();
        let weights = |m: &SentimentModel, text: &str| {
            let mut out = Vec::new();
            for_each_feature(text, |_, negated, _, _, h| {
                out.extend(m.weight(m.key_of(negated, h)))
            });
            out
        };
        assert_eq!(weights(&neg, "满意，不满意"), [3.0, -4.0]);
        let plain = SentimentModel::parse(
            "@format\tyuqing-sentiment-lr/2\n@norm\tmean-binary\n@features\tc\nc:满意\t3\n",
            Path::new("m.tsv"),
        )
        .unwrap();
        assert_eq!(weights(&plain, "满意，不满意"), [3.0, 3.0]);
        let only = SentimentModel::parse(
            "@format\tyuqing-sentiment-lr/2\n@norm\tmean-binary\n@features\tc\nc:太慢\t1\n",
            Path::new("m.tsv"),
        )
        .unwrap();
        assert!(only.counts(Kind::Bigram) && !only.counts(Kind::Unigram));
        for (bad, what) in [
            ("@norm\tmean-binary\n@features\tc\nc:太慢\t1\n", "@format"),
            ("@format\tyuqing-sentiment-lr/1\n", "unknown format"),
            ("@format\tyuqing-sentiment-lr/2\n@features\tc\n", "@norm"),
            (
                "@format\tyuqing-sentiment-lr/2\n@norm\tmean-binary\n",
                "@features",
            ),
            (
                "@format\tyuqing-sentiment-lr/2\n@norm\tcube\n",
                "unknown norm",
            ),
            (
                "@format\tyuqing-sentiment-lr/2\n@features\tu w\n",
                "unknown feature kind",
            ),
            (&format!("{HEAD}c:!满意\t1\n"), "has no `neg`"),
            (
                "@format\tyuqing-sentiment-lr/2\nc:太慢\t1\n",
                "before the keys",
            ),
            (
                "@format\tyuqing-sentiment-lr/2\n@features\tu\nc:太慢\t1\n",
                "not in `@features`",
            ),
            (&format!("{HEAD}w:满意\t1\n"), "must start"),
            (&format!("{HEAD}c:太\t1\n"), "two and three"),
            (&format!("{HEAD}t:ab\t1\n"), "two and three"),
            (&format!("{HEAD}u:a\t1\n"), "two and three"),
            (&format!("{HEAD}a:12\t1\n"), "not only digits"),
            (&format!("{HEAD}a:a-b\t1\n"), "ASCII letters"),
            (&format!("{HEAD}c:太慢\tNaN\n"), "finite"),
            (&format!("{HEAD}a:app\t1\na:APP\t2\n"), "twice"),
            (&format!("{HEAD}c:太慢 1\n"), "key<TAB>value"),
        ] {
            let e = SentimentModel::parse(bad, Path::new("m.tsv")).unwrap_err();
            assert!(e.to_string().contains(what), "{bad:?}: {e}");
        }
    }
}
