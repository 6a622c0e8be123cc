# In CI: the OIDC token the CI system writes, exchanged for a deployer role,
# refused unless the credentials are for the production account.
provider "aqueduct" {
  region = "eu-west-1"

  assume_role_with_web_identity {
    role_arn                = "arn:aws:iam::123456789012:role/ci-deployer"
    session_name            = "pipeline-ci"
    web_identity_token_file = "/var/run/secrets/ci/token"
    duration                = "1h"
  }

  allowed_account_ids = ["123456789012"]
  retry_mode          = "adaptive"
  max_retries         = 25
}

# From a workstation: the profile's credentials assume a role in the ML
# account, through a corporate proxy that intercepts TLS.
provider "aqueduct" {
  alias   = "ml"
  region  = "eu-west-1"
  profile = "corp"

  assume_role {
    role_arn     = "arn:aws:iam::210987654321:role/ml-pipelines"
    session_name = "alice"
    external_id  = "ml-pipelines-7f3a"
    duration     = "2h"
    tags         = { team = "ml" }
  }

  https_proxy      = "http://proxy.corp.example:3128"
  no_proxy         = ".corp.example"
  custom_ca_bundle = "/etc/ssl/corp-ca.pem"
}
