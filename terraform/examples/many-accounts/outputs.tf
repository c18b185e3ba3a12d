output "member_event_bus_arn" {
  description = "The hub's member bus."
  value       = module.hub.member_event_bus_arn
}

output "member_role_arns" {
  description = "The member roles the hub's functions assume, by member."
  value = {
    team_a = module.team_a.role_arn
    team_b = module.team_b.role_arn
  }
}

output "task_events_function_name" {
  description = "The hub's task-events function (its logs show every member's drains)."
  value       = module.hub.task_events_function_name
}
