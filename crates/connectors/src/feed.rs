//! `kind = "feed"`: RSS 0.9x/1.0/2.0, Atom and JSON Feed via feed-rs.
//!
//! ```toml
//! version = 1
//! kind = "feed"
//! interval_secs = 300
//! [params]
//! url = "https://news.example.com/finance/rss.xml"
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use yuqing_config::{ConfigError, SourceSpec};
use yuqing_model::{Channel, Checkpoint, RawDoc, SourceId};

use crate::{
    BuildContext, Connector, ConnectorError, Fetched, Poll, PollContext, RequestOptions, charset,
    content_hash, doc_id, html, http_url,
};

/// `[params]` of a feed source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// The feed's URL (http or https).
    pub url: String,
}

/// A configured feed.
pub struct FeedConnector {
    url: url::Url,
    meta: ItemMeta,
    robots: bool,
}

/// What every item of a source carries besides its own content.
#[derive(Debug, Clone)]
pub struct ItemMeta {
    /// The source.
    pub source_id: SourceId,
    /// Its channel.
    pub channel: Channel,
    /// Its tags.
    pub tags: Vec<String>,
}

/// The registry's factory for `feed`.
pub fn build(
    spec: &SourceSpec,
    ctx: &BuildContext,
) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
    let p: FeedParams = crate::params(spec)?;
    let url = http_url(spec, ctx, "url", &p.url)?;
    Ok(Arc::new(FeedConnector {
        url,
        meta: ItemMeta {
            source_id: spec.id.clone(),
            channel: spec.channel,
            tags: spec.tags.clone(),
        },
        robots: spec.ignore_robots.is_none(),
    }))
}

#[async_trait]
impl Connector for FeedConnector {
    async fn poll(
        &self,
        ctx: &PollContext,
        checkpoint: &Checkpoint,
    ) -> Result<Poll, ConnectorError> {
        let opts = RequestOptions {
            robots: self.robots,
        };
        let body = match ctx.fetcher.get_with(&self.url, checkpoint, opts).await? {
            Fetched::NotModified => {
                return Ok(Poll {
                    not_modified: true,
                    ..Poll::default()
                });
            }
            Fetched::Body(b) => b,
        };
        let hash = content_hash(&body.bytes);
        let new_checkpoint = Checkpoint {
            etag: body.etag.clone(),
            last_modified: body.last_modified.clone(),
            content_hash: Some(hash.clone()),
        };
        if checkpoint.content_hash.as_deref() == Some(hash.as_str()) {
            return Ok(Poll {
                items: vec![],
                checkpoint: Some(new_checkpoint),
                not_modified: true,
            });
        }
        let items = parse(
            &body.bytes,
            body.content_type.as_deref(),
            &body.final_url,
            &self.meta,
            Utc::now(),
        )?;
        Ok(Poll {
            items,
            checkpoint: Some(new_checkpoint),
            not_modified: false,
        })
    }
}

/// How a feed body was decoded before parsing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decoding {
    /// The encoding used.
    pub encoding: &'static encoding_rs::Encoding,
    /// Malformed sequences were replaced with U+FFFD.
    pub had_errors: bool,
    /// A declared charset (header, else in-document; else XML's default, UTF-8) did not fit
    /// the bytes and was overridden.
    pub overridden: bool,
    /// The document was ill-formed and repaired before parsing (bare `&` escaped).
    pub repaired: bool,
}

/// Decode a feed body (header → BOM → declaration, validated; detector) and parse it with
/// feed-rs, resolving relative links against `base`. Pure: no I/O. The decoding is returned
/// even when parsing fails.
pub fn parse_model(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &url::Url,
) -> (Decoding, Result<feed_rs::model::Feed, ConnectorError>) {
    let tld = base.host_str().and_then(|h| h.rsplit('.').next());
    let decoded = charset::decode(bytes, content_type, tld);
    let declared = content_type
        .and_then(charset::header_charset)
        .or_else(|| charset::document_charset(bytes));
    let mut decoding = Decoding {
        encoding: decoded.encoding,
        had_errors: decoded.had_errors,
        // XML's default is UTF-8: legacy bytes without a declaration override it too.
        overridden: decoded.source != charset::CharsetSource::Bom
            && match declared {
                Some(e) => e != decoded.encoding,
                None => {
                    decoded.source == charset::CharsetSource::Detected
                        && decoded.encoding != encoding_rs::UTF_8
                }
            },
        repaired: false,
    };
    let text = utf8_declaration(&decoded.text);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(parse_date)
        .build();
    // XML has no NUL; one left by a mis-declared encoding only confuses the parser.
    let text = text.replace('\0', "");
    let (text, repaired) = fix_references(&text);
    let text = rss_version(&text);
    decoding.repaired = repaired;
    // A panic inside the XML stack (seen in quick-xml on odd encodings) must become this
    // source's parse error, not end its polling task.
    let feed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        parser.parse(text.as_bytes())
    }))
    .map_err(|_| ConnectorError::Parse("the feed parser failed on this document".into()))
    .and_then(|r| r.map_err(|e| ConnectorError::Parse(e.to_string())));
    (decoding, feed)
}

/// RSS versions feed-rs reads as they are; any other `<rss>` root (no version, `0.93`,
/// `0.94`, `2.01`, …, all of them RSS 2.0 supersets or subsets) is read as 2.0.
fn rss_version(text: &str) -> std::borrow::Cow<'_, str> {
    let Some(start) = root_start(text) else {
        return text.into();
    };
    let rest = &text[start + 1..];
    if rest.starts_with("feed") && rest[4..].starts_with(|c: char| c.is_whitespace() || c == '>') {
        return atom_namespace(text, start);
    }
    if !(rest.starts_with("rss") && rest[3..].starts_with(|c: char| c.is_whitespace() || c == '>'))
    {
        return text.into();
    }
    let Some(end) = rest.find('>') else {
        return text.into();
    };
    let tag = &rest[3..end];
    let version = tag.find("version").and_then(|v| {
        let after = tag[v + 7..].trim_start().strip_prefix('=')?.trim_start();
        let q = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let val = &after[1..];
        val.find(q).map(|e| &val[..e])
    });
    match version {
        Some("2.0" | "" | "0.91" | "0.92") => text.into(),
        Some(v) => {
            let at = start + 1 + 3 + tag.find("version").unwrap_or(0);
            let vpos = text[at..].find(v).map(|p| at + p).unwrap_or(at);
            format!("{}2.0{}", &text[..vpos], &text[vpos + v.len()..]).into()
        }
        None => format!(
            "{} version=\"2.0\"{}",
            &text[..start + 4],
            &text[start + 4..]
        )
        .into(),
    }
}

/// Where the root element's start tag begins: after the XML declaration, comments,
/// processing instructions and a doctype (with its internal subset).
fn root_start(text: &str) -> Option<usize> {
    let mut i = 0;
    while let Some(lt) = text[i..].find('<').map(|p| i + p) {
        let rest = &text[lt..];
        let skip_to = |close: &str, from: usize| {
            rest[from..]
                .find(close)
                .map(|e| lt + from + e + close.len())
        };
        i = if rest.starts_with("<!--") {
            skip_to("-->", 4)?
        } else if rest.starts_with("<?") {
            skip_to("?>", 2)?
        } else if rest.starts_with("<!") {
            // A doctype: up to the `>` after its internal subset, if any.
            let subset_end = match (rest.find('['), rest.find('>')) {
                (Some(b), Some(g)) if b < g => rest.find("]").map_or(0, |e| e),
                _ => 0,
            };
            skip_to(">", subset_end.max(2))?
        } else if rest[1..].starts_with(|c: char| c.is_alphabetic()) {
            return Some(lt);
        } else {
            lt + 1
        };
    }
    None
}

/// The Atom 1.0 namespace.
const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// A `<feed>` root (at byte `start`) whose default namespace is not Atom 1.0 (Atom 0.3's
/// `http://purl.org/atom/ns#`, or a made-up one) is read as Atom 1.0: its elements have the
/// same names for everything we take (title, link, id, entry, summary, content).
fn atom_namespace(text: &str, start: usize) -> std::borrow::Cow<'_, str> {
    let Some(end) = text[start..].find('>').map(|e| start + e) else {
        return text.into();
    };
    let tag = &text[start..end];
    let Some(x) = tag.find("xmlns=") else {
        return text.into();
    };
    let after = &tag[x + 6..];
    let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        return text.into();
    };
    let Some(len) = after[1..].find(q) else {
        return text.into();
    };
    let ns = &after[1..1 + len];
    if ns == ATOM_NS {
        return text.into();
    }
    let at = start + x + 7;
    atom03_text_types(&format!("{}{ATOM_NS}{}", &text[..at], &text[at + len..]))
        .into_owned()
        .into()
}

/// Atom 0.3 names the type of text constructs as media types (`type="text/html"
/// mode="escaped"`), Atom 1.0 as `text`, `html`, `xhtml`: rewrite them on the text elements
/// (never on `<link>`, whose type is a media type in both), and rename the elements Atom 1.0
/// renamed (`issued`, `modified`, `tagline`, `copyright`).
fn atom03_text_types(text: &str) -> std::borrow::Cow<'_, str> {
    // Atom 0.3 element names and their Atom 1.0 equivalents.
    const ATOM03_RENAMES: &[(&str, &str)] = &[
        ("issued", "published"),
        ("modified", "updated"),
        ("tagline", "subtitle"),
        ("copyright", "rights"),
    ];
    const TEXT_ELEMENTS: &[&str] = &[
        "title",
        "subtitle",
        "tagline",
        "summary",
        "content",
        "rights",
        "copyright",
        "info",
    ];
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let tag_end = rest[lt..].find('>').map_or(rest.len(), |e| lt + e + 1);
        let tag = &rest[lt..tag_end];
        let close = tag.starts_with("</");
        let name: String = tag[if close { 2 } else { 1 }..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, ':' | '_' | '-'))
            .collect();
        let local = name.rsplit(':').next().unwrap_or("");
        let mut t = tag.to_string();
        if TEXT_ELEMENTS.contains(&local) && tag.contains("type=") {
            for (from, to) in [
                ("text/html", "html"),
                ("text/plain", "text"),
                ("application/xhtml+xml", "xhtml"),
            ] {
                for q in ['"', '\u{27}'] {
                    t = t.replace(&format!("type={q}{from}{q}"), &format!("type={q}{to}{q}"));
                }
            }
        }
        // `<issued>` → `<published>`, `</modified>` → `</updated>`, … (unprefixed only).
        if let Some((_, new)) = ATOM03_RENAMES.iter().find(|(old, _)| *old == name) {
            let at = if close { 2 } else { 1 };
            t = format!("{}{new}{}", &t[..at], &t[at + name.len()..]);
        }
        changed |= t != tag;
        out.push_str(&t);
        rest = &rest[tag_end..];
    }
    out.push_str(rest);
    if changed { out.into() } else { text.into() }
}

/// Longest entity name looked up (HTML's longest is 31 characters).
const MAX_ENTITY_NAME: usize = 32;

/// Make every `&` a reference XML reads: HTML named entities that XML does not define
/// (`&nbsp;`, `&mdash;`, `&ldquo;`, …, common in Chinese sites' feeds) become numeric
/// character references, and a bare `&` (an unescaped query string, `AT&T`) becomes `&amp;`
/// (the second value says the document was ill-formed and repaired). The five XML entities,
/// numeric references and unknown names are left alone (an entity declared in a DTD is never
/// expanded either way).
fn fix_references(text: &str) -> (std::borrow::Cow<'_, str>, bool) {
    if !text.contains('&') {
        return (text.into(), false);
    }
    // Comments and CDATA sections are copied as they are: `&` is literal there.
    let mut out = String::with_capacity(text.len());
    let mut repaired = false;
    let mut rest = text;
    loop {
        let next = [("<!--", "-->"), ("<![CDATA[", "]]>")]
            .into_iter()
            .filter_map(|(open, close)| rest.find(open).map(|i| (i, open, close)))
            .min_by_key(|(i, ..)| *i);
        let Some((i, open, close)) = next else {
            let (t, r) = fix_references_in(rest);
            out.push_str(&t);
            repaired |= r;
            break;
        };
        let (t, r) = fix_references_in(&rest[..i]);
        out.push_str(&t);
        repaired |= r;
        let end = rest[i + open.len()..]
            .find(close)
            .map_or(rest.len(), |e| i + open.len() + e + close.len());
        out.push_str(&rest[i..end]);
        rest = &rest[end..];
    }
    (out.into(), repaired)
}

/// [`fix_references`] on text outside comments and CDATA.
fn fix_references_in(text: &str) -> (std::borrow::Cow<'_, str>, bool) {
    if !text.contains('&') {
        return (text.into(), false);
    }
    let mut out = String::with_capacity(text.len());
    let mut repaired = false;
    let mut known: std::collections::HashMap<&str, Option<String>> = Default::default();
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        if let Some(num) = after.strip_prefix('#') {
            let (digits, hex) = match num.strip_prefix(['x', 'X']) {
                Some(h) => (h, true),
                None => (num, false),
            };
            let n = digits
                .chars()
                .take_while(|c| {
                    if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    }
                })
                .count();
            if n == 0 || !digits[n..].starts_with(';') {
                out.push_str("&amp;");
                repaired = true;
                rest = after;
                continue;
            }
            // `&#146;` and the like: C1 controls written as windows-1252 code points, read
            // the way HTML reads them (’ not U+0092).
            let value = u32::from_str_radix(&digits[..n], if hex { 16 } else { 10 }).ok();
            if let Some(v @ 0x80..=0x9f) = value {
                let byte = [v as u8];
                let (c, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
                out.push_str(&format!("&#{};", c.chars().next().map_or(v, u32::from)));
                rest = &digits[n + 1..];
                continue;
            }
            out.push('&');
            rest = after;
            continue;
        }
        let name_len = after
            .char_indices()
            .take_while(|(i, c)| *i <= MAX_ENTITY_NAME && c.is_ascii_alphanumeric())
            .count();
        let name = &after[..name_len];
        let is_ref = name_len > 0
            && after[name_len..].starts_with(';')
            && name.as_bytes()[0].is_ascii_alphabetic();
        if !is_ref {
            out.push_str("&amp;");
            repaired = true;
            rest = after;
            continue;
        }
        let replacement = if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
            None
        } else {
            known
                .entry(name)
                .or_insert_with(|| {
                    let decoded: String = scraper::Html::parse_fragment(&format!("x&{name};x"))
                        .root_element()
                        .text()
                        .collect();
                    let inner = decoded.strip_prefix('x')?.strip_suffix('x')?;
                    (!inner.is_empty() && !inner.contains('&')).then(|| {
                        inner
                            .chars()
                            .map(|c| format!("&#{};", u32::from(c)))
                            .collect()
                    })
                })
                .clone()
        };
        match replacement {
            Some(r) => {
                out.push_str(&r);
                rest = &after[name_len + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out.into(), repaired)
}

/// An entry's link: the first `alternate` (or untyped) link, else the first, resolved against
/// `base`; only http(s).
pub fn entry_link(links: &[feed_rs::model::Link], base: &url::Url) -> Option<url::Url> {
    links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(links.first())
        .and_then(|l| base.join(&l.href).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// Parse a feed body into documents. Pure: no I/O.
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &url::Url,
    meta: &ItemMeta,
    fetched_at: DateTime<Utc>,
) -> Result<Vec<RawDoc>, ConnectorError> {
    let feed = parse_model(bytes, content_type, base).1?;
    let mut out = Vec::with_capacity(feed.entries.len());
    for e in feed.entries {
        let title = e
            .title
            .as_ref()
            .map(|t| html::to_text(&t.content))
            .unwrap_or_default();
        let content = e
            .content
            .as_ref()
            .and_then(|c| c.body.as_deref())
            .map(html::to_text);
        let summary = e.summary.as_ref().map(|s| html::to_text(&s.content));
        let body = match (content, summary) {
            (Some(c), _) if !c.is_empty() => c,
            (_, Some(s)) => s,
            _ => String::new(),
        };
        let link = entry_link(&e.links, base);
        if title.is_empty() && body.is_empty() {
            continue;
        }
        let item_key = if !e.id.trim().is_empty() {
            e.id.trim().to_string()
        } else if let Some(l) = &link {
            l.to_string()
        } else {
            format!(
                "sha256:{}",
                content_hash(format!("{title}\n{body}").as_bytes())
            )
        };
        out.push(RawDoc {
            id: doc_id(&meta.source_id, &item_key),
            source_id: meta.source_id.clone(),
            channel: meta.channel,
            item_key,
            url: link.map(|u| u.to_string()),
            title,
            body,
            author: e
                .authors
                .first()
                .and_then(|a| a.name.as_deref())
                .map(|n| n.trim().to_string())
                .filter(|a| !a.is_empty()),
            published_at: e.published.or(e.updated),
            fetched_at,
            tags: meta.tags.clone(),
        });
    }
    Ok(out)
}

/// Replace the XML declaration's encoding with UTF-8: the text is already decoded, and
/// feed-rs would otherwise decode it a second time.
fn utf8_declaration(text: &str) -> std::borrow::Cow<'_, str> {
    let t = text.trim_start_matches('\u{feff}');
    if t.starts_with("<?xml")
        && let Some(end) = t.find("?>")
    {
        return format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>{}",
            &t[end + 2..]
        )
        .into();
    }
    t.into()
}

/// The date and time forms Chinese sites write, most specific first (date-only forms last),
/// shared by every kind that reads times. Zone-less: China time.
pub(crate) const CHINESE_TIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日",
];

/// China time, UTC+8 (no daylight saving since 1991).
pub(crate) fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// A zone-less date or date-time in China time, as UTC.
pub(crate) fn china_to_utc(n: NaiveDateTime) -> Option<DateTime<Utc>> {
    china()
        .from_local_datetime(&n)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// Dates as feeds really write them: RFC 3339, RFC 2822, and the forms Chinese sites emit
/// (`2024-05-01 08:30:00`, `2024/05/01 08:30`, `2024年05月01日 08:30`), the zone-less ones
/// taken as China time (UTC+8).
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in CHINESE_TIME_FORMATS {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return china_to_utc(n);
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return china_to_utc(d.and_hms_opt(0, 0, 0)?);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ItemMeta {
        ItemMeta {
            source_id: SourceId("news/t".into()),
            channel: Channel::News,
            tags: vec!["x".into()],
        }
    }

    fn base() -> url::Url {
        url::Url::parse("https://news.example.cn/feed/rss.xml").unwrap()
    }

    const RSS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>财经</title>
<item><title>恒信消费金融推出&lt;b&gt;新服务&lt;/b&gt;</title><link>/a/1.html</link>
<guid isPermaLink="false">item-1</guid><pubDate>Tue, 05 Nov 2024 08:00:00 +0800</pubDate>
<description><![CDATA[<p>第一段</p><p>第二段</p>]]></description><author>记者 王五</author></item>
<item><title>无GUID的条目</title><link>https://news.example.cn/a/2.html</link>
<pubDate>2024-11-05 09:30:00</pubDate><description>正文</description></item>
<item><title>无链接无GUID</title><description>只有正文</description></item>
</channel></rss>"#;

    #[test]
    fn rss_items_become_documents_with_stable_keys() {
        let t = Utc::now();
        let docs = parse(
            RSS.as_bytes(),
            Some("application/rss+xml"),
            &base(),
            &meta(),
            t,
        )
        .unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].item_key, "item-1");
        assert_eq!(docs[0].title, "恒信消费金融推出新服务");
        assert_eq!(
            docs[0].url.as_deref(),
            Some("https://news.example.cn/a/1.html")
        );
        assert_eq!(docs[0].body, "第一段\n第二段");
        assert_eq!(
            docs[0].published_at.unwrap().to_rfc3339(),
            "2024-11-05T00:00:00+00:00"
        );
        assert_eq!(docs[1].item_key, "https://news.example.cn/a/2.html");
        assert_eq!(
            docs[1].published_at.unwrap().to_rfc3339(),
            "2024-11-05T01:30:00+00:00"
        );
        assert!(docs[2].item_key.starts_with("sha256:"));
        let again = parse(RSS.as_bytes(), None, &base(), &meta(), t).unwrap();
        assert_eq!(docs, again);
        assert_eq!(docs[0].tags, ["x"]);
    }

    #[test]
    fn gbk_feed_with_declaration_decodes() {
        let xml = RSS.replace("encoding=\"utf-8\"", "encoding=\"gb2312\"");
        let bytes = encoding_rs::GBK.encode(&xml).0.into_owned();
        let docs = parse(&bytes, Some("text/xml"), &base(), &meta(), Utc::now()).unwrap();
        assert_eq!(docs[0].title, "恒信消费金融推出新服务");
    }

    #[test]
    fn atom_feed_parses() {
        let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>金融观察</title><id>urn:x</id>
<updated>2024-11-05T08:00:00Z</updated>
<entry><title>监管约谈</title><id>urn:x:1</id><updated>2024-11-05T08:00:00Z</updated>
<link href="https://a.example/1"/><content type="html">&lt;p&gt;内容&lt;/p&gt;</content></entry></feed>"#;
        let docs = parse(atom.as_bytes(), None, &base(), &meta(), Utc::now()).unwrap();
        assert_eq!(
            (docs[0].item_key.as_str(), docs[0].body.as_str()),
            ("urn:x:1", "内容")
        );
    }

    #[test]
    fn garbage_is_a_parse_error() {
        let e = parse(
            b"<html><body>not a feed</body></html>",
            None,
            &base(),
            &meta(),
            Utc::now(),
        )
        .unwrap_err();
        assert!(matches!(e, ConnectorError::Parse(_)));
        let e = parse(b"\x00\x01\x02garbage", None, &base(), &meta(), Utc::now()).unwrap_err();
        assert!(matches!(e, ConnectorError::Parse(_)));
    }

    fn build_default(spec: &SourceSpec) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
        build(spec, &BuildContext::default())
    }

    #[test]
    fn params_are_validated() {
        let e = build_default(&crate::tests::spec("feed", "url = \"ftp://x/y\""))
            .err()
            .unwrap();
        assert_eq!(e[0].key, "params.url");
        let e = build_default(&crate::tests::spec(
            "feed",
            "url = \"https://x/y\"\nproxy = 1",
        ))
        .err()
        .unwrap();
        assert!(e[0].reason.contains("unknown field `proxy`"), "{e:?}");
        let e = build_default(&crate::tests::spec("feed", ""))
            .err()
            .unwrap();
        assert!(e[0].reason.contains("missing field `url`"), "{e:?}");
    }

    #[test]
    fn html_entities_in_feeds_decode() {
        assert_eq!(
            fix_references("a&nbsp;b&mdash;&amp;&#38;&#x26;&unknown;&lt;&ldquo;x"),
            (
                "a&#160;b&#8212;&amp;&#38;&#x26;&unknown;&lt;&#8220;x".into(),
                false
            )
        );
        assert_eq!(
            fix_references("don&#146;t &#x93;q&#x94; &#65;"),
            ("don&#8217;t &#8220;q&#8221; &#65;".into(), false)
        );
        assert_eq!(
            fix_references("<!-- a & b --><t><![CDATA[x & y]]>&mdash;</t>"),
            (
                "<!-- a & b --><t><![CDATA[x & y]]>&#8212;</t>".into(),
                false
            )
        );
        assert_eq!(
            fix_references("?a=1&b=2&c AT&T &# &#x; &;"),
            (
                "?a=1&amp;b=2&amp;c AT&amp;T &amp;# &amp;#x; &amp;;".into(),
                true
            )
        );
        let rss = r#"<rss version="2.0"><channel><title>t</title><item><title>恒信&mdash;回应&ldquo;催收&rdquo;</title><guid>1</guid></item></channel></rss>"#;
        let docs = parse(rss.as_bytes(), None, &base(), &meta(), Utc::now()).unwrap();
        assert_eq!(docs[0].title, "恒信\u{2014}回应\u{201c}催收\u{201d}");
    }

    #[test]
    fn rss_without_a_known_version_reads_as_2_0() {
        assert_eq!(
            rss_version("<!-- c --><rss><channel/></rss>"),
            "<!-- c --><rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(rss_version("<rss version='0.93'>"), "<rss version='2.0'>");
        assert_eq!(
            rss_version("<rss version=\"2.0\">"),
            "<rss version=\"2.0\">"
        );
        assert_eq!(rss_version("<rssx>"), "<rssx>");
        assert_eq!(
            rss_version(
                "<?xml version=\"1.0\"?><!-- <b>x</b> --><!DOCTYPE rss [<!ENTITY a \"<b>\">]><rss>"
            ),
            "<?xml version=\"1.0\"?><!-- <b>x</b> --><!DOCTYPE rss [<!ENTITY a \"<b>\">]><rss version=\"2.0\">"
        );
        assert_eq!(
            rss_version(
                "<?xml version=\"1.0\"?><feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>x</title></feed>"
            ),
            "<?xml version=\"1.0\"?><feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\"><title>x</title></feed>"
        );
        assert_eq!(rss_version("<feed><rss>"), "<feed><rss>");
        let docs = parse(
            b"<rss><channel><item><title>t</title></item></channel></rss>",
            None,
            &base(),
            &meta(),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(docs[0].title, "t");
    }

    #[test]
    fn chinese_date_forms() {
        let d = |s| parse_date(s).map(|d| d.to_rfc3339());
        assert_eq!(
            d("2024年11月05日 08:00").as_deref(),
            Some("2024-11-05T00:00:00+00:00")
        );
        assert_eq!(
            d("2024/11/05 08:00").as_deref(),
            Some("2024-11-05T00:00:00+00:00")
        );
        assert_eq!(
            d("2024-11-05").as_deref(),
            Some("2024-11-04T16:00:00+00:00")
        );
        assert_eq!(d("yesterday"), None);
    }
}
