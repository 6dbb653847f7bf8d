//! `yuqing demo`: the daemon against the simulated web, as the README tells a newcomer to run it.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

#[test]
fn demo_collects_the_simulated_web_and_search_finds_it_beside_the_running_daemon() {
    let data = tempfile::tempdir().unwrap();
    let config = repo().join("config/yuqing.toml");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_yuqing"))
        .args([
            "--config",
            &path_str(&config),
            "--data-dir",
            &path_str(data.path()),
        ])
        .args(["demo", "--publish-every-secs", "1", "--interval-secs", "1"])
        .env("RUST_LOG", "warn")
        .env("YUQING_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let search = |q: &str| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_yuqing"))
            .args([
                "--config",
                &path_str(&config),
                "--data-dir",
                &path_str(data.path()),
            ])
            .args(["search", "--json", "-n", "200", q])
            .output()
            .unwrap();
        if !out.status.success() {
            return serde_json::json!({"total": 0, "hits": []});
        }
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let mut first_doc = None;
    wait_for(
        "the first committed documents",
        Duration::from_secs(60),
        || {
            while let Ok(l) = rx.try_recv() {
                lines.push(l);
            }
            let n = search("")["total"].as_u64().unwrap_or(0);
            if n > 0 && first_doc.is_none() {
                first_doc = Some(started.elapsed());
            }
            n > 0
        },
    );
    eprintln!(
        "demo: first searchable document after {:?} (debug build, including process start)",
        first_doc.unwrap()
    );
    // Items keep appearing: the count grows while the daemon runs.
    let n0 = search("")["total"].as_u64().unwrap();
    wait_for("newly published items", Duration::from_secs(60), || {
        search("")["total"].as_u64().unwrap() > n0
    });

    let hx = search("entity:hengxin");
    assert!(hx["total"].as_u64().unwrap() >= 3, "{hx}");
    // All three outlets, including the GBK one, arrive decoded.
    let all = search("");
    for src in ["demo/caijing", "demo/jinrong", "demo/difang"] {
        assert!(
            all["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["source"] == src),
            "no document from {src}"
        );
    }
    assert!(
        all["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| !h["title"].as_str().unwrap().contains('\u{fffd}'))
    );

    // The scripted improvement loop runs to its evaluation: the follow-up stories after the
    // measure bring the company's negative share down, and the incident is concluded.
    wait_for(
        "the scripted effect evaluation",
        Duration::from_secs(120),
        || {
            while let Ok(l) = rx.try_recv() {
                lines.push(l);
            }
            lines.iter().any(|l| l.contains("[改进闭环] 效果评估"))
        },
    );
    let eval = lines
        .iter()
        .find(|l| l.contains("[改进闭环] 效果评估"))
        .unwrap()
        .clone();
    assert!(eval.contains("→ 0%") && eval.contains("已作结论"), "{eval}");
    assert!(
        lines.iter().any(|l| l.contains("完成七维度复盘（已批准）")),
        "{lines:?}"
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(2)) {
        lines.push(l);
    }
    let out = lines.join("\n");
    assert!(
        out.contains("模拟站点") && out.contains("search 恒信"),
        "{out}"
    );
    assert!(out.contains("已入库"), "{out}");
    assert!(
        out.contains("控制台 (console)") && out.contains("demo /"),
        "{out}"
    );
}
