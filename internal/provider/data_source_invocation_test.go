package provider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
)

// dagSource holds every operator of the invocation tests, one module each.
var dagSource = map[string]string{
	"a.py":       "import time\n\ndef run(scale=1):\n    time.sleep(1)\n    return {'x': scale}\n",
	"b.py":       "import time\n\ndef run(a):\n    time.sleep(3)\n    return a['x'] + 1\n",
	"c.py":       "import time\n\ndef run(a):\n    time.sleep(3)\n    return a['x'] * 10\n",
	"d.py":       "def run(b, c):\n    print('joining', b, c)\n    return {'sum': b + c}\n",
	"fail.py":    "def run(a):\n    raise ValueError('bad batch: %r' % (a,))\n",
	"obj.py":     "class Model:\n    def __init__(self, w):\n        self.w = w\n\ndef run():\n    return Model(7)\n",
	"use_obj.py": "def run(m):\n    return {'w': m.w, 'type': type(m).__name__}\n",
	"big.py":     "def run():\n    return 'x' * (7 * 1024 * 1024)\n",
	"size.py":    "def run(s):\n    return len(s)\n",
}

func testAccDAGOperator(name, module string, inputs ...string) string {
	in := ""
	for _, i := range inputs {
		in += "aqueduct_operator." + i + ".id, "
	}
	return fmt.Sprintf(`
resource "aqueduct_operator" %s {
  workflow_id = aqueduct_workflow.test.id
  name        = %s
  source      = var.src
  function    = "%s:run"
  base_image  = %s
  memory      = 256
  inputs      = [%s]
}
`, hcl(name), hcl(name), module, hcl(testLocalBaseImage), in)
}

func testAccDAGConfig(eng, role, bucket, wf, src, operators, invocation string) string {
	return testAccPipeline(eng, role, bucket, wf) + fmt.Sprintf(`
variable "src" {
  default = %s
}
`, hcl(src)) + operators + invocation
}

func TestAccInvocation_diamond(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, dagSource)
	ops := testAccDAGOperator("a", "a") + testAccDAGOperator("b", "b", "a") + testAccDAGOperator("c", "c", "a") + testAccDAGOperator("d", "d", "b", "c")
	inv := func(params string) string {
		return fmt.Sprintf(`
data "aqueduct_invocation" "run" {
  workflow_id = aqueduct_workflow.test.id
  parameters  = %s
  depends_on  = [aqueduct_operator.a, aqueduct_operator.b, aqueduct_operator.c, aqueduct_operator.d]
}
`, params)
	}
	cfg := func(params string) string { return testAccDAGConfig(eng, role, bucket, wf, src, ops, inv(params)) }
	ds := "data.aqueduct_invocation.run"
	runID := statecheck.CompareValue(compare.ValuesDiffer())
	var invokedAfterFirst int

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg(`{ scale = jsonencode(1) }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("d").AtMapKey("output"), knownvalue.StringExact(`{"sum":12}`)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("d").AtMapKey("content_type"), knownvalue.StringExact("application/json")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("d").AtMapKey("log_tail"), knownvalue.StringRegexp(regexp.MustCompile(`joining 2 10`))),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("a").AtMapKey("output_uri"), knownvalue.StringRegexp(regexp.MustCompile(`^s3://`+bucket+`/aqueduct/runs/`))),
					runID.AddStateValue(ds, tfjsonpath.New("id")),
				},
				Check: func(s *terraform.State) error {
					attrs := s.RootModule().Resources[ds].Primary.Attributes
					b0, b1 := attrTime(attrs, "operators.b.started_at"), attrTime(attrs, "operators.b.finished_at")
					c0, c1 := attrTime(attrs, "operators.c.started_at"), attrTime(attrs, "operators.c.finished_at")
					if !(b0.Before(c1) && c0.Before(b1)) {
						return fmt.Errorf("b [%s, %s] and c [%s, %s] did not overlap: independent branches must run in parallel", b0, b1, c0, c1)
					}
					invokedAfterFirst = testInvocationTotal(t)
					if invokedAfterFirst < 4 {
						return fmt.Errorf("the emulator counted %d invocations, want at least 4", invokedAfterFirst)
					}
					return nil
				},
			},
			{
				// A second plan reads the run back and invokes nothing.
				Config:           cfg(`{ scale = jsonencode(1) }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("reused"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					if n := testInvocationTotal(t); n != invokedAfterFirst {
						return fmt.Errorf("a reused run invoked %d functions", n-invokedAfterFirst)
					}
					return nil
				},
			},
			{
				// A changed parameter is a new run.
				Config: cfg(`{ scale = jsonencode(2) }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("d").AtMapKey("output"), knownvalue.StringExact(`{"sum":23}`)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("reused"), knownvalue.Bool(false)),
					runID.AddStateValue(ds, tfjsonpath.New("id")),
				},
			},
		},
	})
}

func TestAccInvocation_failureSkipsDescendants(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, dagSource)
	ops := testAccDAGOperator("a", "a") + testAccDAGOperator("f", "fail", "a") + testAccDAGOperator("g", "ident", "f") + testAccDAGOperator("c", "c", "a")
	inv := func(allow bool) string {
		return fmt.Sprintf(`
data "aqueduct_invocation" "run" {
  workflow_id   = aqueduct_workflow.test.id
  allow_failure = %t
  depends_on    = [aqueduct_operator.a, aqueduct_operator.f, aqueduct_operator.g, aqueduct_operator.c]
}
`, allow)
	}
	ds := "data.aqueduct_invocation.run"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      testAccDAGConfig(eng, role, bucket, wf, src, ops, inv(false)),
				ExpectError: regexp.MustCompile(`(?s)Operator "f" failed with ValueError: bad batch: \{'x': 1\}.*Traceback.*fail\.py.*Skipped because an upstream operator failed: g`),
			},
			{
				Config: testAccDAGConfig(eng, role, bucket, wf, src, ops, inv(true)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("status"), knownvalue.StringExact("failed")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("f").AtMapKey("status"), knownvalue.StringExact("failed")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("f").AtMapKey("error").AtMapKey("type"), knownvalue.StringExact("ValueError")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("g").AtMapKey("status"), knownvalue.StringExact("skipped")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("c").AtMapKey("status"), knownvalue.StringExact("succeeded")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("c").AtMapKey("output"), knownvalue.StringExact("10")),
				},
			},
		},
	})
}

func TestAccInvocation_pickleAndLargeOutputs(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, dagSource)
	ops := testAccDAGOperator("obj", "obj") + testAccDAGOperator("use_obj", "use_obj", "obj") +
		testAccDAGOperator("big", "big") + testAccDAGOperator("size", "size", "big")
	inv := `
data "aqueduct_invocation" "run" {
  workflow_id = aqueduct_workflow.test.id
  depends_on  = [aqueduct_operator.obj, aqueduct_operator.use_obj, aqueduct_operator.big, aqueduct_operator.size]
}
`
	ds := "data.aqueduct_invocation.run"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: testAccDAGConfig(eng, role, bucket, wf, src, ops, inv),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("obj").AtMapKey("content_type"), knownvalue.StringExact("application/x-python-pickle")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("obj").AtMapKey("output"), knownvalue.Null()),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("use_obj").AtMapKey("output"), knownvalue.StringExact(`{"w":7,"type":"Model"}`)),
				// 7 MiB as a JSON string is over Lambda's 6 MB response limit: it travels through S3.
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("big").AtMapKey("output"), knownvalue.Null()),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("big").AtMapKey("size_bytes"), knownvalue.Int64Exact(7*1024*1024+2)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("size").AtMapKey("output"), knownvalue.StringExact(strconv.Itoa(7*1024*1024))),
			},
		}},
	})
}

func attrTime(attrs map[string]string, key string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, attrs[key])
	return t
}

// testInvocationTotal reads the emulator's invocation counter the way a
// user would: over its admin API.
func testInvocationTotal(t *testing.T) int {
	t.Helper()
	resp, err := http.Get(testEmulator.URL() + "/_emulator/invocations")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var counts map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	return total
}

// Throttled invocations are retried with backoff: with every other Lambda
// request answered 429, the run still succeeds.
func TestAccInvocation_throttlingIsRetried(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, dagSource)
	ops := testAccDAGOperator("obj", "obj") + testAccDAGOperator("use_obj", "use_obj", "obj")
	inv := `
data "aqueduct_invocation" "run" {
  workflow_id = aqueduct_workflow.test.id
  depends_on  = [aqueduct_operator.obj, aqueduct_operator.use_obj]
}
`
	t.Cleanup(func() { _ = testEmulator.SetFaults(emulator.Faults{}) })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: testAccDAGConfig(eng, role, bucket, wf, src, ops, "")},
			{
				PreConfig: func() {
					if err := testEmulator.SetFaults(emulator.Faults{ThrottleRate: 0.5, Services: []string{"lambda"}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccDAGConfig(eng, role, bucket, wf, src, ops, inv),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.aqueduct_invocation.run", tfjsonpath.New("operators").AtMapKey("use_obj").AtMapKey("output"), knownvalue.StringExact(`{"w":7,"type":"Model"}`)),
				},
				Check: func(*terraform.State) error {
					throttled := 0
					for _, q := range testEmulator.Requests() {
						if q.Service == "lambda" && q.Operation == "Invoke" && q.Status == http.StatusTooManyRequests {
							throttled++
						}
					}
					if throttled == 0 {
						return fmt.Errorf("no Invoke was throttled: the fault did not apply, so retries were not tested")
					}
					return testEmulator.SetFaults(emulator.Faults{})
				},
			},
		},
	})
}
