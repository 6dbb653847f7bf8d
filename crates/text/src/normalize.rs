//! Text normalization: the first step of analysis, and what every offset refers to.

use unicode_normalization::UnicodeNormalization;

/// Full-width punctuation that NFKC would fold to ASCII but that we keep, because it is the
/// native clause punctuation of Chinese text: `，！？；：（）`.
pub const KEPT_FULLWIDTH: [char; 7] = ['，', '！', '？', '；', '：', '（', '）'];

/// Normalize text for analysis and indexing; what every offset refers to.
///
/// Decisions (each is tested in this module):
///
/// * **NFKC, except Chinese clause punctuation.** NFKC folds full-width letters, digits and
///   ASCII-like symbols to half-width (`ＡＢＣ１２３＠` → `ABC123@`), halfwidth katakana and
///   compatibility ideographs to their ordinary forms, and Kangxi radicals (a common filter
///   evasion, `⾦融`) to ideographs. It would also turn `，！？；：（）` into ASCII, which reads
///   badly in Chinese evidence snippets, so those seven are kept as they are (see
///   [`KEPT_FULLWIDTH`]). `。、「」《》“”` are not touched by NFKC at all. Sentence and clause
///   splitting downstream therefore accepts both the CJK and the ASCII forms.
/// * **Invisible characters are removed** (zero-width space/joiners, BOM, word joiner, soft
///   hyphen, bidi controls) before NFKC, so the result is idempotent. Removing U+200D also
///   splits emoji ZWJ sequences into their parts; that only changes how they display.
/// * **Whitespace collapses.** Every run of whitespace (ASCII, U+3000, NBSP, line breaks) and of
///   other control characters becomes one ASCII space; the ends are trimmed. Line structure is
///   not kept: clause splitting treats a space as a boundary instead.
/// * Traditional → simplified conversion is not done in v1.
///
/// Deterministic and idempotent: `normalize(&normalize(s)) == normalize(s)`.
///
/// ```
/// assert_eq!(yuqing_text::normalize("  恒信ＡＰＰ\u{200B}　很差，１２３！ "), "恒信APP 很差，123！");
/// ```
pub fn normalize(text: &str) -> String {
    // Pass 1: drop invisibles, turn controls into spaces.
    let cleaned: String = text
        .chars()
        .filter(|&c| !is_invisible(c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();

    // Pass 2: NFKC over the runs between kept full-width punctuation.
    let mut folded = String::with_capacity(cleaned.len());
    let mut run_start = 0;
    for (i, c) in cleaned.char_indices() {
        if KEPT_FULLWIDTH.contains(&c) {
            folded.extend(cleaned[run_start..i].nfkc());
            folded.push(c);
            run_start = i + c.len_utf8();
        }
    }
    folded.extend(cleaned[run_start..].nfkc());

    // Pass 3: collapse whitespace runs to one space and trim.
    let mut out = String::with_capacity(folded.len());
    let mut pending_space = false;
    for c in folded.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Characters with no visible form that only get in the way of matching.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' // soft hyphen
            | '\u{180E}' // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}' // zero-width space, ZWNJ, ZWJ, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}' // BOM / zero-width no-break space
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_fullwidth_ascii_letters_digits_and_symbols() {
        assert_eq!(normalize("ＡＢＣｘｙｚ０１２３"), "ABCxyz0123");
        assert_eq!(normalize("＠＃％＆＋－／＝"), "@#%&+-/=");
        assert_eq!(normalize("年化３６％"), "年化36%");
    }

    #[test]
    fn keeps_chinese_clause_punctuation() {
        let s = "恒信消金暴力催收，太过分了！为什么？原因：不明；（待查）。顿号、书名号《》";
        assert_eq!(normalize(s), s);
    }

    #[test]
    fn removes_invisible_characters() {
        assert_eq!(
            normalize("恒\u{200B}信\u{200C}消\u{200D}金\u{FEFF}"),
            "恒信消金"
        );
        assert_eq!(normalize("暴力\u{2060}催\u{00AD}收"), "暴力催收");
        assert_eq!(normalize("\u{FEFF}标题"), "标题");
    }

    #[test]
    fn collapses_whitespace_of_every_kind() {
        assert_eq!(
            normalize("  恒信\u{3000}\u{3000}消金 \u{00A0}\n\t 投诉  "),
            "恒信 消金 投诉"
        );
        assert_eq!(normalize("a\r\n\r\nb"), "a b");
        assert_eq!(normalize("a\u{0000}b"), "a b");
        assert_eq!(normalize(" \u{3000}\u{200B} "), "");
    }

    #[test]
    fn folds_compatibility_ideographs_and_radicals() {
        // U+2FA6 KANGXI RADICAL GOLD → 金; U+F900 → 豈.
        assert_eq!(normalize("\u{2FA6}融"), "金融");
        assert_eq!(normalize("\u{F900}"), "\u{8C48}");
    }

    #[test]
    fn is_idempotent() {
        let samples = [
            "  恒信ＡＰＰ\u{200B}　很差，１２３！ ",
            "e\u{200B}\u{0301}",
            "① ™ ℃ … ｡ ﹐ ｶﾀｶﾅ",
            "👨\u{200D}👩\u{200D}👧 好",
            "\u{0301}  x",
        ];
        for s in samples {
            let once = normalize(s);
            assert_eq!(normalize(&once), once, "input {s:?}");
        }
    }
}
