//! `yuqing import <file> [--source ID] [--format csv|jsonl]`: customer-feedback records from a
//! CSV (with a header row) or JSONL file into an `inbound` source.
//!
//! Every record is validated on its own (`yuqing_store::connectors::InboundRecord`); a bad
//! line is reported with its line number and reason and never drops the good ones. Good
//! records are written the way the daemon writes (analysis, index commit, then one store
//! transaction per batch; ids are stable, so importing a file twice changes nothing). When a
//! running daemon holds the index, the records go to the store's durable inbound queue
//! instead and the daemon indexes them at its next drain of the source. A summary is printed
//! on stdout; the exit code is 1 when any line failed (the good lines are imported anyway).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::ValueEnum;
use yuqing_config::{Config, SourceSpec};
use yuqing_connectors::feed::ItemMeta;
use yuqing_index::{DocIndex, IndexError};
use yuqing_store::Store;
use yuqing_store::connectors::{InboundRecord, csv_records, csv_row_object, inbound_field};

use crate::cli::{Cli, analyzer, load_config, paths};

/// `yuqing import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// CSV (header row: channel,customer,text,time[,id]) or JSONL (one JSON record per line).
    pub file: PathBuf,
    /// The `inbound` source the records belong to (default: the only configured one).
    #[arg(long)]
    pub source: Option<String>,
    /// File format (default: from the extension, .csv or .jsonl/.json/.ndjson).
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
    /// Records per commit.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
}

/// Formats `yuqing import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// Comma-separated, RFC 4180 quoting, a header row naming the fields.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Records of a file, each with its line number: valid, or the reason it is not.
type Lines = Vec<(usize, std::result::Result<InboundRecord, String>)>;

/// The file's text: UTF-8 (a BOM is dropped), else GB18030 (what Excel in China writes).
fn read_text(path: &Path) -> Result<(String, &'static str)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok((s.trim_start_matches('\u{feff}').to_string(), "UTF-8")),
        Err(e) => {
            let (text, _, bad) = encoding_rs::GB18030.decode(e.as_bytes());
            if bad {
                bail!(
                    "{} is neither UTF-8 nor GB18030 text: save it as UTF-8",
                    path.display()
                );
            }
            Ok((text.into_owned(), "GB18030"))
        }
    }
}

fn format_of(path: &Path, given: Option<ImportFormat>) -> Result<ImportFormat> {
    if let Some(f) = given {
        return Ok(f);
    }
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(ImportFormat::Csv),
        Some("jsonl" | "ndjson" | "json") => Ok(ImportFormat::Jsonl),
        _ => bail!(
            "cannot tell the format of {} from its extension: give --format csv or --format jsonl",
            path.display()
        ),
    }
}

/// Parse every record of `text`. `Err` only when the file as a whole is unusable (a CSV
/// header without the required columns).
fn parse(text: &str, format: ImportFormat) -> Result<Lines> {
    let now = Utc::now();
    let mut out = Vec::new();
    match format {
        ImportFormat::Jsonl => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let r = serde_json::from_str::<serde_json::Value>(line)
                    .map_err(|e| format!("not JSON: {e}"))
                    .and_then(|v| InboundRecord::from_json(&v, now));
                out.push((i + 1, r));
            }
        }
        ImportFormat::Csv => {
            let mut rows = csv_records(text).into_iter();
            let Some((_, header)) = rows.next() else {
                return Ok(out);
            };
            let header = header.map_err(|e| anyhow!("line 1 (the header): {e}"))?;
            let known: Vec<&str> = header.iter().filter_map(|h| inbound_field(h)).collect();
            let missing: Vec<&str> = ["channel", "customer", "text", "time"]
                .into_iter()
                .filter(|f| !known.contains(f))
                .collect();
            if !missing.is_empty() {
                bail!(
                    "the CSV header ({}) lacks the column(s) {}: the first line must name the fields channel,customer,text,time[,id]",
                    header.join(","),
                    missing.join(", ")
                );
            }
            for (line, row) in rows {
                let r = row
                    .and_then(|row| csv_row_object(&header, &row))
                    .and_then(|v| InboundRecord::from_json(&v, now));
                out.push((line, r));
            }
        }
    }
    Ok(out)
}

/// The inbound source to import into.
fn source_spec<'a>(config: &'a Config, wanted: Option<&str>) -> Result<&'a SourceSpec> {
    let inbound: Vec<&SourceSpec> = config
        .sources
        .iter()
        .filter(|s| s.kind == "inbound")
        .collect();
    let names = || {
        if inbound.is_empty() {
            "none is configured: add a connector file with kind = \"inbound\"".to_string()
        } else {
            format!(
                "inbound sources: {}",
                inbound
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    match wanted {
        Some(id) => match config.sources.iter().find(|s| s.id.as_str() == id) {
            Some(s) if s.kind == "inbound" => Ok(s),
            Some(s) => bail!(
                "source {id} is of kind `{}`, not `inbound` ({})",
                s.kind,
                names()
            ),
            None => bail!("no source {id} ({})", names()),
        },
        None if inbound.len() == 1 => Ok(inbound[0]),
        None => bail!("give --source ({})", names()),
    }
}

/// `yuqing import`.
pub fn import(cli: &Cli, args: &ImportArgs) -> Result<()> {
    let config = load_config(cli)?;
    crate::logging::init(&config.settings.log);
    let spec = source_spec(&config, args.source.as_deref())?;
    let format = format_of(&args.file, args.format)?;
    let (text, encoding) = read_text(&args.file)?;
    let lines = parse(&text, format)?;
    let total = lines.len();
    let meta = ItemMeta {
        source_id: spec.id.clone(),
        channel: spec.channel,
        tags: spec.tags.clone(),
    };

    let (index_dir, db) = paths(&config);
    let store = Store::open(&db, config.settings.pipeline.failing_after)
        .with_context(|| format!("cannot open database {}", db.display()))?;
    yuqing_pipeline::sync_sources(&config, &store)?;
    let analyzer = analyzer(&config)?;
    let index = DocIndex::open(&index_dir, analyzer.tokenizer())?;
    let p = &config.settings.pipeline;
    // The daemon owns the index while it runs: hand the records to it through the queue.
    let mut writer = match index.writer(
        p.index_writer_threads,
        p.index_writer_memory_mb * 1024 * 1024,
    ) {
        Ok(w) => Some(w),
        Err(IndexError::Locked(_)) if spec.enabled => None,
        Err(IndexError::Locked(_)) => bail!(
            "a running daemon holds the index and source {} is disabled, so it would never index the records: stop the daemon or enable the source",
            spec.id
        ),
        Err(e) => return Err(e.into()),
    };

    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "importing {bar:40} {pos}/{len} ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut failed = 0usize;
    let mut valid = 0usize;
    let mut changed = 0usize;
    let mut batch: Vec<InboundRecord> = Vec::new();
    let flush = |batch: &mut Vec<InboundRecord>,
                 writer: &mut Option<yuqing_index::IndexWriter>|
     -> Result<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        let records = std::mem::take(batch);
        match writer {
            Some(w) => {
                let now = Utc::now();
                let docs = records
                    .iter()
                    .map(|r| yuqing_pipeline::inbound::to_raw_doc(r, &meta, now))
                    .collect();
                Ok(yuqing_pipeline::inbound::ingest(
                    &analyzer, &store, w, &spec.id, docs,
                )?)
            }
            None => {
                store.enqueue_inbound(&spec.id, &records, Utc::now())?;
                Ok(records.len())
            }
        }
    };
    for (line, r) in lines {
        match r {
            Ok(rec) => {
                valid += 1;
                batch.push(rec);
                if batch.len() >= args.batch.max(1) {
                    changed += flush(&mut batch, &mut writer)?;
                }
            }
            Err(reason) => {
                failed += 1;
                bar.suspend(|| eprintln!("{}:{line}: {reason}", args.file.display()));
            }
        }
        bar.inc(1);
    }
    changed += flush(&mut batch, &mut writer)?;
    bar.finish_and_clear();
    let file = args.file.display();
    match writer {
        Some(_) => println!(
            "imported {valid} of {total} records from {file} ({encoding}) into {}: {changed} documents added or changed, {} unchanged; {failed} failed",
            spec.id,
            valid - changed,
        ),
        None => println!(
            "queued {valid} of {total} records from {file} ({encoding}) for {}: the running daemon indexes them at its next drain; {failed} failed",
            spec.id
        ),
    }
    if failed > 0 {
        bail!("{failed} of {total} records failed (listed above); the other {valid} were imported");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_jsonl_report_bad_lines_with_their_numbers() {
        let csv = "渠道,客户,内容,时间,编号\nhotline,C1,\"催收\n电话太多\",2024-05-01 08:00,1\napp,,空客户,2024-05-01 09:00,2\nonline,C3,好,not a time,3\n";
        let lines = parse(csv, ImportFormat::Csv).unwrap();
        let nums: Vec<usize> = lines.iter().map(|l| l.0).collect();
        assert_eq!(nums, [2, 4, 5]);
        assert!(lines[0].1.is_ok());
        assert!(lines[1].1.as_ref().unwrap_err().contains("customer"));
        assert!(lines[2].1.as_ref().unwrap_err().contains("time"));
        assert!(parse("a,b\n1,2\n", ImportFormat::Csv).is_err());
        let jsonl = "{\"channel\":\"app\",\"customer\":\"C\",\"text\":\"x\",\"time\":1714521600}\n\n{oops\n";
        let lines = parse(jsonl, ImportFormat::Jsonl).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].0, 3);
        assert!(lines[1].1.as_ref().unwrap_err().starts_with("not JSON"));
    }
}
