# Resource ARNs the functions' IAM policies are scoped to, derived from var.cluster_arns,
# and the clusters the deployment can never serve. Only locals that depend on
# var.cluster_arns and the partition/region/account locals live here: the tests render
# them with Terraform core (sim/terraform.py).
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

  # Accounts whose clusters this deployment serves: its own. The one place the account
  # rule lives; serving member accounts from a hub widens this list and nothing else.
  served_accounts = [local.account_id]

  # A cluster's task state changes reach only the default event bus of its own account
  # and region, where the module's rule is: a cluster elsewhere would be listed and
  # silently never served. Each entry: the ARN and why (refused at plan in events.tf).
  unservable_clusters = [
    for parts in [for arn in var.cluster_arns : split(":", arn)] :
    "${join(":", parts)} (${join("; ", compact([
      parts[1] == local.partition ? "" : "partition ${parts[1]}, not ${local.partition}",
      parts[3] == local.region ? "" : "region ${parts[3]}, not ${local.region}",
      contains(local.served_accounts, parts[4]) ? "" : "account ${parts[4]}, not ${join(" or ", local.served_accounts)}",
    ]))})"
    if parts[1] != local.partition || parts[3] != local.region || !contains(local.served_accounts, parts[4])
  ]
}
