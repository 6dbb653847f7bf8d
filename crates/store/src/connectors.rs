//! Connector state beyond a source's checkpoint and health (migration `0005_connectors.sql`).
//!
//! Contract:
//! * **Inbound records** ([`InboundRecord`]): customer feedback (channel, customer reference,
//!   text, time, optional id) pushed over HTTP or imported from files. Every entry point
//!   validates with [`InboundRecord::from_json`] (JSON objects, JSONL lines, CSV rows through
//!   [`csv_records`]), so a record is either valid or rejected with a reason naming the field;
//! * **the inbound queue** is durable: [`Store::enqueue_inbound`] commits the records before
//!   the HTTP answer; the pipeline reads them after its checkpoint ([`Store::inbound_pending`]),
//!   commits their documents together with the new checkpoint (`inbound:<seq>` in the
//!   `etag` column, the same transaction as the documents) and only then purges
//!   ([`Store::purge_inbound`]). Sequence numbers are never reused (`AUTOINCREMENT`), and
//!   writers are serialized, so no record can appear behind the cursor: nothing is lost on a
//!   crash, and a replay upserts the same documents;
//! * **inbound sources** are registered by the daemon with the SHA-256 of their token
//!   ([`Store::register_inbound_source`]); the HTTP handler checks a bearer token against it;
//! * **scheduler state** ([`Store::record_connector_poll`]): the current (adaptive) interval,
//!   items, gaps (a poll whose items share nothing with what the source delivered before),
//!   errors by class, and the timing of new items. [`Store::connector_statuses`] derives
//!   [`ConnectorHealth::Stale`] from it at read time: a source otherwise `ok` that has brought
//!   nothing new for longer than `stale_factor` × its usual gap between new items.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use yuqing_model::{ErrorClass, SourceHealth, SourceId};

use crate::{Result, SourceState, Store, parse_ts, ts};

/// Longest text of one inbound record, in bytes.
pub const MAX_INBOUND_TEXT_BYTES: usize = 64 * 1024;
/// Longest customer reference, record id or channel, in characters.
pub const MAX_INBOUND_FIELD_CHARS: usize = 128;
/// How far in the future a record's time may lie (clock skew of the sender).
pub const MAX_INBOUND_FUTURE_SECS: i64 = 24 * 3600;

/// One customer-feedback record, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundRecord {
    /// Where the customer spoke: `hotline`, `online`, `app`, … (lowercase ASCII word).
    pub channel: String,
    /// The customer reference as the sending system knows it (case number, customer id).
    pub customer: String,
    /// What the customer said.
    pub text: String,
    /// When.
    pub time: DateTime<Utc>,
    /// The sending system's id of the record; re-sending the same id updates the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Names accepted for each field (first is canonical).
const FIELD_NAMES: &[(&str, &[&str])] = &[
    ("channel", &["channel", "渠道"]),
    (
        "customer",
        &[
            "customer",
            "customer_ref",
            "customer_id",
            "客户",
            "客户编号",
        ],
    ),
    ("text", &["text", "content", "内容"]),
    ("time", &["time", "created_at", "at", "时间"]),
    ("id", &["id", "record_id", "编号"]),
];

/// The canonical field a column or key names, if any.
pub fn inbound_field(name: &str) -> Option<&'static str> {
    let n = name.trim().trim_start_matches('\u{feff}');
    FIELD_NAMES
        .iter()
        .find(|(_, names)| names.iter().any(|a| a.eq_ignore_ascii_case(n)))
        .map(|(f, _)| *f)
}

/// Chinese label of a well-known channel.
pub fn channel_label(channel: &str) -> Option<&'static str> {
    Some(match channel {
        "hotline" => "热线",
        "online" => "在线客服",
        "app" => "App",
        "email" => "邮件",
        "wechat" => "微信",
        "sms" => "短信",
        "branch" => "网点",
        _ => return None,
    })
}

impl InboundRecord {
    /// Validate a JSON object (also what a CSV row or a JSONL line becomes). Field names may
    /// be any of the accepted aliases (`customer_ref`, `content`, `created_at`, …); unknown
    /// fields are ignored. `time` is RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (or with `/`, China
    /// time), or epoch seconds/milliseconds. The error names the field.
    pub fn from_json(v: &Value, now: DateTime<Utc>) -> std::result::Result<InboundRecord, String> {
        let Value::Object(obj) = v else {
            return Err("a record must be a JSON object".into());
        };
        let mut fields: HashMap<&'static str, &Value> = HashMap::new();
        for (k, v) in obj {
            if let Some(f) = inbound_field(k)
                && !v.is_null()
                && fields.insert(f, v).is_some()
            {
                return Err(format!("`{f}` is given twice (as `{k}` and another name)"));
            }
        }
        let text_of = |f: &str| -> std::result::Result<Option<String>, String> {
            match fields.get(f) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(format!("`{f}` must be a string")),
            }
        };
        let short = |f: &str, s: Option<String>| -> std::result::Result<Option<String>, String> {
            match s {
                Some(s) if s.chars().count() > MAX_INBOUND_FIELD_CHARS => Err(format!(
                    "`{f}` is longer than {MAX_INBOUND_FIELD_CHARS} characters"
                )),
                s => Ok(s),
            }
        };
        let channel = short("channel", text_of("channel")?)?
            .ok_or("`channel` is missing (hotline, online, app, …)")?
            .to_ascii_lowercase();
        if !channel
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err(format!(
                "`channel` `{channel}` must be a lowercase word such as hotline, online or app"
            ));
        }
        let customer =
            short("customer", text_of("customer")?)?.ok_or("`customer` is missing or empty")?;
        let text = text_of("text")?.ok_or("`text` is missing or empty")?;
        if text.len() > MAX_INBOUND_TEXT_BYTES {
            return Err(format!(
                "`text` is longer than {MAX_INBOUND_TEXT_BYTES} bytes"
            ));
        }
        let time = match fields.get("time") {
            None => return Err("`time` is missing".into()),
            Some(v) => parse_record_time(v).ok_or_else(|| {
                format!(
                    "`time` {v} is not a time (RFC 3339, `2024-05-01 08:30:00` China time, or epoch seconds)"
                )
            })?,
        };
        if (time - now).num_seconds() > MAX_INBOUND_FUTURE_SECS {
            return Err(format!("`time` {} lies in the future", time.to_rfc3339()));
        }
        let id = short("id", text_of("id")?)?;
        Ok(InboundRecord {
            channel,
            customer,
            text,
            time,
            id,
        })
    }
}

fn parse_record_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => epoch(n.as_i64()?),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<i64>() {
                return epoch(n);
            }
            if let Ok(d) = DateTime::parse_from_rfc3339(s) {
                return Some(d.with_timezone(&Utc));
            }
            let china = chrono::FixedOffset::east_opt(8 * 3600)?;
            for f in [
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M:%S",
                "%Y/%m/%d %H:%M:%S",
                "%Y/%m/%d %H:%M",
                "%Y年%m月%d日 %H:%M:%S",
                "%Y年%m月%d日 %H:%M",
            ] {
                if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
                    return china.from_local_datetime(&n).single().map(|d| d.to_utc());
                }
            }
            for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"] {
                if let Ok(d) = NaiveDate::parse_from_str(s, f) {
                    return china
                        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                        .single()
                        .map(|d| d.to_utc());
                }
            }
            None
        }
        _ => None,
    }
}

fn epoch(n: i64) -> Option<DateTime<Utc>> {
    let secs = if n.abs() > 100_000_000_000 {
        n / 1000
    } else {
        n
    };
    Utc.timestamp_opt(secs, 0).single()
}

/// RFC 4180 records of a CSV text, each with the 1-based line number where it starts.
/// Quoted fields may hold commas, doubled quotes and line breaks; `\r\n` and `\n` both end
/// records; blank lines are skipped. An unterminated quote is reported as the record's error.
pub fn csv_records(text: &str) -> Vec<(usize, std::result::Result<Vec<String>, String>)> {
    let text = text.trim_start_matches('\u{feff}');
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        let mut error = None;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    error = Some("unterminated quoted field".to_string());
                }
                break;
            };
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    '\n' => {
                        line += 1;
                        field.push('\n');
                    }
                    c => field.push(c),
                }
                continue;
            }
            match c {
                '"' if field.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                }
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    was_quoted = false;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    break;
                }
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() == 1 && fields[0].trim().is_empty() && error.is_none() {
            continue;
        }
        out.push((start, error.map_or(Ok(fields), Err)));
    }
    out
}

/// A CSV row as the JSON object [`InboundRecord::from_json`] validates: `header[i]: row[i]`.
pub fn csv_row_object(header: &[String], row: &[String]) -> std::result::Result<Value, String> {
    if row.len() != header.len() {
        return Err(format!(
            "{} fields where the header has {}",
            row.len(),
            header.len()
        ));
    }
    let mut m = Map::new();
    for (k, v) in header.iter().zip(row) {
        m.insert(k.trim().to_string(), Value::String(v.clone()));
    }
    Ok(Value::Object(m))
}

/// Health of a connector as the console and metrics show it: the store's health, plus
/// `stale` for a source that polls fine but has brought nothing new for too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorHealth {
    /// Never polled yet.
    Pending,
    /// Polls succeed and items keep coming.
    Ok,
    /// Recent polls failed.
    Degraded,
    /// Many polls in a row failed; still retried at a capped interval.
    Failing,
    /// Polls succeed but nothing new for `stale_factor` × the usual gap between new items.
    Stale,
}

impl ConnectorHealth {
    /// Every value, in display order.
    pub const ALL: [ConnectorHealth; 5] = [
        ConnectorHealth::Pending,
        ConnectorHealth::Ok,
        ConnectorHealth::Degraded,
        ConnectorHealth::Failing,
        ConnectorHealth::Stale,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorHealth::Pending => "pending",
            ConnectorHealth::Ok => "ok",
            ConnectorHealth::Degraded => "degraded",
            ConnectorHealth::Failing => "failing",
            ConnectorHealth::Stale => "stale",
        }
    }
}

/// What the scheduler records after each poll's commit.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorPoll {
    /// When the poll started.
    pub at: DateTime<Utc>,
    /// `None` for a successful poll, else its error class.
    pub failure: Option<ErrorClass>,
    /// Items the poll returned (new or not).
    pub items: u64,
    /// Documents the poll added or changed.
    pub new_items: u64,
    /// The items shared nothing with what the source delivered before: some were missed.
    pub gap: bool,
    /// The interval now in force.
    pub interval_secs: f64,
    /// `stale` after this many usual gaps without anything new (0: never).
    pub stale_factor: f64,
}

/// Weight of the newest gap in the usual gap between new items.
const USUAL_GAP_WEIGHT: f64 = 0.3;

/// A source's state for the console and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectorStatus {
    /// The source's stored state (health as the store records it).
    pub source: SourceState,
    /// Health with `stale` derived.
    pub health: ConnectorHealth,
    /// The interval in force (adaptive), once polled.
    pub interval_secs: Option<f64>,
    /// Items polls returned, new or not.
    pub items_total: u64,
    /// Documents added or changed.
    pub new_items_total: u64,
    /// Polls whose items shared nothing with the earlier ones.
    pub gaps_total: u64,
    /// The last such poll.
    pub last_gap_at: Option<DateTime<Utc>>,
    /// The last poll that brought something new.
    pub last_new_item_at: Option<DateTime<Utc>>,
    /// Usual time between polls that bring something new (moving average).
    pub usual_gap_secs: Option<f64>,
    /// After how long without anything new the source is `stale` (when known).
    pub stale_after_secs: Option<f64>,
    /// Failed polls by error class.
    pub errors_by_class: Vec<(String, u64)>,
    /// Inbound records waiting in the queue.
    pub inbound_queued: u64,
}

/// Whether a source with these figures is stale at `now`.
pub fn stale_after(
    interval_secs: f64,
    usual_gap_secs: Option<f64>,
    stale_factor: f64,
) -> Option<f64> {
    let usual = usual_gap_secs?;
    (stale_factor > 0.0).then(|| stale_factor * usual.max(interval_secs))
}

impl Store {
    /// Queue validated records for `source`, in one transaction. Returns the sequence
    /// numbers given to the first and the last record.
    pub fn enqueue_inbound(
        &self,
        source: &SourceId,
        records: &[InboundRecord],
        now: DateTime<Utc>,
    ) -> Result<Option<(i64, i64)>> {
        if records.is_empty() {
            return Ok(None);
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = ts(now);
        let mut first = None;
        let mut last = 0;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO inbound_queue (source_id, record_json, received_at) VALUES (?1, ?2, ?3)",
            )?;
            for r in records {
                let json =
                    serde_json::to_string(r).map_err(|source| crate::StoreError::Corrupt {
                        id: format!("inbound record of {source}"),
                        source,
                    })?;
                st.execute(params![source.as_str(), json, now])?;
                last = tx.last_insert_rowid();
                first.get_or_insert(last);
            }
        }
        tx.commit()?;
        Ok(first.map(|f| (f, last)))
    }

    /// Up to `limit` queued records of `source` after sequence number `after`, in order.
    /// A row that no longer parses (it cannot: rows are written by [`Store::enqueue_inbound`])
    /// is skipped with an error in the log rather than blocking the queue.
    pub fn inbound_pending(
        &self,
        source: &SourceId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, InboundRecord)>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT seq, record_json FROM inbound_queue WHERE source_id = ?1 AND seq > ?2
             ORDER BY seq LIMIT ?3",
        )?;
        let rows = st.query_map(params![source.as_str(), after, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, json) = row?;
            match serde_json::from_str(&json) {
                Ok(rec) => out.push((seq, rec)),
                Err(e) => {
                    tracing::error!(source = %source, seq, error = %e, "unreadable inbound record skipped")
                }
            }
        }
        Ok(out)
    }

    /// Delete the queued records of `source` up to sequence number `upto` (their documents
    /// are committed). Returns how many were deleted.
    pub fn purge_inbound(&self, source: &SourceId, upto: i64) -> Result<usize> {
        let conn = self.conn();
        Ok(conn.execute(
            "DELETE FROM inbound_queue WHERE source_id = ?1 AND seq <= ?2",
            params![source.as_str(), upto],
        )?)
    }

    /// Records waiting for `source`.
    pub fn inbound_queued(&self, source: &SourceId) -> Result<u64> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM inbound_queue WHERE source_id = ?1",
            [source.as_str()],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Register an inbound source and the SHA-256 (hex) of its bearer token (`None`: only
    /// console API tokens may push to it).
    pub fn register_inbound_source(
        &self,
        source: &SourceId,
        token_sha256: Option<&str>,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO inbound_sources (source_id, token_hash, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(source_id) DO UPDATE SET token_hash = ?2, updated_at = ?3",
            params![source.as_str(), token_sha256, ts(Utc::now())],
        )?;
        Ok(())
    }

    /// `None`: `source` is not a registered inbound source. `Some(hash)`: it is, with the
    /// SHA-256 of its token if it has one.
    pub fn inbound_source(&self, source: &SourceId) -> Result<Option<Option<String>>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT token_hash FROM inbound_sources WHERE source_id = ?1",
                [source.as_str()],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?)
    }

    /// Of `keys`, how many `source` delivered before, and whether it delivered anything at all
    /// before (gap detection: items that share nothing with a non-empty past were missed).
    pub fn overlap_with_seen(&self, source: &SourceId, keys: &[&str]) -> Result<(bool, usize)> {
        let conn = self.conn();
        let any: bool = conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM source_items WHERE source_id = ?1)",
            [source.as_str()],
            |r| r.get(0),
        )?;
        if !any {
            return Ok((false, 0));
        }
        let mut st = conn
            .prepare_cached("SELECT 1 FROM source_items WHERE source_id = ?1 AND item_key = ?2")?;
        let mut n = 0;
        for k in keys {
            if st
                .query_row(params![source.as_str(), k], |_| Ok(()))
                .optional()?
                .is_some()
            {
                n += 1;
            }
        }
        Ok((true, n))
    }

    /// Record a poll's outcome for the scheduler's figures (after the poll's commit).
    pub fn record_connector_poll(&self, source: &SourceId, p: &ConnectorPoll) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let prev: Option<(Option<String>, Option<f64>)> = tx
            .query_row(
                "SELECT last_new_item_at, usual_gap_secs FROM connector_state WHERE source_id = ?1",
                [source.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (last_new, usual) = prev.unwrap_or((None, None));
        let last_new = parse_ts(last_new);
        let (last_new, usual) = if p.new_items > 0 {
            let usual = match last_new {
                Some(t) if p.at > t => {
                    let gap = (p.at - t).num_milliseconds() as f64 / 1000.0;
                    Some(match usual {
                        Some(u) => u + USUAL_GAP_WEIGHT * (gap - u),
                        None => gap,
                    })
                }
                _ => usual,
            };
            (Some(p.at), usual)
        } else {
            (last_new, usual)
        };
        tx.execute(
            "INSERT INTO connector_state (source_id, interval_secs, polls_total, items_total,
                 new_items_total, gaps_total, last_gap_at, last_new_item_at, usual_gap_secs,
                 stale_factor, updated_at)
             VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT(source_id) DO UPDATE SET interval_secs = ?2,
                 polls_total = polls_total + 1, items_total = items_total + ?3,
                 new_items_total = new_items_total + ?4, gaps_total = gaps_total + ?5,
                 last_gap_at = COALESCE(?6, last_gap_at), last_new_item_at = ?7,
                 usual_gap_secs = ?8, stale_factor = ?9, updated_at = ?10",
            params![
                source.as_str(),
                p.interval_secs,
                p.items as i64,
                p.new_items as i64,
                i64::from(p.gap),
                p.gap.then(|| ts(p.at)),
                last_new.map(ts),
                usual,
                p.stale_factor,
                ts(Utc::now()),
            ],
        )?;
        if let Some(class) = p.failure {
            tx.execute(
                "INSERT INTO connector_errors (source_id, class, count) VALUES (?1, ?2, 1)
                 ON CONFLICT(source_id, class) DO UPDATE SET count = count + 1",
                params![source.as_str(), class.as_str()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every source's connector status at `now`, by id.
    pub fn connector_statuses(&self, now: DateTime<Utc>) -> Result<Vec<ConnectorStatus>> {
        let states = self.source_states()?;
        let conn = self.conn();
        type Row = (
            f64,
            u64,
            u64,
            u64,
            Option<String>,
            Option<String>,
            Option<f64>,
            f64,
        );
        let mut extra: HashMap<String, Row> = HashMap::new();
        {
            let mut st = conn.prepare(
                "SELECT source_id, interval_secs, items_total, new_items_total, gaps_total,
                        last_gap_at, last_new_item_at, usual_gap_secs, stale_factor
                 FROM connector_state",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (
                        r.get(1)?,
                        r.get::<_, i64>(2)?.max(0) as u64,
                        r.get::<_, i64>(3)?.max(0) as u64,
                        r.get::<_, i64>(4)?.max(0) as u64,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ),
                ))
            })?;
            for row in rows {
                let (id, v) = row?;
                extra.insert(id, v);
            }
        }
        let mut errors: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        {
            let mut st = conn.prepare(
                "SELECT source_id, class, count FROM connector_errors ORDER BY source_id, class",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?.max(0) as u64,
                ))
            })?;
            for row in rows {
                let (id, class, n) = row?;
                errors.entry(id).or_default().push((class, n));
            }
        }
        let mut queued: HashMap<String, u64> = HashMap::new();
        {
            let mut st =
                conn.prepare("SELECT source_id, COUNT(*) FROM inbound_queue GROUP BY source_id")?;
            let rows = st.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
            })?;
            for row in rows {
                let (id, n) = row?;
                queued.insert(id, n);
            }
        }
        drop(conn);
        Ok(states
            .into_iter()
            .map(|s| {
                let id = s.id.as_str().to_string();
                let x = extra.get(&id);
                let last_new_item_at = x.and_then(|x| parse_ts(x.5.clone()));
                let stale_after_secs = x.and_then(|x| stale_after(x.0, x.6, x.7));
                let mut health = match s.health {
                    SourceHealth::Pending => ConnectorHealth::Pending,
                    SourceHealth::Ok => ConnectorHealth::Ok,
                    SourceHealth::Degraded => ConnectorHealth::Degraded,
                    SourceHealth::Failing => ConnectorHealth::Failing,
                };
                if health == ConnectorHealth::Ok
                    && let (Some(limit), Some(last)) = (stale_after_secs, last_new_item_at)
                    && (now - last).num_milliseconds() as f64 / 1000.0 > limit
                {
                    health = ConnectorHealth::Stale;
                }
                ConnectorStatus {
                    health,
                    interval_secs: x.map(|x| x.0),
                    items_total: x.map_or(0, |x| x.1),
                    new_items_total: x.map_or(0, |x| x.2),
                    gaps_total: x.map_or(0, |x| x.3),
                    last_gap_at: x.and_then(|x| parse_ts(x.4.clone())),
                    last_new_item_at,
                    usual_gap_secs: x.and_then(|x| x.6),
                    stale_after_secs,
                    errors_by_class: errors.remove(&id).unwrap_or_default(),
                    inbound_queued: queued.get(&id).copied().unwrap_or(0),
                    source: s,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PollOutcome, PollResult, SourceInfo};
    use serde_json::json;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("y.db"), 3).unwrap();
        (dir, store)
    }

    fn rec(v: Value) -> std::result::Result<InboundRecord, String> {
        InboundRecord::from_json(&v, Utc::now())
    }

    #[test]
    fn records_validate_with_aliases_and_name_the_bad_field() {
        let r = rec(
            json!({"channel": "Hotline", "customer_ref": "C-1", "content": " 催收电话太多 ",
            "created_at": "2024-05-01 08:30:00", "id": 17}),
        )
        .unwrap();
        assert_eq!(r.channel, "hotline");
        assert_eq!(r.customer, "C-1");
        assert_eq!(r.text, "催收电话太多");
        assert_eq!(r.time.to_rfc3339(), "2024-05-01T00:30:00+00:00");
        assert_eq!(r.id.as_deref(), Some("17"));
        let r2 = rec(json!({"channel": "app", "customer": "C", "text": "x", "time": 1714523400}))
            .unwrap();
        assert_eq!(r2.time.to_rfc3339(), "2024-05-01T00:30:00+00:00");
        for (v, field) in [
            (json!({"customer": "C", "text": "x", "time": 1}), "channel"),
            (
                json!({"channel": "a b", "customer": "C", "text": "x", "time": 1}),
                "channel",
            ),
            (
                json!({"channel": "app", "text": "x", "time": 1}),
                "customer",
            ),
            (
                json!({"channel": "app", "customer": "C", "text": "  ", "time": 1}),
                "text",
            ),
            (
                json!({"channel": "app", "customer": "C", "text": "x", "time": "soon"}),
                "time",
            ),
            (
                json!({"channel": "app", "customer": "C", "text": "x", "time": "2999-01-01T00:00:00Z"}),
                "time",
            ),
            (
                json!({"channel": "app", "customer": ["C"], "text": "x", "time": 1}),
                "customer",
            ),
        ] {
            let e = rec(v.clone()).unwrap_err();
            assert!(e.contains(&format!("`{field}`")), "{v}: {e}");
        }
        assert!(rec(json!([1])).unwrap_err().contains("object"));
    }

    #[test]
    fn csv_records_keep_line_numbers_through_quoted_line_breaks() {
        let rows = csv_records("\u{feff}a,b\n1,\"x,\"\"y\"\"\n z\"\r\n\n2,3\n\"open,4");
        let lines: Vec<usize> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 2, 5, 6]);
        assert_eq!(rows[1].1.as_ref().unwrap()[1], "x,\"y\"\n z");
        assert!(rows[3].1.is_err());
        let header = rows[0].1.clone().unwrap();
        assert!(csv_row_object(&header, &["1".into()]).is_err());
        assert_eq!(
            csv_row_object(&header, &["1".into(), "2".into()]).unwrap(),
            json!({"a": "1", "b": "2"})
        );
    }

    #[test]
    fn queue_is_ordered_survives_reopen_and_never_reuses_sequence_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("y.db");
        let s = SourceId("inbound/cc".into());
        let r = |t: &str| InboundRecord {
            channel: "hotline".into(),
            customer: "C".into(),
            text: t.into(),
            time: Utc::now(),
            id: None,
        };
        {
            let store = Store::open(&path, 3).unwrap();
            let (a, b) = store
                .enqueue_inbound(&s, &[r("一"), r("二")], Utc::now())
                .unwrap()
                .unwrap();
            assert_eq!(b, a + 1);
            assert_eq!(store.inbound_pending(&s, 0, 10).unwrap().len(), 2);
            assert_eq!(store.inbound_pending(&s, a, 10).unwrap()[0].1.text, "二");
            assert_eq!(store.purge_inbound(&s, b).unwrap(), 2);
        }
        let store = Store::open(&path, 3).unwrap();
        let (c, _) = store
            .enqueue_inbound(&s, &[r("三")], Utc::now())
            .unwrap()
            .unwrap();
        assert!(c > 2, "sequence numbers are never reused: {c}");
        assert_eq!(store.inbound_queued(&s).unwrap(), 1);
        assert_eq!(store.inbound_queued(&SourceId("other".into())).unwrap(), 0);
        assert_eq!(store.inbound_source(&s).unwrap(), None);
        store.register_inbound_source(&s, Some("abc")).unwrap();
        assert_eq!(store.inbound_source(&s).unwrap(), Some(Some("abc".into())));
        store.register_inbound_source(&s, None).unwrap();
        assert_eq!(store.inbound_source(&s).unwrap(), Some(None));
    }

    #[test]
    fn stale_is_derived_from_the_usual_gap_between_new_items() {
        let (_d, store) = open();
        let id = SourceId("news/a".into());
        store
            .sync_sources(&[SourceInfo {
                id: &id,
                name: "a",
                kind: "feed",
                channel: "news",
                enabled: true,
            }])
            .unwrap();
        let t0 = Utc::now() - chrono::Duration::hours(10);
        let ok = |at| PollOutcome {
            source_id: id.clone(),
            at,
            result: PollResult::Success {
                checkpoint: None,
                items: vec![],
                docs: 0,
            },
        };
        let poll = |at, new_items, gap, failure| ConnectorPoll {
            at,
            failure,
            items: 5,
            new_items,
            gap,
            interval_secs: 60.0,
            stale_factor: 3.0,
        };
        // New items every 10 minutes, then nothing for hours.
        for i in 0..4 {
            let at = t0 + chrono::Duration::minutes(10 * i);
            store.commit([], &[ok(at)]).unwrap();
            store
                .record_connector_poll(&id, &poll(at, 2, i == 3, None))
                .unwrap();
        }
        store
            .record_connector_poll(&id, &poll(t0, 0, false, Some(ErrorClass::Timeout)))
            .unwrap();
        let st = &store
            .connector_statuses(t0 + chrono::Duration::minutes(45))
            .unwrap()[0];
        assert_eq!(st.health, ConnectorHealth::Ok);
        assert!((st.usual_gap_secs.unwrap() - 600.0).abs() < 1.0);
        assert_eq!(st.stale_after_secs, Some(1800.0));
        assert_eq!(st.gaps_total, 1);
        assert_eq!(st.new_items_total, 8);
        assert_eq!(st.errors_by_class, [("timeout".to_string(), 1)]);
        let st = &store.connector_statuses(Utc::now()).unwrap()[0];
        assert_eq!(st.health, ConnectorHealth::Stale);
    }
}
