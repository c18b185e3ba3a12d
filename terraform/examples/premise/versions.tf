terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Same range as the module: nothing here changed in 6.0 (the region is read from `id`).
      version = ">= 5.76.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = { example = "ecs-drain-terminator-premise" }
  }
}
