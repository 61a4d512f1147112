output "function_name" {
  description = "The loader function."
  value       = module.loader.function_name
}

output "function_alias_arn" {
  description = "The alias every trigger invokes (snap_start = true; null without)."
  value       = module.loader.function_alias_arn
}

output "function_version" {
  description = "The version the triggers invoke (\"$LATEST\" without snap_start)."
  value       = module.loader.function_version
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

output "workgroup_arn" {
  description = "The workgroup the loader runs statements in."
  value       = local.workgroup_arn
}

output "data_key_arn" {
  description = "The KMS key of the data bucket."
  value       = aws_kms_key.data.arn
}

output "alarm_topic_arn" {
  description = "The SNS topic the alarms notify."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_key_arn" {
  description = "The KMS key of the alarm topic (CloudWatch may use it)."
  value       = aws_kms_key.alarms.arn
}

output "notification_event_bus_arn" {
  description = "The EventBridge bus each committed load is announced on (source s3redshift)."
  value       = module.loader.notification_event_bus_arn
}

output "loader_config" {
  description = "The loader's configuration as TOML (no secret): `terraform output -raw loader_config > s3redshift.toml`, then `s3redshift check --config s3redshift.toml`."
  value       = module.loader.loader_config
}
