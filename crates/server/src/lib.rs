//! The yuqing console and REST API (axum): server-rendered zh-CN pages for the brand team,
//! JSON under `/api/v1` for machines, `/healthz`, `/readyz` and `/metrics` for operators.
//!
//! Contract:
//! * [`app`] builds the whole [`axum::Router`] from an [`AppState`]; tests drive it with
//!   `tower::ServiceExt::oneshot`, no socket. [`serve`] binds it; [`run_console`] opens the
//!   index, the store and `users.db` itself and serves until a [`CancellationToken`] fires;
//! * every route requires authentication except `/healthz`, `/readyz`, `/login`,
//!   `/static/*` and `/api/v1/openapi.json` (and `/metrics` when
//!   [`ConsoleSettings::metrics_public`] is set). API routes answer 401 JSON; pages redirect
//!   to `/login?next=…`, and `next` only ever leads to a local path ([`auth::safe_next`]);
//! * roles are ordered viewer < analyst < admin: viewers read, analysts also acknowledge
//!   incidents, admins manage users (from the command line, [`cli::user_cmd`]);
//! * console sessions are HttpOnly SameSite=Strict cookies holding 256 random bits, stored
//!   hashed with an expiry; every state-changing form carries the session's CSRF token (API
//!   writes with a cookie carry it in `X-CSRF-Token`); machines use bearer tokens, stored
//!   hashed ([`users`]);
//! * scraped text is only ever rendered through askama's HTML escaping; highlights (search
//!   snippets, entity mentions) are split into segments in Rust and each segment is escaped;
//!   a link becomes an `href` only when it is `http(s)://`. Every response carries a strict
//!   CSP (`default-src 'self'`, no inline script), `nosniff` and a `Referrer-Policy`; every
//!   asset is embedded in the binary;
//! * the index and store are read through blocking threads; nothing blocks the runtime. The
//!   console opens the index read-only beside the daemon's writer. It writes to the store in
//!   short transactions only: incident acknowledgement and assignment, analysts'
//!   corrections (the daemon's writer re-indexes corrected documents within seconds, see
//!   [`corrections`]) and the improvement workflow ([`workflow_api`], [`workflow_pages`]),
//!   every workflow change with its audit entries;
//! * search ([`api`], [`pages`]) offers facets, a date histogram drawn as server-side SVG
//!   ([`charts`]), cursor pagination, near-duplicates collapsed per cluster, and a streamed
//!   CSV/JSON export (`/api/v1/export`);
//! * the OpenAPI document is generated from the API handlers as they are registered
//!   (utoipa-axum), so it lists exactly the routes that exist.

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod charts;
pub mod cli;
pub mod connector_metrics;
pub mod corrections;
pub mod error;
mod export;
mod inbound;
mod ops;
pub mod pages;
pub mod users;
pub mod workflow_api;
pub mod workflow_pages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono_tz::Tz;
use tokio_util::sync::CancellationToken;
use yuqing_index::DocIndex;
use yuqing_store::Store;

pub use error::ApiError;
pub use users::{Role, UserDb};

/// The Content-Security-Policy of every response: nothing from elsewhere, no inline script
/// or style, no plugins, no framing, forms post only here.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The watched company as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    /// Entity id (`entity:<id>` in queries).
    pub id: String,
    /// Display name.
    pub name: String,
}

/// Console behaviour that does not come from the data.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// Zone in which times are shown (Asia/Shanghai by default).
    pub timezone: Tz,
    /// The company whose negative documents the dashboard lists (the first configured entity).
    pub company: Option<Company>,
    /// Serve `/metrics` without authentication (for a scraper on a trusted network).
    pub metrics_public: bool,
    /// Mark the session cookie `Secure` (set when the console is served over HTTPS).
    pub secure_cookies: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            timezone: chrono_tz::Asia::Shanghai,
            company: None,
            metrics_public: false,
            secure_cookies: false,
        }
    }
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared handles behind [`AppState`].
pub struct Inner {
    /// The search index (a reader).
    pub index: Arc<DocIndex>,
    /// The store (reads, and incident acknowledgements).
    pub store: Arc<Store>,
    /// Users, sessions and API tokens.
    pub users: Arc<UserDb>,
    /// Display and security settings.
    pub settings: ConsoleSettings,
    /// Failed-login counters.
    pub throttle: auth::Throttle,
    /// The improvement workflow, when the console serves it (its routes answer 503 without).
    pub workflow: Option<workflow_api::WorkflowConsole>,
}

impl AppState {
    /// Bundle the handles.
    pub fn new(
        index: Arc<DocIndex>,
        store: Arc<Store>,
        users: Arc<UserDb>,
        settings: ConsoleSettings,
    ) -> AppState {
        AppState(Arc::new(Inner {
            index,
            store,
            users,
            settings,
            throttle: auth::Throttle::default(),
            workflow: None,
        }))
    }

    /// The same handles with the improvement workflow's pages and API enabled.
    pub fn with_workflow(self, workflow: workflow_api::WorkflowConsole) -> AppState {
        let i = &self.0;
        AppState(Arc::new(Inner {
            index: i.index.clone(),
            store: i.store.clone(),
            users: i.users.clone(),
            settings: i.settings.clone(),
            throttle: auth::Throttle::default(),
            workflow: Some(workflow),
        }))
    }

    /// The shared handles.
    pub fn inner(&self) -> &Inner {
        &self.0
    }
}

/// Run `f` with the shared handles on a blocking thread (SQLite and tantivy block).
pub(crate) async fn blocking<T, F>(st: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Inner) -> Result<T, ApiError> + Send + 'static,
{
    let st = st.clone();
    tokio::task::spawn_blocking(move || f(&st.0))
        .await
        .map_err(ApiError::internal)?
}

/// The whole application: pages, API, OpenAPI document, probes, metrics, static assets, with
/// the security headers on every response.
pub fn app(state: AppState) -> Router {
    let (api_router, openapi) = api::router()
        .merge(workflow_api::router())
        .split_for_parts();
    let openapi_json = Arc::new(openapi.to_json().unwrap_or_else(|_| "{}".to_string()));
    let pages = Router::new()
        .route("/", get(pages::dashboard))
        .route("/search", get(pages::search))
        .route("/documents/{id}", get(pages::document))
        .route("/documents/{id}/correct", post(corrections::correct_page))
        .route("/sources", get(pages::sources))
        .route("/incidents", get(pages::incidents))
        .route("/incidents/{id}", get(pages::incident))
        .route("/incidents/{id}/ack", post(pages::acknowledge))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/static/{file}", get(pages::asset));
    Router::new()
        .merge(pages)
        .merge(workflow_pages::routes())
        .merge(api_router)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let json = openapi_json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.as_str().to_owned(),
                    )
                }
            }),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(inbound::router())
        .fallback(pages::not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Serve [`app`] on `bind` until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    state: AppState,
    bind: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!(addr = %listener.local_addr()?, "console listening");
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Where the console finds its data and how it behaves; see [`run_console`].
pub struct ConsoleOptions {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// `data_dir/index`.
    pub index_dir: PathBuf,
    /// `data_dir/yuqing.db`.
    pub db_path: PathBuf,
    /// `data_dir/users.db`.
    pub users_db: PathBuf,
    /// The analyzer's tokenizer (query-time segmentation must match index time).
    pub tokenizer: yuqing_text::JiebaTokenizer,
    /// Display and security settings.
    pub settings: ConsoleSettings,
    /// The improvement workflow's settings and the watched entities (None: the workflow
    /// pages and API answer 503).
    pub workflow: Option<WorkflowOptions>,
}

/// What the console needs to serve the improvement workflow.
pub struct WorkflowOptions {
    /// `[workflow]` settings.
    pub settings: yuqing_config::WorkflowSettings,
    /// Watched entities (names in reports).
    pub entities: Vec<yuqing_model::Entity>,
    /// Lowest role that approves reviews.
    pub approver_role: Role,
}

/// Open the index (read-only: never takes the writer), the store and `users.db`, and serve
/// the console until `cancel` fires. Meant to be spawned beside the daemon
/// (`tokio::spawn(run_console(opts, token.child_token()))`) or run alone by `yuqing serve`.
pub async fn run_console(opts: ConsoleOptions, cancel: CancellationToken) -> anyhow::Result<()> {
    use anyhow::Context;
    let ConsoleOptions {
        bind,
        index_dir,
        db_path,
        users_db,
        tokenizer,
        settings,
        workflow,
    } = opts;
    let state = tokio::task::spawn_blocking(move || -> anyhow::Result<AppState> {
        let index = DocIndex::open(&index_dir, tokenizer)
            .with_context(|| format!("cannot open index {}", index_dir.display()))?;
        let store = Store::open(&db_path, 3)
            .with_context(|| format!("cannot open database {}", db_path.display()))?;
        let users = UserDb::open(&users_db)
            .with_context(|| format!("cannot open {}", users_db.display()))?;
        let store = Arc::new(store);
        let tz = settings.timezone;
        let state = AppState::new(Arc::new(index), store.clone(), Arc::new(users), settings);
        Ok(match workflow {
            Some(w) => state.with_workflow(workflow_api::WorkflowConsole {
                workflow: Arc::new(yuqing_workflow::Workflow::new(
                    store, w.settings, tz, w.entities,
                )),
                approver_role: w.approver_role,
            }),
            None => state,
        })
    })
    .await??;
    serve(state, bind, async move { cancel.cancelled().await })
        .await
        .with_context(|| format!("console on {bind}"))
}
