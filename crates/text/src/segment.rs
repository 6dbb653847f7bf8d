//! Segmentation: building the one [`Jieba`] instance and cutting text into words.

use std::path::Path;

use jieba_rs::Jieba;

use crate::error::TextError;

/// Build a jieba instance from the embedded default dictionary plus every user dictionary, in
/// order (a later file overrides an earlier frequency), then make sure every `extra_word` (the
/// entity aliases) is a dictionary word.
///
/// User dictionary format, one entry a line: `word [freq] [tag]`. Blank lines and lines whose
/// first non-blank character is `#` are skipped (plain jieba would load `#` as a word). A
/// missing frequency means "just enough to keep the word whole" (jieba's `suggest_freq`).
pub(crate) fn build_jieba(
    user_dicts: &[impl AsRef<Path>],
    extra_words: &[&str],
) -> Result<Jieba, TextError> {
    let mut jieba = Jieba::new();
    for path in user_dicts {
        load_user_dict(&mut jieba, path.as_ref())?;
    }
    for word in extra_words {
        if !word.is_empty() && !jieba.has_word(word) {
            jieba.add_word(word, None, None);
        }
    }
    Ok(jieba)
}

fn load_user_dict(jieba: &mut Jieba, path: &Path) -> Result<(), TextError> {
    let text = crate::error::read_file(path)?;
    let entries = parse_user_dict(&text).map_err(|(line, reason)| TextError::Dict {
        path: path.to_path_buf(),
        line,
        reason,
    })?;
    for (entry, _line) in entries {
        jieba.add_word(entry.word, entry.freq, entry.tag);
    }
    Ok(())
}

/// One parsed user-dictionary line.
#[derive(Debug, PartialEq)]
pub(crate) struct DictEntry<'a> {
    pub word: &'a str,
    pub freq: Option<usize>,
    pub tag: Option<&'a str>,
}

/// Parse a user dictionary; on error, the 1-based line number and the reason.
pub(crate) fn parse_user_dict(text: &str) -> Result<Vec<(DictEntry<'_>, usize)>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let Some(word) = fields.next() else { continue };
        let freq = match fields.next() {
            None => None,
            Some(f) => match f.parse::<usize>() {
                Ok(0) => return Err((line_no, format!("frequency of `{word}` must be positive"))),
                Ok(n) => Some(n),
                Err(_) => {
                    return Err((
                        line_no,
                        format!("frequency `{f}` of `{word}` is not a positive integer"),
                    ));
                }
            },
        };
        let tag = fields.next();
        if let Some(extra) = fields.next() {
            return Err((
                line_no,
                format!("unexpected `{extra}`: expected `word [freq] [tag]`"),
            ));
        }
        out.push((DictEntry { word, freq, tag }, line_no));
    }
    Ok(out)
}

/// A jieba token of a text: the word and its byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
    /// [`is_word`] of `text`, computed once.
    pub meaningful: bool,
}

/// Cut `text` in jieba's default mode with HMM; every byte of `text` is covered by exactly one
/// token, in order (whitespace and punctuation included).
pub(crate) fn cut<'a>(jieba: &Jieba, text: &'a str) -> Vec<Word<'a>> {
    jieba
        .cut(text, true)
        .into_iter()
        .map(|t| Word {
            text: t.word,
            start: t.byte_start,
            end: t.byte_end,
            meaningful: is_word(t.word),
        })
        .collect()
}

/// Whether `c` ends a clause for [`cut_clauses`]: whitespace and the clause punctuation that
/// sentiment treats as a boundary, except `.` (jieba keeps it inside `3.5` and `a.b`). None of
/// these is a character jieba joins into a block, so jieba's cut of a clause alone is its cut
/// of that clause inside the whole text.
#[inline]
pub(crate) fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '，' | '。' | '！' | '？' | '；' | '：' | ',' | '!' | '?' | ';' | ':' | '…' | '、'
        )
}

/// jieba's cut of `text` ([`cut`]) restricted to what analysis reads: the words of every
/// clause (a maximal run of characters that are not [`is_separator`]) whose byte range
/// `wanted(start, end)` accepts, and the token of every separator character. Other clauses
/// yield no token. Each word is exactly the word [`cut`] gives at that place, since jieba
/// segments between separators independently; the words are in text order.
pub(crate) fn cut_clauses<'a>(
    jieba: &Jieba,
    text: &'a str,
    mut wanted: impl FnMut(usize, usize) -> bool,
) -> Vec<Word<'a>> {
    let mut out = Vec::new();
    let mut clause_start = 0;
    let mut push_clause = |out: &mut Vec<Word<'a>>, start: usize, end: usize| {
        if start < end && wanted(start, end) {
            out.extend(cut(jieba, &text[start..end]).into_iter().map(|w| Word {
                start: w.start + start,
                end: w.end + start,
                ..w
            }));
        }
    };
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !is_separator(c) {
            continue;
        }
        push_clause(&mut out, clause_start, i);
        // jieba's token for a separator: the character, or `\r\n` together.
        let mut end = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
            chars.next();
            end += 1;
        }
        out.push(Word {
            text: &text[i..end],
            start: i,
            end,
            meaningful: false,
        });
        clause_start = end;
    }
    push_clause(&mut out, clause_start, text.len());
    out
}

/// Whether a token carries meaning: it contains a letter, digit or ideograph, or an emoji.
/// Tokens of only whitespace, punctuation or other symbols are not words.
pub(crate) fn is_word(token: &str) -> bool {
    token.chars().any(is_word_char)
}

/// First and last character of the CJK Unified Ideographs block (U+4E00–U+9FFF): the Chinese
/// characters every stage treats as such (model n-grams, word characters, normalization's
/// fast paths).
pub(crate) const IDEOGRAPH_FIRST: char = '\u{4E00}';
/// See [`IDEOGRAPH_FIRST`].
pub(crate) const IDEOGRAPH_LAST: char = '\u{9FFF}';

/// Whether `c` is in the CJK Unified Ideographs block.
#[inline]
pub(crate) fn is_ideograph(c: char) -> bool {
    (IDEOGRAPH_FIRST..=IDEOGRAPH_LAST).contains(&c)
}

#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    if is_ideograph(c) {
        return true;
    }
    // The commonest Chinese punctuation, answered without the Unicode tables.
    if matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '？'
            | '！'
            | '“'
            | '”'
            | '‘'
            | '’'
            | '（'
            | '）'
            | '《'
            | '》'
            | '【'
            | '】'
            | '…'
            | '—'
            | '·'
            | '\u{3000}'
    ) {
        return false;
    }
    c.is_alphanumeric() || is_emoji(c)
}

/// Pictographic characters worth indexing (a rough, dependency-free approximation of
/// `Extended_Pictographic`).
fn is_emoji(c: char) -> bool {
    matches!(
        c,
        '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{2B00}'..='\u{2BFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clause_cuts_are_the_whole_cut_where_asked() {
        let jieba = Jieba::new();
        let text = "利率3.5%，服务很差。“客服”态度\r\n不错! ok…a.b 好";
        let whole = cut(&jieba, text);
        assert_eq!(cut_clauses(&jieba, text, |_, _| true), whole);
        let show = |words: &[Word<'_>]| -> Vec<String> {
            words.iter().map(|w| w.text.to_string()).collect()
        };
        // Only the clause holding 差 (bytes of "服务很差") is cut; every separator is kept.
        let at = text.find("差").unwrap();
        let part = cut_clauses(&jieba, text, |s, e| s <= at && at < e);
        let expected: Vec<String> = whole
            .iter()
            .filter(|w| {
                let clause = text.find("服务").unwrap()..text.find("。").unwrap();
                clause.contains(&w.start) || w.text.chars().all(is_separator)
            })
            .map(|w| w.text.to_string())
            .collect();
        assert_eq!(show(&part), expected);
        assert_eq!(
            show(&part),
            ["，", "服务", "很差", "。", "\r\n", "!", " ", "…", " "]
        );
        assert!(cut_clauses(&jieba, "", |_, _| true).is_empty());
    }

    #[test]
    fn parses_user_dict_lines() {
        let text = "# comment\n\n恒信消金 50000 nt\n随心花 2000\n恒易借\n";
        let entries = parse_user_dict(text).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[0].0,
            DictEntry {
                word: "恒信消金",
                freq: Some(50000),
                tag: Some("nt")
            }
        );
        assert_eq!(entries[0].1, 3);
        assert_eq!(entries[2].0.freq, None);
    }

    #[test]
    fn rejects_bad_user_dict_lines_with_line_numbers() {
        let err = parse_user_dict("好词 10\n坏词 ten\n").unwrap_err();
        assert_eq!(err.0, 2);
        assert!(err.1.contains("ten"), "{}", err.1);
        let err = parse_user_dict("词 1 n extra\n").unwrap_err();
        assert_eq!(err.0, 1);
        let err = parse_user_dict("词 0\n").unwrap_err();
        assert!(err.1.contains("positive"), "{}", err.1);
    }

    #[test]
    fn words_exclude_punctuation_and_whitespace() {
        for w in ["恒信", "APP", "12", "😡", "a-b"] {
            assert!(is_word(w), "{w}");
        }
        for w in [" ", "，", "。", "!?", "……", "《", "%", "$"] {
            assert!(!is_word(w), "{w}");
        }
    }
}
