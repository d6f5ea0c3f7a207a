//! Configuration: `ONBEHALF_*` environment variables over an optional TOML file (same keys in
//! lower case, without the prefix). Unknown keys and bad values stop start-up with the key named.

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
        "********".to_string()
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
    pub admin_token: Option<Secret>,
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
    /// How often the reconciler follows Zendesk's incremental ticket export (0: never).
    pub reconcile_interval_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        let tags = TagNames::default();
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://data/onbehalf.db".into(),
            queue_url: "embedded".into(),
            queue_prefix: "onbehalf".into(),
            data_dir: PathBuf::from("data"),
            zendesk_signing_secrets: vec![],
            zendesk_url: None,
            zendesk_email: None,
            zendesk_api_token: None,
            admin_token: None,
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
            reconcile_interval_secs: 300,
        }
    }
}

/// Environment variables read by the binary that are not configuration keys.
const NOT_KEYS: &[&str] = &["config", "log"];

impl Config {
    /// Defaults, then the TOML file (if any), then `ONBEHALF_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::File {
                    path: path.to_path_buf(),
                    message: "no such file".into(),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("ONBEHALF_").ignore(NOT_KEYS));
        let config: Config = figment.extract().map_err(|e| {
            let mut messages = vec![];
            for err in e {
                messages.push(describe(&err));
            }
            ConfigError::Invalid(messages.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, expected: &str| {
            Err(ConfigError::Invalid(format!(
                "{} ({key}): expected {expected}",
                env_name(key)
            )))
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
        if let Some(url) = &self.zendesk_url {
            if reqwest::Url::parse(url).is_err() || !url.starts_with("http") {
                return bad(
                    "zendesk_url",
                    "an http(s) URL such as https://acme.zendesk.com",
                );
            }
            if self.zendesk_email.is_none() || self.zendesk_api_token.is_none() {
                return Err(ConfigError::Invalid(
                    "ONBEHALF_ZENDESK_URL is set: ONBEHALF_ZENDESK_EMAIL and ONBEHALF_ZENDESK_API_TOKEN are required too".into(),
                ));
            }
        }
        if self
            .zendesk_signing_secrets
            .iter()
            .any(|s| s.expose().is_empty())
        {
            return bad(
                "zendesk_signing_secrets",
                "non-empty comma-separated secrets",
            );
        }
        if let Some(key) = &self.trail_key
            && let Err(e) = crate::store::TrailKey::new(key.expose())
        {
            return Err(ConfigError::Invalid(format!(
                "{} (trail_key): {e}",
                env_name("trail_key")
            )));
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
        Ok(())
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
        shown.admin_token = self.admin_token.as_ref().map(|s| Secret(s.masked()));
        shown.trail_key = self.trail_key.as_ref().map(|s| Secret(s.masked()));
        shown.database_url = mask_url_password(&self.database_url);
        shown.queue_url = mask_url_password(&self.queue_url);
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
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

fn describe(err: &figment::Error) -> String {
    let key = err.path.join(".");
    let name = if key.is_empty() {
        String::new()
    } else {
        format!("{} ({key}): ", env_name(&key))
    };
    match &err.kind {
        figment::error::Kind::UnknownField(field, _) => {
            format!(
                "unknown key `{field}` ({}): not a configuration key; see `onbehalf check-config --help`",
                env_name(field)
            )
        }
        kind => format!("{name}{kind}{}", hint(&key)),
    }
}

/// The expected form of keys whose type alone does not say it.
fn hint(key: &str) -> &'static str {
    match key {
        "listen" => " (expected host:port, e.g. 0.0.0.0:8080)",
        "log_format" => " (expected `text` or `json`)",
        "zendesk_signing_secrets" => " (expected comma-separated secrets)",
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

impl Config {
    /// The trail key, when configured (validated at load).
    pub fn trail_key(&self) -> Option<crate::store::TrailKey> {
        self.trail_key
            .as_ref()
            .and_then(|k| crate::store::TrailKey::new(k.expose()).ok())
    }
}

fn mask_url_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("********"));
            u.to_string()
        }
        _ => url.to_string(),
    }
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
