package awsconfig

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// AssumeRole is the provider's assume_role block: the credentials found
// otherwise assume this role, and the clients use the role session.
type AssumeRole struct {
	RoleARN           string
	SessionName       string // "" lets the SDK name the session
	ExternalID        string
	Duration          time.Duration // 0 is STS's default, 1 hour
	Tags              map[string]string
	TransitiveTagKeys []string
	Policy            string
	PolicyARNs        []string
}

// WebIdentity is the assume_role_with_web_identity block: an OIDC token
// (CI's, Kubernetes') is exchanged for a role session. Empty RoleARN,
// SessionName and TokenFile fall back to AWS_ROLE_ARN,
// AWS_ROLE_SESSION_NAME and AWS_WEB_IDENTITY_TOKEN_FILE.
type WebIdentity struct {
	RoleARN     string
	SessionName string
	Token       string // the token itself; never logged
	TokenFile   string
	Duration    time.Duration
	Policy      string
	PolicyARNs  []string
}

// resolved fills empty fields from the environment.
func (w WebIdentity) resolved() WebIdentity {
	if w.RoleARN == "" {
		w.RoleARN = os.Getenv("AWS_ROLE_ARN")
	}
	if w.SessionName == "" {
		w.SessionName = os.Getenv("AWS_ROLE_SESSION_NAME")
	}
	if w.Token == "" && w.TokenFile == "" {
		w.TokenFile = os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE")
	}
	return w
}

// String hides the token, so printing the settings leaks nothing.
func (w WebIdentity) String() string {
	return fmt.Sprintf("WebIdentity{RoleARN:%q, SessionName:%q, TokenFile:%q, Token:<redacted>}", w.RoleARN, w.SessionName, w.TokenFile)
}

// GoString covers %#v.
func (w WebIdentity) GoString() string { return w.String() }

// tokenValue hands the SDK a token given inline.
type tokenValue string

func (t tokenValue) GetIdentityToken() ([]byte, error) { return []byte(t), nil }

func policyDescriptors(arns []string) []ststypes.PolicyDescriptorType {
	var out []ststypes.PolicyDescriptorType
	for _, a := range arns {
		out = append(out, ststypes.PolicyDescriptorType{Arn: aws.String(a)})
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// roleCredentials layers the role sessions over cfg's credentials: first
// the web identity (its own source), then assume_role on top, as the AWS
// provider does. Each is the SDK's provider behind a CredentialsCache, which
// refreshes the session before it expires.
func roleCredentials(cfg *aws.Config, s Settings) error {
	stsClient := func() *sts.Client {
		return sts.NewFromConfig(*cfg, func(o *sts.Options) { o.BaseEndpoint = endpoint(s, "sts", o.BaseEndpoint) })
	}
	if s.WebIdentity != nil {
		w := s.WebIdentity.resolved()
		if w.RoleARN == "" {
			return &ConfigError{Attribute: "assume_role_with_web_identity", Message: "assume_role_with_web_identity needs role_arn (or AWS_ROLE_ARN)"}
		}
		var token stscreds.IdentityTokenRetriever = tokenValue(w.Token)
		if w.Token == "" {
			if w.TokenFile == "" {
				return &ConfigError{Attribute: "assume_role_with_web_identity", Message: "assume_role_with_web_identity needs web_identity_token or web_identity_token_file (or AWS_WEB_IDENTITY_TOKEN_FILE)"}
			}
			if _, err := os.Stat(w.TokenFile); err != nil {
				return &ConfigError{Attribute: "assume_role_with_web_identity", Message: fmt.Sprintf("cannot read web_identity_token_file %q: %v", w.TokenFile, err)}
			}
			token = stscreds.IdentityTokenFile(w.TokenFile)
		}
		p := stscreds.NewWebIdentityRoleProvider(stsClient(), w.RoleARN, token, func(o *stscreds.WebIdentityRoleOptions) {
			o.RoleSessionName = w.SessionName
			o.Duration = w.Duration
			o.Policy = optional(w.Policy)
			o.PolicyARNs = policyDescriptors(w.PolicyARNs)
		})
		cfg.Credentials = aws.NewCredentialsCache(p)
	}
	if a := s.AssumeRole; a != nil {
		p := stscreds.NewAssumeRoleProvider(stsClient(), a.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			if a.SessionName != "" {
				o.RoleSessionName = a.SessionName
			}
			o.Duration = a.Duration
			o.ExternalID = optional(a.ExternalID)
			o.Policy = optional(a.Policy)
			o.PolicyARNs = policyDescriptors(a.PolicyARNs)
			keys := make([]string, 0, len(a.Tags))
			for k := range a.Tags {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				o.Tags = append(o.Tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(a.Tags[k])})
			}
			o.TransitiveTagKeys = a.TransitiveTagKeys
		})
		cfg.Credentials = aws.NewCredentialsCache(p)
	}
	return nil
}

// checkSession fetches the role session now, so that a role that cannot be
// assumed fails configuration with STS's reason instead of the first call.
func checkSession(ctx context.Context, cfg aws.Config, s Settings) error {
	if s.AssumeRole == nil && s.WebIdentity == nil {
		return nil
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		attr, role, fix := "assume_role", "", "the role's trust policy and external_id"
		if s.AssumeRole != nil {
			role = s.AssumeRole.RoleARN
		} else {
			attr, role, fix = "assume_role_with_web_identity", s.WebIdentity.resolved().RoleARN, "the role's trust policy and the token's issuer, audience and subject"
		}
		msg := fmt.Sprintf("cannot assume IAM role %s: %v; check role_arn, %s", role, err, fix)
		return &ConfigError{Attribute: attr, Message: redactToken(msg, s.WebIdentity)}
	}
	return nil
}

// checkAccount enforces allowed_account_ids / forbidden_account_ids with the
// account STS says the credentials belong to.
func checkAccount(ctx context.Context, c *sts.Client, s Settings) error {
	if len(s.AllowedAccountIDs) == 0 && len(s.ForbiddenAccountIDs) == 0 {
		return nil
	}
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return &ConfigError{Attribute: "allowed_account_ids", Message: fmt.Sprintf("cannot tell which AWS account the credentials belong to (sts:GetCallerIdentity): %v", err)}
	}
	account := aws.ToString(out.Account)
	if len(s.AllowedAccountIDs) > 0 && !slices.Contains(s.AllowedAccountIDs, account) {
		return &ConfigError{Attribute: "allowed_account_ids", Message: fmt.Sprintf("the credentials are for AWS account %s (%s), which is not in allowed_account_ids [%s]; use credentials for an allowed account or add it to the list", account, aws.ToString(out.Arn), strings.Join(s.AllowedAccountIDs, ", "))}
	}
	if slices.Contains(s.ForbiddenAccountIDs, account) {
		return &ConfigError{Attribute: "forbidden_account_ids", Message: fmt.Sprintf("the credentials are for AWS account %s (%s), which is in forbidden_account_ids; use credentials for another account", account, aws.ToString(out.Arn))}
	}
	return nil
}

// redactToken removes the web identity token from msg, should an error
// ever echo it.
func redactToken(msg string, w *WebIdentity) string {
	if w == nil {
		return msg
	}
	r := w.resolved()
	token := r.Token
	if token == "" && r.TokenFile != "" {
		b, _ := os.ReadFile(r.TokenFile)
		token = strings.TrimSpace(string(b))
	}
	if len(token) >= 4 {
		msg = strings.ReplaceAll(msg, token, "<redacted>")
	}
	return msg
}
