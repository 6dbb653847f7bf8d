//! Shared harness of the end-to-end tests: a fixture web server on 127.0.0.1, a temporary
//! configuration laid out like the repository's, and the real `yuqing` binary.

#![allow(dead_code)]

pub mod browser;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One feed item served by the fixture server.
#[derive(Clone, Debug)]
pub struct Item {
    pub guid: String,
    pub title: String,
    pub body: String,
}

pub fn item(guid: &str, title: &str, body: &str) -> Item {
    Item {
        guid: guid.into(),
        title: title.into(),
        body: body.into(),
    }
}

/// What a path serves.
#[derive(Clone, Debug)]
pub enum Route {
    /// RSS 2.0 in UTF-8, with an ETag that changes with the item list.
    Rss(Vec<Item>),
    /// Atom in UTF-8.
    Atom(Vec<Item>),
    /// RSS 2.0 encoded in GBK, declared gb2312.
    RssGbk(Vec<Item>),
    /// An HTTP status with a short body.
    Status(u16),
    /// 200 with bytes that are no feed.
    Garbage,
    /// Waits this long before answering.
    Slow(Duration),
}

/// A request the server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub status: u16,
}

#[derive(Default)]
pub struct ServerState {
    pub routes: Mutex<HashMap<String, Route>>,
    pub log: Mutex<Vec<Seen>>,
    pub hits: AtomicUsize,
    /// Status the chat-webhook sink answers with (0 means 200).
    pub hook_status: std::sync::atomic::AtomicU16,
    /// POSTs the sink received: (status answered, body).
    pub hooks: Mutex<Vec<(u16, String)>>,
}

/// A chat-webhook sink: records every POST and answers with `hook_status`.
async fn hook(State(s): State<Arc<ServerState>>, body: String) -> Response {
    let status = match s.hook_status.load(Ordering::SeqCst) {
        0 => 200,
        n => n,
    };
    s.hooks.lock().unwrap().push((status, body));
    let code = StatusCode::from_u16(status).unwrap();
    (code, axum::Json(serde_json::json!({"ok": status == 200}))).into_response()
}

pub struct FixtureServer {
    pub base: String,
    pub state: Arc<ServerState>,
    _rt: tokio::runtime::Runtime,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// When the fixture items say they were published: a few minutes before this test process
/// started, the same for every request (so an item's content never seems to change), and
/// recent enough for the incident rules' windows.
fn pub_date() -> chrono::DateTime<chrono::Utc> {
    static AT: std::sync::OnceLock<chrono::DateTime<chrono::Utc>> = std::sync::OnceLock::new();
    *AT.get_or_init(|| {
        let t = chrono::Utc::now() - chrono::Duration::minutes(5);
        chrono::DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
    })
}

fn rss(items: &[Item], encoding: &str) -> String {
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"{encoding}\"?><rss version=\"2.0\"><channel><title>测试源</title><link>http://127.0.0.1/</link>"
    );
    for it in items {
        x.push_str(&format!(
            "<item><title>{}</title><guid isPermaLink=\"false\">{}</guid><link>http://127.0.0.1/a/{}</link><pubDate>{}</pubDate><description>{}</description></item>",
            esc(&it.title), esc(&it.guid), esc(&it.guid), pub_date().to_rfc2822(), esc(&it.body)
        ));
    }
    x.push_str("</channel></rss>");
    x
}

fn atom(items: &[Item]) -> String {
    let at = pub_date().to_rfc3339();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Atom 测试</title><id>urn:t</id><updated>{at}</updated>",
    );
    for it in items {
        x.push_str(&format!(
            "<entry><title>{}</title><id>{}</id><updated>{at}</updated><link href=\"http://127.0.0.1/atom/{}\"/><summary>{}</summary></entry>",
            esc(&it.title), esc(&it.guid), esc(&it.guid), esc(&it.body)
        ));
    }
    x.push_str("</feed>");
    x
}

fn etag_of(items: &[Item]) -> String {
    let ids: Vec<&str> = items.iter().map(|i| i.guid.as_str()).collect();
    format!("\"{}\"", ids.join("|").len() * 31 + ids.len())
}

async fn serve(
    State(s): State<Arc<ServerState>>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let route = s.routes.lock().unwrap().get(&path).cloned();
    let (status, resp) = match route {
        None => (404, StatusCode::NOT_FOUND.into_response()),
        Some(Route::Status(code)) => {
            let c = StatusCode::from_u16(code).unwrap();
            (code, (c, "fixture error").into_response())
        }
        Some(Route::Garbage) => (
            200,
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/rss+xml")],
                "\u{0}\u{1}<<<not a feed",
            )
                .into_response(),
        ),
        Some(Route::Slow(d)) => {
            tokio::time::sleep(d).await;
            (200, rss(&[], "utf-8").into_response())
        }
        Some(Route::Rss(items)) | Some(Route::Atom(items)) | Some(Route::RssGbk(items))
            if inm.as_deref() == Some(etag_of(&items).as_str()) =>
        {
            (304, StatusCode::NOT_MODIFIED.into_response())
        }
        Some(r) => {
            let (bytes, ctype, items) = match &r {
                Route::Rss(items) => (
                    rss(items, "utf-8").into_bytes(),
                    "application/rss+xml; charset=utf-8",
                    items,
                ),
                Route::Atom(items) => (atom(items).into_bytes(), "application/atom+xml", items),
                Route::RssGbk(items) => {
                    let x = rss(items, "gb2312");
                    (
                        encoding_rs::GBK.encode(&x).0.into_owned(),
                        "application/rss+xml; charset=gb2312",
                        items,
                    )
                }
                _ => unreachable!(),
            };
            let mut resp = bytes.into_response();
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            resp.headers_mut().insert(
                header::ETAG,
                HeaderValue::from_str(&etag_of(items)).unwrap(),
            );
            (200, resp)
        }
    };
    s.log.lock().unwrap().push(Seen {
        path,
        if_none_match: inm,
        status,
    });
    resp
}

impl FixtureServer {
    pub fn start(routes: Vec<(&str, Route)>) -> FixtureServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(ServerState::default());
        for (p, r) in routes {
            state.routes.lock().unwrap().insert(p.to_string(), r);
        }
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/{*path}", get(serve).post(hook))
            .with_state(state.clone());
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        FixtureServer {
            base: format!("http://{addr}"),
            state,
            _rt: rt,
        }
    }

    /// POSTs the chat sink answered with 200.
    pub fn delivered(&self) -> Vec<String> {
        let hooks = self.state.hooks.lock().unwrap();
        hooks
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    pub fn set(&self, path: &str, r: Route) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), r);
    }

    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

/// A temporary installation: config/ (copied from the repository), connectors/, data/.
pub struct Install {
    pub dir: tempfile::TempDir,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Install {
    /// `settings` is appended to a yuqing.toml tuned for fast tests.
    pub fn new(settings: &str) -> Install {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("config");
        std::fs::create_dir_all(c.join("dict")).unwrap();
        std::fs::create_dir_all(dir.path().join("connectors")).unwrap();
        copy_config(&repo().join("config"), &c);
        let base = "[server]\nbind = \"127.0.0.1:0\"\n[fetch]\ntimeout_secs = 3\nconnect_timeout_secs = 2\nallow_private_addresses = true\nper_host_requests_per_minute = 6000\nper_host_max_concurrent = 8\nretry_base_ms = 50\n[pipeline]\ncommit_interval_ms = 200\npoll_jitter_ratio = 0.0\nfailing_after = 2\nmax_backoff_secs = 2\nindex_writer_threads = 1\nindex_writer_memory_mb = 32\n";
        let text = if settings.is_empty() {
            base.to_string()
        } else {
            merge(base, settings)
        };
        std::fs::write(c.join("yuqing.toml"), text).unwrap();
        Install { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config/yuqing.toml")
    }

    pub fn connector(&self, name: &str, body: &str) {
        let p = self
            .dir
            .path()
            .join("connectors")
            .join(format!("{name}.toml"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    /// Route every alert to a signed webhook at `url`, at once, with quick retries.
    pub fn chat_to(&self, url: &str) {
        let text = format!(
            "default_channels = [\"ops\"]\n\n[[channel]]\nid = \"ops\"\nkind = \"webhook\"\nurl = \"{url}\"\nsecret = \"${{YQ_TEST_HOOK_SECRET}}\"\n\n[grouping]\ngroup_wait_secs = 0\ngroup_interval_secs = 60\n\n[delivery]\npoll_interval_ms = 200\nbackoff_base_secs = 1\nbackoff_max_secs = 1\n"
        );
        std::fs::write(self.dir.path().join("config/notify.toml"), text).unwrap();
    }

    pub fn feed(&self, name: &str, url: &str) {
        self.connector(
            name,
            &format!(
                "version = 1\nkind = \"feed\"\ninterval_secs = 1\n[params]\nurl = \"{url}\"\n"
            ),
        );
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_yuqing"));
        c.arg("--config")
            .arg(self.config())
            .current_dir(self.dir.path())
            .env_remove("YUQING_DATA_DIR")
            .env_remove("YUQING_CONFIG")
            .env("YQ_TEST_HOOK_SECRET", "test-hook-secret")
            .env("RUST_LOG", "warn,yuqing_pipeline=info,yuqing_notify=info");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    pub fn daemon(&self) -> Daemon {
        let log = std::fs::File::create(self.dir.path().join(format!("daemon-{}.log", now_ms())))
            .unwrap();
        let child = self
            .cmd()
            .arg("run")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Daemon { child: Some(child) }
    }

    /// `yuqing status --json`, parsed; empty before the first start.
    pub fn status(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["status", "--json"]);
        if !out.status.success() {
            return vec![];
        }
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    }

    pub fn source(&self, id: &str) -> Option<serde_json::Value> {
        self.status().into_iter().find(|s| s["id"] == id)
    }

    /// `yuqing search --json`.
    pub fn search(&self, q: &str) -> serde_json::Value {
        let out = self.run(&["search", "--json", "-n", "1000", q]);
        assert!(
            out.status.success(),
            "search failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn ids(&self, q: &str) -> Vec<String> {
        let v = self.search(q);
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn docs_total(&self) -> u64 {
        self.status()
            .iter()
            .map(|s| s["docs_total"].as_u64().unwrap_or(0))
            .sum()
    }

    pub fn logs(&self) -> String {
        let mut out = String::new();
        for e in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with("daemon-") {
                out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        out
    }
}

fn merge(base: &str, extra: &str) -> String {
    // Later keys of the same table win: rebuild through toml.
    let mut b: toml::Table = base.parse().unwrap();
    let e: toml::Table = extra.parse().unwrap();
    for (k, v) in e {
        match (b.get_mut(&k), v) {
            (Some(toml::Value::Table(bt)), toml::Value::Table(et)) => bt.extend(et),
            (_, v) => {
                b.insert(k, v);
            }
        }
    }
    toml::to_string(&b).unwrap()
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

pub struct Daemon {
    child: Option<Child>,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not exit within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Wait for `cond` with a deadline; no fixed sleeps.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Copy the repository's `config/` (dictionaries, lexicons, rules, channels) except the
/// settings file, which each run writes for itself.
fn copy_config(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_config(&src, &dst);
        } else if e.file_name() != "yuqing.toml" {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}
