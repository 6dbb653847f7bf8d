//! SimHash (64-bit) over character shingles of the normalized text, for near-duplicate
//! clustering.
//!
//! Features are the overlapping two-character shingles of every run of word characters
//! (ideographs, letters and digits; punctuation and whitespace end a run, a lone character is
//! no feature), ASCII lowercased, each weighted 1 and hashed from its characters with a
//! SplitMix64 finalizer. No segmentation is needed, so the fingerprint does not depend on the
//! dictionary. Reposts with small edits (a changed headline word, an added source line) change
//! a few shingles and so a few bits; different stories differ in about half the bits. The
//! store clusters documents within [`NEAR_DUPLICATE_BITS`].

use crate::segment::is_word_char;

/// A body with at least this many shingles (about as many characters) is hashed without the
/// title (reposts often change the headline); a shorter one is hashed with it.
pub const BODY_ONLY_MIN_SHINGLES: usize = 100;

/// Largest Hamming distance at which two documents are near-duplicates.
pub const NEAR_DUPLICATE_BITS: u32 = 3;

/// The running sums of a SimHash: per bit, how many features have it set, kept bit-sliced
/// (plane `k` holds bit `k` of all 64 counts), so adding a feature is a carry through a few
/// words instead of 64 additions.
pub(crate) struct SimHasher {
    planes: [u64; 32],
    features: usize,
    /// Word characters seen by [`SimHasher::add_text`].
    word_chars: usize,
}

impl SimHasher {
    pub(crate) fn new() -> SimHasher {
        SimHasher {
            planes: [0; 32],
            features: 0,
            word_chars: 0,
        }
    }

    /// Features added so far.
    pub(crate) fn features(&self) -> usize {
        self.features
    }

    /// Add the shingles of one text.
    pub(crate) fn add_text(&mut self, text: &str) {
        // The previous word character of the current run, if any.
        let mut prev: Option<u32> = None;
        for c in text.chars() {
            if is_word_char(c) {
                self.word_chars += 1;
                let c = c.to_ascii_lowercase() as u32;
                if let Some(p) = prev {
                    self.add(shingle(p, c));
                }
                prev = Some(c);
            } else {
                prev = None;
            }
        }
    }

    #[inline]
    fn add(&mut self, feature: u64) {
        self.features += 1;
        let mut carry = feature;
        for plane in &mut self.planes {
            let next = *plane & carry;
            *plane ^= carry;
            carry = next;
            if carry == 0 {
                break;
            }
        }
    }

    /// The fingerprint: a bit is set when more than half the features have it set; 0 when no
    /// feature was added, never 0 otherwise.
    pub(crate) fn finish(&self) -> u64 {
        if self.features == 0 {
            return 0;
        }
        // Planes above the bit length of the feature count are zero.
        let used = (usize::BITS - self.features.leading_zeros()) as usize;
        let mut out = 0u64;
        for bit in 0..64 {
            let set: u64 = self.planes[..used]
                .iter()
                .enumerate()
                .map(|(k, plane)| (plane >> bit & 1) << k)
                .sum();
            if 2 * set > self.features as u64 {
                out |= 1 << bit;
            }
        }
        // A document whose bits all cancel would read as "no hash": keep it distinct from empty.
        if out == 0 { 1 } else { out }
    }
}

/// The hash of the shingle of characters `a b`.
#[inline]
fn shingle(a: u32, b: u32) -> u64 {
    mix((u64::from(a) << 21 | u64::from(b)) ^ 0x5349_4d48_4153_4821)
}

/// SimHash of a document: the body alone when it has at least [`BODY_ONLY_MIN_SHINGLES`]
/// shingles, else title and body together; 0 when there is no feature. Also the number of
/// word characters of title and body (the body's counted on the same pass).
pub(crate) fn document(title: &str, body: &str) -> (u64, usize) {
    let mut h = SimHasher::new();
    h.add_text(body);
    if h.features() < BODY_ONLY_MIN_SHINGLES {
        h.add_text(title);
    } else {
        h.word_chars += title.chars().filter(|&c| is_word_char(c)).count();
    }
    (h.finish(), h.word_chars)
}

/// Number of differing bits.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(text: &str) -> u64 {
        let mut h = SimHasher::new();
        h.add_text(text);
        h.finish()
    }

    #[test]
    fn shingles_of_word_character_runs() {
        assert_eq!(hash(""), 0);
        assert_eq!(hash("的，了。"), 0, "lone characters are no feature");
        let mut h = SimHasher::new();
        h.add_text("恒信暴力催收，APP");
        // 恒信 信暴 暴力 力催 催收 | ap pp
        assert_eq!(h.features(), 7);
        assert_ne!(h.finish(), 0);
        assert_eq!(hash("恒信，催收"), hash("催收。恒信"), "a bag of shingles");
        assert_ne!(hash("恒信暴力催收"), hash("恒信暴力投诉"));
        assert_eq!(hash("APP"), hash("app"), "ASCII case does not matter");
    }

    #[test]
    fn bits_follow_the_majority_of_features() {
        let mut h = SimHasher::new();
        for f in [0b1011u64, 0b0011, 0b0110, 0b0001, 0b1000_0000_0001] {
            h.add(f);
        }
        // bit 0: 4 of 5, bit 1: 3 of 5, bit 2: 1, bit 3: 1, bit 11: 1.
        assert_eq!(h.finish(), 0b0011);
        let mut h = SimHasher::new();
        for _ in 0..70_000 {
            h.add(u64::MAX);
        }
        h.add(0);
        assert_eq!(h.finish(), u64::MAX, "counts beyond 16 bits carry on");
        let mut h = SimHasher::new();
        h.add(0b01);
        h.add(0b10);
        assert_eq!(h.finish(), 1, "all bits cancelled is not the empty hash");
    }

    #[test]
    fn a_long_body_is_hashed_without_its_title() {
        let body = "消费金融公司暴力催收问题引发关注，多名借款人反映遭到电话轰炸。".repeat(5);
        assert_eq!(
            document("标题一", &body).0,
            document("完全不同的标题", &body).0
        );
        assert_ne!(
            document("标题一", "短正文").0,
            document("完全不同的标题", "短正文").0
        );
    }

    #[test]
    fn the_word_characters_of_both_fields_are_counted_either_way() {
        let count = |t: &str| t.chars().filter(|&c| is_word_char(c)).count();
        let long = "消费金融公司暴力催收问题引发关注，多名借款人反映遭到电话轰炸。".repeat(5);
        for (title, body) in [
            ("恒信APP，很差！", long.as_str()),
            ("恒信APP，很差！", "短正文 ok"),
        ] {
            assert_eq!(document(title, body).1, count(title) + count(body));
        }
    }
}
