package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
		in += "aqueduct_operator." + i + ".artifact, "
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
  artifacts  = [aqueduct_operator.d.artifact]
  parameters = %s
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
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("a").AtMapKey("output_uri"), knownvalue.StringRegexp(regexp.MustCompile(`^s3://`+bucket+`/aqueduct/engines/[^/]+/workflows/[^/]+/runs/`))),
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
  artifacts     = [aqueduct_operator.g.artifact, aqueduct_operator.c.artifact]
  allow_failure = %t
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
					// c succeeded in the first step's run, which failed as a
					// whole: this run takes its output from the cache.
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("c").AtMapKey("status"), knownvalue.StringExact("cached")),
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
  artifacts = [aqueduct_operator.use_obj.artifact, aqueduct_operator.size.artifact]
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
// testInvocationsOf is how often the emulator invoked one function.
func testInvocationsOf(t *testing.T, function string) int {
	t.Helper()
	return testInvocationCounts(t)[function]
}

func testInvocationTotal(t *testing.T) int {
	total := 0
	for _, n := range testInvocationCounts(t) {
		total += n
	}
	return total
}

func testInvocationCounts(t *testing.T) map[string]int {
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
	return counts
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
  artifacts = [aqueduct_operator.use_obj.artifact]
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

// testAccRunOne is a pipeline of one operator "op" on src, calling
// function, with extra attributes, and a run of its workflow.
func testAccRunOne(eng, role, bucket, wf, src, function, extra string) string {
	return testAccPipeline(eng, role, bucket, wf) + fmt.Sprintf(`
resource "aqueduct_operator" "op" {
  workflow_id = aqueduct_workflow.test.id
  name        = "op"
  source      = %s
  function    = %q
  base_image  = %s
  memory      = 256
  %s
}

data "aqueduct_invocation" "run" {
  artifacts = [aqueduct_operator.op.artifact]
}
`, hcl(src), function, hcl(testLocalBaseImage), extra)
}

// A changed environment value is a new run with the new output, never the
// old run; and the value reaches no object the provider writes.
func TestAccInvocation_changedEnvironmentIsANewRun(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"mode.py": "import os\n\ndef run():\n    return os.environ['MODE']\n"})
	secret := "s3cr3t-" + testName("v")
	cfg := func(mode string) string {
		return testAccRunOne(eng, role, bucket, wf, src, "mode:run", fmt.Sprintf("environment = { MODE = %q, TOKEN = %q }", mode, secret))
	}
	ds := "data.aqueduct_invocation.run"
	runID := statecheck.CompareValue(compare.ValuesDiffer())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckPipelineGone(t, eng, bucket),
		Steps: []resource.TestStep{
			{
				Config: cfg("a"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("op").AtMapKey("output"), knownvalue.StringExact(`"a"`)),
					runID.AddStateValue(ds, tfjsonpath.New("id")),
				},
			},
			{
				Config: cfg("b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("aqueduct_operator.op", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("op").AtMapKey("output"), knownvalue.StringExact(`"b"`)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("reused"), knownvalue.Bool(false)),
					runID.AddStateValue(ds, tfjsonpath.New("id")),
				},
				Check: func(*terraform.State) error {
					return testNoObjectContains(t, bucket, testEngineRoot(eng), secret)
				},
			},
		},
	})
}

// testNoObjectContains fails when any object under prefix holds text.
func testNoObjectContains(t *testing.T, bucket, prefix, text string) error {
	c := testClients(t)
	ctx := context.Background()
	p := s3.NewListObjectsV2Paginator(c.S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix + "/")})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				return err
			}
			b, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				return err
			}
			if strings.Contains(string(b), text) {
				return fmt.Errorf("s3://%s/%s holds the environment value in plain text", bucket, aws.ToString(o.Key))
			}
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("no objects under %s: nothing was checked", prefix)
	}
	return nil
}

// A workflow with no operators is an error that says how to wait for them,
// never a succeeded run.
func TestAccInvocation_workflowWithoutOperatorsIsAnError(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	pipeline := testAccPipeline(eng, role, bucket, wf)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: pipeline},
			{
				Config:      pipeline + "\ndata \"aqueduct_invocation\" \"run\" {\n  workflow_id = aqueduct_workflow.test.id\n}\n",
				ExpectError: regexp.MustCompile(`(?s)has\s+no\s+operators\s+yet.*artifacts\s+=\s+\[aqueduct_operator.<name>.artifact\]`),
			},
		},
	})
}

// Operator modules named like the standard library (json.py, base64.py, an
// http package) do not break the runtime, and the operator's own code that
// imports them gets the standard library's, as on AWS's Python runtime.
func TestAccInvocation_userModulesNamedLikeTheStandardLibrary(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{
		"json.py":          "raise RuntimeError('the user json.py was imported by the runtime')\n",
		"base64.py":        "raise RuntimeError('the user base64.py was imported by the runtime')\n",
		"socket.py":        "raise RuntimeError('the user socket.py was imported by the runtime')\n",
		"http/__init__.py": "raise RuntimeError('the user http package was imported by the runtime')\n",
		"helpers.py":       "def double(x):\n    return 2 * x\n",
		"main.py":          "import helpers\n\ndef run():\n    return {'v': helpers.double(21)}\n",
	})
	cfg := testAccRunOne(eng, role, bucket, wf, src, "main:run", "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.aqueduct_invocation.run", tfjsonpath.New("operators").AtMapKey("op").AtMapKey("output"), knownvalue.StringExact(`{"v":42}`)),
			},
		}},
	})
}

// Shared code reached through symlinks out of the source directory is in
// the image; editing it plans a new image; a dangling link is a plan error
// that names it.
func TestAccInvocation_symlinksToSharedCode(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	repo := t.TempDir()
	files := map[string]string{
		"shared/helper.py":       "def greet():\n    return 'hello'\n",
		"shared/lib/__init__.py": "",
		"shared/lib/more.py":     "VALUE = 1\n",
		"ops/train/main.py":      "import helper\nfrom lib import more\n\ndef run():\n    return {'greeting': helper.greet(), 'value': more.VALUE}\n",
	}
	for name, body := range files {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(repo, "ops", "train")
	for link, target := range map[string]string{"helper.py": "../../shared/helper.py", "lib": "../../shared/lib"} {
		if err := os.Symlink(target, filepath.Join(src, link)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testAccRunOne(eng, role, bucket, wf, src, "main:run", "")
	out := func(want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.aqueduct_invocation.run", tfjsonpath.New("operators").AtMapKey("op").AtMapKey("output"), knownvalue.StringExact(want))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{out(`{"greeting":"hello","value":1}`)}},
			{
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(repo, "shared", "lib", "more.py"), []byte("VALUE = 2\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("aqueduct_operator.op", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("aqueduct_operator.op", tfjsonpath.New("image_uri")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{out(`{"greeting":"hello","value":2}`)},
			},
			{
				PreConfig: func() {
					if err := os.Symlink("../../shared/missing.py", filepath.Join(src, "gone.py")); err != nil {
						t.Fatal(err)
					}
				},
				Config:      cfg,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)symlink\s+"gone.py".*does\s+not\s+exist`),
			},
			{
				PreConfig: func() { _ = os.Remove(filepath.Join(src, "gone.py")) },
				Config:    cfg,
			},
		},
	})
}

// Runs are incremental and need no depends_on: a handle is unknown in the
// plan exactly when its operator or anything upstream changes, so the run
// reads at apply time then and at plan time otherwise; a leaf edit invokes
// the leaf alone, a root edit everything downstream; a parameter reruns only
// the operators that take it and their descendants; downstream updates
// rebuild nothing.
func TestAccInvocation_incrementalRuns(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	// One source directory per operator: editing one changes only its image.
	srcs := map[string]string{}
	for name, body := range map[string]string{
		"a": "def run(scale=1):\n    return {'x': scale}\n",
		"b": "def run(a):\n    return a['x'] + 1\n",
		"c": "def run(a, factor=10):\n    return a['x'] * factor\n",
		"d": "def run(b, c):\n    return {'sum': b + c}\n",
	} {
		srcs[name] = testSource(t, map[string]string{"main.py": body})
	}
	memory := map[string]int{"a": 256, "b": 256, "c": 256, "d": 256}
	op := func(name string, inputs ...string) string {
		var in []string
		for _, i := range inputs {
			in = append(in, "aqueduct_operator."+i+".artifact")
		}
		return fmt.Sprintf(`
resource "aqueduct_operator" %[1]q {
  workflow_id = aqueduct_workflow.test.id
  name        = %[1]q
  source      = %[2]s
  function    = "main:run"
  base_image  = %[3]s
  memory      = %[5]d
  inputs      = [%[4]s]
}
`, name, hcl(srcs[name]), hcl(testLocalBaseImage), strings.Join(in, ", "), memory[name])
	}
	ops := func() string { return op("a") + op("b", "a") + op("c", "a") + op("d", "b", "c") }
	cfg := func(params string) string {
		return testAccPipeline(eng, role, bucket, wf) + ops() + fmt.Sprintf(`
data "aqueduct_invocation" "run" {
  artifacts  = [aqueduct_operator.d.artifact]
  parameters = %s
}
`, params)
	}
	edit := func(op, body string) func() {
		return func() {
			if err := os.WriteFile(filepath.Join(srcs[op], "main.py"), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ds := "data.aqueduct_invocation.run"
	artifact := func(op string) tfjsonpath.Path { return tfjsonpath.New("artifact") }
	known := func(ops ...string) []plancheck.PlanCheck {
		var c []plancheck.PlanCheck
		for _, op := range ops {
			c = append(c, plancheck.ExpectKnownValue("aqueduct_operator."+op, artifact(op), knownvalue.StringRegexp(regexp.MustCompile(`@sha256:[0-9a-f]{64}$`))))
		}
		return c
	}
	unknown := func(ops ...string) []plancheck.PlanCheck {
		var c []plancheck.PlanCheck
		for _, op := range ops {
			c = append(c, plancheck.ExpectUnknownValue("aqueduct_operator."+op, artifact(op)))
		}
		return c
	}
	status := func(want map[string]string) []statecheck.StateCheck {
		var c []statecheck.StateCheck
		for op, s := range want {
			c = append(c, statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey(op).AtMapKey("status"), knownvalue.StringExact(s)))
		}
		return c
	}
	invoked := func(n int64) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(ds, tfjsonpath.New("invoked"), knownvalue.Int64Exact(n))
	}
	output := func(want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("d").AtMapKey("output"), knownvalue.StringExact(want))
	}
	imageB := statecheck.CompareValue(compare.ValuesSame())
	var total int

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckPipelineGone(t, eng, bucket),
		Steps: []resource.TestStep{
			{
				Config:            cfg(`{}`),
				ConfigStateChecks: []statecheck.StateCheck{invoked(4), output(`{"sum":12}`), imageB.AddStateValue("aqueduct_operator.b", tfjsonpath.New("image_uri"))},
				Check:             func(*terraform.State) error { total = testInvocationTotal(t); return nil },
			},
			{
				// Nothing changed: an empty plan, handles known, nothing invoked.
				Config:           cfg(`{}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: append(known("a", "b", "c", "d"), plancheck.ExpectEmptyPlan())},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("reused"), knownvalue.Bool(true)), invoked(4),
				},
				Check: func(*terraform.State) error {
					if n := testInvocationTotal(t); n != total {
						return fmt.Errorf("an unchanged pipeline invoked %d functions", n-total)
					}
					return nil
				},
			},
			{
				// Memory is not part of the lineage: b is updated, every
				// handle stays known, and the run is read back.
				Config: func() string { memory["b"] = 512; return cfg(`{}`) }(),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: append(known("a", "b", "c", "d"),
					plancheck.ExpectResourceAction("aqueduct_operator.b", plancheck.ResourceActionUpdate))},
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(ds, tfjsonpath.New("reused"), knownvalue.Bool(true))},
			},
			{
				// A leaf edit: only d's handle is unknown, only d runs.
				PreConfig: edit("d", "def run(b, c):\n    return {'sum': b + c, 'edited': True}\n"),
				Config:    cfg(`{}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: append(append(known("a", "b", "c"), unknown("d")...),
					plancheck.ExpectResourceAction("aqueduct_operator.d", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("aqueduct_operator.b", plancheck.ResourceActionNoop))},
				ConfigStateChecks: append(status(map[string]string{"a": "cached", "b": "cached", "c": "cached", "d": "succeeded"}),
					invoked(1), output(`{"sum":12,"edited":true}`),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("b").AtMapKey("cached_from"), knownvalue.StringRegexp(regexp.MustCompile(`^r-`)))),
			},
			{
				// A root edit: every handle is unknown; b, c and d are updated
				// in place without a rebuild, and everything runs again.
				PreConfig: edit("a", "def run(scale=1):\n    return {'x': scale * 2}\n"),
				Config:    cfg(`{}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: append(unknown("a", "b", "c", "d"),
					plancheck.ExpectResourceAction("aqueduct_operator.b", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("aqueduct_operator.b", tfjsonpath.New("image_uri"), knownvalue.NotNull()),
					plancheck.ExpectKnownValue("aqueduct_operator.c", tfjsonpath.New("image_uri"), knownvalue.NotNull()),
					plancheck.ExpectUnknownValue("aqueduct_operator.a", tfjsonpath.New("image_uri")))},
				ConfigStateChecks: []statecheck.StateCheck{invoked(4), output(`{"sum":23,"edited":true}`), imageB.AddStateValue("aqueduct_operator.b", tfjsonpath.New("image_uri"))},
			},
			{
				// A parameter no operator takes: a new run, all of it cached.
				Config:            cfg(`{ unused = jsonencode(1) }`),
				ConfigStateChecks: append(status(map[string]string{"a": "cached", "b": "cached", "c": "cached", "d": "cached"}), invoked(0)),
			},
			{
				// factor is c's alone: c and its descendant d run, a and b do not.
				Config: cfg(`{ factor = jsonencode(100) }`),
				ConfigStateChecks: append(status(map[string]string{"a": "cached", "b": "cached", "c": "succeeded", "d": "succeeded"}),
					invoked(2), output(`{"sum":203,"edited":true}`)),
			},
			{
				// A bare operator id is refused with the fix.
				Config:      testAccPipeline(eng, role, bucket, wf) + ops() + "\ndata \"aqueduct_invocation\" \"run\" {\n  artifacts = [aqueduct_operator.d.id]\n}\n",
				ExpectError: regexp.MustCompile(`(?s)is\s+the\s+id\s+of\s+operator\s+"d".*aqueduct_operator.d.artifact`),
			},
		},
	})
}

// A failed run resumes: the next run with the same handles invokes only
// what failed and what is downstream of it.
func TestAccInvocation_failedRunResumes(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{
		"a.py": "def run():\n    return {'x': 1}\n",
		// Fails on its first invocation in a fresh container, then works:
		// a transient failure, such as a network blip.
		"flaky.py": "import os\n\ndef run(a):\n    marker = '/tmp/ran-once'\n    if not os.path.exists(marker):\n        open(marker, 'w').close()\n        raise RuntimeError('transient failure')\n    return a['x'] + 1\n",
		"g.py":     "def run(f):\n    return f * 10\n",
		"c.py":     "def run(a):\n    return a['x'] - 1\n",
	})
	ops := testAccDAGOperator("a", "a") + testAccDAGOperator("f", "flaky", "a") + testAccDAGOperator("g", "g", "f") + testAccDAGOperator("c", "c", "a")
	cfg := testAccDAGConfig(eng, role, bucket, wf, src, ops, `
data "aqueduct_invocation" "run" {
  artifacts     = [aqueduct_operator.g.artifact, aqueduct_operator.c.artifact]
  allow_failure = true
}
`)
	ds := "data.aqueduct_invocation.run"
	op := func(name, field, want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey(name).AtMapKey(field), knownvalue.StringExact(want))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("status"), knownvalue.StringExact("failed")),
					op("f", "status", "failed"), op("g", "status", "skipped"), op("c", "status", "succeeded"),
				},
			},
			{
				// The next read (this plan's, or the refresh after the
				// first apply) resumes: a and c come from the cache.
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
					op("a", "status", "cached"), op("c", "status", "cached"), op("f", "status", "succeeded"), op("g", "status", "succeeded"),
					op("g", "output", "20"),
				},
				Check: func(*terraform.State) error {
					for name, want := range map[string]int{"a": 1, "c": 1, "f": 2, "g": 1} {
						if got := testInvocationsOf(t, testFunctionName(eng, wf, name)); got != want {
							return fmt.Errorf("%s was invoked %d times, want %d: a resumed run invokes only what failed and its descendants", name, got, want)
						}
					}
					return nil
				},
			},
		},
	})
}

// An operator's retry policy retries its own failure within the run: the
// run succeeds, its record counts the attempts, and changing the policy
// updates the operator in place without changing its handle.
func TestAccInvocation_retry(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{
		"a.py": "def run():\n    return {'x': 1}\n",
		// Fails on its first invocation in a fresh container, then works.
		"flaky.py": "import os\n\ndef run(a):\n    marker = '/tmp/ran-once'\n    if not os.path.exists(marker):\n        open(marker, 'w').close()\n        raise RuntimeError('transient failure')\n    return a['x'] + 1\n",
	})
	flaky := func(retry string) string {
		return fmt.Sprintf(`
resource "aqueduct_operator" "f" {
  workflow_id = aqueduct_workflow.test.id
  name        = "f"
  source      = var.src
  function    = "flaky:run"
  base_image  = %s
  memory      = 256
  inputs      = [aqueduct_operator.a.artifact]
  %s
}
`, hcl(testLocalBaseImage), retry)
	}
	inv := `
data "aqueduct_invocation" "run" {
  artifacts = [aqueduct_operator.f.artifact]
}
`
	cfg := func(retry string) string {
		return testAccDAGConfig(eng, role, bucket, wf, src, testAccDAGOperator("a", "a")+flaky(retry), inv)
	}
	ds, f := "data.aqueduct_invocation.run", "aqueduct_operator.f"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      cfg(`retry = { attempts = 0 }`),
				ExpectError: regexp.MustCompile(`(?s)Attribute retry.attempts value must be between 1 and 10, got: 0`),
			},
			{
				Config:      cfg(`retry = { attempts = 2, backoff_rate = 0.5 }`),
				ExpectError: regexp.MustCompile(`(?s)Attribute retry.backoff_rate value must be between 1.000000 and\s+10.000000,\s+got: 0.500000`),
			},
			{
				Config: cfg(`retry = { attempts = 2 }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("f").AtMapKey("attempts"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("a").AtMapKey("attempts"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(f, tfjsonpath.New("retry"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"attempts": knownvalue.Int64Exact(2), "interval_seconds": knownvalue.Int64Exact(1),
						"backoff_rate": knownvalue.Float64Exact(2), "max_delay_seconds": knownvalue.Null(),
					})),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: cfg(`retry = { attempts = 3, interval_seconds = 2, backoff_rate = 1.5, max_delay_seconds = 30 }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(f, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(f, tfjsonpath.New("artifact"), knownvalue.StringRegexp(regexp.MustCompile(`@sha256:`))),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(f, tfjsonpath.New("retry").AtMapKey("max_delay_seconds"), knownvalue.Int64Exact(30)),
					// Same handles: the run is read back.
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("reused"), knownvalue.Bool(true)),
				},
			},
			{
				ResourceName:            f,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
		},
	})
}
