# One role per function, each allowed exactly the calls in docs/contracts.md.
#
# Cluster scoping (var.cluster_arns, see scope.tf):
# - ecs:StopTask and ecs:DescribeTasks: task ARNs under the listed clusters AND the
#   ecs:cluster condition key; old-format task ARNs (task/<id>) by the condition key
#   alone; with an empty list, tasks of every cluster of this account in this region.
# - ecs:ListTasks (backstop): the ecs:cluster condition key; tag:GetResources supports
#   no resource-level permissions.
# - ecs:DescribeServices and ecs:ListTagsForResource: service ARNs under the listed
#   clusters (every cluster of this account and region when the list is empty).
# - elasticloadbalancing:DescribeTargetHealth and the X-Ray actions support no
#   resource-level permissions: resource "*" is the only valid value (never action "*").
# - DynamoDB: the ledger table and, for Query, its due-index.
# - Logs: the function's own log group.
# - Stop actions, only when their variable turns them on: ecs:ExecuteCommand on the
#   clusters and their tasks (ecs:cluster, ecs:container-name conditions) and
#   ssmmessages:OpenDataChannel and ssm:TerminateSession on ECS Exec sessions
#   (var.exec_enabled); ssm:SendCommand on the AWS-RunShellScript document and this
#   account's instances tagged drain-terminator:cluster = <cluster name>,
#   ecs:DescribeContainerInstances on the clusters' instances, ssm:GetCommandInvocation
#   and ssm:CancelCommand (no resource-level permissions) (var.ssm_signal_enabled).
#
# Every ARN here is built from names (main.tf): policy documents that referenced a
# resource's attribute would be re-read at apply whenever that resource changes.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

locals {
  # KMS use through the services that hold the module's encrypted data.
  kms_via_services = [
    "dynamodb.${local.region}.amazonaws.com",
    "sqs.${local.region}.amazonaws.com",
    "lambda.${local.region}.amazonaws.com",
  ]
}

# Statements both roles need: service tags, starting a sweeper run (task-events for a near
# deadline, the sweeper to hand a backlog over to the next run), Lambda's async dead-letter
# queue, X-Ray, and the customer key when one is set.
data "aws_iam_policy_document" "common" {
  statement {
    sid       = "ReadServiceTags"
    effect    = "Allow"
    actions   = ["ecs:DescribeServices", "ecs:ListTagsForResource"]
    resources = local.scoped_service_arns
  }

  statement {
    sid       = "StartSweeper"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = ["${local.arn_prefix.lambda}:function:${local.sweeper_name}"]
  }

  statement {
    sid       = "DeadLetter"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [local.dead_letter_arn]
  }

  statement {
    sid       = "Tracing"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray supports no resource-level permissions.
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "CustomerKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.kms_via_services
      }
    }
  }
}

# ------------------------------------------------------------------------- task-events
data "aws_iam_policy_document" "task_events" {
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  statement {
    sid       = "OwnLogGroup"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.arn_prefix.logs}:log-group:/aws/lambda/${local.task_events_name}:*"]
  }

  statement {
    sid       = "Ledger"
    effect    = "Allow"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [local.table_arn]
  }

}

# ----------------------------------------------------------------------------- sweeper
# The sweeper's own statements, then one document per feature a variable turns on
# (count 0 or 1), merged in through source_policy_documents.
data "aws_iam_policy_document" "sweeper" {
  source_policy_documents = concat(
    [data.aws_iam_policy_document.common.json],
    data.aws_iam_policy_document.backstop[*].json,
    data.aws_iam_policy_document.exec[*].json,
    data.aws_iam_policy_document.ssm_signal[*].json,
  )

  statement {
    sid       = "OwnLogGroup"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.arn_prefix.logs}:log-group:/aws/lambda/${local.sweeper_name}:*"]
  }

  statement {
    sid       = "StopDrainingTasks"
    effect    = "Allow"
    actions   = ["ecs:StopTask", "ecs:DescribeTasks"]
    resources = local.scoped_task_arns

    dynamic "condition" {
      for_each = local.cluster_conditions

      content {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = condition.value
      }
    }
  }

  # Old-format task ARNs (task/<id>): tasks started before the account enabled long ARNs
  # keep them, and the first deployment after a migrated service opts in drains exactly
  # those. Their ARN names no cluster, so the ecs:cluster condition key confines them to
  # the listed clusters (without a list, StopDrainingTasks' task/* already covers them).
  dynamic "statement" {
    for_each = local.cluster_conditions

    content {
      sid       = "StopOldFormatTasks"
      effect    = "Allow"
      actions   = ["ecs:StopTask", "ecs:DescribeTasks"]
      resources = local.old_format_task_arns

      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = statement.value
      }
    }
  }

  # The min-healthy guard of ECS-native blue/green, linear and canary services reads the
  # current deployment's stage and its revisions' target groups. IAM authorises both on
  # the service and on its service-deployment / service-revision resources (the Service
  # Authorization Reference marks both types required, as parliament's data has it), each
  # scoped to the module's clusters.
  statement {
    sid     = "BlueGreenDeployments"
    effect  = "Allow"
    actions = ["ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions"]
    resources = concat(
      local.scoped_service_arns,
      [for arn in local.scoped_service_arns : replace(arn, ":service/", ":service-deployment/")],
      [for arn in local.scoped_service_arns : replace(arn, ":service/", ":service-revision/")],
    )
  }

  statement {
    sid       = "TargetHealth"
    effect    = "Allow"
    actions   = ["elasticloadbalancing:DescribeTargetHealth"]
    resources = ["*"] # Describe* calls of ELB support no resource-level permissions.
  }

  statement {
    sid       = "Ledger"
    effect    = "Allow"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [local.table_arn]
  }

  # Open work: Query per shard of the sparse due-index, and one Scan(Limit=1) of it for
  # an idle run (the index only holds items still to act on).
  statement {
    sid       = "DueIndex"
    effect    = "Allow"
    actions   = ["dynamodb:Query", "dynamodb:Scan"]
    resources = [local.due_index_arn]
  }
}

# The backstop (var.backstop_enabled, backstop.tf): list the opted-in services by tag and
# their tasks that ECS is stopping, and read which of them the ledger knows (100 keys a
# call).
data "aws_iam_policy_document" "backstop" {
  #checkov:skip=CKV_AWS_356:ecs:ListTasks is confined by the ecs:cluster condition on "*" (its container-instance resource does not cover Fargate); tag:GetResources has no resource-level permissions.
  count = var.backstop_enabled ? 1 : 0

  statement {
    sid       = "BackstopOptedInServices"
    effect    = "Allow"
    actions   = ["tag:GetResources"]
    resources = ["*"] # GetResources supports no resource-level permissions.
  }

  statement {
    sid     = "BackstopListTasks"
    effect  = "Allow"
    actions = ["ecs:ListTasks"]
    # ListTasks is confined by the ecs:cluster condition key on resource "*", as AWS's own
    # ECS policy examples do (its container-instance resource does not cover Fargate).
    resources = ["*"]

    dynamic "condition" {
      for_each = local.cluster_conditions

      content {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = condition.value
      }
    }
  }

  statement {
    sid       = "BackstopLedgerKeys"
    effect    = "Allow"
    actions   = ["dynamodb:BatchGetItem"]
    resources = [local.table_arn]
  }
}

# The exec stop action (var.exec_enabled): an ECS Exec session into a task of the
# module's clusters (the container names of var.exec_container_names, when set), and
# TerminateSession on a session the client could not close.
data "aws_iam_policy_document" "exec" {
  count = var.exec_enabled ? 1 : 0

  statement {
    sid       = "ExecIntoDrainingTasks"
    effect    = "Allow"
    actions   = ["ecs:ExecuteCommand"]
    resources = concat(local.scoped_cluster_arns, local.scoped_task_arns)

    dynamic "condition" {
      for_each = local.cluster_conditions

      content {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = condition.value
      }
    }

    dynamic "condition" {
      for_each = length(var.exec_container_names) == 0 ? [] : [var.exec_container_names]

      content {
        test     = "StringEquals"
        variable = "ecs:container-name"
        values   = condition.value
      }
    }
  }

  statement {
    sid       = "ExecSessionChannel"
    effect    = "Allow"
    actions   = ["ssmmessages:OpenDataChannel"]
    resources = ["*"] # Opens only with the token ExecuteCommand returned; no resource type.
  }

  statement {
    sid       = "EndExecSessions"
    effect    = "Allow"
    actions   = ["ssm:TerminateSession"]
    resources = local.exec_session_arns
  }
}

# The ssm-signal stop action (var.ssm_signal_enabled): the task's container instance,
# then Run Command of AWS-RunShellScript on its EC2 instance (tagged
# drain-terminator:cluster = <cluster name>), its result, and cancelling it after the
# time bound.
data "aws_iam_policy_document" "ssm_signal" {
  count = var.ssm_signal_enabled ? 1 : 0

  statement {
    sid       = "FindContainerInstances"
    effect    = "Allow"
    actions   = ["ecs:DescribeContainerInstances"]
    resources = local.scoped_container_instance_arns

    dynamic "condition" {
      for_each = local.cluster_conditions

      content {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = condition.value
      }
    }
  }

  statement {
    sid       = "RunSignalDocument"
    effect    = "Allow"
    actions   = ["ssm:SendCommand"]
    resources = [local.ssm_signal_document_arn]
  }

  statement {
    sid     = "RunOnContainerInstances"
    effect  = "Allow"
    actions = ["ssm:SendCommand"]
    # The document again: every ssm:SendCommand statement names its document (parliament);
    # the tag condition leaves this statement to the instances.
    resources = concat([local.ssm_signal_document_arn], local.ssm_signal_instance_arns)

    condition {
      test     = local.all_clusters ? "StringLike" : "StringEquals"
      variable = "ssm:resourceTag/drain-terminator:cluster"
      values   = local.all_clusters ? ["*"] : local.ssm_signal_cluster_names
    }
  }

  statement {
    sid       = "FollowSignalCommands"
    effect    = "Allow"
    actions   = ["ssm:GetCommandInvocation", "ssm:CancelCommand"]
    resources = ["*"] # Neither supports resource-level permissions.
  }
}

# ------------------------------------------------------------------------------- roles
resource "aws_iam_role" "this" {
  for_each = local.functions

  name                 = each.value.name
  path                 = var.role_path
  description          = "Execution role of ${each.value.name}."
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume.json
  permissions_boundary = var.role_permissions_boundary
  tags                 = local.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = local.functions

  name   = each.key
  role   = aws_iam_role.this[each.key].id
  policy = each.value.policy
}
