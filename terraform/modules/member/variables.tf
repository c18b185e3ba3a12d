# ------------------------------------------------------------------------------- the hub
variable "hub_event_bus_arn" {
  type        = string
  description = "ARN of the hub's member event bus (the hub's output member_event_bus_arn), in this region: one hub per region."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]{1,256}$", var.hub_event_bus_arn))
    error_message = "hub_event_bus_arn must be an EventBridge event bus ARN: arn:<partition>:events:<region>:<account>:event-bus/<name>."
  }
}

variable "hub_role_arns" {
  type        = list(string)
  description = "ARNs of the hub's function roles (the hub's output member_trusted_role_arns): the only principals the member role trusts."

  validation {
    condition = length(var.hub_role_arns) > 0 && alltrue([
      for arn in var.hub_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$", arn))
    ]) && length(distinct([for arn in var.hub_role_arns : try(split(":", arn)[4], arn)])) == 1
    error_message = "hub_role_arns must hold one or more IAM role ARNs (arn:<partition>:iam::<account>:role/<path><name>), all of the hub's account."
  }
}

variable "external_id" {
  type        = string
  description = "External id the hub passes to sts:AssumeRole (the hub's output member_external_id); the trust requires it. null: none (then organization_id is required)."
  default     = null

  validation {
    condition     = var.external_id == null || (can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.external_id)) && length(coalesce(var.external_id, "-")) >= 2 && length(coalesce(var.external_id, "-")) <= 1224)
    error_message = "external_id must be 2-1224 characters of letters, digits and + = , . @ : / _ -."
  }
}

variable "organization_id" {
  type        = string
  description = "AWS Organizations id (o-...) of the hub: the trust requires aws:PrincipalOrgID to equal it. null: no organisation condition (then external_id is required)."
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must be an AWS Organizations id: o- followed by 10-32 lowercase letters or digits."
  }
}

# -------------------------------------------------------------------------- this member
variable "cluster_names" {
  type        = list(string)
  description = "Names of this account's ECS clusters (in this region) whose services may opt in: narrows the forwarding rule and scopes every ECS permission of the member role. EMPTY MEANS EVERY CLUSTER of the account in this region."
  default     = []

  validation {
    condition     = alltrue([for name in var.cluster_names : can(regex("^[A-Za-z0-9_-]{1,255}$", name))])
    error_message = "Each cluster_names entry must be an ECS cluster name (1-255 letters, digits, hyphens or underscores), not an ARN."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the member's resource names; equal to the hub's name_prefix, whose functions assume <name_prefix>-member-<region>."
  default     = "ecs-drain-terminator"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must start with a letter and hold 1-40 letters, digits or hyphens (the role names add the region and must fit IAM's 64 characters)."
  }
}

variable "role_name" {
  type        = string
  description = "Name of the member role; null: <name_prefix>-member-<region>, the hub's default member_role_name. Set the hub's member_role_name to match when you change it."
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters of letters, digits and + = , . @ _ -."
  }
}

variable "role_path" {
  type        = string
  description = "Path of the member and forwarding roles; the hub's member_role_path must match."
  default     = "/"

  validation {
    condition     = can(regex("^/([A-Za-z0-9+=,.@_-]+/)*$", var.role_path)) && length(var.role_path) <= 512
    error_message = "role_path must start and end with / (e.g. / or /platform/)."
  }
}

variable "role_permissions_boundary" {
  type        = string
  description = "ARN of the managed policy set as the permissions boundary of both roles; null sets none."
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary))
    error_message = "role_permissions_boundary must be an IAM managed policy ARN."
  }
}

variable "enable_backstop" {
  type        = bool
  description = "Allow the hub's backstop to look at this account (tag:GetResources for the opted-in services, ecs:ListTasks on the listed clusters). Keep it equal to the hub's backstop_enabled (default true)."
  default     = true
}

# --------------------------------------------------------------- stop actions (off by default)
variable "enable_exec" {
  type        = bool
  description = "Allow the hub to stop tasks through ECS Exec (ecs:ExecuteCommand on this account's listed clusters, ssmmessages:OpenDataChannel, and ssm:TerminateSession on ECS Exec sessions). Keep it equal to the hub's exec_enabled. Off by default."
  default     = false
}

variable "enable_ssm_signal" {
  type        = bool
  description = "Allow the hub to signal containers through SSM Run Command (AWS-RunShellScript on container instances tagged drain-terminator:cluster = <cluster name> (any value when cluster_names is empty), ssm:GetCommandInvocation, ssm:CancelCommand, ecs:DescribeContainerInstances). Keep it equal to the hub's ssm_signal_enabled. Off by default."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource the module creates."
  default     = {}
}
