//! Per-channel send limiter: a sliding-window log per [`Window`]. Unlike a refilling token
//! bucket, which lets `2 × max` through in a window that straddles a refill, a sliding window
//! guarantees at most `max` sends in **every** interval of length `period`, which is how
//! the platforms count.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Window;

/// The send times of one channel, checked against its windows.
#[derive(Debug, Clone)]
pub struct Limiter {
    windows: Vec<Window>,
    /// Send times, oldest first; as long as the largest `max`.
    sent: VecDeque<DateTime<Utc>>,
}

impl Limiter {
    /// A limiter enforcing every window.
    pub fn new(windows: Vec<Window>) -> Limiter {
        Limiter {
            windows,
            sent: VecDeque::new(),
        }
    }

    fn keep(&self) -> usize {
        self.windows
            .iter()
            .map(|w| w.max as usize)
            .max()
            .unwrap_or(0)
    }

    /// How many sends are allowed right now.
    pub fn available(&self, now: DateTime<Utc>) -> u32 {
        self.windows
            .iter()
            .map(|w| {
                let used = self
                    .sent
                    .iter()
                    .rev()
                    .take_while(|t| age(now, **t) < w.period)
                    .count() as u32;
                w.max.saturating_sub(used)
            })
            .min()
            .unwrap_or(u32::MAX)
    }

    /// How long until one send is allowed (zero if now).
    pub fn wait(&self, now: DateTime<Utc>) -> Duration {
        let mut wait = Duration::ZERO;
        for w in &self.windows {
            let max = w.max as usize;
            if max == 0 {
                continue;
            }
            let recent: Vec<&DateTime<Utc>> = self
                .sent
                .iter()
                .rev()
                .take_while(|t| age(now, **t) < w.period)
                .collect();
            if recent.len() >= max {
                // The send that must leave the window: the max-th most recent.
                let t = *recent[max - 1];
                wait = wait.max(w.period.saturating_sub(age(now, t)));
            }
        }
        wait
    }

    /// Try to take one send; `false` (nothing recorded) when a window is full.
    pub fn try_acquire(&mut self, now: DateTime<Utc>) -> bool {
        if self.available(now) == 0 {
            return false;
        }
        self.sent.push_back(now);
        while self.sent.len() > self.keep() {
            self.sent.pop_front();
        }
        true
    }
}

fn age(now: DateTime<Utc>, t: DateTime<Utc>) -> Duration {
    (now - t).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_max_in_any_window() {
        let w = Window {
            max: 3,
            period: Duration::from_millis(100),
        };
        let mut l = Limiter::new(vec![w]);
        let t0 = Utc::now();
        let mut granted = Vec::new();
        for ms in 0..1000u64 {
            let now = t0 + chrono::Duration::milliseconds(ms as i64);
            if l.try_acquire(now) {
                granted.push(ms);
            }
        }
        for (i, &a) in granted.iter().enumerate() {
            let in_window = granted[i..].iter().take_while(|&&b| b < a + 100).count();
            assert!(in_window <= 3, "{granted:?}");
        }
        assert!(granted.len() >= 28, "{granted:?}");
    }

    #[test]
    fn two_windows_and_wait() {
        let mut l = Limiter::new(vec![
            Window {
                max: 2,
                period: Duration::from_millis(10),
            },
            Window {
                max: 3,
                period: Duration::from_millis(100),
            },
        ]);
        let t0 = Utc::now();
        assert!(l.try_acquire(t0));
        assert!(l.try_acquire(t0));
        assert!(!l.try_acquire(t0));
        assert_eq!(l.wait(t0), Duration::from_millis(10));
        let t1 = t0 + chrono::Duration::milliseconds(10);
        assert!(l.try_acquire(t1));
        assert!(!l.try_acquire(t1));
        assert_eq!(l.wait(t1), Duration::from_millis(90));
        assert_eq!(l.available(t0 + chrono::Duration::milliseconds(100)), 2);
    }
}
