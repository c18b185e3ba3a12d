variable "region" {
  type        = string
  description = "AWS region to deploy the example to."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  type        = string
  description = "Name of the example's cluster, service and load balancer (and prefix of the terminator)."
  default     = "drain-demo"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,20}$", var.name))
    error_message = "name must be 1-21 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the load balancer and the service."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets (at least two, in different AZs) for the internal NLB and the tasks; they need a route to ECR Public (NAT) to pull the image."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "subnet_ids must hold at least two subnet ids (subnet-...)."
  }
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "CIDR blocks allowed to reach the service through the NLB."
  default     = ["10.0.0.0/8"]

  validation {
    condition     = alltrue([for cidr in var.client_cidr_blocks : can(cidrhost(cidr, 0))])
    error_message = "client_cidr_blocks must be CIDR blocks."
  }
}

variable "access_logs_bucket" {
  type        = string
  description = "S3 bucket receiving the NLB's access logs (its policy must allow ELB log delivery)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket))
    error_message = "access_logs_bucket must be an S3 bucket name."
  }
}

variable "wait_seconds" {
  type        = number
  description = "Seconds after a drain starts before the terminator stops the task (service tag)."
  default     = 120

  validation {
    condition     = var.wait_seconds >= 0 && floor(var.wait_seconds) == var.wait_seconds
    error_message = "wait_seconds must be a whole number >= 0."
  }
}
