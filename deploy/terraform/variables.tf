# The same parameters as deploy/cloudformation/tamperwatch.yaml.

variable "code_bucket" {
  description = "S3 bucket holding the Lambda zip (scripts/package-lambda.sh builds it), in this region."
  type        = string
}

variable "code_key" {
  description = "Key of the Lambda zip in code_bucket, e.g. tamperwatch/tamperwatch-lambda-arm64.zip."
  type        = string
}

variable "architecture" {
  description = "The architecture the zip was built for: arm64 or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "alert_email" {
  description = "Email address subscribed to the alert topic (confirm the subscription email). Empty for none."
  type        = string
  default     = ""
}

variable "alert_sms" {
  description = "Phone number (E.164) subscribed to the alert topic by SMS. Empty for none."
  type        = string
  default     = ""
}

variable "alert_https_url" {
  description = "HTTPS endpoint subscribed to the alert topic (e.g. OpsGenie's SNS integration URL). Empty for none."
  type        = string
  default     = ""
}

variable "slack_webhook_url" {
  description = "Slack incoming-webhook URL, stored in Secrets Manager. Empty for none."
  type        = string
  default     = ""
  sensitive   = true
}

variable "teams_webhook_url" {
  description = "Microsoft Teams Workflows webhook URL, stored in Secrets Manager. Empty for none."
  type        = string
  default     = ""
  sensitive   = true
}

variable "opsgenie_api_key" {
  description = "OpsGenie API integration key, stored in Secrets Manager. Empty for none."
  type        = string
  default     = ""
  sensitive   = true
}

variable "opsgenie_region" {
  description = "OpsGenie instance: us or eu."
  type        = string
  default     = "us"
}

variable "pagerduty_routing_key" {
  description = "PagerDuty Events API v2 routing key, stored in Secrets Manager. Empty for none."
  type        = string
  default     = ""
  sensitive   = true
}

variable "webhook_url" {
  description = "Generic webhook URL, stored in Secrets Manager. Empty for none."
  type        = string
  default     = ""
  sensitive   = true
}

variable "webhook_secret" {
  description = "Key of the generic webhook's HMAC-SHA256 signature, stored in Secrets Manager. Empty for none."
  type        = string
  default     = ""
  sensitive   = true
}

variable "smtp_host" {
  description = "SMTP server for email alerts sent by the Lambda itself. Empty for none."
  type        = string
  default     = ""
}

variable "smtp_port" {
  description = "SMTP port."
  type        = number
  default     = 587
}

variable "smtp_username" {
  description = "SMTP user name."
  type        = string
  default     = ""
}

variable "smtp_password" {
  description = "SMTP password, stored in Secrets Manager. Empty for none."
  type        = string
  default     = ""
  sensitive   = true
}

variable "smtp_from" {
  description = "Sender address of SMTP alerts."
  type        = string
  default     = ""
}

variable "smtp_to" {
  description = "Recipients of SMTP alerts, comma-separated."
  type        = string
  default     = ""
}

variable "min_level" {
  description = "Lowest rule level sent to the channels: informational, low, medium, high or critical."
  type        = string
  default     = "low"
}

variable "account_aliases" {
  description = "Account names shown in alerts, e.g. 111122223333=prod,444455556666=dev."
  type        = string
  default     = ""
}

variable "digest_channels" {
  description = "Channels that get a daily digest (00:05 UTC) of suppressed and staged findings, by type, comma-separated (sns, slack, teams, opsgenie, pagerduty, webhook, smtp, log). Empty for none."
  type        = string
  default     = ""
}

variable "enable_idempotency" {
  description = "Keep a DynamoDB table of delivered alerts (one alert per event and channel, across retries and both paths)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Retention of the Lambda's log group."
  type        = number
  default     = 90
}

variable "organization_id" {
  description = "Organization id (o-...) to watch the whole organization through a central event bus. Empty: this account only."
  type        = string
  default     = ""
}

variable "cloudtrail_bucket_name" {
  description = "The CloudTrail bucket, to also scan its log files (reconciliation). Empty to skip."
  type        = string
  default     = ""
}

variable "cloudtrail_bucket_account_id" {
  description = "Account owning cloudtrail_bucket_name (empty = this account)."
  type        = string
  default     = ""
}

variable "cloudtrail_kms_key_arn" {
  description = "KMS key encrypting the CloudTrail log files, if any."
  type        = string
  default     = ""
}

variable "cloudtrail_sns_topic_arn" {
  description = "The trail's own SNS topic, subscribed to the reconciliation queue (no change to the bucket needed). Empty: use an S3 event notification instead."
  type        = string
  default     = ""
}

variable "drift_schedule" {
  description = "How often the Lambda checks that the security services are on and alerts when a check breaks or recovers, e.g. rate(1 hour). Empty: no drift alerts. Needs enable_idempotency."
  type        = string
  default     = "rate(1 hour)"
}

variable "drift_regions" {
  description = "Regions the drift check covers, comma-separated, or \"all\". Empty = this region."
  type        = string
  default     = ""
}

variable "auto_remediate" {
  description = "\"true\" to reverse StopLogging, StopConfigurationRecorder and GuardDuty UpdateDetector enable=false in this account (adds its own IAM statements)."
  type        = string
  default     = "false"

  validation {
    condition     = contains(["true", "false"], var.auto_remediate)
    error_message = "auto_remediate is \"true\" or \"false\"."
  }
}
