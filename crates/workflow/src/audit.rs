//! Field-level audit: the difference between two versions of an object, as one
//! [`AuditEntry`] per changed field path.
//!
//! Paths: object fields are joined with `.`; list elements that carry an `id`, `dimension` or
//! `doc_id` are named by it (`dimensions[people].finding`, `root_causes[2].text`), other
//! lists by index when only changed in place (`progress[0].text`), and items appended to the
//! end of a list are recorded one by one as added (`progress[3]`, old `None`). Bookkeeping
//! fields (`updated_at`, `updated_by`, `refreshed_at`) are not audited on their own.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use yuqing_model::workflow::{AuditEntry, WorkflowObject};
use yuqing_store::WorkflowTx;

use crate::Result;

/// Fields that change with every edit and say nothing by themselves.
const BOOKKEEPING: [&str; 3] = ["updated_at", "updated_by", "refreshed_at"];

/// List elements are matched by the first of these keys they all carry.
const KEYS: [&str; 3] = ["id", "dimension", "doc_id"];

/// One changed field: path, old, new.
pub(crate) type Change = (String, Option<String>, Option<String>);

fn render(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn key_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// Append the changes from `old` to `new` below `path`.
pub(crate) fn diff(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                if path.is_empty() && BOOKKEEPING.contains(&k.as_str()) {
                    continue;
                }
                diff(&join(path, k), va, b.get(k).unwrap_or(&Value::Null), out);
            }
            for (k, vb) in b {
                let bookkeeping = path.is_empty() && BOOKKEEPING.contains(&k.as_str());
                if !a.contains_key(k) && !bookkeeping {
                    diff(&join(path, k), &Value::Null, vb, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let key = KEYS.into_iter().find(|k| {
                a.iter().chain(b).all(|v| key_of(v, k).is_some()) && !(a.is_empty() && b.is_empty())
            });
            if let Some(k) = key {
                for va in a {
                    let id = key_of(va, k).unwrap_or_default();
                    let p = format!("{path}[{id}]");
                    match b.iter().find(|vb| key_of(vb, k).as_deref() == Some(&id)) {
                        Some(vb) => diff(&p, va, vb, out),
                        None => out.push((p, render(va), None)),
                    }
                }
                for vb in b {
                    let id = key_of(vb, k).unwrap_or_default();
                    if !a.iter().any(|va| key_of(va, k).as_deref() == Some(&id)) {
                        out.push((format!("{path}[{id}]"), None, render(vb)));
                    }
                }
            } else if a.len() == b.len() && a.iter().all(Value::is_object) {
                for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                    diff(&format!("{path}[{i}]"), va, vb, out);
                }
            } else if b.len() > a.len() && b[..a.len()] == a[..] && b.iter().all(Value::is_object) {
                for (i, vb) in b.iter().enumerate().skip(a.len()) {
                    out.push((format!("{path}[{i}]"), None, render(vb)));
                }
            } else {
                out.push((path.to_string(), render(old), render(new)));
            }
        }
        _ => out.push((path.to_string(), render(old), render(new))),
    }
}

/// The changes between two versions of a serializable object.
pub(crate) fn changes<T: Serialize>(old: &T, new: &T) -> Vec<Change> {
    let a = serde_json::to_value(old).unwrap_or(Value::Null);
    let b = serde_json::to_value(new).unwrap_or(Value::Null);
    let mut out = Vec::new();
    diff("", &a, &b, &mut out);
    out
}

/// Who changed what, for [`record`].
pub(crate) struct Audit<'a> {
    pub object: WorkflowObject,
    pub object_id: i64,
    pub incident_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub at: DateTime<Utc>,
}

impl Audit<'_> {
    fn entry(&self, field: String, old: Option<String>, new: Option<String>) -> AuditEntry {
        AuditEntry {
            id: 0,
            object: self.object,
            object_id: self.object_id,
            incident_id: self.incident_id,
            at: self.at,
            actor: self.actor.to_string(),
            action: self.action.to_string(),
            field,
            old,
            new,
        }
    }

    /// Record the changes from `old` to `new`; returns how many fields changed.
    pub(crate) fn changed<T: Serialize>(
        &self,
        tx: &mut WorkflowTx<'_>,
        old: &T,
        new: &T,
    ) -> Result<usize> {
        let cs = changes(old, new);
        for (field, o, n) in &cs {
            tx.audit(&self.entry(field.clone(), o.clone(), n.clone()))?;
        }
        Ok(cs.len())
    }

    /// Record the creation of `new` (the whole object as JSON).
    pub(crate) fn created<T: Serialize>(&self, tx: &mut WorkflowTx<'_>, new: &T) -> Result<()> {
        let json = serde_json::to_string(new).ok();
        tx.audit(&self.entry(String::new(), None, json))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(a: Value, b: Value) -> Vec<Change> {
        let mut out = Vec::new();
        diff("", &a, &b, &mut out);
        out
    }

    #[test]
    fn fields_lists_by_key_and_appends_are_named() {
        let a = json!({"status": "draft", "updated_at": "1", "dims": [
            {"dimension": "people", "finding": ""}, {"dimension": "culture", "finding": "x"}],
            "progress": [{"text": "a"}], "tags": ["a"]});
        let b = json!({"status": "in_review", "updated_at": "2", "dims": [
            {"dimension": "people", "finding": "培训不足"}, {"dimension": "culture", "finding": "x"}],
            "progress": [{"text": "a"}, {"text": "b"}], "tags": ["a", "b"]});
        let got = paths(a, b);
        assert_eq!(
            got,
            vec![
                (
                    "dims[people].finding".into(),
                    Some(String::new()),
                    Some("培训不足".into())
                ),
                ("progress[1]".into(), None, Some(r#"{"text":"b"}"#.into())),
                (
                    "status".into(),
                    Some("draft".into()),
                    Some("in_review".into())
                ),
                (
                    "tags".into(),
                    Some(r#"["a"]"#.into()),
                    Some(r#"["a","b"]"#.into())
                ),
            ]
        );
        assert!(paths(json!({"a": 1}), json!({"a": 1})).is_empty());
        assert_eq!(
            paths(
                json!({"rc": [{"id": 1, "t": "a"}]}),
                json!({"rc": [{"id": 2, "t": "b"}]})
            ),
            vec![
                ("rc[1]".into(), Some(r#"{"id":1,"t":"a"}"#.into()), None),
                ("rc[2]".into(), None, Some(r#"{"id":2,"t":"b"}"#.into())),
            ]
        );
        assert_eq!(
            paths(json!({"x": null}), json!({"x": 3})),
            vec![("x".into(), None, Some("3".into()))]
        );
    }
}
