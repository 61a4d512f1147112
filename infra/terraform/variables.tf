################################################################################
# General
################################################################################

variable "create" {
  description = "Whether to create any resource at all (false turns the module into a no-op, e.g. per environment)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the loader: used for the function, queues, roles, log group and alarms (letters, digits, '-' and '_'; at most 56 characters so that suffixes such as '-dlq' fit AWS limits)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,56}$", var.name))
    error_message = "name must be 1-56 characters of letters, digits, '-' or '_' (it prefixes queue, function and role names)."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}

################################################################################
# What triggers a load
################################################################################

variable "sources" {
  description = <<-EOT
    S3 locations whose new objects are loaded, one notification rule each. Rules
    for the same bucket go into that bucket's single aws_s3_bucket_notification,
    which REPLACES the bucket's whole notification configuration: every other
    notification of those buckets must be added here or it is removed. Within a
    bucket, rules with overlapping prefixes must not have overlapping suffixes
    (S3 rejects the configuration as ambiguous). IAM read access is granted on
    exactly these prefixes.
  EOT
  type = list(object({
    bucket = string
    prefix = optional(string, "")
    suffix = optional(string, "")
  }))

  validation {
    condition     = length(var.sources) > 0
    error_message = "sources needs at least one { bucket, prefix, suffix } entry."
  }

  validation {
    condition     = alltrue([for s in var.sources : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", s.bucket))])
    error_message = "Each sources[*].bucket must be a bucket name (3-63 lower-case letters, digits, '.' or '-'), not an ARN or s3:// URI."
  }

  validation {
    condition     = alltrue([for s in var.sources : !startswith(s.prefix, "/") && !strcontains(s.prefix, "*")])
    error_message = "sources[*].prefix is a literal key prefix: no leading '/' and no '*' (S3 filters do not expand wildcards)."
  }

  validation {
    condition     = length(distinct([for s in var.sources : "${s.bucket}/${s.prefix}|${s.suffix}"])) == length(var.sources)
    error_message = "sources contains the same bucket/prefix/suffix twice; S3 rejects duplicate notification rules."
  }
}

variable "s3_events" {
  description = "S3 event types that trigger a load (ObjectCreated events only: the loader ignores removals)."
  type        = list(string)
  default     = ["s3:ObjectCreated:*"]

  validation {
    condition     = length(var.s3_events) > 0 && alltrue([for e in var.s3_events : startswith(e, "s3:ObjectCreated:")])
    error_message = "s3_events must list s3:ObjectCreated:* event types, e.g. [\"s3:ObjectCreated:*\"]."
  }
}

variable "trigger" {
  description = "How S3 reaches the function: \"sqs\" (S3 -> SQS with a redrive DLQ -> event source mapping with partial batch failures; recommended) or \"direct\" (S3 invokes the function asynchronously; failures go to an SQS on-failure destination)."
  type        = string
  default     = "sqs"

  validation {
    condition     = contains(["sqs", "direct"], var.trigger)
    error_message = "trigger must be \"sqs\" or \"direct\"."
  }
}

variable "sqs" {
  description = <<-EOT
    Queue and event source mapping settings (trigger = "sqs").
    batch_size: messages per invocation (1-10000; above 10 needs a batching window).
    maximum_batching_window_in_seconds: how long Lambda gathers a batch (0-300).
    maximum_concurrency: the cap on concurrent invocations from the queue (2-1000);
    this, not a low reserved concurrency, is what protects the cluster: each
    invocation loads up to redshift.max_in_flight tables at once.
    visibility_timeout_seconds: null computes 6 x timeout + batching window (AWS's
    advice); a given value must be at least that.
    message_retention_seconds: main queue retention (60-1209600).
    max_receive_count: receives before a message moves to the DLQ (at least 5,
    so throttled deliveries are not dead-lettered).
  EOT
  type = object({
    batch_size                         = optional(number, 10)
    maximum_batching_window_in_seconds = optional(number, 5)
    maximum_concurrency                = optional(number, 5)
    visibility_timeout_seconds         = optional(number)
    message_retention_seconds          = optional(number, 345600)
    max_receive_count                  = optional(number, 5)
  })
  default = {}

  validation {
    condition     = var.sqs.batch_size >= 1 && var.sqs.batch_size <= 10000
    error_message = "sqs.batch_size must be between 1 and 10000."
  }

  validation {
    condition     = var.sqs.maximum_batching_window_in_seconds >= 0 && var.sqs.maximum_batching_window_in_seconds <= 300
    error_message = "sqs.maximum_batching_window_in_seconds must be between 0 and 300."
  }

  validation {
    condition     = var.sqs.batch_size <= 10 || var.sqs.maximum_batching_window_in_seconds >= 1
    error_message = "sqs.batch_size above 10 needs sqs.maximum_batching_window_in_seconds of at least 1 (an SQS event source mapping rule)."
  }

  validation {
    condition     = var.sqs.maximum_concurrency >= 2 && var.sqs.maximum_concurrency <= 1000
    error_message = "sqs.maximum_concurrency must be between 2 and 1000 (the event source mapping's limits)."
  }

  validation {
    condition     = var.sqs.max_receive_count >= 5
    error_message = "sqs.max_receive_count must be at least 5, so that messages throttled by the concurrency cap are not dead-lettered."
  }

  validation {
    condition     = var.sqs.message_retention_seconds >= 60 && var.sqs.message_retention_seconds <= 1209600
    error_message = "sqs.message_retention_seconds must be between 60 and 1209600 (14 days)."
  }

  # The visibility-timeout rule: a message must stay invisible while every
  # retry of its invocation can still run, or it is delivered twice.
  # (Reading var.timeout here needs Terraform >= 1.9.)
  validation {
    condition     = var.sqs.visibility_timeout_seconds == null ? true : var.sqs.visibility_timeout_seconds >= 6 * var.timeout + var.sqs.maximum_batching_window_in_seconds
    error_message = "sqs.visibility_timeout_seconds must be at least 6 x timeout + sqs.maximum_batching_window_in_seconds; leave it null to compute exactly that."
  }

  validation {
    condition     = 6 * var.timeout + var.sqs.maximum_batching_window_in_seconds <= 43200 && (var.sqs.visibility_timeout_seconds == null ? true : var.sqs.visibility_timeout_seconds <= 43200)
    error_message = "The queue's visibility timeout (6 x timeout + batching window, or sqs.visibility_timeout_seconds) cannot exceed SQS's 43200 seconds; lower timeout."
  }
}

variable "direct" {
  description = "Asynchronous invocation settings (trigger = \"direct\"): retries after a failed invocation (0-2) and the maximum age of an event before it goes to the on-failure destination (60-21600 seconds)."
  type = object({
    maximum_retry_attempts       = optional(number, 2)
    maximum_event_age_in_seconds = optional(number, 21600)
  })
  default = {}

  validation {
    condition     = var.direct.maximum_retry_attempts >= 0 && var.direct.maximum_retry_attempts <= 2
    error_message = "direct.maximum_retry_attempts must be 0, 1 or 2."
  }

  validation {
    condition     = var.direct.maximum_event_age_in_seconds >= 60 && var.direct.maximum_event_age_in_seconds <= 21600
    error_message = "direct.maximum_event_age_in_seconds must be between 60 and 21600."
  }
}

variable "create_dlq_redrive_allow_policy" {
  description = "Whether to set the DLQ's redrive allow policy (trigger = \"sqs\"): only the main queue may dead-letter into it. false leaves any queue of the account free to use it as its DLQ."
  type        = bool
  default     = true
}

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queue keeps failed messages (60-1209600 seconds; default 14 days, the maximum)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600."
  }
}

################################################################################
# Where the data goes
################################################################################

variable "redshift" {
  description = <<-EOT
    The target. transport: "data-api" (no VPC, no driver; needs cluster_identifier
    or workgroup_name + workgroup_arn) or "connector" (redshift_connector over TCP,
    usually in a VPC; needs host). Give cluster_identifier for a provisioned cluster
    or workgroup_name and workgroup_arn for Redshift Serverless (the ARN holds the
    workgroup id, which IAM policies need), not both. max_in_flight: the tables of one
    batch an invocation loads at once (null: the loader's default, 8), each one Data
    API statement or one connector session; up to max_in_flight x the concurrent
    invocations load at once.
  EOT
  type = object({
    max_in_flight      = optional(number)
    transport          = optional(string, "data-api")
    database           = string
    cluster_identifier = optional(string)
    workgroup_name     = optional(string)
    workgroup_arn      = optional(string)
    host               = optional(string)
    port               = optional(number, 5439)
  })

  validation {
    condition     = var.redshift.max_in_flight == null ? true : (var.redshift.max_in_flight >= 1 && var.redshift.max_in_flight <= 50 && floor(var.redshift.max_in_flight) == var.redshift.max_in_flight)
    error_message = "redshift.max_in_flight must be a whole number from 1 to 50."
  }

  validation {
    condition     = contains(["data-api", "connector"], var.redshift.transport)
    error_message = "redshift.transport must be \"data-api\" or \"connector\"."
  }

  validation {
    condition     = !(var.redshift.cluster_identifier != null && var.redshift.workgroup_name != null)
    error_message = "Give redshift.cluster_identifier (provisioned) or redshift.workgroup_name (Serverless), not both."
  }

  validation {
    condition     = (var.redshift.workgroup_name == null) == (var.redshift.workgroup_arn == null)
    error_message = "redshift.workgroup_name and redshift.workgroup_arn go together (IAM needs the ARN, the Data API the name)."
  }

  validation {
    condition     = var.redshift.workgroup_arn == null ? true : can(regex("^arn:[a-z-]+:redshift-serverless:[a-z0-9-]+:[0-9]{12}:workgroup/[0-9a-f-]+$", var.redshift.workgroup_arn))
    error_message = "redshift.workgroup_arn must be a Redshift Serverless workgroup ARN (arn:aws:redshift-serverless:<region>:<account>:workgroup/<id>)."
  }

  validation {
    condition     = var.redshift.transport != "data-api" || var.redshift.cluster_identifier != null || var.redshift.workgroup_name != null
    error_message = "redshift.transport = \"data-api\" needs redshift.cluster_identifier or redshift.workgroup_name."
  }

  validation {
    condition     = var.redshift.transport != "connector" || var.redshift.host != null
    error_message = "redshift.transport = \"connector\" needs redshift.host (the cluster or workgroup endpoint)."
  }

  validation {
    condition     = var.redshift.port >= 1 && var.redshift.port <= 65535
    error_message = "redshift.port must be a TCP port (1-65535)."
  }

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,126}$", var.redshift.database))
    error_message = "redshift.database must be a Redshift database name (letters, digits, '_' or '$', not starting with a digit)."
  }
}

variable "credentials" {
  description = <<-EOT
    How the loader signs in. provider:
    "iam" - temporary credentials from IAM: redshift:GetClusterCredentials as
    `user` (or GetClusterCredentialsWithIAM when user is null) for a cluster,
    redshift-serverless:GetCredentials for a workgroup;
    "secrets-manager" - the secret at secret_arn (Redshift's JSON shape; give
    secret_kms_key_arn when it is encrypted with a customer managed key);
    "ssm" - the password in a SecureString parameter (connector transport only:
    the Data API cannot sign in with a password). The module creates the parameter
    with its own KMS key unless create_ssm_parameter = false, in which case
    ssm_parameter_name names an existing one (and ssm_kms_key_arn its key, if it is
    a customer managed key).
  EOT
  type = object({
    provider             = optional(string, "iam")
    user                 = optional(string)
    ssm_parameter_name   = optional(string)
    create_ssm_parameter = optional(bool, true)
    ssm_kms_key_arn      = optional(string)
    secret_arn           = optional(string)
    secret_kms_key_arn   = optional(string)
  })
  default = {}

  validation {
    condition     = contains(["iam", "secrets-manager", "ssm"], var.credentials.provider)
    error_message = "credentials.provider must be \"iam\", \"secrets-manager\" or \"ssm\"."
  }

  validation {
    condition     = var.credentials.provider != "ssm" || var.credentials.user != null
    error_message = "credentials.provider = \"ssm\" needs credentials.user (the database user whose password the parameter holds)."
  }

  validation {
    condition     = var.credentials.provider != "ssm" || var.credentials.create_ssm_parameter || var.credentials.ssm_parameter_name != null
    error_message = "credentials.create_ssm_parameter = false needs credentials.ssm_parameter_name (the existing SecureString)."
  }

  validation {
    condition     = var.credentials.ssm_parameter_name == null ? true : startswith(var.credentials.ssm_parameter_name, "/")
    error_message = "credentials.ssm_parameter_name must be a full path starting with '/', e.g. /prod/redshift/loader-password."
  }

  validation {
    condition     = var.credentials.provider != "ssm" || var.redshift.transport == "connector"
    error_message = "credentials.provider = \"ssm\" needs redshift.transport = \"connector\": the Data API signs in with IAM or a Secrets Manager secret, never a password."
  }

  validation {
    condition     = var.credentials.provider != "secrets-manager" || can(regex("^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.credentials.secret_arn))
    error_message = "credentials.provider = \"secrets-manager\" needs credentials.secret_arn, a Secrets Manager secret ARN."
  }

  validation {
    condition     = var.credentials.provider != "iam" || var.redshift.cluster_identifier != null || var.redshift.workgroup_name != null
    error_message = "credentials.provider = \"iam\" needs redshift.cluster_identifier or redshift.workgroup_name to ask for temporary credentials."
  }

  validation {
    condition     = !(var.credentials.provider == "iam" && var.redshift.workgroup_name != null && var.credentials.user != null)
    error_message = "Redshift Serverless maps the IAM identity to the database user: leave credentials.user null with a workgroup."
  }

  validation {
    condition     = var.credentials.ssm_kms_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.credentials.ssm_kms_key_arn))
    error_message = "credentials.ssm_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): IAM policies name keys by ARN, not by alias."
  }

  validation {
    condition     = var.credentials.secret_kms_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.credentials.secret_kms_key_arn))
    error_message = "credentials.secret_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): IAM policies name keys by ARN, not by alias."
  }
}

variable "db_password" {
  description = "The database password for credentials.provider = \"ssm\" with a parameter the module creates. Ephemeral and write-only (`value_wo`): it is never stored in the plan or the state (Terraform >= 1.11). Change db_password_version to write a new value."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = var.db_password != null || var.credentials.provider != "ssm" || !var.credentials.create_ssm_parameter
    error_message = "credentials.provider = \"ssm\" with create_ssm_parameter = true needs db_password (or set create_ssm_parameter = false and name an existing parameter)."
  }
}

variable "db_password_version" {
  description = "Version of db_password: Terraform cannot see a write-only value, so increase this number to make it write a changed password."
  type        = number
  default     = 1

  validation {
    condition     = var.db_password_version >= 1 && floor(var.db_password_version) == var.db_password_version
    error_message = "db_password_version must be a whole number of at least 1."
  }
}

variable "copy_role_arn" {
  description = "ARN of an existing IAM role Redshift assumes for COPY. null creates one (trusted by redshift.amazonaws.com, reading only the sources and the manifest prefix); associate it with the cluster or namespace either way."
  type        = string
  default     = null

  validation {
    condition     = var.copy_role_arn == null ? true : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", var.copy_role_arn))
    error_message = "copy_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "manifest_bucket" {
  description = "Bucket the loader writes its manifests to; null means the bucket of the objects being loaded (the loader's default)."
  type        = string
  default     = null
}

variable "manifest_prefix" {
  description = "Key prefix of the loader's manifests. The function may write (s3:PutObject) only here; keep it outside every source prefix so manifests do not trigger loads."
  type        = string
  default     = "_s3redshift/manifests/"

  validation {
    condition     = length(var.manifest_prefix) > 1 && endswith(var.manifest_prefix, "/") && !startswith(var.manifest_prefix, "/") && !strcontains(var.manifest_prefix, "*")
    error_message = "manifest_prefix must be a key prefix ending in '/', without a leading '/' or '*', e.g. \"_s3redshift/manifests/\"."
  }
}

variable "manifest_expiration_days" {
  description = "Days after which S3 expires what the loader writes under manifest_prefix (manifests and object lists; the loader deletes them itself after each load, this catches what an interrupted load left; on a versioned bucket, noncurrent versions are removed after as many days). null leaves the bucket's lifecycle alone. Setting it makes this module own the whole lifecycle configuration of every manifest bucket (PutBucketLifecycleConfiguration replaces it): if the bucket has lifecycle rules of its own, leave this null and add a rule for manifest_prefix there instead."
  type        = number
  default     = null

  validation {
    condition     = var.manifest_expiration_days == null ? true : var.manifest_expiration_days >= 1 && floor(var.manifest_expiration_days) == var.manifest_expiration_days
    error_message = "manifest_expiration_days must be a whole number of days, at least 1, or null."
  }
}

variable "source_kms_key_arns" {
  description = "KMS keys of SSE-KMS encrypted source or manifest buckets: the function gets kms:Decrypt/GenerateDataKey and the COPY role kms:Decrypt on exactly these."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.source_kms_key_arns : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", k))])
    error_message = "source_kms_key_arns must hold KMS key ARNs (arn:aws:kms:<region>:<account>:key/<id>), not aliases."
  }
}

variable "ledger_schema" {
  description = "Schema that holds the loader's exactly-once ledger: one table per target (load_ledger_{schema}_{table}_{hash}), created on first use and never a load target."
  type        = string
  default     = "s3redshift"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_$]*$", var.ledger_schema))
    error_message = "ledger_schema must be one plain identifier (letters, digits, _ or $, not starting with a digit), e.g. s3redshift."
  }
}

variable "tables" {
  description = <<-EOT
    Mapping rules (first match wins), as in the [[tables]] section of the loader's
    configuration: pattern, schema, table, mode, keys, order_by, columns, format
    and options. Empty uses the loader's default rule (first key segment = table).
    options takes the loader's snake_case COPY options with their own types
    (max_error = 10, blanks_as_null = true; comp_update = "true", "false" or
    "preset"): the loader's configuration is strictly typed, so no value is
    passed on as a string that only looks like a number or a boolean.
    schema_policy is the rule's [tables.schema_policy]: match ("position" or
    "name"), create (true: the loader creates a missing table from the file's
    schema; its database user then needs CREATE on the schema) and evolve
    (a subset of "add_columns", "widen").
  EOT
  type = list(object({
    pattern  = string
    schema   = optional(string)
    table    = optional(string)
    mode     = optional(string)
    keys     = optional(list(string))
    order_by = optional(string)
    columns  = optional(list(string))
    format = optional(object({
      type          = string
      delimiter     = optional(string)
      quote         = optional(string)
      ignore_header = optional(number)
      null_as       = optional(string)
      json_paths    = optional(string)
      compression   = optional(string)
      widths        = optional(list(tuple([string, number])))
    }))
    options = optional(object({
      accept_any_date    = optional(bool)
      accept_inv_chars   = optional(string)
      blanks_as_null     = optional(bool)
      date_format        = optional(string)
      empty_as_null      = optional(bool)
      encoding           = optional(string)
      escape             = optional(bool)
      explicit_ids       = optional(bool)
      fill_record        = optional(bool)
      ignore_blank_lines = optional(bool)
      remove_quotes      = optional(bool)
      round_dec          = optional(bool)
      time_format        = optional(string)
      trim_blanks        = optional(bool)
      truncate_columns   = optional(bool)
      comp_rows          = optional(number)
      comp_update        = optional(string)
      ignore_all_errors  = optional(bool)
      max_error          = optional(number)
      no_load            = optional(bool)
      stat_update        = optional(bool)
    }))
    schema_policy = optional(object({
      match  = optional(string)
      create = optional(bool)
      evolve = optional(list(string))
    }))
  }))
  default = []

  validation {
    condition = alltrue([for t in var.tables : t.schema_policy == null || (
      contains(["position", "name"], coalesce(try(t.schema_policy.match, null), "position")) &&
      alltrue([for e in coalesce(try(t.schema_policy.evolve, null), []) : contains(["add_columns", "widen"], e)])
    )])
    error_message = "tables[*].schema_policy.match must be \"position\" or \"name\", and evolve may list only \"add_columns\" and \"widen\"."
  }

  validation {
    condition     = alltrue([for t in var.tables : t.mode == null || contains(["append", "upsert", "replace"], coalesce(t.mode, "append"))])
    error_message = "tables[*].mode must be \"append\", \"upsert\" or \"replace\"."
  }

  validation {
    condition     = alltrue([for t in var.tables : t.format == null || contains(["csv", "delimited", "json", "avro", "parquet", "orc", "fixedwidth"], try(t.format.type, ""))])
    error_message = "tables[*].format.type must be one of csv, delimited, json, avro, parquet, orc, fixedwidth."
  }

  validation {
    condition     = alltrue([for t in var.tables : length(trimspace(t.pattern)) > 0])
    error_message = "tables[*].pattern must not be empty."
  }

  validation {
    condition     = alltrue([for t in var.tables : contains(["true", "false", "preset"], coalesce(try(t.options.comp_update, null), "true"))])
    error_message = "tables[*].options.comp_update must be \"true\", \"false\" or \"preset\"."
  }
}

################################################################################
# The function
################################################################################

variable "package_path" {
  description = "Path of the zip built by `make lambda-zip` (dist/lambda-<transport>-<arch>-py<version>.zip). Its transport, architecture and Python version must match redshift.transport, architecture and runtime."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must point at the .zip built by `make lambda-zip`."
  }
}

variable "handler" {
  description = "Handler of the function; the artifact puts the adapter at the zip root."
  type        = string
  default     = "lambda_entry.handler"
}

variable "runtime" {
  description = "Python runtime; must match the artifact's Python version (python3.12 <-> py3.12)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13 (the Amazon Linux 2023 runtimes the artifact is built for)."
  }
}

variable "architecture" {
  description = "Instruction set; must match the artifact (x86_64 or arm64 wheels)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "timeout" {
  description = "Function timeout in seconds (30-900): the handler stops starting loads 10 s before the end, and a load needs at least 20 s. The queue's visibility timeout follows it (6 x timeout + batching window)."
  type        = number
  default     = 300

  # 30 = the handler's TIME_MARGIN_S (10) + MIN_LOAD_S (20), src/s3redshift/handler.py;
  # tests/test_terraform.py holds this number to MIN_FUNCTION_TIMEOUT_S.
  validation {
    condition     = var.timeout >= 30
    error_message = "timeout = ${var.timeout} s cannot load anything: the minimum is 30 s, since the handler stops starting loads 10 s before the function ends and a load needs at least 20 s."
  }

  validation {
    condition     = var.timeout <= 900
    error_message = "timeout = ${var.timeout} s is above Lambda's maximum of 900 s."
  }
}

variable "memory_size" {
  description = "Memory in MB (128-10240); more memory also means more CPU for parsing and cold starts."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency. null reserves sqs.maximum_concurrency (plus 1 for the sweep when it is scheduled) with trigger = \"sqs\", and 10 with trigger = \"direct\". With SQS it must be at least sqs.maximum_concurrency or messages get throttled."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null ? true : var.reserved_concurrent_executions >= 1
    error_message = "reserved_concurrent_executions must be at least 1 (0 would stop the function)."
  }

  validation {
    condition     = var.reserved_concurrent_executions == null || var.trigger != "sqs" ? true : var.reserved_concurrent_executions >= var.sqs.maximum_concurrency
    error_message = "reserved_concurrent_executions must be at least sqs.maximum_concurrency, or the event source mapping is throttled."
  }
}

variable "snap_start" {
  description = <<-EOT
    Lambda SnapStart: publish a version on every change of the function's code or
    configuration, with snap_start { apply_on = "PublishedVersions" }, and point an
    alias named "live" at it. Every trigger (the SQS event source mapping, the S3
    bucket notification and its permission, the sweep's schedule) and the
    asynchronous-invocation settings then name the alias, never $LATEST. Lambda runs
    INIT (imports and the loader's set-up) when it publishes the version and
    snapshots it; new execution environments resume from the snapshot, and the
    adapter's restore hooks re-create database sessions, AWS clients and cached
    credentials. Costs a snapshot cache charge per published version while it is
    active and a restore charge per new environment; published versions are kept
    (delete old ones yourself). Not offered in ap-southeast-6 and ap-east-2.
  EOT
  type        = bool
  default     = false
  nullable    = false
}

################################################################################
# The function's execution role
################################################################################

variable "create_role" {
  description = "Whether the module creates the function's execution role. false uses role_arn instead (bring your own role): the module then attaches nothing to it, so grant it the function_policy_json output (or an equivalent policy) yourself."
  type        = bool
  default     = true
}

variable "role_arn" {
  description = "ARN of an existing execution role for the function (create_role = false). It must trust lambda.amazonaws.com."
  type        = string
  default     = null

  validation {
    condition     = var.role_arn == null ? true : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", var.role_arn))
    error_message = "role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<path><name>)."
  }

  validation {
    condition     = var.create_role || var.role_arn != null
    error_message = "create_role = false needs role_arn (the execution role the function runs with)."
  }
}

variable "role_path" {
  description = "IAM path of the roles the module creates (the function's role and the COPY role), e.g. \"/service/\"; null uses \"/\"."
  type        = string
  default     = null

  validation {
    condition     = var.role_path == null ? true : can(regex("^/([\\x21-\\x7E]{0,510}/)?$", var.role_path))
    error_message = "role_path must start and end with '/' (e.g. \"/service/\"), at most 512 printable ASCII characters."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of the managed policy set as the permissions boundary of the roles the module creates (the function's role and the COPY role); null sets none."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null ? true : can(regex("^arn:[a-z-]+:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary))
    error_message = "role_permissions_boundary must be an IAM policy ARN (arn:aws:iam::<account>:policy/<name> or an AWS managed policy)."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key that encrypts the function's environment variables (null: Lambda's AWS managed key). The function role gets kms:Decrypt on it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); Lambda does not accept an alias here."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: \"Active\" (the role gets xray:PutTraceSegments/PutTelemetryRecords) or \"PassThrough\"."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be \"Active\" or \"PassThrough\"."
  }
}

variable "environment_variables" {
  description = "Extra environment variables (never secrets: they are visible to anyone who can read the function's configuration). S3REDSHIFT_CONFIG is set by the module."
  type        = map(string)
  default     = {}

  validation {
    condition     = !contains(keys(var.environment_variables), "S3REDSHIFT_CONFIG")
    error_message = "environment_variables must not set S3REDSHIFT_CONFIG; the module builds it from its inputs."
  }

  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : !can(regex("(?i)(password|secret|token|_pw$)", k))])
    error_message = "environment_variables must not carry secrets (a name mentions password/secret/token); use credentials.provider = \"ssm\" or \"secrets-manager\"."
  }
}

variable "vpc_config" {
  description = <<-EOT
    Runs the function in a VPC (needed by the connector transport when the cluster
    is private). The subnets need routes to S3, SSM or Secrets Manager, STS and
    (data-api) the Redshift Data API: a NAT gateway, or the VPC endpoints the deploy
    guide lists (docs/deploy.md, "VPC"). The security groups must allow egress to the
    cluster port and 443.
  EOT
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition     = var.vpc_config == null ? true : length(var.vpc_config.subnet_ids) > 0 && length(var.vpc_config.security_group_ids) > 0
    error_message = "vpc_config needs at least one subnet id and one security group id."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group (a CloudWatch Logs retention value; 0 = never expire)."
  type        = number
  default     = 365

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ..., 3653 or 0)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the log group (its key policy must allow logs.<region>.amazonaws.com); null uses CloudWatch Logs' own encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); CloudWatch Logs does not accept an alias or a bare key id."
  }
}

################################################################################
# Alarms and the sweep
################################################################################

variable "create_alarms" {
  description = "Whether to create the CloudWatch alarms: DLQ depth > 0, age of the oldest queued message, function errors, objects that failed to load, and (with alarm_load_lag_seconds) load lag."
  type        = bool
  default     = true
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's embedded-metric-format metrics (ObjectsLoaded, ObjectsDuplicate, ObjectsFailed, Rows, DurationMs, LoadLagSeconds, NotificationsSent/Failed; per table with the Table dimension). \"\" writes no metrics (and creates no objects-failed or load-lag alarm)."
  type        = string
  default     = "s3redshift"

  validation {
    condition     = can(regex("^([A-Za-z0-9_./#:-]{1,255})?$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be empty or 1-255 letters, digits or . _ - / # : and must not start with AWS/ (reserved for AWS services)."
  }
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified when an alarm fires or recovers (null: alarms without actions)."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null ? true : can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>; a FIFO topic cannot take alarm actions)."
  }
}

variable "alarm_oldest_message_age_seconds" {
  description = "Alarm when the oldest message of the main queue is older than this (trigger = \"sqs\"): loads are falling behind or failing."
  type        = number
  default     = 1800

  validation {
    condition     = var.alarm_oldest_message_age_seconds >= 60
    error_message = "alarm_oldest_message_age_seconds must be at least 60."
  }
}

variable "alarm_load_lag_seconds" {
  description = "Alarm when committed data is later than this many seconds: the largest LoadLagSeconds (from the oldest object's event time to the commit) over every table of the function in 5 minutes, on the FunctionName dimension, so tables named at load time need no alarm of their own. null: no lag alarm. Needs metrics_namespace."
  type        = number
  default     = null

  validation {
    condition     = var.alarm_load_lag_seconds == null ? true : var.alarm_load_lag_seconds >= 1
    error_message = "alarm_load_lag_seconds must be at least 1 second, or null for no lag alarm."
  }
}

variable "sweep_schedule_expression" {
  description = "EventBridge schedule (rate(...) or cron(...)) that invokes the function with a sweep of sweep_prefixes, loading objects missing from the ledger (repairs lost notifications). null: no schedule."
  type        = string
  default     = null

  validation {
    condition     = var.sweep_schedule_expression == null ? true : can(regex("^(rate|cron)\\(.+\\)$", var.sweep_schedule_expression))
    error_message = "sweep_schedule_expression must be rate(...) or cron(...), e.g. \"rate(1 hour)\"."
  }
}

variable "sweep_prefixes" {
  description = "s3://bucket/prefix URIs the scheduled sweep lists; null sweeps every source (s3://<bucket>/<prefix>). Each must lie inside a source prefix, the only places the function may list."
  type        = list(string)
  default     = null

  validation {
    condition = var.sweep_prefixes == null ? true : alltrue([
      for p in var.sweep_prefixes : anytrue([for s in var.sources : startswith(p, "s3://${s.bucket}/${s.prefix}")])
    ])
    error_message = "Each sweep_prefixes entry must be an s3://bucket/prefix URI inside one of the sources (bucket + prefix)."
  }
}

variable "sweep_since" {
  description = "Limits each sweep to objects last modified within this ISO 8601 duration before the run (e.g. \"P2D\", \"PT6H\"); null sweeps everything under sweep_prefixes (the ledger skips what is loaded, but every object is listed)."
  type        = string
  default     = null

  validation {
    condition     = var.sweep_since == null ? true : can(regex("^P([0-9]+D)?(T([0-9]+H)?([0-9]+M)?([0-9]+S)?)?$", var.sweep_since)) && !contains(["P", "PT"], var.sweep_since)
    error_message = "sweep_since must be an ISO 8601 duration in days, hours, minutes or seconds, e.g. \"P2D\" or \"PT6H\"."
  }
}

################################################################################
# Notifications: one event per committed load
################################################################################

variable "notifications" {
  description = <<-EOT
    Announce each committed load (the loader's [notifications]: one event per committed
    transaction with table, batch id, objects, rows and lag_seconds; best effort, at
    most once). Give exactly one of: event_bus, an existing EventBridge
    bus (name or ARN); create_event_bus = true, a bus named <name>-loads; sns_topic_arn,
    an existing SNS topic; create_sns_topic = true, a topic named <name>-loads, encrypted
    with sns_kms_key_arn or else the AWS managed key alias/aws/sns. The function may
    PutEvents on that bus only, or Publish on that topic only (and, with sns_kms_key_arn,
    use that key through SNS). null: no notifications.
  EOT
  type = object({
    event_bus        = optional(string)
    create_event_bus = optional(bool, false)
    sns_topic_arn    = optional(string)
    create_sns_topic = optional(bool, false)
    sns_kms_key_arn  = optional(string)
  })
  default = null

  validation {
    condition = var.notifications == null ? true : length([
      for given in [
        var.notifications.event_bus != null,
        var.notifications.create_event_bus,
        var.notifications.sns_topic_arn != null,
        var.notifications.create_sns_topic,
      ] : given if given
    ]) == 1
    error_message = "notifications needs exactly one of event_bus, create_event_bus = true, sns_topic_arn or create_sns_topic = true (or null for none)."
  }

  validation {
    condition     = try(var.notifications.event_bus, null) == null ? true : can(regex("^(arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/)?[/.\\-_A-Za-z0-9]{1,256}$", var.notifications.event_bus))
    error_message = "notifications.event_bus must be an event bus name (letters, digits, '.', '-', '_' or '/') or its ARN (arn:aws:events:<region>:<account>:event-bus/<name>)."
  }

  validation {
    condition     = try(var.notifications.sns_topic_arn, null) == null ? true : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", var.notifications.sns_topic_arn))
    error_message = "notifications.sns_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)."
  }

  validation {
    condition     = try(var.notifications.sns_kms_key_arn, null) == null ? true : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.notifications.sns_kms_key_arn)) && (var.notifications.sns_topic_arn != null || var.notifications.create_sns_topic)
    error_message = "notifications.sns_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; IAM names keys by ARN) and goes with sns_topic_arn or create_sns_topic."
  }
}
