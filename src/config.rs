//! Configuration: `ONBEHALF_*` environment variables over an optional TOML file (same keys in
//! lower case, without the prefix; a helpdesk's keys may also sit in its table, `[zammad] url`
//! for `zammad_url`). Unknown keys and bad values stop start-up with the key named.
//!
//! [`Config`] is the flat list of keys the operator writes (every variable keeps its name);
//! the rest of the service reads it through typed sections: [`Config::queue_backend`], and
//! one section per helpdesk ([`Config::zendesk`], [`Config::zammad`]), each defined by its
//! helpdesk's module.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::queue::RetryPolicy;
use crate::workflow::TagNames;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
}

/// A secret string: never printed by `Debug`, masked by `check-config`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn masked(&self) -> String {
        MASK.to_string()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar_string(d).map(Secret)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address of the HTTP listener (receiver, probes, metrics, API).
    pub listen: SocketAddr,
    pub database_url: String,
    /// `embedded` or `amqp://user:pass@host:5672/vhost`.
    pub queue_url: String,
    pub queue_prefix: String,
    /// Folder for the embedded queue, the SQLite database and a generated signing secret.
    pub data_dir: PathBuf,
    #[serde(deserialize_with = "secret_list")]
    pub zendesk_signing_secrets: Vec<Secret>,
    pub zendesk_url: Option<String>,
    pub zendesk_email: Option<String>,
    pub zendesk_api_token: Option<Secret>,
    /// Keep Zendesk's notes in the store even with API credentials (watch before posting).
    pub zendesk_shadow: bool,
    /// Zammad's base URL; unset: Zammad is off (`/webhooks/zammad` answers 404).
    pub zammad_url: Option<String>,
    pub zammad_api_token: Option<Secret>,
    #[serde(deserialize_with = "secret_list")]
    pub zammad_signing_secrets: Vec<Secret>,
    pub zammad_requests_per_minute: u32,
    /// Keep Zammad's notes in the store only.
    pub zammad_shadow: bool,
    pub admin_token: Option<Secret>,
    /// Plain `http://` helpdesk URLs are refused unless this is true (local fakes, tests).
    pub allow_http: bool,
    /// Webhook requests handled at once; more are shed with `503` + `Retry-After`.
    pub webhook_concurrency: usize,
    /// Time a client has to send a request's headers, and then its body.
    pub header_read_timeout_secs: u64,
    pub body_read_timeout_secs: u64,
    /// HMAC key every trail record is signed with (at least 32 bytes; never stored in the
    /// database). Unset: records carry no HMAC.
    pub trail_key: Option<Secret>,
    /// PostgreSQL role `receive` and `work` connect as; `migrate` grants it exactly what they
    /// need. Unset: no grants.
    pub database_app_role: Option<String>,
    pub workers: usize,
    pub signature_tolerance_secs: u64,
    /// Attempts per event before it is dead-lettered.
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// RabbitMQ consumer prefetch (`basic_qos`); raised to `workers` when lower (see
    /// [`Config::consumer_prefetch`]).
    pub prefetch: u16,
    pub database_max_connections: u32,
    pub database_acquire_timeout_secs: u64,
    /// Timeout of one helpdesk API request.
    pub helpdesk_timeout_secs: u64,
    /// Helpdesk API requests per minute, per process (stay under the plan's limit).
    pub zendesk_requests_per_minute: u32,
    /// Replaces the shipped classification rules.
    pub rules_file: Option<PathBuf>,
    pub tag_ownership_verified: String,
    pub tag_role_verified: String,
    pub tag_category_prefix: String,
    pub tag_escalated: String,
    pub log_format: LogFormat,
    /// Time allowed to drain in-flight work on SIGTERM.
    pub shutdown_timeout_secs: u64,

    // When dependencies fail (README "When dependencies fail").
    /// How long an event whose own handling keeps failing is retried (from when it was
    /// accepted) before it is dead-lettered, and at least `max_attempts` attempts.
    pub retry_budget_secs: u64,
    /// First pause when a dependency goes down (doubling at each failed try)…
    pub pause_first_ms: u64,
    /// …up to this; a helpdesk's `Retry-After` overrides both.
    pub pause_max_ms: u64,
    /// How often the reconciler follows Zendesk's incremental ticket export (0: never).
    pub reconcile_interval_secs: u64,

    // GitLab (README "GitLab"): unset URL = no lookups.
    /// e.g. `https://gitlab.com`.
    pub gitlab_url: Option<String>,
    /// An administrator's token with read scopes.
    pub gitlab_token: Option<Secret>,
    pub gitlab_requests_per_minute: u32,
    /// Timeout of one GitLab API request.
    pub gitlab_timeout_secs: u64,
    /// The console's session cookie is always `Secure` (TLS ends at a proxy that does not send
    /// `X-Forwarded-Proto`).
    pub console_secure_cookie: bool,
}

impl Default for Config {
    fn default() -> Self {
        let tags = TagNames::default();
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: sqlite_in(Path::new("data")),
            queue_url: "embedded".into(),
            queue_prefix: "onbehalf".into(),
            data_dir: PathBuf::from("data"),
            zendesk_signing_secrets: vec![],
            zendesk_url: None,
            zendesk_email: None,
            zendesk_api_token: None,
            zendesk_shadow: false,
            zammad_url: None,
            zammad_api_token: None,
            zammad_signing_secrets: vec![],
            zammad_requests_per_minute: 200,
            zammad_shadow: false,
            admin_token: None,
            allow_http: false,
            webhook_concurrency: 64,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 10,
            trail_key: None,
            database_app_role: None,
            workers: 4,
            signature_tolerance_secs: 300,
            max_attempts: 8,
            retry_base_ms: 1000,
            retry_max_ms: 300_000,
            prefetch: 32,
            database_max_connections: 10,
            database_acquire_timeout_secs: 5,
            helpdesk_timeout_secs: 10,
            zendesk_requests_per_minute: 200,
            rules_file: None,
            tag_ownership_verified: tags.ownership_verified,
            tag_role_verified: tags.role_verified,
            tag_category_prefix: tags.category_prefix,
            tag_escalated: tags.escalated,
            log_format: LogFormat::Text,
            shutdown_timeout_secs: 10,
            retry_budget_secs: 6 * 3600,
            pause_first_ms: 1000,
            pause_max_ms: 30_000,
            reconcile_interval_secs: 300,
            gitlab_url: None,
            gitlab_token: None,
            gitlab_requests_per_minute: 300,
            gitlab_timeout_secs: 10,
            console_secure_cookie: false,
        }
    }
}

/// Environment variables read by the binary that are not configuration keys.
const NOT_KEYS: &[&str] = &["config", "log"];

impl Config {
    /// Defaults, then the TOML file (if any), then `ONBEHALF_*` variables. Without an explicit
    /// database URL the SQLite database lives in the data folder, so moving the folder moves
    /// all the state (queue, database, generated secret) together.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut given = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::File {
                    path: path.to_path_buf(),
                    message: "no such file".into(),
                });
            }
            given = given.merge(ConfigFile(path.to_path_buf()));
        }
        given = given.merge(Env::prefixed("ONBEHALF_").ignore(NOT_KEYS));
        let database_given = given.contains("database_url");
        let figment = Figment::from(Serialized::defaults(Config::default())).merge(given);
        let mut config: Config = figment.extract().map_err(|e| {
            let messages: Vec<String> = e.into_iter().map(|err| describe(&err)).collect();
            ConfigError::Invalid(messages.join("; "))
        })?;
        if !database_given {
            config.database_url = sqlite_in(&config.data_dir);
        }
        config.validate().map_err(|invalid| {
            ConfigError::Invalid(format!(
                "{}: {}",
                origin(invalid.key, figment.find_metadata(invalid.key)),
                invalid.problem
            ))
        })?;
        Ok(config)
    }

    /// Checks what the types alone do not; the caller names where the key was set.
    fn validate(&self) -> Result<(), Invalid> {
        let bad = |key: &'static str, expected: &str| {
            Err(Invalid {
                key,
                problem: format!("expected {expected}"),
            })
        };
        if self.workers == 0 {
            return bad("workers", "a positive number of concurrent handlers");
        }
        if self.max_attempts == 0 {
            return bad("max_attempts", "at least 1");
        }
        if self.prefetch == 0 {
            return bad("prefetch", "at least 1");
        }
        if self.database_max_connections == 0 {
            return bad("database_max_connections", "at least 1");
        }
        if !(self.queue_url == "embedded"
            || self.queue_url.starts_with("amqp://")
            || self.queue_url.starts_with("amqps://"))
        {
            return bad("queue_url", "`embedded` or an amqp:// / amqps:// URL");
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return bad("database_url", "a sqlite:// or postgres:// URL");
        }
        if self.queue_prefix.is_empty()
            || !self
                .queue_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return bad("queue_prefix", "letters, digits, '-', '_' or '.'");
        }
        if self.webhook_concurrency == 0 {
            return bad("webhook_concurrency", "at least 1");
        }
        if self.header_read_timeout_secs == 0 || self.body_read_timeout_secs == 0 {
            return bad("header_read_timeout_secs", "timeouts of at least 1 second");
        }
        if let Some(url) = &self.zendesk_url {
            self.check_api_url("zendesk_url", url, "https://acme.zendesk.com")?;
            if self.zendesk_email.is_none() || self.zendesk_api_token.is_none() {
                return Err(Invalid {
                    key: "zendesk_url",
                    problem: "is set, so zendesk_email and zendesk_api_token (ONBEHALF_ZENDESK_EMAIL, ONBEHALF_ZENDESK_API_TOKEN) are required too".into(),
                });
            }
        }
        self.validate_gitlab()?;
        if let Some(url) = &self.zammad_url {
            self.check_api_url("zammad_url", url, "https://support.example.com")?;
            if self.zammad_api_token.is_none() && !self.zammad_shadow {
                return Err(Invalid {
                    key: "zammad_url",
                    problem: "is set, so zammad_api_token (ONBEHALF_ZAMMAD_API_TOKEN) is required too, unless zammad_shadow is true".into(),
                });
            }
        }
        for secret in &self.zendesk_signing_secrets {
            check_secret("zendesk_signing_secrets", secret)?;
        }
        for secret in &self.zammad_signing_secrets {
            check_secret("zammad_signing_secrets", secret)?;
        }
        for (key, token) in [
            ("admin_token", &self.admin_token),
            ("zendesk_api_token", &self.zendesk_api_token),
            ("zammad_api_token", &self.zammad_api_token),
        ] {
            if let Some(token) = token {
                check_secret(key, token)?;
            }
        }
        if self
            .zendesk_signing_secrets
            .iter()
            .any(|s| s.expose() == crate::helpdesk::zendesk::signature::ZENDESK_TEST_SECRET)
        {
            return bad(
                "zendesk_signing_secrets",
                "your webhook's own secret, not Zendesk's public test secret (anyone can sign with it)",
            );
        }
        if let Some(key) = &self.trail_key
            && let Err(e) = crate::store::TrailKey::new(key.expose())
        {
            return Err(Invalid {
                key: "trail_key",
                problem: e.to_string(),
            });
        }
        if let Some(role) = &self.database_app_role
            && !is_role_name(role)
        {
            return bad(
                "database_app_role",
                "a PostgreSQL role name (letters, digits, '_', not starting with a digit)",
            );
        }
        if self.retry_base_ms == 0 || self.retry_max_ms < self.retry_base_ms {
            return bad("retry_base_ms", "a positive delay not above retry_max_ms");
        }
        if self.pause_first_ms == 0 || self.pause_max_ms < self.pause_first_ms {
            return bad("pause_first_ms", "a positive pause not above pause_max_ms");
        }
        // Every deadline of a post, a claim and the embedded lease follows from this one.
        if let Err(e) = crate::timeouts::TimeoutBudget::from_config(self) {
            return Err(Invalid {
                key: "helpdesk_timeout_secs",
                problem: e.to_string(),
            });
        }
        Ok(())
    }

    /// GitLab is optional, but half a GitLab configuration is a mistake worth stopping for.
    fn validate_gitlab(&self) -> Result<(), Invalid> {
        match (&self.gitlab_url, &self.gitlab_token) {
            (Some(url), Some(token)) => {
                self.check_api_url("gitlab_url", url, "https://gitlab.com")?;
                check_secret("gitlab_token", token)?;
            }
            (Some(_), None) => {
                return Err(Invalid {
                    key: "gitlab_url",
                    problem: "is set, so gitlab_token (ONBEHALF_GITLAB_TOKEN) is required too"
                        .into(),
                });
            }
            (None, Some(_)) => {
                return Err(Invalid {
                    key: "gitlab_token",
                    problem: "is set but gitlab_url (ONBEHALF_GITLAB_URL) is not: GitLab stays off without it".into(),
                });
            }
            (None, None) => {}
        }
        if self.gitlab_timeout_secs == 0 {
            return Err(Invalid {
                key: "gitlab_timeout_secs",
                problem: "expected a timeout of at least 1 second".into(),
            });
        }
        Ok(())
    }

    /// An outside API's base URL: parseable, `https://` (or `http://` with `allow_http`).
    fn check_api_url(&self, key: &'static str, url: &str, example: &str) -> Result<(), Invalid> {
        let scheme = reqwest::Url::parse(url)
            .ok()
            .filter(|u| u.has_host())
            .map(|u| u.scheme().to_string());
        match scheme.as_deref() {
            Some("https") => Ok(()),
            Some("http") if self.allow_http => Ok(()),
            Some("http") => Err(Invalid {
                key,
                problem: "plain http:// sends the API token unencrypted; use https:// or set ONBEHALF_ALLOW_HTTP=true (local fakes and tests only)".into(),
            }),
            _ => Err(Invalid {
                key,
                problem: format!("expected an https:// URL such as {example}"),
            }),
        }
    }

    pub fn is_embedded_queue(&self) -> bool {
        self.queue_url == "embedded"
    }

    /// The RabbitMQ prefetch a worker asks for: `prefetch`, but never fewer messages than it
    /// has handlers, which would leave handlers idle and shrink the store's batches (the bench
    /// empties a backlog ~15% faster at 64 handlers with 64 prefetched than with 32).
    pub fn consumer_prefetch(&self) -> u16 {
        self.prefetch
            .max(u16::try_from(self.workers).unwrap_or(u16::MAX))
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            base_delay: std::time::Duration::from_millis(self.retry_base_ms),
            max_delay: std::time::Duration::from_millis(self.retry_max_ms),
            budget: std::time::Duration::from_secs(self.retry_budget_secs),
        }
    }

    pub fn pause_settings(&self) -> crate::health::PauseSettings {
        crate::health::PauseSettings {
            first: std::time::Duration::from_millis(self.pause_first_ms),
            max: std::time::Duration::from_millis(self.pause_max_ms),
        }
    }

    pub fn tag_names(&self) -> TagNames {
        TagNames {
            ownership_verified: self.tag_ownership_verified.clone(),
            role_verified: self.tag_role_verified.clone(),
            category_prefix: self.tag_category_prefix.clone(),
            escalated: self.tag_escalated.clone(),
        }
    }

    /// The effective configuration as TOML, secrets and URL passwords masked.
    pub fn masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.zendesk_signing_secrets = self
            .zendesk_signing_secrets
            .iter()
            .map(|s| Secret(s.masked()))
            .collect();
        shown.zendesk_api_token = self.zendesk_api_token.as_ref().map(|s| Secret(s.masked()));
        shown.zammad_signing_secrets = self
            .zammad_signing_secrets
            .iter()
            .map(|s| Secret(s.masked()))
            .collect();
        shown.zammad_api_token = self.zammad_api_token.as_ref().map(|s| Secret(s.masked()));
        shown.zammad_url = self.zammad_url.as_deref().map(mask_url_password);
        shown.admin_token = self.admin_token.as_ref().map(|s| Secret(s.masked()));
        shown.trail_key = self.trail_key.as_ref().map(|s| Secret(s.masked()));
        shown.gitlab_token = self.gitlab_token.as_ref().map(|s| Secret(s.masked()));
        shown.gitlab_url = self.gitlab_url.as_deref().map(mask_url_password);
        shown.database_url = mask_url_password(&self.database_url);
        shown.queue_url = mask_url_password(&self.queue_url);
        shown.zendesk_url = self.zendesk_url.as_deref().map(mask_url_password);
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

/// The fewest bytes a token or secret may have: an empty Kubernetes Secret or an unset compose
/// variable must stop start-up, not become a key anyone can guess.
pub const MIN_SECRET_BYTES: usize = 16;

/// Why a token or secret is unusable, if it is.
pub fn secret_problem(secret: &str) -> Option<String> {
    if secret.trim().is_empty() {
        Some("is empty or only whitespace".into())
    } else if secret.trim() != secret {
        Some("starts or ends with whitespace".into())
    } else if secret.len() < MIN_SECRET_BYTES {
        Some(format!(
            "is {} bytes long; at least {MIN_SECRET_BYTES} are required",
            secret.len()
        ))
    } else {
        None
    }
}

fn check_secret(key: &'static str, secret: &Secret) -> Result<(), Invalid> {
    match secret_problem(secret.expose()) {
        Some(problem) => Err(Invalid {
            key,
            problem: format!("the value {problem}"),
        }),
        None => Ok(()),
    }
}

/// Every configuration key with its meaning: the one list `check-config --help` prints (with
/// the defaults taken from [`Config::default`]); a unit test keeps it equal to [`Config`]'s keys.
pub const KEY_DOCS: &[(&str, &str)] = &[
    ("listen", "HTTP address (receiver, probes, metrics, API)"),
    (
        "database_url",
        "sqlite://FILE (one process) or postgres://… (several instances)",
    ),
    (
        "queue_url",
        "`embedded` (durable queue in the data folder) or amqp://user:pass@host:5672/vhost",
    ),
    (
        "queue_prefix",
        "prefix of every RabbitMQ exchange and queue",
    ),
    (
        "data_dir",
        "folder of the embedded queue, the default SQLite database and a generated signing secret",
    ),
    (
        "zendesk_signing_secrets",
        "webhook signing secrets (each at least 16 bytes), comma-separated; any of them passes (rotation); unset: `serve` generates one in the data folder, `receive` refuses to start",
    ),
    (
        "zendesk_url",
        "e.g. https://acme.zendesk.com (https:// unless allow_http); unset: shadow mode (notes recorded, not posted)",
    ),
    ("zendesk_email", "agent e-mail of the API credentials"),
    (
        "zendesk_api_token",
        "API token (Basic email/token:token), at least 16 bytes; required with zendesk_url",
    ),
    (
        "zendesk_requests_per_minute",
        "the account's helpdesk API budget (shared through PostgreSQL, per process on SQLite)",
    ),
    (
        "zendesk_shadow",
        "`true` keeps Zendesk's notes in the store even with API credentials (shadow mode)",
    ),
    (
        "zammad_url",
        "e.g. https://support.example.com (https:// unless allow_http); unset: Zammad is off",
    ),
    (
        "zammad_api_token",
        "Zammad API access token (Authorization: Token token=…), at least 16 bytes; required with zammad_url unless zammad_shadow",
    ),
    (
        "zammad_signing_secrets",
        "Zammad webhook signature tokens (X-Hub-Signature), comma-separated, any passes (rotation); unset: `serve` generates one in the data folder, `receive` refuses to start",
    ),
    (
        "zammad_requests_per_minute",
        "the Zammad instance's API budget (shared through PostgreSQL, per process on SQLite)",
    ),
    (
        "zammad_shadow",
        "`true` keeps Zammad's notes in the store only (shadow mode)",
    ),
    (
        "admin_token",
        "bearer token for /api/* and the console's login, at least 16 bytes; unset: /api/* answers 401, the console never opens",
    ),
    (
        "allow_http",
        "`true` accepts http:// helpdesk URLs (local fakes and tests only)",
    ),
    (
        "webhook_concurrency",
        "webhook requests handled at once; more are answered 503 + Retry-After",
    ),
    (
        "header_read_timeout_secs",
        "time a client has to send its request headers",
    ),
    (
        "body_read_timeout_secs",
        "time a client has to send a webhook's body (then 503 + Retry-After)",
    ),
    (
        "trail_key",
        "HMAC-SHA256 key (at least 32 bytes) signing every trail record; never stored in the database",
    ),
    (
        "database_app_role",
        "PostgreSQL role receive/work connect as; `migrate` grants it what they need",
    ),
    ("workers", "events handled concurrently per process"),
    (
        "signature_tolerance_secs",
        "max age (and future skew) of a webhook's signature timestamp",
    ),
    (
        "max_attempts",
        "attempts at least, for failures of the event itself, before it is dead-lettered",
    ),
    (
        "retry_budget_secs",
        "and for at least this long since it was accepted (0: attempts alone decide)",
    ),
    ("retry_base_ms", "first retry delay (doubles per attempt)"),
    ("retry_max_ms", "longest retry delay"),
    (
        "pause_first_ms",
        "first pause while a dependency is down (doubles while it stays down)",
    ),
    (
        "pause_max_ms",
        "longest pause while a dependency is down; a helpdesk's Retry-After overrides both",
    ),
    (
        "prefetch",
        "RabbitMQ consumer prefetch; raised to `workers` when lower",
    ),
    ("database_max_connections", "database pool size"),
    (
        "database_acquire_timeout_secs",
        "wait for a pooled database connection",
    ),
    (
        "helpdesk_timeout_secs",
        "timeout of one helpdesk API request (tried 3 times); the post deadline, note claims and waits for them follow from it; with the embedded queue, whose 300 s lease an event must be handled within, at most 21 s",
    ),
    (
        "rules_file",
        "classification rules replacing the shipped ones (format of rules/classification.toml)",
    ),
    (
        "tag_ownership_verified",
        "tag meaning \"account ownership verified\"",
    ),
    (
        "tag_role_verified",
        "tag meaning \"Owner/Maintainer role verified\"",
    ),
    (
        "tag_category_prefix",
        "<prefix><category> as a tag overrides the category",
    ),
    ("tag_escalated", "tag meaning \"escalated\""),
    ("log_format", "`text` or `json` (one JSON object per line)"),
    ("shutdown_timeout_secs", "drain time on SIGTERM"),
    (
        "reconcile_interval_secs",
        "how often the reconciler follows Zendesk's incremental ticket export (0: off)",
    ),
    (
        "gitlab_url",
        "e.g. https://gitlab.com (https:// unless allow_http); unset: no GitLab lookups, notes as without it",
    ),
    (
        "gitlab_token",
        "an administrator's GitLab token (read_api, admin to search users by e-mail), at least 16 bytes; required with gitlab_url",
    ),
    (
        "gitlab_requests_per_minute",
        "GitLab API budget (shared through PostgreSQL, per process on SQLite); RateLimit-* and Retry-After are honoured too",
    ),
    ("gitlab_timeout_secs", "timeout of one GitLab API request"),
    (
        "console_secure_cookie",
        "`true`: the console's session cookie is always `Secure` (else only behind X-Forwarded-Proto: https)",
    ),
];

/// The key reference `onbehalf check-config --help` ends with: every key, its environment
/// variable, its default and its meaning.
pub fn key_reference() -> String {
    let defaults = match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let mut text = String::from(
        "Configuration keys (TOML key, environment variable, default, meaning; the environment wins over the file):\n",
    );
    for (key, meaning) in KEY_DOCS {
        let default = match (*key, defaults.get(*key)) {
            ("database_url", _) => "sqlite://<data_dir>/onbehalf.db".to_string(),
            ("zendesk_signing_secrets" | "zammad_signing_secrets", _) => "generated".to_string(),
            (_, None | Some(serde_json::Value::Null)) => "none".to_string(),
            (_, Some(serde_json::Value::String(s))) => s.clone(),
            (_, Some(other)) => other.to_string(),
        };
        text.push_str(&format!(
            "\n  {key}  ({})\n      default: {default}\n      {meaning}\n",
            env_name(key)
        ));
    }
    text.push_str("\nAlso read: ONBEHALF_LOG (log filter, e.g. `warn` or `onbehalf=debug`; default `info`), ONBEHALF_CONFIG (the --config file).\n");
    text
}

/// Every configuration key (lower case, as in the TOML file).
pub fn keys() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => vec![],
    }
}

pub fn env_name(key: &str) -> String {
    format!("ONBEHALF_{}", key.to_ascii_uppercase())
}

/// A value `validate` refused: the key (as in the TOML file) and what is wrong with it.
#[derive(Debug)]
struct Invalid {
    key: &'static str,
    problem: String,
}

/// The default database: SQLite in the data folder.
fn sqlite_in(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("onbehalf.db").display())
}

/// Where a key's value came from, as the operator wrote it: the file and its TOML key, or the
/// environment variable (a default that fails validation is named as the variable to set).
fn origin(key: &str, metadata: Option<&figment::Metadata>) -> String {
    match metadata.and_then(|m| m.source.as_ref()) {
        Some(figment::Source::File(path)) => {
            format!("configuration file {}, key `{key}`", path.display())
        }
        _ => format!("{} ({key})", env_name(key)),
    }
}

fn describe(err: &figment::Error) -> String {
    let key = err.path.join(".");
    match &err.kind {
        figment::error::Kind::UnknownField(field, _) => {
            let suggestion = closest_key(field)
                .map(|k| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            let named = match err.metadata.as_ref().and_then(|m| m.source.as_ref()) {
                Some(figment::Source::File(path)) => {
                    format!(
                        "configuration file {}: unknown key `{field}`",
                        path.display()
                    )
                }
                _ => format!("unknown key `{field}` ({})", env_name(field)),
            };
            format!(
                "{named}: not a configuration key; {suggestion}`onbehalf check-config --help` lists every key"
            )
        }
        kind if key.is_empty() => kind.to_string(),
        kind => format!(
            "{}: {kind}{}",
            origin(&key, err.metadata.as_ref()),
            hint(&key)
        ),
    }
}

/// The configuration key nearest to a misspelt one (at most two edits away).
fn closest_key(unknown: &str) -> Option<&'static str> {
    let unknown = unknown.to_ascii_lowercase();
    KEY_DOCS
        .iter()
        .map(|(key, _)| (edit_distance(&unknown, key), *key))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, key)| key)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The expected form of keys whose type alone does not say it.
fn hint(key: &str) -> &'static str {
    match key {
        "listen" => " (expected host:port, e.g. 0.0.0.0:8080)",
        "log_format" => " (expected `text` or `json`)",
        "zendesk_signing_secrets" | "zammad_signing_secrets" => {
            " (expected comma-separated secrets)"
        }
        _ => "",
    }
}

/// An unquoted PostgreSQL identifier (the grants quote it anyway).
fn is_role_name(role: &str) -> bool {
    let mut chars = role.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && role.len() <= 63
}

/// Where events wait between receiver and workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueBackend {
    /// The durable queue in the data folder (one `serve` process).
    Embedded { data_dir: PathBuf },
    /// RabbitMQ, shared by every process.
    Amqp { url: String, prefix: String },
}

impl Config {
    pub fn queue_backend(&self) -> QueueBackend {
        if self.is_embedded_queue() {
            QueueBackend::Embedded {
                data_dir: self.data_dir.clone(),
            }
        } else {
            QueueBackend::Amqp {
                url: self.queue_url.clone(),
                prefix: self.queue_prefix.clone(),
            }
        }
    }

    /// Zendesk's section. Zendesk is always on: without API credentials, in shadow mode.
    pub fn zendesk(&self) -> crate::helpdesk::zendesk::ZendeskSection {
        let api = match (
            &self.zendesk_url,
            &self.zendesk_email,
            &self.zendesk_api_token,
        ) {
            (Some(url), Some(email), Some(token)) => Some(crate::helpdesk::zendesk::ZendeskApi {
                url: url.clone(),
                email: email.clone(),
                api_token: token.clone(),
            }),
            _ => None,
        };
        crate::helpdesk::zendesk::ZendeskSection {
            api,
            signing_secrets: self.zendesk_signing_secrets.clone(),
            signature_tolerance_secs: self.signature_tolerance_secs,
            requests_per_minute: self.zendesk_requests_per_minute,
            timeout_secs: self.helpdesk_timeout_secs,
            shadow: self.zendesk_shadow,
        }
    }

    /// Zammad's section; `None` while `zammad_url` is unset (Zammad off).
    pub fn zammad(&self) -> Option<crate::helpdesk::zammad::ZammadSection> {
        let url = self.zammad_url.clone()?;
        Some(crate::helpdesk::zammad::ZammadSection {
            url,
            api_token: self.zammad_api_token.clone(),
            signing_secrets: self.zammad_signing_secrets.clone(),
            requests_per_minute: self.zammad_requests_per_minute,
            timeout_secs: self.helpdesk_timeout_secs,
            shadow: self.zammad_shadow,
        })
    }
}

/// The helpdesks whose keys may be written as a table of the TOML file.
const HELPDESK_TABLES: &[&str] = &["zendesk", "zammad"];

/// The TOML file, its `[zendesk]` / `[zammad]` tables read as the flat keys they stand for
/// (`[zammad] url` is `zammad_url`), so both spellings mean one key and the environment
/// variable still wins.
struct ConfigFile(PathBuf);

impl figment::Provider for ConfigFile {
    fn metadata(&self) -> figment::Metadata {
        Toml::file_exact(&self.0).metadata()
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut data = Toml::file_exact(&self.0).data()?;
        for dict in data.values_mut() {
            for table in HELPDESK_TABLES {
                let Some(figment::value::Value::Dict(_, inner)) = dict.get(*table).cloned() else {
                    continue;
                };
                dict.remove(*table);
                for (key, value) in inner {
                    let flat = format!("{table}_{key}");
                    if dict.contains_key(&flat) {
                        return Err(figment::Error::from(format!(
                            "configuration file {}: `{flat}` is set twice (as `{flat}` and as `{key}` in [{table}])",
                            self.0.display()
                        )));
                    }
                    dict.insert(flat, value);
                }
            }
        }
        Ok(data)
    }
}

impl Config {
    /// The trail key, when configured (validated at load).
    pub fn trail_key(&self) -> Option<crate::store::TrailKey> {
        self.trail_key
            .as_ref()
            .and_then(|k| crate::store::TrailKey::new(k.expose()).ok())
    }
}

const MASK: &str = "********";

/// Query parameters that carry a credential in database and broker URLs (libpq's `password`,
/// `sslpassword`, and the usual spellings).
fn is_secret_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "auth",
        "credential",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// The URL with its password and every credential-like query value masked. Works on the text,
/// not on a parse: a URL that does not parse (`postgres://u:abc#1@db/x`) is masked all the same.
pub fn mask_url_password(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    // The userinfo ends at the last '@' (a host never holds one, a password may).
    let (userinfo, rest) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let mut masked = String::with_capacity(url.len());
    masked.push_str(scheme);
    if let Some(userinfo) = userinfo {
        match userinfo.find(':') {
            Some(colon) => {
                masked.push_str(&userinfo[..=colon]);
                masked.push_str(MASK);
            }
            // A lone user name in front of '@' may be a token (`https://TOKEN@host`).
            None if userinfo.len() >= MIN_SECRET_BYTES => masked.push_str(MASK),
            None => masked.push_str(userinfo),
        }
        masked.push('@');
    }
    let (before_query, query) = match rest.find('?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    masked.push_str(before_query);
    if let Some(query) = query {
        masked.push('?');
        let parameters: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_secret_parameter(name) => format!("{name}={MASK}"),
                _ => pair.to_string(),
            })
            .collect();
        masked.push_str(&parameters.join("&"));
    }
    masked
}

/// Accepts a string, a number or a boolean as a string (environment values are parsed
/// loosely by figment, and a token may well be all digits).
fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        S(String),
        I(i64),
        U(u64),
        F(f64),
        B(bool),
    }
    Ok(match Scalar::deserialize(d)? {
        Scalar::S(s) => s,
        Scalar::I(i) => i.to_string(),
        Scalar::U(u) => u.to_string(),
        Scalar::F(f) => f.to_string(),
        Scalar::B(b) => b.to_string(),
    })
}

/// Comma-separated string (environment) or a list (TOML).
fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Secret>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Secret>),
        One(Secret),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(s) => s
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Secret::new)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_key_and_app_role_are_checked() {
        let config = |key: Option<&str>, role: Option<&str>| Config {
            trail_key: key.map(Secret::new),
            database_app_role: role.map(str::to_string),
            ..Config::default()
        };
        assert!(config(Some("too short"), None).validate().is_err());
        assert!(
            config(Some(&"k".repeat(32)), Some("onbehalf_app"))
                .validate()
                .is_ok()
        );
        assert!(config(None, Some("app; DROP TABLE x")).validate().is_err());
        assert!(config(None, Some("1app")).validate().is_err());
        assert!(config(None, None).trail_key().is_none());
        assert!(
            !config(Some(&"k".repeat(32)), None)
                .masked_toml()
                .contains("kkkk")
        );
    }

    #[test]
    fn empty_whitespace_and_short_tokens_and_secrets_are_refused() {
        let long = "0123456789abcdef";
        for bad in ["", "   ", "\t\n", "short-token", " 0123456789abcdef"] {
            let admin = Config {
                admin_token: Some(Secret::new(bad)),
                ..Config::default()
            };
            let error = admin.validate().expect_err(bad);
            assert_eq!(error.key, "admin_token");
            assert!(
                !error.problem.contains("short-token"),
                "the value is not echoed: {error:?}"
            );
            let api = Config {
                zendesk_api_token: Some(Secret::new(bad)),
                ..Config::default()
            };
            assert!(api.validate().is_err(), "API token {bad:?}");
            let signing = Config {
                zendesk_signing_secrets: vec![Secret::new(long), Secret::new(bad)],
                ..Config::default()
            };
            assert!(signing.validate().is_err(), "signing secret {bad:?}");
        }
        let good = Config {
            admin_token: Some(Secret::new(long)),
            zendesk_api_token: Some(Secret::new(long)),
            zendesk_signing_secrets: vec![Secret::new(long)],
            ..Config::default()
        };
        assert!(good.validate().is_ok());
    }

    #[test]
    fn helpdesk_urls_must_be_https_unless_allowed() {
        let config = |url: &str, allow_http| Config {
            zendesk_url: Some(url.into()),
            zendesk_email: Some("bot@example.com".into()),
            zendesk_api_token: Some(Secret::new("0123456789abcdef")),
            allow_http,
            ..Config::default()
        };
        assert!(config("https://acme.zendesk.com", false).validate().is_ok());
        let plain = config("http://acme.zendesk.com", false).validate();
        assert!(
            plain.is_err_and(|e| e.problem.contains("ONBEHALF_ALLOW_HTTP")),
            "plain http is refused by default"
        );
        assert!(config("http://127.0.0.1:9", true).validate().is_ok());
        for bad in ["ftp://acme.zendesk.com", "acme.zendesk.com", "https://"] {
            assert!(config(bad, true).validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_masked_in_every_form() {
        for (url, password) in [
            ("postgres://u:abc#1@db/x", "abc#1"),
            ("postgres://u:p@ss:w0rd@db:5432/x", "p@ss:w0rd"),
            ("postgres://u:s3cr3t@db/x", "s3cr3t"),
            ("postgres://db/x?user=u&password=hunter22", "hunter22"),
            ("postgres://db/x?sslpassword=k3y&password=pw%20d", "pw%20d"),
            ("postgres://db/x?PassWord=Upper", "Upper"),
            ("amqp://guest:gu3st/pw@rabbit:5672/%2f", "gu3st/pw"),
            ("amqp://guest:a?b=c@rabbit", "a?b=c"),
            ("not a url:pa55word@host", "pa55word"),
            (
                "https://0123456789abcdefTOKEN@acme.zendesk.com",
                "0123456789abcdefTOKEN",
            ),
        ] {
            let masked = mask_url_password(url);
            assert!(!masked.contains(password), "{url} -> {masked}");
            assert!(masked.contains(MASK), "{url} -> {masked}");
        }
        assert_eq!(
            mask_url_password("postgres://u:pw@db:5432/x?sslmode=require"),
            "postgres://u:********@db:5432/x?sslmode=require"
        );
        assert_eq!(
            mask_url_password("sqlite://data/x.db"),
            "sqlite://data/x.db"
        );
        let config = Config {
            database_url: "postgres://u:abc#1@db/x".into(),
            zendesk_url: Some("https://u:zpass@acme.zendesk.com".into()),
            ..Config::default()
        };
        let shown = config.masked_toml();
        assert!(
            !shown.contains("abc#1") && !shown.contains("zpass"),
            "{shown}"
        );
    }

    #[test]
    fn every_key_is_documented_once_and_nothing_else() {
        let mut documented: Vec<&str> = KEY_DOCS.iter().map(|(key, _)| *key).collect();
        documented.sort_unstable();
        let mut actual = keys();
        actual.sort_unstable();
        assert_eq!(documented, actual);
        let reference = key_reference();
        for key in actual {
            assert!(reference.contains(&env_name(&key)), "{key}");
        }
        assert!(reference.contains("default: 127.0.0.1:8080"), "{reference}");
        assert!(reference.contains("default: embedded"), "{reference}");
    }

    #[test]
    fn a_misspelt_key_gets_the_nearest_one() {
        assert_eq!(closest_key("workres"), Some("workers"));
        assert_eq!(closest_key("zendesk_ur"), Some("zendesk_url"));
        assert_eq!(closest_key("colour"), None);
    }

    #[test]
    fn zammad_is_off_until_its_url_is_set_and_then_needs_a_token() {
        assert!(Config::default().zammad().is_none());
        let config = |token: Option<&str>, shadow| Config {
            zammad_url: Some("https://support.example.com".into()),
            zammad_api_token: token.map(Secret::new),
            zammad_shadow: shadow,
            ..Config::default()
        };
        let missing = config(None, false).validate().unwrap_err();
        assert!(
            missing.problem.contains("ONBEHALF_ZAMMAD_API_TOKEN"),
            "{missing:?}"
        );
        assert!(
            config(None, true).validate().is_ok(),
            "shadow mode needs no token"
        );
        assert!(config(Some("short"), false).validate().is_err());
        let on = config(Some("zammad-token-0123456789"), false);
        assert!(on.validate().is_ok());
        let section = on.zammad().unwrap();
        assert_eq!(section.url, "https://support.example.com");
        let shown = Config {
            zammad_signing_secrets: vec![Secret::new("zammad-signature-0123456789")],
            ..on
        }
        .masked_toml();
        assert!(
            !shown.contains("zammad-token-0123456789")
                && !shown.contains("zammad-signature-0123456789"),
            "{shown}"
        );
    }

    #[test]
    fn helpdesk_tables_in_the_file_are_the_flat_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onbehalf.toml");
        std::fs::write(
            &path,
            "allow_http = true\n[zammad]\nurl = \"http://127.0.0.1:9\"\napi_token = \"zammad-token-0123456789\"\nsigning_secrets = [\"one-zammad-token-0123\", \"two-zammad-token-0123\"]\n[zendesk]\nrequests_per_minute = 17\n",
        )
        .unwrap();
        let config = Config::load(Some(&path)).unwrap();
        assert_eq!(config.zammad_url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(config.zammad_signing_secrets.len(), 2);
        assert_eq!(config.zendesk_requests_per_minute, 17);
        assert_eq!(config.zendesk().requests_per_minute, 17);

        std::fs::write(
            &path,
            "zammad_url = \"https://a.example\"\n[zammad]\nurl = \"https://b.example\"\n",
        )
        .unwrap();
        let twice = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(
            twice.contains("zammad_url") && twice.contains("twice"),
            "{twice}"
        );
        std::fs::write(&path, "[zammad]\nuri = \"https://b.example\"\n").unwrap();
        let unknown = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(unknown.contains("zammad_uri"), "{unknown}");
    }

    #[test]
    fn the_queue_backend_is_a_typed_section() {
        assert_eq!(
            Config::default().queue_backend(),
            QueueBackend::Embedded {
                data_dir: PathBuf::from("data")
            }
        );
        let amqp = Config {
            queue_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            ..Config::default()
        };
        assert!(
            matches!(amqp.queue_backend(), QueueBackend::Amqp { prefix, .. } if prefix == "onbehalf")
        );
    }

    #[test]
    fn prefetch_is_never_below_the_number_of_handlers() {
        let config = |workers, prefetch| Config {
            workers,
            prefetch,
            ..Config::default()
        };
        assert_eq!(config(4, 32).consumer_prefetch(), 32);
        assert_eq!(config(64, 32).consumer_prefetch(), 64);
        assert_eq!(config(100_000, 32).consumer_prefetch(), u16::MAX);
    }
}
