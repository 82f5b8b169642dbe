//! `tamperwatch check`: are the security services on, in every account and region? With
//! `--fix`, put them back.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anstyle::{AnsiColor, Style};
use anyhow::Context;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use clap::Args;
use serde_json::json;
use tamperwatch_posture::accounts::{self, Account, AccountAccess};
use tamperwatch_posture::fix::{self, PlannedFix};
use tamperwatch_posture::{CheckOptions, CheckResult, Deployment, Status, check_accounts};

use crate::cli::Format;
use crate::output::for_terminal;

/// `tamperwatch check`.
///
/// Exit codes: 0 every check passed (warnings and not-applicable included), 1 at least one
/// check failed, 2 the check could not run, or some checks could not be made (access denied,
/// unsupported) and none failed.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// `all` (every region enabled for the account, from ec2:DescribeRegions) or a
    /// comma-separated list.
    #[arg(
        long,
        value_name = "all|LIST",
        value_delimiter = ',',
        default_value = "all"
    )]
    pub regions: Vec<String>,
    /// Check these accounts (comma-separated ids) by assuming --role-name in each.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        requires = "role_name",
        conflicts_with = "organization"
    )]
    pub accounts: Vec<String>,
    /// Check every active account of the organization (organizations:ListAccounts), by assuming
    /// --role-name in each.
    #[arg(long, requires = "role_name")]
    pub organization: bool,
    /// The role to assume in each account (`arn:aws:iam::ACCOUNT:role/NAME`).
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Turn back on what tamperwatch can (StartLogging, GuardDuty detector, Config recorder,
    /// Security Hub, Inspector, Macie, Access Analyzer), then check again.
    #[arg(long)]
    pub fix: bool,
    /// With --fix: show what would change, change nothing.
    #[arg(long, requires = "fix")]
    pub dry_run: bool,
    /// How many account-regions are checked at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// Attempts per AWS call (throttling and transient errors are retried with backoff).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 5,
        env = "TAMPERWATCH_MAX_ATTEMPTS"
    )]
    pub max_attempts: u32,
    /// tamperwatch's EventBridge rule, checked in every region.
    #[arg(long, value_name = "NAME", env = "TAMPERWATCH_RULE_NAME")]
    pub tamperwatch_rule: Option<String>,
    /// Name prefix of tamperwatch's EventBridge rules, as the templates create them
    /// (`tamperwatch-`: `tamperwatch-cloudtrail-N` in the home region, `tamperwatch-forward-N`
    /// in the others): each region needs at least one, each enabled and targeted.
    #[arg(
        long,
        value_name = "PREFIX",
        env = "TAMPERWATCH_RULE_PREFIX",
        conflicts_with = "tamperwatch_rule"
    )]
    pub tamperwatch_rule_prefix: Option<String>,
    /// tamperwatch's alert topic ARN: every subscription must be confirmed.
    #[arg(long, value_name = "ARN", env = "TAMPERWATCH_TOPIC_ARN")]
    pub tamperwatch_topic: Option<String>,
    /// tamperwatch's dead-letter queue, by ARN or by name in the home region
    /// (`tamperwatch-events-dlq`): it must be empty.
    #[arg(long, value_name = "ARN|NAME", env = "TAMPERWATCH_DLQ_ARN")]
    pub tamperwatch_dlq: Option<String>,
    /// tamperwatch's Lambda function name: no errors in the last 24 hours, in every region.
    #[arg(long, value_name = "NAME", env = "TAMPERWATCH_FUNCTION_NAME")]
    pub tamperwatch_function: Option<String>,
    /// No summary line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `tamperwatch check`.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let sdk = load_sdk(args.max_attempts).await;
    let (accounts, mut unreachable) = resolve_accounts(&sdk, args).await?;
    let regions = if args.regions.iter().any(|r| r == "all") {
        accounts::enabled_regions(&sdk).await?
    } else {
        args.regions.clone()
    };
    let options = CheckOptions {
        regions,
        concurrency: args.concurrency,
        deployment: Deployment {
            rule_name: args.tamperwatch_rule.clone(),
            rule_prefix: args.tamperwatch_rule_prefix.clone(),
            topic_arn: args.tamperwatch_topic.clone(),
            dlq_arn: args.tamperwatch_dlq.clone(),
            function_name: args.tamperwatch_function.clone(),
        },
    };
    let mut results = check_accounts(&accounts, &options).await;
    let mut fixes = Vec::new();
    if args.fix {
        let planned = fix::plan(&results);
        if args.dry_run {
            fixes = planned
                .into_iter()
                .map(|f| (f, FixOutcome::WouldApply))
                .collect();
        } else if !planned.is_empty() {
            for planned_fix in planned {
                let outcome = match accounts.iter().find(|a| a.id == planned_fix.account) {
                    None => FixOutcome::Failed("no credentials for the account".to_owned()),
                    Some(account) => match fix::apply(&account.sdk, &planned_fix).await {
                        Ok(()) => FixOutcome::Applied,
                        Err(error) => FixOutcome::Failed(error.cause.to_string()),
                    },
                };
                fixes.push((planned_fix, outcome));
            }
            // What the fixes achieved: the same checks again.
            results = check_accounts(&accounts, &options).await;
        }
    }
    results.append(&mut unreachable);
    print(&results, &fixes, args.format, args.fix)?;
    if !args.quiet {
        anstream::eprintln!(
            "{}",
            summary_line(
                &results,
                accounts.len(),
                options.regions.len(),
                started.elapsed()
            )
        );
    }
    Ok(exit_code(&results))
}

/// Configuration from the environment (credentials, profile, `AWS_ENDPOINT_URL`), us-east-1
/// when no region is set, standard retries (throttling backs off) and bounded timeouts.
pub(crate) async fn load_sdk(max_attempts: u32) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(RegionProviderChain::default_provider().or_else("us-east-1"))
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        )
        .load()
        .await
}

async fn resolve_accounts(
    sdk: &SdkConfig,
    args: &CheckArgs,
) -> anyhow::Result<(Vec<Account>, Vec<CheckResult>)> {
    let current = accounts::current(sdk).await?;
    let ids = if args.organization {
        accounts::organization(sdk).await?
    } else if !args.accounts.is_empty() {
        args.accounts.clone()
    } else {
        return Ok((vec![current], Vec::new()));
    };
    let role = args
        .role_name
        .as_deref()
        .context("--role-name is required with --accounts and --organization")?;
    let mut ready = Vec::new();
    let mut unreachable = Vec::new();
    for access in accounts::assume(sdk, &current.id, &ids, role).await {
        match access {
            AccountAccess::Ready(account) => ready.push(*account),
            other => unreachable.extend(other.unreachable_result()),
        }
    }
    Ok((ready, unreachable))
}

enum FixOutcome {
    WouldApply,
    Applied,
    Failed(String),
}

impl FixOutcome {
    fn as_str(&self) -> &str {
        match self {
            FixOutcome::WouldApply => "would_apply",
            FixOutcome::Applied => "applied",
            FixOutcome::Failed(_) => "failed",
        }
    }
}

fn print(
    results: &[CheckResult],
    fixes: &[(PlannedFix, FixOutcome)],
    format: Format,
    fix_requested: bool,
) -> anyhow::Result<()> {
    let stdout = anstream::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Json => {
            let fixes: Vec<_> = fixes
                .iter()
                .map(|(fix, outcome)| {
                    let error = match outcome {
                        FixOutcome::Failed(e) => Some(e.as_str()),
                        _ => None,
                    };
                    json!({
                        "account": fix.account,
                        "region": fix.region,
                        "action": fix.action,
                        "description": fix.action.to_string(),
                        "outcome": outcome.as_str(),
                        "error": error,
                    })
                })
                .collect();
            let mut doc = json!({ "results": results, "summary": counts(results) });
            if fix_requested {
                doc["fixes"] = json!(fixes);
            }
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for result in results {
                serde_json::to_writer(&mut out, result)?;
                writeln!(out)?;
            }
            print_fixes(&mut anstream::stderr().lock(), fixes)?;
        }
        Format::Table => {
            write_table(&mut out, results)?;
            print_fixes(&mut out, fixes)?;
        }
    }
    Ok(())
}

fn print_fixes(out: &mut impl Write, fixes: &[(PlannedFix, FixOutcome)]) -> std::io::Result<()> {
    if fixes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    for (fix, outcome) in fixes {
        let text = for_terminal(&fix.to_string());
        match outcome {
            FixOutcome::WouldApply => writeln!(out, "would fix: {text}")?,
            FixOutcome::Applied => writeln!(out, "fixed: {text}")?,
            FixOutcome::Failed(e) => writeln!(out, "could not fix: {text}: {}", for_terminal(e))?,
        }
    }
    Ok(())
}

fn status_style(status: Status) -> Style {
    match status {
        Status::Pass => Style::new().fg_color(Some(AnsiColor::Green.into())),
        Status::Fail => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
        Status::Warn => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Status::NotApplicable => Style::new().dimmed(),
        Status::CouldNotCheck => Style::new().fg_color(Some(AnsiColor::Magenta.into())),
    }
}

const COLUMNS: [&str; 6] = ["STATUS", "ACCOUNT", "REGION", "SERVICE", "CHECK", "REASON"];

/// One row per check; under each failure or warning, its fix. Text from AWS (trail names,
/// error messages) is escaped for the terminal.
fn write_table(out: &mut impl Write, results: &[CheckResult]) -> std::io::Result<()> {
    let rows: Vec<[String; 6]> = results
        .iter()
        .map(|r| {
            let reason = match &r.resource {
                Some(resource) => format!("{} ({})", r.reason, resource),
                None => r.reason.clone(),
            };
            [
                r.status.as_str().to_owned(),
                for_terminal(&r.account),
                for_terminal(&r.region),
                r.service.as_str().to_owned(),
                for_terminal(&r.check),
                for_terminal(&reason),
            ]
        })
        .collect();
    let mut widths = COLUMNS.map(|c| c.chars().count());
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row).take(5) {
            *w = (*w).max(c.chars().count());
        }
    }
    let header = Style::new().bold();
    let line: Vec<String> = COLUMNS
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    writeln!(out, "{header}{}{header:#}", line.join("  ").trim_end())?;
    for (result, row) in results.iter().zip(&rows) {
        let style = status_style(result.status);
        let mut cells = Vec::with_capacity(row.len());
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            let pad = if i == 5 {
                0
            } else {
                w.saturating_sub(c.chars().count())
            };
            let text = if i == 0 {
                format!("{style}{c}{style:#}")
            } else {
                c.clone()
            };
            cells.push(format!("{text}{}", " ".repeat(pad)));
        }
        writeln!(out, "{}", cells.join("  ").trim_end())?;
        if matches!(
            result.status,
            Status::Fail | Status::Warn | Status::CouldNotCheck
        ) && let Some(fix) = &result.fix
        {
            writeln!(
                out,
                "{:indent$}fix: {}",
                "",
                for_terminal(fix),
                indent = widths[0] + 2
            )?;
        }
    }
    Ok(())
}

fn counts(results: &[CheckResult]) -> serde_json::Value {
    let n = |s: Status| results.iter().filter(|r| r.status == s).count();
    json!({
        "checks": results.len(),
        "pass": n(Status::Pass),
        "fail": n(Status::Fail),
        "warn": n(Status::Warn),
        "not_applicable": n(Status::NotApplicable),
        "could_not_check": n(Status::CouldNotCheck),
    })
}

/// `checked 1 account, 17 regions in 2.31 s: 250 checks, 240 pass, 3 fail, ...`
fn summary_line(
    results: &[CheckResult],
    accounts: usize,
    regions: usize,
    elapsed: Duration,
) -> String {
    let n = |s: Status| results.iter().filter(|r| r.status == s).count();
    format!(
        "checked {accounts} account{}, {regions} region{} in {:.2} s: {} checks, {} pass, {} fail, \
         {} warn, {} not applicable, {} could not check",
        if accounts == 1 { "" } else { "s" },
        if regions == 1 { "" } else { "s" },
        elapsed.as_secs_f64(),
        results.len(),
        n(Status::Pass),
        n(Status::Fail),
        n(Status::Warn),
        n(Status::NotApplicable),
        n(Status::CouldNotCheck),
    )
}

/// 1 when any check failed; else 2 when any could not be made; else 0.
fn exit_code(results: &[CheckResult]) -> ExitCode {
    if results.iter().any(|r| r.status == Status::Fail) {
        ExitCode::from(1)
    } else if results.iter().any(|r| r.status == Status::CouldNotCheck) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
