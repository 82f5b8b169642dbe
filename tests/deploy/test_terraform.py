"""The Terraform module, as far as can be checked without a terraform binary: it parses
(python-hcl2), has the CloudFormation template's parameters as variables, reads the generated
patterns, and grants no star where a narrower one exists."""

import re

import hcl2
import pytest

from conftest import ROOT
from test_templates import STAR_ONLY_ACTIONS, load

TF = ROOT / "deploy" / "terraform"


def parse(path):
    with open(path) as f:
        return hcl2.load(f)


@pytest.mark.parametrize("path", sorted(TF.rglob("*.tf")), ids=lambda p: str(p.relative_to(TF)))
def test_terraform_parses(path):
    parse(path)


def snake(name):
    for word, flat in [("OpsGenie", "Opsgenie"), ("PagerDuty", "Pagerduty"), ("CloudTrail", "Cloudtrail")]:
        name = name.replace(word, flat)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_variables_are_the_templates_parameters():
    template = load(ROOT / "deploy" / "cloudformation" / "tamperwatch.yaml")
    parameters = {snake(p) for p in template["Parameters"]}
    variables = {
        name.strip('"') for block in parse(TF / "variables.tf")["variable"] for name in block
    }
    assert variables == parameters


def test_rules_come_from_the_generated_patterns_file():
    text = (TF / "main.tf").read_text() + (TF / "forwarder" / "main.tf").read_text()
    assert text.count('jsondecode(file("${path.module}') == 2
    assert "count          = length(local.event_patterns)" in text


def test_no_star_outside_the_key_policy():
    text = (TF / "main.tf").read_text() + (TF / "forwarder" / "main.tf").read_text()
    stars = [
        line.strip()
        for line in text.splitlines()
        if re.search(r'(actions|resources)\s*=\s*\[[^\]]*"\*"', line)
    ]
    # The KMS key policy: kms:* for the account (keeps the key manageable), and "*" as the
    # resource, which in a key policy is the key itself; and the drift check's calls that have
    # no resource type in IAM, whose statement holds nothing else.
    assert stars == ['resources = ["*"]'] * 3, stars
    assert text.count('"kms:*"') == 1
    star_only = text.split('sid = "CheckCallsWithoutResourceTypes"')[1].split("resources")[0]
    actions = re.findall(r'"([a-z0-9-]+:[A-Za-z]+)"', star_only)
    assert actions and set(actions) <= STAR_ONLY_ACTIONS, actions
