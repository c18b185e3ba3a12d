# Alarms: function errors, events in the dead-letter queue, and the metrics that mean the
# tool did not do its job (StopsFailed, StopsUnconfirmed, StopPrerequisitesMissing).
# Notifications go to the module's SNS topic (var.create_alarm_topic) and/or
# var.alarm_topic_arns.

resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key alias/aws/sns; the topic uses var.kms_key_arn when set (its key policy must allow cloudwatch.amazonaws.com).
  count = var.create_alarm_topic ? 1 : 0

  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = local.tags
}

locals {
  alarm_actions = concat(aws_sns_topic.alarms[*].arn, var.alarm_topic_arns)

  # Powertools Metrics adds the dimension service=<POWERTOOLS_SERVICE_NAME> to every
  # EMF metric (both functions share the service name).
  metric_dimensions = { service = var.service_name }

  stop_metrics = {
    StopsFailed              = "Stop steps failed (StopTask, exec or ssm-signal): draining tasks were not stopped early."
    StopsUnconfirmed         = "Tasks still draining well after the last stop step: the stop action has no effect here (see docs/operations.md, choosing an action)."
    StopPrerequisitesMissing = "exec or ssm-signal lacks a prerequisite (log field missing): those tasks are left to ECS."
  }

  # Every alarm by its name's suffix (<name_prefix>-<key>): what it watches and how it
  # aggregates; the rest (5-minute period, > 0, missing data OK, actions) is shared.
  # Built from names, not resource attributes: the docs test renders it with Terraform.
  alarms = merge(
    {
      for key, function in local.functions : "${key}-errors" => {
        description = "${function.name} returned errors (see its log group)."
        namespace   = "AWS/Lambda"
        metric_name = "Errors"
        dimensions  = { FunctionName = function.name }
        statistic   = "Sum"
      }
    },
    {
      dlq-depth = {
        description = "Events the functions never processed are waiting in ${local.dead_letter_name}."
        namespace   = "AWS/SQS"
        metric_name = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = local.dead_letter_name }
        statistic   = "Maximum"
      }
    },
    {
      for metric, description in local.stop_metrics : metric => {
        description = description
        namespace   = var.metrics_namespace
        metric_name = metric
        dimensions  = local.metric_dimensions
        statistic   = "Sum"
      }
    },
  )
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}
