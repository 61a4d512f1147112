output "function_name" {
  description = "The loader function."
  value       = module.loader.function_name
}

output "dlq_url" {
  description = "Dead-letter queue: events that still failed after the retries."
  value       = module.loader.dlq_url
}

output "ssm_parameter_name" {
  description = "The SecureString holding the password."
  value       = module.loader.ssm_parameter_name
}

output "loader_security_group_id" {
  description = "Security group of the function."
  value       = aws_security_group.loader.id
}

output "notification_sns_topic_arn" {
  description = "The SNS topic each committed load is published to (subscribe downstream jobs)."
  value       = module.loader.notification_sns_topic_arn
}

output "loader_config" {
  description = "The loader's configuration as TOML (no secret): `terraform output -raw loader_config > s3redshift.toml`, then `s3redshift check --config s3redshift.toml`."
  value       = module.loader.loader_config
}
