# The ledger: one item per tracked task (pk = task ARN) plus small bookkeeping items
# (pk "stagger#...", "rate#<bucket>" token buckets, "service#<cluster>#<service>" shared
# service descriptions; none carries sweep_key). Only items the sweeper still has to act on carry
# `sweep_key`, which makes `due-index` a sparse index of open work ordered by deadline.
# Task records carry `schema_version`, the layout they were written in; the functions read
# every layout that has landed (docs/contracts.md, "Ledger layouts and upgrades").
resource "aws_dynamodb_table" "ledger" {
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.table_deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sweep_key"
    type = "S"
  }

  attribute {
    name = "due_at"
    type = "N"
  }

  global_secondary_index {
    name      = "due-index"
    hash_key  = "sweep_key"
    range_key = "due_at"
    # The sweeper reads the task ARN, its deadline, status and lease from the index and
    # the rest with GetItem: claims and lease renewals then cost one GSI write unit.
    projection_type    = "INCLUDE"
    non_key_attributes = ["status", "lease_until"]
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = local.tags
}
