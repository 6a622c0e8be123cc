// Package memorytype is a terraform-plugin-framework string type for Lambda
// memory sizes. Values are kept as the user wrote them ("2GB", "1024MB",
// 1536), checked against Lambda's bounds at plan time, and compared by their
// size in MB: a refresh that reads back a plain number of MB shows no diff,
// and with the UseStateForSameSize plan modifier neither does a respelling.
//
//	"memory": schema.StringAttribute{
//		CustomType:    memorytype.MemoryType{},
//		PlanModifiers: []planmodifier.String{memorytype.UseStateForSameSize()},
//	}
package memorytype

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/memory"
)

var (
	_ basetypes.StringTypable                    = MemoryType{}
	_ basetypes.StringValuableWithSemanticEquals = Memory{}
	_ xattr.ValidateableAttribute                = Memory{}
	_ planmodifier.String                        = sameSize{}
)

// MemoryType is the attribute type: set it as a StringAttribute's CustomType.
// In HCL a number converts to a string, so `memory = 1536` arrives as "1536".
type MemoryType struct {
	basetypes.StringType
}

func (t MemoryType) String() string { return "memorytype.MemoryType" }

// ValueType returns the value type, Memory.
func (t MemoryType) ValueType(context.Context) attr.Value { return Memory{} }

// Equal reports whether o is also a MemoryType.
func (t MemoryType) Equal(o attr.Type) bool {
	other, ok := o.(MemoryType)
	return ok && t.StringType.Equal(other.StringType)
}

// ValueFromString wraps a framework string as a Memory.
func (t MemoryType) ValueFromString(_ context.Context, in basetypes.StringValue) (basetypes.StringValuable, diag.Diagnostics) {
	return Memory{StringValue: in}, nil
}

// ValueFromTerraform converts a Terraform string value into a Memory.
func (t MemoryType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.StringType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	s, ok := v.(basetypes.StringValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return Memory{StringValue: s}, nil
}

// Memory is a memory size as written in configuration or read back from AWS.
type Memory struct {
	basetypes.StringValue
}

// NewMemoryValue makes a known Memory from its spelling, e.g. "2GB".
func NewMemoryValue(s string) Memory { return Memory{StringValue: basetypes.NewStringValue(s)} }

// NewMemoryMB makes a known Memory from a size in MB, spelled as a plain
// number ("1024"), the way a refresh or an import reads it from AWS.
func NewMemoryMB(mb int64) Memory { return NewMemoryValue(strconv.FormatInt(mb, 10)) }

// NewMemoryNull makes a null Memory.
func NewMemoryNull() Memory { return Memory{StringValue: basetypes.NewStringNull()} }

// NewMemoryUnknown makes an unknown Memory.
func NewMemoryUnknown() Memory { return Memory{StringValue: basetypes.NewStringUnknown()} }

// Type returns MemoryType.
func (v Memory) Type(context.Context) attr.Type { return MemoryType{} }

// Equal is exact equality of the spelling; StringSemanticEquals compares sizes.
func (v Memory) Equal(o attr.Value) bool {
	other, ok := o.(Memory)
	return ok && v.StringValue.Equal(other.StringValue)
}

// StringSemanticEquals reports whether both values are the same number of MB:
// "1GB", "1024MB" and "1024" are one value. A value that does not parse is
// equal only to the same spelling; ValidateAttribute reports it.
func (v Memory) StringSemanticEquals(_ context.Context, newValuable basetypes.StringValuable) (bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	other, ok := newValuable.(Memory)
	if !ok {
		diags.AddError("Semantic Equality Check Error",
			fmt.Sprintf("memorytype: expected a value of type %T, got %T. Please report this to the provider developers.", v, newValuable))
		return false, diags
	}
	if v.IsNull() || v.IsUnknown() || other.IsNull() || other.IsUnknown() {
		return v.StringValue.Equal(other.StringValue), diags
	}
	a, errA := memory.Parse(v.ValueString())
	b, errB := memory.Parse(other.ValueString())
	if errA != nil || errB != nil {
		return v.ValueString() == other.ValueString(), diags
	}
	return a == b, diags
}

// ValidateAttribute rejects, at plan time, a size that does not parse or is
// outside Lambda's 128–10240 MB. Null and unknown values are left alone.
func (v Memory) ValidateAttribute(_ context.Context, req xattr.ValidateAttributeRequest, resp *xattr.ValidateAttributeResponse) {
	if v.IsNull() || v.IsUnknown() {
		return
	}
	if _, err := memory.CheckLambda(v.ValueString()); err != nil {
		summary := "Invalid Memory Size"
		var re *memory.RangeError
		if errors.As(err, &re) {
			summary = "Memory Size Out Of Range"
		}
		resp.Diagnostics.AddAttributeError(req.Path, summary, err.Error())
	}
}

// MB returns the size in MB. A null, unknown or malformed value is an error
// diagnostic; Lambda's bounds are ValidateAttribute's job.
func (v Memory) MB() (int64, diag.Diagnostics) {
	var diags diag.Diagnostics
	switch {
	case v.IsNull():
		diags.AddError("Memory Size Missing", "memory is null; a size in MB was expected")
		return 0, diags
	case v.IsUnknown():
		diags.AddError("Memory Size Unknown", "memory is not known yet; a size in MB was expected")
		return 0, diags
	}
	mb, err := memory.Parse(v.ValueString())
	if err != nil {
		diags.AddError("Invalid Memory Size", err.Error())
	}
	return mb, diags
}

// UseStateForSameSize is the attribute's plan modifier that makes a respelling
// show no diff. Semantic equality covers values that the provider returns
// (apply, refresh, import); a change in configuration is planned before that,
// so this keeps the prior value when the new one is the same size. Terraform
// accepts the prior value in place of an equivalent configured one.
func UseStateForSameSize() planmodifier.String { return sameSize{} }

type sameSize struct{}

func (sameSize) Description(context.Context) string {
	return "Keeps the prior value when the configured size is the same number of MB written another way."
}

func (m sameSize) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (sameSize) PlanModifyString(_ context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	for _, v := range []basetypes.StringValue{req.StateValue, req.ConfigValue, req.PlanValue} {
		if v.IsNull() || v.IsUnknown() {
			return
		}
	}
	prior, err := memory.Parse(req.StateValue.ValueString())
	if err != nil {
		return
	}
	if mb, err := memory.Parse(req.ConfigValue.ValueString()); err == nil && mb == prior {
		resp.PlanValue = req.StateValue
	}
}
