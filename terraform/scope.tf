# Resource ARNs the functions' IAM policies are scoped to, derived from var.cluster_arns.
# Only locals that depend on var.cluster_arns and the partition/region/account locals
# live here: the tests render them with Terraform core (sim/terraform.py).
#
# An empty var.cluster_arns means every cluster of this account in this region.
locals {
  all_clusters = length(var.cluster_arns) == 0

  # Task ARNs (long format): arn:...:task/<cluster name>/<task id>.
  scoped_task_arns = (
    local.all_clusters
    ? ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/*"]
    : [for arn in var.cluster_arns : "${replace(arn, ":cluster/", ":task/")}/*"]
  )

  # Service ARNs (long format): arn:...:service/<cluster name>/<service name>.
  scoped_service_arns = (
    local.all_clusters
    ? ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/*"]
    : [for arn in var.cluster_arns : "${replace(arn, ":cluster/", ":service/")}/*"]
  )
}
