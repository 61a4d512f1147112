# Offline runs of snap_start, with a mocked AWS provider (run by
# `make terraform-validate` after `terraform init`). The mocked applies give
# the alias and the function known ARNs, so the triggers can be compared
# with them; nothing leaves the machine.

mock_provider "aws" {
  source = "./tests/mocks"

  mock_resource "aws_lambda_function" {
    defaults = {
      arn     = "arn:aws:lambda:eu-west-1:123456789012:function:loader"
      version = "7"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/loader"
    }
  }
  mock_resource "aws_lambda_alias" {
    defaults = {
      arn = "arn:aws:lambda:eu-west-1:123456789012:function:loader:live"
    }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = {
      arn = "arn:aws:events:eu-west-1:123456789012:rule/loader-sweep"
    }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:loader"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/loader"
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
  sweep_schedule_expression = "rate(1 hour)"
  db_password               = "unused"
}

run "off_by_default_everything_invokes_the_function" {
  command = apply

  assert {
    condition     = aws_lambda_function.this[0].publish == false && length(aws_lambda_function.this[0].snap_start) == 0
    error_message = "Without snap_start the function publishes no version and has no snap_start block."
  }

  assert {
    condition     = length(aws_lambda_alias.live) == 0 && output.function_alias_arn == null
    error_message = "Without snap_start there is no alias."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this[0].function_name == aws_lambda_function.this[0].arn
    error_message = "Without snap_start the SQS mapping invokes the function itself."
  }

  assert {
    condition     = aws_cloudwatch_event_target.sweep[0].arn == aws_lambda_function.this[0].arn && aws_lambda_permission.sweep[0].qualifier == null
    error_message = "Without snap_start the sweep invokes the function itself."
  }
}

run "on_publishes_and_every_sqs_trigger_names_the_alias" {
  command = apply

  variables {
    snap_start = true
  }

  assert {
    condition     = aws_lambda_function.this[0].publish == true
    error_message = "SnapStart applies to published versions: the function must publish one."
  }

  assert {
    condition     = aws_lambda_function.this[0].snap_start[0].apply_on == "PublishedVersions"
    error_message = "The function must take snapshots of its published versions."
  }

  assert {
    condition     = aws_lambda_alias.live[0].name == "live" && aws_lambda_alias.live[0].function_version == aws_lambda_function.this[0].version
    error_message = "The alias live must point at the version just published."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this[0].function_name == aws_lambda_alias.live[0].arn
    error_message = "The SQS mapping must invoke the alias, not $LATEST."
  }

  assert {
    condition     = aws_cloudwatch_event_target.sweep[0].arn == aws_lambda_alias.live[0].arn
    error_message = "The sweep's schedule must invoke the alias."
  }

  assert {
    condition     = aws_lambda_permission.sweep[0].qualifier == "live"
    error_message = "The schedule's permission must be granted on the alias it invokes."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this[0].qualifier == "live"
    error_message = "The sweep's retries and on-failure destination must be set on the alias (settings on the function hold for $LATEST only)."
  }

  assert {
    condition     = output.function_alias_arn == aws_lambda_alias.live[0].arn && output.function_version == "7"
    error_message = "The outputs must name the alias and the published version."
  }
}

run "on_with_direct_events_the_notification_and_permission_name_the_alias" {
  command = apply

  variables {
    snap_start = true
    trigger    = "direct"
  }

  assert {
    condition     = one(aws_s3_bucket_notification.this["data-bucket"].lambda_function).lambda_function_arn == aws_lambda_alias.live[0].arn
    error_message = "S3 must notify the alias, not $LATEST."
  }

  assert {
    condition     = aws_lambda_permission.s3["data-bucket"].qualifier == "live"
    error_message = "S3's invoke permission must be granted on the alias it notifies."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this[0].qualifier == "live"
    error_message = "Direct events' retries and DLQ must be set on the alias they invoke."
  }
}

run "refuses_a_region_without_snap_start" {
  command = plan

  variables {
    snap_start = true
  }

  override_data {
    target = data.aws_region.current[0]
    values = {
      name   = "ap-southeast-6"
      region = "ap-southeast-6"
    }
  }

  expect_failures = [aws_lambda_function.this]
}

run "the_same_region_is_fine_without_snap_start" {
  command = plan

  override_data {
    target = data.aws_region.current[0]
    values = {
      name   = "ap-southeast-6"
      region = "ap-southeast-6"
    }
  }

  assert {
    condition     = aws_lambda_function.this[0].publish == false
    error_message = "Without snap_start the Region is not checked."
  }
}
