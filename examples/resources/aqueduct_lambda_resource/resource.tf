resource "aqueduct_lambda_resource" "ml" {
  name     = "ml"
  role_arn = "arn:aws:iam::123456789012:role/aqueduct-exec"

  artifact_store {
    s3_bucket = "my-aqueduct-artifacts"
    prefix    = "pipelines"
  }

  tags = {
    team = "ml"
  }
}
