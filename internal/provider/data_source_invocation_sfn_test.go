package provider

// Runs on Step Functions: the same records and outputs as local runs, and
// runs that outlive the terraform that started them.

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
)

// testAccOrchestratedEngine is an engine that can run on AWS, with the
// workflows named.
func testAccOrchestratedEngine(eng, role, orch, bucket string, workflows ...string) string {
	cfg := fmt.Sprintf(`
resource "aqueduct_lambda_resource" "test" {
  name                   = %s
  role_arn               = %s
  orchestration_role_arn = %s
  artifact_store {
    s3_bucket = %s
  }
}
`, hcl(eng), hcl(role), hcl(orch), hcl(bucket))
	for _, wf := range workflows {
		cfg += fmt.Sprintf(`
resource "aqueduct_workflow" %s {
  name   = %s
  engine = aqueduct_lambda_resource.test.id
}
`, hcl(wf), hcl(wf))
	}
	return cfg
}

// testAccDiamondOn is the diamond's operators on workflow wf, named <wf>_<op>.
func testAccDiamondOn(wf string) string {
	op := func(name string, inputs ...string) string {
		in := ""
		for _, i := range inputs {
			in += "aqueduct_operator." + wf + "_" + i + ".artifact, "
		}
		return fmt.Sprintf(`
resource "aqueduct_operator" "%[1]s_%[2]s" {
  workflow_id = aqueduct_workflow.%[1]s.id
  name        = "%[2]s"
  source      = var.src
  function    = "%[2]s:run"
  base_image  = %[3]s
  memory      = 256
  inputs      = [%[4]s]
}
`, wf, name, hcl(testLocalBaseImage), in)
	}
	return op("a") + op("b", "a") + op("c", "a") + op("d", "b", "c")
}

// The diamond on Step Functions and in terraform: the same outputs, the
// branches overlapping on both, and each run named by its executor.
func TestAccInvocation_stepFunctionsMatchesLocal(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	eng := testName("eng")
	src := testSource(t, dagSource)
	cfg := testAccOrchestratedEngine(eng, role, orch, bucket, "onsfn", "onlocal") + fmt.Sprintf(`
variable "src" {
  default = %s
}
`, hcl(src)) + testAccDiamondOn("onsfn") + testAccDiamondOn("onlocal") + `
data "aqueduct_invocation" "sfn" {
  artifacts  = [aqueduct_operator.onsfn_d.artifact]
  parameters = { scale = jsonencode(1) }
}

data "aqueduct_invocation" "local" {
  artifacts  = [aqueduct_operator.onlocal_d.artifact]
  parameters = { scale = jsonencode(1) }
  executor   = "local"
}
`
	sfnDS, localDS := "data.aqueduct_invocation.sfn", "data.aqueduct_invocation.local"
	same := func(p tfjsonpath.Path) statecheck.StateCheck {
		return statecheck.CompareValuePairs(sfnDS, p, localDS, p, compare.ValuesSame())
	}
	out := func(op string) tfjsonpath.Path { return tfjsonpath.New("operators").AtMapKey(op).AtMapKey("output") }
	overlap := func(attrs map[string]string, who string) error {
		b0, b1 := attrTime(attrs, "operators.b.started_at"), attrTime(attrs, "operators.b.finished_at")
		c0, c1 := attrTime(attrs, "operators.c.started_at"), attrTime(attrs, "operators.c.finished_at")
		if !(b0.Before(c1) && c0.Before(b1)) {
			return fmt.Errorf("%s: b [%s, %s] and c [%s, %s] did not overlap", who, b0, b1, c0, c1)
		}
		return nil
	}
	var invoked int
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckNoStateMachines(t, eng),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(sfnDS, tfjsonpath.New("executor"), knownvalue.StringExact("step_functions")),
					statecheck.ExpectKnownValue(localDS, tfjsonpath.New("executor"), knownvalue.StringExact("local")),
					statecheck.ExpectKnownValue(sfnDS, tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
					statecheck.ExpectKnownValue(sfnDS, tfjsonpath.New("execution_arn"), knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws:states:us-east-1:000000000000:execution:.+-onsfn-run-[0-9a-f]{12}:r-[0-9a-f]{16}$`))),
					statecheck.ExpectKnownValue(localDS, tfjsonpath.New("execution_arn"), knownvalue.Null()),
					statecheck.ExpectKnownValue(sfnDS, out("d"), knownvalue.StringExact(`{"sum":12}`)),
					same(out("a")), same(out("b")), same(out("c")), same(out("d")),
					same(tfjsonpath.New("invoked")), same(tfjsonpath.New("status")),
					statecheck.ExpectKnownValue(sfnDS, tfjsonpath.New("operators").AtMapKey("b").AtMapKey("attempts"), knownvalue.Int64Exact(1)),
				},
				Check: func(s *terraform.State) error {
					for _, ds := range []string{sfnDS, localDS} {
						if err := overlap(s.RootModule().Resources[ds].Primary.Attributes, ds); err != nil {
							return err
						}
					}
					invoked = testInvocationTotal(t)
					return nil
				},
			},
			{
				// Both are read back; nothing is invoked or started again.
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(sfnDS, tfjsonpath.New("reused"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					if n := testInvocationTotal(t); n != invoked {
						return fmt.Errorf("runs read back invoked %d functions", n-invoked)
					}
					if n := len(testExecutions(t, testRunMachines(t, eng, "onsfn"))); n != 1 {
						return fmt.Errorf("%d executions, want the first run's only", n)
					}
					return nil
				},
			},
		},
	})
}

// testRunMachines lists the runs state machines of a workflow.
func testRunMachines(t *testing.T, eng, wf string) []string {
	t.Helper()
	w := ids.Workflow{Engine: testEngineID(eng), Name: wf}
	var out []string
	p := sfn.NewListStateMachinesPaginator(testClients(t).SFN, &sfn.ListStateMachinesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, sm := range page.StateMachines {
			if strings.HasPrefix(aws.ToString(sm.Name), naming.FunctionPrefix(w.Engine)+"-"+wf+"-run-") {
				out = append(out, aws.ToString(sm.StateMachineArn))
			}
		}
	}
	return out
}

// testExecutions lists the executions of state machines, any status.
func testExecutions(t *testing.T, machines []string) []sfntypes.ExecutionListItem {
	t.Helper()
	var out []sfntypes.ExecutionListItem
	for _, m := range machines {
		p := sfn.NewListExecutionsPaginator(testClients(t).SFN, &sfn.ListExecutionsInput{StateMachineArn: aws.String(m)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.Executions...)
		}
	}
	return out
}

// testAccCheckNoStateMachines checks that nothing of the engine is left on
// Step Functions.
func testAccCheckNoStateMachines(t *testing.T, eng string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		prefix := naming.FunctionPrefix(testEngineID(eng)) + "-"
		p := sfn.NewListStateMachinesPaginator(testClients(t).SFN, &sfn.ListStateMachinesInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				return err
			}
			for _, sm := range page.StateMachines {
				if strings.HasPrefix(aws.ToString(sm.Name), prefix) {
					return fmt.Errorf("state machine %s is left after destroy", aws.ToString(sm.Name))
				}
			}
		}
		return nil
	}
}

// SIGKILL terraform while its run executes on Step Functions. The
// execution goes on without it. A terraform started while it still runs
// attaches to it rather than starting another; one started after it has
// finished reads its record. Neither invokes anything again.
func TestAccInvocation_stepFunctionsRunOutlivesTerraform(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	eng, wf := testName("kill"), testName("wf")
	cfg := `
terraform {
  required_providers {
    aqueduct = { source = "aqueduct/aqueduct" }
  }
}
` + testAccScheduledPipeline(eng, role, orch, bucket, wf, "", fmt.Sprintf(`
resource "aqueduct_operator" "first" {
  workflow_id = aqueduct_workflow.test.id
  name        = "first"
  source      = "${path.module}/src"
  function    = "ops:first"
  base_image  = %[1]q
  memory      = 256
}

resource "aqueduct_operator" "slow" {
  workflow_id = aqueduct_workflow.test.id
  name        = "slow"
  source      = "${path.module}/slow"
  function    = "slow:slow"
  base_image  = %[1]q
  memory      = 256
  inputs      = [aqueduct_operator.first.artifact]
}
`, testLocalBaseImage), `
data "aqueduct_invocation" "run" {
  artifacts = [aqueduct_operator.slow.artifact]
}

output "reused" { value = data.aqueduct_invocation.run.reused }
output "slow"   { value = data.aqueduct_invocation.run.operators["slow"].output }
`)
	slow := func(add int) string {
		return fmt.Sprintf("import time\n\ndef slow(x):\n    time.sleep(8)\n    return x + %d\n", add)
	}
	w := clitest.New(t, testEmulator.URL(), "us-east-1", map[string]string{
		"main.tf":      cfg,
		"src/ops.py":   "def first():\n    return 20\n",
		"slow/slow.py": slow(1),
	})
	t.Cleanup(func() { w.Run("destroy", "-auto-approve", "-input=false", "-no-color") })
	apply := []string{"apply", "-auto-approve", "-input=false", "-no-color"}

	// killMidRun starts an apply and kills it once its execution runs.
	killMidRun := func() sfntypes.ExecutionListItem {
		t.Helper()
		p := w.Start(apply...)
		for deadline := time.Now().Add(4 * time.Minute); ; {
			for _, ex := range testExecutions(t, testRunMachines(t, eng, wf)) {
				if ex.Status == sfntypes.ExecutionStatusRunning {
					p.Kill()
					t.Logf("killed terraform while %s ran", aws.ToString(ex.Name))
					return ex
				}
			}
			select {
			case <-p.Done():
				t.Fatalf("the apply finished before its execution was seen running:\n%s", p.Output())
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no execution started:\n%s", p.Output())
			}
		}
	}
	status := func(ex sfntypes.ExecutionListItem) sfntypes.ExecutionStatus {
		d, err := testClients(t).SFN.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		return d.Status
	}
	check := func(out, slowOutput string, executions, invoked int) {
		t.Helper()
		if !strings.Contains(out, `slow = "`+slowOutput+`"`) {
			t.Errorf("the apply after the kill did not give slow = %s:\n%s", slowOutput, out)
		}
		if n := len(testExecutions(t, testRunMachines(t, eng, wf))); n != executions {
			t.Errorf("%d executions, want %d: one per run, whoever reads it", n, executions)
		}
		if n := testInvocationTotal(t); n != invoked {
			t.Errorf("%d Lambda invocations in all, want %d: each operator and record Task once", n, invoked)
		}
	}
	before := testInvocationTotal(t)

	// Killed, then applied again while the execution still runs: attached.
	ex := killMidRun()
	if s := status(ex); s != sfntypes.ExecutionStatusRunning {
		t.Fatalf("the execution was %s before the second apply; the test needs it running", s)
	}
	out := w.Must(apply...)
	// first, slow, and the record Task, by slow's function.
	check(out, "21", 1, before+3)

	// Killed, then applied again once the execution has finished: read back.
	w.Write(map[string]string{"slow/slow.py": slow(2)})
	ex = killMidRun()
	for deadline := time.Now().Add(2 * time.Minute); status(ex) == sfntypes.ExecutionStatusRunning && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
	}
	if s := status(ex); s != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("the execution ended %s after terraform was killed", s)
	}
	out = w.Must(apply...)
	if !strings.Contains(out, "reused = true") {
		t.Errorf("the apply after the run finished did not read it back:\n%s", out)
	}
	// first came from the cache: slow and the record Task only.
	check(out, "22", 2, before+3+2)
	if out, code := w.Run("plan", "-detailed-exitcode", "-input=false", "-no-color"); code != 0 {
		t.Errorf("plan after convergence exited %d:\n%s", code, out)
	}
}

// On Step Functions, an operator's retry policy retries its failure within
// the execution, counted from the execution's history; the descendants of
// an operator that fails for good are skipped, the rest of the DAG runs.
func TestAccInvocation_stepFunctionsRetriesAndSkips(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{
		"a.py": "def run():\n    return {'x': 1}\n",
		// Fails on its first invocation in a fresh container, then works.
		"flaky.py": "import os\n\ndef run(a):\n    marker = '/tmp/ran-once'\n    if not os.path.exists(marker):\n        open(marker, 'w').close()\n        raise RuntimeError('transient failure')\n    return a['x'] + 1\n",
		"bad.py":   "def run(a):\n    raise ValueError('bad batch')\n",
		"h.py":     "def run(g):\n    return g\n",
	})
	op := func(name, module, extra string, inputs ...string) string {
		in := ""
		for _, i := range inputs {
			in += "aqueduct_operator." + i + ".artifact, "
		}
		return fmt.Sprintf(`
resource "aqueduct_operator" %[1]q {
  workflow_id = aqueduct_workflow.test.id
  name        = %[1]q
  source      = var.src
  function    = "%[2]s:run"
  base_image  = %[3]q
  memory      = 256
  inputs      = [%[4]s]
  %[5]s
}
`, name, module, testLocalBaseImage, in, extra)
	}
	ops := op("a", "a", "") + op("f", "flaky", "retry = { attempts = 2 }", "a") + op("g", "bad", "", "a") + op("h", "h", "", "g")
	cfg := testAccScheduledPipeline(eng, role, orch, bucket, wf, src, ops, `
data "aqueduct_invocation" "run" {
  artifacts     = [aqueduct_operator.f.artifact, aqueduct_operator.h.artifact]
  allow_failure = true
}
`)
	ds := "data.aqueduct_invocation.run"
	opAttr := func(name, field string) tfjsonpath.Path {
		return tfjsonpath.New("operators").AtMapKey(name).AtMapKey(field)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("executor"), knownvalue.StringExact("step_functions")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("status"), knownvalue.StringExact("failed")),
				statecheck.ExpectKnownValue(ds, opAttr("f", "status"), knownvalue.StringExact("succeeded")),
				statecheck.ExpectKnownValue(ds, opAttr("f", "attempts"), knownvalue.Int64Exact(2)),
				statecheck.ExpectKnownValue(ds, opAttr("f", "output"), knownvalue.StringExact("2")),
				statecheck.ExpectKnownValue(ds, opAttr("g", "status"), knownvalue.StringExact("failed")),
				statecheck.ExpectKnownValue(ds, opAttr("g", "attempts"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue(ds, opAttr("g", "error").AtMapKey("type"), knownvalue.StringExact("ValueError")),
				statecheck.ExpectKnownValue(ds, opAttr("g", "error").AtMapKey("message"), knownvalue.StringExact("bad batch")),
				statecheck.ExpectKnownValue(ds, opAttr("h", "status"), knownvalue.StringExact("skipped")),
				statecheck.ExpectKnownValue(ds, opAttr("h", "attempts"), knownvalue.Int64Exact(0)),
			},
			Check: func(*terraform.State) error {
				// f's function also runs the last Task, which writes the record.
				for name, want := range map[string]int{"f": 2 + 1, "g": 1, "h": 0} {
					if got := testInvocationsOf(t, testFunctionName(eng, wf, name)); got != want {
						return fmt.Errorf("%s was invoked %d times, want %d", name, got, want)
					}
				}
				return nil
			},
		}},
	})
}

// A function changed outside Terraform is found before the execution starts,
// as the local executor finds it before invoking: no result is made by a
// configuration other than the applied one.
func TestAccInvocation_stepFunctionsChecksFunctionsFirst(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"a.py": "def run():\n    return 1\n"})
	run := func(rerun bool) string {
		return testAccScheduledPipeline(eng, role, orch, bucket, wf, src, testAccDAGOperator("a", "a"), fmt.Sprintf(`
data "aqueduct_invocation" "run" {
  artifacts = [aqueduct_operator.a.artifact]
  rerun     = %t
}
`, rerun))
	}
	fn := testFunctionName(eng, wf, "a")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: run(false)},
			{
				PreConfig: func() {
					lc := testClients(t).Lambda
					if _, err := lc.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fn), MemorySize: aws.Int32(1024)}); err != nil {
						t.Fatal(err)
					}
					if err := lambda.NewFunctionUpdatedV2Waiter(lc).Wait(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(fn)}, time.Minute); err != nil {
						t.Fatal(err)
					}
				},
				Config:      run(true),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)not started:.*memory \(MB\)`),
			},
		},
	})
}
