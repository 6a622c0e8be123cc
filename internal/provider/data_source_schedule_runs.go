package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/run"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/sfnrun"
)

var _ datasource.DataSourceWithConfigure = (*scheduleRunsDataSource)(nil)

// NewScheduleRunsDataSource is the aqueduct_schedule_runs factory.
func NewScheduleRunsDataSource() datasource.DataSource { return &scheduleRunsDataSource{} }

type scheduleRunsDataSource struct{ data *ProviderData }

type scheduleRunsModel struct {
	ScheduleID types.String `tfsdk:"schedule_id"`
	MaxResults types.Int64  `tfsdk:"max_results"`
	Runs       types.List   `tfsdk:"runs"`
}

// scheduledRunModel is one element of `runs`.
type scheduledRunModel struct {
	ID              types.String `tfsdk:"id"`
	ExecutionARN    types.String `tfsdk:"execution_arn"`
	Status          types.String `tfsdk:"status"`
	StartedAt       types.String `tfsdk:"started_at"`
	StoppedAt       types.String `tfsdk:"stopped_at"`
	FailedOperators types.List   `tfsdk:"failed_operators"`
	Invoked         types.Int64  `tfsdk:"invoked"`
	RunURI          types.String `tfsdk:"run_uri"`
	Error           types.String `tfsdk:"error"`
}

var scheduledRunAttrTypes = map[string]attr.Type{
	"id": types.StringType, "execution_arn": types.StringType, "status": types.StringType, "started_at": types.StringType,
	"stopped_at": types.StringType, "failed_operators": types.ListType{ElemType: types.StringType}, "invoked": types.Int64Type,
	"run_uri": types.StringType, "error": types.StringType,
}

const defaultScheduleRuns = 10

func (d *scheduleRunsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_schedule_runs"
}

func (d *scheduleRunsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The recent runs of an `aqueduct_schedule`, newest first: their status, times and failed operators. " +
			"Use it in CI to fail a plan when the last scheduled run failed (see the example).",
		Attributes: map[string]schema.Attribute{
			"schedule_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The `id` of the `aqueduct_schedule`.",
			},
			"max_results": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: fmt.Sprintf("How many runs to read, 1 to 100. Defaults to %d.", defaultScheduleRuns),
				Validators:          []validator.Int64{int64validator.Between(1, 100)},
			},
			"runs": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The runs, newest first.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":            computed("The run id: its execution's name."),
					"execution_arn": computed("ARN of the Step Functions execution."),
					"status":        computed("`running`, `succeeded`, `failed`, `timed_out` or `aborted`."),
					"started_at":    computed("RFC 3339 start time."),
					"stopped_at":    computed("RFC 3339 end time; null while running."),
					"failed_operators": schema.ListAttribute{
						Computed: true, ElementType: types.StringType,
						MarkdownDescription: "Names of the operators that failed, sorted; empty when none did or the run is still going.",
					},
					"invoked": schema.Int64Attribute{Computed: true, MarkdownDescription: "How many operators the run invoked; null until its record is written."},
					"run_uri": computed("`s3://` URI of the run record, in the format of `data.aqueduct_invocation`'s; null until it is written."),
					"error":   computed("For a run that did not succeed, Step Functions' error and cause, e.g. `Aqueduct.RunFailed: An operator failed`."),
				}},
			},
		},
	}
}

func (d *scheduleRunsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func (d *scheduleRunsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m scheduleRunsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	sid, err := ids.ParseSchedule(m.ScheduleID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("schedule_id"), "Invalid schedule id", err.Error())
		return
	}
	e, err := d.data.resolveEngine(ctx, sid.Workflow.Engine)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("schedule_id"), "Cannot resolve the schedule's engine", err.Error())
		return
	}
	limit := int32(defaultScheduleRuns)
	if !m.MaxResults.IsNull() {
		limit = int32(m.MaxResults.ValueInt64())
	}
	api := d.data.AWS.ForRegion(e.Region).SFN
	machine := sfnrun.ARN(e.RepositoryARN, e.Region, e.RegistryID, naming.ScheduleStateMachine(sid))
	out, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine), MaxResults: limit})
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("schedule_id"), "Cannot list the schedule's runs", err.Error())
		return
	}
	store := d.data.store(e)
	runs := make([]attr.Value, 0, len(out.Executions))
	for _, ex := range out.Executions {
		name := aws.ToString(ex.Name)
		r := scheduledRunModel{
			ID: types.StringValue(name), ExecutionARN: types.StringValue(aws.ToString(ex.ExecutionArn)),
			Status: types.StringValue(strings.ToLower(string(ex.Status))), StartedAt: timeString(aws.ToTime(ex.StartDate)),
			StoppedAt: timeString(aws.ToTime(ex.StopDate)), Invoked: types.Int64Null(), RunURI: types.StringNull(), Error: types.StringNull(),
		}
		failed := []string{}
		key := artifacts.RunKey(store.Prefix(), sid.Workflow.Name, name)
		var rec run.Record
		found, err := store.GetJSON(ctx, key, &rec)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read a scheduled run's record", err.Error())
			return
		}
		if found {
			failed = append(failed, rec.FailedOperators()...)
			r.Invoked = types.Int64Value(int64(rec.Invoked))
			r.RunURI = types.StringValue(store.URI(key))
		}
		if ex.Status != sfntypes.ExecutionStatusSucceeded && ex.Status != sfntypes.ExecutionStatusRunning {
			dx, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
			if err != nil {
				resp.Diagnostics.AddError("Cannot read a scheduled run", err.Error())
				return
			}
			r.Error = types.StringValue(strings.TrimSuffix(aws.ToString(dx.Error)+": "+aws.ToString(dx.Cause), ": "))
		}
		l, diags := types.ListValueFrom(ctx, types.StringType, failed)
		resp.Diagnostics.Append(diags...)
		r.FailedOperators = l
		obj, diags := types.ObjectValueFrom(ctx, scheduledRunAttrTypes, r)
		resp.Diagnostics.Append(diags...)
		runs = append(runs, obj)
	}
	list, diags := types.ListValue(types.ObjectType{AttrTypes: scheduledRunAttrTypes}, runs)
	resp.Diagnostics.Append(diags...)
	m.Runs = list
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
