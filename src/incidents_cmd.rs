//! `yuqing incidents …`: list, show, acknowledge and assign incidents (the daemon may be
//! running).

use anyhow::{Context, Result, anyhow};
use chrono::Utc;
use yuqing_model::IncidentStatus;
use yuqing_store::Store;

use crate::cli::Cli;

/// `yuqing incidents` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum IncidentsCmd {
    /// List incidents, newest first.
    List {
        /// Only this status: open, acknowledged or resolved.
        #[arg(long)]
        status: Option<String>,
        /// Most incidents to show.
        #[arg(long, short = 'n', default_value_t = 50)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one incident: why it opened, its documents in order, its history, its alerts.
    Show {
        /// Incident id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an incident (stops the unacknowledged escalation).
    Ack {
        /// Incident id.
        id: i64,
        /// Who acknowledges.
        #[arg(long)]
        by: String,
    },
    /// Assign an incident to someone (recorded in its history).
    Assign {
        /// Incident id.
        id: i64,
        /// Who the incident is assigned to.
        #[arg(long)]
        to: String,
        /// Who assigns it.
        #[arg(long)]
        by: String,
    },
}

fn open(cli: &Cli, write: bool) -> Result<(Store, chrono_tz::Tz)> {
    let config = crate::cli::load_config(cli)?;
    let (_, db) = crate::cli::paths(&config);
    if !db.exists() {
        return Err(anyhow!(
            "no database at {}: run `yuqing run` first",
            db.display()
        ));
    }
    let store = if write {
        Store::open(&db, config.settings.pipeline.failing_after)
    } else {
        Store::open_read_only(&db)
    }
    .with_context(|| format!("cannot open {}", db.display()))?;
    let tz = config
        .settings
        .timezone
        .parse()
        .unwrap_or(chrono_tz::Asia::Shanghai);
    Ok((store, tz))
}

/// Run an incidents subcommand.
pub fn run(cli: &Cli, cmd: &IncidentsCmd) -> Result<()> {
    match cmd {
        IncidentsCmd::List {
            status,
            limit,
            json,
        } => {
            let status = match status.as_deref() {
                None => None,
                Some(s) => Some(IncidentStatus::parse(s).ok_or_else(|| {
                    anyhow!("unknown status `{s}`: open, acknowledged or resolved")
                })?),
            };
            let (store, tz) = open(cli, false)?;
            let list = store.incidents(status, *limit)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            println!(
                "{:>5}  {:<12} {:<6} {:<17} {:>5}  标题",
                "id", "status", "级别", "opened", "docs"
            );
            for i in list {
                println!(
                    "{:>5}  {:<12} {:<6} {:<17} {:>5}  {}",
                    i.id,
                    i.status.as_str(),
                    i.severity.zh(),
                    i.opened_at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                    i.doc_count,
                    i.title
                );
            }
            Ok(())
        }
        IncidentsCmd::Show { id, json } => {
            let (store, tz) = open(cli, false)?;
            let inc = store
                .incident(*id)?
                .ok_or_else(|| anyhow!("no incident {id}"))?;
            let docs = store.incident_docs(*id)?;
            let events = store.incident_events(*id)?;
            let alerts = store.outbox_rows(Some(*id))?;
            if *json {
                let v = serde_json::json!({
                    "incident": inc, "documents": docs, "events": events, "notifications": alerts,
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            println!(
                "#{} {}  [{} · {}]",
                inc.id,
                inc.title,
                inc.status.as_str(),
                inc.severity.zh()
            );
            println!(
                "opened {}",
                inc.opened_at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S")
            );
            println!("why: {}", serde_json::to_string(&inc.why)?);
            println!("\n传播路径 (documents in order):");
            for d in docs {
                println!(
                    "  {}  [{}]  {}",
                    d.doc_at.with_timezone(&tz).format("%m-%d %H:%M"),
                    d.source_id,
                    d.title
                );
            }
            println!("\n记录 (history):");
            for e in events {
                println!(
                    "  {}  {}  {}",
                    e.at.with_timezone(&tz).format("%m-%d %H:%M:%S"),
                    e.kind.as_str(),
                    e.detail
                );
            }
            println!("\n告警 (notifications):");
            for a in alerts {
                println!(
                    "  {}  {}  {:?}  attempts={}",
                    a.channel, a.notification.title, a.status, a.attempts
                );
            }
            Ok(())
        }
        IncidentsCmd::Ack { id, by } => {
            let (store, _) = open(cli, true)?;
            if store.acknowledge_incident(*id, by, Utc::now())? {
                println!("incident {id} acknowledged by {by}");
                Ok(())
            } else {
                Err(anyhow!("no open incident {id}"))
            }
        }
        IncidentsCmd::Assign { id, to, by } => {
            let to = to.trim();
            if to.is_empty() {
                return Err(anyhow!("--to must name someone"));
            }
            let (store, _) = open(cli, true)?;
            if store.assign_incident(*id, to, by, Utc::now())? {
                println!("incident {id} assigned to {to} by {by}");
                Ok(())
            } else {
                Err(anyhow!("no incident {id}"))
            }
        }
    }
}
