terraform {
  # terraform_data (the build at apply time), check blocks, preconditions: 1.5 covers them.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # >= 5.76: python3.13 as a Lambda runtime and DynamoDB deletion protection.
      # < 7.0: every resource, data source and attribute the module and its examples use
      # was checked against the provider's 6.0 upgrade guide (none is removed, renamed or
      # changed there; the region is read from data.aws_region's `id`, not the `name`
      # 6.x deprecates): see terraform/README.md, "Provider versions". 7.x is a future
      # major with its own upgrade guide.
      version = ">= 5.76.0, < 7.0.0"
    }
  }
}
