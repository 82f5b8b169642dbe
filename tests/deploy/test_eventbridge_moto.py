"""The generated patterns installed as real EventBridge rules (moto) with an SQS target: every
positive test event of the catalog, wrapped as EventBridge wraps CloudTrail records, gets
through; forged copies with a custom source and the negatives no rule needs do not."""

import json
import uuid

from conftest import ROOT  # noqa: F401

DETAIL_TYPES = {
    "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
    "AwsConsoleAction": "AWS Console Action via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
}


def detail_type(record):
    kind = record.get("eventType")
    if kind is None and record.get("eventName") == "ConsoleLogin":
        return "AWS Console Sign In via CloudTrail"
    return DETAIL_TYPES.get(kind, "AWS API Call via CloudTrail")


def source_of(record):
    """aws. + the eventSource's prefix (monitoring.amazonaws.com -> aws.monitoring)."""
    return "aws." + record["eventSource"].removesuffix(".amazonaws.com")


def reference_match(pattern, event):
    """The subset of EventBridge matching the generated patterns use (exact, prefix,
    equals-ignore-case, nesting, $or), to say which negatives the patterns must stop."""
    for key, expected in pattern.items():
        if key == "$or":
            if not any(reference_match(alt, event) for alt in expected):
                return False
            continue
        actual = event.get(key) if isinstance(event, dict) else None
        if isinstance(expected, dict):
            if not isinstance(actual, dict) or not reference_match(expected, actual):
                return False
            continue
        values = actual if isinstance(actual, list) else ([] if actual is None else [actual])
        ok = False
        for test in expected:
            if isinstance(test, dict):
                ((op, arg),) = test.items()
                strings = [v for v in values if isinstance(v, str)]
                if op == "prefix":
                    ok |= any(v.startswith(arg) for v in strings)
                elif op == "equals-ignore-case":
                    ok |= any(v.lower() == arg.lower() for v in strings)
                else:
                    raise AssertionError(f"filter {op} not modelled")
            else:
                ok |= test in values
        if not ok:
            return False
    return True


def test_patterns_on_moto_let_positives_through_and_stop_forgeries(aws, patterns, catalog_tests):
    events, sqs = aws("events"), aws("sqs")
    # Unique names: the moto server may be shared with other tests, or a previous run.
    run = uuid.uuid4().hex[:8]
    queue_url = sqs.create_queue(QueueName=f"tamperwatch-events-{run}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    for i, pattern in enumerate(patterns, 1):
        name = f"tamperwatch-cloudtrail-{i}-{run}"
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue_arn}])

    # Each entry: (our id, expected to arrive, what it is).
    sent = {}
    entries = []

    def add(kind, record, source, dtype, expect):
        event_id = f"tw-{len(sent):05d}"
        detail = dict(record, eventID=event_id)
        sent[event_id] = (kind, expect, record.get("eventSource"), record.get("eventName"))
        entries.append(
            {"Source": source, "DetailType": dtype, "Detail": json.dumps(detail, default=str)}
        )

    for origin, kind, record in catalog_tests:
        source, dtype = source_of(record), detail_type(record)
        wrapped = {"source": source, "detail-type": dtype, "detail": record}
        if kind == "match":
            add(f"positive {origin}", record, source, dtype, True)
            add(f"forged {origin}", record, "tamperwatch.forged", dtype, False)
            add(f"forged {origin}", record, "custom.aws.cloudtrail", dtype, False)
        else:
            expect = any(reference_match(p, wrapped) for p in patterns)
            add(f"negative {origin}", record, source, dtype, expect)
    for benign in [
        ("cloudtrail.amazonaws.com", "StartLogging"),
        ("s3.amazonaws.com", "PutObject"),
        ("ec2.amazonaws.com", "RunInstances"),
        ("sts.amazonaws.com", "AssumeRole"),
    ]:
        record = {
            "eventSource": benign[0],
            "eventName": benign[1],
            "eventType": "AwsApiCall",
            "userIdentity": {"type": "AssumedRole"},
        }
        add("everyday", record, source_of(record), detail_type(record), False)

    for start in range(0, len(entries), 10):
        result = events.put_events(Entries=entries[start : start + 10])
        assert result["FailedEntryCount"] == 0, result

    received = set()
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            break
        for message in batch:
            received.add(json.loads(message["Body"])["detail"]["eventID"])
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch],
        )

    wrong = [
        f"{'dropped' if expect else 'let through'}: {kind} {source} {name}"
        for event_id, (kind, expect, source, name) in sent.items()
        if (event_id in received) != expect
    ]
    assert not wrong, "\n".join(wrong)

    positives = sum(1 for k, *_ in sent.values() if k.startswith("positive"))
    negatives = [e for e, (k, *_) in sent.items() if k.startswith("negative")]
    stopped = [e for e in negatives if e not in received]
    print(
        f"\n{len(patterns)} patterns on moto: {positives} positives through, "
        f"{len(stopped)} of {len(negatives)} negatives stopped, "
        f"{2 * positives} forged copies stopped"
    )
    assert positives > 150
    assert len(stopped) > len(negatives) // 4
