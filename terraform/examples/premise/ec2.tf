# The EC2 variant (var.ec2_variant): one container instance of the ECS-optimized AMI
# (which runs the SSM agent) and a service on it, for the ssm-signal stop action. ECS Exec
# stays off here: ssm-signal is the fallback where Exec is not enabled or refused.

data "aws_ssm_parameter" "ecs_ami" {
  count = var.ec2_variant && var.ec2_ami_id == null ? 1 : 0

  name = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
}

data "aws_iam_policy_document" "instance_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "instance" {
  count = var.ec2_variant ? 1 : 0

  name               = "${var.name}-instance"
  assume_role_policy = data.aws_iam_policy_document.instance_assume.json
}

# The ECS agent's permissions and an SSM managed node's (Run Command needs both).
resource "aws_iam_role_policy_attachment" "instance" {
  for_each = var.ec2_variant ? toset([
    "service-role/AmazonEC2ContainerServiceforEC2Role",
    "AmazonSSMManagedInstanceCore",
  ]) : toset([])

  role       = aws_iam_role.instance[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/${each.value}"
}

data "aws_partition" "current" {}

resource "aws_iam_instance_profile" "instance" {
  count = var.ec2_variant ? 1 : 0

  name = "${var.name}-instance"
  role = aws_iam_role.instance[0].name
}

resource "aws_security_group" "instance" {
  count = var.ec2_variant ? 1 : 0

  name        = "${var.name}-instance"
  description = "Container instance of ${var.name}."
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_ingress_rule" "instance_from_nlb" {
  count = var.ec2_variant ? 1 : 0

  security_group_id            = aws_security_group.instance[0].id
  description                  = "Traffic and health checks from the NLB to the tasks' host ports."
  referenced_security_group_id = aws_security_group.nlb.id
  ip_protocol                  = "tcp"
  from_port                    = local.dynamic_ports.from
  to_port                      = local.dynamic_ports.to
}

resource "aws_vpc_security_group_egress_rule" "instance_https" {
  count = var.ec2_variant ? 1 : 0

  security_group_id = aws_security_group.instance[0].id
  description       = "The ECS and SSM agents and image pulls over HTTPS."
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_instance" "container_instance" {
  #checkov:skip=CKV_AWS_88:Public subnets and no NAT gateway keep the stack cheap: the ECS and SSM agents reach AWS through a public address; no inbound rule admits anything but the NLB.
  #checkov:skip=CKV_AWS_126:Detailed (1-minute) monitoring bills per metric and the measurement reads none.
  count = var.ec2_variant ? 1 : 0

  ami                         = coalesce(var.ec2_ami_id, try(nonsensitive(data.aws_ssm_parameter.ecs_ami[0].value), null))
  instance_type               = var.ec2_instance_type
  subnet_id                   = aws_subnet.public[0].id
  associate_public_ip_address = true
  vpc_security_group_ids      = [aws_security_group.instance[0].id]
  iam_instance_profile        = aws_iam_instance_profile.instance[0].name
  monitoring                  = false
  ebs_optimized               = true
  user_data                   = "#!/bin/bash\necho ECS_CLUSTER=${aws_ecs_cluster.this.name} >> /etc/ecs/ecs.config\n"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
    volume_size = 30 # GiB: the ECS-optimized AMI's own size (AWS refuses a smaller one)
  }

  tags = merge(local.instance_tag, { Name = "${var.name}-container-instance" })

  depends_on = [aws_route.internet, aws_route_table_association.public, aws_iam_role_policy_attachment.instance]
}

resource "aws_ecs_task_definition" "ec2" {
  count = var.ec2_variant ? 1 : 0

  family                   = "${var.name}-ec2"
  requires_compatibilities = ["EC2"]
  network_mode             = "bridge"
  execution_role_arn       = aws_iam_role.execution.arn

  container_definitions = jsonencode([
    {
      name                   = local.container_name
      image                  = var.image
      essential              = true
      cpu                    = 128
      memory                 = 128
      readonlyRootFilesystem = false # the image writes its cache and pid file; see fargate.tf
      # nginx on 8080 as PID 1 (exec): SIGTERM makes it exit, and the task stops with it.
      command      = ["/bin/sh", "-c", "echo 'server { listen ${local.port}; location / { return 200 ok; } }' > /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'"]
      portMappings = [{ containerPort = local.port, hostPort = 0, protocol = "tcp" }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.service.name
          awslogs-region        = data.aws_region.current.id
          awslogs-stream-prefix = "ec2"
        }
      }
    }
  ])
}

resource "aws_ecs_service" "ec2" {
  count = var.ec2_variant ? 1 : 0

  name                               = "${var.name}-ec2"
  cluster                            = aws_ecs_cluster.this.arn
  task_definition                    = aws_ecs_task_definition.ec2[0].arn
  desired_count                      = 1
  launch_type                        = "EC2"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  propagate_tags                     = "SERVICE"

  load_balancer {
    target_group_arn = aws_lb_target_group.this["ec2"].arn
    container_name   = local.container_name
    container_port   = local.port
  }

  tags = local.opt_in

  # Deleted before the instance its tasks run on.
  depends_on = [aws_lb_listener.this, aws_instance.container_instance]
}
