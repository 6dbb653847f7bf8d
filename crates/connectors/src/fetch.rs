//! The HTTP fetcher shared by every connector kind: rustls; a total deadline per attempt;
//! retries with backoff and jitter; a cap on decompressed body bytes; conditional GET;
//! redirects followed by hand so that every hop is re-validated against the address policy
//! and charged to its own host's budget; robots.txt; and errors that never carry the URL's
//! query string (it may hold a token).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use yuqing_config::FetchSettings;
use yuqing_model::{Checkpoint, ErrorClass};

use crate::hosts::{HostLimits, Hosts};
use crate::net::{AddressPolicy, GuardedResolver};

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// The total deadline fired.
    #[error("no complete response within {0:?}")]
    Timeout(Duration),
    /// DNS, connect, TLS or a reset.
    #[error("network error: {0}")]
    Network(String),
    /// A non-success status.
    #[error("HTTP {status}")]
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After` in seconds, when the server sent a usable one.
        retry_after_secs: Option<u64>,
    },
    /// The body exceeded the cap after decompression.
    #[error("response too large: more than {limit} bytes after decompression")]
    TooLarge {
        /// The cap.
        limit: u64,
    },
    /// The body was empty on a 200.
    #[error("empty response body")]
    Empty,
    /// The URL cannot be fetched at all.
    #[error("invalid URL: {0}")]
    Url(String),
    /// The address is refused by the address policy (private, loopback, reserved).
    #[error("blocked: {0}")]
    Blocked(String),
    /// More redirects than allowed.
    #[error("more than {0} redirects")]
    Redirects(usize),
    /// robots.txt disallows the URL for our user agent.
    #[error("disallowed by robots.txt")]
    Robots,
}

impl FetchError {
    /// The class driving health and retries.
    pub fn class(&self) -> ErrorClass {
        match self {
            FetchError::Timeout(_) => ErrorClass::Timeout,
            FetchError::Network(_) => ErrorClass::Network,
            FetchError::Status { status: 429, .. } => ErrorClass::RateLimited,
            FetchError::Status {
                status: 503,
                retry_after_secs: Some(_),
            } => ErrorClass::RateLimited,
            FetchError::Status { status, .. } if *status >= 500 => ErrorClass::Server,
            FetchError::Status { .. } => ErrorClass::Client,
            FetchError::TooLarge { .. } => ErrorClass::TooLarge,
            FetchError::Empty => ErrorClass::Parse,
            FetchError::Url(_)
            | FetchError::Blocked(_)
            | FetchError::Redirects(_)
            | FetchError::Robots => ErrorClass::Client,
        }
    }

    /// Worth retrying within the same poll: timeouts, network errors and 5xx without a
    /// `Retry-After` (a server that names a wait gets it, through the scheduler).
    pub fn retryable_now(&self) -> bool {
        match self {
            FetchError::Timeout(_) | FetchError::Network(_) => true,
            FetchError::Status {
                status,
                retry_after_secs,
            } => *status >= 500 && retry_after_secs.is_none(),
            _ => false,
        }
    }
}

/// A successful fetch.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// 304: the stored validators still hold; nothing to parse.
    NotModified,
    /// A body (already decompressed), with the headers that matter.
    Body(Body),
}

/// A fetched body and its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    /// The bytes, decompressed.
    pub bytes: Bytes,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// `ETag`, if sent.
    pub etag: Option<String>,
    /// `Last-Modified`, if sent.
    pub last_modified: Option<String>,
    /// The URL after redirects.
    pub final_url: url::Url,
}

/// The shared HTTP client. Cheap to clone: clones share the connection pool, the per-host
/// budgets and the robots.txt cache.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_body_bytes: u64,
    max_redirects: usize,
    retries: u32,
    retry_base: Duration,
    max_retry_after: Duration,
    obey_robots: bool,
    user_agent: String,
    policy: Arc<AddressPolicy>,
    hosts: Arc<Hosts>,
    robots: Arc<Mutex<RobotsCache>>,
}

/// How long a robots.txt answer is trusted.
const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
/// The largest robots.txt read (the rest is ignored, as RFC 9309 allows).
const ROBOTS_MAX_BYTES: u64 = 512 * 1024;

/// robots.txt rules per origin, with when they were fetched.
type RobotsCache = HashMap<String, (Arc<RobotsRules>, Instant)>;

enum RobotsRules {
    AllowAll,
    Rules(texting_robots::Robot),
}

enum Hop {
    Done(Fetched),
    Redirect(url::Url),
}

/// Per-request choices a connector makes.
#[derive(Debug, Clone, Copy)]
pub struct RequestOptions {
    /// Check robots.txt before fetching (sources may opt out with a reason).
    pub robots: bool,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions { robots: true }
    }
}

impl Fetcher {
    /// Build from settings.
    pub fn new(s: &FetchSettings) -> Result<Fetcher, FetchError> {
        let allowed = s
            .allowed_networks
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect();
        let policy = Arc::new(AddressPolicy {
            allow_all: s.allow_private_addresses,
            allowed,
        });
        let client = reqwest::Client::builder()
            .user_agent(s.user_agent.clone())
            .connect_timeout(Duration::from_secs(s.connect_timeout_secs))
            .timeout(Duration::from_secs(s.timeout_secs))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))
            .build()
            .map_err(|e| FetchError::Network(e.without_url().to_string()))?;
        Ok(Fetcher {
            client,
            timeout: Duration::from_secs(s.timeout_secs),
            max_body_bytes: s.max_body_bytes,
            max_redirects: s.max_redirects,
            retries: s.retries,
            retry_base: Duration::from_millis(s.retry_base_ms),
            max_retry_after: Duration::from_secs(s.max_retry_after_secs),
            obey_robots: s.obey_robots,
            user_agent: s.user_agent.clone(),
            policy,
            hosts: Arc::new(Hosts::new(HostLimits {
                requests_per_minute: s.per_host_requests_per_minute,
                max_concurrent: s.per_host_max_concurrent,
            })),
            robots: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The address policy in force (connectors check configured URLs against it).
    pub fn policy(&self) -> &AddressPolicy {
        &self.policy
    }

    /// GET `url` conditionally on `checkpoint`'s validators, obeying robots.txt.
    pub async fn get(
        &self,
        url: &url::Url,
        checkpoint: &Checkpoint,
    ) -> Result<Fetched, FetchError> {
        self.get_with(url, checkpoint, RequestOptions::default())
            .await
    }

    /// GET with options: each attempt within the total deadline; timeouts, network errors and
    /// 5xx are retried with exponential backoff and jitter; 429/503 with `Retry-After` pause the
    /// host and fail at once (the scheduler honours the wait).
    pub async fn get_with(
        &self,
        url: &url::Url,
        checkpoint: &Checkpoint,
        opts: RequestOptions,
    ) -> Result<Fetched, FetchError> {
        let mut attempt = 0;
        loop {
            match self.once(url, checkpoint, opts).await {
                Err(e) if attempt < self.retries && e.retryable_now() => {
                    attempt += 1;
                    let base = self.retry_base.saturating_mul(1 << (attempt - 1).min(10));
                    let jitter = rand::random_range(0.5..=1.5);
                    tracing::debug!(url = %redact_url(url), attempt, error = %e, "retrying fetch");
                    tokio::time::sleep(base.mul_f64(jitter)).await;
                }
                r => return r,
            }
        }
    }

    /// One attempt: follow redirects by hand. The total deadline covers the network time of
    /// every hop together; waiting for our own per-host budget is not the server's fault and
    /// does not count against it.
    async fn once(
        &self,
        url: &url::Url,
        checkpoint: &Checkpoint,
        opts: RequestOptions,
    ) -> Result<Fetched, FetchError> {
        let mut current = url.clone();
        let mut budget = self.timeout;
        for _hop in 0..=self.max_redirects {
            let host = self.admit(&current)?;
            if opts.robots && self.obey_robots && !self.robots_allow(&current).await? {
                return Err(FetchError::Robots);
            }
            let _permit = self.hosts.acquire(&host).await;
            let started = Instant::now();
            let hop = tokio::time::timeout(budget, self.hop(&current, checkpoint, &host)).await;
            budget = budget.saturating_sub(started.elapsed());
            match hop {
                Err(_) => return Err(FetchError::Timeout(self.timeout)),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Hop::Done(f))) => return Ok(f),
                Ok(Ok(Hop::Redirect(next))) => current = next,
            }
        }
        Err(FetchError::Redirects(self.max_redirects))
    }

    async fn hop(
        &self,
        current: &url::Url,
        checkpoint: &Checkpoint,
        host: &str,
    ) -> Result<Hop, FetchError> {
        let mut headers = HeaderMap::new();
        if let Some(v) = checkpoint
            .etag
            .as_deref()
            .and_then(|e| HeaderValue::from_str(e).ok())
        {
            headers.insert(header::IF_NONE_MATCH, v);
        }
        if let Some(v) = checkpoint
            .last_modified
            .as_deref()
            .and_then(|e| HeaderValue::from_str(e).ok())
        {
            headers.insert(header::IF_MODIFIED_SINCE, v);
        }
        let resp = self
            .client
            .get(current.clone())
            .headers(headers)
            .send()
            .await
            .map_err(|e| classify(e, self.timeout))?;
        let status = resp.status();
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            return resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| current.join(l).ok())
                .map(Hop::Redirect)
                .ok_or(FetchError::Status {
                    status: status.as_u16(),
                    retry_after_secs: None,
                });
        }
        self.finish(resp, host).await.map(Hop::Done)
    }

    /// Check a URL (every hop): scheme, address policy, host pause. Returns the host.
    fn admit(&self, u: &url::Url) -> Result<String, FetchError> {
        if !matches!(u.scheme(), "http" | "https") {
            return Err(FetchError::Url(format!(
                "scheme `{}` is not fetched",
                u.scheme()
            )));
        }
        self.policy.check_url(u).map_err(FetchError::Blocked)?;
        let host = u.host_str().unwrap_or_default().to_string();
        if let Some(d) = self.hosts.paused_for(&host) {
            return Err(FetchError::Status {
                status: 429,
                retry_after_secs: Some(d.as_secs().max(1)),
            });
        }
        Ok(host)
    }

    async fn finish(&self, resp: reqwest::Response, host: &str) -> Result<Fetched, FetchError> {
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            let retry_after_secs =
                retry_after(resp.headers()).map(|s| s.min(self.max_retry_after.as_secs()));
            if matches!(status.as_u16(), 429 | 503)
                && let Some(secs) = retry_after_secs
            {
                self.hosts.pause(host, Duration::from_secs(secs));
            }
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after_secs,
            });
        }
        let h = resp.headers();
        let get =
            |n: header::HeaderName| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_type = get(header::CONTENT_TYPE);
        let etag = get(header::ETAG);
        let last_modified = get(header::LAST_MODIFIED);
        let final_url = resp.url().clone();
        let bytes = self.read_capped(resp, self.max_body_bytes).await?;
        if bytes.is_empty() {
            return Err(FetchError::Empty);
        }
        crate::charset::observe(&final_url, &bytes, content_type.as_deref());
        Ok(Fetched::Body(Body {
            bytes,
            content_type,
            etag,
            last_modified,
            final_url,
        }))
    }

    /// Read a body, decompressed, failing as soon as it passes `cap` bytes.
    async fn read_capped(&self, resp: reqwest::Response, cap: u64) -> Result<Bytes, FetchError> {
        if let Some(len) = resp.content_length()
            && len > cap
            && resp.headers().get(header::CONTENT_ENCODING).is_none()
        {
            return Err(FetchError::TooLarge { limit: cap });
        }
        let mut buf = BytesMut::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| classify(e, self.timeout))?;
            if (buf.len() + chunk.len()) as u64 > cap {
                return Err(FetchError::TooLarge { limit: cap });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    /// Whether robots.txt of `u`'s origin lets us fetch `u`. Cached per origin for a day;
    /// a missing robots.txt (4xx) allows everything; a failing one fails the fetch.
    async fn robots_allow(&self, u: &url::Url) -> Result<bool, FetchError> {
        let origin = u.origin().ascii_serialization();
        let cached = {
            let map = self.robots.lock().unwrap_or_else(|p| p.into_inner());
            map.get(&origin)
                .filter(|(_, at)| at.elapsed() < ROBOTS_TTL)
                .map(|(r, _)| r.clone())
        };
        let rules = match cached {
            Some(r) => r,
            None => {
                let robots_url = u
                    .join("/robots.txt")
                    .map_err(|e| FetchError::Url(e.to_string()))?;
                let rules = Arc::new(self.fetch_robots(&robots_url).await?);
                self.robots
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(origin, (rules.clone(), Instant::now()));
                rules
            }
        };
        Ok(match &*rules {
            RobotsRules::AllowAll => true,
            RobotsRules::Rules(r) => r.allowed(u.as_str()),
        })
    }

    async fn fetch_robots(&self, robots_url: &url::Url) -> Result<RobotsRules, FetchError> {
        let work = async {
            let host = self.admit(robots_url)?;
            let _permit = self.hosts.acquire(&host).await;
            let resp = self
                .client
                .get(robots_url.clone())
                .send()
                .await
                .map_err(|e| classify(e, self.timeout))?;
            let status = resp.status();
            if status.is_client_error() || status.is_redirection() {
                return Ok(RobotsRules::AllowAll);
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    status: status.as_u16(),
                    retry_after_secs: retry_after(resp.headers()),
                });
            }
            let body = match self.read_capped(resp, ROBOTS_MAX_BYTES).await {
                Ok(b) => b,
                Err(FetchError::TooLarge { .. }) => return Ok(RobotsRules::AllowAll),
                Err(e) => return Err(e),
            };
            let agent = self.user_agent.split('/').next().unwrap_or("yuqing");
            Ok(match texting_robots::Robot::new(agent, &body) {
                Ok(r) => RobotsRules::Rules(r),
                Err(_) => RobotsRules::AllowAll,
            })
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }
}

fn classify(e: reqwest::Error, timeout: Duration) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout(timeout);
    }
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    FetchError::Network(msg)
}

/// `Retry-After` as seconds: delta-seconds or an HTTP date; garbage gives `None`.
pub fn retry_after(h: &HeaderMap) -> Option<u64> {
    let v = h.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    Some(secs.max(0) as u64)
}

/// A URL fit for logs and the console: scheme, host, port and path, without query, fragment
/// or credentials (they may carry tokens).
pub fn redact_url(u: &url::Url) -> String {
    let mut out = format!("{}://{}", u.scheme(), u.host_str().unwrap_or(""));
    if let Some(p) = u.port() {
        out.push_str(&format!(":{p}"));
    }
    out.push_str(u.path());
    if u.query().is_some() {
        out.push_str("?…");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h), Some(120));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(0));
    }

    #[test]
    fn redaction_drops_query_and_credentials() {
        let u = url::Url::parse("https://user:pw@h.example:8443/feed.xml?token=abc#x").unwrap();
        assert_eq!(redact_url(&u), "https://h.example:8443/feed.xml?…");
    }

    #[test]
    fn classes() {
        let s = |status, ra| FetchError::Status {
            status,
            retry_after_secs: ra,
        };
        assert_eq!(s(500, None).class(), ErrorClass::Server);
        assert_eq!(s(429, None).class(), ErrorClass::RateLimited);
        assert_eq!(s(503, Some(5)).class(), ErrorClass::RateLimited);
        assert_eq!(s(404, None).class(), ErrorClass::Client);
    }
}
