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
  value       = module.hub.functions["task-events"].name
}

# The hub module re-exported whole: `drain-terminator status --from-terraform <this
# directory>` finds the ledger table and tag prefix inside it.
output "drain_terminator" {
  description = "Every output of the hub module (table_name, tag_prefix, functions, member bus, ...)."
  value       = module.hub
}
