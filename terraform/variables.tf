# ------------------------------------------------------------------------------ naming
variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name (table, functions, roles, rules, queue, alarms)."
  default     = "ecs-drain-terminator"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must start with a letter and hold 1-40 letters, digits or hyphens (names derived from it must fit Lambda's and IAM's 64-character limits)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource the module creates."
  default     = {}
}

# ---------------------------------------------------------------------------- scope
variable "cluster_arns" {
  type        = list(string)
  description = "ARNs of the ECS clusters whose services may opt in. Narrows the event rule and scopes StopTask/DescribeTasks/DescribeServices/ListTagsForResource to these clusters. EMPTY MEANS EVERY CLUSTER of the account in the deployment region."
  default     = []

  validation {
    condition = alltrue([
      for arn in var.cluster_arns : can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255}$", arn))
    ])
    error_message = "Each cluster_arns entry must be an ECS cluster ARN: arn:<partition>:ecs:<region>:<account>:cluster/<name>."
  }
}

# ------------------------------------------------------------- behaviour (environment)
variable "tag_prefix" {
  type        = string
  description = "Prefix of the opt-in service tags (TAG_PREFIX), e.g. \"drain-terminator:\" for drain-terminator:enabled."
  default     = "drain-terminator:"

  validation {
    condition     = length(var.tag_prefix) >= 1 && length(var.tag_prefix) <= 100 && can(regex("^[A-Za-z0-9 +=._:/@-]+$", var.tag_prefix)) && !startswith(lower(var.tag_prefix), "aws:")
    error_message = "tag_prefix must be 1-100 characters valid in an ECS tag key (letters, digits, spaces and + = . _ : / @ -) and must not start with aws:."
  }
}

variable "default_wait_seconds" {
  type        = number
  description = "Seconds after a drain starts before the task is stopped, for services without a valid <prefix>wait-seconds tag (DEFAULT_WAIT_SECONDS)."
  default     = 120

  validation {
    condition     = var.default_wait_seconds >= 0 && var.default_wait_seconds <= 3600 && floor(var.default_wait_seconds) == var.default_wait_seconds
    error_message = "default_wait_seconds must be a whole number from 0 to 3600 (the longest deregistration delay)."
  }
}

variable "dry_run" {
  type        = bool
  description = "Do everything except StopTask: log and count the stops that would happen (DRY_RUN)."
  default     = false
}

variable "sweep_horizon_seconds" {
  type        = number
  description = "Deadlines up to this many seconds ahead are met inside the current sweeper run (SWEEP_HORIZON_SECONDS). sweeper_timeout must exceed it by more than 55."
  default     = 90

  validation {
    condition     = var.sweep_horizon_seconds >= 0 && var.sweep_horizon_seconds <= 840 && floor(var.sweep_horizon_seconds) == var.sweep_horizon_seconds
    error_message = "sweep_horizon_seconds must be a whole number from 0 to 840 (the sweeper's 900 s maximum timeout minus slack)."
  }
}

variable "lease_seconds" {
  type        = number
  description = "How long a sweeper run's claim on a ledger record holds (LEASE_SECONDS); at least 20 (the client timeouts the lease's safety margin is derived from)."
  default     = 30

  validation {
    condition     = var.lease_seconds >= 20 && var.lease_seconds <= 900 && floor(var.lease_seconds) == var.lease_seconds
    error_message = "lease_seconds must be a whole number from 20 to 900."
  }
}

variable "decision_max_age_seconds" {
  type        = number
  description = "The tags (opt-in, dry-run, wait, guards) and desiredCount a StopTask is decided on are at most this many seconds old; the task state at most 2 s, or this if lower (DECISION_MAX_AGE_SECONDS)."
  default     = 5

  validation {
    condition     = var.decision_max_age_seconds >= 1 && var.decision_max_age_seconds <= 300 && floor(var.decision_max_age_seconds) == var.decision_max_age_seconds
    error_message = "decision_max_age_seconds must be a whole number from 1 to 300."
  }
}

variable "confirm_after_seconds" {
  type        = number
  description = "A task still draining this many seconds after StopTask is reported as unconfirmed (CONFIRM_AFTER_SECONDS)."
  default     = 60

  validation {
    condition     = var.confirm_after_seconds >= 1 && floor(var.confirm_after_seconds) == var.confirm_after_seconds
    error_message = "confirm_after_seconds must be a whole number >= 1."
  }
}

variable "early_start_below_seconds" {
  type        = number
  description = "task-events starts a sweeper run at once (lambda:InvokeFunction) when a new drain's deadline is nearer than this many seconds; 0 disables it (EARLY_START_BELOW_SECONDS)."
  default     = 120

  validation {
    condition     = var.early_start_below_seconds >= 0 && floor(var.early_start_below_seconds) == var.early_start_below_seconds
    error_message = "early_start_below_seconds must be a whole number >= 0."
  }
}

variable "tag_cache_seconds" {
  type        = number
  description = "How long service tags are cached in a warm function container (TAG_CACHE_SECONDS)."
  default     = 60

  validation {
    condition     = var.tag_cache_seconds >= 0 && floor(var.tag_cache_seconds) == var.tag_cache_seconds
    error_message = "tag_cache_seconds must be a whole number >= 0."
  }
}

variable "record_retention_seconds" {
  type        = number
  description = "Closed ledger records expire (DynamoDB TTL) after this many seconds (RECORD_RETENTION_SECONDS)."
  default     = 604800

  validation {
    condition     = var.record_retention_seconds >= 60 && floor(var.record_retention_seconds) == var.record_retention_seconds
    error_message = "record_retention_seconds must be a whole number >= 60."
  }
}

# --------------------------------------------------------------------------- powertools
variable "service_name" {
  type        = string
  description = "Powertools service name (POWERTOOLS_SERVICE_NAME): the `service` dimension of the metrics the alarms watch."
  default     = "ecs-drain-terminator"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,250}$", var.service_name))
    error_message = "service_name must be 1-250 letters, digits, dots, underscores or hyphens."
  }
}

variable "metrics_namespace" {
  type        = string
  description = "CloudWatch namespace of the functions' EMF metrics (POWERTOOLS_METRICS_NAMESPACE)."
  default     = "EcsDrainTerminator"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a valid custom CloudWatch namespace (1-255 characters, not starting with AWS/)."
  }
}

variable "log_level" {
  type        = string
  description = "Log level of the functions (POWERTOOLS_LOG_LEVEL)."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
  }
}

variable "tracing_enabled" {
  type        = bool
  description = "Active X-Ray tracing of both functions. Off by default: loading the X-Ray SDK costs about 0.1 s of CPU at every cold start, and logs and metrics already say what each run did."
  default     = false
}

# ----------------------------------------------------------------------------- lambda
variable "runtime" {
  type        = string
  description = "Lambda Python runtime of both functions and the layer."
  default     = "python3.13"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.11, python3.12 or python3.13."
  }
}

variable "architecture" {
  type        = string
  description = "Instruction set of both functions (and of the layer's wheels)."
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "python_executable" {
  type        = string
  description = "Python 3 interpreter (with pip) that runs layers/build.py during apply. When its version equals the runtime's, the packages carry bytecode compiled for it (faster cold starts); otherwise sources only."
  default     = "python3"

  validation {
    condition     = length(trimspace(var.python_executable)) > 0
    error_message = "python_executable must not be empty."
  }
}

variable "prebuilt_packages" {
  type = object({
    function_zip = string
    layer_zip    = string
  })
  description = "Deploy these zips instead of building them (no Python or pip needed where Terraform runs): function_zip from `layers/build.py function`, layer_zip from `layers/build.py layer`, for this runtime and architecture. null builds them during apply."
  default     = null

  validation {
    condition     = var.prebuilt_packages == null ? true : (endswith(var.prebuilt_packages.function_zip, ".zip") && endswith(var.prebuilt_packages.layer_zip, ".zip"))
    error_message = "prebuilt_packages.function_zip and layer_zip must be paths of .zip files."
  }
}

variable "task_events_memory_size" {
  type        = number
  description = "Memory (MB) of the task-events function."
  default     = 256

  validation {
    condition     = var.task_events_memory_size >= 128 && var.task_events_memory_size <= 10240 && floor(var.task_events_memory_size) == var.task_events_memory_size
    error_message = "task_events_memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "task_events_timeout" {
  type        = number
  description = "Timeout (seconds) of the task-events function."
  default     = 30

  validation {
    condition     = var.task_events_timeout >= 3 && var.task_events_timeout <= 900 && floor(var.task_events_timeout) == var.task_events_timeout
    error_message = "task_events_timeout must be a whole number of seconds from 3 to 900."
  }
}

variable "task_events_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the task-events function; null leaves it unreserved (deployment bursts are absorbed, and accounts at the minimum concurrency quota cannot reserve any)."
  default     = null

  validation {
    condition     = var.task_events_reserved_concurrency == null ? true : (var.task_events_reserved_concurrency >= 1 && floor(var.task_events_reserved_concurrency) == var.task_events_reserved_concurrency)
    error_message = "task_events_reserved_concurrency must be null or a whole number >= 1."
  }
}

variable "sweeper_memory_size" {
  type        = number
  description = "Memory (MB) of the sweeper function."
  default     = 256

  validation {
    condition     = var.sweeper_memory_size >= 128 && var.sweeper_memory_size <= 10240 && floor(var.sweeper_memory_size) == var.sweeper_memory_size
    error_message = "sweeper_memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "sweeper_timeout" {
  type        = number
  description = "Timeout (seconds) of the sweeper function; must exceed sweep_horizon_seconds + 55 (checked at plan). A run with drains due works until 55 s before it, then hands over to the next run: a longer timeout means fewer hand-overs in a burst, and costs nothing while idle."
  default     = 300

  validation {
    condition     = var.sweeper_timeout >= 31 && var.sweeper_timeout <= 900 && floor(var.sweeper_timeout) == var.sweeper_timeout
    error_message = "sweeper_timeout must be a whole number of seconds from 31 to 900."
  }
}

variable "sweeper_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the sweeper. 2 keeps a burst of drains to two sweeper invocations at once, as fast as unreserved (docs/benchmarks.md: at 1,000 drains due at once the same lateness with 8 runs instead of 422 and 1/26 of the GB-seconds); overlapping runs are safe anyway (leases prevent double stops). With backstop_enabled the function reserves one more, for the backstop's run. null leaves it unreserved: needed in accounts at the minimum concurrency quota, which cannot reserve any."
  default     = 2

  validation {
    condition     = var.sweeper_reserved_concurrency == null ? true : (var.sweeper_reserved_concurrency >= 1 && var.sweeper_reserved_concurrency <= 10 && floor(var.sweeper_reserved_concurrency) == var.sweeper_reserved_concurrency)
    error_message = "sweeper_reserved_concurrency must be null or a whole number from 1 to 10."
  }
}

variable "backstop_enabled" {
  type        = bool
  description = "Run the backstop: every minute, look at a slice of the opted-in services for drains no event reported (lost past every retry, or while the terminator was down) and record them from the moment they are seen. Adds a schedule rule and ecs:ListTasks, tag:GetResources and dynamodb:BatchGetItem to the sweeper's role."
  default     = true
}

variable "backstop_round_minutes" {
  type        = number
  description = "The backstop visits every opted-in service once per this many minutes (a slice each minute). Per service and hour it makes at most 2 x 60 / this ListTasks and as many DescribeTasks calls, inside 10 % of the account's bucket."
  default     = 10

  validation {
    condition     = var.backstop_round_minutes >= 1 && var.backstop_round_minutes <= 60 && floor(var.backstop_round_minutes) == var.backstop_round_minutes
    error_message = "backstop_round_minutes must be a whole number of minutes from 1 to 60."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the functions' CloudWatch log groups, in days."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

# ------------------------------------------------------------------------------- iam
variable "role_path" {
  type        = string
  description = "Path of the functions' IAM roles."
  default     = "/"

  validation {
    condition     = can(regex("^/([\\x21-\\x7E]{0,510}/)?$", var.role_path))
    error_message = "role_path must be / or start and end with / (printable ASCII, at most 512 characters)."
  }
}

variable "role_permissions_boundary" {
  type        = string
  description = "ARN of the managed policy set as the permissions boundary of the functions' IAM roles; null sets none."
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null ? true : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary))
    error_message = "role_permissions_boundary must be null or an IAM policy ARN (arn:<partition>:iam::<account>:policy/<name>)."
  }
}

# ---------------------------------------------------------------------------- data
variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for the table, the log groups, the dead-letter queue, the functions' environment and the alarm topic; null uses AWS owned/managed keys. The key policy must allow the logs, events and cloudwatch service principals (see README)."
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "table_deletion_protection" {
  type        = bool
  description = "Deletion protection of the ledger table (turn off before destroying the module)."
  default     = true
}

# ----------------------------------------------------------------------------- alarms
variable "create_alarm_topic" {
  type        = bool
  description = "Create an SNS topic the alarms notify (output alarm_topic_arn; subscribe to it yourself)."
  default     = false
}

variable "create_dashboard" {
  type        = bool
  description = "Create a CloudWatch dashboard of stops, lateness, confirmations, deferrals, dry-run stops, rejected events, function errors and DLQ depth (output dashboard_url)."
  default     = true
}

variable "alarm_topic_arns" {
  type        = list(string)
  description = "Existing SNS topics the alarms notify (in addition to the module's topic, if created)."
  default     = []

  validation {
    condition = alltrue([
      for arn in var.alarm_topic_arns : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", arn))
    ])
    error_message = "Each alarm_topic_arns entry must be an SNS topic ARN."
  }
}

# ------------------------------------------------------- many accounts (hub.tf, off by default)
variable "member_account_ids" {
  type        = list(string)
  description = "Other accounts (same region) whose ECS tasks this deployment acts on, each running terraform/modules/member (or its StackSets template): their events are accepted on the member bus and the functions may assume their member role. Empty (the default): this account only, as before."
  default     = []

  validation {
    condition     = alltrue([for id in var.member_account_ids : can(regex("^[0-9]{12}$", id))]) && length(distinct(var.member_account_ids)) == length(var.member_account_ids)
    error_message = "member_account_ids must hold distinct 12-digit AWS account ids."
  }
}

variable "member_organization_id" {
  type        = string
  description = "AWS Organizations id (o-...): the member bus accepts task state changes from every account of the organisation (the functions still act only for member_account_ids and count the others as rejected), and the members may require aws:PrincipalOrgID. null: only member_account_ids may send."
  default     = null

  validation {
    condition     = var.member_organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.member_organization_id))
    error_message = "member_organization_id must be an AWS Organizations id: o- followed by 10-32 lowercase letters or digits."
  }
}

variable "member_external_id" {
  type        = string
  description = "External id the functions pass when assuming a member role (MEMBER_EXTERNAL_ID); the members' trust requires it. null: none (then member_organization_id is required)."
  default     = null

  validation {
    condition     = var.member_external_id == null || (can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.member_external_id)) && length(coalesce(var.member_external_id, "-")) >= 2 && length(coalesce(var.member_external_id, "-")) <= 1224)
    error_message = "member_external_id must be 2-1224 characters of letters, digits and + = , . @ : / _ -."
  }
}

variable "member_role_name" {
  type        = string
  description = "Name of the member role in every member account; null: <name_prefix>-member-<region>, the member module's default."
  default     = null

  validation {
    condition     = var.member_role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.member_role_name))
    error_message = "member_role_name must be 1-64 characters of letters, digits and + = , . @ _ -."
  }
}

variable "member_role_path" {
  type        = string
  description = "Path of the member role in every member account (the member module's role_path)."
  default     = "/"

  validation {
    condition     = can(regex("^/([A-Za-z0-9+=,.@_-]+/)*$", var.member_role_path)) && length(var.member_role_path) <= 512
    error_message = "member_role_path must start and end with / (e.g. / or /platform/)."
  }
}

# ------------------------------------------------------------------------- stop actions

variable "exec_enabled" {
  type        = bool
  description = "Let the sweeper take the `exec` stop action: ECS Exec into the task's container to send the stop signal (EXEC_ENABLED). Grants ecs:ExecuteCommand on the module's clusters, ssmmessages:OpenDataChannel and ssm:TerminateSession on exec sessions, and makes `stop-task-then-exec` the default stop action. The services need enableExecuteCommand and a task role with the ssmmessages permissions."
  default     = false
}

variable "exec_container_names" {
  type        = list(string)
  description = "Containers the sweeper may ECS Exec into (the ecs:container-name condition of ecs:ExecuteCommand). Empty: any container of the clusters' tasks."
  default     = []

  validation {
    condition     = alltrue([for name in var.exec_container_names : can(regex("^[A-Za-z0-9_-]{1,255}$", name))])
    error_message = "exec_container_names must be container names: 1-255 letters, digits, hyphens and underscores."
  }
}

variable "ssm_signal_enabled" {
  type        = bool
  description = "Let the sweeper take the `ssm-signal` stop action on EC2 tasks: SSM Run Command (AWS-RunShellScript) on the task's container instance runs `docker kill --signal` (SSM_SIGNAL_ENABLED). Grants ssm:SendCommand on that document and this account's EC2 instances tagged drain-terminator:cluster = <cluster name> (any value when cluster_arns is empty; the member module's convention), ssm:GetCommandInvocation, ssm:CancelCommand and ecs:DescribeContainerInstances."
  default     = false
}

variable "escalate_after_seconds" {
  type        = number
  description = "A task still draining this long after a stop action gets the plan's next one, e.g. `stop-task-then-exec` escalates to exec (ESCALATE_AFTER_SECONDS)."
  default     = 20

  validation {
    condition     = var.escalate_after_seconds >= 1 && var.escalate_after_seconds <= 300 && floor(var.escalate_after_seconds) == var.escalate_after_seconds
    error_message = "escalate_after_seconds must be a whole number from 1 to 300."
  }
}

variable "exec_calls_per_second" {
  type        = number
  description = "The account's pace of ecs:ExecuteCommand calls, all sweeper runs together (EXEC_CALLS_PER_SECOND). AWS publishes no limit: 20 is an assumption (ECS's lowest published sustained rate); botocore's adaptive mode slows down on throttling and SignalCallsThrottled counts it."
  default     = 20

  validation {
    condition     = var.exec_calls_per_second >= 1 && var.exec_calls_per_second <= 100 && floor(var.exec_calls_per_second) == var.exec_calls_per_second
    error_message = "exec_calls_per_second must be a whole number from 1 to 100."
  }
}

variable "ssm_commands_per_second" {
  type        = number
  description = "The account's pace of ssm:SendCommand calls, all sweeper runs together (SSM_COMMANDS_PER_SECOND). AWS publishes no limit: 10 is an assumption; botocore's adaptive mode slows down on throttling and SignalCallsThrottled counts it."
  default     = 10

  validation {
    condition     = var.ssm_commands_per_second >= 1 && var.ssm_commands_per_second <= 100 && floor(var.ssm_commands_per_second) == var.ssm_commands_per_second
    error_message = "ssm_commands_per_second must be a whole number from 1 to 100."
  }
}

variable "stop_signal" {
  type        = string
  description = "The signal the exec and ssm-signal actions send (STOP_SIGNAL): a name such as TERM or SIGINT, or a number. A service's `<prefix>stop-signal` tag overrides it."
  default     = "TERM"

  validation {
    condition     = can(regex("^(SIG)?([A-Z][A-Z0-9+-]*|[0-9]{1,2})$", upper(var.stop_signal)))
    error_message = "stop_signal must be a signal name (TERM, SIGINT) or number."
  }
}

variable "stop_command" {
  type        = string
  description = "A command run by /bin/sh -c in the container instead of `kill -<signal> 1` (STOP_COMMAND); empty: the kill. A service's `<prefix>stop-command` tag overrides it."
  default     = ""

  validation {
    condition     = length(var.stop_command) <= 1024 && !strcontains(var.stop_command, "\n")
    error_message = "stop_command must be one line of at most 1024 characters."
  }
}
