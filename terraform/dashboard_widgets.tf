# The dashboard's widgets (dashboard.tf). Only locals that depend on variables,
# local.functions, local.dead_letter_name and local.region live here: the tests render
# them with Terraform core (sim/terraform.py) and check every metric is one the code emits.
locals {
  dashboard_name = var.name_prefix

  dashboard_widgets = [
    {
      title   = "Stops: made, failed, dry run"
      stat    = "Sum"
      metrics = [for name in ["TasksStopped", "StopsFailed", "DryRunStops"] : [var.metrics_namespace, name, "service", var.service_name]]
    },
    {
      title   = "Stop lateness after the deadline (s)"
      stat    = "Maximum"
      metrics = [[var.metrics_namespace, "StopLatenessSeconds", "service", var.service_name], [var.metrics_namespace, "StopLatenessSeconds", "service", var.service_name, { stat = "Average" }]]
    },
    {
      title   = "Stop actions: steps sent, escalations, failures"
      stat    = "Sum"
      metrics = [for name in ["StopTasksSent", "ExecSignalsSent", "SsmSignalsSent", "StopEscalations", "ExecsFailed", "SsmSignalsFailed", "StopPrerequisitesMissing"] : [var.metrics_namespace, name, "service", var.service_name]]
    },
    {
      title   = "Confirmed stops by the action that stopped the task"
      stat    = "Sum"
      metrics = [for name in ["StoppedByStopTask", "StoppedByExec", "StoppedBySsmSignal"] : [var.metrics_namespace, name, "service", var.service_name]]
    },
    {
      title   = "Stop confirmations: confirmed, unconfirmed"
      stat    = "Sum"
      metrics = [for name in ["StopsConfirmed", "StopsUnconfirmed"] : [var.metrics_namespace, name, "service", var.service_name]]
    },
    {
      title   = "Drains tracked, deferred, closed without a stop"
      stat    = "Sum"
      metrics = [for name in ["DrainsTracked", "StopsDeferred", "TasksClosedWithoutStop"] : [var.metrics_namespace, name, "service", var.service_name]]
    },
    {
      title   = "Events rejected"
      stat    = "Sum"
      metrics = [[var.metrics_namespace, "EventsRejected", "service", var.service_name]]
    },
    {
      # A hub's lookups fail per account (a member whose role is broken): one line per
      # account the functions counted (SEARCH finds them; no account list to keep).
      title = "Lookups failed, and by account"
      stat  = "Sum"
      metrics = [
        [var.metrics_namespace, "LookupsFailed", "service", var.service_name],
        [{
          id         = "by_account"
          label      = ""
          expression = "SEARCH('{${var.metrics_namespace},account,service} MetricName=\"LookupsFailed\" service=\"${var.service_name}\"', 'Sum', 60)"
        }],
      ]
    },
    {
      title   = "Function errors"
      stat    = "Sum"
      metrics = [for function in local.functions : ["AWS/Lambda", "Errors", "FunctionName", function.name]]
    },
    {
      title   = "Dead-letter queue depth"
      stat    = "Maximum"
      metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.dead_letter_name]]
    },
  ]

  console_host = {
    aws        = "console.aws.amazon.com"
    aws-cn     = "console.amazonaws.cn"
    aws-us-gov = "console.amazonaws-us-gov.com"
  }
}
