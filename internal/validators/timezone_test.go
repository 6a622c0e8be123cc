package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestTimezone(t *testing.T) {
	for name, ok := range map[string]bool{
		"UTC": true, "Europe/Paris": true, "America/Argentina/Buenos_Aires": true, "Asia/Kolkata": true,
		"": false, "Local": false, "Mars/Olympus": false, "/etc/localtime": false, "../UTC": false, "+02:00": false,
	} {
		resp := &validator.StringResponse{}
		Timezone().ValidateString(context.Background(), validator.StringRequest{Path: path.Root("timezone"), ConfigValue: types.StringValue(name)}, resp)
		if resp.Diagnostics.HasError() == ok {
			t.Errorf("%q: errors %v, want valid=%v", name, resp.Diagnostics, ok)
		}
		if !ok && !strings.Contains(resp.Diagnostics[0].Detail(), "IANA time zone") {
			t.Errorf("%q: %s", name, resp.Diagnostics[0].Detail())
		}
	}
}
