# The app account's two ends of the links with the PCI account, each one-way: the router
# offered to the PCI account's edge, and the API stacks' endpoint to the vault's internal
# port. No peering, no transit gateway, no route between the VPCs.

module "router_link" {
  source                 = "../../modules/privatelink_service"
  providers              = { aws = aws.app }
  name                   = "router"
  vpc_id                 = module.network.vpc_id
  subnet_ids             = module.network.private_subnet_ids
  security_group_ids     = [aws_security_group.this["router_link"].id]
  port                   = local.ports.router
  consumer_principal_arn = var.pci_consumer_role_arn
  accepted_endpoint_ids  = var.accepted_router_endpoint_ids
}

# Created once live/pci has offered the vault (docs/operations.md, first deploy).
module "vault_link" {
  count              = var.vault_service_name == null ? 0 : 1
  source             = "../../modules/privatelink_consumer"
  providers          = { aws = aws.app }
  name               = "vault-internal"
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [aws_security_group.this["vault_link"].id]
  service_name       = var.vault_service_name
}
