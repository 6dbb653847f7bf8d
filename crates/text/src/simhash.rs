//! SimHash (64-bit) over the words of the normalized text, for near-duplicate clustering.
//!
//! Features are overlapping word bigrams (jieba words that carry meaning, punctuation and
//! whitespace skipped, title and body as one sequence), each weighted 1 and hashed with FNV-1a
//! then a SplitMix64 finalizer. Reposts with small edits (a changed headline word, an added
//! source line) change a few bigrams and so a few bits; different stories differ in about half
//! the bits. The store clusters documents within [`NEAR_DUPLICATE_BITS`].

/// A body with at least this many words of two or more characters is hashed without the title
/// (reposts often change the headline); a shorter one is hashed with it.
pub const BODY_ONLY_MIN_WORDS: usize = 40;

/// Largest Hamming distance at which two documents are near-duplicates.
pub const NEAR_DUPLICATE_BITS: u32 = 3;

/// SimHash of a sequence of words; 0 when there are none.
pub(crate) fn simhash<'a>(words: impl Iterator<Item = &'a str>) -> u64 {
    // A feature occurring n times adds ±n to each bit: the same as ±1 per occurrence.
    let mut counts = [0i32; 64];
    let mut any = false;
    let table = sign_table();
    for w in words.filter(|w| w.chars().nth(1).is_some()) {
        // single characters: mostly function words
        any = true;
        let feature = mix(fnv1a(w.as_bytes()));
        // +1 for a set bit, -1 for a clear one: eight bits at a time from a table.
        for (byte, lanes) in counts.chunks_exact_mut(8).enumerate() {
            let signs = &table[(feature >> (8 * byte)) as u8 as usize];
            for (c, s) in lanes.iter_mut().zip(signs) {
                *c += s;
            }
        }
    }
    if !any {
        return 0;
    }
    let mut out = 0u64;
    for (bit, c) in counts.iter().enumerate() {
        if *c > 0 {
            out |= 1 << bit;
        }
    }
    // A document whose bits all cancel would read as "no hash": keep it distinct from empty.
    if out == 0 { 1 } else { out }
}

/// For each byte value, the ±1 of each of its eight bits (least significant first).
fn sign_table() -> &'static [[i32; 8]; 256] {
    static TABLE: std::sync::OnceLock<[[i32; 8]; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [[0i32; 8]; 256];
        for (b, row) in t.iter_mut().enumerate() {
            for (bit, v) in row.iter_mut().enumerate() {
                *v = if b >> bit & 1 == 1 { 1 } else { -1 };
            }
        }
        t
    })
}

/// Number of differing bits.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_zero_and_words_are_a_bag() {
        assert_eq!(simhash(std::iter::empty()), 0);
        assert_eq!(simhash(["的", "了"].into_iter()), 0);
        let a = simhash(["恒信", "暴力", "催收"].into_iter());
        let b = simhash(["恒信", "暴力", "投诉"].into_iter());
        assert_ne!(a, 0);
        assert_ne!(a, b);
        assert_eq!(
            a,
            simhash(["催收", "暴力", "恒信"].into_iter()),
            "a bag of words"
        );
    }
}
