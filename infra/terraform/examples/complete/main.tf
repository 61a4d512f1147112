provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  # The module's notifications are keyed by bucket name, so the name must be
  # known at plan time: it comes from a variable, not from bucket_prefix.
  # Passing it as aws_s3_bucket.data.bucket (known at plan, since it is set)
  # orders the notification after the bucket.
  bucket = aws_s3_bucket.data.bucket

  workgroup_name = var.create_workgroup ? aws_redshiftserverless_workgroup.this[0].workgroup_name : var.workgroup_name
  workgroup_arn  = var.create_workgroup ? aws_redshiftserverless_workgroup.this[0].arn : var.workgroup_arn
}

################################################################################
# The data bucket: versioned, SSE-KMS, private
################################################################################

data "aws_iam_policy_document" "data_key" {
  # checkov:skip=CKV_AWS_109:This is a KMS key policy: its Resource "*" means this one key, and the actions are delegated to IAM policies of this account.
  # checkov:skip=CKV_AWS_111:This is a KMS key policy: its Resource "*" means this one key, and the actions are delegated to IAM policies of this account.
  # checkov:skip=CKV_AWS_356:This is a KMS key policy: its Resource "*" means this one key; a key policy cannot name the key's own ARN before the key exists.
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
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "data" {
  description             = "${var.name}: encrypts the data bucket"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.data_key.json
}

resource "aws_s3_bucket" "data" {
  # checkov:skip=CKV_AWS_18:Example: server access logging needs a separate log bucket, which is outside what this example shows.
  # checkov:skip=CKV_AWS_144:Example: cross-region replication is a durability choice of the bucket's owner, unrelated to loading.
  # checkov:skip=CKV2_AWS_62:The bucket's notifications are created by module.loader (aws_s3_bucket_notification.this, keyed by the bucket name), which checkov cannot link to this resource.
  bucket = var.bucket_name
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    id     = "expire-old-versions-and-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # The bucket has lifecycle rules of its own, so the loader's manifest
  # prefix gets its rule here rather than from the module's
  # manifest_expiration_days (which would replace this configuration).
  rule {
    id     = "expire-loader-manifests"
    status = "Enabled"

    filter {
      prefix = module.loader.manifest_prefix
    }

    expiration {
      days = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.data]
}

################################################################################
# Redshift Serverless
################################################################################

resource "aws_redshiftserverless_namespace" "this" {
  count = var.create_workgroup ? 1 : 0

  namespace_name        = var.name
  db_name               = var.database
  manage_admin_password = true
  kms_key_id            = aws_kms_key.data.arn
  # The module's COPY role, so that COPY ... IAM_ROLE '<arn>' may assume it.
  iam_roles            = [module.loader.copy_role_arn]
  default_iam_role_arn = module.loader.copy_role_arn
}

resource "aws_redshiftserverless_workgroup" "this" {
  count = var.create_workgroup ? 1 : 0

  namespace_name      = aws_redshiftserverless_namespace.this[0].namespace_name
  workgroup_name      = var.name
  base_capacity       = 8
  publicly_accessible = false
}

################################################################################
# Alarm notifications
################################################################################

# CloudWatch alarms cannot publish to a topic encrypted with the AWS managed
# alias/aws/sns key (its policy cannot be changed to admit CloudWatch), so the
# topic has a key of its own whose policy lets CloudWatch use it, for alarms
# of this account only.
data "aws_iam_policy_document" "alarms_key" {
  # checkov:skip=CKV_AWS_109:This is a KMS key policy: its Resource "*" means this one key, and the actions are delegated to IAM policies of this account.
  # checkov:skip=CKV_AWS_111:This is a KMS key policy: its Resource "*" means this one key, and the actions are delegated to IAM policies of this account.
  # checkov:skip=CKV_AWS_356:This is a KMS key policy: its Resource "*" means this one key; a key policy cannot name the key's own ARN before the key exists.
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
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublishToTheTopic"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:cloudwatch:${var.region}:${data.aws_caller_identity.current.account_id}:alarm:*"]
    }
  }
}

resource "aws_kms_key" "alarms" {
  description             = "${var.name}: encrypts the alarm topic; CloudWatch alarms of this account may use it"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.alarms_key.json
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
}

################################################################################
# The loader
################################################################################

module "loader" {
  source = "../.."

  name         = var.name
  package_path = var.package_path
  runtime      = "python3.12"
  architecture = "x86_64"

  trigger = "sqs"
  sources = [
    { bucket = local.bucket, prefix = "incoming/", suffix = ".csv" },
    { bucket = local.bucket, prefix = "incoming/", suffix = ".csv.gz" },
    { bucket = local.bucket, prefix = "events/", suffix = ".json" },
  ]
  source_kms_key_arns = [aws_kms_key.data.arn]

  # The roles the module creates live under their own IAM path.
  role_path = "/s3redshift/"

  sqs = {
    batch_size                         = 100
    maximum_batching_window_in_seconds = 30
    maximum_concurrency                = 4
  }
  timeout = 300
  # Publish a version with a SnapStart snapshot; the triggers invoke its alias.
  snap_start = var.snap_start

  redshift = {
    transport      = "data-api"
    database       = var.database
    workgroup_name = local.workgroup_name
    workgroup_arn  = local.workgroup_arn
  }
  # Serverless maps the function's role to the database user "IAMR:<name>-loader".
  credentials = {
    provider = "iam"
  }

  tables = [
    {
      pattern = "incoming/{table}/**"
      schema  = "staging"
      table   = "{table}"
      format  = { type = "csv", ignore_header = 1 }
      options = { max_error = 0, date_format = "auto" }
    },
    {
      pattern = "events/{table}/**"
      schema  = "raw"
      table   = "{table}"
      mode    = "upsert"
      keys    = ["event_id"]
      format  = { type = "json", json_paths = "auto" }
    },
  ]

  alarm_sns_topic_arn = aws_sns_topic.alarms.arn
  # Alarm when data is committed more than 15 minutes after its object arrived.
  alarm_load_lag_seconds = 900

  # Downstream jobs start on each committed load: an EventBridge bus of its
  # own, which the function may put events on and nothing else.
  notifications = {
    create_event_bus = true
  }

  sweep_schedule_expression = "rate(6 hours)"
  sweep_since               = "P2D"

  tags = var.tags
}
