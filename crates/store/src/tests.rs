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
            token_count: 2,
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
