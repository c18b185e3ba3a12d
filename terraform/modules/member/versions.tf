terraform {
  # The same floor as the root module (check blocks and preconditions need 1.5).
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The root module's range: 5.100 is what is validated here; widen both together.
      version = ">= 5.76.0, < 6.0.0"
    }
  }
}
