//! Incidents: rules from `config/rules.toml`, evaluated incrementally on committed documents,
//! turned into incidents (one event = one incident) stored in SQLite together with their
//! notifications in the outbox; and back-testing of the rules against history.
//!
//! Rule kinds ([`RuleKind`]): `volume` (≥ N matching, by default negative, documents mentioning
//! an entity in a window), `spike` (the window against the same hours on past days: ratio,
//! standard deviations and a minimum count, three sensitivities), `keyword` (a document
//! containing a high-risk term), `authority` (a negative document from a source tagged
//! `authoritative`) and `complaint_surge` (complaint-channel volume, or a coordinated wave:
//! many documents of one near-duplicate cluster). Every rule filters by entity, channel, risk
//! category, dimension, source tag and sentiment (per-entity sentiment when the analysis gives
//! one, else the document's).
//!
//! Contract:
//! * **input**: [`Engine::on_committed`] gets the documents of a batch *after* the store commit
//!   that holds them (the pipeline writer: index commit → store commit → engine). It keeps
//!   sliding windows per group key (rule + entity + topic) in memory, never rescanning the
//!   index. A document counts at its [`event_time`] (publication, else fetch time);
//! * **one event = one incident**: matching documents attach to the active incident of their
//!   group key; severity rises with the escalation steps (and re-notifies); the quiet period
//!   after the newest attached document resolves it; a later wave (counting only documents
//!   after the resolution) reopens it within the reopen window, else opens a new one;
//! * **atomic**: every change of one call — incident rows, attached documents
//!   (`incident_docs`), audit events (`incident_events`) and notifications (`outbox`) — is
//!   written in one SQLite transaction;
//! * **idempotent**: windows count a document id once; a document attaches once per incident;
//!   every outbox row has a deterministic dedup key `incident:{id}:opened:{n}#{channel}`,
//!   `incident:{id}:{n}:severity:{severity}#…`, `incident:{id}:{n}:update:{seq}#…`,
//!   `incident:{id}:{n}:unacked#…`, `incident:{id}:resolved:{n}#…` inserted with
//!   `INSERT OR IGNORE`. Replaying a batch, in this process or after a restart, queues nothing
//!   twice;
//! * **restart**: the first call (and the first call after a failed one) rebuilds the state
//!   from the store: incidents still active or within their reopen window, then every stored
//!   document of the last [`RuleSet::span`] re-evaluated in time order. This continues the
//!   windows without double counting and catches up documents committed just before a crash
//!   that the engine never saw;
//! * **grouping**: a flood opens one incident with one `Opened` notification; further
//!   documents produce at most one `Update` per `group_interval_secs`, only when documents
//!   were added. [`Engine::tick`] sends updates that waited, resolves quiet incidents and
//!   escalates unacknowledged ones;
//! * **routing** is not decided here: the [`Route`] function (from the notify crate) names the
//!   channels of each notification; one outbox row per channel.
//!
//! [`backtest`] replays stored documents through a fresh engine with an in-memory sink and
//! lists what each rule would have opened; it writes nothing.

#![warn(missing_docs)]

mod backtest;
mod engine;
mod message;
mod rules;

pub use backtest::{BACKTEST_BATCH, BacktestIncident, backtest, parse_time_arg, render_backtest};
pub use engine::{ChangeKind, Engine, IncidentChange, Route, RouteInput, event_time};
pub use message::MAX_TOP_DOCS;
pub use rules::*;
pub use yuqing_model::RuleKind;

/// Errors of the incident engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed; the engine rebuilds its state from the store on the next call.
    #[error("incident store: {0}")]
    Store(yuqing_store::StoreError),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests;
