terraform {
  required_version = ">= 1.5"
  required_providers {
    aqueduct = {
      source = "aqueduct/aqueduct"
    }
  }
}
