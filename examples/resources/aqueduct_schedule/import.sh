# By id: <workflow id>/schedule:<name>.
terraform import aqueduct_schedule.nightly eu-west-1:aqueduct/ml/churn/schedule:nightly
