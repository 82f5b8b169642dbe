//! Inputs from AWS for `tamperwatch scan`: S3 archives and LookupEvents.
//!
//! A thread of its own runs the AWS calls (listing, bounded parallel GETs, lookups) on an
//! async runtime and hands each object or page over a bounded channel to the scan's worker
//! threads, which decompress and evaluate it. The channel holds a few inputs per worker, so
//! the fetches stay just ahead of the scan and memory stays flat however large the archive.

use std::collections::BTreeSet;
use std::thread::JoinHandle;

use aws_config::SdkConfig;
use tamperwatch_archive::layout::{Filter, ListError};
use tamperwatch_archive::lookup::{self, Attribute};
use tamperwatch_archive::{Fetched, S3Url, client_for_bucket, fetch_all};
use tamperwatch_detect::Detector;
use tokio::sync::mpsc::{Sender, channel};

use crate::cli::ScanArgs;
use crate::scan::{Input, Job, Sources};

/// How far back LookupEvents reaches.
const LOOKUP_DAYS: i64 = 90;

/// The jobs the AWS thread produces, in the order they arrive.
#[derive(Debug)]
pub struct Remote {
    jobs: tokio::sync::mpsc::Receiver<Job>,
    thread: Option<JoinHandle<()>>,
}

impl Iterator for Remote {
    type Item = Job;

    fn next(&mut self) -> Option<Job> {
        let job = self.jobs.blocking_recv();
        if job.is_none()
            && let Some(thread) = self.thread.take()
        {
            // The thread has dropped its sender: it is done (a panic there would already
            // have been printed; the scan reports what arrived).
            let _ = thread.join();
        }
        job
    }
}

/// What the AWS thread needs, owned.
struct Plan {
    s3: Vec<(usize, S3Url)>,
    lookup: Option<(usize, Vec<Attribute>)>,
    regions: Vec<String>,
    filter: Filter,
    concurrency: usize,
    limit: u64,
    max_attempts: u32,
}

/// Starts reading the AWS sources, if any.
pub fn start(
    args: &ScanArgs,
    sources: &Sources,
    filter: &Filter,
    detector: &Detector,
) -> anyhow::Result<Option<Remote>> {
    if !sources.remote() {
        return Ok(None);
    }
    let plan = Plan {
        s3: sources.s3.clone(),
        lookup: sources
            .lookup
            .then(|| (args.paths.len(), lookup_plan(detector))),
        regions: args.filter.regions.clone(),
        filter: filter.clone(),
        concurrency: args.concurrency.max(1),
        limit: args.max_file_size,
        max_attempts: args.max_attempts,
    };
    let (tx, jobs) = channel(rayon::current_num_threads().max(1) * 2);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name("tamperwatch-aws".into())
        .spawn(move || runtime.block_on(produce(plan, tx)))?;
    Ok(Some(Remote {
        jobs,
        thread: Some(thread),
    }))
}

async fn produce(plan: Plan, tx: Sender<Job>) {
    let sdk = crate::check::load_sdk(plan.max_attempts).await;
    let archives = async {
        for (source, url) in &plan.s3 {
            s3_source(&sdk, *source, url, &plan, &tx).await;
        }
    };
    let lookups = async {
        if let Some((source, attributes)) = &plan.lookup {
            lookup_source(&sdk, *source, attributes, &plan, &tx).await;
        }
    };
    tokio::join!(archives, lookups);
}

fn failed(order: (usize, u64, u64), name: String, message: String) -> Job {
    Job {
        order,
        input: Input::Loaded {
            name,
            bytes: Err(message),
        },
    }
}

async fn s3_source(sdk: &SdkConfig, source: usize, url: &S3Url, plan: &Plan, tx: &Sender<Job>) {
    let client = client_for_bucket(sdk, &url.bucket).await;
    let (fetched_tx, mut fetched) = channel::<Fetched>(plan.concurrency);
    let (errors_tx, mut errors) = channel::<ListError>(16);
    let fetch = async {
        let (fetched_tx, errors_tx) = (fetched_tx, errors_tx);
        fetch_all(
            &client,
            url,
            &plan.filter,
            plan.concurrency,
            plan.limit,
            &fetched_tx,
            &errors_tx,
        )
        .await;
    };
    let objects = async {
        while let Some(f) = fetched.recv().await {
            let job = Job {
                order: (source, f.index, 0),
                input: Input::Download {
                    name: f.object.to_string(),
                    body: f.body,
                },
            };
            if tx.send(job).await.is_err() {
                return;
            }
        }
    };
    let listing_errors = async {
        let mut n = 0;
        while let Some(e) = errors.recv().await {
            let name = format!("s3://{}/{}", e.bucket, e.prefix);
            // After the objects of the same source.
            let _ = tx
                .send(failed((source, u64::MAX, n), name, e.message))
                .await;
            n += 1;
        }
    };
    tokio::join!(fetch, objects, listing_errors);
}

async fn lookup_source(
    sdk: &SdkConfig,
    source: usize,
    attributes: &[Attribute],
    plan: &Plan,
    tx: &Sender<Job>,
) {
    let regions = match lookup_regions(sdk, &plan.regions).await {
        Ok(r) => r,
        Err(message) => {
            let _ = tx
                .send(failed((source, 0, 0), "lookup".into(), message))
                .await;
            return;
        }
    };
    let now = jiff::Timestamp::now();
    let oldest = now
        .checked_sub(jiff::SignedDuration::from_hours(24 * LOOKUP_DAYS))
        .ok();
    let since = plan.filter.since.max(oldest);
    let until = plan.filter.until;
    // Each region has its own LookupEvents rate limit: all at once.
    let per_region = regions.iter().zip(0u64..).map(|(region, r)| async move {
        let client = lookup::client(sdk, region);
        let (pages_tx, mut pages) = channel(4);
        let run = async {
            let pages_tx = pages_tx;
            lookup::lookup(&client, region, attributes, since, until, &pages_tx).await;
        };
        let forward = async {
            let mut n = 0;
            while let Some(page) = pages.recv().await {
                let input = match page {
                    Ok(p) => Input::Loaded {
                        name: p.name,
                        bytes: Ok(p.records.into_bytes()),
                    },
                    Err(e) => Input::Loaded {
                        name: format!("lookup:{region}:{}", e.attribute),
                        bytes: Err(e.message),
                    },
                };
                if tx
                    .send(Job {
                        order: (source, r, n),
                        input,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                n += 1;
            }
        };
        tokio::join!(run, forward);
    });
    futures_util::future::join_all(per_region).await;
}

/// `--regions` for `--lookup`: the list given, every enabled region for `all`, else the
/// configured region.
async fn lookup_regions(sdk: &SdkConfig, regions: &[String]) -> Result<Vec<String>, String> {
    if regions.iter().any(|r| r == "all") {
        return tamperwatch_posture::accounts::enabled_regions(sdk)
            .await
            .map_err(|e| format!("cannot list the enabled regions: {e}"));
    }
    if !regions.is_empty() {
        return Ok(regions.to_vec());
    }
    Ok(vec![
        sdk.region().map_or("us-east-1", |r| r.as_ref()).to_owned(),
    ])
}

/// What to ask LookupEvents for so that every rule can see every event it could match: each
/// event name a rule requires; else each event source; else the root user's events; and
/// everything if some rule constrains none of these. A name is not asked for when every source
/// its rule allows is asked for already (each lookup costs at least one of the two calls a
/// second LookupEvents allows).
pub fn lookup_plan(detector: &Detector) -> Vec<Attribute> {
    let mut names = BTreeSet::new();
    let mut sources = BTreeSet::new();
    let mut root = false;
    let rules = detector.rules().rules();
    for rule in rules {
        if rule.event_names().is_some() {
            continue;
        } else if let Some(s) = rule.event_sources() {
            sources.extend(s);
        } else if rule
            .identity_types()
            .is_some_and(|t| t.iter().all(|t| t.eq_ignore_ascii_case("Root")))
        {
            root = true;
        } else {
            return vec![Attribute::All];
        }
    }
    for rule in rules {
        let Some(n) = rule.event_names() else {
            continue;
        };
        let covered = rule
            .event_sources()
            .is_some_and(|s| s.iter().all(|s| sources.contains(s)));
        if !covered {
            names.extend(n);
        }
    }
    let mut plan: Vec<Attribute> = sources.into_iter().map(Attribute::EventSource).collect();
    plan.extend(names.into_iter().map(Attribute::EventName));
    if root {
        plan.push(Attribute::Username("root".into()));
    }
    plan
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_catalog_is_looked_up_by_name_source_and_root_not_everything() {
        let detector = Detector::new(tamperwatch_catalog::load().unwrap());
        let plan = lookup_plan(&detector);
        assert!(!plan.contains(&Attribute::All), "{plan:?}");
        for wanted in [
            Attribute::EventName("StopLogging".into()),
            Attribute::EventName("DeleteDetector".into()),
            Attribute::EventName("ConsoleLogin".into()),
            Attribute::Username("root".into()),
        ] {
            assert!(plan.contains(&wanted), "{wanted} missing from {plan:?}");
        }
        // Every attribute once; sources first, so the broad lookups run before the narrow ones.
        let unique: BTreeSet<_> = plan.iter().collect();
        assert_eq!(unique.len(), plan.len());
        // Each rule can see its events: through its names, or through its sources.
        for rule in detector.rules().rules() {
            let by_source = rule.event_sources().is_some_and(|s| {
                s.iter()
                    .all(|s| plan.contains(&Attribute::EventSource(s.clone())))
            });
            let by_name = rule.event_names().is_some_and(|n| {
                n.iter()
                    .all(|n| plan.contains(&Attribute::EventName(n.clone())))
            });
            let by_root = plan.contains(&Attribute::Username("root".into()));
            assert!(by_source || by_name || by_root, "{} not seen", rule.id());
        }
        // The Lambda rules match names by prefix, so Lambda is looked up by source: its
        // names are not asked for again.
        assert!(plan.contains(&Attribute::EventSource("lambda.amazonaws.com".into())));
        assert!(
            !plan
                .iter()
                .any(|a| matches!(a, Attribute::EventName(n) if n.starts_with("DeleteFunction")))
        );
        eprintln!("{} lookups per region: {plan:?}", plan.len());
    }

    #[test]
    fn a_rule_without_name_source_or_root_needs_every_event() {
        let rule = r"
title: Anything by a role
id: 5d4c3b2a-1111-4222-8333-444455556666
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {userIdentity.type: AssumedRole}
  condition: selection
level: low
";
        let mut rules = tamperwatch_rules::RuleSet::new();
        rules
            .push(tamperwatch_rules::Rule::from_yaml(rule, "test.yml").unwrap())
            .unwrap();
        assert_eq!(lookup_plan(&Detector::new(rules)), [Attribute::All]);
    }
}
