# An optional CloudWatch dashboard (var.create_dashboard, default on): what the
# terminator did (stops, their lateness, confirmations), what it held back (deferrals,
# dry-run stops, rejected events) and whether it is healthy (function errors, DLQ depth).
# Metric names: serverless/observability.py (Metric); the functions publish them as EMF
# under var.metrics_namespace with the dimension service = var.service_name.
resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({
    widgets = [
      for index, widget in local.dashboard_widgets : {
        type   = "metric"
        x      = (index % 2) * 12
        y      = floor(index / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = widget.title
          region  = local.region
          view    = "timeSeries"
          stacked = false
          period  = 60
          stat    = widget.stat
          metrics = widget.metrics
        }
      }
    ]
  })
}
