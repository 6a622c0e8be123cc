package provider

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
)

// Names of engines, workflows and operators: they become parts of ECR
// repository names, S3 keys and Lambda function names.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

const nameHint = "lowercase letters, digits, hyphens and underscores, starting with a letter or digit"

// providerData extracts ProviderData in a resource's or data source's
// Configure. It returns nil before the provider is configured.
func providerData(data any, diags *diag.Diagnostics) *ProviderData {
	if data == nil {
		return nil
	}
	pd, ok := data.(*ProviderData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *provider.ProviderData, got %T; please report this issue to the provider developers", data))
		return nil
	}
	return pd
}

// resolveEngine finds an engine by id through its ECR repository tags.
func (pd *ProviderData) resolveEngine(ctx context.Context, id string) (*engine.Engine, error) {
	region, repo, err := engine.ParseID(id, pd.AWS.Region)
	if err != nil {
		return nil, err
	}
	return pd.engines.Get(engine.ID(region, repo), func() (*engine.Engine, error) {
		return engine.Lookup(ctx, pd.AWS.ForRegion(region).ECR, region, repo)
	})
}

func stringMap(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]string {
	out := map[string]string{}
	if m.IsNull() || m.IsUnknown() {
		return out
	}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

// store returns the artifact store of an engine.
func (pd *ProviderData) store(e *engine.Engine) *artifacts.Store {
	return artifacts.NewStore(pd.AWS.ForRegion(e.Region).S3, e.Bucket, e.Prefix, presignTTL)
}

// presignTTL bounds how long a function may take to fetch its inputs and
// write its output: Lambda's 15-minute maximum plus slack.
const presignTTL = 20 * time.Minute
