//! The archive against real S3 and SQS APIs (moto on loopback, started by scripts/test.sh):
//! walking the layout with filters prunes whole folders and finds exactly the wanted files;
//! objects come back byte for byte under a size cap, whole or streamed to a reader;
//! notifications written for a backfill read back.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;

use tamperwatch_archive::layout::{Filter, walk};
use tamperwatch_archive::sqs::Queue;
use tamperwatch_archive::{
    Download, FetchError, ObjectRef, S3Url, download, get_object, notification,
};
use tamperwatch_testkit::{fresh_name, moto_sdk, moto_url};

async fn s3(endpoint: &str) -> aws_sdk_s3::Client {
    let sdk = moto_sdk(endpoint).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    )
}

async fn sqs(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&moto_sdk(endpoint).await)
}

fn log_key(prefix: &str, account: &str, region: &str, day: u8, n: u8) -> String {
    format!(
        "{prefix}AWSLogs/o-exampleorg/{account}/CloudTrail/{region}/2026/11/{day:02}/{account}_CloudTrail_{region}_202611{day:02}T0{n}05Z_x{n}.json.gz"
    )
}

async fn walked(client: &aws_sdk_s3::Client, url: &S3Url, filter: &Filter) -> (Vec<String>, u64) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ObjectRef>(4);
    let (etx, mut erx) = tokio::sync::mpsc::channel(4);
    let collect = tokio::spawn(async move {
        let mut keys = Vec::new();
        while let Some(o) = rx.recv().await {
            keys.push(o.key);
        }
        keys
    });
    let stats = walk(client, url, filter, &tx, &etx).await;
    drop((tx, etx));
    assert!(erx.recv().await.is_none(), "no listing errors");
    (collect.await.unwrap(), stats.list_calls)
}

#[tokio::test]
async fn the_layout_is_walked_with_filters() {
    let Some(moto) = moto_url() else { return };
    let client = s3(&moto).await;
    let bucket = fresh_name("trail");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut all = Vec::new();
    for account in ["111111111111", "222222222222"] {
        for region in ["us-east-1", "eu-west-1"] {
            for day in [1, 2, 3] {
                for n in [1, 2] {
                    all.push(log_key("trail/", account, region, day, n));
                }
            }
        }
    }
    let noise = [
        "trail/AWSLogs/o-exampleorg/111111111111/CloudTrail-Digest/us-east-1/2026/11/02/d.json.gz",
        "trail/AWSLogs/o-exampleorg/111111111111/CloudTrail/us-east-1/2026/11/02/",
        "other-tool/logs/2026/11/02/x.json.gz",
    ];
    for key in all.iter().map(String::as_str).chain(noise) {
        client
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(b"{}".to_vec().into())
            .send()
            .await
            .unwrap();
    }

    all.sort(); // S3 lists in key order, and so does the walk.

    // Everything, from the bucket root: the trail prefix is found, other folders left alone.
    let url: S3Url = format!("s3://{bucket}").parse().unwrap();
    let (keys, _) = walked(&client, &url, &Filter::default()).await;
    assert_eq!(keys, all);

    // One account, one region, one day: only that day's folder is listed for objects.
    let filter = Filter {
        since: Some("2026-11-02T00:00:00Z".parse().unwrap()),
        until: Some("2026-11-01T23:59:59Z".parse().unwrap()),
        accounts: BTreeSet::from(["222222222222".to_owned()]),
        regions: BTreeSet::from(["eu-west-1".to_owned()]),
    };
    let (keys, calls) = walked(&client, &url, &filter).await;
    // until 2026-11-01T23:59 reaches the 2nd's folder (late deliveries); since keeps the 1st out.
    assert_eq!(
        keys,
        [
            log_key("trail/", "222222222222", "eu-west-1", 2, 1),
            log_key("trail/", "222222222222", "eu-west-1", 2, 2)
        ]
    );
    // Searching for AWSLogs/: the root, other-tool/, other-tool/logs/ (three levels at most),
    // trail/; then AWSLogs/, o-exampleorg/, the account, CloudTrail/, the region, the year,
    // the month and the day: one listing per folder on the way, none for the other accounts,
    // regions or days.
    assert_eq!(calls, 12);

    // Starting deeper in the layout works the same.
    let deep: S3Url = format!(
        "s3://{bucket}/trail/AWSLogs/o-exampleorg/111111111111/CloudTrail/us-east-1/2026/11/"
    )
    .parse()
    .unwrap();
    let (keys, _) = walked(&client, &deep, &Filter::default()).await;
    assert_eq!(keys.len(), 6);

    // Files outside the layout are listed flat.
    let flat: S3Url = format!("s3://{bucket}/other-tool/").parse().unwrap();
    let (keys, _) = walked(&client, &flat, &Filter::default()).await;
    assert_eq!(keys, ["other-tool/logs/2026/11/02/x.json.gz"]);
}

/// A new bucket holding one object.
async fn bucket_with(client: &aws_sdk_s3::Client, name: &str, key: &str, body: &[u8]) -> ObjectRef {
    let bucket = fresh_name(name);
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    client
        .put_object()
        .bucket(&bucket)
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
    ObjectRef {
        bucket,
        key: key.into(),
    }
}

#[tokio::test]
async fn objects_are_fetched_whole_under_a_cap() {
    let Some(moto) = moto_url() else { return };
    let client = s3(&moto).await;
    let body: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let object = bucket_with(&client, "fetch", "k.json.gz", &body).await;
    let bucket = object.bucket.clone();
    assert_eq!(get_object(&client, &object, 1 << 20).await.unwrap(), body);
    assert!(matches!(
        get_object(&client, &object, 1000).await,
        Err(FetchError::TooLarge { .. })
    ));
    let missing = ObjectRef {
        bucket,
        key: "missing.json.gz".into(),
    };
    let error = get_object(&client, &missing, 1 << 20).await.unwrap_err();
    assert!(error.to_string().contains("missing.json.gz"), "{error}");
}

/// Downloads `object` into a reader on another thread (as a scan's worker reads it), and
/// returns what the reader read, checking the reader's count.
async fn streamed(
    client: &aws_sdk_s3::Client,
    object: &ObjectRef,
    limit: u64,
) -> std::io::Result<Vec<u8>> {
    let (mut body, pump) = download(client, object, limit);
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let read = std::io::Read::read_to_end(&mut body, &mut bytes);
        assert_eq!(body.bytes_read(), bytes.len() as u64);
        read.map(|_| bytes)
    });
    pump.await;
    reader.join().unwrap()
}

#[tokio::test]
async fn objects_stream_to_a_reader_under_a_cap() {
    let Some(moto) = moto_url() else { return };
    let client = s3(&moto).await;
    // Larger than the chunks in flight, so the download waits for the reader.
    let body: Vec<u8> = (0..u32::MAX)
        .map(|i| (i % 251) as u8)
        .take(6 << 20)
        .collect();
    let object = bucket_with(&client, "stream", "big.json.gz", &body).await;
    let bucket = object.bucket.clone();
    assert!(streamed(&client, &object, 8 << 20).await.unwrap() == body);
    let error = streamed(&client, &object, 1 << 20).await.unwrap_err();
    assert!(
        matches!(
            Download::fetch_error(&error),
            Some(FetchError::TooLarge { limit, .. }) if *limit == 1 << 20
        ),
        "{error}"
    );
    let missing = ObjectRef {
        bucket,
        key: "missing.json.gz".into(),
    };
    let error = streamed(&client, &missing, 1 << 20).await.unwrap_err();
    assert!(
        matches!(Download::fetch_error(&error), Some(FetchError::Get { .. })),
        "{error}"
    );
    // A reader that goes away stops the download rather than leaving it waiting.
    let (body, pump) = download(&client, &object, 8 << 20);
    drop(body);
    tokio::time::timeout(std::time::Duration::from_secs(30), pump)
        .await
        .expect("the download stops");
    // A download that stops without ending (its runtime shut down) is not a whole object.
    let (mut body, pump) = download(&client, &object, 8 << 20);
    drop(pump);
    let error = std::thread::spawn(move || {
        std::io::Read::read_to_end(&mut body, &mut Vec::new()).unwrap_err()
    })
    .join()
    .unwrap();
    assert!(
        error.to_string().contains("stopped before the end"),
        "{error}"
    );
    // Read from the runtime's own thread, it says so instead of blocking (or panicking).
    let (mut body, _pump) = download(&client, &object, 8 << 20);
    let error = std::io::Read::read_to_end(&mut body, &mut Vec::new()).unwrap_err();
    assert!(error.to_string().contains("blocking thread"), "{error}");
}

#[tokio::test]
async fn backfill_messages_read_back_and_delete() {
    let Some(moto) = moto_url() else { return };
    let client = sqs(&moto).await;
    let name = fresh_name("backfill");
    let url = client
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue = Queue::new(client, url);
    let groups: Vec<Vec<ObjectRef>> = (0..12)
        .map(|i| {
            vec![ObjectRef {
                bucket: "trail".into(),
                key: format!("AWSLogs/k {i}+é.json.gz"),
            }]
        })
        .collect();
    assert_eq!(queue.enqueue(&groups).await.unwrap(), 12);
    let mut read = Vec::new();
    while read.len() < 12 {
        let messages = queue.receive(1).await.unwrap();
        assert!(!messages.is_empty(), "all 12 messages come back");
        for m in messages {
            read.extend(notification::objects(&m.body).unwrap().unwrap());
            queue.delete(&m).await.unwrap();
        }
    }
    read.sort();
    let mut expected: Vec<ObjectRef> = groups.into_iter().flatten().collect();
    expected.sort();
    assert_eq!(read, expected);
    assert!(queue.receive(0).await.unwrap().is_empty(), "deleted");
}
