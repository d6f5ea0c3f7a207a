//! Wiring: builds the queue, store, helpdesk and workflow settings from the configuration, binds
//! the listener, and runs the role (`serve`, `receive`, `work`) until shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::QueueBackend;
use crate::config::{Config, Secret};
use crate::health::Health;
use crate::helpdesk::budget::{ApiBudget, SharedBudget};
use crate::helpdesk::shadow::ShadowHelpdesk;
use crate::helpdesk::zammad::{self, ZammadIntegration, ZammadSignature};
use crate::helpdesk::zendesk::signature::ZendeskSignature;
use crate::helpdesk::zendesk::{self, ZendeskClient, ZendeskIntegration};
use crate::helpdesk::{Helpdesk, Helpdesks};
use crate::ingest::{self, HttpState};
use crate::queue::Queue;
use crate::queue::amqp::AmqpQueue;
use crate::queue::embedded::EmbeddedQueue;
use crate::store::{Store, StoreOptions};
use crate::sync::reconcile::Reconciler;
use crate::worker::{self, Worker};
use crate::workflow::WorkflowSettings;
use crate::workflow::classify::Classifier;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Receiver and workers in one process.
    Serve,
    /// Receiver only (needs a shared queue).
    Receive,
    /// Workers only (needs a shared queue); serves probes and metrics.
    Work,
}

impl Role {
    fn receives(self) -> bool {
        self != Role::Work
    }
    fn works(self) -> bool {
        self != Role::Receive
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Config(String),
    #[error("queue: {0}")]
    Queue(#[from] crate::queue::QueueError),
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("helpdesk: {0}")]
    Helpdesk(#[from] crate::helpdesk::HelpdeskError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

/// Opens the queue the configuration names.
pub async fn open_queue(config: &Config) -> Result<Arc<dyn Queue>, AppError> {
    Ok(match config.queue_backend() {
        QueueBackend::Embedded { data_dir } => Arc::new(
            EmbeddedQueue::open(
                &data_dir,
                config.retry_policy(),
                crate::timeouts::EMBEDDED_LEASE,
            )
            .await?,
        ),
        QueueBackend::Amqp { url, prefix } => Arc::new(
            AmqpQueue::connect(
                &url,
                &prefix,
                config.retry_policy(),
                config.consumer_prefetch(),
            )
            .await?,
        ),
    })
}

pub async fn open_store(config: &Config) -> Result<Store, AppError> {
    Ok(Store::open(&store_options(config))
        .await?
        .with_trail_key(config.trail_key()))
}

pub fn store_options(config: &Config) -> StoreOptions {
    StoreOptions {
        url: config.database_url.clone(),
        max_connections: config.database_max_connections,
        acquire_timeout: Duration::from_secs(config.database_acquire_timeout_secs),
    }
}

pub fn workflow_settings(config: &Config) -> Result<WorkflowSettings, AppError> {
    let classifier = match &config.rules_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                AppError::Config(format!("ONBEHALF_RULES_FILE {}: {e}", path.display()))
            })?;
            Classifier::from_toml(&text).map_err(|e| {
                AppError::Config(format!("ONBEHALF_RULES_FILE {}: {e}", path.display()))
            })?
        }
        None => Classifier::builtin(),
    };
    for warning in classifier.warnings() {
        tracing::warn!("{warning}");
    }
    Ok(WorkflowSettings {
        classifier: classifier.with_override_prefix(&config.tag_category_prefix),
        tags: config.tag_names(),
        // Each helpdesk adds its own terms (`Worker::new`).
        helpdesk: Default::default(),
    })
}

/// The deployment's helpdesks, and the Zendesk client the ticket sync reads with (`None`
/// without Zendesk credentials). Each helpdesk's client reports outages to `health` and spends
/// its own API budget (shared through `store` when that is PostgreSQL); a helpdesk without
/// credentials, or set to shadow, keeps its notes in the store.
pub struct HelpdeskParts {
    pub helpdesks: Helpdesks,
    pub history: Option<Arc<ZendeskClient>>,
}

fn budget(store: &Store, account: &str, per_minute: u32) -> Option<Arc<dyn ApiBudget>> {
    store.shares_api_budget().then(|| {
        Arc::new(SharedBudget::new(store.clone(), account, per_minute)) as Arc<dyn ApiBudget>
    })
}

/// Each configured helpdesk's webhook secrets; none for a process that receives no webhooks.
#[derive(Default)]
pub struct WebhookSecrets {
    zendesk: Vec<Secret>,
    zammad: Vec<Secret>,
}

impl WebhookSecrets {
    /// The configured secrets, or (`serve`) generated ones; `receive` without them fails.
    pub fn of(config: &Config, role: Role) -> Result<WebhookSecrets, AppError> {
        if !role.receives() {
            return Ok(WebhookSecrets::default());
        }
        let zendesk = signing_secrets(
            config,
            role,
            &ZENDESK_SECRETS,
            &config.zendesk().signing_secrets,
        )?;
        let zammad = match config.zammad() {
            Some(section) => {
                signing_secrets(config, role, &ZAMMAD_SECRETS, &section.signing_secrets)?
            }
            None => vec![],
        };
        Ok(WebhookSecrets { zendesk, zammad })
    }
}

/// Builds every configured helpdesk, checking webhooks with `secrets`.
pub fn helpdesks(
    config: &Config,
    store: &Store,
    health: &Health,
    secrets: WebhookSecrets,
) -> Result<HelpdeskParts, AppError> {
    let section = config.zendesk();
    let client = section.client()?.map(|client| {
        let client = client.with_health(health.clone());
        let budget = budget(store, &client.account(), section.requests_per_minute);
        Arc::new(match budget {
            Some(budget) => client.with_budget(budget),
            None => client,
        })
    });
    let notes: Arc<dyn Helpdesk> = match &client {
        Some(client) if !section.shadow => client.clone(),
        _ => Arc::new(ShadowHelpdesk),
    };
    let signature = ZendeskSignature::new(
        secrets.zendesk,
        Duration::from_secs(section.signature_tolerance_secs),
    );
    let zendesk = ZendeskIntegration::new(signature, notes, section.url());
    let zendesk = match &client {
        Some(client) => zendesk.with_requesters(client.clone()),
        None => zendesk,
    };
    let mut helpdesks = Helpdesks::new().with(Arc::new(zendesk));
    if let Some(section) = config.zammad() {
        let client = section.client()?.map(|client| {
            let client = client.with_health(health.clone());
            let budget = budget(store, &client.account(), section.requests_per_minute);
            Arc::new(match budget {
                Some(budget) => client.with_budget(budget),
                None => client,
            })
        });
        let notes: Arc<dyn Helpdesk> = match &client {
            Some(client) if !section.shadow => client.clone(),
            _ => Arc::new(ShadowHelpdesk),
        };
        let zammad =
            ZammadIntegration::new(ZammadSignature::new(secrets.zammad), notes, &section.url);
        let zammad = match client {
            Some(client) => zammad.with_requesters(client),
            None => zammad,
        };
        helpdesks = helpdesks.with(Arc::new(zammad));
    }
    Ok(HelpdeskParts {
        helpdesks,
        history: client,
    })
}

/// The Zendesk client the configuration describes; `None` in shadow mode.
pub fn zendesk_client(config: &Config) -> Result<Option<ZendeskClient>, AppError> {
    Ok(config.zendesk().client()?)
}

/// How one helpdesk's notes are delivered under a configuration, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteModeReport {
    pub helpdesk: &'static str,
    pub mode: crate::helpdesk::NoteMode,
    /// One sentence a user can act on.
    pub why: String,
}

/// The note mode of every helpdesk the configuration knows (logged at start, shown by
/// `check-config`).
pub fn note_modes(config: &Config) -> Vec<NoteModeReport> {
    use crate::helpdesk::NoteMode;
    const READ_THEM: &str =
        "read them with `onbehalf notes --since 1h` or GET /api/notes?status=shadow";
    let posted = |helpdesk, url: &str| NoteModeReport {
        helpdesk,
        mode: NoteMode::Posted,
        why: format!(
            "notes are posted to {} as internal notes",
            crate::config::mask_url_password(url)
        ),
    };
    let shadow = |helpdesk, because: &str| NoteModeReport {
        helpdesk,
        mode: NoteMode::Shadow,
        why: format!("{because}: notes are recorded, never posted; {READ_THEM}"),
    };
    let zendesk = zendesk::integration::NAME;
    let mut reports = vec![match (&config.zendesk_url, config.zendesk().shadow) {
        (None, _) => shadow(zendesk, "ONBEHALF_ZENDESK_URL is not set"),
        (Some(_), true) => shadow(zendesk, "ONBEHALF_ZENDESK_SHADOW is true"),
        (Some(url), false) => posted(zendesk, url),
    }];
    if let Some(section) = config.zammad() {
        reports.push(match (section.shadow, &section.api_token) {
            (true, _) => shadow(zammad::NAME, "ONBEHALF_ZAMMAD_SHADOW is true"),
            (false, None) => shadow(zammad::NAME, "ONBEHALF_ZAMMAD_API_TOKEN is not set"),
            (false, Some(_)) => posted(zammad::NAME, &section.url),
        });
    }
    reports
}

/// How one helpdesk's webhook secrets are named to the operator.
struct SecretsOf {
    helpdesk: &'static str,
    variable: &'static str,
    /// What the operator does with a generated secret.
    where_to_paste: &'static str,
}

const ZENDESK_SECRETS: SecretsOf = SecretsOf {
    helpdesk: zendesk::integration::NAME,
    variable: "ONBEHALF_ZENDESK_SIGNING_SECRETS",
    where_to_paste: "set the variable to your Zendesk webhook's signing secret",
};

const ZAMMAD_SECRETS: SecretsOf = SecretsOf {
    helpdesk: zammad::NAME,
    variable: "ONBEHALF_ZAMMAD_SIGNING_SECRETS",
    where_to_paste: "enter it as the Zammad webhook's Signature Token, or set the variable to the token you chose",
};

/// With no signing secret configured the receiver does not accept unsigned webhooks: it
/// generates a secret once, keeps it in the data folder (mode 0600) and says where. The
/// `receive` role runs as several replicas, each of which would generate its own: it needs the
/// configured secret.
fn signing_secrets(
    config: &Config,
    role: Role,
    of: &SecretsOf,
    configured: &[Secret],
) -> Result<Vec<Secret>, AppError> {
    if !configured.is_empty() {
        return Ok(configured.to_vec());
    }
    if role == Role::Receive {
        return Err(AppError::Config(format!(
            "`receive` needs {}: each replica would otherwise generate its own secret and answer 401 to real webhooks",
            of.variable
        )));
    }
    let path = generated_secret_path_for(&config.data_dir, of.helpdesk);
    let io = |what: &str, source| AppError::Io {
        what: format!("{what} {}", path.display()),
        source,
    };
    if !path.exists() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| io("cannot create folder for", e))?;
        let bytes: [u8; 32] = rand::random();
        let secret = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
        write_private_atomically(&path, &secret).map_err(|e| io("cannot write", e))?;
    }
    let secret = read_private(&path, of)?;
    tracing::warn!(
        path = %path.display(),
        helpdesk = of.helpdesk,
        "{} is not set: webhooks must be signed with the generated secret in this file; {}",
        of.variable,
        of.where_to_paste
    );
    Ok(vec![secret])
}

/// Where `serve` keeps the Zendesk signing secret it generated.
pub fn generated_secret_path(data_dir: &Path) -> PathBuf {
    generated_secret_path_for(data_dir, zendesk::integration::NAME)
}

/// Where `serve` keeps the signing secret it generated for `helpdesk`.
pub fn generated_secret_path_for(data_dir: &Path, helpdesk: &str) -> PathBuf {
    data_dir.join(format!("{helpdesk}-signing-secret"))
}

/// Reads a secret file: refused when others may read it (mode 0600 is required: a secret
/// others could read may already be known) or when what it holds is no usable secret (an
/// empty file from a full disk or a `touch` would make the HMAC key "").
fn read_private(path: &Path, of: &SecretsOf) -> Result<Secret, AppError> {
    let refuse = |problem: String| {
        AppError::Config(format!(
            "signing secret file {}: {problem}; delete the file to generate a new secret (and update the {} webhook) or set {}",
            path.display(),
            of.helpdesk,
            of.variable
        ))
    };
    let io = |source| AppError::Io {
        what: format!("cannot read {}", path.display()),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(refuse(format!(
                "mode {:o} lets other users read it (chmod 600 it if it is still secret)",
                mode & 0o777
            )));
        }
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let secret = text.trim();
    match crate::config::secret_problem(secret) {
        Some(problem) => Err(refuse(format!("the secret {problem}"))),
        None => Ok(Secret::new(secret)),
    }
}

/// Writes `content` to a new file at `path` so that `path` never holds a partial secret: a
/// private temporary file, flushed to disk, linked into place (an existing file wins), and
/// the folder flushed so the new name survives a crash.
fn write_private_atomically(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let folder = path.parent().unwrap_or(Path::new("."));
    let temporary = folder.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("secret"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(content.as_bytes())?;
        file.sync_all()?;
        // A hard link fails if another process placed its secret first; that one is kept.
        match std::fs::hard_link(&temporary, path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                std::fs::rename(&temporary, path)
            }
            _ => Ok(()),
        }
    })();
    let _ = std::fs::remove_file(&temporary);
    written?;
    #[cfg(unix)]
    std::fs::File::open(folder)?.sync_all()?;
    Ok(())
}

/// What the review console shows of the deployment: each helpdesk's mode and where its
/// tickets are.
fn console_settings(config: &Config) -> crate::console::Settings {
    let mut helpdesks = vec![crate::console::HelpdeskMode {
        name: zendesk::integration::NAME.into(),
        live: matches!(zendesk_client(config), Ok(Some(_))),
        ticket_link: zendesk::integration::terms(config.zendesk_url.as_deref()).ticket_link,
    }];
    if let Some(section) = config.zammad() {
        // Live as `helpdesks` builds it: an API token and not set to shadow.
        helpdesks.push(crate::console::HelpdeskMode {
            name: zammad::NAME.into(),
            live: !section.shadow && section.api_token.is_some(),
            ticket_link: zammad::terms(&section.url).ticket_link,
        });
    }
    crate::console::Settings {
        helpdesks,
        secure_cookie: config.console_secure_cookie,
        verification: Default::default(),
    }
}

/// What the workers need; the workflow settings are still being built (compiling the rules
/// takes a noticeable moment, and the receiver need not wait for it).
struct WorkerParts {
    settings: tokio::task::JoinHandle<Result<WorkflowSettings, AppError>>,
    store: Store,
    helpdesks: Helpdesks,
    history: Option<Arc<ZendeskClient>>,
    /// Zero: no reconciler.
    reconcile_every: Duration,
    /// `None`: GitLab is not configured.
    gitlab: Option<Arc<crate::gitlab::GitLabLookup>>,
    health: Health,
    concurrency: usize,
    timeouts: crate::timeouts::TimeoutBudget,
}

/// A built application: listener bound, queue and store open, not yet running.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    worker: Option<WorkerParts>,
    queue: Arc<dyn Queue>,
    store: Store,
    drain_timeout: Duration,
    header_read_timeout: Duration,
}

impl Application {
    pub async fn build(config: Config, role: Role) -> Result<Application, AppError> {
        if role != Role::Serve && config.is_embedded_queue() {
            return Err(AppError::Config(
                "`receive` and `work` run as separate processes and need a shared queue: set ONBEHALF_QUEUE_URL=amqp://… (or use `serve`)".into(),
            ));
        }
        // Before any connection: a receiver without usable secrets must not start at all.
        let secrets = WebhookSecrets::of(&config, role)?;
        let metrics = crate::telemetry::metrics_handle();
        let store = open_store(&config).await?;
        let queue = open_queue(&config).await?;
        if role == Role::Serve
            && config.is_embedded_queue()
            && store.backend() == crate::store::Backend::Sqlite
        {
            // One process owns this queue (it holds the queue's lock) and this SQLite file:
            // note claims left by a crashed previous run can go now, not when they lapse.
            let released = store.release_all_claims().await?;
            if released > 0 {
                tracing::info!(released, "released note claims left by the previous run");
            }
        }
        let health = Health::new(config.pause_settings());
        let HelpdeskParts { helpdesks, history } = helpdesks(&config, &store, &health, secrets)?;
        let state = HttpState::new(
            queue.clone(),
            store.clone(),
            helpdesks.clone(),
            config.admin_token.as_ref(),
            metrics,
            ingest::Limits {
                webhook_concurrency: config.webhook_concurrency,
                body_read_timeout: Duration::from_secs(config.body_read_timeout_secs),
            },
        )
        .with_health(health.clone(), !role.receives())
        .with_console(console_settings(&config));
        let worker = if role.works() {
            for report in note_modes(&config) {
                let mode = report.mode.as_str();
                tracing::info!(
                    helpdesk = report.helpdesk,
                    mode,
                    "note mode {mode}: {}",
                    report.why
                );
            }
            let gitlab = crate::gitlab::from_config(&config, &store, &helpdesks, &health)
                .map_err(|e| AppError::Config(e.to_string()))?
                .map(Arc::new);
            let for_settings = config.clone();
            Some(WorkerParts {
                settings: tokio::task::spawn_blocking(move || {
                    let settings = workflow_settings(&for_settings)?;
                    // Compile the consent phrase lists now rather than on the first reply.
                    let _ = crate::workflow::consent::recognise_question("");
                    Ok(settings)
                }),
                store: store.clone(),
                helpdesks,
                history,
                reconcile_every: Duration::from_secs(config.reconcile_interval_secs),
                gitlab,
                health,
                concurrency: config.workers,
                timeouts: crate::timeouts::TimeoutBudget::from_config(&config)
                    .map_err(|e| AppError::Config(format!("helpdesk_timeout_secs: {e}")))?,
            })
        } else {
            None
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| AppError::Bind {
                addr: config.listen,
                source,
            })?;
        Ok(Application {
            listener,
            router: ingest::router(state, role.receives()),
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            worker,
            queue,
            store,
            drain_timeout: Duration::from_secs(config.shutdown_timeout_secs),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves until `shutdown` is cancelled: then stops accepting, lets in-flight requests and
    /// events finish (bounded by the drain timeout), and closes the queue and the database.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), AppError> {
        let addr = self.local_addr();
        tracing::info!(%addr, "listening");
        let http_shutdown = shutdown.clone();
        let server = ingest::serve::serve(
            self.listener,
            self.router,
            self.header_read_timeout,
            async move { http_shutdown.cancelled().await },
        );
        let workers = self.worker.map(|parts| {
            let queue = self.queue.clone();
            let shutdown = shutdown.clone();
            let drain = self.drain_timeout;
            tokio::spawn(async move {
                let settings = match parts.settings.await {
                    Ok(Ok(settings)) => Arc::new(settings),
                    Ok(Err(e)) => {
                        shutdown.cancel();
                        return Err(e);
                    }
                    Err(e) => {
                        shutdown.cancel();
                        return Err(AppError::Config(format!(
                            "building the workflow rules failed: {e}"
                        )));
                    }
                };
                let mut worker = Worker::new(parts.store, &parts.helpdesks, &settings)
                    .with_health(parts.health)
                    .with_timeouts(parts.timeouts);
                if let Some(gitlab) = parts.gitlab {
                    worker = worker.with_gitlab(gitlab);
                }
                if let Some(api) = parts.history {
                    worker = worker.with_history(api.clone());
                    if !parts.reconcile_every.is_zero() {
                        let reconciler = Reconciler::new(worker.clone(), api);
                        tokio::spawn(reconciler.run(parts.reconcile_every, shutdown.clone()));
                    }
                }
                worker::run(worker, queue, parts.concurrency, shutdown, drain).await;
                Ok(())
            })
        });
        server.await;
        shutdown.cancel();
        let worked = match workers {
            Some(workers) => workers.await.unwrap_or(Ok(())),
            None => Ok(()),
        };
        self.queue.close().await;
        self.store.close().await;
        worked
    }
}
