# Terraform 1.5 and later. The id is the operator id, or <workflow>/<operator>
# when one engine in the provider's region has the workflow.
import {
  to = aqueduct_operator.train
  id = "eu-west-1:aqueduct/ml/churn/train"
}
