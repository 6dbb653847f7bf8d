//! Authentication and authorization: session cookies for the console, bearer tokens for
//! machines, CSRF tokens on every state-changing form, login throttling and the `next=`
//! validator.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::error::ApiError;
use crate::users::{Role, User, constant_time_eq};
use crate::{AppState, blocking};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "yq_session";
/// Name of the login form's double-submit CSRF cookie (before a session exists).
pub const LOGIN_CSRF_COOKIE: &str = "yq_login_csrf";
/// Header carrying the session's CSRF token on API writes made with a session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Failed logins per IP address or per user name within [`THROTTLE_WINDOW`] before 429.
pub const MAX_LOGIN_FAILURES: u32 = 5;
/// Window of the login throttle.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A console session; holds its CSRF token.
    Session {
        /// The session's CSRF token.
        csrf: String,
    },
    /// A bearer API token (not ambient, so no CSRF check).
    Bearer,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authed {
    /// Who.
    pub user: User,
    /// How.
    pub credential: Credential,
}

impl Authed {
    /// 403 unless the caller's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.user.role >= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden("your role does not allow this"))
        }
    }

    /// The session's CSRF token (empty for bearer callers, who never see forms).
    pub fn csrf(&self) -> &str {
        match &self.credential {
            Credential::Session { csrf } => csrf,
            Credential::Bearer => "",
        }
    }

    /// Check a submitted CSRF token: required for sessions, not for bearer tokens.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), ApiError> {
        match &self.credential {
            Credential::Bearer => Ok(()),
            Credential::Session { csrf } => match submitted {
                Some(s) if constant_time_eq(s.as_bytes(), csrf.as_bytes()) => Ok(()),
                _ => Err(ApiError::Forbidden("missing or wrong CSRF token")),
            },
        }
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Who sent this request, if anyone: a bearer token first, else the session cookie.
pub async fn authenticate(headers: &HeaderMap, st: &AppState) -> Result<Option<Authed>, ApiError> {
    if let Some(token) = bearer(headers) {
        let token = token.to_string();
        let user = blocking(st, move |s| Ok(s.users.api_token_user(&token)?)).await?;
        return Ok(user.map(|user| Authed {
            user,
            credential: Credential::Bearer,
        }));
    }
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let token = token.to_string();
    let session = blocking(st, move |s| Ok(s.users.session(&token, Utc::now())?)).await?;
    Ok(session.map(|s| Authed {
        user: s.user,
        credential: Credential::Session { csrf: s.csrf },
    }))
}

/// Extractor for API routes: rejects with a JSON 401.
#[derive(Debug, Clone)]
pub struct ApiUser(pub Authed);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        authenticate(&parts.headers, st)
            .await?
            .map(ApiUser)
            .ok_or(ApiError::Unauthorized)
    }
}

/// Extractor for console pages: redirects to the login page, which comes back here after.
#[derive(Debug, Clone)]
pub struct PageUser(pub Authed);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        match authenticate(&parts.headers, st).await {
            Ok(Some(a)) => Ok(PageUser(a)),
            Ok(None) => {
                let here = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                Err(see_other(&format!(
                    "/login?next={}",
                    encode_component(here)
                )))
            }
            Err(e) => Err(crate::pages::error_page(&e)),
        }
    }
}

/// A `303 See Other` to a local path (the caller has validated it).
pub fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    let loc = HeaderValue::from_str(&encode_for_location(location))
        .unwrap_or_else(|_| HeaderValue::from_static("/"));
    res.headers_mut().insert(header::LOCATION, loc);
    res
}

/// Percent-encode everything but unreserved characters (for a query parameter value).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encode bytes that cannot appear in a `Location` header as they are.
fn encode_for_location(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x21..=0x7e).contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn local_prefix(s: &str) -> bool {
    s.starts_with('/') && !s.starts_with("//") && !s.starts_with("/\\")
}

/// The `next=` target after login, if it is a local path on this site; `None` otherwise.
///
/// Accepted: a path starting with one `/`. Rejected: scheme-relative `//host`, `/\host`
/// (browsers read `\` as `/`), any backslash, control characters or whitespace (browsers
/// strip tabs and newlines, turning `/\t/host` into `//host`), absolute URLs, and each of
/// these hidden behind one or more rounds of percent-encoding.
pub fn safe_next(raw: &str) -> Option<String> {
    if raw.is_empty()
        || raw.len() > 2048
        || raw.contains('\\')
        || raw.chars().any(|c| c.is_control() || c.is_whitespace())
        || !local_prefix(raw)
    {
        return None;
    }
    let mut cur = raw.to_string();
    for _ in 0..4 {
        let dec = percent_decode(&cur);
        if dec == cur {
            break;
        }
        if !local_prefix(&dec)
            || dec.contains('\\')
            || dec
                .chars()
                .take(3)
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return None;
        }
        cur = dec;
    }
    Some(raw.to_string())
}

/// Failed-login counters per key (`ip:…`, `user:…`).
#[derive(Debug, Default)]
pub struct Throttle {
    map: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// Whether `key` has reached [`MAX_LOGIN_FAILURES`] within the window.
    pub fn blocked(&self, key: &str) -> bool {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .is_some_and(|(n, since)| *n >= MAX_LOGIN_FAILURES && since.elapsed() < THROTTLE_WINDOW)
    }

    /// Count one failure for `key`.
    pub fn fail(&self, key: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < THROTTLE_WINDOW);
        }
        let e = map.entry(key.to_string()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= THROTTLE_WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }

    /// Forget `key` (after a successful login).
    pub fn clear(&self, key: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// The client's IP address when the server was started with connect info.
pub fn client_ip(parts_ext: &axum::http::Extensions) -> String {
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let max_age = crate::users::SESSION_TTL.as_secs();
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes cookie `name` at `path`.
pub fn clear_cookie(name: &str, path: &str) -> String {
    format!("{name}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_accepts_only_local_paths() {
        for ok in [
            "/",
            "/search?q=%E6%81%92",
            "/incidents/3",
            "/documents/ab?x=1#y",
        ] {
            assert_eq!(safe_next(ok).as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/%2F%2Fevil.example",
            "/%2fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%255Cevil.example",
            "/%252F%252Fevil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/%09/evil.example",
            "/ /evil.example",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn throttle_blocks_after_failures() {
        let t = Throttle::default();
        for _ in 0..MAX_LOGIN_FAILURES {
            assert!(!t.blocked("ip:1"));
            t.fail("ip:1");
        }
        assert!(t.blocked("ip:1"));
        t.clear("ip:1");
        assert!(!t.blocked("ip:1"));
    }
}
