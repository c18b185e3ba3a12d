variable "region" {
  type        = string
  description = "Region of the hub and its members (one hub per region)."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name, equal in the hub and its members."
  default     = "drain-terminator"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must start with a letter and hold 1-40 letters, digits or hyphens."
  }
}

variable "hub_cluster_arns" {
  type        = list(string)
  description = "The hub account's own clusters (empty: every cluster of the hub account)."
  default     = []
}

variable "team_a" {
  type = object({
    deploy_role_arn = string
    cluster_names   = list(string)
  })
  description = "First member account: the role Terraform assumes to deploy there, and its clusters (empty: every cluster)."
}

variable "team_b" {
  type = object({
    deploy_role_arn = string
    cluster_names   = list(string)
  })
  description = "Second member account: the role Terraform assumes to deploy there, and its clusters (empty: every cluster)."
}

variable "external_id" {
  type        = string
  description = "External id the hub passes when assuming the member roles."
  default     = "drain-terminator-example"
}

variable "organization_id" {
  type        = string
  description = "AWS Organizations id of all three accounts (null when they are not in one organisation)."
  default     = null
}
