//! The `onbehalf` command line: parses arguments, loads configuration and hands over to the
//! library. Nothing here decides anything.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use onbehalf::workflow::classify::Classifier;

#[derive(Parser)]
#[command(name = "onbehalf", version, about, long_about = None)]
struct Cli {
    /// TOML configuration file (keys as the ONBEHALF_* variables, lower case, no prefix).
    #[arg(long, global = true, env = "ONBEHALF_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Classify tickets: JSON Lines on stdin, one verdict line per ticket on stdout.
    Classify,
    /// Judge replies to permission questions: JSON Lines on stdin, one verdict per line out.
    Consent,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Classify => {
            let classifier = Classifier::builtin();
            let bad = onbehalf::cli::classify::run(
                &classifier,
                BufReader::new(std::io::stdin().lock()),
                BufWriter::new(std::io::stdout().lock()),
                std::io::stderr().lock(),
            )
            .context("classify")?;
            Ok(if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Consent => {
            let bad = onbehalf::cli::consent::run(
                BufReader::new(std::io::stdin().lock()),
                BufWriter::new(std::io::stdout().lock()),
                std::io::stderr().lock(),
            )
            .context("consent")?;
            Ok(if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
