# The two functions, each read in one place: local.functions. Every per-function
# resource (log group, function, asynchronous invoke config, role and policy, trigger
# rule, rule target, invoke permission, error alarm) is a for_each over this map.
locals {
  # The sweeper's trigger: EventBridge's finest schedule. A run meets the deadlines
  # that fall before the next run inside the run itself (sweep_horizon_seconds).
  sweeper_schedule = "rate(1 minute)"

  functions = {
    task-events = {
      name                 = local.task_events_name
      description          = "Records ECS service task drains and stops in the ledger."
      handler              = "handlers.task_events.handler" # docs/contracts.md
      memory_size          = var.task_events_memory_size
      timeout              = var.task_events_timeout
      reserved_concurrency = var.task_events_reserved_concurrency
      environment          = local.task_events_environment
      policy               = data.aws_iam_policy_document.task_events.json

      # ECS task state changes the code acts on (see event_pattern.tf).
      rule = {
        name                = "${var.name_prefix}-task-state-change"
        description         = "ECS service tasks that start draining or stop: ${local.task_events_name}."
        event_pattern       = jsonencode(local.task_state_change_pattern)
        schedule_expression = null
      }
      # A drain event is still useful late (the sweeper catches up): retry for an hour,
      # in EventBridge's delivery and in Lambda's asynchronous invocation alike.
      delivery = { maximum_event_age_in_seconds = 3600, maximum_retry_attempts = 185 }
      async    = { maximum_event_age_in_seconds = 3600, maximum_retry_attempts = 2 }
    }

    sweeper = {
      name        = local.sweeper_name
      description = "Stops draining ECS service tasks once their wait is over."
      handler     = "handlers.sweeper.handler" # docs/contracts.md
      memory_size = var.sweeper_memory_size
      timeout     = var.sweeper_timeout
      # The backstop's run (backstop.tf) gets a slot of its own, so it never takes one of
      # the sweeps' (the simulator and docs/benchmarks.md measure the sweeps' value).
      reserved_concurrency = (
        var.sweeper_reserved_concurrency == null ? null
        : var.sweeper_reserved_concurrency + (var.backstop_enabled ? 1 : 0)
      )
      environment = local.sweeper_environment
      policy      = data.aws_iam_policy_document.sweeper.json

      rule = {
        name                = "${var.name_prefix}-sweeper"
        description         = "Runs ${local.sweeper_name} every minute."
        event_pattern       = null
        schedule_expression = local.sweeper_schedule
      }
      # A tick is replaced by the next one a minute later: never retry it for long.
      delivery = { maximum_event_age_in_seconds = 60, maximum_retry_attempts = 2 }
      async    = { maximum_event_age_in_seconds = 60, maximum_retry_attempts = 0 }
    }
  }

  tracing_mode = var.tracing_enabled ? "Active" : "PassThrough"
}

# -------------------------------------------------------------------------------- logs
resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Operational logs of a control loop; retention is var.log_retention_days (default 30), raise it where compliance asks for a year.
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs by default; with var.kms_key_arn set the customer key is used (its key policy must allow the logs service).
  for_each = local.functions

  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

# --------------------------------------------------------------------------- functions
resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:Calls only AWS APIs (ECS, ELB, DynamoDB, Lambda, CloudWatch); a VPC would add NAT or interface endpoints and no protection.
  #checkov:skip=CKV_AWS_272:Code is packaged from this repository during apply; code signing needs a Signer profile and S3-staged artifacts, out of scope here.
  #checkov:skip=CKV_AWS_115:Concurrency is unreserved by default (var.*_reserved_concurrency): accounts at the minimum concurrency quota cannot reserve any, and deployment bursts are absorbed.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is opt-in (var.tracing_enabled): the SDK adds about 0.1 s of CPU to every cold start, and Powertools logs and EMF metrics record each run.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (names and numbers); Lambda encrypts it at rest with its service key, or var.kms_key_arn when set.
  for_each = local.functions

  function_name                  = each.value.name
  description                    = each.value.description
  role                           = aws_iam_role.this[each.key].arn
  handler                        = each.value.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  filename                       = local.function_package.path
  source_code_hash               = local.function_package.hash
  layers                         = [aws_lambda_layer_version.dependencies.arn]
  memory_size                    = each.value.memory_size
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.value.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = each.value.environment
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letter.arn
  }

  tracing_config {
    mode = local.tracing_mode
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this[each.key].name
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = each.key != "sweeper" || var.sweeper_timeout > var.sweep_horizon_seconds + 55
      error_message = "sweeper_timeout must exceed sweep_horizon_seconds + 55 seconds: a run meets deadlines up to the horizon ahead, and a StopTask needs 45 s left in the invocation plus a 10 s reserve."
    }

    # A signal step starts only with its time bound left on top of those 55 s: ECS Exec
    # 90 s, SSM Run Command 161 s (the adapters' time_bound), in a hub 30 s more (one
    # AssumeRole of the member role, accounts.tf).
    precondition {
      condition     = each.key != "sweeper" || !var.exec_enabled || var.sweeper_timeout > 55 + 90 + local.assume_role_seconds
      error_message = "With exec_enabled, sweeper_timeout must exceed ${145 + local.assume_role_seconds} seconds: an ECS Exec signal can take ${90 + local.assume_role_seconds} s, on top of the 55 s every step needs."
    }

    precondition {
      condition     = each.key != "sweeper" || !var.ssm_signal_enabled || var.sweeper_timeout > 55 + 161 + local.assume_role_seconds
      error_message = "With ssm_signal_enabled, sweeper_timeout must exceed ${216 + local.assume_role_seconds} seconds: an SSM Run Command signal can take ${161 + local.assume_role_seconds} s, on top of the 55 s every step needs."
    }
  }

  # The zip exists once the build ran (packaging.tf); the role can act once its policy is on.
  depends_on = [terraform_data.function_package, aws_iam_role_policy.this]
}

# Both triggers invoke asynchronously: Lambda retries, then the event goes to the
# functions' dead-letter queue.
resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = local.functions

  function_name                = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts       = each.value.async.maximum_retry_attempts
  maximum_event_age_in_seconds = each.value.async.maximum_event_age_in_seconds
}
