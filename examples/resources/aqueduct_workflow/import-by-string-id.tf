# Terraform 1.5 and later. The id is the workflow id, or a bare name when one
# engine in the provider's region has that workflow.
import {
  to = aqueduct_workflow.churn
  id = "eu-west-1:aqueduct/ml/churn"
}
