//! Child processes under test: start, time to ready, resident memory, stop; and the broker and
//! database resources a run creates and must remove.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// Resolves on Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

pub fn free_addr() -> std::io::Result<SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("cannot start {name}: {source}")]
    Spawn {
        name: String,
        source: std::io::Error,
    },
    #[error("{name} exited before it was ready ({status}): {log}")]
    Exited {
        name: String,
        status: String,
        log: String,
    },
    #[error("{name} was not ready after {after:?}: {log}")]
    NotReady {
        name: String,
        after: Duration,
        log: String,
    },
}

/// A running child with its address and how long it took to answer /readyz.
pub struct Proc {
    pub name: String,
    pub addr: SocketAddr,
    pub ready_after: Duration,
    child: Child,
    log: PathBuf,
}

pub struct Launch<'a> {
    pub name: &'a str,
    pub program: &'a Path,
    pub args: &'a [&'a str],
    pub env: &'a [(String, String)],
    /// Where stderr goes, to explain a failure.
    pub log: PathBuf,
    pub addr: SocketAddr,
}

impl Proc {
    /// Spawns and polls `GET /readyz` every 5 ms until it answers 200.
    pub async fn start(launch: Launch<'_>, within: Duration) -> Result<Proc, ProcError> {
        let spawn_err = |source| ProcError::Spawn {
            name: launch.name.into(),
            source,
        };
        let stderr = std::fs::File::create(&launch.log).map_err(spawn_err)?;
        let started = Instant::now();
        let mut command = Command::new(launch.program);
        // Only the configuration given here: a developer's own ONBEHALF_* settings (a config
        // file, a real Zendesk) must not leak into a benchmark run.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ONBEHALF_") {
                command.env_remove(key);
            }
        }
        let child = command
            .args(launch.args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(spawn_err)?;
        let mut proc = Proc {
            name: launch.name.into(),
            addr: launch.addr,
            ready_after: Duration::ZERO,
            child,
            log: launch.log,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| spawn_err(std::io::Error::other(e)))?;
        let url = format!("http://{}/readyz", proc.addr);
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                proc.ready_after = started.elapsed();
                return Ok(proc);
            }
            if let Ok(Some(status)) = proc.child.try_wait() {
                return Err(ProcError::Exited {
                    name: proc.name.clone(),
                    status: status.to_string(),
                    log: proc.log_tail(),
                });
            }
            if started.elapsed() > within {
                return Err(ProcError::NotReady {
                    name: proc.name.clone(),
                    after: within,
                    log: proc.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the process said first on stderr (the cause; a backtrace would follow it).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let head: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(2)
            .collect();
        if head.is_empty() {
            "(no output)".into()
        } else {
            head.join(" / ")
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("{} did not stop within {grace:?}: killed", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Resident set size (VmRSS) in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples the RSS of some processes every 20 ms and keeps each one's peak.
pub struct RssPeaks {
    peaks: Arc<Mutex<HashMap<u32, u64>>>,
    stop: CancellationToken,
}

impl RssPeaks {
    pub fn start(pids: Vec<u32>) -> RssPeaks {
        let peaks: Arc<Mutex<HashMap<u32, u64>>> = Arc::default();
        let stop = CancellationToken::new();
        let (p, s) = (peaks.clone(), stop.clone());
        tokio::spawn(async move {
            while !s.is_cancelled() {
                for &pid in &pids {
                    if let Some(kib) = rss_kib(pid) {
                        let mut peaks = p.lock().unwrap_or_else(PoisonError::into_inner);
                        let peak = peaks.entry(pid).or_default();
                        *peak = (*peak).max(kib);
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        RssPeaks { peaks, stop }
    }

    /// Peak KiB per pid.
    pub fn finish(self) -> HashMap<u32, u64> {
        self.stop.cancel();
        self.peaks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// CPU time (user + system, seconds) used so far by each process of a role: the given
/// service processes, this process (load generator and fake Zendesk), and the PostgreSQL and
/// RabbitMQ servers, found by name in /proc. Keyed by pid, so that processes which end between
/// two snapshots drop out instead of counting negative.
pub fn cpu_by_pid(services: &[(&str, u32)]) -> HashMap<u32, (String, f64)> {
    let mut by_pid = HashMap::new();
    let mut note = |pid: u32, role: String| {
        if let Some(spent) = cpu_seconds(pid) {
            by_pid.insert(pid, (role, spent));
        }
    };
    for (role, pid) in services {
        note(*pid, format!("`{role}`"));
    }
    note(std::process::id(), "bench (fake Zendesk)".into());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return by_pid;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        match comm.trim() {
            c if c.starts_with("postgres") => note(pid, "PostgreSQL".into()),
            "beam.smp" => note(pid, "RabbitMQ".into()),
            _ => {}
        }
    }
    by_pid
}

/// Seconds spent per role between two `cpu_by_pid` snapshots.
pub fn cpu_spent(
    before: &HashMap<u32, (String, f64)>,
    after: &HashMap<u32, (String, f64)>,
) -> HashMap<String, f64> {
    let mut spent: HashMap<String, f64> = HashMap::new();
    for (pid, (role, now)) in after {
        let then = before.get(pid).map_or(0.0, |(_, t)| *t);
        *spent.entry(role.clone()).or_default() += (now - then).max(0.0);
    }
    spent
}

/// utime + stime of a process (all its threads) in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    // Linux reports these in USER_HZ, which is 100 on every architecture it exports to.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / TICKS_PER_SECOND)
}

/// Names of one kind of RabbitMQ object (`queues`, `exchanges`) that start with `prefix`.
fn broker_names(kind: &str, prefix: &str) -> Result<Vec<String>, String> {
    let output = Command::new("rabbitmqctl")
        .args([&format!("list_{kind}"), "-q", "--no-table-headers", "name"])
        .output()
        .map_err(|e| format!("rabbitmqctl: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "rabbitmqctl list_{kind} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect())
}

/// Deletes every RabbitMQ queue and exchange whose name starts with `prefix` (names from
/// `rabbitmqctl`, deletion over AMQP). Returns how many objects it deleted.
pub async fn delete_topology(amqp: &str, prefix: &str) -> Result<usize, String> {
    let queues = broker_names("queues", prefix)?;
    let exchanges = broker_names("exchanges", prefix)?;
    if queues.is_empty() && exchanges.is_empty() {
        return Ok(0);
    }
    let connection = lapin::Connection::connect(amqp, lapin::ConnectionProperties::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut deleted = 0;
    let objects = queues.iter().map(|n| (true, n));
    for (is_queue, name) in objects.chain(exchanges.iter().map(|n| (false, n))) {
        // A failed delete closes its channel: a fresh one per object.
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| e.to_string())?;
        let name = name.as_str().into();
        let gone = if is_queue {
            let options = lapin::options::QueueDeleteOptions::default();
            channel.queue_delete(name, options).await.is_ok()
        } else {
            let options = lapin::options::ExchangeDeleteOptions::default();
            channel.exchange_delete(name, options).await.is_ok()
        };
        deleted += usize::from(gone);
    }
    let _ = connection.close(200, "bye".into()).await;
    Ok(deleted)
}

/// Can we talk to the broker at all?
pub async fn amqp_reachable(amqp: &str) -> Result<(), String> {
    let connect = lapin::Connection::connect(amqp, lapin::ConnectionProperties::default());
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(Ok(connection)) => {
            let _ = connection.close(200, "bye".into()).await;
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 3 s".into()),
    }
}

/// A fresh PostgreSQL database, dropped by `drop_database`.
pub async fn create_database(server: &str, name: &str) -> Result<String, sqlx::Error> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(format!("{server}/{name}"))
}

pub async fn drop_database(server: &str, name: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await?;
    Ok(())
}
