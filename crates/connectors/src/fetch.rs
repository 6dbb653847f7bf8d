//! The HTTP fetcher shared by every connector kind: rustls, a total deadline per fetch, a cap
//! on decompressed body bytes, conditional GET, a redirect cap, and errors that never carry
//! the URL's query string (it may hold a token).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use yuqing_config::FetchSettings;
use yuqing_model::{Checkpoint, ErrorClass};

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
            FetchError::Url(_) => ErrorClass::Client,
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

/// The shared HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_body_bytes: u64,
}

impl Fetcher {
    /// Build from settings.
    pub fn new(s: &FetchSettings) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(s.user_agent.clone())
            .connect_timeout(Duration::from_secs(s.connect_timeout_secs))
            .timeout(Duration::from_secs(s.timeout_secs))
            .redirect(reqwest::redirect::Policy::limited(s.max_redirects))
            .build()
            .map_err(|e| FetchError::Network(e.without_url().to_string()))?;
        Ok(Fetcher {
            client,
            timeout: Duration::from_secs(s.timeout_secs),
            max_body_bytes: s.max_body_bytes,
        })
    }

    /// GET `url`, conditionally on `checkpoint`'s validators, within the total deadline.
    pub async fn get(
        &self,
        url: &url::Url,
        checkpoint: &Checkpoint,
    ) -> Result<Fetched, FetchError> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(FetchError::Url(format!("scheme `{other}` is not fetched"))),
        }
        match tokio::time::timeout(self.timeout, self.get_inner(url, checkpoint)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn get_inner(
        &self,
        url: &url::Url,
        checkpoint: &Checkpoint,
    ) -> Result<Fetched, FetchError> {
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
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(|e| classify(e, self.timeout))?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after_secs: retry_after(resp.headers()),
            });
        }
        let h = resp.headers();
        let get =
            |n: header::HeaderName| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_type = get(header::CONTENT_TYPE);
        let etag = get(header::ETAG);
        let last_modified = get(header::LAST_MODIFIED);
        let final_url = resp.url().clone();
        if let Some(len) = resp.content_length()
            && len > self.max_body_bytes
            && h.get(header::CONTENT_ENCODING).is_none()
        {
            return Err(FetchError::TooLarge {
                limit: self.max_body_bytes,
            });
        }
        let mut buf = BytesMut::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| classify(e, self.timeout))?;
            if (buf.len() + chunk.len()) as u64 > self.max_body_bytes {
                return Err(FetchError::TooLarge {
                    limit: self.max_body_bytes,
                });
            }
            buf.extend_from_slice(&chunk);
        }
        if buf.is_empty() {
            return Err(FetchError::Empty);
        }
        Ok(Fetched::Body(Body {
            bytes: buf.freeze(),
            content_type,
            etag,
            last_modified,
            final_url,
        }))
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
