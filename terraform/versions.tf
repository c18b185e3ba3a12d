terraform {
  # check blocks, preconditions and optional object attributes: 1.5 covers them all.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # python3.13 as a Lambda runtime and DynamoDB deletion protection.
      version = ">= 5.76.0"
    }
    external = {
      source = "hashicorp/external"
      # Runs layers/build.py during plan to package the layer and the functions.
      version = ">= 2.3.0"
    }
  }
}
