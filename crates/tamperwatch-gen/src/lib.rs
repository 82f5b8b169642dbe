//! A deterministic generator of realistic CloudTrail archives.
//!
//! It writes gzipped `{"Records":[...]}` files in CloudTrail's S3 layout
//! (`AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_ID.json.gz`)
//! with a mix of identity types, services, errors and read-only calls, and plants a known
//! number of tamper events whose eventIDs it returns. The same options always write the same
//! bytes.
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("tw-gen-doc-{}", std::process::id()));
//! let opts = tamperwatch_gen::Options { records: 500, records_per_file: 100, planted: 5, ..Default::default() };
//! let manifest = tamperwatch_gen::generate(&dir, &opts).unwrap();
//! assert_eq!(manifest.files, 5);
//! assert_eq!(manifest.planted.len(), 5);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

// Indices, counts and calendar fields here are small by construction.
#![allow(clippy::cast_possible_truncation)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Records in all.
    pub records: u64,
    /// Records per log file.
    pub records_per_file: u64,
    /// Tamper events to plant among the records.
    pub planted: u64,
    /// Account ids; files are spread over them.
    pub accounts: Vec<String>,
    /// Regions; files are spread over them.
    pub regions: Vec<String>,
    /// The seed: the same seed writes the same archive.
    pub seed: u64,
    /// Unix time of the first file.
    pub start: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            records: 10_000,
            records_per_file: 1_000,
            planted: 10,
            accounts: vec!["111122223333".to_owned(), "444455556666".to_owned()],
            regions: vec!["us-east-1".to_owned(), "eu-west-1".to_owned()],
            seed: 42,
            // 2026-11-01T00:00:00Z
            start: 1_793_491_200,
        }
    }
}

/// A planted tamper event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    /// Its eventID.
    pub event_id: String,
    /// `eventSource:eventName`.
    pub event: String,
    /// The file it is in.
    pub file: PathBuf,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// Files written.
    pub files: u64,
    /// Records written.
    pub records: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Compressed bytes.
    pub compressed_bytes: u64,
    /// The planted tamper events.
    pub planted: Vec<Planted>,
}

/// Writes an archive under `dir`.
pub fn generate(dir: &Path, opts: &Options) -> std::io::Result<Manifest> {
    let mut rng = Rng(opts.seed);
    let mut manifest = Manifest::default();
    let per_file = opts.records_per_file.max(1);
    let files = opts.records.div_ceil(per_file);
    // Planted events go to evenly spaced record numbers.
    let spacing = opts
        .records
        .checked_div(opts.planted)
        .map_or(u64::MAX, |s| s.max(1));
    let (accounts, regions) = (opts.accounts.len().max(1), opts.regions.len().max(1));
    let mut record_no = 0u64;
    for file_no in 0..files {
        let account = opts
            .accounts
            .get(file_no as usize % accounts)
            .map_or("111122223333", String::as_str);
        let region = opts
            .regions
            .get((file_no as usize / accounts) % regions)
            .map_or("us-east-1", String::as_str);
        let window = file_no / (accounts * regions) as u64;
        let time = opts.start + window * 300;
        let (y, m, d, hh, mm, _) = civil(time);
        let name = format!(
            "AWSLogs/{account}/CloudTrail/{region}/{y:04}/{m:02}/{d:02}/{account}_CloudTrail_{region}_{y:04}{m:02}{d:02}T{hh:02}{mm:02}Z_{:016x}.json.gz",
            rng.next()
        );
        let path = dir.join(name);
        let mut json = String::from("{\"Records\":[");
        let n = per_file.min(opts.records - record_no);
        for i in 0..n {
            if i > 0 {
                json.push(',');
            }
            let t = time + rng.below(300);
            let ctx = Ctx {
                account,
                region,
                time: t,
            };
            let planted_here = opts.planted > 0
                && record_no % spacing == spacing / 2
                && (manifest.planted.len() as u64) < opts.planted;
            if planted_here {
                let (event_id, event) = tamper(&mut rng, &ctx, manifest.planted.len(), &mut json);
                manifest.planted.push(Planted {
                    event_id,
                    event,
                    file: path.clone(),
                });
            } else {
                benign(&mut rng, &ctx, &mut json);
            }
            record_no += 1;
        }
        json.push_str("]}");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(json.as_bytes())?;
        let gz = enc.finish()?;
        std::fs::write(&path, &gz)?;
        manifest.files += 1;
        manifest.records += n;
        manifest.bytes += json.len() as u64;
        manifest.compressed_bytes += gz.len() as u64;
    }
    Ok(manifest)
}

struct Ctx<'a> {
    account: &'a str,
    region: &'a str,
    time: u64,
}

/// SplitMix64: small, fast and deterministic; no cryptographic claims.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// (year, month, day, hour, minute, second) of a Unix time, UTC.
fn civil(t: u64) -> (i64, u32, u32, u64, u64, u64) {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    // Howard Hinnant's days_from_civil, inverted.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
}

fn timestamp(t: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(t);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

const USER_AGENTS: &[&str] = &[
    "aws-cli/2.17.32 md/awscrt#0.21.2 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard",
    "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10.223-211.872.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.144",
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.64.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.177.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
    "aws-sdk-java/2.26.25 Linux/5.10.224-212.876.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS Java/17.0.12 vendor/Amazon.com_Inc. io/sync http/UrlConnection cfg/retry-mode/legacy",
];

/// Benign management calls: (eventSource, eventName, readOnly, requestParameters JSON).
const BENIGN: &[(&str, &str, bool, &str)] = &[
    (
        "ec2.amazonaws.com",
        "DescribeInstances",
        true,
        r#"{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}}"#,
    ),
    (
        "ec2.amazonaws.com",
        "DescribeSecurityGroups",
        true,
        r#"{"securityGroupSet":{},"securityGroupIdSet":{},"filterSet":{}}"#,
    ),
    (
        "ec2.amazonaws.com",
        "RunInstances",
        false,
        r#"{"instancesSet":{"items":[{"imageId":"ami-0abcdef1234567890","minCount":1,"maxCount":1}]},"instanceType":"t3.micro","monitoring":{"enabled":false},"disableApiTermination":false}"#,
    ),
    (
        "sts.amazonaws.com",
        "AssumeRole",
        false,
        r#"{"roleArn":"arn:aws:iam::111122223333:role/app-runtime","roleSessionName":"app-session","durationSeconds":3600}"#,
    ),
    (
        "kms.amazonaws.com",
        "Decrypt",
        true,
        r#"{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:us-east-1:111122223333:function:orders"}}"#,
    ),
    (
        "kms.amazonaws.com",
        "GenerateDataKey",
        true,
        r#"{"keyId":"alias/aws/s3","keySpec":"AES_256"}"#,
    ),
    (
        "s3.amazonaws.com",
        "ListBuckets",
        true,
        r#"{"Host":"s3.amazonaws.com"}"#,
    ),
    (
        "s3.amazonaws.com",
        "GetBucketAcl",
        true,
        r#"{"bucketName":"app-artifacts","Host":"app-artifacts.s3.amazonaws.com","acl":""}"#,
    ),
    (
        "iam.amazonaws.com",
        "GetRole",
        true,
        r#"{"roleName":"app-runtime"}"#,
    ),
    (
        "iam.amazonaws.com",
        "ListRoles",
        true,
        r#"{"maxItems":100}"#,
    ),
    (
        "lambda.amazonaws.com",
        "ListFunctions20150331",
        true,
        "null",
    ),
    (
        "cloudtrail.amazonaws.com",
        "DescribeTrails",
        true,
        r#"{"trailNameList":[],"includeShadowTrails":true}"#,
    ),
    (
        "cloudtrail.amazonaws.com",
        "LookupEvents",
        true,
        r#"{"maxResults":50}"#,
    ),
    ("guardduty.amazonaws.com", "ListDetectors", true, "null"),
    (
        "guardduty.amazonaws.com",
        "GetFindings",
        true,
        r#"{"detectorId":"12abc34d567e8fa901bc2d34e56789f0","findingIds":["f1"]}"#,
    ),
    (
        "securityhub.amazonaws.com",
        "GetFindings",
        true,
        r#"{"maxResults":100}"#,
    ),
    (
        "config.amazonaws.com",
        "DescribeConfigurationRecorders",
        true,
        "null",
    ),
    (
        "logs.amazonaws.com",
        "CreateLogStream",
        false,
        r#"{"logGroupName":"/aws/lambda/orders","logStreamName":"2026/11/01/[$LATEST]abc"}"#,
    ),
    (
        "ssm.amazonaws.com",
        "GetParameter",
        true,
        r#"{"name":"/app/db/host","withDecryption":false}"#,
    ),
    (
        "dynamodb.amazonaws.com",
        "DescribeTable",
        true,
        r#"{"tableName":"orders"}"#,
    ),
    (
        "monitoring.amazonaws.com",
        "PutMetricAlarm",
        false,
        r#"{"alarmName":"orders-latency-p99","metricName":"Duration","namespace":"AWS/Lambda","threshold":2000.0,"comparisonOperator":"GreaterThanThreshold","evaluationPeriods":3}"#,
    ),
];

/// Tamper calls to plant: (eventSource, eventName, requestParameters JSON, identity kind).
const TAMPER: &[(&str, &str, &str, Who)] = &[
    (
        "cloudtrail.amazonaws.com",
        "StopLogging",
        r#"{"name":"arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events"}"#,
        Who::User,
    ),
    (
        "guardduty.amazonaws.com",
        "DeleteDetector",
        r#"{"detectorId":"12abc34d567e8fa901bc2d34e56789f0"}"#,
        Who::Role,
    ),
    (
        "securityhub.amazonaws.com",
        "DisableSecurityHub",
        "null",
        Who::Role,
    ),
    (
        "config.amazonaws.com",
        "StopConfigurationRecorder",
        r#"{"configurationRecorderName":"default"}"#,
        Who::Sso,
    ),
    (
        "ec2.amazonaws.com",
        "DeleteFlowLogs",
        r#"{"DeleteFlowLogsRequest":{"FlowLogId":{"tag":1,"content":"fl-0123456789abcdef0"}}}"#,
        Who::Role,
    ),
    (
        "cloudtrail.amazonaws.com",
        "DeleteTrail",
        r#"{"name":"management-events"}"#,
        Who::Root,
    ),
    (
        "access-analyzer.amazonaws.com",
        "DeleteAnalyzer",
        r#"{"analyzerName":"account-analyzer"}"#,
        Who::User,
    ),
    ("macie2.amazonaws.com", "DisableMacie", "null", Who::Role),
];

#[derive(Clone, Copy)]
enum Who {
    User,
    Role,
    Sso,
    Service,
    Root,
}

fn identity(rng: &mut Rng, who: Who, account: &str, out: &mut String) {
    let key = format!("ASIA{:016X}", rng.next());
    match who {
        Who::User => {
            let user = rng.pick(&["deploy-bot", "alice", "bob", "ops-automation"]);
            let _ = write!(
                out,
                r#"{{"type":"IAMUser","principalId":"AIDA{:016X}","arn":"arn:aws:iam::{account}:user/{user}","accountId":"{account}","accessKeyId":"AKIA{:016X}","userName":"{user}"}}"#,
                rng.next(),
                rng.next()
            );
        }
        Who::Role => {
            let role = rng.pick(&[
                "app-runtime",
                "ci-deployer",
                "data-pipeline",
                "OrganizationAccountAccessRole",
            ]);
            let session = rng.pick(&[
                "i-0a1b2c3d4e5f67890",
                "gh-actions-1234",
                "botocore-session-1730",
                "etl-run",
            ]);
            let _ = write!(
                out,
                r#"{{"type":"AssumedRole","principalId":"AROA{:016X}:{session}","arn":"arn:aws:sts::{account}:assumed-role/{role}/{session}","accountId":"{account}","accessKeyId":"{key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{:016X}","arn":"arn:aws:iam::{account}:role/{role}","accountId":"{account}","userName":"{role}"}},"webIdFederationData":{{}},"attributes":{{"creationDate":"2026-11-01T00:00:00Z","mfaAuthenticated":"false"}}}}}}"#,
                rng.next(),
                rng.next()
            );
        }
        Who::Sso => {
            let user = rng.pick(&["alice@example.com", "carol@example.com", "dan@example.com"]);
            let role = "AWSReservedSSO_AdministratorAccess_0123456789abcdef";
            let _ = write!(
                out,
                r#"{{"type":"AssumedRole","principalId":"AROA{:016X}:{user}","arn":"arn:aws:sts::{account}:assumed-role/{role}/{user}","accountId":"{account}","accessKeyId":"{key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{:016X}","arn":"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{role}","accountId":"{account}","userName":"{role}"}},"webIdFederationData":{{}},"attributes":{{"creationDate":"2026-11-01T00:00:00Z","mfaAuthenticated":"false"}}}}}}"#,
                rng.next(),
                rng.next()
            );
        }
        Who::Service => {
            let svc = rng.pick(&[
                "lambda.amazonaws.com",
                "ec2.amazonaws.com",
                "autoscaling.amazonaws.com",
            ]);
            let _ = write!(out, r#"{{"type":"AWSService","invokedBy":"{svc}"}}"#);
        }
        Who::Root => {
            let _ = write!(
                out,
                r#"{{"type":"Root","principalId":"{account}","arn":"arn:aws:iam::{account}:root","accountId":"{account}","accessKeyId":"{key}"}}"#
            );
        }
    }
}

/// One call to write as a record.
#[derive(Clone, Copy)]
struct Call<'a> {
    source: &'a str,
    name: &'a str,
    read_only: bool,
    params: &'a str,
    who: Who,
    error: Option<(&'a str, &'a str)>,
}

fn envelope(rng: &mut Rng, ctx: &Ctx<'_>, call: &Call<'_>, out: &mut String) -> String {
    let Call {
        source,
        name,
        read_only,
        params,
        who,
        error,
    } = *call;
    let event_id = rng.uuid();
    let request_id = rng.uuid();
    let ip = match who {
        Who::Service => "AWS Internal".to_owned(),
        _ => format!(
            "{}.{}.{}.{}",
            rng.pick(&[198u64, 203, 192]),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        ),
    };
    let ua = match who {
        Who::Service => "AWS Internal",
        _ => rng.pick(USER_AGENTS),
    };
    let _ = write!(out, r#"{{"eventVersion":"1.10","userIdentity":"#);
    identity(rng, who, ctx.account, out);
    let _ = write!(
        out,
        r#","eventTime":"{}","eventSource":"{source}","eventName":"{name}","awsRegion":"{}","sourceIPAddress":"{ip}","userAgent":"{ua}","#,
        timestamp(ctx.time),
        ctx.region
    );
    if let Some((code, message)) = error {
        let _ = write!(out, r#""errorCode":"{code}","errorMessage":"{message}","#);
    }
    let _ = write!(
        out,
        r#""requestParameters":{params},"responseElements":null,"requestID":"{request_id}","eventID":"{event_id}","readOnly":{read_only},"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{}","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{}.{}.amazonaws.com"}}}}"#,
        ctx.account,
        source.trim_end_matches(".amazonaws.com"),
        ctx.region
    );
    event_id
}

fn benign(rng: &mut Rng, ctx: &Ctx<'_>, out: &mut String) {
    let &(source, name, read_only, params) = rng.pick(BENIGN);
    let who = match rng.below(100) {
        0..=59 => Who::Role,
        60..=74 => Who::User,
        75..=89 => Who::Service,
        _ => Who::Sso,
    };
    let error = match rng.below(100) {
        0..=2 => Some((
            "AccessDenied",
            "User is not authorized to perform this operation",
        )),
        3..=4 => Some(("ThrottlingException", "Rate exceeded")),
        _ => None,
    };
    let call = Call {
        source,
        name,
        read_only,
        params,
        who,
        error,
    };
    envelope(rng, ctx, &call, out);
}

fn tamper(rng: &mut Rng, ctx: &Ctx<'_>, n: usize, out: &mut String) -> (String, String) {
    let &(source, name, params, who) = &TAMPER[n % TAMPER.len()];
    // Every third planted call is a denied attempt: those must be found too.
    let error = (n % 3 == 2).then_some((
        "AccessDenied",
        "User is not authorized to perform this operation",
    ));
    let call = Call {
        source,
        name,
        read_only: false,
        params,
        who,
        error,
    };
    let id = envelope(rng, ctx, &call, out);
    (id, format!("{source}:{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_793_491_200), "2026-11-01T00:00:00Z");
        assert_eq!(timestamp(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn deterministic_and_valid_json() {
        let a = std::env::temp_dir().join(format!("tw-gen-a-{}", std::process::id()));
        let b = std::env::temp_dir().join(format!("tw-gen-b-{}", std::process::id()));
        let opts = Options {
            records: 300,
            records_per_file: 100,
            planted: 7,
            ..Options::default()
        };
        let ma = generate(&a, &opts).unwrap();
        let mb = generate(&b, &opts).unwrap();
        assert_eq!(
            ma.planted.iter().map(|p| &p.event_id).collect::<Vec<_>>(),
            mb.planted.iter().map(|p| &p.event_id).collect::<Vec<_>>()
        );
        assert_eq!(ma.planted.len(), 7);
        assert_eq!(ma.records, 300);
        for p in &ma.planted {
            let gz = std::fs::read(&p.file).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(
                v["Records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["eventID"] == p.event_id.as_str())
            );
        }
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }
}
