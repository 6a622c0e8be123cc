package provider

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/fixtures"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func testAccLambdaResourceConfig(name, role, bucket, extra string) string {
	return fmt.Sprintf(`
resource "aqueduct_lambda_resource" "test" {
  name     = %s
  role_arn = %s
  artifact_store {
    s3_bucket = %s
  }
  %s
}
`, hcl(name), hcl(role), hcl(bucket), extra)
}

func TestAccLambdaResource_lifecycle(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	name := testName("eng")
	repo := "aqueduct/" + name
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckRepositoryGone(t, repo),
		Steps: []resource.TestStep{
			{
				Config: testAccLambdaResourceConfig(name, role, bucket, `tags = { team = "ml" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("aqueduct_lambda_resource.test", plancheck.ResourceActionCreate),
						plancheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("id"), knownvalue.StringExact("us-east-1:"+repo)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("id"), knownvalue.StringExact("us-east-1:"+repo)),
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("region"), knownvalue.StringExact("us-east-1")),
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("account_id"), knownvalue.StringExact("000000000000")),
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("repository_created"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("repository_url"), knownvalue.StringRegexp(regexp.MustCompile(`^127\.0\.0\.1:\d+/`+regexp.QuoteMeta(repo)+`$`))),
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("artifact_store").AtMapKey("prefix"), knownvalue.StringExact("aqueduct")),
				},
			},
			{
				// Re-plan of the same config is empty.
				Config: testAccLambdaResourceConfig(name, role, bucket, `tags = { team = "ml" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// Tags change in place.
				Config: testAccLambdaResourceConfig(name, role, bucket, `tags = { team = "platform" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("aqueduct_lambda_resource.test", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{"team": knownvalue.StringExact("platform")})),
				},
			},
			{
				ResourceName:      "aqueduct_lambda_resource.test",
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// A new artifact prefix replaces the engine.
				Config: fmt.Sprintf(`
resource "aqueduct_lambda_resource" "test" {
  name     = %s
  role_arn = %s
  artifact_store {
    s3_bucket = %s
    prefix    = "ml/pipelines"
  }
  tags = { team = "platform" }
}`, hcl(name), hcl(role), hcl(bucket)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("aqueduct_lambda_resource.test", plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("artifact_store").AtMapKey("prefix"), knownvalue.StringExact("ml/pipelines")),
				},
			},
		},
	})
}

func TestAccLambdaResource_repositoryDeletedOutsideIsRecreated(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	name := testName("eng")
	repo := "aqueduct/" + name
	cfg := testAccLambdaResourceConfig(name, role, bucket, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckRepositoryGone(t, repo),
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() {
					_, err := testClients(t).ECR.DeleteRepository(context.Background(), &ecr.DeleteRepositoryInput{RepositoryName: aws.String(repo), Force: true})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("aqueduct_lambda_resource.test", plancheck.ResourceActionCreate)},
				},
			},
		},
	})
}

func TestAccLambdaResource_existingRepositoryIsKept(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	name := testName("eng")
	repo := "team/" + name
	c := testClients(t)
	if _, err := c.ECR.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			out, err := c.ECR.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
			if err != nil || len(out.Repositories) != 1 {
				return fmt.Errorf("the pre-existing repository %q must survive destroy: %v", repo, err)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: testAccLambdaResourceConfig(name, role, bucket, fmt.Sprintf("ecr_repository = %q", repo)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("repository_created"), knownvalue.Bool(false)),
			},
		}},
	})
}

func TestAccLambdaResource_badInput(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	c := testClients(t)
	untrusted := testName("untrusted-")
	out, err := c.IAM.CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName:                 aws.String(untrusted),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      testAccLambdaResourceConfig("x", "not-an-arn", bucket, ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)role_arn.*must be an IAM role ARN`),
			},
			{
				Config:      testAccLambdaResourceConfig("Bad Name", role, bucket, ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)name.*lowercase letters`),
			},
			{
				Config:      `resource "aqueduct_lambda_resource" "test" {` + "\n" + `name = "x"` + "\n" + fmt.Sprintf("role_arn = %q\n}", role),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`artifact_store`),
			},
			{
				Config:      testAccLambdaResourceConfig(testName("eng"), "arn:aws:iam::000000000000:role/does-not-exist", bucket, ""),
				ExpectError: regexp.MustCompile(`(?s)does-not-exist.*does not exist`),
			},
			{
				Config:      testAccLambdaResourceConfig(testName("eng"), aws.ToString(out.Role.Arn), bucket, ""),
				ExpectError: regexp.MustCompile(`does not trust lambda.amazonaws.com`),
			},
			{
				Config:      testAccLambdaResourceConfig(testName("eng"), role, "no-such-bucket-here", ""),
				ExpectError: regexp.MustCompile(`(?s)no-such-bucket-here`),
			},
		},
	})
}

// testAccCheckRepositoryGone checks that destroy deleted the repository.
func testAccCheckRepositoryGone(t *testing.T, repo string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		_, err := testClients(t).ECR.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
		if err == nil {
			return fmt.Errorf("repository %q still exists after destroy", repo)
		}
		return nil
	}
}

// Engine "hx-a" with workflow "b-c" and engine "hx-a-b" with workflow "c"
// joined to one function name before. Derived names now hash the whole
// tuple: both pipelines apply, side by side on one bucket and prefix, and
// neither's objects mix with the other's.
func TestAccLambdaResource_namesThatJoinAlikeDoNotCollide(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	base := testName("hx")
	engA, wfA := base+"-a", "b-c"
	engB, wfB := base+"-a-b", "c"
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	stack := func(key, eng, wf string) string {
		return fmt.Sprintf(`
resource "aqueduct_lambda_resource" %[1]q {
  name     = %[2]q
  role_arn = %[3]q
  artifact_store {
    s3_bucket = %[4]q
  }
}

resource "aqueduct_workflow" %[1]q {
  name   = %[5]q
  engine = aqueduct_lambda_resource.%[1]s.id
}

resource "aqueduct_operator" %[1]q {
  workflow_id = aqueduct_workflow.%[1]s.id
  name        = "op"
  source      = %[6]q
  function    = "main:handler"
  base_image  = %[7]q
  memory      = 256
}
`, key, eng, role, bucket, wf, src, testLocalBaseImage)
	}
	cfg := stack("a", engA, wfA) + stack("b", engB, wfB)
	fnA, fnB := testFunctionName(engA, wfA, "op"), testFunctionName(engB, wfB, "op")
	if fnA == fnB {
		t.Fatalf("both operators derive function %s", fnA)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			testAccCheckPipelineGone(t, engA, bucket), testAccCheckPipelineGone(t, engB, bucket)),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("aqueduct_operator.a", tfjsonpath.New("function_name"), knownvalue.StringExact(fnA)),
					statecheck.ExpectKnownValue("aqueduct_operator.b", tfjsonpath.New("function_name"), knownvalue.StringExact(fnB)),
					statecheck.CompareValuePairs("aqueduct_workflow.a", tfjsonpath.New("manifest_uri"), "aqueduct_workflow.b", tfjsonpath.New("manifest_uri"), compare.ValuesDiffer()),
				},
				Check: func(*terraform.State) error {
					for eng, want := range map[string][]string{engA: {fnA}, engB: {fnB}} {
						if got := testEngineFunctions(t, eng); fmt.Sprint(got) != fmt.Sprint(want) {
							return fmt.Errorf("engine %s has functions %v, want %v", eng, got, want)
						}
					}
					// Each engine's objects are under its own root, and only there.
					for eng, wf := range map[string]string{engA: wfA, engB: wfB} {
						keys := testKeys(t, bucket, testEngineRoot(eng)+"/")
						want := []string{"workflows/" + wf + "/operators/op.json", "workflows/" + wf + "/workflow.json"}
						var got []string
						for _, k := range keys {
							if rel := strings.TrimPrefix(k, testEngineRoot(eng)+"/"); strings.HasPrefix(rel, "workflows/") {
								got = append(got, rel)
							}
						}
						if fmt.Sprint(got) != fmt.Sprint(want) {
							return fmt.Errorf("engine %s holds %v, want %v", eng, got, want)
						}
					}
					return nil
				},
			},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{
				// Destroying one engine's pipeline leaves the other's whole.
				Config: stack("b", engB, wfB),
				Check: func(*terraform.State) error {
					if err := testAccCheckPipelineGone(t, engA, bucket)(nil); err != nil {
						return err
					}
					if got := testEngineFunctions(t, engB); len(got) != 1 {
						return fmt.Errorf("engine %s lost its function: %v", engB, got)
					}
					if len(testKeys(t, bucket, testEngineRoot(engB)+"/workflows/")) != 2 {
						return fmt.Errorf("engine %s lost its manifests", engB)
					}
					return nil
				},
			},
		},
	})
}

// testKeys lists the keys under prefix, sorted.
func testKeys(t *testing.T, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(testClients(t).S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}

// A repository another engine records on its tags is not adopted: Create
// refuses and names that engine.
func TestAccLambdaResource_repositoryOfAnotherEngineIsRefused(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	first, second := testName("first"), testName("second")
	repo := "shared/" + testName("repo")
	engine := func(key, name string) string {
		return fmt.Sprintf(`
resource "aqueduct_lambda_resource" %q {
  name           = %q
  role_arn       = %q
  ecr_repository = %q
  artifact_store {
    s3_bucket = %q
  }
}
`, key, name, role, repo, bucket)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckRepositoryGone(t, repo),
		Steps: []resource.TestStep{
			{Config: engine("first", first)},
			{
				Config:      engine("first", first) + engine("second", second),
				ExpectError: regexp.MustCompile(`(?s)already\s+belongs\s+to\s+engine\s+"` + first + `"`),
			},
		},
	})
}

// An execution role created moments before the engine (IAM has not
// propagated it yet) is waited for, not reported missing.
func TestAccLambdaResource_roleCreatedMomentsEarlierIsWaitedFor(t *testing.T) {
	testAccPreCheck(t)
	_, bucket := testFixtures(t)
	roleName := testName("late-")
	arn := "arn:aws:iam::" + testAccount + ":role/" + roleName
	c := testClients(t)
	created := make(chan error, 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: func() {
				go func() {
					time.Sleep(3 * time.Second)
					_, _, err := fixtures.Clients{IAM: c.IAM, S3: c.S3, STS: c.STS}.EnsureRole(context.Background(), roleName)
					created <- err
				}()
			},
			Config: testAccLambdaResourceConfig(testName("eng"), arn, bucket, ""),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("role_arn"), knownvalue.StringExact(arn)),
			},
			Check: func(*terraform.State) error { return <-created },
		}},
	})
}

// The orchestration role is checked for both trusts when set or changed,
// read back from the repository's tags, and removable in place.
func TestAccLambdaResource_orchestrationRole(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	name := testName("eng")
	addr := "aqueduct_lambda_resource.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The Lambda role trusts Lambda only.
				Config:      testAccLambdaResourceConfig(name, role, bucket, "orchestration_role_arn = "+hcl(role)),
				ExpectError: regexp.MustCompile(`(?s)Unusable orchestration role.*states\.amazonaws\.com`),
			},
			{
				Config:      testAccLambdaResourceConfig(name, role, bucket, `orchestration_role_arn = "arn:aws:iam::000000000000:user/bob"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)orchestration_role_arn.*must be an IAM role ARN`),
			},
			{
				Config: testAccLambdaResourceConfig(name, role, bucket, "orchestration_role_arn = "+hcl(orch)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("orchestration_role_arn"), knownvalue.StringExact(orch)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				Config: testAccLambdaResourceConfig(name, role, bucket, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("orchestration_role_arn"), knownvalue.Null()),
				},
			},
		},
	})
}
