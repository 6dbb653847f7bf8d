//! The workflow end to end over a real (temporary) SQLite store, with time passed in.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use yuqing_config::{ClockTime, WorkflowSettings};
use yuqing_model::*;
use yuqing_store::{OutboxRow, Store};

use crate::*;

const HX: &str = "hengxin";

fn p0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap()
}

fn h(hours: i64) -> DateTime<Utc> {
    p0() + Duration::hours(hours)
}

fn d(days: i64) -> DateTime<Utc> {
    p0() + Duration::days(days)
}

fn settings() -> WorkflowSettings {
    let mut s = WorkflowSettings {
        reminder_channels: vec!["ops".into()],
        department_channels: BTreeMap::from([("客服".to_string(), vec!["kefu".to_string()])]),
        case_entities: vec![HX.into()],
        ..Default::default()
    };
    s.briefing.channels = vec!["brief".into()];
    s
}

fn entities() -> Vec<Entity> {
    vec![Entity {
        id: HX.into(),
        name: "恒信消费金融".into(),
        aliases: vec![],
        exclude_contexts: vec![],
    }]
}

fn open_store(dir: &Path) -> Arc<Store> {
    Arc::new(Store::open(&dir.join("yuqing.db"), 3).unwrap())
}

fn workflow(store: Arc<Store>) -> Workflow {
    Workflow::new(store, settings(), chrono_tz::Asia::Shanghai, entities())
}

fn setup() -> (tempfile::TempDir, Workflow) {
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(open_store(dir.path()));
    (dir, wf)
}

fn sentiment(label: SentimentLabel, score: f32) -> Sentiment {
    Sentiment {
        score,
        label,
        terms: vec![],
    }
}

fn mention(entity: &str, alias: &str, kind: AliasKind) -> Mention {
    Mention {
        entity_id: entity.into(),
        alias: alias.into(),
        kind,
        field: Field::Body,
        start: 0,
        end: 1,
    }
}

/// A document about `entity` at `at` with the given sentiment (towards the entity too).
fn doc(id: &str, at: DateTime<Utc>, entity: &str, label: SentimentLabel, score: f32) -> Document {
    Document {
        raw: RawDoc {
            id: DocId(id.into()),
            source_id: SourceId("news/a".into()),
            channel: Channel::News,
            item_key: id.into(),
            url: Some(format!("https://example.com/{id}")),
            title: format!("标题 {id}"),
            body: "正文".into(),
            author: Some("网友".into()),
            published_at: Some(at),
            fetched_at: at + Duration::minutes(5),
            tags: vec![],
        },
        // Built from JSON so fields the analyzer adds later (with serde defaults) keep this
        // test compiling.
        analysis: serde_json::from_value(serde_json::json!({
            "title": format!("标题 {id}"),
            "body": "正文",
            "char_count": 2,
            "mentions": [mention(entity, "恒信", AliasKind::Brand)],
            "sentiment": sentiment(label, score),
            "entity_sentiments": [{"entity_id": entity, "sentiment": sentiment(label, score)}],
            "analyzer_version": 1,
        }))
        .unwrap(),
        cluster: None,
    }
}

fn incident(store: &Store, opened: DateTime<Utc>, docs: &[&Document]) -> i64 {
    let inc = Incident {
        id: 0,
        group_key: "vol|hengxin|".into(),
        rule_id: "hengxin-negative-volume".into(),
        rule_kind: RuleKind::Volume,
        entity_id: HX.into(),
        topic: None,
        status: IncidentStatus::Open,
        severity: Severity::High,
        title: "恒信消费金融 负面舆情激增".into(),
        opened_at: opened,
        updated_at: opened,
        last_doc_at: opened,
        resolved_at: None,
        acknowledged_at: None,
        acknowledged_by: None,
        assignee: None,
        open_count: 1,
        doc_count: docs.len() as u64,
        peak: docs.len() as f64,
        notified_at: None,
        notified_docs: 0,
        update_seq: 0,
        unacked_escalated: 0,
        why: IncidentWhy {
            rule_id: "hengxin-negative-volume".into(),
            rule_kind: RuleKind::Volume,
            observed: 10.0,
            threshold: 10.0,
            baseline: None,
            baseline_stddev: None,
            ratio_threshold: None,
            largest_wave: None,
            window_secs: 3600,
            top_terms: vec!["暴力催收".into()],
            top_sources: vec![],
            first_source: None,
            first_seen: None,
        },
    };
    let mut tx = store.incident_tx().unwrap();
    let id = tx.insert_incident(&inc).unwrap();
    for d in docs {
        attach(&mut tx, id, d, &["暴力催收"]);
    }
    tx.commit().unwrap();
    id
}

fn attach(tx: &mut yuqing_store::IncidentTx<'_>, id: i64, d: &Document, terms: &[&str]) {
    tx.attach_doc(&IncidentDoc {
        incident_id: id,
        doc_id: d.raw.id.clone(),
        source_id: d.raw.source_id.clone(),
        title: d.raw.title.clone(),
        url: d.raw.url.clone(),
        doc_at: yuqing_incidents::event_time(d),
        attached_at: yuqing_incidents::event_time(d),
        terms: terms.iter().map(|t| t.to_string()).collect(),
    })
    .unwrap();
}

fn new_measure(deadline: DateTime<Utc>) -> NewMeasure {
    NewMeasure {
        category: MeasureCategory::Personnel,
        description: "催收人员合规培训".into(),
        owner_department: "客服".into(),
        owner: "张敏".into(),
        resources: "培训预算 2 万元".into(),
        deadline,
        root_cause: None,
    }
}

fn new_case(title: &str, at: DateTime<Utc>) -> NewCase {
    NewCase {
        title: title.into(),
        content: "催收电话一天打二十次".into(),
        entity_id: Some(HX.into()),
        channel: Channel::Inbound,
        url: None,
        complainant: Some("李女士".into()),
        assignee: Some("王芳".into()),
        incident_id: None,
        accepted_at: Some(at),
    }
}

fn transition_err<T: std::fmt::Debug>(r: Result<T>) -> IllegalTransition {
    match r {
        Err(Error::Transition(t)) => t,
        other => panic!("expected an illegal transition, got {other:?}"),
    }
}

// ---------------------------------------------------------------- state machines

#[test]
fn review_moves_draft_in_review_approved_and_refuses_the_rest() {
    let (_dir, wf) = setup();
    let inc = incident(wf.store(), h(0), &[]);
    let r = wf.start_review(inc, "analyst", h(1)).unwrap();
    assert_eq!(r.status, ReviewStatus::Draft);
    assert_eq!(r.dimensions.len(), 7);

    let e = transition_err(wf.set_review_status(inc, ReviewStatus::Approved, "boss", h(2)));
    assert_eq!((e.from, e.to), ("draft", "approved"));
    let msg = e.to_string();
    assert!(
        msg.contains("「草稿」") && msg.contains("「已批准」"),
        "{msg}"
    );
    assert!(
        msg.contains("draft → approved") && msg.contains("allowed: in_review"),
        "{msg}"
    );

    let r = wf
        .set_review_status(inc, ReviewStatus::InReview, "analyst", h(2))
        .unwrap();
    assert_eq!(r.submitted_by.as_deref(), Some("analyst"));
    let r = wf
        .set_review_status(inc, ReviewStatus::Approved, "boss", h(3))
        .unwrap();
    assert_eq!(r.approved_by.as_deref(), Some("boss"));
    assert_eq!(r.approved_at, Some(h(3)));
    // Approved is read-only and can only be reopened.
    let edit = ReviewEdit {
        summary: Some("改".into()),
        ..Default::default()
    };
    let err = wf.edit_review(inc, &edit, "analyst", h(4)).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let e = transition_err(wf.set_review_status(inc, ReviewStatus::InReview, "x", h(4)));
    assert_eq!((e.from, e.to), ("approved", "in_review"));
    let r = wf
        .set_review_status(inc, ReviewStatus::Draft, "boss", h(5))
        .unwrap();
    assert_eq!(r.approved_by, None);
    assert!(wf.edit_review(inc, &edit, "analyst", h(6)).is_ok());
    // In review → draft (returned) is legal.
    wf.set_review_status(inc, ReviewStatus::InReview, "a", h(7))
        .unwrap();
    wf.set_review_status(inc, ReviewStatus::Draft, "boss", h(8))
        .unwrap();
    let statuses: Vec<_> = wf
        .audit(WorkflowObject::Review, inc)
        .unwrap()
        .into_iter()
        .filter(|a| a.field == "status")
        .map(|a| (a.old.unwrap(), a.new.unwrap(), a.actor))
        .collect();
    assert_eq!(
        statuses.iter().map(|s| s.1.as_str()).collect::<Vec<_>>(),
        ["in_review", "approved", "draft", "in_review", "draft"]
    );
    assert_eq!(statuses[1].2, "boss");
}

#[test]
fn measure_moves_planned_in_progress_done_verified_and_refuses_the_rest() {
    let (_dir, wf) = setup();
    let inc = incident(wf.store(), h(0), &[]);
    let m = wf
        .add_measure(inc, &new_measure(d(10)), "risk", h(1))
        .unwrap();
    assert_eq!(m.status, MeasureStatus::Planned);
    let e = transition_err(wf.set_measure_status(m.id, MeasureStatus::Done, "a", h(2)));
    assert_eq!((e.from, e.to), ("planned", "done"));
    assert!(e.to_string().contains("改进措施#"), "{e}");
    let e = transition_err(wf.set_measure_status(m.id, MeasureStatus::Verified, "a", h(2)));
    assert_eq!(e.object, WorkflowObject::Measure);

    wf.set_measure_status(m.id, MeasureStatus::InProgress, "a", h(2))
        .unwrap();
    let done = wf
        .set_measure_status(m.id, MeasureStatus::Done, "a", h(3))
        .unwrap();
    assert_eq!(done.done_at, Some(h(3)));
    let e = transition_err(wf.set_measure_status(m.id, MeasureStatus::Planned, "a", h(4)));
    assert_eq!((e.from, e.to), ("done", "planned"));
    // Verification failed: back to in progress, then done again (a new done time).
    wf.set_measure_status(m.id, MeasureStatus::InProgress, "audit", h(4))
        .unwrap();
    wf.set_measure_status(m.id, MeasureStatus::Done, "a", h(5))
        .unwrap();
    let v = wf
        .set_measure_status(m.id, MeasureStatus::Verified, "audit", h(6))
        .unwrap();
    assert_eq!(v.verified_by.as_deref(), Some("audit"));
    assert_eq!(v.done_at, Some(h(5)));
    let e = transition_err(wf.set_measure_status(m.id, MeasureStatus::InProgress, "a", h(7)));
    assert!(e.allowed.is_empty());
    assert!(e.to_string().contains("已是终态"), "{e}");
    let err = wf
        .edit_measure(m.id, &MeasureEdit::default(), "a", h(7))
        .unwrap_err();
    assert!(matches!(err, Error::Locked { .. }));

    // Inputs are checked.
    let mut bad = new_measure(d(10));
    bad.owner_department = "法务部".into();
    let err = wf.add_measure(inc, &bad, "risk", h(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.to_string().contains("法务部"), "{err}");
    let mut bad = new_measure(d(10));
    bad.root_cause = Some(3);
    assert_eq!(
        wf.add_measure(inc, &bad, "risk", h(1)).unwrap_err().kind(),
        ErrorKind::Invalid
    );
    assert_eq!(
        wf.add_measure(999, &new_measure(d(1)), "risk", h(1))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        wf.set_measure_status(999, MeasureStatus::Done, "a", h(1))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn case_moves_accepted_to_closed_on_a_deadline_clock() {
    let (_dir, wf) = setup();
    let c = wf
        .open_case(&new_case("催收骚扰", h(0)), "kefu", h(0))
        .unwrap();
    assert_eq!(c.status, CaseStatus::Accepted);
    assert_eq!(c.deadline, d(15));

    let e = transition_err(wf.set_case_status(c.id, CaseStatus::Answered, "k", h(1)));
    assert_eq!((e.from, e.to), ("accepted", "answered"));
    assert!(e.to_string().contains("「受理」") && e.to_string().contains("「答复」"));
    let e = transition_err(wf.set_case_status(c.id, CaseStatus::Closed, "k", h(1)));
    assert_eq!(e.allowed, vec![("analyzing", "分析")]);

    wf.set_case_status(c.id, CaseStatus::Analyzing, "k", h(1))
        .unwrap();
    wf.set_case_status(c.id, CaseStatus::Handling, "k", h(2))
        .unwrap();
    // Answering needs a reply.
    let err = wf
        .set_case_status(c.id, CaseStatus::Answered, "k", h(3))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);

    // The clock: due soon within three days of the deadline, then overdue.
    let clock = wf.case_clock(&wf.case(c.id).unwrap(), d(5));
    assert_eq!(clock.due, DueState::OnTrack);
    assert_eq!(clock.hours_left, Some(240.0));
    assert_eq!(
        wf.case_clock(&wf.case(c.id).unwrap(), d(13)).due,
        DueState::DueSoon
    );
    let late = wf.case_clock(&wf.case(c.id).unwrap(), d(16));
    assert!(late.overdue && late.due == DueState::Overdue);
    assert_eq!(late.hours_left, Some(-24.0));

    // Extended with a reason: on time again.
    let err = wf
        .extend_case_deadline(c.id, d(14), "需要调取录音", "k", d(16))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    let c2 = wf
        .extend_case_deadline(c.id, d(20), "需要调取通话录音", "k", d(14))
        .unwrap();
    assert_eq!(c2.deadline, d(20));
    assert_eq!(c2.extensions[0].from, d(15));
    assert!(!wf.case_clock(&c2, d(16)).overdue);

    let answered = wf
        .answer_case(c.id, "已核实并停止违规催收，致歉。", "电话", "k", d(17))
        .unwrap();
    assert_eq!(answered.status, CaseStatus::Answered);
    assert_eq!(answered.answered_at, Some(d(17)));
    let clock = wf.case_clock(&answered, d(30));
    assert_eq!(clock.due, DueState::Stopped);
    assert!(!clock.overdue);
    assert_eq!(clock.elapsed_hours, 17.0 * 24.0);
    // Customer not satisfied: back to handling, answered again, closed.
    wf.set_case_status(c.id, CaseStatus::Handling, "k", d(18))
        .unwrap();
    wf.set_case_status(c.id, CaseStatus::Answered, "k", d(19))
        .unwrap();
    let closed = wf
        .set_case_status(c.id, CaseStatus::Closed, "k", d(21))
        .unwrap();
    assert_eq!(closed.closed_at, Some(d(21)));
    let e = transition_err(wf.set_case_status(c.id, CaseStatus::Handling, "k", d(22)));
    assert_eq!((e.from, e.to), ("closed", "handling"));
    assert!(matches!(
        wf.add_case_note(c.id, "x", "k", d(22)).map(|_| ()),
        Ok(())
    ));
    assert!(matches!(
        wf.edit_case(c.id, &CaseEdit::default(), "k", d(22)),
        Err(Error::Locked { .. })
    ));
}

// ---------------------------------------------------------------- audit

#[test]
fn every_edit_writes_an_audit_entry_per_changed_field() {
    let (_dir, wf) = setup();
    let mut d1 = doc("d1", h(-5), HX, SentimentLabel::Negative, -0.6);
    d1.analysis.dimensions = vec![DimensionTag {
        dimension: Dimension::People,
        evidence: vec!["催收员".into()],
    }];
    wf.store().commit([&d1], &[]).unwrap();
    let inc = incident(wf.store(), h(0), &[&d1]);

    // Report: drafted once by the system, then edited.
    let r = wf.event_report(inc, h(1)).unwrap();
    let trail = wf.audit(WorkflowObject::Report, inc).unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (trail[0].action.as_str(), trail[0].actor.as_str()),
        ("drafted", SYSTEM_ACTOR)
    );
    wf.edit_report(
        inc,
        &ReportEdit {
            summary: Some("新的概述".into()),
            impact: Some("影响较大".into()),
            ..Default::default()
        },
        "analyst",
        h(2),
    )
    .unwrap();
    let trail = wf.audit(WorkflowObject::Report, inc).unwrap();
    assert_eq!(trail.len(), 3);
    let summary = trail.iter().find(|a| a.field == "summary").unwrap();
    assert_eq!(summary.old.as_deref(), Some(r.summary.as_str()));
    assert_eq!(summary.new.as_deref(), Some("新的概述"));
    assert_eq!((summary.actor.as_str(), summary.at), ("analyst", h(2)));
    // A no-op edit writes nothing.
    wf.edit_report(
        inc,
        &ReportEdit {
            summary: Some("新的概述".into()),
            ..Default::default()
        },
        "analyst",
        h(3),
    )
    .unwrap();
    assert_eq!(wf.audit(WorkflowObject::Report, inc).unwrap().len(), 3);

    // Review: dimension finding, root causes, departments.
    let rv = wf.start_review(inc, "analyst", h(3)).unwrap();
    let people = &rv.dimensions[0];
    assert_eq!(people.dimension, Dimension::People);
    assert!(people.applies);
    assert_eq!(people.evidence, vec![DocId("d1".into())]);
    assert!(!rv.dimensions[6].applies);
    let rv = wf
        .edit_review(
            inc,
            &ReviewEdit {
                dimensions: vec![DimensionEdit {
                    dimension: Dimension::People,
                    applies: None,
                    finding: Some("催收员培训不足".into()),
                    evidence: None,
                }],
                root_causes: Some(vec![RootCauseEdit {
                    id: None,
                    text: "外包催收考核只看回款率".into(),
                    dimensions: vec![Dimension::People, Dimension::Process],
                }]),
                departments: Some(vec!["风险管理部".into(), "客服".into()]),
                ..Default::default()
            },
            "analyst",
            h(4),
        )
        .unwrap();
    assert_eq!(rv.root_causes[0].id, 1);
    let fields: Vec<String> = wf
        .audit(WorkflowObject::Review, inc)
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "edited")
        .map(|a| a.field)
        .collect();
    assert_eq!(
        fields,
        [
            "departments",
            "dimensions[people].finding",
            "root_causes[1]"
        ]
    );
    let err = wf
        .edit_review(
            inc,
            &ReviewEdit {
                departments: Some(vec!["法务部".into()]),
                ..Default::default()
            },
            "analyst",
            h(4),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);

    // Measure: created, edited, progress, check, status.
    let mut nm = new_measure(d(10));
    nm.root_cause = Some(1);
    let m = wf.add_measure(inc, &nm, "risk", h(5)).unwrap();
    wf.edit_measure(
        m.id,
        &MeasureEdit {
            deadline: Some(d(12)),
            owner: Some("李强".into()),
            ..Default::default()
        },
        "risk",
        h(6),
    )
    .unwrap();
    wf.add_progress(m.id, "完成第一期培训 120 人", Some(40), "张敏", h(7))
        .unwrap();
    wf.add_check(
        m.id,
        "抽查通话录音 50 通，无违规",
        Some(true),
        "审计部",
        h(8),
    )
    .unwrap();
    wf.set_measure_status(m.id, MeasureStatus::InProgress, "张敏", h(9))
        .unwrap();
    let trail = wf.audit(WorkflowObject::Measure, m.id).unwrap();
    let got: Vec<(&str, &str)> = trail
        .iter()
        .map(|a| (a.action.as_str(), a.field.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("created", ""),
            ("edited", "deadline"),
            ("edited", "owner"),
            ("progress", "progress[0]"),
            ("check", "checks[0]"),
            ("status", "started_at"),
            ("status", "status"),
        ]
    );
    assert_eq!(trail[1].old.as_deref(), Some("2024-05-11T00:00:00Z"));
    assert_eq!(trail[1].new.as_deref(), Some("2024-05-13T00:00:00Z"));
    assert_eq!(trail[6].old.as_deref(), Some("planned"));
    assert_eq!(trail[6].new.as_deref(), Some("in_progress"));
    // The root cause a measure answers cannot be removed.
    let err = wf
        .edit_review(
            inc,
            &ReviewEdit {
                root_causes: Some(vec![]),
                ..Default::default()
            },
            "analyst",
            h(10),
        )
        .unwrap_err();
    assert!(err.to_string().contains("根因#1"), "{err}");

    // Case: note, assignee, reply.
    let c = wf.open_case(&new_case("投诉", h(0)), "kefu", h(0)).unwrap();
    wf.add_case_note(c.id, "已联系客户", "kefu", h(1)).unwrap();
    wf.edit_case(
        c.id,
        &CaseEdit {
            assignee: Some(Some("赵六".into())),
            incident_id: Some(Some(inc)),
            ..Default::default()
        },
        "kefu",
        h(2),
    )
    .unwrap();
    let trail = wf.audit(WorkflowObject::Case, c.id).unwrap();
    let got: Vec<(&str, &str)> = trail
        .iter()
        .map(|a| (a.action.as_str(), a.field.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("created", ""),
            ("note", "notes[0]"),
            ("edited", "assignee"),
            ("edited", "incident_id"),
        ]
    );
    assert_eq!(trail[2].old.as_deref(), Some("王芳"));
    assert_eq!(trail[3].old, None);
    // The incident's trail gathers its objects (the case joined it with the last edit).
    let all = wf.incident_audit(inc).unwrap();
    for o in [
        WorkflowObject::Report,
        WorkflowObject::Review,
        WorkflowObject::Measure,
        WorkflowObject::Case,
    ] {
        assert!(all.iter().any(|a| a.object == o), "{o}");
    }
    assert!(matches!(
        wf.edit_case(
            c.id,
            &CaseEdit {
                incident_id: Some(Some(999)),
                ..Default::default()
            },
            "k",
            h(3)
        ),
        Err(Error::NoIncident(999))
    ));
}

// ---------------------------------------------------------------- evaluation

/// 40 documents about the entity in the 30 days before the pivot, 20 of them negative; 40
/// after, 4 negative; plus documents that must not count.
fn history() -> Vec<Document> {
    let mut docs = Vec::new();
    for i in 0..40i64 {
        let neg = i < 20;
        let (label, score) = if neg {
            (SentimentLabel::Negative, -0.5)
        } else {
            (SentimentLabel::Neutral, 0.125)
        };
        let mut x = doc(&format!("b{i:02}"), h(-12 * (i + 1)), HX, label, score);
        if i % 4 == 0 {
            x.raw.channel = Channel::Complaint;
        }
        if i < 30 {
            x.analysis.body = "暴力催收".into();
        }
        docs.push(x);
    }
    for i in 0..40i64 {
        let neg = i < 4;
        let (label, score) = if neg {
            (SentimentLabel::Negative, -0.5)
        } else {
            (SentimentLabel::Neutral, 0.125)
        };
        let mut x = doc(&format!("a{i:02}"), h(12 * i + 1), HX, label, score);
        if (4..9).contains(&i) {
            // Negative overall, but not about the entity: the entity's sentiment counts.
            x.analysis.sentiment = sentiment(SentimentLabel::Negative, -0.8);
        }
        if i % 20 == 0 {
            x.raw.channel = Channel::Complaint;
        }
        if i < 10 {
            x.analysis.body = "暴力催收".into();
        }
        docs.push(x);
    }
    // Another entity, the day before and after.
    docs.push(doc("o1", h(-24), "suda", SentimentLabel::Negative, -0.9));
    docs.push(doc("o2", h(24), "suda", SentimentLabel::Negative, -0.9));
    // Outside the windows: 31 days before, and after "now" (day 25).
    docs.push(doc("x1", d(-31), HX, SentimentLabel::Negative, -0.9));
    docs.push(doc("x2", d(26), HX, SentimentLabel::Negative, -0.9));
    docs
}

#[test]
fn evaluation_numbers_on_a_constructed_history() {
    let (_dir, wf) = setup();
    wf.store().commit(&history(), &[]).unwrap();
    // Cases: before, one answered in 48 h, one answered after its deadline (18 days), one
    // still open and overdue at day 25; after, one answered in 24 h.
    let answered = |at: DateTime<Utc>, done: DateTime<Utc>| {
        let c = wf.open_case(&new_case("投诉", at), "kefu", at).unwrap();
        wf.set_case_status(c.id, CaseStatus::Analyzing, "k", at)
            .unwrap();
        wf.set_case_status(c.id, CaseStatus::Handling, "k", at)
            .unwrap();
        wf.answer_case(c.id, "已处理", "电话", "k", done).unwrap();
    };
    answered(d(-20), d(-18));
    answered(d(-20), d(-2));
    wf.open_case(&new_case("投诉", d(-10)), "kefu", d(-10))
        .unwrap();
    answered(d(1), d(2));

    let now = d(25);
    let spec = EvaluationSpec {
        entity_id: HX.into(),
        topic: EvaluationTopic {
            terms: vec!["催收".into()],
            ..Default::default()
        },
        pivot: p0(),
        window_days: 30,
    };
    let e = wf.compute_evaluation(&spec, now).unwrap();
    let (b, a) = (&e.entity.before, &e.entity.after);
    assert_eq!((b.from, b.to, a.from, a.to), (d(-30), p0(), p0(), now));
    assert_eq!((b.docs, b.negative, b.complaints), (40, 20, 10));
    assert_eq!((a.docs, a.negative, a.complaints), (40, 4, 2));
    assert_eq!(b.negative_rate, Some(0.5));
    assert_eq!(a.negative_rate, Some(0.1));
    let close = |x: Option<f64>, want: f64| {
        let x = x.unwrap();
        assert!((x - want).abs() < 1e-9, "{x} != {want}");
    };
    close(b.mean_sentiment, -0.1875);
    close(a.mean_sentiment, 0.0625);
    close(e.entity.negative_rate_change, -0.4);
    close(e.entity.mean_sentiment_change, 0.25);
    // p = 24/80 = 0.3; se = √(0.3·0.7·(1/40 + 1/40)) = √0.0105; z = −0.4/se.
    close(e.entity.negative_rate_z, -0.4 / 0.0105f64.sqrt());
    close(e.entity.negative_rate_z, -3.903_600_291_794_133);
    assert_eq!(e.entity.complaints_change, -8);

    let t = e.on_topic.as_ref().unwrap();
    assert_eq!((t.before.docs, t.before.negative), (30, 20));
    assert_eq!((t.after.docs, t.after.negative), (10, 4));
    close(t.negative_rate_z, two_proportion_z(20, 30, 4, 10).unwrap());

    let (cb, ca) = (&e.cases_before, &e.cases_after);
    assert_eq!((cb.cases, cb.answered, cb.overdue), (3, 2, 2));
    close(cb.mean_hours_to_answer, (48.0 + 18.0 * 24.0) / 2.0);
    close(cb.overdue_share, 2.0 / 3.0);
    assert_eq!((ca.cases, ca.answered, ca.overdue), (1, 1, 0));
    close(ca.mean_hours_to_answer, 24.0);

    // Degenerate samples have no z.
    assert_eq!(two_proportion_z(0, 0, 1, 2), None);
    assert_eq!(two_proportion_z(3, 3, 2, 2), None);

    // Stored through a measure done at the pivot, with manual inputs, audited.
    let inc = incident(wf.store(), d(-3), &[]);
    let m = wf
        .add_measure(inc, &new_measure(d(5)), "risk", d(-2))
        .unwrap();
    assert_eq!(
        wf.evaluate_measure(m.id, Some(30), "risk", now)
            .unwrap_err()
            .kind(),
        ErrorKind::Invalid
    );
    wf.set_measure_status(m.id, MeasureStatus::InProgress, "a", d(-1))
        .unwrap();
    wf.set_measure_status(m.id, MeasureStatus::Done, "a", p0())
        .unwrap();
    let stored = wf.evaluate_measure(m.id, Some(30), "risk", now).unwrap();
    assert!(stored.id > 0);
    assert_eq!(stored.entity, e.entity);
    assert_eq!(
        (stored.incident_id, stored.measure_id),
        (Some(inc), Some(m.id))
    );
    // The incident's topic: its evidence terms.
    assert_eq!(stored.topic.terms, ["暴力催收"]);
    let manual = ManualInputs {
        surveys: vec![SurveyFigure {
            name: "客户满意度".into(),
            unit: "%".into(),
            before: Some(82.0),
            after: Some(90.5),
            respondents_before: Some(400),
            respondents_after: Some(410),
        }],
        indicators: vec![],
        note: "季度调查".into(),
    };
    let with = wf
        .set_manual_inputs(stored.id, &manual, "risk", now)
        .unwrap();
    assert_eq!(with.manual, manual);
    assert_eq!(wf.evaluation(stored.id).unwrap().manual, manual);
    let fields: Vec<String> = wf
        .audit(WorkflowObject::Evaluation, stored.id)
        .unwrap()
        .into_iter()
        .map(|a| a.field)
        .collect();
    assert_eq!(fields, ["", "manual.note", "manual.surveys[0]"]);
    let by_incident = wf
        .evaluate_incident(inc, None, Some(30), "risk", now)
        .unwrap();
    assert_eq!(by_incident.pivot, p0());
    assert_eq!(wf.evaluations(Some(inc), None).unwrap().len(), 2);

    // The conclusion cites it; refused while a measure is open.
    let m2 = wf
        .add_measure(inc, &new_measure(d(40)), "risk", now)
        .unwrap();
    assert!(
        wf.conclude(inc, "负面率显著下降", Some(stored.id), "boss", now)
            .is_err()
    );
    wf.set_measure_status(m2.id, MeasureStatus::InProgress, "a", now)
        .unwrap();
    wf.set_measure_status(m2.id, MeasureStatus::Done, "a", now)
        .unwrap();
    let c = wf
        .conclude(
            inc,
            "负面率由 50% 降至 10%（z = −3.9），措施有效",
            Some(stored.id),
            "boss",
            now,
        )
        .unwrap();
    assert_eq!(wf.conclusion(inc).unwrap(), Some(c));
}

// ---------------------------------------------------------------- clocks and reminders

fn rows(store: &Store) -> Vec<OutboxRow> {
    store.outbox_rows(None).unwrap()
}

fn keys(store: &Store) -> Vec<String> {
    rows(store).into_iter().map(|r| r.dedup_key).collect()
}

#[test]
fn reminders_are_queued_once_per_due_event_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.briefing.daily = false;
    s.briefing.weekly = false;
    let wf = Workflow::new(
        open_store(dir.path()),
        s.clone(),
        chrono_tz::Asia::Shanghai,
        entities(),
    );
    let inc = incident(wf.store(), h(0), &[]);
    let m = wf
        .add_measure(inc, &new_measure(d(10)), "risk", h(1))
        .unwrap();
    let c = wf.open_case(&new_case("投诉", h(0)), "kefu", h(0)).unwrap();

    // Nothing due yet.
    let r = wf.tick(d(5)).unwrap();
    assert_eq!(r.queued, 0);
    assert_eq!(r.reports_drafted, 1);

    // Two days before the measure's deadline: due soon, once.
    let r = wf.tick(d(8)).unwrap();
    assert_eq!(r.reminders.measures_due_soon, 1);
    assert_eq!(r.queued, 1);
    assert_eq!(wf.tick(d(8) + Duration::hours(1)).unwrap().queued, 0);
    assert_eq!(
        keys(wf.store()),
        ["measure:1:due_soon:2024-05-11T00:00:00Z#kefu"]
    );
    let row = &rows(wf.store())[0];
    assert_eq!(row.channel, "kefu");
    assert_eq!(row.notification.kind, NotificationKind::Reminder);
    assert_eq!(row.notification.incident_id, Some(inc));
    assert!(
        row.notification.lines.iter().any(|l| l.contains("剩余2天")),
        "{:?}",
        row.notification.lines
    );
    assert_eq!(
        row.notification.console_url.as_deref(),
        Some(format!("http://127.0.0.1:8080/incidents/{inc}").as_str())
    );

    // Restart: same database, new workflow. Nothing is repeated.
    drop(wf);
    let wf = Workflow::new(
        open_store(dir.path()),
        s.clone(),
        chrono_tz::Asia::Shanghai,
        entities(),
    );
    assert_eq!(wf.tick(d(9)).unwrap().queued, 0);

    // Overdue (measure), and the case due soon (deadline day 15) at day 12 + 1 h.
    let r = wf.tick(d(12) + Duration::hours(1)).unwrap();
    assert_eq!(
        (r.reminders.measures_overdue, r.reminders.cases_due_soon),
        (1, 1)
    );
    assert_eq!(r.queued, 2);
    drop(wf);
    let wf = Workflow::new(
        open_store(dir.path()),
        s.clone(),
        chrono_tz::Asia::Shanghai,
        entities(),
    );
    assert_eq!(wf.tick(d(13)).unwrap().queued, 0);

    // A week overdue: repeated once; the case overdue too (to the reminder channel).
    let r = wf.tick(d(17) + Duration::hours(1)).unwrap();
    assert_eq!(r.queued, 2);
    assert_eq!(wf.tick(d(17) + Duration::hours(2)).unwrap().queued, 0);
    let cid = c.id;
    assert_eq!(
        keys(wf.store()),
        [
            "measure:1:due_soon:2024-05-11T00:00:00Z#kefu".to_string(),
            "measure:1:overdue:2024-05-11T00:00:00Z#kefu".into(),
            format!("case:{cid}:due_soon:2024-05-16T00:00:00Z#ops"),
            "measure:1:overdue:2024-05-11T00:00:00Z:1#kefu".into(),
            format!("case:{cid}:overdue:2024-05-16T00:00:00Z#ops"),
        ]
    );

    // A new deadline is a new due event; done stops the clock.
    wf.edit_measure(
        m.id,
        &MeasureEdit {
            deadline: Some(d(20)),
            ..Default::default()
        },
        "risk",
        d(18),
    )
    .unwrap();
    assert_eq!(wf.tick(d(18)).unwrap().queued, 1);
    assert!(keys(wf.store()).contains(&"measure:1:due_soon:2024-05-21T00:00:00Z#kefu".into()));
    wf.set_measure_status(m.id, MeasureStatus::InProgress, "a", d(18))
        .unwrap();
    wf.set_measure_status(m.id, MeasureStatus::Done, "a", d(19))
        .unwrap();
    let r = wf.tick(d(21)).unwrap();
    assert_eq!((r.reminders.measures_overdue, r.queued), (0, 0));

    // The supervision view lists every unverified measure with its age and clock.
    let m2 = wf
        .add_measure(inc, &new_measure(d(22)), "risk", d(21))
        .unwrap();
    let sv = wf.supervision(d(23)).unwrap();
    assert_eq!(sv.len(), 2);
    assert_eq!((sv[0].measure.id, sv[0].due), (m2.id, DueState::Overdue));
    assert_eq!(sv[0].age_days, 2.0);
    assert_eq!(sv[0].days_left, -1.0);
    assert_eq!((sv[1].measure.id, sv[1].due), (m.id, DueState::Stopped));
    assert_eq!(sv[1].incident_title, "恒信消费金融 负面舆情激增");
}

#[test]
fn a_manual_clock_drives_the_supervisor_without_sleeping() {
    let (_dir, wf) = setup();
    let clock = ManualClock::new(d(0));
    assert_eq!(clock.now(), d(0));
    assert_eq!(clock.advance(Duration::days(2)), d(2));
    clock.set(d(5));
    assert_eq!(clock.now(), d(5));
    let inc = incident(wf.store(), h(0), &[]);
    wf.add_measure(inc, &new_measure(d(6)), "risk", h(1))
        .unwrap();
    assert_eq!(wf.tick(clock.now()).unwrap().reminders.measures_due_soon, 1);
    clock.advance(Duration::days(2));
    assert_eq!(wf.tick(clock.now()).unwrap().reminders.measures_overdue, 1);
}

// ---------------------------------------------------------------- cases from documents

#[test]
fn complaint_documents_open_cases_once_and_join_incidents() {
    let (_dir, wf) = setup();
    let mut c1 = doc("c1", d(0), HX, SentimentLabel::Negative, -0.7);
    c1.raw.channel = Channel::Complaint;
    c1.raw.title = "恒信暴力催收 骚扰家人".into();
    c1.raw.body = "催收员每天打电话骚扰我的家人和同事".into();
    c1.raw.source_id = SourceId("complaint/heimao".into());
    let news = doc("n1", d(0), HX, SentimentLabel::Negative, -0.7);
    let mut rival = doc("c2", d(0), "suda", SentimentLabel::Negative, -0.7);
    rival.raw.channel = Channel::Complaint;
    let mut old = doc("c3", d(-40), HX, SentimentLabel::Negative, -0.7);
    old.raw.channel = Channel::Complaint;
    let mut inbound = doc("c4", d(0), HX, SentimentLabel::Neutral, 0.0);
    inbound.raw.channel = Channel::Inbound;
    let docs = vec![c1.clone(), news, rival, old, inbound];
    wf.store().commit(&docs, &[]).unwrap();

    let now = d(0) + Duration::hours(1);
    let ids = wf.cases_from_documents(&docs, now).unwrap();
    assert_eq!(ids.len(), 2);
    // Replayed after a restart: nothing new.
    assert!(wf.cases_from_documents(&docs, now).unwrap().is_empty());
    // A complaint committed just before a crash, never passed to the workflow: caught up at
    // start-up; the others already have their cases.
    let mut c6 = doc("c6", d(0), HX, SentimentLabel::Negative, -0.5);
    c6.raw.channel = Channel::Complaint;
    wf.store().commit([&c6], &[]).unwrap();
    let caught = wf.cases_catch_up(d(-2), now).unwrap();
    assert_eq!(caught.len(), 1);
    assert_eq!(
        wf.case(caught[0]).unwrap().source_doc,
        Some(c6.raw.id.clone())
    );
    assert!(wf.cases_catch_up(d(-2), now).unwrap().is_empty());
    let case = wf.store().case_for_doc(&c1.raw.id).unwrap().unwrap();
    assert_eq!(case.status, CaseStatus::Accepted);
    assert_eq!(case.title, "恒信暴力催收 骚扰家人");
    assert_eq!(case.channel, Channel::Complaint);
    assert_eq!(case.entity_id.as_deref(), Some(HX));
    assert_eq!(case.complainant.as_deref(), Some("网友"));
    assert_eq!(case.deadline, now + Duration::days(15));
    assert_eq!(case.incident_id, None);
    assert_eq!(case.created_by, SYSTEM_ACTOR);

    // The complaint joins an incident (complaint_surge): the supervisor links the case.
    let inc = incident(wf.store(), now, &[&c1]);
    let r = wf.tick(now + Duration::minutes(1)).unwrap();
    assert_eq!(r.cases_linked, 1);
    assert_eq!(wf.case(case.id).unwrap().incident_id, Some(inc));
    let linked = wf.audit(WorkflowObject::Case, case.id).unwrap();
    assert_eq!(linked.last().unwrap().action, "linked");
    assert_eq!(linked.last().unwrap().incident_id, Some(inc));
    assert_eq!(wf.tick(now + Duration::minutes(2)).unwrap().cases_linked, 0);
    // A complaint already in an incident is linked at creation.
    let mut c5 = doc("c5", d(0), HX, SentimentLabel::Negative, -0.7);
    c5.raw.channel = Channel::Complaint;
    wf.store().commit([&c5], &[]).unwrap();
    let mut tx = wf.store().incident_tx().unwrap();
    attach(&mut tx, inc, &c5, &[]);
    tx.commit().unwrap();
    let ids = wf.cases_from_documents(&[c5], now).unwrap();
    assert_eq!(wf.case(ids[0]).unwrap().incident_id, Some(inc));
    assert_eq!(
        wf.cases(&CaseQuery {
            incident_id: Some(inc),
            ..Default::default()
        })
        .unwrap()
        .len(),
        2
    );
}

// ---------------------------------------------------------------- report and briefings

#[test]
fn event_report_is_drafted_from_the_incidents_documents() {
    let (_dir, wf) = setup();
    let cluster = |id: &str, src: &str, at: DateTime<Utc>, size: u32| ClusterInfo {
        id: DocId(id.into()),
        first_source: SourceId(src.into()),
        first_seen: at,
        size,
    };
    let mut a = doc("a", h(1), HX, SentimentLabel::Negative, -0.8);
    a.raw.source_id = SourceId("social/weibo".into());
    a.raw.channel = Channel::Social;
    a.cluster = Some(cluster("a", "social/weibo", h(1), 1));
    a.analysis
        .mentions
        .push(mention(HX, "恒易借", AliasKind::Product));
    a.analysis
        .mentions
        .push(mention(HX, "恒易借", AliasKind::Product));
    a.analysis.risks = vec![RiskTag {
        id: "collection".into(),
        evidence: vec!["暴力催收".into()],
    }];
    a.analysis.dimensions = vec![DimensionTag {
        dimension: Dimension::People,
        evidence: vec!["催收员".into()],
    }];
    let mut b = doc("b", h(3), HX, SentimentLabel::Negative, -0.4);
    b.cluster = Some(cluster("a", "social/weibo", h(1), 3));
    b.analysis
        .mentions
        .push(mention(HX, "王建华", AliasKind::Person));
    b.analysis.dimensions = a.analysis.dimensions.clone();
    let mut c = doc("c", h(2), HX, SentimentLabel::Neutral, 0.0);
    c.cluster = Some(cluster("c", "news/a", h(2), 1));
    wf.store().commit([&a, &b, &c], &[]).unwrap();
    let inc = incident(wf.store(), h(4), &[&a, &b, &c]);

    let r = wf.event_report(inc, h(5)).unwrap();
    let f = &r.facts;
    assert_eq!(r.title, "恒信消费金融 负面舆情激增");
    assert_eq!((f.doc_count, f.start, f.end), (3, Some(h(1)), Some(h(3))));
    assert_eq!(f.entity_name, "恒信消费金融");
    assert_eq!(f.first_source, Some(SourceId("social/weibo".into())));
    assert_eq!(f.first_seen, Some(h(1)));
    assert_eq!(f.sources[0].name, "news/a");
    assert_eq!(f.sources[0].count, 2);
    assert_eq!(f.channels[0].label.as_deref(), Some("新闻"));
    assert_eq!(
        (f.products[0].name.as_str(), f.products[0].count),
        ("恒易借", 1)
    );
    assert_eq!(f.people[0].name, "王建华");
    assert_eq!(
        f.sentiment,
        LabelCounts {
            negative: 2,
            neutral: 1,
            positive: 0
        }
    );
    assert_eq!(f.top_docs[0].doc_id.as_str(), "a");
    assert_eq!(f.top_terms[0].name, "暴力催收");
    assert_eq!(f.top_terms[0].count, 3);
    assert_eq!(f.risks[0].name, "collection");
    assert_eq!(f.dimensions[0].label.as_deref(), Some("人"));
    // Propagation: the weibo story (a, then b on news) first, then c.
    assert_eq!(f.propagation.len(), 2);
    let s0 = &f.propagation[0];
    assert_eq!(s0.cluster_id.as_str(), "a");
    assert_eq!(s0.cluster_size, 3);
    let steps: Vec<&str> = s0.steps.iter().map(|s| s.doc_id.as_str()).collect();
    assert_eq!(steps, ["a", "b"]);
    assert_eq!(s0.steps[0].channel, Channel::Social);
    assert!(
        r.summary
            .contains("监测到与恒信消费金融相关的信息3篇，其中负面2篇"),
        "{}",
        r.summary
    );
    assert!(r.summary.contains("05月01日 09:00"), "{}", r.summary);
    // Drafted once: a second call returns the stored one.
    assert_eq!(wf.event_report(inc, h(9)).unwrap(), r);

    // Refresh after more documents attached.
    let d2 = doc("d", h(6), HX, SentimentLabel::Negative, -0.9);
    wf.store().commit([&d2], &[]).unwrap();
    let mut tx = wf.store().incident_tx().unwrap();
    attach(&mut tx, inc, &d2, &[]);
    tx.commit().unwrap();
    let r2 = wf.refresh_report(inc, "analyst", h(7)).unwrap();
    assert_eq!(r2.facts.doc_count, 4);
    // Nobody wrote the summary yet: it is re-drafted with the facts.
    assert!(
        r2.summary.contains("信息4篇，其中负面3篇"),
        "{}",
        r2.summary
    );
    assert!(
        wf.audit(WorkflowObject::Report, inc)
            .unwrap()
            .iter()
            .any(|a| a.action == "refreshed" && a.field == "facts.doc_count")
    );
    let edit = ReportEdit {
        summary: Some("分析师写的概述".into()),
        ..Default::default()
    };
    wf.edit_report(inc, &edit, "analyst", h(7)).unwrap();

    // The incident resolves after one more document: the supervisor re-drafts the facts
    // once, keeping the analyst's summary.
    let e2 = doc("e", h(8), HX, SentimentLabel::Negative, -0.9);
    wf.store().commit([&e2], &[]).unwrap();
    let mut resolved = wf.store().incident(inc).unwrap().unwrap();
    resolved.status = IncidentStatus::Resolved;
    resolved.resolved_at = Some(h(10));
    let mut tx = wf.store().incident_tx().unwrap();
    attach(&mut tx, inc, &e2, &[]);
    tx.save_incident(&resolved).unwrap();
    tx.commit().unwrap();
    assert_eq!(wf.tick(h(11)).unwrap().reports_refreshed, 1);
    let r3 = wf.store().event_report(inc).unwrap().unwrap();
    assert_eq!(r3.facts.doc_count, 5);
    assert_eq!(r3.summary, "分析师写的概述");
    assert_eq!(r3.refreshed_at, h(11));
    assert_eq!(r3.updated_by.as_deref(), Some("analyst"));
    let last = wf
        .audit(WorkflowObject::Report, inc)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        (SYSTEM_ACTOR, "refreshed")
    );
    assert_eq!(wf.tick(h(12)).unwrap().reports_refreshed, 0);

    // The full report, as Markdown.
    wf.start_review(inc, "analyst", h(8)).unwrap();
    wf.add_measure(inc, &new_measure(d(10)), "risk", h(8))
        .unwrap();
    let full = wf.full_report(inc, h(9)).unwrap();
    assert_eq!(full.measures.len(), 1);
    let md = render_full_report_markdown(&full, chrono_tz::Asia::Shanghai);
    for want in [
        "# 事件报告：恒信消费金融 负面舆情激增",
        "## 二、传播路径",
        "| 人 | 是 |",
        "催收人员合规培训",
        "尚未结案",
        "[标题 a](https://example.com/a)",
    ] {
        assert!(md.contains(want), "missing {want}:\n{md}");
    }
    assert!(serde_json::to_string(&full).is_ok());
}

#[test]
fn briefings_are_sent_once_per_period_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.briefing.daily_at = ClockTime {
        hour: 8,
        minute: 30,
    };
    s.briefing.weekly_at = ClockTime { hour: 9, minute: 0 };
    s.briefing.top_docs = 2;
    let make = |s: &WorkflowSettings| {
        Workflow::new(
            open_store(dir.path()),
            s.clone(),
            chrono_tz::Asia::Shanghai,
            entities(),
        )
    };
    let wf = make(&s);
    // 2024-05-02 08:30 in Shanghai is 00:30 UTC; the day before it: 3 negative of 5.
    let slot = Utc.with_ymd_and_hms(2024, 5, 2, 0, 30, 0).unwrap();
    let mut docs = vec![
        doc(
            "n1",
            slot - Duration::hours(2),
            HX,
            SentimentLabel::Negative,
            -0.3,
        ),
        doc(
            "n2",
            slot - Duration::hours(3),
            HX,
            SentimentLabel::Negative,
            -0.9,
        ),
        doc(
            "n3",
            slot - Duration::hours(4),
            HX,
            SentimentLabel::Negative,
            -0.6,
        ),
        doc(
            "p1",
            slot - Duration::hours(5),
            HX,
            SentimentLabel::Positive,
            0.5,
        ),
        doc(
            "u1",
            slot - Duration::hours(6),
            "suda",
            SentimentLabel::Neutral,
            0.0,
        ),
        doc(
            "old",
            slot - Duration::hours(30),
            HX,
            SentimentLabel::Negative,
            -0.9,
        ),
    ];
    docs[1].raw.title = "恒信*暴力催收*曝光".into();
    wf.store().commit(&docs, &[]).unwrap();
    let inc = incident(wf.store(), slot - Duration::hours(2), &[]);
    let m = wf
        .add_measure(
            inc,
            &new_measure(slot - Duration::days(1)),
            "risk",
            slot - Duration::days(3),
        )
        .unwrap();
    let c = wf
        .open_case(
            &new_case("逾期未答复", slot - Duration::days(20)),
            "kefu",
            slot - Duration::days(20),
        )
        .unwrap();

    // Before 08:30 local: yesterday's daily is due (first start), once.
    let r = wf.tick(slot - Duration::minutes(10)).unwrap();
    assert_eq!(r.briefings, ["daily:2024-05-01", "weekly:2024-04-29"]);
    let r = wf.tick(slot + Duration::minutes(1)).unwrap();
    assert_eq!(r.briefings, ["daily:2024-05-02"]);
    assert!(
        wf.tick(slot + Duration::minutes(2))
            .unwrap()
            .briefings
            .is_empty()
    );
    drop(wf);
    let wf = make(&s);
    assert!(
        wf.tick(slot + Duration::hours(3))
            .unwrap()
            .briefings
            .is_empty()
    );
    let briefing_keys: Vec<String> = keys(wf.store())
        .into_iter()
        .filter(|k| k.starts_with("briefing:"))
        .collect();
    assert_eq!(
        briefing_keys,
        [
            "briefing:daily:2024-05-01#brief",
            "briefing:weekly:2024-04-29#brief",
            "briefing:daily:2024-05-02#brief"
        ]
    );
    let runs = wf.store().schedule_runs().unwrap();
    assert_eq!(runs[0].job, "briefing:daily");
    assert_eq!(runs[0].last_period, "2024-05-02");

    // Its content.
    let b = wf.briefing(BriefingKind::Daily, slot, slot).unwrap();
    assert_eq!((b.from, b.to), (slot - Duration::days(1), slot));
    assert_eq!((b.docs, b.negative), (5, 3));
    assert_eq!(b.negative_share, Some(0.6));
    assert_eq!((b.previous_docs, b.previous_negative), (1, 1));
    assert_eq!(b.by_entity[0].entity_id, HX);
    assert_eq!((b.by_entity[0].docs, b.by_entity[0].negative), (4, 3));
    let top: Vec<&str> = b.top_negative.iter().map(|d| d.doc_id.as_str()).collect();
    assert_eq!(top, ["n2", "n3"]);
    assert_eq!(b.new_incidents.len(), 1);
    assert_eq!(b.open_incidents[0].id, inc);
    assert_eq!(b.overdue_measures[0].id, m.id);
    assert_eq!(b.overdue_measures[0].overdue_days, 1.0);
    assert_eq!(b.overdue_cases[0].id, c.id);
    assert_eq!((b.cases_opened, b.open_cases), (0, 1));

    let md = render_briefing_markdown(&b, chrono_tz::Asia::Shanghai);
    for want in [
        "# 舆情日报（2024-05-01 08:30 — 2024-05-02 08:30）",
        "- 信息总量：5 篇（上期 1 篇）",
        "- 负面信息：3 篇，占比 60.0%（上期 100.0%）",
        "| 恒信消费金融 | 4 | 3 |",
        "1. [恒信＊暴力催收＊曝光](https://example.com/n2)",
        "### 新增事件（1）",
        "### 逾期改进措施（1）",
        "催收人员合规培训 — 客服·张敏",
        "### 逾期工单（1）",
    ] {
        assert!(md.contains(want), "missing {want}:\n{md}");
    }
    let n = wf.briefing_notification(&b);
    assert_eq!(n.kind, NotificationKind::Briefing);
    assert_eq!(n.title, "舆情日报 05-02");
    assert_eq!(n.top_docs.len(), 2);
    assert!(
        n.lines.iter().any(|l| l.contains("负面 3 篇，占比 60.0%")),
        "{:?}",
        n.lines
    );
    let sent = rows(wf.store());
    let daily = sent
        .iter()
        .find(|r| r.dedup_key == "briefing:daily:2024-05-02#brief")
        .unwrap();
    assert_eq!(daily.notification.title, "舆情日报 05-02");

    // Weekly: Monday 09:00 local.
    let wed = Utc.with_ymd_and_hms(2024, 5, 8, 3, 0, 0).unwrap();
    assert_eq!(
        wf.briefing_slot(BriefingKind::Weekly, wed),
        Some(Utc.with_ymd_and_hms(2024, 5, 6, 1, 0, 0).unwrap())
    );
    let mon_early = Utc.with_ymd_and_hms(2024, 5, 6, 0, 59, 0).unwrap();
    assert_eq!(
        wf.briefing_slot(BriefingKind::Weekly, mon_early),
        Some(Utc.with_ymd_and_hms(2024, 4, 29, 1, 0, 0).unwrap())
    );
}

#[test]
fn the_supervisor_loop_stops_when_cancelled() {
    let (_dir, wf) = setup();
    let inc = incident(wf.store(), h(0), &[]);
    wf.add_measure(inc, &new_measure(d(1)), "risk", h(1))
        .unwrap();
    let wf = Arc::new(wf);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let wake = Arc::new(tokio::sync::Notify::new());
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(d(2)));
    rt.block_on(async {
        let task = tokio::spawn(run_supervisor(
            wf.clone(),
            clock,
            cancel.clone(),
            Some(wake.clone()),
        ));
        // The first pass queues the overdue reminder and wakes the deliverer.
        tokio::time::timeout(std::time::Duration::from_secs(10), wake.notified())
            .await
            .expect("woken");
        cancel.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(10), task)
            .await
            .expect("stopped")
            .unwrap();
    });
    let reminders: Vec<String> = keys(wf.store())
        .into_iter()
        .filter(|k| k.starts_with("measure:"))
        .collect();
    assert_eq!(reminders, ["measure:1:overdue:2024-05-02T00:00:00Z#kefu"]);
}
