# Run the whole workflow once its operators are up to date. An unchanged DAG
# with unchanged parameters reads the earlier run back instead of invoking.
data "aqueduct_invocation" "weekly" {
  workflow_id = aqueduct_workflow.churn.id
  parameters = {
    n_estimators = jsonencode(500)
  }
  depends_on = [aqueduct_workflow.churn, aqueduct_operator.features, aqueduct_operator.train]
}

output "metrics" {
  value = jsondecode(data.aqueduct_invocation.weekly.operators["train"].output)
}

# Run one operator on an input of its own.
data "aqueduct_invocation" "smoke" {
  operator_id   = aqueduct_operator.features.id
  input         = jsonencode({ rows = 10 })
  allow_failure = true
  depends_on    = [aqueduct_operator.features]
}

output "smoke_status" {
  value = data.aqueduct_invocation.smoke.status
}
