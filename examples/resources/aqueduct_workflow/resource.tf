resource "aqueduct_workflow" "churn" {
  name        = "churn"
  description = "Weekly churn model"
  engine      = aqueduct_lambda_resource.ml.id

  # Defaults for every run; an invocation's parameters override them.
  parameters = {
    test_size    = jsonencode(0.2)
    n_estimators = jsonencode(200)
    features     = jsonencode(["tenure", "plan", "usage"])
  }

  # Settings of every operator's function that do not set them itself.
  function_defaults = {
    tracing_mode = "Active"
    logging      = { log_format = "JSON", log_retention_days = 30 }
  }
}
