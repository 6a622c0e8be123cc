variable "engine_id" {
  type        = string
  default     = null
  description = "The id of an existing aqueduct_lambda_resource to run on. Exactly one of engine_id and engine."
}

variable "engine" {
  type = object({
    name                   = string
    role_arn               = string
    bucket                 = string
    prefix                 = optional(string)
    orchestration_role_arn = optional(string)
    ecr_repository         = optional(string)
    force_destroy          = optional(bool)
  })
  default     = null
  description = "An engine (aqueduct_lambda_resource) for this pipeline alone, created with it and tagged with var.tags. Exactly one of engine_id and engine."
}

variable "name" {
  type        = string
  description = "Name of the workflow, unique within its engine."
}

variable "description" {
  type        = string
  default     = null
  description = "Description of the workflow."
}

variable "parameters" {
  type        = map(string)
  default     = {}
  description = "Default run parameters of the workflow, a map of JSON values: { n = jsonencode(4) }."
}

variable "operators" {
  type = map(object({
    source            = string
    handler           = string
    inputs            = optional(list(string), [])
    memory            = optional(string)
    timeout           = optional(number)
    ephemeral_storage = optional(number)
    architecture      = optional(string)
    python_version    = optional(string)
    base_image        = optional(string)
    requirements      = optional(list(string))
    environment       = optional(map(string), {})
    retry = optional(object({
      attempts          = number
      interval_seconds  = optional(number)
      backoff_rate      = optional(number)
      max_delay_seconds = optional(number)
    }))
  }))
  description = <<-EOT
    The operators, by name. handler is the entry point, module:callable. inputs names
    other operators of this map, in the order their outputs are passed to the handler:
    the DAG's edges. Unset settings come from var.defaults, then from the provider's
    defaults. environment is merged over var.defaults.environment.
  EOT

  validation {
    condition     = length(var.operators) > 0
    error_message = "operators is empty: a pipeline needs at least one operator."
  }
}

variable "defaults" {
  type = object({
    memory            = optional(string)
    timeout           = optional(number)
    ephemeral_storage = optional(number)
    architecture      = optional(string)
    python_version    = optional(string)
    base_image        = optional(string)
    requirements      = optional(list(string))
    environment       = optional(map(string), {})
  })
  default     = {}
  description = "Settings of every operator that does not set its own: memory (\"512MB\", \"2GB\" or MB), timeout, base image and so on."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags of every resource of the module that takes tags."
}

variable "run" {
  type = object({
    targets       = optional(list(string))
    parameters    = optional(map(string), {})
    executor      = optional(string)
    allow_failure = optional(bool)
    max_parallel  = optional(number)
  })
  default     = null
  description = <<-EOT
    When set, a data.aqueduct_invocation runs the pipeline and its results are outputs.
    targets names the operators whose outputs to produce (with what they need); by
    default the terminal ones, which no other operator takes as input. parameters are
    JSON values over the workflow's defaults.
  EOT
}
