# One hub (this account, this region) and two member accounts in the same region. The
# hub is the root module with member accounts listed; each member runs
# modules/member, which forwards its task state changes to the hub's member bus and
# creates the role the hub's functions assume there.

locals {
  # An account id is the fifth field of any IAM ARN of that account.
  team_a_account = split(":", var.team_a.deploy_role_arn)[4]
  team_b_account = split(":", var.team_b.deploy_role_arn)[4]
}

module "hub" {
  source = "../.."

  name_prefix  = var.name_prefix
  cluster_arns = var.hub_cluster_arns

  member_account_ids     = [local.team_a_account, local.team_b_account]
  member_organization_id = var.organization_id
  member_external_id     = var.external_id
}

module "team_a" {
  source    = "../../modules/member"
  providers = { aws = aws.team_a }

  name_prefix       = var.name_prefix
  hub_event_bus_arn = module.hub.member_event_bus_arn
  hub_role_arns     = module.hub.member_trusted_role_arns
  external_id       = module.hub.member_external_id
  organization_id   = var.organization_id
  cluster_names     = var.team_a.cluster_names
}

module "team_b" {
  source    = "../../modules/member"
  providers = { aws = aws.team_b }

  name_prefix       = var.name_prefix
  hub_event_bus_arn = module.hub.member_event_bus_arn
  hub_role_arns     = module.hub.member_trusted_role_arns
  external_id       = module.hub.member_external_id
  organization_id   = var.organization_id
  cluster_names     = var.team_b.cluster_names
}
