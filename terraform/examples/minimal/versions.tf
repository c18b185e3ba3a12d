terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The module admits 5.x (>= 5.76) and 6.x: a stack on "~> 6.0" can call it as is.
      version = ">= 5.76.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = var.region
}
