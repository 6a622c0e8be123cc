package provider

import (
	"context"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
)

// The manifest's form of the defaults reads back as the same attribute
// value: otherwise the workflow would show a diff after every apply.
func TestFunctionDefaultsRoundTrip(t *testing.T) {
	ctx := context.Background()
	var diags diag.Diagnostics
	n := int64(4)
	for _, d := range []*artifacts.FunctionDefaults{
		nil,
		{TracingMode: "Active"},
		{VPC: &artifacts.DefaultVPC{SubnetIDs: []string{testSubnetA, testSubnetB}, SecurityGroupIDs: []string{testSG}}, KMSKeyARN: testKMS1, ReservedConcurrency: &n,
			Logging: &artifacts.DefaultLogging{LogFormat: "JSON", SystemLogLevel: "WARN", LogRetentionDays: 14}},
	} {
		o := defaultsObject(ctx, d, &diags)
		back := functionDefaultsDoc(ctx, o, &diags)
		if diags.HasError() {
			t.Fatal(diags)
		}
		if !reflect.DeepEqual(back, d) {
			t.Errorf("round trip of %+v gave %+v", d, back)
		}
		if again := defaultsObject(ctx, back, &diags); !again.Equal(o) {
			t.Errorf("object %v read back as %v", o, again)
		}
	}
}

// An operator's own setting wins; a setting it leaves unset takes the
// default; Read keeps an unset setting null while the function holds the
// default, and shows the function's value when it drifts.
func TestEffectiveSettingsPrecedence(t *testing.T) {
	ctx := context.Background()
	var diags diag.Diagnostics
	d := &artifacts.FunctionDefaults{TracingMode: "Active", KMSKeyARN: testKMS1}
	own := lambdaSettingsModel{TracingMode: types.StringValue("PassThrough")}
	eff := effectiveSettings(ctx, own, d, &diags)
	s := eff.settings(ctx, &diags)
	if s.TracingMode != "PassThrough" || s.KMSKeyARN != testKMS1 {
		t.Fatalf("effective tracing %q kms %q, want PassThrough and the default key", s.TracingMode, s.KMSKeyARN)
	}
	if got := own.setSettings(); !reflect.DeepEqual(got, []string{settingTracing}) {
		t.Errorf("set settings %v, want [tracing_mode]", got)
	}

	after := eff
	kept := ownSettingsFromRead(own, eff, after)
	if !kept.KMSKeyARN.IsNull() || kept.TracingMode.ValueString() != "PassThrough" {
		t.Errorf("read with no drift: kms %v tracing %v, want null and PassThrough", kept.KMSKeyARN, kept.TracingMode)
	}
	after.KMSKeyARN = types.StringValue(testKMS2)
	if got := ownSettingsFromRead(own, eff, after).KMSKeyARN; got.ValueString() != testKMS2 {
		t.Errorf("read with a drifted key: %v, want %s", got, testKMS2)
	}
}
