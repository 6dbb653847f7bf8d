//! The console and API end to end through `oneshot` (no socket): a small index and store
//! built in a tempdir with the repository's analyzer configuration.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use chrono::{Duration, Utc};
use tower::ServiceExt;
use yuqing_index::DocIndex;
use yuqing_model::{
    Channel, DocId, Document, Incident, IncidentDoc, IncidentEvent, IncidentEventKind,
    IncidentStatus, IncidentWhy, Notification, NotificationKind, RawDoc, RuleKind, Severity,
    SourceId,
};
use yuqing_server::users::{Role, UserDb};
use yuqing_server::{AppState, Company, ConsoleSettings, app};
use yuqing_store::Store;
use yuqing_text::{Analyzer, AnalyzerOptions};

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";

fn analyzer() -> Analyzer {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let opts = AnalyzerOptions {
        user_dicts: vec![root.join("dict/yuqing.txt")],
        sentiment_lexicon: root.join("sentiment.toml"),
        risk_rules: Some(root.join("risk.toml")),
        negative_threshold: -0.2,
        positive_threshold: 0.2,
    };
    let entities = vec![yuqing_model::Entity {
        id: "hengxin".into(),
        name: "恒信消费金融有限公司".into(),
        aliases: vec![yuqing_model::Alias {
            text: "恒信消费金融".into(),
            kind: yuqing_model::AliasKind::Name,
        }],
        exclude_contexts: vec![],
    }];
    Analyzer::load(&opts, &entities).expect("analyzer loads the repository's config")
}

fn doc(a: &Analyzer, id: &str, title: &str, body: &str, url: &str, hours_ago: i64) -> Document {
    let raw = RawDoc {
        id: DocId(id.into()),
        source_id: SourceId("news/t".into()),
        channel: Channel::News,
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
}

const XSS_DOC: &str = "d0000000000000000000000000000002";

fn fixture() -> Fx {
    let a = analyzer();
    let dir = tempfile::tempdir().unwrap();
    let index = DocIndex::open(&dir.path().join("index"), a.tokenizer()).unwrap();
    let docs = vec![
        doc(
            &a,
            "d0000000000000000000000000000001",
            "恒信消费金融被投诉暴力催收",
            "多名借款人反映遭遇暴力催收，电话打到通讯录联系人，非常愤怒。",
            "https://n.example/1",
            1,
        ),
        doc(
            &a,
            XSS_DOC,
            &format!("{SCRIPT}恒信消费金融暴力催收"),
            &format!("{IMG} 借款人投诉恒信消费金融暴力催收，态度恶劣。"),
            "javascript:alert(1)",
            2,
        ),
        doc(
            &a,
            "d0000000000000000000000000000003",
            "央行公布贷款市场报价利率",
            "一年期贷款市场报价利率维持不变。",
            "https://n.example/3",
            30,
        ),
    ];
    let mut w = index.writer(1, 20_000_000).unwrap();
    for d in &docs {
        w.upsert(d).unwrap();
    }
    w.commit().unwrap();
    index.reload().unwrap();
    let store = Store::open(&dir.path().join("yuqing.db"), 3).unwrap();
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
        doc_count: 1,
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
    tx.attach_doc(&IncidentDoc {
        incident_id: id,
        doc_id: DocId(XSS_DOC.into()),
        source_id: SourceId("news/t".into()),
        title: format!("{SCRIPT}恒信消费金融暴力催收"),
        url: Some("javascript:alert(1)".into()),
        doc_at: now,
        attached_at: now,
        terms: vec![IMG.into()],
    })
    .unwrap();
    tx.add_event(&IncidentEvent {
        incident_id: id,
        at: now,
        kind: IncidentEventKind::Opened,
        actor: None,
        detail: format!("opened {SCRIPT}"),
    })
    .unwrap();
    tx.enqueue(
        "brand-team",
        &format!("inc-{id}-opened"),
        &Notification {
            kind: NotificationKind::Opened,
            incident_id: Some(id),
            severity: Severity::High,
            title: format!("【高】{SCRIPT}"),
            entity: Some("恒信消费金融".into()),
            lines: vec![],
            top_docs: vec![],
            console_url: None,
            mentions: vec![],
        },
        now,
    )
    .unwrap();
    tx.commit().unwrap();

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
    let state = AppState::new(
        Arc::new(index),
        Arc::new(store),
        Arc::new(users),
        ConsoleSettings {
            company: Some(Company {
                id: "hengxin".into(),
                name: "恒信消费金融".into(),
            }),
            ..ConsoleSettings::default()
        },
    );
    Fx {
        _dir: dir,
        app: app(state.clone()),
        state,
        incident: id,
    }
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

fn get(uri: &str) -> axum::http::request::Builder {
    Request::builder().method("GET").uri(uri)
}

fn post_form(uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
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

fn api_routes(inc: i64) -> Vec<(&'static str, String)> {
    vec![
        (
            "GET",
            "/api/v1/search?q=%E6%9A%B4%E5%8A%9B%E5%82%AC%E6%94%B6".into(),
        ),
        ("GET", format!("/api/v1/documents/{XSS_DOC}")),
        ("POST", format!("/api/v1/documents/{XSS_DOC}/correction")),
        ("GET", "/api/v1/export?q=%E6%81%92%E4%BF%A1".into()),
        ("GET", "/api/v1/sources".into()),
        ("GET", "/api/v1/incidents".into()),
        ("GET", format!("/api/v1/incidents/{inc}")),
        ("POST", format!("/api/v1/incidents/{inc}/ack")),
        ("POST", format!("/api/v1/incidents/{inc}/assign")),
        ("GET", "/metrics".into()),
    ]
}

fn page_routes(inc: i64) -> Vec<(&'static str, String)> {
    vec![
        ("GET", "/".into()),
        ("GET", "/search?q=%E6%81%92%E4%BF%A1".into()),
        ("GET", format!("/documents/{XSS_DOC}")),
        ("POST", format!("/documents/{XSS_DOC}/correct")),
        ("GET", "/sources".into()),
        ("GET", "/incidents".into()),
        ("GET", format!("/incidents/{inc}")),
        ("POST", format!("/incidents/{inc}/ack")),
        ("POST", "/logout".into()),
    ]
}

#[tokio::test]
async fn unauthenticated_api_gets_401_and_pages_redirect_to_login() {
    let fx = fixture();
    for (m, uri) in api_routes(fx.incident) {
        let res = send(
            &fx,
            Request::builder()
                .method(m)
                .uri(&uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{m} {uri}");
        assert!(body(res).await.contains("\"unauthorized\""), "{m} {uri}");
    }
    // A wrong or stale credential is no credential.
    let res = send(
        &fx,
        get("/api/v1/sources")
            .header(header::AUTHORIZATION, "Bearer yq_forged")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    for (m, uri) in page_routes(fx.incident) {
        let mut b = Request::builder().method(m).uri(&uri);
        if m == "POST" {
            b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let res = send(
            &fx,
            b.header(header::COOKIE, "yq_session=stale")
                .body(Body::from("csrf=x"))
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{m} {uri}");
        let loc = location(&res);
        assert!(loc.starts_with("/login?next=%2F"), "{m} {uri}: {loc}");
    }
    for uri in [
        "/healthz",
        "/readyz",
        "/login",
        "/static/app.css",
        "/api/v1/openapi.json",
    ] {
        let res = send(&fx, get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri} is public");
    }
    let res = send(
        &fx,
        get("/static/../../etc/passwd").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_route_answers_a_viewer_and_sets_security_headers() {
    let fx = fixture();
    let (cookie, _) = session(&fx, "vera");
    for (m, uri) in page_routes(fx.incident)
        .into_iter()
        .filter(|(m, _)| *m == "GET")
    {
        let res = send(
            &fx,
            get(&uri)
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{m} {uri}");
        let h = res.headers();
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(h.contains_key(header::REFERRER_POLICY));
        let html = body(res).await;
        assert!(!html.contains("<script"), "{uri}: no script at all");
        assert!(
            !html.contains("http://") || !html.contains("cdn"),
            "{uri}: no CDN"
        );
    }
    let token = bearer(&fx, "vera");
    for (m, uri) in api_routes(fx.incident)
        .into_iter()
        .filter(|(m, _)| *m == "GET")
    {
        let res = send(
            &fx,
            get(&uri)
                .header(header::AUTHORIZATION, &token)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{m} {uri}");
    }
}

#[tokio::test]
async fn roles_and_csrf_guard_acknowledgement() {
    let fx = fixture();
    let inc = fx.incident;
    let page_ack = format!("/incidents/{inc}/ack");
    let api_ack = format!("/api/v1/incidents/{inc}/ack");

    // Viewer: 403 on the page form (even with the right CSRF token) and on the API.
    let (vc, vcsrf) = session(&fx, "vera");
    let res = send(
        &fx,
        post_form(&page_ack)
            .header(header::COOKIE, &vc)
            .body(Body::from(format!("csrf={vcsrf}")))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let vt = bearer(&fx, "vera");
    let res = send(
        &fx,
        Request::post(&api_ack)
            .header(header::AUTHORIZATION, &vt)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The incident page offers no acknowledge button to a viewer.
    let res = send(
        &fx,
        get(&format!("/incidents/{inc}"))
            .header(header::COOKIE, &vc)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(!body(res).await.contains("认领此事件"));

    // Analyst with a session: CSRF token missing or wrong → 403, on the form and the API.
    let (ac, acsrf) = session(&fx, "ann");
    for b in ["", "csrf=", "csrf=wrong"] {
        let res = send(
            &fx,
            post_form(&page_ack)
                .header(header::COOKIE, &ac)
                .body(Body::from(b))
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "body {b:?}");
    }
    let res = send(
        &fx,
        Request::post(&api_ack)
            .header(header::COOKIE, &ac)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = send(
        &fx,
        Request::post("/logout")
            .header(header::COOKIE, &ac)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("csrf=wrong"))
            .unwrap(),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "logout needs the token too"
    );
    let res = send(
        &fx,
        get(&format!("/incidents/{inc}"))
            .header(header::COOKIE, &ac)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(body(res).await.contains("认领此事件"));
    assert_eq!(
        fx.state
            .inner()
            .store
            .incident(inc)
            .unwrap()
            .unwrap()
            .status,
        IncidentStatus::Open
    );

    // With the token: acknowledged in the analyst's name, then 409 on a second try.
    let res = send(
        &fx,
        post_form(&page_ack)
            .header(header::COOKIE, &ac)
            .body(Body::from(format!("csrf={acsrf}")))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/incidents/{inc}"));
    let i = fx.state.inner().store.incident(inc).unwrap().unwrap();
    assert_eq!(i.status, IncidentStatus::Acknowledged);
    assert_eq!(i.acknowledged_by.as_deref(), Some("ann"));
    let at = bearer(&fx, "ann");
    let res = send(
        &fx,
        Request::post(&api_ack)
            .header(header::AUTHORIZATION, &at)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = send(
        &fx,
        Request::post("/api/v1/incidents/999/ack")
            .header(header::AUTHORIZATION, &at)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn api_ack_by_bearer_and_by_session_with_header() {
    let fx = fixture();
    let inc = fx.incident;
    let (ac, acsrf) = session(&fx, "root");
    let res = send(
        &fx,
        Request::post(format!("/api/v1/incidents/{inc}/ack"))
            .header(header::COOKIE, &ac)
            .header("x-csrf-token", &acsrf)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    assert_eq!(v["incident"]["status"], "acknowledged");
    assert_eq!(v["incident"]["acknowledged_by"], "root");
}

fn post_json(uri: &str) -> axum::http::request::Builder {
    Request::post(uri).header(header::CONTENT_TYPE, "application/json")
}

#[tokio::test]
async fn roles_and_csrf_guard_assignment() {
    let fx = fixture();
    let inc = fx.incident;
    let api_assign = format!("/api/v1/incidents/{inc}/assign");
    let json = r#"{"assignee": "李四"}"#;

    // Unauthenticated: 401, nothing assigned.
    let res = send(&fx, post_json(&api_assign).body(Body::from(json)).unwrap()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(body(res).await.contains("\"unauthorized\""));

    // Viewer: 403 by token and by session (even with the right CSRF token).
    let vt = bearer(&fx, "vera");
    let res = send(
        &fx,
        post_json(&api_assign)
            .header(header::AUTHORIZATION, &vt)
            .body(Body::from(json))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (vc, vcsrf) = session(&fx, "vera");
    let res = send(
        &fx,
        post_json(&api_assign)
            .header(header::COOKIE, &vc)
            .header("x-csrf-token", &vcsrf)
            .body(Body::from(json))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Analyst with a session but no or a wrong CSRF token: 403.
    let (ac, acsrf) = session(&fx, "ann");
    for h in [None, Some("wrong")] {
        let mut b = post_json(&api_assign).header(header::COOKIE, &ac);
        if let Some(h) = h {
            b = b.header("x-csrf-token", h);
        }
        let res = send(&fx, b.body(Body::from(json)).unwrap()).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "csrf {h:?}");
    }
    let i = fx.state.inner().store.incident(inc).unwrap().unwrap();
    assert_eq!(i.assignee, None, "nothing assigned so far");

    // Analyst by token: a bad body is a 400 in the API's error shape.
    let at = bearer(&fx, "ann");
    for bad in [
        "",
        "{}",
        r#"{"assignee": "  "}"#,
        r#"{"assignee": 3}"#,
        "not json",
    ] {
        let res = send(
            &fx,
            post_json(&api_assign)
                .header(header::AUTHORIZATION, &at)
                .body(Body::from(bad))
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "body {bad:?}");
        assert!(body(res).await.contains("\"bad_request\""), "body {bad:?}");
    }

    // Analyst by token: 200, assigned, recorded in the history in the analyst's name.
    let res = send(
        &fx,
        post_json(&api_assign)
            .header(header::AUTHORIZATION, &at)
            .body(Body::from(json))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    assert_eq!(v["incident"]["assignee"], "李四");
    assert_eq!(
        v["incident"]["status"], "open",
        "assigning does not acknowledge"
    );
    let i = fx.state.inner().store.incident(inc).unwrap().unwrap();
    assert_eq!(i.assignee.as_deref(), Some("李四"));
    let events = fx.state.inner().store.incident_events(inc).unwrap();
    let e = events
        .iter()
        .find(|e| e.kind == IncidentEventKind::Assigned)
        .expect("an Assigned event");
    assert_eq!(e.actor.as_deref(), Some("ann"));

    // Analyst by session with the CSRF header: 200, reassigned.
    let json2 = r#"{"assignee": "王五"}"#;
    let res = send(
        &fx,
        post_json(&api_assign)
            .header(header::COOKIE, &ac)
            .header("x-csrf-token", &acsrf)
            .body(Body::from(json2))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let i = fx.state.inner().store.incident(inc).unwrap().unwrap();
    assert_eq!(i.assignee.as_deref(), Some("王五"));

    // Unknown id: 404.
    for uri in ["/api/v1/incidents/999/assign", "/api/v1/incidents/x/assign"] {
        let res = send(
            &fx,
            post_json(uri)
                .header(header::AUTHORIZATION, &at)
                .body(Body::from(json))
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{uri}");
    }
}

async fn login_page(fx: &Fx) -> String {
    let res = send(fx, get("/login").body(Body::empty()).unwrap()).await;
    let set = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
    let v = set
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("yq_login_csrf=")
        .unwrap()
        .to_string();
    assert!(body(res).await.contains(&format!("value=\"{v}\"")));
    v
}

async fn login(fx: &Fx, name: &str, pw: &str, next: &str) -> Response<Body> {
    let csrf = login_page(fx).await;
    let form = format!(
        "name={name}&password={pw}&csrf={csrf}&next={}",
        yuqing_server::auth::encode_component(next)
    );
    send(
        fx,
        post_form("/login")
            .header(header::COOKIE, format!("yq_login_csrf={csrf}"))
            .body(Body::from(form))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn login_sets_a_strict_session_and_only_follows_local_next() {
    let fx = fixture();
    let res = login(&fx, "vera", "viewer-password", "/search?q=%E6%81%92").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/search?q=%E6%81%92");
    let cookies: Vec<String> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("yq_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Strict")
            && session.contains("Path=/")
    );
    let token = session.split(';').next().unwrap();
    assert_eq!(token.len(), "yq_session=".len() + 43, "256-bit token");
    let res = send(
        &fx,
        get("/sources")
            .header(header::COOKIE, token)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);

    for evil in [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%252F%252Fevil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ] {
        let res = login(&fx, "vera", "viewer-password", evil).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/", "next={evil:?}");
    }

    // Without the login form's cookie (cross-site post): refused.
    let res = send(
        &fx,
        post_form("/login")
            .body(Body::from(
                "name=vera&password=viewer-password&csrf=abc&next=%2F",
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("yq_session"))
    );
}

#[tokio::test]
async fn wrong_passwords_are_throttled() {
    let fx = fixture();
    for _ in 0..yuqing_server::auth::MAX_LOGIN_FAILURES {
        let res = login(&fx, "ann", "not-the-password", "/").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(body(res).await.contains("用户名或密码错误"));
    }
    let res = login(&fx, "ann", "analyst-password", "/").await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
}

#[tokio::test]
async fn search_api_highlights_chinese_and_reports_bad_queries() {
    let fx = fixture();
    let t = bearer(&fx, "vera");
    let res = send(
        &fx,
        get("/api/v1/search?q=%E6%9A%B4%E5%8A%9B%E5%82%AC%E6%94%B6&sort=time&limit=5")
            .header(header::AUTHORIZATION, &t)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    assert_eq!(v["total"], 2);
    let hit = &v["hits"][0];
    assert_eq!(
        hit["id"], "d0000000000000000000000000000001",
        "newest first"
    );
    let snip = &hit["snippet"];
    let text = snip["text"].as_str().unwrap();
    let h = &snip["highlights"][0];
    let (s, e) = (
        h["start"].as_u64().unwrap() as usize,
        h["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(
        &text[s..e],
        "暴力催收",
        "byte ranges are exact on Chinese text"
    );

    let res = send(
        &fx,
        get("/api/v1/search?q=nosuchfield%3Ax")
            .header(header::AUTHORIZATION, &t)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    assert_eq!(v["error"], "bad_request");
    assert!(
        v["message"].as_str().unwrap().starts_with("invalid query:"),
        "{v}"
    );
    for bad in ["limit=0", "limit=abc", "limit=1000", "sort=random"] {
        let res = send(
            &fx,
            get(&format!("/api/v1/search?q=a&{bad}"))
                .header(header::AUTHORIZATION, &t)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let res = send(
        &fx,
        get("/api/v1/incidents?status=nope")
            .header(header::AUTHORIZATION, &t)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = send(
        &fx,
        get("/api/v1/documents/nope")
            .header(header::AUTHORIZATION, &t)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = send(
        &fx,
        get(&format!("/api/v1/incidents/{}", fx.incident))
            .header(header::AUTHORIZATION, &t)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    assert_eq!(v["documents"].as_array().unwrap().len(), 1);
    assert_eq!(v["events"].as_array().unwrap().len(), 1);
    assert_eq!(v["notifications"][0]["status"], "pending");
}

fn assert_inert(html: &str, page: &str) {
    assert!(!html.contains(SCRIPT), "{page}: raw <script> payload");
    assert!(!html.contains("<script"), "{page}: any <script> tag");
    assert!(!html.contains(IMG), "{page}: raw <img onerror> payload");
    assert!(!html.contains("<img"), "{page}: any <img> tag");
    assert!(
        !html.to_ascii_lowercase().contains("href=\"javascript:"),
        "{page}: javascript: href"
    );
    assert!(
        html.contains("alert(1)"),
        "{page}: the payload is shown as text"
    );
}

#[tokio::test]
async fn scraped_markup_renders_inert_on_every_page() {
    let fx = fixture();
    let (c, _) = session(&fx, "ann");
    for uri in [
        "/search?q=%E6%9A%B4%E5%8A%9B%E5%82%AC%E6%94%B6".to_string(),
        "/".to_string(),
        format!("/documents/{XSS_DOC}"),
        format!("/incidents/{}", fx.incident),
        "/incidents".to_string(),
    ] {
        let res = send(
            &fx,
            get(&uri)
                .header(header::COOKIE, &c)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        assert_inert(&body(res).await, &uri);
    }
    // Search highlights are <mark> around escaped text; the document page marks mentions.
    let res = send(
        &fx,
        get("/search?q=%E6%9A%B4%E5%8A%9B%E5%82%AC%E6%94%B6")
            .header(header::COOKIE, &c)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let html = body(res).await;
    assert!(html.contains("<mark>暴力催收</mark>"), "{html}");
    assert!(html.contains("href=\"https://n.example/1\""));
    let res = send(
        &fx,
        get(&format!("/documents/{XSS_DOC}"))
            .header(header::COOKIE, &c)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let html = body(res).await;
    assert!(
        html.contains(">恒信消费金融</mark>"),
        "mention highlighted from its byte span"
    );
    assert!(
        html.contains("不可点击"),
        "the javascript: link is shown as text only"
    );
    // An error page echoes the bad query escaped.
    let res = send(
        &fx,
        get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%3Ax")
            .header(header::COOKIE, &c)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let html = body(res).await;
    assert!(!html.contains("<script"));
}

#[tokio::test]
async fn openapi_lists_every_api_route_and_each_is_routed() {
    let fx = fixture();
    let res = send(
        &fx,
        get("/api/v1/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    let paths = v["paths"].as_object().unwrap();
    let mut listed: Vec<&str> = paths.keys().map(String::as_str).collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            "/api/v1/briefings/{kind}",
            "/api/v1/cases",
            "/api/v1/cases/{id}",
            "/api/v1/cases/{id}/answer",
            "/api/v1/cases/{id}/extend",
            "/api/v1/cases/{id}/note",
            "/api/v1/cases/{id}/reply",
            "/api/v1/cases/{id}/status",
            "/api/v1/documents/{id}",
            "/api/v1/documents/{id}/correction",
            "/api/v1/evaluations/{id}",
            "/api/v1/evaluations/{id}/manual",
            "/api/v1/export",
            "/api/v1/incidents",
            "/api/v1/incidents/{id}",
            "/api/v1/incidents/{id}/ack",
            "/api/v1/incidents/{id}/assign",
            "/api/v1/incidents/{id}/audit",
            "/api/v1/incidents/{id}/conclusion",
            "/api/v1/incidents/{id}/evaluate",
            "/api/v1/incidents/{id}/evaluations",
            "/api/v1/incidents/{id}/full-report",
            "/api/v1/incidents/{id}/measures",
            "/api/v1/incidents/{id}/report",
            "/api/v1/incidents/{id}/report/refresh",
            "/api/v1/incidents/{id}/review",
            "/api/v1/incidents/{id}/review/status",
            "/api/v1/measures/{id}",
            "/api/v1/measures/{id}/check",
            "/api/v1/measures/{id}/evaluate",
            "/api/v1/measures/{id}/progress",
            "/api/v1/measures/{id}/status",
            "/api/v1/search",
            "/api/v1/sources",
            "/api/v1/supervision",
        ]
    );
    assert!(v["components"]["securitySchemes"]["bearer"].is_object());
    let t = bearer(&fx, "root");
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let uri = path.replace("{id}", &fx.incident.to_string());
            let res = send(
                &fx,
                Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&uri)
                    .header(header::AUTHORIZATION, &t)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_ne!(
                res.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {uri}"
            );
            let b = body(res).await;
            assert!(!b.contains("未找到"), "{method} {uri} is routed");
        }
    }
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let fx = fixture();
    let t = bearer(&fx, "vera");
    let res = send(
        &fx,
        get("/metrics")
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
            .starts_with("text/plain; version=0.0.4")
    );
    let text = body(res).await;
    for line in [
        "# TYPE yuqing_index_documents gauge",
        "yuqing_index_documents 3",
        "yuqing_store_documents 3",
        "yuqing_sources{health=\"ok\"} 0",
        "yuqing_incidents_active{status=\"open\"} 1",
        "yuqing_outbox_notifications{status=\"pending\"} 1",
        "yuqing_outbox_notifications{status=\"failed\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in\n{text}"
        );
    }
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = l.rsplit_once(' ').unwrap();
        assert!(name.starts_with("yuqing_"), "{l}");
        value.parse::<f64>().unwrap();
    }
}

#[tokio::test]
async fn dashboard_counts_negative_share_with_time_ranges() {
    let fx = fixture();
    let (c, _) = session(&fx, "vera");
    let res = send(
        &fx,
        get("/")
            .header(header::COOKIE, &c)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let html = body(res).await;
    // 24 h: the two complaint documents (both negative); 7 d: all three.
    assert!(html.contains("2 / 2 篇"), "{html}");
    assert!(html.contains("2 / 3 篇"), "{html}");
    assert!(html.contains("提及恒信消费金融的最新负面文档"));
}

#[tokio::test]
async fn corrections_by_form_and_api_are_stored_merged_and_guarded() {
    let fx = fixture();
    const DOC: &str = "d0000000000000000000000000000001";
    let store = &fx.state.inner().store;
    // A viewer sees no form and may not correct.
    let (vc, vcsrf) = session(&fx, "vera");
    let page = body(
        send(
            &fx,
            get(&format!("/documents/{DOC}"))
                .header(header::COOKIE, &vc)
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(
        page.contains("人工校正") && !page.contains("提交校正"),
        "{page}"
    );
    assert!(page.contains("<title>文档 · 舆情监测</title>"), "{page}");
    assert_eq!(page.matches("人工校正").count(), 1, "{page}");
    let res = send(
        &fx,
        post_form(&format!("/documents/{DOC}/correct"))
            .header(header::COOKIE, &vc)
            .body(Body::from(format!("csrf={vcsrf}&label=neutral")))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(store.correction(&DocId(DOC.into())).unwrap().is_none());

    // An analyst's form without the CSRF token is refused; with it, the label is stored.
    let (ac, acsrf) = session(&fx, "ann");
    let page = body(
        send(
            &fx,
            get(&format!("/documents/{DOC}"))
                .header(header::COOKIE, &ac)
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(
        page.contains("提交校正") && page.contains("尚无校正"),
        "{page}"
    );
    let res = send(
        &fx,
        post_form(&format!("/documents/{DOC}/correct"))
            .header(header::COOKIE, &ac)
            .body(Body::from("label=neutral"))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = send(
        &fx,
        post_form(&format!("/documents/{DOC}/correct"))
            .header(header::COOKIE, &ac)
            .body(Body::from(format!(
                "csrf={acsrf}&label=neutral&false_mention=&note=%E5%90%8C%E5%90%8D"
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/documents/{DOC}?corrected=1"));
    let c = store.correction(&DocId(DOC.into())).unwrap().unwrap();
    assert_eq!(c.label, Some(yuqing_model::SentimentLabel::Neutral));
    assert_eq!(c.by, "ann");
    assert_eq!(c.note.as_deref(), Some("同名"));
    let d = store.document(&DocId(DOC.into())).unwrap().unwrap();
    assert_eq!(
        d.analysis.sentiment.label,
        yuqing_model::SentimentLabel::Neutral
    );
    let page = body(
        send(
            &fx,
            get(&format!("/documents/{DOC}?corrected=1"))
                .header(header::COOKIE, &ac)
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(
        page.contains("校正已保存") && page.contains("标签校正为"),
        "{page}"
    );

    // The API adds a false mention; the earlier label is kept; the document loses the entity.
    let res = send(
        &fx,
        post_json(&format!("/api/v1/documents/{DOC}/correction"))
            .header(header::AUTHORIZATION, bearer(&fx, "ann"))
            .body(Body::from(r#"{"false_mentions":["hengxin"]}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    assert_eq!(v["correction"]["label"], "neutral");
    assert_eq!(v["correction"]["false_mentions"][0], "hengxin");
    let d = store.document(&DocId(DOC.into())).unwrap().unwrap();
    assert!(d.analysis.entity_ids().is_empty());
    // Bad input: an entity the document never mentioned, an unknown label, an unknown doc.
    for (uri, payload, status) in [
        (
            format!("/api/v1/documents/{XSS_DOC}/correction"),
            r#"{"false_mentions":["suda"]}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/documents/{XSS_DOC}/correction"),
            r#"{"label":"angry"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/documents/nope/correction".to_string(),
            r#"{"label":"neutral"}"#,
            StatusCode::NOT_FOUND,
        ),
    ] {
        let res = send(
            &fx,
            post_json(&uri)
                .header(header::AUTHORIZATION, bearer(&fx, "ann"))
                .body(Body::from(payload))
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), status, "{uri} {payload}");
    }
    // A cookie without the CSRF header cannot write through the API.
    let res = send(
        &fx,
        post_json(&format!("/api/v1/documents/{XSS_DOC}/correction"))
            .header(header::COOKIE, &ac)
            .body(Body::from(r#"{"label":"neutral"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn search_api_pages_with_a_cursor_and_aggregates_facets_and_a_histogram() {
    let fx = fixture();
    let t = bearer(&fx, "vera");
    let get_json = |uri: String| {
        let fx = &fx;
        let t = t.clone();
        async move {
            let res = send(
                fx,
                get(&uri)
                    .header(header::AUTHORIZATION, &t)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(res.status(), StatusCode::OK, "{uri}");
            serde_json::from_str::<serde_json::Value>(&body(res).await).unwrap()
        }
    };
    // Page through everything one hit at a time: every document exactly once.
    let mut seen = Vec::new();
    let mut uri = "/api/v1/search?q=&sort=time&limit=1".to_string();
    loop {
        let v = get_json(uri.clone()).await;
        assert_eq!(v["total"], 3);
        for h in v["hits"].as_array().unwrap() {
            seen.push(h["id"].as_str().unwrap().to_string());
        }
        match v["next_cursor"].as_str() {
            Some(c) => {
                uri = format!(
                    "/api/v1/search?q=&sort=time&limit=1&cursor={}",
                    yuqing_server::auth::encode_component(c)
                )
            }
            None => break,
        }
    }
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!((seen.len(), dedup.len()), (3, 3), "{seen:?}");

    let v = get_json(
        "/api/v1/search?q=%E6%9A%B4%E5%8A%9B%E5%82%AC%E6%94%B6&facets=true&interval=hour"
            .to_string(),
    )
    .await;
    let agg = &v["aggregations"];
    assert_eq!(agg["total"], 2);
    assert_eq!(agg["interval"], "hour");
    let entity = agg["facets"]["entity"].as_array().unwrap();
    assert_eq!(entity[0]["value"], "hengxin");
    assert_eq!(entity[0]["count"], 2);
    let buckets = agg["histogram"].as_array().unwrap();
    let n: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(n, 2, "every match is in one bucket");
    // A bad time range says where it is wrong.
    let res = send(
        &fx,
        get("/api/v1/search?q=time%3A%5B2026-13-01%20TO%20*%5D")
            .header(header::AUTHORIZATION, &t)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("column"));
    for bad in ["facets=maybe", "interval=week", "collapse=2"] {
        let res = send(
            &fx,
            get(&format!("/api/v1/search?q=a&{bad}"))
                .header(header::AUTHORIZATION, &t)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn export_streams_csv_with_a_bom_and_json_lines() {
    let fx = fixture();
    let t = bearer(&fx, "vera");
    let res = send(
        &fx,
        get("/api/v1/export?q=%E6%9A%B4%E5%8A%9B%E5%82%AC%E6%94%B6")
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
            .starts_with("text/csv")
    );
    assert!(
        res.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(".csv")
    );
    let b = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    assert!(b.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM");
    let text = String::from_utf8(b[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "header and two rows: {text}");
    assert!(text.contains("恒信消费金融被投诉暴力催收"));
    // The scraped title with markup is data here, quoted as CSV needs.
    assert!(text.contains("<script>"), "{text}");

    let res = send(
        &fx,
        get("/api/v1/export?q=&format=jsonl")
            .header(header::AUTHORIZATION, &t)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = body(res).await;
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r["id"].is_string() && r["sentiment"].is_string())
    );
    for bad in ["format=xlsx", "q=nosuchfield%3Ax", "order=sideways"] {
        let res = send(
            &fx,
            get(&format!("/api/v1/export?{bad}"))
                .header(header::AUTHORIZATION, &t)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn search_page_shows_facets_a_chart_pages_and_export_links() {
    let fx = fixture();
    let (c, _) = session(&fx, "vera");
    let page = body(
        send(
            &fx,
            get("/search?q=%E6%9A%B4%E5%8A%9B%E5%82%AC%E6%94%B6")
                .header(header::COOKIE, &c)
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(page.contains("class=\"summary\">共 2 条结果"), "{page}");
    assert!(page.contains("data-facet=\"entity:hengxin\""), "{page}");
    assert!(
        page.contains("<svg") && page.contains("class=\"neg\""),
        "a chart: {page}"
    );
    assert!(page.contains("/api/v1/export?format=csv&#38;q="), "{page}");
    // The facet link narrows the query.
    assert!(
        page.contains(
            "href=\"/search?q=%28%E6%9A%B4%E5%8A%9B%E5%82%AC%E6%94%B6%29%20AND%20entity%3Ahengxin\""
        ),
        "{page}"
    );
    // Bad query: the message names the column.
    let page = body(
        send(
            &fx,
            get("/search?q=%28%E6%9A%B4%E5%8A%9B")
                .header(header::COOKIE, &c)
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(page.contains("查询有误") && page.contains("括号"), "{page}");
}

#[tokio::test]
async fn sources_page_shows_a_source_gone_quiet_as_stale_with_its_interval() {
    use yuqing_store::connectors::ConnectorPoll;
    use yuqing_store::{PollOutcome, PollResult, SourceInfo};
    let fx = fixture();
    let store = &fx.state.inner().store;
    let id = SourceId("news/quiet".into());
    store
        .sync_sources(&[SourceInfo {
            id: &id,
            name: "安静的源",
            kind: "feed",
            channel: "news",
            enabled: true,
        }])
        .unwrap();
    // New items every 10 minutes ten hours ago, nothing since: five usual gaps have passed.
    let t0 = Utc::now() - Duration::hours(10);
    for i in 0..4 {
        let at = t0 + Duration::minutes(10 * i);
        store
            .commit(
                [],
                &[PollOutcome {
                    source_id: id.clone(),
                    at,
                    result: PollResult::Success {
                        checkpoint: None,
                        items: vec![],
                        docs: 0,
                    },
                }],
            )
            .unwrap();
        store
            .record_connector_poll(
                &id,
                &ConnectorPoll {
                    at,
                    failure: None,
                    items: 5,
                    new_items: 2,
                    gap: false,
                    interval_secs: 120.0,
                    stale_factor: 3.0,
                },
            )
            .unwrap();
    }
    let (c, _) = session(&fx, "vera");
    let page = body(
        send(
            &fx,
            get("/sources")
                .header(header::COOKIE, &c)
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    let row = page
        .split("<tr>")
        .find(|r| r.contains("news/quiet"))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(row.contains("停滞") && row.contains("120 秒"), "{row}");
}
