# Run what the train operator needs. Its handle is unknown in a plan whenever
# train or anything upstream changes, so the run waits for the apply then;
# no depends_on is needed. Only operators whose cached output is missing run.
# With an orchestration role on the engine, the run is a Step Functions
# execution that outlives terraform; executor = "local" keeps it in process.
data "aqueduct_invocation" "weekly" {
  artifacts = [aqueduct_operator.train.artifact]
  parameters = {
    n_estimators = jsonencode(500)
  }
}

output "metrics" {
  value = jsondecode(data.aqueduct_invocation.weekly.operators["train"].output)
}

output "ran_again" {
  description = "How many operators this run invoked; the rest came from the cache."
  value       = data.aqueduct_invocation.weekly.invoked
}

# Run one operator on an input of its own: a smoke test.
data "aqueduct_invocation" "smoke" {
  operator_id   = aqueduct_operator.features.artifact
  input         = jsonencode({ rows = 10 })
  allow_failure = true
}

output "smoke_status" {
  value = data.aqueduct_invocation.smoke.status
}
