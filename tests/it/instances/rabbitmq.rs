//! A private RabbitMQ node: its own node name, AMQP and distribution ports on 127.0.0.1, and
//! database, logs, config and Erlang cookie in a temp dir. The node and `rabbitmqctl` share the
//! cookie through `HOME` (the temp dir); EPMD is the machine's, as every node registers there.
//! `guest`/`guest` works, as on any fresh broker reached over loopback.
//!
//! Booting takes tens of seconds on a busy 2-core machine (most of it RabbitMQ discovering its
//! boot steps); `stop_app`/`start_app` take a few seconds each.

use std::io::{Read, Seek};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const DIR_PREFIX: &str = "onbehalf-rabbit-";
const BOOT_WITHIN: Duration = Duration::from_secs(180);
const CTL_WITHIN: Duration = Duration::from_secs(120);

pub struct PrivateRabbit {
    dir: TempDir,
    sbin: PathBuf,
    node: String,
    port: u16,
    dist_port: u16,
    /// The first of the ports `rabbitmqctl` may listen on, away from the range every other
    /// `rabbitmqctl` on the machine uses.
    ctl_port: u16,
    /// The node's OS process (`beam.smp`), while it runs.
    beam: Mutex<Option<u32>>,
    last_boot: Mutex<Duration>,
}

impl PrivateRabbit {
    /// Boots a node and waits for `rabbitmqctl await_startup`; panics with the reason (and the
    /// node's log) when it cannot.
    pub fn launch() -> PrivateRabbit {
        let dir = super::instance_dir(DIR_PREFIX);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let rabbit = PrivateRabbit {
            sbin: sbin_dir(),
            node: format!("onbehalf-test-{}@localhost", &id[..12]),
            port: super::free_port(),
            dist_port: super::free_port(),
            ctl_port: super::free_port(),
            beam: Mutex::new(None),
            last_boot: Mutex::new(Duration::ZERO),
            dir,
        };
        rabbit.write_files();
        rabbit.start();
        eprintln!(
            "private RabbitMQ {} on port {} booted in {:?}",
            rabbit.node,
            rabbit.port,
            rabbit.last_boot()
        );
        rabbit
    }

    /// `amqp://guest:guest@127.0.0.1:PORT/%2f`.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// How long the latest boot (`launch` or `start`) took until `await_startup` returned.
    pub fn last_boot(&self) -> Duration {
        *self.last_boot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Boots the node (after `stop` or `kill`; queues and messages declared durable survive).
    pub fn start(&self) {
        let mut beam = self.beam();
        assert!(beam.is_none(), "private RabbitMQ is already running");
        let began = Instant::now();
        let pid_file = self.dir.path().join("pid");
        let _ = std::fs::remove_file(&pid_file);
        let (status, out) = self
            .run("rabbitmq-server", &["-detached"], CTL_WITHIN)
            .unwrap_or_else(|e| panic!("private RabbitMQ: {e}"));
        assert!(
            status.success(),
            "rabbitmq-server -detached: {status} {out}"
        );
        let deadline = began + BOOT_WITHIN;
        loop {
            let pid = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|p| p.trim().parse::<u32>().ok());
            if let Some(pid) = pid {
                beam.get_or_insert(pid);
                if !super::alive(pid) {
                    *beam = None;
                    panic!(
                        "private RabbitMQ exited while booting:\n{}",
                        self.log_tail()
                    );
                }
            }
            // Fails at once while the node is not registered yet, then waits for the boot.
            let waited = self.ctl(&["await_startup", "--timeout", "170"]);
            if waited.is_ok() && beam.is_some() {
                break;
            }
            if Instant::now() > deadline {
                panic!(
                    "private RabbitMQ not up within {BOOT_WITHIN:?} ({waited:?}):\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        *self.last_boot.lock().unwrap_or_else(|e| e.into_inner()) = began.elapsed();
    }

    /// Stops the broker application (AMQP connections closed, the port refuses); the Erlang
    /// node stays up for `start_app`.
    pub fn stop_app(&self) {
        self.ctl_or_panic(&["stop_app"]);
    }

    /// Starts the application again and waits until it has booted.
    pub fn start_app(&self) {
        self.ctl_or_panic(&["start_app"]);
        self.ctl_or_panic(&["await_startup"]);
    }

    /// The temp dir holding the node's database, logs, config and cookie.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The node's processes (`beam.smp` and its helpers) right now.
    pub fn pids(&self) -> Vec<u32> {
        self.beam().map(super::process_tree).unwrap_or_default()
    }

    /// Runs `rabbitmqctl -n NODE args…` against this node; its output, or why it failed.
    pub fn ctl(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["-n", &self.node];
        all.extend_from_slice(args);
        let (status, out) = self.run("rabbitmqctl", &all, CTL_WITHIN)?;
        if status.success() {
            Ok(out)
        } else {
            Err(format!("rabbitmqctl {args:?}: {status}: {out}"))
        }
    }

    fn ctl_or_panic(&self, args: &[&str]) {
        if let Err(e) = self.ctl(args) {
            panic!("private RabbitMQ {}: {e}", self.node);
        }
    }

    fn beam(&self) -> std::sync::MutexGuard<'_, Option<u32>> {
        self.beam.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write_files(&self) {
        let dir = self.dir.path();
        let write = |name: &str, content: String| {
            std::fs::write(dir.join(name), content)
                .unwrap_or_else(|e| panic!("private RabbitMQ {name}: {e}"));
        };
        // The node and the CLI find it in $HOME; Erlang refuses a cookie others can read.
        write(".erlang.cookie", uuid::Uuid::new_v4().simple().to_string());
        std::fs::set_permissions(
            dir.join(".erlang.cookie"),
            std::os::unix::fs::PermissionsExt::from_mode(0o400),
        )
        .expect("cookie mode");
        write(
            "rabbitmq.conf",
            format!(
                "listeners.tcp.1 = 127.0.0.1:{}\nlog.console = false\nlog.file.level = info\n",
                self.port
            ),
        );
        write("enabled_plugins", "[].\n".into());
        // Replaces /etc/rabbitmq/rabbitmq-env.conf, which names the shared node.
        write("rabbitmq-env.conf", String::new());
    }

    /// Runs one of RabbitMQ's scripts with this node's environment (and nothing inherited that
    /// could point it at the shared node), killing it after `within`.
    fn run(
        &self,
        script: &str,
        args: &[&str],
        within: Duration,
    ) -> Result<(ExitStatus, String), String> {
        let dir = self.dir.path();
        let mut command = Command::new(self.sbin.join(script));
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("RABBITMQ_") || key.starts_with("ERL_") {
                command.env_remove(&*key);
            }
        }
        let port = |p: u16| p.to_string();
        command
            .args(args)
            .current_dir(dir)
            .env("HOME", dir)
            .env("RABBITMQ_CONF_ENV_FILE", dir.join("rabbitmq-env.conf"))
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", port(self.port))
            .env("RABBITMQ_DIST_PORT", port(self.dist_port))
            .env("RABBITMQ_CTL_DIST_PORT_MIN", port(self.ctl_port))
            .env("RABBITMQ_CTL_DIST_PORT_MAX", port(self.ctl_port + 10))
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", dir.join("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", dir.join("pid"))
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            )
            .stdin(Stdio::null());
        // Into a file, not a pipe: the detached node may keep inherited descriptors open.
        let output = tempfile::tempfile_in(dir).map_err(|e| e.to_string())?;
        let writer = |f: &std::fs::File| f.try_clone().map_err(|e| e.to_string());
        command.stdout(writer(&output)?).stderr(writer(&output)?);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.sbin.join(script).display()))?;
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if Instant::now() > deadline {
                super::kill_and_wait(&super::process_tree(child.id()), Duration::from_secs(5));
                let _ = child.wait();
                return Err(format!("{script} {args:?} still running after {within:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut text = String::new();
        let mut output = output;
        output
            .seek(std::io::SeekFrom::Start(0))
            .map_err(|e| e.to_string())?;
        output
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
        Ok((status, text.trim().to_string()))
    }

    fn log_tail(&self) -> String {
        let log = self
            .dir
            .path()
            .join("log")
            .join(format!("{}.log", self.node));
        super::tail(&log, 25)
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        // Throw-away node: kill it rather than stop it cleanly, then the TempDir goes.
        let beam = self.beam().take();
        let mut tree = beam.map(super::process_tree).unwrap_or_default();
        // A boot that failed half-way may have left a node the pid file never named.
        tree.extend(super::processes_mentioning(self.dir.path()));
        if !super::kill_and_wait(&tree, Duration::from_secs(10)) {
            eprintln!("WARNING: private RabbitMQ processes {tree:?} outlived SIGKILL");
        }
    }
}

/// RabbitMQ's own scripts (`TEST_RABBITMQ_SBIN` overrides). Not Debian's /usr/sbin wrappers:
/// run as root, those switch to the `rabbitmq` user, its cookie and the shared node's logs.
fn sbin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TEST_RABBITMQ_SBIN") {
        return dir.into();
    }
    let debian = PathBuf::from("/usr/lib/rabbitmq/bin");
    if debian.join("rabbitmq-server").exists() {
        return debian;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|d| d.join("rabbitmq-server").exists());
    on_path.unwrap_or_else(|| {
        panic!(
            "no rabbitmq-server (install the `rabbitmq-server` package, or set \
             TEST_RABBITMQ_SBIN to the folder of its scripts)"
        )
    })
}
