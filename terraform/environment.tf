# Environment of the functions: the variables serverless/settings.py reads (names pinned
# in docs/contracts.md). Only locals that depend on variables, local.table_name and
# local.sweeper_name live here: the tests render them with Terraform core (sim/terraform.py).
locals {
  common_environment = {
    TABLE_NAME                   = local.table_name
    TAG_PREFIX                   = var.tag_prefix
    DEFAULT_WAIT_SECONDS         = tostring(var.default_wait_seconds)
    TAG_CACHE_SECONDS            = tostring(var.tag_cache_seconds)
    RECORD_RETENTION_SECONDS     = tostring(var.record_retention_seconds)
    CONFIRM_AFTER_SECONDS        = tostring(var.confirm_after_seconds)
    POWERTOOLS_SERVICE_NAME      = var.service_name
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
    # Without active tracing the Tracer must not load the X-Ray SDK at all: its import
    # creates an X-Ray client for sampling (about 0.1 s of CPU at every cold start).
    POWERTOOLS_TRACE_DISABLED = var.tracing_enabled ? "false" : "true"
    # The sweeper function both start at once: task-events for a near deadline, the
    # sweeper to hand a backlog over to the next run when its own time runs out.
    SWEEPER_FUNCTION_NAME = local.sweeper_name
    # The stop actions beyond StopTask this module grants the IAM for.
    EXEC_ENABLED       = var.exec_enabled ? "true" : "false"
    SSM_SIGNAL_ENABLED = var.ssm_signal_enabled ? "true" : "false"
  }

  # Many accounts (hub.tf): only when member_account_ids is set, so a single-account
  # deployment's environment is unchanged. The code assumes, for a task of a listed member
  # account, the role MEMBER_ROLE_ARN_TEMPLATE names with {partition}, {account} and
  # {region} taken from the task ARN, passing MEMBER_EXTERNAL_ID (when set) as ExternalId.
  member_environment = {
    for name, value in {
      MEMBER_ACCOUNT_IDS       = join(",", var.member_account_ids)
      MEMBER_ROLE_ARN_TEMPLATE = "arn:{partition}:iam::{account}:role${var.member_role_path}${coalesce(var.member_role_name, "${var.name_prefix}-member-{region}")}"
      MEMBER_EXTERNAL_ID       = coalesce(var.member_external_id, "-")
    } : name => value
    if length(var.member_account_ids) > 0 && !(name == "MEMBER_EXTERNAL_ID" && var.member_external_id == null)
  }

  # task-events starts a sweeper run at once when a drain's deadline is nearer than
  # EARLY_START_BELOW_SECONDS (the next scheduled run may come too late for it).
  task_events_environment = merge(local.common_environment, local.member_environment, {
    EARLY_START_BELOW_SECONDS = tostring(var.early_start_below_seconds)
  })

  # Both functions close records after our StopTask (the STOPPED event or the sweeper's
  # check), so both read CONFIRM_AFTER_SECONDS.
  sweeper_environment = merge(local.common_environment, local.member_environment, {
    SWEEP_HORIZON_SECONDS = tostring(var.sweep_horizon_seconds)
    LEASE_SECONDS         = tostring(var.lease_seconds)
    # Tags and desiredCount a StopTask is decided on are at most this old.
    DECISION_MAX_AGE_SECONDS = tostring(var.decision_max_age_seconds)
    DRY_RUN                  = var.dry_run ? "true" : "false"
    # The backstop's round, and the clusters whose services it visits (empty: all).
    BACKSTOP_ROUND_MINUTES = tostring(var.backstop_round_minutes)
    CLUSTER_ARNS           = join(",", var.cluster_arns)
    # Stop actions: when to escalate, what exec and ssm-signal send.
    ESCALATE_AFTER_SECONDS = tostring(var.escalate_after_seconds)
    STOP_SIGNAL            = var.stop_signal
    STOP_COMMAND           = var.stop_command
    # The pace of the signal steps' first calls (no published limit: assumed, measured).
    EXEC_CALLS_PER_SECOND   = tostring(var.exec_calls_per_second)
    SSM_COMMANDS_PER_SECOND = tostring(var.ssm_commands_per_second)
  })
}
