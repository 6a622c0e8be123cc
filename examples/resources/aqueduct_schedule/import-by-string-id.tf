# Terraform 1.5 and later. The id is <workflow id>/schedule:<name>.
import {
  to = aqueduct_schedule.nightly
  id = "eu-west-1:aqueduct/ml/churn/schedule:nightly"
}
