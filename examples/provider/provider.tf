# On AWS: region and credentials as for the AWS provider, from the block or
# from the standard environment variables and shared files.
provider "aqueduct" {
  region  = "eu-west-1"
  profile = "ml"
}

# On a local endpoint: the aqueduct emulator (make demo) or a LocalStack-style
# service. AWS_ENDPOINT_URL=http://127.0.0.1:4566 does the same without a
# block.
provider "aqueduct" {
  alias      = "local"
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"

  endpoints {
    lambda = "http://127.0.0.1:4566"
    ecr    = "http://127.0.0.1:4566"
    s3     = "http://127.0.0.1:4566"
    iam    = "http://127.0.0.1:4566"
    sts    = "http://127.0.0.1:4566"
  }
}
