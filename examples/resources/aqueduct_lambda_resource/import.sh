# By engine id, <region>:<ecr repository>, or by repository in the provider's region.
terraform import aqueduct_lambda_resource.ml eu-west-1:aqueduct/ml
