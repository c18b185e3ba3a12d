# The Fargate service: ECS Exec on (the exec and stop-task-then-exec actions).

resource "aws_security_group" "fargate" {
  name        = "${var.name}-fargate"
  description = "Fargate tasks of ${var.name}."
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_ingress_rule" "fargate_from_nlb" {
  security_group_id            = aws_security_group.fargate.id
  description                  = "Traffic and health checks from the NLB."
  referenced_security_group_id = aws_security_group.nlb.id
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
}

resource "aws_vpc_security_group_egress_rule" "fargate_https" {
  security_group_id = aws_security_group.fargate.id
  description       = "Image pulls (ECR Public) and the ECS Exec channels (ssmmessages) over HTTPS."
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_ecs_task_definition" "fargate" {
  family                   = "${var.name}-fargate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  container_definitions = jsonencode([
    {
      name      = local.container_name
      image     = var.image
      essential = true
      # ECS Exec needs a writable root file system: the SSM agent it runs in the
      # container writes there (ECS Exec considerations).
      readonlyRootFilesystem = false
      # nginx on 8080 as PID 1 (exec): SIGTERM makes it exit, and the task stops with it.
      command      = ["/bin/sh", "-c", "echo 'server { listen ${local.port}; location / { return 200 ok; } }' > /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'"]
      portMappings = [{ containerPort = local.port, protocol = "tcp" }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.service.name
          awslogs-region        = data.aws_region.current.id
          awslogs-stream-prefix = "fargate"
        }
      }
    }
  ])
}

resource "aws_ecs_service" "fargate" {
  #checkov:skip=CKV_AWS_333:Public subnets and no NAT gateway keep the stack cheap: the tasks pull the image and reach ECS Exec through a public address; no inbound rule admits anything but the NLB.
  name                               = "${var.name}-fargate"
  cluster                            = aws_ecs_cluster.this.arn
  task_definition                    = aws_ecs_task_definition.fargate.arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  enable_execute_command             = true
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  propagate_tags                     = "SERVICE"

  network_configuration {
    subnets          = aws_subnet.public[*].id
    security_groups  = [aws_security_group.fargate.id]
    assign_public_ip = true
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this["fargate"].arn
    container_name   = local.container_name
    container_port   = local.port
  }

  tags = local.opt_in

  depends_on = [aws_lb_listener.this, aws_route.internet, aws_route_table_association.public]
}
