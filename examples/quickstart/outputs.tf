locals {
  result = jsondecode(data.aqueduct_invocation.train.operators["evaluate"].output)
}

output "best_model" {
  description = "The model that scored best on the held-out samples."
  value       = local.result.best_model
}

output "accuracy" {
  description = "Accuracy of the best model on the held-out samples."
  value       = local.result.accuracy
}

output "scores" {
  description = "Accuracy of every model."
  value       = local.result.scores
}

output "run_id" {
  description = "Id of the run; its record is at run_uri."
  value       = data.aqueduct_invocation.train.id
}

output "run_uri" {
  value = data.aqueduct_invocation.train.run_uri
}

output "durations_ms" {
  description = "Wall time of each operator, in milliseconds."
  value       = { for name, op in data.aqueduct_invocation.train.operators : name => op.duration_ms }
}
