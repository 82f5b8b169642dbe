# tamperwatch forwarder: the same resources as deploy/cloudformation/tamperwatch-forwarder.yaml.
# Use one instance per other region (a provider alias per region), or per member account and
# region of an organization, forwarding to the tamperwatch module's home_event_bus_arn.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40"
    }
  }
}

variable "home_event_bus_arn" {
  description = "The event bus to forward to: output home_event_bus_arn of the tamperwatch module."
  type        = string
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name

  event_patterns = jsondecode(file("${path.module}/../event-patterns.json"))
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

data "aws_iam_policy_document" "forward" {
  statement {
    sid       = "HomeBus"
    actions   = ["events:PutEvents"]
    resources = [var.home_event_bus_arn]
  }
}

resource "aws_iam_role" "forwarder" {
  name               = "tamperwatch-forwarder-${local.region}"
  description        = "Lets this region's tamperwatch rules put events on the home event bus, and nothing else"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "forwarder" {
  name   = "tamperwatch-forward"
  role   = aws_iam_role.forwarder.id
  policy = data.aws_iam_policy_document.forward.json
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "tamperwatch-forward-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
}

data "aws_iam_policy_document" "dead_letter" {
  statement {
    sid       = "TamperwatchForwardRules"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:events:${local.region}:${local.account}:rule/tamperwatch-forward-*"]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy    = data.aws_iam_policy_document.dead_letter.json
}

resource "aws_cloudwatch_event_rule" "forward" {
  count          = length(local.event_patterns)
  name           = "tamperwatch-forward-${count.index + 1}"
  description    = "CloudTrail events a tamperwatch rule may alert on, to the home bus (${count.index + 1} of ${length(local.event_patterns)}; generated)"
  event_bus_name = "default"
  event_pattern  = jsonencode(local.event_patterns[count.index])
}

resource "aws_cloudwatch_event_target" "forward" {
  count     = length(local.event_patterns)
  rule      = aws_cloudwatch_event_rule.forward[count.index].name
  target_id = "tamperwatch-home-bus"
  arn       = var.home_event_bus_arn
  role_arn  = aws_iam_role.forwarder.arn

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

output "dead_letter_queue_url" {
  description = "Events that could not be forwarded (watch its depth)."
  value       = aws_sqs_queue.dead_letter.id
}
