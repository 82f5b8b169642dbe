"""The CloudFormation templates: lint, drift from the generated patterns, least privilege,
and the names the self-protection rules key on."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

from conftest import ROOT, TEMPLATES


def load(path):
    template, matches = decode(str(path))
    assert not matches, matches
    return template


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_passes(path):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_templates_carry_the_generated_patterns(patterns):
    """deploy/update-patterns.py --check: the templates' EventBridge rules (and Terraform's
    event-patterns.json) are exactly `tamperwatch rules export --format eventbridge`."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "update-patterns.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name, prefix in [
        ("tamperwatch.yaml", "EventRule"),
        ("tamperwatch-forwarder.yaml", "ForwardRule"),
    ]:
        template = load(ROOT / "deploy" / "cloudformation" / name)
        embedded = [
            r["Properties"]["EventPattern"]
            for key, r in template["Resources"].items()
            if key.startswith(prefix) and r["Type"] == "AWS::Events::Rule"
        ]
        assert embedded == patterns, name


# ---- least privilege ------------------------------------------------------------------------

POLICY_PROPERTIES = {
    "AWS::IAM::Role": ["Policies"],
    "AWS::IAM::Policy": ["PolicyDocument"],
    "AWS::IAM::ManagedPolicy": ["PolicyDocument"],
    "AWS::SQS::QueuePolicy": ["PolicyDocument"],
    "AWS::SNS::TopicPolicy": ["PolicyDocument"],
    "AWS::KMS::Key": ["KeyPolicy"],
    "AWS::Events::EventBusPolicy": ["Statement"],
}


def statements(template):
    """(resource name, resource type, statement) for every policy statement of a template,
    with Fn::If branches both taken."""
    for name, resource in template["Resources"].items():
        kind = resource["Type"]
        props = resource.get("Properties", {})
        for prop in POLICY_PROPERTIES.get(kind, []):
            for doc in branches(props.get(prop)):
                if kind == "AWS::IAM::Role":
                    for policy in doc:
                        for p in branches(policy):
                            yield from each_statement(name, kind, p.get("PolicyDocument"))
                elif kind == "AWS::Events::EventBusPolicy":
                    yield from each_statement(name, kind, {"Statement": doc})
                else:
                    yield from each_statement(name, kind, doc)


def branches(value):
    """Every alternative of a value that may be an Fn::If (AWS::NoValue dropped)."""
    if isinstance(value, dict) and "Fn::If" in value:
        for alt in value["Fn::If"][1:]:
            yield from branches(alt)
    elif isinstance(value, dict) and value.get("Ref") == "AWS::NoValue":
        return
    elif value is not None:
        yield value


def each_statement(name, kind, doc):
    for doc in branches(doc):
        stmts = doc.get("Statement", [])
        for s in stmts if isinstance(stmts, list) else [stmts]:
            for s in branches(s):
                yield name, kind, s


def as_list(value):
    values = []
    for v in branches(value):
        values.extend(v if isinstance(v, list) else [v])
    return [x for v in values for x in branches(v)]


# Actions that have no resource type in IAM's Service Authorization Reference: "*" is the only
# resource they accept, so it is the narrowest one. A statement may use "*" only if every one of
# its actions is here.
STAR_ONLY_ACTIONS = {
    "ec2:DescribeRegions",
    "cloudtrail:DescribeTrails",
    "guardduty:ListDetectors",
    "config:DescribeDeliveryChannels",
    "inspector2:BatchGetAccountStatus",
    "macie2:GetMacieSession",
    "access-analyzer:ListAnalyzers",
    "shield:GetSubscriptionState",
    "shield:DescribeSubscription",
    "fms:GetAdminAccount",
    "events:ListRules",
    "cloudwatch:GetMetricStatistics",
}


def only_star_only_actions(statement):
    actions = as_list(statement.get("Action"))
    return bool(actions) and all(a in STAR_ONLY_ACTIONS for a in actions)


def is_account_admin_of_key(kind, statement):
    """A key policy's statement giving the account (its IAM policies) the key: KMS needs it,
    and a key policy's Resource is always "*" (the key itself)."""
    return kind == "AWS::KMS::Key"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_star_action_or_resource_where_a_narrower_one_exists(path):
    template = load(path)
    found = list(statements(template))
    assert found or "stackset" in path.name, f"{path.name}: no policy statements found"
    problems = []
    for name, kind, s in found:
        if s.get("Effect") != "Allow":
            continue
        for action in as_list(s.get("Action")):
            if action == "*" or (isinstance(action, str) and action.endswith(":*")):
                if not (kind == "AWS::KMS::Key" and action == "kms:*" and is_root(s)):
                    problems.append(f"{name} ({s.get('Sid')}): action {action}")
        for resource in as_list(s.get("Resource")):
            if resource == "*" and not (is_account_admin_of_key(kind, s) or only_star_only_actions(s)):
                problems.append(f"{name} ({s.get('Sid')}): resource *")
        if "NotAction" in s or "NotResource" in s:
            problems.append(f"{name} ({s.get('Sid')}): NotAction/NotResource in an Allow")
        principal = s.get("Principal")
        if principal == "*" or principal == {"AWS": "*"}:
            if "Condition" not in s:
                problems.append(f"{name} ({s.get('Sid')}): any principal without a condition")
    assert not problems, "\n".join(problems)


def is_root(statement):
    principal = statement.get("Principal", {})
    aws = principal.get("AWS") if isinstance(principal, dict) else None
    text = str(aws)
    return ":root" in text


def test_the_policy_check_catches_stars():
    bad = {
        "Resources": {
            "R": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [
                        {
                            "PolicyName": "p",
                            "PolicyDocument": {
                                "Statement": [
                                    {"Effect": "Allow", "Action": "sns:*", "Resource": "*"}
                                ]
                            },
                        }
                    ]
                },
            }
        }
    }
    found = list(statements(bad))
    assert len(found) == 1
    assert as_list(found[0][2]["Action"]) == ["sns:*"]
    # A star-only action does not excuse a star on another action in the same statement.
    assert only_star_only_actions({"Action": ["guardduty:ListDetectors"]})
    assert not only_star_only_actions({"Action": ["guardduty:ListDetectors", "guardduty:GetDetector"]})


def test_detector_role_is_scoped_to_the_stacks_own_resources():
    template = load(ROOT / "deploy" / "cloudformation" / "tamperwatch.yaml")
    role = template["Resources"]["FunctionRole"]["Properties"]
    granted = {}
    for _, _, s in each_statement(
        "FunctionRole",
        "AWS::IAM::Role",
        {"Statement": [st for p in role["Policies"] for b in branches(p) for st in b["PolicyDocument"]["Statement"]]},
    ):
        for action in as_list(s["Action"]):
            granted.setdefault(action, []).extend(as_list(s["Resource"]))
    assert granted["sns:Publish"] == [{"Ref": "AlertTopic"}]
    assert {"Fn::GetAtt": ["EventsQueue", "Arn"]} in granted["sqs:ReceiveMessage"]
    assert granted["dynamodb:PutItem"] == [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]
    assert all(isinstance(r, dict) for r in granted["secretsmanager:GetSecretValue"])
    # Control-plane powers: none for alerting. The scheduled drift checks may read (Describe,
    # Get, List) and auto-remediation, an opt-in policy of its own, may only turn back on.
    control = ("iam:", "lambda:", "events:", "cloudtrail:", "config:", "guardduty:")
    for policy in role["Policies"]:
        for branch in branches(policy):
            name = branch["PolicyName"]
            actions = [
                a
                for st in branch["PolicyDocument"]["Statement"]
                for a in as_list(st.get("Action", []))
                if isinstance(a, str) and a.startswith(control)
            ]
            if name.endswith("-drift"):
                verbs = {a.split(":", 1)[1] for a in actions}
                assert all(v.startswith(("Describe", "Get", "List", "BatchGet")) for v in verbs), verbs
            elif name.endswith("-remediate"):
                assert set(actions) <= {
                    "cloudtrail:StartLogging",
                    "config:StartConfigurationRecorder",
                    "guardduty:UpdateDetector",
                }, actions
            else:
                assert not actions, (name, actions)


# ---- names the self-protection rules key on ----------------------------------------------------

NAME_PROPERTIES = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Events::Rule": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::CloudFormation::StackSet": "StackSetName",
}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_named_resource_starts_with_tamperwatch(path):
    template = load(path)
    for name, resource in template["Resources"].items():
        prop = NAME_PROPERTIES.get(resource["Type"])
        if not prop:
            continue
        value = resource["Properties"].get(prop)
        assert value is not None, f"{name}: unnamed {resource['Type']}"
        text = value if isinstance(value, str) else value.get("Fn::Sub", "")
        assert text.startswith("tamperwatch"), f"{name}: {value}"
    text = path.read_text()
    assert "/aws/lambda/tamperwatch-" in text or "Lambda::Function" not in text


def test_self_protection_rules_fire_on_the_stacks_names():
    """The catalog's self-protection rules recognise the names the templates give."""
    names = {
        "function": "tamperwatch-detector",
        "role": "tamperwatch-detector-us-east-1",
        "topic": "arn:aws:sns:us-east-1:111122223333:tamperwatch-alerts",
        "queue": "https://sqs.us-east-1.amazonaws.com/111122223333/tamperwatch-events",
        "rule": "tamperwatch-cloudtrail-1",
    }
    template = (ROOT / "deploy" / "cloudformation" / "tamperwatch.yaml").read_text()
    assert "FunctionName: tamperwatch-detector" in template
    assert "RoleName: !Sub tamperwatch-detector-${AWS::Region}" in template
    assert "TopicName: tamperwatch-alerts" in template
    assert "QueueName: tamperwatch-events" in template
    records = [
        ("lambda.amazonaws.com", "DeleteFunction20150331", {"functionName": names["function"]}),
        ("iam.amazonaws.com", "DeleteRolePolicy", {"roleName": names["role"], "policyName": "x"}),
        ("sns.amazonaws.com", "DeleteTopic", {"topicArn": names["topic"]}),
        ("sqs.amazonaws.com", "DeleteQueue", {"queueUrl": names["queue"]}),
        ("events.amazonaws.com", "DisableRule", {"name": names["rule"]}),
        ("cloudformation.amazonaws.com", "DeleteStack", {"stackName": "tamperwatch"}),
    ]
    lines = "\n".join(
        json.dumps(
            {
                "eventVersion": "1.09",
                "eventTime": "2026-11-30T08:00:00Z",
                "eventSource": source,
                "eventName": name,
                "eventType": "AwsApiCall",
                "awsRegion": "us-east-1",
                "eventID": f"00000000-0000-0000-0000-{i:012d}",
                "recipientAccountId": "111122223333",
                "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/mallory"},
                "requestParameters": params,
            }
        )
        for i, (source, name, params) in enumerate(records)
    )
    binary = os.environ.get("TAMPERWATCH_BIN")
    cmd = [binary] if binary else ["cargo", "run", "-q", "-p", "tamperwatch-cli", "--"]
    result = subprocess.run(
        cmd + ["scan", "--format", "jsonl", "-q", "-"],
        input=lines + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    fired = {f["event"]["eventID"] for f in found if "tamperwatch" in f["rule"]["title"]}
    expected = {f"00000000-0000-0000-0000-{i:012d}" for i in range(len(records))}
    assert fired == expected, result.stdout


def test_the_deploy_test_event_fires_a_rule(patterns):
    """deploy/test-event.json, which the README has users send to the deployed Lambda, is an
    EventBridge event the catalog alerts on and the patterns let through."""
    binary = os.environ.get("TAMPERWATCH_BIN")
    cmd = [binary] if binary else ["cargo", "run", "-q", "-p", "tamperwatch-cli", "--"]
    path = ROOT / "deploy" / "test-event.json"
    result = subprocess.run(
        cmd + ["scan", "--format", "jsonl", "-q", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    findings = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [f["event"]["eventName"] for f in findings] == ["StopLogging"]
    from test_eventbridge_moto import reference_match

    event = json.loads(path.read_text())
    assert any(reference_match(p, event) for p in patterns)
