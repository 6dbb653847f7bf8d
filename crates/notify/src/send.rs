//! One HTTP POST per notification, signed, with a total deadline, and its outcome classified
//! into success, retryable failure or permanent failure.
//!
//! Classification ([`classify`]) is a pure function of the status, the `Retry-After` and the
//! body. The rules: a 2xx is a success only when the platform's own code says so (DingTalk and
//! WeCom `errcode == 0`, Feishu `code == 0`), so **HTTP 200 with a non-zero code is a
//! failure**; rate-limit codes (DingTalk 130101/90030, WeCom 45009, Feishu 11232) and `-1`
//! (busy) are retryable; other codes (signature, keyword, IP allowlist, bad token) are
//! permanent; 408, 429 and 5xx are retryable (429 with its `Retry-After`); other statuses are
//! permanent, Slack's documented error strings included. Network errors and the deadline are
//! retryable.
//!
//! Error messages never contain the URL, its path or query tokens, or the signing secret;
//! an echoed body is cut to 256 bytes with control characters removed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use yuqing_model::Notification;

use crate::config::{ChannelConfig, ChannelKind};
use crate::render;
use crate::sign;

/// Bytes of a receiver's body echoed into an error.
pub const MAX_ECHO_BYTES: usize = 256;
/// Bytes of a receiver's body read at most.
const MAX_READ_BYTES: usize = 64 * 1024;

/// Why a send failed, and whether to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// Whether a later attempt may succeed (5xx, timeouts, rate limits).
    pub retryable: bool,
    /// The wait the receiver asked for (`Retry-After`), unclamped.
    pub retry_after: Option<Duration>,
    /// What happened; never contains the URL, a token or a secret.
    pub message: String,
}

impl SendError {
    fn retryable(message: impl Into<String>) -> SendError {
        SendError {
            retryable: true,
            retry_after: None,
            message: message.into(),
        }
    }

    fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            retryable: false,
            retry_after: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SendError {}

/// A clock, so tests can sign with a fixed or skewed time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Sends to one channel.
pub struct Notifier {
    channel: ChannelConfig,
    client: reqwest::Client,
    timeout: Duration,
    clock: Clock,
    /// Strings that must never appear in an error: the URL, its tokens, the secret.
    secrets: Vec<String>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("channel", &self.channel.id)
            .field("kind", &self.channel.kind)
            .field("url", &self.channel.redacted_url())
            .finish()
    }
}

/// A request ready to send (what [`Notifier::send`] posts).
#[derive(Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Full URL, signature included (a credential).
    pub url: String,
    /// Extra headers (`Content-Type` is always JSON).
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: Vec<u8>,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("url", &crate::config::redact_url(&self.url))
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Notifier {
    /// A notifier for `channel` whose sends each end within `timeout`.
    pub fn new(channel: ChannelConfig, timeout: Duration) -> Result<Notifier, SendError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("yuqing-notify/", env!("CARGO_PKG_VERSION")))
            // A redirected webhook would post the alert (and a signature) elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| {
                SendError::permanent(format!("cannot build http client: {}", e.without_url()))
            })?;
        let secrets = secret_strings(&channel);
        Ok(Notifier {
            channel,
            client,
            timeout,
            clock: Arc::new(Utc::now),
            secrets,
        })
    }

    /// Replace the signing clock (tests: fixed or skewed time).
    pub fn with_clock(mut self, clock: Clock) -> Notifier {
        self.clock = clock;
        self
    }

    /// The channel.
    pub fn channel(&self) -> &ChannelConfig {
        &self.channel
    }

    /// Render and sign `n` as of `now`.
    pub fn prepare(&self, n: &Notification, now: DateTime<Utc>) -> Result<Prepared, SendError> {
        let mut body = render::body(self.channel.kind, n, &self.channel.mentions);
        let mut url = url::Url::parse(self.channel.url.expose())
            .map_err(|_| SendError::permanent("invalid webhook url"))?;
        let mut headers = Vec::new();
        let secret = self.channel.secret.as_ref().map(|s| s.expose());
        match (self.channel.kind, secret) {
            (ChannelKind::DingTalk, Some(s)) => {
                let ts = now.timestamp_millis();
                url.query_pairs_mut()
                    .append_pair("timestamp", &ts.to_string())
                    .append_pair("sign", &sign::dingtalk_sign(ts, s));
            }
            (ChannelKind::Feishu, Some(s)) => {
                let ts = now.timestamp();
                if let Value::Object(map) = &mut body {
                    map.insert("timestamp".into(), Value::String(ts.to_string()));
                    map.insert("sign".into(), Value::String(sign::feishu_sign(ts, s)));
                }
            }
            _ => {}
        }
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| SendError::permanent(format!("cannot encode body: {e}")))?;
        if let (ChannelKind::Webhook, Some(s)) = (self.channel.kind, secret) {
            let ts = now.timestamp();
            headers.push((sign::TIMESTAMP_HEADER, ts.to_string()));
            headers.push((
                sign::SIGNATURE_HEADER,
                sign::webhook_signature(ts, s, &bytes),
            ));
        }
        Ok(Prepared {
            url: url.into(),
            headers,
            body: bytes,
        })
    }

    /// Send `n` once, within the deadline. `Ok` only when the platform confirmed it.
    pub async fn send(&self, n: &Notification) -> Result<(), SendError> {
        let now = (self.clock)();
        let prepared = self.prepare(n, now)?;
        let result = tokio::time::timeout(self.timeout, self.post(prepared, now)).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(SendError::retryable(format!(
                "no answer within the {} ms deadline",
                self.timeout.as_millis()
            ))),
        };
        result.map_err(|mut e| {
            e.message = self.scrub(&e.message);
            e
        })
    }

    async fn post(&self, p: Prepared, now: DateTime<Utc>) -> Result<(), SendError> {
        let mut req = self
            .client
            .post(p.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(p.body);
        for (k, v) in p.headers {
            req = req.header(k, v);
        }
        let mut resp = req.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        let mut body = Vec::new();
        while body.len() < MAX_READ_BYTES {
            match resp.chunk().await {
                Ok(Some(c)) => body.extend_from_slice(&c),
                Ok(None) => break,
                Err(e) => {
                    // A 2xx whose body broke off is unconfirmed: retry (a duplicate beats a
                    // miss). Otherwise classify what we have.
                    if (200..300).contains(&status) {
                        return Err(transport_error(e));
                    }
                    break;
                }
            }
        }
        let outcome = classify(self.channel.kind, status, retry_after, &body);
        tracing::debug!(
            channel = %self.channel.id,
            kind = %self.channel.kind,
            status,
            ok = outcome.is_ok(),
            "chat webhook answered"
        );
        outcome
    }

    /// Remove every secret string from `s`.
    fn scrub(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        out
    }
}

/// The URL, its path segments and query values that look like tokens, and the secret.
fn secret_strings(c: &ChannelConfig) -> Vec<String> {
    let mut out = vec![c.url.expose().to_string()];
    if let Ok(u) = url::Url::parse(c.url.expose()) {
        out.push(u.path().to_string());
        if let Some(q) = u.query() {
            out.push(q.to_string());
        }
        for (_, v) in u.query_pairs() {
            if v.len() >= 6 {
                out.push(v.into_owned());
            }
        }
        for seg in u.path_segments().into_iter().flatten() {
            if seg.len() >= 6 {
                out.push(seg.to_string());
            }
        }
    }
    if let Some(s) = &c.secret {
        out.push(s.expose().to_string());
    }
    out.retain(|s| s.len() > 1);
    // Longest first, so a token inside the URL does not leave the rest of the URL behind.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

fn transport_error(e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut msg = format!("{what}: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    SendError::retryable(msg)
}

/// `Retry-After` as seconds or an HTTP-date, relative to `now`; a date in the past is zero.
pub fn parse_retry_after(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Up to [`MAX_ECHO_BYTES`] of a body, control characters removed, cut on a char boundary.
pub fn echo(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MAX_ECHO_BYTES {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out.trim().to_string()
}

/// The platform's own result code and message, if the body is JSON carrying one.
fn platform_code(kind: ChannelKind, body: &[u8]) -> Option<(i64, String)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let (code_keys, msg_keys): (&[&str], &[&str]) = match kind {
        ChannelKind::DingTalk | ChannelKind::WeCom => (&["errcode"], &["errmsg"]),
        ChannelKind::Feishu => (&["code", "StatusCode"], &["msg", "StatusMessage"]),
        ChannelKind::Slack | ChannelKind::Webhook => return None,
    };
    let code = code_keys.iter().find_map(|k| v.get(*k)?.as_i64())?;
    let msg = msg_keys
        .iter()
        .find_map(|k| v.get(*k)?.as_str())
        .unwrap_or("");
    Some((code, echo(msg.as_bytes())))
}

/// Whether a non-zero platform code is worth retrying later.
fn code_retryable(kind: ChannelKind, code: i64) -> bool {
    match kind {
        // 130101 "send too fast", 90030 "webhook over limit", -1 busy.
        ChannelKind::DingTalk => matches!(code, 130101 | 90030 | -1),
        // 45009 "api freq out of limit", -1 busy.
        ChannelKind::WeCom => matches!(code, 45009 | -1),
        // 11232 "frequency limited" (peak minutes, 5/s, 100/min).
        ChannelKind::Feishu => matches!(code, 11232),
        ChannelKind::Slack | ChannelKind::Webhook => false,
    }
}

fn code_error(kind: ChannelKind, code: i64, msg: &str, retry_after: Option<Duration>) -> SendError {
    let hint = match (kind, code) {
        (ChannelKind::Feishu, 19021) => {
            " (signature rejected or timestamp more than 1 h off: check the secret and the clock/NTP)"
        }
        (ChannelKind::Feishu, 19024) | (ChannelKind::DingTalk, 310000) => {
            " (signature, keyword or IP allowlist rejected: check the robot's security settings)"
        }
        (ChannelKind::Feishu, 11232) | (ChannelKind::DingTalk, 130101 | 90030) => " (rate limited)",
        (ChannelKind::WeCom, 45009) => " (rate limited)",
        (ChannelKind::WeCom, 93000) | (ChannelKind::DingTalk, 300001) => {
            " (invalid webhook key or token)"
        }
        _ => "",
    };
    let field = if kind == ChannelKind::Feishu {
        "code"
    } else {
        "errcode"
    };
    SendError {
        retryable: code_retryable(kind, code),
        retry_after,
        message: format!("{kind} {field} {code}{hint}: {msg}"),
    }
}

/// Classify a receiver's answer. See the module doc for the rules.
pub fn classify(
    kind: ChannelKind,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<(), SendError> {
    let code = platform_code(kind, body);
    if (200..300).contains(&status) {
        return match kind {
            ChannelKind::DingTalk | ChannelKind::WeCom | ChannelKind::Feishu => match code {
                Some((0, _)) => Ok(()),
                Some((c, msg)) => Err(code_error(kind, c, &msg, retry_after)),
                // A 2xx without a code is unconfirmed (a proxy, a captive portal): retry,
                // since a duplicate beats a miss.
                None => Err(SendError::retryable(format!(
                    "{kind} answered HTTP {status} without a result code: {}",
                    echo(body)
                ))),
            },
            ChannelKind::Slack | ChannelKind::Webhook => Ok(()),
        };
    }
    if let Some((c, msg)) = &code
        && *c != 0
    {
        let mut e = code_error(kind, *c, msg, retry_after);
        e.retryable |= status == 429 || status >= 500;
        e.message = format!("HTTP {status}, {}", e.message);
        return Err(e);
    }
    let retryable = status == 408 || status == 429 || status >= 500
        // DingTalk answers over-limit senders with a redirect and throttles them for 10 min.
        || (kind == ChannelKind::DingTalk && (300..400).contains(&status));
    let detail = echo(body);
    let message = if detail.is_empty() {
        format!("{kind} answered HTTP {status}")
    } else {
        format!("{kind} answered HTTP {status}: {detail}")
    };
    Err(SendError {
        retryable,
        retry_after: if retryable { retry_after } else { None },
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_200_with_nonzero_code_is_a_failure() {
        let e = classify(
            ChannelKind::DingTalk,
            200,
            None,
            br#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
        )
        .unwrap_err();
        assert!(!e.retryable);
        assert!(e.message.contains("310000"), "{}", e.message);
        let e = classify(
            ChannelKind::WeCom,
            200,
            None,
            br#"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
        )
        .unwrap_err();
        assert!(e.retryable);
        let e = classify(
            ChannelKind::Feishu,
            200,
            None,
            br#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#,
        )
        .unwrap_err();
        assert!(!e.retryable);
        assert!(e.message.contains("clock"), "{}", e.message);
        assert!(
            classify(
                ChannelKind::Feishu,
                200,
                None,
                br#"{"code":11232,"msg":"frequency limited"}"#
            )
            .unwrap_err()
            .retryable
        );
        assert!(
            classify(
                ChannelKind::Feishu,
                200,
                None,
                br#"{"StatusCode":0,"StatusMessage":"success"}"#
            )
            .is_ok()
        );
        assert!(
            classify(
                ChannelKind::DingTalk,
                200,
                None,
                br#"{"errcode":0,"errmsg":"ok"}"#
            )
            .is_ok()
        );
        assert!(
            classify(ChannelKind::DingTalk, 200, None, b"<html>")
                .unwrap_err()
                .retryable
        );
    }

    #[test]
    fn statuses() {
        for s in [500, 502, 503, 408] {
            assert!(
                classify(ChannelKind::Slack, s, None, b"")
                    .unwrap_err()
                    .retryable
            );
        }
        let e = classify(
            ChannelKind::Slack,
            429,
            Some(Duration::from_secs(7)),
            b"rate_limited",
        )
        .unwrap_err();
        assert!(e.retryable);
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        for (s, b) in [
            (400, "invalid_payload"),
            (404, "no_service"),
            (410, "channel_is_archived"),
            (403, "action_prohibited"),
        ] {
            let e = classify(ChannelKind::Slack, s, None, b.as_bytes()).unwrap_err();
            assert!(!e.retryable, "{s}");
            assert!(e.message.contains(b));
        }
        assert!(classify(ChannelKind::Slack, 200, None, b"ok").is_ok());
        assert!(classify(ChannelKind::Webhook, 204, None, b"").is_ok());
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2024-05-06T08:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Mon, 06 May 2024 08:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Mon, 06 May 2024 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn echo_is_capped_and_stripped() {
        let body = format!("a\u{7}b\r\n{}", "长".repeat(500));
        let e = echo(body.as_bytes());
        assert!(e.len() <= MAX_ECHO_BYTES + '…'.len_utf8());
        assert!(e.starts_with("ab长"));
        assert!(!e.chars().any(|c| c.is_control()));
    }
}
