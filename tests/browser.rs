//! The console in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! driven over WebDriver): log in, search a Chinese word, narrow by a facet, open a document,
//! submit a correction, and see scraped markup rendered as inert text. Screenshots of each
//! step land in `target/tmp/browser-artifacts/`.
//!
//! Without Chromium the test prints `SKIPPED` with the install command and passes, unless
//! `YUQING_REQUIRE_BROWSER=1` (set by `.ci/run`, which installs Chromium) makes that a failure.

mod support;

use std::time::Duration;

use fantoccini::{Client, Locator};
use support::browser::{Browser, free_port, shot};
use support::*;

const T: Duration = Duration::from_secs(60);
const PASSWORD: &str = "browser test password";

/// A title whose text is markup that would run script if it reached the page unescaped. The
/// feed carries it entity-escaped (the connector strips real tags from titles), so the
/// document's title text is literally `<script>…`.
const SCRIPT_TITLE: &str = "&lt;script&gt;window.__pwned=1&lt;/script&gt;恒信消费金融乱收费被曝光";
/// The same with an image whose handler would run if it were parsed as markup.
const IMG_TITLE: &str =
    "&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;恒信消费金融会员费投诉";

async fn text_of(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(T)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

#[test]
fn console_in_chromium_login_search_facet_document_correction_and_inert_markup() {
    let Some(browser) = Browser::find("browser test") else {
        return;
    };

    let server = FixtureServer::start(vec![(
        "feed.xml",
        Route::Rss(vec![
            item(
                "b-1",
                "恒信消费金融被曝暴力催收",
                "多名借款人投诉恒信消费金融暴力催收，催收人员频繁骚扰通讯录联系人，引发不满。",
            ),
            item(
                "b-2",
                "速达小贷暴力催收遭投诉",
                "借款人反映速达小贷暴力催收，电话轰炸亲友。",
            ),
            item(
                "b-3",
                SCRIPT_TITLE,
                "有用户反映恒信消费金融乱收费，担保费和会员费不透明。",
            ),
            item("b-4", IMG_TITLE, "用户投诉恒信消费金融强制搭售会员费。"),
        ]),
    )]);
    let port = free_port();
    let inst = Install::new(&format!("[server]\nbind = \"127.0.0.1:{port}\"\n"));
    inst.feed("news/feed", &server.url("feed.xml"));
    let out = inst
        .cmd()
        .args([
            "user",
            "add",
            "ana",
            "--role",
            "analyst",
            "--password-env",
            "YQ_PW",
        ])
        .env("YQ_PW", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let daemon = inst.daemon();
    wait_for("documents", T, || inst.docs_total() >= 4);
    let base = format!("http://127.0.0.1:{port}");
    wait_for("the console", T, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });

    let drv = browser.driver();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = browser.client(&drv).await;
        let r = steps(&c, &base).await;
        if r.is_err() {
            shot(&c, "failure").await;
        }
        c.close().await.unwrap();
        r.unwrap();
    });
    assert!(daemon.terminate().success());
}

async fn steps(c: &Client, base: &str) -> Result<(), String> {
    // Any page without a session leads to the login form, which brings the user back.
    c.goto(&format!("{base}/search"))
        .await
        .map_err(|e| e.to_string())?;
    let url = c.current_url().await.map_err(|e| e.to_string())?;
    assert!(url.path() == "/login", "redirected to login, got {url}");
    shot(c, "01-login").await;
    let form = c.form(Locator::Css("form[action='/login']")).await.unwrap();
    form.set_by_name("name", "ana").await.unwrap();
    form.set_by_name("password", PASSWORD).await.unwrap();
    form.submit().await.unwrap();
    c.wait()
        .at_most(T)
        .for_url(&url::Url::parse(&format!("{base}/search")).unwrap())
        .await
        .map_err(|e| e.to_string())?;

    // The dashboard: its weight (HTML, CSS, everything it loads) and time to first paint.
    c.goto(&format!("{base}/"))
        .await
        .map_err(|e| e.to_string())?;
    text_of(c, "h1").await;
    let perf = c
        .execute(
            "const nav = performance.getEntriesByType('navigation')[0];
             const res = performance.getEntriesByType('resource');
             const paint = performance.getEntriesByType('paint')
                 .find(p => p.name === 'first-contentful-paint');
             return {
               bytes: nav.decodedBodySize + res.reduce((n, r) => n + r.decodedBodySize, 0),
               requests: 1 + res.length,
               external: res.filter(r => !r.name.startsWith(location.origin)).length,
               fcp_ms: paint ? paint.startTime : null,
               dom_content_loaded_ms: nav.domContentLoadedEventEnd,
               load_ms: nav.loadEventEnd,
             };",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("dashboard page weight and first render: {perf}");
    assert_eq!(perf["external"], 0, "nothing loaded from elsewhere");
    shot(c, "01b-dashboard").await;
    c.goto(&format!("{base}/search"))
        .await
        .map_err(|e| e.to_string())?;

    // Search a Chinese word: the hits are highlighted and the facets count them.
    let q = c.find(Locator::Css("input[name=q]")).await.unwrap();
    q.send_keys("暴力催收").await.unwrap();
    c.find(Locator::Css("form[action='/search'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let summary = text_of(c, ".summary").await;
    assert!(summary.contains('2'), "two hits: {summary}");
    let marks = c.find_all(Locator::Css(".hit mark")).await.unwrap();
    assert!(!marks.is_empty(), "highlighted terms");
    assert_eq!(marks[0].text().await.unwrap(), "暴力催收");
    shot(c, "02-search").await;

    // A facet narrows the results to one entity.
    c.find(Locator::Css(".facets a[data-facet='entity:hengxin']"))
        .await
        .map_err(|e| format!("entity facet: {e}"))?
        .click()
        .await
        .unwrap();
    let summary = text_of(c, ".summary").await;
    assert!(summary.contains('1'), "one hit after the facet: {summary}");
    let url = c.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or("").contains("entity%3Ahengxin"),
        "{url}"
    );
    shot(c, "03-facet").await;

    // Open the document: its text, why it was scored, and the correction form.
    c.find(Locator::Css(".hit a[href^='/documents/']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let h1 = text_of(c, "h1").await;
    assert!(h1.contains("恒信消费金融被曝暴力催收"), "{h1}");
    let page = c.source().await.unwrap();
    assert!(page.contains("情感") && page.contains("人工校正"));
    shot(c, "04-document").await;

    // Correct the label.
    let label = c.find(Locator::Css("select[name=label]")).await.unwrap();
    label.select_by_value("neutral").await.unwrap();
    c.find(Locator::Css("input[name=note]"))
        .await
        .unwrap()
        .send_keys("浏览器测试")
        .await
        .unwrap();
    c.find(Locator::Css("form.correct button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let ok = text_of(c, "p.ok").await;
    assert!(ok.contains("校正已保存"), "{ok}");
    let page = c.source().await.unwrap();
    assert!(page.contains("标签校正为") && page.contains("浏览器测试"));
    shot(c, "05-corrected").await;

    // Scraped markup is text: visible literally, never run, never an element.
    c.goto(&format!(
        "{base}/search?q={}",
        fantoccini_encode("乱收费 OR 会员费")
    ))
    .await
    .unwrap();
    let hits = text_of(c, ".hits").await;
    assert!(hits.contains("<script>window.__pwned=1</script>"), "{hits}");
    assert!(hits.contains("<img src=x onerror="), "{hits}");
    let pwned = c
        .execute("return window.__pwned === undefined;", vec![])
        .await
        .unwrap();
    assert_eq!(pwned, serde_json::Value::Bool(true), "script ran");
    assert!(
        c.find_all(Locator::Css(".hits img, .hits script"))
            .await
            .unwrap()
            .is_empty(),
        "markup became elements"
    );
    shot(c, "06-inert-markup").await;
    // And on the document page.
    c.find(Locator::Css(".hit a[href^='/documents/']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let h1 = text_of(c, "h1").await;
    assert!(h1.contains('<'), "markup shown as text: {h1}");
    assert!(
        c.find_all(Locator::Css("h1 img, h1 script"))
            .await
            .unwrap()
            .is_empty()
    );
    let pwned = c
        .execute("return window.__pwned === undefined;", vec![])
        .await
        .unwrap();
    assert_eq!(pwned, serde_json::Value::Bool(true), "script ran");
    Ok(())
}

fn fantoccini_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
