//! Turning fetched bytes into text: HTTP header → BOM → in-document declaration (XML
//! declaration or HTML meta prescan), each validated against the bytes, then a detector
//! (chardetng on a bounded prefix) when nothing usable is declared. Decoding is encoding_rs
//! (WHATWG), so `gb2312`/`gbk` labels decode as GBK/GB18030.

use encoding_rs::{Encoding, UTF_8};

/// How much of the document the in-document declaration is looked for in.
const PRESCAN_BYTES: usize = 4096;
/// How much of the document the detector reads.
const DETECT_BYTES: usize = 8192;

/// Where the charset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    /// A byte-order mark.
    Bom,
    /// The `Content-Type` header.
    Header,
    /// The XML declaration or an HTML meta tag.
    Document,
    /// chardetng's guess.
    Detected,
}

/// Decoded text and how it was decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// The encoding used.
    pub encoding: &'static Encoding,
    /// Where the encoding came from.
    pub source: CharsetSource,
    /// Whether malformed sequences were replaced with U+FFFD.
    pub had_errors: bool,
}

/// The `charset` parameter of a `Content-Type` value.
pub fn header_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(v.trim().trim_matches(|c| c == '"' || c == '\'').as_bytes())
        } else {
            None
        }
    })
}

/// The encoding named by an XML declaration (`<?xml … encoding="…"?>`) or an HTML
/// `<meta charset>` / `<meta http-equiv content="…charset=…">` in the first bytes.
pub fn document_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(PRESCAN_BYTES)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<?xml") {
        let end = find(&lower, b"?>").unwrap_or(lower.len());
        if let Some(p) = find(&lower[..end], b"encoding") {
            return quoted_label(&head[p + 8..end]);
        }
    }
    let mut from = 0;
    while let Some(p) = find(&lower[from..], b"<meta") {
        let start = from + p;
        let end = start + find(&lower[start..], b">").unwrap_or(lower.len() - start);
        let tag = &lower[start..end];
        if let Some(c) = find(tag, b"charset") {
            let rest = &head[start + c + 7..end];
            if let Some(enc) = quoted_label(rest) {
                return Some(enc);
            }
        }
        from = end;
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The label after `=` (quoted or not) in `rest`.
fn quoted_label(rest: &[u8]) -> Option<&'static Encoding> {
    let eq = rest.iter().position(|&b| b == b'=')?;
    let v = &rest[eq + 1..];
    let v = v
        .iter()
        .skip_while(|b| b.is_ascii_whitespace() || **b == b'"' || **b == b'\'');
    let label: Vec<u8> = v
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
        .copied()
        .collect();
    Encoding::for_label(&label)
}

/// Non-ASCII characters a valid UTF-8 body needs before it overrides a declared legacy
/// charset: legacy Chinese text that is also valid UTF-8 does not run this long by chance.
const UTF8_EVIDENCE_CHARS: usize = 4;

/// Whether `bytes` really are in `enc` (checked on the whole body; cheap next to parsing).
/// Most UTF-8 Chinese also decodes as GBK without error, so a legacy declaration does not fit
/// bytes that are valid UTF-8 with enough non-ASCII text to be sure.
fn fits(enc: &'static Encoding, bytes: &[u8]) -> bool {
    if enc == UTF_8 {
        return std::str::from_utf8(bytes).is_ok();
    }
    if let Ok(s) = std::str::from_utf8(bytes)
        && s.chars()
            .filter(|c| !c.is_ascii())
            .nth(UTF8_EVIDENCE_CHARS - 1)
            .is_some()
    {
        return false;
    }
    enc.decode_without_bom_handling_and_without_replacement(bytes)
        .is_some()
}

/// Guess with chardetng over a bounded prefix; `tld` (e.g. `cn`) sharpens the guess.
pub fn detect(bytes: &[u8], tld: Option<&str>) -> &'static Encoding {
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let prefix = &bytes[..bytes.len().min(DETECT_BYTES)];
    det.feed(prefix, prefix.len() == bytes.len());
    det.guess(tld.map(str::as_bytes), chardetng::Utf8Detection::Allow)
}

/// UTF-16 without a byte-order mark, recognised the way XML 1.0 (appendix F) does: the
/// document starts with `<` then `?` or a letter, each as two bytes with a zero half. (Such
/// bytes are valid UTF-8 full of NULs, so the UTF-8 check would otherwise accept them.)
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    match bytes {
        [0, b'<', 0, c, ..] if c.is_ascii_alphabetic() || *c == b'?' || *c == b'!' => {
            Some(encoding_rs::UTF_16BE)
        }
        [b'<', 0, c, 0, ..] if c.is_ascii_alphabetic() || *c == b'?' || *c == b'!' => {
            Some(encoding_rs::UTF_16LE)
        }
        _ => None,
    }
}

/// Decode `bytes` to text. A declared charset is used only when the bytes fit it; otherwise
/// (and when none is declared) UTF-8 is tried, then the detector decides.
pub fn decode(bytes: &[u8], content_type: Option<&str>, tld: Option<&str>) -> Decoded {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return Decoded {
            text: text.into_owned(),
            encoding: enc,
            source: CharsetSource::Bom,
            had_errors,
        };
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(bytes);
        return Decoded {
            text: text.into_owned(),
            encoding: enc,
            source: CharsetSource::Document,
            had_errors,
        };
    }
    let declared = [
        (content_type.and_then(header_charset), CharsetSource::Header),
        (document_charset(bytes), CharsetSource::Document),
    ];
    let (enc, source) = declared
        .into_iter()
        .find_map(|(e, s)| e.filter(|e| fits(e, bytes)).map(|e| (e, s)))
        .unwrap_or_else(|| {
            if std::str::from_utf8(bytes).is_ok() {
                (UTF_8, CharsetSource::Detected)
            } else {
                (detect(bytes, tld), CharsetSource::Detected)
            }
        });
    let (text, _, had_errors) = enc.decode(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: enc,
        source,
        had_errors,
    }
}

/// How a body was decoded and why, in words (what `yuqing preview` shows).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The encoding used (WHATWG name, e.g. `GBK`, `UTF-8`).
    pub encoding: &'static str,
    /// Where it came from.
    pub source: CharsetSource,
    /// Why: what was declared where, and whether the bytes fit it.
    pub why: String,
}

/// The decision [`decode`] makes for these bytes, explained. Pure; costs a second decode,
/// so it is meant for diagnostics, not for the daemon's hot path.
pub fn explain(bytes: &[u8], content_type: Option<&str>, tld: Option<&str>) -> Decision {
    let d = decode(bytes, content_type, tld);
    let name = d.encoding.name();
    let mut why = Vec::new();
    if d.source == CharsetSource::Bom {
        why.push(format!("byte-order mark for {name}"));
    } else {
        let declared = [
            ("Content-Type header", content_type.and_then(header_charset)),
            ("in-document declaration", document_charset(bytes)),
        ];
        for (place, enc) in declared {
            match enc {
                None => why.push(format!("no charset in the {place}")),
                Some(e) if fits(e, bytes) => {
                    why.push(format!(
                        "{place} declares {}, and the bytes fit it",
                        e.name()
                    ));
                    break;
                }
                Some(e) if std::str::from_utf8(bytes).is_ok() => why.push(format!(
                    "{place} declares {}, but the bytes are valid UTF-8 with non-ASCII text",
                    e.name()
                )),
                Some(e) => why.push(format!(
                    "{place} declares {}, but the bytes are not valid {}",
                    e.name(),
                    e.name()
                )),
            }
        }
        if d.source == CharsetSource::Detected {
            if d.encoding == UTF_8 && std::str::from_utf8(bytes).is_ok() {
                why.push("the bytes are valid UTF-8".into());
            } else {
                why.push(format!(
                    "chardetng guessed {name} from the first {} bytes{}",
                    bytes.len().min(DETECT_BYTES),
                    tld.map(|t| format!(" (TLD .{t})")).unwrap_or_default()
                ));
            }
        }
    }
    if d.had_errors {
        why.push("some bytes were malformed and replaced with U+FFFD".into());
    }
    Decision {
        encoding: name,
        source: d.source,
        why: why.join("; "),
    }
}

tokio::task_local! {
    static DECISIONS: std::cell::RefCell<Vec<(url::Url, Decision)>>;
}

/// Run `work`, collecting the charset decision of every body the fetcher returns inside it
/// (in fetch order, keyed by the URL after redirects). Outside such a scope the fetcher
/// records nothing and pays nothing.
pub async fn recording<F: std::future::Future>(work: F) -> (F::Output, Vec<(url::Url, Decision)>) {
    DECISIONS
        .scope(std::cell::RefCell::new(Vec::new()), async {
            let out = work.await;
            let decisions = DECISIONS.with(|d| d.take());
            (out, decisions)
        })
        .await
}

/// Called by the fetcher for every body: records its decision when inside [`recording`].
pub(crate) fn observe(url: &url::Url, bytes: &[u8], content_type: Option<&str>) {
    let _ = DECISIONS.try_with(|d| {
        let tld = url.host_str().and_then(|h| h.rsplit('.').next());
        d.borrow_mut()
            .push((url.clone(), explain(bytes, content_type, tld)));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    #[test]
    fn gb2312_label_decodes_as_gbk() {
        let mut body = b"<?xml version=\"1.0\" encoding=\"gb2312\"?><rss>".to_vec();
        body.extend(gbk("恒信消费金融暴力催收"));
        let d = decode(&body, Some("application/rss+xml"), None);
        assert_eq!(d.source, CharsetSource::Document);
        assert!(d.text.contains("恒信消费金融暴力催收"));
        assert!(!d.had_errors);
    }

    #[test]
    fn declared_gb2312_but_utf8_bytes_decode_as_utf8() {
        let body = "<html><head><meta charset=\"gb2312\"></head><body>消费金融公司</body></html>";
        let d = decode(body.as_bytes(), Some("text/html; charset=gb2312"), None);
        assert_eq!(d.encoding, UTF_8);
        assert!(d.text.contains("消费金融公司"));
    }

    #[test]
    fn undeclared_gbk_is_detected() {
        let body = gbk(
            "<html><body>近日，多名借款人向本报反映，某消费金融公司存在暴力催收、乱收费等问题，监管部门已介入调查。</body></html>",
        );
        let d = decode(&body, Some("text/html"), Some("cn"));
        assert_eq!(d.source, CharsetSource::Detected);
        assert!(d.text.contains("暴力催收"), "{}", d.text);
    }

    #[test]
    fn header_wins_when_it_fits_and_bom_wins_over_all() {
        let body = gbk("贷款");
        assert_eq!(
            decode(&body, Some("text/xml; charset=\"GBK\""), None).source,
            CharsetSource::Header
        );
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend("贷款".as_bytes());
        let d = decode(&bom, Some("text/xml; charset=gbk"), None);
        assert_eq!((d.source, d.text.as_str()), (CharsetSource::Bom, "贷款"));
    }

    #[test]
    fn decisions_say_why() {
        let body = "<html><head><meta charset=\"gb2312\"></head><body>消费金融公司</body></html>";
        let d = explain(body.as_bytes(), Some("text/html"), None);
        assert_eq!(d.encoding, "UTF-8");
        assert!(
            d.why
                .contains("in-document declaration declares GBK, but the bytes are valid UTF-8"),
            "{}",
            d.why
        );
        let d = explain(&gbk("贷款"), Some("text/html; charset=gbk"), None);
        assert_eq!((d.encoding, d.source), ("GBK", CharsetSource::Header));
        assert!(
            d.why
                .contains("Content-Type header declares GBK, and the bytes fit it"),
            "{}",
            d.why
        );
    }

    #[test]
    fn utf16_without_bom_is_recognised() {
        let xml = "<?xml version=\"1.0\" encoding=\"ucs-2\"?><rss>贷款</rss>";
        let be: Vec<u8> = xml.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        let le: Vec<u8> = xml.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        for (bytes, enc) in [(be, encoding_rs::UTF_16BE), (le, encoding_rs::UTF_16LE)] {
            let d = decode(&bytes, None, None);
            assert_eq!((d.encoding, d.text.as_str()), (enc, xml));
        }
    }

    #[test]
    fn meta_http_equiv_is_found() {
        let b = br#"<html><head><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=GBK"></head>"#;
        assert_eq!(document_charset(b), Some(encoding_rs::GBK));
    }
}
