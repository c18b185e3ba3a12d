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
  value       = aws_lambda_function.task_events.function_name
}

output "task_events_function_arn" {
  description = "ARN of the task-events Lambda function."
  value       = aws_lambda_function.task_events.arn
}

output "sweeper_function_name" {
  description = "Name of the sweeper Lambda function."
  value       = aws_lambda_function.sweeper.function_name
}

output "sweeper_function_arn" {
  description = "ARN of the sweeper Lambda function."
  value       = aws_lambda_function.sweeper.arn
}

output "layer_version_arn" {
  description = "ARN (with version) of the Lambda layer holding the dependencies and the serverless package."
  value       = aws_lambda_layer_version.runtime.arn
}

output "task_state_change_rule_arn" {
  description = "ARN of the EventBridge rule matching ECS task drains and stops."
  value       = aws_cloudwatch_event_rule.task_state_change.arn
}

output "sweeper_schedule_rule_arn" {
  description = "ARN of the EventBridge schedule (rate(1 minute)) running the sweeper."
  value       = aws_cloudwatch_event_rule.sweeper_schedule.arn
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
  value       = aws_iam_role.task_events.arn
}

output "sweeper_role_arn" {
  description = "ARN of the sweeper function's IAM role."
  value       = aws_iam_role.sweeper.arn
}

output "log_group_names" {
  description = "CloudWatch log groups of the functions, by function."
  value = {
    task_events = aws_cloudwatch_log_group.task_events.name
    sweeper     = aws_cloudwatch_log_group.sweeper.name
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
