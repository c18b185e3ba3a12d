# The backstop for drain events that never arrived (docs/contracts.md "Backstop"): every
# minute a schedule starts the sweeper function with the backstop's input instead of a
# sweep; that run visits one slice of the opted-in services (each once per
# var.backstop_round_minutes), lists their stopping tasks and records the drains the
# ledger lacks. Its calls are paced inside 10 % of each account API bucket (README).
locals {
  backstop_rule_name = "${var.name_prefix}-backstop"
  # serverless.backstop.plan.BACKSTOP_EVENT
  backstop_input = { source = "drain-terminator", "detail-type" = "Backstop" }
}

resource "aws_cloudwatch_event_rule" "backstop" {
  count = var.backstop_enabled ? 1 : 0

  name                = local.backstop_rule_name
  description         = "Finds drains no event reported: runs ${local.sweeper_name} with the backstop input every minute."
  schedule_expression = "rate(1 minute)"
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "backstop" {
  count = var.backstop_enabled ? 1 : 0

  rule      = aws_cloudwatch_event_rule.backstop[0].name
  target_id = "backstop"
  arn       = aws_lambda_function.this["sweeper"].arn
  input     = jsonencode(local.backstop_input)

  # As the sweeper's ticks: the next minute's run replaces a lost one.
  retry_policy {
    maximum_event_age_in_seconds = local.functions.sweeper.delivery.maximum_event_age_in_seconds
    maximum_retry_attempts       = local.functions.sweeper.delivery.maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_lambda_permission" "backstop" {
  count = var.backstop_enabled ? 1 : 0

  statement_id  = "AllowEventBridgeBackstop"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["sweeper"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.backstop[0].arn
}
