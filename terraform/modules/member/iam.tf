# The member role: what the hub's functions do in this account, and nothing else
# (statements from ../../patterns/member-role.json, see documents.tf).
data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "HubFunctions"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    # The hub account, narrowed to its function roles by aws:PrincipalArn below.
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.hub_account_id}:root"]
    }

    dynamic "condition" {
      for_each = local.trust_conditions

      content {
        test     = condition.value.test
        variable = condition.value.variable
        values   = condition.value.values
      }
    }
  }
}

data "aws_iam_policy_document" "member" {
  dynamic "statement" {
    for_each = local.statements

    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role" "member" {
  name                 = local.role_name
  path                 = var.role_path
  description          = "Assumed by the ecs-drain-terminator hub's functions to act on this account's ECS tasks in ${local.region}."
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  permissions_boundary = var.role_permissions_boundary
  max_session_duration = 3600
  tags                 = local.tags

  lifecycle {
    precondition {
      condition     = var.external_id != null || var.organization_id != null
      error_message = "Set external_id and/or organization_id: the member role's trust needs a confused-deputy guard (sts:ExternalId, aws:PrincipalOrgID)."
    }
  }
}

resource "aws_iam_role_policy" "member" {
  name   = "drain-terminator"
  role   = aws_iam_role.member.id
  policy = data.aws_iam_policy_document.member.json
}
