package provider

import (
	"context"
	"fmt"
	"regexp"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/build"
)

// operatorBuildInputs are the operator's attributes that feed the image
// build beyond the source itself. Embedded in operatorModel.
type operatorBuildInputs struct {
	RequirementsFile    types.String `tfsdk:"requirements_file"`
	BuildSecrets        types.Map    `tfsdk:"build_secrets"`
	BuildSecretsVersion types.String `tfsdk:"build_secrets_version"`
}

// buildSecretModel is one element of build_secrets.
type buildSecretModel struct {
	Env  types.String `tfsdk:"env"`
	File types.String `tfsdk:"file"`
}

var buildSecretTypes = map[string]attr.Type{"env": types.StringType, "file": types.StringType}

// buildInputAttributes is the schema of operatorBuildInputs.
func buildInputAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"requirements_file": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "A pip requirements file inside `source`, by a path relative to it, e.g. `\"requirements.txt\"`, installed into the image as `requirements` would be. " +
				"Its content is part of `source_hash`, so editing it rebuilds the image and gives the operator a new `artifact` (its results are computed again). " +
				"It must be a regular file that resolves inside `source`, also through symbolic links; `..` out of it, an absolute path or a missing file fail at plan time. " +
				"Includes (`-r`, `-c`) and relative paths inside it are not followed. Conflicts with `requirements`.",
			Validators: []validator.String{
				stringvalidator.LengthAtLeast(1),
				stringvalidator.ConflictsWith(path.MatchRoot("requirements")),
			},
		},
		"build_secrets": schema.MapNestedAttribute{
			Optional: true,
			MarkdownDescription: "Secrets for the pip install step, for a private package index, by the environment variable name the step sees: " +
				"`{ PIP_INDEX_URL = { env = \"MY_INDEX_URL\" } }` gives pip the value of `MY_INDEX_URL` from the environment Terraform runs in; " +
				"`{ NETRC = { file = \"~/.netrc\" } }` mounts that file and points `NETRC` at it. " +
				"Only where the values come from is configured, so no value is in the configuration, the plan or the state. " +
				"They reach the build as BuildKit secret mounts (`RUN --mount=type=secret`) of that one step: nothing of them is in a layer, the image config or history, or the pushed manifest, and build logs and errors are redacted. " +
				"A build with secrets runs on the Docker engine's BuildKit. A changed value is not seen by Terraform and does not rebuild: bump `build_secrets_version` for that.",
			NestedObject: schema.NestedAttributeObject{
				Attributes: map[string]schema.Attribute{
					"env": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Name of an environment variable of the Terraform process holding the value.",
						Validators:          []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`), "must be an environment variable name")},
					},
					"file": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Path of a file on the machine running Terraform (`~/` is the home directory), mounted read-only for the step.",
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
					},
				},
			},
			Validators: []validator.Map{
				mapvalidator.SizeAtMost(20),
				mapvalidator.KeysAre(stringvalidator.RegexMatches(regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`),
					"must be an environment variable name: a letter or _ then letters, digits or _, at most 64")),
			},
		},
		"build_secrets_version": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "A version label (letters, digits, `.`, `_`, `:`, `-`), part of `source_hash` and of the pip step's build-cache key: change it to rebuild the image after a build secret's value changed (a new index, a package republished under the same version). " +
				"Not secret; never put a secret here.",
			Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`), "must be 1 to 128 letters, digits and . _ : -")},
		},
	}
}

// checkBuildInputs checks at plan time what the validators cannot: that
// requirements_file is inside the source, and that secrets have a pip step.
func (m *operatorModel) checkBuildInputs(diags *diag.Diagnostics) {
	if !m.RequirementsFile.IsNull() {
		if _, err := build.CheckRequirementsFile(m.Source.ValueString(), m.RequirementsFile.ValueString()); err != nil {
			diags.AddAttributeError(path.Root("requirements_file"), "Unusable requirements file", err.Error())
		}
	}
	var secrets map[string]buildSecretModel
	if !m.BuildSecrets.IsNull() && !m.BuildSecrets.IsUnknown() {
		diags.Append(m.BuildSecrets.ElementsAs(context.Background(), &secrets, false)...)
	}
	for name, s := range secrets {
		if s.Env.IsUnknown() || s.File.IsUnknown() {
			continue
		}
		if s.Env.IsNull() == s.File.IsNull() {
			diags.AddAttributeError(path.Root("build_secrets").AtMapKey(name), "Invalid build secret",
				fmt.Sprintf("build secret %q needs exactly one of env (an environment variable of the Terraform process) or file (a path on this machine).", name))
		}
	}
	if !m.BuildSecrets.IsNull() && m.Requirements.IsNull() && m.RequirementsFile.IsNull() {
		diags.AddAttributeError(path.Root("build_secrets"), "Build secrets without requirements",
			"build_secrets are used only by the pip install step, and the operator has neither requirements nor requirements_file. Remove build_secrets or add requirements.")
	}
}

// buildSecrets is the spec's form of build_secrets, sorted by name.
func (m *operatorBuildInputs) buildSecrets(ctx context.Context, diags *diag.Diagnostics) []build.Secret {
	if m.BuildSecrets.IsNull() || m.BuildSecrets.IsUnknown() {
		return nil
	}
	var in map[string]buildSecretModel
	diags.Append(m.BuildSecrets.ElementsAs(ctx, &in, false)...)
	out := make([]build.Secret, 0, len(in))
	for name, s := range in {
		out = append(out, build.Secret{Name: name, Env: s.Env.ValueString(), File: s.File.ValueString()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// manifestSecrets is the manifest's record of the secrets' sources.
func manifestSecrets(in []build.Secret) []artifacts.BuildSecret {
	var out []artifacts.BuildSecret
	for _, s := range in {
		out = append(out, artifacts.BuildSecret{Name: s.Name, Env: s.Env, File: s.File})
	}
	return out
}

// setFromManifest reads the build inputs back on Read and import.
//
//nolint:unparam // ctx is kept for the framework calls Read may need
func (m *operatorBuildInputs) setFromManifest(ctx context.Context, mf *artifacts.OperatorManifest, diags *diag.Diagnostics) {
	m.RequirementsFile = optionalString(mf.RequirementsFile, m.RequirementsFile)
	m.BuildSecretsVersion = optionalString(mf.BuildSecretsVersion, m.BuildSecretsVersion)
	if len(mf.BuildSecrets) == 0 && m.BuildSecrets.IsNull() {
		return
	}
	elems := map[string]attr.Value{}
	for _, s := range mf.BuildSecrets {
		elems[s.Name] = types.ObjectValueMust(buildSecretTypes, map[string]attr.Value{
			"env": optionalString(s.Env, types.StringNull()), "file": optionalString(s.File, types.StringNull()),
		})
	}
	v, d := types.MapValue(types.ObjectType{AttrTypes: buildSecretTypes}, elems)
	diags.Append(d...)
	m.BuildSecrets = v
}
