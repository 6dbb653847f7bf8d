//! The demo's scripted improvement loop: once the complaint wave has opened an incident
//! against the watched company, a scripted analyst reviews it along the seven dimensions,
//! records a root cause and a measure, works the measure to done, and the company
//! "remediates" (the simulated web publishes follow-up stories). When those are in, the
//! script evaluates the measure from the monitored data and concludes the incident citing
//! the evaluation. Every step goes through the same workflow API the console uses, so the
//! console shows the loop as it happens, and every change is audited under the script's name.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use yuqing_model::{Dimension, IncidentStatus};
use yuqing_store::Store;
use yuqing_workflow::{
    DimensionEdit, MeasureCategory, MeasureStatus, NewMeasure, ReviewEdit, ReviewStatus,
    RootCauseEdit, Workflow,
};

use super::web::SimWeb;

/// Who the script's changes are recorded as.
pub const ANALYST: &str = "演示分析员";
/// Who approves the scripted review.
pub const APPROVER: &str = "演示管理员";

/// One scripted step, run on a blocking thread; returns the line to print.
type Step = Box<dyn FnOnce(&Workflow) -> Result<String> + Send>;

/// How often the script looks at the store.
const LOOK: Duration = Duration::from_millis(500);

fn pct(r: Option<f64>) -> String {
    r.map_or("—".into(), |r| format!("{:.0}%", r * 100.0))
}

/// Run the loop (until it is done or the task is dropped). `entity` is the watched company;
/// `settle` is how long the collector needs to pick up a published story.
pub async fn run(
    config: yuqing_config::Config,
    db: std::path::PathBuf,
    web: Arc<SimWeb>,
    entity: String,
    settle: Duration,
) -> Result<()> {
    let store = loop {
        // The daemon creates the database; wait for it.
        if db.exists()
            && let Ok(s) = Store::open(&db, config.settings.pipeline.failing_after)
        {
            break Arc::new(s);
        }
        tokio::time::sleep(LOOK).await;
    };
    let wf = Arc::new(Workflow::from_config(store.clone(), &config));
    let blocking = |f: Step| {
        let wf = wf.clone();
        async move {
            tokio::task::spawn_blocking(move || f(&wf))
                .await
                .context("workflow step panicked")?
        }
    };

    // 1. The complaint wave opens an incident against the company.
    let incident = loop {
        let s = store.clone();
        let e = entity.clone();
        let found = tokio::task::spawn_blocking(move || {
            s.incidents(None, 50).map(|v| {
                v.into_iter()
                    .filter(|i| i.entity_id == e && i.status != IncidentStatus::Resolved)
                    .min_by_key(|i| i.id)
            })
        })
        .await??;
        if let Some(i) = found {
            break i;
        }
        tokio::time::sleep(LOOK).await;
    };
    let id = incident.id;
    println!("  [改进闭环] 事件 #{id} 已开启：{}", incident.title);
    // The analysts review once the wave has run its course (and the collector caught up).
    while !web.all_published() {
        tokio::time::sleep(LOOK).await;
    }
    tokio::time::sleep(settle).await;

    // 2. Its event report is drafted from the data; 3. the review, root cause and measure.
    let line = blocking(Box::new(move |wf| {
        let now = Utc::now();
        wf.event_report(id, now)?;
        wf.start_review(id, ANALYST, now)?;
        let candidates = wf.evidence_candidates(id)?;
        let evidence = |d: Dimension| candidates.get(&d).cloned().unwrap_or_default();
        wf.edit_review(
            id,
            &ReviewEdit {
                dimensions: vec![
                    DimensionEdit {
                        dimension: Dimension::People,
                        applies: Some(true),
                        finding: Some(
                            "外包催收人员培训与考核不足，存在骚扰通讯录联系人的行为".into(),
                        ),
                        evidence: Some(evidence(Dimension::People)),
                    },
                    DimensionEdit {
                        dimension: Dimension::Process,
                        applies: Some(true),
                        finding: Some("催收外包缺少全程录音质检与投诉闭环流程".into()),
                        evidence: Some(evidence(Dimension::Process)),
                    },
                ],
                root_causes: Some(vec![RootCauseEdit {
                    id: None,
                    text: "催收外包管理流程缺失：无录音质检、无投诉回访".into(),
                    dimensions: vec![Dimension::People, Dimension::Process],
                }]),
                departments: Some(vec!["风险管理部".into(), "客服".into()]),
                participants: Some(vec![ANALYST.into(), "风险管理部 张敏".into()]),
                summary: Some("投诉集中于外包催收行为，根因在于外包管理流程缺失。".into()),
                ..ReviewEdit::default()
            },
            ANALYST,
            now,
        )?;
        wf.set_review_status(id, ReviewStatus::InReview, ANALYST, now)?;
        wf.set_review_status(id, ReviewStatus::Approved, APPROVER, now)?;
        let cause = wf
            .review(id)?
            .and_then(|r| r.root_causes.first().map(|c| c.id));
        let m = wf.add_measure(
            id,
            &NewMeasure {
                category: MeasureCategory::Process,
                description: "终止违规外包合作，上线催收全程录音质检与投诉回访".into(),
                owner_department: "风险管理部".into(),
                owner: "张敏".into(),
                resources: "质检系统改造".into(),
                deadline: now + chrono::Duration::days(7),
                root_cause: cause,
            },
            ANALYST,
            now,
        )?;
        wf.set_measure_status(m.id, MeasureStatus::InProgress, "张敏", now)?;
        wf.add_progress(
            m.id,
            "已终止两家外包机构合作，质检系统上线",
            Some(100),
            "张敏",
            now,
        )?;
        wf.set_measure_status(m.id, MeasureStatus::Done, "张敏", Utc::now())?;
        Ok(format!(
            "  [改进闭环] 已生成事件报告，完成七维度复盘（已批准），措施 #{} 已完成",
            m.id
        ))
    }))
    .await?;
    println!("{line}");

    // 4. The company remediates: follow-up stories appear and are collected.
    let n = web.remediate();
    println!("  [改进闭环] 整改后的后续报道开始发布（{n} 篇）");
    loop {
        tokio::time::sleep(LOOK).await;
        let s = store.clone();
        let e = entity.clone();
        let measures = wf.measures(&yuqing_workflow::MeasureQuery {
            incident_id: Some(id),
            ..Default::default()
        })?;
        let Some(done_at) = measures.iter().filter_map(|m| m.done_at).max() else {
            anyhow::bail!("the scripted measure has no done time");
        };
        let after = tokio::task::spawn_blocking(move || {
            s.documents_in_window(done_at, Utc::now() + chrono::Duration::seconds(1), Some(&e))
                .map(|docs| docs.len())
        })
        .await??;
        if after >= n {
            break;
        }
    }

    // 5. Evaluate the measure from the data and conclude the incident citing it.
    let line = blocking(Box::new(move |wf| {
        let now = Utc::now();
        let m = wf
            .measures(&yuqing_workflow::MeasureQuery {
                incident_id: Some(id),
                ..Default::default()
            })?
            .into_iter()
            .next()
            .context("the scripted measure is gone")?;
        let e = wf.evaluate_measure(m.id, Some(1), ANALYST, now)?;
        let (b, a) = (&e.entity.before, &e.entity.after);
        let summary = format!(
            "负面占比 {} → {}（{} / {} 篇 → {} / {} 篇{}）",
            pct(b.negative_rate),
            pct(a.negative_rate),
            b.negative,
            b.docs,
            a.negative,
            a.docs,
            e.entity
                .negative_rate_z
                .map_or(String::new(), |z| format!("，z = {z:.2}"))
        );
        wf.set_measure_status(m.id, MeasureStatus::Verified, APPROVER, now)?;
        wf.conclude(
            id,
            &format!("整改后{summary}，改进有效。"),
            Some(e.id),
            APPROVER,
            now,
        )?;
        Ok(format!(
            "  [改进闭环] 效果评估 #{}：{summary}；事件 #{id} 已作结论",
            e.id
        ))
    }))
    .await?;
    println!("{line}");
    Ok(())
}
