//! End-to-end analysis: reposts cluster, corrections survive `yuqing reanalyze`, corrections
//! export as labelled data, `yuqing analyze` and `yuqing eval` print what they promise.

mod support;

use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(60);

/// The JSON `yuqing analyze` printed, once it succeeded.
fn analysis_json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A complaint story of typical length (the same text as the text crate's tests).
const STORY: &str = "多名借款人向记者反映，恒信消费金融旗下恒易借在放款时收取高额砍头息和会员费，\
     逾期后催收人员频繁拨打借款人通讯录联系人的电话，言语威胁，严重影响正常生活。\
     借款人表示已向监管部门投诉，希望相关部门介入调查，规范平台收费和催收行为。\
     记者调查发现，多名借款人的借款合同显示，借款本金为一万元，但实际到账金额仅为八千余元，\
     其余部分以服务费、担保费和会员费的名义被提前扣除，综合年化利率远超法定上限。\
     有借款人提供的通话录音显示，催收人员自称律师事务所工作人员，威胁将上门催收并通知其单位。\
     对此，恒信消费金融客服回应称，会员费为借款人自愿购买，催收工作均由合作机构按规定开展，\
     公司将对相关投诉进行核实。法律人士指出，以会员费等名义变相收取利息属于违规行为，\
     借款人可以保留证据，向金融监管部门和消费者协会投诉维权。";

#[test]
fn reposts_cluster_and_corrections_survive_reanalysis() {
    // The same story on two sites: the repost adds a source line and changes a word.
    let repost = format!(
        "（转载自财经日报）{}",
        STORY.replace("严重影响", "严重干扰")
    );
    let server = FixtureServer::start(vec![
        (
            "a.xml",
            Route::Rss(vec![item("a-1", "恒易借被曝收取砍头息", STORY)]),
        ),
        (
            "b.xml",
            Route::Rss(vec![
                item("b-1", "恒易借被曝收取砍头息 暴力催收", &repost),
                item(
                    "b-2",
                    "央行公布贷款市场报价利率",
                    "一年期贷款市场报价利率为3.1%，五年期以上为3.6%，均与上月持平。",
                ),
            ]),
        ),
    ]);
    let inst = Install::new("");
    inst.feed("news/a", &server.url("a.xml"));
    inst.feed("news/b", &server.url("b.xml"));
    let daemon = inst.daemon();
    wait_for("3 documents committed", T, || inst.docs_total() >= 3);
    assert!(daemon.terminate().success());

    // Both versions of the story share one cluster; the rate notice has its own.
    let hits = inst.search("砍头息");
    let hits = hits["hits"].as_array().unwrap().clone();
    assert_eq!(hits.len(), 2, "{hits:?}");
    let c0 = hits[0]["cluster"].as_str().unwrap().to_string();
    assert_eq!(hits[1]["cluster"], c0.as_str(), "{hits:?}");
    assert_eq!(inst.ids(&format!("cluster:{c0}")).len(), 2);
    let other = inst.search("报价利率");
    assert_ne!(other["hits"][0]["cluster"], c0.as_str());
    assert!(inst.ids("risk:fees").len() == 2);
    assert!(inst.ids("dim:finance").len() >= 2);

    // Correct one document: a positive label, and 恒信 is a false mention there.
    let id = hits[0]["id"].as_str().unwrap().to_string();
    let out = inst.run(&[
        "correct",
        &id,
        "--label",
        "positive",
        "--false-mention",
        "hengxin",
        "--by",
        "analyst-li",
        "--note",
        "旧闻澄清",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = inst.search(&format!("cluster:{c0} AND sentiment:positive"));
    assert_eq!(doc["total"], 1, "{doc}");
    assert_eq!(doc["hits"][0]["id"], id.as_str());
    assert!(
        doc["hits"][0]["entities"].as_array().unwrap().is_empty(),
        "{doc}"
    );

    // Re-analysis keeps the correction, and the cluster.
    let out = inst.run(&["reanalyze"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("re-analyzed 3 of 3"));
    let doc = inst.search(&format!("cluster:{c0} AND sentiment:positive"));
    assert_eq!(doc["total"], 1, "{doc}");
    assert!(doc["hits"][0]["entities"].as_array().unwrap().is_empty());
    assert_eq!(inst.ids(&format!("cluster:{c0}")).len(), 2);
    assert_eq!(inst.search("entity:hengxin")["total"], 1);

    // Export as labelled data.
    let out = inst.run(&["corrections", "export", "--format", "csv"]);
    assert!(out.status.success());
    let csv = stdout(&out);
    assert!(csv.starts_with("label,text,doc_id"), "{csv}");
    assert!(csv.contains("positive,") && csv.contains(&id) && csv.contains("analyst-li"));
    let out = inst.run(&["corrections", "export"]);
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(line["label"], "positive");
    assert_eq!(line["false_mentions"][0], "hengxin");
    assert_eq!(line["note"], "旧闻澄清");
}

#[test]
fn reanalyze_refuses_while_a_daemon_holds_the_index() {
    let server = FixtureServer::start(vec![(
        "a.xml",
        Route::Rss(vec![item("a-1", "恒易借被曝收取砍头息", STORY)]),
    )]);
    let inst = Install::new("");
    inst.feed("news/a", &server.url("a.xml"));
    let daemon = inst.daemon();
    // After its first commit the daemon certainly holds the index writer.
    wait_for("1 document committed", T, || inst.docs_total() >= 1);
    let out = inst.run(&["reanalyze"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(daemon.terminate().success());
}

#[test]
fn analyze_prints_the_full_analysis_as_json() {
    let inst = Install::new("");
    let out = inst.run(&[
        "analyze",
        "--tokens",
        "--title",
        "恆信消費金融暴力催收",
        "--body",
        "速达小贷服务很好，恒信ＡＰＰ却乱收费，还收砍头息。",
    ]);
    let v = analysis_json(&out);
    assert_eq!(v["title"], "恒信消费金融暴力催收");
    assert_eq!(v["sentiment"]["label"], "negative");
    assert_eq!(v["mentions"][0]["original_text"], "恆信消費金融");
    let per: Vec<(&str, &str)> = v["entity_sentiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["entity_id"].as_str().unwrap(),
                e["sentiment"]["label"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(per, vec![("hengxin", "negative"), ("suda", "positive")]);
    let risks: Vec<&str> = v["risks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        risks.contains(&"collection") && risks.contains(&"fees"),
        "{risks:?}"
    );
    assert!(v["simhash"].as_u64().unwrap() != 0);
    assert!(
        v["tokens"]["body"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "速达小贷")
    );
}

#[test]
fn analyze_takes_the_body_from_a_pipe_or_a_file_when_only_the_title_is_given() {
    use std::io::Write;
    use std::process::Stdio;
    let inst = Install::new("");
    let body = "恒信ＡＰＰ乱收费，还收砍头息。";
    let mut child = inst
        .cmd()
        .args(["analyze", "--title", "读者来信"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let v = analysis_json(&out);
    assert_eq!(v["title"], "读者来信");
    assert_eq!(v["body"], "恒信APP乱收费，还收砍头息。");
    assert_eq!(v["mentions"][0]["field"], "body", "{v}");

    let file = inst.dir.path().join("letter.txt");
    std::fs::write(&file, body).unwrap();
    let out = inst.run(&["analyze", "--title", "读者来信", file.to_str().unwrap()]);
    let v = analysis_json(&out);
    assert_eq!(v["body"], "恒信APP乱收费，还收砍头息。");

    // A file and --body at once is a usage error, not a silent choice.
    let out = inst.run(&["analyze", "--body", "x", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    // So is a title given twice, by --title and by the file's first line.
    let out = inst.run(&[
        "analyze",
        "--title",
        "x",
        "--title-line",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn eval_prints_accuracy_and_negative_f1() {
    let inst = Install::new("");
    let csv = inst.dir.path().join("labelled.csv");
    std::fs::write(
        &csv,
        "label,review\n0,送餐太慢了，很不满意\n1,很满意，味道不错\n0,\"态度恶劣,再也不点了\"\n1,非常好吃\n",
    )
    .unwrap();
    let out = inst.run(&["eval", csv.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("4 items"), "{text}");
    assert!(text.contains("accuracy 1.000"), "{text}");
    assert!(text.contains("F1 1.000"), "{text}");
}
