output "vpc_id" {
  description = "Id of the VPC."
  value       = aws_vpc.this.id
}

output "cidr_block" {
  description = "Range of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "Private subnets, one per zone."
  value       = aws_subnet.private[*].id
}

output "private_subnet_cidrs" {
  description = "Ranges of the private subnets, one per zone."
  value       = aws_subnet.private[*].cidr_block
}

output "public_subnet_ids" {
  description = "Public subnets, one per zone (empty without public_subnets)."
  value       = aws_subnet.public[*].id
}

output "public_subnet_cidrs" {
  description = "Ranges of the public subnets, where the load balancer's nodes take their addresses."
  value       = aws_subnet.public[*].cidr_block
}

output "endpoints_security_group_id" {
  description = "Security group of the AWS interface endpoints."
  value       = aws_security_group.endpoints.id
}

output "s3_prefix_list_id" {
  description = "Prefix list of S3 through the gateway endpoint (image layers, audit archive)."
  value       = aws_vpc_endpoint.s3.prefix_list_id
}
