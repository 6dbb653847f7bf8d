//! `web_page` and `complaint_site` against local fixture sites: pagination with a page cap,
//! no detail refetch when the list is unchanged, selectors that match nothing surfacing as
//! `parse` errors, whole-page change detection, and a complaint platform that pages, needs a
//! token, changes a complaint's status between polls and rate-limits with 429 + Retry-After.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use yuqing_config::{FetchSettings, RateLimit, SourceSpec};
use yuqing_connectors::{
    BuildContext, Connector, ConnectorError, Fetcher, Poll, PollContext, Registry, net,
};
use yuqing_model::{Channel, Checkpoint, ErrorClass, SourceId};

async fn serve(router: Router) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, router).await.unwrap() });
    addr
}

fn ctx() -> PollContext {
    PollContext {
        fetcher: Fetcher::new(&FetchSettings {
            timeout_secs: 3,
            connect_timeout_secs: 1,
            allowed_networks: vec!["127.0.0.1/32".into()],
            retry_base_ms: 10,
            per_host_requests_per_minute: 60_000,
            per_host_max_concurrent: 4,
            ..FetchSettings::default()
        })
        .unwrap(),
    }
}

fn connector(kind: &str, channel: Channel, params: &str) -> Arc<dyn Connector> {
    let spec = SourceSpec {
        id: SourceId(format!("{}/fixture", channel.as_str())),
        file: "connectors/fixture.toml".into(),
        name: "fixture".into(),
        kind: kind.into(),
        enabled: true,
        interval_secs: 60,
        channel,
        tags: vec!["fixture".into()],
        rate_limit: RateLimit::default(),
        ignore_robots: None,
        params: params.parse().unwrap(),
    };
    let ctx = BuildContext {
        policy: net::AddressPolicy {
            allow_all: false,
            allowed: vec!["127.0.0.1/32".parse().unwrap()],
        },
    };
    match Registry::builtin(ctx).build(&spec) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    }
}

fn checkpoint(p: &Poll) -> Checkpoint {
    p.checkpoint.clone().unwrap()
}

// ---------------------------------------------------------------- web_page

#[derive(Default)]
struct Site {
    detail_hits: AtomicUsize,
    list_hits: AtomicUsize,
    notice_version: AtomicUsize,
}

fn detail_page(n: &str) -> String {
    format!(
        r#"<html><head><title>站点 - 文章{n}</title></head><body>
<div class="nav"><a href="/">首页</a><a href="/list">列表</a></div>
<h1 class="title">恒信消费金融新闻{n}</h1>
<div class="meta">发布时间：2024年05月0{n}日 08:30 <span class="author">作者：记者{n}</span></div>
<div class="content"><p>这是第{n}篇文章的第一段，讲述了借款人反映的问题和监管部门的回应。</p>
<p>第二段继续介绍了相关情况，记者对此进行了深入的调查和采访。</p></div>
<footer><p>版权所有，未经许可不得转载。</p></footer></body></html>"#
    )
}

fn site(state: Arc<Site>) -> Router {
    Router::new()
        .route(
            "/list",
            get(
                |State(s): State<Arc<Site>>, Query(q): Query<HashMap<String, String>>| async move {
                    s.list_hits.fetch_add(1, Ordering::SeqCst);
                    let page = q.get("page").map(String::as_str).unwrap_or("1");
                    let body = match page {
                        "1" => r#"<ul class="news"><li><a href="/a/1.html?utm_source=wx">一</a></li>
<li><a href="/a/2.html#top">二</a></li><li><a href="/a/1.html">一（重复）</a></li></ul>
<a class="next" href="/list?page=2">下一页</a>"#,
                        "2" => r#"<ul class="news"><li><a href="/a/3.html">三</a></li><li><a href="/a/gone.html">404</a></li></ul>
<a class="next" href="/list?page=3">下一页</a>"#,
                        _ => r#"<ul class="news"><li><a href="/a/9.html">beyond the cap</a></li></ul>"#,
                    };
                    Html(format!("<html><body>{body}</body></html>"))
                },
            ),
        )
        .route(
            "/a/{name}",
            get(|State(s): State<Arc<Site>>, Path(name): Path<String>| async move {
                s.detail_hits.fetch_add(1, Ordering::SeqCst);
                match name.trim_end_matches(".html") {
                    n @ ("1" | "2" | "3" | "9") => Html(detail_page(n)).into_response(),
                    _ => StatusCode::NOT_FOUND.into_response(),
                }
            }),
        )
        .route(
            "/notice",
            get(|State(s): State<Arc<Site>>| async move {
                let v = s.notice_version.load(Ordering::SeqCst);
                let ad = s.list_hits.fetch_add(1, Ordering::SeqCst);
                Html(format!(
                    r#"<html><body><div class="nav"><a href="/">首页</a></div><div class="ad">广告{ad}</div>
<div id="notice"><h1>关于规范催收行为的公告</h1><p>第{v}版：各机构应当依法合规开展催收工作，不得使用暴力或者威胁手段。</p>
<p>本公告自发布之日起施行，请各机构认真遵照执行，并做好消费者权益保护工作。</p></div></body></html>"#
                ))
            }),
        )
        .with_state(state)
}

const WEB_PARAMS: &str = r#"
item_selector = "ul.news a"
pages = 2
next_selector = "a.next"
title = "h1.title"
body = "div.content"
time = "div.meta"
time_format = "%Y年%m月%d日 %H:%M"
author = "span.author"
"#;

#[tokio::test]
async fn web_page_lists_pages_up_to_the_cap_and_skips_unchanged_lists() {
    let state = Arc::new(Site::default());
    let addr = serve(site(state.clone())).await;
    let c = connector(
        "web_page",
        Channel::Web,
        &format!("list_url = \"http://{addr}/list\"\n{WEB_PARAMS}"),
    );
    let ctx = ctx();
    let p = c.poll(&ctx, &Checkpoint::default()).await.unwrap();
    let titles: Vec<&str> = p.items.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "恒信消费金融新闻1",
            "恒信消费金融新闻2",
            "恒信消费金融新闻3"
        ]
    );
    let d = &p.items[0];
    assert_eq!(
        d.item_key,
        format!("https://127.0.0.1:{}/a/1.html", addr.port())
    );
    assert_eq!(d.body.lines().count(), 2, "{}", d.body);
    assert_eq!(d.author.as_deref(), Some("记者1"));
    assert_eq!(
        d.published_at.unwrap().to_rfc3339(),
        "2024-05-01T00:30:00+00:00"
    );
    assert_eq!(d.channel, Channel::Web);
    assert_eq!(d.tags, ["fixture"]);
    // pages = 2: page 3 (and /a/9.html) never fetched; the 404 detail is skipped.
    assert_eq!(state.list_hits.load(Ordering::SeqCst), 2);
    assert_eq!(state.detail_hits.load(Ordering::SeqCst), 4);

    let again = c.poll(&ctx, &checkpoint(&p)).await.unwrap();
    assert!(again.not_modified && again.items.is_empty());
    assert_eq!(
        state.detail_hits.load(Ordering::SeqCst),
        4,
        "an unchanged list refetches no detail page"
    );
}

#[tokio::test]
async fn web_page_max_items_bounds_detail_fetches() {
    let state = Arc::new(Site::default());
    let addr = serve(site(state.clone())).await;
    let c = connector(
        "web_page",
        Channel::Web,
        &format!("list_url = \"http://{addr}/list\"\nmax_items_per_poll = 1\n{WEB_PARAMS}"),
    );
    let p = c.poll(&ctx(), &Checkpoint::default()).await.unwrap();
    assert_eq!(p.items.len(), 1);
    assert_eq!(state.detail_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn selectors_that_match_nothing_are_parse_errors_naming_the_selector() {
    let state = Arc::new(Site::default());
    let addr = serve(site(state)).await;
    let ctx = ctx();
    let c = connector(
        "web_page",
        Channel::Web,
        &format!("list_url = \"http://{addr}/list\"\nitem_selector = \"div.redesigned a\""),
    );
    let e = c.poll(&ctx, &Checkpoint::default()).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Parse);
    assert!(
        e.to_string()
            .contains("params.item_selector `div.redesigned a`"),
        "{e}"
    );

    let c = connector(
        "web_page",
        Channel::Web,
        &format!(
            "list_url = \"http://{addr}/list\"\nitem_selector = \"ul.news a\"\ntitle = \"h2.headline\"\nauthor = \"span.author\""
        ),
    );
    let e = c.poll(&ctx, &Checkpoint::default()).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Parse);
    assert!(e.to_string().contains("params.title `h2.headline`"), "{e}");
    assert!(!e.to_string().contains("params.author"), "{e}");
}

#[tokio::test]
async fn web_page_without_body_selector_extracts_main_content() {
    let state = Arc::new(Site::default());
    let addr = serve(site(state)).await;
    let c = connector(
        "web_page",
        Channel::Web,
        &format!("list_url = \"http://{addr}/list\"\nitem_selector = \"ul.news a\""),
    );
    let p = c.poll(&ctx(), &Checkpoint::default()).await.unwrap();
    let d = &p.items[0];
    assert_eq!(d.title, "恒信消费金融新闻1");
    assert!(
        d.body.contains("第一段") && d.body.contains("第二段"),
        "{}",
        d.body
    );
    assert!(
        !d.body.contains("版权") && !d.body.contains("首页"),
        "{}",
        d.body
    );
}

#[tokio::test]
async fn whole_page_mode_makes_a_version_per_content_change() {
    let state = Arc::new(Site::default());
    let addr = serve(site(state.clone())).await;
    let c = connector(
        "web_page",
        Channel::Official,
        &format!("list_url = \"http://{addr}/notice\"\nmode = \"whole_page\""),
    );
    let ctx = ctx();
    let p1 = c.poll(&ctx, &Checkpoint::default()).await.unwrap();
    assert_eq!(p1.items.len(), 1);
    assert_eq!(p1.items[0].title, "关于规范催收行为的公告");
    assert!(p1.items[0].body.contains("第0版"), "{}", p1.items[0].body);
    // The ad changed (every response differs in bytes), the content did not.
    let p2 = c.poll(&ctx, &checkpoint(&p1)).await.unwrap();
    assert!(p2.not_modified && p2.items.is_empty());
    state.notice_version.store(1, Ordering::SeqCst);
    let p3 = c.poll(&ctx, &checkpoint(&p2)).await.unwrap();
    assert_eq!(p3.items.len(), 1);
    assert!(p3.items[0].body.contains("第1版"));
    assert_ne!(
        p3.items[0].id, p1.items[0].id,
        "a new version is a new document"
    );
}

// ---------------------------------------------------------------- complaint_site

const TOKEN: &str = "s3cret-token";

#[derive(Default)]
struct Platform {
    hits: AtomicUsize,
    replied: AtomicBool,
    throttle_next: AtomicBool,
    seen_tokens: Mutex<Vec<String>>,
    /// When set, every API request must carry `ts` (within 5 minutes of now) and
    /// `sign` = hex HMAC-SHA256(secret, path + ts), checked here independently.
    sign_secret: Mutex<Option<&'static str>>,
    /// (path, ts) of every request whose signature verified.
    signed: Mutex<Vec<(String, i64)>>,
}

/// The fixture's own check of a signed request (401 reason when it fails).
fn verify_signature(
    s: &Platform,
    path: &str,
    q: &HashMap<String, String>,
) -> Result<(), &'static str> {
    use hmac::{Hmac, Mac};
    let Some(secret) = *s.sign_secret.lock().unwrap() else {
        return Ok(());
    };
    let (Some(ts), Some(sign)) = (q.get("ts"), q.get("sign")) else {
        return Err("unsigned request");
    };
    let t: i64 = ts.parse().map_err(|_| "bad timestamp")?;
    if (chrono::Utc::now().timestamp() - t).abs() > 300 {
        return Err("stale timestamp");
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{path}{ts}").as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if &want != sign {
        return Err("bad signature");
    }
    s.signed.lock().unwrap().push((path.to_string(), t));
    Ok(())
}

fn complaint(id: u32, status: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "title": format!("恒易借投诉{id}"),
        "content": "<p>催收人员频繁拨打家人电话，言语威胁。</p>",
        "company": {"name": "恒信消费金融"},
        "issue": "暴力催收",
        "demand": "停止骚扰，赔礼道歉",
        "amount": 5000,
        "status": status,
        "created": "2024-05-01 08:00:00",
        "updated": 1714600000,
        "url": format!("/view/{id}"),
    })
}

fn platform(state: Arc<Platform>) -> Router {
    let api = get(
        |State(s): State<Arc<Platform>>, Query(q): Query<HashMap<String, String>>| async move {
            s.hits.fetch_add(1, Ordering::SeqCst);
            if s.throttle_next.swap(false, Ordering::SeqCst) {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "1")],
                    "slow down",
                )
                    .into_response();
            }
            if let Err(why) = verify_signature(&s, "/api/complaints", &q) {
                return (StatusCode::UNAUTHORIZED, why).into_response();
            }
            let token = q.get("token").cloned().unwrap_or_default();
            s.seen_tokens.lock().unwrap().push(token.clone());
            if token != TOKEN {
                return (StatusCode::UNAUTHORIZED, "bad token").into_response();
            }
            let status = if s.replied.load(Ordering::SeqCst) {
                "已回复"
            } else {
                "待回复"
            };
            let list = match q.get("page").map(String::as_str) {
                Some("1") => vec![complaint(1001, "已完成"), complaint(1002, status)],
                Some("2") => vec![complaint(1003, "待回复"), complaint(1002, status)],
                _ => vec![],
            };
            axum::Json(serde_json::json!({"code": 0, "data": {"list": list}})).into_response()
        },
    );
    let html_list = get(|State(s): State<Arc<Platform>>| async move {
        s.hits.fetch_add(1, Ordering::SeqCst);
        Html(
            r#"<html><body><div class="list"><a class="c" href="/complaints/view/2001/">投诉一</a>
<a class="c" href="/complaints/view/2002/?token=echoed">投诉二</a></div></body></html>"#,
        )
    });
    let html_detail = get(
        |State(s): State<Arc<Platform>>, Path(id): Path<String>| async move {
            let status = if id == "2002" && s.replied.load(Ordering::SeqCst) {
                "已回复"
            } else {
                "待回复"
            };
            Html(format!(
                r#"<html><body><h1 class="title">投诉{id}：借款被收取高额服务费</h1>
<ul><li class="target">投诉对象：<a href="/c/1">恒信消费金融</a></li><li class="issue">投诉问题：乱收费</li>
<li class="demand">投诉要求：退还服务费</li><li class="amount">涉诉金额：3000元</li>
<li class="status">投诉进度：<b>{status}</b></li><li class="created">2024-05-01 08:00</li></ul>
<div class="text"><p>借款一万元，实际到账八千元，其余被扣作服务费。</p></div></body></html>"#
            ))
        },
    );
    Router::new()
        .route("/api/complaints", api)
        .route("/complaints", html_list)
        .route("/complaints/view/{id}/", html_detail)
        .with_state(state)
}

fn json_params(addr: SocketAddr, token: &str) -> String {
    format!(
        r#"format = "json"
list_url = "http://{addr}/api/complaints?keyword=恒信"
page_param = "page"
max_pages = 5
token = "{token}"
items = "/data/list"
id = "/id"
title = "/title"
text = "/content"
target = "/company/name"
issue = "/issue"
demand = "/demand"
amount = "/amount"
status = "/status"
created = "/created"
updated = "/updated"
url = "/url"
"#
    )
}

fn by_key<'a>(p: &'a Poll, key: &str) -> &'a yuqing_model::RawDoc {
    p.items.iter().find(|d| d.item_key == key).unwrap()
}

#[tokio::test]
async fn complaint_api_pages_needs_its_token_and_updates_status_in_place() {
    let state = Arc::new(Platform::default());
    let addr = serve(platform(state.clone())).await;
    let ctx = ctx();

    let wrong = connector(
        "complaint_site",
        Channel::Complaint,
        &json_params(addr, "wrong"),
    );
    let e = wrong.poll(&ctx, &Checkpoint::default()).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Client);
    assert!(
        !format!("{e} {e:?}").contains("wrong"),
        "the token leaked: {e:?}"
    );

    let c = connector(
        "complaint_site",
        Channel::Complaint,
        &json_params(addr, TOKEN),
    );
    let p1 = c.poll(&ctx, &Checkpoint::default()).await.unwrap();
    let keys: Vec<&str> = p1.items.iter().map(|d| d.item_key.as_str()).collect();
    assert_eq!(
        keys,
        ["complaint:1001", "complaint:1002", "complaint:1003"],
        "paged, deduplicated"
    );
    let d = by_key(&p1, "complaint:1002");
    assert_eq!(d.channel, Channel::Complaint);
    assert!(
        d.body.starts_with("投诉对象：恒信消费金融\n投诉问题：暴力催收\n诉求：停止骚扰，赔礼道歉\n涉诉金额：5000元\n状态：待回复\n"),
        "{}",
        d.body
    );
    assert!(
        d.body.ends_with("催收人员频繁拨打家人电话，言语威胁。"),
        "{}",
        d.body
    );
    assert_eq!(d.tags, ["fixture", "status:待回复"]);
    assert_eq!(
        d.published_at.unwrap().to_rfc3339(),
        "2024-05-01T00:00:00+00:00"
    );
    assert_eq!(
        d.url.as_deref(),
        Some(format!("http://{addr}/view/1002").as_str()),
        "resolved against the list URL, without the token"
    );
    for d in &p1.items {
        assert!(
            !format!("{d:?}").contains(TOKEN),
            "the token is stored: {d:?}"
        );
    }
    // pages 1, 2 and the empty page 3 that ends the paging
    assert!(
        state
            .seen_tokens
            .lock()
            .unwrap()
            .iter()
            .filter(|t| *t == TOKEN)
            .count()
            == 3
    );

    // Unchanged platform: nothing to do.
    let p2 = c.poll(&ctx, &checkpoint(&p1)).await.unwrap();
    assert!(p2.not_modified && p2.items.is_empty());

    // The company replies: same document id, new body and tag.
    state.replied.store(true, Ordering::SeqCst);
    let p3 = c.poll(&ctx, &checkpoint(&p2)).await.unwrap();
    assert!(!p3.not_modified);
    let (before, after) = (by_key(&p1, "complaint:1002"), by_key(&p3, "complaint:1002"));
    assert_eq!(before.id, after.id);
    assert!(after.body.contains("状态：已回复"), "{}", after.body);
    assert_eq!(after.tags, ["fixture", "status:已回复"]);
    assert_eq!(by_key(&p1, "complaint:1001"), &{
        let mut d = by_key(&p3, "complaint:1001").clone();
        d.fetched_at = by_key(&p1, "complaint:1001").fetched_at;
        d
    });
}

#[tokio::test]
async fn complaint_api_429_with_retry_after_pauses_the_host() {
    let state = Arc::new(Platform::default());
    let addr = serve(platform(state.clone())).await;
    let ctx = ctx();
    let c = connector(
        "complaint_site",
        Channel::Complaint,
        &json_params(addr, TOKEN),
    );
    state.throttle_next.store(true, Ordering::SeqCst);
    let e = c.poll(&ctx, &Checkpoint::default()).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::RateLimited);
    assert_eq!(e.retry_after_secs(), Some(1));
    let hits = state.hits.load(Ordering::SeqCst);
    // While paused, the host is not contacted at all.
    let e = c.poll(&ctx, &Checkpoint::default()).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::RateLimited);
    assert_eq!(state.hits.load(Ordering::SeqCst), hits);
    // Once the announced wait is over, polling works again.
    let deadline = Instant::now() + Duration::from_secs(5);
    let p = loop {
        match c.poll(&ctx, &Checkpoint::default()).await {
            Ok(p) => break p,
            Err(ConnectorError::Fetch(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("still failing: {e}"),
        }
    };
    assert_eq!(p.items.len(), 3);
}

#[tokio::test]
async fn complaint_html_detail_pages_update_status_in_place() {
    let state = Arc::new(Platform::default());
    let addr = serve(platform(state.clone())).await;
    let ctx = ctx();
    let c = connector(
        "complaint_site",
        Channel::Complaint,
        &format!(
            r#"list_url = "http://{addr}/complaints"
token = "{TOKEN}"
items = "div.list a.c"
title = "h1.title"
text = "div.text"
target = ".target"
issue = ".issue"
demand = ".demand"
amount = ".amount"
status = ".status"
created = ".created"
"#
        ),
    );
    let p1 = c.poll(&ctx, &Checkpoint::default()).await.unwrap();
    let keys: Vec<&str> = p1.items.iter().map(|d| d.item_key.as_str()).collect();
    assert_eq!(keys, ["complaint:2001", "complaint:2002"]);
    let d = by_key(&p1, "complaint:2002");
    assert_eq!(
        d.body,
        "投诉对象：恒信消费金融\n投诉问题：乱收费\n诉求：退还服务费\n涉诉金额：3000元\n状态：待回复\n借款一万元，实际到账八千元，其余被扣作服务费。"
    );
    assert_eq!(
        d.url.as_deref(),
        Some(format!("http://{addr}/complaints/view/2002/").as_str()),
        "the echoed token is dropped from the stored URL"
    );
    state.replied.store(true, Ordering::SeqCst);
    let p2 = c.poll(&ctx, &checkpoint(&p1)).await.unwrap();
    let after = by_key(&p2, "complaint:2002");
    assert_eq!(after.id, d.id);
    assert!(after.tags.contains(&"status:已回复".to_string()));

    let broken = connector(
        "complaint_site",
        Channel::Complaint,
        &format!(
            "list_url = \"http://{addr}/complaints\"\nitems = \"div.list a.c\"\nstatus = \".state\""
        ),
    );
    let e = broken.poll(&ctx, &Checkpoint::default()).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Parse);
    assert!(e.to_string().contains("params.status `.state`"), "{e}");
}

#[tokio::test]
async fn signed_api_requests_carry_a_fresh_hmac_that_the_platform_verifies() {
    const SECRET: &str = "sign-secret-from-env";
    let state = Arc::new(Platform::default());
    *state.sign_secret.lock().unwrap() = Some(SECRET);
    let addr = serve(platform(state.clone())).await;
    let ctx = ctx();
    let signed = |secret: &str| {
        connector(
            "complaint_site",
            Channel::Complaint,
            &format!("{}sign_secret = \"{secret}\"\n", json_params(addr, TOKEN)),
        )
    };
    // Without a signature, or with the wrong secret: refused, and the secret never shows.
    let e = connector(
        "complaint_site",
        Channel::Complaint,
        &json_params(addr, TOKEN),
    )
    .poll(&ctx, &Checkpoint::default())
    .await
    .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Client);
    let e = signed("wrong-secret")
        .poll(&ctx, &Checkpoint::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Client);
    assert!(!format!("{e} {e:?}").contains("wrong-secret"));
    assert!(state.signed.lock().unwrap().is_empty());

    let p = signed(SECRET)
        .poll(&ctx, &Checkpoint::default())
        .await
        .unwrap();
    assert_eq!(p.items.len(), 3);
    let seen = state.signed.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "every page is signed: {seen:?}");
    let now = chrono::Utc::now().timestamp();
    assert!(
        seen.iter()
            .all(|(path, ts)| path == "/api/complaints" && (now - ts).abs() < 60)
    );
    for d in &p.items {
        let s = format!("{d:?}");
        assert!(
            !s.contains("sign=") && !s.contains("ts=") && !s.contains(TOKEN),
            "{s}"
        );
    }
}
