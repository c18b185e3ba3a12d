output "table_name" {
  description = "Name of the ledger DynamoDB table."
  value       = aws_dynamodb_table.ledger.name
}

output "table_arn" {
  description = "ARN of the ledger DynamoDB table."
  value       = aws_dynamodb_table.ledger.arn
}

output "functions" {
  description = "The two functions by key (task-events, sweeper): name, arn, role_arn, log_group_name and rule_arn (the task-state-change rule, or the rate(1 minute) schedule of the sweeper)."
  value = {
    for key, function in local.functions : key => {
      name           = aws_lambda_function.this[key].function_name
      arn            = aws_lambda_function.this[key].arn
      role_arn       = aws_iam_role.this[key].arn
      log_group_name = aws_cloudwatch_log_group.this[key].name
      rule_arn       = aws_cloudwatch_event_rule.this[key].arn
    }
  }
}

output "layer_version_arn" {
  description = "ARN (with version) of the Lambda layer holding the third-party dependencies."
  value       = aws_lambda_layer_version.dependencies.arn
}

output "backstop_rule_arn" {
  description = "ARN of the EventBridge schedule running the backstop (null when backstop_enabled is false)."
  value       = one(aws_cloudwatch_event_rule.backstop[*].arn)
}

output "dead_letter_queue_url" {
  description = "URL of the SQS dead-letter queue of the rules' targets and the functions."
  value       = aws_sqs_queue.dead_letter.id
}

output "dead_letter_queue_arn" {
  description = "ARN of the SQS dead-letter queue."
  value       = aws_sqs_queue.dead_letter.arn
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

# ---------------------------------------------------- many accounts (null unless a hub)
output "member_event_bus_arn" {
  description = "ARN of the bus members forward their task state changes to (the member module's hub_event_bus_arn); null unless member_account_ids or member_organization_id is set."
  value       = one(aws_cloudwatch_event_bus.members[*].arn)
}

output "member_trusted_role_arns" {
  description = "ARNs of the function roles the member roles must trust (the member module's hub_role_arns); null unless this deployment is a hub."
  value       = local.hub_enabled ? [for key in sort(keys(local.functions)) : aws_iam_role.this[key].arn] : null
}

output "member_external_id" {
  description = "External id the functions pass when assuming a member role (the member module's external_id); null when none is set."
  value       = var.member_external_id
}

output "member_role_name" {
  description = "Name of the member role the functions assume in each member account (the member module's role_name default in this region); null unless this deployment is a hub."
  value       = local.hub_enabled ? local.member_role_name : null
}
