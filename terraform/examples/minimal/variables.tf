variable "region" {
  type        = string
  description = "AWS region of the cluster (the module deploys to the same region: a cluster's task events reach only its own region's event bus)."

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "cluster_name" {
  type        = string
  description = "Name of the existing ECS cluster whose services may opt in."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.cluster_name))
    error_message = "cluster_name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "prebuilt_packages" {
  type = object({
    function_zip = string
    layer_zip    = string
  })
  description = "The release's function and layer zips (make release; runtime python3.13, arm64 by default) to deploy without Python or pip here; null builds them during apply."
  default     = null
}
