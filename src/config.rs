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
        if self.webhook_concurrency == 0 {
            return bad("webhook_concurrency", "at least 1");
        }
        if self.header_read_timeout_secs == 0 || self.body_read_timeout_secs == 0 {
            return bad("header_read_timeout_secs", "timeouts of at least 1 second");
        }
        if let Some(url) = &self.zendesk_url {
            self.check_api_url("zendesk_url", url, "https://acme.zendesk.com")?;
            if self.zendesk_email.is_none() || self.zendesk_api_token.is_none() {
                return Err(ConfigError::Invalid(
                    "ONBEHALF_ZENDESK_URL is set: ONBEHALF_ZENDESK_EMAIL and ONBEHALF_ZENDESK_API_TOKEN are required too".into(),
                ));
            }
        }
        for secret in &self.zendesk_signing_secrets {
            check_secret("zendesk_signing_secrets", secret)?;
        }
        for (key, token) in [
            ("admin_token", &self.admin_token),
            ("zendesk_api_token", &self.zendesk_api_token),
        ] {
            if let Some(token) = token {
                check_secret(key, token)?;
            }
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

    /// An outside API's base URL: parseable, `https://` (or `http://` with `allow_http`).
    fn check_api_url(&self, key: &str, url: &str, example: &str) -> Result<(), ConfigError> {
        let scheme = reqwest::Url::parse(url)
            .ok()
            .filter(|u| u.has_host())
            .map(|u| u.scheme().to_string());
        match scheme.as_deref() {
            Some("https") => Ok(()),
            Some("http") if self.allow_http => Ok(()),
            Some("http") => Err(ConfigError::Invalid(format!(
                "{} ({key}): plain http:// sends the API token unencrypted; use https:// or set ONBEHALF_ALLOW_HTTP=true (local fakes and tests only)",
                env_name(key)
            ))),
            _ => Err(ConfigError::Invalid(format!(
                "{} ({key}): expected an https:// URL such as {example}",
                env_name(key)
            ))),
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

fn check_secret(key: &str, secret: &Secret) -> Result<(), ConfigError> {
    match secret_problem(secret.expose()) {
        Some(problem) => Err(ConfigError::Invalid(format!(
            "{} ({key}): the value {problem}",
            env_name(key)
        ))),
        None => Ok(()),
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
            let error = admin.validate().expect_err(bad).to_string();
            assert!(error.contains("ONBEHALF_ADMIN_TOKEN"), "{error}");
            assert!(
                !error.contains("short-token"),
                "the value is not echoed: {error}"
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
            plain.is_err_and(|e| e.to_string().contains("ONBEHALF_ALLOW_HTTP")),
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
