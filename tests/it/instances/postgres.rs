//! A private PostgreSQL server: `initdb` into a temp dir, trust auth, one free port on
//! 127.0.0.1, no Unix socket. Run as the `postgres` OS user when the tests run as root
//! (PostgreSQL refuses root).
//!
//! Fast settings: `fsync = off` and `full_page_writes = off` lose data only when the operating
//! system crashes, which no test can simulate: stop, restart and `kill` (SIGKILL of every server
//! process) all leave the written pages in the OS cache, so the restart and crash tests still
//! prove durability of commits. `synchronous_commit` stays on: with it off a killed server
//! would lose commits it had acknowledged, exactly what the store tests check. A test about
//! real disk durability (fsync costs, power loss) passes `("fsync", "on")` to `launch_with`.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

const DIR_PREFIX: &str = "onbehalf-pg-";
const READY_WITHIN: Duration = Duration::from_secs(60);

pub struct PrivatePostgres {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    /// uid and gid the server runs as: `postgres` when we are root, else ourselves.
    user: Option<(u32, u32)>,
    server: Mutex<Option<Child>>,
}

impl PrivatePostgres {
    /// Initialises and starts a server with the fast test settings; panics with the reason
    /// when it cannot.
    pub fn launch() -> PrivatePostgres {
        PrivatePostgres::launch_with(&[])
    }

    /// Like `launch`, with extra `postgresql.conf` settings that win over the defaults.
    pub fn launch_with(settings: &[(&str, &str)]) -> PrivatePostgres {
        let began = Instant::now();
        let bin = bin_dir();
        let dir = super::instance_dir(DIR_PREFIX);
        let user = server_user();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("chown {} to postgres: {e}", dir.path().display()));
        }
        let pg = PrivatePostgres {
            bin,
            port: super::free_port(),
            user,
            server: Mutex::new(None),
            dir,
        };
        pg.initdb(settings);
        let initialised = began.elapsed();
        pg.start();
        eprintln!(
            "private PostgreSQL on port {} ({}): initdb {initialised:?}, ready after {:?}",
            pg.port,
            pg.dir.path().display(),
            began.elapsed()
        );
        pg
    }

    /// `postgres://postgres@127.0.0.1:PORT` (append `/database`); what the store and cluster
    /// helpers take as their server.
    pub fn server_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    pub fn url(&self, database: &str) -> String {
        format!("{}/{database}", self.server_url())
    }

    /// Starts the server (after `stop` or `kill`) and waits until it accepts connections.
    pub fn start(&self) {
        let mut server = self.lock();
        assert!(server.is_none(), "private PostgreSQL is already running");
        // A killed server's processes may hold its shared memory for a moment: retry.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn_and_wait() {
                Ok(child) => {
                    *server = Some(child);
                    return;
                }
                Err(e) if Instant::now() > deadline => {
                    panic!("private PostgreSQL did not start: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Fast shutdown (clients disconnected, checkpoint written), as `pg_ctl stop -m fast`;
    /// returns once the server has exited and its port is closed.
    pub fn stop(&self) {
        let Some(mut child) = self.lock().take() else {
            return;
        };
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                super::kill_and_wait(&super::process_tree(child.id()), Duration::from_secs(10));
                let _ = child.wait();
                panic!("private PostgreSQL ignored a fast shutdown for 60 s; killed it");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop, then start (what `pg_ctl restart` does).
    pub fn restart(&self) {
        self.stop();
        self.start();
    }

    /// A crash: SIGKILL to the postmaster and every backend at once. `start` then runs crash
    /// recovery.
    pub fn kill(&self) {
        let Some(mut child) = self.lock().take() else {
            return;
        };
        let tree = super::process_tree(child.id());
        let gone = super::kill_and_wait(&tree, Duration::from_secs(10));
        let _ = child.wait();
        assert!(
            gone,
            "private PostgreSQL processes outlived SIGKILL: {tree:?}"
        );
    }

    pub fn is_running(&self) -> bool {
        self.lock().is_some()
    }

    /// The temp dir holding the data directory and `server.log`.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The server's processes (postmaster and backends) right now.
    pub fn pids(&self) -> Vec<u32> {
        self.lock()
            .as_ref()
            .map(|c| super::process_tree(c.id()))
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        // A test that panicked while holding it must not leak the server on drop.
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.stdin(Stdio::null()).env("LC_ALL", "C");
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn initdb(&self, settings: &[(&str, &str)]) {
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run initdb from {}: {e}", self.bin.display()));
        assert!(
            out.status.success(),
            "initdb failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let mut conf = String::from("\n# onbehalf private test server\n");
        let defaults = [
            ("listen_addresses", "'127.0.0.1'"),
            ("unix_socket_directories", "''"),
            ("fsync", "off"),
            ("full_page_writes", "off"),
            ("shared_buffers", "32MB"),
        ];
        for (key, value) in defaults.iter().chain(settings) {
            conf.push_str(&format!("{key} = {value}\n"));
        }
        let path = self.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).expect("postgresql.conf written by initdb");
        text.push_str(&conf);
        std::fs::write(&path, text).expect("postgresql.conf updated");
    }

    fn spawn_and_wait(&self) -> Result<Child, String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .map_err(|e| format!("server log: {e}"))?;
        let mut child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string()])
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run postgres: {e}"))?;
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "exited {status}:\n{}",
                    super::tail(&self.log(), 15)
                ));
            }
            if self.accepts_connections() {
                return Ok(child);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "not ready within {READY_WITHIN:?}:\n{}",
                    super::tail(&self.log(), 15)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn accepts_connections(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
            .args(["-p", &self.port.to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Throw-away data: kill rather than shut down cleanly, then the TempDir goes.
        let Some(mut child) = self.lock().take() else {
            return;
        };
        let tree = super::process_tree(child.id());
        if !super::kill_and_wait(&tree, Duration::from_secs(10)) {
            eprintln!("WARNING: private PostgreSQL processes {tree:?} outlived SIGKILL");
        }
        let _ = child.wait();
    }
}

/// The newest installed server's binaries (`TEST_PG_BIN` overrides).
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TEST_PG_BIN") {
        return dir.into();
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (install the \
             `postgresql` package, or set TEST_PG_BIN)"
        ),
    }
}

/// PostgreSQL refuses to run as root: then the `postgres` OS user runs it.
fn server_user() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    match nix::unistd::User::from_name("postgres") {
        Ok(Some(user)) => Some((user.uid.as_raw(), user.gid.as_raw())),
        other => panic!(
            "tests run as root and PostgreSQL refuses root, but there is no `postgres` OS \
             user to run the private server as: {other:?}"
        ),
    }
}
