//! The `onbehalf` command line: parses arguments, loads configuration and hands over to the
//! library. Nothing here decides anything.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

use onbehalf::app::{self, Application, Role};
use onbehalf::cli::audit::{AuditCommand, Outcome};
use onbehalf::cli::dead_letters::DeadLetterCommand;
use onbehalf::cli::notes::NotesArgs;
use onbehalf::config::Config;

/// jemalloc rather than the system allocator: the worker allocates and frees many short-lived
/// buffers per event (JSON, SQL arguments, HTTP requests) and spends ~6% less CPU per event
/// with it in the bench, for ~3 MiB more resident memory.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Keeps a support team's "actions on a customer's account" workflow on track: reads signed
/// helpdesk webhooks, posts internal notes with the next step, and records every permission a
/// customer gave or refused in a tamper-evident trail.
///
/// Configuration comes from ONBEHALF_* environment variables (`onbehalf check-config --help`
/// lists them)
/// over an optional TOML file.
#[derive(Parser)]
#[command(name = "onbehalf", version, about, long_about)]
struct Cli {
    /// TOML configuration file (keys as the ONBEHALF_* variables, lower case, no prefix).
    #[arg(long, global = true, env = "ONBEHALF_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receiver and workers in one process (one machine; embedded queue by default).
    Serve,
    /// HTTP receiver only: verifies webhooks and queues them (needs ONBEHALF_QUEUE_URL=amqp://…).
    Receive,
    /// Workers only: consume events, post notes, record confirmations (needs a shared queue).
    Work,
    /// Classify tickets: JSON Lines on stdin ({"id","subject","description","tags"}), one
    /// category line per ticket on stdout (`--help` for the fields and categories).
    #[command(after_long_help = onbehalf::cli::classify::long_help())]
    Classify,
    /// Judge replies to permission questions: JSON Lines on stdin ({"id","requester_id",
    /// "request","reply":{"author_id","public","body"}}), one verdict line per case on stdout
    /// (`--help` for every field and the verdicts).
    #[command(after_long_help = onbehalf::cli::consent::long_help())]
    Consent,
    /// The confirmation trail: verify it, print its head, export it.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print the effective configuration (secrets masked) and exit non-zero if it is invalid;
    /// `--help` lists every key with its default and meaning.
    #[command(after_long_help = onbehalf::config::key_reference())]
    CheckConfig,
    /// One reconciliation pass by hand: sync every ticket Zendesk's incremental export lists
    /// as updated since then (notes and trail records as its webhooks would have given).
    Reconcile {
        /// RFC 3339, e.g. 2025-01-08T00:00:00Z.
        #[arg(long, value_name = "RFC3339")]
        since: String,
    },
    /// Zendesk connection: check the receiver end to end.
    Zendesk {
        #[command(subcommand)]
        command: ZendeskCommand,
    },
    /// Inspect and re-queue dead-lettered events (through the running server's API when it
    /// holds the embedded queue).
    DeadLetters {
        #[command(subcommand)]
        command: DeadLetterCommand,
    },
    /// Print the notes recorded across tickets since a time (shadow mode: what would have been
    /// posted), as plain text; read from the database, the server may be running.
    Notes(NotesArgs),
}

#[derive(Subcommand)]
enum ZendeskCommand {
    /// Sign a harmless event (a ticket.priority_changed, which onbehalf ignores) with the
    /// configured signing secret, send it to the receiver and report what came back. Exit 0
    /// when the receiver accepted it, 1 when it refused it or did not answer.
    ///
    /// Zendesk's own "Test webhook" button signs with Zendesk's public test secret, which
    /// onbehalf refuses (401 `test_secret`): anyone could sign with it.
    Check {
        /// The receiver's webhook URL as Zendesk calls it (default: this configuration's
        /// listener, http://<listen>/webhooks/zendesk).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

fn main() -> ExitCode {
    match run_cli(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            // One readable line (with its causes) rather than a debug dump.
            eprintln!("onbehalf: {}", one_line(&e));
            ExitCode::from(2)
        }
    }
}

fn run_cli(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Classify => {
            let classifier = match Config::load(cli.config.as_deref()) {
                Ok(config) => app::workflow_settings(&config)?.classifier,
                Err(_) => onbehalf::workflow::classify::Classifier::builtin(),
            };
            let bad = onbehalf::cli::classify::run(
                &classifier,
                BufReader::new(std::io::stdin().lock()),
                BufWriter::new(std::io::stdout().lock()),
                std::io::stderr().lock(),
            )
            .context("classify")?;
            Ok(exit_for(bad))
        }
        Command::Consent => {
            let bad = onbehalf::cli::consent::run(
                BufReader::new(std::io::stdin().lock()),
                BufWriter::new(std::io::stdout().lock()),
                std::io::stderr().lock(),
            )
            .context("consent")?;
            Ok(exit_for(bad))
        }
        command => {
            let config = Config::load(cli.config.as_deref())?;
            onbehalf::telemetry::init_logging(config.log_format);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(run(command, config))
        }
    }
}

/// The error and its causes joined by ": ", each said once: an error whose message already
/// quotes its cause (`#[error("queue: {0}")]` over a `#[source]`) does not repeat it.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn exit_for(malformed_lines: u64) -> ExitCode {
    if malformed_lines == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    let role = match command {
        Command::Serve => Role::Serve,
        Command::Receive => Role::Receive,
        Command::Work => Role::Work,
        Command::CheckConfig => {
            // TOML comments: the output stays a valid configuration file.
            for report in app::note_modes(&config) {
                println!(
                    "# {} notes: {} mode ({})",
                    report.helpdesk,
                    report.mode.as_str(),
                    report.why
                );
            }
            print!("{}", config.masked_toml());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Migrate => {
            let store = app::open_store(&config).await?;
            if let Some(role) = &config.database_app_role {
                store.grant_app_role(role).await?;
                println!("granted {role} the privileges receive and work need");
            }
            store.close().await;
            println!(
                "{} is at the current schema",
                onbehalf::store::database_label(&config.database_url)
            );
            return Ok(ExitCode::SUCCESS);
        }
        Command::Audit { command } => {
            let outcome = onbehalf::cli::audit::run(
                command,
                &config,
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            )
            .await?;
            return Ok(match outcome {
                Outcome::Intact => ExitCode::SUCCESS,
                Outcome::Broken => ExitCode::FAILURE,
            });
        }
        Command::Zendesk {
            command: ZendeskCommand::Check { url },
        } => {
            use onbehalf::cli::zendesk_check;
            let url = url.unwrap_or_else(|| zendesk_check::default_receiver_url(&config));
            let outcome = zendesk_check::run(&config, &url, &mut std::io::stdout()).await?;
            return Ok(match outcome {
                zendesk_check::CheckOutcome::Accepted => ExitCode::SUCCESS,
                zendesk_check::CheckOutcome::Refused => ExitCode::FAILURE,
            });
        }
        Command::DeadLetters { command } => {
            onbehalf::cli::dead_letters::run(
                command,
                &config,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr(),
            )
            .await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Notes(args) => {
            onbehalf::cli::notes::run(
                args,
                &config,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr(),
            )
            .await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Reconcile { since } => {
            let mut out = std::io::stdout();
            let report = onbehalf::cli::reconcile::run(&config, &since, &mut out).await?;
            let failed = report.tickets.iter().any(|t| t.outcome.is_err());
            return Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
        Command::Classify | Command::Consent => bail!("handled before the runtime starts"),
    };
    let started = std::time::Instant::now();
    let application = Application::build(config, role).await?;
    tracing::info!(ready_ms = started.elapsed().as_millis() as u64, "ready");
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    application.run_until_stopped(shutdown).await?;
    tracing::info!("stopped cleanly");
    Ok(ExitCode::SUCCESS)
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: no new work, draining in-flight events");
    shutdown.cancel();
}
