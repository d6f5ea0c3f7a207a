//! `all`: every scenario in one run on one machine, against the real binary as child
//! processes, then one Markdown table. Progress goes to stderr, the table to stdout.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::fake_helpdesk::FakeHelpdesk;
use crate::load::{self, LoadReport, LoadSpec, parse_duration, parse_rate};
use crate::payload::Kind;
use crate::procs::{self, Launch, Proc, RssPeaks};
use crate::report::{Table, Target};

const MIB: f64 = 1024.0;
const READY_WITHIN: Duration = Duration::from_secs(20);
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Waiting for notes stops when none has arrived for this long.
const STALL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Database {
    Postgres,
    Sqlite,
}

#[derive(Debug, clap::Args)]
pub struct AllArgs {
    /// A smoke run of about a minute: short durations, a small burst.
    #[arg(long)]
    quick: bool,
    /// Measured time of each throughput run [default: 20s, --quick 4s].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Events in the end-to-end burst [default: 20000, --quick 2000].
    #[arg(long)]
    burst: Option<u64>,
    /// Rate of the webhook → note latency run.
    #[arg(long, default_value = "200/s", value_parser = parse_rate)]
    steady_rate: f64,
    /// Length of the webhook → note latency run [default: 20s, --quick 4s].
    #[arg(long, value_parser = parse_duration)]
    steady_duration: Option<Duration>,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp: String,
    /// PostgreSQL server (no database part) for `receive`/`work`; a database is created per
    /// run and dropped after.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// Database of the `receive`/`work` runs (`serve` always uses SQLite).
    #[arg(long, value_enum, default_value_t = Database::Postgres)]
    database: Database,
    /// The binary under test [default: `onbehalf` next to this program].
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Concurrent handlers per `work` process (ONBEHALF_WORKERS; the prefetch follows). The
    /// service's default (4) suits a helpdesk's API rate limit; emptying a backlog as fast as
    /// the machine allows takes more events in flight, and bigger store batches.
    #[arg(long, default_value_t = 64)]
    workers: usize,
    /// Answer time of the fake Zendesk.
    #[arg(long, default_value_t = 5)]
    helpdesk_delay_ms: u64,
    /// Skip the RabbitMQ scenarios (reference, receive, receive + 2 work).
    #[arg(long)]
    skip_amqp: bool,
    /// Run only these scenarios (repeatable) [default: all].
    #[arg(long, value_enum)]
    only: Vec<Scenario>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// `serve` on the embedded queue: durable accepts, end to end.
    Serve,
    /// The reference receiver against `onbehalf receive` on RabbitMQ.
    Receive,
    /// `receive` + 2 `work` on RabbitMQ: events/s through workers, webhook → note latency.
    Workers,
    /// Judging one reply (in process): a 256 KiB reply, a 36 KiB adversarial one.
    Judge,
    /// The review console's pages over 100,000 tickets, notes and trail records (SQLite, and
    /// PostgreSQL when it answers).
    Console,
}

const SECRET: &str = "bench-signing-secret";

struct Bench {
    args: AllArgs,
    bin: PathBuf,
    me: PathBuf,
    dir: PathBuf,
    run_id: String,
    fake: FakeHelpdesk,
    fake_url: String,
    duration: Duration,
    warmup: Duration,
    burst: u64,
    steady: Duration,
    table: Table,
}

/// Where one service instance keeps its state.
struct Backing {
    database_url: String,
    queue_url: String,
    prefix: String,
    data_dir: PathBuf,
    /// PostgreSQL database to drop afterwards.
    pg_name: Option<String>,
}

pub async fn run(args: AllArgs) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    let bin = match &args.bin {
        Some(bin) => bin.clone(),
        None => me.with_file_name("onbehalf"),
    };
    anyhow::ensure!(
        bin.exists(),
        "{} not found: build it first (cargo build --release) or pass --bin",
        bin.display()
    );
    let run_id = format!("bench-{}-{}", std::process::id(), rand::random::<u16>());
    let dir = std::env::temp_dir().join(&run_id);
    std::fs::create_dir_all(&dir)?;
    let (fake, fake_addr) = FakeHelpdesk::start(
        "127.0.0.1:0".parse()?,
        Duration::from_millis(args.helpdesk_delay_ms),
    )
    .await?;
    let quick = args.quick;
    let mut bench = Bench {
        duration: args.duration.unwrap_or(secs(if quick { 4 } else { 20 })),
        warmup: secs(if quick { 1 } else { 2 }),
        burst: args.burst.unwrap_or(if quick { 2_000 } else { 20_000 }),
        steady: args
            .steady_duration
            .unwrap_or(secs(if quick { 4 } else { 20 })),
        args,
        bin,
        me,
        dir,
        run_id,
        fake,
        fake_url: format!("http://{fake_addr}"),
        table: Table::default(),
    };
    let started = Instant::now();
    let wanted = |s: Scenario| bench.args.only.is_empty() || bench.args.only.contains(&s);
    let (serve, receive, workers, console) = (
        wanted(Scenario::Serve),
        wanted(Scenario::Receive),
        wanted(Scenario::Workers),
        wanted(Scenario::Console),
    );
    if wanted(Scenario::Judge) {
        crate::judge::run(&mut bench.table);
    }
    if serve {
        bench.serve().await;
    }
    let amqp = if bench.args.skip_amqp {
        Err("skipped (--skip-amqp)".to_string())
    } else {
        procs::amqp_reachable(&bench.args.amqp)
            .await
            .map_err(|e| format!("RabbitMQ: {e}"))
    };
    if receive {
        bench.receive_vs_reference(amqp.clone()).await;
    }
    if workers {
        bench.receive_and_workers(amqp).await;
    }
    if console {
        bench.console().await;
    }
    let _ = std::fs::remove_dir_all(&bench.dir);
    println!(
        "\n{} on {} core(s), {} s per throughput run, {} events per burst, {:.0}/s for {} s of latency; whole run {:.0} s.\n",
        if quick { "Quick run" } else { "Full run" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        bench.duration.as_secs_f64(),
        bench.burst,
        bench.args.steady_rate,
        bench.steady.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", bench.table.markdown());
    Ok(())
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / MIB
}

impl Bench {
    fn env(&self, backing: &Backing, listen: std::net::SocketAddr) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("ONBEHALF_LISTEN", listen.to_string()),
            ("ONBEHALF_DATA_DIR", backing.data_dir.display().to_string()),
            ("ONBEHALF_DATABASE_URL", backing.database_url.clone()),
            ("ONBEHALF_QUEUE_URL", backing.queue_url.clone()),
            ("ONBEHALF_QUEUE_PREFIX", backing.prefix.clone()),
            ("ONBEHALF_ZENDESK_SIGNING_SECRETS", SECRET.into()),
            ("ONBEHALF_ZENDESK_URL", self.fake_url.clone()),
            ("ONBEHALF_ZENDESK_EMAIL", "bench@example.com".into()),
            (
                "ONBEHALF_ZENDESK_API_TOKEN",
                "bench-zendesk-api-token".into(),
            ),
            // The fake helpdesk is plain http on the loopback.
            ("ONBEHALF_ALLOW_HTTP", "true".into()),
            // The bench must measure the service, not our own politeness towards Zendesk.
            ("ONBEHALF_ZENDESK_REQUESTS_PER_MINUTE", "1000000".into()),
            ("ONBEHALF_LOG", "warn".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        env.push(("ONBEHALF_WORKERS".into(), self.args.workers.to_string()));
        env
    }

    async fn backing(&self, name: &str, queue_url: &str, database: Database) -> Backing {
        let data_dir = self.dir.join(name);
        let _ = std::fs::create_dir_all(&data_dir);
        let sqlite = format!("sqlite://{}/onbehalf.db", data_dir.display());
        let pg_name = format!("{}_{name}", self.run_id).replace('-', "_");
        let (database_url, pg_name) = match database {
            Database::Sqlite => (sqlite, None),
            Database::Postgres => {
                match procs::create_database(&self.args.postgres, &pg_name).await {
                    Ok(url) => (url, Some(pg_name)),
                    Err(e) => {
                        eprintln!("PostgreSQL unavailable ({e}); {name} uses SQLite");
                        (sqlite, None)
                    }
                }
            }
        };
        Backing {
            database_url,
            queue_url: queue_url.into(),
            prefix: format!("{}-{name}", self.run_id),
            data_dir,
            pg_name,
        }
    }

    async fn release(&self, backing: Backing) {
        if backing.queue_url != "embedded"
            && let Err(e) = procs::delete_topology(&self.args.amqp, &backing.prefix).await
        {
            eprintln!(
                "could not delete queues and exchanges {}*: {e}; delete them by hand",
                backing.prefix
            );
        }
        if let Some(name) = backing.pg_name
            && let Err(e) = procs::drop_database(&self.args.postgres, &name).await
        {
            eprintln!("could not drop database {name}: {e}");
        }
    }

    async fn start(
        &self,
        name: &str,
        program: &Path,
        args: &[&str],
        env: &[(String, String)],
        addr: std::net::SocketAddr,
    ) -> Result<Proc, String> {
        Proc::start(
            Launch {
                name,
                program,
                args,
                env,
                log: self.dir.join(format!("{name}.log")),
                addr,
            },
            READY_WITHIN,
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// Starts `onbehalf <role>` and records its start-up time and idle memory.
    async fn start_role(
        &mut self,
        scenario: &str,
        role: &str,
        backing: &Backing,
    ) -> Result<Proc, String> {
        let addr = procs::free_addr().map_err(|e| e.to_string())?;
        let env = self.env(backing, addr);
        let name = format!("{}-{role}", backing.prefix);
        let bin = self.bin.clone();
        let proc = self.start(&name, &bin, &[role], &env, addr).await?;
        self.table.add(
            scenario,
            &format!("`{role}` ready after start"),
            Ok(proc.ready_after.as_secs_f64() * 1000.0),
            "ms",
            Some(Target::Below(200.0)),
        );
        Ok(proc)
    }

    fn cpu(&self, procs: &[(&str, Proc)]) -> HashMap<u32, (String, f64)> {
        let pids: Vec<(&str, u32)> = procs.iter().map(|(r, p)| (*r, p.pid())).collect();
        procs::cpu_by_pid(&pids)
    }

    /// CPU time per event of each role between two snapshots around the backlog: where the
    /// two cores went, and so what bounds the rate (the roles' sum over 2 cores is the ceiling).
    fn cpu_per_event(
        &mut self,
        scenario: &str,
        before: &HashMap<u32, (String, f64)>,
        after: &HashMap<u32, (String, f64)>,
    ) {
        let events = self.burst as f64;
        let mut roles: Vec<(String, f64)> = procs::cpu_spent(before, after)
            .into_iter()
            .filter(|(_, spent)| *spent > 0.0)
            .collect();
        roles.sort_by(|a, b| b.1.total_cmp(&a.1));
        let total: f64 = roles.iter().map(|(_, t)| t).sum();
        for (role, spent) in roles {
            let figure = format!("CPU per event emptying the backlog: {role}");
            self.table
                .add(scenario, &figure, Ok(spent / events * 1e6), "µs", None);
        }
        let figure = "CPU per event emptying the backlog: all of the above";
        self.table
            .add(scenario, figure, Ok(total / events * 1e6), "µs", None);
    }

    fn idle_rss(&mut self, scenario: &str, procs: &[(&str, &Proc)]) {
        for (role, proc) in procs {
            let rss = procs::rss_kib(proc.pid())
                .map(kib_to_mib)
                .ok_or("no /proc".to_string());
            self.table.add(
                scenario,
                &format!("`{role}` RSS idle"),
                rss,
                "MiB",
                Some(Target::Below(40.0)),
            );
        }
    }

    fn peak_rss(&mut self, scenario: &str, procs: &[(&str, &Proc)], peaks: RssPeaks) {
        let peaks = peaks.finish();
        for (role, proc) in procs {
            let rss = peaks
                .get(&proc.pid())
                .map(|&k| kib_to_mib(k))
                .ok_or("not sampled".to_string());
            self.table.add(
                scenario,
                &format!("`{role}` RSS peak under load"),
                rss,
                "MiB",
                Some(Target::Below(120.0)),
            );
        }
    }

    async fn throughput(&self, url: String) -> Result<LoadReport, String> {
        let report = load::run(LoadSpec {
            url,
            secret: SECRET.into(),
            concurrency: self.args.concurrency,
            duration: Some(self.duration),
            warmup: self.warmup,
            rate: None,
            kind: Kind::Created,
            total_events: None,
            record_sends: false,
        })
        .await
        .map_err(|e| e.to_string())?;
        eprintln!("  {}", report.summary());
        Ok(report)
    }

    fn throughput_rows(
        &mut self,
        scenario: &str,
        who: &str,
        report: &Result<LoadReport, String>,
        target: Option<Target>,
    ) {
        let conns = self.args.concurrency;
        let get = |f: &dyn Fn(&LoadReport) -> f64| report.as_ref().map(f).map_err(Clone::clone);
        self.table.add(
            scenario,
            &format!("{who} accepted/s, {conns} conns"),
            get(&|r| r.ok_rps()),
            "req/s",
            target,
        );
        for (q, name) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
            self.table.add(
                scenario,
                &format!("{who} latency {name}"),
                get(&|r| r.ms(q)),
                "ms",
                None,
            );
        }
        self.table.add(
            scenario,
            &format!("{who} failed requests"),
            get(&|r| r.failures() as f64),
            "",
            Some(Target::AtMost(0.0)),
        );
    }

    /// (b) and the in-process end to end: `serve` on the embedded queue.
    async fn serve(&mut self) {
        let scenario = "serve (embedded queue, SQLite)";
        eprintln!("== {scenario}");
        let backing = self.backing("serve", "embedded", Database::Sqlite).await;
        let proc = match self.start_role(scenario, "serve", &backing).await {
            Ok(p) => p,
            Err(e) => {
                self.table.add(scenario, "`serve`", Err(e), "", None);
                return;
            }
        };
        tokio::time::sleep(secs(1)).await;
        self.idle_rss(scenario, &[("serve", &proc)]);
        let peaks = RssPeaks::start(vec![proc.pid()]);
        let report = self.throughput(proc.url("/webhooks/zendesk")).await;
        self.throughput_rows(scenario, "durable", &report, Some(Target::AtLeast(5000.0)));
        self.peak_rss(scenario, &[("serve", &proc)], peaks);
        proc.stop(STOP_GRACE).await;
        self.release(backing).await;
        // A fresh instance for the end-to-end figures: the backlog of the throughput run
        // would otherwise sit in front of the burst.
        let backing = self
            .backing("serve-e2e", "embedded", Database::Sqlite)
            .await;
        match self.start_role(scenario, "serve", &backing).await {
            Ok(proc) => {
                let peaks = RssPeaks::start(vec![proc.pid()]);
                self.end_to_end(scenario, &proc.url("/webhooks/zendesk"), None)
                    .await;
                self.peak_rss(scenario, &[("serve", &proc)], peaks);
                proc.stop(STOP_GRACE).await;
            }
            Err(e) => self.table.add(scenario, "end to end", Err(e), "", None),
        }
        self.release(backing).await;
    }

    /// The console over 100k tickets and trail records, on SQLite and on PostgreSQL.
    async fn console(&mut self) {
        // `--database sqlite`: no PostgreSQL run here either.
        let databases = match self.args.database {
            Database::Sqlite => vec![Database::Sqlite],
            Database::Postgres => vec![Database::Sqlite, Database::Postgres],
        };
        for database in databases {
            let backing = self.backing("console", "embedded", database).await;
            let scenario = if backing.pg_name.is_some() {
                "console (100k tickets, PostgreSQL)"
            } else if database == Database::Postgres {
                // `backing` fell back to SQLite: that run is the one before.
                self.release(backing).await;
                continue;
            } else {
                "console (100k tickets, SQLite)"
            };
            crate::console::run(
                &mut self.table,
                scenario,
                &self.bin,
                &backing.data_dir,
                &backing.database_url,
            )
            .await;
            self.release(backing).await;
            let _ = std::fs::remove_dir_all(self.dir.join("console"));
        }
    }

    /// (a): the reference receiver, then `onbehalf receive`, same load, same broker.
    async fn receive_vs_reference(&mut self, amqp: Result<(), String>) {
        let scenario = "receive vs reference (RabbitMQ)";
        eprintln!("== {scenario}");
        if let Err(why) = amqp {
            for who in ["reference", "`receive`"] {
                self.table.add(
                    scenario,
                    &format!("{who} accepted/s"),
                    Err(why.clone()),
                    "req/s",
                    None,
                );
            }
            return;
        }
        let reference = self.run_reference(scenario).await;
        let backing = self
            .backing("receive", &self.args.amqp.clone(), self.args.database)
            .await;
        let receive = match self.start_role(scenario, "receive", &backing).await {
            Ok(proc) => {
                tokio::time::sleep(secs(1)).await;
                self.idle_rss(scenario, &[("receive", &proc)]);
                let peaks = RssPeaks::start(vec![proc.pid()]);
                let report = self.throughput(proc.url("/webhooks/zendesk")).await;
                self.peak_rss(scenario, &[("receive", &proc)], peaks);
                proc.stop(STOP_GRACE).await;
                report
            }
            Err(e) => Err(e),
        };
        self.release(backing).await;
        if let Err(e) = &receive {
            self.table
                .add(scenario, "`receive`", Err(e.clone()), "", None);
            return;
        }
        self.throughput_rows(scenario, "`receive`", &receive, None);
        let ratio = |f: fn(&LoadReport) -> f64| match (&receive, &reference) {
            (Ok(ours), Ok(theirs)) => Ok(f(ours) / f(theirs).max(1e-9)),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
        self.table.add(
            scenario,
            "`receive` / reference, accepted/s",
            ratio(|r| r.ok_rps()),
            "×",
            Some(Target::AtLeast(0.70)),
        );
        self.table.add(
            scenario,
            "`receive` / reference, p90",
            ratio(|r| r.ms(0.9)),
            "×",
            Some(Target::AtMost(2.0)),
        );
    }

    async fn run_reference(&mut self, scenario: &str) -> Result<LoadReport, String> {
        let addr = procs::free_addr().map_err(|e| e.to_string())?;
        let queue = format!("{}-reference", self.run_id);
        let (listen, amqp) = (addr.to_string(), self.args.amqp.clone());
        let args = [
            "reference",
            "--listen",
            &listen,
            "--amqp",
            &amqp,
            "--queue",
            &queue,
            "--secret",
            SECRET,
        ];
        let me = self.me.clone();
        let report = match self.start("reference", &me, &args, &[], addr).await {
            Ok(proc) => {
                let report = self.throughput(proc.url("/webhooks/zendesk")).await;
                proc.stop(STOP_GRACE).await;
                report
            }
            Err(e) => Err(e),
        };
        self.throughput_rows(scenario, "reference", &report, None);
        report
    }

    /// (c): `receive` + 2 × `work` on RabbitMQ, notes to the fake Zendesk.
    async fn receive_and_workers(&mut self, amqp: Result<(), String>) {
        let scenario = "receive + 2 work (RabbitMQ)";
        eprintln!("== {scenario}");
        if let Err(why) = amqp {
            self.table.add(
                scenario,
                "events/s through workers",
                Err(why),
                "events/s",
                None,
            );
            return;
        }
        let backing = self
            .backing("e2e", &self.args.amqp.clone(), self.args.database)
            .await;
        let mut procs: Vec<(&str, Proc)> = vec![];
        // Started once to be measured idle, then again after a backlog has queued up (the
        // workers' own capacity, without the receiver and load generator beside them).
        let mut drained = None;
        let mut cpu_before = None;
        for round in ["idle", "backlog"] {
            if round == "backlog" {
                for (_, p) in procs.drain(1..) {
                    p.stop(STOP_GRACE).await;
                }
                let url = procs[0].1.url("/webhooks/zendesk");
                drained = Some((self.send_burst(&url, "backlog").await, Instant::now()));
            }
            let roles: &[&str] = if procs.is_empty() {
                &["receive", "work", "work"]
            } else {
                &["work", "work"]
            };
            if round == "backlog" {
                cpu_before = Some(self.cpu(&procs));
            }
            for &role in roles {
                match self.start_role(scenario, role, &backing).await {
                    Ok(p) => procs.push((role, p)),
                    Err(e) => {
                        self.table.add(
                            scenario,
                            "events/s through workers",
                            Err(e),
                            "events/s",
                            None,
                        );
                        for (_, p) in procs {
                            p.stop(STOP_GRACE).await;
                        }
                        self.release(backing).await;
                        return;
                    }
                }
            }
            if round == "idle" {
                tokio::time::sleep(secs(1)).await;
                let named: Vec<(&str, &Proc)> = procs.iter().map(|(r, p)| (*r, p)).collect();
                self.idle_rss(scenario, &named[..2]);
            }
        }
        let peaks = RssPeaks::start(procs.iter().map(|(_, p)| p.pid()).collect());
        let drain_rate = match drained {
            Some((Ok((tickets, baseline)), started)) => {
                self.all_noted(&tickets, baseline, started).await
            }
            Some((Err(e), _)) => Err(e),
            None => Err("no backlog sent".into()),
        };
        let emptied = drain_rate.is_ok();
        self.table.add(
            scenario,
            &format!("2 `work` emptying a backlog of {}", self.burst),
            drain_rate,
            "events/s",
            Some(Target::AtLeast(2000.0)),
        );
        if let (Some(before), true) = (cpu_before, emptied) {
            self.cpu_per_event(scenario, &before, &self.cpu(&procs));
        }
        let url = procs[0].1.url("/webhooks/zendesk");
        self.end_to_end(scenario, &url, None).await;
        let named: Vec<(&str, &Proc)> = procs.iter().map(|(r, p)| (*r, p)).collect();
        self.peak_rss(scenario, &named[..2], peaks);
        for (_, p) in procs {
            p.stop(STOP_GRACE).await;
        }
        self.release(backing).await;
    }

    /// A burst for throughput through the workers, then a steady rate for webhook → note.
    async fn end_to_end(&mut self, scenario: &str, url: &str, burst_target: Option<Target>) {
        let burst = self.burst(url).await;
        self.table.add(
            scenario,
            &format!("events/s, {} sent while receive and work run", self.burst),
            burst,
            "events/s",
            burst_target,
        );
        match self.steady(url).await {
            Ok(latency) => {
                for (q, name) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
                    let target = (name == "p99").then_some(Target::Below(50.0));
                    let ms = latency.value_at_quantile(q) as f64 / 1000.0;
                    let figure = format!("webhook → note {name} at {:.0}/s", self.args.steady_rate);
                    self.table.add(scenario, &figure, Ok(ms), "ms", target);
                }
            }
            Err(e) => self
                .table
                .add(scenario, "webhook → note latency", Err(e), "ms", None),
        }
    }

    /// Sends the `burst` events; returns their tickets and the fake's ticket count before them.
    async fn send_burst(&self, url: &str, what: &str) -> Result<(Vec<u64>, usize), String> {
        let baseline = self.fake.ticket_count();
        let started = Instant::now();
        let report = load::run(LoadSpec {
            url: url.into(),
            secret: SECRET.into(),
            concurrency: self.args.concurrency,
            duration: None,
            warmup: Duration::ZERO,
            rate: None,
            kind: Kind::Created,
            total_events: Some(self.burst),
            record_sends: false,
        })
        .await
        .map_err(|e| e.to_string())?;
        eprintln!(
            "  {what} sent in {:.1}s: {}",
            started.elapsed().as_secs_f64(),
            report.summary()
        );
        if report.failures() > 0 {
            return Err(format!("{} webhooks refused", report.failures()));
        }
        Ok((report.tickets, baseline))
    }

    /// Events per second from the first webhook of the burst to the last note on the fake.
    async fn burst(&self, url: &str) -> Result<f64, String> {
        let started = Instant::now();
        let (tickets, baseline) = self.send_burst(url, "burst").await?;
        self.all_noted(&tickets, baseline, started).await
    }

    /// Notes per second since `started`, once every ticket has one.
    async fn all_noted(
        &self,
        tickets: &[u64],
        baseline: usize,
        started: Instant,
    ) -> Result<f64, String> {
        let limit = secs(60).max(Duration::from_secs(self.burst / 200));
        let done = self.wait_for_notes(tickets, baseline, limit).await;
        let elapsed = started.elapsed().as_secs_f64();
        if done < tickets.len() {
            return Err(format!(
                "{done} of {} notes after {elapsed:.0}s",
                tickets.len()
            ));
        }
        Ok(done as f64 / elapsed)
    }

    /// Webhook sent → first note on the fake, per ticket, at a fixed rate.
    async fn steady(&self, url: &str) -> Result<Histogram<u64>, String> {
        // The burst before this run leaves hundreds of MiB of dirty pages (database heap and
        // WAL, broker segments). The kernel writes them back ~30 s later, in the middle of
        // this run, and every fsync of the broker and the database then waits 100-300 ms
        // behind them: one such stall is the whole p99. Flushing them first measures the
        // steady rate, not the burst's writeback.
        let flushed = tokio::process::Command::new("sync").status().await;
        if !flushed.is_ok_and(|s| s.success()) {
            eprintln!("  could not flush dirty pages before the steady run (`sync`)");
        }
        let baseline = self.fake.ticket_count();
        let report = load::run(LoadSpec {
            url: url.into(),
            secret: SECRET.into(),
            concurrency: self.args.concurrency,
            duration: Some(self.steady),
            warmup: secs(1),
            rate: Some(self.args.steady_rate),
            kind: Kind::Created,
            total_events: None,
            record_sends: true,
        })
        .await
        .map_err(|e| e.to_string())?;
        eprintln!("  steady: {}", report.summary());
        self.wait_for_notes(&report.tickets, baseline, secs(30))
            .await;
        let mut latency =
            Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).map_err(|e| e.to_string())?;
        let mut missing = 0;
        for (ticket, sent) in &report.sends {
            match self.fake.first_note_at(ticket) {
                Some(arrived) => latency.saturating_record(arrived.saturating_sub(*sent).max(1)),
                None => missing += 1,
            }
        }
        if missing > 0 || latency.is_empty() {
            return Err(format!(
                "{missing} of {} tickets got no note",
                report.sends.len()
            ));
        }
        Ok(latency)
    }

    /// Waits until every ticket has a note, as long as notes keep arriving (gives up after
    /// `STALL` without a new one, or after `limit`); returns how many have one. `baseline` is
    /// the fake's ticket count before these tickets were sent: until the count has grown by
    /// enough, the costly check of every ticket is skipped, so waiting does not steal CPU
    /// from the processes being measured.
    async fn wait_for_notes(&self, tickets: &[u64], baseline: usize, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        let mut seen = self.fake.ticket_count();
        let mut progress_at = Instant::now();
        loop {
            let count = self.fake.ticket_count();
            if count > seen {
                (seen, progress_at) = (count, Instant::now());
            }
            let grown = count.saturating_sub(baseline) >= tickets.len();
            let give_up = Instant::now() > deadline || progress_at.elapsed() > STALL;
            if grown || give_up {
                let done = self.fake.tickets_with_notes(tickets);
                if done >= tickets.len() || give_up {
                    return done;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
