terraform {
  # 1.11: write-only arguments (`value_wo`), which keep the database password
  # out of the state; 1.9+ is also needed for validations that read other
  # variables (the visibility-timeout rule).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.8: `aws_ssm_parameter.value_wo`/`value_wo_version` and
      # `data.aws_region.region` (the 6.x attribute name).
      version = ">= 6.8"
    }
  }
}
