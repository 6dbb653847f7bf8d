//! Rendering a [`Notification`] into each platform's JSON body, in Chinese markdown, within
//! the platform's size limit. Pure functions: no I/O, no clock except what is passed in.
//!
//! Scraped text (document titles, sources, the title and entity) is neutralized so it cannot
//! break the markup: markdown and link syntax become full-width look-alikes, newlines and
//! control characters become spaces, and `@`/`<` cannot forge a mention. `lines` are trusted
//! markdown produced by the incident engine, which must pass scraped fragments through
//! [`escape_markdown`] first. Links are only `http(s)` and percent-encode `()|<> `.
//!
//! When the message is too long, whole lines are dropped from the end of the body with a note
//! (`…（内容过长已截断）`); the console link and mentions are always kept; a single line that
//! is still too long is cut on a character boundary with `…`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use yuqing_model::{Notification, NotificationKind, NotifiedDoc, Severity};

use crate::config::ChannelKind;

/// DingTalk markdown text limit, in characters (the platform fails "beyond a few thousand").
pub const DINGTALK_MAX_CHARS: usize = 3000;
/// WeCom markdown content limit, in UTF-8 bytes.
pub const WECOM_MAX_BYTES: usize = 4096;
/// Feishu request body limit is 20 KB; the markdown gets this many bytes, leaving room for
/// the card envelope and the signature.
pub const FEISHU_MAX_BYTES: usize = 18 * 1024;
/// Slack text limit used here, in characters (a section block holds 3000).
pub const SLACK_MAX_CHARS: usize = 3000;
/// Generic webhook markdown limit, in bytes.
pub const WEBHOOK_MAX_BYTES: usize = 16 * 1024;
/// Documents listed per message.
pub const MAX_DOCS: usize = 5;

const TRUNCATED: &str = "…（内容过长已截断）";

/// The Chinese name of a notification kind.
pub fn kind_zh(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Opened => "新事件",
        NotificationKind::Escalated => "级别升高",
        NotificationKind::Update => "事件更新",
        NotificationKind::Resolved => "已解除",
        NotificationKind::Reminder => "提醒",
        NotificationKind::Digest => "汇总",
        NotificationKind::Briefing => "简报",
        NotificationKind::SourceHealth => "信息源异常",
    }
}

/// Neutralize scraped text for markdown (DingTalk, WeCom, Feishu): markup characters become
/// full-width look-alikes, control characters and newlines become spaces.
pub fn escape_markdown(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\\' => '＼',
            '*' => '＊',
            '_' => '＿',
            '[' => '［',
            ']' => '］',
            '(' => '（',
            ')' => '）',
            '#' => '＃',
            '`' => '｀',
            '<' => '＜',
            '>' => '＞',
            '|' => '｜',
            '~' => '～',
            '@' => '＠',
            '&' => '＆',
            '!' => '！',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// Neutralize scraped text for Slack mrkdwn: `&`, `<`, `>` become entities, formatting
/// characters become full-width look-alikes.
pub fn escape_slack(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' => out.push('＊'),
            '_' => out.push('＿'),
            '~' => out.push('～'),
            '`' => out.push('｀'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A link target safe inside `[text](url)` and `<url|text>`: only `http(s)`, with `()|<>`,
/// quotes and spaces percent-encoded. `None` for anything else.
pub fn safe_url(raw: &str) -> Option<String> {
    let u = url::Url::parse(raw.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") || !u.has_host() {
        return None;
    }
    let mut out = String::with_capacity(u.as_str().len());
    for c in u.as_str().chars() {
        match c {
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '|' => out.push_str("%7C"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '"' => out.push_str("%22"),
            '\'' => out.push_str("%27"),
            ' ' => out.push_str("%20"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// Whether a mention is usable: a user id, phone number or e-mail-like handle.
fn valid_mention(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 64
        && m.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '@'))
}

/// Whether a mention is a phone number (DingTalk `atMobiles`).
fn is_mobile(m: &str) -> bool {
    let d = m.strip_prefix('+').unwrap_or(m);
    d.len() >= 6 && d.chars().all(|c| c.is_ascii_digit())
}

/// The notification's mentions plus the channel's, valid ones only, without duplicates.
pub fn mentions(n: &Notification, channel_mentions: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in n.mentions.iter().chain(channel_mentions) {
        let m = m.trim();
        if valid_mention(m) && !out.iter().any(|o| o == m) {
            out.push(m.to_string());
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// DingTalk, WeCom, Feishu card markdown, generic webhook.
    Markdown,
    /// Slack mrkdwn.
    Slack,
}

#[derive(Clone, Copy)]
enum Limit {
    Chars(usize),
    Bytes(usize),
}

impl Limit {
    fn size(self, s: &str) -> usize {
        match self {
            Limit::Chars(_) => s.chars().count(),
            Limit::Bytes(_) => s.len(),
        }
    }
    fn max(self) -> usize {
        match self {
            Limit::Chars(n) | Limit::Bytes(n) => n,
        }
    }
}

fn shanghai(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%m-%d %H:%M")
        .to_string()
}

fn severity_badge(s: Severity, flavor: Flavor) -> String {
    match flavor {
        Flavor::Markdown => format!("【{}】", s.zh()),
        Flavor::Slack => format!("[{}]", s.zh()),
    }
}

fn doc_line(i: usize, d: &NotifiedDoc, flavor: Flavor) -> String {
    let esc = |s: &str| match flavor {
        Flavor::Markdown => escape_markdown(s),
        Flavor::Slack => escape_slack(s),
    };
    let title = {
        let t = esc(d.title.trim());
        if t.is_empty() {
            "（无标题）".to_string()
        } else {
            cut_chars(&t, 80)
        }
    };
    let linked = match (d.url.as_deref().and_then(safe_url), flavor) {
        (Some(u), Flavor::Markdown) => format!("[{title}]({u})"),
        (Some(u), Flavor::Slack) => format!("<{u}|{title}>"),
        (None, _) => title,
    };
    let mut line = format!("{}. {linked} · {}", i + 1, esc(&cut_chars(&d.source, 40)));
    if let Some(t) = d.time {
        line.push_str(" · ");
        line.push_str(&shanghai(t));
    }
    line
}

fn cut_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Cut `s` to at most `max` units of `limit`, on a character boundary, ending with `…`.
fn cut_to(s: &str, max: usize, limit: Limit) -> String {
    if limit.size(s) <= max {
        return s.to_string();
    }
    let budget = max.saturating_sub(limit.size("…"));
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let add = match limit {
            Limit::Chars(_) => 1,
            Limit::Bytes(_) => c.len_utf8(),
        };
        if used + add > budget {
            break;
        }
        used += add;
        out.push(c);
    }
    out.push('…');
    out
}

/// Assemble head, body lines and footer within the limit: body lines are dropped from the
/// end first, then the head is cut.
fn fit(head: &[String], body: &[String], footer: &[String], limit: Limit) -> String {
    let join = |parts: &[&String]| -> String {
        parts
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    let all: Vec<&String> = head.iter().chain(body).chain(footer).collect();
    let whole = join(&all);
    if limit.size(&whole) <= limit.max() {
        return whole;
    }
    let note = TRUNCATED.to_string();
    let with = |keep: usize| {
        let parts: Vec<&String> = head
            .iter()
            .chain(&body[..keep])
            .chain(std::iter::once(&note))
            .chain(footer)
            .collect();
        join(&parts)
    };
    // The size grows with the number of lines kept: binary search for the most that fit.
    let (mut lo, mut hi) = (0usize, body.len());
    let mut best = None;
    while lo < hi {
        let mid = (lo + hi) / 2;
        let s = with(mid);
        if limit.size(&s) <= limit.max() {
            best = Some(s);
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if let Some(s) = best {
        return s;
    }
    // Even head + footer are too long: cut the head, keep the footer whole if it fits.
    let tail = join(&std::iter::once(&note).chain(footer).collect::<Vec<_>>());
    let room = limit
        .max()
        .saturating_sub(limit.size(&tail) + limit.size("\n\n"));
    let head_s = join(&head.iter().collect::<Vec<_>>());
    let s = format!("{}\n\n{tail}", cut_to(&head_s, room, limit));
    cut_to(&s, limit.max(), limit)
}

fn markdown(n: &Notification, mention_syntax: &[String], flavor: Flavor, limit: Limit) -> String {
    let esc = |s: &str| match flavor {
        Flavor::Markdown => escape_markdown(s),
        Flavor::Slack => escape_slack(s),
    };
    let bold = |s: &str| match flavor {
        Flavor::Markdown => format!("**{s}**"),
        Flavor::Slack => format!("*{s}*"),
    };
    let mut head = vec![match flavor {
        Flavor::Markdown => format!(
            "### {}{}",
            severity_badge(n.severity, flavor),
            esc(&cut_chars(&n.title, 100))
        ),
        Flavor::Slack => bold(&format!(
            "{}{}",
            severity_badge(n.severity, flavor),
            esc(&cut_chars(&n.title, 100))
        )),
    }];
    let mut facts = format!(
        "{}：{}　{}：{}",
        bold("级别"),
        n.severity.zh(),
        bold("类型"),
        kind_zh(n.kind)
    );
    if let Some(e) = &n.entity {
        facts.push_str(&format!("　{}：{}", bold("主体"), esc(&cut_chars(e, 40))));
    }
    if let Some(id) = n.incident_id {
        facts.push_str(&format!("　{}：#{id}", bold("事件")));
    }
    head.push(facts);

    let mut body: Vec<String> = n
        .lines
        .iter()
        .map(|l| {
            let l: String = l
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("- {}", l.trim())
        })
        .collect();
    let docs: Vec<&NotifiedDoc> = n.top_docs.iter().take(MAX_DOCS).collect();
    if !docs.is_empty() {
        body.push(bold("相关报道"));
        body.extend(docs.iter().enumerate().map(|(i, d)| doc_line(i, d, flavor)));
    }

    let mut footer = Vec::new();
    if let Some(u) = n.console_url.as_deref().and_then(safe_url) {
        footer.push(match flavor {
            Flavor::Markdown => format!("[查看事件详情 →]({u})"),
            Flavor::Slack => format!("<{u}|查看事件详情 →>"),
        });
    }
    if !mention_syntax.is_empty() {
        footer.push(mention_syntax.join(" "));
    }
    fit(&head, &body, &footer, limit)
}

/// The plain-text title (notification previews): neutralized, at most 64 characters.
pub fn plain_title(n: &Notification) -> String {
    cut_chars(
        &format!("【{}】{}", n.severity.zh(), escape_markdown(&n.title)),
        64,
    )
}

/// The JSON body for `kind`, before any signature is added. `channel_mentions` are the
/// channel's configured mentions, merged with the notification's.
pub fn body(kind: ChannelKind, n: &Notification, channel_mentions: &[String]) -> Value {
    let ms = mentions(n, channel_mentions);
    match kind {
        ChannelKind::DingTalk => {
            let (mobiles, users): (Vec<&String>, Vec<&String>) =
                ms.iter().partition(|m| is_mobile(m));
            let syntax: Vec<String> = ms.iter().map(|m| format!("@{m}")).collect();
            let text = markdown(
                n,
                &syntax,
                Flavor::Markdown,
                Limit::Chars(DINGTALK_MAX_CHARS),
            );
            json!({
                "msgtype": "markdown",
                "markdown": { "title": plain_title(n), "text": text },
                "at": { "atMobiles": mobiles, "atUserIds": users, "isAtAll": false },
            })
        }
        ChannelKind::WeCom => {
            let syntax: Vec<String> = ms.iter().map(|m| format!("<@{m}>")).collect();
            let text = markdown(n, &syntax, Flavor::Markdown, Limit::Bytes(WECOM_MAX_BYTES));
            json!({ "msgtype": "markdown", "markdown": { "content": text } })
        }
        ChannelKind::Feishu => {
            let syntax: Vec<String> = ms.iter().map(|m| format!("<at id={m}></at>")).collect();
            let text = markdown(n, &syntax, Flavor::Markdown, Limit::Bytes(FEISHU_MAX_BYTES));
            let template = match n.severity {
                Severity::Critical | Severity::High => "red",
                Severity::Medium => "orange",
                Severity::Low => "blue",
            };
            json!({
                "msg_type": "interactive",
                "card": {
                    "config": { "wide_screen_mode": true },
                    "header": {
                        "title": { "tag": "plain_text", "content": plain_title(n) },
                        "template": template,
                    },
                    "elements": [ { "tag": "markdown", "content": text } ],
                },
            })
        }
        ChannelKind::Slack => {
            let syntax: Vec<String> = ms
                .iter()
                .map(|m| match m.as_str() {
                    "here" | "channel" => format!("<!{m}>"),
                    _ => format!("<@{m}>"),
                })
                .collect();
            let text = markdown(n, &syntax, Flavor::Slack, Limit::Chars(SLACK_MAX_CHARS));
            json!({ "text": text })
        }
        ChannelKind::Webhook => {
            let text = markdown(n, &[], Flavor::Markdown, Limit::Bytes(WEBHOOK_MAX_BYTES));
            json!({
                "source": "yuqing",
                "notification": n,
                "mentions": ms,
                "markdown": text,
            })
        }
    }
}

/// Fold notifications into one [`NotificationKind::Digest`]: the highest severity, one line
/// per notification (most severe first), the union of mentions, up to [`MAX_DOCS`] documents
/// from the most severe ones. `None` when `items` is empty.
pub fn digest(items: &[&Notification]) -> Option<Notification> {
    let severity = items.iter().map(|n| n.severity).max()?;
    let mut sorted: Vec<&Notification> = items.to_vec();
    sorted.sort_by_key(|n| std::cmp::Reverse(n.severity));
    let lines = sorted
        .iter()
        .map(|n| {
            let mut l = format!("【{}】{}", n.severity.zh(), escape_markdown(&n.title));
            if let Some(id) = n.incident_id {
                l.push_str(&format!("（事件 #{id}）"));
            }
            if let Some(u) = n.console_url.as_deref().and_then(safe_url) {
                l.push_str(&format!(" [详情]({u})"));
            }
            l
        })
        .collect();
    let mut mentions: Vec<String> = Vec::new();
    for m in sorted.iter().flat_map(|n| &n.mentions) {
        if !mentions.contains(m) {
            mentions.push(m.clone());
        }
    }
    let top_docs = sorted
        .iter()
        .flat_map(|n| n.top_docs.first())
        .take(MAX_DOCS)
        .cloned()
        .collect();
    Some(Notification {
        kind: NotificationKind::Digest,
        incident_id: None,
        severity,
        title: format!(
            "舆情告警汇总：{} 条通知（发送频率受限，已合并）",
            items.len()
        ),
        entity: None,
        lines,
        top_docs,
        console_url: None,
        mentions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n() -> Notification {
        Notification {
            kind: NotificationKind::Opened,
            incident_id: Some(42),
            severity: Severity::High,
            title: "恒信消费金融 负面舆情激增".into(),
            entity: Some("恒信消费金融".into()),
            lines: vec![
                "规则：负面声量（volume）".into(),
                "30 分钟内负面报道 **57** 篇，阈值 20".into(),
            ],
            top_docs: vec![NotifiedDoc {
                title: "恒信](http://evil) *暴力催收* <@all> 曝光\n换行".into(),
                url: Some("https://news.example.com/a?id=1&x=(y)".into()),
                source: "财新".into(),
                time: Some(DateTime::from_timestamp(1_700_000_000, 0).unwrap()),
            }],
            console_url: Some("http://127.0.0.1:8080/incidents/42".into()),
            mentions: vec!["13800000000".into(), "zhangsan".into(), "bad id!".into()],
        }
    }

    #[test]
    fn scraped_titles_cannot_break_markup_or_forge_mentions() {
        let b = body(ChannelKind::WeCom, &n(), &[]);
        let text = b["markdown"]["content"].as_str().unwrap();
        assert!(
            text.contains("[恒信］（http://evil） ＊暴力催收＊ ＜＠all＞ 曝光 换行]"),
            "{text}"
        );
        assert!(
            text.contains("(https://news.example.com/a?id=1&x=%28y%29)"),
            "{text}"
        );
        assert!(text.contains("<@zhangsan>"), "{text}");
        assert!(!text.contains("bad id"), "{text}");
        assert!(text.contains("[查看事件详情 →](http://127.0.0.1:8080/incidents/42)"));
        assert!(text.contains("11-15 06:13"), "Asia/Shanghai time: {text}");
    }

    #[test]
    fn dingtalk_mentions_go_in_at_and_text() {
        let b = body(ChannelKind::DingTalk, &n(), &["lisi".into()]);
        assert_eq!(b["at"]["atMobiles"], json!(["13800000000"]));
        assert_eq!(b["at"]["atUserIds"], json!(["zhangsan", "lisi"]));
        let text = b["markdown"]["text"].as_str().unwrap();
        assert!(text.contains("@13800000000 @zhangsan @lisi"), "{text}");
        assert!(text.starts_with("### 【高】恒信消费金融"), "{text}");
    }

    #[test]
    fn feishu_and_slack_mentions() {
        let f = body(ChannelKind::Feishu, &n(), &[]);
        let text = f["card"]["elements"][0]["content"].as_str().unwrap();
        assert!(text.contains("<at id=zhangsan></at>"), "{text}");
        let s = body(ChannelKind::Slack, &n(), &["here".into()]);
        let text = s["text"].as_str().unwrap();
        assert!(text.contains("<@zhangsan> <!here>"), "{text}");
        assert!(text.contains("&lt;@all&gt;"), "{text}");
        assert!(
            text.contains("<https://news.example.com/a?id=1&x=%28y%29|"),
            "{text}"
        );
    }

    #[test]
    fn long_messages_fit_every_platform_limit_and_keep_the_console_link() {
        let mut big = n();
        big.lines = (0..2000)
            .map(|i| format!("第 {i} 行：借款人投诉暴力催收、砍头息与征信问题"))
            .collect();
        big.title = "很长的标题".repeat(100);
        let wecom = body(ChannelKind::WeCom, &big, &[]);
        let t = wecom["markdown"]["content"].as_str().unwrap();
        assert!(t.len() <= WECOM_MAX_BYTES, "{}", t.len());
        assert!(t.contains(TRUNCATED) && t.contains("查看事件详情"));
        let ding = body(ChannelKind::DingTalk, &big, &[]);
        let t = ding["markdown"]["text"].as_str().unwrap();
        assert!(t.chars().count() <= DINGTALK_MAX_CHARS);
        let feishu = body(ChannelKind::Feishu, &big, &[]);
        assert!(serde_json::to_vec(&feishu).unwrap().len() <= 20 * 1024);
        let slack = body(ChannelKind::Slack, &big, &[]);
        assert!(slack["text"].as_str().unwrap().chars().count() <= SLACK_MAX_CHARS);
    }

    #[test]
    fn a_single_huge_line_is_cut_on_a_char_boundary() {
        let mut big = n();
        big.title = "暴".repeat(5000);
        big.lines.clear();
        big.top_docs.clear();
        big.console_url = None;
        big.mentions.clear();
        let t = markdown(&big, &[], Flavor::Markdown, Limit::Bytes(100));
        assert!(t.len() <= 100, "{}", t.len());
        assert!(t.ends_with('…') || t.contains(TRUNCATED), "{t}");
    }

    #[test]
    fn unsafe_links_are_dropped() {
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("not a url"), None);
        assert_eq!(
            safe_url("https://h.example/a b|c").as_deref(),
            Some("https://h.example/a%20b%7Cc")
        );
    }

    #[test]
    fn digest_keeps_everything_most_severe_first() {
        let mut a = n();
        a.severity = Severity::Low;
        a.title = "A".into();
        let mut b = n();
        b.severity = Severity::Critical;
        b.title = "B".into();
        let d = digest(&[&a, &b]).unwrap();
        assert_eq!(d.kind, NotificationKind::Digest);
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(d.lines.len(), 2);
        assert!(d.lines[0].starts_with("【紧急】B"));
        assert!(digest(&[]).is_none());
    }
}
