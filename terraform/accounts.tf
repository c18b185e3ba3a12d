# The accounts this deployment serves and the hub's names (hub.tf). Only locals that depend
# on variables, event_pattern.tf and the partition/region/account locals live here: the
# tests render them with Terraform core (tests/terraform/test_hub.py).
locals {
  hub_enabled = length(var.member_account_ids) > 0 || var.member_organization_id != null

  # A hub's signal step on a member's task may first assume the member role: one STS
  # AssumeRole at its longest (5 attempts of 1 + 2 s and backoff) on top of the step's bound.
  assume_role_seconds = local.hub_enabled ? 30 : 0

  # Every account whose ECS tasks this deployment acts on: its own and the members'.
  # The one place the account list is spelled (cluster scoping checks combine with it).
  accounts = distinct(concat([local.account_id], var.member_account_ids))

  member_role_name = coalesce(var.member_role_name, "${var.name_prefix}-member-${local.region}")
  member_role_arns = [
    for account in var.member_account_ids :
    "arn:${local.partition}:iam::${account}:role${var.member_role_path}${local.member_role_name}"
  ]

  member_bus_name  = "${var.name_prefix}-members"
  member_bus_arn   = "${local.arn_prefix.events}:event-bus/${local.member_bus_name}"
  member_rule_name = "${var.name_prefix}-member-task-state-change"
  # The dead-letter queue's policy admits this rule too (events.tf).
  member_rule_arns = local.hub_enabled ? ["${local.arn_prefix.events}:rule/${local.member_bus_name}/${local.member_rule_name}"] : []

  # Only the forwarded events task-events acts on may be put on the member bus.
  member_event_conditions = [
    { variable = "events:source", values = local.task_state_change_base.source },
    { variable = "events:detail-type", values = local.task_state_change_base["detail-type"] },
  ]
}
