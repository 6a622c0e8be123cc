package provider

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/images"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/lambdafn"
)

// Names of engines, workflows and operators.
var namePattern = ids.NamePattern

const nameHint = ids.NameHint

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
func (pd *ProviderData) resolveEngine(ctx context.Context, id ids.Engine) (*engine.Engine, error) {
	return pd.engines.Get(id, func() (*engine.Engine, error) {
		return engine.Lookup(ctx, pd.AWS.ForRegion(id.Region).ECR, id.Region, id.Repository)
	})
}

// store returns the artifact store of an engine, rooted at its namespace.
func (pd *ProviderData) store(e *engine.Engine) *artifacts.Store {
	return artifacts.NewStore(pd.AWS.ForRegion(e.Region).S3, e.Bucket, e.Root())
}

// images returns the image lifecycle of an engine; its claims are shared by
// every operator of this provider process.
func (pd *ProviderData) images(ctx context.Context, e *engine.Engine) *images.Manager {
	return &images.Manager{
		ECR:    pd.AWS.ForRegion(e.Region).ECR,
		Docker: pd.Docker,
		Claims: &pd.claims,
		Logf:   func(format string, args ...any) { tflog.Info(ctx, fmt.Sprintf(format, args...)) },
	}
}

// lambda returns the Lambda function client for a region.
func (pd *ProviderData) lambda(region string) *lambdafn.Client {
	return lambdafn.New(pd.AWS.ForRegion(region).Lambda)
}

// environmentKey is the engine's key for hashing environments, read once
// per process.
func (pd *ProviderData) environmentKey(ctx context.Context, e *engine.Engine, store *artifacts.Store) ([]byte, error) {
	if k, ok := pd.envKeys.Load(e.Root()); ok {
		return k.([]byte), nil
	}
	k, err := store.EnvironmentKey(ctx)
	if err != nil {
		return nil, err
	}
	pd.envKeys.Store(e.Root(), k)
	return k, nil
}

// keyCache maps an engine's root to its environment key.
type keyCache = sync.Map

func stringMap(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]string {
	out := map[string]string{}
	if m.IsNull() || m.IsUnknown() {
		return out
	}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}
