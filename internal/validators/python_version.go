package validators

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// pythonRuntime is one Python version AWS publishes a Lambda base image for.
type pythonRuntime struct {
	Version    string
	Deprecated string // AWS's deprecation date (YYYY-MM-DD), "" while not scheduled or not reached
}

// PythonRuntimes are the Python versions of AWS Lambda's runtime table
// (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html, read December
// 2026): python3.14 was added on 2025-11-18; python3.9 was deprecated on
// 2025-12-15; python3.10 and python3.11 on 2026-06-30. 3.12 (deprecation
// planned 2028-10-31), 3.13 (2029-06-30) and 3.14 are supported. A deprecated
// runtime's base image stays pullable but gets no more security patches, and
// Lambda's create/update blocks apply to .zip functions, not to images, so
// deprecated versions still work here, with a warning. Python 3.8 and older
// have no base image AWS still publishes for Lambda and are refused.
var PythonRuntimes = []pythonRuntime{
	{Version: "3.9", Deprecated: "2025-12-15"},
	{Version: "3.10", Deprecated: "2026-06-30"},
	{Version: "3.11", Deprecated: "2026-06-30"},
	{Version: "3.12"},
	{Version: "3.13"},
	{Version: "3.14"},
}

// PythonVersionList is the accepted versions as `a`, `b`, ... for docs.
func PythonVersionList() string {
	vs := make([]string, len(PythonRuntimes))
	for i, r := range PythonRuntimes {
		vs[i] = "`" + r.Version + "`"
	}
	return strings.Join(vs, ", ")
}

func supportedPythons() []string {
	var vs []string
	for _, r := range PythonRuntimes {
		if r.Deprecated == "" {
			vs = append(vs, r.Version)
		}
	}
	return vs
}

type pythonVersion struct{}

// PythonVersion accepts the Python versions of PythonRuntimes: an error
// names the accepted list, a deprecated version gets a warning with its date.
func PythonVersion() validator.String { return pythonVersion{} }

func (pythonVersion) Description(context.Context) string {
	return "a Python version AWS Lambda publishes a base image for: " + strings.ReplaceAll(PythonVersionList(), "`", "")
}

func (v pythonVersion) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (pythonVersion) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	got := req.ConfigValue.ValueString()
	for _, r := range PythonRuntimes {
		if r.Version != got {
			continue
		}
		if r.Deprecated != "" {
			resp.Diagnostics.AddAttributeWarning(req.Path, "Deprecated Python version",
				fmt.Sprintf("python_version %q: AWS Lambda deprecated python%s on %s; its base image gets no more security patches. "+
					"Move to one of %s.", got, got, r.Deprecated, strings.Join(supportedPythons(), ", ")))
		}
		return
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Unsupported Python version",
		fmt.Sprintf("python_version %q is not a Python version AWS Lambda publishes a base image for; use one of %s (supported: %s).",
			got, strings.ReplaceAll(PythonVersionList(), "`", ""), strings.Join(supportedPythons(), ", ")))
}
