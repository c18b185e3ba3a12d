# An internal NLB (private addresses only: nothing connects to it, the drains are what is
# measured) whose target groups hold a long deregistration delay, so an early stop stands
# out from ECS's own.

resource "aws_security_group" "nlb" {
  name        = "${var.name}-nlb"
  description = "Internal NLB of ${var.name}: health checks to the targets only."
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_egress_rule" "nlb_to_fargate" {
  security_group_id            = aws_security_group.nlb.id
  description                  = "Health checks and traffic to the Fargate tasks."
  referenced_security_group_id = aws_security_group.fargate.id
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
}

resource "aws_vpc_security_group_egress_rule" "nlb_to_instance" {
  count = var.ec2_variant ? 1 : 0

  security_group_id            = aws_security_group.nlb.id
  description                  = "Health checks and traffic to the EC2 tasks' dynamic host ports."
  referenced_security_group_id = aws_security_group.instance[0].id
  ip_protocol                  = "tcp"
  from_port                    = local.dynamic_ports.from
  to_port                      = local.dynamic_ports.to
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:Internal TCP load balancer: WAF protects HTTP(S) endpoints, it cannot be attached to an NLB.
  #checkov:skip=CKV_AWS_91:A stack that lives for one measurement; access logs need a bucket with an ELB delivery policy and record nothing the measurement reads.
  #checkov:skip=CKV_AWS_150:Destroyed by the same command that creates it (tools/premise): deletion protection would make the destroy fail.
  name                             = var.name
  load_balancer_type               = "network"
  internal                         = true
  subnets                          = aws_subnet.public[*].id
  security_groups                  = [aws_security_group.nlb.id]
  enable_deletion_protection       = false
  enable_cross_zone_load_balancing = true
}

resource "aws_lb_target_group" "this" {
  for_each = local.services

  name                 = "${var.name}-${each.key}"
  port                 = local.port
  protocol             = "TCP"
  target_type          = each.value.target_type
  vpc_id               = aws_vpc.this.id
  deregistration_delay = var.deregistration_delay_seconds

  health_check {
    protocol            = "TCP"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}

resource "aws_lb_listener" "this" {
  #checkov:skip=CKV_AWS_2:Plain TCP on an internal NLB that no client uses; TLS would need a certificate.
  #checkov:skip=CKV_AWS_103:Same: a TCP listener has no TLS policy.
  for_each = local.services

  load_balancer_arn = aws_lb.this.arn
  port              = each.value.listener_port
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[each.key].arn
  }
}
