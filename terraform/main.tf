data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # `id` is the region's name on provider 5.x and 6.x alike (`name` is deprecated in 6.x,
  # `region` does not exist in 5.x).
  region     = data.aws_region.current.id
  account_id = data.aws_caller_identity.current.account_id

  task_events_name = "${var.name_prefix}-task-events"
  sweeper_name     = "${var.name_prefix}-sweeper"
  table_name       = "${var.name_prefix}-ledger"
  dead_letter_name = "${var.name_prefix}-dlq"

  # ARNs built from names rather than read from resources: a data source (the IAM policy
  # documents) that references a resource with pending changes is read only at apply, so
  # every code deploy would rewrite the policies ("known after apply"). Names are known
  # at plan and never change with code.
  arn_prefix = {
    for service in ["dynamodb", "events", "lambda", "logs", "sqs"] :
    service => "arn:${local.partition}:${service}:${local.region}:${local.account_id}"
  }
  table_arn       = "${local.arn_prefix.dynamodb}:table/${local.table_name}"
  due_index_arn   = "${local.table_arn}/index/due-index"
  dead_letter_arn = "${local.arn_prefix.sqs}:${local.dead_letter_name}"

  tags = merge(var.tags, { "managed-by" = "ecs-drain-terminator" })
}
