# An ML pipeline on AWS Lambda: load the iris data that scikit-learn ships,
# split it, train two models in parallel, each with its own memory size, and
# pick the one that scores best on the held-out samples.
#
#   load -> split -> train_knn  (512 MB) -> evaluate
#                \-> train_tree (1 GB)  -/

locals {
  # null or "" selects AWS's Lambda Python image, which needs pip for
  # scikit-learn; the local ML image has it already.
  aws_image    = var.base_image == null || var.base_image == ""
  base_image   = local.aws_image ? null : var.base_image
  requirements = local.aws_image ? ["scikit-learn==${var.scikit_learn_version}"] : null
  # The local image is Debian 12's Python; AWS's image is picked by this.
  python_version = local.aws_image ? "3.12" : "3.11"
}

resource "aqueduct_lambda_resource" "engine" {
  name     = var.name
  role_arn = var.role_arn
  # With it, runs execute on AWS Step Functions: they outlive terraform, and
  # the schedule below can run the pipeline unattended.
  orchestration_role_arn = var.orchestration_role_arn
  artifact_store {
    s3_bucket = var.bucket
    prefix    = "aqueduct"
  }
}

resource "aqueduct_workflow" "iris" {
  name        = "iris"
  description = "Train a k-NN and a decision tree on iris and keep the better one."
  engine      = aqueduct_lambda_resource.engine.id
  # Defaults of every run; the run below sets the split's own.
  parameters = {
    n_neighbors = jsonencode(5)
    max_depth   = jsonencode(3)
  }
}

resource "aqueduct_operator" "load" {
  workflow_id    = aqueduct_workflow.iris.id
  name           = "load"
  source         = "${path.module}/operators/load"
  function       = "load:load"
  base_image     = local.base_image
  python_version = local.python_version
  requirements   = local.requirements
  memory         = "512MB"
  timeout        = 120
}

resource "aqueduct_operator" "split" {
  workflow_id    = aqueduct_workflow.iris.id
  name           = "split"
  source         = "${path.module}/operators/split"
  function       = "split:split"
  base_image     = local.base_image
  python_version = local.python_version
  requirements   = local.requirements
  memory         = "512MB"
  timeout        = 120
  inputs         = [aqueduct_operator.load.artifact]
}

resource "aqueduct_operator" "train_knn" {
  workflow_id    = aqueduct_workflow.iris.id
  name           = "train_knn"
  source         = "${path.module}/operators/train_knn"
  function       = "train_knn:train"
  base_image     = local.base_image
  python_version = local.python_version
  requirements   = local.requirements
  memory         = "512MB"
  timeout        = 300
  inputs         = [aqueduct_operator.split.artifact]
}

resource "aqueduct_operator" "train_tree" {
  workflow_id    = aqueduct_workflow.iris.id
  name           = "train_tree"
  source         = "${path.module}/operators/train_tree"
  function       = "train_tree:train"
  base_image     = local.base_image
  python_version = local.python_version
  requirements   = local.requirements
  memory         = "1GB"
  timeout        = 300
  inputs         = [aqueduct_operator.split.artifact]
}

resource "aqueduct_operator" "evaluate" {
  workflow_id    = aqueduct_workflow.iris.id
  name           = "evaluate"
  source         = "${path.module}/operators/evaluate"
  function       = "evaluate:evaluate"
  base_image     = local.base_image
  python_version = local.python_version
  requirements   = local.requirements
  memory         = "512MB"
  timeout        = 120
  # Outputs arrive in this order: evaluate(split, knn, tree).
  inputs = [
    aqueduct_operator.split.artifact,
    aqueduct_operator.train_knn.artifact,
    aqueduct_operator.train_tree.artifact,
  ]
}

# Runs what evaluate needs. The handle is unknown in a plan whenever
# evaluate or anything upstream changes, so the run happens at apply time
# then, after the operators are updated, and at plan time otherwise. Each
# operator's output is cached: edit evaluate and only evaluate runs again.
data "aqueduct_invocation" "train" {
  artifacts = [aqueduct_operator.evaluate.artifact]
  parameters = {
    test_size = jsonencode(var.test_size)
    seed      = jsonencode(var.seed)
  }
}

# Retrains on a schedule, on Step Functions, when var.schedule is set (it
# needs var.orchestration_role_arn). It takes the same handle, so an apply
# that changes an operator updates what the schedule runs.
resource "aqueduct_schedule" "retrain" {
  count               = var.schedule == null ? 0 : 1
  name                = "retrain"
  artifacts           = [aqueduct_operator.evaluate.artifact]
  schedule_expression = var.schedule
  parameters = {
    test_size = jsonencode(var.test_size)
    seed      = jsonencode(var.seed)
  }
}

# The schedule's recent runs, newest first: CI can fail on a failed one.
data "aqueduct_schedule_runs" "retrain" {
  count       = var.schedule == null ? 0 : 1
  schedule_id = aqueduct_schedule.retrain[0].id
}
