//! `config/notify.toml`: the shipped file, validation errors, routing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use yuqing_model::{Notification, NotificationKind, Severity};
use yuqing_notify::{ChannelKind, RouteContext, load, parse};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/notify.toml")
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn n(severity: Severity) -> Notification {
    Notification {
        kind: NotificationKind::Opened,
        incident_id: Some(1),
        severity,
        title: "t".into(),
        entity: None,
        lines: vec![],
        top_docs: vec![],
        console_url: None,
        mentions: vec![],
    }
}

#[test]
fn the_shipped_file_loads_with_no_environment_because_every_channel_is_disabled() {
    let c = load(&shipped(), &HashMap::new()).unwrap();
    assert_eq!(c.channels.len(), 5);
    assert!(c.channels.iter().all(|c| !c.enabled));
    assert_eq!(c.channel("pr-feishu").unwrap().kind, ChannelKind::Feishu);
    assert!(c.quiet_hours.is_some());
}

#[test]
fn enabled_channels_interpolate_secrets_and_never_print_them() {
    let text = std::fs::read_to_string(shipped()).unwrap().replacen(
        "enabled = false",
        "enabled = true",
        1,
    );
    let e = env(&[
        (
            "DINGTALK_URL",
            "https://oapi.dingtalk.com/robot/send?access_token=tok123456",
        ),
        ("DINGTALK_SECRET", "SECsecret999"),
    ]);
    let c = parse(&shipped(), &text, &e).unwrap();
    let d = c.channel("pr-dingtalk").unwrap();
    assert!(d.enabled);
    assert_eq!(d.secret.as_ref().unwrap().expose(), "SECsecret999");
    let dbg = format!("{d:?}");
    assert!(
        !dbg.contains("tok123456") && !dbg.contains("SECsecret999"),
        "{dbg}"
    );
    assert_eq!(d.redacted_url(), "https://oapi.dingtalk.com/…");
    // Missing variables of an enabled channel are errors naming the key.
    let errs = parse(&shipped(), &text, &HashMap::new()).unwrap_err();
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    assert!(
        keys.contains(&"channel[0].url") && keys.contains(&"channel[0].secret"),
        "{keys:?}"
    );
}

#[test]
fn mistakes_are_all_reported_with_file_and_key() {
    let text = r#"
[[channel]]
id = "a"
kind = "wecom"
url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
secret = "x"
rate_limit_per_min = 25

[[channel]]
id = "b"
kind = "teams"
url = "https://x"

[[route]]
min_severity = "severe"
to = ["nope"]

[grouping]
group_wait_secs = 10
group_interval_secs = 1

[quiet_hours]
start = "25:00"
end = "08:00"
timezone = "Mars/Olympus"
"#;
    let errs = parse(Path::new("notify.toml"), text, &HashMap::new()).unwrap_err();
    let got: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let want = [
        "notify.toml: channel[0].secret: wecom webhooks have no signing",
        "notify.toml: channel[0].rate_limit_per_min: 25 exceeds the wecom platform limit of 20",
        "notify.toml: channel[1].kind: unknown channel kind `teams`; known: dingtalk, wecom",
        "notify.toml: route[0].min_severity: unknown severity `severe`",
        "notify.toml: route[0].to[0]: unknown channel `nope`",
        "notify.toml: grouping.group_interval_secs: 1 is below the floor of 60",
        "notify.toml: grouping.group_wait_secs: must not exceed group_interval_secs",
        "notify.toml: quiet_hours.start: `25:00` is not a time",
        "notify.toml: quiet_hours.timezone: unknown time zone `Mars/Olympus`",
    ];
    for w in want {
        assert!(
            got.iter().any(|g| g.starts_with(w)),
            "missing {w}\n{got:#?}"
        );
    }
}

#[test]
fn unknown_keys_are_rejected() {
    let errs = parse(
        Path::new("notify.toml"),
        "[grouping]\ngroup_wait = 5\n",
        &HashMap::new(),
    )
    .unwrap_err();
    assert_eq!(errs[0].key, "grouping.group_wait");
    assert!(
        errs[0].reason.contains("unknown field `group_wait`"),
        "{errs:?}"
    );
}

#[test]
fn routes_match_in_order_with_continue_and_default() {
    let text = std::fs::read_to_string(shipped())
        .unwrap()
        .replace("enabled = false", "enabled = true");
    let e = env(&[
        (
            "DINGTALK_URL",
            "https://oapi.dingtalk.com/robot/send?access_token=t",
        ),
        ("DINGTALK_SECRET", "SECs"),
        (
            "WECOM_URL",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
        ),
        (
            "FEISHU_URL",
            "https://open.feishu.cn/open-apis/bot/v2/hook/h",
        ),
        ("FEISHU_SECRET", "fs"),
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T/B/X",
        ),
        ("YUQING_WEBHOOK_URL", "https://example.com/hook"),
        ("YUQING_WEBHOOK_SECRET", "ws"),
    ]);
    let c = parse(&shipped(), &text, &e).unwrap();
    let ctx = |entity: &str, risks: &[&str], tags: &[&str]| RouteContext {
        entity_id: Some(entity.into()),
        risk_categories: risks.iter().map(|s| s.to_string()).collect(),
        doc_channels: vec![],
        source_tags: tags.iter().map(|s| s.to_string()).collect(),
    };
    // Authoritative + continue, then the collection rule.
    assert_eq!(
        c.route(
            &n(Severity::High),
            &ctx("hengxin", &["collection"], &["authoritative"])
        ),
        ["pr-dingtalk", "risk-wecom"]
    );
    // Below the authoritative rule's min severity: the entity rule.
    assert_eq!(
        c.route(&n(Severity::Low), &ctx("hengxin", &[], &["authoritative"])),
        ["pr-dingtalk", "pr-feishu"]
    );
    // Nothing matches: default channels.
    assert_eq!(
        c.route(&n(Severity::Low), &ctx("rival", &[], &[])),
        ["pr-dingtalk"]
    );
    // Disabled channels are never routed to.
    let shipped = load(&shipped(), &HashMap::new()).unwrap();
    assert!(
        shipped
            .route(&n(Severity::Critical), &ctx("hengxin", &[], &[]))
            .is_empty()
    );
}

#[test]
fn feishu_channels_avoid_the_half_hour_peaks_by_default_and_only_feishu() {
    let c = load(&shipped(), &HashMap::new()).unwrap();
    let feishu = c.channel("pr-feishu").unwrap();
    assert_eq!(feishu.peak_avoid, std::time::Duration::from_secs(30));
    assert!(
        c.channels
            .iter()
            .filter(|c| c.kind != ChannelKind::Feishu)
            .all(|c| c.peak_avoid.is_zero())
    );

    let channel = |kind: &str, extra: &str| {
        format!(
            "[[channel]]\nid = \"c\"\nkind = \"{kind}\"\nurl = \"https://x.example/hook\"\n{extra}\n"
        )
    };
    let p = Path::new("notify.toml");
    let e = HashMap::new();
    let c = parse(p, &channel("feishu", "peak_avoid_secs = 45"), &e).unwrap();
    assert_eq!(c.channels[0].peak_avoid.as_secs(), 45);
    let c = parse(p, &channel("feishu", "peak_avoid_secs = 0"), &e).unwrap();
    assert!(c.channels[0].peak_avoid.is_zero());
    let errs = parse(p, &channel("feishu", "peak_avoid_secs = 900"), &e).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].to_string().contains("channel[0].peak_avoid_secs"),
        "{errs:?}"
    );
    let errs = parse(p, &channel("dingtalk", "peak_avoid_secs = 30"), &e).unwrap_err();
    assert!(errs[0].to_string().contains("only feishu"), "{errs:?}");
}
