package provider

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestTagsConfig_environment(t *testing.T) {
	t.Setenv("TF_AWS_DEFAULT_TAGS_env", "dev")
	t.Setenv("TF_AWS_DEFAULT_TAGS_cost", "ml")
	t.Setenv("TF_AWS_IGNORE_TAGS_KEYS", "owner, team")
	t.Setenv("TF_AWS_IGNORE_TAGS_KEY_PREFIXES", "kubernetes.io/")
	ctx := context.Background()
	block, _ := types.MapValueFrom(ctx, types.StringType, map[string]string{"env": "prod"})
	var diags diag.Diagnostics
	c := tagsConfig(ctx, &defaultTagsModel{Tags: block}, nil, &diags)
	if diags.HasError() {
		t.Fatal(diags)
	}
	// The block wins over the environment, key by key.
	if !maps.Equal(c.Default, map[string]string{"env": "prod", "cost": "ml"}) {
		t.Errorf("default tags = %v", c.Default)
	}
	if !c.Ignored("owner") || !c.Ignored("team") || !c.Ignored("kubernetes.io/cluster") || c.Ignored("env") {
		t.Errorf("ignore: keys %v prefixes %v", c.IgnoreKeys, c.IgnoreKeyPrefixes)
	}

	t.Setenv("TF_AWS_DEFAULT_TAGS_aqueduct:x", "y")
	diags = nil
	tagsConfig(ctx, nil, nil, &diags)
	if !diags.HasError() || !strings.Contains(diags.Errors()[0].Detail(), "TF_AWS_DEFAULT_TAGS_aqueduct:x") {
		t.Errorf("a reserved key in the environment: %v", diags)
	}
}

// testAccTagsConfig is an engine that runs on Step Functions, a workflow, one
// operator and a run of it, each with its own tags, under the provider's
// default_tags and ignore_tags.
func testAccTagsConfig(eng, role, orch, bucket, wf, src, defaults string) string {
	return fmt.Sprintf(`
provider "aqueduct" {
  default_tags {
    tags = { %[7]s }
  }
  ignore_tags {
    keys = ["owner-team"]
  }
}

resource "aqueduct_lambda_resource" "test" {
  name                   = %[1]s
  role_arn               = %[2]s
  orchestration_role_arn = %[3]s
  artifact_store {
    s3_bucket = %[4]s
  }
  tags = { repo = "images" }
}

resource "aqueduct_workflow" "test" {
  name   = %[5]s
  engine = aqueduct_lambda_resource.test.id
  tags   = { pipeline = "iris" }
}

resource "aqueduct_operator" "a" {
  workflow_id = aqueduct_workflow.test.id
  name        = "a"
  source      = %[6]s
  function    = "a:run"
  base_image  = %[8]s
  memory      = 256
  tags        = { env = "prod" }
}

data "aqueduct_invocation" "run" {
  artifacts = [aqueduct_operator.a.artifact]
}
`, hcl(eng), hcl(role), hcl(orch), hcl(bucket), hcl(wf), hcl(src), defaults, hcl(testLocalBaseImage))
}

// testAWSTags reads the tags of the function, its log group, the
// repository and the runs state machine of the tags test back from the
// emulator.
func testAWSTags(t *testing.T, eng, wf string) (fn, logGroup, repo, machine map[string]string) {
	t.Helper()
	ctx, c := context.Background(), testClients(t)
	f, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(testFunctionName(eng, wf, "a"))})
	if err != nil {
		t.Fatal(err)
	}
	fnTags, err := c.Lambda.ListTags(ctx, &lambda.ListTagsInput{Resource: f.Configuration.FunctionArn})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"aqueduct/" + eng}})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := c.ECR.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: d.Repositories[0].RepositoryArn})
	if err != nil {
		t.Fatal(err)
	}
	repo = map[string]string{}
	for _, tag := range rt.Tags {
		repo[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	machine = map[string]string{}
	machines := testRunMachines(t, eng, wf)
	if len(machines) != 1 {
		t.Fatalf("%d runs state machines, want 1", len(machines))
	}
	st, err := c.SFN.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: aws.String(machines[0])})
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range st.Tags {
		machine[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	lg, err := c.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{
		ResourceArn: aws.String("arn:aws:logs:us-east-1:" + testAccount + ":log-group:/aws/lambda/" + testFunctionName(eng, wf, "a")),
	})
	if err != nil {
		t.Fatal(err)
	}
	return fnTags.Tags, lg.Tags, repo, machine
}

// testHas checks that got holds want, and names what AWS holds otherwise.
func testHas(what string, got, want map[string]string) error {
	for k, v := range want {
		if got[k] != v {
			return fmt.Errorf("%s: tag %q = %q, want %q (all: %v)", what, k, got[k], v, got)
		}
	}
	return nil
}

func testSetFunctionTags(t *testing.T, eng, wf string, set map[string]string) {
	t.Helper()
	ctx, c := context.Background(), testClients(t)
	f, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(testFunctionName(eng, wf, "a"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lambda.TagResource(ctx, &lambda.TagResourceInput{Resource: f.Configuration.FunctionArn, Tags: set}); err != nil {
		t.Fatal(err)
	}
}

// default_tags and each resource's tags reach the function, the repository
// and the state machine of a run; a changed default tag updates them in
// place; a tag changed outside Terraform is drift unless ignore_tags names
// it; import keeps the tags.
func TestAccTags_defaultTagsReachEveryObject(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"a.py": "def run():\n    return 1\n"})
	cfg := func(defaults string) string { return testAccTagsConfig(eng, role, orch, bucket, wf, src, defaults) }
	op, repo, flow := "aqueduct_operator.a", "aqueduct_lambda_resource.test", "aqueduct_workflow.test"
	tagsAll := func(addr string, m map[string]string) statecheck.StateCheck {
		want := map[string]knownvalue.Check{}
		for k, v := range m {
			want[k] = knownvalue.StringExact(v)
		}
		return statecheck.ExpectKnownValue(addr, tfjsonpath.New("tags_all"), knownvalue.MapExact(want))
	}
	awsHas := func(fnWant, repoWant, machineWant map[string]string, gone ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			fn, lg, r, m := testAWSTags(t, eng, wf)
			for _, k := range gone {
				for what, tags := range map[string]map[string]string{"function": fn, "log group": lg, "repository": r, "state machine": m} {
					if _, ok := tags[k]; ok {
						return fmt.Errorf("%s: tag %q was removed from default_tags but stays: %v", what, k, tags)
					}
				}
			}
			if repoWant != nil { // the steps that change tags through Terraform
				if err := testHas("log group", lg, fnWant); err != nil {
					return err
				}
			}
			if fn["aqueduct:owner"] == "" || r["aqueduct:engine"] != eng || m["aqueduct:kind"] != "runs" {
				return fmt.Errorf("the provider's own tags are gone: function %v, repository %v, machine %v", fn, r, m)
			}
			if err := testHas("function", fn, fnWant); err != nil {
				return err
			}
			if err := testHas("repository", r, repoWant); err != nil {
				return err
			}
			return testHas("state machine", m, machineWant)
		}
	}
	update := func(addrs ...string) []plancheck.PlanCheck {
		var out []plancheck.PlanCheck
		for _, a := range addrs {
			out = append(out, plancheck.ExpectResourceAction(a, plancheck.ResourceActionUpdate))
		}
		return out
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckPipelineGone(t, eng, bucket),
		Steps: []resource.TestStep{
			{
				Config: cfg(`cost-center = "ml", env = "dev", temp = "1"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Known at plan time: the defaults merged under the resource's own.
					plancheck.ExpectKnownValue(op, tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"cost-center": knownvalue.StringExact("ml"), "env": knownvalue.StringExact("prod"), "temp": knownvalue.StringExact("1"),
					})),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					tagsAll(op, map[string]string{"cost-center": "ml", "env": "prod", "temp": "1"}),
					tagsAll(repo, map[string]string{"cost-center": "ml", "env": "dev", "repo": "images", "temp": "1"}),
					tagsAll(flow, map[string]string{"cost-center": "ml", "env": "dev", "pipeline": "iris", "temp": "1"}),
					statecheck.ExpectKnownValue("data.aqueduct_invocation.run", tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
				},
				Check: awsHas(
					map[string]string{"cost-center": "ml", "env": "prod"},
					map[string]string{"cost-center": "ml", "env": "dev", "repo": "images"},
					map[string]string{"cost-center": "ml", "env": "dev", "pipeline": "iris"}),
			},
			{
				Config:           cfg(`cost-center = "ml", env = "dev", temp = "1"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// A changed default tag is an in-place update of each object, never a
				// replace; a removed one leaves every object.
				Config:           cfg(`cost-center = "ai", env = "dev"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: update(op, repo, flow)},
				Check: awsHas(
					map[string]string{"cost-center": "ai", "env": "prod"},
					map[string]string{"cost-center": "ai", "repo": "images"},
					map[string]string{"cost-center": "ai", "pipeline": "iris"}, "temp"),
			},
			{
				// Changed outside Terraform: a managed tag is drift, set back in
				// place; an ignored one is neither drift nor removed.
				PreConfig: func() {
					testSetFunctionTags(t, eng, wf, map[string]string{"env": "tampered", "owner-team": "data"})
				},
				Config:           cfg(`cost-center = "ai", env = "dev"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: update(op)},
				Check:            awsHas(map[string]string{"env": "prod", "owner-team": "data"}, nil, nil),
			},
			{
				PreConfig: func() {
					testSetFunctionTags(t, eng, wf, map[string]string{"owner-team": "platform"})
				},
				Config:           cfg(`cost-center = "ai", env = "dev"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            awsHas(map[string]string{"owner-team": "platform"}, nil, nil),
			},
			{
				ResourceName:            op,
				ImportState:             true,
				ImportStateId:           wf + "/a",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				ResourceName:      repo,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				ResourceName:      flow,
				ImportState:       true,
				ImportStateId:     wf,
				ImportStateVerify: true,
			},
		},
	})
}

// Tags AWS would refuse fail at plan time, naming the tag and the limit.
func TestAccTags_badTagsFailAtPlan(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	pipeline := testAccPipeline(testName("eng"), role, bucket, testName("wf"))
	step := func(provider, tags, want string) resource.TestStep {
		return resource.TestStep{
			Config:      provider + pipeline + testAccOperator("a", src, `"1GB"`, "tags = {"+tags+"}"),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(want),
		}
	}
	var many, defaults []string
	for i := 0; i < 40; i++ {
		defaults = append(defaults, fmt.Sprintf("d%02d = \"v\"", i))
	}
	for i := 0; i < 7; i++ {
		many = append(many, fmt.Sprintf("t%02d = \"v\"", i))
	}
	withDefaults := `provider "aqueduct" {
  default_tags {
    tags = {` + strings.Join(defaults, ", ") + `}
  }
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step("", hcl(strings.Repeat("k", 129))+` = "v"`, `(?s)tag\s+key\s+"k+"\s+is\s+129\s+characters;\s+AWS\s+allows\s+1\s+to\s+128`),
			step("", `team = "`+strings.Repeat("v", 257)+`"`, `(?s)value\s+of\s+tag\s+"team"\s+is\s+257\s+characters;\s+AWS\s+allows\s+0\s+to\s+256`),
			step("", `"aws:cost" = "x"`, `(?s)"aws:cost"\s+starts\s+with\s+"aws:",\s+which\s+AWS\s+reserves`),
			step("", `"aqueduct:owner" = "x"`, `(?s)"aqueduct:owner"\s+starts\s+with\s+"aqueduct:",\s+which\s+the\s+provider\s+reserves`),
			// 40 defaults and 7 of its own are 47, and the function carries 4 of the provider's.
			step(withDefaults, strings.Join(many, ", "), `(?s)47\s+tags.*provider's\s+4\s+internal\s+tags\s+make\s+51;\s+AWS\s+allows\s+50`),
			step(`provider "aqueduct" {
  default_tags {
    tags = { "aqueduct:engine" = "x" }
  }
}
`, "", `(?s)Invalid tag.*tags = \{ "aqueduct:engine" = "x" \}.*"aqueduct:engine"\s+starts\s+with\s+"aqueduct:"`),
		},
	})
}

// A schedule's tags go on its state machine, in place; the schedule itself
// takes none (EventBridge Scheduler tags schedule groups only).
func TestAccTags_scheduleStateMachine(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"a.py": "def run():\n    return 1\n"})
	ops := fmt.Sprintf(`
provider "aqueduct" {
  default_tags {
    tags = { env = "dev" }
  }
}

resource "aqueduct_operator" "a" {
  workflow_id = aqueduct_workflow.test.id
  name        = "a"
  source      = var.src
  function    = "a:run"
  base_image  = %s
  memory      = 256
}
`, hcl(testLocalBaseImage))
	cfg := func(team string) string {
		return testAccScheduledPipeline(eng, role, orch, bucket, wf, src, ops, `
resource "aqueduct_schedule" "nightly" {
  name                = "nightly"
  artifacts           = [aqueduct_operator.a.artifact]
  schedule_expression = "rate(1 day)"
  tags                = { team = "`+team+`" }
}
`)
	}
	addr := "aqueduct_schedule.nightly"
	machine := testScheduleMachine(testScheduleID(eng, wf, "nightly"))
	machineHas := func(want map[string]string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out, err := testClients(t).SFN.ListTagsForResource(context.Background(), &sfn.ListTagsForResourceInput{ResourceArn: aws.String(machine)})
			if err != nil {
				return err
			}
			got := map[string]string{}
			for _, tag := range out.Tags {
				got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			if got["aqueduct:kind"] != "schedule" {
				return fmt.Errorf("the provider's own tags are gone: %v", got)
			}
			return testHas("schedule state machine", got, want)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckNoStateMachines(t, eng),
		Steps: []resource.TestStep{
			{
				Config: cfg("ml"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"env": knownvalue.StringExact("dev"), "team": knownvalue.StringExact("ml"),
					})),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            machineHas(map[string]string{"env": "dev", "team": "ml"}),
			},
			{
				Config:           cfg("research"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}},
				Check:            machineHas(map[string]string{"env": "dev", "team": "research"}),
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
		},
	})
}
