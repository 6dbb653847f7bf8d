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

/// Parse a feed body into documents. Pure: no I/O.
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &url::Url,
    meta: &ItemMeta,
    fetched_at: DateTime<Utc>,
) -> Result<Vec<RawDoc>, ConnectorError> {
    let tld = base.host_str().and_then(|h| h.rsplit('.').next());
    let decoded = charset::decode(bytes, content_type, tld);
    let text = utf8_declaration(&decoded.text);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(parse_date)
        .build();
    // XML has no NUL; one left by a mis-declared encoding only confuses the parser.
    let text = text.replace('\0', "");
    // A panic inside the XML stack (seen in quick-xml on odd encodings) must become this
    // source's parse error, not end its polling task.
    let feed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        parser.parse(text.as_bytes())
    }))
    .map_err(|_| ConnectorError::Parse("the feed parser failed on this document".into()))?
    .map_err(|e| ConnectorError::Parse(e.to_string()))?;
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
        let link = e
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or(e.links.first())
            .and_then(|l| base.join(&l.href).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"));
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
