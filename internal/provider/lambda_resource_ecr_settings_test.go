package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/ecrpolicy"
)

// testAccCheckRepoSettings reads the repository back from the emulator.
func testAccCheckRepoSettings(t *testing.T, repo, mutability string, scan bool, days int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		api := testClients(t).ECR
		ctx := context.Background()
		d, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
		if err != nil {
			return err
		}
		r := d.Repositories[0]
		if string(r.ImageTagMutability) != mutability || r.ImageScanningConfiguration == nil || r.ImageScanningConfiguration.ScanOnPush != scan {
			return fmt.Errorf("repository %s is %s, scanOnPush %v; want %s, %v", repo, r.ImageTagMutability, r.ImageScanningConfiguration, mutability, scan)
		}
		p, err := api.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repo)})
		var got int
		if err == nil {
			got, _ = ecrpolicy.Days(aws.ToString(p.LifecyclePolicyText))
		}
		if got != days {
			return fmt.Errorf("repository %s expires untagged images after %d days (policy err %v), want %d", repo, got, err, days)
		}
		return nil
	}
}

func TestAccLambdaResource_ecrSettingsDefaultsAndInPlaceChanges(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	name := testName("ecrset")
	repo := "aqueduct/" + name
	const addr = "aqueduct_lambda_resource.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckRepositoryGone(t, repo),
		Steps: []resource.TestStep{
			{
				// Defaults: immutable tags, no scanning, untagged images expire after 14 days.
				Config: testAccLambdaResourceConfig(name, role, bucket, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("image_tag_mutability"), knownvalue.StringExact("IMMUTABLE")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("untagged_image_expiry_days"), knownvalue.Int64Exact(14)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("image_scanning"), knownvalue.Null()),
				},
				Check: testAccCheckRepoSettings(t, repo, "IMMUTABLE", false, 14),
			},
			{
				Config:           testAccLambdaResourceConfig(name, role, bucket, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// All three change in place.
				Config: testAccLambdaResourceConfig(name, role, bucket, `
  image_tag_mutability       = "MUTABLE"
  untagged_image_expiry_days = 3
  image_scanning {
    scan_on_push = true
  }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("image_scanning").AtMapKey("scan_on_push"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("untagged_image_expiry_days"), knownvalue.Int64Exact(3)),
				},
				Check: testAccCheckRepoSettings(t, repo, "MUTABLE", true, 3),
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"force_destroy"},
			},
			{
				// Drift made outside Terraform shows up and is put back.
				PreConfig: func() {
					api := testClients(t).ECR
					if _, err := api.PutImageTagMutability(context.Background(), &ecr.PutImageTagMutabilityInput{
						RepositoryName: aws.String(repo), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccLambdaResourceConfig(name, role, bucket, `
  image_tag_mutability       = "MUTABLE"
  untagged_image_expiry_days = 0
  image_scanning {
    scan_on_push = true
  }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}},
				Check:            testAccCheckRepoSettings(t, repo, "MUTABLE", true, 0),
			},
		},
	})
}

func TestAccLambdaResource_ecrSettingsBadInputFailsAtPlan(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	name := testName("ecrbad")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      testAccLambdaResourceConfig(name, role, bucket, `untagged_image_expiry_days = -1`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)untagged_image_expiry_days.*between 0 and 3650,\s+got:\s+-1`),
			},
			{
				Config:      testAccLambdaResourceConfig(name, role, bucket, `untagged_image_expiry_days = 4000`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)untagged_image_expiry_days.*between 0 and 3650,\s+got:\s+4000`),
			},
			{
				Config:      testAccLambdaResourceConfig(name, role, bucket, `image_tag_mutability = "SOMETIMES"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)image_tag_mutability.*IMMUTABLE.*MUTABLE.*SOMETIMES`),
			},
		},
	})
}
