output "function_name" {
  description = "The loader function."
  value       = module.loader.function_name
}

output "queue_url" {
  description = "The queue S3 notifies."
  value       = module.loader.queue_url
}

output "dlq_url" {
  description = "Dead-letter queue: objects that failed max_receive_count times."
  value       = module.loader.dlq_url
}

output "database_user" {
  description = "The database user the function signs in as (grant it USAGE/CREATE on the target schemas and the ledger schema)."
  value       = "IAMR:${module.loader.function_role_name}"
}

output "copy_role_arn" {
  description = "The role COPY assumes (already associated with the namespace)."
  value       = module.loader.copy_role_arn
}

output "sweep_payload" {
  description = "The event the sweep schedule sends."
  value       = module.loader.sweep_payload
}
