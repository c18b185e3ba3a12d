output "load_balancer_dns_name" {
  description = "DNS name of the internal NLB."
  value       = aws_lb.this.dns_name
}

output "service_arn" {
  description = "ARN of the opted-in ECS service."
  value       = aws_ecs_service.this.id
}

output "terminator" {
  description = "What the module created: table, functions, rules, queue and alarm topic."
  value = {
    table_name            = module.drain_terminator.table_name
    task_events_function  = module.drain_terminator.task_events_function_name
    sweeper_function      = module.drain_terminator.sweeper_function_name
    dead_letter_queue_url = module.drain_terminator.dead_letter_queue_url
    alarm_topic_arn       = module.drain_terminator.alarm_topic_arn
  }
}

output "account_id" {
  description = "Account the example is deployed to."
  value       = data.aws_caller_identity.current.account_id
}
