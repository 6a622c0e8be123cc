package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
)

// wantSettings is what the tests expect Lambda and CloudWatch Logs to hold.
type wantSettings struct {
	subnets, sgs       []string
	tracing, format    string
	appLevel, sysLevel string
	kms                string
	reserved           *int32
	retention          int32 // 0: never expire
}

// testAccCheckSettings reads the function and its log group back with the
// SDK. The emulator stores VPC, KMS and X-Ray settings without acting on
// them: what is checked is that they reach Lambda as configured.
func testAccCheckSettings(t *testing.T, fn func() string, want wantSettings) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClients(t)
		ctx := context.Background()
		out, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn())})
		if err != nil {
			return err
		}
		cfg := out.Configuration
		var subnets, sgs []string
		if cfg.VpcConfig != nil {
			subnets, sgs = slices.Sorted(slices.Values(cfg.VpcConfig.SubnetIds)), slices.Sorted(slices.Values(cfg.VpcConfig.SecurityGroupIds))
		}
		if !slices.Equal(subnets, want.subnets) || !slices.Equal(sgs, want.sgs) {
			return fmt.Errorf("VPC subnets %v security groups %v, want %v %v", subnets, sgs, want.subnets, want.sgs)
		}
		if got := string(cfg.TracingConfig.Mode); got != want.tracing {
			return fmt.Errorf("tracing %s, want %s", got, want.tracing)
		}
		l := cfg.LoggingConfig
		if string(l.LogFormat) != want.format || string(l.ApplicationLogLevel) != want.appLevel || string(l.SystemLogLevel) != want.sysLevel {
			return fmt.Errorf("logging %s/%s/%s, want %s/%s/%s", l.LogFormat, l.ApplicationLogLevel, l.SystemLogLevel, want.format, want.appLevel, want.sysLevel)
		}
		if got := aws.ToString(cfg.KMSKeyArn); got != want.kms {
			return fmt.Errorf("KMS key %q, want %q", got, want.kms)
		}
		var reserved *int32
		if out.Concurrency != nil {
			reserved = out.Concurrency.ReservedConcurrentExecutions
		}
		if (reserved == nil) != (want.reserved == nil) || (reserved != nil && *reserved != *want.reserved) {
			return fmt.Errorf("reserved concurrency %v, want %v", aws.ToInt32(reserved), aws.ToInt32(want.reserved))
		}
		g, err := testLogGroup(t, "/aws/lambda/"+fn())
		if err != nil || g == nil {
			return fmt.Errorf("log group /aws/lambda/%s: %v (exists: %v)", fn(), err, g != nil)
		}
		if got := aws.ToInt32(g.RetentionInDays); got != want.retention {
			return fmt.Errorf("log group retention %d days, want %d", got, want.retention)
		}
		tags, err := c.Logs.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: g.LogGroupArn})
		if err != nil || tags.Tags[naming.TagOwner] == "" {
			return fmt.Errorf("log group tags %v (%v): no owner tag", tags, err)
		}
		return nil
	}
}

// testLogGroup describes a log group; nil when it does not exist.
func testLogGroup(t *testing.T, name string) (*struct {
	RetentionInDays *int32
	LogGroupArn     *string
}, error) {
	out, err := testClients(t).Logs.DescribeLogGroups(context.Background(), &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return nil, err
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == name {
			return &struct {
				RetentionInDays *int32
				LogGroupArn     *string
			}{g.RetentionInDays, g.LogGroupArn}, nil
		}
	}
	return nil, nil
}

func testAccCheckLogGroupGone(t *testing.T, name func() string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		g, err := testLogGroup(t, "/aws/lambda/"+name())
		if err != nil {
			return err
		}
		if g != nil {
			return fmt.Errorf("log group /aws/lambda/%s is left after destroy", name())
		}
		return nil
	}
}

const (
	testSubnetA = "subnet-0123456789abcdef0"
	testSubnetB = "subnet-0fedcba9876543210"
	testSG      = "sg-0123456789abcdef0"
	testKMS1    = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555"
	testKMS2    = "arn:aws:kms:us-east-1:000000000000:key/66666666-7777-8888-9999-000000000000"
)

// Each setting reaches Lambda and CloudWatch Logs, changes in place, shows
// drift made with the SDK, goes back to Lambda's default when removed, and
// imports; destroy removes the log group the provider made.
func TestAccOperator_lambdaSettingsInPlace(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	pipeline := testAccPipeline(eng, role, bucket, wf)
	cfg := func(extra string) string { return pipeline + testAccOperator("train", src, "256", extra) }
	addr := "aqueduct_operator.train"
	fn := func() string { return testFunctionName(eng, wf, "train") }
	first := fmt.Sprintf(`
  vpc_config = {
    subnet_ids         = [%q]
    security_group_ids = [%q]
  }
  tracing_mode = "Active"
  logging = {
    log_format            = "JSON"
    application_log_level = "DEBUG"
    system_log_level      = "WARN"
    log_retention_days    = 14
  }
  kms_key_arn          = %q
  reserved_concurrency = 3
`, testSubnetA, testSG, testKMS1)
	second := fmt.Sprintf(`
  vpc_config = {
    subnet_ids         = [%q, %q]
    security_group_ids = [%q]
  }
  tracing_mode = "PassThrough"
  logging = {
    log_format         = "Text"
    log_retention_days = 30
  }
  kms_key_arn          = %q
  reserved_concurrency = 0
`, testSubnetA, testSubnetB, testSG, testKMS2)
	update := resource.ConfigPlanChecks{
		PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
	}
	c := testClients(t)
	ctx := context.Background()

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(testAccCheckPipelineGone(t, eng, bucket), testAccCheckLogGroupGone(t, fn)),
		Steps: []resource.TestStep{
			{
				Config: cfg(first),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("log_group"), knownvalue.StringExact("/aws/lambda/"+fn())),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("logging").AtMapKey("log_retention_days"), knownvalue.Int64Exact(14)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("reserved_concurrency"), knownvalue.Int64Exact(3)),
				},
				Check: testAccCheckSettings(t, fn, wantSettings{
					subnets: []string{testSubnetA}, sgs: []string{testSG}, tracing: "Active", format: "JSON", appLevel: "DEBUG", sysLevel: "WARN",
					kms: testKMS1, reserved: aws.Int32(3), retention: 14,
				}),
			},
			{
				Config:           cfg(first),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Every setting changes at once, in place.
				Config:           cfg(second),
				ConfigPlanChecks: update,
				Check: testAccCheckSettings(t, fn, wantSettings{
					subnets: []string{testSubnetA, testSubnetB}, sgs: []string{testSG}, tracing: "PassThrough", format: "Text",
					kms: testKMS2, reserved: aws.Int32(0), retention: 30,
				}),
			},
			{
				// Changes made outside Terraform are drift, set back in place.
				PreConfig: func() {
					if _, err := c.Lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
						FunctionName: aws.String(fn()), TracingConfig: &lambdatypes.TracingConfig{Mode: lambdatypes.TracingModeActive},
					}); err != nil {
						t.Fatal(err)
					}
					waitUpdated(t, fn())
					if _, err := c.Lambda.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(fn())}); err != nil {
						t.Fatal(err)
					}
					if _, err := c.Logs.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/" + fn()), RetentionInDays: aws.Int32(7)}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg(second),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("tracing_mode"), knownvalue.StringExact("PassThrough")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: testAccCheckSettings(t, fn, wantSettings{
					subnets: []string{testSubnetA, testSubnetB}, sgs: []string{testSG}, tracing: "PassThrough", format: "Text",
					kms: testKMS2, reserved: aws.Int32(0), retention: 30,
				}),
			},
			{
				// A deleted log group is drift: created again.
				PreConfig: func() {
					if _, err := c.Logs.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/aws/lambda/" + fn())}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           cfg(second),
				ConfigPlanChecks: update,
				Check: testAccCheckSettings(t, fn, wantSettings{
					subnets: []string{testSubnetA, testSubnetB}, sgs: []string{testSG}, tracing: "PassThrough", format: "Text",
					kms: testKMS2, reserved: aws.Int32(0), retention: 30,
				}),
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     wf + "/train",
				ImportStateVerify: true,
				// tracing_mode = "PassThrough" and no tracing_mode are the same
				// function; import reads it as unset.
				ImportStateVerifyIgnore: []string{"timeouts", "tracing_mode"},
			},
			{
				// Removing the settings goes back to Lambda's defaults, in place.
				Config:           cfg(""),
				ConfigPlanChecks: update,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("vpc_config"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("reserved_concurrency"), knownvalue.Null()),
				},
				Check: testAccCheckSettings(t, fn, wantSettings{tracing: "PassThrough", format: "Text"}),
			},
		},
	})
}

// A log group of the function's name that the provider did not make is
// used, not changed, and not deleted with the operator.
func TestAccOperator_foreignLogGroupIsKept(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	cfg := testAccPipeline(eng, role, bucket, wf) + testAccOperator("train", src, "256", "logging = { log_retention_days = 14 }")
	group := "/aws/lambda/" + testFunctionName(eng, wf, "train")
	c := testClients(t)
	ctx := context.Background()
	if _, err := c.Logs.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group), Tags: map[string]string{"team": "other"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.Logs.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String(group)}) })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			g, err := testLogGroup(t, group)
			if err != nil || g == nil {
				return fmt.Errorf("the foreign log group %s was deleted with the operator (%v)", group, err)
			}
			if g.RetentionInDays != nil {
				return fmt.Errorf("the foreign log group's retention was changed to %d", *g.RetentionInDays)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("aqueduct_operator.train", tfjsonpath.New("log_group"), knownvalue.StringExact(group)),
			},
		}},
	})
}

// Bad settings fail at plan time, naming the attribute, the value and the limit.
func TestAccOperator_lambdaSettingsBadInput(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	src := testSource(t, map[string]string{"main.py": "def handler():\n    return 1\n"})
	pipeline := testAccPipeline(testName("eng"), role, bucket, testName("wf"))
	step := func(extra, want string) resource.TestStep {
		// Terraform wraps long messages: any space may be a line break.
		want = strings.ReplaceAll(want, " ", `\s+`)
		return resource.TestStep{Config: pipeline + testAccOperator("a", src, "256", extra), PlanOnly: true, ExpectError: regexp.MustCompile(want)}
	}
	many := func(prefix string, n int) string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("%q", fmt.Sprintf("%s-%017x", prefix, i))
		}
		return strings.Join(ids, ", ")
	}
	vpc := func(subnets, sgs string) string {
		return fmt.Sprintf("vpc_config = {\n subnet_ids = [%s]\n security_group_ids = [%s]\n}", subnets, sgs)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(vpc(`"subnet-xyz"`, `"`+testSG+`"`), `(?s)vpc_config.subnet_ids.*must be a subnet id.*got: subnet-xyz`),
			step(vpc(`"`+testSubnetA+`"`, `"group-1"`), `(?s)vpc_config.security_group_ids.*must be a security group id.*got: group-1`),
			step(vpc(many("subnet", 17), `"`+testSG+`"`), `(?s)vpc_config.subnet_ids.*set must contain at least 1 elements and at most 16 elements, got: 17`),
			step(vpc(`"`+testSubnetA+`"`, many("sg", 6)), `(?s)vpc_config.security_group_ids.*at most 5 elements, got: 6`),
			step(`tracing_mode = "On"`, `(?s)tracing_mode.*value must be one of: \["Active" "PassThrough"\], got: "On"`),
			step(`logging = { log_retention_days = 10 }`, `(?s)logging.log_retention_days value must be one of: \["1" "3" "5" "7" "14" "30".*"3653"\], got: 10`),
			step(`logging = { application_log_level = "DEBUG" }`, `(?s)logging.application_log_level = "DEBUG" is set, but logging.log_format is "Text"`),
			step(`logging = { log_format = "Text", system_log_level = "WARN" }`, `(?s)logging.system_log_level = "WARN" is set, but logging.log_format is "Text"`),
			step(`kms_key_arn = "arn:aws:kms:us-east-1:000000000000:alias/mine"`, `(?s)kms_key_arn.*must be a KMS key ARN.*alias/mine`),
			step(`reserved_concurrency = -1`, `(?s)reserved_concurrency.*must be at least 0, got: -1`),
		},
	})
}

// The invocation names the stream that holds the operator's whole log: a
// line longer than the 4 KB tail, far from the end, is read back from it
// with the SDK.
func TestAccInvocation_fullLogInLogStream(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	marker := "LONGLINE-" + testName("m")
	src := testSource(t, map[string]string{"noisy.py": fmt.Sprintf(`def run():
    print(%q + "x" * 6000, flush=True)
    for i in range(200):
        print("filler line %%03d %%s" %% (i, "y" * 60), flush=True)
    return 1
`, marker)})
	ds := "data.aqueduct_invocation.run"
	fn := testFunctionName(eng, wf, "op")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(testAccCheckPipelineGone(t, eng, bucket), testAccCheckLogGroupGone(t, func() string { return fn })),
		Steps: []resource.TestStep{{
			Config: testAccRunOne(eng, role, bucket, wf, src, "noisy:run", "logging = { log_retention_days = 1 }"),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("op").AtMapKey("log_group"), knownvalue.StringExact("/aws/lambda/"+fn)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("op").AtMapKey("request_id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("operators").AtMapKey("op").AtMapKey("log_stream"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`))),
			},
			Check: func(s *terraform.State) error {
				attrs := s.RootModule().Resources[ds].Primary.Attributes
				group, stream, reqID := attrs["operators.op.log_group"], attrs["operators.op.log_stream"], attrs["operators.op.request_id"]
				if strings.Contains(attrs["operators.op.log_tail"], marker) {
					return fmt.Errorf("the long line is in the 4 KB tail; the test needs it far from the end")
				}
				var lines []string
				in := &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
				for {
					out, err := testClients(t).Logs.GetLogEvents(context.Background(), in)
					if err != nil {
						return err
					}
					for _, e := range out.Events {
						lines = append(lines, aws.ToString(e.Message))
					}
					if in.NextToken != nil && aws.ToString(out.NextForwardToken) == *in.NextToken {
						break
					}
					in.NextToken = out.NextForwardToken
				}
				found, start := -1, -1
				for i, l := range lines {
					if strings.HasPrefix(l, marker) && len(l) > 4096 {
						found = i
					}
					if strings.Contains(l, "RequestId: "+reqID) && start < 0 {
						start = i
					}
				}
				if found < 0 || start < 0 || found < start || len(lines)-found < 100 {
					return fmt.Errorf("stream %s of %s: %d lines, long line at %d, START of %s at %d", stream, group, len(lines), found, reqID, start)
				}
				return nil
			},
		}},
	})
}
