# Addresses before the functions became one for_each (local.functions): existing
# deployments move in place instead of being destroyed and recreated.
moved {
  from = aws_lambda_function.task_events
  to   = aws_lambda_function.this["task-events"]
}

moved {
  from = aws_lambda_function.sweeper
  to   = aws_lambda_function.this["sweeper"]
}

moved {
  from = aws_cloudwatch_log_group.task_events
  to   = aws_cloudwatch_log_group.this["task-events"]
}

moved {
  from = aws_cloudwatch_log_group.sweeper
  to   = aws_cloudwatch_log_group.this["sweeper"]
}

moved {
  from = aws_lambda_function_event_invoke_config.task_events
  to   = aws_lambda_function_event_invoke_config.this["task-events"]
}

moved {
  from = aws_lambda_function_event_invoke_config.sweeper
  to   = aws_lambda_function_event_invoke_config.this["sweeper"]
}

moved {
  from = aws_iam_role.task_events
  to   = aws_iam_role.this["task-events"]
}

moved {
  from = aws_iam_role.sweeper
  to   = aws_iam_role.this["sweeper"]
}

moved {
  from = aws_iam_role_policy.task_events
  to   = aws_iam_role_policy.this["task-events"]
}

moved {
  from = aws_iam_role_policy.sweeper
  to   = aws_iam_role_policy.this["sweeper"]
}

moved {
  from = aws_cloudwatch_event_rule.task_state_change
  to   = aws_cloudwatch_event_rule.this["task-events"]
}

moved {
  from = aws_cloudwatch_event_rule.sweeper_schedule
  to   = aws_cloudwatch_event_rule.this["sweeper"]
}

moved {
  from = aws_cloudwatch_event_target.task_events
  to   = aws_cloudwatch_event_target.this["task-events"]
}

moved {
  from = aws_cloudwatch_event_target.sweeper
  to   = aws_cloudwatch_event_target.this["sweeper"]
}

moved {
  from = aws_lambda_permission.task_events
  to   = aws_lambda_permission.this["task-events"]
}

moved {
  from = aws_lambda_permission.sweeper
  to   = aws_lambda_permission.this["sweeper"]
}

moved {
  from = aws_lambda_layer_version.runtime
  to   = aws_lambda_layer_version.dependencies
}
