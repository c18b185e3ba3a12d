# The module re-exported whole: `drain-terminator status --from-terraform <this directory>`
# finds the ledger table and tag prefix inside it.
output "drain_terminator" {
  description = "Every output of the module (table_name, tag_prefix, functions, dead-letter queue, alarms, dashboard)."
  value       = module.drain_terminator
}
