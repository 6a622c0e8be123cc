# Fail the plan in CI when the last nightly run failed, naming what failed.
data "aqueduct_schedule_runs" "nightly" {
  schedule_id = aqueduct_schedule.nightly.id
  max_results = 5

  lifecycle {
    postcondition {
      condition     = try(self.runs[0].status, "none") != "failed"
      error_message = "The last nightly run (${try(self.runs[0].id, "")}) failed: ${join(", ", try(self.runs[0].failed_operators, []))}. Record: ${try(self.runs[0].run_uri, "")}."
    }
  }
}

output "last_nightly" {
  value = length(data.aqueduct_schedule_runs.nightly.runs) == 0 ? null : data.aqueduct_schedule_runs.nightly.runs[0]
}
