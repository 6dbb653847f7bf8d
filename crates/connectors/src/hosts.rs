//! Per-host politeness shared by every source: a request rate (governor bucket), a cap on
//! requests in flight (semaphore), and a pause when a host answered 429/503 with
//! `Retry-After`. Budgets are keyed by the host actually contacted, so a redirect to another
//! host is charged to that host.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Limits applied to every host.
#[derive(Debug, Clone, Copy)]
pub struct HostLimits {
    /// Requests per minute to one host.
    pub requests_per_minute: u32,
    /// Requests in flight to one host.
    pub max_concurrent: usize,
}

struct Host {
    rate: DefaultDirectRateLimiter,
    slots: Arc<Semaphore>,
    paused_until: Mutex<Option<Instant>>,
}

/// The politeness state of every host seen so far.
pub struct Hosts {
    limits: HostLimits,
    map: Mutex<HashMap<String, Arc<Host>>>,
}

/// Held while a request to a host is in flight.
pub struct HostPermit {
    _slot: OwnedSemaphorePermit,
}

impl Hosts {
    /// Empty state with these limits.
    pub fn new(limits: HostLimits) -> Hosts {
        Hosts {
            limits,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn host(&self, name: &str) -> Arc<Host> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(name.to_ascii_lowercase())
            .or_insert_with(|| {
                let per_min = NonZeroU32::new(self.limits.requests_per_minute.max(1))
                    .unwrap_or(NonZeroU32::MIN);
                Arc::new(Host {
                    rate: RateLimiter::direct(
                        Quota::per_minute(per_min).allow_burst(NonZeroU32::MIN),
                    ),
                    slots: Arc::new(Semaphore::new(self.limits.max_concurrent.max(1))),
                    paused_until: Mutex::new(None),
                })
            })
            .clone()
    }

    /// How long `host` is still paused, if it is.
    pub fn paused_for(&self, host: &str) -> Option<Duration> {
        let h = self.host(host);
        let until = *h.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        until
            .and_then(|t| t.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// Pause `host` for `d` (a longer pause already in force is kept).
    pub fn pause(&self, host: &str, d: Duration) {
        let h = self.host(host);
        let mut until = h.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        let new = Instant::now() + d;
        if until.is_none_or(|t| t < new) {
            *until = Some(new);
        }
    }

    /// Wait for a slot and a token of `host`. The caller's deadline bounds the wait.
    pub async fn acquire(&self, host: &str) -> HostPermit {
        let h = self.host(host);
        let slot = h
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("host semaphores are never closed");
        h.rate.until_ready().await;
        HostPermit { _slot: slot }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rate_is_enforced_per_host_not_globally() {
        let hosts = Hosts::new(HostLimits {
            requests_per_minute: 600,
            max_concurrent: 4,
        });
        let t = Instant::now();
        for _ in 0..4 {
            drop(hosts.acquire("a.example").await);
        }
        // 600/min = one every 100 ms: the 4th waits ~300 ms.
        assert!(
            t.elapsed() >= Duration::from_millis(280),
            "{:?}",
            t.elapsed()
        );
        let t = Instant::now();
        drop(hosts.acquire("b.example").await);
        assert!(t.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn pauses_extend_but_never_shorten() {
        let hosts = Hosts::new(HostLimits {
            requests_per_minute: 60,
            max_concurrent: 1,
        });
        assert!(hosts.paused_for("h").is_none());
        hosts.pause("h", Duration::from_secs(60));
        hosts.pause("h", Duration::from_secs(1));
        assert!(hosts.paused_for("H").unwrap() > Duration::from_secs(50));
        assert!(hosts.paused_for("other").is_none());
    }
}
