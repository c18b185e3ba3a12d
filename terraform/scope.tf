# Resource ARNs the functions' IAM policies are scoped to, derived from var.cluster_arns,
# and the clusters the deployment can never serve. Only locals that depend on
# var.cluster_arns, local.accounts and the partition/region/account locals live here: the
# tests render them with Terraform core (sim/terraform.py).
#
# An empty var.cluster_arns means every cluster of this account in this region.
locals {
  all_clusters = length(var.cluster_arns) == 0

  # The for_each of the ecs:cluster condition on the ECS statements (iam.tf): one set of
  # values, the listed clusters, or no condition when every cluster is in scope.
  cluster_conditions = local.all_clusters ? [] : [var.cluster_arns]

  # Task ARNs (long format): arn:...:task/<cluster name>/<task id>.
  scoped_task_arns = (
    local.all_clusters
    ? ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/*"]
    : [for arn in var.cluster_arns : "${replace(arn, ":cluster/", ":task/")}/*"]
  )

  # Old-format task ARNs (arn:...:task/<id>, tasks started before the account enabled long
  # ARNs) name no cluster: only the ecs:cluster condition key can confine them.
  old_format_task_arns = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/*"]

  # Service ARNs (long format): arn:...:service/<cluster name>/<service name>.
  scoped_service_arns = (
    local.all_clusters
    ? ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/*"]
    : [for arn in var.cluster_arns : "${replace(arn, ":cluster/", ":service/")}/*"]
  )

  # A cluster's task state changes reach only the default event bus of its own account
  # and region: the module's rule there, or, for a member account (member_account_ids),
  # the member module's forwarding rule. A cluster of another region, partition or of an
  # account not in local.accounts (accounts.tf, the one list of served accounts) would be
  # listed and silently never served. Each entry: the ARN and why (refused at plan in
  # events.tf).
  unservable_clusters = [
    for parts in [for arn in var.cluster_arns : split(":", arn)] :
    "${join(":", parts)} (${join("; ", compact([
      parts[1] == local.partition ? "" : "partition ${parts[1]}, not ${local.partition}",
      parts[3] == local.region ? "" : "region ${parts[3]}, not ${local.region}",
      contains(local.accounts, parts[4]) ? "" : "account ${parts[4]}, not ${join(" or ", local.accounts)}",
    ]))})"
    if parts[1] != local.partition || parts[3] != local.region || !contains(local.accounts, parts[4])
  ]

  # Cluster ARNs (ecs:ExecuteCommand authorises the cluster and the task).
  scoped_cluster_arns = (
    local.all_clusters
    ? ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:cluster/*"]
    : var.cluster_arns
  )

  # Container instance ARNs (long format): arn:...:container-instance/<cluster name>/<id>.
  scoped_container_instance_arns = (
    local.all_clusters
    ? ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:container-instance/*"]
    : [for arn in var.cluster_arns : "${replace(arn, ":cluster/", ":container-instance/")}/*"]
  )

  # ssm-signal: the one document (AWS-owned; "AWS-" names are reserved to AWS, and IAM
  # linters expect an account field, hence "*") and the EC2 instances of this account and
  # region that carry drain-terminator:cluster = one of the clusters' names (any value when
  # every cluster is in scope), as in a member account (patterns/member-role.json); ECS
  # Exec: its sessions only.
  ssm_signal_cluster_names = [for arn in var.cluster_arns : element(split("/", arn), 1)]
  ssm_signal_document_arn  = "arn:${local.partition}:ssm:${local.region}:*:document/AWS-RunShellScript"
  ssm_signal_instance_arns = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:instance/*"]
  exec_session_arns        = ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:session/ecs-execute-command-*"]
}
