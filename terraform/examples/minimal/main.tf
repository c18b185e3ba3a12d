# The smallest useful deployment: an existing cluster, just the module. Services of the
# cluster opt in with tags (terraform/README.md, "Usage").

data "aws_ecs_cluster" "this" {
  cluster_name = var.cluster_name
}

module "drain_terminator" {
  source = "../.."

  cluster_arns      = [data.aws_ecs_cluster.this.arn]
  prebuilt_packages = var.prebuilt_packages
}
