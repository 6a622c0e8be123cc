package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/statemachine"
)

// testAccScheduledPipeline is an orchestrated engine, workflow "test" named
// wf, operators from ops, and extra (the schedule, the runs data source).
func testAccScheduledPipeline(eng, role, orch, bucket, wf, src, ops, extra string) string {
	cfg := testAccOrchestratedEngine(eng, role, orch, bucket, "test")
	cfg = strings.Replace(cfg, `name   = "test"`, "name   = "+hcl(wf), 1)
	return cfg + fmt.Sprintf(`
variable "src" {
  default = %s
}
`, hcl(src)) + ops + extra
}

// testFireSchedule fires a schedule now through the emulator's admin API
// and waits for the execution it starts to close.
func testFireSchedule(t *testing.T, scheduleName string, machine string) sfntypes.ExecutionListItem {
	t.Helper()
	before := len(testExecutions(t, []string{machine}))
	resp, err := http.Post(testEmulator.URL()+"/_emulator/scheduler/fire?name="+url.QueryEscape(scheduleName), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("firing %s: HTTP %d", scheduleName, resp.StatusCode)
	}
	return testWaitExecution(t, machine, before+1)
}

// testWaitExecution waits until a machine has n executions and the newest
// has closed, and returns it.
func testWaitExecution(t *testing.T, machine string, n int) sfntypes.ExecutionListItem {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		execs := testExecutions(t, []string{machine})
		if len(execs) >= n && execs[0].Status != sfntypes.ExecutionStatusRunning {
			return execs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("machine %s: %d executions, want %d closed", machine, len(execs), n)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func testScheduleID(eng, wf, name string) ids.Schedule {
	return ids.Schedule{Workflow: ids.Workflow{Engine: testEngineID(eng), Name: wf}, Name: name}
}

func testScheduleMachine(sid ids.Schedule) string {
	return "arn:aws:states:us-east-1:" + testAccount + ":stateMachine:" + naming.ScheduleStateMachine(sid)
}

// The schedule's whole life: plan-time errors, create, a firing listed by
// the runs data source, an operator change that updates the state machine
// and the input in the same apply, disabling, import, and a destroy that
// leaves nothing on Scheduler or Step Functions.
func TestAccSchedule_lifecycle(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{
		"a.py": "def run(base=1):\n    return base\n",
		"b.py": "def run(a):\n    return a + 1\n",
	})
	op := func(name, extra string, inputs ...string) string {
		in := ""
		for _, i := range inputs {
			in += "aqueduct_operator." + i + ".artifact, "
		}
		return fmt.Sprintf(`
resource "aqueduct_operator" %[1]q {
  workflow_id = aqueduct_workflow.test.id
  name        = %[1]q
  source      = var.src
  function    = "%[1]s:run"
  base_image  = %[2]q
  memory      = 256
  inputs      = [%[3]s]
  %[4]s
}
`, name, testLocalBaseImage, in, extra)
	}
	ops := op("a", "") + op("b", "", "a")
	sched := func(attrs string) string {
		return fmt.Sprintf(`
resource "aqueduct_schedule" "nightly" {
  name                = "nightly"
  artifacts           = [aqueduct_operator.b.artifact]
  %s
}
`, attrs)
	}
	good := `schedule_expression = "cron(0 6 * * ? *)"
  timezone            = "Europe/Paris"
  parameters          = { base = jsonencode(41) }`
	runs := `
data "aqueduct_schedule_runs" "nightly" {
  schedule_id = aqueduct_schedule.nightly.id
}
`
	cfg := func(ops, attrs, extra string) string {
		return testAccScheduledPipeline(eng, role, orch, bucket, wf, src, ops, sched(attrs)+extra)
	}
	sid := testScheduleID(eng, wf, "nightly")
	addr, runsDS := "aqueduct_schedule.nightly", "data.aqueduct_schedule_runs.nightly"
	machine := testScheduleMachine(sid)
	input := statecheck.CompareValue(compare.ValuesDiffer())
	definition := func() string {
		d, err := testClients(t).SFN.DescribeStateMachine(context.Background(), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(machine)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(d.Definition)
	}
	scheduleInput := func() statemachine.ExecutionInput {
		got, err := testClients(t).Scheduler.GetSchedule(context.Background(), &scheduler.GetScheduleInput{Name: aws.String(naming.ScheduleName(sid))})
		if err != nil {
			t.Fatal(err)
		}
		var in statemachine.ExecutionInput
		if err := json.Unmarshal([]byte(aws.ToString(got.Target.Input)), &in); err != nil {
			t.Fatal(err)
		}
		return in
	}
	var firstLineage string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			if _, err := testClients(t).Scheduler.GetSchedule(context.Background(), &scheduler.GetScheduleInput{Name: aws.String(naming.ScheduleName(sid))}); err == nil {
				return fmt.Errorf("schedule %s is left after destroy", naming.ScheduleName(sid))
			}
			return testAccCheckNoStateMachines(t, eng)(s)
		},
		Steps: []resource.TestStep{
			{
				Config:      cfg(ops, `schedule_expression = "cron(0 6 * * * *)"`, ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)schedule_expression.*"cron\(0 6 \* \* \* \*\)".*\?`),
			},
			{
				Config:      cfg(ops, `schedule_expression = "rate(1 day)"`+"\n  timezone = \"Mars/Olympus\"", ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)timezone.*"Mars/Olympus".*IANA`),
			},
			{
				Config: cfg(ops, good, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(sid.String())),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_arn"), knownvalue.StringExact(orch)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("state_machine_arn"), knownvalue.StringExact(machine)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("schedule_name"), knownvalue.StringExact(naming.ScheduleName(sid))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("enabled"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("rerun"), knownvalue.Bool(true)),
					input.AddStateValue(addr, tfjsonpath.New("input_sha256")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					got, err := testClients(t).Scheduler.GetSchedule(context.Background(), &scheduler.GetScheduleInput{Name: aws.String(naming.ScheduleName(sid))})
					if err != nil {
						return err
					}
					if aws.ToString(got.ScheduleExpression) != "cron(0 6 * * ? *)" || aws.ToString(got.ScheduleExpressionTimezone) != "Europe/Paris" ||
						aws.ToString(got.Target.Arn) != machine || aws.ToString(got.Target.RoleArn) != orch || got.State != schedtypes.ScheduleStateEnabled {
						return fmt.Errorf("schedule %+v", got)
					}
					in := scheduleInput()
					if string(in.Parameters["base"]) != "41" || in.Run.ID != "" || !in.Run.Rerun || in.Run.StartedBy != "schedule:nightly" || len(in.Lineages) != 2 {
						return fmt.Errorf("schedule input %+v", in)
					}
					firstLineage = in.Lineages["b"]
					return nil
				},
			},
			{
				// A firing runs the DAG; the runs data source lists it.
				PreConfig: func() {
					ex := testFireSchedule(t, naming.ScheduleName(sid), machine)
					if ex.Status != sfntypes.ExecutionStatusSucceeded {
						t.Fatalf("the fired execution ended %s", ex.Status)
					}
				},
				Config: cfg(ops, good, runs),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(runsDS, tfjsonpath.New("runs"), knownvalue.ListSizeExact(1)),
					statecheck.ExpectKnownValue(runsDS, tfjsonpath.New("runs").AtSliceIndex(0).AtMapKey("status"), knownvalue.StringExact("succeeded")),
					statecheck.ExpectKnownValue(runsDS, tfjsonpath.New("runs").AtSliceIndex(0).AtMapKey("failed_operators"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(runsDS, tfjsonpath.New("runs").AtSliceIndex(0).AtMapKey("invoked"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(runsDS, tfjsonpath.New("runs").AtSliceIndex(0).AtMapKey("run_uri"), knownvalue.StringRegexp(regexp.MustCompile(`^s3://`+bucket+`/.*/runs/`))),
				},
			},
			{
				// b's code changes and it gets a retry policy: the same
				// apply updates the state machine's definition and the
				// schedule's input.
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(src, "b.py"), []byte("def run(a):\n    return a + 2\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg(op("a", "")+op("b", "retry = { attempts = 2 }", "a"), good, runs),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("aqueduct_operator.b", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{input.AddStateValue(addr, tfjsonpath.New("input_sha256"))},
				Check: func(s *terraform.State) error {
					in := scheduleInput()
					handle := s.RootModule().Resources["aqueduct_operator.b"].Primary.Attributes["artifact"]
					if in.Lineages["b"] == firstLineage || !strings.HasSuffix(handle, "@"+in.Lineages["b"]) {
						return fmt.Errorf("the schedule's input has b's lineage %s; its handle is now %s", in.Lineages["b"], handle)
					}
					if !strings.Contains(definition(), `"MaxAttempts": 2`) {
						return fmt.Errorf("the state machine does not have b's retry policy:\n%s", definition())
					}
					return nil
				},
			},
			{
				Config: cfg(op("a", "")+op("b", "retry = { attempts = 2 }", "a"), good+"\n  enabled = false", runs),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					got, err := testClients(t).Scheduler.GetSchedule(context.Background(), &scheduler.GetScheduleInput{Name: aws.String(naming.ScheduleName(sid))})
					if err != nil || got.State != schedtypes.ScheduleStateDisabled {
						return fmt.Errorf("after disabling: %v %v", got, err)
					}
					return nil
				},
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

// A one-time schedule a few seconds ahead, written in another time zone,
// fires by itself; its run is listed by the runs data source.
func TestAccSchedule_atFires(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"a.py": "def run(base=1):\n    return base * 2\n"})
	ops := fmt.Sprintf(`
resource "aqueduct_operator" "a" {
  workflow_id = aqueduct_workflow.test.id
  name        = "a"
  source      = var.src
  function    = "a:run"
  base_image  = %q
  memory      = 256
}
`, testLocalBaseImage)
	sched := `
variable "fire_at" {
  type = string
}

resource "aqueduct_schedule" "once" {
  name                = "once"
  artifacts           = [aqueduct_operator.a.artifact]
  schedule_expression = "at(${var.fire_at})"
  timezone            = "America/New_York"
}
`
	runs := `
data "aqueduct_schedule_runs" "once" {
  schedule_id = aqueduct_schedule.once.id
}
`
	sid := testScheduleID(eng, wf, "once")
	runsDS := "data.aqueduct_schedule_runs.once"
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Unsetenv("TF_VAR_fire_at") })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckNoStateMachines(t, eng),
		Steps: []resource.TestStep{
			{Config: testAccScheduledPipeline(eng, role, orch, bucket, wf, src, ops, "")},
			{
				// The wall time in New York, 8 seconds from now.
				PreConfig: func() {
					os.Setenv("TF_VAR_fire_at", time.Now().Add(8*time.Second).In(ny).Format("2006-01-02T15:04:05"))
				},
				Config: testAccScheduledPipeline(eng, role, orch, bucket, wf, src, ops, sched),
			},
			{
				PreConfig: func() {
					ex := testWaitExecution(t, testScheduleMachine(sid), 1)
					if ex.Status != sfntypes.ExecutionStatusSucceeded {
						t.Fatalf("the scheduled execution ended %s", ex.Status)
					}
				},
				Config: testAccScheduledPipeline(eng, role, orch, bucket, wf, src, ops, sched+runs),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(runsDS, tfjsonpath.New("runs"), knownvalue.ListSizeExact(1)),
					statecheck.ExpectKnownValue(runsDS, tfjsonpath.New("runs").AtSliceIndex(0).AtMapKey("status"), knownvalue.StringExact("succeeded")),
					statecheck.ExpectKnownValue(runsDS, tfjsonpath.New("runs").AtSliceIndex(0).AtMapKey("invoked"), knownvalue.Int64Exact(1)),
				},
			},
		},
	})
}

// What is changed or deleted outside this configuration shows in the next
// plan and is repaired: a schedule or state machine deleted by hand is
// created again, and a default parameter of the workflow changed since
// plans an update of the schedule's input.
func TestAccSchedule_driftIsRepaired(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	orch := testOrchestrationRole(t)
	eng, wf := testName("eng"), testName("wf")
	src := testSource(t, map[string]string{"a.py": "def run(base=1):\n    return base\n"})
	cfg := func(base int) string {
		c := testAccScheduledPipeline(eng, role, orch, bucket, wf, src, fmt.Sprintf(`
resource "aqueduct_operator" "a" {
  workflow_id = aqueduct_workflow.test.id
  name        = "a"
  source      = var.src
  function    = "a:run"
  base_image  = %q
  memory      = 256
}
`, testLocalBaseImage), `
resource "aqueduct_schedule" "weekly" {
  name                = "weekly"
  artifacts           = [aqueduct_operator.a.artifact]
  schedule_expression = "rate(7 days)"
  enabled             = false
}
`)
		return strings.Replace(c, "engine = aqueduct_lambda_resource.test.id", fmt.Sprintf("engine = aqueduct_lambda_resource.test.id\n  parameters = { base = jsonencode(%d) }", base), 1)
	}
	sid := testScheduleID(eng, wf, "weekly")
	addr := "aqueduct_schedule.weekly"
	params := func() string {
		got, err := testClients(t).Scheduler.GetSchedule(context.Background(), &scheduler.GetScheduleInput{Name: aws.String(naming.ScheduleName(sid))})
		if err != nil {
			t.Fatal(err)
		}
		var in statemachine.ExecutionInput
		if err := json.Unmarshal([]byte(aws.ToString(got.Target.Input)), &in); err != nil {
			t.Fatal(err)
		}
		return string(in.Parameters["base"])
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckNoStateMachines(t, eng),
		Steps: []resource.TestStep{
			{Config: cfg(1)},
			{
				PreConfig: func() {
					if _, err := testClients(t).Scheduler.DeleteSchedule(context.Background(), &scheduler.DeleteScheduleInput{Name: aws.String(naming.ScheduleName(sid))}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           cfg(1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate)}},
			},
			{
				PreConfig: func() {
					if _, err := testClients(t).SFN.DeleteStateMachine(context.Background(), &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(testScheduleMachine(sid))}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           cfg(1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate)}},
				Check: func(*terraform.State) error {
					_, err := testClients(t).SFN.DescribeStateMachine(context.Background(), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(testScheduleMachine(sid))})
					return err
				},
			},
			// The workflow's default changes; the schedule's input follows
			// at the next plan, as a run reads the defaults as last applied.
			{Config: cfg(2), ExpectNonEmptyPlan: true},
			{
				Config:           cfg(2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}},
				Check: func(*terraform.State) error {
					if got := params(); got != "2" {
						return fmt.Errorf("the schedule's input has base = %s, want 2", got)
					}
					return nil
				},
			},
			{
				Config:           cfg(2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
