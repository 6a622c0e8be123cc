package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/lambdafn"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/loggroup"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/validators"
)

// lambdaSettingsModel is the operator's production settings of its
// function: network, tracing, logging, encryption and concurrency. Unset
// means Lambda's default; every change applies in place.
type lambdaSettingsModel struct {
	VPCConfig           types.Object `tfsdk:"vpc_config"`
	TracingMode         types.String `tfsdk:"tracing_mode"`
	Logging             types.Object `tfsdk:"logging"`
	KMSKeyARN           types.String `tfsdk:"kms_key_arn"`
	ReservedConcurrency types.Int64  `tfsdk:"reserved_concurrency"`
	LogGroup            types.String `tfsdk:"log_group"`
}

type vpcConfigModel struct {
	SubnetIDs               types.Set  `tfsdk:"subnet_ids"`
	SecurityGroupIDs        types.Set  `tfsdk:"security_group_ids"`
	IPv6AllowedForDualStack types.Bool `tfsdk:"ipv6_allowed_for_dual_stack"`
}

var vpcConfigAttrTypes = map[string]attr.Type{
	"subnet_ids":                  types.SetType{ElemType: types.StringType},
	"security_group_ids":          types.SetType{ElemType: types.StringType},
	"ipv6_allowed_for_dual_stack": types.BoolType,
}

type loggingModel struct {
	LogFormat           types.String `tfsdk:"log_format"`
	ApplicationLogLevel types.String `tfsdk:"application_log_level"`
	SystemLogLevel      types.String `tfsdk:"system_log_level"`
	LogRetentionDays    types.Int64  `tfsdk:"log_retention_days"`
}

var loggingAttrTypes = map[string]attr.Type{
	"log_format": types.StringType, "application_log_level": types.StringType,
	"system_log_level": types.StringType, "log_retention_days": types.Int64Type,
}

// Lambda's limits and id formats.
const (
	maxSubnets        = 16
	maxSecurityGroups = 5
	// defaultLogLevel is what Lambda reports for an unset level in the
	// JSON format.
	defaultLogLevel = "INFO"
)

var (
	subnetIDRE = regexp.MustCompile(`^subnet-[0-9a-f]{8}([0-9a-f]{9})?$`)
	sgIDRE     = regexp.MustCompile(`^sg-[0-9a-f]{8}([0-9a-f]{9})?$`)
	kmsKeyRE   = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$`)
)

// lambdaSettingsAttributes are the schema's attributes for the model.
func lambdaSettingsAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"vpc_config": schema.SingleNestedAttribute{
			Optional: true,
			MarkdownDescription: "Runs the function in a VPC, to reach private data stores. The role needs `ec2:CreateNetworkInterface`, `ec2:DescribeNetworkInterfaces` and `ec2:DeleteNetworkInterface` (AWS's `AWSLambdaVPCAccessExecutionRole`), " +
				"and the subnets need a route to S3 (a gateway endpoint or a NAT) for the artifact store. Removing it detaches the function. Changes apply in place.",
			Attributes: map[string]schema.Attribute{
				"subnet_ids": schema.SetAttribute{
					Required: true, ElementType: types.StringType,
					MarkdownDescription: fmt.Sprintf("Subnet ids (`subnet-` and 8 or 17 hex digits), 1 to %d.", maxSubnets),
					Validators: []validator.Set{
						setvalidator.SizeBetween(1, maxSubnets),
						setvalidator.ValueStringsAre(stringvalidator.RegexMatches(subnetIDRE, "must be a subnet id: subnet- and 8 or 17 hex digits")),
					},
				},
				"security_group_ids": schema.SetAttribute{
					Required: true, ElementType: types.StringType,
					MarkdownDescription: fmt.Sprintf("Security group ids (`sg-` and 8 or 17 hex digits), 1 to %d.", maxSecurityGroups),
					Validators: []validator.Set{
						setvalidator.SizeBetween(1, maxSecurityGroups),
						setvalidator.ValueStringsAre(stringvalidator.RegexMatches(sgIDRE, "must be a security group id: sg- and 8 or 17 hex digits")),
					},
				},
				"ipv6_allowed_for_dual_stack": schema.BoolAttribute{
					Optional: true, Computed: true, Default: booldefault.StaticBool(false),
					MarkdownDescription: "Allow outbound IPv6 in dual-stack subnets. Defaults to `false`.",
				},
			},
		},
		"tracing_mode": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "AWS X-Ray tracing: `Active` samples and traces invocations, `PassThrough` (Lambda's default, when unset) only passes on a caller's trace header. The role needs `xray:PutTraceSegments` and `xray:PutTelemetryRecords` for `Active`.",
			Validators:          []validator.String{stringvalidator.OneOf("Active", "PassThrough")},
		},
		"logging": schema.SingleNestedAttribute{
			Optional: true,
			MarkdownDescription: "The function's logs: format, levels and how long its log group keeps them. Unset is Lambda's default: `Text`, kept forever. " +
				"The log group (`log_group`) exists whether or not this is set: it is created with the function and deleted with it.",
			Attributes: map[string]schema.Attribute{
				"log_format": schema.StringAttribute{
					Optional: true, Computed: true, Default: stringdefault.StaticString("Text"),
					MarkdownDescription: "`Text` or `JSON`. Defaults to `Text`. Levels need `JSON`.",
					Validators:          []validator.String{stringvalidator.OneOf("Text", "JSON")},
				},
				"application_log_level": schema.StringAttribute{
					Optional:            true,
					MarkdownDescription: "Lowest level of the function's own log lines that is kept: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR` or `FATAL`. Only with `log_format = \"JSON\"`; Lambda's default is `INFO`.",
					Validators: []validator.String{
						stringvalidator.OneOf("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"),
						validators.OnlyWhenSibling("log_format", "JSON", "Text"),
					},
				},
				"system_log_level": schema.StringAttribute{
					Optional:            true,
					MarkdownDescription: "Lowest level of Lambda's own log lines (START, END, REPORT) that is kept: `DEBUG`, `INFO` or `WARN`. Only with `log_format = \"JSON\"`; Lambda's default is `INFO`.",
					Validators: []validator.String{
						stringvalidator.OneOf("DEBUG", "INFO", "WARN"),
						validators.OnlyWhenSibling("log_format", "JSON", "Text"),
					},
				},
				"log_retention_days": schema.Int64Attribute{
					Optional:            true,
					MarkdownDescription: "Days the log group keeps events, one of CloudWatch Logs' values: " + retentionList() + ". Unset keeps them forever.",
					Validators:          []validator.Int64{int64validator.OneOf(loggroup.RetentionDays...)},
				},
			},
		},
		"kms_key_arn": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "ARN of the KMS key (`arn:aws:kms:<region>:<account>:key/<id>`) that encrypts the function's environment variables at rest. Unset: Lambda's own key. The role needs `kms:Decrypt` on it.",
			Validators:          []validator.String{stringvalidator.RegexMatches(kmsKeyRE, "must be a KMS key ARN: arn:aws:kms:<region>:<12-digit account>:key/<key id>")},
		},
		"reserved_concurrency": schema.Int64Attribute{
			Optional: true,
			MarkdownDescription: "Concurrent executions reserved for (and capping) the function, from 0 to the account's limit minus the 100 AWS keeps unreserved; AWS checks the upper bound when it is applied. " +
				"`0` stops every invocation (a run fails with throttling). Unset: the account's unreserved pool.",
			Validators: []validator.Int64{int64validator.AtLeast(0)},
		},
		"log_group": schema.StringAttribute{
			Computed:            true,
			MarkdownDescription: "The function's CloudWatch Logs log group, `/aws/lambda/<function_name>`, where each invocation's full log is. `data.aqueduct_invocation` names each operator's `log_stream` in it.",
		},
	}
}

func retentionList() string {
	s := make([]string, len(loggroup.RetentionDays))
	for i, d := range loggroup.RetentionDays {
		s[i] = fmt.Sprint(d)
	}
	return strings.Join(s, ", ")
}

// planLogGroup sets the computed log group name once the function's name is known.
func (m *lambdaSettingsModel) planLogGroup(functionName types.String) {
	if functionName.IsUnknown() {
		m.LogGroup = types.StringUnknown()
		return
	}
	m.LogGroup = types.StringValue(loggroup.Name(functionName.ValueString()))
}

// changed reports whether an update must apply the settings.
func (m *lambdaSettingsModel) changed(other *lambdaSettingsModel) bool {
	return !m.VPCConfig.Equal(other.VPCConfig) || !m.TracingMode.Equal(other.TracingMode) || !m.Logging.Equal(other.Logging) ||
		!m.KMSKeyARN.Equal(other.KMSKeyARN) || !m.ReservedConcurrency.Equal(other.ReservedConcurrency) || !m.LogGroup.Equal(other.LogGroup)
}

func (m *lambdaSettingsModel) logging(ctx context.Context, diags *diag.Diagnostics) *loggingModel {
	if m.Logging.IsNull() || m.Logging.IsUnknown() {
		return nil
	}
	var l loggingModel
	diags.Append(m.Logging.As(ctx, &l, basetypes.ObjectAsOptions{})...)
	return &l
}

// settings is the lambdafn form of the model.
func (m *lambdaSettingsModel) settings(ctx context.Context, diags *diag.Diagnostics) lambdafn.Settings {
	var s lambdafn.Settings
	if !m.VPCConfig.IsNull() && !m.VPCConfig.IsUnknown() {
		var v vpcConfigModel
		diags.Append(m.VPCConfig.As(ctx, &v, basetypes.ObjectAsOptions{})...)
		s.VPC = &lambdafn.VPC{IPv6AllowedForDualStack: v.IPv6AllowedForDualStack.ValueBool()}
		diags.Append(v.SubnetIDs.ElementsAs(ctx, &s.VPC.SubnetIDs, false)...)
		diags.Append(v.SecurityGroupIDs.ElementsAs(ctx, &s.VPC.SecurityGroupIDs, false)...)
	}
	s.TracingMode = m.TracingMode.ValueString()
	if l := m.logging(ctx, diags); l != nil {
		s.LogFormat = l.LogFormat.ValueString()
		s.ApplicationLogLevel = l.ApplicationLogLevel.ValueString()
		s.SystemLogLevel = l.SystemLogLevel.ValueString()
		if s.LogFormat == "JSON" {
			s.ApplicationLogLevel = orString(s.ApplicationLogLevel, defaultLogLevel)
			s.SystemLogLevel = orString(s.SystemLogLevel, defaultLogLevel)
		}
	}
	s.KMSKeyARN = m.KMSKeyARN.ValueString()
	if !m.ReservedConcurrency.IsNull() && !m.ReservedConcurrency.IsUnknown() {
		n := int32(m.ReservedConcurrency.ValueInt64())
		s.ReservedConcurrency = &n
	}
	return s
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// retentionDays is the log group's retention; 0 keeps events forever.
func (m *lambdaSettingsModel) retentionDays(ctx context.Context, diags *diag.Diagnostics) int64 {
	if l := m.logging(ctx, diags); l != nil {
		return l.LogRetentionDays.ValueInt64()
	}
	return 0
}

// readSettings puts what Lambda and CloudWatch Logs report into the model,
// so that a change made outside Terraform shows as drift. A value equal to
// the default stays null when it was null. group is the log group, nil when
// it is gone.
func (m *lambdaSettingsModel) readSettings(ctx context.Context, fn *lambdafn.Function, group *loggroup.Group, diags *diag.Diagnostics) {
	if fn.VPC == nil {
		m.VPCConfig = types.ObjectNull(vpcConfigAttrTypes)
	} else {
		subnets, d := types.SetValueFrom(ctx, types.StringType, fn.VPC.SubnetIDs)
		diags.Append(d...)
		sgs, d := types.SetValueFrom(ctx, types.StringType, fn.VPC.SecurityGroupIDs)
		diags.Append(d...)
		o, d := types.ObjectValueFrom(ctx, vpcConfigAttrTypes, vpcConfigModel{SubnetIDs: subnets, SecurityGroupIDs: sgs, IPv6AllowedForDualStack: types.BoolValue(fn.VPC.IPv6AllowedForDualStack)})
		diags.Append(d...)
		m.VPCConfig = o
	}
	m.TracingMode = keepNullIfDefault(m.TracingMode, fn.TracingMode, "PassThrough")
	m.KMSKeyARN = keepNullIfDefault(m.KMSKeyARN, fn.KMSKeyARN, "")
	if fn.ReservedConcurrency == nil {
		m.ReservedConcurrency = types.Int64Null()
	} else {
		m.ReservedConcurrency = types.Int64Value(int64(*fn.ReservedConcurrency))
	}

	var retention int64
	if group != nil && group.Ours {
		retention = group.RetentionDays
	} else if group != nil {
		// Not ours: its retention is not ours to report.
		retention = m.retentionDays(ctx, diags)
	}
	prior := m.logging(ctx, diags)
	format := orString(fn.LogFormat, "Text")
	if prior == nil && format == "Text" && retention == 0 {
		m.Logging = types.ObjectNull(loggingAttrTypes)
	} else {
		l := loggingModel{LogFormat: types.StringValue(format), ApplicationLogLevel: types.StringNull(), SystemLogLevel: types.StringNull(), LogRetentionDays: types.Int64Null()}
		if prior == nil {
			prior = &l
		}
		if format == "JSON" {
			l.ApplicationLogLevel = keepNullIfDefault(prior.ApplicationLogLevel, fn.ApplicationLogLevel, defaultLogLevel)
			l.SystemLogLevel = keepNullIfDefault(prior.SystemLogLevel, fn.SystemLogLevel, defaultLogLevel)
		}
		if retention > 0 {
			l.LogRetentionDays = types.Int64Value(retention)
		}
		o, d := types.ObjectValueFrom(ctx, loggingAttrTypes, l)
		diags.Append(d...)
		m.Logging = o
	}
	if group != nil {
		m.LogGroup = types.StringValue(group.Name)
	} else {
		// Gone: the next apply creates it again.
		m.LogGroup = types.StringValue("")
	}
}

// keepNullIfDefault is got, or null when it was null and got is the default.
func keepNullIfDefault(was types.String, got, def string) types.String {
	if was.IsNull() && (got == def || got == "") {
		return types.StringNull()
	}
	if got == "" {
		got = def
	}
	return types.StringValue(got)
}

// logGroupConfig is what the operator's log group should be. tags are the
// tags it carries besides the owner tag.
func (m *lambdaSettingsModel) logGroupConfig(ctx context.Context, op ids.Operator, functionName string, tags map[string]string, keep func(string) bool, diags *diag.Diagnostics) loggroup.Config {
	return loggroup.Config{Name: loggroup.Name(functionName), Owner: naming.Owner(op), RetentionDays: m.retentionDays(ctx, diags), Tags: tags, KeepTag: keep}
}

// ensureLogGroup creates or adopts the operator's log group and applies
// its retention. A group someone else made is used as it is, with a
// warning: it is never changed or deleted.
func (r *operatorResource) ensureLogGroup(ctx context.Context, region string, op ids.Operator, m *operatorModel, tags map[string]string, diags *diag.Diagnostics) {
	cfg := m.logGroupConfig(ctx, op, m.FunctionName.ValueString(), tags, r.data.Tags.Ignored, diags)
	_, err := loggroup.Ensure(ctx, r.data.AWS.ForRegion(region).Logs, cfg)
	switch {
	case errors.Is(err, loggroup.ErrNotOurs):
		diags.AddWarning("Log group not managed",
			fmt.Sprintf("The log group %q of operator %q already exists and was not made by this provider (%s), so its retention and tags are left as they are and it is not deleted with the operator. "+
				"The function logs to it. To have it managed, delete it and apply again.", cfg.Name, op, err))
		m.LogGroup = types.StringValue(cfg.Name)
	case err != nil:
		diags.AddError("Cannot create the function's log group", err.Error())
	default:
		m.LogGroup = types.StringValue(cfg.Name)
	}
}

// readLogGroup is the operator's log group; nil when it is gone.
func (r *operatorResource) readLogGroup(ctx context.Context, region string, op ids.Operator, functionName string, diags *diag.Diagnostics) *loggroup.Group {
	g, err := loggroup.Get(ctx, r.data.AWS.ForRegion(region).Logs, loggroup.Name(functionName), naming.Owner(op))
	if err != nil {
		diags.AddError("Cannot read the function's log group", err.Error())
		return nil
	}
	return g
}

// deleteLogGroup removes the operator's log group, if it made it.
func (r *operatorResource) deleteLogGroup(ctx context.Context, region string, op ids.Operator, functionName string, diags *diag.Diagnostics) {
	if functionName == "" {
		return
	}
	if _, err := loggroup.Delete(ctx, r.data.AWS.ForRegion(region).Logs, loggroup.Name(functionName), naming.Owner(op)); err != nil {
		diags.AddError("Cannot delete the function's log group", err.Error())
	}
}
