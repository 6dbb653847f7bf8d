//! `kind = "inbound"`: customer feedback that comes to us (hotline, online service, app)
//! instead of being fetched. Records arrive two ways, both validated by
//! `yuqing_store::connectors::InboundRecord`:
//!
//! * pushed: `POST /api/v1/inbound/{source}` with `Authorization: Bearer <params.token>` (or a
//!   console API token of an analyst or admin) and a JSON record, an array of records, or
//!   `{"records": [...]}`; the console writes them to the store's durable inbound queue and
//!   answers 202 with a per-record report;
//! * imported: `yuqing import <file.csv|file.jsonl> --source <id>` (index then store commit,
//!   or into the queue while a daemon holds the index).
//!
//! The daemon's scheduler drains the queue as this source's poll: the records after the
//! checkpoint become documents, the checkpoint (`inbound:<seq>`) is committed with them, and
//! only then are the rows purged. This connector's own [`Connector::poll`] fetches nothing
//! (`yuqing preview` shows no documents): the queue belongs to the pipeline.
//!
//! ```toml
//! version = 1
//! kind = "inbound"
//! channel = "inbound"
//! interval_secs = 5                    # how often the queue is drained
//! [params]
//! token = "${YUQING_INBOUND_TOKEN}"    # optional bearer token of the push endpoint
//! max_records_per_poll = 500           # default 500
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use yuqing_config::{ConfigError, SourceSpec};
use yuqing_model::Checkpoint;

use crate::feed::ItemMeta;
use crate::{BuildContext, Connector, ConnectorError, Poll, PollContext};

/// Default records drained per poll.
pub const DEFAULT_MAX_RECORDS_PER_POLL: usize = 500;
/// The largest `max_records_per_poll` accepted.
pub const MAX_RECORDS_PER_POLL_LIMIT: usize = 10_000;
/// Shortest bearer token accepted.
pub const MIN_TOKEN_CHARS: usize = 16;
/// Prefix of an inbound source's checkpoint (`etag`): the last committed queue sequence.
pub const CHECKPOINT_PREFIX: &str = "inbound:";

/// `[params]` of an inbound source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundParams {
    /// Bearer token of the push endpoint, from `${ENV}`.
    pub token: Option<String>,
    /// Records drained per poll at most.
    pub max_records_per_poll: Option<usize>,
}

/// A configured inbound source.
#[derive(Clone)]
pub struct InboundSource {
    /// What every document carries.
    pub meta: ItemMeta,
    /// The push endpoint's bearer token, if configured.
    pub token: Option<String>,
    /// Records drained per poll at most.
    pub max_records: usize,
}

impl std::fmt::Debug for InboundSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundSource")
            .field("source_id", &self.meta.source_id)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("max_records", &self.max_records)
            .finish()
    }
}

/// The registry's factory for `inbound`.
pub fn build(
    spec: &SourceSpec,
    _ctx: &BuildContext,
) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
    let p: InboundParams = crate::params(spec)?;
    let err =
        |key: &str, reason: String| ConfigError::new(&spec.file, format!("params.{key}"), reason);
    let mut errors = Vec::new();
    if let Some(t) = &p.token {
        if t.trim().is_empty() {
            errors.push(err(
                "token",
                "is empty: export the variable it names".into(),
            ));
        } else if t.trim().chars().count() < MIN_TOKEN_CHARS {
            errors.push(err(
                "token",
                format!("is shorter than {MIN_TOKEN_CHARS} characters: use a random secret"),
            ));
        }
    }
    let max_records = p
        .max_records_per_poll
        .unwrap_or(DEFAULT_MAX_RECORDS_PER_POLL);
    if max_records == 0 || max_records > MAX_RECORDS_PER_POLL_LIMIT {
        errors.push(err(
            "max_records_per_poll",
            format!("must be between 1 and {MAX_RECORDS_PER_POLL_LIMIT}"),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Arc::new(InboundSource {
        meta: ItemMeta {
            source_id: spec.id.clone(),
            channel: spec.channel,
            tags: spec.tags.clone(),
        },
        token: p.token.map(|t| t.trim().to_string()),
        max_records,
    }))
}

/// The queue position a checkpoint holds (0 when none).
pub fn checkpoint_seq(c: &Checkpoint) -> i64 {
    c.etag
        .as_deref()
        .and_then(|e| e.strip_prefix(CHECKPOINT_PREFIX))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The checkpoint of queue position `seq`.
pub fn checkpoint_at(seq: i64) -> Checkpoint {
    Checkpoint {
        etag: Some(format!("{CHECKPOINT_PREFIX}{seq}")),
        last_modified: None,
        content_hash: None,
    }
}

#[async_trait]
impl Connector for InboundSource {
    async fn poll(&self, _: &PollContext, _: &Checkpoint) -> Result<Poll, ConnectorError> {
        Ok(Poll::default())
    }

    fn inbound(&self) -> Option<&InboundSource> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_validated_and_checkpoints_round_trip() {
        let ok = build(
            &crate::tests::spec("inbound", "token = \"0123456789abcdef0123\""),
            &BuildContext::default(),
        )
        .unwrap();
        let src = ok.inbound().unwrap();
        assert_eq!(src.token.as_deref(), Some("0123456789abcdef0123"));
        assert_eq!(src.max_records, DEFAULT_MAX_RECORDS_PER_POLL);
        for (params, key) in [
            ("token = \"short\"", "params.token"),
            ("token = \"  \"", "params.token"),
            ("max_records_per_poll = 0", "params.max_records_per_poll"),
            ("url = \"http://x\"", "params"),
        ] {
            let e = build(
                &crate::tests::spec("inbound", params),
                &BuildContext::default(),
            )
            .err()
            .unwrap();
            assert!(e[0].key.starts_with(key), "{params}: {e:?}");
        }
        assert_eq!(checkpoint_seq(&Checkpoint::default()), 0);
        assert_eq!(checkpoint_seq(&checkpoint_at(42)), 42);
    }
}
