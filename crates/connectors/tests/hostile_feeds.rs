//! Hostile feeds (RELIABILITY.md §B.13–15): XXE with a file and a network external entity,
//! an external DTD on a local server that records any request, billion-laughs and quadratic
//! blowup entity bombs, deep nesting. Parsing resolves nothing, contacts nobody, and stays
//! bounded in time and output.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use yuqing_connectors::feed::{ItemMeta, parse};
use yuqing_model::{Channel, SourceId};

fn meta() -> ItemMeta {
    ItemMeta {
        source_id: SourceId("news/hostile".into()),
        channel: Channel::News,
        tags: vec![],
    }
}

/// Parse within a time bound; the titles and bodies of whatever came out.
fn parse_bounded(xml: &str) -> String {
    let base = url::Url::parse("http://feeds.example.org/rss.xml").unwrap();
    let t = Instant::now();
    let r = parse(
        xml.as_bytes(),
        Some("application/rss+xml"),
        &base,
        &meta(),
        Utc::now(),
    );
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
    match r {
        Ok(docs) => docs
            .iter()
            .map(|d| format!("{}\n{}", d.title, d.body))
            .collect(),
        Err(e) => format!("error: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn external_entities_and_dtds_are_never_resolved() {
    // A local server that counts every connection attempt.
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let h = hits.clone();
    tokio::spawn(async move {
        while let Ok((_s, _)) = listener.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
        }
    });
    let xxe = format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "http://{addr}/evil.dtd" [
  <!ENTITY file SYSTEM "file:///etc/passwd">
  <!ENTITY net SYSTEM "http://{addr}/secret">
  <!ENTITY meta SYSTEM "http://169.254.169.254/latest/meta-data/">
]>
<rss version="2.0"><channel><title>t</title>
<item><title>a &file; b</title><guid>1</guid><description>&net; &meta;</description></item>
</channel></rss>"#
    );
    let out = tokio::task::spawn_blocking(move || parse_bounded(&xxe))
        .await
        .unwrap();
    assert!(!out.contains("root:"), "file content leaked: {out}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the parser made a request");
}

#[test]
fn entity_bombs_stay_bounded() {
    // Billion laughs: 10 levels of 10 references, 10^9 "lol" if expanded.
    let mut dtd = String::from("<!ENTITY lol0 \"lol\">");
    for i in 1..10 {
        let refs: String = (0..10).map(|_| format!("&lol{};", i - 1)).collect();
        dtd.push_str(&format!("<!ENTITY lol{i} \"{refs}\">"));
    }
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE rss [{dtd}]><rss version=\"2.0\"><channel><title>t</title><item><title>&lol9;</title><guid>1</guid><description>x</description></item></channel></rss>"
    );
    let out = parse_bounded(&laughs);
    assert!(
        out.len() < 10_000,
        "entities were expanded: {} bytes",
        out.len()
    );
    // Quadratic blowup: one 50 KB entity referenced 20,000 times (1 GB if expanded).
    let big = "x".repeat(50_000);
    let refs = "&big;".repeat(20_000);
    let quadratic = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY big \"{big}\">]><rss version=\"2.0\"><channel><title>t</title><item><title>q</title><guid>1</guid><description>{refs}</description></item></channel></rss>"
    );
    let out = parse_bounded(&quadratic);
    assert!(
        out.len() < 1_000_000,
        "entities were expanded: {} bytes",
        out.len()
    );
}

#[test]
fn deep_nesting_and_many_items_do_not_overflow() {
    let deep = format!(
        "<rss version=\"2.0\"><channel><title>t</title><item><title>d</title><guid>1</guid><description>{}{}</description></item></channel></rss>",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    let _ = parse_bounded(&deep);
    let many: String = (0..20_000)
        .map(|i| format!("<item><title>t{i}</title><guid>{i}</guid></item>"))
        .collect();
    let out = parse_bounded(&format!(
        "<rss version=\"2.0\"><channel><title>t</title>{many}</channel></rss>"
    ));
    assert!(out.contains("t19999"));
}
