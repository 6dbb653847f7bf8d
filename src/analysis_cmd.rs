//! Analysis commands: `analyze`, `eval`, `reanalyze`, `correct`, `corrections export`.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use yuqing_index::{DocIndex, IndexError};
use yuqing_model::{Channel, Correction, DocId, Document, Field, RawDoc, SentimentLabel, SourceId};
use yuqing_store::Store;
use yuqing_text::{Analyzer, apply_correction, eval, original_range};

use crate::cli::{Cli, analyzer, load_config, paths};

/// Targets of the analysis issue, printed beside the figures.
const TARGET_DOC_F1: f64 = 0.88;
const TARGET_ENTITY_F1: f64 = 0.80;
const TARGET_ACCURACY: f64 = 0.85;

/// `yuqing analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// A file holding the text (the body; its first line is the title with --title-line);
    /// `-` or nothing reads standard input, unless --body is given (or only --title, with
    /// standard input a terminal).
    #[arg(conflicts_with = "body")]
    pub file: Option<PathBuf>,
    /// The title. The body is then --body, else the file or piped standard input.
    #[arg(long, conflicts_with = "title_line")]
    pub title: Option<String>,
    /// The body.
    #[arg(long)]
    pub body: Option<String>,
    /// Take the first line of the input as the title.
    #[arg(long)]
    pub title_line: bool,
    /// Also print the jieba tokens of title and body.
    #[arg(long)]
    pub tokens: bool,
}

/// `yuqing eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Labelled files: CSV `label,text`, the FinNSP JSON list, or one-text-per-line files (or a
    /// folder of them) named by class (neg.txt, pos.txt).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Use at most this many items of each file (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Exit with 1 when a figure is below its target.
    #[arg(long)]
    pub check: bool,
}

/// `yuqing reanalyze`.
#[derive(Debug, clap::Args)]
pub struct ReanalyzeArgs {
    /// Only documents analyzed by an older analyzer version.
    #[arg(long)]
    pub outdated: bool,
    /// Documents per index and store commit.
    #[arg(long, default_value_t = 2000)]
    pub batch: usize,
}

/// Label values on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LabelArg {
    /// 负面.
    Negative,
    /// 中性.
    Neutral,
    /// 正面.
    Positive,
}

impl From<LabelArg> for SentimentLabel {
    fn from(l: LabelArg) -> SentimentLabel {
        match l {
            LabelArg::Negative => SentimentLabel::Negative,
            LabelArg::Neutral => SentimentLabel::Neutral,
            LabelArg::Positive => SentimentLabel::Positive,
        }
    }
}

/// `yuqing correct`.
#[derive(Debug, clap::Args)]
pub struct CorrectArgs {
    /// The document id.
    pub doc_id: String,
    /// The correct document-level label.
    #[arg(long, value_enum)]
    pub label: Option<LabelArg>,
    /// An entity id whose mentions in this document are false (repeatable).
    #[arg(long = "false-mention")]
    pub false_mentions: Vec<String>,
    /// Who corrects.
    #[arg(long)]
    pub by: String,
    /// Why.
    #[arg(long)]
    pub note: Option<String>,
}

/// `yuqing corrections …`.
#[derive(Debug, Subcommand)]
pub enum CorrectionsCmd {
    /// Export corrected documents as labelled data.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object a line.
    Jsonl,
    /// CSV with a header: `label,text,doc_id,false_mentions,by,note,at` (readable by eval).
    Csv,
}

fn adhoc_raw(title: String, body: String) -> RawDoc {
    RawDoc {
        id: DocId("0".repeat(32)),
        source_id: SourceId("cli".into()),
        channel: Channel::Web,
        item_key: String::new(),
        url: None,
        title,
        body,
        author: None,
        published_at: None,
        fetched_at: Utc::now(),
        tags: Vec::new(),
    }
}

/// `yuqing analyze`: print the full analysis of one text as JSON.
pub fn analyze(cli: &Cli, args: &AnalyzeArgs) -> Result<()> {
    let config = load_config(cli)?;
    let a = analyzer(&config)?;
    let read_input = || -> Result<String> {
        let mut text = String::new();
        match &args.file {
            Some(p) if p.as_os_str() != "-" => {
                text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
            }
            _ => {
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read standard input")?;
            }
        }
        Ok(text)
    };
    let (title, body) = match (&args.title, &args.body) {
        (title, Some(body)) => (title.clone().unwrap_or_default(), body.clone()),
        // A title alone: the body is the file, or standard input unless nobody types into it.
        (Some(title), None) => {
            let stdin_typed = args.file.is_none() && std::io::stdin().is_terminal();
            let body = if stdin_typed {
                String::new()
            } else {
                read_input()?
            };
            (title.clone(), body)
        }
        (None, None) => {
            let text = read_input()?;
            if args.title_line {
                let (t, b) = text.split_once('\n').unwrap_or((&text, ""));
                (t.to_string(), b.to_string())
            } else {
                (String::new(), text)
            }
        }
    };
    let raw = adhoc_raw(title, body);
    let analysis = a.analyze(&raw);
    let mentions: Vec<serde_json::Value> = analysis
        .mentions
        .iter()
        .map(|m| {
            let orig = original_range(&raw, m.field, m.start, m.end);
            let src = match m.field {
                Field::Title => &raw.title,
                Field::Body => &raw.body,
            };
            json!({
                "entity_id": m.entity_id,
                "alias": m.alias,
                "kind": m.kind,
                "field": m.field,
                "start": m.start,
                "end": m.end,
                "original_start": orig.start,
                "original_end": orig.end,
                "original_text": src.get(orig.clone()),
            })
        })
        .collect();
    let mut out = serde_json::to_value(&analysis)?;
    out["mentions"] = json!(mentions);
    out["simhash_hex"] = json!(format!("{:016x}", analysis.simhash));
    if args.tokens {
        out["tokens"] = json!({
            "title": a.segment(&analysis.title),
            "body": a.segment(&analysis.body),
        });
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn mark(value: f64, target: f64) -> &'static str {
    if value >= target {
        "ok"
    } else {
        "BELOW TARGET"
    }
}

/// `yuqing eval`: figures per labelled file.
pub fn eval(cli: &Cli, args: &EvalArgs) -> Result<()> {
    let config = load_config(cli)?;
    let a = analyzer(&config)?;
    let mut below = false;
    for path in &args.files {
        let mut items = eval::load(path)?;
        if args.limit > 0 {
            items.truncate(args.limit);
        }
        let r = eval::evaluate(&a, &items, |_| {});
        let d = r.doc;
        println!("{}: {} items", path.display(), d.total());
        println!(
            "  document: accuracy {:.3}  negative precision {:.3}  recall {:.3}  F1 {:.3}  \
             (tp {} fp {} tn {} fn {}; {} predicted neutral)",
            d.accuracy(),
            d.precision(),
            d.recall(),
            d.f1(),
            d.tp,
            d.fp,
            d.tn,
            d.fn_,
            r.neutral
        );
        match r.entity {
            Some(e) => {
                println!(
                    "  entity:   {} decisions  negative precision {:.3}  recall {:.3}  F1 {:.3}  \
                     (tp {} fp {} tn {} fn {})",
                    e.total(),
                    e.precision(),
                    e.recall(),
                    e.f1(),
                    e.tp,
                    e.fp,
                    e.tn,
                    e.fn_
                );
                println!(
                    "  targets:  document F1 ≥ {TARGET_DOC_F1} {}; entity F1 ≥ {TARGET_ENTITY_F1} {}",
                    mark(d.f1(), TARGET_DOC_F1),
                    mark(e.f1(), TARGET_ENTITY_F1)
                );
                below |= d.f1() < TARGET_DOC_F1 || e.f1() < TARGET_ENTITY_F1;
            }
            None => {
                println!(
                    "  target:   accuracy ≥ {TARGET_ACCURACY} {}",
                    mark(d.accuracy(), TARGET_ACCURACY)
                );
                below |= d.accuracy() < TARGET_ACCURACY;
            }
        }
    }
    if args.check && below {
        bail!("a figure is below its target");
    }
    Ok(())
}

/// Re-analyze stored documents, respecting corrections, updating index and store.
pub fn reanalyze(cli: &Cli, args: &ReanalyzeArgs) -> Result<()> {
    let config = load_config(cli)?;
    crate::logging::init(&config.settings.log);
    let crate::cli::Rewrite {
        analyzer: a,
        store,
        mut writer,
        total,
        bar,
    } = crate::cli::open_rewrite(&config, "re-analyzing")?;
    let mut changed = 0u64;
    store.for_each_document::<anyhow::Error>(args.batch.max(1), |docs| {
        let mut out: Vec<Document> = Vec::with_capacity(docs.len());
        for d in docs {
            bar.inc(1);
            if args.outdated && d.analysis.analyzer_version >= yuqing_text::ANALYZER_VERSION {
                continue;
            }
            out.push(reanalyze_one(&a, &store, d)?);
        }
        if out.is_empty() {
            return Ok(());
        }
        store.assign_clusters(&mut out)?;
        for d in &out {
            writer.upsert(d)?;
        }
        // The commit protocol: index commit, then one store transaction.
        writer.commit()?;
        store.commit(out.iter(), &[])?;
        changed += out.len() as u64;
        Ok(())
    })?;
    bar.finish_and_clear();
    eprintln!(
        "re-analyzed {changed} of {total} documents (analyzer version {})",
        yuqing_text::ANALYZER_VERSION
    );
    Ok(())
}

/// Analyze a stored document again, apply its correction; its cluster is kept (the store
/// keeps a recorded document in its cluster).
fn reanalyze_one(a: &Analyzer, store: &Store, d: Document) -> Result<Document> {
    let mut analysis = a.analyze(&d.raw);
    if let Some(c) = store.correction(&d.raw.id)? {
        apply_correction(&mut analysis, &c);
    }
    Ok(Document {
        raw: d.raw,
        analysis,
        cluster: d.cluster,
    })
}

/// `yuqing correct`: store a correction and apply it to the stored document (and the index
/// when no daemon holds it).
pub fn correct(cli: &Cli, args: &CorrectArgs) -> Result<()> {
    if args.label.is_none() && args.false_mentions.is_empty() {
        bail!("nothing to correct: give --label and/or --false-mention");
    }
    if args.by.trim().is_empty() {
        bail!("--by must name who corrects");
    }
    let config = load_config(cli)?;
    let (index_dir, db) = paths(&config);
    if !db.exists() {
        return Err(anyhow!("no database at {}", db.display()));
    }
    let store = Store::open(&db, config.settings.pipeline.failing_after)?;
    let id = DocId(args.doc_id.clone());
    let label = args.label.map(SentimentLabel::from);
    let Some((_, doc)) = store.correct(
        &id,
        |earlier| {
            Correction::merged(
                earlier,
                id.clone(),
                label,
                &args.false_mentions,
                &args.by,
                args.note.clone(),
                Utc::now(),
            )
        },
        apply_correction,
    )?
    else {
        bail!("no stored document {}", args.doc_id);
    };
    let a = analyzer(&config)?;
    let index = DocIndex::open(&index_dir, a.tokenizer())?;
    let p = &config.settings.pipeline;
    match index.writer(1, p.index_writer_memory_mb * 1024 * 1024) {
        Ok(mut w) => {
            w.upsert(&doc)?;
            w.commit()?;
            println!("corrected {id}: stored and re-indexed");
        }
        Err(IndexError::Locked(_)) => {
            // The daemon owns the index: its writer re-indexes corrected documents within
            // seconds (and all of them when it starts).
            println!("corrected {id}: stored; the running daemon re-indexes it");
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// `yuqing corrections …`.
pub fn corrections(cli: &Cli, cmd: &CorrectionsCmd) -> Result<()> {
    let CorrectionsCmd::Export { format, output } = cmd;
    let config = load_config(cli)?;
    let (_, db) = paths(&config);
    if !db.exists() {
        return Err(anyhow!("no database at {}", db.display()));
    }
    let store = Store::open_read_only(&db)?;
    let mut out: Box<dyn Write> = match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    if matches!(format, ExportFormat::Csv) {
        writeln!(out, "label,text,doc_id,false_mentions,by,note,at")?;
    }
    let mut n = 0;
    for c in store.corrections()? {
        let Some(doc) = store.document(&c.doc_id)? else {
            continue;
        };
        let label = c.label.unwrap_or(doc.analysis.sentiment.label);
        let text = if doc.raw.title.is_empty() {
            doc.raw.body.clone()
        } else {
            format!("{}\n{}", doc.raw.title, doc.raw.body)
        };
        match format {
            ExportFormat::Jsonl => {
                let row = json!({
                    "doc_id": c.doc_id,
                    "label": label,
                    "label_corrected": c.label.is_some(),
                    "title": doc.raw.title,
                    "text": doc.raw.body,
                    "false_mentions": c.false_mentions,
                    "by": c.by,
                    "note": c.note,
                    "at": c.at,
                    "source_id": doc.raw.source_id,
                    "url": doc.raw.url,
                });
                writeln!(out, "{row}")?;
            }
            ExportFormat::Csv => {
                writeln!(
                    out,
                    "{},{},{},{},{},{},{}",
                    label.as_str(),
                    csv_field(&text),
                    csv_field(c.doc_id.as_str()),
                    csv_field(&c.false_mentions.join(";")),
                    csv_field(&c.by),
                    csv_field(c.note.as_deref().unwrap_or("")),
                    c.at.to_rfc3339()
                )?;
            }
        }
        n += 1;
    }
    out.flush()?;
    eprintln!("exported {n} corrected documents");
    Ok(())
}

/// RFC 4180 quoting when needed.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
