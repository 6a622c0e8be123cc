# A pipeline: a workflow and its operators, wired by name, and optionally a
# run. README.md explains why operators live in one resource block per DAG
# level.

locals {
  ops   = var.operators
  names = toset(keys(var.operators))

  # Every operator's settings: its own, else var.defaults, else the
  # provider's default (null).
  settings = { for n, o in local.ops : n => {
    memory            = try(coalesce(o.memory, var.defaults.memory), null)
    timeout           = try(coalesce(o.timeout, var.defaults.timeout), null)
    ephemeral_storage = try(coalesce(o.ephemeral_storage, var.defaults.ephemeral_storage), null)
    architecture      = try(coalesce(o.architecture, var.defaults.architecture), null)
    python_version    = try(coalesce(o.python_version, var.defaults.python_version), null)
    base_image        = try(coalesce(o.base_image, var.defaults.base_image), null)
    requirements      = o.requirements != null ? o.requirements : var.defaults.requirements
    environment       = length(merge(var.defaults.environment, o.environment)) > 0 ? merge(var.defaults.environment, o.environment) : null
  } }

  # DAG levels: level k holds the operators whose inputs are all in levels
  # below k. placedK is levels 0 to k.
  level0   = toset([for n, o in local.ops : n if length(o.inputs) == 0])
  placed0  = local.level0
  level1   = toset([for n, o in local.ops : n if !contains(local.placed0, n) && alltrue([for i in o.inputs : contains(local.placed0, i)])])
  placed1  = setunion(local.placed0, local.level1)
  level2   = toset([for n, o in local.ops : n if !contains(local.placed1, n) && alltrue([for i in o.inputs : contains(local.placed1, i)])])
  placed2  = setunion(local.placed1, local.level2)
  level3   = toset([for n, o in local.ops : n if !contains(local.placed2, n) && alltrue([for i in o.inputs : contains(local.placed2, i)])])
  placed3  = setunion(local.placed2, local.level3)
  level4   = toset([for n, o in local.ops : n if !contains(local.placed3, n) && alltrue([for i in o.inputs : contains(local.placed3, i)])])
  placed4  = setunion(local.placed3, local.level4)
  level5   = toset([for n, o in local.ops : n if !contains(local.placed4, n) && alltrue([for i in o.inputs : contains(local.placed4, i)])])
  placed5  = setunion(local.placed4, local.level5)
  level6   = toset([for n, o in local.ops : n if !contains(local.placed5, n) && alltrue([for i in o.inputs : contains(local.placed5, i)])])
  placed6  = setunion(local.placed5, local.level6)
  level7   = toset([for n, o in local.ops : n if !contains(local.placed6, n) && alltrue([for i in o.inputs : contains(local.placed6, i)])])
  placed7  = setunion(local.placed6, local.level7)
  levels   = [local.level0, local.level1, local.level2, local.level3, local.level4, local.level5, local.level6, local.level7]
  unplaced = setsubtract(local.names, local.placed7)

  unknown_inputs = flatten([for n, o in local.ops : [for i in o.inputs : format("%s takes %q", n, i) if !contains(local.names, i)]])

  # Which operators reach which, through paths of up to 16 edges (four
  # squarings of the edge relation): an operator that reaches itself is on
  # a cycle.
  reach1   = { for n, o in local.ops : n => toset([for i in o.inputs : i if contains(local.names, i)]) }
  reach2   = { for n, r in local.reach1 : n => setunion(r, flatten([for m in r : tolist(local.reach1[m])])) }
  reach4   = { for n, r in local.reach2 : n => setunion(r, flatten([for m in r : tolist(local.reach2[m])])) }
  reach8   = { for n, r in local.reach4 : n => setunion(r, flatten([for m in r : tolist(local.reach4[m])])) }
  reach16  = { for n, r in local.reach8 : n => setunion(r, flatten([for m in r : tolist(local.reach8[m])])) }
  on_cycle = sort([for n, r in local.reach16 : n if contains(r, n)])

  # Operators no other takes: the default targets of a run.
  taken     = toset(flatten([for o in local.ops : o.inputs]))
  terminals = sort([for n in local.names : n if !contains(local.taken, n)])
  targets   = var.run == null ? [] : (var.run.targets == null ? local.terminals : var.run.targets)
}

resource "aqueduct_lambda_resource" "this" {
  count                  = var.engine == null ? 0 : 1
  name                   = var.engine.name
  role_arn               = var.engine.role_arn
  orchestration_role_arn = var.engine.orchestration_role_arn
  ecr_repository         = var.engine.ecr_repository
  force_destroy          = var.engine.force_destroy
  tags                   = var.tags
  artifact_store {
    s3_bucket = var.engine.bucket
    prefix    = var.engine.prefix
  }
}

resource "aqueduct_workflow" "this" {
  name        = var.name
  description = var.description
  engine      = var.engine == null ? var.engine_id : aqueduct_lambda_resource.this[0].id
  parameters  = var.parameters

  lifecycle {
    precondition {
      condition     = (var.engine_id == null) != (var.engine == null)
      error_message = "Set exactly one of engine_id (an existing engine) and engine (one made for this pipeline)."
    }
    precondition {
      condition     = length(local.unknown_inputs) == 0
      error_message = "Operator inputs must name operators of var.operators: ${join(", ", local.unknown_inputs)} (operators: ${join(", ", sort(local.names))})."
    }
    precondition {
      condition     = length(local.on_cycle) == 0
      error_message = "The operators' inputs form a cycle through ${join(", ", local.on_cycle)}; a pipeline is a DAG."
    }
    precondition {
      condition     = length(local.unknown_inputs) > 0 || length(local.on_cycle) > 0 || length(local.unplaced) == 0
      error_message = "The pipeline is deeper than this module's 8 levels: ${join(", ", sort(local.unplaced))} lie more than 7 edges below a root. Join steps, or add levels to the module (its README.md says how)."
    }
    precondition {
      condition     = alltrue([for n in local.targets : contains(local.names, n)])
      error_message = "run.targets must name operators of var.operators (operators: ${join(", ", sort(local.names))})."
    }
  }
}

# Each level's artifact handles, with those of every level below it.
locals {
  artifacts0 = { for n, o in aqueduct_operator.level0 : n => o.artifact }
  artifacts1 = merge(local.artifacts0, { for n, o in aqueduct_operator.level1 : n => o.artifact })
  artifacts2 = merge(local.artifacts1, { for n, o in aqueduct_operator.level2 : n => o.artifact })
  artifacts3 = merge(local.artifacts2, { for n, o in aqueduct_operator.level3 : n => o.artifact })
  artifacts4 = merge(local.artifacts3, { for n, o in aqueduct_operator.level4 : n => o.artifact })
  artifacts5 = merge(local.artifacts4, { for n, o in aqueduct_operator.level5 : n => o.artifact })
  artifacts6 = merge(local.artifacts5, { for n, o in aqueduct_operator.level6 : n => o.artifact })
  artifacts7 = merge(local.artifacts6, { for n, o in aqueduct_operator.level7 : n => o.artifact })
  artifacts  = local.artifacts7
  operators  = merge(aqueduct_operator.level0, aqueduct_operator.level1, aqueduct_operator.level2, aqueduct_operator.level3, aqueduct_operator.level4, aqueduct_operator.level5, aqueduct_operator.level6, aqueduct_operator.level7)
}

resource "aqueduct_operator" "level0" {
  for_each          = { for n in local.level0 : n => local.ops[n] }
  workflow_id       = aqueduct_workflow.this.id
  name              = each.key
  source            = each.value.source
  function          = each.value.handler
  memory            = local.settings[each.key].memory
  timeout           = local.settings[each.key].timeout
  ephemeral_storage = local.settings[each.key].ephemeral_storage
  architecture      = local.settings[each.key].architecture
  python_version    = local.settings[each.key].python_version
  base_image        = local.settings[each.key].base_image
  requirements      = local.settings[each.key].requirements
  environment       = local.settings[each.key].environment
  retry             = each.value.retry
}

resource "aqueduct_operator" "level1" {
  for_each          = { for n in local.level1 : n => local.ops[n] }
  workflow_id       = aqueduct_workflow.this.id
  name              = each.key
  source            = each.value.source
  function          = each.value.handler
  inputs            = [for i in each.value.inputs : local.artifacts0[i]]
  memory            = local.settings[each.key].memory
  timeout           = local.settings[each.key].timeout
  ephemeral_storage = local.settings[each.key].ephemeral_storage
  architecture      = local.settings[each.key].architecture
  python_version    = local.settings[each.key].python_version
  base_image        = local.settings[each.key].base_image
  requirements      = local.settings[each.key].requirements
  environment       = local.settings[each.key].environment
  retry             = each.value.retry
}

resource "aqueduct_operator" "level2" {
  for_each          = { for n in local.level2 : n => local.ops[n] }
  workflow_id       = aqueduct_workflow.this.id
  name              = each.key
  source            = each.value.source
  function          = each.value.handler
  inputs            = [for i in each.value.inputs : local.artifacts1[i]]
  memory            = local.settings[each.key].memory
  timeout           = local.settings[each.key].timeout
  ephemeral_storage = local.settings[each.key].ephemeral_storage
  architecture      = local.settings[each.key].architecture
  python_version    = local.settings[each.key].python_version
  base_image        = local.settings[each.key].base_image
  requirements      = local.settings[each.key].requirements
  environment       = local.settings[each.key].environment
  retry             = each.value.retry
}

resource "aqueduct_operator" "level3" {
  for_each          = { for n in local.level3 : n => local.ops[n] }
  workflow_id       = aqueduct_workflow.this.id
  name              = each.key
  source            = each.value.source
  function          = each.value.handler
  inputs            = [for i in each.value.inputs : local.artifacts2[i]]
  memory            = local.settings[each.key].memory
  timeout           = local.settings[each.key].timeout
  ephemeral_storage = local.settings[each.key].ephemeral_storage
  architecture      = local.settings[each.key].architecture
  python_version    = local.settings[each.key].python_version
  base_image        = local.settings[each.key].base_image
  requirements      = local.settings[each.key].requirements
  environment       = local.settings[each.key].environment
  retry             = each.value.retry
}

resource "aqueduct_operator" "level4" {
  for_each          = { for n in local.level4 : n => local.ops[n] }
  workflow_id       = aqueduct_workflow.this.id
  name              = each.key
  source            = each.value.source
  function          = each.value.handler
  inputs            = [for i in each.value.inputs : local.artifacts3[i]]
  memory            = local.settings[each.key].memory
  timeout           = local.settings[each.key].timeout
  ephemeral_storage = local.settings[each.key].ephemeral_storage
  architecture      = local.settings[each.key].architecture
  python_version    = local.settings[each.key].python_version
  base_image        = local.settings[each.key].base_image
  requirements      = local.settings[each.key].requirements
  environment       = local.settings[each.key].environment
  retry             = each.value.retry
}

resource "aqueduct_operator" "level5" {
  for_each          = { for n in local.level5 : n => local.ops[n] }
  workflow_id       = aqueduct_workflow.this.id
  name              = each.key
  source            = each.value.source
  function          = each.value.handler
  inputs            = [for i in each.value.inputs : local.artifacts4[i]]
  memory            = local.settings[each.key].memory
  timeout           = local.settings[each.key].timeout
  ephemeral_storage = local.settings[each.key].ephemeral_storage
  architecture      = local.settings[each.key].architecture
  python_version    = local.settings[each.key].python_version
  base_image        = local.settings[each.key].base_image
  requirements      = local.settings[each.key].requirements
  environment       = local.settings[each.key].environment
  retry             = each.value.retry
}

resource "aqueduct_operator" "level6" {
  for_each          = { for n in local.level6 : n => local.ops[n] }
  workflow_id       = aqueduct_workflow.this.id
  name              = each.key
  source            = each.value.source
  function          = each.value.handler
  inputs            = [for i in each.value.inputs : local.artifacts5[i]]
  memory            = local.settings[each.key].memory
  timeout           = local.settings[each.key].timeout
  ephemeral_storage = local.settings[each.key].ephemeral_storage
  architecture      = local.settings[each.key].architecture
  python_version    = local.settings[each.key].python_version
  base_image        = local.settings[each.key].base_image
  requirements      = local.settings[each.key].requirements
  environment       = local.settings[each.key].environment
  retry             = each.value.retry
}

resource "aqueduct_operator" "level7" {
  for_each          = { for n in local.level7 : n => local.ops[n] }
  workflow_id       = aqueduct_workflow.this.id
  name              = each.key
  source            = each.value.source
  function          = each.value.handler
  inputs            = [for i in each.value.inputs : local.artifacts6[i]]
  memory            = local.settings[each.key].memory
  timeout           = local.settings[each.key].timeout
  ephemeral_storage = local.settings[each.key].ephemeral_storage
  architecture      = local.settings[each.key].architecture
  python_version    = local.settings[each.key].python_version
  base_image        = local.settings[each.key].base_image
  requirements      = local.settings[each.key].requirements
  environment       = local.settings[each.key].environment
  retry             = each.value.retry
}

# Runs the targets and what they need. Their handles are unknown in a plan
# whenever they or anything upstream change, so the run happens at apply
# time then, and at plan time (reading the cached run back) otherwise.
data "aqueduct_invocation" "this" {
  count         = var.run == null ? 0 : 1
  artifacts     = [for n in local.targets : local.artifacts[n]]
  parameters    = var.run.parameters
  executor      = var.run.executor
  allow_failure = var.run.allow_failure
  max_parallel  = var.run.max_parallel
}
