# ---------------------------------------------------------------------------- packaging
# layers/build.py runs during plan (stdlib only; pip for the layer's pinned wheels) and
# writes reproducible zips under layers/build/ (gitignored). The zips' SHA-256 drives
# source_code_hash, so an unchanged source changes nothing on the next apply.
# Plan and apply on the same machine: a saved plan refers to these local files.
locals {
  source_root   = "${path.module}/.."
  build_dir     = "${path.module}/../layers/build"
  build_program = [var.python_executable, "${path.module}/../layers/build.py"]
}

data "external" "layer_package" {
  program = local.build_program

  query = {
    target         = "layer"
    architecture   = var.architecture
    python_version = local.python_version
    source_root    = local.source_root
    output_dir     = local.build_dir
  }
}

data "external" "function_package" {
  program = local.build_program

  query = {
    target      = "function"
    source_root = local.source_root
    output_dir  = local.build_dir
  }
}

resource "aws_lambda_layer_version" "runtime" {
  layer_name               = "${var.name_prefix}-runtime"
  description              = "aws-lambda-powertools and the serverless package of ecs-drain-terminator."
  filename                 = data.external.layer_package.result.path
  source_code_hash         = data.external.layer_package.result.base64sha256
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
}

# -------------------------------------------------------------------------------- logs
resource "aws_cloudwatch_log_group" "task_events" {
  #checkov:skip=CKV_AWS_338:Operational logs of a control loop; retention is var.log_retention_days (default 30), raise it where compliance asks for a year.
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs by default; with var.kms_key_arn set the customer key is used (its key policy must allow the logs service).
  name              = "/aws/lambda/${local.task_events_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

resource "aws_cloudwatch_log_group" "sweeper" {
  #checkov:skip=CKV_AWS_338:Operational logs of a control loop; retention is var.log_retention_days (default 30), raise it where compliance asks for a year.
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs by default; with var.kms_key_arn set the customer key is used (its key policy must allow the logs service).
  name              = "/aws/lambda/${local.sweeper_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

# ---------------------------------------------------------------------------- functions
resource "aws_lambda_function" "task_events" {
  #checkov:skip=CKV_AWS_117:Calls only AWS APIs (ECS, DynamoDB, CloudWatch); a VPC would add NAT or six interface endpoints and no protection.
  #checkov:skip=CKV_AWS_272:Code is packaged from this repository during apply; code signing needs a Signer profile and S3-staged artifacts, out of scope here.
  #checkov:skip=CKV_AWS_115:Concurrency is left unreserved by default (var.task_events_reserved_concurrency) so deployment bursts are absorbed and small accounts, which cannot reserve any, can deploy.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (names and numbers); Lambda encrypts it at rest with its service key, or var.kms_key_arn when set.
  function_name                  = local.task_events_name
  description                    = "Records ECS service task drains and stops in the ledger."
  role                           = aws_iam_role.task_events.arn
  handler                        = local.task_events_handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  filename                       = data.external.function_package.result.path
  source_code_hash               = data.external.function_package.result.base64sha256
  layers                         = [aws_lambda_layer_version.runtime.arn]
  memory_size                    = var.task_events_memory_size
  timeout                        = var.task_events_timeout
  reserved_concurrent_executions = var.task_events_reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.task_events_environment
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letter.arn
  }

  tracing_config {
    mode = local.tracing_mode
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.task_events.name
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.task_events]
}

resource "aws_lambda_function" "sweeper" {
  #checkov:skip=CKV_AWS_117:Calls only AWS APIs (ECS, ELB, DynamoDB, CloudWatch); a VPC would add NAT or interface endpoints and no protection.
  #checkov:skip=CKV_AWS_272:Code is packaged from this repository during apply; code signing needs a Signer profile and S3-staged artifacts, out of scope here.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (names and numbers); Lambda encrypts it at rest with its service key, or var.kms_key_arn when set.
  function_name                  = local.sweeper_name
  description                    = "Stops draining ECS service tasks once their wait is over."
  role                           = aws_iam_role.sweeper.arn
  handler                        = local.sweeper_handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  filename                       = data.external.function_package.result.path
  source_code_hash               = data.external.function_package.result.base64sha256
  layers                         = [aws_lambda_layer_version.runtime.arn]
  memory_size                    = var.sweeper_memory_size
  timeout                        = var.sweeper_timeout
  reserved_concurrent_executions = var.sweeper_reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.sweeper_environment
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letter.arn
  }

  tracing_config {
    mode = local.tracing_mode
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.sweeper.name
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.sweeper_timeout > var.sweep_horizon_seconds + 30
      error_message = "sweeper_timeout must exceed sweep_horizon_seconds + 30 seconds: a run meets deadlines up to the horizon ahead and needs time to finish."
    }
  }

  depends_on = [aws_iam_role_policy.sweeper]
}

# Asynchronous invocations (both triggers are asynchronous): Lambda retries twice, then
# the event goes to the functions' dead-letter queue. Ticks older than a minute are moot.
resource "aws_lambda_function_event_invoke_config" "task_events" {
  function_name                = aws_lambda_function.task_events.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_function_event_invoke_config" "sweeper" {
  function_name                = aws_lambda_function.sweeper.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 60
}
