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

output "invoked" {
  description = "Operators the last run invoked; the others came from the cache."
  value       = data.aqueduct_invocation.train.invoked
}

output "run_duration_ms" {
  description = "Wall time of the last run, in milliseconds."
  value       = data.aqueduct_invocation.train.duration_ms
}

output "executor" {
  description = "Where the last run executed: step_functions or local."
  value       = data.aqueduct_invocation.train.executor
}

output "scheduled_runs" {
  description = "The schedule's recent runs, newest first."
  value = var.schedule == null ? [] : [
    for r in data.aqueduct_schedule_runs.retrain[0].runs : { id = r.id, status = r.status, started_at = r.started_at }
  ]
}

output "schedule_state_machine" {
  description = "ARN of the schedule's state machine."
  value       = var.schedule == null ? null : aqueduct_schedule.retrain[0].state_machine_arn
}
