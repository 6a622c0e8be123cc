package tagsall

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/tags"
)

func strMap(t *testing.T, m map[string]string) types.Map {
	t.Helper()
	v, d := types.MapValueFrom(context.Background(), types.StringType, m)
	if d.HasError() {
		t.Fatal(d)
	}
	return v
}

func TestPlan(t *testing.T) {
	ctx := context.Background()
	cfg := &tags.Config{Default: map[string]string{"env": "dev", "cost": "ml"}, IgnoreKeys: []string{"cost"}}
	var diags diag.Diagnostics
	got := Plan(ctx, cfg, strMap(t, map[string]string{"env": "prod", "app": "iris"}), 4, &diags)
	if want := strMap(t, map[string]string{"env": "prod", "app": "iris"}); !got.Equal(want) || diags.HasError() {
		t.Errorf("Plan = %v (%v), want %v", got, diags, want)
	}
	// No tags: the defaults, known.
	if got := Plan(ctx, cfg, types.MapNull(types.StringType), 4, &diags); !got.Equal(strMap(t, map[string]string{"env": "dev"})) {
		t.Errorf("Plan(null) = %v", got)
	}
	// Unknown only when an input is.
	if got := Plan(ctx, cfg, types.MapUnknown(types.StringType), 4, &diags); !got.IsUnknown() {
		t.Errorf("Plan(unknown) = %v", got)
	}
	partly, _ := types.MapValue(types.StringType, map[string]attr.Value{"env": types.StringUnknown()})
	if got := Plan(ctx, cfg, partly, 4, &diags); !got.IsUnknown() {
		t.Errorf("Plan(unknown value) = %v", got)
	}
}

func TestPlanCountsInternalAndDefaultTags(t *testing.T) {
	ctx := context.Background()
	def := map[string]string{}
	for i := 0; i < 40; i++ {
		def[string(rune('a'+i%26))+strings.Repeat("x", i/26)] = "v"
	}
	own := map[string]string{}
	for i := 0; i < 7; i++ {
		own["own"+string(rune('a'+i))] = "v"
	}
	var diags diag.Diagnostics
	Plan(ctx, &tags.Config{Default: def}, strMap(t, own), 4, &diags)
	if !diags.HasError() || !strings.Contains(diags.Errors()[0].Detail(), "make 51") {
		t.Fatalf("47 tags and 4 internal: %v", diags)
	}
	diags = nil
	Plan(ctx, &tags.Config{Default: def}, strMap(t, own), 3, &diags)
	if diags.HasError() {
		t.Fatalf("50 in all must pass: %v", diags)
	}
}

func TestRead(t *testing.T) {
	ctx := context.Background()
	cfg := &tags.Config{Default: map[string]string{"env": "dev"}, IgnoreKeys: []string{"owner"}}
	fromAWS := map[string]string{"aqueduct:owner": "h", "env": "dev", "app": "iris", "owner": "bob"}
	var diags diag.Diagnostics
	own, all := Read(ctx, cfg, fromAWS, strMap(t, map[string]string{"app": "iris"}), &diags)
	if !all.Equal(strMap(t, map[string]string{"env": "dev", "app": "iris"})) || !own.Equal(strMap(t, map[string]string{"app": "iris"})) {
		t.Errorf("Read = %v, %v", own, all)
	}
	// Null tags stay null while only defaults are on the object.
	own, _ = Read(ctx, cfg, map[string]string{"env": "dev"}, types.MapNull(types.StringType), &diags)
	if !own.IsNull() {
		t.Errorf("Read(null prior) = %v, want null", own)
	}
	// An ignored key set in tags is never read back, and never drift.
	own, _ = Read(ctx, cfg, map[string]string{}, strMap(t, map[string]string{"owner": "me"}), &diags)
	if !own.Equal(strMap(t, map[string]string{"owner": "me"})) {
		t.Errorf("Read(ignored in tags) = %v", own)
	}
}
