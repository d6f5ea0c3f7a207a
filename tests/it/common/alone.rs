//! One test in a process of its own. The tests share one process, and some of the crate's
//! state is process-wide: the metrics registry (`onbehalf::telemetry`: every in-process app's
//! gauges, so one app's `onbehalf_dependency_up` overwrites another's) and the Zendesk export's
//! rate limit (`helpdesk::zendesk::history`: every app's reconciler takes from it). A test that
//! asserts a metric's value or times the export runs its body in a child process of this binary
//! that runs nothing else.

use std::process::Stdio;

/// Set in the child process to the name of the one test it runs.
const ALONE_ENV: &str = "ONBEHALF_TEST_ALONE";

/// libtest's name for `test`, a test function in the module `module` (`module_path!()`): the
/// module's path without the crate's name.
pub fn test_name(module: &str, test: &str) -> String {
    match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{test}"),
        None => test.to_owned(),
    }
}

/// True in the process where the test's body runs. Anywhere else it runs the test again in a
/// child process, waits for it and fails if it did not pass there; the caller then returns.
pub async fn in_own_process(module: &str, test: &str) -> bool {
    let name = test_name(module, test);
    if std::env::var_os(ALONE_ENV).is_some_and(|v| v == name.as_str()) {
        return true;
    }
    let binary = std::env::current_exe().expect("the test binary's path");
    let out = tokio::process::Command::new(binary)
        .args(["--exact", &name, "--nocapture", "--test-threads=1"])
        .env(ALONE_ENV, &name)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown with the parent's output (on failure, or under --nocapture).
    print!("{stdout}");
    eprint!("{stderr}");
    // A filter that matches nothing passes too: insist that the one test ran.
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed;"),
        "{name} in a process of its own: {}",
        out.status
    );
    false
}
