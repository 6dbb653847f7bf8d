//! Politeness at scale (RELIABILITY.md §A.12): 2,000 feed sources, 300 of them on one host,
//! polled at once (a cold start) through one shared fetcher. A local server on every
//! loopback address 127.0.0.1–127.0.0.35 (each address a distinct host) timestamps every
//! request by host; no host may ever see more requests in any one-second window than its
//! budget allows, and the busy host's requests must be spread over the time the budget
//! implies, while the quiet hosts are not held back by it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use yuqing_config::{FetchSettings, RateLimit, SourceSpec};
use yuqing_connectors::{BuildContext, Fetcher, PollContext, Registry, net};
use yuqing_model::{Channel, Checkpoint, SourceId};

/// Requests per minute allowed to one host.
const PER_MINUTE: u32 = 6000;
const SOURCES: usize = 2000;
const ON_BUSY_HOST: usize = 300;
const QUIET_HOSTS: usize = 34;

type Log = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

async fn feed(
    State(log): State<Log>,
    headers: HeaderMap,
) -> ([(&'static str, &'static str); 1], &'static str) {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split(':').next())
        .unwrap_or("?")
        .to_string();
    log.lock()
        .unwrap()
        .entry(host)
        .or_default()
        .push(Instant::now());
    (
        [("content-type", "application/rss+xml")],
        "<rss version=\"2.0\"><channel><title>t</title><item><title>x</title><guid>1</guid></item></channel></rss>",
    )
}

/// Most requests in any window of `w` (sliding over the sorted times).
fn max_in_window(times: &mut [Instant], w: Duration) -> usize {
    times.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] > w {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

fn spec(i: usize, url: &str) -> SourceSpec {
    SourceSpec {
        id: SourceId(format!("news/s{i}")),
        file: format!("connectors/news/s{i}.toml").into(),
        name: format!("s{i}"),
        kind: "feed".into(),
        enabled: true,
        interval_secs: 60,
        channel: Channel::News,
        tags: vec![],
        rate_limit: RateLimit::default(),
        ignore_robots: None,
        params: format!("url = \"{url}\"").parse().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_sources_never_exceed_the_per_host_rate() {
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/feed/{n}", get(feed))
        .with_state(log.clone());
    // Every loopback address reaches this listener: each one is a host of its own.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let settings = FetchSettings {
        allow_private_addresses: true,
        obey_robots: false,
        per_host_requests_per_minute: PER_MINUTE,
        per_host_max_concurrent: 4,
        timeout_secs: 60,
        ..FetchSettings::default()
    };
    let registry = Registry::builtin(BuildContext {
        policy: net::AddressPolicy {
            allow_all: true,
            allowed: vec![],
        },
    });
    let ctx = PollContext {
        fetcher: Fetcher::new(&settings).unwrap(),
    };
    let connectors: Vec<_> = (0..SOURCES)
        .map(|i| {
            let host = if i < ON_BUSY_HOST {
                1
            } else {
                2 + (i - ON_BUSY_HOST) % QUIET_HOSTS
            };
            registry
                .build(&spec(i, &format!("http://127.0.0.{host}:{port}/feed/{i}")))
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, c) in connectors.into_iter().enumerate() {
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let p = c.poll(&ctx, &Checkpoint::default()).await;
            (i < ON_BUSY_HOST, p.map(|p| p.items.len()))
        });
    }
    // When the last source of a quiet host finished.
    let mut quiet_done = Duration::ZERO;
    while let Some(r) = tasks.join_next().await {
        let (busy, items) = r.unwrap();
        assert_eq!(items.unwrap(), 1);
        if !busy {
            quiet_done = started.elapsed();
        }
    }
    let elapsed = started.elapsed();
    let mut log = log.lock().unwrap();
    assert_eq!(log.values().map(Vec::len).sum::<usize>(), SOURCES);
    let busy = log.get_mut("127.0.0.1").unwrap();
    assert_eq!(busy.len(), ON_BUSY_HOST);
    // One request per 10 ms: never more than 100 (+1 burst, +5% for server-side timing
    // jitter) in any second, and 300 requests take at least 2.9 s.
    let per_second = PER_MINUTE as usize / 60;
    let worst = max_in_window(busy, Duration::from_secs(1));
    assert!(
        worst <= per_second + 1 + per_second / 20,
        "busy host saw {worst} requests in one second"
    );
    let span = *busy.last().unwrap() - *busy.first().unwrap();
    assert!(
        span >= Duration::from_millis(2900),
        "busy host's requests took only {span:?}"
    );
    for (host, times) in log.iter_mut() {
        let w = max_in_window(times, Duration::from_secs(1));
        assert!(
            w <= per_second + 1 + per_second / 20,
            "{host} saw {w} requests in one second"
        );
    }
    // The busy host's queue holds back no one else.
    assert!(
        quiet_done < elapsed,
        "quiet hosts done at {quiet_done:?}, all at {elapsed:?}"
    );
    println!(
        "{SOURCES} sources on {} hosts polled in {elapsed:?}; busy host: worst 1 s window {worst} requests (budget {per_second}/s), spread over {span:?}; the {} sources on quiet hosts done in {quiet_done:?}",
        log.len(),
        SOURCES - ON_BUSY_HOST,
    );
}
