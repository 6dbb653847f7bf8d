//! Notifiers and the deliverer against fake chat servers on 127.0.0.1 that verify signatures
//! and answer with each failure mode of RELIABILITY §E (tests 32–39).

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::{FakeChat, Reply, note, secret_needles, wait_until};
use tokio_util::sync::CancellationToken;
use yuqing_model::{NotificationKind, Severity};
use yuqing_notify::{
    ChannelConfig, ChannelKind, Clock, Deliverer, DeliveryPolicy, Failure, Grouping, MemoryOutbox,
    Notifier, NotifyConfig, Outbox, RowStatus, Window,
};

fn fast_policy() -> DeliveryPolicy {
    DeliveryPolicy {
        poll_interval: Duration::from_millis(10),
        send_timeout: Duration::from_millis(400),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(60),
        max_attempts: 6,
        batch_limit: 500,
    }
}

fn config(channels: Vec<ChannelConfig>) -> NotifyConfig {
    NotifyConfig {
        channels,
        grouping: Grouping {
            group_wait: Duration::ZERO,
            ..Grouping::default()
        },
        delivery: fast_policy(),
        ..NotifyConfig::default()
    }
}

fn fixed_clock(t: DateTime<Utc>) -> (Clock, Arc<Mutex<DateTime<Utc>>>) {
    let cell = Arc::new(Mutex::new(t));
    let c = cell.clone();
    (Arc::new(move || *c.lock().unwrap()), cell)
}

fn enqueue(outbox: &MemoryOutbox, channel: &str, i: i64, severity: Severity) {
    let now = Utc::now();
    assert!(
        outbox
            .enqueue(channel, &format!("inc{i}:opened"), &note(i, severity), now)
            .unwrap()
    );
}

fn statuses(outbox: &MemoryOutbox) -> Vec<RowStatus> {
    outbox.rows().iter().map(|r| r.status).collect()
}

// ---- signatures ---------------------------------------------------------------------------

#[tokio::test]
async fn golden_signatures_on_the_wire_are_accepted_by_verifying_servers() {
    // Fixed time so the signatures on the wire are the golden vectors of `sign.rs`, computed
    // with Python (see there); the servers verify with their own HMAC code.
    let t = Utc.timestamp_millis_opt(1_700_000_000_000).unwrap();
    for kind in [
        ChannelKind::DingTalk,
        ChannelKind::Feishu,
        ChannelKind::Webhook,
    ] {
        let secret = match kind {
            ChannelKind::DingTalk => "SECtestsecret0123456789",
            ChannelKind::Feishu => "feishu-secret",
            _ => "hook-secret",
        };
        let server = FakeChat::start_with(kind, Some(secret)).await;
        server.set_clock(Arc::new(move || t));
        let ch = server.channel("c");
        let (clock, _) = fixed_clock(t);
        let n = Notifier::new(ch, Duration::from_secs(2))
            .unwrap()
            .with_clock(clock);
        n.send(&note(1, Severity::High)).await.unwrap();
        let req = &server.requests()[0];
        assert!(req.signed_ok, "{kind}");
        match kind {
            ChannelKind::DingTalk => {
                // Base64 `+` and `=` URL-encoded in the query.
                assert!(
                    req.target.ends_with(
                        "&timestamp=1700000000000&sign=zrLWzK97t62y5CpqN8Ok9UIdPvX%2BjL1PNoW8nKT5a9k%3D"
                    ),
                    "{}",
                    req.target
                );
            }
            ChannelKind::Feishu => {
                let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
                assert_eq!(v["timestamp"], "1700000000");
                assert_eq!(v["sign"], "OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU=");
                assert_eq!(v["msg_type"], "interactive");
            }
            _ => {
                assert_eq!(req.headers["x-yuqing-timestamp"], "1700000000");
                assert!(req.headers["x-yuqing-signature"].starts_with("sha256="));
            }
        }
    }
}

#[tokio::test]
async fn clock_skew_beyond_an_hour_is_a_permanent_clear_failure() {
    for kind in [ChannelKind::Feishu, ChannelKind::DingTalk] {
        let server = FakeChat::start(kind).await;
        for (skew_min, ok) in [(59i64, true), (-59, true), (61, false), (-61, false)] {
            let clock: Clock = Arc::new(move || Utc::now() + chrono::Duration::minutes(skew_min));
            let n = Notifier::new(server.channel("c"), Duration::from_secs(2))
                .unwrap()
                .with_clock(clock);
            let r = n.send(&note(1, Severity::High)).await;
            assert_eq!(r.is_ok(), ok, "{kind} skew {skew_min}: {r:?}");
            if let Err(e) = r {
                assert!(!e.retryable, "{e:?}");
                match kind {
                    ChannelKind::Feishu => {
                        assert!(
                            e.message.contains("19021") && e.message.contains("clock"),
                            "{e}"
                        )
                    }
                    _ => assert!(e.message.contains("310000"), "{e}"),
                }
            }
        }
    }
}

#[tokio::test]
async fn every_platform_accepts_a_rendered_message() {
    for kind in ChannelKind::ALL {
        let server = FakeChat::start(kind).await;
        let n = Notifier::new(server.channel("c"), Duration::from_secs(2)).unwrap();
        n.send(&note(7, Severity::Critical)).await.unwrap();
        let body = server.requests()[0].text();
        assert!(body.contains("测试事件007"), "{kind}: {body}");
    }
}

// ---- receiver failures (§E 36) ------------------------------------------------------------

async fn run_until<O: Outbox>(d: &Deliverer<O>, what: &str, mut f: impl FnMut() -> bool) {
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let run = d.run(cancel);
    let wait = async {
        wait_until(10, what, &mut f).await;
        stop.cancel();
    };
    tokio::join!(run, wait);
}

#[tokio::test]
async fn server_errors_are_retried_with_growing_backoff_then_marked_sent_once() {
    let server = FakeChat::start(ChannelKind::DingTalk).await;
    for s in [500, 502, 503] {
        server.push(Reply::status(s, "upstream error"));
    }
    let outbox = Arc::new(MemoryOutbox::new());
    enqueue(&outbox, "ding", 1, Severity::High);
    let d = Deliverer::new(config(vec![server.channel("ding")]), outbox.clone()).unwrap();
    run_until(&d, "sent", || statuses(&outbox) == [RowStatus::Sent]).await;
    let reqs = server.requests();
    assert_eq!(reqs.len(), 4);
    assert!(reqs.iter().all(|r| r.signed_ok));
    // Backoff from the end of each attempt: base 20 ms doubling, jittered to 50–100 %.
    let gaps: Vec<Duration> = reqs.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(10), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(20), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(40), "{gaps:?}");
    let row = &outbox.rows()[0];
    assert_eq!(row.item.attempts, 3);
    assert!(row.sent_at.is_some());
}

#[tokio::test]
async fn retry_after_seconds_date_and_huge_values_are_honoured_and_clamped() {
    let t0 = Utc.with_ymd_and_hms(2024, 5, 6, 3, 0, 0).unwrap();
    let date = (t0 + chrono::Duration::seconds(30))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    for (retry_after, expect_secs) in [("7", 7), (date.as_str(), 30), ("86400", 60)] {
        let server = FakeChat::start(ChannelKind::Slack).await;
        server.push(Reply::with_header(
            429,
            "Retry-After",
            retry_after,
            r#"{"retry_after":1,"ok":false,"error":"rate_limited"}"#,
        ));
        let outbox = Arc::new(MemoryOutbox::new());
        outbox
            .enqueue("slack", "k", &note(1, Severity::Medium), t0)
            .unwrap();
        let (clock, now) = fixed_clock(t0);
        let d = Deliverer::new(config(vec![server.channel("slack")]), outbox.clone())
            .unwrap()
            .with_clock(clock);
        assert_eq!(d.tick().await.retried, 1);
        let row = &outbox.rows()[0];
        assert_eq!(row.status, RowStatus::Pending);
        assert_eq!(
            row.next_attempt_at,
            t0 + chrono::Duration::seconds(expect_secs),
            "Retry-After {retry_after}"
        );
        // One second early: nothing is sent.
        *now.lock().unwrap() = t0 + chrono::Duration::seconds(expect_secs - 1);
        assert_eq!(d.tick().await.sent, 0);
        assert_eq!(server.count(), 1);
        *now.lock().unwrap() = t0 + chrono::Duration::seconds(expect_secs);
        assert_eq!(d.tick().await.sent, 1);
        assert_eq!(server.count(), 2);
        assert_eq!(statuses(&outbox), [RowStatus::Sent]);
    }
}

#[tokio::test]
async fn permanent_slack_errors_are_not_retried_are_reported_and_page_the_fallback() {
    let slack = FakeChat::start(ChannelKind::Slack).await;
    let hook = FakeChat::start(ChannelKind::Webhook).await;
    slack.push(Reply::status(400, "invalid_payload"));
    slack.push(Reply::status(404, "no_service"));
    slack.push(Reply::status(410, "channel_is_archived"));
    let mut ch = slack.channel("slack");
    ch.fallback = Some("ops".into());
    let outbox = Arc::new(MemoryOutbox::new());
    for i in 1..=3 {
        enqueue(&outbox, "slack", i, Severity::High);
    }
    let failures: Arc<Mutex<Vec<Failure>>> = Arc::default();
    let f = failures.clone();
    let d = Deliverer::new(config(vec![ch, hook.channel("ops")]), outbox.clone())
        .unwrap()
        .on_failure(Arc::new(move |x: &Failure| {
            f.lock().unwrap().push(x.clone())
        }));
    run_until(&d, "fallback pages sent", || hook.count() == 3).await;
    assert_eq!(slack.count(), 3, "permanent errors are not retried");
    let rows = outbox.rows();
    let failed: Vec<_> = rows.iter().filter(|r| r.item.channel == "slack").collect();
    assert!(failed.iter().all(|r| r.status == RowStatus::Failed));
    let errors: Vec<String> = failed.iter().filter_map(|r| r.last_error.clone()).collect();
    for (e, want) in errors
        .iter()
        .zip(["invalid_payload", "no_service", "channel_is_archived"])
    {
        assert!(e.contains(want), "{e}");
    }
    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 3);
    assert_eq!(failures[0].incident_id, Some(1));
    wait_until(5, "fallback rows marked", || {
        outbox
            .rows()
            .iter()
            .filter(|r| r.item.channel == "ops" && r.status == RowStatus::Sent)
            .count()
            == 3
    })
    .await;
    let page = hook.requests()[0].text();
    // The receiver's text is untrusted: shown neutralized (`_` → `＿`).
    assert!(
        page.contains("通知失败") && page.contains("invalid＿payload"),
        "{page}"
    );
    assert!(hook.requests().iter().all(|r| r.signed_ok));
}

#[tokio::test]
async fn http_200_with_nonzero_errcode_is_a_failure_not_a_send() {
    // DingTalk keyword/signature error 310000: permanent.
    let ding = FakeChat::start(ChannelKind::DingTalk).await;
    ding.push(Reply::status(
        200,
        r#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
    ));
    // WeCom 45009 and Feishu 11232: rate limits, retried.
    let wecom = FakeChat::start(ChannelKind::WeCom).await;
    wecom.push(Reply::status(
        200,
        r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
    ));
    let feishu = FakeChat::start(ChannelKind::Feishu).await;
    feishu.push(Reply::status(
        200,
        r#"{"code":11232,"msg":"frequency limited"}"#,
    ));
    let outbox = Arc::new(MemoryOutbox::new());
    enqueue(&outbox, "ding", 1, Severity::High);
    enqueue(&outbox, "wecom", 2, Severity::High);
    enqueue(&outbox, "feishu", 3, Severity::High);
    let d = Deliverer::new(
        config(vec![
            ding.channel("ding"),
            wecom.channel("wecom"),
            feishu.channel("feishu"),
        ]),
        outbox.clone(),
    )
    .unwrap();
    run_until(&d, "settled", || {
        statuses(&outbox) == [RowStatus::Failed, RowStatus::Sent, RowStatus::Sent]
    })
    .await;
    assert_eq!(ding.count(), 1);
    assert_eq!(wecom.count(), 2);
    assert_eq!(feishu.count(), 2);
    let rows = outbox.rows();
    assert!(rows[0].sent_at.is_none());
    assert!(rows[0].last_error.as_deref().unwrap().contains("310000"));
    assert_eq!(rows[1].item.attempts, 1);
}

#[tokio::test]
async fn a_reset_and_a_hang_time_out_and_are_retried() {
    let server = FakeChat::start(ChannelKind::Webhook).await;
    server.push(Reply::Reset);
    server.push(Reply::Hang);
    let outbox = Arc::new(MemoryOutbox::new());
    enqueue(&outbox, "hook", 1, Severity::High);
    let d = Deliverer::new(config(vec![server.channel("hook")]), outbox.clone()).unwrap();
    let started = std::time::Instant::now();
    run_until(&d, "sent", || statuses(&outbox) == [RowStatus::Sent]).await;
    assert_eq!(server.count(), 3);
    let rows = outbox.rows();
    assert_eq!(rows[0].item.attempts, 2);
    // The hang cost one send deadline (400 ms), not the server's hour.
    assert!(started.elapsed() < Duration::from_secs(5));
    let reqs = server.requests();
    assert!(reqs[2].at - reqs[1].at >= Duration::from_millis(400));
}

// ---- rate limits and digests (§E 37) ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_100_never_exceeds_the_window_and_folds_into_digests() {
    let server = FakeChat::start(ChannelKind::WeCom).await;
    let mut ch = server.channel("wecom");
    // Scaled: 5 per 500 ms stands for WeCom's 20 per minute.
    let window = Window {
        max: 5,
        period: Duration::from_millis(500),
    };
    ch.limits = vec![window];
    let outbox = Arc::new(MemoryOutbox::new());
    let d = Arc::new(Deliverer::new(config(vec![ch]), outbox.clone()).unwrap());
    let cancel = CancellationToken::new();
    let runner = {
        let d = d.clone();
        let c = cancel.clone();
        tokio::spawn(async move { d.run(c).await })
    };
    // 100 notifications within about one scaled "minute" (1 s).
    for i in 0..100 {
        let sev = if i % 10 == 0 {
            Severity::Critical
        } else {
            Severity::Low
        };
        enqueue(&outbox, "wecom", i, sev);
        d.waker().notify_one();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_until(20, "all sent", || {
        outbox.rows().iter().all(|r| r.status == RowStatus::Sent)
    })
    .await;
    cancel.cancel();
    runner.await.unwrap();

    let reqs = server.requests();
    assert!(
        reqs.len() < 100,
        "folding happened: {} requests",
        reqs.len()
    );
    // No window of the limiter's length (less a 50 ms network tolerance) saw more than 5.
    for (i, r) in reqs.iter().enumerate() {
        let n = reqs[i..]
            .iter()
            .take_while(|x| x.at - r.at < Duration::from_millis(450))
            .count();
        assert!(n <= 5, "{n} requests within 450 ms starting at #{i}");
    }
    // Nothing dropped: every notification's title reached the group.
    let all: String = reqs.iter().map(|r| r.text()).collect();
    for i in 0..100 {
        assert!(all.contains(&format!("测试事件{i:03}")), "missing {i}");
    }
    assert!(all.contains("舆情告警汇总"), "a digest was sent");
    assert!(
        reqs.iter()
            .all(|r| r.text().len() <= 4096 + 64 && r.status == 200)
    );
    assert!(d.stats().folded.load(std::sync::atomic::Ordering::Relaxed) > 0);
    let _ = NotificationKind::Digest;
}

// ---- dedup across restarts (§E 34) --------------------------------------------------------

#[tokio::test]
async fn a_restarted_deliverer_sends_nothing_twice_and_loses_nothing() {
    let server = FakeChat::start(ChannelKind::Webhook).await;
    server.push(Reply::status(200, ""));
    server.push(Reply::status(503, "busy"));
    let outbox = Arc::new(MemoryOutbox::new());
    for i in 1..=3 {
        enqueue(&outbox, "hook", i, Severity::High);
    }
    let cfg = config(vec![server.channel("hook")]);
    {
        let first = Deliverer::new(cfg.clone(), outbox.clone()).unwrap();
        let r = first.tick().await;
        assert_eq!((r.sent, r.retried), (1, 1));
        // Dropped here: the "crash".
    }
    assert_eq!(
        statuses(&outbox),
        [RowStatus::Sent, RowStatus::Pending, RowStatus::Pending]
    );
    let restarted = Arc::new(MemoryOutbox::from_rows(outbox.rows()));
    let second = Deliverer::new(cfg, restarted.clone()).unwrap();
    run_until(&second, "all sent", || {
        statuses(&restarted) == [RowStatus::Sent; 3]
    })
    .await;
    // Every notification was accepted exactly once.
    let accepted: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.text())
        .collect();
    assert_eq!(accepted.len(), 3);
    for i in 1..=3 {
        let title = format!("测试事件{i:03}");
        assert_eq!(
            accepted.iter().filter(|b| b.contains(&title)).count(),
            1,
            "{title}"
        );
    }
    // A third start over the final state sends nothing.
    let third = Deliverer::new(config(vec![server.channel("hook")]), restarted).unwrap();
    assert_eq!(third.tick().await, Default::default());
    assert_eq!(server.count(), 4);
}

// ---- secrets (§E 39) ----------------------------------------------------------------------

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_appear_in_errors_debug_output_outbox_or_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut servers = Vec::new();
    let mut channels = Vec::new();
    for kind in ChannelKind::ALL {
        let s = FakeChat::start(kind).await;
        // A hostile receiver echoing the request line (with the token) in its error.
        let echo = format!(
            "error for {} {}",
            common::token_path(kind),
            common::default_secret(kind).unwrap_or("")
        );
        let body = match kind {
            ChannelKind::DingTalk | ChannelKind::WeCom => {
                format!(r#"{{"errcode":500001,"errmsg":"{echo}"}}"#)
            }
            ChannelKind::Feishu => format!(r#"{{"code":9499,"msg":"{echo}"}}"#),
            _ => echo.clone(),
        };
        // Once for the deliverer, once for the direct send below.
        for _ in 0..2 {
            s.push(Reply::status(
                if kind == ChannelKind::Slack { 500 } else { 400 },
                &body,
            ));
        }
        channels.push(s.channel(kind.as_str()));
        servers.push(s);
    }
    // A channel whose server is gone (connection refused), with a token in the path.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        a
    };
    let mut dead = servers[3].channel("dead");
    dead.url = yuqing_notify::Secret::new(format!(
        "http://{gone}{}",
        common::token_path(ChannelKind::Slack)
    ));
    channels.push(dead);

    let outbox = Arc::new(MemoryOutbox::new());
    for (i, c) in channels.iter().enumerate() {
        enqueue(&outbox, &c.id, i as i64, Severity::High);
    }
    let mut cfg = config(channels.clone());
    cfg.delivery.max_attempts = 1;
    let failures: Arc<Mutex<Vec<Failure>>> = Arc::default();
    let f = failures.clone();
    let d = Deliverer::new(cfg, outbox.clone())
        .unwrap()
        .on_failure(Arc::new(move |x: &Failure| {
            f.lock().unwrap().push(x.clone())
        }));
    let report = d.tick().await;
    assert_eq!(report.failed, 6, "{report:?}");

    let mut haystack = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    for r in outbox.rows() {
        haystack.push_str(r.last_error.as_deref().unwrap_or_default());
        haystack.push_str(&format!("{r:?}"));
    }
    for x in failures.lock().unwrap().iter() {
        haystack.push_str(&format!("{x:?}"));
    }
    for c in &channels {
        haystack.push_str(&format!("{c:?}"));
        let n = Notifier::new(c.clone(), Duration::from_secs(1)).unwrap();
        haystack.push_str(&format!("{n:?}"));
        let e = n.send(&note(99, Severity::Low)).await.unwrap_err();
        haystack.push_str(&format!("{e:?} {e}"));
    }
    assert!(
        haystack.contains("notification failed permanently"),
        "logs captured"
    );
    assert!(haystack.contains("connection failed"), "{haystack}");
    for needle in secret_needles() {
        assert!(!haystack.contains(needle), "`{needle}` leaked:\n{haystack}");
    }
    assert!(!haystack.contains("/services/T00000000"), "{haystack}");
}

// ---- Feishu peaks (§E 37) -----------------------------------------------------------------

#[test]
fn the_peak_window_spans_both_sides_of_each_half_hour() {
    use yuqing_notify::deliver::peak_window_end;
    let w = Duration::from_secs(30);
    let at = |h, m, s| Utc.with_ymd_and_hms(2024, 5, 6, h, m, s).unwrap();
    assert_eq!(peak_window_end(w, at(10, 29, 29)), None);
    assert_eq!(peak_window_end(w, at(10, 29, 30)), Some(at(10, 30, 30)));
    assert_eq!(peak_window_end(w, at(10, 29, 50)), Some(at(10, 30, 30)));
    assert_eq!(peak_window_end(w, at(10, 30, 0)), Some(at(10, 30, 30)));
    assert_eq!(peak_window_end(w, at(10, 30, 29)), Some(at(10, 30, 30)));
    assert_eq!(peak_window_end(w, at(10, 30, 30)), None);
    assert_eq!(peak_window_end(w, at(10, 45, 0)), None);
    assert_eq!(peak_window_end(w, at(10, 59, 45)), Some(at(11, 0, 30)));
    assert_eq!(
        peak_window_end(w, at(23, 59, 59)),
        Some(at(0, 0, 30) + chrono::Duration::days(1))
    );
    assert_eq!(peak_window_end(Duration::ZERO, at(10, 30, 0)), None);
}

#[tokio::test]
async fn feishu_waits_out_the_half_hour_peak_and_dingtalk_does_not() {
    let t0 = Utc.with_ymd_and_hms(2024, 5, 6, 10, 29, 50).unwrap();
    let feishu = FakeChat::start(ChannelKind::Feishu).await;
    let ding = FakeChat::start(ChannelKind::DingTalk).await;
    let (clock, now) = fixed_clock(t0);
    // The fake servers verify signatures against the same fake time.
    let server_clock = clock.clone();
    feishu.set_clock(Arc::new(move || server_clock()));
    let server_clock = clock.clone();
    ding.set_clock(Arc::new(move || server_clock()));
    let mut fs = feishu.channel("fs");
    fs.peak_avoid = Duration::from_secs(30);
    let outbox = Arc::new(MemoryOutbox::new());
    for ch in ["fs", "ding"] {
        outbox
            .enqueue(ch, &format!("{ch}:1"), &note(1, Severity::Critical), t0)
            .unwrap();
    }
    let d = Deliverer::new(config(vec![fs, ding.channel("ding")]), outbox.clone())
        .unwrap()
        .with_clock(clock);
    let sent = |ch: &str| {
        outbox
            .rows()
            .iter()
            .any(|r| r.item.channel == ch && r.status == RowStatus::Sent)
    };

    // 10:29:50: DingTalk goes at once, Feishu holds.
    assert_eq!(d.tick().await.sent, 1);
    assert_eq!((ding.count(), feishu.count()), (1, 0));
    assert!(sent("ding") && !sent("fs"));
    // Still nothing from Feishu anywhere inside the window.
    for s in [0, 10, 29] {
        *now.lock().unwrap() = Utc.with_ymd_and_hms(2024, 5, 6, 10, 30, s).unwrap();
        assert_eq!(d.tick().await.sent, 0, "10:30:{s:02}");
        assert_eq!(feishu.count(), 0, "10:30:{s:02}");
    }
    // Once the window and the largest jitter have passed, it goes, once, still pending
    // until then.
    assert_eq!(
        outbox
            .rows()
            .iter()
            .find(|r| r.item.channel == "fs")
            .unwrap()
            .status,
        RowStatus::Pending
    );
    let after = Utc.with_ymd_and_hms(2024, 5, 6, 10, 30, 30).unwrap()
        + chrono::Duration::from_std(yuqing_notify::deliver::PEAK_JITTER_MAX).unwrap();
    *now.lock().unwrap() = after;
    assert_eq!(d.tick().await.sent, 1);
    assert_eq!(feishu.count(), 1);
    assert!(feishu.requests()[0].signed_ok);
    let row = outbox
        .rows()
        .into_iter()
        .find(|r| r.item.channel == "fs")
        .unwrap();
    assert_eq!(row.status, RowStatus::Sent);
    assert!(row.sent_at.unwrap() >= Utc.with_ymd_and_hms(2024, 5, 6, 10, 30, 30).unwrap());
    assert_eq!(ding.count(), 1, "DingTalk sent once");
}
