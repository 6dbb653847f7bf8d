//! A fake chat server on 127.0.0.1: plain HTTP/1.1, one request per connection. It verifies
//! each platform's signature the way the platform does (answering with the platform's own
//! error when it does not match or the timestamp is more than an hour off), records every
//! request, and answers with scripted failure modes.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use yuqing_model::{Notification, NotificationKind, NotifiedDoc, Severity};
use yuqing_notify::{ChannelConfig, ChannelKind, Secret, Window};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Req {
    pub target: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// Whether the signature verified (or none was required).
    pub signed_ok: bool,
    /// The status the server answered with (0 for reset/hang).
    pub status: u16,
}

impl Req {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read the request, then reset the connection.
    Reset,
    /// Read the request, then never answer.
    Hang,
}

impl Reply {
    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Status {
            status,
            headers: vec![],
            body: body.into(),
        }
    }

    pub fn with_header(status: u16, name: &str, value: &str, body: &str) -> Reply {
        Reply::Status {
            status,
            headers: vec![(name.into(), value.into())],
            body: body.into(),
        }
    }
}

pub type ServerClock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Clone)]
pub struct FakeChat {
    pub kind: ChannelKind,
    pub addr: std::net::SocketAddr,
    pub secret: Option<String>,
    requests: Arc<Mutex<Vec<Req>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    /// The server's clock for the one-hour signature window.
    now: Arc<Mutex<ServerClock>>,
}

/// The path part of each platform's URL, with a token that must never leak.
pub fn token_path(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::DingTalk => "/robot/send?access_token=DTTOKENSECRET123456",
        ChannelKind::WeCom => "/cgi-bin/webhook/send?key=WECOMKEYSECRET-693a91f6",
        ChannelKind::Feishu => "/open-apis/bot/v2/hook/FEISHUHOOKSECRET-1b2c3d",
        ChannelKind::Slack => "/services/T00000000/B00000000/SLACKPATHSECRETXXXXXXXX",
        ChannelKind::Webhook => "/hooks/yuqing?token=WEBHOOKQUERYSECRET",
    }
}

/// Every string of a channel's credentials.
pub fn secret_needles() -> Vec<&'static str> {
    vec![
        "DTTOKENSECRET123456",
        "WECOMKEYSECRET-693a91f6",
        "FEISHUHOOKSECRET-1b2c3d",
        "SLACKPATHSECRETXXXXXXXX",
        "WEBHOOKQUERYSECRET",
        "SECdingtalksigningsecret",
        "feishu-signing-secret",
        "webhook-hmac-secret",
    ]
}

pub fn default_secret(kind: ChannelKind) -> Option<&'static str> {
    match kind {
        ChannelKind::DingTalk => Some("SECdingtalksigningsecret"),
        ChannelKind::Feishu => Some("feishu-signing-secret"),
        ChannelKind::Webhook => Some("webhook-hmac-secret"),
        _ => None,
    }
}

impl FakeChat {
    pub async fn start(kind: ChannelKind) -> FakeChat {
        FakeChat::start_with(kind, default_secret(kind)).await
    }

    /// A server verifying with `secret` (none: no signature expected).
    pub async fn start_with(kind: ChannelKind, secret: Option<&str>) -> FakeChat {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = FakeChat {
            kind,
            addr,
            secret: secret.map(str::to_string),
            requests: Arc::default(),
            script: Arc::default(),
            now: Arc::new(Mutex::new(Arc::new(Utc::now))),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move { s.handle(stream).await });
            }
        });
        server
    }

    /// The channel pointing at this server.
    pub fn channel(&self, id: &str) -> ChannelConfig {
        ChannelConfig {
            id: id.into(),
            kind: self.kind,
            url: Secret::new(format!("http://{}{}", self.addr, token_path(self.kind))),
            secret: self.secret.clone().map(Secret::new),
            enabled: true,
            mentions: vec![],
            limits: vec![Window {
                max: 1000,
                period: Duration::from_secs(1),
            }],
            fallback: None,
            // Real time may fall near hh:00/hh:30: tests of the peak window set it.
            peak_avoid: Duration::ZERO,
        }
    }

    pub fn set_clock(&self, clock: ServerClock) {
        *self.now.lock().unwrap() = clock;
    }

    pub fn push(&self, reply: Reply) {
        self.script.lock().unwrap().push_back(reply);
    }

    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    fn ok_reply(&self) -> Reply {
        match self.kind {
            ChannelKind::DingTalk | ChannelKind::WeCom => {
                Reply::status(200, r#"{"errcode":0,"errmsg":"ok"}"#)
            }
            ChannelKind::Feishu => Reply::status(200, r#"{"code":0,"msg":"success","data":{}}"#),
            ChannelKind::Slack => Reply::status(200, "ok"),
            ChannelKind::Webhook => Reply::status(200, ""),
        }
    }

    fn sign_fail_reply(&self) -> Reply {
        match self.kind {
            ChannelKind::DingTalk => Reply::status(
                200,
                r#"{"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}"#,
            ),
            ChannelKind::Feishu => Reply::status(
                200,
                r#"{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}"#,
            ),
            _ => Reply::status(401, "bad signature"),
        }
    }

    /// Verify the request's signature as the platform does.
    fn verify(&self, target: &str, headers: &HashMap<String, String>, body: &[u8]) -> bool {
        let Some(secret) = &self.secret else {
            return true;
        };
        let now = (self.now.lock().unwrap())();
        let mac = |key: &[u8], msg: &[u8]| {
            let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        };
        match self.kind {
            ChannelKind::DingTalk => {
                let u = url::Url::parse(&format!("http://x{target}")).unwrap();
                let q: HashMap<String, String> = u.query_pairs().into_owned().collect();
                let (Some(ts), Some(sign)) = (q.get("timestamp"), q.get("sign")) else {
                    return false;
                };
                let Ok(ms) = ts.parse::<i64>() else {
                    return false;
                };
                if (now.timestamp_millis() - ms).abs() > 3_600_000 {
                    return false;
                }
                let want =
                    STANDARD.encode(mac(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes()));
                *sign == want
            }
            ChannelKind::Feishu => {
                let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
                    return false;
                };
                let (Some(ts), Some(sign)) = (v["timestamp"].as_str(), v["sign"].as_str()) else {
                    return false;
                };
                let Ok(s) = ts.parse::<i64>() else {
                    return false;
                };
                if (now.timestamp() - s).abs() > 3600 {
                    return false;
                }
                sign == STANDARD.encode(mac(format!("{ts}\n{secret}").as_bytes(), b""))
            }
            ChannelKind::Webhook => {
                let (Some(ts), Some(sig)) = (
                    headers.get("x-yuqing-timestamp"),
                    headers.get("x-yuqing-signature"),
                ) else {
                    return false;
                };
                let mut msg = format!("{ts}.").into_bytes();
                msg.extend_from_slice(body);
                let hex: String = mac(secret.as_bytes(), &msg)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                *sig == format!("sha256={hex}")
            }
            _ => true,
        }
    }

    async fn handle(&self, mut stream: TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let target = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .unwrap_or("")
            .to_string();
        let headers: HashMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        let signed_ok = self.verify(&target, &headers, &body);
        let reply = if signed_ok {
            self.script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| self.ok_reply())
        } else {
            self.sign_fail_reply()
        };
        let status = match &reply {
            Reply::Status { status, .. } => *status,
            _ => 0,
        };
        self.requests.lock().unwrap().push(Req {
            target,
            headers,
            body,
            at: Instant::now(),
            signed_ok,
            status,
        });
        match reply {
            Reply::Status {
                status,
                headers,
                body,
            } => {
                let mut resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    resp.push_str(&format!("{k}: {v}\r\n"));
                }
                resp.push_str("\r\n");
                resp.push_str(&body);
                let _ = stream.write_all(resp.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
            Reply::Reset => {
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(Duration::ZERO));
                drop(stream);
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(stream);
            }
        }
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// A notification with a distinctive title.
pub fn note(i: i64, severity: Severity) -> Notification {
    Notification {
        kind: NotificationKind::Opened,
        incident_id: Some(i),
        severity,
        title: format!("测试事件{i:03} 负面舆情激增"),
        entity: Some("恒信消费金融".into()),
        lines: vec![format!("规则：负面声量　30 分钟 {i} 篇，阈值 20")],
        top_docs: vec![NotifiedDoc {
            title: "借款人投诉暴力催收".into(),
            url: Some("https://news.example.com/a/1".into()),
            source: "财新".into(),
            time: None,
        }],
        console_url: Some(format!("http://127.0.0.1:8080/incidents/{i}")),
        mentions: vec![],
    }
}

/// Wait until `f` holds, polling, or panic after `secs`.
pub async fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
