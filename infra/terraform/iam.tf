################################################################################
# Function role: exactly what the chosen trigger, transport and credentials use
################################################################################

data "aws_iam_policy_document" "assume_lambda" {
  count = local.create_role ? 1 : 0

  statement {
    sid     = "LambdaAssumesTheRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  count = local.create_role ? 1 : 0

  name                 = "${var.name}-loader"
  path                 = var.role_path
  description          = "s3redshift loader function ${var.name}"
  assume_role_policy   = data.aws_iam_policy_document.assume_lambda[0].json
  permissions_boundary = var.role_permissions_boundary

  tags = var.tags
}

# Built even for a role the caller brings (create_role = false): the
# function_policy_json output is what that role needs.
data "aws_iam_policy_document" "lambda" {
  count = local.create ? 1 : 0

  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[0].arn}:*"]
  }

  statement {
    sid       = "ReadSourceObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = local.source_object_arns
  }

  statement {
    sid       = "WriteManifests"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = local.manifest_object_arns
  }

  # One statement per bucket, so that a prefix of one bucket is never
  # granted on another.
  dynamic "statement" {
    for_each = local.source_list_prefixes
    content {
      sid       = "ListSourcePrefixes${index(local.source_buckets, statement.key)}"
      effect    = "Allow"
      actions   = local.sweep_enabled ? ["s3:ListBucket", "s3:ListBucketVersions"] : ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${statement.key}"]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = statement.value
      }
    }
  }

  # The sweep reads the versioning status to list objects the way events
  # identify them (version id on versioned buckets, ETag otherwise).
  dynamic "statement" {
    for_each = local.sweep_enabled ? [1] : []
    content {
      sid       = "SweepReadsVersioning"
      effect    = "Allow"
      actions   = ["s3:GetBucketVersioning"]
      resources = [for b in local.source_buckets : "arn:${local.partition}:s3:::${b}"]
    }
  }

  dynamic "statement" {
    for_each = length(var.source_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "UseSourceBucketKeys"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.source_kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.use_sqs ? [1] : []
    content {
      sid       = "ConsumeQueue"
      effect    = "Allow"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [aws_sqs_queue.this[0].arn]
    }
  }

  # The on-failure destination of asynchronous invocations is written with
  # the function's role.
  dynamic "statement" {
    for_each = local.use_async_destination ? [1] : []
    content {
      sid       = "DeadLetterFailedInvocations"
      effect    = "Allow"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.dlq[0].arn]
    }
  }

  dynamic "statement" {
    for_each = local.use_data_api ? [1] : []
    content {
      sid       = "RunStatementsWithDataApi"
      effect    = "Allow"
      actions   = ["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"]
      resources = [local.data_api_target_arn]
    }
  }

  # These Data API actions have no resource type: IAM can only grant them on
  # "*"; the service itself restricts them to statements the same IAM
  # identity started.
  dynamic "statement" {
    for_each = local.use_data_api ? [1] : []
    content {
      sid       = "FollowOwnDataApiStatements"
      effect    = "Allow"
      actions   = ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:ListStatements"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.creds_iam && local.use_cluster && var.credentials.user != null ? [1] : []
    content {
      sid       = "TemporaryClusterCredentials"
      effect    = "Allow"
      actions   = ["redshift:GetClusterCredentials"]
      resources = [local.dbuser_arn, local.dbname_arn]
    }
  }

  dynamic "statement" {
    for_each = local.creds_iam && local.use_cluster && var.credentials.user == null ? [1] : []
    content {
      sid       = "TemporaryClusterCredentialsWithIam"
      effect    = "Allow"
      actions   = ["redshift:GetClusterCredentialsWithIAM"]
      resources = [local.dbname_arn]
    }
  }

  dynamic "statement" {
    for_each = local.creds_iam && local.use_serverless ? [1] : []
    content {
      sid       = "TemporaryServerlessCredentials"
      effect    = "Allow"
      actions   = ["redshift-serverless:GetCredentials"]
      resources = [var.redshift.workgroup_arn]
    }
  }

  dynamic "statement" {
    for_each = local.creds_secret ? [1] : []
    content {
      sid       = "ReadDatabaseSecret"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [var.credentials.secret_arn]
    }
  }

  dynamic "statement" {
    for_each = local.creds_secret && var.credentials.secret_kms_key_arn != null ? [1] : []
    content {
      sid       = "DecryptDatabaseSecret"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [var.credentials.secret_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.creds_ssm ? [1] : []
    content {
      sid       = "ReadPasswordParameter"
      effect    = "Allow"
      actions   = ["ssm:GetParameter"]
      resources = [local.ssm_parameter_arn]
    }
  }

  # SSM encrypts each SecureString with its ARN as encryption context, so
  # this grant decrypts this one parameter and nothing else under the key.
  dynamic "statement" {
    for_each = local.creds_ssm && (local.create_ssm_parameter || var.credentials.ssm_kms_key_arn != null) ? [1] : []
    content {
      sid       = "DecryptPasswordParameter"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [local.ssm_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:PARAMETER_ARN"
        values   = [local.ssm_parameter_arn]
      }
    }
  }

  # Notifications: the one bus or topic, nothing else.
  dynamic "statement" {
    for_each = local.event_bus_arn != null ? [1] : []
    content {
      sid       = "AnnounceLoadsOnTheBus"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [local.event_bus_arn]
    }
  }

  dynamic "statement" {
    for_each = local.sns_topic_arn != null ? [1] : []
    content {
      sid       = "AnnounceLoadsOnTheTopic"
      effect    = "Allow"
      actions   = ["sns:Publish"]
      resources = [local.sns_topic_arn]
    }
  }

  dynamic "statement" {
    for_each = local.sns_topic_arn != null && local.sns_kms_key != null ? [1] : []
    content {
      sid       = "EncryptAnnouncements"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [local.sns_kms_key]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sns.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn != null ? [1] : []
    content {
      sid       = "DecryptEnvironment"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
    }
  }

  # X-Ray's write actions have no resource type.
  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []
    content {
      sid       = "SendTraces"
      effect    = "Allow"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }

  # Lambda manages the function's network interfaces with this role.
  dynamic "statement" {
    for_each = var.vpc_config != null ? [1] : []
    content {
      sid     = "CreateNetworkInterfacesInGivenSubnets"
      effect  = "Allow"
      actions = ["ec2:CreateNetworkInterface"]
      resources = concat(
        ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"],
        [for id in var.vpc_config.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${id}"],
        [for id in var.vpc_config.security_group_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/${id}"],
      )
    }
  }

  dynamic "statement" {
    for_each = var.vpc_config != null ? [1] : []
    content {
      sid       = "ManageOwnNetworkInterfaces"
      effect    = "Allow"
      actions   = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
      resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]
    }
  }

  # EC2's Describe actions have no resource type.
  dynamic "statement" {
    for_each = var.vpc_config != null ? [1] : []
    content {
      sid       = "DescribeNetwork"
      effect    = "Allow"
      actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  count = local.create_role ? 1 : 0

  name   = "s3redshift-loader"
  role   = aws_iam_role.this[0].id
  policy = data.aws_iam_policy_document.lambda[0].json
}

################################################################################
# COPY role: what Redshift itself reads during COPY (created unless given)
################################################################################

data "aws_iam_policy_document" "assume_redshift" {
  count = local.create && var.copy_role_arn == null ? 1 : 0

  statement {
    sid     = "RedshiftAssumesTheRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    # Both services, always: making the list depend on var.redshift would
    # create a cycle when the caller associates this role with the namespace
    # whose workgroup it passes in.
    principals {
      type        = "Service"
      identifiers = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
    }

    # Confused deputy: Redshift assumes the role for COPY with the external
    # ID set to the ARN of the database user running the statement
    # (arn:<partition>:redshift:<region>:<account>:dbuser:<cluster or
    # workgroup>/<user>; "Restricting access to IAM roles" in the Redshift
    # Management Guide). Limiting it to this account's database users in this
    # Region keeps another account's cluster from using the role. Cluster and
    # workgroup are not named, for the cycle described above.
    condition {
      test     = "StringLike"
      variable = "sts:ExternalId"
      values   = [local.copy_role_external_id]
    }
  }
}

resource "aws_iam_role" "copy" {
  count = local.create && var.copy_role_arn == null ? 1 : 0

  name                 = "${var.name}-copy"
  path                 = var.role_path
  description          = "Assumed by Redshift for the COPY of ${var.name}; associate it with the cluster or namespace"
  assume_role_policy   = data.aws_iam_policy_document.assume_redshift[0].json
  permissions_boundary = var.role_permissions_boundary

  tags = var.tags
}

data "aws_iam_policy_document" "copy" {
  count = local.create && var.copy_role_arn == null ? 1 : 0

  statement {
    sid       = "ReadSourcesAndManifests"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = distinct(concat(local.source_object_arns, local.manifest_object_arns))
  }

  statement {
    sid       = "LocateBuckets"
    effect    = "Allow"
    actions   = ["s3:GetBucketLocation"]
    resources = [for b in local.all_buckets : "arn:${local.partition}:s3:::${b}"]
  }

  dynamic "statement" {
    for_each = local.copy_list_prefixes
    content {
      sid       = "ListPrefixes${index(local.all_buckets, statement.key)}"
      effect    = "Allow"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${statement.key}"]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = statement.value
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.source_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptSourceObjects"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = var.source_kms_key_arns
    }
  }
}

resource "aws_iam_role_policy" "copy" {
  count = local.create && var.copy_role_arn == null ? 1 : 0

  name   = "s3redshift-copy"
  role   = aws_iam_role.copy[0].id
  policy = data.aws_iam_policy_document.copy[0].json
}
