#!/usr/bin/env python3
"""Writes the EventBridge patterns of `tamperwatch rules export --format eventbridge` into the
deploy templates, or with --check fails (exit 1, with a diff) when a template has drifted.

    deploy/update-patterns.py [--check] [--patterns FILE]

Without --patterns it runs `cargo run -q -p tamperwatch-cli -- rules export --format
eventbridge` (or $TAMPERWATCH_BIN, if set). The CloudFormation templates carry one
AWS::Events::Rule per pattern between the GENERATED markers; Terraform reads the patterns from
deploy/terraform/event-patterns.json.
"""

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "  # BEGIN GENERATED EVENTBRIDGE RULES"
END = "  # END GENERATED EVENTBRIDGE RULES"

# One EventBridge rule per pattern. {n}: 1-based number, {count}: how many, {pattern}: the
# pattern as compact JSON (valid YAML flow).
MAIN_RULE = """\
  EventRule{n}:
    Type: AWS::Events::Rule
    Properties:
      Name: tamperwatch-cloudtrail-{n}
      Description: CloudTrail events a tamperwatch rule may alert on ({n} of {count}; generated)
      EventBusName: !If [OrganizationMode, !Ref OrganizationEventBus, default]
      State: ENABLED
      EventPattern: {pattern}
      Targets:
        - Id: tamperwatch-events
          Arn: !GetAtt EventsQueue.Arn
          DeadLetterConfig:
            Arn: !GetAtt EventsDeadLetterQueue.Arn
          RetryPolicy:
            MaximumEventAgeInSeconds: 86400
            MaximumRetryAttempts: 185
"""

FORWARD_RULE = """\
  ForwardRule{n}:
    Type: AWS::Events::Rule
    Properties:
      Name: tamperwatch-forward-{n}
      Description: CloudTrail events a tamperwatch rule may alert on, to the home bus ({n} of {count}; generated)
      EventBusName: default
      State: ENABLED
      EventPattern: {pattern}
      Targets:
        - Id: tamperwatch-home-bus
          Arn: !Ref HomeEventBusArn
          RoleArn: !GetAtt ForwarderRole.Arn
          DeadLetterConfig:
            Arn: !GetAtt ForwarderDeadLetterQueue.Arn
          RetryPolicy:
            MaximumEventAgeInSeconds: 86400
            MaximumRetryAttempts: 185
"""

TEMPLATES = {
    "deploy/cloudformation/tamperwatch.yaml": MAIN_RULE,
    "deploy/cloudformation/tamperwatch-forwarder.yaml": FORWARD_RULE,
}
TERRAFORM_PATTERNS = "deploy/terraform/event-patterns.json"


def export_patterns(path):
    if path:
        text = Path(path).read_text()
    else:
        binary = os.environ.get("TAMPERWATCH_BIN")
        cmd = (
            [binary]
            if binary
            else ["cargo", "run", "-q", "-p", "tamperwatch-cli", "--"]
        )
        cmd += ["rules", "export", "--format", "eventbridge"]
        text = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    patterns = json.loads(text)
    assert isinstance(patterns, list) and patterns, "no patterns exported"
    return patterns, text


def compact(pattern):
    return json.dumps(pattern, separators=(",", ":"))


def render(template_text, rule, patterns):
    start = template_text.index(BEGIN)
    start = template_text.index("\n", start) + 1
    end = template_text.index(END)
    block = "\n".join(
        rule.format(n=i + 1, count=len(patterns), pattern=compact(p))
        for i, p in enumerate(patterns)
    )
    return template_text[:start] + block + template_text[end:]


def main(argv):
    check = "--check" in argv
    path = None
    if "--patterns" in argv:
        path = argv[argv.index("--patterns") + 1]
    patterns, text = export_patterns(path)
    wanted = {rel: None for rel in TEMPLATES}
    for rel, rule in TEMPLATES.items():
        wanted[rel] = render((ROOT / rel).read_text(), rule, patterns)
    wanted[TERRAFORM_PATTERNS] = text
    drifted = []
    for rel, new in wanted.items():
        target = ROOT / rel
        old = target.read_text() if target.exists() else ""
        if old == new:
            continue
        drifted.append(rel)
        if check:
            sys.stdout.writelines(
                difflib.unified_diff(
                    old.splitlines(True), new.splitlines(True), rel, rel + " (generated)"
                )
            )
        else:
            target.write_text(new)
            print(f"updated {rel}")
    if check and drifted:
        print(
            "\nThe deploy templates differ from `tamperwatch rules export --format eventbridge`:"
            " run deploy/update-patterns.py and commit the result.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
