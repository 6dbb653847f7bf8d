//! The delivery loop: outbox → channels, at least once, never faster than each robot allows.
//!
//! Each tick reads the due rows, groups them per channel and, per channel (channels in
//! parallel, rows of one channel in order):
//!
//! 1. rows for an unknown or disabled channel fail permanently;
//! 2. rows younger than `group_wait` wait (a burst becomes one message);
//! 3. during quiet hours, rows below `min_severity_to_break` are held until the end
//!    (`mark_retry` with the same attempt count);
//! 4. several pending `update`s of one incident collapse into the newest; an `update` sent
//!    less than `group_interval` after the last message of its incident waits;
//! 5. the limiter decides how many messages may go now; when fewer than needed, the most
//!    severe go alone and the rest fold into one [`NotificationKind::Digest`] of at most
//!    [`MAX_DIGEST_ITEMS`] (the others stay pending for the next slot); none are dropped, and
//!    when no send is allowed the rows stay pending;
//! 6. a channel with a peak window (Feishu: ±`peak_avoid` around hh:00 and hh:30) sends
//!    nothing inside it: the channel pauses until the window has passed plus a random
//!    jitter of up to [`PEAK_JITTER_MAX`], and its rows stay pending;
//! 7. each message is sent once: success → `mark_sent` for every row it covers (only now);
//!    retryable failure → `mark_retry` with exponential backoff and jitter counted from the
//!    end of the attempt, at least the clamped `Retry-After`, and the channel pauses for as
//!    long; after `max_attempts` or a permanent failure → `mark_failed`, the failure callback,
//!    and a page to the channel's fallback through the outbox.
//!
//! A crash between a confirmed send and `mark_sent` re-sends that message once on restart
//! (at-least-once); nothing else is sent twice, and nothing pending is lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use yuqing_model::{Notification, NotificationKind};

use crate::config::{ChannelConfig, NotifyConfig, RouteContext};
use crate::limit::Limiter;
use crate::outbox::{Outbox, OutboxItem};
use crate::render;
use crate::send::{Clock, Notifier, SendError};

/// Notifications folded into one digest at most; the rest wait for the next send slot.
pub const MAX_DIGEST_ITEMS: usize = 20;

/// Most random delay added after a peak window, so that held channels do not all send at
/// the same instant when it ends.
pub const PEAK_JITTER_MAX: Duration = Duration::from_secs(10);

/// A notification that failed for good, reported so the incident can show "notify failed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Outbox row id.
    pub outbox_id: i64,
    /// Channel id.
    pub channel: String,
    /// Incident, if any.
    pub incident_id: Option<i64>,
    /// The row's dedup key.
    pub dedup_key: String,
    /// Redacted reason.
    pub message: String,
}

/// Called for every permanently failed row (from the delivery task: keep it short).
pub type FailureCallback = Arc<dyn Fn(&Failure) + Send + Sync>;

/// Counters since start, named after the metrics they feed (`yuqing_notify_*_total`).
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// Messages confirmed sent (`yuqing_notify_sent_total`).
    pub sent: AtomicU64,
    /// Attempts that failed and will be retried (`yuqing_notify_retried_total`).
    pub retried: AtomicU64,
    /// Rows failed for good (`yuqing_notify_failed_total`).
    pub failed: AtomicU64,
    /// Rows folded into a digest (`yuqing_notify_folded_total`).
    pub folded: AtomicU64,
    /// Rows held by quiet hours (`yuqing_notify_held_total`).
    pub held: AtomicU64,
}

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    /// Messages sent (a digest counts once).
    pub sent: usize,
    /// Rows marked for retry after a failed attempt.
    pub retried: usize,
    /// Rows failed for good.
    pub failed: usize,
    /// Rows folded into digests that were sent.
    pub folded: usize,
    /// Rows held by quiet hours.
    pub held: usize,
}

impl TickReport {
    fn add(&mut self, o: TickReport) {
        self.sent += o.sent;
        self.retried += o.retried;
        self.failed += o.failed;
        self.folded += o.folded;
        self.held += o.held;
    }
}

#[derive(Debug)]
struct ChannelState {
    limiter: Limiter,
    /// No send before this (a 429 or a failed attempt's backoff).
    paused_until: Option<DateTime<Utc>>,
    /// Last message per incident, for `group_interval`.
    last_by_incident: HashMap<i64, DateTime<Utc>>,
}

struct Inner<O: Outbox> {
    outbox: Arc<O>,
    config: NotifyConfig,
    notifiers: HashMap<String, Notifier>,
    /// Per enabled channel, so channels never wait for each other.
    state: HashMap<String, Mutex<ChannelState>>,
    on_failure: Option<FailureCallback>,
    clock: Clock,
    stats: DeliveryStats,
}

/// Delivers the outbox to the configured channels. See the module doc for the algorithm.
pub struct Deliverer<O: Outbox> {
    inner: Arc<Inner<O>>,
    wake: Arc<Notify>,
}

/// One message to send and the rows it covers.
struct Unit {
    rows: Vec<OutboxItem>,
    notification: Notification,
}

impl<O: Outbox> Deliverer<O> {
    /// A deliverer over `outbox` for the channels of `config`.
    pub fn new(config: NotifyConfig, outbox: Arc<O>) -> Result<Deliverer<O>, SendError> {
        let mut notifiers = HashMap::new();
        let mut state = HashMap::new();
        for c in config.channels.iter().filter(|c| c.enabled) {
            state.insert(
                c.id.clone(),
                Mutex::new(ChannelState {
                    limiter: Limiter::new(c.limits.clone()),
                    paused_until: None,
                    last_by_incident: HashMap::new(),
                }),
            );
            notifiers.insert(
                c.id.clone(),
                Notifier::new(c.clone(), config.delivery.send_timeout)?,
            );
        }
        Ok(Deliverer {
            inner: Arc::new(Inner {
                outbox,
                config,
                notifiers,
                state,
                on_failure: None,
                clock: Arc::new(Utc::now),
                stats: DeliveryStats::default(),
            }),
            wake: Arc::new(Notify::new()),
        })
    }

    fn inner_mut(&mut self) -> &mut Inner<O> {
        Arc::get_mut(&mut self.inner).expect("configured before the deliverer is shared")
    }

    /// Call `cb` for every row that fails for good. Configure before [`Deliverer::run`].
    pub fn on_failure(mut self, cb: FailureCallback) -> Deliverer<O> {
        self.inner_mut().on_failure = Some(cb);
        self
    }

    /// Replace the clock used for outbox times, backoff, grouping, quiet hours and rate
    /// limits (and for signing). Tests only; configure before [`Deliverer::run`].
    pub fn with_clock(mut self, clock: Clock) -> Deliverer<O> {
        let inner = self.inner_mut();
        inner.clock = clock.clone();
        let ids: Vec<String> = inner.notifiers.keys().cloned().collect();
        for id in ids {
            if let Some(n) = inner.notifiers.remove(&id) {
                inner.notifiers.insert(id, n.with_clock(clock.clone()));
            }
        }
        self
    }

    /// A handle that wakes the loop at once (call after writing the outbox).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Counters since start.
    pub fn stats(&self) -> &DeliveryStats {
        &self.inner.stats
    }

    /// The channel ids `n` goes to; see [`NotifyConfig::route`].
    pub fn route(&self, n: &Notification, ctx: &RouteContext) -> Vec<String> {
        self.inner.config.route(n, ctx)
    }

    /// Deliver until `cancel` fires; the tick in progress finishes its sends (each within
    /// the send deadline) and marks them before this returns.
    pub async fn run(&self, cancel: CancellationToken) {
        tracing::info!(
            channels = self.inner.notifiers.len(),
            "notification delivery started"
        );
        while !cancel.is_cancelled() {
            let report = tick(&self.inner, &cancel).await;
            if report != TickReport::default() {
                tracing::debug!(
                    sent = report.sent,
                    retried = report.retried,
                    failed = report.failed,
                    folded = report.folded,
                    held = report.held,
                    "notification tick"
                );
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.inner.config.delivery.poll_interval) => {}
            }
        }
        tracing::info!("notification delivery stopped");
    }

    /// One pass over the due rows (what [`Deliverer::run`] repeats).
    pub async fn tick(&self) -> TickReport {
        tick(&self.inner, &CancellationToken::new()).await
    }
}

async fn blocking<O: Outbox, T: Send + 'static>(
    outbox: &Arc<O>,
    f: impl FnOnce(&O) -> Result<T, O::Error> + Send + 'static,
) -> Option<T> {
    let o = outbox.clone();
    match tokio::task::spawn_blocking(move || f(&o)).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "notification outbox error");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "notification outbox task failed");
            None
        }
    }
}

async fn tick<O: Outbox>(inner: &Arc<Inner<O>>, cancel: &CancellationToken) -> TickReport {
    let now = (inner.clock)();
    let limit = inner.config.delivery.batch_limit;
    let Some(items) = blocking(&inner.outbox, move |o| o.due(now, limit)).await else {
        return TickReport::default();
    };
    let mut by_channel: BTreeMap<String, Vec<OutboxItem>> = BTreeMap::new();
    for it in items {
        by_channel.entry(it.channel.clone()).or_default().push(it);
    }
    let mut set = JoinSet::new();
    for (channel, rows) in by_channel {
        let inner = inner.clone();
        let cancel = cancel.clone();
        set.spawn(async move { deliver_channel(&inner, &channel, rows, &cancel).await });
    }
    let mut report = TickReport::default();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(r) => report.add(r),
            Err(e) => tracing::error!(error = %e, "notification channel task failed"),
        }
    }
    report
}

async fn deliver_channel<O: Outbox>(
    inner: &Arc<Inner<O>>,
    channel_id: &str,
    rows: Vec<OutboxItem>,
    cancel: &CancellationToken,
) -> TickReport {
    let mut report = TickReport::default();
    let now = (inner.clock)();
    let channel = inner.config.channel(channel_id);
    let notifier = inner.notifiers.get(channel_id);
    let state = inner.state.get(channel_id);
    let (Some(channel), Some(notifier), Some(state)) = (channel, notifier, state) else {
        let why = match channel {
            Some(_) => "channel is disabled",
            None => "unknown channel",
        };
        for row in rows {
            report.failed += 1;
            fail(inner, &row, &format!("{why} `{channel_id}`"), None).await;
        }
        return report;
    };

    let mut state = state.lock().await;
    if state.paused_until.is_some_and(|t| t > now) {
        return report;
    }
    let grouping = inner.config.grouping;
    let group_wait = chrono::Duration::from_std(grouping.group_wait).unwrap_or_default();
    let group_interval = chrono::Duration::from_std(grouping.group_interval).unwrap_or_default();

    // Quiet hours and group_wait.
    let mut ready = Vec::new();
    for row in rows {
        if let Some(q) = &inner.config.quiet_hours
            && let Some(until) = q.holds(row.notification.severity, now)
        {
            let (id, attempts) = (row.id, row.attempts);
            blocking(&inner.outbox, move |o| {
                o.mark_retry(id, attempts, until, "held: quiet hours")
            })
            .await;
            report.held += 1;
            inner.stats.held.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if row.attempts == 0 && row.created_at + group_wait > now {
            continue;
        }
        ready.push(row);
    }

    // Updates: the newest of one incident covers the older ones; respect group_interval.
    let mut units: Vec<Unit> = Vec::new();
    let mut update_unit: HashMap<i64, usize> = HashMap::new();
    for row in ready {
        let n = &row.notification;
        if n.kind == NotificationKind::Update
            && let Some(inc) = n.incident_id
        {
            if state
                .last_by_incident
                .get(&inc)
                .is_some_and(|t| *t + group_interval > now)
            {
                continue;
            }
            if let Some(&i) = update_unit.get(&inc) {
                units[i].notification = row.notification.clone();
                units[i].rows.push(row);
                continue;
            }
            update_unit.insert(inc, units.len());
        }
        units.push(Unit {
            notification: row.notification.clone(),
            rows: vec![row],
        });
    }
    if units.is_empty() {
        return report;
    }

    // Rate limit: fold what does not fit into one digest.
    let available = state.limiter.available(now) as usize;
    if available == 0 {
        tracing::debug!(channel = %channel_id, pending = units.len(), "channel saturated; waiting");
        return report;
    }
    if units.len() > available {
        // Most severe first, then oldest (the sort is stable).
        units.sort_by_key(|u| std::cmp::Reverse(u.notification.severity));
        let mut rest = units.split_off(available - 1);
        // A digest stays readable: what exceeds it waits, pending, for the next free slot.
        let waiting = rest.len().saturating_sub(MAX_DIGEST_ITEMS);
        rest.truncate(MAX_DIGEST_ITEMS);
        if waiting > 0 {
            tracing::debug!(channel = %channel_id, waiting, "digest full; rest waits");
        }
        let notes: Vec<&Notification> = rest.iter().map(|u| &u.notification).collect();
        if let Some(d) = render::digest(&notes) {
            let rows: Vec<OutboxItem> = rest.into_iter().flat_map(|u| u.rows).collect();
            tracing::info!(
                channel = %channel_id,
                folded = rows.len(),
                "channel rate limit reached; folding into a digest"
            );
            units.push(Unit {
                rows,
                notification: d,
            });
        }
        units.sort_by_key(|u| u.rows.iter().map(|r| r.id).min().unwrap_or(i64::MAX));
    }

    for unit in units {
        if cancel.is_cancelled() {
            break;
        }
        let at = (inner.clock)();
        if let Some(end) = peak_window_end(channel.peak_avoid, at) {
            let jitter = PEAK_JITTER_MAX.mul_f64(rand::random_range(0.0..=1.0));
            let until = end + chrono::Duration::from_std(jitter).unwrap_or_default();
            state.paused_until = Some(until);
            tracing::info!(
                channel = %channel_id,
                platform = %channel.kind,
                wait_ms = (until - at).num_milliseconds(),
                "inside the :00/:30 peak window; sending after it"
            );
            break;
        }
        if !state.limiter.try_acquire(at) {
            break;
        }
        let result = notifier.send(&unit.notification).await;
        let end = (inner.clock)();
        let attempts = unit.rows.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
        let kind = unit.notification.kind;
        match result {
            Ok(()) => {
                let ids: Vec<i64> = unit.rows.iter().map(|r| r.id).collect();
                let marked = ids.clone();
                blocking(&inner.outbox, move |o| {
                    for id in marked {
                        o.mark_sent(id, end)?;
                    }
                    Ok(())
                })
                .await;
                for r in &unit.rows {
                    if let Some(inc) = r.notification.incident_id {
                        state.last_by_incident.insert(inc, end);
                    }
                }
                if kind == NotificationKind::Digest {
                    report.folded += ids.len();
                    inner
                        .stats
                        .folded
                        .fetch_add(ids.len() as u64, Ordering::Relaxed);
                }
                report.sent += 1;
                inner.stats.sent.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    channel = %channel_id,
                    platform = %channel.kind,
                    kind = ?kind,
                    outcome = "sent",
                    attempts,
                    rows = ids.len(),
                    "notification sent"
                );
            }
            Err(e) if e.retryable && attempts < inner.config.delivery.max_attempts => {
                let delay = backoff(&inner.config, attempts, e.retry_after);
                let next = end + chrono::Duration::from_std(delay).unwrap_or_default();
                state.paused_until = Some(next);
                tracing::warn!(
                    channel = %channel_id,
                    platform = %channel.kind,
                    kind = ?kind,
                    outcome = "retry",
                    attempts,
                    retry_in_ms = delay.as_millis() as u64,
                    error = %e.message,
                    "notification send failed; will retry"
                );
                let rows: Vec<(i64, u32)> =
                    unit.rows.iter().map(|r| (r.id, r.attempts + 1)).collect();
                let msg = e.message.clone();
                blocking(&inner.outbox, move |o| {
                    for (id, a) in rows {
                        o.mark_retry(id, a, next, &msg)?;
                    }
                    Ok(())
                })
                .await;
                report.retried += unit.rows.len();
                inner
                    .stats
                    .retried
                    .fetch_add(unit.rows.len() as u64, Ordering::Relaxed);
                // The channel is paused: the remaining messages wait for the next tick.
                break;
            }
            Err(e) => {
                let why = if e.retryable {
                    format!("gave up after {attempts} attempts: {}", e.message)
                } else {
                    e.message.clone()
                };
                tracing::error!(
                    channel = %channel_id,
                    platform = %channel.kind,
                    kind = ?kind,
                    outcome = "failed",
                    attempts,
                    error = %why,
                    "notification failed permanently"
                );
                for row in &unit.rows {
                    report.failed += 1;
                    fail(inner, row, &why, Some(channel)).await;
                }
            }
        }
    }
    report
}

/// Mark a row failed, report it, and page the fallback channel.
async fn fail<O: Outbox>(
    inner: &Arc<Inner<O>>,
    row: &OutboxItem,
    why: &str,
    channel: Option<&ChannelConfig>,
) {
    let (id, msg) = (row.id, why.to_string());
    blocking(&inner.outbox, move |o| o.mark_failed(id, &msg)).await;
    inner.stats.failed.fetch_add(1, Ordering::Relaxed);
    let failure = Failure {
        outbox_id: row.id,
        channel: row.channel.clone(),
        incident_id: row.notification.incident_id,
        dedup_key: row.dedup_key.clone(),
        message: why.to_string(),
    };
    if let Some(cb) = &inner.on_failure {
        cb(&failure);
    }
    let Some(fallback) = channel.and_then(|c| c.fallback.clone()) else {
        return;
    };
    // A fallback page is not paged again (no loops between two broken channels).
    if row.dedup_key.ends_with("#fallback") {
        return;
    }
    let mut page = row.notification.clone();
    page.title = format!("【通知失败】{}", row.notification.title);
    page.lines.insert(
        0,
        format!(
            "通知渠道 `{}` 无法送达（{}），本消息改发至备用渠道",
            render::escape_markdown(&row.channel),
            render::escape_markdown(why)
        ),
    );
    let key = format!("{}#fallback", row.dedup_key);
    let now = (inner.clock)();
    let fallback_id = fallback.clone();
    if blocking(&inner.outbox, move |o| {
        o.enqueue(&fallback_id, &key, &page, now)
    })
    .await
    .unwrap_or(false)
    {
        tracing::warn!(channel = %row.channel, fallback = %fallback, "fallback channel paged");
    }
}

/// When `now` lies within `half_width` of an hh:00 or hh:30 boundary, the instant the
/// window around it ends (boundary + `half_width`); `None` outside, or when `half_width` is
/// zero. Boundaries are taken in UTC, which are also those of Beijing time (UTC+8).
pub fn peak_window_end(half_width: Duration, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    const HALF_HOUR_MS: i64 = 30 * 60 * 1000;
    let w = i64::try_from(half_width.as_millis()).ok()?;
    if w == 0 {
        return None;
    }
    let ms = now.timestamp_millis();
    let into = ms.rem_euclid(HALF_HOUR_MS);
    let boundary = if into < w {
        ms - into
    } else if HALF_HOUR_MS - into <= w {
        ms - into + HALF_HOUR_MS
    } else {
        return None;
    };
    DateTime::from_timestamp_millis(boundary + w)
}

/// Delay before attempt `attempts + 1`: `base × 2^(attempts-1)` capped at `backoff_max`,
/// jittered to 50–100 %, and never shorter than the server's `Retry-After` capped at
/// `max_retry_after`.
pub fn backoff(config: &NotifyConfig, attempts: u32, retry_after: Option<Duration>) -> Duration {
    let d = &config.delivery;
    let exp = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
    let base = d.backoff_base.saturating_mul(exp).min(d.backoff_max);
    let jittered = base.mul_f64(rand::random_range(0.5..=1.0));
    match retry_after {
        Some(ra) => jittered.max(ra.min(d.max_retry_after)),
        None => jittered,
    }
}
