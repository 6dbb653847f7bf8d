//! Connectors: how yuqing collects documents. The [`Connector`] trait, the [`Registry`] of
//! kinds, the shared polite HTTP [`Fetcher`], charset handling, and the kinds themselves
//! (`feed`, `web_page`, `complaint_site`, and `inbound` for records pushed or imported rather
//! than fetched) and the main-content extractor they share.
//!
//! # The connector contract
//!
//! * **One kind = one trait impl + one registry line + one TOML file per source.** A kind
//!   provides a [`Factory`] that turns a [`SourceSpec`] (whose `[params]` it deserializes with
//!   `deny_unknown_fields` and validates, without network I/O) into a [`Connector`]. Errors
//!   name the file and the `params.*` key. An unknown kind's error lists the known ones.
//! * **A poll is fetch, then a pure parse.** [`Connector::poll`] fetches with the shared
//!   [`Fetcher`] and hands the bytes to a pure function (`feed::parse`) that is tested over
//!   fixture files with no network.
//! * **Ids are stable.** Each item becomes a [`RawDoc`] whose [`DocId`] is [`doc_id`] of the
//!   source id and the item key (GUID, else canonical link, else content hash), so replays and
//!   restarts upsert instead of duplicating.
//! * **Checkpoints travel with the data.** A poll returns the new validators in
//!   [`Poll::checkpoint`]; the connector never stores them. The pipeline saves them only after
//!   the documents of the same poll are committed to the index and the store. A
//!   `304 Not Modified` yields [`Poll::not_modified`] with no items and is never parsed.
//! * **Failures are values.** A poll fails with a [`ConnectorError`] whose
//!   [`class`](ConnectorError::class) drives health and retries; messages never contain a
//!   URL's query string. One source's failure never affects another's poll.

pub mod charset;
pub mod complaint;
pub mod extract;
pub mod feed;
pub mod feedcheck;
mod fetch;
pub mod hosts;
pub mod html;
pub mod inbound;
pub mod net;
pub mod web_page;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use yuqing_config::{ConfigError, SourceSpec};
use yuqing_model::{Checkpoint, DocId, ErrorClass, RawDoc, SourceId};

pub use fetch::{Body, FetchError, Fetched, Fetcher, RequestOptions, redact_url, retry_after};

/// Why a poll failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// The fetch failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The body did not parse as the kind expects.
    #[error("cannot parse response: {0}")]
    Parse(String),
}

impl ConnectorError {
    /// The class driving health and retries.
    pub fn class(&self) -> ErrorClass {
        match self {
            ConnectorError::Fetch(e) => e.class(),
            ConnectorError::Parse(_) => ErrorClass::Parse,
        }
    }

    /// Seconds the server asked us to wait, if it did.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ConnectorError::Fetch(FetchError::Status {
                retry_after_secs, ..
            }) => *retry_after_secs,
            _ => None,
        }
    }
}

/// What one poll produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Poll {
    /// Items found, in source order. May include items already stored: the pipeline skips
    /// unchanged ones.
    pub items: Vec<RawDoc>,
    /// Validators to save once `items` are committed (`None`: keep the stored ones).
    pub checkpoint: Option<Checkpoint>,
    /// The server answered 304, or the body hash equals the stored one: nothing was parsed.
    pub not_modified: bool,
}

/// Everything a poll may use besides its own configuration.
#[derive(Clone)]
pub struct PollContext {
    /// The shared HTTP client.
    pub fetcher: Fetcher,
}

/// A configured source, ready to poll.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Poll once, given the last committed checkpoint.
    async fn poll(
        &self,
        ctx: &PollContext,
        checkpoint: &Checkpoint,
    ) -> Result<Poll, ConnectorError>;

    /// For an `inbound` source: what the pipeline needs to drain its queue instead of
    /// calling [`Connector::poll`]. `None` for every kind that fetches.
    fn inbound(&self) -> Option<&inbound::InboundSource> {
        None
    }
}

/// What factories may consult besides the source's own file.
#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    /// Which addresses may be fetched: configured URLs are checked against it.
    pub policy: net::AddressPolicy,
}

impl BuildContext {
    /// From the `[fetch]` settings.
    pub fn from_settings(s: &yuqing_config::FetchSettings) -> BuildContext {
        BuildContext {
            policy: net::AddressPolicy {
                allow_all: s.allow_private_addresses,
                allowed: s
                    .allowed_networks
                    .iter()
                    .filter_map(|n| n.parse().ok())
                    .collect(),
            },
        }
    }
}

/// Builds a connector from its spec, validating `[params]` without network I/O.
pub type Factory = fn(&SourceSpec, &BuildContext) -> Result<Arc<dyn Connector>, Vec<ConfigError>>;

/// The known connector kinds.
pub struct Registry {
    kinds: BTreeMap<&'static str, Factory>,
    ctx: BuildContext,
}

impl Registry {
    /// Every built-in kind, one line each, building under `ctx`.
    pub fn builtin(ctx: BuildContext) -> Registry {
        let mut kinds: BTreeMap<&'static str, Factory> = BTreeMap::new();
        kinds.insert("feed", feed::build);
        kinds.insert("web_page", web_page::build);
        kinds.insert("complaint_site", complaint::build);
        kinds.insert("inbound", inbound::build);
        Registry { kinds, ctx }
    }

    /// Names of the known kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.kinds.keys().copied().collect()
    }

    /// Build the connector for `spec`, or say exactly what is wrong with it.
    pub fn build(&self, spec: &SourceSpec) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
        match self.kinds.get(spec.kind.as_str()) {
            Some(factory) => factory(spec, &self.ctx),
            None => Err(vec![ConfigError::new(
                &spec.file,
                "kind",
                format!(
                    "unknown connector kind `{}`: known kinds are {}",
                    spec.kind,
                    self.kinds().join(", ")
                ),
            )]),
        }
    }
}

/// The stable document id of an item: 32 hex chars of SHA-256 over source id and item key.
pub fn doc_id(source: &SourceId, item_key: &str) -> DocId {
    let mut h = Sha256::new();
    h.update(source.as_str().as_bytes());
    h.update([0u8]);
    h.update(item_key.as_bytes());
    DocId(hex(&h.finalize()[..16]))
}

/// SHA-256 of `bytes` as 64 hex characters.
pub fn content_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deserialize a source's `[params]` into `T`, reporting errors as `params.<path>`.
pub fn params<T: serde::de::DeserializeOwned>(spec: &SourceSpec) -> Result<T, Vec<ConfigError>> {
    serde_path_to_error::deserialize::<_, T>(toml::Value::Table(spec.params.clone())).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." {
            "params".to_string()
        } else {
            format!("params.{path}")
        };
        vec![ConfigError::new(
            &spec.file,
            key,
            e.into_inner().message().trim().to_string(),
        )]
    })
}

/// Parse and check a URL param: absolute, http or https, with a host, and an address the
/// policy allows (IP literals; names are checked again at connect time).
pub fn http_url(
    spec: &SourceSpec,
    ctx: &BuildContext,
    key: &str,
    value: &str,
) -> Result<url::Url, Vec<ConfigError>> {
    let err = |reason: String| {
        vec![ConfigError::new(
            &spec.file,
            format!("params.{key}"),
            reason,
        )]
    };
    let u =
        url::Url::parse(value).map_err(|e| err(format!("`{value}` is not a valid URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(err(format!(
            "scheme `{}` is not allowed: use http or https",
            u.scheme()
        )));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(err(format!("`{value}` has no host")));
    }
    ctx.policy.check_url(&u).map_err(|reason| {
        err(format!(
            "{reason} (allow it with fetch.allowed_networks if this is intended)"
        ))
    })?;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_config::RateLimit;
    use yuqing_model::Channel;

    pub(crate) fn spec(kind: &str, params: &str) -> SourceSpec {
        SourceSpec {
            id: SourceId("news/test".into()),
            file: "connectors/news/test.toml".into(),
            name: "测试".into(),
            kind: kind.into(),
            enabled: true,
            interval_secs: 60,
            channel: Channel::News,
            tags: vec![],
            rate_limit: RateLimit::default(),
            ignore_robots: None,
            params: params.parse().unwrap(),
        }
    }

    #[test]
    fn unknown_kind_lists_known_ones() {
        let e = Registry::builtin(BuildContext::default())
            .build(&spec("twitter", ""))
            .err()
            .unwrap();
        assert_eq!(e[0].key, "kind");
        assert!(
            e[0].reason
                .contains("known kinds are complaint_site, feed, inbound, web_page"),
            "{}",
            e[0].reason
        );
    }

    #[test]
    fn doc_ids_are_stable_and_source_scoped() {
        let a = SourceId("a".into());
        assert_eq!(doc_id(&a, "k"), doc_id(&a, "k"));
        assert_ne!(doc_id(&a, "k"), doc_id(&SourceId("b".into()), "k"));
        assert_eq!(doc_id(&a, "k").as_str().len(), 32);
    }

    #[test]
    fn bad_urls_are_config_errors() {
        let s = spec("feed", "");
        let ctx = BuildContext::default();
        for bad in [
            "not a url",
            "ftp://x.example/feed",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:127.0.0.1]/feed",
        ] {
            let e = http_url(&s, &ctx, "url", bad).unwrap_err();
            assert_eq!(e[0].key, "params.url", "{bad}");
        }
        assert!(http_url(&s, &ctx, "url", "https://x.example/feed").is_ok());
        let open = BuildContext {
            policy: net::AddressPolicy {
                allow_all: true,
                allowed: vec![],
            },
        };
        assert!(http_url(&s, &open, "url", "http://127.0.0.1:8080/feed").is_ok());
    }
}
