package provider

import (
	"context"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/tags"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/validators"
)

// Environment variables of default_tags and ignore_tags, as in the AWS
// provider.
const (
	envDefaultTagPrefix      = "TF_AWS_DEFAULT_TAGS_"
	envIgnoreTagsKeys        = "TF_AWS_IGNORE_TAGS_KEYS"
	envIgnoreTagsKeyPrefixes = "TF_AWS_IGNORE_TAGS_KEY_PREFIXES"
)

// defaultTagsModel is the provider's default_tags block.
type defaultTagsModel struct {
	Tags types.Map `tfsdk:"tags"`
}

// ignoreTagsModel is the provider's ignore_tags block.
type ignoreTagsModel struct {
	Keys        types.Set `tfsdk:"keys"`
	KeyPrefixes types.Set `tfsdk:"key_prefixes"`
}

// tagsBlocks are the provider's default_tags and ignore_tags blocks.
func tagsBlocks() map[string]schema.Block {
	return map[string]schema.Block{
		"default_tags": schema.SingleNestedBlock{
			MarkdownDescription: "Tags put on every AWS object the provider creates: Lambda functions, ECR repositories, Step Functions state machines. " +
				"A resource's own `tags` override a default tag of the same key; `tags_all` shows the result. " +
				"Also read from `" + envDefaultTagPrefix + "<key>` environment variables, which the block overrides key by key.",
			Attributes: map[string]schema.Attribute{
				"tags": schema.MapAttribute{
					Optional:            true,
					ElementType:         types.StringType,
					MarkdownDescription: "The default tags. Keys are 1 to 128 characters, values at most 256; keys starting with `aws:` or `aqueduct:` are reserved.",
					Validators:          []validator.Map{validators.TagLimits()},
				},
			},
		},
		"ignore_tags": schema.SingleNestedBlock{
			MarkdownDescription: "Tags the provider neither shows nor changes, such as those a tagging policy or another tool manages: " +
				"they are left out of `tags_all`, never removed, and a change to them outside Terraform is not drift.",
			Attributes: map[string]schema.Attribute{
				"keys": schema.SetAttribute{
					Optional:            true,
					ElementType:         types.StringType,
					MarkdownDescription: "Exact tag keys to ignore. Also read, comma separated, from `" + envIgnoreTagsKeys + "`.",
				},
				"key_prefixes": schema.SetAttribute{
					Optional:            true,
					ElementType:         types.StringType,
					MarkdownDescription: "Prefixes of tag keys to ignore. Also read, comma separated, from `" + envIgnoreTagsKeyPrefixes + "`.",
				},
			},
		},
	}
}

// tagsConfig reads default_tags and ignore_tags, falling back to the
// environment as the AWS provider does: TF_AWS_DEFAULT_TAGS_<key> under the
// block's tags, and the ignore lists joined with the block's.
func tagsConfig(ctx context.Context, def *defaultTagsModel, ign *ignoreTagsModel, diags *diag.Diagnostics) *tags.Config {
	c := &tags.Config{Default: map[string]string{}}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if key, ok := strings.CutPrefix(k, envDefaultTagPrefix); ok && key != "" {
			c.Default[key] = v
		}
	}
	for _, p := range tags.Check(c.Default) {
		diags.AddError("Invalid default tag in the environment", envDefaultTagPrefix+p.Key+": "+p.Detail+".")
	}
	if def != nil {
		if def.Tags.IsUnknown() {
			diags.AddAttributeError(path.Root("default_tags").AtName("tags"), "Unknown provider configuration value",
				"default_tags cannot be known only after apply: every plan merges them into tags_all. Use literals or variables.")
		}
		for k, v := range stringMap(ctx, def.Tags, diags) {
			c.Default[k] = v
		}
	}
	c.IgnoreKeys = splitEnv(envIgnoreTagsKeys)
	c.IgnoreKeyPrefixes = splitEnv(envIgnoreTagsKeyPrefixes)
	if ign != nil {
		c.IgnoreKeys = append(c.IgnoreKeys, stringSet(ctx, ign.Keys, path.Root("ignore_tags").AtName("keys"), diags)...)
		c.IgnoreKeyPrefixes = append(c.IgnoreKeyPrefixes, stringSet(ctx, ign.KeyPrefixes, path.Root("ignore_tags").AtName("key_prefixes"), diags)...)
	}
	return c
}

func splitEnv(name string) []string {
	var out []string
	for _, s := range strings.Split(os.Getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func stringSet(ctx context.Context, s types.Set, at path.Path, diags *diag.Diagnostics) []string {
	if s.IsUnknown() {
		diags.AddAttributeError(at, "Unknown provider configuration value", "ignore_tags cannot be known only after apply. Use literals or variables.")
		return nil
	}
	var out []string
	if !s.IsNull() {
		diags.Append(s.ElementsAs(ctx, &out, false)...)
	}
	sort.Strings(out)
	return out
}
