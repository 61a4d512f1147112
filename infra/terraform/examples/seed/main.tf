provider "aws" {
  region = var.region
}

################################################################################
# Network: the function reaches the cluster over TCP and AWS APIs through
# endpoints, without a NAT gateway
################################################################################

resource "aws_security_group" "loader" {
  name        = "${var.name}-loader"
  description = "s3redshift loader function: egress to the cluster port and to the VPC endpoints"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "loader_to_cluster" {
  security_group_id            = aws_security_group.loader.id
  description                  = "Redshift cluster (connector transport)"
  ip_protocol                  = "tcp"
  from_port                    = var.cluster_port
  to_port                      = var.cluster_port
  referenced_security_group_id = var.cluster_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "loader_to_endpoints" {
  security_group_id            = aws_security_group.loader.id
  description                  = "HTTPS to the interface endpoints (SSM)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints.id
}

resource "aws_vpc_security_group_egress_rule" "loader_to_s3" {
  security_group_id = aws_security_group.loader.id
  description       = "HTTPS to S3 through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.s3.prefix_list_id
}

resource "aws_vpc_security_group_ingress_rule" "cluster_from_loader" {
  security_group_id            = var.cluster_security_group_id
  description                  = "s3redshift loader function"
  ip_protocol                  = "tcp"
  from_port                    = var.cluster_port
  to_port                      = var.cluster_port
  referenced_security_group_id = aws_security_group.loader.id
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-endpoints"
  description = "Interface endpoints used by the s3redshift loader"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_loader" {
  security_group_id            = aws_security_group.endpoints.id
  description                  = "HTTPS from the loader function"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.loader.id
}

# S3 (manifests, HeadObject) through a gateway endpoint on the subnets' route tables.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids
}

# SSM (the password). Add secretsmanager, redshift-data or redshift here when
# the credentials or the transport change (docs/deploy.md, VPC).
resource "aws_vpc_endpoint" "interface" {
  for_each = toset(["ssm"])

  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${var.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.subnet_ids
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true
}

################################################################################
# The loader: the seed's direct trigger, connector and SSM password, done right
################################################################################

module "loader" {
  source = "../.."

  name         = var.name
  package_path = var.package_path
  runtime      = "python3.12"
  architecture = "x86_64"

  # S3 invokes the function for every object under the seed's prefixes;
  # failures are retried twice, then kept in the DLQ.
  trigger = "direct"
  sources = [for prefix in var.table_prefixes : { bucket = var.bucket_name, prefix = prefix }]
  direct = {
    maximum_retry_attempts       = 2
    maximum_event_age_in_seconds = 3600
  }

  redshift = {
    transport          = "connector"
    host               = var.cluster_endpoint
    port               = var.cluster_port
    database           = var.database
    cluster_identifier = var.cluster_identifier
  }

  # The password lives in a SecureString under its own KMS key; Terraform
  # writes it (value_wo) but never stores it in the state.
  credentials = {
    provider           = "ssm"
    user               = var.db_user
    ssm_parameter_name = "/${var.name}/redshift-password"
  }
  db_password         = var.db_password
  db_password_version = var.db_password_version

  # The seed's role, already associated with the cluster.
  copy_role_arn = var.copy_role_arn

  # The seed's rule: the first key segment names the table, in DB_SCHEMA;
  # CSV, comma, one header row.
  tables = [
    {
      pattern = "{table}/**"
      schema  = var.db_schema
      table   = "{table}"
      format  = { type = "csv", delimiter = ",", ignore_header = 1 }
    },
  ]

  vpc_config = {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.loader.id]
  }

  # Downstream jobs subscribe to a topic of the loader's own: one message
  # per committed load.
  notifications = {
    create_sns_topic = true
  }

  sweep_schedule_expression = "cron(15 3 * * ? *)"
  sweep_since               = "P2D"

  tags = var.tags
}

check "vpc_has_private_subnets" {
  assert {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give at least two subnets in different Availability Zones so the function survives an AZ outage."
  }
}
