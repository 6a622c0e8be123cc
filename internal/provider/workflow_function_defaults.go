package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/lambdafn"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/loggroup"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
)

// functionDefaultsModel is a workflow's function_defaults: the operator's
// production settings, used by each operator that does not set them.
type functionDefaultsModel struct {
	VPCConfig           types.Object `tfsdk:"vpc_config"`
	TracingMode         types.String `tfsdk:"tracing_mode"`
	Logging             types.Object `tfsdk:"logging"`
	KMSKeyARN           types.String `tfsdk:"kms_key_arn"`
	ReservedConcurrency types.Int64  `tfsdk:"reserved_concurrency"`
}

var functionDefaultsAttrTypes = map[string]attr.Type{
	"vpc_config":           types.ObjectType{AttrTypes: vpcConfigAttrTypes},
	"tracing_mode":         types.StringType,
	"logging":              types.ObjectType{AttrTypes: loggingAttrTypes},
	"kms_key_arn":          types.StringType,
	"reserved_concurrency": types.Int64Type,
}

// Names of the settings, as the operator manifest's SetSettings lists them.
const (
	settingVPC         = "vpc_config"
	settingTracing     = "tracing_mode"
	settingLogging     = "logging"
	settingKMS         = "kms_key_arn"
	settingConcurrency = "reserved_concurrency"
)

const functionDefaultsDescription = "Defaults for the production settings of the workflow's operators' functions, so that a pipeline does not repeat them on every operator. " +
	"Each setting (`vpc_config`, `tracing_mode`, `logging` as a whole, `kms_key_arn`, `reserved_concurrency`) is taken from the operator when the operator sets it, else from here, else it is Lambda's default. " +
	"The defaults are stored in the workflow's manifest. An operator applies them when it is created or updated; changing them here updates the functions (and log group retention) of the workflow's existing operators in place, " +
	"for the settings they do not set, as part of the workflow's own update: no operator shows a change. " +
	"An operator's attributes hold only what it sets: a default does not appear in them, and a function that drifts from its default shows as a change on the operator."

// functionDefaultsAttribute is the workflow's function_defaults: the
// operator's settings attributes, validators included, without log_group.
func functionDefaultsAttribute() schema.Attribute {
	attrs := lambdaSettingsAttributes()
	delete(attrs, "log_group")
	return schema.SingleNestedAttribute{Optional: true, MarkdownDescription: functionDefaultsDescription, Attributes: attrs}
}

// functionDefaultsDoc is the manifest's form of the attribute; nil when unset.
func functionDefaultsDoc(ctx context.Context, o types.Object, diags *diag.Diagnostics) *artifacts.FunctionDefaults {
	if o.IsNull() || o.IsUnknown() {
		return nil
	}
	var m functionDefaultsModel
	diags.Append(o.As(ctx, &m, basetypes.ObjectAsOptions{})...)
	s := m.overlay(ctx, lambdaSettingsModel{}, diags)
	set := s.settings(ctx, diags)
	d := &artifacts.FunctionDefaults{TracingMode: m.TracingMode.ValueString(), KMSKeyARN: m.KMSKeyARN.ValueString()}
	if set.VPC != nil {
		d.VPC = &artifacts.DefaultVPC{SubnetIDs: set.VPC.SubnetIDs, SecurityGroupIDs: set.VPC.SecurityGroupIDs, IPv6AllowedForDualStack: set.VPC.IPv6AllowedForDualStack}
		slices.Sort(d.VPC.SubnetIDs)
		slices.Sort(d.VPC.SecurityGroupIDs)
	}
	if l := s.logging(ctx, diags); l != nil {
		d.Logging = &artifacts.DefaultLogging{LogFormat: l.LogFormat.ValueString(), ApplicationLogLevel: l.ApplicationLogLevel.ValueString(),
			SystemLogLevel: l.SystemLogLevel.ValueString(), LogRetentionDays: l.LogRetentionDays.ValueInt64()}
	}
	if !m.ReservedConcurrency.IsNull() && !m.ReservedConcurrency.IsUnknown() {
		n := m.ReservedConcurrency.ValueInt64()
		d.ReservedConcurrency = &n
	}
	return d
}

// defaultsModel is the model form of a manifest's defaults; all null when d is nil.
func defaultsModel(ctx context.Context, d *artifacts.FunctionDefaults, diags *diag.Diagnostics) functionDefaultsModel {
	m := functionDefaultsModel{VPCConfig: types.ObjectNull(vpcConfigAttrTypes), TracingMode: types.StringNull(), Logging: types.ObjectNull(loggingAttrTypes),
		KMSKeyARN: types.StringNull(), ReservedConcurrency: types.Int64Null()}
	if d == nil {
		return m
	}
	if d.VPC != nil {
		subnets, dd := types.SetValueFrom(ctx, types.StringType, d.VPC.SubnetIDs)
		diags.Append(dd...)
		sgs, dd := types.SetValueFrom(ctx, types.StringType, d.VPC.SecurityGroupIDs)
		diags.Append(dd...)
		o, dd := types.ObjectValueFrom(ctx, vpcConfigAttrTypes, vpcConfigModel{SubnetIDs: subnets, SecurityGroupIDs: sgs, IPv6AllowedForDualStack: types.BoolValue(d.VPC.IPv6AllowedForDualStack)})
		diags.Append(dd...)
		m.VPCConfig = o
	}
	if d.TracingMode != "" {
		m.TracingMode = types.StringValue(d.TracingMode)
	}
	if d.Logging != nil {
		l := loggingModel{LogFormat: types.StringValue(orString(d.Logging.LogFormat, "Text")), ApplicationLogLevel: types.StringNull(), SystemLogLevel: types.StringNull(), LogRetentionDays: types.Int64Null()}
		if d.Logging.ApplicationLogLevel != "" && l.LogFormat.ValueString() == "JSON" {
			l.ApplicationLogLevel = types.StringValue(d.Logging.ApplicationLogLevel)
		}
		if d.Logging.SystemLogLevel != "" && l.LogFormat.ValueString() == "JSON" {
			l.SystemLogLevel = types.StringValue(d.Logging.SystemLogLevel)
		}
		if d.Logging.LogRetentionDays > 0 {
			l.LogRetentionDays = types.Int64Value(d.Logging.LogRetentionDays)
		}
		o, dd := types.ObjectValueFrom(ctx, loggingAttrTypes, l)
		diags.Append(dd...)
		m.Logging = o
	}
	if d.KMSKeyARN != "" {
		m.KMSKeyARN = types.StringValue(d.KMSKeyARN)
	}
	if d.ReservedConcurrency != nil {
		m.ReservedConcurrency = types.Int64Value(*d.ReservedConcurrency)
	}
	return m
}

// defaultsObject is the workflow attribute's value for a manifest's defaults.
func defaultsObject(ctx context.Context, d *artifacts.FunctionDefaults, diags *diag.Diagnostics) types.Object {
	if d == nil {
		return types.ObjectNull(functionDefaultsAttrTypes)
	}
	o, dd := types.ObjectValueFrom(ctx, functionDefaultsAttrTypes, defaultsModel(ctx, d, diags))
	diags.Append(dd...)
	return o
}

// overlay is own with each setting it does not set taken from the defaults.
func (m functionDefaultsModel) overlay(_ context.Context, own lambdaSettingsModel, _ *diag.Diagnostics) lambdaSettingsModel {
	eff := own
	if eff.VPCConfig.IsNull() {
		eff.VPCConfig = orNullObject(m.VPCConfig, vpcConfigAttrTypes)
	}
	if eff.TracingMode.IsNull() {
		eff.TracingMode = m.TracingMode
	}
	if eff.Logging.IsNull() {
		eff.Logging = orNullObject(m.Logging, loggingAttrTypes)
	}
	if eff.KMSKeyARN.IsNull() {
		eff.KMSKeyARN = m.KMSKeyARN
	}
	if eff.ReservedConcurrency.IsNull() {
		eff.ReservedConcurrency = m.ReservedConcurrency
	}
	return eff
}

func orNullObject(o types.Object, t map[string]attr.Type) types.Object {
	if o.IsNull() && len(o.AttributeTypes(context.Background())) == 0 {
		return types.ObjectNull(t) // the zero value of a model never set
	}
	return o
}

// effectiveSettings is the operator's settings over its workflow's defaults.
func effectiveSettings(ctx context.Context, own lambdaSettingsModel, d *artifacts.FunctionDefaults, diags *diag.Diagnostics) lambdaSettingsModel {
	return defaultsModel(ctx, d, diags).overlay(ctx, own, diags)
}

// ownSettingsFromRead is what Read keeps in the operator's attributes: a
// setting the operator does not set stays null while the function holds
// the default (before is the effective value, after what was read).
func ownSettingsFromRead(own, before, after lambdaSettingsModel) lambdaSettingsModel {
	out := after
	if own.VPCConfig.IsNull() && after.VPCConfig.Equal(before.VPCConfig) {
		out.VPCConfig = own.VPCConfig
	}
	if own.TracingMode.IsNull() && after.TracingMode.Equal(before.TracingMode) {
		out.TracingMode = own.TracingMode
	}
	if own.Logging.IsNull() && after.Logging.Equal(before.Logging) {
		out.Logging = own.Logging
	}
	if own.KMSKeyARN.IsNull() && after.KMSKeyARN.Equal(before.KMSKeyARN) {
		out.KMSKeyARN = own.KMSKeyARN
	}
	if own.ReservedConcurrency.IsNull() && after.ReservedConcurrency.Equal(before.ReservedConcurrency) {
		out.ReservedConcurrency = own.ReservedConcurrency
	}
	return out
}

// setSettings names the settings the operator sets itself; never nil.
func (m *lambdaSettingsModel) setSettings() []string {
	out := []string{}
	for name, v := range map[string]attr.Value{settingVPC: m.VPCConfig, settingTracing: m.TracingMode, settingLogging: m.Logging, settingKMS: m.KMSKeyARN, settingConcurrency: m.ReservedConcurrency} {
		if !v.IsNull() {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// pushDefaults brings the functions of the workflow's operators to the new
// defaults, in place, for each setting an operator does not set: its own
// settings are sent back as the function holds them, and nothing else
// (memory, code, environment, tags) is touched. Operators applied by a version that did not record which settings
// they set are left alone, with a warning.
func (r *workflowResource) pushDefaults(ctx context.Context, e *engine.Engine, wf ids.Workflow, d *artifacts.FunctionDefaults, diags *diag.Diagnostics) {
	store := r.data.store(e)
	ops, err := artifacts.Operators(ctx, store, wf.Name)
	if err != nil {
		diags.AddError("Cannot list the workflow's operators", err.Error())
		return
	}
	def := effectiveSettings(ctx, lambdaSettingsModel{}, d, diags)
	want := def.settings(ctx, diags)
	retention := def.retentionDays(ctx, diags)
	if diags.HasError() {
		return
	}
	fns := r.data.lambda(e.Region)
	logs := r.data.AWS.ForRegion(e.Region).Logs
	for _, m := range ops {
		if m.SetSettings == nil {
			diags.AddWarning("Operator not updated to the new function defaults",
				fmt.Sprintf("Operator %q was applied by an older version of the provider, which did not record the settings it sets; apply it once (any change) to have it take the workflow's function_defaults.", m.Name))
			continue
		}
		fn, err := fns.Get(ctx, m.FunctionName)
		if errors.Is(err, lambdafn.ErrNotFound) {
			continue // the operator's next apply creates it, with the new defaults
		}
		if err != nil {
			diags.AddError("Cannot read an operator's function", err.Error())
			return
		}
		own := func(s string) bool { return slices.Contains(m.SetSettings, s) }
		s := fn.Settings
		if !own(settingVPC) {
			s.VPC = want.VPC
		}
		if !own(settingTracing) {
			s.TracingMode = want.TracingMode
		}
		if !own(settingLogging) {
			s.LogFormat, s.ApplicationLogLevel, s.SystemLogLevel = want.LogFormat, want.ApplicationLogLevel, want.SystemLogLevel
		}
		if !own(settingKMS) {
			s.KMSKeyARN = want.KMSKeyARN
		}
		if !own(settingConcurrency) {
			s.ReservedConcurrency = want.ReservedConcurrency
		}
		// Only the settings are sent; the tags are the function's own, so none changes.
		cfg := lambdafn.Config{Name: fn.Name, SettingsOnly: true, Tags: maps.Clone(fn.Tags), KeepTag: func(string) bool { return true }, Settings: s}
		if _, err := fns.UpdateConfig(ctx, cfg); err != nil {
			diags.AddError("Cannot apply the function defaults", fmt.Sprintf("operator %q: %s", m.Name, err))
			return
		}
		if own(settingLogging) {
			continue
		}
		owner := naming.Owner(wf.Operator(m.Name))
		g, err := loggroup.Get(ctx, logs, loggroup.Name(fn.Name), owner)
		if err != nil {
			diags.AddError("Cannot read an operator's log group", err.Error())
			return
		}
		if g == nil || !g.Ours {
			continue // gone (the operator's next apply makes it) or not ours to change
		}
		if err := loggroup.Update(ctx, logs, g, loggroup.Config{Name: g.Name, Owner: owner, RetentionDays: retention, Tags: maps.Clone(g.Tags)}); err != nil {
			diags.AddError("Cannot apply the default log retention", fmt.Sprintf("operator %q: %s", m.Name, err))
			return
		}
	}
}
