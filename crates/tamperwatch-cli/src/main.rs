//! `tamperwatch`: find tampering with AWS security services in CloudTrail.

mod backfill;
mod check;
mod cli;
mod config_check;
mod explain;
mod export;
mod follow;
mod lint;
mod notify;
mod output;
mod progress;
mod remote;
mod rules;
mod scan;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Rules(command) => rules::run(command),
        Command::Check(args) => check::run(&args),
        Command::Notify(args) => notify::run(&args),
        Command::Backfill(args) => backfill::run(&args),
        Command::Config(cli::ConfigCommand::Check(args)) => config_check::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            anstream::eprintln!("tamperwatch: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
