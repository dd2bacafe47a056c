output "id" {
  description = "Endpoint id, for the provider account to accept."
  value       = aws_vpc_endpoint.this.id
}

output "dns_name" {
  description = "Host name the clients call."
  value       = aws_vpc_endpoint.this.dns_entry[0].dns_name
}
