//! Per-source polling: one task per enabled source, so two polls of one source never
//! overlap. Each poll waits for its batch's commit before the next is scheduled, so it always
//! starts from the committed checkpoint. First polls are spread over the first
//! `poll_jitter_ratio` of the interval and every later delay is jittered; failures back off
//! exponentially up to a cap and honour `Retry-After`, and a failing source keeps being
//! retried at the capped interval, never parked.
//!
//! **Adaptive interval.** After each committed poll the interval in force moves within
//! `[min_interval, max_interval]`: halved when the poll's items (two or more) share nothing
//! with what the source delivered before (a *gap*: the feed rolled over between polls and
//! items were probably missed, which is logged as a warning and counted), back to the configured interval
//! (or kept shorter) when new items came with an overlap, and ×1.5 when nothing changed.
//!
//! **Figures.** Every poll's outcome (items, new items, gap, error class, interval in force)
//! is recorded with [`Store::record_connector_poll`] after its commit; `stale` health and the
//! `yuqing_connector_*` metrics are derived from them.
//!
//! **Inbound sources** (`kind = "inbound"`) fetch nothing: their poll drains the store's
//! inbound queue after the committed checkpoint ([`crate::inbound`]); a full batch is
//! followed at once by the next.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::FutureExt;
use rand::RngExt;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use yuqing_config::PipelineSettings;
use yuqing_connectors::inbound::InboundSource;
use yuqing_connectors::{Connector, Poll, PollContext, content_hash};
use yuqing_model::{Checkpoint, ErrorClass, SourceId};
use yuqing_store::Store;
use yuqing_store::connectors::ConnectorPoll;

use crate::bus::{Committed, Envelope, RawBatch, RawResult};

/// Timing of one source.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Normal interval.
    pub interval: Duration,
    /// Jitter as a fraction of the interval.
    pub jitter_ratio: f64,
    /// Cap on backoff after failures.
    pub max_backoff: Duration,
    /// Shortest adaptive interval.
    pub min_interval: Duration,
    /// Longest adaptive interval.
    pub max_interval: Duration,
    /// `stale` after this many usual gaps between new items (0: never).
    pub stale_factor: f64,
}

/// What a committed poll showed about the source's pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Items, none seen before although the source delivered before: items were missed.
    Gap,
    /// New or changed items, with an overlap.
    New,
    /// Nothing new or changed.
    Nothing,
}

impl Timing {
    /// Timing of a source polled every `interval_secs`, with the adaptive bounds, jitter,
    /// backoff cap and stale factor of the `[pipeline]` settings.
    pub fn adaptive(interval_secs: u64, p: &PipelineSettings) -> Timing {
        let interval = Duration::from_secs(interval_secs);
        Timing {
            interval,
            jitter_ratio: p.poll_jitter_ratio,
            max_backoff: Duration::from_secs(p.max_backoff_secs.max(interval_secs)),
            min_interval: interval.mul_f64(p.adaptive_min_ratio.clamp(0.01, 1.0)),
            max_interval: interval.mul_f64(p.adaptive_max_ratio.clamp(1.0, 100.0)),
            stale_factor: p.stale_factor.max(0.0),
        }
    }

    /// A fixed interval: no jitter, no adaptation, backoff capped at the interval.
    pub fn fixed(interval: Duration) -> Timing {
        Timing {
            interval,
            jitter_ratio: 0.0,
            max_backoff: interval,
            min_interval: interval,
            max_interval: interval,
            stale_factor: 0.0,
        }
    }

    /// The interval after a poll that showed `change`, from the one in force.
    pub fn adapt(&self, current: Duration, change: Change) -> Duration {
        let (lo, hi) = (
            self.min_interval.min(self.interval),
            self.max_interval.max(self.interval),
        );
        match change {
            Change::Gap => current.div_f64(2.0),
            Change::New => current.min(self.interval),
            Change::Nothing => current.mul_f64(1.5),
        }
        .clamp(lo, hi)
    }

    /// Delay before the next poll after `failures` failed polls in a row, given a server's
    /// `Retry-After`. Without failures: the interval, jittered.
    pub fn next_delay(
        &self,
        failures: u32,
        retry_after: Option<Duration>,
        rng: &mut impl rand::Rng,
    ) -> Duration {
        self.delay_from(self.interval, failures, retry_after, rng)
    }

    /// [`Timing::next_delay`] with `current` (the adaptive interval) in force: it applies
    /// without failures; backoff after failures starts from the configured interval.
    pub fn delay_from(
        &self,
        current: Duration,
        failures: u32,
        retry_after: Option<Duration>,
        rng: &mut impl rand::Rng,
    ) -> Duration {
        let base = if failures == 0 {
            current
        } else {
            let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
            self.interval
                .saturating_mul(factor)
                .min(self.max_backoff)
                .max(self.interval.min(self.max_backoff))
        };
        let base = match retry_after {
            Some(ra) => base.max(ra.min(self.max_backoff)),
            None => base,
        };
        let j = self.jitter_ratio.clamp(0.0, 0.5);
        if j == 0.0 {
            return base;
        }
        base.mul_f64(rng.random_range(1.0 - j..=1.0 + j))
    }

    /// Delay of the first poll: spread over the first `jitter_ratio` of the interval so a cold
    /// start does not hit every source at once.
    pub fn first_delay(&self, rng: &mut impl rand::Rng) -> Duration {
        let j = self.jitter_ratio.clamp(0.0, 0.5);
        if j == 0.0 {
            return Duration::ZERO;
        }
        self.interval.mul_f64(rng.random_range(0.0..=j))
    }
}

/// Run a blocking store call off the runtime; a panic or a store error is logged as `what`.
async fn blocking<T: Send + 'static>(
    source: &SourceId,
    what: &'static str,
    f: impl FnOnce() -> Result<T, yuqing_store::StoreError> + Send + 'static,
) -> Option<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            tracing::error!(source = %source, error = %e, "{what} failed");
            None
        }
        Err(e) => {
            tracing::error!(source = %source, error = %e, "{what} task failed");
            None
        }
    }
}

/// What one poll produced, before it is sent to the writer.
struct Polled {
    result: RawResult,
    retry_after: Option<Duration>,
    gap: bool,
    /// An inbound batch was full: poll again at once.
    more: bool,
}

/// Poll `connector` (or drain an inbound source's queue) once from `checkpoint`.
async fn poll_once(
    source_id: &SourceId,
    connector: &Arc<dyn Connector>,
    inbound: Option<&InboundSource>,
    ctx: &PollContext,
    store: &Arc<Store>,
    checkpoint: Checkpoint,
) -> Polled {
    let started = Instant::now();
    let mut out = Polled {
        result: RawResult::Failed {
            class: ErrorClass::Internal,
            message: String::new(),
        },
        retry_after: None,
        gap: false,
        more: false,
    };
    let polled: Result<Poll, RawResult> = if let Some(src) = inbound {
        let (s, src) = (store.clone(), src.clone());
        match tokio::task::spawn_blocking(move || crate::inbound::drain(&s, &src, &checkpoint))
            .await
        {
            Ok(Ok((p, more))) => {
                out.more = more;
                Ok(p)
            }
            Ok(Err(e)) => Err(RawResult::Failed {
                class: ErrorClass::Internal,
                message: format!("inbound queue: {e}"),
            }),
            Err(e) => Err(RawResult::Failed {
                class: ErrorClass::Internal,
                message: format!("inbound queue task failed: {e}"),
            }),
        }
    } else {
        // A panic inside a connector is this source's failed poll, not the silent end of its
        // polling task.
        match std::panic::AssertUnwindSafe(connector.poll(ctx, &checkpoint))
            .catch_unwind()
            .await
        {
            Err(_) => {
                tracing::error!(source = %source_id, "connector panicked; the poll counts as failed");
                Err(RawResult::Failed {
                    class: ErrorClass::Internal,
                    message: "the connector failed unexpectedly (panic); see the daemon log".into(),
                })
            }
            Ok(Err(e)) => {
                out.retry_after = e.retry_after_secs().map(Duration::from_secs);
                tracing::warn!(source = %source_id, class = %e.class(), error = %e, "poll failed");
                Err(RawResult::Failed {
                    class: e.class(),
                    message: e.to_string(),
                })
            }
            Ok(Ok(p)) => Ok(p),
        }
    };
    match polled {
        Err(failed) => out.result = failed,
        Ok(p) => {
            tracing::debug!(
                source = %source_id, items = p.items.len(), not_modified = p.not_modified,
                elapsed_ms = started.elapsed().as_millis() as u64, "polled"
            );
            // One item cannot tell a rollover from an edit (a page watched as a whole makes a
            // new version key on every change): gaps need at least two.
            if inbound.is_none() && p.items.len() >= 2 {
                let keys: Vec<String> = p.items.iter().map(|d| d.item_key.clone()).collect();
                let (s, sid) = (store.clone(), source_id.clone());
                let overlap = blocking(source_id, "gap check", move || {
                    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                    s.overlap_with_seen(&sid, &keys)
                })
                .await;
                out.gap = matches!(overlap, Some((true, 0)));
            }
            out.result = RawResult::Items {
                items: p.items,
                checkpoint: p.checkpoint,
            };
        }
    }
    out
}

/// Poll `connector` until `stop` fires.
pub(crate) async fn run_source(
    source_id: SourceId,
    connector: Arc<dyn Connector>,
    ctx: PollContext,
    store: Arc<Store>,
    timing: Timing,
    tx: mpsc::Sender<Envelope>,
    stop: CancellationToken,
) {
    let inbound = connector.inbound().cloned();
    if let Some(src) = &inbound {
        let (s, sid) = (store.clone(), source_id.clone());
        let hash = src.token.as_deref().map(|t| content_hash(t.as_bytes()));
        blocking(&source_id, "registering the inbound source", move || {
            s.register_inbound_source(&sid, hash.as_deref())
        })
        .await;
    }
    let timing = if inbound.is_some() {
        Timing {
            min_interval: timing.interval,
            max_interval: timing.interval,
            stale_factor: 0.0,
            ..timing
        }
    } else {
        timing
    };
    let mut failures: u32 = 0;
    let mut current = timing.interval;
    let mut delay = timing.first_delay(&mut rand::rng());
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        let store2 = store.clone();
        let sid = source_id.clone();
        let checkpoint = match tokio::task::spawn_blocking(move || store2.checkpoint(&sid)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::error!(source = %source_id, error = %e, "cannot read checkpoint; retrying later");
                delay = timing.next_delay(failures + 1, None, &mut rand::rng());
                continue;
            }
            Err(e) => {
                tracing::error!(source = %source_id, error = %e, "checkpoint task failed");
                return;
            }
        };
        let at = Utc::now();
        let started = Instant::now();
        let polled = tokio::select! {
            _ = stop.cancelled() => return,
            p = poll_once(&source_id, &connector, inbound.as_ref(), &ctx, &store, checkpoint) => p,
        };
        let Polled {
            result,
            retry_after,
            gap,
            more,
        } = polled;
        let (failure, items) = match &result {
            RawResult::Failed { class, .. } => (Some(*class), 0),
            RawResult::Items { items, .. } => (None, items.len() as u64),
        };
        let (ack, done) = oneshot::channel();
        let env = Envelope {
            batch: RawBatch {
                source_id: source_id.clone(),
                at,
                result,
            },
            ack,
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            r = tx.send(env) => if r.is_err() { return },
        }
        // Wait for the commit even when stopping: the writer drains on shutdown.
        let committed = match done.await {
            Ok(c) => c,
            Err(_) => return,
        };
        let (failure, new_items) = match (&committed, failure) {
            (Committed::Ok { new_docs }, None) => {
                failures = 0;
                (None, *new_docs as u64)
            }
            (Committed::Ok { .. }, Some(class)) => {
                failures += 1;
                (Some(class), 0)
            }
            (Committed::Failed(e), _) => {
                tracing::error!(source = %source_id, error = %e, "commit failed; the items will be fetched again");
                failures += 1;
                (Some(ErrorClass::Internal), 0)
            }
        };
        if failure.is_none() {
            let change = if gap {
                Change::Gap
            } else if new_items > 0 {
                Change::New
            } else {
                Change::Nothing
            };
            let before = current;
            current = timing.adapt(current, change);
            if gap {
                tracing::warn!(
                    source = %source_id, items, interval_secs = current.as_secs_f64(),
                    "no item of this poll was delivered before: the source rolled over between polls and items may have been missed; polling faster"
                );
            } else if current != before {
                tracing::debug!(source = %source_id, interval_secs = current.as_secs_f64(), ?change, "interval adapted");
            }
        }
        let elapsed = started.elapsed();
        if elapsed > current {
            tracing::warn!(
                source = %source_id, elapsed_ms = elapsed.as_millis() as u64,
                interval_secs = current.as_secs_f64(), "a poll took longer than the interval"
            );
        }
        let record = ConnectorPoll {
            at,
            failure,
            items,
            new_items,
            gap,
            interval_secs: current.as_secs_f64(),
            stale_factor: timing.stale_factor,
        };
        let (s, sid) = (store.clone(), source_id.clone());
        blocking(&source_id, "recording the poll", move || {
            s.record_connector_poll(&sid, &record)
        })
        .await;
        delay = if more && failure.is_none() {
            Duration::ZERO
        } else {
            timing.delay_from(current, failures, retry_after, &mut rand::rng())
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_honours_retry_after() {
        let t = Timing {
            interval: Duration::from_secs(60),
            jitter_ratio: 0.0,
            max_backoff: Duration::from_secs(600),
            ..Timing::fixed(Duration::from_secs(60))
        };
        let mut rng = rand::rng();
        let d = |f, ra| t.next_delay(f, ra, &mut rand::rng()).as_secs();
        assert_eq!(d(0, None), 60);
        assert_eq!(d(1, None), 60);
        assert_eq!(d(2, None), 120);
        assert_eq!(d(4, None), 480);
        assert_eq!(d(30, None), 600);
        assert_eq!(d(1, Some(Duration::from_secs(300))), 300);
        assert_eq!(d(1, Some(Duration::from_secs(86_400))), 600);
        assert_eq!(t.first_delay(&mut rng), Duration::ZERO);
    }

    struct Panicky;

    #[async_trait::async_trait]
    impl Connector for Panicky {
        async fn poll(
            &self,
            _: &PollContext,
            _: &yuqing_model::Checkpoint,
        ) -> Result<yuqing_connectors::Poll, yuqing_connectors::ConnectorError> {
            panic!("connector bug");
        }
    }

    #[tokio::test]
    async fn a_panicking_connector_fails_its_poll_and_keeps_being_polled() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("y.db"), 3).unwrap());
        let ctx = PollContext {
            fetcher: yuqing_connectors::Fetcher::new(&yuqing_config::FetchSettings::default())
                .unwrap(),
        };
        let timing = Timing {
            max_backoff: Duration::from_millis(20),
            ..Timing::fixed(Duration::from_millis(10))
        };
        let (tx, mut rx) = mpsc::channel(4);
        let stop = CancellationToken::new();
        let task = tokio::spawn(run_source(
            SourceId("p".into()),
            Arc::new(Panicky),
            ctx,
            store,
            timing,
            tx,
            stop.clone(),
        ));
        for _ in 0..2 {
            let env = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("the source keeps polling")
                .unwrap();
            match &env.batch.result {
                RawResult::Failed { class, message } => {
                    assert_eq!(*class, yuqing_model::ErrorClass::Internal);
                    assert!(message.contains("panic"), "{message}");
                }
                other => panic!("expected a failed poll, got {other:?}"),
            }
            env.ack.send(Committed::Ok { new_docs: 0 }).unwrap();
        }
        stop.cancel();
        task.await.unwrap();
    }

    #[test]
    fn jitter_stays_within_its_ratio() {
        let t = Timing {
            interval: Duration::from_secs(100),
            jitter_ratio: 0.1,
            max_backoff: Duration::from_secs(1000),
            ..Timing::fixed(Duration::from_secs(100))
        };
        let mut rng = rand::rng();
        for _ in 0..200 {
            let d = t.next_delay(0, None, &mut rng).as_secs_f64();
            assert!((90.0..=110.0).contains(&d), "{d}");
            assert!(t.first_delay(&mut rng).as_secs_f64() <= 10.0);
        }
    }

    #[test]
    fn interval_halves_on_gaps_grows_when_quiet_and_stays_in_bounds() {
        let p = PipelineSettings {
            adaptive_min_ratio: 0.25,
            adaptive_max_ratio: 4.0,
            ..PipelineSettings::default()
        };
        let t = Timing::adaptive(100, &p);
        let s = |d: Duration| d.as_secs_f64().round() as u64;
        let mut cur = t.interval;
        cur = t.adapt(cur, Change::Gap);
        assert_eq!(s(cur), 50);
        cur = t.adapt(cur, Change::Gap);
        cur = t.adapt(cur, Change::Gap);
        assert_eq!(s(cur), 25, "never below min_interval");
        cur = t.adapt(cur, Change::New);
        assert_eq!(
            s(cur),
            25,
            "a source still delivering keeps the faster pace"
        );
        for _ in 0..20 {
            cur = t.adapt(cur, Change::Nothing);
        }
        assert_eq!(s(cur), 400, "never above max_interval");
        cur = t.adapt(cur, Change::New);
        assert_eq!(
            s(cur),
            100,
            "new items bring a slowed source back to its interval"
        );
        // Without failures the adapted interval is the delay; backoff starts from the
        // configured one.
        let fixed = Timing {
            jitter_ratio: 0.0,
            ..t
        };
        let mut rng = rand::rng();
        assert_eq!(
            s(fixed.delay_from(Duration::from_secs(25), 0, None, &mut rng)),
            25
        );
        assert_eq!(
            s(fixed.delay_from(Duration::from_secs(25), 2, None, &mut rng)),
            200
        );
    }

    /// A feed that returns a fresh window of items on every poll (`overlap` items carried
    /// over from the previous poll), slow to answer, counting polls in flight.
    struct Rolling {
        next: std::sync::atomic::AtomicUsize,
        window: usize,
        overlap: usize,
        in_flight: std::sync::atomic::AtomicUsize,
        max_in_flight: std::sync::atomic::AtomicUsize,
    }

    impl Rolling {
        fn new(window: usize, overlap: usize) -> Rolling {
            Rolling {
                next: 0.into(),
                window,
                overlap,
                in_flight: 0.into(),
                max_in_flight: 0.into(),
            }
        }
    }

    #[async_trait::async_trait]
    impl Connector for Rolling {
        async fn poll(
            &self,
            _: &PollContext,
            _: &yuqing_model::Checkpoint,
        ) -> Result<yuqing_connectors::Poll, yuqing_connectors::ConnectorError> {
            use std::sync::atomic::Ordering::SeqCst;
            let n = self.in_flight.fetch_add(1, SeqCst) + 1;
            self.max_in_flight.fetch_max(n, SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            let start = self.next.fetch_add(self.window - self.overlap, SeqCst);
            let items = (start..start + self.window)
                .map(|i| {
                    let key = format!("item-{i}");
                    yuqing_model::RawDoc {
                        id: yuqing_connectors::doc_id(&SourceId("r".into()), &key),
                        source_id: SourceId("r".into()),
                        channel: yuqing_model::Channel::News,
                        item_key: key,
                        url: None,
                        title: format!("t{i}"),
                        body: String::new(),
                        author: None,
                        published_at: None,
                        fetched_at: Utc::now(),
                        tags: vec![],
                    }
                })
                .collect();
            self.in_flight.fetch_sub(1, SeqCst);
            Ok(yuqing_connectors::Poll {
                items,
                checkpoint: None,
                not_modified: false,
            })
        }
    }

    fn ctx() -> PollContext {
        PollContext {
            fetcher: yuqing_connectors::Fetcher::new(&yuqing_config::FetchSettings::default())
                .unwrap(),
        }
    }

    /// Stands in for the writer: commits each batch's items as seen, then acknowledges with
    /// the number of items that were new. Returns how many polls it committed.
    async fn commit_polls(
        store: Arc<Store>,
        rx: &mut mpsc::Receiver<Envelope>,
        polls: usize,
    ) -> Vec<RawBatch> {
        let mut out = Vec::new();
        for _ in 0..polls {
            let env = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("the source keeps polling")
                .unwrap();
            let (new_docs, result) = match &env.batch.result {
                RawResult::Items { items, checkpoint } => {
                    let keys: Vec<&str> = items.iter().map(|d| d.item_key.as_str()).collect();
                    let seen = store.seen_items(&env.batch.source_id, &keys).unwrap();
                    let fresh: Vec<yuqing_store::SeenItem> = items
                        .iter()
                        .filter(|d| !seen.contains_key(&d.item_key))
                        .map(|d| yuqing_store::SeenItem {
                            item_key: d.item_key.clone(),
                            doc_id: d.id.clone(),
                            content_hash: "h".into(),
                        })
                        .collect();
                    (
                        fresh.len(),
                        yuqing_store::PollResult::Success {
                            checkpoint: checkpoint.clone(),
                            docs: fresh.len() as u64,
                            items: fresh,
                        },
                    )
                }
                RawResult::Failed { class, message } => (
                    0,
                    yuqing_store::PollResult::Failure {
                        class: *class,
                        message: message.clone(),
                    },
                ),
            };
            store
                .commit(
                    [],
                    &[yuqing_store::PollOutcome {
                        source_id: env.batch.source_id.clone(),
                        at: env.batch.at,
                        result,
                    }],
                )
                .unwrap();
            out.push(env.batch.clone());
            env.ack.send(Committed::Ok { new_docs }).unwrap();
        }
        out
    }

    fn sync(store: &Store, id: &SourceId, kind: &str) {
        store
            .sync_sources(&[yuqing_store::SourceInfo {
                id,
                name: "t",
                kind,
                channel: "news",
                enabled: true,
            }])
            .unwrap();
    }

    async fn rolling_run(overlap: usize) -> (yuqing_store::connectors::ConnectorStatus, usize) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("y.db"), 3).unwrap());
        let id = SourceId("r".into());
        sync(&store, &id, "feed");
        let p = PipelineSettings {
            poll_jitter_ratio: 0.0,
            ..PipelineSettings::default()
        };
        let mut timing = Timing::adaptive(1, &p);
        timing.interval = Duration::from_millis(40);
        timing.min_interval = Duration::from_millis(10);
        timing.max_interval = Duration::from_millis(160);
        let (tx, mut rx) = mpsc::channel(1);
        let stop = CancellationToken::new();
        let conn = Arc::new(Rolling::new(10, overlap));
        let task = tokio::spawn(run_source(
            id.clone(),
            conn.clone(),
            ctx(),
            store.clone(),
            timing,
            tx,
            stop.clone(),
        ));
        commit_polls(store.clone(), &mut rx, 6).await;
        stop.cancel();
        drop(rx);
        task.await.unwrap();
        let st = store.connector_statuses(Utc::now()).unwrap().remove(0);
        let max = conn.max_in_flight.load(std::sync::atomic::Ordering::SeqCst);
        (st, max)
    }

    #[tokio::test]
    async fn a_feed_that_rolls_over_between_polls_is_a_gap_and_polled_faster() {
        let (st, max_in_flight) = rolling_run(0).await;
        // The first poll has nothing to overlap with; the record of the sixth may still be
        // in flight when the task stops.
        assert!((4..=5).contains(&st.gaps_total), "{st:?}");
        assert_eq!(st.interval_secs, Some(0.01), "{st:?}");
        assert_eq!(max_in_flight, 1, "polls of one source never overlap");
        let (st, _) = rolling_run(3).await;
        assert_eq!(st.gaps_total, 0, "an overlap is no gap: {st:?}");
        assert_eq!(st.interval_secs, Some(0.04), "{st:?}");
    }

    #[tokio::test]
    async fn inbound_sources_drain_the_queue_and_register_their_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("y.db"), 3).unwrap());
        let id = SourceId("inbound/cc".into());
        sync(&store, &id, "inbound");
        let src = InboundSource {
            meta: yuqing_connectors::feed::ItemMeta {
                source_id: id.clone(),
                channel: yuqing_model::Channel::Inbound,
                tags: vec![],
            },
            token: Some("a-long-enough-secret".into()),
            max_records: 2,
        };
        let rec = |t: &str| yuqing_store::connectors::InboundRecord {
            channel: "app".into(),
            customer: "C".into(),
            text: t.into(),
            time: Utc::now(),
            id: None,
        };
        store
            .enqueue_inbound(&id, &[rec("一"), rec("二"), rec("三")], Utc::now())
            .unwrap();
        let (tx, mut rx) = mpsc::channel(1);
        let stop = CancellationToken::new();
        let task = tokio::spawn(run_source(
            id.clone(),
            Arc::new(src),
            ctx(),
            store.clone(),
            Timing::fixed(Duration::from_secs(3600)),
            tx,
            stop.clone(),
        ));
        // A full batch is followed at once by the next: no waiting an hour for the third.
        let batches = commit_polls(store.clone(), &mut rx, 2).await;
        let texts: Vec<String> = batches
            .iter()
            .flat_map(|b| match &b.result {
                RawResult::Items { items, .. } => items.iter().map(|d| d.body.clone()).collect(),
                _ => vec![],
            })
            .collect();
        assert_eq!(texts, ["一", "二", "三"]);
        stop.cancel();
        drop(rx);
        task.await.unwrap();
        assert_eq!(
            store.inbound_source(&id).unwrap(),
            Some(Some(content_hash(b"a-long-enough-secret")))
        );
        assert_eq!(
            yuqing_connectors::inbound::checkpoint_seq(&store.checkpoint(&id).unwrap()),
            3
        );
    }
}
