package validators

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// LambdaReservedEnvironment are the environment variables Lambda sets itself
// and refuses in a function's configuration.
var LambdaReservedEnvironment = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

// MaxLambdaEnvironmentBytes is Lambda's limit on a function's environment,
// measured as the JSON of the variables: keys, values and quoting.
const MaxLambdaEnvironmentBytes = 4096

var lambdaEnvKey = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]+$`)

type lambdaEnvironment struct{ reservedPrefixes []string }

// LambdaEnvironment checks a map of environment variables against Lambda's
// rules at plan time, so that nothing fails halfway through an apply: keys
// of two or more letters, digits and underscores starting with a letter; none
// of the names Lambda reserves; none with the given prefixes, which the
// provider or AWS own; 4 KB in all.
func LambdaEnvironment(reservedPrefixes ...string) validator.Map {
	return lambdaEnvironment{reservedPrefixes: reservedPrefixes}
}

func (v lambdaEnvironment) Description(context.Context) string {
	return fmt.Sprintf("keys must match %s, must not be one Lambda reserves (%s) or start with %s, and the variables must fit in %d bytes",
		lambdaEnvKey, strings.Join(LambdaReservedEnvironment, ", "), strings.Join(v.reservedPrefixes, " or "), MaxLambdaEnvironmentBytes)
}

func (v lambdaEnvironment) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v lambdaEnvironment) ValidateMap(ctx context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	vars := map[string]string{}
	known := true
	keys := make([]string, 0, len(req.ConfigValue.Elements()))
	for k := range req.ConfigValue.Elements() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		at := req.Path.AtMapKey(k)
		switch {
		case isReserved(k):
			resp.Diagnostics.AddAttributeError(at, "Reserved environment variable",
				fmt.Sprintf("environment variable %q is set by Lambda itself and cannot be configured. Lambda reserves: %s.", k, strings.Join(LambdaReservedEnvironment, ", ")))
			continue
		case !lambdaEnvKey.MatchString(k):
			resp.Diagnostics.AddAttributeError(at, "Invalid environment variable name",
				fmt.Sprintf("environment variable %q: Lambda accepts names of two or more letters, digits and underscores that start with a letter (%s).", k, lambdaEnvKey))
			continue
		}
		if p := v.prefixOf(k); p != "" {
			resp.Diagnostics.AddAttributeError(at, "Reserved environment variable",
				fmt.Sprintf("environment variable %q: names starting with %q are reserved for AWS and the provider's runtime.", k, p))
			continue
		}
		s, ok := req.ConfigValue.Elements()[k].(types.String)
		if !ok || s.IsUnknown() {
			known = false
			continue
		}
		vars[k] = s.ValueString()
	}
	if !known || resp.Diagnostics.HasError() {
		return
	}
	if n := environmentSize(vars); n > MaxLambdaEnvironmentBytes {
		resp.Diagnostics.AddAttributeError(req.Path, "Environment too large",
			fmt.Sprintf("the environment variables take %d bytes; Lambda allows %d bytes in all (keys, values and JSON quoting). Keep large values in S3 or SSM Parameter Store and pass their names.", n, MaxLambdaEnvironmentBytes))
	}
}

// environmentSize measures the variables as Lambda does: compact JSON with
// sorted keys, in UTF-8 bytes, with no HTML escaping.
func environmentSize(vars map[string]string) int {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(vars) // map keys are encoded sorted
	return b.Len() - 1   // Encode ends with a newline
}

func isReserved(k string) bool {
	for _, r := range LambdaReservedEnvironment {
		if k == r {
			return true
		}
	}
	return false
}

func (v lambdaEnvironment) prefixOf(k string) string {
	for _, p := range v.reservedPrefixes {
		if strings.HasPrefix(k, p) {
			return p
		}
	}
	return ""
}
