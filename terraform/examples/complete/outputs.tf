output "load_balancer_dns_name" {
  description = "DNS name of the internal NLB."
  value       = aws_lb.this.dns_name
}

output "service_arn" {
  description = "ARN of the opted-in ECS service."
  value       = aws_ecs_service.this.id
}

# The module re-exported whole: `drain-terminator status --from-terraform <this directory>`
# finds the ledger table and tag prefix inside it.
output "drain_terminator" {
  description = "Every output of the module: table_name, tag_prefix, functions (name, ARN, role, log group, rule by function), dead-letter queue, alarm topic, dashboard."
  value       = module.drain_terminator
}

output "account_id" {
  description = "Account the example is deployed to."
  value       = data.aws_caller_identity.current.account_id
}
