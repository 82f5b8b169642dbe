//! Every envelope, and every kind of bad input: what is read, what is reported, and that
//! reading goes on.

// A panic in a test is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;

use base64::Engine as _;
use tamperwatch_event::{Limits, Location, ReadError, Record, Visit, read};

#[derive(Default)]
struct Collect {
    records: Vec<(Location, String)>,
    errors: Vec<(Location, String)>,
}

impl Visit for Collect {
    fn record(&mut self, at: Location, record: Record<'_>) {
        self.records
            .push((at, record.event_name.as_deref().unwrap_or("?").to_owned()));
    }
    fn error(&mut self, at: Location, error: ReadError) {
        self.errors.push((at, error.to_string()));
    }
}

fn read_all(input: &[u8]) -> Collect {
    read_with(input, &Limits::default())
}

fn read_with(input: &[u8], limits: &Limits) -> Collect {
    let mut c = Collect::default();
    read(input, limits, &mut c);
    c
}

fn names(c: &Collect) -> Vec<&str> {
    c.records.iter().map(|(_, n)| n.as_str()).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

const REC_A: &str =
    r#"{"eventVersion":"1.09","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging"}"#;
const REC_B: &str = r#"{"eventVersion":"1.09","eventSource":"guardduty.amazonaws.com","eventName":"DeleteDetector"}"#;

fn log_file() -> String {
    format!(r#"{{"Records":[{REC_A},{REC_B}]}}"#)
}

#[test]
fn cloudtrail_log_file_plain_and_gzipped() {
    let c = read_all(log_file().as_bytes());
    assert_eq!(names(&c), ["StopLogging", "DeleteDetector"]);
    assert_eq!(c.records[1].0.to_string(), "record 2");
    let c = read_all(&gzip(log_file().as_bytes()));
    assert_eq!(names(&c), ["StopLogging", "DeleteDetector"]);
    assert!(c.errors.is_empty());
}

#[test]
fn eventbridge_events_of_every_cloudtrail_type() {
    for kind in [
        "AWS API Call via CloudTrail",
        "AWS Console Sign In via CloudTrail",
        "AWS Console Signin via CloudTrail",
        "AWS Service Event via CloudTrail",
        "AWS Insight via CloudTrail",
    ] {
        let ev = format!(
            r#"{{"version":"0","id":"1","detail-type":"{kind}","source":"aws.cloudtrail","account":"1","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{REC_A}}}"#
        );
        let c = read_all(ev.as_bytes());
        assert_eq!(names(&c), ["StopLogging"], "{kind}");
    }
}

#[test]
fn eventbridge_event_of_another_type_is_reported() {
    let ev = r#"{"detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":{"id":"x"}}"#;
    let c = read_all(ev.as_bytes());
    assert!(c.records.is_empty());
    assert!(
        c.errors[0].1.contains("GuardDuty Finding"),
        "{:?}",
        c.errors
    );
}

#[test]
fn json_array_of_records_and_envelopes() {
    let input = format!(
        r#"[{REC_A}, {{"detail-type":"AWS API Call via CloudTrail","detail":{REC_B}}}, {}]"#,
        log_file()
    );
    let c = read_all(input.as_bytes());
    assert_eq!(
        names(&c),
        [
            "StopLogging",
            "DeleteDetector",
            "StopLogging",
            "DeleteDetector"
        ]
    );
}

#[test]
fn json_lines_with_a_bad_line_in_the_middle() {
    let input = format!("{REC_A}\n{{not json\n\n{REC_B}\n");
    let c = read_all(input.as_bytes());
    assert_eq!(names(&c), ["StopLogging", "DeleteDetector"]);
    assert_eq!(c.records[1].0.to_string(), "line 4");
    assert_eq!(c.errors.len(), 1);
    assert_eq!(c.errors[0].0.to_string(), "line 2");
    // The first line bad: still JSON Lines.
    let input = format!("{{\"eventName\": oops}}\n{REC_B}\n");
    let c = read_all(input.as_bytes());
    assert_eq!(names(&c), ["DeleteDetector"]);
    assert_eq!(c.errors[0].0.to_string(), "line 1");
}

fn cloudwatch_payload() -> String {
    let msg_a = serde_json::to_string(REC_A).unwrap();
    let msg_b = serde_json::to_string(REC_B).unwrap();
    format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"aws-cloudtrail-logs","logStream":"111122223333_CloudTrail_us-east-1","subscriptionFilters":["tw"],"logEvents":[{{"id":"1","timestamp":1,"message":{msg_a}}},{{"id":"2","timestamp":2,"message":{msg_b}}}]}}"#
    )
}

#[test]
fn cloudwatch_logs_subscription_gzipped_and_through_lambda() {
    let gz = gzip(cloudwatch_payload().as_bytes());
    let c = read_all(&gz);
    assert_eq!(names(&c), ["StopLogging", "DeleteDetector"]);
    let lambda = format!(
        r#"{{"awslogs":{{"data":"{}"}}}}"#,
        base64::engine::general_purpose::STANDARD.encode(&gz)
    );
    let c = read_all(lambda.as_bytes());
    assert_eq!(names(&c), ["StopLogging", "DeleteDetector"]);
    let control = r#"{"messageType":"CONTROL_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":"CWL CONTROL MESSAGE"}]}"#;
    let c = read_all(control.as_bytes());
    assert!(c.records.is_empty() && c.errors.is_empty());
    let c = read_all(br#"{"awslogs":{"data":"!!!not base64"}}"#);
    assert!(c.errors[0].1.contains("base64"));
}

#[test]
fn lookup_events_output() {
    let input = format!(
        r#"{{"Events":[{{"EventId":"1","EventName":"StopLogging","CloudTrailEvent":{}}},{{"EventId":"2","CloudTrailEvent":{}}}],"NextToken":"x"}}"#,
        serde_json::to_string(REC_A).unwrap(),
        serde_json::to_string(REC_B).unwrap()
    );
    let c = read_all(input.as_bytes());
    assert_eq!(names(&c), ["StopLogging", "DeleteDetector"]);
}

#[test]
fn sns_notification() {
    let inner = format!(r#"{{"detail-type":"AWS API Call via CloudTrail","detail":{REC_A}}}"#);
    let input = format!(
        r#"{{"Type":"Notification","MessageId":"1","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":{}}}"#,
        serde_json::to_string(&inner).unwrap()
    );
    assert_eq!(names(&read_all(input.as_bytes())), ["StopLogging"]);
}

#[test]
fn a_single_record() {
    assert_eq!(names(&read_all(REC_A.as_bytes())), ["StopLogging"]);
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), REC_A.as_bytes()].concat();
    assert_eq!(names(&read_all(&with_bom)), ["StopLogging"]);
}

// Bad input: each is reported, none panics, and the rest goes on.

#[test]
fn malformed_json() {
    let c = read_all(br#"{"Records":[{"eventName":"StopLogging"},"#);
    assert!(c.records.is_empty());
    assert!(c.errors[0].1.starts_with("invalid JSON"), "{:?}", c.errors);
}

#[test]
fn truncated_gzip() {
    let gz = gzip(log_file().as_bytes());
    let c = read_all(&gz[..gz.len() / 2]);
    assert!(c.errors[0].1.contains("gzip"), "{:?}", c.errors);
}

#[test]
fn corrupt_gzip() {
    let mut gz = gzip(log_file().as_bytes());
    for b in gz.iter_mut().skip(12).take(8) {
        *b ^= 0x5a;
    }
    let c = read_all(&gz);
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert!(c.records.is_empty());
}

#[test]
fn not_gzip_and_not_json() {
    let c = read_all(b"PK\x03\x04 this is a zip file");
    assert!(c.errors[0].1.contains("invalid JSON"), "{:?}", c.errors);
}

#[test]
fn gzip_bomb_is_capped() {
    let zeros = vec![b' '; 8 * 1024 * 1024];
    let bomb = gzip(&zeros);
    let limits = Limits {
        max_decompressed: 1024 * 1024,
        ..Limits::default()
    };
    let c = read_with(&bomb, &limits);
    assert!(c.errors[0].1.contains("gzip bomb"), "{:?}", c.errors);
}

#[test]
fn wrong_field_types_fail_only_their_record() {
    let input = format!(
        r#"{{"Records":[{REC_A},{{"eventName":["x"]}},{{"userIdentity":"root"}},{REC_B}]}}"#
    );
    let c = read_all(input.as_bytes());
    assert_eq!(names(&c), ["StopLogging", "DeleteDetector"]);
    let at: Vec<String> = c.errors.iter().map(|(l, _)| l.to_string()).collect();
    assert_eq!(at, ["record 2", "record 3"]);
}

#[test]
fn non_utf8_bytes() {
    let mut input = format!("{REC_A}\n").into_bytes();
    input.extend_from_slice(b"{\"eventName\":\"\xff\xfe\"}\n");
    input.extend_from_slice(format!("{REC_B}\n").as_bytes());
    let c = read_all(&input);
    assert_eq!(names(&c), ["StopLogging", "DeleteDetector"]);
    assert_eq!(c.errors.len(), 1);
    assert_eq!(c.errors[0].0.to_string(), "line 2");
}

#[test]
fn absurd_nesting() {
    let deep = format!(
        "{{\"Records\":[{{\"eventName\":\"x\",\"p\":{}{}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    // Reading skips the nested value without recursing; building the full value for rule
    // evaluation stops at serde_json's recursion limit with an error, not a stack overflow.
    struct Deep(Vec<String>);
    impl Visit for Deep {
        fn record(&mut self, _at: Location, record: Record<'_>) {
            self.0.push(record.to_value().unwrap_err().to_string());
        }
        fn error(&mut self, _at: Location, error: ReadError) {
            panic!("{error}");
        }
    }
    let mut d = Deep(Vec::new());
    read(deep.as_bytes(), &Limits::default(), &mut d);
    assert!(d.0[0].contains("recursion limit"), "{:?}", d.0);
    // Envelopes inside envelopes stop at a fixed depth.
    let mut msg = REC_A.to_owned();
    for _ in 0..10 {
        msg = format!(
            r#"{{"Type":"Notification","Message":{}}}"#,
            serde_json::to_string(&msg).unwrap()
        );
    }
    let c = read_all(msg.as_bytes());
    assert!(c.errors[0].1.contains("nested"), "{:?}", c.errors);
}

#[test]
fn empty_files() {
    for input in [&b""[..], b"   \n\t ", b"\xEF\xBB\xBF"] {
        let c = read_all(input);
        assert_eq!(c.errors.len(), 1);
        assert_eq!(c.errors[0].1, "empty input");
    }
    let c = read_all(&gzip(b""));
    assert_eq!(c.errors[0].1, "empty input");
}

#[test]
fn records_that_is_not_an_array() {
    let c = read_all(br#"{"Records":{"eventName":"StopLogging"}}"#);
    assert!(
        c.errors[0].1.starts_with("`Records` is not an array"),
        "{:?}",
        c.errors
    );
}

#[test]
fn a_record_far_larger_than_cloudtrail_allows() {
    let big = format!(
        r#"{{"Records":[{{"eventName":"x","pad":"{}"}},{REC_B}]}}"#,
        "a".repeat(2 * 1024 * 1024)
    );
    let c = read_all(big.as_bytes());
    assert_eq!(names(&c), ["DeleteDetector"]);
    assert!(c.errors[0].1.contains("larger than"), "{:?}", c.errors);
    assert_eq!(c.errors[0].0.to_string(), "record 1");
}

#[test]
fn scalars_and_unknown_objects() {
    let c = read_all(b"42");
    assert!(c.errors[0].1.contains("expected a JSON object"));
    let c = read_all(br#"{"hello":"world"}"#);
    assert!(c.errors[0].1.contains("not a CloudTrail record"));
}

/// The log-file fast path and the general path read the same records the same way.
#[test]
fn log_file_layouts_agree() {
    let escaped = r#"{"eventSource":"s3.amazonaws.com","eventName":"Put\u0042ucketPolicy","userAgent":"a\"b"}"#;
    let canonical = format!(r#"{{"Records":[{REC_A},{escaped},{REC_B}]}}"#);
    let pretty =
        format!("{{\n  \"Records\" : [\n    {REC_A} ,\n\t{escaped},\n    {REC_B}\n  ]\n}}\n");
    let other_key_first = format!(r#"{{"Digest":null,"Records":[{REC_A},{escaped},{REC_B}]}}"#);
    let expected = ["StopLogging", "PutBucketPolicy", "DeleteDetector"];
    for input in [&canonical, &pretty, &other_key_first] {
        let c = read_all(input.as_bytes());
        assert_eq!(names(&c), expected, "{input}");
        assert!(c.errors.is_empty());
        assert_eq!(c.records[2].0.to_string(), "record 3");
    }
    assert!(names(&read_all(br#"{"Records":[]}"#)).is_empty());
}
