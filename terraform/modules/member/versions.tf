terraform {
  # The same floor as the root module (check blocks and preconditions need 1.5).
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The root module's range (terraform/README.md, "Provider versions"): widen both together.
      version = ">= 5.76.0, < 7.0.0"
    }
  }
}
