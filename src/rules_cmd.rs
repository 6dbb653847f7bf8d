//! `yuqing rules backtest --from --to [--json]`: replay stored documents through the rules of
//! `rules.toml` (next to `yuqing.toml`) and list the incidents each would have opened. Reads
//! the database read-only and writes nothing, so it runs beside a daemon.

use anyhow::{Context, Result, anyhow};

/// Run the back-test over `[from, to)`; `from`/`to` are dates (`2024-05-01`), local times
/// (`2024-05-01 08:00`) in the configured time zone, or RFC 3339.
pub fn backtest_cmd(cli: &crate::cli::Cli, from: &str, to: &str, json: bool) -> Result<()> {
    let config = crate::cli::load_config(cli)?;
    let tz: chrono_tz::Tz = config
        .settings
        .timezone
        .parse()
        .map_err(|_| anyhow!("bad time zone {}", config.settings.timezone))?;
    let rules_file = &config.settings.rules_file;
    let ids: Vec<String> = config.entities.iter().map(|e| e.id.clone()).collect();
    let rules = yuqing_incidents::load_rules(rules_file, &ids)?;
    let from = yuqing_incidents::parse_time_arg(from, tz).map_err(|e| anyhow!("--from {e}"))?;
    let to = yuqing_incidents::parse_time_arg(to, tz).map_err(|e| anyhow!("--to {e}"))?;
    if from >= to {
        return Err(anyhow!("--from must be before --to"));
    }
    let db = config.settings.data_dir.join("yuqing.db");
    let store = yuqing_store::Store::open_read_only(&db)
        .with_context(|| format!("cannot open {}", db.display()))?;
    let found = yuqing_incidents::backtest(&store, &rules, &config.entities, from, to)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        print!("{}", yuqing_incidents::render_backtest(&found, tz));
    }
    Ok(())
}
