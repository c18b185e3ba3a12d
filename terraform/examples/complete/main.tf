# A realistic use of the module: an internal NLB in front of a Fargate service whose
# target group keeps the default 300 s deregistration delay (long-lived TCP clients),
# and a terminator that stops the service's draining tasks after 120 s instead.

locals {
  tag_prefix = module.drain_terminator.tag_prefix
  port       = 8080
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

# --------------------------------------------------------------------------- cluster
resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

# ---------------------------------------------------------------------- load balancer
resource "aws_security_group" "nlb" {
  name        = "${var.name}-nlb"
  description = "Internal NLB of ${var.name}."
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "nlb_from_clients" {
  for_each = toset(var.client_cidr_blocks)

  security_group_id = aws_security_group.nlb.id
  description       = "Clients of ${var.name}."
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = local.port
  to_port           = local.port
}

resource "aws_vpc_security_group_egress_rule" "nlb_to_tasks" {
  security_group_id            = aws_security_group.nlb.id
  description                  = "Forward to the service's tasks."
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:Internal TCP load balancer: WAF protects HTTP(S) endpoints on ALB/CloudFront/API Gateway, it cannot be attached to an NLB.
  name                             = var.name
  load_balancer_type               = "network"
  internal                         = true
  subnets                          = var.subnet_ids
  security_groups                  = [aws_security_group.nlb.id]
  enable_deletion_protection       = true
  enable_cross_zone_load_balancing = true

  access_logs {
    bucket  = var.access_logs_bucket
    prefix  = var.name
    enabled = true
  }
}

resource "aws_lb_target_group" "this" {
  name        = var.name
  port        = local.port
  protocol    = "TCP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  # Long drains are what the terminator shortens: it stops tasks after wait_seconds.
  deregistration_delay = 300

  health_check {
    protocol            = "TCP"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}

resource "aws_lb_listener" "this" {
  #checkov:skip=CKV_AWS_2:Plain TCP on an internal NLB; the application terminates TLS itself (a TLS listener needs a certificate the example cannot assume).
  #checkov:skip=CKV_AWS_103:Same: a TCP listener has no TLS policy.
  load_balancer_arn = aws_lb.this.arn
  port              = local.port
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}

# ---------------------------------------------------------------------------- service
resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Tasks of ${var.name}."
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_nlb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Traffic from the NLB."
  referenced_security_group_id = aws_security_group.nlb.id
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "Image pulls and AWS APIs over HTTPS."
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_cloudwatch_log_group" "service" {
  #checkov:skip=CKV_AWS_158:Example application logs, encrypted by CloudWatch Logs by default.
  #checkov:skip=CKV_AWS_338:Example application logs: 30 days is enough.
  name              = "/ecs/${var.name}"
  retention_in_days = 30
}

data "aws_iam_policy_document" "execution_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "execution" {
  statement {
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.service.arn}:*"]
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.execution_assume.json
}

resource "aws_iam_role_policy" "execution" {
  name   = "logs"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  execution_role_arn       = aws_iam_role.execution.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  container_definitions = jsonencode([
    {
      name                   = "app"
      image                  = "public.ecr.aws/docker/library/nginx:1.27-alpine"
      essential              = true
      readonlyRootFilesystem = true
      portMappings           = [{ containerPort = local.port, protocol = "tcp" }]
      # nginx needs writable cache/run dirs with a read-only root file system.
      mountPoints = [
        { sourceVolume = "cache", containerPath = "/var/cache/nginx" },
        { sourceVolume = "run", containerPath = "/var/run" },
        { sourceVolume = "conf", containerPath = "/etc/nginx/conf.d" },
      ]
      command = ["/bin/sh", "-c", "echo 'server { listen ${local.port}; location / { return 200 ok; } }' > /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'"]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.service.name
          awslogs-region        = data.aws_region.current.id
          awslogs-stream-prefix = "app"
        }
      }
    }
  ])

  volume {
    name = "cache"
  }

  volume {
    name = "run"
  }

  volume {
    name = "conf"
  }
}

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = aws_ecs_cluster.this.arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = 2
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  propagate_tags                     = "SERVICE"

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = "app"
    container_port   = local.port
  }

  # Opt in: the terminator acts only on services tagged <prefix>enabled = true.
  tags = {
    "${local.tag_prefix}enabled"             = "true"
    "${local.tag_prefix}wait-seconds"        = tostring(var.wait_seconds)
    "${local.tag_prefix}min-healthy-percent" = "50"
  }

  depends_on = [aws_lb_listener.this]
}

# ------------------------------------------------------------------------- terminator
module "drain_terminator" {
  source = "../.."

  name_prefix  = "${var.name}-terminator"
  cluster_arns = [aws_ecs_cluster.this.arn]

  create_alarm_topic = true

  tags = { owner = "platform" }
}
