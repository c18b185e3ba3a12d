# Forwarding: this account's task state changes (the root module's pattern, narrowed to
# cluster_names) go to the hub's member bus. A cross-account bus target needs a role
# that may events:PutEvents there.
resource "aws_cloudwatch_event_rule" "forward" {
  name           = local.forward_rule_name
  description    = "ECS service tasks that start draining or stop, forwarded to the ecs-drain-terminator hub."
  event_bus_name = "default"
  event_pattern  = jsonencode(local.forward_pattern)
  tags           = local.tags

  lifecycle {
    precondition {
      condition     = split(":", var.hub_event_bus_arn)[3] == local.region
      error_message = "hub_event_bus_arn must be in this member's region: one hub per region (see the README, \"Many accounts\")."
    }
  }
}

resource "aws_cloudwatch_event_target" "forward" {
  rule           = aws_cloudwatch_event_rule.forward.name
  event_bus_name = aws_cloudwatch_event_rule.forward.event_bus_name
  target_id      = "hub"
  arn            = var.hub_event_bus_arn
  role_arn       = aws_iam_role.forward.arn
}

data "aws_iam_policy_document" "forward_trust" {
  statement {
    sid     = "EventBridgeForwardRule"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.forward_rule_arn]
    }
  }
}

data "aws_iam_policy_document" "forward" {
  statement {
    sid       = "PutToHubBus"
    effect    = "Allow"
    actions   = ["events:PutEvents"]
    resources = [var.hub_event_bus_arn]
  }
}

resource "aws_iam_role" "forward" {
  name                 = local.forwarder_role_name
  path                 = var.role_path
  description          = "Lets the ${local.forward_rule_name} rule put events on the ecs-drain-terminator hub's bus."
  assume_role_policy   = data.aws_iam_policy_document.forward_trust.json
  permissions_boundary = var.role_permissions_boundary
  tags                 = local.tags
}

resource "aws_iam_role_policy" "forward" {
  name   = "put-to-hub"
  role   = aws_iam_role.forward.id
  policy = data.aws_iam_policy_document.forward.json
}
