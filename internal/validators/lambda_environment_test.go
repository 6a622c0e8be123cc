package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func validateEnv(t *testing.T, vars map[string]attr.Value) string {
	t.Helper()
	m, d := types.MapValue(types.StringType, vars)
	if d.HasError() {
		t.Fatal(d)
	}
	var resp validator.MapResponse
	LambdaEnvironment("AWS_", "AQUEDUCT_").ValidateMap(context.Background(), validator.MapRequest{Path: path.Root("environment"), ConfigValue: m}, &resp)
	var msgs []string
	for _, e := range resp.Diagnostics.Errors() {
		msgs = append(msgs, e.Summary()+": "+e.Detail())
	}
	return strings.Join(msgs, "\n")
}

func TestLambdaEnvironment(t *testing.T) {
	s := types.StringValue
	for name, c := range map[string]struct {
		vars map[string]attr.Value
		want string // "" for valid
	}{
		"plain":            {map[string]attr.Value{"MODE": s("train"), "N_JOBS": s("4")}, ""},
		"handler":          {map[string]attr.Value{"_HANDLER": s("x")}, `"_HANDLER"`},
		"task root":        {map[string]attr.Value{"LAMBDA_TASK_ROOT": s("/x")}, `"LAMBDA_TASK_ROOT" is set by Lambda`},
		"runtime dir":      {map[string]attr.Value{"LAMBDA_RUNTIME_DIR": s("/x")}, "LAMBDA_RUNTIME_DIR"},
		"aws prefix":       {map[string]attr.Value{"AWS_PROFILE": s("x")}, `starting with "AWS_"`},
		"provider prefix":  {map[string]attr.Value{"AQUEDUCT_HANDLER": s("x")}, `"AQUEDUCT_"`},
		"one letter":       {map[string]attr.Value{"X": s("1")}, "two or more"},
		"dash":             {map[string]attr.Value{"MY-VAR": s("1")}, `"MY-VAR"`},
		"leading digit":    {map[string]attr.Value{"1X": s("1")}, `"1X"`},
		"exactly at limit": {map[string]attr.Value{"KEY": s(strings.Repeat("v", 4096-len(`{"KEY":""}`)))}, ""},
		"one byte over":    {map[string]attr.Value{"KEY": s(strings.Repeat("v", 4097-len(`{"KEY":""}`)))}, "4097 bytes; Lambda allows 4096"},
		"unknown value":    {map[string]attr.Value{"KEY": types.StringUnknown()}, ""},
		"quotes count":     {map[string]attr.Value{"KEY": s(strings.Repeat(`"`, 2050))}, "bytes; Lambda allows 4096"},
	} {
		got := validateEnv(t, c.vars)
		if c.want == "" && got != "" {
			t.Errorf("%s: unexpected error %s", name, got)
		}
		if c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s: error %q does not contain %q", name, got, c.want)
		}
	}
}
