output "role_arn" {
  description = "ARN of the member role the hub's functions assume."
  value       = aws_iam_role.member.arn
}

output "role_name" {
  description = "Name of the member role (the hub's member_role_name must resolve to it in this region)."
  value       = aws_iam_role.member.name
}

output "forward_rule_arn" {
  description = "ARN of the rule forwarding this account's task state changes to the hub."
  value       = aws_cloudwatch_event_rule.forward.arn
}

output "forwarder_role_arn" {
  description = "ARN of the role the forwarding rule uses to put events on the hub's bus."
  value       = aws_iam_role.forward.arn
}

output "account_id" {
  description = "This member's account id (list it in the hub's member_account_ids)."
  value       = local.account_id
}

output "region" {
  description = "This member's region (the hub's region: one hub per region)."
  value       = local.region
}
