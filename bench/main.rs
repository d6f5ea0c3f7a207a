//! `onbehalf-bench`: the benchmark that ships with onbehalf. A load generator, a reference
//! receiver to compare against, a fake Zendesk, and `all`, which runs every scenario against
//! the real binary and prints a Markdown table. See bench/README.md.

mod all;
mod console;
mod fake_helpdesk;
mod judge;
mod load;
mod payload;
mod procs;
mod reference;
mod report;

use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "onbehalf-bench",
    about = "Benchmarks onbehalf against a reference receiver"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sends unique signed Zendesk events and reports throughput and latency.
    Load(LoadArgs),
    /// A minimal receiver: verify, parse, publish with confirm to a quorum queue, 202.
    Reference(reference::ReferenceArgs),
    /// A fake Zendesk that takes notes after a delay and reports when they arrived.
    FakeHelpdesk(fake_helpdesk::FakeArgs),
    /// Every scenario against target/production/onbehalf; prints a Markdown table.
    All(all::AllArgs),
    /// Fills the database at --database-url with the console scenario's 100,000 tickets, notes
    /// and trail records, and keeps it (to read query plans against it).
    ConsoleFill {
        #[arg(long)]
        database_url: String,
    },
}

#[derive(clap::Args)]
struct LoadArgs {
    /// The webhook URL, e.g. http://127.0.0.1:8080/webhooks/zendesk
    #[arg(long)]
    url: String,
    /// The Zendesk signing secret the receiver is configured with.
    #[arg(long)]
    secret: String,
    /// Connections (closed loop) or the cap on requests in flight (open loop).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value = "20s", value_parser = load::parse_duration)]
    duration: Duration,
    /// Sent before measuring starts.
    #[arg(long, default_value = "2s", value_parser = load::parse_duration)]
    warmup: Duration,
    /// Open loop at this many events per second (e.g. 200/s) instead of as fast as possible.
    #[arg(long, value_parser = load::parse_rate)]
    rate: Option<f64>,
    #[arg(long, value_enum, default_value_t = payload::Kind::Created)]
    kind: payload::Kind,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Load(args) => {
                let report = load::run(load::LoadSpec {
                    url: args.url,
                    secret: args.secret,
                    concurrency: args.concurrency,
                    duration: Some(args.duration),
                    warmup: args.warmup,
                    rate: args.rate,
                    kind: args.kind,
                    total_events: None,
                    record_sends: false,
                })
                .await?;
                println!("{}", report.summary());
                Ok(())
            }
            Command::Reference(args) => reference::run(args).await,
            Command::FakeHelpdesk(args) => fake_helpdesk::run(args).await,
            Command::All(args) => all::run(args).await,
            Command::ConsoleFill { database_url } => {
                let took = console::fill(&database_url)
                    .await
                    .map_err(anyhow::Error::msg)?;
                eprintln!("filled in {:.0} s", took.as_secs_f64());
                Ok(())
            }
        }
    })
}
