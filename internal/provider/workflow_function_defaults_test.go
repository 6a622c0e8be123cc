package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// testAccWorkflowDefaults is an engine and a workflow with function_defaults.
func testAccWorkflowDefaults(engine, role, bucket, workflow, defaults string) string {
	return testAccWorkflowConfig(engine, role, bucket, workflow, "function_defaults = {\n"+defaults+"\n}")
}

// Operators take the workflow's function_defaults for what they do not
// set; a changed default reaches their functions through the workflow's
// update alone, and never shows on an operator.
func TestAccWorkflow_functionDefaults(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	defaults := func(retention int, kms string) string {
		return fmt.Sprintf(`tracing_mode = "Active"
    logging = { log_format = "JSON", log_retention_days = %d }
    kms_key_arn = %q
    reserved_concurrency = 2`, retention, kms)
	}
	cfg := func(d string) string {
		return testAccWorkflowDefaults(eng, role, bucket, wf, d) +
			testAccOperator("plain", src, "256", `environment = { MODE = "batch" }`) +
			testAccOperator("own", src, "256", "tracing_mode = \"PassThrough\"\n  logging = { log_retention_days = 30 }")
	}
	plain, own := "aqueduct_operator.plain", "aqueduct_operator.own"
	fnPlain := func() string { return testFunctionName(eng, wf, "plain") }
	fnOwn := func() string { return testFunctionName(eng, wf, "own") }
	c := testClients(t)
	ctx := context.Background()
	unset := []statecheck.StateCheck{
		// An operator's attributes hold only what it sets.
		statecheck.ExpectKnownValue(plain, tfjsonpath.New("tracing_mode"), knownvalue.Null()),
		statecheck.ExpectKnownValue(plain, tfjsonpath.New("logging"), knownvalue.Null()),
		statecheck.ExpectKnownValue(plain, tfjsonpath.New("kms_key_arn"), knownvalue.Null()),
		statecheck.ExpectKnownValue(plain, tfjsonpath.New("reserved_concurrency"), knownvalue.Null()),
		statecheck.ExpectKnownValue(own, tfjsonpath.New("tracing_mode"), knownvalue.StringExact("PassThrough")),
		statecheck.ExpectKnownValue(own, tfjsonpath.New("kms_key_arn"), knownvalue.Null()),
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(testAccCheckPipelineGone(t, eng, bucket), testAccCheckLogGroupGone(t, fnPlain), testAccCheckLogGroupGone(t, fnOwn)),
		Steps: []resource.TestStep{
			{
				Config:            cfg(defaults(14, testKMS1)),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: unset,
				Check: resource.ComposeTestCheckFunc(
					testAccCheckSettings(t, fnPlain, wantSettings{tracing: "Active", format: "JSON", appLevel: "INFO", sysLevel: "INFO", kms: testKMS1, reserved: aws.Int32(2), retention: 14}),
					testAccCheckSettings(t, fnOwn, wantSettings{tracing: "PassThrough", format: "Text", kms: testKMS1, reserved: aws.Int32(2), retention: 30}),
				),
			},
			{
				// A changed default is the workflow's update only.
				Config: cfg(defaults(7, testKMS2)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("aqueduct_workflow.test", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(plain, plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(own, plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: unset,
				Check: resource.ComposeTestCheckFunc(
					testAccCheckSettings(t, fnPlain, wantSettings{tracing: "Active", format: "JSON", appLevel: "INFO", sysLevel: "INFO", kms: testKMS2, reserved: aws.Int32(2), retention: 7}),
					// The push sends the settings only: memory, role and environment are untouched.
					testAccCheckFunction(t, fnPlain, 256),
					func(*terraform.State) error {
						out, err := c.Lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fnPlain())})
						if err != nil {
							return err
						}
						if out.Environment == nil || out.Environment.Variables["MODE"] != "batch" {
							return fmt.Errorf("environment after the defaults' push: %+v, want MODE=batch", out.Environment)
						}
						return nil
					},
					testAccCheckSettings(t, fnOwn, wantSettings{tracing: "PassThrough", format: "Text", kms: testKMS2, reserved: aws.Int32(2), retention: 30}),
				),
			},
			{
				// Drift from a default shows on the operator and is set back.
				PreConfig: func() {
					if _, err := c.Lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
						FunctionName: aws.String(fnPlain()), TracingConfig: &lambdatypes.TracingConfig{Mode: lambdatypes.TracingModePassThrough},
					}); err != nil {
						t.Fatal(err)
					}
					waitUpdated(t, fnPlain())
				},
				Config: cfg(defaults(7, testKMS2)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(plain, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(own, plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: testAccCheckSettings(t, fnPlain, wantSettings{tracing: "Active", format: "JSON", appLevel: "INFO", sysLevel: "INFO", kms: testKMS2, reserved: aws.Int32(2), retention: 7}),
			},
			{
				ResourceName:      "aqueduct_workflow.test",
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				ResourceName:            plain,
				ImportState:             true,
				ImportStateId:           wf + "/plain",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Removing the defaults goes back to Lambda's, in place.
				Config: testAccPipeline(eng, role, bucket, wf) + testAccOperator("plain", src, "256", `environment = { MODE = "batch" }`) +
					testAccOperator("own", src, "256", "tracing_mode = \"PassThrough\"\n  logging = { log_retention_days = 30 }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("aqueduct_workflow.test", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(plain, plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(
					testAccCheckSettings(t, fnPlain, wantSettings{tracing: "PassThrough", format: "Text"}),
					testAccCheckSettings(t, fnOwn, wantSettings{tracing: "PassThrough", format: "Text", retention: 30}),
				),
			},
		},
	})
}

// Bad defaults fail at plan time with the operator's own checks, naming
// the attribute, the value and the limit.
func TestAccWorkflow_functionDefaultsBadInput(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	step := func(d, want string) resource.TestStep {
		want = strings.ReplaceAll(want, " ", `\s+`)
		return resource.TestStep{Config: testAccWorkflowDefaults(eng, role, bucket, wf, d), PlanOnly: true, ExpectError: regexp.MustCompile(want)}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(`logging = { log_retention_days = 10 }`, `(?s)function_defaults.logging.log_retention_days value must be one of: \["1" "3" "5" "7" "14" "30".*"3653"\], got: 10`),
			step(`tracing_mode = "On"`, `(?s)function_defaults.tracing_mode.*value must be one of: \["Active" "PassThrough"\], got: "On"`),
			step(`reserved_concurrency = -1`, `(?s)function_defaults.reserved_concurrency.*must be at least 0, got: -1`),
			step(`logging = { application_log_level = "DEBUG" }`, `(?s)application_log_level = "DEBUG" is set, but .*log_format is "Text"`),
		},
	})
}
