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
  artifact_store {
    s3_bucket = var.bucket
    prefix    = "aqueduct"
  }
}

resource "aqueduct_workflow" "iris" {
  name        = "iris"
  description = "Train a k-NN and a decision tree on iris and keep the better one."
  engine      = aqueduct_lambda_resource.engine.id
  parameters = {
    test_size   = jsonencode(var.test_size)
    seed        = jsonencode(var.seed)
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
  inputs         = [aqueduct_operator.load.id]
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
  inputs         = [aqueduct_operator.split.id]
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
  inputs         = [aqueduct_operator.split.id]
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
    aqueduct_operator.split.id,
    aqueduct_operator.train_knn.id,
    aqueduct_operator.train_tree.id,
  ]
}

# Runs the workflow. Runs are content-addressed: while no operator or
# parameter changes, later plans read this run back instead of invoking.
data "aqueduct_invocation" "train" {
  workflow_id = aqueduct_workflow.iris.id
  # Read at apply time whenever the workflow's parameters or an operator
  # change, so that the run sees them; otherwise at plan time.
  depends_on = [
    aqueduct_workflow.iris,
    aqueduct_operator.load,
    aqueduct_operator.split,
    aqueduct_operator.train_knn,
    aqueduct_operator.train_tree,
    aqueduct_operator.evaluate,
  ]
}
