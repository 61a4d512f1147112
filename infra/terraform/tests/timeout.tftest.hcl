# Offline plans of the function timeout against the handler's needs, with a
# mocked AWS provider (run by `make terraform-validate` after `terraform init`).
# The minimum, 30 s, is the handler's TIME_MARGIN_S + MIN_LOAD_S
# (src/s3redshift/handler.py); tests/test_terraform.py holds the two equal.

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

run "refuses_a_timeout_the_handler_cannot_load_in" {
  command = plan

  variables {
    timeout = 10
  }

  expect_failures = [var.timeout]
}

run "refuses_one_second_below_the_minimum" {
  command = plan

  variables {
    timeout = 29
  }

  expect_failures = [var.timeout]
}

run "accepts_the_minimum_and_the_queue_follows_it" {
  command = plan

  variables {
    timeout = 30
  }

  assert {
    condition     = aws_lambda_function.this[0].timeout == 30
    error_message = "The function must run with the timeout given."
  }

  assert {
    condition     = aws_sqs_queue.this[0].visibility_timeout_seconds == 6 * 30 + 5
    error_message = "The queue's visibility timeout must be 6 x timeout + the batching window."
  }
}
