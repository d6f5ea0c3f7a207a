//! The real binary as a child process: for kill -9, SIGTERM and multi-process tests.

use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct ChildApp {
    pub child: Child,
    pub addr: SocketAddr,
}

/// Starts `onbehalf <role>` with `env` and waits until `/healthz` answers.
pub async fn spawn_process(role: &str, env: &[(String, String)]) -> ChildApp {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_onbehalf"));
    command
        .arg(role)
        .env("ONBEHALF_LISTEN", addr.to_string())
        .env(
            "ONBEHALF_LOG",
            std::env::var("TEST_LOG").map(|_| "debug").unwrap_or("warn"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if std::env::var_os("TEST_LOG").is_none() {
        command.stderr(Stdio::null());
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command.spawn().expect("binary starts");
    let app = ChildApp { child, addr };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("http://{addr}/healthz")).send().await
            && r.status().is_success()
        {
            return app;
        }
        assert!(
            Instant::now() < deadline,
            "{role} did not come up on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl ChildApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit (at most `within`).
    pub fn terminate(&mut self, within: Duration) -> Option<ExitStatus> {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                self.kill9();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildApp {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
