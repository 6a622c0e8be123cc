# A diamond pipeline from the reusable module in ../modules/pipeline:
#
#   load -> double -> combine
#       \-> square -/
#
# Operators are a map wired by name; memory, timeout and base image come
# from defaults unless an operator sets its own.

module "numbers" {
  source = "../modules/pipeline"

  engine = {
    name     = var.name
    role_arn = var.role_arn
    bucket   = var.bucket
  }
  name        = "numbers"
  description = "Sum the doubles and the squares of 1..n."
  parameters  = { n = jsonencode(3) }

  defaults = {
    memory     = "256MB"
    timeout    = 60
    base_image = var.base_image
    # The local base image is Debian 12's Python.
    python_version = "3.11"
  }
  tags = {
    team     = "ml"
    pipeline = "numbers"
  }

  operators = {
    load = {
      source  = "${path.module}/operators/load"
      handler = "load:load"
    }
    double = {
      source  = "${path.module}/operators/double"
      handler = "double:double"
      inputs  = ["load"]
    }
    square = {
      source  = "${path.module}/operators/square"
      handler = "square:square"
      inputs  = ["load"]
      memory  = "512MB"
    }
    combine = {
      source  = "${path.module}/operators/combine"
      handler = "combine:combine"
      # Passed in this order: combine(doubled, squared).
      inputs = ["double", "square"]
    }
  }

  # Runs combine and what it needs; only what changed runs again.
  run = {
    parameters = { n = jsonencode(var.n) }
  }
}
