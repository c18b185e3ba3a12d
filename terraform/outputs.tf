output "table_name" {
  description = "Name of the ledger DynamoDB table."
  value       = aws_dynamodb_table.ledger.name
}

output "table_arn" {
  description = "ARN of the ledger DynamoDB table."
  value       = aws_dynamodb_table.ledger.arn
}

output "task_events_function_name" {
  description = "Name of the task-events Lambda function."
  value       = aws_lambda_function.this["task-events"].function_name
}

output "task_events_function_arn" {
  description = "ARN of the task-events Lambda function."
  value       = aws_lambda_function.this["task-events"].arn
}

output "sweeper_function_name" {
  description = "Name of the sweeper Lambda function."
  value       = aws_lambda_function.this["sweeper"].function_name
}

output "sweeper_function_arn" {
  description = "ARN of the sweeper Lambda function."
  value       = aws_lambda_function.this["sweeper"].arn
}

output "layer_version_arn" {
  description = "ARN (with version) of the Lambda layer holding the third-party dependencies."
  value       = aws_lambda_layer_version.dependencies.arn
}

output "task_state_change_rule_arn" {
  description = "ARN of the EventBridge rule matching ECS task drains and stops."
  value       = aws_cloudwatch_event_rule.this["task-events"].arn
}

output "sweeper_schedule_rule_arn" {
  description = "ARN of the EventBridge schedule (rate(1 minute)) running the sweeper."
  value       = aws_cloudwatch_event_rule.this["sweeper"].arn
}

output "dead_letter_queue_url" {
  description = "URL of the SQS dead-letter queue of the rules' targets and the functions."
  value       = aws_sqs_queue.dead_letter.id
}

output "dead_letter_queue_arn" {
  description = "ARN of the SQS dead-letter queue."
  value       = aws_sqs_queue.dead_letter.arn
}

output "task_events_role_arn" {
  description = "ARN of the task-events function's IAM role."
  value       = aws_iam_role.this["task-events"].arn
}

output "sweeper_role_arn" {
  description = "ARN of the sweeper function's IAM role."
  value       = aws_iam_role.this["sweeper"].arn
}

output "log_group_names" {
  description = "CloudWatch log groups of the functions, by function."
  value = {
    task_events = aws_cloudwatch_log_group.this["task-events"].name
    sweeper     = aws_cloudwatch_log_group.this["sweeper"].name
  }
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify, when create_alarm_topic is true (else null)."
  value       = one(aws_sns_topic.alarms[*].arn)
}

output "tag_prefix" {
  description = "Prefix of the service tags that opt a service in (e.g. <prefix>enabled = true)."
  value       = var.tag_prefix
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard, when create_dashboard is true (else null)."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard, when create_dashboard is true (else null)."
  value = (
    var.create_dashboard
    ? "https://${local.console_host[local.partition]}/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this[0].dashboard_name}"
    : null
  )
}
