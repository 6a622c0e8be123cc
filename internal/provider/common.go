package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/images"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/lambdafn"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/run"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/sfnrun"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/statemachine"
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

// planReader reads an engine's manifests for plan-time checks, each once per
// provider process: a plan of 50 operators walks the same manifests 50 times.
func (pd *ProviderData) planReader(e *engine.Engine) *cachingReader {
	v, _ := pd.planReaders.LoadOrStore(e.Root(), &cachingReader{Store: pd.store(e), cache: map[string][]byte{}})
	return v.(*cachingReader)
}

// cachingReader is an artifacts.Reader that remembers what it read.
type cachingReader struct {
	*artifacts.Store
	mu    sync.Mutex
	cache map[string][]byte // JSON by key; nil value: not found
}

func (c *cachingReader) GetJSON(ctx context.Context, key string, v any) (bool, error) {
	c.mu.Lock()
	b, ok := c.cache[key]
	c.mu.Unlock()
	if ok {
		if b == nil {
			return false, nil
		}
		return true, json.Unmarshal(b, v)
	}
	found, err := c.Store.GetJSON(ctx, key, v)
	if err != nil {
		return false, err
	}
	if found {
		b, _ = json.Marshal(v)
	}
	c.mu.Lock()
	c.cache[key] = b
	c.mu.Unlock()
	return found, nil
}

// images returns the image lifecycle of an engine; its claims are shared by
// every operator of this provider process.
func (pd *ProviderData) images(ctx context.Context, e *engine.Engine) *images.Manager {
	return &images.Manager{
		ECR:    pd.AWS.ForRegion(e.Region).ECR,
		Docker: pd.Docker,
		Claims: &pd.claims,
		Logf:   func(format string, args ...any) { tflog.Info(ctx, fmt.Sprintf(format, args...)) },
		// The provider's own registry requests use its CA bundle and proxies.
		Transport: pd.AWS.Transport,
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

// sfnTarget is where an engine's workflow runs on Step Functions.
func (pd *ProviderData) sfnTarget(e *engine.Engine, wf ids.Workflow) sfnrun.Target {
	return sfnrun.Target{
		Workflow: wf, EngineName: e.Name, Account: e.RegistryID, LikeARN: e.RepositoryARN, RoleARN: e.OrchestrationRoleARN,
		Store: statemachine.Store{Bucket: e.Bucket, Region: e.Region, Root: e.Root(), Workflow: wf.Name},
	}
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

// artifactTargets parses the artifact handles of attribute at: the targets
// of a run, all of one workflow. A bare operator id gets the fix in its
// error, and several workflows the reason given as oneWorkflow.
func artifactTargets(handles []string, at path.Path, oneWorkflow string, diags *diag.Diagnostics) (ids.Workflow, []run.Target) {
	var wf ids.Workflow
	var targets []run.Target
	for i, h := range handles {
		at := at.AtListIndex(i)
		a, err := ids.ParseArtifact(h)
		if err != nil {
			if op, idErr := ids.ParseOperator(h); idErr == nil {
				diags.AddAttributeError(at, "Not an artifact handle",
					fmt.Sprintf("%q is the id of operator %q; give its artifact handle, so that the run follows changes upstream: write aqueduct_operator.%s.artifact.", h, op.Name, op.Name))
				continue
			}
			diags.AddAttributeError(at, "Invalid artifact handle", err.Error())
			continue
		}
		if len(targets) > 0 && a.Operator.Workflow != wf {
			diags.AddAttributeError(at, "Artifacts of several workflows",
				fmt.Sprintf("%q is of workflow %q, but %q is of %q: %s.", h, a.Operator.Workflow, handles[0], wf, oneWorkflow))
			continue
		}
		wf = a.Operator.Workflow
		targets = append(targets, run.Target{Operator: a.Operator.Name, Lineage: a.Lineage})
	}
	if len(handles) == 0 {
		diags.AddAttributeError(at, "No artifacts", "The list is empty: name at least one operator's artifact handle.")
	}
	return wf, targets
}
