//! `kind = "web_page"`: sites without a feed. Two modes.
//!
//! **List mode** (the default): a list page (optionally paginated by a "next page" link, up to
//! a page cap) gives item links by CSS selector; each item's detail page gives title, body,
//! time and author by CSS selectors. Without a body selector the main-content extractor
//! ([`crate::extract`]) finds the article text.
//!
//! ```toml
//! version = 1
//! kind = "web_page"
//! channel = "web"
//! [params]
//! list_url = "https://news.example.com/finance/"
//! item_selector = "ul.news-list li a"      # links on the list page
//! pages = 3                                # list pages to read at most (default 1)
//! next_selector = "a.next"                 # required when pages > 1
//! title = "h1.title"                       # optional: og:title, <h1>, <title> otherwise
//! body = "div.article"                     # optional: main-content extraction otherwise
//! time = "span.pubtime"                    # optional; meta/time elements use content/datetime
//! time_format = "%Y年%m月%d日 %H:%M"       # optional chrono format; zone-less = Asia/Shanghai
//! author = "span.author"                   # optional
//! max_items_per_poll = 20                  # detail pages fetched per poll at most (default 20)
//! ```
//!
//! **Whole-page mode** (`mode = "whole_page"`): the page at `list_url` is watched as a whole;
//! its main content (the `body` selector, else the extractor) is hashed, and when the hash
//! changes the poll produces a new document version (item key = canonical URL + `#v=` + the
//! first 16 hex digits of the hash), so every change is a document of its own.
//!
//! Item keys are canonical URLs ([`canonical_url`]): tracking parameters, the fragment and a
//! trailing slash dropped, http and https unified.
//!
//! **Refetching.** A list-mode checkpoint's content hash is the hash of the sorted set of item
//! keys on the list pages (not of the bytes, so rotating ads do not count): when the set is
//! unchanged, no detail page is fetched. When it changed, the first `max_items_per_poll` links
//! are fetched again, stored or not (the pipeline skips unchanged documents); the checkpoint
//! type holds no per-item state, so this bound is what keeps a poll polite.
//!
//! **Health.** A list selector that finds no link, or a detail selector that finds nothing on
//! every fetched item, fails the poll with class `parse` and a message naming the selector.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use scraper::{ElementRef, Html, Selector};
use serde::Deserialize;
use yuqing_config::{ConfigError, SourceSpec};
use yuqing_model::{Checkpoint, RawDoc};

use crate::feed::ItemMeta;
use crate::{
    BuildContext, Connector, ConnectorError, FetchError, Fetched, Poll, PollContext,
    RequestOptions, charset, content_hash, doc_id, extract, http_url,
};

/// Default detail pages fetched per poll.
pub const DEFAULT_MAX_ITEMS_PER_POLL: usize = 20;
/// The largest `max_items_per_poll` accepted.
pub const MAX_ITEMS_PER_POLL_LIMIT: usize = 500;
/// The largest `pages` accepted.
pub const MAX_LIST_PAGES: u32 = 50;

/// Query parameters that only track the visitor and never select content.
const TRACKING_PARAMS: &[&str] = &[
    "spm",
    "from",
    "fbclid",
    "gclid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "share_source",
    "share_medium",
    "share_token",
    "isappinstalled",
    "scene",
    "wfr",
];

/// How a page is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A list page gives item links; each item is a document.
    #[default]
    List,
    /// The page itself is one document; a change of its main content is a new version.
    WholePage,
}

/// `[params]` of a web_page source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebPageParams {
    /// The list page (or, in whole-page mode, the watched page).
    pub list_url: String,
    /// `list` (default) or `whole_page`.
    #[serde(default)]
    pub mode: Mode,
    /// List pages to read at most, following `next_selector` (default 1).
    pub pages: Option<u32>,
    /// CSS selector of the "next page" link on a list page.
    pub next_selector: Option<String>,
    /// CSS selector of the item links on the list page (list mode).
    pub item_selector: Option<String>,
    /// CSS selector of the title on a detail page.
    pub title: Option<String>,
    /// CSS selector of the body on a detail page (main-content extraction when absent).
    pub body: Option<String>,
    /// CSS selector of the publication time on a detail page.
    pub time: Option<String>,
    /// chrono format of the time (zone-less formats are Asia/Shanghai).
    pub time_format: Option<String>,
    /// CSS selector of the author on a detail page.
    pub author: Option<String>,
    /// Detail pages fetched per poll at most.
    pub max_items_per_poll: Option<usize>,
}

/// A CSS selector with the text it was written as (for messages).
#[derive(Debug, Clone)]
pub struct Css {
    /// As written in the configuration.
    pub css: String,
    /// Compiled.
    pub selector: Selector,
}

impl Css {
    /// Compile a selector; the error says why it is not valid CSS.
    pub fn parse(css: &str) -> Result<Css, String> {
        Selector::parse(css)
            .map(|selector| Css {
                css: css.to_string(),
                selector,
            })
            .map_err(|e| format!("`{css}` is not a valid CSS selector: {e}"))
    }
}

/// Selectors applied to a detail page. `None` fields fall back as documented on the module.
#[derive(Debug, Clone, Default)]
pub struct DetailRules {
    /// Title selector (`params.title`).
    pub title: Option<Css>,
    /// Body selector (`params.body`).
    pub body: Option<Css>,
    /// Time selector (`params.time`).
    pub time: Option<Css>,
    /// chrono format of the time.
    pub time_format: Option<String>,
    /// Author selector (`params.author`).
    pub author: Option<Css>,
}

/// A parsed detail page: the document and which configured selectors matched nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// The document (item key = canonical URL of the page).
    pub doc: RawDoc,
    /// Names of configured selectors (`title`, `body`, `time`, `author`) that matched nothing
    /// (for `time`: nothing that parsed as a time).
    pub missing: Vec<&'static str>,
}

/// A configured web_page source.
pub struct WebPageConnector {
    list_url: url::Url,
    mode: Mode,
    pages: u32,
    next: Option<Css>,
    items: Option<Css>,
    rules: DetailRules,
    max_items: usize,
    meta: ItemMeta,
    robots: bool,
}

/// The registry's factory for `web_page`.
pub fn build(
    spec: &SourceSpec,
    ctx: &BuildContext,
) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
    let p: WebPageParams = crate::params(spec)?;
    let list_url = http_url(spec, ctx, "list_url", &p.list_url)?;
    let mut errors = Vec::new();
    let mut css = |key: &str, v: &Option<String>| -> Option<Css> {
        let v = v.as_deref()?;
        match Css::parse(v) {
            Ok(c) => Some(c),
            Err(reason) => {
                errors.push(ConfigError::new(
                    &spec.file,
                    format!("params.{key}"),
                    reason,
                ));
                None
            }
        }
    };
    let next = css("next_selector", &p.next_selector);
    let items = css("item_selector", &p.item_selector);
    let rules = DetailRules {
        title: css("title", &p.title),
        body: css("body", &p.body),
        time: css("time", &p.time),
        time_format: p.time_format.clone(),
        author: css("author", &p.author),
    };
    let err =
        |key: &str, reason: &str| ConfigError::new(&spec.file, format!("params.{key}"), reason);
    let pages = p.pages.unwrap_or(1);
    if pages == 0 || pages > MAX_LIST_PAGES {
        errors.push(err(
            "pages",
            &format!("must be between 1 and {MAX_LIST_PAGES}"),
        ));
    }
    if pages > 1 && p.next_selector.is_none() {
        errors.push(err(
            "next_selector",
            "required when pages > 1: the CSS selector of the next-page link",
        ));
    }
    let max_items = p.max_items_per_poll.unwrap_or(DEFAULT_MAX_ITEMS_PER_POLL);
    if max_items == 0 || max_items > MAX_ITEMS_PER_POLL_LIMIT {
        errors.push(err(
            "max_items_per_poll",
            &format!("must be between 1 and {MAX_ITEMS_PER_POLL_LIMIT}"),
        ));
    }
    if let Some(f) = &p.time_format {
        if p.time.is_none() {
            errors.push(err(
                "time_format",
                "given without params.time: say where the time is",
            ));
        }
        if f.trim().is_empty() {
            errors.push(err("time_format", "must not be empty"));
        }
    }
    match p.mode {
        Mode::List if p.item_selector.is_none() => errors.push(err(
            "item_selector",
            "required in list mode: the CSS selector of the item links on the list page (or set mode = \"whole_page\")",
        )),
        Mode::WholePage => {
            for (key, v) in [
                ("item_selector", &p.item_selector),
                ("next_selector", &p.next_selector),
            ] {
                if v.is_some() {
                    errors.push(err(key, "not used with mode = \"whole_page\""));
                }
            }
            if p.pages.is_some() {
                errors.push(err("pages", "not used with mode = \"whole_page\""));
            }
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Arc::new(WebPageConnector {
        list_url,
        mode: p.mode,
        pages,
        next,
        items,
        rules,
        max_items,
        meta: ItemMeta {
            source_id: spec.id.clone(),
            channel: spec.channel,
            tags: spec.tags.clone(),
        },
        robots: spec.ignore_robots.is_none(),
    }))
}

/// The canonical form of a URL used as item key: https scheme (http and https unified),
/// lowercase host, no default port, no fragment, no credentials, no tracking parameters
/// (`utm_*`, `spm`, `from`, click ids …), remaining parameters sorted, no trailing slash.
pub fn canonical_url(u: &url::Url) -> String {
    let mut out = String::from("https://");
    out.push_str(&u.host_str().unwrap_or_default().to_ascii_lowercase());
    if let Some(p) = u.port()
        && !(u.scheme() == "http" && p == 80)
    {
        out.push_str(&format!(":{p}"));
    }
    out.push_str(u.path().trim_end_matches('/'));
    let mut q: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !q.is_empty() {
        q.sort();
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &q {
            s.append_pair(k, v);
        }
        out.push('?');
        out.push_str(&s.finish());
    }
    out
}

/// [`canonical_url`] of a URL given as text; `None` when it does not parse.
pub fn canonical_url_str(u: &str) -> Option<String> {
    url::Url::parse(u).ok().map(|u| canonical_url(&u))
}

fn tld(u: &url::Url) -> Option<&str> {
    u.host_str().and_then(|h| h.rsplit('.').next())
}

/// Decode fetched bytes (header, BOM, meta, detector) and parse them as an HTML document.
pub fn html_document(bytes: &[u8], content_type: Option<&str>, url: &url::Url) -> Html {
    Html::parse_document(&charset::decode(bytes, content_type, tld(url)).text)
}

/// The link of a matched element: its own `href`, else its first descendant `a[href]`'s;
/// resolved against `base`, http(s) only, fragment dropped.
fn link_of(e: ElementRef<'_>, base: &url::Url) -> Option<url::Url> {
    let href = e.value().attr("href").or_else(|| {
        e.descendants().filter_map(ElementRef::wrap).find_map(|d| {
            (d.value().name() == "a")
                .then(|| d.value().attr("href"))
                .flatten()
        })
    })?;
    let mut u = base.join(href.trim()).ok()?;
    u.set_fragment(None);
    matches!(u.scheme(), "http" | "https").then_some(u)
}

/// The item links of a list page, in page order, distinct by canonical URL. Pure.
pub fn parse_list(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &url::Url,
    item_selector: &Css,
) -> Vec<url::Url> {
    let doc = html_document(bytes, content_type, base);
    list_links(&doc, base, item_selector)
}

fn list_links(doc: &Html, base: &url::Url, item_selector: &Css) -> Vec<url::Url> {
    let mut seen = std::collections::HashSet::new();
    doc.select(&item_selector.selector)
        .filter_map(|e| link_of(e, base))
        .filter(|u| seen.insert(canonical_url(u)))
        .collect()
}

/// The "next page" link of a list page, if any. Pure.
pub fn parse_next(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &url::Url,
    next_selector: &Css,
) -> Option<url::Url> {
    let doc = html_document(bytes, content_type, base);
    doc.select(&next_selector.selector)
        .find_map(|e| link_of(e, base))
}

/// The text a selector designates: `content` of a `<meta>`, `datetime` of a `<time>`, else
/// the element's text with whitespace collapsed. First non-empty match.
pub fn select_text(doc: &Html, css: &Css) -> Option<String> {
    doc.select(&css.selector).find_map(|e| {
        let v = e.value();
        let raw = match v.name() {
            "meta" => v.attr("content").map(str::to_string),
            "time" => v.attr("datetime").map(str::to_string),
            _ => None,
        }
        .unwrap_or_else(|| e.text().collect::<String>());
        let t = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        (!t.is_empty()).then_some(t)
    })
}

/// The text of every match of a body selector, blocks on their own lines, scripts and page
/// chrome dropped; empty when nothing matched.
pub fn select_body(doc: &Html, css: &Css) -> String {
    doc.select(&css.selector)
        .map(|e| extract::render(*e))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A page's title without a selector: `og:title`, else the first `<h1>`, else `<title>`.
pub fn fallback_title(doc: &Html) -> String {
    ["meta[property=\"og:title\"]", "h1", "title"]
        .iter()
        .filter_map(|s| Css::parse(s).ok())
        .find_map(|c| select_text(doc, &c))
        .unwrap_or_default()
}

/// A time in `text`: with `format`, the first place where the text parses with it (a
/// format with `%z` keeps its zone; zone-less ones are Asia/Shanghai, UTC+8, no DST since
/// 1991); without, RFC 3339/2822 or the usual Chinese forms, also found inside surrounding
/// text such as `发布时间：2024-05-01 08:00 来源：…`.
pub fn parse_time(text: &str, format: Option<&str>) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if format.is_none()
        && let Some(t) = crate::feed::parse_date(text)
    {
        return Some(t);
    }
    let formats: Vec<&str> = match format {
        Some(f) => vec![f],
        None => crate::feed::CHINESE_TIME_FORMATS.to_vec(),
    };
    for (i, _) in text.char_indices() {
        let s = &text[i..];
        for f in &formats {
            if let Ok((d, _)) = DateTime::parse_and_remainder(s, f) {
                return Some(d.with_timezone(&Utc));
            }
            if let Ok((n, _)) = NaiveDateTime::parse_and_remainder(s, f) {
                return crate::feed::china_to_utc(n);
            }
            if let Ok((d, _)) = NaiveDate::parse_and_remainder(s, f) {
                return crate::feed::china_to_utc(d.and_hms_opt(0, 0, 0)?);
            }
        }
    }
    None
}

/// `作者：王五` → `王五`.
fn clean_author(a: &str) -> String {
    let a = a.trim();
    for p in ["作者", "记者", "编辑", "责任编辑", "来源", "文"] {
        if let Some(rest) = a.strip_prefix(p) {
            let rest = rest.trim_start_matches([':', '：', '|', '/', ' ']);
            if !rest.is_empty() {
                return rest.trim().to_string();
            }
        }
    }
    a.to_string()
}

/// Parse a detail page into a document. Pure: no I/O.
pub fn parse_detail(
    bytes: &[u8],
    content_type: Option<&str>,
    url: &url::Url,
    rules: &DetailRules,
    meta: &ItemMeta,
    fetched_at: DateTime<Utc>,
) -> Detail {
    let doc = html_document(bytes, content_type, url);
    let mut missing = Vec::new();
    let title = match &rules.title {
        Some(c) => select_text(&doc, c).unwrap_or_else(|| {
            missing.push("title");
            String::new()
        }),
        None => fallback_title(&doc),
    };
    let body = match &rules.body {
        Some(c) => {
            let b = select_body(&doc, c);
            if b.is_empty() {
                missing.push("body");
            }
            b
        }
        None => extract_from(&doc),
    };
    let published_at = rules.time.as_ref().and_then(|c| {
        let t = select_text(&doc, c).and_then(|t| parse_time(&t, rules.time_format.as_deref()));
        if t.is_none() {
            missing.push("time");
        }
        t
    });
    let author = rules.author.as_ref().and_then(|c| {
        let a = select_text(&doc, c)
            .map(|a| clean_author(&a))
            .filter(|a| !a.is_empty());
        if a.is_none() {
            missing.push("author");
        }
        a
    });
    let item_key = canonical_url(url);
    Detail {
        doc: RawDoc {
            id: doc_id(&meta.source_id, &item_key),
            source_id: meta.source_id.clone(),
            channel: meta.channel,
            item_key,
            url: Some(url.to_string()),
            title,
            body,
            author,
            published_at,
            fetched_at,
            tags: meta.tags.clone(),
        },
        missing,
    }
}

/// Main content of an already parsed document (the extractor works on serialized HTML).
fn extract_from(doc: &Html) -> String {
    extract::main_content(&doc.html())
}

/// Parse a page watched as a whole: one document whose item key carries the hash of its main
/// content, and that hash. Pure.
pub fn parse_whole_page(
    bytes: &[u8],
    content_type: Option<&str>,
    url: &url::Url,
    rules: &DetailRules,
    meta: &ItemMeta,
    fetched_at: DateTime<Utc>,
) -> (Detail, String) {
    let mut d = parse_detail(bytes, content_type, url, rules, meta, fetched_at);
    let hash = content_hash(format!("{}\n{}", d.doc.title, d.doc.body).as_bytes());
    d.doc.item_key = format!("{}#v={}", canonical_url(url), &hash[..16]);
    d.doc.id = doc_id(&meta.source_id, &d.doc.item_key);
    (d, hash)
}

/// Fetch without validators; a 304 cannot happen then, and is reported if it does.
pub(crate) async fn fetch_plain(
    ctx: &PollContext,
    url: &url::Url,
    robots: bool,
) -> Result<crate::Body, ConnectorError> {
    match ctx
        .fetcher
        .get_with(url, &Checkpoint::default(), RequestOptions { robots })
        .await?
    {
        Fetched::Body(b) => Ok(b),
        Fetched::NotModified => Err(ConnectorError::Parse(
            "unexpected 304 Not Modified to an unconditional request".into(),
        )),
    }
}

/// A detail fetch failure that skips the item rather than failing the poll: the item is gone
/// (4xx other than 429) or robots.txt forbids it.
pub(crate) fn skippable(e: &FetchError) -> bool {
    match e {
        FetchError::Status { status, .. } => (400..500).contains(status) && *status != 429,
        FetchError::Robots | FetchError::Empty => true,
        _ => false,
    }
}

/// The poll error for configured selectors that matched nothing on every item.
pub(crate) fn missing_error(details: &[Detail], rules: &DetailRules) -> Option<ConnectorError> {
    if details.is_empty() {
        return None;
    }
    let sel = |name: &str| match name {
        "title" => rules.title.as_ref(),
        "body" => rules.body.as_ref(),
        "time" => rules.time.as_ref(),
        _ => rules.author.as_ref(),
    };
    let dead: Vec<String> = ["title", "body", "time", "author"]
        .into_iter()
        .filter(|n| details.iter().all(|d| d.missing.contains(n)))
        .filter_map(|n| sel(n).map(|c| format!("params.{n} `{}`", c.css)))
        .collect();
    (!dead.is_empty()).then(|| {
        ConnectorError::Parse(format!(
            "selector matched nothing on any of {} detail pages: {}",
            details.len(),
            dead.join(", ")
        ))
    })
}

impl WebPageConnector {
    async fn poll_whole(
        &self,
        ctx: &PollContext,
        checkpoint: &Checkpoint,
    ) -> Result<Poll, ConnectorError> {
        let opts = RequestOptions {
            robots: self.robots,
        };
        let body = match ctx
            .fetcher
            .get_with(&self.list_url, checkpoint, opts)
            .await?
        {
            Fetched::NotModified => {
                return Ok(Poll {
                    not_modified: true,
                    ..Poll::default()
                });
            }
            Fetched::Body(b) => b,
        };
        let (d, hash) = parse_whole_page(
            &body.bytes,
            body.content_type.as_deref(),
            &body.final_url,
            &self.rules,
            &self.meta,
            Utc::now(),
        );
        if d.doc.body.is_empty() {
            return Err(ConnectorError::Parse(match &self.rules.body {
                Some(c) => format!("selector matched nothing: params.body `{}`", c.css),
                None => "main-content extraction found no text on the page".into(),
            }));
        }
        if let Some(e) = missing_error(std::slice::from_ref(&d), &self.rules) {
            return Err(e);
        }
        let new_checkpoint = Checkpoint {
            etag: body.etag.clone(),
            last_modified: body.last_modified.clone(),
            content_hash: Some(hash.clone()),
        };
        let unchanged = checkpoint.content_hash.as_deref() == Some(hash.as_str());
        Ok(Poll {
            items: if unchanged { vec![] } else { vec![d.doc] },
            checkpoint: Some(new_checkpoint),
            not_modified: unchanged,
        })
    }

    async fn poll_list(
        &self,
        ctx: &PollContext,
        checkpoint: &Checkpoint,
    ) -> Result<Poll, ConnectorError> {
        let items_css = self.items.as_ref().ok_or_else(|| {
            ConnectorError::Parse("params.item_selector is required in list mode".into())
        })?;
        let opts = RequestOptions {
            robots: self.robots,
        };
        let mut links: Vec<url::Url> = Vec::new();
        let mut keys = std::collections::HashSet::new();
        let mut page_url = self.list_url.clone();
        let mut validators = (None, None);
        let mut visited = std::collections::HashSet::new();
        for page in 0..self.pages {
            visited.insert(canonical_url(&page_url));
            // Conditional GET only makes sense when the first page is all there is.
            let body = if self.pages == 1 {
                match ctx.fetcher.get_with(&page_url, checkpoint, opts).await? {
                    Fetched::NotModified => {
                        return Ok(Poll {
                            not_modified: true,
                            ..Poll::default()
                        });
                    }
                    Fetched::Body(b) => b,
                }
            } else {
                fetch_plain(ctx, &page_url, self.robots).await?
            };
            if page == 0 {
                validators = (body.etag.clone(), body.last_modified.clone());
            }
            let doc = html_document(&body.bytes, body.content_type.as_deref(), &body.final_url);
            let found = list_links(&doc, &body.final_url, items_css);
            if found.is_empty() {
                if page == 0 {
                    return Err(ConnectorError::Parse(format!(
                        "selector matched nothing: params.item_selector `{}` found no links on the list page",
                        items_css.css
                    )));
                }
                break;
            }
            for u in found {
                if keys.insert(canonical_url(&u)) {
                    links.push(u);
                }
            }
            let next = self.next.as_ref().and_then(|c| {
                doc.select(&c.selector)
                    .find_map(|e| link_of(e, &body.final_url))
            });
            match next {
                Some(n) if !visited.contains(&canonical_url(&n)) => page_url = n,
                _ => break,
            }
        }
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort();
        let set_hash = content_hash(
            sorted
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
                .as_bytes(),
        );
        let new_checkpoint = Checkpoint {
            etag: validators.0,
            last_modified: validators.1,
            content_hash: Some(set_hash.clone()),
        };
        if checkpoint.content_hash.as_deref() == Some(set_hash.as_str()) {
            return Ok(Poll {
                items: vec![],
                checkpoint: Some(new_checkpoint),
                not_modified: true,
            });
        }
        let mut details = Vec::new();
        for link in links.iter().take(self.max_items) {
            let body = match fetch_plain(ctx, link, self.robots).await {
                Ok(b) => b,
                Err(ConnectorError::Fetch(e)) if skippable(&e) => {
                    tracing::debug!(source = %self.meta.source_id, url = %crate::redact_url(link), error = %e, "detail page skipped");
                    continue;
                }
                Err(e) => return Err(e),
            };
            details.push(parse_detail(
                &body.bytes,
                body.content_type.as_deref(),
                &body.final_url,
                &self.rules,
                &self.meta,
                Utc::now(),
            ));
        }
        if let Some(e) = missing_error(&details, &self.rules) {
            return Err(e);
        }
        Ok(Poll {
            items: details
                .into_iter()
                .map(|d| d.doc)
                .filter(|d| !d.title.is_empty() || !d.body.is_empty())
                .collect(),
            checkpoint: Some(new_checkpoint),
            not_modified: false,
        })
    }
}

#[async_trait]
impl Connector for WebPageConnector {
    async fn poll(
        &self,
        ctx: &PollContext,
        checkpoint: &Checkpoint,
    ) -> Result<Poll, ConnectorError> {
        match self.mode {
            Mode::List => self.poll_list(ctx, checkpoint).await,
            Mode::WholePage => self.poll_whole(ctx, checkpoint).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_model::{Channel, SourceId};

    fn meta() -> ItemMeta {
        ItemMeta {
            source_id: SourceId("web/t".into()),
            channel: Channel::Web,
            tags: vec!["t".into()],
        }
    }

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn canonical_urls_unify_tracking_scheme_and_slash() {
        let a = canonical_url(&u(
            "http://News.Example.cn/a/1/?utm_source=wx&spm=1.2&id=7&from=timeline#top",
        ));
        assert_eq!(a, "https://news.example.cn/a/1?id=7");
        assert_eq!(canonical_url(&u("https://news.example.cn/a/1?id=7")), a);
        assert_eq!(
            canonical_url(&u("https://x.example/?b=2&a=1")),
            "https://x.example?a=1&b=2"
        );
        assert_eq!(
            canonical_url(&u("http://x.example:8080/p")),
            "https://x.example:8080/p"
        );
    }

    const LIST: &str = r#"<html><body><ul class="list">
<li><a href="/a/1.html?utm_source=x">一</a></li><li><a href="/a/1.html">一（重复）</a></li>
<li><span><a href="https://other.example/a/2.html#c">二</a></span></li>
<li><a href="javascript:void(0)">坏</a></li></ul><a class="next" href="?page=2">下一页</a></body></html>"#;

    #[test]
    fn list_links_are_resolved_and_distinct() {
        let base = u("https://news.example.cn/list/");
        let links = parse_list(
            LIST.as_bytes(),
            None,
            &base,
            &Css::parse("ul.list li").unwrap(),
        );
        let s: Vec<String> = links.iter().map(ToString::to_string).collect();
        assert_eq!(
            s,
            [
                "https://news.example.cn/a/1.html?utm_source=x",
                "https://other.example/a/2.html"
            ]
        );
        assert_eq!(
            parse_next(LIST.as_bytes(), None, &base, &Css::parse("a.next").unwrap())
                .unwrap()
                .as_str(),
            "https://news.example.cn/list/?page=2"
        );
    }

    #[test]
    fn detail_selectors_and_gbk() {
        let html = r#"<html><head><meta charset="gbk"><title>站点标题</title>
<meta property="article:published_time" content="2024-11-05T08:00:00+08:00"></head><body>
<h1 class="t">恒信消费金融回应投诉</h1><div class="info">发布时间：2024年11月05日 09:30 来源：财经日报</div>
<span class="au">作者：王五</span><div class="c"><p>第一段。</p><script>x()</script><p>第二段。</p></div></body></html>"#;
        let bytes = encoding_rs::GBK.encode(html).0.into_owned();
        let rules = DetailRules {
            title: Some(Css::parse("h1.t").unwrap()),
            body: Some(Css::parse("div.c").unwrap()),
            time: Some(Css::parse("div.info").unwrap()),
            time_format: Some("%Y年%m月%d日 %H:%M".into()),
            author: Some(Css::parse("span.au").unwrap()),
        };
        let url = u("https://news.example.cn/a/1.html?spm=x");
        let d = parse_detail(&bytes, Some("text/html"), &url, &rules, &meta(), Utc::now());
        assert!(d.missing.is_empty(), "{:?}", d.missing);
        assert_eq!(d.doc.title, "恒信消费金融回应投诉");
        assert_eq!(d.doc.body, "第一段。\n第二段。");
        assert_eq!(d.doc.author.as_deref(), Some("王五"));
        assert_eq!(
            d.doc.published_at.unwrap().to_rfc3339(),
            "2024-11-05T01:30:00+00:00"
        );
        assert_eq!(d.doc.item_key, "https://news.example.cn/a/1.html");
        assert_eq!(d.doc.url.as_deref(), Some(url.as_str()));
        // meta content is used for meta elements
        let r2 = DetailRules {
            time: Some(Css::parse("meta[property='article:published_time']").unwrap()),
            ..DetailRules::default()
        };
        let d2 = parse_detail(&bytes, None, &url, &r2, &meta(), Utc::now());
        assert_eq!(
            d2.doc.published_at.unwrap().to_rfc3339(),
            "2024-11-05T00:00:00+00:00"
        );
        assert_eq!(d2.doc.title, "恒信消费金融回应投诉");
        assert!(d2.doc.body.contains("第一段"), "{}", d2.doc.body);
        let r3 = DetailRules {
            title: Some(Css::parse("h2.none").unwrap()),
            time: Some(Css::parse("span.au").unwrap()),
            ..DetailRules::default()
        };
        let d3 = parse_detail(&bytes, None, &url, &r3, &meta(), Utc::now());
        assert_eq!(d3.missing, ["title", "time"]);
        let e = missing_error(&[d3], &r3).unwrap();
        assert!(e.to_string().contains("params.title `h2.none`"), "{e}");
    }

    #[test]
    fn time_forms() {
        let t = |s, f| parse_time(s, f).map(|d| d.to_rfc3339());
        assert_eq!(
            t("2024-05-01 08:00", None).as_deref(),
            Some("2024-05-01T00:00:00+00:00")
        );
        assert_eq!(
            t("时间：2024/05/01 08:00 来源", None).as_deref(),
            Some("2024-05-01T00:00:00+00:00")
        );
        assert_eq!(
            t("05-01-2024 08h00", Some("%m-%d-%Y %Hh%M")).as_deref(),
            Some("2024-05-01T00:00:00+00:00")
        );
        assert_eq!(
            t("2024-05-01 08:00 +0000", Some("%Y-%m-%d %H:%M %z")).as_deref(),
            Some("2024-05-01T08:00:00+00:00")
        );
        assert_eq!(t("no time", None), None);
    }

    #[test]
    fn whole_page_versions_follow_main_content() {
        let page = |ad: &str, text: &str| {
            format!(
                "<html><body><div class=nav><a href=/>首页</a></div><div class=ad>{ad}</div><div id=c><p>{text}，这是正文的一部分内容。</p><p>第二段也是正文的一部分，内容较长。</p></div></body></html>"
            )
        };
        let url = u("https://gov.example.cn/notice/");
        let r = DetailRules::default();
        let (a, ha) = parse_whole_page(
            page("广告A", "公告").as_bytes(),
            None,
            &url,
            &r,
            &meta(),
            Utc::now(),
        );
        let (_, hb) = parse_whole_page(
            page("广告B", "公告").as_bytes(),
            None,
            &url,
            &r,
            &meta(),
            Utc::now(),
        );
        let (c, hc) = parse_whole_page(
            page("广告A", "更新后的公告").as_bytes(),
            None,
            &url,
            &r,
            &meta(),
            Utc::now(),
        );
        assert_eq!(ha, hb, "an ad change is not a content change");
        assert_ne!(ha, hc);
        assert_ne!(a.doc.id, c.doc.id);
        assert!(
            a.doc
                .item_key
                .starts_with("https://gov.example.cn/notice#v=")
        );
    }

    #[test]
    fn params_are_validated() {
        let b = |p: &str| build(&crate::tests::spec("web_page", p), &BuildContext::default());
        let e = b("list_url = \"https://x.example/\"").err().unwrap();
        assert_eq!(e[0].key, "params.item_selector");
        let e = b("list_url = \"https://x.example/\"\nitem_selector = \"a[\"")
            .err()
            .unwrap();
        assert_eq!(e[0].key, "params.item_selector");
        assert!(e[0].reason.contains("not a valid CSS selector"), "{e:?}");
        let e = b("list_url = \"https://x.example/\"\nitem_selector = \"a\"\npages = 3")
            .err()
            .unwrap();
        assert_eq!(e[0].key, "params.next_selector");
        let e =
            b("list_url = \"https://x.example/\"\nmode = \"whole_page\"\nitem_selector = \"a\"")
                .err()
                .unwrap();
        assert_eq!(e[0].key, "params.item_selector");
        let e =
            b("list_url = \"https://x.example/\"\nitem_selector = \"a\"\nmax_items_per_poll = 0")
                .err()
                .unwrap();
        assert_eq!(e[0].key, "params.max_items_per_poll");
        let e = b("list_url = \"https://x.example/\"\nitem_selector = \"a\"\nbogus = 1")
            .err()
            .unwrap();
        assert!(e[0].reason.contains("unknown field `bogus`"), "{e:?}");
        assert!(b("list_url = \"https://x.example/\"\nmode = \"whole_page\"").is_ok());
    }
}
