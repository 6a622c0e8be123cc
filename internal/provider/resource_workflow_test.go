package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
)

func testAccWorkflowConfig(engine, role, bucket, workflow, body string) string {
	return fmt.Sprintf(`
resource "aqueduct_lambda_resource" "test" {
  name     = %s
  role_arn = %s
  artifact_store {
    s3_bucket = %s
  }
}

resource "aqueduct_workflow" "test" {
  name   = %s
  engine = aqueduct_lambda_resource.test.id
  %s
}
`, hcl(engine), hcl(role), hcl(bucket), hcl(workflow), body)
}

func TestAccWorkflow_lifecycle(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	key := artifacts.WorkflowKey(testEngineRoot(eng), wf)
	addr := "aqueduct_workflow.test"
	body := `
  description = "iris training"
  parameters  = { test_size = jsonencode(0.25), models = jsonencode(["knn", "tree"]) }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, ok := testReadManifest(t, bucket, key); ok {
				return fmt.Errorf("manifest %s is left after destroy", key)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				// The retired attribute says what replaced it.
				Config:      testAccWorkflowConfig(eng, role, bucket, wf, `schedule = "cron(0 6 * * ? *)"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)aqueduct_workflow.schedule is retired.*resource\s+"aqueduct_schedule"`),
			},
			{
				Config:      testAccWorkflowConfig(eng, role, bucket, wf, `parameters = { a = "{not json" }`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)parameters.*JSON`),
			},
			{
				Config: testAccWorkflowConfig(eng, role, bucket, wf, body),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact("us-east-1:aqueduct/"+eng+"/"+wf)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("manifest_uri"), knownvalue.StringExact("s3://"+bucket+"/"+key)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("parameters").AtMapKey("test_size"), knownvalue.StringExact("0.25")),
				},
				Check: func(*terraform.State) error {
					m, ok := testReadManifest(t, bucket, key)
					var models []string
					_ = json.Unmarshal(m.Parameters["models"], &models)
					if !ok || m.Description != "iris training" || fmt.Sprint(models) != "[knn tree]" || m.Schedule != "" {
						return fmt.Errorf("manifest = %+v", m)
					}
					return nil
				},
			},
			{
				Config:           testAccWorkflowConfig(eng, role, bucket, wf, body),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: testAccWorkflowConfig(eng, role, bucket, wf, `description = "iris, v2"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if m, _ := testReadManifest(t, bucket, key); m.Description != "iris, v2" || len(m.Parameters) != 0 {
						return fmt.Errorf("manifest not updated: %+v", m)
					}
					return nil
				},
			},
			{
				// A manifest deleted outside Terraform is written again.
				PreConfig: func() {
					if _, err := testClients(t).S3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccWorkflowConfig(eng, role, bucket, wf, `description = "iris, v2"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     wf,
				ImportStateVerify: true,
			},
		},
	})
}

func testReadManifest(t *testing.T, bucket, key string) (artifacts.WorkflowManifest, bool) {
	var m artifacts.WorkflowManifest
	out, err := testClients(t).S3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return m, false
	}
	defer out.Body.Close()
	if err := json.NewDecoder(out.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m, true
}
