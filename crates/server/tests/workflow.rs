//! The improvement workflow's console pages and API end to end through `oneshot` (no
//! socket): role rules, CSRF, illegal transitions, the full loop, the OpenAPI listing and
//! inert scraped markup.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;
use yuqing_index::DocIndex;
use yuqing_model::{
    Channel, DocId, Document, Incident, IncidentDoc, IncidentStatus, IncidentWhy, RawDoc, RuleKind,
    Severity, SourceId,
};
use yuqing_server::users::{Role, UserDb};
use yuqing_server::workflow_api::WorkflowConsole;
use yuqing_server::{AppState, Company, ConsoleSettings, app};
use yuqing_store::Store;
use yuqing_text::{Analyzer, AnalyzerOptions};
use yuqing_workflow::Workflow;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";
const XSS_DOC: &str = "d0000000000000000000000000000002";
const COMPLAINT_DOC: &str = "d0000000000000000000000000000009";

fn entities() -> Vec<yuqing_model::Entity> {
    vec![yuqing_model::Entity {
        id: "hengxin".into(),
        name: "恒信消费金融有限公司".into(),
        aliases: vec![yuqing_model::Alias {
            text: "恒信消费金融".into(),
            kind: yuqing_model::AliasKind::Name,
        }],
        exclude_contexts: vec![],
    }]
}

fn analyzer() -> Analyzer {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let opts = AnalyzerOptions {
        user_dicts: vec![root.join("dict/yuqing.txt")],
        sentiment_lexicon: root.join("sentiment.toml"),
        risk_rules: Some(root.join("risk.toml")),
        negative_threshold: -0.2,
        positive_threshold: 0.2,
    };
    Analyzer::load(&opts, &entities()).expect("analyzer loads the repository's config")
}

#[allow(clippy::too_many_arguments)]
fn doc(
    a: &Analyzer,
    id: &str,
    channel: Channel,
    title: &str,
    body: &str,
    url: &str,
    hours_ago: i64,
) -> Document {
    let raw = RawDoc {
        id: DocId(id.into()),
        source_id: SourceId("news/t".into()),
        channel,
        item_key: id.into(),
        url: Some(url.into()),
        title: title.into(),
        body: body.into(),
        author: Some(IMG.into()),
        published_at: Some(Utc::now() - Duration::hours(hours_ago)),
        fetched_at: Utc::now(),
        tags: vec![],
    };
    let analysis = a.analyze(&raw);
    Document {
        raw,
        analysis,
        cluster: None,
    }
}

struct Fx {
    _dir: tempfile::TempDir,
    app: Router,
    state: AppState,
    incident: i64,
    case: i64,
}

fn fixture_with(approver: Role, workflow: bool) -> Fx {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let index = DocIndex::open(&dir.path().join("index"), a.tokenizer()).unwrap();
    let docs = vec![
        doc(
            &a,
            "d0000000000000000000000000000001",
            Channel::News,
            "恒信消费金融被投诉暴力催收",
            "多名借款人反映遭遇暴力催收，电话打到通讯录联系人，非常愤怒。",
            "https://n.example/1",
            1,
        ),
        doc(
            &a,
            XSS_DOC,
            Channel::News,
            &format!("{SCRIPT}恒信消费金融暴力催收"),
            &format!("{IMG} 借款人投诉恒信消费金融暴力催收，态度恶劣。"),
            "javascript:alert(1)",
            2,
        ),
        doc(
            &a,
            COMPLAINT_DOC,
            Channel::Complaint,
            &format!("{SCRIPT}投诉恒信消费金融乱收费"),
            &format!("{IMG}恒信消费金融未经同意扣款，要求退还。"),
            "javascript:alert(2)",
            3,
        ),
    ];
    let mut w = index.writer(1, 20_000_000).unwrap();
    for d in &docs {
        w.upsert(d).unwrap();
    }
    w.commit().unwrap();
    index.reload().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("yuqing.db"), 3).unwrap());
    store.commit(&docs, &[]).unwrap();

    let now = Utc::now();
    let inc = Incident {
        id: 0,
        group_key: "vol|hengxin|".into(),
        rule_id: "neg-volume".into(),
        rule_kind: RuleKind::Volume,
        entity_id: "hengxin".into(),
        topic: None,
        status: IncidentStatus::Open,
        severity: Severity::High,
        title: format!("恒信消费金融 {IMG}"),
        opened_at: now,
        updated_at: now,
        last_doc_at: now,
        resolved_at: None,
        acknowledged_at: None,
        acknowledged_by: None,
        assignee: None,
        open_count: 1,
        doc_count: 2,
        peak: 2.0,
        notified_at: None,
        notified_docs: 0,
        update_seq: 0,
        unacked_escalated: 0,
        why: IncidentWhy {
            rule_id: "neg-volume".into(),
            rule_kind: RuleKind::Volume,
            observed: 2.0,
            threshold: 2.0,
            baseline: None,
            baseline_stddev: None,
            ratio_threshold: None,
            largest_wave: None,
            window_secs: 3600,
            top_terms: vec![SCRIPT.into(), "暴力催收".into()],
            top_sources: vec![SourceId("news/t".into())],
            first_source: Some(SourceId("news/t".into())),
            first_seen: Some(now),
        },
    };
    let mut tx = store.incident_tx().unwrap();
    let id = tx.insert_incident(&inc).unwrap();
    for (d, title, url) in [
        (
            "d0000000000000000000000000000001",
            "恒信消费金融被投诉暴力催收".to_string(),
            "https://n.example/1",
        ),
        (
            XSS_DOC,
            format!("{SCRIPT}恒信消费金融暴力催收"),
            "javascript:alert(1)",
        ),
    ] {
        tx.attach_doc(&IncidentDoc {
            incident_id: id,
            doc_id: DocId(d.into()),
            source_id: SourceId("news/t".into()),
            title,
            url: Some(url.into()),
            doc_at: now,
            attached_at: now,
            terms: vec![IMG.into()],
        })
        .unwrap();
    }
    tx.commit().unwrap();

    let wf = Arc::new(Workflow::new(
        store.clone(),
        yuqing_config::WorkflowSettings::default(),
        chrono_tz::Asia::Shanghai,
        entities(),
    ));
    // The complaint document becomes a case, as the pipeline writer does it.
    let opened = wf.cases_from_documents(&docs, now).unwrap();
    assert_eq!(opened.len(), 1, "one complaint document, one case");

    let params = argon2::Params::new(1024, 1, 1, None).unwrap();
    let users = UserDb::open_with(&dir.path().join("users.db"), params).unwrap();
    users
        .add_user("vera", Role::Viewer, "viewer-password")
        .unwrap();
    users
        .add_user("ann", Role::Analyst, "analyst-password")
        .unwrap();
    users
        .add_user("root", Role::Admin, "admin-password")
        .unwrap();
    let mut state = AppState::new(
        Arc::new(index),
        store,
        Arc::new(users),
        ConsoleSettings {
            company: Some(Company {
                id: "hengxin".into(),
                name: "恒信消费金融".into(),
            }),
            ..ConsoleSettings::default()
        },
    );
    if workflow {
        state = state.with_workflow(WorkflowConsole {
            workflow: wf,
            approver_role: approver,
        });
    }
    Fx {
        _dir: dir,
        app: app(state.clone()),
        state,
        incident: id,
        case: opened[0],
    }
}

fn fixture() -> Fx {
    fixture_with(Role::Admin, true)
}

/// A session for `name`: (cookie header value, CSRF token).
fn session(fx: &Fx, name: &str) -> (String, String) {
    let users = &fx.state.inner().users;
    let user = users.user(name).unwrap().unwrap();
    let (token, s) = users.create_session(&user, Utc::now()).unwrap();
    (format!("yq_session={token}"), s.csrf)
}

fn bearer(fx: &Fx, name: &str) -> String {
    format!(
        "Bearer {}",
        fx.state.inner().users.create_api_token(name).unwrap()
    )
}

async fn send(fx: &Fx, req: Request<Body>) -> Response<Body> {
    fx.app.clone().oneshot(req).await.unwrap()
}

async fn body(res: Response<Body>) -> String {
    let b = axum::body::to_bytes(res.into_body(), 10 << 20)
        .await
        .unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

fn location(res: &Response<Body>) -> String {
    res.headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// An API call with a bearer token: (status, body as JSON or as a string).
async fn api(
    fx: &Fx,
    token: &str,
    method: &str,
    uri: &str,
    b: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, token);
    let body_ = match b {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let res = send(fx, req.body(body_).unwrap()).await;
    let status = res.status();
    let text = body(res).await;
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}

/// A form post with a session: (status, Location, body).
async fn form(
    fx: &Fx,
    cookie: &str,
    uri: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let enc: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let res = send(
        fx,
        Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie)
            .body(Body::from(enc.join("&")))
            .unwrap(),
    )
    .await;
    let status = res.status();
    let loc = location(&res);
    (status, loc, body(res).await)
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn page(fx: &Fx, cookie: &str, uri: &str) -> (StatusCode, String) {
    let res = send(
        fx,
        Request::builder()
            .uri(uri)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let s = res.status();
    (s, body(res).await)
}

/// HTML with the numeric entities askama writes turned into the named ones.
fn named_entities(html: &str) -> String {
    html.replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
}

fn deadline(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

/// Every write route of the workflow API with a valid body, in an order that works.
fn writes(inc: i64, case: i64) -> Vec<(&'static str, String, Value)> {
    vec![
        (
            "PATCH",
            format!("/api/v1/incidents/{inc}/report"),
            json!({"impact": "较大"}),
        ),
        (
            "POST",
            format!("/api/v1/incidents/{inc}/report/refresh"),
            Value::Null,
        ),
        (
            "POST",
            format!("/api/v1/incidents/{inc}/review"),
            Value::Null,
        ),
        (
            "PATCH",
            format!("/api/v1/incidents/{inc}/review"),
            json!({"summary": "复盘总结"}),
        ),
        (
            "POST",
            format!("/api/v1/incidents/{inc}/measures"),
            json!({"category": "personnel", "description": "培训", "owner_department": "客服", "owner": "张三", "deadline": deadline(10)}),
        ),
        (
            "PATCH",
            "/api/v1/measures/1".into(),
            json!({"owner": "李四"}),
        ),
        (
            "POST",
            "/api/v1/measures/1/progress".into(),
            json!({"text": "已排课", "percent": 30}),
        ),
        (
            "POST",
            "/api/v1/measures/1/check".into(),
            json!({"text": "现场查看", "passed": true}),
        ),
        (
            "POST",
            "/api/v1/measures/1/status".into(),
            json!({"status": "in_progress"}),
        ),
        (
            "POST",
            "/api/v1/measures/1/status".into(),
            json!({"status": "done"}),
        ),
        ("POST", "/api/v1/measures/1/evaluate".into(), Value::Null),
        (
            "POST",
            format!("/api/v1/incidents/{inc}/evaluate"),
            Value::Null,
        ),
        (
            "PUT",
            "/api/v1/evaluations/1/manual".into(),
            json!({"surveys": [], "indicators": [], "note": "n"}),
        ),
        (
            "POST",
            format!("/api/v1/incidents/{inc}/conclusion"),
            json!({"text": "有效", "evaluation_id": 1}),
        ),
        ("POST", "/api/v1/cases".into(), json!({"title": "热线投诉"})),
        (
            "PATCH",
            format!("/api/v1/cases/{case}"),
            json!({"assignee": "王五"}),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/note"),
            json!({"text": "已联系"}),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/extend"),
            json!({"deadline": deadline(30), "reason": "需调查"}),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/status"),
            json!({"status": "analyzing"}),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/status"),
            json!({"status": "handling"}),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/reply"),
            json!({"text": "已退款", "channel": "电话"}),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/answer"),
            json!({"text": "已退款", "channel": "电话"}),
        ),
    ]
}

fn reads(inc: i64, case: i64) -> Vec<String> {
    vec![
        format!("/api/v1/incidents/{inc}/report"),
        format!("/api/v1/incidents/{inc}/review"),
        format!("/api/v1/incidents/{inc}/measures"),
        format!("/api/v1/incidents/{inc}/evaluations"),
        format!("/api/v1/incidents/{inc}/conclusion"),
        format!("/api/v1/incidents/{inc}/audit"),
        format!("/api/v1/incidents/{inc}/full-report"),
        format!("/api/v1/incidents/{inc}/full-report?format=markdown"),
        "/api/v1/supervision".into(),
        "/api/v1/cases".into(),
        "/api/v1/cases?status=open&overdue=true".into(),
        format!("/api/v1/cases/{case}"),
        "/api/v1/briefings/daily".into(),
        "/api/v1/briefings/weekly?format=markdown".into(),
    ]
}

#[tokio::test]
async fn viewers_read_analysts_write_admins_approve() {
    let fx = fixture();
    let (inc, case) = (fx.incident, fx.case);
    let vera = bearer(&fx, "vera");
    let ann = bearer(&fx, "ann");
    let root = bearer(&fx, "root");
    for uri in reads(inc, case) {
        let (s, v) = api(&fx, &vera, "GET", &uri, None).await;
        assert_eq!(s, StatusCode::OK, "viewer reads {uri}: {v}");
    }
    for (m, uri, b) in writes(inc, case) {
        let b = (!b.is_null()).then_some(b);
        let (s, v) = api(&fx, &vera, m, &uri, b.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "viewer cannot {m} {uri}: {v}");
        let (s, v) = api(&fx, &ann, m, &uri, b).await;
        assert!(
            s == StatusCode::OK || s == StatusCode::CREATED,
            "analyst {m} {uri}: {s} {v}"
        );
    }
    // The measure is done and the case answered: read-only views still work for viewers.
    for uri in reads(inc, case) {
        let (s, _) = api(&fx, &vera, "GET", &uri, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
    }
    // Approval: the analyst submits, cannot approve; the admin approves and is recorded.
    let status = format!("/api/v1/incidents/{inc}/review/status");
    let (s, v) = api(
        &fx,
        &vera,
        "POST",
        &status,
        Some(json!({"status": "in_review"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = api(
        &fx,
        &ann,
        "POST",
        &status,
        Some(json!({"status": "in_review"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "in_review");
    assert_eq!(v["submitted_by"], "ann");
    let (s, v) = api(
        &fx,
        &ann,
        "POST",
        &status,
        Some(json!({"status": "approved"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = api(
        &fx,
        &root,
        "POST",
        &status,
        Some(json!({"status": "approved"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["approved_by"], "root");
    // Approved is read-only (409) and only the approver reopens it.
    let (s, v) = api(
        &fx,
        &ann,
        "PATCH",
        &format!("/api/v1/incidents/{inc}/review"),
        Some(json!({"summary": "改"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["message"].as_str().unwrap().contains("已批准"), "{v}");
    let (s, _) = api(&fx, &ann, "POST", &status, Some(json!({"status": "draft"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = api(
        &fx,
        &root,
        "POST",
        &status,
        Some(json!({"status": "draft"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["approved_by"].is_null());
}

#[tokio::test]
async fn a_configured_approver_role_lets_analysts_approve() {
    let fx = fixture_with(Role::Analyst, true);
    let ann = bearer(&fx, "ann");
    let vera = bearer(&fx, "vera");
    let inc = fx.incident;
    let status = format!("/api/v1/incidents/{inc}/review/status");
    api(
        &fx,
        &ann,
        "POST",
        &format!("/api/v1/incidents/{inc}/review"),
        None,
    )
    .await;
    api(
        &fx,
        &ann,
        "POST",
        &status,
        Some(json!({"status": "in_review"})),
    )
    .await;
    let (s, _) = api(
        &fx,
        &vera,
        "POST",
        &status,
        Some(json!({"status": "approved"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = api(
        &fx,
        &ann,
        "POST",
        &status,
        Some(json!({"status": "approved"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["approved_by"], "ann");
}

#[tokio::test]
async fn api_writes_with_a_session_cookie_need_the_csrf_header() {
    let fx = fixture();
    let (cookie, csrf) = session(&fx, "ann");
    let uri = format!("/api/v1/incidents/{}/review", fx.incident);
    let req = |with: bool| {
        let mut r = Request::builder()
            .method("POST")
            .uri(&uri)
            .header(header::COOKIE, &cookie);
        if with {
            r = r.header("x-csrf-token", &csrf);
        }
        r.body(Body::empty()).unwrap()
    };
    let res = send(&fx, req(false)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = send(&fx, req(true)).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_the_role() {
    let fx = fixture();
    let inc = fx.incident;
    let (ann, ann_csrf) = session(&fx, "ann");
    let (vera, vera_csrf) = session(&fx, "vera");
    let uri = format!("/incidents/{inc}/workflow/review/start");
    let (s, _, b) = form(&fx, &ann, &uri, &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(b.contains("CSRF"), "{b}");
    let (s, _, _) = form(&fx, &ann, &uri, &[("csrf", "wrong")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, b) = form(&fx, &vera, &uri, &[("csrf", &vera_csrf)]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(b.contains("当前角色无权"), "{b}");
    let (s, loc, _) = form(&fx, &ann, &uri, &[("csrf", &ann_csrf)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(loc, format!("/incidents/{inc}/workflow#review"));
    // Case forms too.
    let case_uri = format!("/cases/{}/status", fx.case);
    let (s, _, _) = form(&fx, &ann, &case_uri, &[("status", "analyzing")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = form(
        &fx,
        &vera,
        &case_uri,
        &[("csrf", &vera_csrf), ("status", "analyzing")],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A `back` outside this site is ignored.
    let (s, loc, _) = form(
        &fx,
        &ann,
        &case_uri,
        &[
            ("csrf", &ann_csrf),
            ("status", "analyzing"),
            ("back", "//evil.example/"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(loc, format!("/cases/{}", fx.case));
    // Viewers see the pages without forms.
    let (s, b) = page(&fx, &vera, &format!("/incidents/{inc}/workflow")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !b.contains("/workflow/review\""),
        "no review form for viewers"
    );
    assert!(
        !b.contains("action=\"/measures/"),
        "no measure forms for viewers"
    );
    let (_, b) = page(&fx, &vera, &format!("/cases/{}", fx.case)).await;
    assert!(!b.contains("/status\""), "no state buttons for viewers");
}

#[tokio::test]
async fn illegal_transitions_are_409_with_the_chinese_and_english_message() {
    let fx = fixture();
    let inc = fx.incident;
    let (root, root_csrf) = session(&fx, "root");
    let (s, _, _) = form(
        &fx,
        &root,
        &format!("/incidents/{inc}/workflow/review/start"),
        &[("csrf", &root_csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // Draft → approved skips review.
    let (s, _, b) = form(
        &fx,
        &root,
        &format!("/incidents/{inc}/workflow/review/status"),
        &[("csrf", &root_csrf), ("status", "approved")],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(b.contains("不能从「草稿」变为「已批准」"), "{b}");
    assert!(
        b.contains("illegal review transition: draft → approved"),
        "{b}"
    );
    assert!(
        b.contains(&format!("href=\"/incidents/{inc}/workflow#review\"")),
        "link back: {b}"
    );
    // A case cannot jump from 受理 to 关闭; the API says so too.
    let (s, _, b) = form(
        &fx,
        &root,
        &format!("/cases/{}/status", fx.case),
        &[("csrf", &root_csrf), ("status", "closed")],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(b.contains("不能从「受理」变为「关闭」"), "{b}");
    assert!(b.contains("accepted → closed"), "{b}");
    let t = bearer(&fx, "root");
    let (s, v) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/cases/{}/status", fx.case),
        Some(json!({"status": "answered"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"], "conflict");
    let m = v["message"].as_str().unwrap();
    assert!(
        m.contains("「受理」") && m.contains("accepted → answered"),
        "{m}"
    );
    // A measure cannot be verified before it is done.
    let (_, v) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/incidents/{inc}/measures"),
        Some(json!({"category": "process", "description": "流程", "owner_department": "业务部门", "owner": "甲", "deadline": deadline(5)})),
    )
    .await;
    let mid = v["id"].as_i64().unwrap();
    let (s, v) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/measures/{mid}/status"),
        Some(json!({"status": "verified"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // Unknown states and fields are 400.
    let (s, _) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/measures/{mid}/status"),
        Some(json!({"status": "finished"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = api(
        &fx,
        &t,
        "PATCH",
        &format!("/api/v1/measures/{mid}"),
        Some(json!({"colour": "red"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("colour"), "{v}");
    // An unconfigured department is refused with the workflow's reason.
    let (s, v) = api(
        &fx,
        &t,
        "PATCH",
        &format!("/api/v1/measures/{mid}"),
        Some(json!({"owner_department": "财务部"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("财务部"), "{v}");
    // Unknown objects are 404.
    let (s, _) = api(&fx, &t, "GET", "/api/v1/cases/999", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api(&fx, &t, "GET", "/api/v1/incidents/999/review", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_whole_loop_through_the_api() {
    let fx = fixture();
    let inc = fx.incident;
    let t = bearer(&fx, "ann");
    // The event report is drafted from the data.
    let (s, r) = api(
        &fx,
        &t,
        "GET",
        &format!("/api/v1/incidents/{inc}/report"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["facts"]["doc_count"], 2);
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .contains("恒信消费金融有限公司"),
        "{r}"
    );
    let (s, r) = api(
        &fx,
        &t,
        "PATCH",
        &format!("/api/v1/incidents/{inc}/report"),
        Some(json!({"impact": "集中在催收环节"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["updated_by"], "ann");
    // Review: start, fill a dimension and a root cause.
    let (s, rv) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/incidents/{inc}/review"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rv["status"], "draft");
    assert_eq!(rv["dimensions"].as_array().unwrap().len(), 7);
    let (s, rv) = api(
        &fx,
        &t,
        "PATCH",
        &format!("/api/v1/incidents/{inc}/review"),
        Some(json!({
            "dimensions": [{"dimension": "people", "applies": true, "finding": "外包催收人员培训不足", "evidence": [XSS_DOC]}],
            "root_causes": [{"text": "外包考核只看回款率", "dimensions": ["people", "process"]}],
            "participants": ["张三"],
            "departments": ["风险管理部", "客服"],
        })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{rv}");
    assert_eq!(rv["root_causes"][0]["id"], 1);
    assert_eq!(rv["dimensions"][0]["evidence"][0], XSS_DOC);
    let (_, g) = api(
        &fx,
        &t,
        "GET",
        &format!("/api/v1/incidents/{inc}/review"),
        None,
    )
    .await;
    assert_eq!(
        g["review"]["dimensions"][0]["finding"],
        "外包催收人员培训不足"
    );
    assert!(g["departments"].as_array().unwrap().len() >= 5);
    // A measure answering the root cause, under supervision until done.
    let (s, m) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/incidents/{inc}/measures"),
        Some(json!({"category": "personnel", "description": "外包催收人员合规培训", "owner_department": "风险管理部", "owner": "李四", "resources": "培训预算 2 万元", "deadline": deadline(2), "root_cause": 1})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let mid = m["id"].as_i64().unwrap();
    let (_, sv) = api(&fx, &t, "GET", "/api/v1/supervision", None).await;
    let item = &sv["items"][0];
    assert_eq!(item["measure"]["id"], mid);
    assert_eq!(item["due"], "due_soon");
    assert!(
        item["incident_title"]
            .as_str()
            .unwrap()
            .contains("恒信消费金融")
    );
    let (s, m) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/measures/{mid}/progress"),
        Some(json!({"text": "已完成第一期培训", "percent": 50})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["progress"][0]["percent"], 50);
    for to in ["in_progress", "done"] {
        let (s, m) = api(
            &fx,
            &t,
            "POST",
            &format!("/api/v1/measures/{mid}/status"),
            Some(json!({"status": to})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert_eq!(m["status"], to);
    }
    let (_, mv) = api(&fx, &t, "GET", &format!("/api/v1/measures/{mid}"), None).await;
    assert_eq!(mv["due"], "stopped");
    // Evaluate: the documents before the measure are counted, with the figures a reader
    // needs to judge significance.
    let (s, e) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/measures/{mid}/evaluate"),
        Some(json!({"window_days": 7})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!(e["measure_id"], mid);
    assert_eq!(e["window_days"], 7);
    assert!(e["entity"]["before"]["docs"].as_u64().unwrap() >= 2, "{e}");
    assert!(
        e["entity"]["before"]["complaints"].as_u64().unwrap() >= 1,
        "{e}"
    );
    assert!(e["cases_before"]["cases"].is_u64());
    let eid = e["id"].as_i64().unwrap();
    let (s, e) = api(
        &fx,
        &t,
        "PUT",
        &format!("/api/v1/evaluations/{eid}/manual"),
        Some(json!({"surveys": [{"name": "客户满意度", "unit": "%", "before": 71.0, "after": 80.5, "respondents_before": 200, "respondents_after": 210}], "indicators": [], "note": "季度调查"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["manual"]["surveys"][0]["after"], 80.5);
    let (_, list) = api(
        &fx,
        &t,
        "GET",
        &format!("/api/v1/incidents/{inc}/evaluations"),
        None,
    )
    .await;
    assert_eq!(list["evaluations"].as_array().unwrap().len(), 1);
    // Conclude, citing the evaluation.
    let (s, c) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/incidents/{inc}/conclusion"),
        Some(json!({"text": "培训后负面信息明显减少", "evaluation_id": eid})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (_, c) = api(
        &fx,
        &t,
        "GET",
        &format!("/api/v1/incidents/{inc}/conclusion"),
        None,
    )
    .await;
    assert_eq!(c["conclusion"]["evaluation_id"], eid);
    // Every step is in the audit trail and in the full report.
    let (_, a) = api(
        &fx,
        &t,
        "GET",
        &format!("/api/v1/incidents/{inc}/audit"),
        None,
    )
    .await;
    let entries = a["entries"].as_array().unwrap();
    for (object, action) in [
        ("report", "drafted"),
        ("report", "edited"),
        ("review", "created"),
        ("review", "edited"),
        ("measure", "created"),
        ("measure", "progress"),
        ("measure", "status"),
        ("evaluation", "created"),
        ("evaluation", "edited"),
        ("conclusion", "concluded"),
    ] {
        assert!(
            entries
                .iter()
                .any(|e| e["object"] == object && e["action"] == action),
            "{object} {action} audited"
        );
    }
    let res = send(
        &fx,
        Request::builder()
            .uri(format!(
                "/api/v1/incidents/{inc}/full-report?format=markdown"
            ))
            .header(header::AUTHORIZATION, &t)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    let md = body(res).await;
    assert!(md.contains("培训后负面信息明显减少"), "{md}");
    assert!(md.contains("外包催收人员合规培训"), "{md}");
    let (s, _) = api(
        &fx,
        &t,
        "GET",
        &format!("/api/v1/incidents/{inc}/full-report?format=pdf"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_whole_loop_through_the_pages() {
    let fx = fixture();
    let inc = fx.incident;
    let (c, csrf) = session(&fx, "ann");
    let wf = format!("/incidents/{inc}/workflow");
    // The incident page links to the workflow.
    let (_, b) = page(&fx, &c, &format!("/incidents/{inc}")).await;
    assert!(b.contains(&format!("href=\"{wf}\"")), "{b}");
    let (s, b) = page(&fx, &c, &wf).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.contains("事件报告") && b.contains("开始复盘"), "{b}");
    let ok = |r: (StatusCode, String, String)| {
        assert_eq!(r.0, StatusCode::SEE_OTHER, "{}", r.2);
        r.1
    };
    ok(form(
        &fx,
        &c,
        &format!("{wf}/report"),
        &[
            ("csrf", &csrf),
            ("impact", "集中在催收环节"),
            ("back", &format!("{wf}#report")),
        ],
    )
    .await);
    ok(form(&fx, &c, &format!("{wf}/review/start"), &[("csrf", &csrf)]).await);
    let loc = ok(form(
        &fx,
        &c,
        &format!("{wf}/review"),
        &[
            ("csrf", &csrf),
            ("dim_people_present", "1"),
            ("dim_people_applies", "1"),
            ("dim_people_finding", "外包催收人员培训不足"),
            ("dim_people_evidence", XSS_DOC),
            ("roots_present", "1"),
            ("rc_new_text", "外包考核只看回款率"),
            ("rc_new_dims", "people"),
            ("people_present", "1"),
            ("participants", "张三\n李四"),
            ("department", "风险管理部"),
            ("external_experts", "律所意见"),
            ("summary", "总结"),
        ],
    )
    .await);
    assert_eq!(loc, format!("{wf}#review"));
    let (_, b) = page(&fx, &c, &wf).await;
    assert!(
        b.contains("外包催收人员培训不足") && b.contains("外包考核只看回款率"),
        "{b}"
    );
    let local_date = (Utc::now() + Duration::days(20))
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    let loc = ok(form(
        &fx,
        &c,
        &format!("{wf}/measures"),
        &[
            ("csrf", &csrf),
            ("category", "personnel"),
            ("description", "外包催收人员合规培训"),
            ("owner_department", "风险管理部"),
            ("owner", "李四"),
            ("resources", "预算"),
            ("deadline", &local_date),
            ("root_cause", "1"),
        ],
    )
    .await);
    let mid: i64 = loc.rsplit("measure-").next().unwrap().parse().unwrap();
    assert_eq!(loc, format!("{wf}#measure-{mid}"));
    // The supervision view lists it.
    let (_, b) = page(&fx, &c, "/supervision").await;
    assert!(
        b.contains("外包催收人员合规培训") && b.contains("正常"),
        "{b}"
    );
    // The edit form carries every field; only what changed is audited.
    ok(form(
        &fx,
        &c,
        &format!("/measures/{mid}/edit"),
        &[
            ("csrf", &csrf),
            ("category", "personnel"),
            ("description", "外包催收人员合规培训"),
            ("owner_department", "风险管理部"),
            ("owner", "王六"),
            ("resources", "预算"),
            ("deadline", &local_date),
            ("root_cause", "1"),
        ],
    )
    .await);
    let t = bearer(&fx, "vera");
    let (_, a) = api(
        &fx,
        &t,
        "GET",
        &format!("/api/v1/incidents/{inc}/audit"),
        None,
    )
    .await;
    let edits: Vec<&Value> = a["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["object"] == "measure" && e["action"] == "edited")
        .collect();
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert_eq!(edits[0]["field"], "owner");
    assert_eq!(edits[0]["new"], "王六");
    ok(form(
        &fx,
        &c,
        &format!("/measures/{mid}/progress"),
        &[("csrf", &csrf), ("text", "第一期完成"), ("percent", "50")],
    )
    .await);
    ok(form(
        &fx,
        &c,
        &format!("/measures/{mid}/check"),
        &[("csrf", &csrf), ("text", "抽查录音"), ("passed", "yes")],
    )
    .await);
    for to in ["in_progress", "done"] {
        ok(form(
            &fx,
            &c,
            &format!("/measures/{mid}/status"),
            &[("csrf", &csrf), ("status", to)],
        )
        .await);
    }
    let loc = ok(form(
        &fx,
        &c,
        &format!("/measures/{mid}/evaluate"),
        &[("csrf", &csrf)],
    )
    .await);
    assert!(loc.starts_with(&format!("{wf}#evaluation-")), "{loc}");
    let eid = loc.rsplit('-').next().unwrap().to_string();
    ok(form(
        &fx,
        &c,
        &format!("/evaluations/{eid}/manual"),
        &[
            ("csrf", &csrf),
            ("s0_name", "客户满意度"),
            ("s0_unit", "%"),
            ("s0_before", "71"),
            ("s0_after", "80.5"),
            ("note", "季度调查"),
        ],
    )
    .await);
    let (s, _, b) = form(
        &fx,
        &c,
        &format!("/evaluations/{eid}/manual"),
        &[
            ("csrf", &csrf),
            ("s0_name", "满意度"),
            ("s0_before", "七十"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    ok(form(
        &fx,
        &c,
        &format!("{wf}/conclusion"),
        &[
            ("csrf", &csrf),
            ("text", "培训有效"),
            ("evaluation_id", &eid),
        ],
    )
    .await);
    let (_, b) = page(&fx, &c, &wf).await;
    for want in [
        "已完成",
        "第一期完成（50%）",
        "抽查录音（通过）",
        "class=\"bachart\"",
        "负面率·全部",
        "客户满意度",
        "培训有效",
        &format!("依据评估#{eid}"),
        "修改记录",
    ] {
        assert!(b.contains(want), "page shows {want}");
    }
    // The printable report has the same content without forms; the Markdown downloads.
    let (s, b) = page(&fx, &c, &format!("/incidents/{inc}/report")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        b.contains("舆情事件报告") && b.contains("培训有效") && b.contains("class=\"bachart\"")
    );
    assert!(
        !b.contains("<form method=\"post\" action=\"/measures"),
        "no forms in print"
    );
    let res = send(
        &fx,
        Request::builder()
            .uri(format!("/incidents/{inc}/report.md"))
            .header(header::COOKIE, &c)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        res.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert!(body(res).await.contains("培训有效"));
    // Approval from the page: the analyst submits; the admin approves and is shown.
    ok(form(
        &fx,
        &c,
        &format!("{wf}/review/status"),
        &[("csrf", &csrf), ("status", "in_review")],
    )
    .await);
    let (s, _, _) = form(
        &fx,
        &c,
        &format!("{wf}/review/status"),
        &[("csrf", &csrf), ("status", "approved")],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (rc, rcsrf) = session(&fx, "root");
    ok(form(
        &fx,
        &rc,
        &format!("{wf}/review/status"),
        &[("csrf", &rcsrf), ("status", "approved")],
    )
    .await);
    let (_, b) = page(&fx, &c, &wf).await;
    assert!(b.contains("已批准") && b.contains("批准人："), "{b}");
    assert!(
        !b.contains("保存复盘"),
        "an approved review has no edit form"
    );
}

#[tokio::test]
async fn a_case_is_answered_on_its_clock_through_the_pages() {
    let fx = fixture();
    let (c, csrf) = session(&fx, "ann");
    let id = fx.case;
    let url = format!("/cases/{id}");
    let (s, b) = page(&fx, &c, &url).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.contains("剩 ") && b.contains("受理"), "{b}");
    let (_, b) = page(&fx, &c, "/cases?status=open").await;
    assert!(b.contains(&format!("href=\"/cases/{id}\"")), "{b}");
    let (_, b) = page(&fx, &c, "/cases?overdue=1").await;
    assert!(
        !b.contains(&format!("href=\"/cases/{id}\"")),
        "not overdue: {b}"
    );
    let ok = |r: (StatusCode, String, String)| {
        assert_eq!(r.0, StatusCode::SEE_OTHER, "{}", r.2);
        r.1
    };
    ok(form(
        &fx,
        &c,
        &format!("{url}/edit"),
        &[
            ("csrf", &csrf),
            ("assignee", "王五"),
            ("title", "乱收费投诉"),
            ("complainant", ""),
            ("incident_id", ""),
        ],
    )
    .await);
    ok(form(
        &fx,
        &c,
        &format!("{url}/note"),
        &[("csrf", &csrf), ("text", "已电话联系客户")],
    )
    .await);
    let later = (Utc::now() + Duration::days(25))
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    ok(form(
        &fx,
        &c,
        &format!("{url}/extend"),
        &[
            ("csrf", &csrf),
            ("deadline", &later),
            ("reason", "需调取录音"),
        ],
    )
    .await);
    for to in ["analyzing", "handling"] {
        ok(form(
            &fx,
            &c,
            &format!("{url}/status"),
            &[("csrf", &csrf), ("status", to)],
        )
        .await);
    }
    // Answering needs a reply.
    let (s, _, b) = form(
        &fx,
        &c,
        &format!("{url}/status"),
        &[("csrf", &csrf), ("status", "answered")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(b.contains("答复前请先填写答复内容"), "{b}");
    ok(form(
        &fx,
        &c,
        &format!("{url}/reply"),
        &[
            ("csrf", &csrf),
            ("text", "已退还扣款"),
            ("channel", "电话"),
            ("action", "answer"),
        ],
    )
    .await);
    let (_, b) = page(&fx, &c, &url).await;
    for want in [
        "王五",
        "已电话联系客户",
        "需调取录音",
        "已退还扣款",
        "电话",
        "按期答复",
        "关闭",
    ] {
        assert!(b.contains(want), "case page shows {want}");
    }
    assert!(b.contains("id=\"case-status\">答复<"), "{b}");
    ok(form(
        &fx,
        &c,
        &format!("{url}/status"),
        &[("csrf", &csrf), ("status", "closed")],
    )
    .await);
    // A new case by hand opens on the default 15-day clock.
    let loc = ok(form(
        &fx,
        &c,
        "/cases",
        &[
            ("csrf", &csrf),
            ("title", "热线投诉"),
            ("channel", "inbound"),
            ("entity_id", "hengxin"),
        ],
    )
    .await);
    assert!(loc.starts_with("/cases/"), "{loc}");
    let (_, b) = page(&fx, &c, &loc).await;
    assert!(b.contains("剩 14.") || b.contains("剩 15.0"), "{b}");
}

#[tokio::test]
async fn every_workflow_api_route_is_in_the_openapi_document_and_routed() {
    let fx = fixture();
    let res = send(
        &fx,
        Request::builder()
            .uri("/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let v: Value = serde_json::from_str(&body(res).await).unwrap();
    let paths = v["paths"].as_object().unwrap();
    let expected: &[(&str, &[&str])] = &[
        ("/api/v1/incidents/{id}/report", &["get", "patch"]),
        ("/api/v1/incidents/{id}/report/refresh", &["post"]),
        ("/api/v1/incidents/{id}/review", &["get", "post", "patch"]),
        ("/api/v1/incidents/{id}/review/status", &["post"]),
        ("/api/v1/incidents/{id}/measures", &["get", "post"]),
        ("/api/v1/measures/{id}", &["get", "patch"]),
        ("/api/v1/measures/{id}/status", &["post"]),
        ("/api/v1/measures/{id}/progress", &["post"]),
        ("/api/v1/measures/{id}/check", &["post"]),
        ("/api/v1/measures/{id}/evaluate", &["post"]),
        ("/api/v1/supervision", &["get"]),
        ("/api/v1/incidents/{id}/evaluate", &["post"]),
        ("/api/v1/incidents/{id}/evaluations", &["get"]),
        ("/api/v1/evaluations/{id}", &["get"]),
        ("/api/v1/evaluations/{id}/manual", &["put"]),
        ("/api/v1/incidents/{id}/conclusion", &["get", "post"]),
        ("/api/v1/incidents/{id}/audit", &["get"]),
        ("/api/v1/cases", &["get", "post"]),
        ("/api/v1/cases/{id}", &["get", "patch"]),
        ("/api/v1/cases/{id}/note", &["post"]),
        ("/api/v1/cases/{id}/reply", &["post"]),
        ("/api/v1/cases/{id}/answer", &["post"]),
        ("/api/v1/cases/{id}/extend", &["post"]),
        ("/api/v1/cases/{id}/status", &["post"]),
        ("/api/v1/briefings/{kind}", &["get"]),
        ("/api/v1/incidents/{id}/full-report", &["get"]),
    ];
    let t = bearer(&fx, "root");
    for (path, methods) in expected {
        let item = paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} is in the OpenAPI document"));
        for m in *methods {
            let op = &item[*m];
            assert!(op.is_object(), "{m} {path} documented");
            assert!(op["responses"].is_object(), "{m} {path} has responses");
            assert!(
                op["summary"].is_string() || op["description"].is_string(),
                "{m} {path} described"
            );
            let uri = path
                .replace("{id}", &fx.incident.to_string())
                .replace("{kind}", "daily");
            let res = send(
                &fx,
                Request::builder()
                    .method(m.to_uppercase().as_str())
                    .uri(&uri)
                    .header(header::AUTHORIZATION, &t)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            let s = res.status();
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{m} {uri}");
            assert_ne!(s, StatusCode::SERVICE_UNAVAILABLE, "{m} {uri}");
            let b = body(res).await;
            assert!(!b.contains("未找到"), "{m} {uri} is routed");
        }
    }
    assert!(v["components"]["schemas"]["StatusRequest"].is_object());
}

#[tokio::test]
async fn without_a_workflow_the_routes_answer_503() {
    let fx = fixture_with(Role::Admin, false);
    let t = bearer(&fx, "vera");
    let (s, v) = api(&fx, &t, "GET", "/api/v1/supervision", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["error"], "unavailable");
    let (c, _) = session(&fx, "vera");
    let (s, b) = page(&fx, &c, "/supervision").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(b.contains("改进工作流未启用"), "{b}");
    let (s, _) = page(&fx, &c, &format!("/incidents/{}/workflow", fx.incident)).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn scraped_markup_renders_inert() {
    let fx = fixture();
    let inc = fx.incident;
    let t = bearer(&fx, "ann");
    // Analysts' text with markup is inert too.
    api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/incidents/{inc}/review"),
        None,
    )
    .await;
    let (s, _) = api(
        &fx,
        &t,
        "PATCH",
        &format!("/api/v1/incidents/{inc}/review"),
        Some(json!({"summary": SCRIPT, "dimensions": [{"dimension": "people", "finding": IMG, "evidence": [XSS_DOC]}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/incidents/{inc}/measures"),
        Some(json!({"category": "culture", "description": SCRIPT, "owner_department": "客服", "owner": IMG, "deadline": deadline(-1)})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = api(
        &fx,
        &t,
        "POST",
        &format!("/api/v1/cases/{}/note", fx.case),
        Some(json!({"text": SCRIPT})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (c, _) = session(&fx, "vera");
    for uri in [
        format!("/incidents/{inc}/workflow"),
        format!("/incidents/{inc}/report"),
        format!("/cases/{}", fx.case),
        "/cases".into(),
        "/supervision".into(),
        "/briefings".into(),
        "/briefings?kind=weekly".into(),
    ] {
        let (s, b) = page(&fx, &c, &uri).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert!(!b.contains("<script"), "{uri} has no script element");
        assert!(!b.contains("<img"), "{uri} has no img element");
        assert!(
            !b.contains("href=\"javascript:"),
            "{uri} has no javascript: link"
        );
        assert!(!b.contains("style="), "{uri} has no inline style");
        let n = named_entities(&b);
        assert!(
            n.contains("&lt;script&gt;") || n.contains("&lt;img"),
            "{uri} shows the markup as text"
        );
    }
    // The case from the complaint document shows its scraped title and body as text.
    let (_, b) = page(&fx, &c, &format!("/cases/{}", fx.case)).await;
    assert!(
        named_entities(&b).contains("&lt;script&gt;alert(1)&lt;/script&gt;投诉恒信消费金融乱收费"),
        "{b}"
    );
    assert!(b.contains(&format!("href=\"/documents/{COMPLAINT_DOC}\"")));
    // The overdue measure is in the supervision view as overdue.
    let (_, b) = page(&fx, &c, "/supervision").await;
    assert!(b.contains("已逾期"), "{b}");
}
