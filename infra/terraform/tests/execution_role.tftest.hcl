# Offline plans of the roles (the execution role's inputs, the COPY role's
# trust), with a mocked AWS provider (run by `make terraform-validate` after
# `terraform init`). The zip is an empty stand-in: a plan only hashes it.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name         = "loader"
  package_path = "tests/fixtures/stand-in.zip"
  sources      = [{ bucket = "data-bucket", prefix = "incoming/", suffix = ".csv" }]
  redshift = {
    database       = "dev"
    workgroup_name = "wg"
    workgroup_arn  = "arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/0a1b2c3d-aaaa-bbbb-cccc-1234567890ab"
  }
}

run "creates_its_own_role_under_a_path_with_a_boundary" {
  command = plan

  variables {
    role_path                 = "/loaders/"
    role_permissions_boundary = "arn:aws:iam::123456789012:policy/boundary"
  }

  assert {
    condition     = aws_iam_role.this[0].path == "/loaders/" && aws_iam_role.copy[0].path == "/loaders/"
    error_message = "Both roles the module creates must live under role_path."
  }

  assert {
    condition     = aws_iam_role.this[0].permissions_boundary == var.role_permissions_boundary && aws_iam_role.copy[0].permissions_boundary == var.role_permissions_boundary
    error_message = "Both roles the module creates must carry role_permissions_boundary."
  }

  assert {
    condition     = length(aws_iam_role_policy.this) == 1
    error_message = "The module's own role gets the function's inline policy."
  }
}

run "brings_its_own_role" {
  command = plan

  variables {
    create_role = false
    role_arn    = "arn:aws:iam::123456789012:role/team/existing-loader"
  }

  assert {
    condition     = length(aws_iam_role.this) == 0 && length(aws_iam_role_policy.this) == 0
    error_message = "With create_role = false the module creates no execution role and attaches nothing."
  }

  assert {
    condition     = aws_lambda_function.this[0].role == var.role_arn
    error_message = "The function must run with role_arn."
  }

  assert {
    condition     = output.function_role_arn == var.role_arn && output.function_role_name == "existing-loader"
    error_message = "The role outputs must name the role brought in."
  }

  # The document behind function_policy_json is still built (its JSON is
  # known only after apply, since it names the log group and the queues).
  assert {
    condition     = length(data.aws_iam_policy_document.lambda) == 1
    error_message = "The policy the brought role needs must still be built for the function_policy_json output."
  }
}

run "creates_nothing_when_off" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_lambda_function.this) == 0 && length(aws_iam_role.this) == 0 && length(aws_sqs_queue.dlq) == 0
    error_message = "create = false must create nothing."
  }

  assert {
    condition     = output.function_role_arn == null && output.function_policy_json == null
    error_message = "create = false must output nothing."
  }
}

# The COPY role's trust: Redshift may assume it only for database users of
# this account and Region, whose ARN Redshift passes as the external ID
# (confused deputy).
run "trusts_redshift_for_this_accounts_database_users_only" {
  command = plan

  assert {
    condition     = length(data.aws_iam_policy_document.assume_redshift[0].statement[0].condition) == 1 && alltrue([for c in data.aws_iam_policy_document.assume_redshift[0].statement[0].condition : c.test == "StringLike" && c.variable == "sts:ExternalId" && join(" ", c.values) == "arn:aws:redshift:eu-west-1:123456789012:dbuser:*"])
    error_message = "The COPY role must admit Redshift only with an external ID naming a database user of this account and Region."
  }

  assert {
    condition     = toset(data.aws_iam_policy_document.assume_redshift[0].statement[0].principals[*].type) == toset(["Service"])
    error_message = "Only the Redshift services may assume the COPY role."
  }
}

run "a_given_copy_role_is_left_alone" {
  command = plan

  variables {
    copy_role_arn = "arn:aws:iam::123456789012:role/existing-copy"
  }

  assert {
    condition     = length(aws_iam_role.copy) == 0 && length(data.aws_iam_policy_document.assume_redshift) == 0
    error_message = "With copy_role_arn the module creates no COPY role and no trust policy."
  }
}
