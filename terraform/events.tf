# The trigger of each function (local.functions in functions.tf): a rule on the default
# bus (the task-events pattern or the sweeper's schedule), its target with a retry
# policy and the dead-letter queue, and the permission for EventBridge to invoke.
resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.functions

  name                = each.value.rule.name
  description         = each.value.rule.description
  event_bus_name      = each.value.rule.event_pattern == null ? null : "default"
  event_pattern       = each.value.rule.event_pattern
  schedule_expression = each.value.rule.schedule_expression
  tags                = local.tags

  lifecycle {
    precondition {
      condition     = each.key != "task-events" || length(local.unservable_clusters) == 0
      error_message = "cluster_arns lists clusters this deployment can never serve: ${join(", ", local.unservable_clusters)}. ECS sends a cluster's task state changes only to the event bus of its own account and region; this deployment is in region ${local.region} and serves accounts ${join(", ", local.accounts)}. Deploy the module once per region (a provider per region), and list another account of this region in member_account_ids (it runs terraform/modules/member)."
    }
  }
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.functions

  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = aws_cloudwatch_event_rule.this[each.key].event_bus_name
  target_id      = each.key
  arn            = aws_lambda_function.this[each.key].arn

  retry_policy {
    maximum_event_age_in_seconds = each.value.delivery.maximum_event_age_in_seconds
    maximum_retry_attempts       = each.value.delivery.maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_lambda_permission" "this" {
  for_each = local.functions

  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}

# ---------------------------------------------------------------- dead-letter queue
# Receives events EventBridge could not deliver (targets' DLQ) and asynchronous
# invocations the functions failed after Lambda's own retries (functions' DLQ).
resource "aws_sqs_queue" "dead_letter" {
  name                      = local.dead_letter_name
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
    resources = [local.dead_letter_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values = concat(
        [for function in local.functions : "${local.arn_prefix.events}:rule/${function.rule.name}"],
        local.member_rule_arns, # the member bus's rule (hub.tf), when there is one
        var.backstop_enabled ? ["${local.arn_prefix.events}:rule/${local.backstop_rule_name}"] : [],
      )
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"]
    resources = [local.dead_letter_arn]

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
