# Many accounts: this deployment as the hub of its region (README, "Many accounts").
# Nothing here exists unless member_account_ids or member_organization_id is set, so a
# single-account deployment plans exactly as before.
#
# - A dedicated bus (<name_prefix>-members) receives the members' forwarded task state
#   changes. Not the default bus: aws_cloudwatch_event_bus_policy owns a bus's whole
#   policy (on the default bus it would overwrite whatever else grants access there), and
#   events accepted on the default bus would reach every rule of this account; the
#   dedicated bus has one policy and one rule, both ours. Its policy accepts only ECS task
#   state changes (events:source, events:detail-type), which no account can put by hand.
# - Its rule uses the unnarrowed pattern: each member narrows to its own clusters at the
#   source, and task-events counts events of accounts it does not list as rejected.
# - The functions' roles may sts:AssumeRole only into the member role of the listed
#   accounts (in this region: the member role's name carries it).
# The names and account list are in accounts.tf.
resource "aws_cloudwatch_event_bus" "members" {
  count = local.hub_enabled ? 1 : 0

  name = local.member_bus_name
  tags = local.tags

  lifecycle {
    precondition {
      condition     = !contains(var.member_account_ids, local.account_id)
      error_message = "member_account_ids lists this deployment's own account: the hub acts on its own clusters directly (cluster_arns); list only the other accounts."
    }
  }
}

data "aws_iam_policy_document" "member_bus" {
  count = local.hub_enabled ? 1 : 0

  dynamic "statement" {
    for_each = length(var.member_account_ids) > 0 ? [var.member_account_ids] : []

    content {
      sid       = "MemberAccounts"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [local.member_bus_arn]

      principals {
        type        = "AWS"
        identifiers = [for account in statement.value : "arn:${local.partition}:iam::${account}:root"]
      }

      dynamic "condition" {
        for_each = local.member_event_conditions

        content {
          test     = "StringEquals"
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }

  dynamic "statement" {
    for_each = var.member_organization_id == null ? [] : [var.member_organization_id]

    content {
      sid       = "Organization"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [local.member_bus_arn]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [statement.value]
      }

      dynamic "condition" {
        for_each = local.member_event_conditions

        content {
          test     = "StringEquals"
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "members" {
  count = local.hub_enabled ? 1 : 0

  event_bus_name = aws_cloudwatch_event_bus.members[0].name
  policy         = data.aws_iam_policy_document.member_bus[0].json
}

resource "aws_cloudwatch_event_rule" "members" {
  count = local.hub_enabled ? 1 : 0

  name           = local.member_rule_name
  description    = "ECS service tasks of member accounts that start draining or stop: ${local.task_events_name}."
  event_bus_name = aws_cloudwatch_event_bus.members[0].name
  event_pattern  = jsonencode(local.task_state_change_base)
  tags           = local.tags
}

resource "aws_cloudwatch_event_target" "members" {
  count = local.hub_enabled ? 1 : 0

  rule           = aws_cloudwatch_event_rule.members[0].name
  event_bus_name = aws_cloudwatch_event_rule.members[0].event_bus_name
  target_id      = "task-events"
  arn            = aws_lambda_function.this["task-events"].arn

  retry_policy {
    maximum_event_age_in_seconds = local.functions["task-events"].delivery.maximum_event_age_in_seconds
    maximum_retry_attempts       = local.functions["task-events"].delivery.maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_lambda_permission" "members" {
  count = local.hub_enabled ? 1 : 0

  statement_id  = "AllowMemberBus"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["task-events"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.members[0].arn
}

# ------------------------------------------------------------- assuming the member roles
data "aws_iam_policy_document" "assume_members" {
  count = length(var.member_account_ids) > 0 ? 1 : 0

  statement {
    sid       = "AssumeMemberRoles"
    effect    = "Allow"
    actions   = ["sts:AssumeRole"]
    resources = local.member_role_arns
  }
}

resource "aws_iam_role_policy" "assume_members" {
  for_each = length(var.member_account_ids) > 0 ? toset(keys(local.functions)) : toset([])

  name   = "assume-member-roles"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.assume_members[0].json

  lifecycle {
    precondition {
      condition     = var.member_external_id != null || var.member_organization_id != null
      error_message = "Set member_external_id and/or member_organization_id: the member roles' trust needs a confused-deputy guard (sts:ExternalId, aws:PrincipalOrgID)."
    }
  }
}
