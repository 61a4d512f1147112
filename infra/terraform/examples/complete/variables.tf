variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the loader and of the Serverless namespace and workgroup."
  type        = string
  default     = "s3redshift-complete"
}

variable "bucket_name" {
  description = "Name of the data bucket to create (globally unique; known at plan time, since notifications are keyed by it)."
  type        = string
}

variable "database" {
  description = "Database created in the Serverless namespace and loaded into."
  type        = string
  default     = "analytics"
}

variable "package_path" {
  description = "The data-api artifact built by `make lambda-zip TRANSPORT=data-api ARCH=x86_64 PYTHON_VERSION=3.12` (run from the repository root)."
  type        = string
  default     = "../../../../dist/lambda-data-api-x86_64-py3.12.zip"
}

variable "tags" {
  description = "Tags for the loader's resources."
  type        = map(string)
  default     = { project = "s3redshift", example = "complete" }
}

variable "create_workgroup" {
  description = "Whether to create the Redshift Serverless namespace and workgroup. false loads into an existing workgroup named by workgroup_name and workgroup_arn (associate the module's copy_role_arn with its namespace yourself)."
  type        = bool
  default     = true
}

variable "workgroup_name" {
  description = "Name of an existing Redshift Serverless workgroup (create_workgroup = false)."
  type        = string
  default     = null
}

variable "workgroup_arn" {
  description = "ARN of that workgroup (create_workgroup = false): IAM policies need its id."
  type        = string
  default     = null
}

variable "snap_start" {
  description = "Lambda SnapStart for the loader (the module's snap_start): every trigger invokes the alias \"live\" of a published version."
  type        = bool
  default     = false
}
