//! `kind = "complaint_site"`: complaint platforms in the style of 黑猫投诉. A list (paginated
//! by a page parameter) of complaints, read either as a JSON API (`format = "json"`: every
//! field is a JSON pointer into one element of the items array) or as HTML (`format =
//! "html"`, the default: `items` selects the detail links on the list page and every other
//! field is a CSS selector on the detail page).
//!
//! ```toml
//! version = 1
//! kind = "complaint_site"
//! channel = "complaint"
//! [params]
//! format = "json"
//! list_url = "https://tousu.example.com/api/complaints?keyword=恒信"
//! page_param = "page"          # pagination: ?page=1, 2, … up to max_pages (stops on an empty page)
//! first_page = 1               # default 1
//! max_pages = 3                # default 1
//! token = "${TOUSU_TOKEN}"     # optional, appended to every request as token_param; never stored or logged
//! token_param = "token"        # default "token"
//! sign_secret = "${TOUSU_SIGN_SECRET}"  # optional: sign every request (below); never stored or logged
//! sign_param = "sign"          # default "sign"
//! timestamp_param = "ts"       # default "ts"
//! items = "/data/list"         # JSON: pointer to the array; HTML: CSS of the detail links
//! id = "/id"                   # JSON: required; HTML: optional (default: last path segment of the detail URL)
//! title = "/title"
//! text = "/content"
//! target = "/company"          # 投诉对象
//! issue = "/issue"             # 投诉问题
//! demand = "/demand"           # 诉求
//! amount = "/amount"           # 涉诉金额 (numbers get 元)
//! status = "/status"           # 待回复 / 已回复 / 已完成 …
//! created = "/created_at"      # text (time_format or the usual forms) or epoch seconds/milliseconds
//! updated = "/updated_at"
//! url = "/url"                 # JSON only: the complaint's page, else url_template
//! url_template = "https://tousu.example.com/complaints/{id}"
//! time_format = "%Y-%m-%d %H:%M:%S"   # optional chrono format, zone-less = Asia/Shanghai
//! max_items_per_poll = 50      # complaints (HTML: detail pages) per poll at most (default 50)
//! ```
//!
//! Each complaint becomes a [`RawDoc`] with item key `complaint:<platform id>`, its fields
//! rendered into the body (`投诉对象：…\n投诉问题：…\n诉求：…\n涉诉金额：…\n状态：…`, then the
//! text) and its status as a tag (`status:已回复`). A status change therefore changes the
//! body under the same id, and the pipeline updates the document in place.
//!
//! **Signed requests.** With `sign_secret`, every request (list pages and detail pages) also
//! carries `ts=<Unix seconds>` and `sign=<hex HMAC-SHA256(secret, path + ts)>`, where `path`
//! is the request URL's path as sent (e.g. `/api/complaints`) and `ts` the same decimal
//! string, the scheme such platforms use so that a leaked URL stops working within minutes.
//! Token, timestamp and signature are removed from every URL that is stored.
//!
//! **Refetching.** JSON: the checkpoint's content hash covers the bytes of every list page
//! read, so an unchanged list is `not_modified`. HTML: status changes show on detail pages,
//! so up to `max_items_per_poll` detail pages are fetched every poll (the bound keeps it
//! polite; the pipeline skips unchanged documents).
//!
//! **Health.** An items array or selector that yields nothing on the first page, and an `id`,
//! `title`, `text`, `target`, `status` or `created` field that is empty on every complaint of
//! the poll, fail the poll with class `parse` and a message naming the parameter.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;
use yuqing_config::{ConfigError, SourceSpec};
use yuqing_model::{Checkpoint, RawDoc};

use crate::feed::ItemMeta;
use crate::web_page::{
    Css, canonical_url, fetch_plain, html_document, parse_time, select_body, select_text, skippable,
};
use crate::{
    BuildContext, Connector, ConnectorError, Poll, PollContext, content_hash, doc_id, http_url,
};

/// Default complaints per poll.
pub const DEFAULT_MAX_ITEMS_PER_POLL: usize = 50;
/// The largest `max_pages` accepted.
pub const MAX_PAGES_LIMIT: u32 = 50;
/// Default name of the token query parameter.
pub const DEFAULT_TOKEN_PARAM: &str = "token";
/// Default name of the signature query parameter.
pub const DEFAULT_SIGN_PARAM: &str = "sign";
/// Default name of the timestamp query parameter of signed requests.
pub const DEFAULT_TIMESTAMP_PARAM: &str = "ts";

/// How the platform answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// HTML list and detail pages, CSS selectors.
    #[default]
    Html,
    /// A JSON API, JSON pointers.
    Json,
}

/// `[params]` of a complaint_site source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintParams {
    /// `html` (default) or `json`.
    #[serde(default)]
    pub format: Format,
    /// The list page or API endpoint.
    pub list_url: String,
    /// Query parameter carrying the page number (no pagination when absent).
    pub page_param: Option<String>,
    /// Number of the first page (default 1).
    pub first_page: Option<u32>,
    /// Pages to read at most (default 1).
    pub max_pages: Option<u32>,
    /// API token, from `${ENV}`; appended to every request, never stored.
    pub token: Option<String>,
    /// Query parameter carrying the token (default `token`).
    pub token_param: Option<String>,
    /// Secret of the request signature (HMAC-SHA256 of path + timestamp), from `${ENV}`.
    pub sign_secret: Option<String>,
    /// Query parameter carrying the signature (default `sign`).
    pub sign_param: Option<String>,
    /// Query parameter carrying the signature's timestamp (default `ts`).
    pub timestamp_param: Option<String>,
    /// JSON: pointer to the items array. HTML: CSS selector of the detail links.
    pub items: String,
    /// The platform's complaint id.
    pub id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// The complaint's text.
    pub text: Option<String>,
    /// 投诉对象: the company complained about.
    pub target: Option<String>,
    /// 投诉问题: the issue.
    pub issue: Option<String>,
    /// 诉求: what the complainant demands.
    pub demand: Option<String>,
    /// 涉诉金额: the amount at stake.
    pub amount: Option<String>,
    /// Status (待回复 / 已回复 / 已完成 …).
    pub status: Option<String>,
    /// When the complaint was filed.
    pub created: Option<String>,
    /// When it last changed.
    pub updated: Option<String>,
    /// JSON only: pointer to the complaint's page.
    pub url: Option<String>,
    /// JSON only: the complaint's page with `{id}` replaced.
    pub url_template: Option<String>,
    /// chrono format of `created`/`updated` text.
    pub time_format: Option<String>,
    /// Complaints (HTML: detail pages) per poll at most.
    pub max_items_per_poll: Option<usize>,
}

/// One complaint as the platform shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Complaint {
    /// The platform's id.
    pub id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Text.
    pub text: Option<String>,
    /// 投诉对象.
    pub target: Option<String>,
    /// 投诉问题.
    pub issue: Option<String>,
    /// 诉求.
    pub demand: Option<String>,
    /// 涉诉金额.
    pub amount: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Filed at.
    pub created: Option<DateTime<Utc>>,
    /// Last changed at.
    pub updated: Option<DateTime<Utc>>,
    /// The complaint's page (without the token).
    pub url: Option<String>,
}

/// Field locators: JSON pointers or CSS selectors.
#[derive(Debug, Clone)]
pub struct Fields<T> {
    /// `params.id`.
    pub id: Option<T>,
    /// `params.title`.
    pub title: Option<T>,
    /// `params.text`.
    pub text: Option<T>,
    /// `params.target`.
    pub target: Option<T>,
    /// `params.issue`.
    pub issue: Option<T>,
    /// `params.demand`.
    pub demand: Option<T>,
    /// `params.amount`.
    pub amount: Option<T>,
    /// `params.status`.
    pub status: Option<T>,
    /// `params.created`.
    pub created: Option<T>,
    /// `params.updated`.
    pub updated: Option<T>,
    /// `params.url` (JSON only).
    pub url: Option<T>,
}

impl<T> Default for Fields<T> {
    fn default() -> Self {
        Fields {
            id: None,
            title: None,
            text: None,
            target: None,
            issue: None,
            demand: None,
            amount: None,
            status: None,
            created: None,
            updated: None,
            url: None,
        }
    }
}

impl<T> Fields<T> {
    fn try_map<U, E>(
        &self,
        mut f: impl FnMut(&'static str, &T) -> Result<U, E>,
    ) -> Result<Fields<U>, Vec<E>> {
        let mut errors = Vec::new();
        let mut one = |k: &'static str, v: &Option<T>| -> Option<U> {
            v.as_ref().and_then(|v| match f(k, v) {
                Ok(u) => Some(u),
                Err(e) => {
                    errors.push(e);
                    None
                }
            })
        };
        let out = Fields {
            id: one("id", &self.id),
            title: one("title", &self.title),
            text: one("text", &self.text),
            target: one("target", &self.target),
            issue: one("issue", &self.issue),
            demand: one("demand", &self.demand),
            amount: one("amount", &self.amount),
            status: one("status", &self.status),
            created: one("created", &self.created),
            updated: one("updated", &self.updated),
            url: one("url", &self.url),
        };
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    fn is_set(&self, name: &str) -> bool {
        match name {
            "id" => self.id.is_some(),
            "title" => self.title.is_some(),
            "text" => self.text.is_some(),
            "target" => self.target.is_some(),
            "status" => self.status.is_some(),
            "created" => self.created.is_some(),
            _ => false,
        }
    }
}

/// How a configured source reads its platform.
#[derive(Debug, Clone)]
enum Reader {
    Json {
        items: String,
        fields: Fields<String>,
        url_template: Option<String>,
    },
    Html {
        items: Css,
        fields: Fields<Css>,
    },
}

/// How requests are signed.
#[derive(Clone)]
pub struct Signer {
    secret: String,
    sign_param: String,
    timestamp_param: String,
}

impl Signer {
    /// A signer with this secret and parameter names.
    pub fn new(secret: &str, sign_param: &str, timestamp_param: &str) -> Signer {
        Signer {
            secret: secret.to_string(),
            sign_param: sign_param.to_string(),
            timestamp_param: timestamp_param.to_string(),
        }
    }

    /// Hex HMAC-SHA256 of `path` followed by `ts` (what the platform recomputes).
    pub fn signature(&self, path: &str, ts: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(path.as_bytes());
        mac.update(ts.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A configured complaint_site source.
pub struct ComplaintConnector {
    list_url: url::Url,
    reader: Reader,
    page_param: Option<String>,
    first_page: u32,
    max_pages: u32,
    token: Option<(String, String)>,
    sign: Option<Signer>,
    time_format: Option<String>,
    max_items: usize,
    meta: ItemMeta,
    robots: bool,
    /// The params as written, for error messages.
    names: Fields<String>,
}

/// The registry's factory for `complaint_site`.
pub fn build(
    spec: &SourceSpec,
    ctx: &BuildContext,
) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
    let p: ComplaintParams = crate::params(spec)?;
    let list_url = http_url(spec, ctx, "list_url", &p.list_url)?;
    let err =
        |key: &str, reason: String| ConfigError::new(&spec.file, format!("params.{key}"), reason);
    let mut errors = Vec::new();
    let raw = Fields {
        id: p.id.clone(),
        title: p.title.clone(),
        text: p.text.clone(),
        target: p.target.clone(),
        issue: p.issue.clone(),
        demand: p.demand.clone(),
        amount: p.amount.clone(),
        status: p.status.clone(),
        created: p.created.clone(),
        updated: p.updated.clone(),
        url: p.url.clone(),
    };
    let reader = match p.format {
        Format::Json => {
            let pointer = |k: &'static str, v: &String| {
                if v.is_empty() || v.starts_with('/') {
                    Ok(v.clone())
                } else {
                    Err(err(
                        k,
                        format!("`{v}` is not a JSON pointer: write it like `/data/list`"),
                    ))
                }
            };
            if let Err(e) = pointer("items", &p.items) {
                errors.push(e);
            }
            if p.id.is_none() {
                errors.push(err(
                    "id",
                    "required with format = \"json\": the pointer to the complaint id".into(),
                ));
            }
            if let Some(t) = &p.url_template
                && !t.contains("{id}")
            {
                errors.push(err("url_template", "must contain `{id}`".into()));
            }
            match raw.try_map(pointer) {
                Ok(fields) => Some(Reader::Json {
                    items: p.items.clone(),
                    fields,
                    url_template: p.url_template.clone(),
                }),
                Err(e) => {
                    errors.extend(e);
                    None
                }
            }
        }
        Format::Html => {
            for (k, v) in [("url", &p.url), ("url_template", &p.url_template)] {
                if v.is_some() {
                    errors.push(err(k, "only used with format = \"json\"".into()));
                }
            }
            let items = Css::parse(&p.items).map_err(|r| err("items", r));
            let fields = raw.try_map(|k, v| Css::parse(v).map_err(|r| err(k, r)));
            match (items, fields) {
                (Ok(items), Ok(fields)) => Some(Reader::Html { items, fields }),
                (i, f) => {
                    errors.extend(i.err());
                    errors.extend(f.err().unwrap_or_default());
                    None
                }
            }
        }
    };
    let max_pages = p.max_pages.unwrap_or(1);
    if max_pages == 0 || max_pages > MAX_PAGES_LIMIT {
        errors.push(err(
            "max_pages",
            format!("must be between 1 and {MAX_PAGES_LIMIT}"),
        ));
    }
    if max_pages > 1 && p.page_param.is_none() {
        errors.push(err(
            "page_param",
            "required when max_pages > 1: the query parameter of the page number".into(),
        ));
    }
    let max_items = p.max_items_per_poll.unwrap_or(DEFAULT_MAX_ITEMS_PER_POLL);
    if max_items == 0 || max_items > crate::web_page::MAX_ITEMS_PER_POLL_LIMIT {
        errors.push(err(
            "max_items_per_poll",
            format!(
                "must be between 1 and {}",
                crate::web_page::MAX_ITEMS_PER_POLL_LIMIT
            ),
        ));
    }
    if p.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        errors.push(err(
            "token",
            "is empty: export the variable it names".into(),
        ));
    }
    if p.sign_secret
        .as_deref()
        .is_some_and(|t| t.trim().is_empty())
    {
        errors.push(err(
            "sign_secret",
            "is empty: export the variable it names".into(),
        ));
    }
    for (k, v) in [
        ("sign_param", &p.sign_param),
        ("timestamp_param", &p.timestamp_param),
    ] {
        if v.is_some() && p.sign_secret.is_none() {
            errors.push(err(k, "only used with sign_secret".into()));
        }
    }
    let (Some(reader), true) = (reader, errors.is_empty()) else {
        return Err(errors);
    };
    Ok(Arc::new(ComplaintConnector {
        list_url,
        reader,
        page_param: p.page_param,
        first_page: p.first_page.unwrap_or(1),
        max_pages,
        token: p.token.map(|t| {
            (
                p.token_param
                    .unwrap_or_else(|| DEFAULT_TOKEN_PARAM.to_string()),
                t,
            )
        }),
        sign: p.sign_secret.map(|secret| Signer {
            secret,
            sign_param: p
                .sign_param
                .unwrap_or_else(|| DEFAULT_SIGN_PARAM.to_string()),
            timestamp_param: p
                .timestamp_param
                .unwrap_or_else(|| DEFAULT_TIMESTAMP_PARAM.to_string()),
        }),
        time_format: p.time_format,
        max_items,
        meta: ItemMeta {
            source_id: spec.id.clone(),
            channel: spec.channel,
            tags: spec.tags.clone(),
        },
        robots: spec.ignore_robots.is_none(),
        names: raw,
    }))
}

/// A JSON value as display text: strings trimmed, numbers and booleans printed, others none.
fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A time given as text (`time_format` or the usual forms) or as epoch seconds/milliseconds.
fn json_time(v: &Value, format: Option<&str>) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => {
            let n = n.as_i64()?;
            let secs = if n > 100_000_000_000 { n / 1000 } else { n };
            Utc.timestamp_opt(secs, 0).single()
        }
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(_) => json_time(&Value::Number(s.trim().parse::<i64>().ok()?.into()), format),
            Err(_) => parse_time(s, format),
        },
        _ => None,
    }
}

/// The complaints of one JSON list page. `Err` when the body is not JSON or `items` is not
/// an array. Pure.
pub fn parse_json_page(
    bytes: &[u8],
    items: &str,
    fields: &Fields<String>,
    url_template: Option<&str>,
    time_format: Option<&str>,
    base: Option<&url::Url>,
) -> Result<Vec<Complaint>, ConnectorError> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| ConnectorError::Parse(format!("list page is not JSON: {e}")))?;
    let arr = v.pointer(items).and_then(Value::as_array).ok_or_else(|| {
        ConnectorError::Parse(format!(
            "selector matched nothing: params.items `{items}` is not an array in the response"
        ))
    })?;
    Ok(arr
        .iter()
        .map(|it| {
            let get = |p: &Option<String>| p.as_deref().and_then(|p| it.pointer(p));
            let text = |p: &Option<String>| get(p).and_then(json_text);
            let id = text(&fields.id);
            let url: Option<String> =
                text(&fields.url).or_else(|| Some(url_template?.replace("{id}", id.as_deref()?)));
            let url = url.map(|u| match base.and_then(|b| b.join(&u).ok()) {
                Some(abs) => abs.to_string(),
                None => u,
            });
            Complaint {
                title: text(&fields.title),
                text: text(&fields.text).map(|t| crate::html::to_text(&t)),
                target: text(&fields.target),
                issue: text(&fields.issue),
                demand: text(&fields.demand),
                amount: get(&fields.amount).and_then(|a| match a {
                    Value::Number(n) => Some(format!("{n}元")),
                    other => json_text(other),
                }),
                status: text(&fields.status),
                created: get(&fields.created).and_then(|t| json_time(t, time_format)),
                updated: get(&fields.updated).and_then(|t| json_time(t, time_format)),
                url,
                id,
            }
        })
        .collect())
}

/// `投诉对象：恒信` → `恒信`: drop a short label the page prints before the value.
fn strip_label(s: String) -> String {
    if let Some((label, rest)) = s.split_once(['：', ':'])
        && label.chars().count() <= 6
        && !label.chars().any(|c| c.is_ascii_digit())
        && !rest.trim().is_empty()
    {
        return rest.trim().to_string();
    }
    s
}

/// A complaint's detail page. The id falls back to the last path segment of `url` (without
/// extension). Pure.
pub fn parse_html_detail(
    bytes: &[u8],
    content_type: Option<&str>,
    url: &url::Url,
    fields: &Fields<Css>,
    time_format: Option<&str>,
) -> Complaint {
    let doc = html_document(bytes, content_type, url);
    let text = |c: &Option<Css>| {
        c.as_ref()
            .and_then(|c| select_text(&doc, c))
            .map(strip_label)
    };
    let time = |c: &Option<Css>| {
        c.as_ref()
            .and_then(|c| select_text(&doc, c))
            .and_then(|t| parse_time(&t, time_format))
    };
    let id = text(&fields.id).or_else(|| {
        url.path_segments()?
            .rfind(|s| !s.is_empty())
            .map(|s| s.split('.').next().unwrap_or(s).to_string())
    });
    Complaint {
        id,
        title: text(&fields.title)
            .or_else(|| Some(crate::web_page::fallback_title(&doc)).filter(|t| !t.is_empty())),
        text: fields
            .text
            .as_ref()
            .map(|c| select_body(&doc, c))
            .filter(|t| !t.is_empty()),
        target: text(&fields.target),
        issue: text(&fields.issue),
        demand: text(&fields.demand),
        amount: text(&fields.amount),
        status: text(&fields.status),
        created: time(&fields.created),
        updated: time(&fields.updated),
        url: Some(url.to_string()),
    }
}

/// The document of a complaint: item key `complaint:<id>`, fields rendered into the body,
/// status as a `status:` tag, published at its filing time. `None` without an id.
pub fn to_doc(c: &Complaint, meta: &ItemMeta, fetched_at: DateTime<Utc>) -> Option<RawDoc> {
    let id = c.id.as_deref()?;
    let item_key = format!("complaint:{id}");
    let mut lines = Vec::new();
    for (label, v) in [
        ("投诉对象", &c.target),
        ("投诉问题", &c.issue),
        ("诉求", &c.demand),
        ("涉诉金额", &c.amount),
        ("状态", &c.status),
    ] {
        if let Some(v) = v {
            lines.push(format!("{label}：{v}"));
        }
    }
    if let Some(u) = c.updated {
        lines.push(format!(
            "更新时间：{}",
            u.with_timezone(&crate::feed::china())
                .format("%Y-%m-%d %H:%M")
        ));
    }
    if let Some(t) = &c.text {
        lines.push(t.clone());
    }
    let mut tags = meta.tags.clone();
    if let Some(s) = &c.status {
        tags.push(format!("status:{}", s.replace(char::is_whitespace, "")));
    }
    let title = c.title.clone().unwrap_or_else(|| {
        c.text
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(30)
            .collect()
    });
    Some(RawDoc {
        id: doc_id(&meta.source_id, &item_key),
        source_id: meta.source_id.clone(),
        channel: meta.channel,
        item_key,
        url: c.url.clone(),
        title,
        body: lines.join("\n"),
        author: None,
        published_at: c.created.or(c.updated),
        fetched_at,
        tags,
    })
}

/// `url` without the secret parameters (links on a page may echo them back).
fn without_params(u: &url::Url, params: &[&str]) -> url::Url {
    if !u.query_pairs().any(|(k, _)| params.contains(&k.as_ref())) {
        return u.clone();
    }
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| !params.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = u.clone();
    if kept.is_empty() {
        out.set_query(None);
    } else {
        out.query_pairs_mut().clear().extend_pairs(kept);
    }
    out
}

impl ComplaintConnector {
    /// The URL actually requested: `u` with the page number, the token and the signature.
    fn request_url(&self, u: &url::Url, page: Option<u32>) -> url::Url {
        self.request_url_at(u, page, Utc::now().timestamp())
    }

    /// [`Self::request_url`] signed at Unix time `now`.
    fn request_url_at(&self, u: &url::Url, page: Option<u32>, now: i64) -> url::Url {
        let mut out = u.clone();
        if page.is_some() || self.token.is_some() || self.sign.is_some() {
            let mut replaced = self.secret_params();
            if page.is_some()
                && let Some(p) = self.page_param.as_deref()
            {
                replaced.push(p);
            }
            let kept: Vec<(String, String)> = u
                .query_pairs()
                .filter(|(k, _)| !replaced.contains(&k.as_ref()))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let mut q = out.query_pairs_mut();
            q.clear().extend_pairs(kept);
            if let (Some(p), Some(n)) = (&self.page_param, page) {
                q.append_pair(p, &n.to_string());
            }
            if let Some((k, v)) = &self.token {
                q.append_pair(k, v);
            }
            drop(q);
            if let Some(s) = &self.sign {
                let ts = now.to_string();
                let sig = s.signature(out.path(), &ts);
                out.query_pairs_mut()
                    .append_pair(&s.timestamp_param, &ts)
                    .append_pair(&s.sign_param, &sig);
            }
        }
        out
    }

    /// Query parameters that must never be stored: token, timestamp, signature.
    fn secret_params(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some((k, _)) = &self.token {
            out.push(k.as_str());
        }
        if let Some(s) = &self.sign {
            out.push(s.sign_param.as_str());
            out.push(s.timestamp_param.as_str());
        }
        out
    }

    /// `u` without the secret parameters.
    fn clean(&self, u: &url::Url) -> url::Url {
        without_params(u, &self.secret_params())
    }

    /// The empty-on-every-complaint check.
    fn missing_error(&self, cs: &[Complaint]) -> Option<ConnectorError> {
        if cs.is_empty() {
            return None;
        }
        let names = &self.names;
        let dead: Vec<String> = [
            ("id", names.id.as_ref(), cs.iter().all(|c| c.id.is_none())),
            (
                "title",
                names.title.as_ref(),
                cs.iter().all(|c| c.title.is_none()),
            ),
            (
                "text",
                names.text.as_ref(),
                cs.iter().all(|c| c.text.is_none()),
            ),
            (
                "target",
                names.target.as_ref(),
                cs.iter().all(|c| c.target.is_none()),
            ),
            (
                "status",
                names.status.as_ref(),
                cs.iter().all(|c| c.status.is_none()),
            ),
            (
                "created",
                names.created.as_ref(),
                cs.iter().all(|c| c.created.is_none()),
            ),
        ]
        .into_iter()
        .filter(|(n, _, dead)| *dead && names.is_set(n))
        .filter_map(|(n, v, _)| v.map(|v| format!("params.{n} `{v}`")))
        .collect();
        (!dead.is_empty()).then(|| {
            ConnectorError::Parse(format!(
                "selector matched nothing on any of {} complaints: {}",
                cs.len(),
                dead.join(", ")
            ))
        })
    }

    fn pages(&self) -> Vec<Option<u32>> {
        match &self.page_param {
            None => vec![None],
            Some(_) => (0..self.max_pages)
                .map(|i| Some(self.first_page + i))
                .collect(),
        }
    }
}

#[async_trait]
impl Connector for ComplaintConnector {
    async fn poll(
        &self,
        ctx: &PollContext,
        checkpoint: &Checkpoint,
    ) -> Result<Poll, ConnectorError> {
        let mut complaints: Vec<Complaint> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut hasher_input: Vec<u8> = Vec::new();
        let mut links: Vec<url::Url> = Vec::new();
        for (i, page) in self.pages().into_iter().enumerate() {
            let body =
                fetch_plain(ctx, &self.request_url(&self.list_url, page), self.robots).await?;
            hasher_input.extend_from_slice(content_hash(&body.bytes).as_bytes());
            let before = complaints.len() + links.len();
            match &self.reader {
                Reader::Json {
                    items,
                    fields,
                    url_template,
                } => {
                    let found = parse_json_page(
                        &body.bytes,
                        items,
                        fields,
                        url_template.as_deref(),
                        self.time_format.as_deref(),
                        Some(&self.clean(&body.final_url)),
                    )?;
                    for c in found {
                        if c.id.as_ref().is_none_or(|id| seen.insert(id.clone())) {
                            complaints.push(c);
                        }
                    }
                }
                Reader::Html { items, .. } => {
                    let base = self.clean(&body.final_url);
                    for u in crate::web_page::parse_list(
                        &body.bytes,
                        body.content_type.as_deref(),
                        &base,
                        items,
                    ) {
                        let u = self.clean(&u);
                        if seen.insert(canonical_url(&u)) {
                            links.push(u);
                        }
                    }
                }
            }
            if complaints.len() + links.len() == before {
                // An empty JSON array is a platform with no complaints yet: not an error.
                if i == 0
                    && let Reader::Html { items, .. } = &self.reader
                {
                    return Err(ConnectorError::Parse(format!(
                        "selector matched nothing: params.items `{}` found no links on the list page",
                        items.css
                    )));
                }
                break;
            }
        }
        let hash = content_hash(&hasher_input);
        let new_checkpoint = Checkpoint {
            etag: None,
            last_modified: None,
            content_hash: Some(hash.clone()),
        };
        if let Reader::Html { fields, .. } = &self.reader {
            for link in links.iter().take(self.max_items) {
                let body = match fetch_plain(ctx, &self.request_url(link, None), self.robots).await
                {
                    Ok(b) => b,
                    Err(ConnectorError::Fetch(e)) if skippable(&e) => {
                        tracing::debug!(source = %self.meta.source_id, url = %crate::redact_url(link), error = %e, "complaint page skipped");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let mut c = parse_html_detail(
                    &body.bytes,
                    body.content_type.as_deref(),
                    link,
                    fields,
                    self.time_format.as_deref(),
                );
                c.url = Some(self.clean(link).to_string());
                complaints.push(c);
            }
        } else if checkpoint.content_hash.as_deref() == Some(hash.as_str()) {
            return Ok(Poll {
                items: vec![],
                checkpoint: Some(new_checkpoint),
                not_modified: true,
            });
        }
        complaints.truncate(self.max_items);
        if let Some(e) = self.missing_error(&complaints) {
            return Err(e);
        }
        let now = Utc::now();
        Ok(Poll {
            items: complaints
                .iter()
                .filter_map(|c| to_doc(c, &self.meta, now))
                .collect(),
            checkpoint: Some(new_checkpoint),
            not_modified: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_model::{Channel, SourceId};

    fn meta() -> ItemMeta {
        ItemMeta {
            source_id: SourceId("complaint/t".into()),
            channel: Channel::Complaint,
            tags: vec![],
        }
    }

    fn json_fields() -> Fields<String> {
        Fields {
            id: Some("/id".into()),
            title: Some("/title".into()),
            text: Some("/content".into()),
            target: Some("/company/name".into()),
            issue: Some("/issue".into()),
            demand: Some("/demand".into()),
            amount: Some("/amount".into()),
            status: Some("/status".into()),
            created: Some("/created".into()),
            updated: Some("/updated".into()),
            url: None,
        }
    }

    #[test]
    fn json_complaints_render_fields_and_status_tag() {
        let body = r#"{"data":{"list":[{"id":17351234,"title":"恒易借暴力催收","content":"<p>催收人员频繁骚扰家人</p>",
"company":{"name":"恒信消费金融"},"issue":"暴力催收","demand":"停止骚扰,道歉","amount":5000,
"status":"已回复","created":1714521600,"updated":"2024-05-02 10:00:00"}]}}"#;
        let cs = parse_json_page(
            body.as_bytes(),
            "/data/list",
            &json_fields(),
            Some("https://tousu.example.com/view/{id}"),
            None,
            None,
        )
        .unwrap();
        let d = to_doc(&cs[0], &meta(), Utc::now()).unwrap();
        assert_eq!(d.item_key, "complaint:17351234");
        assert_eq!(
            d.body,
            "投诉对象：恒信消费金融\n投诉问题：暴力催收\n诉求：停止骚扰,道歉\n涉诉金额：5000元\n状态：已回复\n更新时间：2024-05-02 10:00\n催收人员频繁骚扰家人"
        );
        assert_eq!(d.tags, ["status:已回复"]);
        assert_eq!(
            d.url.as_deref(),
            Some("https://tousu.example.com/view/17351234")
        );
        assert_eq!(
            d.published_at.unwrap().to_rfc3339(),
            "2024-05-01T00:00:00+00:00"
        );
        let e = parse_json_page(b"{}", "/data/list", &json_fields(), None, None, None).unwrap_err();
        assert!(e.to_string().contains("params.items `/data/list`"), "{e}");
        assert!(parse_json_page(b"<html>", "/x", &json_fields(), None, None, None).is_err());
    }

    #[test]
    fn html_detail_with_labels() {
        let html = r#"<html><body><h1>借款被收取高额服务费</h1><ul>
<li class="t">投诉对象：<a href="/c/1">恒信消费金融</a></li><li class="i">投诉问题：乱收费</li>
<li class="d">投诉要求：退还服务费</li><li class="a">涉诉金额：3000元</li>
<li class="s">投诉进度：<b>已完成</b></li><li class="c">2024-05-01 08:00</li></ul>
<div class="txt"><p>借款一万元，到账八千。</p></div></body></html>"#;
        let f = Fields {
            target: Some(Css::parse(".t").unwrap()),
            issue: Some(Css::parse(".i").unwrap()),
            demand: Some(Css::parse(".d").unwrap()),
            amount: Some(Css::parse(".a").unwrap()),
            status: Some(Css::parse(".s").unwrap()),
            created: Some(Css::parse(".c").unwrap()),
            text: Some(Css::parse(".txt").unwrap()),
            ..Fields::default()
        };
        let url = url::Url::parse("https://tousu.example.com/complaints/view/17350001/").unwrap();
        let c = parse_html_detail(html.as_bytes(), None, &url, &f, None);
        assert_eq!(c.id.as_deref(), Some("17350001"));
        assert_eq!(c.title.as_deref(), Some("借款被收取高额服务费"));
        assert_eq!(c.target.as_deref(), Some("恒信消费金融"));
        assert_eq!(c.demand.as_deref(), Some("退还服务费"));
        assert_eq!(c.status.as_deref(), Some("已完成"));
        assert_eq!(c.text.as_deref(), Some("借款一万元，到账八千。"));
        assert_eq!(c.created.unwrap().to_rfc3339(), "2024-05-01T00:00:00+00:00");
    }

    #[test]
    fn params_are_validated() {
        let b = |p: &str| {
            build(
                &crate::tests::spec("complaint_site", p),
                &BuildContext::default(),
            )
        };
        let e = b("format = \"json\"\nlist_url = \"https://x.example/api\"\nitems = \"data\"")
            .err()
            .unwrap();
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["params.items", "params.id"]);
        let e = b("list_url = \"https://x.example/\"\nitems = \"a\"\nmax_pages = 2")
            .err()
            .unwrap();
        assert_eq!(e[0].key, "params.page_param");
        let e = b("list_url = \"https://x.example/\"\nitems = \"a\"\nstatus = \"..\"")
            .err()
            .unwrap();
        assert_eq!(e[0].key, "params.status");
        let e = b("list_url = \"https://x.example/\"\nitems = \"a\"\nurl_template = \"x\"")
            .err()
            .unwrap();
        assert_eq!(e[0].key, "params.url_template");
        assert!(b("list_url = \"https://x.example/\"\nitems = \"a\"").is_ok());
    }

    #[test]
    fn signatures_are_hmac_sha256_of_path_and_timestamp() {
        // RFC 4231-style known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        let s = Signer::new("key", "sign", "ts");
        assert_eq!(
            s.signature("The quick brown fox jumps over the lazy ", "dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        let spec = crate::tests::spec(
            "complaint_site",
            "format = \"json\"\nlist_url = \"https://x.example/api?kw=a&ts=1&sign=old\"\nitems = \"/l\"\nid = \"/id\"\nsign_secret = \"k\"",
        );
        let c = build(&spec, &BuildContext::default()).unwrap();
        drop(c);
        let conn = ComplaintConnector {
            list_url: url::Url::parse("https://x.example/api?kw=a&ts=1&sign=old").unwrap(),
            reader: Reader::Json {
                items: "/l".into(),
                fields: Fields::default(),
                url_template: None,
            },
            page_param: None,
            first_page: 1,
            max_pages: 1,
            token: None,
            sign: Some(Signer::new("k", "sign", "ts")),
            time_format: None,
            max_items: 10,
            meta: meta(),
            robots: true,
            names: Fields::default(),
        };
        let u = conn.request_url_at(&conn.list_url, None, 1_714_521_600);
        let want = Signer::new("k", "sign", "ts").signature("/api", "1714521600");
        assert_eq!(
            u.as_str(),
            format!("https://x.example/api?kw=a&ts=1714521600&sign={want}")
        );
        assert_eq!(conn.clean(&u).as_str(), "https://x.example/api?kw=a");
        let e = build(
            &crate::tests::spec(
                "complaint_site",
                "list_url = \"https://x.example/\"\nitems = \"a\"\nsign_param = \"s\"",
            ),
            &BuildContext::default(),
        )
        .err()
        .unwrap();
        assert_eq!(e[0].key, "params.sign_param");
    }

    #[test]
    fn token_is_appended_and_replaced_not_kept() {
        let spec = crate::tests::spec(
            "complaint_site",
            "format = \"json\"\nlist_url = \"https://x.example/api?kw=a&page=9&token=old\"\nitems = \"/l\"\nid = \"/id\"\npage_param = \"page\"\nmax_pages = 2\ntoken = \"s3cret\"",
        );
        let p: ComplaintParams = crate::params(&spec).unwrap();
        assert_eq!(p.token.as_deref(), Some("s3cret"));
        let c = ComplaintConnector {
            list_url: url::Url::parse(&p.list_url).unwrap(),
            reader: Reader::Json {
                items: "/l".into(),
                fields: Fields::default(),
                url_template: None,
            },
            page_param: Some("page".into()),
            first_page: 1,
            max_pages: 2,
            token: Some(("token".into(), "s3cret".into())),
            sign: None,
            time_format: None,
            max_items: 10,
            meta: meta(),
            robots: true,
            names: Fields::default(),
        };
        let u = c.request_url(&c.list_url, Some(2));
        assert_eq!(u.as_str(), "https://x.example/api?kw=a&page=2&token=s3cret");
        assert_eq!(crate::redact_url(&u), "https://x.example/api?…");
        let back = without_params(&u, &["token"]);
        assert_eq!(back.as_str(), "https://x.example/api?kw=a&page=2");
    }
}
