//! `yuqing preview`: one poll, documents printed (JSON with the charset decision and why), a
//! health verdict, nothing written.

mod support;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use support::*;

/// A small site: a list page and a GBK detail page (declared in the header).
fn start_site() -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let detail = "<html><body><div class=nav><a href=/>首页</a></div><h1>恒信消费金融回应催收投诉</h1>\
        <div class=content><p>恒信消费金融表示，将对借款人反映的催收问题进行核查，并依法依规处理。</p>\
        <p>公司已成立专项小组，逐一回访相关借款人，保护消费者合法权益。</p></div></body></html>";
    let gbk = encoding_rs::GBK.encode(detail).0.into_owned();
    let app = Router::new()
        .route(
            "/list",
            get(|| async { Html("<ul class=news><li><a href=/a/1.html>一</a></li></ul>") }),
        )
        .route(
            "/a/1.html",
            get(move || {
                let b = gbk.clone();
                async move { ([("content-type", "text/html; charset=gbk")], b) }
            }),
        );
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), rt)
}

#[test]
fn preview_a_connector_file_prints_documents_and_charset_and_writes_nothing() {
    let (base, _rt) = start_site();
    let inst = Install::new("");
    inst.connector(
        "web/site",
        &format!(
            "version = 1\nkind = \"web_page\"\nchannel = \"web\"\nenabled = false\n[params]\nlist_url = \"{base}/list\"\nitem_selector = \"ul.news a\"\n"
        ),
    );
    let file = inst.dir.path().join("connectors/web/site.toml");
    let out = inst.run(&["preview", &path_str(&file), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let d = &lines[0];
    assert_eq!(d["title"], "恒信消费金融回应催收投诉");
    assert!(d["body"].as_str().unwrap().contains("专项小组"));
    assert!(!d["body"].as_str().unwrap().contains("首页"));
    assert_eq!(d["url"], format!("{base}/a/1.html"));
    assert_eq!(d["charset"]["encoding"], "GBK");
    assert_eq!(d["charset"]["source"], "header");
    assert!(
        d["charset"]["why"]
            .as_str()
            .unwrap()
            .contains("Content-Type header declares GBK"),
        "{d}"
    );
    assert!(d["id"].as_str().unwrap().len() == 32);
    assert_eq!(lines[1]["health"], "ok");
    assert_eq!(lines[1]["documents"], 1);
    assert!(!inst.dir.path().join("data").exists(), "preview wrote data");

    // Text output and a selector that matches nothing: a failing verdict and exit code 1.
    let out = inst.run(&[
        "preview",
        "--kind",
        "web-page",
        &format!("{base}/list"),
        "--param",
        "item_selector=\"div.gone a\"",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("health: failing (parse)")
            && text.contains("params.item_selector `div.gone a`"),
        "{text}"
    );
}

#[test]
fn preview_a_feed_url_explains_a_gb2312_declaration() {
    let server = FixtureServer::start(vec![(
        "gbk.xml",
        Route::RssGbk(vec![item("g-1", "恒信消费金融发布公告", "公告正文")]),
    )]);
    let inst = Install::new("");
    let out = inst.run(&[
        "preview",
        "--kind",
        "feed",
        &server.url("gbk.xml"),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(first["title"], "恒信消费金融发布公告");
    assert_eq!(first["charset"]["encoding"], "GBK");
    assert!(
        first["charset"]["why"]
            .as_str()
            .unwrap()
            .contains("declares GBK"),
        "{first}"
    );

    let out = inst.run(&["preview", "connectors/none.toml"]);
    assert!(!out.status.success());
}
