terraform {
  required_version = ">= 1.5"
  required_providers {
    aqueduct = {
      source = "aqueduct/aqueduct"
    }
  }
}

# Region, credentials and endpoints come from the environment (AWS_REGION,
# AWS_PROFILE, AWS_ENDPOINT_URL for the local emulator).
provider "aqueduct" {}
