# By <workflow>/<operator>, when one engine in the provider's region has the
# workflow, or by operator id.
terraform import aqueduct_operator.train churn/train
terraform import aqueduct_operator.train eu-west-1:aqueduct/ml/churn/train
