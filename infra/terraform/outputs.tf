################################################################################
# Function
################################################################################

output "function_arn" {
  description = "ARN of the loader function."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "function_name" {
  description = "Name of the loader function."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "function_version" {
  description = "The version the triggers invoke: the version published last with snap_start = true (through the alias \"live\"), \"$LATEST\" without."
  value       = try(aws_lambda_function.this[0].version, null)
}

output "function_alias_arn" {
  description = "ARN of the alias \"live\" every trigger invokes with snap_start = true (null without): invoke this ARN, not function_arn, to run from the SnapStart snapshot."
  value       = try(aws_lambda_alias.live[0].arn, null)
}

output "function_role_arn" {
  description = "ARN of the function's execution role (created, or role_arn with create_role = false)."
  value       = local.create ? local.function_role_arn : null
}

output "function_role_name" {
  description = "Name of the function's execution role (to attach further policies)."
  value       = local.create ? local.function_role_name : null
}

output "function_policy_json" {
  description = "The least-privilege policy the function needs (attached as an inline policy to the role the module creates; attach it yourself to a role brought with create_role = false)."
  value       = try(data.aws_iam_policy_document.lambda[0].json, null)
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}

output "loader_config" {
  description = "The loader's configuration as TOML: the settings the function gets as S3REDSHIFT_CONFIG (names and ARNs only, no secret). Save it with `terraform output -raw loader_config > s3redshift.toml` and run the CLI against the deployed stack: `s3redshift check --config s3redshift.toml`."
  value       = local.create ? local.loader_config_toml : null
}

output "loader_config_json" {
  description = "The loader configuration passed as S3REDSHIFT_CONFIG (names and ARNs only, no secret); `s3redshift plan --config` accepts it saved as a .json file."
  value       = local.create ? local.loader_config_json : null
}

################################################################################
# Queues and trigger
################################################################################

output "queue_arn" {
  description = "ARN of the queue S3 notifies (trigger = \"sqs\")."
  value       = try(aws_sqs_queue.this[0].arn, null)
}

output "queue_url" {
  description = "URL of the queue S3 notifies (trigger = \"sqs\")."
  value       = try(aws_sqs_queue.this[0].id, null)
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue (redrive target with SQS; on-failure destination of direct events and the sweep)."
  value       = try(aws_sqs_queue.dlq[0].arn, null)
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = try(aws_sqs_queue.dlq[0].id, null)
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping (trigger = \"sqs\")."
  value       = try(aws_lambda_event_source_mapping.this[0].uuid, null)
}

output "manifest_prefix" {
  description = "Key prefix the loader writes its manifests and object lists under (for a lifecycle rule of your own)."
  value       = local.create ? var.manifest_prefix : null
}

output "notified_buckets" {
  description = "Buckets whose whole notification configuration this module owns."
  value       = [for b in keys(aws_s3_bucket_notification.this) : b]
}

output "visibility_timeout_seconds" {
  description = "The main queue's visibility timeout (6 x timeout + batching window unless given)."
  value       = try(aws_sqs_queue.this[0].visibility_timeout_seconds, null)
}

################################################################################
# Redshift access
################################################################################

output "copy_role_arn" {
  description = "ARN of the role Redshift assumes for COPY (created or given); associate it with the cluster or namespace."
  value       = local.create ? local.copy_role_arn : null
}

output "ssm_parameter_name" {
  description = "Name of the SecureString holding the password (credentials.provider = \"ssm\")."
  value       = local.create ? local.ssm_parameter_name : null
}

output "ssm_parameter_arn" {
  description = "ARN of the password parameter the module created."
  value       = try(aws_ssm_parameter.password[0].arn, null)
}

output "ssm_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the password parameter the module created."
  value       = try(aws_kms_key.ssm[0].arn, null)
}

################################################################################
# Operations
################################################################################

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms, by purpose (dlq_depth, oldest_message, errors, objects_failed, load_lag)."
  value = {
    for k, v in {
      dlq_depth      = try(aws_cloudwatch_metric_alarm.dlq_depth[0].arn, null)
      oldest_message = try(aws_cloudwatch_metric_alarm.oldest_message[0].arn, null)
      errors         = try(aws_cloudwatch_metric_alarm.errors[0].arn, null)
      objects_failed = try(aws_cloudwatch_metric_alarm.objects_failed[0].arn, null)
      load_lag       = try(aws_cloudwatch_metric_alarm.load_lag[0].arn, null)
    } : k => v if v != null
  }
}

output "sweep_rule_arn" {
  description = "ARN of the EventBridge schedule that triggers the sweep (null without sweep_schedule_expression)."
  value       = try(aws_cloudwatch_event_rule.sweep[0].arn, null)
}

output "sweep_payload" {
  description = "The constant event the sweep schedule sends to the function."
  value       = local.create && local.sweep_enabled ? jsonencode(local.sweep_payload) : null
}

################################################################################
# Notifications
################################################################################

output "notification_event_bus_arn" {
  description = "ARN of the EventBridge bus each committed load is announced on (created or given; null without one). Match source \"s3redshift\", detail-type \"s3redshift load committed\"."
  value       = local.create ? local.event_bus_arn : null
}

output "notification_sns_topic_arn" {
  description = "ARN of the SNS topic each committed load is published to (created or given; null without one)."
  value       = local.create ? local.sns_topic_arn : null
}
