# Retrains every night at 02:30 Paris time, on Step Functions: each firing
# runs what the evaluate operator needs, with these parameters over the
# workflow's defaults. The engine's orchestration_role_arn is the role.
resource "aqueduct_schedule" "nightly" {
  name                = "nightly"
  artifacts           = [aqueduct_operator.evaluate.artifact]
  schedule_expression = "cron(30 2 * * ? *)"
  timezone            = "Europe/Paris"

  parameters = {
    test_size = jsonencode(0.2)
  }
}

# Once, at a given wall time, with its own role.
resource "aqueduct_schedule" "backfill" {
  name                = "backfill-2026"
  artifacts           = [aqueduct_operator.evaluate.artifact]
  schedule_expression = "at(2027-01-04T06:00:00)"
  timezone            = "America/New_York"
  role_arn            = "arn:aws:iam::123456789012:role/aqueduct-backfill"

  # Reuse outputs cached for the same lineages and parameters.
  rerun = false
}
