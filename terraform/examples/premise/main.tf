# The premise, measured in your account: does StopTask end a drain already in progress,
# and if not, which stop action does? A Fargate service (ECS Exec on) and, with
# var.ec2_variant, an EC2 service on one container instance (SSM agent), both behind an
# NLB whose target groups drain for var.deregistration_delay_seconds, opted in with a
# short wait; the terminator with exec (and ssm-signal) turned on. `python -m
# tools.premise` applies it, runs `drain-terminator verify` once per stop action and
# destroys it (see README.md).

locals {
  port           = 8080
  container_name = "app"
  # Bridge networking on the container instance: ECS picks a host port per task.
  dynamic_ports = { from = 32768, to = 65535 }
  tag_prefix    = module.drain_terminator.tag_prefix

  # What each service is for: its target group's type and its listener's port.
  services = merge(
    { fargate = { target_type = "ip", listener_port = local.port } },
    var.ec2_variant ? { ec2 = { target_type = "instance", listener_port = local.port + 1 } } : {},
  )

  # Opted in with a short wait. The stop action is not set here: the measuring command
  # sets <prefix>stop-action before each measurement (the module's default applies until
  # then: stop-task-then-exec, exec being on).
  opt_in = {
    "${local.tag_prefix}enabled"      = "true"
    "${local.tag_prefix}wait-seconds" = tostring(var.wait_seconds)
  }

  # The module grants ssm:SendCommand only on instances tagged with their cluster's name.
  instance_tag = { "drain-terminator:cluster" = aws_ecs_cluster.this.name }
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

resource "aws_ecs_cluster" "this" {
  #checkov:skip=CKV_AWS_65:Container Insights bills per metric and the measurement reads none of them; the stack lives for one run.
  name = var.name
}

resource "aws_cloudwatch_log_group" "service" {
  #checkov:skip=CKV_AWS_158:The example's application logs, encrypted by CloudWatch Logs by default.
  #checkov:skip=CKV_AWS_338:The stack lives for one measurement: a day of logs is enough.
  name              = "/ecs/${var.name}"
  retention_in_days = 1
}

# ------------------------------------------------------------------------------ roles
data "aws_iam_policy_document" "tasks_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "Logs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.service.arn}:*"]
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
}

resource "aws_iam_role_policy" "execution" {
  name   = "logs"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# ECS Exec: the SSM agent ECS runs beside the container opens its channels with the task
# role (ECS developer guide, "Monitor Amazon ECS containers with ECS Exec").
data "aws_iam_policy_document" "task" {
  statement {
    sid    = "EcsExecChannels"
    effect = "Allow"
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"] # ssmmessages supports no resource-level permissions.
  }
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
}

resource "aws_iam_role_policy" "task" {
  name   = "ecs-exec"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# ------------------------------------------------------------------------- terminator
module "drain_terminator" {
  source = "../.."

  name_prefix  = "${var.name}-terminator"
  cluster_arns = [aws_ecs_cluster.this.arn]

  # The stop actions measured: exec for the Fargate service, ssm-signal on the instance.
  exec_enabled           = true
  exec_container_names   = [local.container_name]
  ssm_signal_enabled     = var.ec2_variant
  escalate_after_seconds = var.escalate_after_seconds

  # Everything goes with the stack: no dashboard to pay for, a ledger that can be deleted,
  # tags read fresh so a changed stop action counts at once.
  create_dashboard          = false
  table_deletion_protection = false
  tag_cache_seconds         = 0
  log_retention_days        = 1

  tags = { example = "ecs-drain-terminator-premise" }
}
