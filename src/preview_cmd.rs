//! `yuqing preview`: poll a source once and print the documents it would produce, with the
//! charset decision behind each decoded body and a health verdict. Nothing is written: no
//! database, no index, no checkpoint.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use serde_json::json;
use yuqing_config::{Overrides, SourceSpec};
use yuqing_connectors::charset::Decision;
use yuqing_connectors::{BuildContext, Fetcher, PollContext, Registry, redact_url, web_page};
use yuqing_model::{Channel, Checkpoint, RawDoc, SourceId};

use crate::cli::{Cli, Fatal, env_map};

/// Characters of a body shown in the text output.
const BODY_PREVIEW_CHARS: usize = 300;

/// `yuqing preview`.
#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// A connector file (e.g. connectors/news/caixin.toml), or with --kind a URL.
    pub target: String,
    /// Preview a URL as this kind instead of a connector file.
    #[arg(long, value_enum)]
    pub kind: Option<PreviewKind>,
    /// With --kind: a `[params]` entry, KEY=VALUE (a TOML value, else a string); repeatable.
    /// A web_page URL without `item_selector` is watched as a whole page.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// One JSON object per document, then one with the health verdict.
    #[arg(long)]
    pub json: bool,
}

/// Kinds a URL can be previewed as.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PreviewKind {
    /// RSS, Atom, JSON Feed.
    Feed,
    /// A list page of links (give --param item_selector=…) or a page watched as a whole.
    WebPage,
    /// A complaint platform (give --param items=… and the field params).
    ComplaintSite,
}

impl PreviewKind {
    fn name(self) -> &'static str {
        match self {
            PreviewKind::Feed => "feed",
            PreviewKind::WebPage => "web_page",
            PreviewKind::ComplaintSite => "complaint_site",
        }
    }
}

/// Run `yuqing preview`.
pub fn preview(cli: &Cli, args: &PreviewArgs) -> Result<()> {
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        bind: None,
    };
    let (config, errors) = yuqing_config::load_partial(&cli.config, &env_map(), &overrides);
    // Without a usable settings file, the fetcher's defaults apply (public addresses only).
    let fetch = config
        .as_ref()
        .map(|c| c.settings.fetch.clone())
        .unwrap_or_default();
    let timezone = config
        .as_ref()
        .map(|c| c.settings.timezone.clone())
        .unwrap_or_default();
    let spec = match args.kind {
        Some(kind) => url_spec(kind, &args.target, &args.params)?,
        None => {
            if !args.params.is_empty() {
                return Err(anyhow!("--param is only used with --kind"));
            }
            let file = Path::new(&args.target);
            let mine: Vec<String> = errors
                .iter()
                .filter(|e| same_file(&e.file, file))
                .map(ToString::to_string)
                .collect();
            if !mine.is_empty() {
                for e in &mine {
                    println!("error: {e}");
                }
                return Err(Fatal::Config(format!("{} configuration error(s)", mine.len())).into());
            }
            config
                .as_ref()
                .and_then(|c| c.sources.iter().find(|s| same_file(&s.file, file)))
                .cloned()
                .ok_or_else(|| {
                    anyhow!(
                        "{} is not a connector file below {} (see --config)",
                        file.display(),
                        config
                            .as_ref()
                            .map(|c| c.settings.connectors_dir.display().to_string())
                            .unwrap_or_else(|| "the connectors directory".into())
                    )
                })?
        }
    };
    let registry = Registry::builtin(BuildContext::from_settings(&fetch));
    let connector = registry.build(&spec).map_err(|errs| {
        for e in &errs {
            println!("error: {e}");
        }
        Fatal::Config(format!("{} configuration error(s)", errs.len()))
    })?;
    let fetcher = Fetcher::new(&fetch).map_err(|e| anyhow!("cannot build the HTTP client: {e}"))?;
    let ctx = PollContext { fetcher };
    let (result, decisions) = crate::cli::runtime()?.block_on(
        yuqing_connectors::charset::recording(connector.poll(&ctx, &Checkpoint::default())),
    );
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let docs = result
        .as_ref()
        .map(|p| p.items.as_slice())
        .unwrap_or_default();
    for (i, d) in docs.iter().enumerate() {
        // The body a document came from: its own page when it was fetched (detail pages),
        // else the list page or feed (the first body fetched).
        let own = d
            .url
            .as_deref()
            .and_then(web_page::canonical_url_str)
            .and_then(|k| {
                decisions
                    .iter()
                    .find(|(f, _)| web_page::canonical_url(f) == k)
            });
        let charset = own.or(decisions.first()).map(|(u, c)| (redact_url(u), c));
        let charset = charset.as_ref().map(|(u, c)| (u.as_str(), *c));
        if args.json {
            println!("{}", serde_json::to_string(&doc_json(d, charset))?);
        } else {
            print_doc(i + 1, d, charset, &tz);
        }
    }
    let health = match &result {
        Ok(p) if p.items.is_empty() => json!({"health": "ok", "documents": 0,
            "note": "the source answered but produced no documents"}),
        Ok(p) => json!({"health": "ok", "documents": p.items.len()}),
        Err(e) => json!({"health": "failing", "class": e.class().as_str(), "error": e.to_string(),
            "retry_after_secs": e.retry_after_secs()}),
    };
    if args.json {
        println!("{}", serde_json::to_string(&health)?);
    } else {
        match &result {
            Ok(p) => println!(
                "\nhealth: ok ({} documents from {}; nothing written)",
                p.items.len(),
                spec.id
            ),
            Err(e) => println!("\nhealth: failing ({}): {e}", e.class()),
        }
    }
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(anyhow!("preview of {} failed: {e}", spec.id)),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A spec for `--kind KIND URL --param k=v…`.
fn url_spec(kind: PreviewKind, url: &str, params: &[String]) -> Result<SourceSpec> {
    let mut table = toml::Table::new();
    let url_key = match kind {
        PreviewKind::Feed => "url",
        _ => "list_url",
    };
    table.insert(url_key.into(), toml::Value::String(url.into()));
    for p in params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| anyhow!("--param `{p}`: expected KEY=VALUE"))?;
        let value = format!("v = {v}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(v.to_string()));
        table.insert(k.trim().to_string(), value);
    }
    if matches!(kind, PreviewKind::WebPage)
        && !table.contains_key("item_selector")
        && !table.contains_key("mode")
    {
        table.insert("mode".into(), toml::Value::String("whole_page".into()));
    }
    Ok(SourceSpec {
        id: SourceId(format!("preview/{}", kind.name())),
        file: PathBuf::from("<command line>"),
        name: "preview".into(),
        kind: kind.name().into(),
        enabled: true,
        interval_secs: yuqing_config::DEFAULT_INTERVAL_SECS,
        channel: match kind {
            PreviewKind::Feed => Channel::News,
            PreviewKind::WebPage => Channel::Web,
            PreviewKind::ComplaintSite => Channel::Complaint,
        },
        tags: vec![],
        rate_limit: yuqing_config::RateLimit::default(),
        ignore_robots: None,
        params: table,
    })
}

fn doc_json(d: &RawDoc, charset: Option<(&str, &Decision)>) -> serde_json::Value {
    json!({
        "id": d.id,
        "source": d.source_id,
        "channel": d.channel,
        "item_key": d.item_key,
        "url": d.url,
        "title": d.title,
        "body": d.body,
        "published": d.published_at.map(|t| t.to_rfc3339()),
        "author": d.author,
        "tags": d.tags,
        "charset": charset.map(|(u, c)| json!({
            "encoding": c.encoding,
            "source": format!("{:?}", c.source).to_lowercase(),
            "why": c.why,
            "body_url": u,
        })),
    })
}

fn print_doc(n: usize, d: &RawDoc, charset: Option<(&str, &Decision)>, tz: &chrono_tz::Tz) {
    println!("\n[{n}] {}", d.title);
    println!("    id: {}  key: {}", d.id, d.item_key);
    if let Some(u) = &d.url {
        println!("    url: {u}");
    }
    let time = d
        .published_at
        .map(|t| t.with_timezone(tz).format("%Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_else(|| "-".into());
    println!(
        "    published: {time}  author: {}",
        d.author.as_deref().unwrap_or("-")
    );
    if !d.tags.is_empty() {
        println!("    tags: {}", d.tags.join(", "));
    }
    if let Some((u, c)) = charset {
        println!("    charset: {} ({u}) — {}", c.encoding, c.why);
    }
    let body: String = d.body.chars().take(BODY_PREVIEW_CHARS).collect();
    let more = if d.body.chars().count() > BODY_PREVIEW_CHARS {
        " …"
    } else {
        ""
    };
    for line in body.lines() {
        println!("    | {line}");
    }
    if !more.is_empty() {
        println!("    | …");
    }
}
