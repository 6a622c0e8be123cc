# By name, when one engine in the provider's region has it, or by id.
terraform import aqueduct_workflow.churn churn
terraform import aqueduct_workflow.churn eu-west-1:aqueduct/ml/churn
