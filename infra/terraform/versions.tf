terraform {
  # 1.11: write-only arguments (`value_wo`), which keep the database password
  # out of the state; 1.9+ is also needed for validations that read other
  # variables (the visibility-timeout rule).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Tested with 5.100 (the first with `aws_ssm_parameter.value_wo`)
      # and 6.x; 7.0 may remove what 6.x deprecates.
      version = ">= 5.100, < 7.0"
    }
  }
}
