resource "aqueduct_operator" "features" {
  workflow_id  = aqueduct_workflow.churn.id
  name         = "features"
  source       = "${path.module}/operators/features" # features.py defines build(...)
  function     = "features:build"
  requirements = ["pandas==2.2.3", "pyarrow==17.0.0"]
  memory       = "2GB"
  timeout      = 600
}

resource "aqueduct_operator" "train" {
  workflow_id       = aqueduct_workflow.churn.id
  name              = "train"
  source            = "${path.module}/operators/train"
  function          = "train:main" # main(features, n_estimators=100)
  requirements      = ["scikit-learn==1.5.2"]
  python_version    = "3.12"
  memory            = 3072
  timeout           = 900
  ephemeral_storage = 2048
  architecture      = "arm64"

  environment = {
    LOG_LEVEL = "info"
  }

  # Upstream operators: their outputs are the function's arguments, in order.
  inputs = [aqueduct_operator.features.artifact]

  timeouts {
    create = "30m"
  }
}
