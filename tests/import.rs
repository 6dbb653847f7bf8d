//! `yuqing import`: CSV and JSONL customer feedback into an `inbound` source; bad lines are
//! reported with their line numbers and never drop the good ones; importing twice changes
//! nothing; beside a running daemon the records go through the durable queue.

mod support;

use std::time::Duration;

use support::*;

const INBOUND: &str = "version = 1\nkind = \"inbound\"\nchannel = \"inbound\"\ninterval_secs = 1\nname = \"客服中心\"\n[params]\n";

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn csv_import_reports_bad_lines_keeps_good_ones_and_is_idempotent() {
    let inst = Install::new("");
    inst.connector("inbound/cc", INBOUND);
    let file = inst.dir.path().join("feedback.csv");
    std::fs::write(
        &file,
        "渠道,客户,内容,时间,编号\n\
         hotline,C-001,恒信消费金融催收电话一天打了二十多次，严重骚扰家人,2024-05-01 08:30:00,A1\n\
         app,C-002,\"App 还款页面打不开，\n提示系统繁忙\",2024-05-01 09:00,A2\n\
         online,,没有客户编号的记录,2024-05-01 10:00,A3\n\
         online,C-004,时间不对的记录,昨天下午,A4\n\
         online,C-005,在线客服回复很及时，问题已经解决,1714530600,A5\n",
    )
    .unwrap();
    let out = inst.run(&["import", &path_str(&file), "--source", "inbound/cc"]);
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed line makes the exit code 1: {se}"
    );
    // Line numbers count the quoted line break of record A2.
    assert!(se.contains("feedback.csv:5: `customer` is missing"), "{se}");
    assert!(se.contains("feedback.csv:6: `time`"), "{se}");
    assert!(
        so.contains("imported 3 of 5 records") && so.contains("3 documents added or changed"),
        "{so}"
    );
    assert_eq!(inst.docs_total(), 3);
    let hits = inst.search("催收");
    assert_eq!(hits["total"], 1, "{hits}");
    assert_eq!(hits["hits"][0]["source"], "inbound/cc");

    // The same file again: nothing changes, the same lines fail.
    let out = inst.run(&["import", &path_str(&file), "--source", "inbound/cc"]);
    assert!(
        stdout(&out).contains("0 documents added or changed, 3 unchanged"),
        "{}",
        stdout(&out)
    );
    assert_eq!(inst.docs_total(), 3);

    // JSONL with an explicit format; the only inbound source is the default.
    let jl = inst.dir.path().join("more.txt");
    std::fs::write(
        &jl,
        "{\"channel\":\"app\",\"customer_ref\":\"C-9\",\"text\":\"借款利率太高，要求退还服务费\",\"time\":\"2024-05-02T08:00:00+08:00\"}\n\n\
         {\"channel\":\"hotline\",\"customer\":\"C-10\",\"content\":\"感谢客服耐心解答\",\"created_at\":1714608000,\"id\":\"B2\"}\n",
    )
    .unwrap();
    let out = inst.run(&["import", &path_str(&jl), "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 2 of 2 records"),
        "{}",
        stdout(&out)
    );
    assert_eq!(inst.docs_total(), 5);
}

#[test]
fn import_needs_an_inbound_source_and_a_usable_file() {
    let inst = Install::new("");
    inst.feed("news/a", "http://127.0.0.1:9/feed.xml");
    let file = inst.dir.path().join("x.csv");
    std::fs::write(&file, "channel,customer,text,time\napp,C,x,1714608000\n").unwrap();
    let out = inst.run(&["import", &path_str(&file)]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("kind = \"inbound\""),
        "{}",
        stderr(&out)
    );
    let out = inst.run(&["import", &path_str(&file), "--source", "news/a"]);
    assert!(stderr(&out).contains("not `inbound`"), "{}", stderr(&out));

    inst.connector("inbound/cc", INBOUND);
    let bad = inst.dir.path().join("bad.csv");
    std::fs::write(&bad, "who,what\n1,2\n").unwrap();
    let out = inst.run(&["import", &path_str(&bad)]);
    assert!(
        stderr(&out).contains("lacks the column(s) channel, customer, text, time"),
        "{}",
        stderr(&out)
    );
    let out = inst.run(&["import", &path_str(&inst.dir.path().join("x.xlsx"))]);
    assert!(stderr(&out).contains("--format"), "{}", stderr(&out));
}

#[test]
fn beside_a_running_daemon_records_are_queued_and_indexed_by_it() {
    let inst = Install::new("");
    inst.connector("inbound/cc", INBOUND);
    let daemon = inst.daemon();
    wait_for(
        "the daemon to poll the inbound source",
        Duration::from_secs(60),
        || {
            inst.source("inbound/cc")
                .is_some_and(|s| s["polls_total"].as_u64() > Some(0))
        },
    );
    let file = inst.dir.path().join("f.jsonl");
    std::fs::write(
        &file,
        "{\"channel\":\"hotline\",\"customer\":\"C-1\",\"text\":\"客户投诉催收员态度恶劣\",\"time\":1714608000,\"id\":\"Q1\"}\n\
         {\"channel\":\"hotline\",\"customer\":\"C-2\",\"text\":\"\",\"time\":1714608000}\n",
    )
    .unwrap();
    let out = inst.run(&["import", &path_str(&file)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("queued 1 of 2 records"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("f.jsonl:2: `text` is missing or empty"),
        "{}",
        stderr(&out)
    );
    wait_for(
        "the daemon to index the queued record",
        Duration::from_secs(60),
        || inst.docs_total() == 1,
    );
    assert!(daemon.terminate().success());
    assert_eq!(inst.search("态度恶劣")["total"], 1);
}
