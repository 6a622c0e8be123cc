package provider

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

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
  workflow_id = aqueduct_workflow.test.id
  parameters  = { scale = jsonencode(3) }
  depends_on  = [aqueduct_operator.a, aqueduct_operator.b, aqueduct_operator.c, aqueduct_operator.d]
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
