//! The private servers the heavy outage tests take down (`tests/it/instances`): they stop,
//! restart and crash on demand, keep committed data across all three, and leave no process and
//! no file behind, whether the test passes, panics, or died without unwinding. Heavy (a
//! RabbitMQ boot): runs with `TEST_DISRUPTIVE=1`.

use crate::instances;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use instances::{PrivatePostgres, PrivateRabbit};
use onbehalf::queue::amqp::AmqpQueue;
use onbehalf::queue::{Queue, QueueError, RetryPolicy};
use sqlx::Connection;

fn enabled(test: &str, needs: &str) -> bool {
    instances::heavy_outage_tests_enabled(test, needs)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

async fn rows(url: &str) -> Result<i64, sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let n = sqlx::query_scalar("SELECT count(*) FROM kept")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(n)
}

/// Gone, or a zombie nobody reaped yet (which holds no port, file or memory).
fn gone(pid: u32) -> bool {
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    state.is_empty() || state.contains(") Z ")
}

fn assert_left_nothing(dir: &Path, pids: &[u32]) {
    assert!(!dir.exists(), "{} still exists", dir.display());
    let running: Vec<_> = pids.iter().filter(|p| !gone(**p)).collect();
    assert!(running.is_empty(), "still running: {running:?}");
}

#[test]
fn private_postgres_keeps_commits_across_stop_restart_and_kill_and_leaves_nothing() {
    let test = "private_postgres_keeps_commits_across_stop_restart_and_kill_and_leaves_nothing";
    if !enabled(test, "boots a private PostgreSQL") {
        return;
    }
    let rt = runtime();
    let pg = PrivatePostgres::launch();
    let url = pg.url("postgres");
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE kept (n int)")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO kept VALUES (1)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let postmaster = pg.pids()[0];

    pg.restart();
    assert_ne!(pg.pids()[0], postmaster, "restart replaced the server");
    assert_eq!(rt.block_on(rows(&url)).unwrap(), 1);

    // A crash right after a commit: the commit survives (synchronous_commit stays on).
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query("INSERT INTO kept VALUES (2)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let killed = pg.pids();
    assert!(killed.len() > 1, "postmaster and its background processes");
    pg.kill();
    assert!(!pg.is_running());
    assert!(killed.iter().all(|p| gone(*p)), "every server process died");
    assert!(rt.block_on(rows(&url)).is_err(), "connections refused");
    pg.start();
    assert_eq!(rt.block_on(rows(&url)).unwrap(), 2);

    pg.stop();
    assert!(rt.block_on(rows(&url)).is_err(), "connections refused");
    pg.start();
    assert_eq!(rt.block_on(rows(&url)).unwrap(), 2);

    let (dir, pids) = (pg.dir().to_path_buf(), pg.pids());
    drop(pg);
    assert_left_nothing(&dir, &pids);
}

#[test]
fn a_panicking_test_leaves_no_private_postgres_behind() {
    if !enabled(
        "a_panicking_test_leaves_no_private_postgres_behind",
        "boots a private PostgreSQL",
    ) {
        return;
    }
    let seen = std::sync::Mutex::new(None);
    let outcome = std::panic::catch_unwind(|| {
        let pg = PrivatePostgres::launch();
        *seen.lock().unwrap() = Some((pg.dir().to_path_buf(), pg.pids()));
        panic!("the test fails while its server runs");
    });
    assert!(outcome.is_err());
    let (dir, pids) = seen.into_inner().unwrap().unwrap();
    assert!(!pids.is_empty());
    assert_left_nothing(&dir, &pids);
}

#[test]
fn instances_of_a_test_process_that_died_are_swept_by_the_next_launch() {
    let test = "instances_of_a_test_process_that_died_are_swept_by_the_next_launch";
    if !enabled(test, "boots a private PostgreSQL") {
        return;
    }
    // What a SIGKILLed test leaves: a dir whose owner is gone, a process still running from it
    // (`; :` keeps the shell from exec-ing `sleep`, so the dir stays on a command line).
    let dir = tempfile::Builder::new()
        .prefix("onbehalf-pg-")
        .tempdir()
        .unwrap()
        .keep();
    let mut dead = Command::new("true").spawn().unwrap();
    dead.wait().unwrap();
    std::fs::write(dir.join("owner"), format!("{} 1", dead.id())).unwrap();
    let mut server = Command::new("sh")
        .args(["-c", "sleep 300; :", &dir.display().to_string()])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));

    let pg = PrivatePostgres::launch();
    let status = server.try_wait().unwrap();
    assert!(status.is_some(), "the stale server was stopped");
    assert!(!dir.exists(), "the stale dir was removed");
    assert!(pg.dir().exists(), "the new instance is not swept");
}

#[test]
fn private_rabbitmq_stops_and_starts_its_app_and_leaves_nothing() {
    let test = "private_rabbitmq_stops_and_starts_its_app_and_leaves_nothing";
    if !enabled(test, "boots a private RabbitMQ node") {
        return;
    }
    let rt = runtime();
    let broker = PrivateRabbit::launch();
    println!("private RabbitMQ booted in {:?}", broker.last_boot());
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
        budget: Duration::ZERO,
    };
    let prefix = format!("t-{}", uuid::Uuid::new_v4());
    let queue = rt
        .block_on(AmqpQueue::connect(&broker.url(), &prefix, policy, 1))
        .unwrap();
    let queues = broker.ctl(&["list_queues", "name"]).unwrap();
    assert!(
        queues.contains(&prefix),
        "the queue is on the private node: {queues}"
    );
    broker.stop_app();
    assert!(matches!(
        rt.block_on(queue.check()),
        Err(QueueError::Unavailable(_))
    ));
    broker.start_app();
    assert!(rt.block_on(async {
        for _ in 0..600 {
            if queue.check().await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }));
    rt.block_on(queue.close());

    let (dir, pids) = (broker.dir().to_path_buf(), broker.pids());
    assert!(!pids.is_empty());
    drop(broker);
    assert_left_nothing(&dir, &pids);
}
