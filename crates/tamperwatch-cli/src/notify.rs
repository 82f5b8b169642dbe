//! `tamperwatch notify`: the Lambda's code path ([`tamperwatch_sinks::Pipeline`]) on events from
//! a file or stdin, the `--test` fire drill, and `scan --notify`.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use tamperwatch_alert::Alert;
use tamperwatch_detect::{Detector, Finding};
use tamperwatch_sinks::{
    ChannelOutcome, Config, Delivery, Notifier, Pipeline, Report, env, send_alerts,
};

/// `tamperwatch notify`.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Events to alert on: a file, or `-` for stdin. Any envelope `scan` reads, and the
    /// Lambda's own payloads (an SQS batch, an SNS notification).
    #[arg(value_name = "EVENTS", default_value = "-", conflicts_with = "test")]
    pub events: PathBuf,
    /// A TOML configuration file (default: the one TAMPERWATCH_CONFIG names). Channels given by
    /// TAMPERWATCH_* variables are added to its own.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Send one clearly marked test alert through every configured channel, whatever its
    /// routing: the fire drill after setting up.
    #[arg(long)]
    pub test: bool,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The channels of the configuration (`config`, else `TAMPERWATCH_CONFIG`) and the
/// `TAMPERWATCH_*` variables.
pub async fn notifier(config: Option<&std::path::Path>) -> anyhow::Result<Notifier> {
    let config = Config::load(config, &|name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    })
    .context("reading the alerting configuration")?;
    if config.channels.is_empty() {
        bail!(
            "no alert channel configured: set {} (or another TAMPERWATCH_* channel variable), or give --config FILE",
            env::SNS_TOPIC_ARN
        );
    }
    Notifier::new(config)
        .await
        .context("setting up the alert channels")
}

/// Runs `tamperwatch notify`.
pub fn run(args: &NotifyArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let notifier = notifier(args.config.as_deref()).await?;
        if args.test {
            let now = jiff::Timestamp::now().to_string();
            let alert = Alert::test(notifier.alert_config(), &now);
            let delivery = notifier.deliver(&alert).await;
            report(&delivery);
            return Ok(if delivery.failed() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            });
        }
        let input = read_input(&args.events)?;
        let rules = tamperwatch_catalog::load().context("loading the rule catalog")?;
        let pipeline = Pipeline::new(Detector::new(rules), notifier);
        match pipeline.handle(&input).await {
            Ok(answer) => {
                println!("{answer}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                for d in &e.report.deliveries {
                    report(d);
                }
                bail!("{e}")
            }
        }
    })
}

/// Sends the findings of a scan as the Lambda sends its own: one alert per finding (each
/// event and rule once), grouped and rate limited as the configuration (`config`, else
/// `TAMPERWATCH_CONFIG`) says.
pub fn send_findings<'a, 'r: 'a>(
    findings: impl Iterator<Item = &'a Finding<'r>>,
    config: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let notifier = notifier(config).await?;
        send_findings_with(&notifier, findings).await
    })
}

/// [`send_findings`] through a notifier that lives on (following a queue: its groups and rate
/// limits span the messages).
pub async fn send_findings_with<'a, 'r: 'a>(
    notifier: &Notifier,
    findings: impl Iterator<Item = &'a Finding<'r>>,
) -> anyhow::Result<()> {
    let mut seen = std::collections::HashSet::new();
    let alerts: Vec<Alert> = findings
        .filter(|f| f.rule.generates())
        .map(|f| Alert::from_finding(f, notifier.alert_config()))
        .filter(|a| seen.insert(a.dedup_key()))
        .collect();
    let findings = alerts.len();
    let mut sent = Report::default();
    send_alerts(notifier, alerts, &mut sent).await;
    let failed: Vec<&Delivery> = sent.deliveries.iter().filter(|d| d.failed()).collect();
    for d in &failed {
        report(d);
    }
    let mut line = format!(
        "tamperwatch: notified {findings} finding(s) in {} alert(s)",
        sent.alerts
    );
    if sent.grouped > 0 {
        line.push_str(&format!(
            ", {} folded into their group's alert",
            sent.grouped
        ));
    }
    if sent.storm_summaries > 0 {
        line.push_str(&format!(
            ", {} held by rate limits and named in {} storm summar{}",
            sent.rate_limited,
            sent.storm_summaries,
            if sent.storm_summaries == 1 {
                "y"
            } else {
                "ies"
            }
        ));
    }
    anstream::eprintln!("{line}");
    if !failed.is_empty() {
        bail!("{} alert(s) could not be delivered", failed.len());
    }
    Ok(())
}

fn read_input(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .context("reading stdin")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

/// One line per channel on stderr.
fn report(delivery: &Delivery) {
    for (channel, outcome) in &delivery.channels {
        let line = match outcome {
            ChannelOutcome::Sent { attempts: 1 } => "sent".to_owned(),
            ChannelOutcome::Sent { attempts } => format!("sent after {attempts} attempts"),
            ChannelOutcome::AlreadySent => "already sent earlier".to_owned(),
            ChannelOutcome::NotRouted => "not routed here".to_owned(),
            ChannelOutcome::RateLimited => {
                "held by the rate limit (named in the storm summary)".to_owned()
            }
            ChannelOutcome::Failed {
                error, attempts, ..
            } => format!("FAILED after {attempts} attempt(s): {error}"),
        };
        anstream::eprintln!("{channel}: {line}");
    }
}
