output "region" {
  description = "Region the stack runs in."
  value       = data.aws_region.current.id
}

output "account_id" {
  description = "Account the stack runs in."
  value       = data.aws_caller_identity.current.account_id
}

output "cluster_arn" {
  description = "ARN of the stack's ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "services" {
  description = "The opted-in services by launch type (fargate; ec2 with ec2_variant): name and target group ARN."
  value = merge(
    { fargate = { name = aws_ecs_service.fargate.name, target_group_arn = aws_lb_target_group.this["fargate"].arn } },
    var.ec2_variant ? { ec2 = { name = aws_ecs_service.ec2[0].name, target_group_arn = aws_lb_target_group.this["ec2"].arn } } : {},
  )
}

output "deregistration_delay_seconds" {
  description = "The target groups' deregistration delay (how long ECS alone drains a task)."
  value       = var.deregistration_delay_seconds
}

output "wait_seconds" {
  description = "The services' wait-seconds tag."
  value       = var.wait_seconds
}

output "table_name" {
  description = "Name of the terminator's ledger table (what verify reads)."
  value       = module.drain_terminator.table_name
}

output "tag_prefix" {
  description = "Prefix of the opt-in and stop-action service tags."
  value       = module.drain_terminator.tag_prefix
}

output "sweeper_log_group" {
  description = "Log group of the sweeper: each stop step it took, with its outcome."
  value       = module.drain_terminator.functions["sweeper"].log_group_name
}
