//! `yuqing feedcheck <dir>`: run the feed parser over the feedparser test suite in `dir`
//! (`manifest.tsv` and its files) and print the share of expectations met for title, link,
//! date, encoding and ill-formed handling (see `yuqing_connectors::feedcheck` for how the
//! Python expectations are evaluated). Exit code 1 if anything panicked.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use yuqing_connectors::feedcheck::{Category, Outcome, check_dir};

/// `yuqing feedcheck`.
#[derive(Debug, clap::Args)]
pub struct FeedcheckArgs {
    /// The suite: a directory holding manifest.tsv (e.g. ../shared/corpora/feeds/feedparser).
    pub dir: PathBuf,
    /// Also list every expectation not met, with the reason.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Print JSON (shares per category) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `yuqing feedcheck`.
pub fn feedcheck(args: &FeedcheckArgs) -> Result<()> {
    let report = check_dir(&args.dir)
        .with_context(|| format!("cannot read {}/manifest.tsv", args.dir.display()))?;
    let (per, all) = report.tallies();
    if args.json {
        let cats: serde_json::Map<String, serde_json::Value> = Category::ALL
            .iter()
            .map(|c| {
                let t = per.get(c).copied().unwrap_or_default();
                (
                    c.as_str().to_string(),
                    serde_json::json!({
                        "total": t.total, "met": t.met, "unmet": t.unmet,
                        "unsupported": t.unsupported, "panics": t.panics, "share": t.share(),
                    }),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "categories": cats,
                "all": {"total": all.total, "met": all.met, "share": all.share()},
                "panics": all.panics,
                "not_applicable": report.not_applicable,
            })
        );
    } else {
        if args.verbose {
            for r in &report.rows {
                let why = match &r.outcome {
                    Outcome::Met => continue,
                    Outcome::Unmet(m) => format!("unmet ({m})"),
                    Outcome::Unsupported(m) => format!("unsupported ({m})"),
                    Outcome::Panic => "PANIC".into(),
                    Outcome::Missing => "file missing".into(),
                };
                println!(
                    "{:<10} {}  {}  [{}]",
                    r.category.as_str(),
                    r.row.path,
                    why,
                    r.row.expect
                );
            }
            println!();
        }
        println!(
            "{:<11} {:>6} {:>6} {:>7} {:>11} {:>6}",
            "category", "rows", "met", "share", "unsupported", "panics"
        );
        for c in Category::ALL {
            let t = per.get(&c).copied().unwrap_or_default();
            println!(
                "{:<11} {:>6} {:>6} {:>6.1}% {:>11} {:>6}",
                c.as_str(),
                t.total,
                t.met,
                100.0 * t.share(),
                t.unsupported,
                t.panics
            );
        }
        println!(
            "{:<11} {:>6} {:>6} {:>6.1}% {:>11} {:>6}",
            "all",
            all.total,
            all.met,
            100.0 * all.share(),
            all.unsupported,
            all.panics
        );
        println!(
            "({} rows not applicable offline: HTTP status tests and rows without an expectation)",
            report.not_applicable
        );
    }
    if all.panics > 0 {
        bail!("{} file(s) made the parser panic", all.panics);
    }
    Ok(())
}
