data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # `id` is the region's name on provider 5.x and 6.x alike (as in the root module).
  region     = data.aws_region.current.id
  account_id = data.aws_caller_identity.current.account_id

  tags = merge(var.tags, { "managed-by" = "ecs-drain-terminator" })
}
