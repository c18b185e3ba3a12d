data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # `id` is the region's name on provider 5.x and 6.x alike (as in the root module).
  region     = data.aws_region.current.id
  account_id = data.aws_caller_identity.current.account_id

  # IAM is global and this module is deployed once per account AND region: the role
  # names carry the region. The hub assumes "<name_prefix>-member-<its region>" (its
  # member_role_name default), so keep name_prefix equal on both sides.
  role_name           = coalesce(var.role_name, "${var.name_prefix}-member-${local.region}")
  forwarder_role_name = "${var.name_prefix}-forward-${local.region}"
  forward_rule_name   = "${var.name_prefix}-forward-to-hub"

  # Built from names (known at plan), as in the root module.
  forward_rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.forward_rule_name}"

  tags = merge(var.tags, { "managed-by" = "ecs-drain-terminator" })
}
