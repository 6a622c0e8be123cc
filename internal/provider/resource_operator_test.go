package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
)

// testAccPipeline is an engine and a workflow; operators are appended.
func testAccPipeline(engine, role, bucket, workflow string) string {
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
}
`, hcl(engine), hcl(role), hcl(bucket), hcl(workflow))
}

// testLineage is a well-formed lineage for handles written as literals.
var testLineage = "sha256:" + strings.Repeat("ab", 32)

func testAccOperator(name, source, memory, extra string) string {
	return fmt.Sprintf(`
resource "aqueduct_operator" %s {
  workflow_id = aqueduct_workflow.test.id
  name        = %s
  source      = %s
  function    = "main:handler"
  base_image  = %s
  memory      = %s
  %s
}
`, hcl(name), hcl(name), hcl(source), hcl(testLocalBaseImage), memory, extra)
}

func TestAccOperator_lifecycle(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return {'answer': 42}\n"})
	pipeline := testAccPipeline(eng, role, bucket, wf)
	cfg := func(memory, extra string) string { return pipeline + testAccOperator("train", src, memory, extra) }
	addr := "aqueduct_operator.train"
	imageSame := statecheck.CompareValue(compare.ValuesSame())
	imageDiffer := statecheck.CompareValue(compare.ValuesDiffer())
	fnName := func() string { return testFunctionName(eng, wf, "train") }
	c := testClients(t)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckPipelineGone(t, eng, bucket),
		Steps: []resource.TestStep{
			{
				Config: cfg(`"1GB"`, `environment = { MODE = "train" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("source_hash"), knownvalue.StringRegexp(regexp.MustCompile(`^sha256:[0-9a-f]{64}$`))),
						plancheck.ExpectUnknownValue(addr, tfjsonpath.New("image_uri")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("image_uri"), knownvalue.StringRegexp(regexp.MustCompile(`^127\.0\.0\.1:\d+/aqueduct/`+eng+`@sha256:[0-9a-f]{64}$`))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory"), knownvalue.StringExact("1GB")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("function_name"), knownvalue.StringExact(fnName())),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact("us-east-1:aqueduct/"+eng+"/"+wf+"/train")),
					imageSame.AddStateValue(addr, tfjsonpath.New("image_uri")),
					imageDiffer.AddStateValue(addr, tfjsonpath.New("image_uri")),
				},
				Check: testAccCheckFunction(t, fnName, 1024),
			},
			{
				// The same files and config plan nothing; so does another spelling of the same memory.
				Config:           cfg(`1024`, `environment = { MODE = "train" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Memory alone is an in-place update without a build: same image.
				Config: cfg(`"2GB"`, `environment = { MODE = "train" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("image_uri"), knownvalue.NotNull()),
				}},
				ConfigStateChecks: []statecheck.StateCheck{imageSame.AddStateValue(addr, tfjsonpath.New("image_uri"))},
				Check:             testAccCheckFunction(t, fnName, 2048),
			},
			{
				// One changed byte in the source rebuilds: a new digest.
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(src, "main.py"), []byte("def handler():\n    return {'answer': 43}\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg(`"2GB"`, `environment = { MODE = "train" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("image_uri")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{imageDiffer.AddStateValue(addr, tfjsonpath.New("image_uri"))},
			},
			{
				// Memory changed outside Terraform is drift, updated back.
				PreConfig: func() {
					_, err := c.Lambda.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fnName()), MemorySize: aws.Int32(256)})
					if err != nil {
						t.Fatal(err)
					}
					waitUpdated(t, fnName())
				},
				Config: cfg(`"2GB"`, `environment = { MODE = "train" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: testAccCheckFunction(t, fnName, 2048),
			},
			{
				// A function deleted outside Terraform is created again.
				PreConfig: func() {
					if _, err := c.Lambda.DeleteFunction(context.Background(), &lambda.DeleteFunctionInput{FunctionName: aws.String(fnName())}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg(`"2GB"`, `environment = { MODE = "train" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
				Check: testAccCheckFunction(t, fnName, 2048),
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           wf + "/train",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// The workflow imports by name.
				ResourceName:      "aqueduct_workflow.test",
				ImportState:       true,
				ImportStateId:     wf,
				ImportStateVerify: true,
			},
		},
	})
}

func TestAccOperator_badInput(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	pipeline := testAccPipeline(testName("eng"), role, bucket, testName("wf"))
	step := func(cfg, want string) resource.TestStep {
		return resource.TestStep{Config: pipeline + cfg, PlanOnly: true, ExpectError: regexp.MustCompile(want)}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(testAccOperator("a", src, `"16GB"`, ""), `memory "16GB" is 16384 MB; AWS Lambda allows 128 to 10240 MB`),
			step(testAccOperator("a", src, `"abc"`, ""), `(?s)memory.*"abc"`),
			step(testAccOperator("a", src, `"1GB"`, "timeout = 901"), `(?s)timeout.*between 1 and 900, got: 901`),
			step(testAccOperator("a", filepath.Join(src, "missing"), `"1GB"`, ""), `(?s)source.*missing`),
			step(strings.Replace(testAccOperator("a", src, `"1GB"`, ""), `"main:handler"`, `"main"`, 1), `(?s)function.*module:callable`),
			step(testAccOperator("a", src, `"1GB"`, `architecture = "riscv"`), `(?s)architecture.*value must be one of`),
			step(testAccOperator("a", src, `"1GB"`, `inputs = [aqueduct_operator.b.artifact]`)+testAccOperator("b", src, `"1GB"`, `inputs = [aqueduct_operator.a.artifact]`), `Cycle`),
			step(testAccOperator("a", src, `"1GB"`, `inputs = ["${aqueduct_workflow.test.id}/a@`+testLineage+`"]`), `operator "a" lists itself as an input`),
			step(testAccOperator("a", src, `"1GB"`, `inputs = ["us-east-1:aqueduct/other/wf/x@`+testLineage+`"]`), `(?s)is\s+an\s+operator\s+of\s+workflow\s+"us-east-1:aqueduct/other/wf"`),
			// An operator id is not a handle: the error shows the fix.
			step(testAccOperator("a", src, `"1GB"`, `inputs = [aqueduct_operator.b.id]`)+testAccOperator("b", src, `"1GB"`, ""), `(?s)is\s+the\s+id\s+of\s+operator\s+"b".*aqueduct_operator.b.artifact\s+instead\s+of\s+aqueduct_operator.b.id`),
			// Lambda's own variables are refused at plan time, not halfway through an apply.
			step(testAccOperator("a", src, `"1GB"`, `environment = { _HANDLER = "x" }`), `(?s)"_HANDLER"\s+is\s+set\s+by\s+Lambda\s+itself`),
			step(testAccOperator("a", src, `"1GB"`, `environment = { LAMBDA_TASK_ROOT = "/x" }`), `(?s)"LAMBDA_TASK_ROOT"\s+is\s+set\s+by\s+Lambda`),
			step(testAccOperator("a", src, `"1GB"`, `environment = { LAMBDA_RUNTIME_DIR = "/x" }`), `(?s)"LAMBDA_RUNTIME_DIR"\s+is\s+set\s+by\s+Lambda`),
			step(testAccOperator("a", src, `"1GB"`, `environment = { AWS_REGION = "x" }`), `(?s)"AWS_REGION"`),
			step(testAccOperator("a", src, `"1GB"`, `environment = { "MY-VAR" = "x" }`), `(?s)"MY-VAR".*letters,\s+digits\s+and\s+underscores`),
			step(testAccOperator("a", src, `"1GB"`, `environment = { BIG = "`+strings.Repeat("x", 4100)+`" }`), `(?s)take\s+4110\s+bytes;\s+Lambda\s+allows\s+4096`),
		},
	})
}

// testAccCheckFunction checks the function's memory as Lambda reports it.
func testAccCheckFunction(t *testing.T, name func() string, memoryMB int32) resource.TestCheckFunc {
	return func(*terraform.State) error {
		out, err := testClients(t).Lambda.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name())})
		if err != nil {
			return err
		}
		if aws.ToInt32(out.MemorySize) != memoryMB {
			return fmt.Errorf("function %s has %d MB, want %d", name(), aws.ToInt32(out.MemorySize), memoryMB)
		}
		if !strings.Contains(aws.ToString(out.Role), "role/exec-") {
			return fmt.Errorf("function %s runs as %s, want the engine's role", name(), aws.ToString(out.Role))
		}
		return nil
	}
}

func waitUpdated(t *testing.T, name string) {
	t.Helper()
	w := lambda.NewFunctionUpdatedV2Waiter(testClients(t).Lambda)
	if err := w.Wait(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 2*60e9); err != nil {
		t.Fatal(err)
	}
}

// testAccCheckPipelineGone checks that destroy left nothing behind: no
// function tagged for the engine, no repository, no objects in the engine's
// part of the bucket.
func testAccCheckPipelineGone(t *testing.T, eng, bucket string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClients(t)
		ctx := context.Background()
		if left := testEngineFunctions(t, eng); len(left) > 0 {
			return fmt.Errorf("functions %v are left after destroy", left)
		}
		if _, err := c.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"aqueduct/" + eng}}); err == nil {
			return fmt.Errorf("repository aqueduct/%s is left after destroy", eng)
		}
		objs, err := c.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(testEngineRoot(eng) + "/")})
		if err != nil {
			return err
		}
		if len(objs.Contents) > 0 {
			return fmt.Errorf("%d objects are left after destroy, e.g. %s", len(objs.Contents), aws.ToString(objs.Contents[0].Key))
		}
		return nil
	}
}

// testEngineFunctions lists the functions whose tags name engine eng.
func testEngineFunctions(t *testing.T, eng string) []string {
	t.Helper()
	c := testClients(t)
	ctx := context.Background()
	var out []string
	p := lambda.NewListFunctionsPaginator(c.Lambda, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Functions {
			tags, err := c.Lambda.ListTags(ctx, &lambda.ListTagsInput{Resource: f.FunctionArn})
			if err != nil {
				continue // deleted since the listing
			}
			if tags.Tags[naming.TagEngine] == eng {
				out = append(out, aws.ToString(f.FunctionName))
			}
		}
	}
	return out
}

// An apply interrupted after CreateFunction leaves a function, tagged as
// the operator's, that is not in state. The next apply adopts it: one
// function, and an empty plan after.
func TestAccOperator_interruptedApplyIsAdopted(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	pipeline := testAccPipeline(eng, role, bucket, wf)
	orphan := testFunctionName(eng, wf, "b")
	c := testClients(t)
	both := pipeline + testAccOperator("a", src, "256", "") + testAccOperator("b", src, "512", "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckPipelineGone(t, eng, bucket),
		Steps: []resource.TestStep{
			{Config: pipeline + testAccOperator("a", src, "256", "")},
			{
				// What a killed apply leaves: b's function, made with b's tags, not in state.
				PreConfig: func() {
					a, err := c.Lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(testFunctionName(eng, wf, "a"))})
					if err != nil {
						t.Fatal(err)
					}
					op := ids.Workflow{Engine: testEngineID(eng), Name: wf}.Operator("b")
					_, err = c.Lambda.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
						FunctionName: aws.String(orphan),
						PackageType:  "Image",
						Code:         &lambdatypes.FunctionCode{ImageUri: a.Code.ImageUri},
						Role:         aws.String(role),
						MemorySize:   aws.Int32(128),
						Tags:         naming.FunctionTags(eng, op),
					})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config: both,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("aqueduct_operator.b", plancheck.ResourceActionCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckFunction(t, func() string { return orphan }, 512),
					func(*terraform.State) error {
						if fns := testEngineFunctions(t, eng); len(fns) != 2 {
							return fmt.Errorf("engine has functions %v, want exactly a's and b's", fns)
						}
						return nil
					},
				),
			},
			{Config: both, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

// A function at the derived name that is not this operator's is never
// adopted: Create refuses and names its owner.
func TestAccOperator_foreignFunctionIsRefused(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	pipeline := testAccPipeline(eng, role, bucket, wf)
	c := testClients(t)
	var image string
	create := func(name string, tags map[string]string) {
		_, err := c.Lambda.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), PackageType: "Image", Role: aws.String(role),
			Code: &lambdatypes.FunctionCode{ImageUri: aws.String(image)}, Tags: tags,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = c.Lambda.DeleteFunction(context.Background(), &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: pipeline + testAccOperator("a", src, "256", ""),
				Check: func(s *terraform.State) error {
					image = s.RootModule().Resources["aqueduct_operator.a"].Primary.Attributes["image_uri"]
					return nil
				},
			},
			{
				PreConfig:   func() { create(testFunctionName(eng, wf, "b"), map[string]string{"team": "other"}) },
				Config:      pipeline + testAccOperator("a", src, "256", "") + testAccOperator("b", src, "256", ""),
				ExpectError: regexp.MustCompile(`(?s)was\s+not\s+made\s+by\s+this\s+provider`),
			},
			{
				PreConfig: func() {
					other := ids.Workflow{Engine: ids.Engine{Region: "us-east-1", Repository: "aqueduct/someone"}, Name: "theirs"}.Operator("x")
					create(testFunctionName(eng, wf, "c"), naming.FunctionTags("someone", other))
				},
				Config:      pipeline + testAccOperator("a", src, "256", "") + testAccOperator("c", src, "256", ""),
				ExpectError: regexp.MustCompile(`(?s)belongs\s+to\s+operator\s+"x"\s+of\s+workflow\s+"theirs"\s+on\s+engine\s+"someone"`),
			},
		},
	})
}

// An image already in the registry for the same source_hash is reused: a CI
// runner without the local image, or without a Docker engine at all, does
// not rebuild.
func TestAccOperator_registryImageIsReusedWithoutDocker(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 'shared'\n"})
	pipeline := testAccPipeline(eng, role, bucket, wf)
	noDocker := `
provider "aqueduct" {
  docker_host = "tcp://127.0.0.1:1"
}
`
	same := statecheck.CompareValue(compare.ValuesSame())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            pipeline + testAccOperator("first", src, "256", ""),
				ConfigStateChecks: []statecheck.StateCheck{same.AddStateValue("aqueduct_operator.first", tfjsonpath.New("image_uri"))},
			},
			{
				// Same build context under another name: no Docker engine is reachable, yet create succeeds.
				Config:            noDocker + pipeline + testAccOperator("first", src, "256", "") + testAccOperator("second", src, "256", ""),
				ConfigStateChecks: []statecheck.StateCheck{same.AddStateValue("aqueduct_operator.second", tfjsonpath.New("image_uri"))},
			},
			{
				// A changed source does need Docker, and the error says so.
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(src, "main.py"), []byte("def handler():\n    return 'changed'\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config:      noDocker + pipeline + testAccOperator("first", src, "256", "") + testAccOperator("second", src, "256", ""),
				ExpectError: regexp.MustCompile(`(?s)Cannot build the operator image.*(Docker|docker)`),
			},
		},
	})
}

// An image deleted from ECR outside Terraform leaves the function Failed, as
// on AWS; the next plan updates it and apply pushes the image again.
func TestAccOperator_imageDeletedOutsideIsPushedAgain(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 'again'\n"})
	cfg := testAccPipeline(eng, role, bucket, wf) + testAccOperator("op", src, "256", "")
	addr := "aqueduct_operator.op"
	c := testClients(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            cfg,
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(addr, tfjsonpath.New("state"), knownvalue.StringExact("Active"))},
			},
			{
				PreConfig: func() {
					images, err := c.ECR.ListImages(context.Background(), &ecr.ListImagesInput{RepositoryName: aws.String("aqueduct/" + eng)})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := c.ECR.BatchDeleteImage(context.Background(), &ecr.BatchDeleteImageInput{RepositoryName: aws.String("aqueduct/" + eng), ImageIds: images.ImageIds}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("image_uri")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(addr, tfjsonpath.New("state"), knownvalue.StringExact("Active"))},
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// Empty lists and maps are not null: requirements = [] and environment = {}
// must converge to an empty plan.
func TestAccOperator_emptyCollectionsConverge(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 0\n"})
	cfg := testAccPipeline(testName("eng"), role, bucket, testName("wf")) +
		testAccOperator("op", src, "256", "requirements = []\n  environment = {}\n  inputs = []")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

// testImages lists the digests in an engine's repository.
func testImages(t *testing.T, eng string) []string {
	t.Helper()
	out, err := testClients(t).ECR.ListImages(context.Background(), &ecr.ListImagesInput{RepositoryName: aws.String("aqueduct/" + eng)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var digests []string
	for _, id := range out.ImageIds {
		if d := aws.ToString(id.ImageDigest); !seen[d] {
			seen[d] = true
			digests = append(digests, d)
		}
	}
	return digests
}

func testAccCheckImageCount(t *testing.T, eng string, want int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := testImages(t, eng); len(got) != want {
			return fmt.Errorf("repository aqueduct/%s holds %d images %v, want %d", eng, len(got), got, want)
		}
		return nil
	}
}

// A replaced image is deleted once nothing refers to it; an image another
// operator still uses is kept; destroy removes the provider's images
// without force_destroy.
func TestAccOperator_replacedImagesAreDeletedUnlessInUse(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	shared := testSource(t, map[string]string{"main.py": "def handler():\n    return 'shared'\n"})
	pipeline := testAccPipeline(eng, role, bucket, wf)
	edit := func(dir, body string) func() {
		return func() {
			if err := os.WriteFile(filepath.Join(dir, "main.py"), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	one := pipeline + testAccOperator("a", src, "256", "")
	two := one + testAccOperator("b", shared, "256", "") + testAccOperator("c", shared, "512", "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckPipelineGone(t, eng, bucket),
		Steps: []resource.TestStep{
			{Config: one, Check: testAccCheckImageCount(t, eng, 1)},
			{PreConfig: edit(src, "def handler():\n    return 2\n"), Config: one, Check: testAccCheckImageCount(t, eng, 1)},
			{PreConfig: edit(src, "def handler():\n    return 3\n"), Config: one, Check: testAccCheckImageCount(t, eng, 1)},
			// b and c share one image (same build context).
			{Config: two, Check: testAccCheckImageCount(t, eng, 2)},
			{
				// c moves to its own source: the shared image stays for b.
				PreConfig: func() {},
				Config:    one + testAccOperator("b", shared, "256", "") + testAccOperator("c", src, "512", ""),
				Check:     testAccCheckImageCount(t, eng, 2),
			},
			{
				// b goes: now nothing uses the shared image.
				Config: one + testAccOperator("c", src, "512", ""),
				Check:  testAccCheckImageCount(t, eng, 1),
			},
		},
	})
}

// When the engine is gone, its operators' functions are still in state, so
// destroy removes them; an operator leaves state only when its function is
// gone.
func TestAccOperator_functionOutlivesItsEngine(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	cfg := testAccPipeline(eng, role, bucket, wf) + testAccOperator("op", src, "256", "")
	c := testClients(t)
	fn := testFunctionName(eng, wf, "op")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := c.Lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(fn)}); err == nil {
				return fmt.Errorf("function %s is left after destroy", fn)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				// The engine's repository is deleted outside Terraform.
				PreConfig: func() {
					_, err := c.ECR.DeleteRepository(context.Background(), &ecr.DeleteRepositoryInput{RepositoryName: aws.String("aqueduct/" + eng), Force: true})
					if err != nil {
						t.Fatal(err)
					}
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: func(s *terraform.State) error {
					if _, ok := s.RootModule().Resources["aqueduct_operator.op"]; !ok {
						return fmt.Errorf("the operator left the state while its function %s exists", fn)
					}
					return nil
				},
			},
		},
	})
}
