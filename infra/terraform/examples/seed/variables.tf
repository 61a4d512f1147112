variable "region" {
  description = "AWS region of the cluster and the bucket."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the loader."
  type        = string
  default     = "s3redshift-seed"
}

variable "bucket_name" {
  description = "The existing bucket the seed loads from."
  type        = string
}

variable "table_prefixes" {
  description = "Key prefixes that trigger loads, one per table (the first key segment names the table)."
  type        = list(string)
  default     = ["kpis/"]
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the function (at least two Availability Zones)."
  type        = list(string)
}

variable "route_table_ids" {
  description = "Route tables of those subnets, for the S3 gateway endpoint."
  type        = list(string)
}

variable "cluster_security_group_id" {
  description = "Security group of the cluster; the example allows the function in on cluster_port."
  type        = string
}

variable "cluster_identifier" {
  description = "Identifier of the provisioned cluster."
  type        = string
}

variable "cluster_endpoint" {
  description = "Host name of the cluster endpoint (the seed's DB_HOST)."
  type        = string
}

variable "cluster_port" {
  description = "Port of the cluster (the seed's DB_PORT)."
  type        = number
  default     = 5439
}

variable "database" {
  description = "Database to load into (the seed's DB_NAME)."
  type        = string
  default     = "dev"
}

variable "db_user" {
  description = "Database user (the seed's DB_USER)."
  type        = string
  default     = "loader"
}

variable "db_schema" {
  description = "Schema of the target tables (the seed's DB_SCHEMA)."
  type        = string
  default     = "public"
}

variable "db_password" {
  description = "Password of db_user. Ephemeral: pass it with TF_VAR_db_password; it reaches SSM through a write-only argument and is never stored in the plan or the state."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "db_password_version" {
  description = "Increase to write a changed db_password."
  type        = number
  default     = 1
}

variable "copy_role_arn" {
  description = "The role the cluster already uses for COPY (the seed's IAM_ROLE)."
  type        = string
}

variable "package_path" {
  description = "The connector artifact built by `make lambda-zip TRANSPORT=connector ARCH=x86_64 PYTHON_VERSION=3.12` (run from the repository root)."
  type        = string
  default     = "../../../../dist/lambda-connector-x86_64-py3.12.zip"
}

variable "tags" {
  description = "Tags for the loader's resources."
  type        = map(string)
  default     = { project = "s3redshift", example = "seed" }
}
