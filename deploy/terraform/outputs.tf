output "alert_topic_arn" {
  description = "The alert topic (TAMPERWATCH_SNS_TOPIC_ARN for tamperwatch notify --test)."
  value       = aws_sns_topic.alerts.arn
}

output "function_name" {
  description = "The tamperwatch Lambda."
  value       = aws_lambda_function.detector.function_name
}

output "events_queue_url" {
  description = "The queue between EventBridge and the Lambda."
  value       = aws_sqs_queue.events.id
}

output "home_event_bus_arn" {
  description = "Where the forwarders of other regions (or member accounts) send events."
  value       = local.organization_mode ? join("", aws_cloudwatch_event_bus.organization[*].arn) : "arn:${local.partition}:events:${local.region}:${local.account}:event-bus/default"
}

output "reconcile_queue_arn" {
  description = "Without cloudtrail_sns_topic_arn, send the CloudTrail bucket's s3:ObjectCreated:* notifications (prefix AWSLogs/) here."
  value       = one(aws_sqs_queue.reconcile[*].arn)
}

output "dead_letter_queue_arn" {
  description = "The dead-letter queue (tamperwatch check --tamperwatch-dlq)."
  value       = aws_sqs_queue.dead_letter.arn
}
