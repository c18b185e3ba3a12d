terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.76.0, < 7.0.0"
    }
  }
}

# The hub's account: the credentials Terraform runs with.
provider "aws" {
  region = var.region

  default_tags {
    tags = { example = "ecs-drain-terminator-many-accounts" }
  }
}

# Each member account through a role Terraform may assume there (e.g. the
# OrganizationAccountAccessRole of AWS Organizations). Same region as the hub.
provider "aws" {
  alias  = "team_a"
  region = var.region

  assume_role {
    role_arn = var.team_a.deploy_role_arn
  }

  default_tags {
    tags = { example = "ecs-drain-terminator-many-accounts" }
  }
}

provider "aws" {
  alias  = "team_b"
  region = var.region

  assume_role {
    role_arn = var.team_b.deploy_role_arn
  }

  default_tags {
    tags = { example = "ecs-drain-terminator-many-accounts" }
  }
}
