output "router_service_name" {
  description = "Endpoint service of the router: input router_service_name of live/pci."
  value       = module.router_link.service_name
}

output "vault_endpoint_id" {
  description = "The API stacks' endpoint to the vault: input accepted_vault_endpoint_ids of live/pci."
  value       = one(module.vault_link[*].id)
}
