# Terraform 1.5 and later. The id is the engine id, <region>:<ecr repository>;
# a bare repository name is looked up in the provider's region.
import {
  to = aqueduct_lambda_resource.ml
  id = "eu-west-1:aqueduct/ml"
}
