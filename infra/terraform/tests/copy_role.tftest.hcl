# The COPY role's trust policy, planned offline with a mocked AWS provider
# (run by `make terraform-validate` after `terraform init`): Redshift may
# assume it only for database users of this account and Region, whose ARN
# Redshift passes as the external ID (confused deputy).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
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
