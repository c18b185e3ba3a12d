# ----------------------------------------------------------------------------- rules
# ECS task state changes the code acts on: a service task starting to drain
# (desiredStatus STOPPED while RUNNING/DEACTIVATING) or stopped. See event_pattern.tf.
resource "aws_cloudwatch_event_rule" "task_state_change" {
  name           = "${var.name_prefix}-task-state-change"
  description    = "ECS service tasks that start draining or stop: ${local.task_events_name}."
  event_bus_name = "default"
  event_pattern  = jsonencode(local.task_state_change_pattern)
  tags           = local.tags
}

# The sweeper stops tasks whose wait is over; it runs once a minute (the finest
# EventBridge schedule) and meets deadlines inside the minute itself.
resource "aws_cloudwatch_event_rule" "sweeper_schedule" {
  name                = "${var.name_prefix}-sweeper"
  description         = "Runs ${local.sweeper_name} every minute."
  schedule_expression = "rate(1 minute)"
  tags                = local.tags
}

# --------------------------------------------------------------------------- targets
resource "aws_cloudwatch_event_target" "task_events" {
  rule           = aws_cloudwatch_event_rule.task_state_change.name
  event_bus_name = aws_cloudwatch_event_rule.task_state_change.event_bus_name
  target_id      = "task-events"
  arn            = aws_lambda_function.task_events.arn

  # A drain event is still useful late (the sweeper catches up), so retry for an hour.
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_cloudwatch_event_target" "sweeper" {
  rule      = aws_cloudwatch_event_rule.sweeper_schedule.name
  target_id = "sweeper"
  arn       = aws_lambda_function.sweeper.arn

  # A tick is replaced by the next one a minute later: never retry it for long.
  retry_policy {
    maximum_event_age_in_seconds = 60
    maximum_retry_attempts       = 2
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_lambda_permission" "task_events" {
  statement_id  = "AllowEventBridgeTaskStateChange"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.task_events.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.task_state_change.arn
}

resource "aws_lambda_permission" "sweeper" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.sweeper.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweeper_schedule.arn
}

# ---------------------------------------------------------------- dead-letter queue
# Receives events EventBridge could not deliver (targets' DLQ) and asynchronous
# invocations the functions failed after Lambda's own retries (functions' DLQ).
resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name_prefix}-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum: time to investigate.

  # SQS-managed SSE unless a customer key is given (whose key policy must then allow
  # events.amazonaws.com kms:GenerateDataKey and kms:Decrypt, see README).
  sqs_managed_sse_enabled = var.kms_key_arn == null ? true : null
  kms_master_key_id       = var.kms_key_arn

  tags = local.tags
}

data "aws_iam_policy_document" "dead_letter" {
  statement {
    sid       = "EventBridgeTargetsDeadLetter"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values = [
        aws_cloudwatch_event_rule.task_state_change.arn,
        aws_cloudwatch_event_rule.sweeper_schedule.arn,
      ]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy    = data.aws_iam_policy_document.dead_letter.json
}
