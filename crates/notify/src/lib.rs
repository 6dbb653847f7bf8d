//! Chat notifiers for yuqing: DingTalk (钉钉) custom robots, WeCom (企业微信) group robots,
//! Feishu/Lark (飞书) custom bots, Slack incoming webhooks and a generic signed JSON webhook,
//! fed by a durable outbox.
//!
//! # Contract
//!
//! * **Configuration** ([`config`]): `config/notify.toml` is parsed with unknown keys
//!   rejected, secrets only from `${ENV}`, and validated without network I/O; [`load`]
//!   returns every mistake as a `ConfigError` naming file, key and reason.
//! * **Routing** ([`NotifyConfig::route`]): a notification goes to the enabled channels of
//!   the first matching `[[route]]` (more with `continue = true`), else `default_channels`.
//! * **Rendering** ([`render`]): Chinese markdown per platform, scraped text neutralized,
//!   within each platform's size limit; @-mentions where the platform allows.
//! * **Signing** ([`sign`]): DingTalk, Feishu and the generic webhook, checked against fixed
//!   vectors.
//! * **Sending** ([`Notifier::send`]): one POST within a total deadline; success only when
//!   the platform confirms (HTTP 200 with a non-zero `errcode`/`code` is a failure); every
//!   failure classified retryable or permanent ([`SendError`]).
//! * **Delivery** ([`Deliverer`]): at least once from the [`Outbox`]; a row is marked sent
//!   only after a confirmed send, so a restarted deliverer over the same outbox sends nothing
//!   twice (except the one message whose confirmation a crash interrupted) and loses nothing
//!   pending. Per-channel sliding-window limits below the platform limits; what does not fit
//!   folds into a digest, nothing is dropped. Backoff with jitter honouring a clamped
//!   `Retry-After`; permanent failures reported through a callback and paged to a fallback.
//!   Feishu channels send nothing within `peak_avoid` (default ±30 s) of hh:00 and hh:30,
//!   where Feishu answers 11232: the send waits for the window to pass plus a random jitter.
//! * **Secrets**: webhook URLs, their tokens and signing secrets never appear in errors,
//!   `Debug` output or logs; echoed bodies are capped at 256 bytes without control characters.

#![warn(missing_docs)]

pub mod config;
pub mod deliver;
pub mod limit;
pub mod outbox;
pub mod render;
pub mod send;
pub mod sign;

pub use config::{
    ChannelConfig, ChannelKind, DeliveryPolicy, Grouping, NotifyConfig, QuietHours, RouteContext,
    RouteRule, Secret, Window, load, parse,
};
pub use deliver::{Deliverer, DeliveryStats, Failure, FailureCallback, TickReport};
pub use outbox::{MemoryOutbox, Outbox, OutboxItem, Row, RowStatus};
pub use send::{Clock, Notifier, SendError};
