//! Engine and store-level tests with constructed documents.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use yuqing_model::{
    Alias, AliasKind, Analysis, Channel, ClusterInfo, DocId, Document, Entity, Field,
    IncidentEventKind, IncidentStatus, Mention, NotificationKind, RawDoc, Sentiment,
    SentimentLabel, Severity, SourceId,
};
use yuqing_store::{OutboxRow, Store};

use crate::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 20, 2, 0, 0).unwrap()
}

fn secs(s: i64) -> Duration {
    Duration::seconds(s)
}

struct D {
    id: String,
    at: DateTime<Utc>,
    label: SentimentLabel,
    channel: Channel,
    source: String,
    tags: Vec<String>,
    title: String,
    cluster: Option<&'static str>,
}

fn d(id: impl Into<String>, at: DateTime<Utc>) -> D {
    let id = id.into();
    D {
        title: format!("恒信消费金融 被投诉 {id}"),
        id,
        at,
        label: SentimentLabel::Negative,
        channel: Channel::News,
        source: "news/a".into(),
        tags: vec![],
        cluster: None,
    }
}

impl D {
    fn source(mut self, s: impl Into<String>) -> D {
        self.source = s.into();
        self
    }
    fn channel(mut self, c: Channel) -> D {
        self.channel = c;
        self
    }
    fn label(mut self, l: SentimentLabel) -> D {
        self.label = l;
        self
    }
    fn tag(mut self, t: &str) -> D {
        self.tags.push(t.into());
        self
    }
    fn title(mut self, t: &str) -> D {
        self.title = t.into();
        self
    }
    fn cluster(mut self, c: &'static str) -> D {
        self.cluster = Some(c);
        self
    }
    fn doc(self) -> Document {
        let mut sentiment = Sentiment::neutral();
        sentiment.label = self.label;
        if self.label == SentimentLabel::Negative {
            sentiment.score = -0.6;
            sentiment.terms.push(yuqing_model::SentimentTerm {
                term: "投诉".into(),
                weight: -0.6,
                contribution: -0.6,
                modifiers: vec![],
            });
        }
        Document {
            raw: RawDoc {
                id: DocId(self.id.clone()),
                source_id: SourceId(self.source.clone()),
                channel: self.channel,
                item_key: self.id.clone(),
                url: Some(format!("https://example.com/{}", self.id)),
                title: self.title.clone(),
                body: String::new(),
                author: None,
                published_at: Some(self.at),
                fetched_at: self.at,
                tags: self.tags,
            },
            analysis: Analysis {
                title: self.title,
                body: String::new(),
                char_count: 5,
                mentions: vec![Mention {
                    entity_id: "hengxin".into(),
                    alias: "恒信消费金融".into(),
                    kind: AliasKind::Name,
                    field: Field::Title,
                    start: 0,
                    end: 18,
                }],
                sentiment,
                entity_sentiments: vec![],
                risks: vec![],
                dimensions: vec![],
                simhash: 0,
                analyzer_version: 1,
            },
            cluster: self.cluster.map(|c| ClusterInfo {
                id: DocId(c.into()),
                first_source: SourceId("complaint/first".into()),
                first_seen: self.at - secs(600),
                size: 1,
            }),
        }
    }
}

fn entities() -> Vec<Entity> {
    vec![Entity {
        id: "hengxin".into(),
        name: "恒信消费金融".into(),
        aliases: vec![Alias {
            text: "恒信消费金融".into(),
            kind: AliasKind::Name,
        }],
        exclude_contexts: vec![],
    }]
}

const DEFAULTS: &str = "version = 1\n[defaults]\ngroup_interval_secs = 300\n\
    quiet_period_secs = 1800\nreopen_window_secs = 7200\nescalate_unacknowledged_after_secs = 0\n";

fn rules(body: &str) -> RuleSet {
    parse_rules(
        Path::new("rules.toml"),
        &format!("{DEFAULTS}{body}"),
        &["hengxin".to_string()],
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn volume(min: u64) -> RuleSet {
    rules(&format!(
        "[[rule]]\nid = \"vol\"\nkind = \"volume\"\nwindow_secs = 3600\nmin_count = {min}\n"
    ))
}

fn engine(r: RuleSet) -> Engine {
    Engine::new(r, &entities(), Box::new(|_, _| vec!["ops".to_string()]))
}

struct Db {
    _dir: tempfile::TempDir,
    store: Store,
}

fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("y.db"), 3).unwrap();
    Db { _dir: dir, store }
}

/// Commit to the store, then hand to the engine, as the pipeline writer does.
fn commit(db: &Db, e: &mut Engine, docs: &[Document], now: DateTime<Utc>) -> Vec<IncidentChange> {
    db.store.commit(docs.iter(), &[]).unwrap();
    e.on_committed(&db.store, docs, now).unwrap()
}

fn outbox(db: &Db) -> Vec<OutboxRow> {
    db.store.outbox_rows(None).unwrap()
}

fn kinds(rows: &[OutboxRow]) -> Vec<NotificationKind> {
    rows.iter().map(|r| r.notification.kind).collect()
}

fn batch(prefix: &str, n: usize, at: DateTime<Utc>) -> Vec<Document> {
    (0..n)
        .map(|i| d(format!("{prefix}{i}"), at).doc())
        .collect()
}

#[test]
fn volume_opens_exactly_one_incident_with_its_why_and_message() {
    let db = db();
    let mut e = engine(volume(3));
    let docs: Vec<Document> = (0..5)
        .map(|i| {
            d(format!("v{i}"), t0() + secs(i * 10))
                .source(format!("news/s{}", i % 2))
                .doc()
        })
        .collect();
    commit(&db, &mut e, &docs[..2], t0() + secs(20));
    assert!(db.store.incidents(None, 10).unwrap().is_empty());
    commit(&db, &mut e, &docs[2..], t0() + secs(60));
    let incs = db.store.incidents(None, 10).unwrap();
    assert_eq!(incs.len(), 1);
    let inc = &incs[0];
    assert_eq!(inc.status, IncidentStatus::Open);
    assert_eq!(inc.doc_count, 5);
    assert_eq!(inc.why.observed, 5.0);
    assert_eq!(inc.why.threshold, 3.0);
    assert_eq!(inc.why.top_terms, vec!["投诉".to_string()]);
    assert_eq!(inc.why.first_source, Some(SourceId("news/s0".into())));
    assert_eq!(inc.why.first_seen, Some(t0()));
    let path = db.store.incident_docs(inc.id).unwrap();
    assert_eq!(path.len(), 5);
    assert_eq!(path[0].doc_id, DocId("v0".into()));
    let events = db.store.incident_events(inc.id).unwrap();
    assert_eq!(events[0].kind, IncidentEventKind::Opened);
    assert_eq!(events[1].kind, IncidentEventKind::Attached);
    let rows = outbox(&db);
    assert_eq!(kinds(&rows), vec![NotificationKind::Opened]);
    assert_eq!(
        rows[0].dedup_key,
        format!("incident:{}:opened:1#ops", inc.id)
    );
    assert_eq!(rows[0].channel, "ops");
    let n = &rows[0].notification;
    assert_eq!(n.title, "【中】恒信消费金融 负面舆情增多");
    assert_eq!(
        n.console_url.as_deref(),
        Some(format!("http://127.0.0.1:8080/incidents/{}", inc.id).as_str())
    );
    assert!(
        n.lines
            .iter()
            .any(|l| l.contains("近1小时 5 篇（阈值 3 篇）")),
        "{:?}",
        n.lines
    );
    assert!(
        n.lines.iter().any(|l| l.starts_with("首发：news/s0")),
        "{:?}",
        n.lines
    );
    assert!((3..=MAX_TOP_DOCS).contains(&n.top_docs.len()));
    assert_eq!(n.top_docs[0].title, docs[0].raw.title);
}

#[test]
fn non_matching_documents_do_not_count() {
    let db = db();
    let mut e = engine(volume(2));
    let docs = vec![
        d("p1", t0()).label(SentimentLabel::Positive).doc(),
        d("p2", t0()).label(SentimentLabel::Neutral).doc(),
        // Too old for the window.
        d("old", t0() - secs(7200)).doc(),
    ];
    commit(&db, &mut e, &docs, t0());
    assert!(db.store.incidents(None, 10).unwrap().is_empty());
}

#[test]
fn keyword_rule_opens_one_incident_per_event() {
    let db = db();
    let mut e = engine(rules(
        "[[rule]]\nid = \"kw\"\nkind = \"keyword\"\nterms = [\"爆雷\", \"跑路\"]\n",
    ));
    let docs = vec![
        d("k1", t0())
            .title("传恒信消费金融爆雷")
            .label(SentimentLabel::Neutral)
            .doc(),
        d("k2", t0() + secs(5))
            .title("恒信消费金融爆雷？官方回应")
            .doc(),
        d("n1", t0() + secs(6)).title("恒信消费金融发布年报").doc(),
    ];
    commit(&db, &mut e, &docs, t0() + secs(10));
    let incs = db.store.incidents(None, 10).unwrap();
    assert_eq!(incs.len(), 1);
    assert_eq!(incs[0].doc_count, 2);
    assert_eq!(incs[0].why.top_terms[0], "爆雷");
    assert_eq!(kinds(&outbox(&db)), vec![NotificationKind::Opened]);
}

#[test]
fn authority_rule_needs_an_authoritative_negative_document() {
    let db = db();
    let mut e = engine(rules(
        "[[rule]]\nid = \"auth\"\nkind = \"authority\"\nseverity = \"high\"\n",
    ));
    let docs = vec![
        d("a0", t0()).doc(),
        d("a1", t0())
            .tag("authoritative")
            .label(SentimentLabel::Neutral)
            .doc(),
        d("a2", t0() + secs(1))
            .tag("authoritative")
            .source("official/cbirc")
            .doc(),
    ];
    commit(&db, &mut e, &docs, t0() + secs(2));
    let incs = db.store.incidents(None, 10).unwrap();
    assert_eq!(incs.len(), 1);
    assert_eq!(incs[0].doc_count, 1);
    assert_eq!(incs[0].severity, Severity::High);
    assert_eq!(
        outbox(&db)[0].notification.title,
        "【高】恒信消费金融 权威来源负面报道"
    );
}

#[test]
fn complaint_surge_opens_on_a_coordinated_wave() {
    let db = db();
    let mut e = engine(rules(
        "[[rule]]\nid = \"cs\"\nkind = \"complaint_surge\"\nmin_count = 50\nwave_min_size = 4\n",
    ));
    let mut docs: Vec<Document> = (0..3)
        .map(|i| {
            d(format!("w{i}"), t0())
                .channel(Channel::Complaint)
                .cluster("wave1")
                .doc()
        })
        .collect();
    // Not complaint channel: ignored even in the same cluster.
    docs.push(d("news", t0()).cluster("wave1").doc());
    commit(&db, &mut e, &docs, t0() + secs(1));
    assert!(db.store.incidents(None, 10).unwrap().is_empty());
    let more = vec![
        d("w3", t0() + secs(30))
            .channel(Channel::Complaint)
            .cluster("wave1")
            .label(SentimentLabel::Neutral)
            .doc(),
    ];
    commit(&db, &mut e, &more, t0() + secs(31));
    let incs = db.store.incidents(None, 10).unwrap();
    assert_eq!(incs.len(), 1);
    assert_eq!(incs[0].why.largest_wave, Some(4));
    assert_eq!(incs[0].doc_count, 4);
    assert_eq!(
        incs[0].why.first_source,
        Some(SourceId("complaint/first".into()))
    );
}

#[test]
fn spike_compares_against_the_same_hours_on_past_days() {
    let db = db();
    let r = rules(
        "[[rule]]\nid = \"sp\"\nkind = \"spike\"\nsensitivity = \"high\"\nbaseline_days = 3\n",
    );
    let mut e = engine(r);
    // Past three days at the same hour: 2, 3, 4 documents (mean 3, sd ≈ 0.82).
    let mut history = Vec::new();
    for (day, n) in [(1, 2), (2, 3), (3, 4)] {
        for i in 0..n {
            history.push(
                d(
                    format!("h{day}-{i}"),
                    t0() - Duration::days(day) + secs(i * 60),
                )
                .doc(),
            );
        }
    }
    db.store.commit(history.iter(), &[]).unwrap();
    // Today: 5 documents is below 2 × mean; 7 is above (≥ 6, ≥ 3 + 2 × 0.82, ≥ 5).
    commit(
        &db,
        &mut e,
        &batch("s", 5, t0() + secs(600)),
        t0() + secs(600),
    );
    assert!(db.store.incidents(None, 10).unwrap().is_empty());
    commit(
        &db,
        &mut e,
        &batch("t", 2, t0() + secs(700)),
        t0() + secs(700),
    );
    let incs = db.store.incidents(None, 10).unwrap();
    assert_eq!(incs.len(), 1, "{incs:?}");
    let why = &incs[0].why;
    assert_eq!(why.observed, 7.0);
    assert_eq!(why.baseline, Some(3.0));
    assert!(why.baseline_stddev.unwrap() > 0.8);
    let lines = &outbox(&db)[0].notification.lines;
    assert!(lines[1].contains("过去同时段均值 3 篇"), "{lines:?}");
}

#[test]
fn a_flood_makes_one_incident_one_opened_message_and_bounded_updates() {
    let db = db();
    let mut e = engine(volume(10));
    // 500 matching documents from 20 sources within one minute, in 10 batches.
    for b in 0..10 {
        let at = t0() + secs(b * 6);
        let docs: Vec<Document> = (0..50)
            .map(|i| {
                d(format!("f{b}-{i}"), at)
                    .source(format!("news/s{}", i % 20))
                    .doc()
            })
            .collect();
        commit(&db, &mut e, &docs, at);
    }
    let incs = db.store.incidents(None, 10).unwrap();
    assert_eq!(incs.len(), 1);
    assert_eq!(incs[0].doc_count, 500);
    assert_eq!(db.store.incident_docs(incs[0].id).unwrap().len(), 500);
    assert_eq!(kinds(&outbox(&db)), vec![NotificationKind::Opened]);
    // Follow-ups: at most one per group interval, only when the set changed.
    e.tick(&db.store, t0() + secs(120)).unwrap();
    assert_eq!(outbox(&db).len(), 1, "the group interval has not passed");
    e.tick(&db.store, t0() + secs(301)).unwrap();
    e.tick(&db.store, t0() + secs(302)).unwrap();
    let rows = outbox(&db);
    assert_eq!(
        kinds(&rows),
        vec![NotificationKind::Opened, NotificationKind::Update]
    );
    assert!(rows[1].notification.title.ends_with("（进展）"));
    // Nothing changed: no update even long after.
    e.tick(&db.store, t0() + secs(700)).unwrap();
    assert_eq!(outbox(&db).len(), 2);
    // More documents: one more update, once the interval since the last one has passed.
    commit(
        &db,
        &mut e,
        &batch("g", 5, t0() + secs(710)),
        t0() + secs(710),
    );
    commit(
        &db,
        &mut e,
        &batch("h", 5, t0() + secs(720)),
        t0() + secs(720),
    );
    assert_eq!(outbox(&db).len(), 3, "710 s is past 301 s + 300 s");
    e.tick(&db.store, t0() + secs(800)).unwrap();
    assert_eq!(outbox(&db).len(), 3, "720 s is within 710 s + 300 s");
    e.tick(&db.store, t0() + secs(1010)).unwrap();
    assert_eq!(
        kinds(&outbox(&db)),
        vec![
            NotificationKind::Opened,
            NotificationKind::Update,
            NotificationKind::Update,
            NotificationKind::Update
        ]
    );
    assert_eq!(
        outbox(&db)[3].dedup_key,
        format!("incident:{}:1:update:3#ops", incs[0].id)
    );
    assert_eq!(
        db.store.incident(incs[0].id).unwrap().unwrap().doc_count,
        510
    );
}

#[test]
fn rising_severity_adds_an_escalated_notification_once() {
    let db = db();
    let mut e = engine(rules(
        "[[rule]]\nid = \"vol\"\nkind = \"volume\"\nmin_count = 3\n\
         escalate = [{ count = 10, severity = \"high\" }]\n",
    ));
    commit(&db, &mut e, &batch("a", 3, t0()), t0());
    commit(
        &db,
        &mut e,
        &batch("b", 8, t0() + secs(10)),
        t0() + secs(10),
    );
    commit(
        &db,
        &mut e,
        &batch("c", 8, t0() + secs(20)),
        t0() + secs(20),
    );
    let rows = outbox(&db);
    assert_eq!(
        kinds(&rows),
        vec![NotificationKind::Opened, NotificationKind::Escalated]
    );
    assert_eq!(rows[1].notification.severity, Severity::High);
    assert!(rows[1].notification.title.starts_with("【高】"));
    let inc = &db.store.incidents(None, 1).unwrap()[0];
    assert_eq!(inc.severity, Severity::High);
    let events = db.store.incident_events(inc.id).unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == IncidentEventKind::SeverityRaised)
            .count(),
        1
    );
}

#[test]
fn quiet_period_resolves_and_a_new_wave_reopens_or_opens_anew() {
    let db = db();
    let mut e = engine(volume(3));
    commit(&db, &mut e, &batch("a", 3, t0()), t0());
    let id = db.store.incidents(None, 1).unwrap()[0].id;
    // Quiet period is 1800 s after the newest document.
    e.tick(&db.store, t0() + secs(1799)).unwrap();
    assert_eq!(
        db.store.incident(id).unwrap().unwrap().status,
        IncidentStatus::Open
    );
    e.tick(&db.store, t0() + secs(1900)).unwrap();
    let inc = db.store.incident(id).unwrap().unwrap();
    assert_eq!(inc.status, IncidentStatus::Resolved);
    assert_eq!(inc.resolved_at, Some(t0() + secs(1800)));
    // One document after the resolve is no wave (the old ones no longer count).
    commit(
        &db,
        &mut e,
        &batch("b", 1, t0() + secs(2000)),
        t0() + secs(2000),
    );
    assert_eq!(
        db.store.incident(id).unwrap().unwrap().status,
        IncidentStatus::Resolved
    );
    // A wave within the reopen window (7200 s) reopens the same incident.
    commit(
        &db,
        &mut e,
        &batch("c", 3, t0() + secs(2100)),
        t0() + secs(2100),
    );
    let inc = db.store.incident(id).unwrap().unwrap();
    assert_eq!(inc.status, IncidentStatus::Open);
    assert_eq!(inc.open_count, 2);
    assert_eq!(db.store.incidents(None, 10).unwrap().len(), 1);
    let rows = outbox(&db);
    assert_eq!(
        kinds(&rows),
        vec![
            NotificationKind::Opened,
            NotificationKind::Resolved,
            NotificationKind::Opened
        ]
    );
    assert_eq!(rows[2].dedup_key, format!("incident:{id}:opened:2#ops"));
    assert!(rows[2].notification.title.ends_with("（再次发生）"));
    // Resolve again; a wave after the reopen window opens a new incident.
    e.tick(&db.store, t0() + secs(4000)).unwrap();
    let later = t0() + secs(2100 + 1800 + 7200 + 60);
    commit(&db, &mut e, &batch("d", 3, later), later);
    let incs = db.store.incidents(None, 10).unwrap();
    assert_eq!(incs.len(), 2);
    assert_ne!(incs[0].id, id);
    assert_eq!(incs[0].open_count, 1);
}

#[test]
fn replaying_a_batch_duplicates_nothing_in_process_or_after_restart() {
    let db = db();
    let mut e = engine(volume(3));
    let docs = batch("r", 4, t0());
    commit(&db, &mut e, &docs, t0());
    let snapshot = (outbox(&db).len(), db.store.incident_docs(1).unwrap().len());
    assert_eq!(snapshot, (1, 4));
    // The same batch again (at-least-once delivery).
    commit(&db, &mut e, &docs, t0() + secs(5));
    assert_eq!(
        (outbox(&db).len(), db.store.incident_docs(1).unwrap().len()),
        snapshot
    );
    // A crash and restart: a new engine over the same database, and the batch replayed.
    let mut e2 = engine(volume(3));
    commit(&db, &mut e2, &docs, t0() + secs(10));
    commit(&db, &mut e2, &docs, t0() + secs(11));
    assert_eq!(
        (outbox(&db).len(), db.store.incident_docs(1).unwrap().len()),
        snapshot
    );
    assert_eq!(db.store.incidents(None, 10).unwrap().len(), 1);
    // The restored engine still groups: one update after the interval, once.
    commit(
        &db,
        &mut e2,
        &batch("s", 2, t0() + secs(20)),
        t0() + secs(20),
    );
    e2.tick(&db.store, t0() + secs(400)).unwrap();
    let mut e3 = engine(volume(3));
    e3.tick(&db.store, t0() + secs(401)).unwrap();
    assert_eq!(
        kinds(&outbox(&db)),
        vec![NotificationKind::Opened, NotificationKind::Update]
    );
    let events = db.store.incident_events(1).unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == IncidentEventKind::Opened)
            .count(),
        1
    );
}

#[test]
fn restart_continues_windows_without_double_counting() {
    let db = db();
    let mut e = engine(volume(4));
    commit(&db, &mut e, &batch("a", 2, t0()), t0());
    commit(&db, &mut e, &batch("a", 2, t0()), t0() + secs(1));
    drop(e);
    // After a restart the two stored documents still count, once each.
    let mut e = engine(volume(4));
    commit(
        &db,
        &mut e,
        &batch("b", 1, t0() + secs(60)),
        t0() + secs(60),
    );
    assert!(db.store.incidents(None, 10).unwrap().is_empty(), "3 < 4");
    commit(
        &db,
        &mut e,
        &batch("c", 1, t0() + secs(120)),
        t0() + secs(120),
    );
    let incs = db.store.incidents(None, 10).unwrap();
    assert_eq!(incs.len(), 1);
    assert_eq!(incs[0].why.observed, 4.0);
}

#[test]
fn documents_committed_before_a_crash_are_caught_up_on_restart() {
    let db = db();
    // The store commit happened, the engine never ran (crash in between).
    db.store.commit(batch("x", 3, t0()).iter(), &[]).unwrap();
    let mut e = engine(volume(3));
    let changes = e.on_committed(&db.store, &[], t0() + secs(30)).unwrap();
    assert!(changes.iter().any(|c| c.kind == ChangeKind::Opened));
    assert_eq!(kinds(&outbox(&db)), vec![NotificationKind::Opened]);
}

#[test]
fn unacknowledged_incidents_escalate_once_and_acknowledged_ones_do_not() {
    let db = db();
    let r = rules(
        "[[rule]]\nid = \"vol\"\nkind = \"volume\"\nmin_count = 1\n\
         escalate_unacknowledged_after_secs = 600\nquiet_period_secs = 86400\n\
         [[rule]]\nid = \"kw\"\nkind = \"keyword\"\nterms = [\"跑路\"]\n\
         escalate_unacknowledged_after_secs = 600\nquiet_period_secs = 86400\n",
    );
    let mut e = engine(r);
    commit(
        &db,
        &mut e,
        &[d("u1", t0()).title("恒信消费金融 跑路").doc()],
        t0(),
    );
    let incs = db.store.incidents(None, 10).unwrap();
    assert_eq!(incs.len(), 2);
    let (vol, kw) = if incs[0].rule_id == "vol" {
        (incs[0].id, incs[1].id)
    } else {
        (incs[1].id, incs[0].id)
    };
    assert!(
        e.acknowledge(&db.store, kw, "张三", t0() + secs(60))
            .unwrap()
    );
    assert!(
        e.assign(&db.store, kw, "李四", "张三", t0() + secs(61))
            .unwrap()
    );
    e.tick(&db.store, t0() + secs(700)).unwrap();
    e.tick(&db.store, t0() + secs(900)).unwrap();
    let reminders: Vec<OutboxRow> = outbox(&db)
        .into_iter()
        .filter(|r| r.notification.kind == NotificationKind::Reminder)
        .collect();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].incident_id, Some(vol));
    assert_eq!(reminders[0].notification.severity, Severity::High);
    let kw_inc = db.store.incident(kw).unwrap().unwrap();
    assert_eq!(kw_inc.status, IncidentStatus::Acknowledged);
    assert_eq!(kw_inc.assignee.as_deref(), Some("李四"));
    assert_eq!(kw_inc.severity, Severity::Medium);
    let trail: Vec<IncidentEventKind> = db
        .store
        .incident_events(kw)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(trail.contains(&IncidentEventKind::Acknowledged));
    assert!(trail.contains(&IncidentEventKind::Assigned));
    // The engine's later saves keep the acknowledgement.
    commit(
        &db,
        &mut e,
        &[d("u2", t0() + secs(950)).title("恒信消费金融 跑路").doc()],
        t0() + secs(950),
    );
    assert_eq!(
        db.store.incident(kw).unwrap().unwrap().status,
        IncidentStatus::Acknowledged
    );
}

/// A volume and a keyword rule, reminded after an hour of silence, never escalated.
fn repeating() -> RuleSet {
    let text = format!(
        "{}{}",
        DEFAULTS.replace(
            "group_interval_secs = 300",
            "group_interval_secs = 300\nrepeat_interval_secs = 3600"
        ),
        "[[rule]]\nid = \"vol\"\nkind = \"volume\"\nmin_count = 1\n\
         escalate_unacknowledged_after_secs = 0\nquiet_period_secs = 86400\n\
         [[rule]]\nid = \"kw\"\nkind = \"keyword\"\nterms = [\"跑路\"]\n\
         escalate_unacknowledged_after_secs = 0\nquiet_period_secs = 86400\n"
    );
    parse_rules(Path::new("rules.toml"), &text, &["hengxin".to_string()])
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_unacknowledged_incident_is_reminded_once_per_repeat_interval() {
    let db = db();
    let r = repeating();
    let mut e = engine(r);
    commit(
        &db,
        &mut e,
        &[d("r1", t0()).title("恒信消费金融 跑路").doc()],
        t0(),
    );
    let incs = db.store.incidents(None, 10).unwrap();
    let kw = incs.iter().find(|i| i.rule_id == "kw").unwrap().id;
    let vol = incs.iter().find(|i| i.rule_id == "vol").unwrap().id;
    assert!(
        e.acknowledge(&db.store, kw, "张三", t0() + secs(60))
            .unwrap()
    );
    let reminders = |db: &Db| -> Vec<OutboxRow> {
        outbox(db)
            .into_iter()
            .filter(|r| r.notification.kind == NotificationKind::Reminder)
            .collect()
    };
    e.tick(&db.store, t0() + secs(3000)).unwrap();
    assert!(reminders(&db).is_empty(), "too early");
    e.tick(&db.store, t0() + secs(3700)).unwrap();
    e.tick(&db.store, t0() + secs(3800)).unwrap();
    // A new engine over the same database (a restart) at the same moment adds nothing.
    engine(repeating())
        .tick(&db.store, t0() + secs(3800))
        .unwrap();
    let got = reminders(&db);
    assert_eq!(
        got.len(),
        1,
        "one reminder for the unacknowledged incident: {got:?}"
    );
    assert_eq!(got[0].incident_id, Some(vol));
    e.tick(&db.store, t0() + secs(3700 + 3700)).unwrap();
    assert_eq!(
        reminders(&db).len(),
        2,
        "and another after the next interval"
    );
    assert!(reminders(&db).iter().all(|r| r.incident_id == Some(vol)));
}

#[test]
fn repeat_interval_below_group_interval_is_a_config_error() {
    let e = parse_rules(
        std::path::Path::new("rules.toml"),
        "version = 1\n[defaults]\ngroup_interval_secs = 600\nrepeat_interval_secs = 60\n",
        &["hengxin".to_string()],
    )
    .unwrap_err();
    assert!(
        e.0.iter().any(|e| e.key == "defaults.repeat_interval_secs"),
        "{e:?}"
    );
}

#[test]
fn backtest_lists_what_rules_would_have_opened_and_writes_nothing() {
    let db = db();
    let r = volume(3);
    let mut docs = batch("a", 4, t0());
    docs.extend(batch("b", 2, t0() + Duration::hours(5)));
    docs.extend(batch("c", 5, t0() + Duration::hours(10)));
    db.store.commit(docs.iter(), &[]).unwrap();
    let from = t0() - Duration::hours(1);
    let to = t0() + Duration::hours(12);
    let found = backtest(&db.store, &r, &entities(), from, to).unwrap();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].rule_id, "vol");
    assert_eq!(found[0].entity_id, "hengxin");
    assert_eq!(found[0].opened_at, t0());
    assert_eq!(found[0].resolved_at, Some(t0() + secs(1800)));
    assert_eq!(found[0].doc_count, 4);
    assert_eq!(found[0].peak, 4.0);
    assert_eq!(found[1].opened_at, t0() + Duration::hours(10));
    assert_eq!(
        found[1].resolved_at,
        Some(t0() + Duration::hours(10) + secs(1800))
    );
    assert_eq!(found[1].doc_count, 5);
    assert!(db.store.incidents(None, 10).unwrap().is_empty());
    assert!(outbox(&db).is_empty());
    // Still open at the end of a shorter range.
    let short = backtest(
        &db.store,
        &r,
        &entities(),
        from,
        t0() + Duration::hours(10) + secs(60),
    );
    assert_eq!(short.unwrap()[1].resolved_at, None);
    // A window that starts later sees only the second event.
    let later = backtest(&db.store, &r, &entities(), t0() + Duration::hours(6), to).unwrap();
    assert_eq!(later.len(), 1);
}
