output "engine_id" {
  description = "The engine the workflow runs on."
  value       = aqueduct_workflow.this.engine
}

output "workflow_id" {
  description = "Id of the workflow."
  value       = aqueduct_workflow.this.id
}

output "operators" {
  description = "Each operator, by name: its id, artifact handle, Lambda function, image, memory in MB and DAG level."
  value = { for n, o in local.operators : n => {
    id            = o.id
    artifact      = o.artifact
    function_name = o.function_name
    function_arn  = o.function_arn
    image_uri     = o.image_uri
    memory        = o.memory
    level         = one([for k, l in local.levels : k if contains(l, n)])
  } }
}

output "artifacts" {
  description = "Artifact handles by operator name, for a data.aqueduct_invocation or schedule outside the module."
  value       = local.artifacts
}

output "levels" {
  description = "The operators of each DAG level, roots first. An operator that changes level moves to another resource block (README.md)."
  value       = [for l in local.levels : sort(l) if length(l) > 0]
}

output "run" {
  description = "The run, when var.run is set: id, status, executor, how many operators it invoked and whether it was read back whole; null otherwise."
  value = try({
    id       = data.aqueduct_invocation.this[0].id
    status   = data.aqueduct_invocation.this[0].status
    executor = data.aqueduct_invocation.this[0].executor
    invoked  = data.aqueduct_invocation.this[0].invoked
    reused   = data.aqueduct_invocation.this[0].reused
    run_uri  = data.aqueduct_invocation.this[0].run_uri
  }, null)
}

output "results" {
  description = "Each operator's output of the run, decoded from JSON (null for an output that is not JSON or is over 64 KB), with its status: succeeded (invoked by this run) or cached."
  value = try({ for n, o in data.aqueduct_invocation.this[0].operators : n => {
    status = o.status
    output = o.output == null ? null : jsondecode(o.output)
  } }, {})
}
