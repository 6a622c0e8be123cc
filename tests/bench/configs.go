package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The operators of the synthetic pipelines run on the plain local base
// image (make base-image), the quickstart's on the ML one (make
// base-image-ml), as in make demo.
const (
	plainBaseImage = "aqueduct-local/python:3.11"
	mlBaseImage    = "aqueduct-local/python-ml:3.11"
)

const header = `terraform {
  required_providers {
    aqueduct = { source = "aqueduct/aqueduct" }
  }
}

variable "role_arn" { type = string }
variable "bucket" { type = string }
`

// emptyConfig has no resources and no provider: terraform's own floor.
var emptyConfig = map[string]string{"main.tf": "# No resources: the time of terraform itself.\n"}

// providerOnlyConfig requires the provider but has no resources, so a plan
// starts the provider for its schema and does nothing else.
var providerOnlyConfig = map[string]string{"main.tf": header}

// engine is an engine and a workflow; each benchmark has its own, so their
// functions, images and cached outputs never meet.
func engine(name string) string {
	return header + fmt.Sprintf(`
resource "aqueduct_lambda_resource" "engine" {
  name     = %[1]q
  role_arn = var.role_arn
  artifact_store {
    s3_bucket = var.bucket
    prefix    = %[1]q
  }
}

resource "aqueduct_workflow" "wf" {
  name   = %[1]q
  engine = aqueduct_lambda_resource.engine.id
}
`, name)
}

// pipeline is a tree of n operators, op0 the root and op<i> taking the
// output of op<(i-1)/2>, so growing it leaves the existing operators as
// they are; and a run of all of them. memory overrides an operator's 256 MB.
type pipeline struct {
	n      int
	memory map[int]int
	// edited operators have this line appended to their source file.
	edited map[int]string
}

func (p pipeline) files() map[string]string {
	var b strings.Builder
	b.WriteString(engine("pipeline"))
	handles := make([]string, p.n)
	for i := range p.n {
		mem := 256
		if m, ok := p.memory[i]; ok {
			mem = m
		}
		inputs := ""
		if i > 0 {
			inputs = fmt.Sprintf("\n  inputs         = [aqueduct_operator.op%d.artifact]", (i-1)/2)
		}
		fmt.Fprintf(&b, `
resource "aqueduct_operator" "op%[1]d" {
  workflow_id    = aqueduct_workflow.wf.id
  name           = "op%[1]d"
  source         = "${path.module}/src/op%[1]d"
  function       = "main:run"
  base_image     = %[2]q
  python_version = "3.11"
  memory         = %[3]d
  timeout        = 30%[4]s
}
`, i, plainBaseImage, mem, inputs)
		handles[i] = fmt.Sprintf("aqueduct_operator.op%d.artifact", i)
	}
	fmt.Fprintf(&b, `
data "aqueduct_invocation" "run" {
  artifacts = [%s]
}
`, strings.Join(handles, ", "))
	b.WriteString(runOutputs)

	files := map[string]string{"main.tf": b.String()}
	for i := range p.n {
		src := fmt.Sprintf("def run():\n    return {\"op\": %d, \"depth\": 0}\n", i)
		if i > 0 {
			src = fmt.Sprintf("def run(parent):\n    return {\"op\": %d, \"depth\": parent[\"depth\"] + 1}\n", i)
		}
		if e := p.edited[i]; e != "" {
			src += "\n" + e
		}
		files[fmt.Sprintf("src/op%d/main.py", i)] = src
	}
	return files
}

const runOutputs = `
output "invoked" {
  value = data.aqueduct_invocation.run.invoked
}

output "run_duration_ms" {
  value = data.aqueduct_invocation.run.duration_ms
}

output "statuses" {
  value = { for name, op in data.aqueduct_invocation.run.operators : name => op.status }
}
`

// diamondSleepSeconds is how long each diamond operator sleeps.
const diamondSleepSeconds = 2

// diamondConfig is a -> {b, c} -> d, each operator sleeping
// diamondSleepSeconds; var.rerun invokes all of them, cached or not.
func diamondConfig() map[string]string {
	var b strings.Builder
	b.WriteString(engine("diamond"))
	b.WriteString(`
variable "rerun" {
  type    = bool
  default = false
}
`)
	ops := []struct{ name, args, inputs string }{
		{"a", "", ""},
		{"b", "a", "aqueduct_operator.a.artifact"},
		{"c", "a", "aqueduct_operator.a.artifact"},
		{"d", "b, c", "aqueduct_operator.b.artifact, aqueduct_operator.c.artifact"},
	}
	files := map[string]string{}
	for _, op := range ops {
		inputs := ""
		if op.inputs != "" {
			inputs = fmt.Sprintf("\n  inputs         = [%s]", op.inputs)
		}
		fmt.Fprintf(&b, `
resource "aqueduct_operator" %[1]q {
  workflow_id    = aqueduct_workflow.wf.id
  name           = %[1]q
  source         = "${path.module}/src/%[1]s"
  function       = "main:run"
  base_image     = %[2]q
  python_version = "3.11"
  memory         = 256
  timeout        = 30%[3]s
}
`, op.name, plainBaseImage, inputs)
		files["src/"+op.name+"/main.py"] = fmt.Sprintf("import time\n\n\ndef run(%s):\n    time.sleep(%d)\n    return %q\n", op.args, diamondSleepSeconds, op.name)
	}
	b.WriteString(`
data "aqueduct_invocation" "run" {
  artifacts = [aqueduct_operator.d.artifact]
  rerun     = var.rerun
}
`)
	b.WriteString(runOutputs)
	files["main.tf"] = b.String()
	return files
}

// readTree returns the files under dir (relative path to content), leaving
// out Terraform's own: a copy of an example as a user would start from it.
func readTree(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".terraform" || d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.Contains(d.Name(), ".tfstate") || d.Name() == ".terraform.lock.hcl" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[rel] = string(b)
		return nil
	})
	return files, err
}
