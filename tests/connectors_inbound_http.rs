//! `POST /api/v1/inbound/{source}` (crates/server/src/inbound.rs) and the `yuqing_connector_*`
//! metrics (crates/server/src/connector_metrics.rs), through the console's whole app: bearer tokens (the source's own, or an analyst's API token), a
//! per-record report, and durability (records pushed while no daemon runs are indexed by the
//! next one).

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use support::*;
use yuqing_server::connector_metrics;
use yuqing_server::{AppState, Role};

const TOKEN: &str = "cc-push-token-0123456789";

fn inbound_file() -> String {
    format!(
        "version = 1\nkind = \"inbound\"\nchannel = \"inbound\"\ninterval_secs = 1\n[params]\ntoken = \"{TOKEN}\"\n"
    )
}

/// POST `body` with an optional bearer token; (status, JSON body).
async fn post(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{auth}Connection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let status = resp[9..12].parse().unwrap();
    let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

struct Console {
    addr: SocketAddr,
    store: Arc<yuqing_store::Store>,
    analyst_token: String,
    viewer_token: String,
    _rt: tokio::runtime::Runtime,
}

/// The inbound route alone, over the installation's data directory.
fn console(inst: &Install) -> Console {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let config = yuqing_config::load(&inst.config(), &env, &Default::default()).unwrap();
    let analyzer = yuqing_text::Analyzer::load(
        &yuqing_text::AnalyzerOptions::from_settings(&config.settings.analysis),
        &config.entities,
    )
    .unwrap();
    let data = &config.settings.data_dir;
    let index =
        Arc::new(yuqing_index::DocIndex::open(&data.join("index"), analyzer.tokenizer()).unwrap());
    let store = Arc::new(yuqing_store::Store::open(&data.join("yuqing.db"), 3).unwrap());
    let udb = Arc::new(yuqing_server::UserDb::open(&data.join("users.db")).unwrap());
    udb.add_user("ana", Role::Analyst, "a-long-analyst-password")
        .unwrap();
    udb.add_user("vic", Role::Viewer, "a-long-viewer-password")
        .unwrap();
    let analyst_token = udb.create_api_token("ana").unwrap();
    let viewer_token = udb.create_api_token("vic").unwrap();
    let state = AppState::new(index, store.clone(), udb, Default::default());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = yuqing_server::app(state);
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    Console {
        addr,
        store,
        analyst_token,
        viewer_token,
        _rt: rt,
    }
}

#[test]
fn pushed_records_are_authenticated_reported_per_record_and_survive_until_a_daemon_indexes_them() {
    let inst = Install::new("");
    inst.connector("inbound/cc", &inbound_file());
    // A first daemon run registers the source and its token, then stops.
    let d = inst.daemon();
    wait_for(
        "the inbound source to be polled",
        Duration::from_secs(60),
        || {
            inst.source("inbound/cc")
                .is_some_and(|s| s["polls_total"].as_u64() > Some(0))
        },
    );
    assert!(d.terminate().success());

    let c = console(&inst);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = "/api/v1/inbound/inbound/cc";
    let one = r#"{"channel":"hotline","customer":"C-1","text":"恒信消费金融催收员辱骂客户","time":"2024-05-01 08:00:00","id":"H1"}"#;
    // No token, a wrong one, a viewer's: refused, nothing queued.
    assert_eq!(rt.block_on(post(c.addr, url, None, one)).0, 401);
    assert_eq!(
        rt.block_on(post(c.addr, url, Some("wrong-token-wrong-token"), one))
            .0,
        401
    );
    assert_eq!(
        rt.block_on(post(c.addr, url, Some(&c.viewer_token), one)).0,
        403
    );
    // An unknown source answers 404 only to a caller who may push.
    assert_eq!(
        rt.block_on(post(c.addr, "/api/v1/inbound/nope", Some(TOKEN), one))
            .0,
        401
    );
    assert_eq!(
        rt.block_on(post(
            c.addr,
            "/api/v1/inbound/nope",
            Some(&c.analyst_token),
            one
        ))
        .0,
        404
    );
    let cc = yuqing_model::SourceId("inbound/cc".into());
    assert_eq!(c.store.inbound_queued(&cc).unwrap(), 0);

    // The source's token: one record.
    let (status, body) = rt.block_on(post(c.addr, url, Some(TOKEN), one));
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (202, Some(1)),
        "{body}"
    );
    // An analyst's API token: a batch with two bad records, which do not drop the good one.
    let batch = r#"{"records":[
        {"channel":"app","customer":"C-2","text":"App 无法还款","time":1714608000},
        {"channel":"app","text":"没有客户","time":1714608000},
        {"channel":"app","customer":"C-3","text":"时间错误","time":"明天"}]}"#;
    let (status, body) = rt.block_on(post(c.addr, url, Some(&c.analyst_token), batch));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], 1);
    let rejected: Vec<(u64, String)> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0].0, 1);
    assert!(rejected[0].1.contains("`customer`"), "{rejected:?}");
    assert!(rejected[1].1.contains("`time`"), "{rejected:?}");
    // All bad: 422; not JSON: 400.
    let (status, _) = rt.block_on(post(c.addr, url, Some(TOKEN), r#"[{"channel":"app"}]"#));
    assert_eq!(status, 422);
    assert_eq!(rt.block_on(post(c.addr, url, Some(TOKEN), "{oops")).0, 400);
    assert_eq!(
        c.store.inbound_queued(&cc).unwrap(),
        2,
        "accepted records are on disk"
    );

    // Metrics before the drain: the queue is visible.
    let metrics = connector_metrics::render(&c.store).unwrap();
    assert!(
        metrics.contains("yuqing_connector_inbound_queued{source=\"inbound/cc\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("yuqing_connector_polls_total{source=\"inbound/cc\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("yuqing_connector_health{source=\"inbound/cc\",health=\"ok\"} 1"),
        "{metrics}"
    );

    // No daemon ran while they were pushed: the next one indexes them and empties the queue.
    let d = inst.daemon();
    wait_for(
        "the daemon to index the pushed records",
        Duration::from_secs(60),
        || inst.docs_total() == 2,
    );
    wait_for("the queue to be purged", Duration::from_secs(30), || {
        c.store.inbound_queued(&cc).unwrap() == 0
    });
    assert!(d.terminate().success());
    let hits = inst.search("辱骂");
    assert_eq!(hits["total"], 1, "{hits}");
    let m = connector_metrics::render(&c.store).unwrap();
    assert!(
        m.contains("yuqing_connector_documents_total{source=\"inbound/cc\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("yuqing_connector_inbound_queued{source=\"inbound/cc\"} 0"),
        "{m}"
    );
}
