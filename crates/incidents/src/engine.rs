//! The incremental rule engine: sliding windows per group key, the incident state machine,
//! and the writes (incident rows, attached documents, audit events, outbox rows) through a
//! [`Sink`] that is either a store transaction or memory (back-testing).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use yuqing_model::{
    Channel, DocId, Document, Entity, Incident, IncidentDoc, IncidentEvent, IncidentEventKind,
    IncidentStatus, IncidentWhy, Notification, NotificationKind, RuleKind, SentimentLabel,
    Severity, SourceId,
};
use yuqing_store::{IncidentTx, Store};

use crate::message::{self, Numbers};
use crate::rules::{GroupBy, Rule, RuleSet, SentimentFilter};
use crate::{Error, Result};

/// What routing sees besides the notification: enough to pick chat groups by entity,
/// severity, rule, risk category or channel.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteInput<'a> {
    /// Rule id.
    pub rule_id: &'a str,
    /// Rule kind.
    pub rule_kind: RuleKind,
    /// Entity id.
    pub entity_id: &'a str,
    /// Severity of the notification.
    pub severity: Severity,
    /// Risk categories of the attached documents seen by this process (may be empty after a
    /// restart until new documents attach).
    pub risks: &'a [String],
    /// Channels of the attached documents seen by this process (same caveat).
    pub channels: &'a [Channel],
}

/// Picks the channel ids (named chat groups) a notification goes to. The notify crate
/// provides it; an empty answer queues nothing.
pub type Route = Box<dyn Fn(&Notification, &RouteInput<'_>) -> Vec<String> + Send + Sync>;

/// What changed, as reported to the caller (for logs and metrics); the store holds the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentChange {
    /// The incident.
    pub incident_id: i64,
    /// Its rule.
    pub rule_id: String,
    /// Its entity.
    pub entity_id: String,
    /// What happened.
    pub kind: ChangeKind,
    /// Severity after the change.
    pub severity: Severity,
    /// When (the engine's `now`, or the resolution time).
    pub at: DateTime<Utc>,
}

/// Kind of an [`IncidentChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new incident.
    Opened,
    /// A resolved incident reopened by a new wave.
    Reopened,
    /// Documents attached.
    Attached {
        /// How many.
        docs: usize,
    },
    /// Severity rose with the numbers.
    SeverityRaised {
        /// Before.
        from: Severity,
    },
    /// Unacknowledged too long: severity one up and a reminder.
    UnacknowledgedEscalation,
    /// A grouped follow-up notification was queued.
    Updated,
    /// Quiet for the quiet period.
    Resolved,
}

/// Where the engine writes. Implemented by the store's transaction and by memory.
pub(crate) trait Sink {
    fn create(&mut self, inc: &Incident) -> Result<i64>;
    fn save(&mut self, inc: &Incident) -> Result<()>;
    fn attach(&mut self, d: &IncidentDoc) -> Result<bool>;
    fn event(&mut self, e: &IncidentEvent) -> Result<()>;
    fn notify(
        &mut self,
        channel: &str,
        dedup_key: &str,
        n: &Notification,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    fn acknowledged(&mut self, id: i64) -> Result<bool>;
}

impl Sink for IncidentTx<'_> {
    fn create(&mut self, inc: &Incident) -> Result<i64> {
        Ok(self.insert_incident(inc)?)
    }
    fn save(&mut self, inc: &Incident) -> Result<()> {
        Ok(self.save_incident(inc)?)
    }
    fn attach(&mut self, d: &IncidentDoc) -> Result<bool> {
        Ok(self.attach_doc(d)?)
    }
    fn event(&mut self, e: &IncidentEvent) -> Result<()> {
        Ok(self.add_event(e)?)
    }
    fn notify(
        &mut self,
        channel: &str,
        dedup_key: &str,
        n: &Notification,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(self.enqueue(channel, dedup_key, n, now)?)
    }
    fn acknowledged(&mut self, id: i64) -> Result<bool> {
        Ok(self.acknowledged_at(id)?.is_some())
    }
}

/// A sink that keeps everything in memory (back-testing; never touches the store).
#[derive(Debug, Default)]
pub(crate) struct MemorySink {
    pub incidents: BTreeMap<i64, Incident>,
    pub notifications: Vec<(String, Notification)>,
    dedup: HashSet<String>,
}

impl Sink for MemorySink {
    fn create(&mut self, inc: &Incident) -> Result<i64> {
        let id = self.incidents.len() as i64 + 1;
        let mut inc = inc.clone();
        inc.id = id;
        self.incidents.insert(id, inc);
        Ok(id)
    }
    fn save(&mut self, inc: &Incident) -> Result<()> {
        self.incidents.insert(inc.id, inc.clone());
        Ok(())
    }
    fn attach(&mut self, _: &IncidentDoc) -> Result<bool> {
        Ok(true)
    }
    fn event(&mut self, _: &IncidentEvent) -> Result<()> {
        Ok(())
    }
    fn notify(&mut self, _: &str, key: &str, n: &Notification, _: DateTime<Utc>) -> Result<bool> {
        let new = self.dedup.insert(key.to_string());
        if new {
            self.notifications.push((key.to_string(), n.clone()));
        }
        Ok(new)
    }
    fn acknowledged(&mut self, _: i64) -> Result<bool> {
        Ok(false)
    }
}

/// The time a document counts at: its publication time, unless missing or later than its
/// fetch time (clock skew, scheduled posts), then its fetch time.
pub fn event_time(d: &Document) -> DateTime<Utc> {
    match d.raw.published_at {
        Some(p) if p <= d.raw.fetched_at => p,
        _ => d.raw.fetched_at,
    }
}

/// What a window keeps of a matching document.
#[derive(Debug, Clone)]
struct DocSummary {
    id: DocId,
    at: DateTime<Utc>,
    source: SourceId,
    channel: Channel,
    title: String,
    url: Option<String>,
    terms: Vec<String>,
    risks: Vec<String>,
    cluster: Option<DocId>,
    cluster_first: Option<(SourceId, DateTime<Utc>)>,
}

/// Matching documents of one group key, by time; inserting a document twice is a no-op.
#[derive(Debug, Default)]
struct Window {
    entries: BTreeMap<(DateTime<Utc>, DocId), Arc<DocSummary>>,
    ids: HashSet<DocId>,
}

impl Window {
    fn insert(&mut self, d: Arc<DocSummary>) -> bool {
        if !self.ids.insert(d.id.clone()) {
            return false;
        }
        self.entries.insert((d.at, d.id.clone()), d);
        true
    }

    /// Documents with `from <= at <= to`.
    fn range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = &Arc<DocSummary>> {
        self.entries
            .range((from, DocId(String::new()))..)
            .take_while(move |((at, _), _)| *at <= to)
            .map(|(_, d)| d)
    }

    fn count(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
        self.range(from, to).count() as u64
    }

    fn prune(&mut self, before: DateTime<Utc>) {
        let keep = self.entries.split_off(&(before, DocId(String::new())));
        for (_, d) in std::mem::replace(&mut self.entries, keep) {
            self.ids.remove(&d.id);
        }
    }
}

/// The engine's view of one incident.
#[derive(Debug)]
struct Live {
    inc: Incident,
    docs: Vec<IncidentDoc>,
    attached: HashSet<DocId>,
    risks: BTreeSet<String>,
    channels: Vec<Channel>,
    first: Option<(SourceId, DateTime<Utc>)>,
    numbers: Numbers,
}

/// One group key: a rule, an entity and a topic.
#[derive(Debug)]
struct Group {
    rule: usize,
    entity: String,
    topic: Option<String>,
    window: Window,
    live: Option<Live>,
}

/// The incremental rule engine. See the crate documentation for the contract.
pub struct Engine {
    rules: RuleSet,
    entity_names: HashMap<String, String>,
    route: Route,
    groups: HashMap<String, Group>,
    needs_restore: bool,
    escalate_unacknowledged: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules.rules.len())
            .field("groups", &self.groups.len())
            .field("needs_restore", &self.needs_restore)
            .finish()
    }
}

impl Engine {
    /// An engine over `rules`. `entities` give display names for titles; `route` picks the
    /// channels of each notification. Its state is restored from the store on the first
    /// [`Engine::on_committed`] or [`Engine::tick`].
    pub fn new(rules: RuleSet, entities: &[Entity], route: Route) -> Engine {
        Engine {
            rules,
            entity_names: entities
                .iter()
                .map(|e| (e.id.clone(), e.name.clone()))
                .collect(),
            route,
            groups: HashMap::new(),
            needs_restore: true,
            escalate_unacknowledged: true,
        }
    }

    /// The rules it evaluates.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Incidents the engine currently tracks (active, or resolved within their reopen
    /// window), by id.
    pub fn tracked_incidents(&self) -> Vec<Incident> {
        let mut v: Vec<Incident> = self
            .groups
            .values()
            .filter_map(|g| g.live.as_ref().map(|l| l.inc.clone()))
            .collect();
        v.sort_by_key(|i| i.id);
        v
    }

    /// Evaluate documents the writer just committed to the store. Writes every resulting
    /// change (incidents, attached documents, audit events, outbox rows) in one store
    /// transaction. Idempotent: documents already counted or attached change nothing, and
    /// outbox rows carry deterministic dedup keys. On the first call, or after a failed
    /// call, it first rebuilds its state from the store (which already holds `docs`).
    pub fn on_committed(
        &mut self,
        store: &Store,
        docs: &[Document],
        now: DateTime<Utc>,
    ) -> Result<Vec<IncidentChange>> {
        if self.needs_restore {
            return self.restore(store, now);
        }
        let docs: Vec<&Document> = docs.iter().collect();
        self.in_tx(store, |engine, tx| engine.process(tx, &docs, now))
    }

    /// Time-driven work with no new documents: resolve quiet incidents, escalate
    /// unacknowledged ones, queue grouped updates that waited for `group_interval`. Call it
    /// periodically (every few seconds to a minute).
    pub fn tick(&mut self, store: &Store, now: DateTime<Utc>) -> Result<Vec<IncidentChange>> {
        if self.needs_restore {
            return self.restore(store, now);
        }
        self.in_tx(store, |engine, tx| {
            let mut out = Vec::new();
            engine.housekeeping(tx, now, &mut out)?;
            engine.follow_ups(tx, now, &mut out)?;
            Ok(out)
        })
    }

    /// Acknowledge an incident (stored with its audit event) and update the engine's view.
    pub fn acknowledge(
        &mut self,
        store: &Store,
        id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = store.acknowledge_incident(id, by, now)?;
        if done && let Some(l) = self.live_mut(id) {
            l.inc.status = IncidentStatus::Acknowledged;
            l.inc.acknowledged_at = Some(now);
            l.inc.acknowledged_by = Some(by.to_string());
        }
        Ok(done)
    }

    /// Assign an incident (stored with its audit event) and update the engine's view.
    pub fn assign(
        &mut self,
        store: &Store,
        id: i64,
        assignee: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = store.assign_incident(id, assignee, by, now)?;
        if done && let Some(l) = self.live_mut(id) {
            l.inc.assignee = Some(assignee.to_string());
        }
        Ok(done)
    }

    fn live_mut(&mut self, id: i64) -> Option<&mut Live> {
        self.groups
            .values_mut()
            .filter_map(|g| g.live.as_mut())
            .find(|l| l.inc.id == id)
    }

    /// Turn off the unacknowledged escalation (back-testing has nobody to acknowledge).
    pub(crate) fn without_unacknowledged_escalation(mut self) -> Engine {
        self.escalate_unacknowledged = false;
        self.needs_restore = false;
        self
    }

    fn in_tx(
        &mut self,
        store: &Store,
        f: impl FnOnce(&mut Engine, &mut IncidentTx<'_>) -> Result<Vec<IncidentChange>>,
    ) -> Result<Vec<IncidentChange>> {
        let result = (|| {
            let mut tx = store.incident_tx()?;
            let out = f(self, &mut tx)?;
            tx.commit()?;
            Ok(out)
        })();
        if result.is_err() {
            // The in-memory state may be ahead of the rolled-back store: rebuild next time.
            self.needs_restore = true;
        }
        result
    }

    /// Rebuild from the store: the incidents that may still change, then every committed
    /// document of the last [`RuleSet::span`], re-evaluated in time order. Re-evaluation is
    /// idempotent, and it catches up on documents committed just before a crash that the
    /// engine never saw.
    fn restore(&mut self, store: &Store, now: DateTime<Utc>) -> Result<Vec<IncidentChange>> {
        self.groups.clear();
        let incidents = store.incidents_to_restore(now - self.rules.max_reopen_window())?;
        for inc in incidents {
            let Some(rule) = self.rules.rules.iter().position(|r| r.id == inc.rule_id) else {
                tracing::warn!(incident = inc.id, rule = %inc.rule_id, "rule of incident is gone; not tracked");
                continue;
            };
            let docs = store.incident_docs(inc.id)?;
            let first = docs.first().map(|d| (d.source_id.clone(), d.doc_at));
            let live = Live {
                attached: docs.iter().map(|d| d.doc_id.clone()).collect(),
                numbers: Numbers {
                    observed: inc.peak,
                    ..Numbers::default()
                },
                docs,
                risks: BTreeSet::new(),
                channels: Vec::new(),
                first: inc
                    .why
                    .first_source
                    .clone()
                    .zip(inc.why.first_seen)
                    .or(first),
                inc,
            };
            self.groups.insert(
                live.inc.group_key.clone(),
                Group {
                    rule,
                    entity: live.inc.entity_id.clone(),
                    topic: live.inc.topic.clone(),
                    window: Window::default(),
                    live: Some(live),
                },
            );
        }
        let docs = store.documents_between(now - self.rules.span(), now + Duration::days(1))?;
        tracing::info!(
            incidents = self.groups.len(),
            docs = docs.len(),
            "incident engine restored"
        );
        let docs: Vec<&Document> = docs.iter().collect();
        self.needs_restore = false;
        self.in_tx(store, |engine, tx| engine.process(tx, &docs, now))
    }

    /// Count documents into the windows without evaluating (warm-up before a back-test).
    pub(crate) fn observe(&mut self, docs: &[&Document], now: DateTime<Utc>) {
        self.add_to_windows(docs, now);
    }

    /// One evaluation at `now`: resolve what went quiet, count `docs` in, evaluate the group
    /// keys they touched, then escalations and grouped follow-ups.
    pub(crate) fn process(
        &mut self,
        sink: &mut dyn Sink,
        docs: &[&Document],
        now: DateTime<Utc>,
    ) -> Result<Vec<IncidentChange>> {
        let mut out = Vec::new();
        self.housekeeping(sink, now, &mut out)?;
        let touched = self.add_to_windows(docs, now);
        for key in touched {
            self.evaluate(sink, &key, now, &mut out)?;
        }
        self.follow_ups(sink, now, &mut out)?;
        Ok(out)
    }

    fn add_to_windows(&mut self, docs: &[&Document], now: DateTime<Utc>) -> BTreeSet<String> {
        let mut docs: Vec<(DateTime<Utc>, &Document)> =
            docs.iter().map(|d| (event_time(d), *d)).collect();
        docs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.raw.id.cmp(&b.1.raw.id)));
        let mut touched = BTreeSet::new();
        for (at, doc) in docs {
            let entities = doc.analysis.entity_ids();
            for (ri, rule) in self.rules.rules.iter().enumerate() {
                if at < now - rule.span() {
                    continue;
                }
                for entity in &entities {
                    let Some((terms, topic_term)) = matches(rule, doc, entity) else {
                        continue;
                    };
                    let topic = match rule.group_by {
                        GroupBy::Entity => None,
                        GroupBy::Cluster => Some(
                            doc.cluster
                                .as_ref()
                                .map_or_else(|| doc.raw.id.to_string(), |c| c.id.to_string()),
                        ),
                        GroupBy::Term => topic_term,
                    };
                    let key = format!("{}|{}|{}", rule.id, entity, topic.as_deref().unwrap_or(""));
                    let summary = Arc::new(DocSummary {
                        id: doc.raw.id.clone(),
                        at,
                        source: doc.raw.source_id.clone(),
                        channel: doc.raw.channel,
                        title: doc.raw.title.clone(),
                        url: doc.raw.url.clone(),
                        terms,
                        risks: doc.analysis.risks.iter().map(|r| r.id.clone()).collect(),
                        cluster: doc.cluster.as_ref().map(|c| c.id.clone()),
                        cluster_first: doc
                            .cluster
                            .as_ref()
                            .map(|c| (c.first_source.clone(), c.first_seen)),
                    });
                    let group = self.groups.entry(key.clone()).or_insert_with(|| Group {
                        rule: ri,
                        entity: entity.clone(),
                        topic,
                        window: Window::default(),
                        live: None,
                    });
                    if group.window.insert(summary) {
                        touched.insert(key);
                    }
                }
            }
        }
        touched
    }

    fn evaluate(
        &mut self,
        sink: &mut dyn Sink,
        key: &str,
        now: DateTime<Utc>,
        out: &mut Vec<IncidentChange>,
    ) -> Result<()> {
        let Some(group) = self.groups.get_mut(key) else {
            return Ok(());
        };
        let rule = &self.rules.rules[group.rule];
        let mut from = now - rule.window;
        if let Some(l) = &group.live
            && let Some(resolved) = l.inc.resolved_at
            && !l.inc.status.is_active()
        {
            // Hysteresis: after a resolve only documents after it count towards a new wave.
            from = from.max(resolved + Duration::milliseconds(1));
        }
        let in_window: Vec<Arc<DocSummary>> = group.window.range(from, now).cloned().collect();
        let observed = in_window.len() as u64;
        let mut numbers = Numbers {
            observed: observed as f64,
            threshold: rule.min_count as f64,
            window: rule.window,
            ..Numbers::default()
        };
        let triggered = match rule.kind {
            RuleKind::Volume | RuleKind::Keyword | RuleKind::Authority => {
                observed >= rule.min_count
            }
            RuleKind::Spike => {
                let p = rule.spike.unwrap_or(crate::rules::SpikeParams {
                    baseline_days: 1,
                    ratio: 1.0,
                    stddevs: 0.0,
                });
                let counts: Vec<f64> = (1..=i64::from(p.baseline_days))
                    .map(|d| {
                        let end = now - Duration::days(d);
                        group.window.count(end - rule.window, end) as f64
                    })
                    .collect();
                let n = counts.len().max(1) as f64;
                let mean = counts.iter().sum::<f64>() / n;
                let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n;
                let sd = var.sqrt();
                numbers.baseline = Some(mean);
                numbers.stddev = Some(sd);
                numbers.ratio = Some(p.ratio);
                numbers.stddevs = Some(p.stddevs);
                let o = observed as f64;
                observed >= rule.min_count
                    && o >= p.ratio * mean
                    && o >= mean + p.stddevs * sd
                    && o > mean
            }
            RuleKind::ComplaintSurge => {
                let mut waves: HashMap<&DocId, u64> = HashMap::new();
                for d in &in_window {
                    if let Some(c) = &d.cluster {
                        *waves.entry(c).or_default() += 1;
                    }
                }
                let largest = waves.values().copied().max().unwrap_or(0);
                numbers.largest_wave = Some(largest);
                numbers.wave_min = Some(rule.wave_min_size);
                observed >= rule.min_count
                    || (rule.wave_min_size > 0 && largest >= rule.wave_min_size)
            }
        };
        let entity_name = self
            .entity_names
            .get(&group.entity)
            .cloned()
            .unwrap_or_else(|| group.entity.clone());
        let ctx = Ctx {
            rule,
            route: &self.route,
            defaults: &self.rules.defaults,
            entity_name: &entity_name,
        };
        match &mut group.live {
            Some(live) if live.inc.status.is_active() => {
                live.numbers = numbers;
                let n = attach(sink, live, &in_window, now)?;
                if n > 0 {
                    out.push(change(&live.inc, ChangeKind::Attached { docs: n }, now));
                }
                live.inc.peak = live.inc.peak.max(observed as f64);
                let target = rule.severity_for(observed);
                if target > live.inc.severity {
                    let from = live.inc.severity;
                    live.inc.severity = target;
                    sink.event(&IncidentEvent {
                        incident_id: live.inc.id,
                        at: now,
                        kind: IncidentEventKind::SeverityRaised,
                        actor: None,
                        detail: format!("{} → {}（窗口内 {observed} 篇）", from.zh(), target.zh()),
                    })?;
                    let key = format!(
                        "incident:{}:{}:severity:{}",
                        live.inc.id, live.inc.open_count, target
                    );
                    ctx.send(sink, live, NotificationKind::Escalated, &key, now)?;
                    out.push(change(&live.inc, ChangeKind::SeverityRaised { from }, now));
                }
                live.inc.updated_at = now;
                live.inc.why = why(rule, live, None);
                sink.save(&live.inc)?;
            }
            Some(live)
                if triggered
                    && live
                        .inc
                        .resolved_at
                        .is_some_and(|r| now - r <= rule.reopen_window) =>
            {
                live.numbers = numbers;
                live.inc.status = IncidentStatus::Open;
                live.inc.open_count += 1;
                live.inc.opened_at = now;
                live.inc.updated_at = now;
                live.inc.resolved_at = None;
                live.inc.acknowledged_at = None;
                live.inc.acknowledged_by = None;
                live.inc.severity = rule.severity_for(observed);
                live.inc.peak = live.inc.peak.max(observed as f64);
                sink.event(&IncidentEvent {
                    incident_id: live.inc.id,
                    at: now,
                    kind: IncidentEventKind::Reopened,
                    actor: None,
                    detail: message::numbers_line(rule, &live.numbers),
                })?;
                let n = attach(sink, live, &in_window, now)?;
                live.inc.why = why(rule, live, Some(&live.numbers));
                let key = format!("incident:{}:opened:{}", live.inc.id, live.inc.open_count);
                ctx.send(sink, live, NotificationKind::Opened, &key, now)?;
                sink.save(&live.inc)?;
                out.push(change(&live.inc, ChangeKind::Reopened, now));
                out.push(change(&live.inc, ChangeKind::Attached { docs: n }, now));
            }
            _ if triggered => {
                let mut live = Live {
                    inc: Incident {
                        id: 0,
                        group_key: key.to_string(),
                        rule_id: rule.id.clone(),
                        rule_kind: rule.kind,
                        entity_id: group.entity.clone(),
                        topic: group.topic.clone(),
                        status: IncidentStatus::Open,
                        severity: rule.severity_for(observed),
                        title: format!("{entity_name} {}", rule.name),
                        opened_at: now,
                        updated_at: now,
                        last_doc_at: now,
                        resolved_at: None,
                        acknowledged_at: None,
                        acknowledged_by: None,
                        assignee: None,
                        open_count: 1,
                        doc_count: 0,
                        peak: observed as f64,
                        notified_at: None,
                        notified_docs: 0,
                        update_seq: 0,
                        unacked_escalated: 0,
                        why: empty_why(rule),
                    },
                    docs: Vec::new(),
                    attached: HashSet::new(),
                    risks: BTreeSet::new(),
                    channels: Vec::new(),
                    first: None,
                    numbers,
                };
                // Compute the why and counts first, so the row is complete when created.
                for d in &in_window {
                    note_doc(&mut live, d);
                }
                live.inc.doc_count = in_window.len() as u64;
                live.inc.last_doc_at = in_window.last().map_or(now, |d| d.at);
                live.inc.why = why_from(rule, &live.numbers, &live, &in_window);
                live.inc.id = sink.create(&live.inc)?;
                live.attached.clear();
                live.docs.clear();
                sink.event(&IncidentEvent {
                    incident_id: live.inc.id,
                    at: now,
                    kind: IncidentEventKind::Opened,
                    actor: None,
                    detail: message::numbers_line(rule, &live.numbers),
                })?;
                let n = attach(sink, &mut live, &in_window, now)?;
                let key = format!("incident:{}:opened:1", live.inc.id);
                ctx.send(sink, &mut live, NotificationKind::Opened, &key, now)?;
                sink.save(&live.inc)?;
                out.push(change(&live.inc, ChangeKind::Opened, now));
                out.push(change(&live.inc, ChangeKind::Attached { docs: n }, now));
                group.live = Some(live);
            }
            _ => {}
        }
        Ok(())
    }

    /// Resolve incidents quiet for their quiet period, escalate unacknowledged ones, prune.
    fn housekeeping(
        &mut self,
        sink: &mut dyn Sink,
        now: DateTime<Utc>,
        out: &mut Vec<IncidentChange>,
    ) -> Result<()> {
        for group in self.groups.values_mut() {
            let rule = &self.rules.rules[group.rule];
            let Some(live) = group.live.as_mut() else {
                continue;
            };
            if !live.inc.status.is_active() {
                continue;
            }
            let quiet_end = live.inc.last_doc_at + rule.quiet_period;
            if quiet_end > now {
                continue;
            }
            let entity_name = self
                .entity_names
                .get(&group.entity)
                .map_or(group.entity.as_str(), String::as_str);
            let ctx = Ctx {
                rule,
                route: &self.route,
                defaults: &self.rules.defaults,
                entity_name,
            };
            let at = quiet_end.max(live.inc.opened_at);
            live.inc.status = IncidentStatus::Resolved;
            live.inc.resolved_at = Some(at);
            live.inc.updated_at = now;
            sink.event(&IncidentEvent {
                incident_id: live.inc.id,
                at,
                kind: IncidentEventKind::Resolved,
                actor: None,
                detail: format!(
                    "{} 内无新增，共 {} 篇",
                    message::duration_zh(rule.quiet_period),
                    live.inc.doc_count
                ),
            })?;
            let key = format!("incident:{}:resolved:{}", live.inc.id, live.inc.open_count);
            ctx.send(sink, live, NotificationKind::Resolved, &key, now)?;
            sink.save(&live.inc)?;
            out.push(change(&live.inc, ChangeKind::Resolved, at));
        }
        // Forget what can no longer count or reopen.
        let rules = &self.rules.rules;
        self.groups.retain(|_, g| {
            let rule = &rules[g.rule];
            g.window.prune(now - rule.span());
            let keep_live = g.live.as_ref().is_some_and(|l| {
                l.inc.status.is_active()
                    || l.inc
                        .resolved_at
                        .is_some_and(|r| now - r <= rule.reopen_window)
            });
            keep_live || !g.window.entries.is_empty()
        });
        Ok(())
    }

    /// Unacknowledged escalations and grouped updates for every active incident.
    fn follow_ups(
        &mut self,
        sink: &mut dyn Sink,
        now: DateTime<Utc>,
        out: &mut Vec<IncidentChange>,
    ) -> Result<()> {
        let mut keys: Vec<&String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.live.as_ref().is_some_and(|l| l.inc.status.is_active()))
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        let keys: Vec<String> = keys.into_iter().cloned().collect();
        for key in keys {
            let Some(group) = self.groups.get_mut(&key) else {
                continue;
            };
            let rule = &self.rules.rules[group.rule];
            let entity_name = self
                .entity_names
                .get(&group.entity)
                .map_or(group.entity.as_str(), String::as_str);
            let ctx = Ctx {
                rule,
                route: &self.route,
                defaults: &self.rules.defaults,
                entity_name,
            };
            let Some(live) = group.live.as_mut() else {
                continue;
            };
            if self.escalate_unacknowledged
                && let Some(after) = rule.escalate_unacknowledged_after
                && live.inc.unacked_escalated < live.inc.open_count
                && now - live.inc.opened_at >= after
            {
                if sink.acknowledged(live.inc.id)? {
                    live.inc.status = IncidentStatus::Acknowledged;
                } else {
                    let from = live.inc.severity;
                    live.inc.severity = next_severity(from);
                    live.inc.unacked_escalated = live.inc.open_count;
                    live.inc.updated_at = now;
                    sink.event(&IncidentEvent {
                        incident_id: live.inc.id,
                        at: now,
                        kind: IncidentEventKind::UnacknowledgedEscalation,
                        actor: None,
                        detail: format!(
                            "{} 未认领，{} → {}",
                            message::duration_zh(after),
                            from.zh(),
                            live.inc.severity.zh()
                        ),
                    })?;
                    let key = format!("incident:{}:{}:unacked", live.inc.id, live.inc.open_count);
                    ctx.send(sink, live, NotificationKind::Reminder, &key, now)?;
                    sink.save(&live.inc)?;
                    out.push(change(&live.inc, ChangeKind::UnacknowledgedEscalation, now));
                }
            }
            let interval_passed = live
                .inc
                .notified_at
                .is_none_or(|t| now - t >= self.rules.defaults.group_interval);
            if live.inc.doc_count > live.inc.notified_docs && interval_passed {
                let new_docs = live.inc.doc_count - live.inc.notified_docs;
                live.inc.update_seq += 1;
                live.inc.updated_at = now;
                sink.event(&IncidentEvent {
                    incident_id: live.inc.id,
                    at: now,
                    kind: IncidentEventKind::Updated,
                    actor: None,
                    detail: format!("新增 {new_docs} 篇，累计 {} 篇", live.inc.doc_count),
                })?;
                let key = format!(
                    "incident:{}:{}:update:{}",
                    live.inc.id, live.inc.open_count, live.inc.update_seq
                );
                ctx.send(sink, live, NotificationKind::Update, &key, now)?;
                sink.save(&live.inc)?;
                out.push(change(&live.inc, ChangeKind::Updated, now));
            }
            // Still open and nobody has taken it: remind after the repeat interval of
            // silence. The key counts intervals since opening, so a replay adds nothing.
            if let Some(repeat) = self.rules.defaults.repeat_interval
                && live.inc.status == IncidentStatus::Open
                && live.inc.notified_at.is_some_and(|t| now - t >= repeat)
                && !sink.acknowledged(live.inc.id)?
            {
                let nth = (now - live.inc.opened_at).num_seconds() / repeat.num_seconds().max(1);
                let key = format!(
                    "incident:{}:{}:repeat:{nth}",
                    live.inc.id, live.inc.open_count
                );
                sink.event(&IncidentEvent {
                    incident_id: live.inc.id,
                    at: now,
                    kind: IncidentEventKind::Updated,
                    actor: None,
                    detail: format!("{} 未处理，再次提醒", message::duration_zh(repeat)),
                })?;
                ctx.send(sink, live, NotificationKind::Reminder, &key, now)?;
                sink.save(&live.inc)?;
                out.push(change(&live.inc, ChangeKind::Updated, now));
            }
        }
        Ok(())
    }
}

/// What sending needs besides the incident.
struct Ctx<'a> {
    rule: &'a Rule,
    route: &'a Route,
    defaults: &'a crate::rules::Defaults,
    entity_name: &'a str,
}

impl Ctx<'_> {
    /// Build the notification, route it, queue one outbox row per channel with the dedup key
    /// `{key}#{channel}`, and mark the incident notified.
    fn send(
        &self,
        sink: &mut dyn Sink,
        live: &mut Live,
        kind: NotificationKind,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let n = message::build(
            kind,
            &live.inc,
            self.rule,
            self.entity_name,
            &live.numbers,
            &live.docs,
            self.defaults,
        );
        let risks: Vec<String> = live.risks.iter().cloned().collect();
        let channels = &live.channels;
        let input = RouteInput {
            rule_id: &self.rule.id,
            rule_kind: self.rule.kind,
            entity_id: &live.inc.entity_id,
            severity: n.severity,
            risks: &risks,
            channels,
        };
        let targets = (self.route)(&n, &input);
        if targets.is_empty() {
            tracing::debug!(incident = live.inc.id, key, "notification routed nowhere");
        }
        for channel in targets {
            sink.notify(&channel, &format!("{key}#{channel}"), &n, now)?;
        }
        live.inc.notified_at = Some(now);
        live.inc.notified_docs = live.inc.doc_count;
        Ok(())
    }
}

/// Attach the documents of `in_window` not yet attached; returns how many.
fn attach(
    sink: &mut dyn Sink,
    live: &mut Live,
    in_window: &[Arc<DocSummary>],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut n = 0;
    for d in in_window {
        if live.attached.contains(&d.id) {
            continue;
        }
        let doc = IncidentDoc {
            incident_id: live.inc.id,
            doc_id: d.id.clone(),
            source_id: d.source.clone(),
            title: d.title.clone(),
            url: d.url.clone(),
            doc_at: d.at,
            attached_at: now,
            terms: d.terms.clone(),
        };
        sink.attach(&doc)?;
        note_doc(live, d);
        live.attached.insert(d.id.clone());
        let pos = live
            .docs
            .partition_point(|x| (x.doc_at, &x.doc_id) <= (doc.doc_at, &doc.doc_id));
        live.docs.insert(pos, doc);
        live.inc.last_doc_at = live.inc.last_doc_at.max(d.at);
        n += 1;
    }
    live.inc.doc_count = live.docs.len() as u64;
    if n > 0 {
        sink.event(&IncidentEvent {
            incident_id: live.inc.id,
            at: now,
            kind: IncidentEventKind::Attached,
            actor: None,
            detail: format!("新增 {n} 篇，累计 {} 篇", live.inc.doc_count),
        })?;
    }
    Ok(n)
}

fn note_doc(live: &mut Live, d: &DocSummary) {
    live.risks.extend(d.risks.iter().cloned());
    if !live.channels.contains(&d.channel) {
        live.channels.push(d.channel);
    }
    let candidate = d
        .cluster_first
        .clone()
        .filter(|(_, t)| *t <= d.at)
        .unwrap_or((d.source.clone(), d.at));
    if live.first.as_ref().is_none_or(|(_, t)| candidate.1 < *t) {
        live.first = Some(candidate);
    }
}

fn empty_why(rule: &Rule) -> IncidentWhy {
    IncidentWhy {
        rule_id: rule.id.clone(),
        rule_kind: rule.kind,
        observed: 0.0,
        threshold: rule.min_count as f64,
        baseline: None,
        baseline_stddev: None,
        ratio_threshold: None,
        largest_wave: None,
        window_secs: rule.window.num_seconds().max(0) as u64,
        top_terms: Vec::new(),
        top_sources: Vec::new(),
        first_source: None,
        first_seen: None,
    }
}

/// The why with the numbers of `numbers` (or, when `None`, those it opened with) and the
/// evidence of every attached document.
fn why(rule: &Rule, live: &Live, numbers: Option<&Numbers>) -> IncidentWhy {
    let mut w = match numbers {
        Some(n) => why_numbers(rule, n),
        None => live.inc.why.clone(),
    };
    fill_evidence(
        &mut w,
        live,
        live.docs.iter().map(|d| (&d.terms, &d.source_id)),
    );
    w
}

fn why_from(rule: &Rule, numbers: &Numbers, live: &Live, docs: &[Arc<DocSummary>]) -> IncidentWhy {
    let mut w = why_numbers(rule, numbers);
    fill_evidence(&mut w, live, docs.iter().map(|d| (&d.terms, &d.source)));
    w
}

fn why_numbers(rule: &Rule, n: &Numbers) -> IncidentWhy {
    IncidentWhy {
        observed: n.observed,
        baseline: n.baseline,
        baseline_stddev: n.stddev,
        ratio_threshold: n.ratio,
        largest_wave: n.largest_wave,
        ..empty_why(rule)
    }
}

fn fill_evidence<'a>(
    w: &mut IncidentWhy,
    live: &Live,
    docs: impl Iterator<Item = (&'a Vec<String>, &'a SourceId)>,
) {
    let mut terms: HashMap<&str, u64> = HashMap::new();
    let mut sources: HashMap<&SourceId, u64> = HashMap::new();
    for (t, s) in docs {
        for t in t {
            *terms.entry(t.as_str()).or_default() += 1;
        }
        *sources.entry(s).or_default() += 1;
    }
    let mut terms: Vec<(&str, u64)> = terms.into_iter().collect();
    terms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    w.top_terms = terms
        .into_iter()
        .take(5)
        .map(|(t, _)| t.to_string())
        .collect();
    let mut sources: Vec<(&SourceId, u64)> = sources.into_iter().collect();
    sources.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    w.top_sources = sources
        .into_iter()
        .take(5)
        .map(|(s, _)| s.clone())
        .collect();
    if let Some((s, t)) = &live.first {
        w.first_source = Some(s.clone());
        w.first_seen = Some(*t);
    }
}

fn change(inc: &Incident, kind: ChangeKind, at: DateTime<Utc>) -> IncidentChange {
    IncidentChange {
        incident_id: inc.id,
        rule_id: inc.rule_id.clone(),
        entity_id: inc.entity_id.clone(),
        kind,
        severity: inc.severity,
        at,
    }
}

fn next_severity(s: Severity) -> Severity {
    match s {
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

/// Whether `doc` counts for `rule` and `entity`; if so, its evidence terms and, for keyword
/// rules, the first high-risk term it contains.
fn matches(rule: &Rule, doc: &Document, entity: &str) -> Option<(Vec<String>, Option<String>)> {
    let f = &rule.filter;
    if !f.entities.is_empty() && !f.entities.iter().any(|e| e == entity) {
        return None;
    }
    if !f.channels.is_empty() && !f.channels.contains(&doc.raw.channel) {
        return None;
    }
    if !f.tags.is_empty() && !f.tags.iter().any(|t| doc.raw.tags.contains(t)) {
        return None;
    }
    let a = &doc.analysis;
    if !f.risks.is_empty() && !a.risks.iter().any(|r| f.risks.contains(&r.id)) {
        return None;
    }
    if !f.dimensions.is_empty()
        && !a
            .dimensions
            .iter()
            .any(|d| f.dimensions.contains(&d.dimension))
    {
        return None;
    }
    // Sentiment towards the entity when the analysis gives one, else the document's.
    let sentiment = a
        .entity_sentiments
        .iter()
        .find(|s| s.entity_id == entity)
        .map_or(&a.sentiment, |s| &s.sentiment);
    if f.sentiment == SentimentFilter::Negative && sentiment.label != SentimentLabel::Negative {
        return None;
    }
    let mut terms: Vec<String> = Vec::new();
    let mut first_term = None;
    if rule.kind == RuleKind::Keyword {
        let texts = [&a.title, &a.body, &doc.raw.title, &doc.raw.body];
        for t in &rule.terms {
            if texts.iter().any(|x| x.contains(t.as_str())) {
                first_term.get_or_insert_with(|| t.clone());
                terms.push(t.clone());
            }
        }
        if terms.is_empty() {
            return None;
        }
    }
    let more = a
        .risks
        .iter()
        .flat_map(|r| r.evidence.iter().cloned())
        .chain(
            sentiment
                .terms
                .iter()
                .filter(|t| t.contribution < 0.0)
                .map(|t| t.term.clone()),
        );
    for t in more {
        if !terms.contains(&t) {
            terms.push(t);
        }
    }
    Some((terms, first_term))
}

impl From<yuqing_store::StoreError> for Error {
    fn from(e: yuqing_store::StoreError) -> Error {
        Error::Store(e)
    }
}
