output "vault_service_name" {
  description = "Endpoint service of the vault's internal port: input vault_service_name of live/app."
  value       = module.vault_link.service_name
}

output "router_endpoint_id" {
  description = "The edge's endpoint to the router: input accepted_router_endpoint_ids of live/app."
  value       = one(module.router_link[*].id)
}

output "load_balancer_dns_name" {
  description = "Point the api and js hosts here."
  value       = module.load_balancer.dns_name
}

output "certificate_validation_records" {
  description = "DNS records that validate the TLS certificate."
  value       = module.load_balancer.certificate_validation_records
}

output "blocked_ip_set_arn" {
  description = "The WAF IP set the security team edits to block addresses."
  value       = module.waf.blocked_ip_set_arn
}
