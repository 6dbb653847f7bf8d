//! Command handlers for the binary: `yuqing user …` and `yuqing serve`, plus what the daemon
//! and the demo need to start the console beside the pipeline.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use tokio_util::sync::CancellationToken;
use yuqing_config::Config;

use crate::users::{Role, UserDb};
use crate::{Company, ConsoleOptions, ConsoleSettings};

/// `yuqing user` subcommands (admin work, done on the server's command line).
#[derive(Debug, clap::Subcommand)]
pub enum UserCmd {
    /// Create a user; the password is read from stdin (or the variable named by
    /// --password-env).
    Add {
        /// Login name.
        name: String,
        /// viewer (read), analyst (also acknowledge incidents) or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Read the password from this environment variable instead of stdin.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Change a user's password (ends their sessions).
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from this environment variable instead of stdin.
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Issue a new API token for a user; it is printed once and stored hashed.
    Token {
        /// Login name.
        name: String,
    },
    /// List users and their roles.
    List,
}

/// `yuqing serve` options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; overrides `[server] bind` and YUQING_BIND.
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Serve /metrics without authentication (trusted networks only).
    #[arg(long)]
    pub metrics_public: bool,
}

/// `data_dir/users.db`.
pub fn users_db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("users.db")
}

fn read_password(env: Option<&str>) -> Result<String> {
    if let Some(var) = env {
        return std::env::var(var).map_err(|_| anyhow!("environment variable {var} is not set"));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (shown as typed; pipe it or use --password-env to hide it): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.is_empty() {
        bail!("empty password");
    }
    Ok(pw)
}

/// Run a `yuqing user` subcommand against `data_dir/users.db`.
pub fn user_cmd(data_dir: &Path, cmd: &UserCmd) -> Result<()> {
    let path = users_db_path(data_dir);
    let db = UserDb::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    match cmd {
        UserCmd::Add {
            name,
            role,
            password_env,
        } => {
            let role = Role::parse(role)
                .ok_or_else(|| anyhow!("unknown role `{role}`: viewer, analyst or admin"))?;
            let pw = read_password(password_env.as_deref())?;
            db.add_user(name, role, &pw)?;
            println!("added {name} ({})", role.as_str());
        }
        UserCmd::Passwd { name, password_env } => {
            if db.user(name)?.is_none() {
                bail!("no user named `{name}`");
            }
            let pw = read_password(password_env.as_deref())?;
            db.set_password(name, &pw)?;
            println!("password of {name} changed; their sessions ended");
        }
        UserCmd::Token { name } => {
            let token = db.create_api_token(name)?;
            eprintln!("API token for {name} (shown once; send it as `Authorization: Bearer …`):");
            println!("{token}");
        }
        UserCmd::List => {
            for u in db.users()? {
                println!("{:<24} {}", u.name, u.role.as_str());
            }
        }
    }
    Ok(())
}

/// Create (or reset) the demo's analyst login and return `(name, password)` to print. The
/// password is random per run.
pub fn ensure_demo_user(data_dir: &Path) -> Result<(String, String)> {
    let path = users_db_path(data_dir);
    let db = UserDb::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let name = "demo".to_string();
    let password = crate::users::random_token()[..16].to_string();
    if db.user(&name)?.is_some() {
        db.set_password(&name, &password)?;
    } else {
        db.add_user(&name, Role::Analyst, &password)?;
    }
    Ok((name, password))
}

/// The console's options from the loaded configuration: paths under the data directory, the
/// display zone, the first configured entity as the company, the bind address (`bind`
/// overrides the configured one).
pub fn console_options(
    config: &Config,
    tokenizer: yuqing_text::JiebaTokenizer,
    bind: Option<SocketAddr>,
) -> ConsoleOptions {
    let d = &config.settings.data_dir;
    ConsoleOptions {
        bind: bind.unwrap_or(config.settings.server.bind),
        index_dir: d.join("index"),
        db_path: d.join("yuqing.db"),
        users_db: users_db_path(d),
        tokenizer,
        settings: ConsoleSettings {
            timezone: config
                .settings
                .timezone
                .parse()
                .unwrap_or(chrono_tz::Asia::Shanghai),
            company: config.entities.first().map(|e| Company {
                id: e.id.clone(),
                name: e.name.clone(),
            }),
            metrics_public: false,
            secure_cookies: false,
        },
        workflow: Some(crate::WorkflowOptions {
            settings: config.settings.workflow.clone(),
            entities: config.entities.clone(),
            approver_role: Role::parse(&config.settings.workflow.approver_role)
                .unwrap_or(Role::Admin),
        }),
    }
}

/// `yuqing serve`: the console alone (beside a running daemon or not) until SIGINT/SIGTERM.
pub async fn serve_until_signal(opts: ConsoleOptions) -> Result<()> {
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        c.cancel();
    });
    let bind = opts.bind;
    eprintln!(
        "console: http://{bind}/ (create a login with `yuqing user add NAME --role analyst`)"
    );
    crate::run_console(opts, cancel).await
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM: how the daemon and the console are
/// asked to stop.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
