//! `[workflow]` in `yuqing.toml`: the improvement workflow's departments, deadline clocks,
//! reminders, complaint cases and briefings. Every option has a named default here and
//! appears, commented, in `config/yuqing.toml`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use yuqing_model::Channel;

use crate::error::Errors;

/// Default departments taking part in reviews and owning measures.
pub const DEFAULT_DEPARTMENTS: [&str; 5] =
    ["市场与品牌部", "风险管理部", "业务部门", "客服", "行政"];
/// Default days a complaint case has from acceptance (受理) to answer (答复).
pub const DEFAULT_CASE_DEADLINE_DAYS: u32 = 15;
/// Default days before a deadline at which a measure or case is "due soon" and reminded.
pub const DEFAULT_DUE_SOON_DAYS: u32 = 3;
/// Default days between repeated reminders while something stays overdue (0: remind once).
pub const DEFAULT_OVERDUE_REPEAT_DAYS: u32 = 7;
/// Default channels whose documents become complaint cases.
pub const DEFAULT_CASE_SOURCE_CHANNELS: [Channel; 2] = [Channel::Complaint, Channel::Inbound];
/// Default age beyond which a complaint document no longer opens a case (old complaints a
/// new source delivers on its first poll).
pub const DEFAULT_CASE_MAX_AGE_DAYS: u32 = 30;
/// Default length of each window (before and after) of an effect evaluation.
pub const DEFAULT_EVALUATION_WINDOW_DAYS: u32 = 30;
/// Default lowest console role that may approve a review.
pub const DEFAULT_APPROVER_ROLE: &str = "admin";
/// Default seconds between two supervisor passes (reminders, briefings, report drafts).
pub const DEFAULT_SUPERVISOR_INTERVAL_SECS: u64 = 60;
/// Default base URL of the console, for links in reminders and briefings.
pub const DEFAULT_WORKFLOW_CONSOLE_BASE_URL: &str = "http://127.0.0.1:8080";
/// Default local time of the daily briefing.
pub const DEFAULT_DAILY_AT: ClockTime = ClockTime {
    hour: 8,
    minute: 30,
};
/// Default local time of the weekly briefing.
pub const DEFAULT_WEEKLY_AT: ClockTime = ClockTime { hour: 9, minute: 0 };
/// Default weekday of the weekly briefing.
pub const DEFAULT_WEEKLY_DAY: WeekDay = WeekDay::Mon;
/// Default documents listed as top negative in a briefing.
pub const DEFAULT_BRIEFING_TOP_DOCS: usize = 5;

/// A local time of day, written `"HH:MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct ClockTime {
    /// 0–23.
    pub hour: u32,
    /// 0–59.
    pub minute: u32,
}

impl TryFrom<String> for ClockTime {
    type Error = String;

    fn try_from(s: String) -> Result<ClockTime, String> {
        let bad = || format!("`{s}` is not a time like 08:30");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let hour: u32 = h.parse().map_err(|_| bad())?;
        let minute: u32 = m.parse().map_err(|_| bad())?;
        if hour > 23 || minute > 59 || m.len() != 2 {
            return Err(bad());
        }
        Ok(ClockTime { hour, minute })
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// A day of the week, written `mon` … `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeekDay {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl WeekDay {
    /// Days after Monday (Monday 0, Sunday 6).
    pub fn days_from_monday(self) -> u32 {
        self as u32
    }
}

/// `[workflow]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowSettings {
    /// Departments that take part in reviews and own measures; reviews and measures may name
    /// only these.
    pub departments: Vec<String>,
    /// Days from a case's acceptance to its deadline.
    pub case_deadline_days: u32,
    /// Days before a deadline at which a due-soon reminder is sent.
    pub due_soon_days: u32,
    /// Days between repeated overdue reminders (0: one overdue reminder per deadline).
    pub overdue_repeat_days: u32,
    /// Chat channel ids (from notify.toml) for measure reminders whose department has no
    /// channel of its own.
    pub reminder_channels: Vec<String>,
    /// Chat channel ids per owner department: a measure's reminders go to its department's.
    pub department_channels: BTreeMap<String, Vec<String>>,
    /// Chat channel ids for case reminders (empty: `reminder_channels`).
    pub case_channels: Vec<String>,
    /// Document channels whose documents about a watched entity become complaint cases.
    pub case_source_channels: Vec<Channel>,
    /// Entity ids whose complaints become cases (empty: every watched entity).
    pub case_entities: Vec<String>,
    /// Complaint documents older than this many days (event time) open no case.
    pub case_max_age_days: u32,
    /// Length of each window of an effect evaluation, days.
    pub evaluation_window_days: u32,
    /// Seconds between supervisor passes.
    pub supervisor_interval_secs: u64,
    /// Base URL of the console, for links in reminders and briefings.
    pub console_base_url: String,
    /// Lowest console role that may approve a review (`analyst` or `admin`; admins always may).
    pub approver_role: String,
    /// Scheduled briefings.
    pub briefing: BriefingSettings,
}

impl Default for WorkflowSettings {
    fn default() -> Self {
        WorkflowSettings {
            departments: DEFAULT_DEPARTMENTS.iter().map(|d| d.to_string()).collect(),
            case_deadline_days: DEFAULT_CASE_DEADLINE_DAYS,
            due_soon_days: DEFAULT_DUE_SOON_DAYS,
            overdue_repeat_days: DEFAULT_OVERDUE_REPEAT_DAYS,
            reminder_channels: Vec::new(),
            department_channels: BTreeMap::new(),
            case_channels: Vec::new(),
            case_source_channels: DEFAULT_CASE_SOURCE_CHANNELS.to_vec(),
            case_entities: Vec::new(),
            case_max_age_days: DEFAULT_CASE_MAX_AGE_DAYS,
            evaluation_window_days: DEFAULT_EVALUATION_WINDOW_DAYS,
            supervisor_interval_secs: DEFAULT_SUPERVISOR_INTERVAL_SECS,
            console_base_url: DEFAULT_WORKFLOW_CONSOLE_BASE_URL.into(),
            approver_role: DEFAULT_APPROVER_ROLE.to_string(),
            briefing: BriefingSettings::default(),
        }
    }
}

impl WorkflowSettings {
    /// The chat channels of a measure owned by `department`.
    pub fn measure_channels(&self, department: &str) -> &[String] {
        match self.department_channels.get(department) {
            Some(c) if !c.is_empty() => c,
            _ => &self.reminder_channels,
        }
    }

    /// The chat channels of case reminders.
    pub fn case_reminder_channels(&self) -> &[String] {
        if self.case_channels.is_empty() {
            &self.reminder_channels
        } else {
            &self.case_channels
        }
    }
}

/// `[workflow.briefing]`: daily and weekly briefings, at local times of the top-level
/// `timezone`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BriefingSettings {
    /// Send the daily briefing (the 24 hours before `daily_at`).
    pub daily: bool,
    /// Local time of the daily briefing.
    pub daily_at: ClockTime,
    /// Send the weekly briefing (the 7 days before `weekly_day` `weekly_at`).
    pub weekly: bool,
    /// Weekday of the weekly briefing.
    pub weekly_day: WeekDay,
    /// Local time of the weekly briefing.
    pub weekly_at: ClockTime,
    /// Chat channel ids that receive briefings (empty: briefings are only shown in the
    /// console).
    pub channels: Vec<String>,
    /// Top negative documents listed.
    pub top_docs: usize,
}

impl Default for BriefingSettings {
    fn default() -> Self {
        BriefingSettings {
            daily: true,
            daily_at: DEFAULT_DAILY_AT,
            weekly: true,
            weekly_day: DEFAULT_WEEKLY_DAY,
            weekly_at: DEFAULT_WEEKLY_AT,
            channels: Vec::new(),
            top_docs: DEFAULT_BRIEFING_TOP_DOCS,
        }
    }
}

/// Check `[workflow]`; every mistake is recorded with its key.
pub(crate) fn validate(file: &Path, w: &WorkflowSettings, errors: &mut Errors) {
    if !["analyst", "admin"].contains(&w.approver_role.as_str()) {
        errors.push(
            file,
            "workflow.approver_role",
            format!("expected analyst or admin, got `{}`", w.approver_role),
        );
    }
    if w.departments.is_empty() {
        errors.push(
            file,
            "workflow.departments",
            "must name at least one department",
        );
    }
    for (i, d) in w.departments.iter().enumerate() {
        if d.trim().is_empty() {
            errors.push(
                file,
                format!("workflow.departments[{i}]"),
                "must not be empty",
            );
        } else if w.departments[..i].contains(d) {
            errors.push(
                file,
                format!("workflow.departments[{i}]"),
                format!("`{d}` is listed twice"),
            );
        }
    }
    for d in w.department_channels.keys() {
        if !w.departments.contains(d) {
            errors.push(
                file,
                format!("workflow.department_channels.{d}"),
                format!("`{d}` is not in workflow.departments"),
            );
        }
    }
    for (key, v) in [
        ("workflow.case_deadline_days", w.case_deadline_days),
        ("workflow.evaluation_window_days", w.evaluation_window_days),
        ("workflow.case_max_age_days", w.case_max_age_days),
    ] {
        if v == 0 {
            errors.push(file, key, "must be at least 1");
        }
    }
    if w.supervisor_interval_secs == 0 {
        errors.push(
            file,
            "workflow.supervisor_interval_secs",
            "must be at least 1",
        );
    }
    if !(w.console_base_url.starts_with("http://") || w.console_base_url.starts_with("https://")) {
        errors.push(
            file,
            "workflow.console_base_url",
            "expected an http:// or https:// URL",
        );
    }
    if w.briefing.top_docs == 0 || w.briefing.top_docs > 20 {
        errors.push(
            file,
            "workflow.briefing.top_docs",
            "must be between 1 and 20",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<WorkflowSettings, String> {
        toml::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_overrides() {
        let w = parse("").unwrap();
        assert_eq!(w, WorkflowSettings::default());
        assert_eq!(w.case_deadline_days, 15);
        assert_eq!(w.departments[0], "市场与品牌部");
        let w = parse(
            "case_deadline_days = 10\nreminder_channels = [\"ops\"]\n\
             [department_channels]\n\"客服\" = [\"kefu\"]\n\
             [briefing]\ndaily_at = \"07:05\"\nweekly_day = \"fri\"\n",
        )
        .unwrap();
        assert_eq!(w.case_deadline_days, 10);
        assert_eq!(w.briefing.daily_at, ClockTime { hour: 7, minute: 5 });
        assert_eq!(w.briefing.weekly_day, WeekDay::Fri);
        assert_eq!(w.measure_channels("客服"), ["kefu"]);
        assert_eq!(w.measure_channels("行政"), ["ops"]);
        assert_eq!(w.case_reminder_channels(), ["ops"]);
    }

    /// The commented `[workflow]` section of `config/yuqing.toml`, uncommented, is exactly the
    /// defaults: the documentation cannot drift from the code.
    #[test]
    fn documented_section_is_the_defaults() {
        let file = include_str!("../../../config/yuqing.toml");
        let section = &file[file.find("\n[workflow]\n").expect("a [workflow] section")..];
        let mut uncommented = String::new();
        for line in section.lines().skip(2) {
            if line.starts_with('[') {
                break; // the next section
            }
            let l = line.strip_prefix("# ").unwrap_or("");
            let key = l.split(" = ").next().unwrap_or("");
            let is_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if l == "[workflow.briefing]" {
                uncommented.push_str("[briefing]\n");
            } else if is_key && l.contains(" = ") {
                uncommented.push_str(l);
                uncommented.push('\n');
            }
        }
        assert!(uncommented.contains("[briefing]"), "{uncommented}");
        assert!(
            uncommented.contains("case_deadline_days = 15"),
            "{uncommented}"
        );
        assert_eq!(parse(&uncommented).unwrap(), WorkflowSettings::default());
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(
            parse("[briefing]\ndaily_at = \"25:00\"\n")
                .unwrap_err()
                .contains("08:30")
        );
        assert!(parse("[briefing]\ndaily_at = \"8\"\n").is_err());
        assert!(parse("[briefing]\nweekly_day = \"monday\"\n").is_err());
        assert!(parse("case_source_channels = [\"fax\"]\n").is_err());
        assert!(parse("deadline = 3\n").is_err());
        let mut errors = Errors::default();
        let w = parse(
            "departments = [\"客服\", \"客服\"]\ncase_deadline_days = 0\n\
             [department_channels]\n\"法务\" = [\"x\"]\n",
        )
        .unwrap();
        validate(Path::new("y.toml"), &w, &mut errors);
        let keys: Vec<_> = errors.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "workflow.departments[1]",
                "workflow.department_channels.法务",
                "workflow.case_deadline_days"
            ]
        );
    }
}
