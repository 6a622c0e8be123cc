package provider

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
)

// With 20 % of requests throttled and 5 % failing with a 500, on every AWS
// API the provider calls (Lambda, ECR, S3, IAM, STS; S3 includes the
// presigned requests of the runtime inside the functions), a pipeline
// applies, runs and is destroyed, and its outputs are those of a run
// without faults.
//
// The OCI registry is left out of these rates: Docker's push does not retry
// a throttled registry ping (it then pushes without credentials) or
// manifest upload, so at 25 % a push of a whole image rarely completes, on
// ECR as here. The provider retries failed pushes; internal/registry tests
// that against a throttled registry.
func TestAccFaults_applyRunAndDestroySucceed(t *testing.T) {
	testAccPreCheck(t)
	src := testSource(t, dagSource)
	ops := testAccDAGOperator("a", "a") + testAccDAGOperator("b", "b", "a") + testAccDAGOperator("c", "c", "a") + testAccDAGOperator("d", "d", "b", "c")
	inv := `
data "aqueduct_invocation" "run" {
  artifacts  = [aqueduct_operator.d.artifact]
  parameters = { scale = jsonencode(3) }
}
`
	outputs := func(s *terraform.State) map[string]string {
		attrs := s.RootModule().Resources["data.aqueduct_invocation.run"].Primary.Attributes
		out := map[string]string{}
		for _, op := range []string{"a", "b", "c", "d"} {
			out[op] = attrs["operators."+op+".output"]
		}
		return out
	}

	var clean map[string]string
	role, bucket := testFixtures(t)
	eng := testName("clean")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckPipelineGone(t, eng, bucket),
		Steps: []resource.TestStep{{
			Config: testAccDAGConfig(eng, role, bucket, testName("wf"), src, ops, inv),
			Check:  func(s *terraform.State) error { clean = outputs(s); return nil },
		}},
	})
	if clean["d"] != `{"sum":34}` {
		t.Fatalf("the run without faults gave %v", clean)
	}

	faults := emulator.Faults{ThrottleRate: 0.2, ErrorRate: 0.05, Services: []string{"lambda", "ecr", "s3", "iam", "sts"}}
	if err := testEmulator.SetFaults(faults); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testEmulator.SetFaults(emulator.Faults{}) })
	start := time.Now()
	eng = testName("faulty")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		// Destroy runs with the faults still on.
		CheckDestroy: testAccCheckPipelineGone(t, eng, bucket),
		Steps: []resource.TestStep{{
			Config: testAccDAGConfig(eng, role, bucket, testName("wf"), src, ops, inv),
			Check: func(s *terraform.State) error {
				if got := outputs(s); fmt.Sprint(got) != fmt.Sprint(clean) {
					return fmt.Errorf("outputs under faults %v, want %v", got, clean)
				}
				// Every service that saw enough requests for the rates to
				// bite must have met faults; one that made a single call
				// (STS) may have been lucky.
				faulted, total := map[string]int{}, map[string]int{}
				for _, q := range testEmulator.Requests() {
					if q.Time.After(start) {
						total[q.Service]++
						if q.Fault != "" {
							faulted[q.Service]++
						}
					}
				}
				for _, svc := range []string{"lambda", "ecr", "s3", "iam", "sts"} {
					if total[svc] >= 5 && faulted[svc] == 0 {
						return fmt.Errorf("%d %s requests met no fault (%v of %v): the test did not test that service", total[svc], svc, faulted, total)
					}
				}
				if faulted["lambda"] == 0 || faulted["s3"] == 0 || faulted["ecr"] == 0 {
					return fmt.Errorf("faults met %v of %v requests: the main services were not tested", faulted, total)
				}
				t.Logf("requests that met a fault, by service: %v of %v", faulted, total)
				return nil
			},
		}},
	})
}

// Under throttling and 5xx on Step Functions and EventBridge Scheduler as
// well, a run on Step Functions and a schedule apply, run and destroy as
// without them, and the run's outputs are the same.
func TestAccFaults_stepFunctionsAndSchedules(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	src := testSource(t, dagSource)
	services := []string{"lambda", "ecr", "s3", "iam", "sts", "states", "scheduler"}
	faults := emulator.Faults{ThrottleRate: 0.2, ErrorRate: 0.05, Services: services}
	if err := testEmulator.SetFaults(faults); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testEmulator.SetFaults(emulator.Faults{}) })
	start := time.Now()
	eng, wf := testName("faulty"), testName("wf")
	cfg := testAccScheduledPipeline(eng, role, orch, bucket, wf, src,
		testAccDAGOperator("a", "a")+testAccDAGOperator("b", "b", "a")+testAccDAGOperator("c", "c", "a")+testAccDAGOperator("d", "d", "b", "c"), `
data "aqueduct_invocation" "run" {
  artifacts  = [aqueduct_operator.d.artifact]
  parameters = { scale = jsonencode(3) }
}

resource "aqueduct_schedule" "nightly" {
  name                = "nightly"
  artifacts           = [aqueduct_operator.d.artifact]
  schedule_expression = "cron(0 3 * * ? *)"
}
`)
	ds := "data.aqueduct_invocation.run"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		// Destroy runs with the faults still on.
		CheckDestroy: func(s *terraform.State) error {
			if err := testAccCheckNoStateMachines(t, eng)(s); err != nil {
				return err
			}
			return testAccCheckPipelineGone(t, eng, bucket)(s)
		},
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("executor"), knownvalue.StringExact("step_functions")),
				// The same as the run without faults in TestAccFaults_applyRunAndDestroySucceed.
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("d").AtMapKey("output"), knownvalue.StringExact(`{"sum":34}`)),
			},
			Check: func(*terraform.State) error {
				faulted, total := map[string]int{}, map[string]int{}
				for _, q := range testEmulator.Requests() {
					if q.Time.After(start) {
						total[q.Service]++
						if q.Fault != "" {
							faulted[q.Service]++
						}
					}
				}
				if faulted["states"] == 0 || faulted["s3"] == 0 {
					return fmt.Errorf("faults met %v of %v requests: Step Functions and S3 were not tested", faulted, total)
				}
				t.Logf("requests that met a fault, by service: %v of %v", faulted, total)
				return nil
			},
		}},
	})
}
