terraform {
  # terraform_data (the build at apply time), check blocks, preconditions: 1.5 covers them.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # >= 5.76: python3.13 as a Lambda runtime and DynamoDB deletion protection.
      # < 6.0: hashicorp/aws 5.100 is what `make e2e` validates (0 warnings), applies and
      # re-plans here; 6.x has not been run against this module, so it is not admitted.
      # The module already avoids what 6.x deprecates (data.aws_region.*.name).
      version = ">= 5.76.0, < 6.0.0"
    }
  }
}
