//! The simulated web of the demo: feeds that fill up over time, and article pages.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// How a feed is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RSS 2.0 in UTF-8.
    Rss,
    /// Atom 1.0 in UTF-8.
    Atom,
    /// RSS 2.0 in GBK, declared as gb2312 in the header and the XML declaration.
    RssGbk,
}

/// One simulated outlet.
pub struct FeedDef {
    /// URL segment and source id suffix.
    pub slug: &'static str,
    /// Outlet name.
    pub title: &'static str,
    /// Tags the demo source carries.
    pub tags: &'static [&'static str],
    /// Format.
    pub format: Format,
    fixture: &'static str,
}

/// The outlets.
pub const FEEDS: [FeedDef; 3] = [
    FeedDef {
        slug: "caijing",
        title: "财经快讯",
        tags: &[],
        format: Format::Rss,
        fixture: include_str!("fixtures/caijing.json"),
    },
    FeedDef {
        slug: "jinrong",
        title: "金融观察",
        tags: &["authoritative"],
        format: Format::Atom,
        fixture: include_str!("fixtures/jinrong.json"),
    },
    FeedDef {
        slug: "difang",
        title: "南方消费者报",
        tags: &["regional"],
        format: Format::RssGbk,
        fixture: include_str!("fixtures/difang.json"),
    },
];

#[derive(Debug, Clone, Deserialize)]
struct Article {
    title: String,
    summary: String,
    body: String,
    author: String,
    category: String,
    minutes_ago: i64,
}

#[derive(Debug, Clone)]
struct Item {
    article: Article,
    visible_after: Duration,
    published: DateTime<Utc>,
}

/// The simulated web's state: every item and when it becomes visible, and the chat sink.
pub struct SimWeb {
    started: Instant,
    feeds: Vec<Vec<Item>>,
    publish_every: Duration,
    /// Stories published after the company's remediation (`fixtures/after.json`), in the
    /// first outlet, one every `publish_every` from [`SimWeb::remediate`] on.
    after: Vec<Article>,
    remediated: std::sync::Mutex<Option<(Instant, DateTime<Utc>)>>,
    sink_secret: String,
    chat: std::sync::Mutex<Vec<ChatMessage>>,
}

/// A message the chat sink received.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChatMessage {
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// Whether its signature verified.
    pub signed: bool,
    /// The JSON body as sent.
    pub body: serde_json::Value,
}

impl SimWeb {
    /// Items dated in the past are visible at once; the rest appear one every
    /// `publish_every`, taking the feeds in turn.
    pub fn new(publish_every: Duration, sink_secret: String) -> SimWeb {
        let now = Utc::now();
        let mut fresh_counter = 0u32;
        let parsed: Vec<Vec<Article>> = FEEDS
            .iter()
            .map(|f| {
                serde_json::from_str(f.fixture).expect("demo fixtures are valid JSON (tested)")
            })
            .collect();
        let longest = parsed.iter().map(Vec::len).max().unwrap_or(0);
        let mut feeds: Vec<Vec<Item>> = parsed.iter().map(|_| Vec::new()).collect();
        let mut queues: Vec<std::vec::IntoIter<Article>> =
            parsed.into_iter().map(Vec::into_iter).collect();
        for _ in 0..longest {
            for (fi, q) in queues.iter_mut().enumerate() {
                let Some(a) = q.next() else { continue };
                let (visible_after, published) = if a.minutes_ago > 0 {
                    (
                        Duration::ZERO,
                        now - chrono::Duration::minutes(a.minutes_ago),
                    )
                } else {
                    fresh_counter += 1;
                    let after = publish_every * fresh_counter;
                    (
                        after,
                        now + chrono::Duration::from_std(after).unwrap_or_default(),
                    )
                };
                feeds[fi].push(Item {
                    article: a,
                    visible_after,
                    published,
                });
            }
        }
        SimWeb {
            started: Instant::now(),
            feeds,
            publish_every,
            after: serde_json::from_str(include_str!("fixtures/after.json"))
                .expect("demo fixtures are valid JSON (tested)"),
            remediated: std::sync::Mutex::new(None),
            sink_secret,
            chat: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Number of items over all feeds, before any remediation.
    pub fn total_items(&self) -> usize {
        self.feeds.iter().map(Vec::len).sum()
    }

    /// Whether every scheduled story is out (the complaint wave has run its course).
    pub fn all_published(&self) -> bool {
        let elapsed = self.started.elapsed();
        self.feeds
            .iter()
            .flatten()
            .all(|it| it.visible_after <= elapsed)
    }

    /// The company has remediated: from now on the first outlet publishes the follow-up
    /// stories, one every `publish_every`. Returns how many there are. Calling it again
    /// changes nothing.
    pub fn remediate(&self) -> usize {
        let mut r = self.remediated.lock().unwrap_or_else(|p| p.into_inner());
        r.get_or_insert_with(|| (Instant::now(), Utc::now()));
        self.after.len()
    }

    fn visible(&self, feed: usize) -> Vec<(usize, Item)> {
        let elapsed = self.started.elapsed();
        let mut v: Vec<(usize, Item)> = self.feeds[feed]
            .iter()
            .enumerate()
            .filter(|(_, it)| it.visible_after <= elapsed)
            .map(|(i, it)| (i, it.clone()))
            .collect();
        let remediated = *self.remediated.lock().unwrap_or_else(|p| p.into_inner());
        if feed == 0
            && let Some((at, at_utc)) = remediated
        {
            let since = at.elapsed();
            for (k, a) in self.after.iter().enumerate() {
                let after = self.publish_every * (k as u32 + 1);
                if after <= since {
                    v.push((
                        self.feeds[0].len() + k,
                        Item {
                            article: a.clone(),
                            visible_after: Duration::ZERO,
                            published: at_utc
                                + chrono::Duration::from_std(after).unwrap_or_default(),
                        },
                    ));
                }
            }
        }
        v.sort_by_key(|(_, it)| std::cmp::Reverse(it.published));
        v
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn paragraphs_html(body: &str) -> String {
    body.split("\n\n")
        .map(|p| format!("<p>{}</p>", esc(p.trim())))
        .collect()
}

fn render(base: &str, def: &FeedDef, items: &[(usize, Item)]) -> String {
    let link = |i: usize| format!("{base}/{}/a/{i}", def.slug);
    match def.format {
        Format::Atom => {
            let updated = items.first().map_or_else(Utc::now, |(_, it)| it.published);
            let mut x = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>{}</title>\n<id>{base}/{}/</id>\n<updated>{}</updated>\n<link href=\"{base}/{}/\"/>\n",
                esc(def.title),
                def.slug,
                updated.to_rfc3339(),
                def.slug
            );
            for (i, it) in items {
                let a = &it.article;
                x.push_str(&format!(
                    "<entry>\n<title>{}</title>\n<id>tag:demo.yuqing,2026:{}:{i}</id>\n<link href=\"{}\"/>\n<published>{}</published>\n<updated>{}</updated>\n<author><name>{}</name></author>\n<category term=\"{}\"/>\n<summary>{}</summary>\n<content type=\"html\">{}</content>\n</entry>\n",
                    esc(&a.title), def.slug, link(*i), it.published.to_rfc3339(), it.published.to_rfc3339(),
                    esc(&a.author), esc(&a.category), esc(&a.summary), esc(&paragraphs_html(&a.body))
                ));
            }
            x.push_str("</feed>\n");
            x
        }
        Format::Rss | Format::RssGbk => {
            let enc = if def.format == Format::RssGbk {
                "gb2312"
            } else {
                "utf-8"
            };
            let mut x = format!(
                "<?xml version=\"1.0\" encoding=\"{enc}\"?>\n<rss version=\"2.0\"><channel>\n<title>{}</title>\n<link>{base}/{}/</link>\n<description>{}</description>\n<language>zh-cn</language>\n",
                esc(def.title),
                def.slug,
                esc(def.title)
            );
            for (i, it) in items {
                let a = &it.article;
                x.push_str(&format!(
                    "<item>\n<title>{}</title>\n<link>{}</link>\n<guid isPermaLink=\"true\">{}</guid>\n<pubDate>{}</pubDate>\n<author>{}</author>\n<category>{}</category>\n<description><![CDATA[{}]]></description>\n</item>\n",
                    esc(&a.title), link(*i), link(*i), it.published.to_rfc2822(), esc(&a.author),
                    esc(&a.category), paragraphs_html(&a.body).replace("]]>", "]]&gt;")
                ));
            }
            x.push_str("</channel></rss>\n");
            x
        }
    }
}

struct AppState {
    web: Arc<SimWeb>,
    base: String,
}

async fn feed(
    State(s): State<Arc<AppState>>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(fi) = FEEDS.iter().position(|f| f.slug == slug) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let def = &FEEDS[fi];
    let items = s.web.visible(fi);
    let etag = format!("\"{}-{}\"", def.slug, items.len());
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let xml = render(&s.base, def, &items);
    let (bytes, ctype) = match def.format {
        Format::RssGbk => (
            encoding_rs::GBK.encode(&xml).0.into_owned(),
            "application/rss+xml; charset=gb2312",
        ),
        Format::Rss => (xml.into_bytes(), "application/rss+xml; charset=utf-8"),
        Format::Atom => (xml.into_bytes(), "application/atom+xml; charset=utf-8"),
    };
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

async fn article(
    State(s): State<Arc<AppState>>,
    Path((slug, n)): Path<(String, usize)>,
) -> Response {
    let Some(fi) = FEEDS.iter().position(|f| f.slug == slug) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match s.web.visible(fi).into_iter().find(|(i, _)| *i == n) {
        Some((_, it)) => Html(format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1><p>{}</p>{}</body></html>",
            esc(&it.article.author),
            paragraphs_html(&it.article.body),
            t = esc(&it.article.title)
        ))
        .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn home(State(s): State<Arc<AppState>>) -> Html<String> {
    let mut h = String::from(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>模拟站点</title></head><body><h1>yuqing 演示模拟站点</h1><ul>",
    );
    for (fi, f) in FEEDS.iter().enumerate() {
        h.push_str(&format!(
            "<li><a href=\"/{}/feed.xml\">{}</a> ({} 篇已发布)</li>",
            f.slug,
            esc(f.title),
            s.web.visible(fi).len()
        ));
    }
    h.push_str("</ul></body></html>");
    Html(h)
}

/// The chat sink: a generic signed webhook receiver. Verifies `X-Yuqing-Signature`, keeps
/// the message and prints its title, as a chat group would show it.
async fn chat_post(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let ts = headers
        .get(yuqing_notify::sign::TIMESTAMP_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let sig = headers
        .get(yuqing_notify::sign::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    let signed = match (ts, sig) {
        (Some(ts), Some(sig)) => {
            yuqing_notify::sign::webhook_signature(ts, &s.web.sink_secret, &body) == sig
        }
        _ => false,
    };
    if !signed {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    let title = json
        .pointer("/notification/title")
        .or_else(|| json.get("title"))
        .and_then(|t| t.as_str())
        .unwrap_or("(无标题)")
        .to_string();
    println!("  💬 聊天群收到告警 (chat sink): {title}");
    s.web
        .chat
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(ChatMessage {
            at: Utc::now(),
            signed,
            body: json,
        });
    axum::Json(serde_json::json!({"ok": true})).into_response()
}

async fn chat_list(State(s): State<Arc<AppState>>) -> axum::Json<Vec<ChatMessage>> {
    axum::Json(s.web.chat.lock().unwrap_or_else(|p| p.into_inner()).clone())
}

/// Serve `web` on 127.0.0.1:`port` in the background; returns the bound address.
pub async fn spawn(web: Arc<SimWeb>, port: u16) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(AppState {
        web,
        base: format!("http://{addr}"),
    });
    let app = Router::new()
        .route("/", get(home))
        .route("/{slug}/feed.xml", get(feed))
        .route("/{slug}/a/{n}", get(article))
        .route("/chat/webhook", axum::routing::post(chat_post))
        .route("/chat/", get(chat_list))
        .with_state(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "simulated web stopped");
        }
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_parse_and_gbk_feed_encodes_cleanly() {
        let web = SimWeb::new(Duration::from_secs(1), "s".into());
        assert!(web.total_items() >= 30);
        let all: Vec<(usize, Item)> = web.feeds[2].iter().cloned().enumerate().collect();
        let xml = render("http://127.0.0.1:1", &FEEDS[2], &all);
        let (_, _, unmappable) = encoding_rs::GBK.encode(&xml);
        assert!(!unmappable, "the GBK feed has characters GBK cannot encode");
    }

    #[test]
    fn fresh_items_appear_over_time() {
        let web = SimWeb::new(Duration::from_secs(3600), "s".into());
        let at_start: usize = (0..FEEDS.len()).map(|f| web.visible(f).len()).sum();
        assert!(at_start > 0 && at_start < web.total_items());
    }

    #[test]
    fn follow_up_stories_appear_only_after_remediation_and_are_dated_after_it() {
        let web = SimWeb::new(Duration::from_millis(1), "s".into());
        std::thread::sleep(Duration::from_millis(200));
        let before = web.visible(0).len();
        assert_eq!(before, web.feeds[0].len(), "every scheduled item is out");
        let at = Utc::now();
        let n = web.remediate();
        assert!(n >= 3);
        std::thread::sleep(Duration::from_millis(50));
        let v = web.visible(0);
        assert_eq!(v.len(), before + n);
        let follow: Vec<_> = v.iter().filter(|(i, _)| *i >= web.feeds[0].len()).collect();
        assert!(follow.iter().all(|(_, it)| it.published >= at));
        assert_eq!(web.remediate(), n, "idempotent");
    }
}
