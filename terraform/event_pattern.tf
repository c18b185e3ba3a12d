# The task-events rule's pattern, from the single source shared with the code and the
# tests (patterns/task-state-change.json), narrowed to var.cluster_arns when it is not
# empty. Only locals that depend on var.cluster_arns and files live here: the tests
# render them with Terraform core (sim/terraform.py), so keep it that way.
locals {
  task_state_change_base = jsondecode(file("${path.module}/patterns/task-state-change.json"))

  # A for expression (rather than a conditional) keeps both cases the same type:
  # {} for every cluster, { clusterArn = [...] } for the listed ones.
  task_state_change_cluster_filter = {
    for key, arns in { clusterArn = var.cluster_arns } : key => arns if length(arns) > 0
  }

  task_state_change_pattern = merge(local.task_state_change_base, {
    detail = merge(local.task_state_change_base.detail, local.task_state_change_cluster_filter)
  })
}
