data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  task_events_name = "${var.name_prefix}-task-events"
  sweeper_name     = "${var.name_prefix}-sweeper"

  table_name = aws_dynamodb_table.ledger.name

  # Handler strings: see docs/contracts.md.
  task_events_handler = "handlers.task_events.handler"
  sweeper_handler     = "handlers.sweeper.handler"

  # "python3.13" -> "3.13": the interpreter the layer's wheels are chosen for.
  python_version = trimprefix(var.runtime, "python")

  tags = merge(var.tags, { "managed-by" = "ecs-drain-terminator" })
}
