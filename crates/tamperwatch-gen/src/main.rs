//! `tamperwatch-gen`: writes deterministic CloudTrail data for benchmarks, tests and samples.

mod samples;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tamperwatch_gen::{Options, generate};

/// Deterministic CloudTrail data for benchmarks, tests and the bundled samples.
#[derive(Debug, Parser)]
#[command(name = "tamperwatch-gen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a realistic archive (gzipped, in the S3 layout) with a known number of planted
    /// tamper events. Prints a JSON manifest: counts, and each planted event's eventID and file.
    Archive {
        /// Where to write (created if missing).
        #[arg(long, short)]
        out: PathBuf,
        /// Records in all.
        #[arg(long, default_value_t = 10_000)]
        records: u64,
        /// Records per log file.
        #[arg(long, default_value_t = 1_000)]
        records_per_file: u64,
        /// Tamper events to plant.
        #[arg(long, default_value_t = 10)]
        planted: u64,
        /// Account ids, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "111122223333,444455556666"
        )]
        accounts: Vec<String>,
        /// Regions, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "us-east-1,eu-west-1")]
        regions: Vec<String>,
        /// The seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Write the bundled sample logs (samples/): every built-in rule's match test events in
    /// CloudTrail log files among benign records, and as EventBridge events.
    Samples {
        /// Where to write.
        #[arg(long, short, default_value = "samples")]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Archive {
            out,
            records,
            records_per_file,
            planted,
            accounts,
            regions,
            seed,
        } => {
            let opts = Options {
                records,
                records_per_file,
                planted,
                accounts,
                regions,
                seed,
                ..Options::default()
            };
            let m =
                generate(&out, &opts).with_context(|| format!("writing to {}", out.display()))?;
            let planted: Vec<serde_json::Value> = m
                .planted
                .iter()
                .map(|p| serde_json::json!({"eventID": p.event_id, "event": p.event, "file": p.file}))
                .collect();
            let manifest = serde_json::json!({
                "files": m.files, "records": m.records, "bytes": m.bytes,
                "compressedBytes": m.compressed_bytes, "planted": planted,
            });
            println!("{}", serde_json::to_string_pretty(&manifest)?);
        }
        Command::Samples { out } => {
            let (files, records) = samples::write_samples(&out)?;
            eprintln!(
                "wrote {records} records in {files} files under {}",
                out.display()
            );
        }
    }
    Ok(())
}
