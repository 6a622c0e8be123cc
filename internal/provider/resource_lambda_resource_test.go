package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
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
