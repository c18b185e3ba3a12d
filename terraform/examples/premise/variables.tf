variable "region" {
  type        = string
  description = "AWS region to measure in."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  type        = string
  description = "Name of the stack's VPC, cluster, services and load balancer (and prefix of the terminator)."
  default     = "drain-premise"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,17}$", var.name))
    error_message = "name must be 1-18 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR block of the stack's own VPC (two public /24 subnets are carved from it)."
  default     = "10.77.0.0/16"

  validation {
    condition     = can(cidrsubnet(var.vpc_cidr_block, 8, 1)) && tonumber(split("/", var.vpc_cidr_block)[1]) <= 22
    error_message = "vpc_cidr_block must be an IPv4 CIDR block of /22 or larger."
  }
}

variable "deregistration_delay_seconds" {
  type        = number
  description = "The target groups' deregistration delay: how long ECS alone drains a task (what an early stop shortens)."
  default     = 600

  validation {
    condition     = var.deregistration_delay_seconds >= 300 && var.deregistration_delay_seconds <= 3600 && floor(var.deregistration_delay_seconds) == var.deregistration_delay_seconds
    error_message = "deregistration_delay_seconds must be a whole number from 300 to 3600 (long enough to tell an early stop from ECS's own)."
  }
}

variable "wait_seconds" {
  type        = number
  description = "The services' wait-seconds tag: how long after a drain starts the terminator stops the task."
  default     = 30

  validation {
    condition     = var.wait_seconds >= 0 && var.wait_seconds <= 120 && floor(var.wait_seconds) == var.wait_seconds
    error_message = "wait_seconds must be a whole number from 0 to 120 (short: the measurement waits for it)."
  }
}

variable "escalate_after_seconds" {
  type        = number
  description = "The module's escalate_after_seconds: how long stop-task-then-exec waits for StopTask to show an effect before it runs exec."
  default     = 20

  validation {
    condition     = var.escalate_after_seconds >= 1 && var.escalate_after_seconds <= 60 && floor(var.escalate_after_seconds) == var.escalate_after_seconds
    error_message = "escalate_after_seconds must be a whole number from 1 to 60."
  }
}

variable "ec2_variant" {
  type        = bool
  description = "Also create an EC2 container instance (ECS-optimized AMI, SSM agent) and a service on it, for the ssm-signal stop action; turns on the module's ssm_signal_enabled."
  default     = false
}

variable "ec2_instance_type" {
  type        = string
  description = "Instance type of the EC2 variant's container instance (x86_64)."
  default     = "t3.micro"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*\\.[a-z0-9]+$", var.ec2_instance_type))
    error_message = "ec2_instance_type must be an EC2 instance type such as t3.micro."
  }
}

variable "ec2_ami_id" {
  type        = string
  description = "AMI of the EC2 variant's container instance; null: the ECS-optimized Amazon Linux 2023 AMI AWS recommends in the region (public SSM parameter)."
  default     = null

  validation {
    condition     = var.ec2_ami_id == null || can(regex("^ami-[0-9a-f]+$", var.ec2_ami_id))
    error_message = "ec2_ami_id must be an AMI id (ami-...) or null."
  }
}

variable "image" {
  type        = string
  description = "The services' container image: nginx (the container's command writes its configuration), or any image with /bin/sh and kill (the exec action runs kill -TERM 1 in it) whose server listens on 8080 and exits on SIGTERM as PID 1."
  default     = "public.ecr.aws/docker/library/nginx:1.27-alpine"

  validation {
    condition     = length(var.image) > 0 && !strcontains(var.image, " ")
    error_message = "image must be an image reference without spaces."
  }
}
