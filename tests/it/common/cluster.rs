//! Several real processes on RabbitMQ and PostgreSQL: a unique queue prefix and a fresh
//! database per test, both removed afterwards. The machine's shared servers by default; a test
//! that takes a server down runs on a private one (`Cluster::on`, `tests/it/instances`).

use super::process::{ChildApp, spawn_process};
use super::{FakeZendesk, SECRET};
use onbehalf::queue::RetryPolicy;
use onbehalf::queue::amqp::AmqpQueue;
use sqlx::Connection;

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const PG: &str = "postgres://postgres@127.0.0.1:5432";

/// The broker and the database server a cluster runs on.
#[derive(Clone, Debug)]
pub struct Services {
    pub amqp_url: String,
    /// `postgres://user@host:port`, without a database.
    pub postgres: String,
}

impl Default for Services {
    /// The machine's shared RabbitMQ and PostgreSQL.
    fn default() -> Services {
        Services {
            amqp_url: AMQP_URL.into(),
            postgres: PG.into(),
        }
    }
}

pub struct Cluster {
    pub prefix: String,
    pub database: String,
    pub services: Services,
    pub zendesk: FakeZendesk,
    pub extra_env: Vec<(String, String)>,
    /// Every process started, so `cleanup` can stop them first: a live process would declare
    /// the topology again right after it is deleted.
    started: std::sync::Mutex<Vec<u32>>,
}

impl Cluster {
    pub async fn new() -> Cluster {
        Cluster::on(Services::default()).await
    }

    pub async fn on(services: Services) -> Cluster {
        super::init_test_logging();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let database = format!("ob_cluster_{}", &id[..16]);
        let server = &services.postgres;
        let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {server} answers: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        Cluster {
            prefix: format!("t-{}", &id[..12]),
            database,
            services,
            zendesk: FakeZendesk::start().await,
            extra_env: vec![],
            started: std::sync::Mutex::new(vec![]),
        }
    }

    pub fn database_url(&self) -> String {
        format!("{}/{}", self.services.postgres, self.database)
    }

    pub fn env(&self) -> Vec<(String, String)> {
        let data = std::env::temp_dir().join(&self.prefix);
        let mut env = vec![
            ("ONBEHALF_QUEUE_URL".into(), self.services.amqp_url.clone()),
            ("ONBEHALF_QUEUE_PREFIX".into(), self.prefix.clone()),
            ("ONBEHALF_DATABASE_URL".into(), self.database_url()),
            ("ONBEHALF_DATABASE_MAX_CONNECTIONS".into(), "5".into()),
            ("ONBEHALF_DATA_DIR".into(), data.display().to_string()),
            ("ONBEHALF_ZENDESK_SIGNING_SECRETS".into(), SECRET.into()),
            ("ONBEHALF_ZENDESK_URL".into(), self.zendesk.url()),
            ("ONBEHALF_ZENDESK_EMAIL".into(), "bot@example.com".into()),
            ("ONBEHALF_ZENDESK_API_TOKEN".into(), super::API_TOKEN.into()),
            ("ONBEHALF_ALLOW_HTTP".into(), "true".into()),
            (
                "ONBEHALF_ZENDESK_REQUESTS_PER_MINUTE".into(),
                "1000000".into(),
            ),
            ("ONBEHALF_ADMIN_TOKEN".into(), super::ADMIN_TOKEN.into()),
            ("ONBEHALF_RETRY_BASE_MS".into(), "200".into()),
            ("ONBEHALF_RETRY_MAX_MS".into(), "2000".into()),
        ];
        env.extend(self.extra_env.iter().cloned());
        env
    }

    pub async fn start(&self, role: &str) -> ChildApp {
        let app = spawn_process(role, &self.env()).await;
        self.started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(app.child.id());
        app
    }

    /// Runs `onbehalf <args>` against this cluster and returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_onbehalf"))
            .args(args)
            .envs(self.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "onbehalf {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn runs_as_ours(&self, pid: u32) -> bool {
        let marker = format!("ONBEHALF_QUEUE_PREFIX={}", self.prefix);
        std::fs::read(format!("/proc/{pid}/environ"))
            .map(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes()))
            .unwrap_or(false)
    }

    /// Stops the test's processes, then removes its queues, exchanges and database.
    pub async fn cleanup(self) {
        let started = std::mem::take(&mut *self.started.lock().unwrap_or_else(|e| e.into_inner()));
        for pid in started {
            // A process the test already stopped and reaped may have handed its pid on: only
            // a process carrying this test's queue prefix is ours to kill.
            if !self.runs_as_ours(pid) {
                continue;
            }
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            // Dead (a zombie until its ChildApp reaps it) means its connections are closed.
            for _ in 0..100 {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                if stat.is_empty() || stat.contains(") Z ") {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        let policy = RetryPolicy {
            max_attempts: 8,
            base_delay: std::time::Duration::from_millis(200),
            max_delay: std::time::Duration::from_millis(2000),
            budget: std::time::Duration::ZERO,
        };
        match AmqpQueue::connect(&self.services.amqp_url, &self.prefix, policy, 1).await {
            Ok(queue) => {
                if let Err(e) = queue.delete_topology().await {
                    eprintln!("WARNING: leftover topology {}: {e}", self.prefix);
                }
                onbehalf::queue::Queue::close(&queue).await;
            }
            Err(e) => eprintln!("WARNING: leftover topology {}: {e}", self.prefix),
        }
        let admin_url = format!("{}/postgres", self.services.postgres);
        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.database
            )))
            .execute(&mut admin)
            .await;
        }
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(&self.prefix));
    }
}
