package provider

import (
	"context"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/awsconfig"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/validators"
)

// connectionModel is the part of the provider block that says how to reach
// AWS beyond region and credentials: role sessions, account guards, retries
// and the network. It is embedded in providerModel.
type connectionModel struct {
	AssumeRole          *assumeRoleModel  `tfsdk:"assume_role"`
	WebIdentity         *webIdentityModel `tfsdk:"assume_role_with_web_identity"`
	AllowedAccountIDs   types.Set         `tfsdk:"allowed_account_ids"`
	ForbiddenAccountIDs types.Set         `tfsdk:"forbidden_account_ids"`
	RetryMode           types.String      `tfsdk:"retry_mode"`
	CustomCABundle      types.String      `tfsdk:"custom_ca_bundle"`
	HTTPProxy           types.String      `tfsdk:"http_proxy"`
	HTTPSProxy          types.String      `tfsdk:"https_proxy"`
	NoProxy             types.String      `tfsdk:"no_proxy"`
}

type assumeRoleModel struct {
	RoleARN           types.String `tfsdk:"role_arn"`
	SessionName       types.String `tfsdk:"session_name"`
	ExternalID        types.String `tfsdk:"external_id"`
	Duration          types.String `tfsdk:"duration"`
	Tags              types.Map    `tfsdk:"tags"`
	TransitiveTagKeys types.Set    `tfsdk:"transitive_tag_keys"`
	Policy            types.String `tfsdk:"policy"`
	PolicyARNs        types.Set    `tfsdk:"policy_arns"`
}

type webIdentityModel struct {
	RoleARN              types.String `tfsdk:"role_arn"`
	SessionName          types.String `tfsdk:"session_name"`
	WebIdentityToken     types.String `tfsdk:"web_identity_token"`
	WebIdentityTokenFile types.String `tfsdk:"web_identity_token_file"`
	Duration             types.String `tfsdk:"duration"`
	Policy               types.String `tfsdk:"policy"`
	PolicyARNs           types.Set    `tfsdk:"policy_arns"`
}

// STS limits, as the AWS provider checks them.
const (
	minSessionDuration = 15 * time.Minute
	maxSessionDuration = 12 * time.Hour
	maxSessionTags     = 50
	maxPolicyARNs      = 10
	maxSessionPolicy   = 2048
)

var (
	accountIDRE   = regexp.MustCompile(`^\d{12}$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
)

// connectionAttributes are the provider's top-level connection attributes.
func connectionAttributes() map[string]schema.Attribute {
	accountIDs := func(other, what string) schema.SetAttribute {
		return schema.SetAttribute{
			Optional:    true,
			ElementType: types.StringType,
			MarkdownDescription: "AWS account IDs (12 digits) the credentials must " + what + ". Checked with `sts:GetCallerIdentity` when the provider is configured, " +
				"so a plan against the wrong account stops before it reads anything. Conflicts with `" + other + "`.",
			Validators: []validator.Set{
				setvalidator.SizeAtLeast(1),
				setvalidator.ValueStringsAre(stringvalidator.RegexMatches(accountIDRE, "must be a 12-digit AWS account ID")),
				setvalidator.ConflictsWith(path.MatchRoot(other)),
			},
		}
	}
	proxy := func(env, scheme string) schema.StringAttribute {
		return schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "Proxy for " + scheme + " requests to AWS and to the image registry, e.g. `http://proxy.example:3128`. Defaults to `" + env + "`. " +
				"Loopback addresses and the hosts in `no_proxy` are reached directly.",
			Validators: []validator.String{validators.URLWithScheme("http", "https")},
		}
	}
	return map[string]schema.Attribute{
		"allowed_account_ids":   accountIDs("forbidden_account_ids", "belong to"),
		"forbidden_account_ids": accountIDs("allowed_account_ids", "not belong to"),
		"retry_mode": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "How AWS calls are retried: `standard` (exponential backoff with jitter) or `adaptive` (also slows the client down while AWS throttles it). " +
				"Defaults to `AWS_RETRY_MODE`, else `standard`. `max_retries` bounds the attempts either way.",
			Validators: []validator.String{stringvalidator.OneOf("standard", "adaptive")},
		},
		"custom_ca_bundle": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "Path to a PEM file of CA certificates trusted in addition to the system's, for TLS-intercepting proxies and private endpoints. " +
				"Used for AWS calls and the provider's own registry requests. Defaults to `AWS_CA_BUNDLE`.",
			Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"http_proxy":  proxy("HTTP_PROXY", "`http://`"),
		"https_proxy": proxy("HTTPS_PROXY", "`https://`"),
		"no_proxy": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Comma-separated hosts, domains (`.example.com`) and CIDR ranges reached without the proxy. Defaults to `NO_PROXY`.",
		},
	}
}

// maxRetriesValidators bound max_retries.
func maxRetriesValidators() []validator.Int64 {
	return []validator.Int64{int64validator.Between(1, 100)}
}

func sessionAttributes(roleRequired bool) map[string]schema.Attribute {
	roleDesc := "ARN of the IAM role to assume, e.g. `arn:aws:iam::123456789012:role/deployer`."
	if roleRequired {
		roleDesc += " Required in the block."
	} else {
		roleDesc += " Defaults to `AWS_ROLE_ARN`."
	}
	policyARNs := schema.SetAttribute{
		Optional:            true,
		ElementType:         types.StringType,
		MarkdownDescription: "ARNs of managed IAM policies (at most 10) that further limit the session's permissions.",
		Validators: []validator.Set{
			setvalidator.SizeAtMost(maxPolicyARNs),
			setvalidator.ValueStringsAre(validators.ARN("iam", "policy")),
		},
	}
	return map[string]schema.Attribute{
		// Optional in the schema: a required attribute of a single nested
		// block is required even when the block is absent. The block's
		// validator requires it when the block is present.
		"role_arn": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: roleDesc,
			Validators:          []validator.String{validators.ARN("iam", "role")},
		},
		"session_name": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Name of the role session, 2 to 64 characters of letters, digits and `+=,.@_-`; CloudTrail shows it.",
			Validators: []validator.String{
				stringvalidator.LengthBetween(2, 64),
				stringvalidator.RegexMatches(sessionNameRE, "may contain only letters, digits and +=,.@_-"),
			},
		},
		"duration": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "How long the session lasts, a duration such as `1h` or `45m` from 15m to 12h (and at most the role's maximum session duration). " +
				"Defaults to 1h. The session is renewed before it expires.",
			Validators: []validator.String{validators.DurationBetween(minSessionDuration, maxSessionDuration)},
		},
		"policy": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "An IAM policy document (JSON, at most 2048 characters) that further limits the session's permissions.",
			Validators:          []validator.String{validators.JSONValue(), stringvalidator.LengthAtMost(maxSessionPolicy)},
		},
		"policy_arns": policyARNs,
	}
}

// connectionBlocks are the provider's role session blocks.
func connectionBlocks() map[string]schema.Block {
	assume := sessionAttributes(true)
	assume["external_id"] = schema.StringAttribute{
		Optional:            true,
		Sensitive:           true,
		MarkdownDescription: "External ID the role's trust policy requires (`sts:ExternalId`), 2 to 1224 characters.",
		Validators: []validator.String{
			stringvalidator.LengthBetween(2, 1224),
			stringvalidator.RegexMatches(externalIDRE, "may contain only letters, digits and +=,.@:/_-"),
		},
	}
	assume["tags"] = schema.MapAttribute{
		Optional:            true,
		ElementType:         types.StringType,
		MarkdownDescription: "Session tags (at most 50), visible to the role's policies as `aws:PrincipalTag`.",
		Validators: []validator.Map{
			mapvalidator.SizeAtMost(maxSessionTags),
			mapvalidator.KeysAre(stringvalidator.LengthBetween(1, 128)),
			mapvalidator.ValueStringsAre(stringvalidator.LengthAtMost(256)),
		},
	}
	assume["transitive_tag_keys"] = schema.SetAttribute{
		Optional:            true,
		ElementType:         types.StringType,
		MarkdownDescription: "Keys of `tags` that pass on to sessions this session assumes in turn (role chaining).",
	}
	web := sessionAttributes(false)
	web["session_name"] = schema.StringAttribute{
		Optional:            true,
		MarkdownDescription: "Name of the role session, 2 to 64 characters of letters, digits and `+=,.@_-`. Defaults to `AWS_ROLE_SESSION_NAME`.",
		Validators: []validator.String{
			stringvalidator.LengthBetween(2, 64),
			stringvalidator.RegexMatches(sessionNameRE, "may contain only letters, digits and +=,.@_-"),
		},
	}
	web["web_identity_token"] = schema.StringAttribute{
		Optional:  true,
		Sensitive: true,
		MarkdownDescription: "The OIDC token itself. Prefer `web_identity_token_file`, which is read again whenever the session is renewed. " +
			"Conflicts with `web_identity_token_file`. The token never appears in logs, state or errors.",
		Validators: []validator.String{
			stringvalidator.LengthBetween(4, 20000),
			stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("web_identity_token_file")),
		},
	}
	web["web_identity_token_file"] = schema.StringAttribute{
		Optional:            true,
		MarkdownDescription: "Path to a file holding the OIDC token, as CI systems and Kubernetes write it. Defaults to `AWS_WEB_IDENTITY_TOKEN_FILE`.",
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
	}
	return map[string]schema.Block{
		"assume_role": schema.SingleNestedBlock{
			MarkdownDescription: "Assume an IAM role with the credentials found otherwise (static keys, profile, environment, or `assume_role_with_web_identity`); " +
				"every AWS call then uses the role session. The role must trust the caller, and its trust policy's `sts:ExternalId` condition must match `external_id` when it has one.",
			Attributes: assume,
			Validators: []validator.Object{objectvalidator.AlsoRequires(path.MatchRelative().AtName("role_arn"))},
		},
		"assume_role_with_web_identity": schema.SingleNestedBlock{
			MarkdownDescription: "Exchange an OIDC token (GitHub Actions, GitLab CI, Kubernetes service accounts) for a role session with `sts:AssumeRoleWithWebIdentity`. " +
				"The role's trust policy names the identity provider as a `Federated` principal, usually with conditions on the token's `aud` and `sub`.",
			Attributes: web,
		},
	}
}

// settings adds the connection settings to s.
func (m connectionModel) settings(ctx context.Context, s *awsconfig.Settings) diag.Diagnostics {
	var diags diag.Diagnostics
	diags.Append(m.AllowedAccountIDs.ElementsAs(ctx, &s.AllowedAccountIDs, false)...)
	diags.Append(m.ForbiddenAccountIDs.ElementsAs(ctx, &s.ForbiddenAccountIDs, false)...)
	s.RetryMode = m.RetryMode.ValueString()
	s.HTTP = awsconfig.HTTPSettings{
		CABundle:   m.CustomCABundle.ValueString(),
		HTTPProxy:  m.HTTPProxy.ValueString(),
		HTTPSProxy: m.HTTPSProxy.ValueString(),
		NoProxy:    m.NoProxy.ValueString(),
	}
	if a := m.AssumeRole; a != nil {
		// Validators have checked the duration already.
		d, _ := time.ParseDuration(a.Duration.ValueString())
		ar := &awsconfig.AssumeRole{
			RoleARN:     a.RoleARN.ValueString(),
			SessionName: a.SessionName.ValueString(),
			ExternalID:  a.ExternalID.ValueString(),
			Duration:    d,
			Policy:      a.Policy.ValueString(),
		}
		diags.Append(a.Tags.ElementsAs(ctx, &ar.Tags, false)...)
		diags.Append(a.TransitiveTagKeys.ElementsAs(ctx, &ar.TransitiveTagKeys, false)...)
		diags.Append(a.PolicyARNs.ElementsAs(ctx, &ar.PolicyARNs, false)...)
		s.AssumeRole = ar
	}
	if w := m.WebIdentity; w != nil {
		d, _ := time.ParseDuration(w.Duration.ValueString())
		wi := &awsconfig.WebIdentity{
			RoleARN:     w.RoleARN.ValueString(),
			SessionName: w.SessionName.ValueString(),
			Token:       w.WebIdentityToken.ValueString(),
			TokenFile:   w.WebIdentityTokenFile.ValueString(),
			Duration:    d,
			Policy:      w.Policy.ValueString(),
		}
		diags.Append(w.PolicyARNs.ElementsAs(ctx, &wi.PolicyARNs, false)...)
		s.WebIdentity = wi
	}
	return diags
}

// unknownConnection names the connection attributes whose values are known
// only after apply; the provider cannot be configured with them.
func (m connectionModel) unknown() []path.Path {
	var out []path.Path
	check := func(p path.Path, v interface{ IsUnknown() bool }) {
		if v.IsUnknown() {
			out = append(out, p)
		}
	}
	check(path.Root("allowed_account_ids"), m.AllowedAccountIDs)
	check(path.Root("forbidden_account_ids"), m.ForbiddenAccountIDs)
	check(path.Root("retry_mode"), m.RetryMode)
	check(path.Root("custom_ca_bundle"), m.CustomCABundle)
	check(path.Root("http_proxy"), m.HTTPProxy)
	check(path.Root("https_proxy"), m.HTTPSProxy)
	check(path.Root("no_proxy"), m.NoProxy)
	if a := m.AssumeRole; a != nil {
		p := path.Root("assume_role")
		check(p.AtName("role_arn"), a.RoleARN)
		check(p.AtName("session_name"), a.SessionName)
		check(p.AtName("external_id"), a.ExternalID)
		check(p.AtName("duration"), a.Duration)
		check(p.AtName("tags"), a.Tags)
		check(p.AtName("transitive_tag_keys"), a.TransitiveTagKeys)
		check(p.AtName("policy"), a.Policy)
		check(p.AtName("policy_arns"), a.PolicyARNs)
	}
	if w := m.WebIdentity; w != nil {
		p := path.Root("assume_role_with_web_identity")
		check(p.AtName("role_arn"), w.RoleARN)
		check(p.AtName("session_name"), w.SessionName)
		check(p.AtName("web_identity_token"), w.WebIdentityToken)
		check(p.AtName("web_identity_token_file"), w.WebIdentityTokenFile)
		check(p.AtName("duration"), w.Duration)
		check(p.AtName("policy"), w.Policy)
		check(p.AtName("policy_arns"), w.PolicyARNs)
	}
	return out
}
