use super::*;
use yuqing_model::{Analysis, Channel, RawDoc, Sentiment};

fn doc(id: &str, title: &str) -> Document {
    Document {
        raw: RawDoc {
            id: DocId(id.into()),
            source_id: SourceId("s".into()),
            channel: Channel::News,
            item_key: format!("key-{id}"),
            url: Some(format!("https://example.com/{id}")),
            title: title.into(),
            body: "正文".into(),
            author: None,
            published_at: Some(Utc::now()),
            fetched_at: Utc::now(),
            tags: vec![],
        },
        analysis: Analysis {
            title: title.into(),
            body: "正文".into(),
            char_count: 2,
            mentions: vec![],
            sentiment: Sentiment::neutral(),
            entity_sentiments: vec![],
            risks: vec![],
            dimensions: vec![],
            simhash: 0,
            analyzer_version: 1,
        },
        cluster: None,
    }
}

const NO_DOCS: &[Document] = &[];

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db/yuqing.db"), 3).unwrap();
    let id = SourceId("s".into());
    store
        .sync_sources(&[SourceInfo {
            id: &id,
            name: "S",
            kind: "feed",
            channel: "news",
            enabled: true,
        }])
        .unwrap();
    (dir, store)
}

fn success(items: Vec<SeenItem>, etag: Option<&str>) -> PollOutcome {
    PollOutcome {
        source_id: SourceId("s".into()),
        at: Utc::now(),
        result: PollResult::Success {
            checkpoint: etag.map(|e| Checkpoint {
                etag: Some(e.into()),
                ..Default::default()
            }),
            docs: items.len() as u64,
            items,
        },
    }
}

#[test]
fn commit_is_idempotent_and_records_checkpoint() {
    let (_d, store) = open();
    let items = vec![SeenItem {
        item_key: "key-a".into(),
        doc_id: DocId("a".into()),
        content_hash: "h".into(),
    }];
    for _ in 0..2 {
        store
            .commit(
                &[doc("a", "标题")],
                &[success(items.clone(), Some("\"v1\""))],
            )
            .unwrap();
    }
    assert_eq!(store.document_count().unwrap(), 1);
    assert_eq!(
        store
            .checkpoint(&SourceId("s".into()))
            .unwrap()
            .etag
            .as_deref(),
        Some("\"v1\"")
    );
    let seen = store
        .seen_items(&SourceId("s".into()), &["key-a", "key-b"])
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen["key-a"], "h");
    assert_eq!(
        store
            .document(&DocId("a".into()))
            .unwrap()
            .unwrap()
            .raw
            .title,
        "标题"
    );
}

#[test]
fn failures_degrade_then_fail_and_success_recovers_without_touching_checkpoint() {
    let (_d, store) = open();
    store
        .commit(NO_DOCS, &[success(vec![], Some("e1"))])
        .unwrap();
    let fail = PollOutcome {
        source_id: SourceId("s".into()),
        at: Utc::now(),
        result: PollResult::Failure {
            class: ErrorClass::Server,
            message: "HTTP 500".into(),
        },
    };
    let health = |s: &Store| s.source_states().unwrap()[0].health;
    store.commit(NO_DOCS, std::slice::from_ref(&fail)).unwrap();
    assert_eq!(health(&store), SourceHealth::Degraded);
    store.commit(NO_DOCS, &[fail.clone(), fail]).unwrap();
    assert_eq!(health(&store), SourceHealth::Failing);
    let st = &store.source_states().unwrap()[0];
    assert_eq!(st.consecutive_failures, 3);
    assert_eq!(st.last_error_class.as_deref(), Some("server"));
    assert_eq!(st.checkpoint.etag.as_deref(), Some("e1"));
    store.commit(NO_DOCS, &[success(vec![], None)]).unwrap();
    assert_eq!(health(&store), SourceHealth::Ok);
    assert_eq!(
        store
            .checkpoint(&SourceId("s".into()))
            .unwrap()
            .etag
            .as_deref(),
        Some("e1")
    );
}

#[test]
fn reopen_keeps_data_and_iterates_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("yuqing.db");
    {
        let store = Store::open(&path, 3).unwrap();
        let docs: Vec<_> = (0..5).map(|i| doc(&format!("d{i}"), "t")).collect();
        store.commit(&docs, &[]).unwrap();
    }
    let store = Store::open(&path, 3).unwrap();
    let mut seen = Vec::new();
    store
        .for_each_document::<StoreError>(2, |batch| {
            assert!(batch.len() <= 2);
            seen.extend(batch.into_iter().map(|d| d.raw.id.0));
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, ["d0", "d1", "d2", "d3", "d4"]);
    let ro = Store::open_read_only(&path).unwrap();
    assert_eq!(ro.document_count().unwrap(), 5);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("yuqing.db");
    drop(Store::open(&path, 3).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(matches!(
        Store::open(&path, 3),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

#[test]
fn concurrent_writers_never_see_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("yuqing.db");
    drop(Store::open(&path, 3).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = Store::open(&path, 3).unwrap();
                for i in 0..25 {
                    store
                        .commit(&[doc(&format!("w{w}-{i}"), "t")], &[])
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        Store::open(&path, 3).unwrap().document_count().unwrap(),
        100
    );
}

fn with_hash(id: &str, source: &str, hour: u32, simhash: u64) -> Document {
    use chrono::TimeZone;
    let mut d = doc(id, "标题");
    d.raw.source_id = SourceId(source.into());
    d.raw.published_at = Some(Utc.with_ymd_and_hms(2026, 11, 1, hour, 0, 0).unwrap());
    d.analysis.simhash = simhash;
    d
}

#[test]
fn reposts_with_small_edits_share_the_earliest_documents_cluster() {
    let (_dir, store) = open();
    let h: u64 = 0x0123_4567_89ab_cdef;
    // The first report, committed without a cluster: commit assigns one.
    store.commit(&[with_hash("a", "s", 8, h)], &[]).unwrap();
    let a = store.document(&DocId("a".into())).unwrap().unwrap();
    let ca = a.cluster.expect("commit assigns a cluster");
    assert_eq!((ca.id.as_str(), ca.size), ("a", 1));

    // A repost 3 bits away (one bit in three different bands), an earlier copy 2 bits away
    // on another source in the same batch, and an unrelated story.
    let mut batch = vec![
        with_hash("b", "s", 9, h ^ 0x0001_0000_0100_0001),
        with_hash("c", "other", 7, h ^ 0x8000_0000_0000_0001),
        with_hash("d", "s", 9, !h),
    ];
    store.assign_clusters(&mut batch).unwrap();
    let cl: Vec<_> = batch.iter().map(|d| d.cluster.clone().unwrap()).collect();
    assert_eq!(cl[0].id.as_str(), "a");
    assert_eq!(cl[0].size, 2);
    assert_eq!(cl[1].id.as_str(), "a");
    assert_eq!(cl[1].size, 3);
    assert_eq!(
        cl[1].first_source.as_str(),
        "other",
        "the earliest document is the origin"
    );
    assert_eq!(cl[2].id.as_str(), "d");
    store.commit(&batch, &[]).unwrap();
    // Stored JSON carries the cluster; the cluster lists its members oldest first.
    let c = store.document(&DocId("c".into())).unwrap().unwrap();
    assert_eq!(c.cluster.unwrap().id.as_str(), "a");
    let members: Vec<String> = store
        .cluster_members(&DocId("a".into()))
        .unwrap()
        .into_iter()
        .map(|d| d.0)
        .collect();
    assert_eq!(members, ["c", "a", "b"]);

    // Four bits away is another story; a recommitted member stays put and the size is kept.
    let mut far = vec![with_hash("e", "s", 10, h ^ 0x0010_0010_0010_0010)];
    store.assign_clusters(&mut far).unwrap();
    assert_eq!(far[0].cluster.as_ref().unwrap().id.as_str(), "e");
    let mut again = vec![with_hash("b", "s", 9, h ^ 0x0001_0000_0100_0001)];
    store.assign_clusters(&mut again).unwrap();
    let cb = again[0].cluster.clone().unwrap();
    assert_eq!((cb.id.as_str(), cb.size), ("a", 3));
    store.commit(&again, &[]).unwrap();
    assert_eq!(store.cluster_members(&DocId("a".into())).unwrap().len(), 3);
}

#[test]
fn corrections_are_saved_replaced_and_listed() {
    use yuqing_model::{Correction, SentimentLabel};
    let (_dir, store) = open();
    assert!(store.correction(&DocId("a".into())).unwrap().is_none());
    let mut c = Correction {
        doc_id: DocId("a".into()),
        label: Some(SentimentLabel::Positive),
        false_mentions: vec!["suda".into()],
        by: "li".into(),
        note: Some("澄清".into()),
        at: Utc::now(),
    };
    store.save_correction(&c).unwrap();
    let got = store.correction(&DocId("a".into())).unwrap().unwrap();
    assert_eq!(got.label, c.label);
    assert_eq!(got.false_mentions, c.false_mentions);
    assert_eq!((got.by.as_str(), got.note.as_deref()), ("li", Some("澄清")));
    c.label = None;
    c.by = "wang".into();
    store.save_correction(&c).unwrap();
    let all = store.corrections().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].label, all[0].by.as_str()), (None, "wang"));
}
