package validators

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// arnRE is arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
var arnRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws)?:(.+)$`)

type arnValidator struct{ service, resourceType string }

// ARN accepts an ARN of the given service whose resource is of
// resourceType, e.g. ARN("iam", "role") for arn:aws:iam::123456789012:role/name.
func ARN(service, resourceType string) validator.String {
	return arnValidator{service: service, resourceType: resourceType}
}

func (v arnValidator) Description(context.Context) string {
	return fmt.Sprintf("value must be an ARN of the form arn:aws:%s::ACCOUNT_ID:%s/NAME", v.service, v.resourceType)
}

func (v arnValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v arnValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	raw := req.ConfigValue.ValueString()
	m := arnRE.FindStringSubmatch(raw)
	ok := m != nil && m[2] == v.service
	if ok {
		res := m[5]
		ok = len(res) > len(v.resourceType)+1 && res[:len(v.resourceType)+1] == v.resourceType+"/" && res[len(res)-1] != '/'
	}
	if !ok {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid ARN",
			fmt.Sprintf("%s = %q is not an IAM %s ARN: %s.", req.Path, raw, v.resourceType, v.Description(ctx)))
	}
}
