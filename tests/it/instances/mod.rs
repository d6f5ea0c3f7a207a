//! Private PostgreSQL and RabbitMQ servers for the heavy outage tests. A test that stops,
//! restarts or kills a service gets its own server (temp dir, free 127.0.0.1 ports), so the
//! machine's shared services, which other people's tests use, are never touched.
//!
//! The handle is the guard: dropping it (test passed or panicked) kills the server and removes
//! its files. A test process that dies without unwinding (SIGKILL, Ctrl-C) leaves its instance
//! behind; the next launch of the same kind sweeps it (its owner process is gone).
//!
//! Methods block (a RabbitMQ boot takes tens of seconds): from an async test, call them inside
//! `tokio::task::block_in_place` on a multi-thread runtime so the test's other tasks keep going.

pub mod postgres;
pub mod rabbitmq;

pub use postgres::PrivatePostgres;
pub use rabbitmq::PrivateRabbit;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

/// Heavy outage tests (private servers, minutes of CPU) run only with `TEST_DISRUPTIVE=1`;
/// `.ci/run` sets it, `scripts/test` does not. Prints why a test is skipped.
pub fn heavy_outage_tests_enabled(test: &str, needs: &str) -> bool {
    if std::env::var("TEST_DISRUPTIVE").is_ok_and(|v| v == "1") {
        return true;
    }
    // Straight to stderr in one write: libtest swallows `eprintln!` of a passing test, and a
    // skip must show.
    let line = format!(
        "SKIPPED {test}: heavy outage test ({needs}); set TEST_DISRUPTIVE=1 to run it (.ci/run does)\n"
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
    false
}

/// A port nobody listens on, below the kernel's ephemeral range: a server that is stopped for
/// minutes gets its port back, as no outgoing connection is handed it meanwhile.
pub fn free_port() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    for _ in 0..200 {
        let port = rand::random_range(10_000..ephemeral_low.max(10_001));
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below {ephemeral_low}");
}

/// A temp dir named `{prefix}…` recording its owner (this process), after sweeping the dirs
/// of owners that are gone.
fn instance_dir(prefix: &str) -> TempDir {
    sweep(prefix);
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temp dir for a private server: {e}"));
    let me = std::process::id();
    let owner = format!("{me} {}", start_time(me).unwrap_or_default());
    std::fs::write(dir.path().join("owner"), owner).expect("owner file written");
    dir
}

/// Kills what runs from the instance dirs of dead test processes and removes those dirs.
fn sweep(prefix: &str) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for dir in entries.flatten().map(|e| e.path()) {
        let named = dir.file_name().and_then(|n| n.to_str());
        if !named.is_some_and(|n| n.starts_with(prefix)) {
            continue;
        }
        let Ok(owner) = std::fs::read_to_string(dir.join("owner")) else {
            continue; // being created right now, or not ours
        };
        let mut fields = owner.split_whitespace();
        let pid = fields.next().and_then(|p| p.parse::<u32>().ok());
        let started = fields.next().unwrap_or_default();
        if pid.is_some_and(|p| start_time(p).as_deref() == Some(started)) {
            continue; // its test is still running
        }
        let stale = processes_mentioning(&dir);
        eprintln!("sweeping {} left by a dead test: {stale:?}", dir.display());
        kill_and_wait(&stale, Duration::from_secs(10));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A process's start time in clock ticks since boot: with the pid it names one process, even
/// once the pid is reused.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22; the fields count from after the command name, which may hold spaces.
    let after_name = stat.rsplit_once(')')?.1;
    after_name.split_whitespace().nth(19).map(str::to_string)
}

/// `(pid, parent pid)` of every live process.
fn processes() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
            let state = fields.next()?;
            let parent = fields.next()?.parse().ok()?;
            (state != "Z").then_some((pid, parent))
        })
        .collect()
}

/// `pid` and its descendants.
fn process_tree(pid: u32) -> Vec<u32> {
    let all = processes();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(all.iter().filter(|(_, p)| *p == parent).map(|(c, _)| *c));
        i += 1;
    }
    tree
}

/// Processes whose command line names `dir`, and their descendants.
fn processes_mentioning(dir: &Path) -> Vec<u32> {
    let needle = dir.as_os_str().as_encoded_bytes();
    processes()
        .into_iter()
        .filter(|(pid, _)| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmd| cmd.windows(needle.len()).any(|w| w == needle))
        })
        .flat_map(|(pid, _)| process_tree(pid))
        .collect()
}

fn alive(pid: u32) -> bool {
    processes().iter().any(|(p, _)| *p == pid)
}

/// SIGKILLs `pids` and waits until they are gone; false if one outlived `within`.
fn kill_and_wait(pids: &[u32], within: Duration) -> bool {
    for pid in pids {
        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
    }
    wait_gone(pids, within)
}

fn wait_gone(pids: &[u32], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while pids.iter().any(|p| alive(*p)) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The last `lines` lines of a log file, for failure messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("({e})"));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
