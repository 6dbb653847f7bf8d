//! The fetcher against hostile local servers (RELIABILITY.md §A).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use yuqing_config::FetchSettings;
use yuqing_connectors::{FetchError, Fetched, Fetcher};
use yuqing_model::{Checkpoint, ErrorClass};

#[derive(Default)]
struct Counts {
    hits: AtomicUsize,
    flaky: AtomicUsize,
    secret: AtomicUsize,
}

async fn serve(router: Router) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, router).await.unwrap() });
    addr
}

fn settings() -> FetchSettings {
    FetchSettings {
        timeout_secs: 2,
        connect_timeout_secs: 1,
        max_body_bytes: 1024 * 1024,
        allowed_networks: vec!["127.0.0.1/32".into()],
        retry_base_ms: 10,
        per_host_requests_per_minute: 6000,
        ..FetchSettings::default()
    }
}

fn gzip_of_zeros(n: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..n / chunk.len() {
        e.write_all(&chunk).unwrap();
    }
    e.finish().unwrap()
}

fn app(counts: Arc<Counts>) -> Router {
    static BOMB: std::sync::OnceLock<Arc<Vec<u8>>> = std::sync::OnceLock::new();
    // 16 MiB of zeros in ~16 KB on the wire, against a 1 MiB cap.
    let bomb = BOMB
        .get_or_init(|| Arc::new(gzip_of_zeros(16 << 20)))
        .clone();
    Router::new()
        .route(
            "/ok",
            get(|State(c): State<Arc<Counts>>| async move {
                c.hits.fetch_add(1, Ordering::SeqCst);
                ([(header::ETAG, "\"v1\"")], "<rss/>").into_response()
            }),
        )
        .route(
            "/cond",
            get(|h: HeaderMap| async move {
                if h.get(header::IF_NONE_MATCH).is_some_and(|v| v == "\"v1\"") {
                    StatusCode::NOT_MODIFIED.into_response()
                } else {
                    ([(header::ETAG, "\"v1\"")], "<rss/>").into_response()
                }
            }),
        )
        .route(
            "/to-metadata",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://169.254.169.254/latest/meta-data/")],
                )
            }),
        )
        .route(
            "/to-mapped",
            get(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "http://[::ffff:10.0.0.1]/x")],
                )
            }),
        )
        .route(
            "/to-file",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "file:///etc/passwd")],
                )
            }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }),
        )
        .route(
            "/hop",
            get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/ok")]) }),
        )
        .route(
            "/bomb",
            get(move || {
                let b = bomb.clone();
                async move { ([(header::CONTENT_ENCODING, "gzip")], (*b).clone()).into_response() }
            }),
        )
        .route(
            "/trickle",
            get(|| async {
                let stream = async_stream_trickle();
                Response::new(Body::from_stream(stream))
            }),
        )
        .route(
            "/busy",
            get(|State(c): State<Arc<Counts>>| async move {
                c.hits.fetch_add(1, Ordering::SeqCst);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "30")],
                    "slow down",
                )
                    .into_response()
            }),
        )
        .route(
            "/flaky",
            get(|State(c): State<Arc<Counts>>| async move {
                if c.flaky.fetch_add(1, Ordering::SeqCst) < 2 {
                    StatusCode::BAD_GATEWAY.into_response()
                } else {
                    "<rss/>".into_response()
                }
            }),
        )
        .route(
            "/robots.txt",
            get(|| async { "User-agent: *\nDisallow: /secret\n" }),
        )
        .route(
            "/secret",
            get(|State(c): State<Arc<Counts>>| async move {
                c.secret.fetch_add(1, Ordering::SeqCst);
                "<rss/>"
            }),
        )
        .with_state(counts)
}

fn async_stream_trickle() -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::unfold(0u32, |n| async move {
        if n > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        (n < 60).then_some((Ok(vec![b'<']), n + 1))
    })
}

async fn setup() -> (Fetcher, String, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let addr = serve(app(counts.clone())).await;
    (
        Fetcher::new(&settings()).unwrap(),
        format!("http://{addr}"),
        counts,
    )
}

async fn fetch(f: &Fetcher, url: &str) -> Result<Fetched, FetchError> {
    f.get(&url::Url::parse(url).unwrap(), &Checkpoint::default())
        .await
}

#[tokio::test]
async fn redirects_to_internal_addresses_and_other_schemes_are_refused() {
    let (f, base, _) = setup().await;
    for path in ["to-metadata", "to-mapped"] {
        let e = fetch(&f, &format!("{base}/{path}")).await.unwrap_err();
        assert!(matches!(e, FetchError::Blocked(_)), "{path}: {e:?}");
    }
    let e = fetch(&f, &format!("{base}/to-file")).await.unwrap_err();
    assert!(matches!(e, FetchError::Url(_)), "{e:?}");
    let e = fetch(&f, &format!("{base}/loop")).await.unwrap_err();
    assert!(matches!(e, FetchError::Redirects(5)), "{e:?}");
    assert!(matches!(
        fetch(&f, &format!("{base}/hop")).await,
        Ok(Fetched::Body(_))
    ));
}

#[tokio::test]
async fn loopback_outside_the_allowlist_is_never_connected() {
    // A listener on 127.0.0.2 (loopback, but not allowed): it must see no connection.
    let Ok(l) = tokio::net::TcpListener::bind("127.0.0.2:0").await else {
        eprintln!("skip: cannot bind 127.0.0.2 here");
        return;
    };
    let port = l.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    tokio::spawn(async move {
        while l.accept().await.is_ok() {
            a.fetch_add(1, Ordering::SeqCst);
        }
    });
    let (f, _, _) = setup().await;
    let e = fetch(&f, &format!("http://127.0.0.2:{port}/feed"))
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::Blocked(_)), "{e:?}");
    let e = fetch(&f, &format!("http://localhost.:{port}/feed"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, FetchError::Network(_) | FetchError::Blocked(_)),
        "{e:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn decompression_bomb_fails_cleanly_at_the_cap() {
    let (f, base, _) = setup().await;
    let t = Instant::now();
    let e = fetch(&f, &format!("{base}/bomb")).await.unwrap_err();
    assert_eq!(e, FetchError::TooLarge { limit: 1024 * 1024 });
    assert_eq!(e.class(), ErrorClass::TooLarge);
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_trickling_server_hits_the_total_deadline() {
    let (f, base, _) = setup().await;
    let t = Instant::now();
    let e = fetch(&f, &format!("{base}/trickle")).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Timeout, "{e:?}");
    // Two retries of a 2 s deadline, not the minute the body would take.
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

#[tokio::test]
async fn retry_after_pauses_only_that_host() {
    let (f, base, counts) = setup().await;
    let e = fetch(&f, &format!("{base}/busy")).await.unwrap_err();
    assert_eq!(
        e,
        FetchError::Status {
            status: 429,
            retry_after_secs: Some(30)
        }
    );
    assert_eq!(e.class(), ErrorClass::RateLimited);
    // Paused: the next request to that host is not even sent.
    let e = fetch(&f, &format!("{base}/ok")).await.unwrap_err();
    assert!(
        matches!(e, FetchError::Status { status: 429, retry_after_secs: Some(s) } if s > 25),
        "{e:?}"
    );
    assert_eq!(counts.hits.load(Ordering::SeqCst), 1);
    // Another host (another name for an allowed address) is unaffected.
    let other = base.replace("127.0.0.1", "localhost");
    assert!(matches!(
        fetch(&f, &format!("{other}/ok")).await,
        Ok(Fetched::Body(_))
    ));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let (f, base, counts) = setup().await;
    assert!(matches!(
        fetch(&f, &format!("{base}/flaky")).await,
        Ok(Fetched::Body(_))
    ));
    assert_eq!(counts.flaky.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn robots_txt_is_obeyed_unless_the_source_opts_out() {
    let (f, base, counts) = setup().await;
    let e = fetch(&f, &format!("{base}/secret")).await.unwrap_err();
    assert_eq!(e, FetchError::Robots);
    assert_eq!(counts.secret.load(Ordering::SeqCst), 0);
    let u = url::Url::parse(&format!("{base}/secret")).unwrap();
    let opts = yuqing_connectors::RequestOptions { robots: false };
    assert!(f.get_with(&u, &Checkpoint::default(), opts).await.is_ok());
    assert_eq!(counts.secret.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn conditional_get_yields_not_modified() {
    let (f, base, _) = setup().await;
    let u = url::Url::parse(&format!("{base}/cond")).unwrap();
    let Fetched::Body(b) = f.get(&u, &Checkpoint::default()).await.unwrap() else {
        panic!()
    };
    let cp = Checkpoint {
        etag: b.etag,
        ..Checkpoint::default()
    };
    assert_eq!(f.get(&u, &cp).await.unwrap(), Fetched::NotModified);
}
