//! Per-source polling: one task per enabled source, so two polls of one source never
//! overlap. Each poll waits for its batch's commit before the next is scheduled, so it always
//! starts from the committed checkpoint. Intervals are jittered; failures back off
//! exponentially up to a cap and honour `Retry-After`, and a failing source keeps being
//! retried at the capped interval, never parked.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::FutureExt;
use rand::RngExt;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use yuqing_connectors::{Connector, PollContext};
use yuqing_model::SourceId;
use yuqing_store::Store;

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
}

impl Timing {
    /// Delay before the next poll after `failures` failed polls in a row, given a server's
    /// `Retry-After`. Without failures: the interval, jittered.
    pub fn next_delay(
        &self,
        failures: u32,
        retry_after: Option<Duration>,
        rng: &mut impl rand::Rng,
    ) -> Duration {
        let base = if failures == 0 {
            self.interval
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
    let mut failures: u32 = 0;
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
        let started = std::time::Instant::now();
        // A panic inside a connector is this source's failed poll, not the silent end of its
        // polling task.
        let guarded =
            std::panic::AssertUnwindSafe(connector.poll(&ctx, &checkpoint)).catch_unwind();
        let polled = tokio::select! {
            _ = stop.cancelled() => return,
            r = guarded => r,
        };
        let mut retry_after = None;
        let result = match polled {
            Err(_) => {
                tracing::error!(source = %source_id, "connector panicked; the poll counts as failed");
                RawResult::Failed {
                    class: yuqing_model::ErrorClass::Internal,
                    message: "the connector failed unexpectedly (panic); see the daemon log".into(),
                }
            }
            Ok(polled) => match polled {
                Ok(p) => {
                    tracing::debug!(
                        source = %source_id, items = p.items.len(), not_modified = p.not_modified,
                        elapsed_ms = started.elapsed().as_millis() as u64, "polled"
                    );
                    RawResult::Items {
                        items: p.items,
                        checkpoint: p.checkpoint,
                    }
                }
                Err(e) => {
                    retry_after = e.retry_after_secs().map(Duration::from_secs);
                    tracing::warn!(source = %source_id, class = %e.class(), error = %e, "poll failed");
                    RawResult::Failed {
                        class: e.class(),
                        message: e.to_string(),
                    }
                }
            },
        };
        let failed = matches!(result, RawResult::Failed { .. });
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
        match (&committed, failed) {
            (Committed::Ok { .. }, false) => failures = 0,
            (Committed::Ok { .. }, true) => failures += 1,
            (Committed::Failed(e), _) => {
                tracing::error!(source = %source_id, error = %e, "commit failed; the items will be fetched again");
                failures += 1;
            }
        }
        delay = timing.next_delay(failures, retry_after, &mut rand::rng());
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
            interval: Duration::from_millis(10),
            jitter_ratio: 0.0,
            max_backoff: Duration::from_millis(20),
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
        };
        let mut rng = rand::rng();
        for _ in 0..200 {
            let d = t.next_delay(0, None, &mut rng).as_secs_f64();
            assert!((90.0..=110.0).contains(&d), "{d}");
            assert!(t.first_delay(&mut rng).as_secs_f64() <= 10.0);
        }
    }
}
