data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

data "aws_caller_identity" "current" {
  count = var.create ? 1 : 0
}

data "aws_region" "current" {
  count = var.create ? 1 : 0
}

locals {
  create = var.create

  partition  = try(data.aws_partition.current[0].partition, "aws")
  account_id = try(data.aws_caller_identity.current[0].account_id, "")
  # The region's name is `region` in provider 6.x (`name` is deprecated
  # there) and `name` in 5.x, which has no `region`. Reading it from the
  # whole object keeps both versions free of errors and deprecation warnings.
  region_data = try(data.aws_region.current[0], null)
  region      = try(local.region_data.region, local.region_data.name, "")

  use_sqs       = var.trigger == "sqs"
  sweep_enabled = var.sweep_schedule_expression != null
  # Asynchronous invocations (direct S3 events, the scheduled sweep) send
  # what still fails after their retries to the DLQ.
  use_async_destination = !local.use_sqs || local.sweep_enabled

  # --- S3 -------------------------------------------------------------------
  source_buckets   = distinct([for s in var.sources : s.bucket])
  manifest_buckets = var.manifest_bucket == null ? local.source_buckets : [var.manifest_bucket]
  all_buckets      = distinct(concat(local.source_buckets, local.manifest_buckets))

  source_object_arns   = distinct([for s in var.sources : "arn:${local.partition}:s3:::${s.bucket}/${s.prefix}*"])
  manifest_object_arns = [for b in local.manifest_buckets : "arn:${local.partition}:s3:::${b}/${var.manifest_prefix}*"]

  # ListBucket is granted per bucket, limited (s3:prefix) to that bucket's
  # source prefixes: the sweep lists them. HeadObject on a deleted key still
  # answers 403, not 404: S3 checks ListBucket for it without an s3:prefix,
  # which the condition does not match. A listing with the key as prefix is
  # admitted, though, and tells "gone" from "denied" (docs/deploy.md, Deleted objects).
  source_list_prefixes = {
    for b in local.source_buckets : b => distinct([for s in var.sources : "${s.prefix}*" if s.bucket == b])
  }
  # Redshift's COPY also reads the manifests.
  copy_list_prefixes = {
    for b in local.all_buckets : b => distinct(concat(
      lookup(local.source_list_prefixes, b, []),
      contains(local.manifest_buckets, b) ? ["${var.manifest_prefix}*"] : [],
    ))
  }

  # --- Redshift ---------------------------------------------------------------
  use_data_api   = var.redshift.transport == "data-api"
  use_cluster    = var.redshift.cluster_identifier != null
  use_serverless = var.redshift.workgroup_name != null

  redshift_arn_prefix = "arn:${local.partition}:redshift:${local.region}:${local.account_id}"
  cluster_arn         = local.use_cluster ? "${local.redshift_arn_prefix}:cluster:${var.redshift.cluster_identifier}" : null
  dbname_arn          = local.use_cluster ? "${local.redshift_arn_prefix}:dbname:${var.redshift.cluster_identifier}/${var.redshift.database}" : null
  dbuser_arn          = local.use_cluster && var.credentials.user != null ? "${local.redshift_arn_prefix}:dbuser:${var.redshift.cluster_identifier}/${var.credentials.user}" : null
  data_api_target_arn = local.use_cluster ? local.cluster_arn : var.redshift.workgroup_arn

  # --- Credentials ------------------------------------------------------------
  creds_iam    = var.credentials.provider == "iam"
  creds_secret = var.credentials.provider == "secrets-manager"
  creds_ssm    = var.credentials.provider == "ssm"

  create_ssm_parameter = local.create && local.creds_ssm && var.credentials.create_ssm_parameter
  ssm_parameter_name   = local.creds_ssm ? coalesce(var.credentials.ssm_parameter_name, "/${var.name}/redshift-password") : null
  ssm_parameter_arn    = local.creds_ssm ? "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.ssm_parameter_name}" : null
  ssm_kms_key_arn      = local.create_ssm_parameter ? try(aws_kms_key.ssm[0].arn, null) : var.credentials.ssm_kms_key_arn

  # Who may have Redshift assume the COPY role (iam.tf, assume_redshift).
  copy_role_external_id = "arn:${local.partition}:redshift:${local.region}:${local.account_id}:dbuser:*"

  copy_role_arn = var.copy_role_arn != null ? var.copy_role_arn : try(aws_iam_role.copy[0].arn, null)

  # The function's execution role: created here, or brought by the caller.
  create_role        = local.create && var.create_role
  function_role_arn  = var.create_role ? try(aws_iam_role.this[0].arn, null) : var.role_arn
  function_role_name = var.create_role ? try(aws_iam_role.this[0].name, null) : try(element(split("/", var.role_arn), length(split("/", var.role_arn)) - 1), null)

  # --- Notifications --------------------------------------------------------------
  # Names and ARNs are computed, not read from the resources, so the function's
  # policy and configuration never wait on them (the function depends on them).
  create_event_bus = local.create && try(var.notifications.create_event_bus, false)
  create_sns_topic = local.create && try(var.notifications.create_sns_topic, false)
  event_bus        = local.create_event_bus ? "${var.name}-loads" : try(var.notifications.event_bus, null)
  # PutEvents takes a bus by name or ARN; IAM needs the ARN.
  event_bus_arn = local.event_bus == null ? null : (startswith(local.event_bus, "arn:") ? local.event_bus : "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/${local.event_bus}")
  sns_topic_arn = local.create_sns_topic ? "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name}-loads" : try(var.notifications.sns_topic_arn, null)
  sns_kms_key   = try(var.notifications.sns_kms_key_arn, null)

  # --- SnapStart --------------------------------------------------------------
  # With snap_start every trigger invokes the alias (the published version with
  # the snapshot), never $LATEST, which SnapStart does not apply to.
  alias_name       = "live"
  invoke_qualifier = var.snap_start ? local.alias_name : null
  # Lambda's SnapStart page lists every commercial Region but these two.
  regions_without_snap_start = ["ap-southeast-6", "ap-east-2"]

  # --- Function ---------------------------------------------------------------
  artifact_name     = "lambda-${var.redshift.transport}-${var.architecture}-py${trimprefix(var.runtime, "python")}.zip"
  artifact_is_named = can(regex("^lambda-(data-api|connector)-(x86_64|arm64)-py3\\.[0-9]+\\.zip$", basename(var.package_path)))

  visibility_timeout_seconds = coalesce(var.sqs.visibility_timeout_seconds, 6 * var.timeout + var.sqs.maximum_batching_window_in_seconds)

  reserved_concurrent_executions = coalesce(
    var.reserved_concurrent_executions,
    local.use_sqs ? var.sqs.maximum_concurrency + (local.sweep_enabled ? 1 : 0) : 10,
  )

  # The loader's configuration (design §4), handed over as S3REDSHIFT_CONFIG.
  # Names and ARNs only: the password stays in SSM or Secrets Manager.
  tables = [
    for t in var.tables : merge(
      { for k, v in {
        pattern  = t.pattern
        schema   = t.schema
        table    = t.table
        mode     = t.mode
        keys     = t.keys
        order_by = t.order_by
        columns  = t.columns
      } : k => v if v != null },
      { for k, v in {
        format = t.format == null ? null : { for fk, fv in t.format : fk => fv if fv != null }
        # comp_update is a boolean or "preset": given as a string, it is
        # decoded as JSON so that "true" becomes a boolean again.
        options = t.options == null ? null : {
          for ok, ov in merge(t.options, {
            comp_update = t.options.comp_update == null ? null : jsondecode(t.options.comp_update == "preset" ? "\"preset\"" : t.options.comp_update)
          }) : ok => ov if ov != null
        }
        schema_policy = t.schema_policy == null ? null : { for pk, pv in t.schema_policy : pk => pv if pv != null }
      } : k => v if v != null },
    )
  ]

  loader_config = { for k, v in {
    target = merge(
      {
        kind      = "redshift"
        transport = var.redshift.transport
        database  = var.redshift.database
      },
      { for k, v in {
        port               = var.redshift.transport == "connector" ? var.redshift.port : null
        host               = var.redshift.transport == "connector" ? var.redshift.host : null
        cluster_identifier = var.redshift.cluster_identifier
        workgroup          = var.redshift.workgroup_name
        max_in_flight      = var.redshift.max_in_flight
      } : k => v if v != null },
    )
    credentials = { for k, v in {
      provider   = var.credentials.provider
      user       = local.creds_secret ? null : var.credentials.user
      parameter  = local.ssm_parameter_name
      secret_arn = local.creds_secret ? var.credentials.secret_arn : null
    } : k => v if v != null }
    copy = { for k, v in {
      iam_role        = local.copy_role_arn
      region          = local.region
      manifest_bucket = var.manifest_bucket
      manifest_prefix = var.manifest_prefix
    } : k => v if v != null }
    ledger = {
      enabled = true
      schema  = var.ledger_schema
    }
    tables = length(local.tables) > 0 ? local.tables : null
    notifications = var.notifications == null ? null : { for k, v in {
      event_bus     = local.event_bus
      sns_topic_arn = local.sns_topic_arn
    } : k => v if v != null }
  } : k => v if v != null }

  loader_config_json = jsonencode(local.loader_config)

  # The same configuration as TOML, for the CLI (the loader_config output,
  # saved as s3redshift.toml). Each value is written by jsonencode, whose
  # strings, numbers, booleans and arrays are TOML too, except for DEL, which
  # JSON leaves raw and TOML refuses inside a string. No value is an object
  # inside an array, the one JSON form TOML writes differently.
  toml_sections = [
    for section in ["target", "credentials", "copy", "ledger", "notifications"] :
    section if contains(keys(local.loader_config), section)
  ]
  # DEL can only come from inside a string, where it is escaped once, here.
  loader_config_toml = replace(join("\n", concat(
    ["# s3redshift configuration of the loader ${var.name}: the function's S3REDSHIFT_CONFIG, as TOML."],
    flatten([
      for section in local.toml_sections : concat(
        ["", "[${section}]"],
        [for k, v in local.loader_config[section] : "${k} = ${jsonencode(v)}"],
      )
    ]),
    flatten([
      for t in local.tables : concat(
        ["", "[[tables]]", "pattern = ${jsonencode(t.pattern)}"],
        [for k, v in t : "${k} = ${jsonencode(v)}" if !contains(["pattern", "format", "options", "schema_policy"], k)],
        flatten([
          for sub in ["format", "options", "schema_policy"] : concat(
            ["[tables.${sub}]"],
            [for k, v in t[sub] : "${k} = ${jsonencode(v)}"],
          ) if contains(keys(t), sub)
        ]),
      )
    ]),
    [""],
  )), "\u007f", "\\u007f")

  # The scheduled sweep's constant payload; the adapter recognises the
  # "s3redshift_sweep" key (docs/deploy.md, The sweep).
  sweep_prefixes = var.sweep_prefixes != null ? var.sweep_prefixes : distinct([for s in var.sources : "s3://${s.bucket}/${s.prefix}"])
  sweep_payload = {
    s3redshift_sweep = { for k, v in {
      prefixes = local.sweep_prefixes
      since    = var.sweep_since
    } : k => v if v != null }
  }
}

################################################################################
# Function
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  count = local.create ? 1 : 0

  # checkov:skip=CKV_AWS_158:Encryption with a customer managed key is the caller's choice (log_kms_key_arn); without one CloudWatch Logs encrypts with its own key, and the loader never logs secrets.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  count = local.create ? 1 : 0

  # checkov:skip=CKV_AWS_116:Failures are dead-lettered by the SQS redrive policy (trigger = "sqs") or by the on-failure destination of aws_lambda_function_event_invoke_config.this (direct S3 events and the sweep); dead_letter_config would be a second, redundant DLQ.
  # checkov:skip=CKV_AWS_117:A VPC is optional: the data-api transport reaches Redshift over HTTPS without one; vpc_config adds it for the connector transport.
  # checkov:skip=CKV_AWS_272:The artifact is built reproducibly by `make lambda-zip` and pinned by source_code_hash; code signing needs an AWS Signer profile the caller would have to own.
  function_name                  = var.name
  description                    = "s3redshift: loads new S3 objects into Redshift with COPY, exactly once"
  role                           = local.function_role_arn
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  handler                        = var.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = local.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  # SnapStart applies to published versions only: each change publishes one.
  publish = var.snap_start

  dynamic "snap_start" {
    for_each = var.snap_start ? ["PublishedVersions"] : []
    content {
      apply_on = snap_start.value
    }
  }

  environment {
    variables = merge(var.environment_variables, {
      S3REDSHIFT_CONFIG            = local.loader_config_json
      S3REDSHIFT_METRICS_NAMESPACE = var.metrics_namespace
    })
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this[0].name
  }

  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  lifecycle {
    precondition {
      # Lambda allows 4 KB for all environment variables together.
      condition     = length(local.loader_config_json) + length(var.metrics_namespace) + length(jsonencode(var.environment_variables)) <= 3840
      error_message = "S3REDSHIFT_CONFIG (the loader configuration built from redshift, credentials, tables, ...) plus environment_variables exceed Lambda's 4 KB environment limit; shorten the table rules."
    }

    precondition {
      condition     = !var.snap_start || !contains(local.regions_without_snap_start, local.region)
      error_message = "snap_start = true, but Lambda SnapStart is not offered in ${local.region}; set snap_start = false there."
    }
  }

  tags = var.tags

  # The role's permissions must exist before Lambda validates the VPC
  # settings and before the first invocation.
  depends_on = [
    aws_iam_role_policy.this,
    aws_cloudwatch_log_group.this,
    aws_cloudwatch_event_bus.notifications,
    aws_sns_topic.notifications,
  ]
}

# A zip named by `make lambda-zip` says what it was built for; a function
# whose architecture or runtime differs cannot import pydantic_core.
check "artifact_matches_the_function" {
  assert {
    condition     = !local.create || !local.artifact_is_named || basename(var.package_path) == local.artifact_name
    error_message = "package_path ${basename(var.package_path)} was built for another transport, architecture or Python than this function (redshift.transport = ${var.redshift.transport}, architecture = ${var.architecture}, runtime = ${var.runtime}); run `make lambda-zip TRANSPORT=... ARCH=... PYTHON_VERSION=...` to match."
  }
}

################################################################################
# SnapStart: the alias every trigger invokes
################################################################################

resource "aws_lambda_alias" "live" {
  count = local.create && var.snap_start ? 1 : 0

  name             = local.alias_name
  description      = "s3redshift: the published version with its SnapStart snapshot; every trigger invokes it"
  function_name    = aws_lambda_function.this[0].function_name
  function_version = aws_lambda_function.this[0].version
}

locals {
  # What every trigger invokes: the alias with snap_start, else the function.
  invoke_arn = var.snap_start ? one(aws_lambda_alias.live[*].arn) : one(aws_lambda_function.this[*].arn)
}

################################################################################
# Trigger "sqs": S3 -> SQS (+ DLQ) -> event source mapping
################################################################################

resource "aws_sqs_queue" "dlq" {
  count = local.create ? 1 : 0

  name                      = "${var.name}-dlq"
  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = true

  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  count = local.create && local.use_sqs ? 1 : 0

  name                       = var.name
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = var.sqs.message_retention_seconds
  # SSE-SQS: S3 cannot publish to a queue encrypted with the AWS managed
  # aws/sqs key (it would need kms:GenerateDataKey in a policy nobody can edit).
  sqs_managed_sse_enabled = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[0].arn
    maxReceiveCount     = var.sqs.max_receive_count
  })

  lifecycle {
    precondition {
      condition     = local.visibility_timeout_seconds >= 6 * var.timeout + var.sqs.maximum_batching_window_in_seconds
      error_message = "The queue's visibility timeout must be at least 6 x the function timeout + the batching window, or messages are delivered again while still being loaded."
    }
  }

  tags = var.tags
}

# Only the main queue may use the DLQ as its dead-letter queue.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  count = local.create && local.use_sqs && var.create_dlq_redrive_allow_policy ? 1 : 0

  queue_url = aws_sqs_queue.dlq[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[0].arn]
  })
}

data "aws_iam_policy_document" "queue" {
  count = local.create && local.use_sqs ? 1 : 0

  statement {
    sid       = "S3Notifications"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this[0].arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [for b in local.source_buckets : "arn:${local.partition}:s3:::${b}"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  count = local.create && local.use_sqs ? 1 : 0

  queue_url = aws_sqs_queue.this[0].id
  policy    = data.aws_iam_policy_document.queue[0].json
}

resource "aws_lambda_event_source_mapping" "this" {
  count = local.create && local.use_sqs ? 1 : 0

  event_source_arn                   = aws_sqs_queue.this[0].arn
  function_name                      = local.invoke_arn
  batch_size                         = var.sqs.batch_size
  maximum_batching_window_in_seconds = var.sqs.maximum_batching_window_in_seconds
  # The handler answers with batchItemFailures: only the messages whose
  # objects failed come back, the loaded ones are deleted.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sqs.maximum_concurrency
  }

  tags = var.tags

  # Lambda checks the role's SQS permissions when the mapping is created.
  depends_on = [aws_iam_role_policy.this]
}

################################################################################
# Trigger "direct": S3 -> Lambda (async), failures -> DLQ
################################################################################

resource "aws_lambda_permission" "s3" {
  for_each = local.create && !local.use_sqs ? toset(local.source_buckets) : toset([])

  statement_id   = "AllowS3-${replace(each.key, ".", "-")}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this[0].function_name
  qualifier      = local.invoke_qualifier
  principal      = "s3.amazonaws.com"
  source_arn     = "arn:${local.partition}:s3:::${each.key}"
  source_account = local.account_id
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count = local.create && local.use_async_destination ? 1 : 0

  function_name                = aws_lambda_function.this[0].function_name
  qualifier                    = local.invoke_qualifier # the settings hold for the alias it names
  maximum_retry_attempts       = var.direct.maximum_retry_attempts
  maximum_event_age_in_seconds = var.direct.maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dlq[0].arn
    }
  }

  depends_on = [aws_iam_role_policy.this]
}

################################################################################
# Manifest expiry (optional: it owns the bucket's lifecycle configuration)
################################################################################

resource "aws_s3_bucket_lifecycle_configuration" "manifests" {
  for_each = local.create && var.manifest_expiration_days != null ? toset(local.manifest_buckets) : toset([])

  # checkov:skip=CKV_AWS_300:Incomplete uploads are aborted after one day under the manifest prefix, the only place the loader writes; a bucket-wide rule is the bucket owner's choice, not this module's.
  bucket = each.key

  rule {
    id     = "s3redshift-${var.name}-manifests"
    status = "Enabled"

    filter {
      prefix = var.manifest_prefix
    }

    expiration {
      days = var.manifest_expiration_days
    }

    # On a versioned bucket the loader's deletes leave noncurrent versions and
    # the expiration above leaves more: they go after as many days.
    noncurrent_version_expiration {
      noncurrent_days = var.manifest_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

################################################################################
# Bucket notifications: exactly one per bucket
################################################################################

# PutBucketNotificationConfiguration replaces a bucket's whole notification
# configuration: this resource owns it, for every bucket in var.sources.
resource "aws_s3_bucket_notification" "this" {
  for_each = local.create ? toset(local.source_buckets) : toset([])

  bucket = each.key

  dynamic "queue" {
    for_each = local.use_sqs ? [for s in var.sources : s if s.bucket == each.key] : []
    content {
      id            = "s3redshift-${var.name}-${queue.key}"
      queue_arn     = aws_sqs_queue.this[0].arn
      events        = var.s3_events
      filter_prefix = queue.value.prefix == "" ? null : queue.value.prefix
      filter_suffix = queue.value.suffix == "" ? null : queue.value.suffix
    }
  }

  dynamic "lambda_function" {
    for_each = local.use_sqs ? [] : [for s in var.sources : s if s.bucket == each.key]
    content {
      id                  = "s3redshift-${var.name}-${lambda_function.key}"
      lambda_function_arn = local.invoke_arn
      events              = var.s3_events
      filter_prefix       = lambda_function.value.prefix == "" ? null : lambda_function.value.prefix
      filter_suffix       = lambda_function.value.suffix == "" ? null : lambda_function.value.suffix
    }
  }

  # S3 validates the destination when the configuration is written: the
  # queue policy or the invoke permission must exist first.
  depends_on = [aws_sqs_queue_policy.this, aws_lambda_permission.s3]
}

check "manifests_do_not_trigger_loads" {
  assert {
    condition = !local.create || alltrue([
      for s in var.sources : !(contains(local.manifest_buckets, s.bucket) && startswith(var.manifest_prefix, s.prefix) && (s.suffix == "" || endswith(".manifest", s.suffix) || endswith(".objects.csv", s.suffix)))
    ])
    error_message = "A source prefix contains manifest_prefix: every manifest the loader writes triggers a notification. The loader ignores them, but each costs an invocation; move manifest_prefix (or manifest_bucket) outside the sources."
  }
}

################################################################################
# Password in SSM (credentials.provider = "ssm")
################################################################################

data "aws_iam_policy_document" "ssm_key" {
  count = local.create_ssm_parameter ? 1 : 0

  # checkov:skip=CKV_AWS_109:This is a KMS key policy: its Resource "*" means this one key, and the actions are delegated to IAM policies of this account.
  # checkov:skip=CKV_AWS_111:This is a KMS key policy: its Resource "*" means this one key, and the actions are delegated to IAM policies of this account.
  # checkov:skip=CKV_AWS_356:This is a KMS key policy: its Resource "*" means this one key; a key policy cannot name the key's own ARN before the key exists.

  # Key administration and use are delegated to IAM in this account, as in
  # the default key policy, but without wildcard actions. Unlike the AWS
  # managed aws/ssm key (usable by every principal of the account), only
  # principals whose IAM policy names this key can decrypt the password.
  statement {
    sid    = "AccountAdministersAndUsesThroughIam"
    effect = "Allow"
    actions = [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:CreateGrant",
      "kms:Decrypt",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListGrants",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:RetireGrant",
      "kms:RevokeGrant",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    # In a key policy "*" means this key.
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "ssm" {
  count = local.create_ssm_parameter ? 1 : 0

  description             = "${var.name}: encrypts the Redshift password parameter ${local.ssm_parameter_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.ssm_key[0].json

  tags = var.tags
}

resource "aws_kms_alias" "ssm" {
  count = local.create_ssm_parameter ? 1 : 0

  name          = "alias/${var.name}-redshift-password"
  target_key_id = aws_kms_key.ssm[0].key_id
}

resource "aws_ssm_parameter" "password" {
  count = local.create_ssm_parameter ? 1 : 0

  name        = local.ssm_parameter_name
  description = "Redshift password of ${coalesce(var.credentials.user, "the loader")} for ${var.name}"
  type        = "SecureString"
  key_id      = aws_kms_key.ssm[0].arn
  # Write-only: the value is sent to SSM but never stored in the state.
  value_wo         = var.db_password
  value_wo_version = var.db_password_version

  tags = var.tags
}

################################################################################
# Scheduled sweep
################################################################################

resource "aws_cloudwatch_event_rule" "sweep" {
  count = local.create && local.sweep_enabled ? 1 : 0

  name                = "${var.name}-sweep"
  description         = "s3redshift: load objects under ${join(", ", local.sweep_prefixes)} that are missing from the ledger"
  schedule_expression = var.sweep_schedule_expression

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "sweep" {
  count = local.create && local.sweep_enabled ? 1 : 0

  rule  = aws_cloudwatch_event_rule.sweep[0].name
  arn   = local.invoke_arn
  input = jsonencode(local.sweep_payload)
}

resource "aws_lambda_permission" "sweep" {
  count = local.create && local.sweep_enabled ? 1 : 0

  statement_id  = "AllowSweepSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[0].function_name
  qualifier     = local.invoke_qualifier
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep[0].arn
}

################################################################################
# Notifications (optional): where each committed load is announced
################################################################################

resource "aws_cloudwatch_event_bus" "notifications" {
  count = local.create_event_bus ? 1 : 0

  name = "${var.name}-loads"

  tags = var.tags
}

resource "aws_sns_topic" "notifications" {
  count = local.create_sns_topic ? 1 : 0

  name              = "${var.name}-loads"
  kms_master_key_id = coalesce(local.sns_kms_key, "alias/aws/sns")

  tags = var.tags
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  count = local.create && var.create_alarms ? 1 : 0

  alarm_name          = "${var.name}-dlq-not-empty"
  alarm_description   = "Objects that could not be loaded wait in ${aws_sqs_queue.dlq[0].name}; read the function's logs, fix the cause and redrive the DLQ."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq[0].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  ok_actions          = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  count = local.create && var.create_alarms && local.use_sqs ? 1 : 0

  alarm_name          = "${var.name}-queue-falling-behind"
  alarm_description   = "The oldest message in ${aws_sqs_queue.this[0].name} is older than ${var.alarm_oldest_message_age_seconds} s: loads are failing or cannot keep up."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.this[0].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_oldest_message_age_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  ok_actions          = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]

  tags = var.tags
}

# The function's own metrics, from the embedded-metric-format lines it logs
# after each invocation's summary (no CloudWatch API call, no extra permission).
resource "aws_cloudwatch_metric_alarm" "objects_failed" {
  count = local.create && var.create_alarms && var.metrics_namespace != "" ? 1 : 0

  alarm_name          = "${var.name}-objects-failed"
  alarm_description   = "${var.name} failed to load objects; `s3redshift ledger --failed s3://BUCKET/PREFIX` lists them with the last failure's reason."
  namespace           = var.metrics_namespace
  metric_name         = "ObjectsFailed"
  dimensions          = { FunctionName = aws_lambda_function.this[0].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  ok_actions          = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  count = local.create && var.create_alarms ? 1 : 0

  alarm_name          = "${var.name}-function-errors"
  alarm_description   = "${var.name} raised errors (failed loads of direct events, all-failed batches, configuration errors); see its log group."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[0].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  ok_actions          = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]

  tags = var.tags
}

# Freshness: LoadLagSeconds is written per committed transaction, on the
# function's dimension as well as per table; the function's one holds every
# table's lag, so tables named only at load time are watched too.
resource "aws_cloudwatch_metric_alarm" "load_lag" {
  count = local.create && var.create_alarms && var.metrics_namespace != "" && var.alarm_load_lag_seconds != null ? 1 : 0

  alarm_name          = "${var.name}-load-lag"
  alarm_description   = "${var.name} committed data more than ${var.alarm_load_lag_seconds} s after its objects' events; the per-table LoadLagSeconds metric (dimension Table) says which table."
  namespace           = var.metrics_namespace
  metric_name         = "LoadLagSeconds"
  dimensions          = { FunctionName = aws_lambda_function.this[0].function_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_load_lag_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  ok_actions          = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]

  tags = var.tags
}
