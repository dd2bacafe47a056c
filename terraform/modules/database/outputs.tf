output "address" {
  description = "Host name of the database."
  value       = aws_db_instance.this.address
}

output "arn" {
  description = "ARN of the instance."
  value       = aws_db_instance.this.arn
}

output "master_secret_arn" {
  description = "Secrets Manager secret holding the master password."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}
