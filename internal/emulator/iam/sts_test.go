package iam_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/iam"
)

const (
	accountTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-1"}}}]}`
	oidcTrust    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity",
	  "Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/*:ref:refs/heads/*"}}}]}`
)

// testJWT is an unsigned token with the given claims: the emulator reads
// claims and does not verify signatures.
func testJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(b) + "." + enc([]byte("not-a-signature"))
}

func stsRoleFixture(t *testing.T, name, trust string) (*iam.Service, aws.Config) {
	t.Helper()
	svc := newService(t, "")
	cfg := serve(t, svc)
	if _, err := awsiam.NewFromConfig(cfg).CreateRole(context.Background(), &awsiam.CreateRoleInput{
		RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(7200),
	}); err != nil {
		t.Fatal(err)
	}
	return svc, cfg
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestAssumeRole_sessionIsTheCallerOfLaterCalls(t *testing.T) {
	ctx := context.Background()
	_, cfg := stsRoleFixture(t, "deployer", accountTrust)
	arn := "arn:aws:iam::000000000000:role/deployer"
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(arn), RoleSessionName: aws.String("ci"), ExternalId: aws.String("ext-1"),
		DurationSeconds: aws.Int32(1800), Tags: []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("ml")}},
		TransitiveTagKeys: []string{"team"}, PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || len(aws.ToString(c.SecretAccessKey)) != 40 || aws.ToString(c.SessionToken) == "" {
		t.Fatalf("credentials %q / secret of %d / token %q are not STS-shaped", aws.ToString(c.AccessKeyId), len(aws.ToString(c.SecretAccessKey)), aws.ToString(c.SessionToken))
	}
	if d := time.Until(aws.ToTime(c.Expiration)); d < 29*time.Minute || d > 31*time.Minute {
		t.Errorf("expiration in %s, want 30m", d)
	}
	wantArn := "arn:aws:sts::000000000000:assumed-role/deployer/ci"
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != wantArn {
		t.Errorf("AssumedRoleUser.Arn = %s, want %s", got, wantArn)
	}

	session := cfg.Copy()
	session.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	id, err := sts.NewFromConfig(session).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != wantArn || !strings.HasSuffix(aws.ToString(id.UserId), ":ci") || aws.ToString(id.Account) != "000000000000" {
		t.Errorf("GetCallerIdentity with the session = %s %s %s", aws.ToString(id.Arn), aws.ToString(id.UserId), aws.ToString(id.Account))
	}

	// The SDK's own provider, as the provider uses it.
	viaSDK := cfg.Copy()
	viaSDK.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), arn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "sdk"
		o.ExternalID = aws.String("ext-1")
	}))
	id, err = sts.NewFromConfig(viaSDK).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::000000000000:assumed-role/deployer/sdk" {
		t.Errorf("GetCallerIdentity through stscreds = %v, %v", id, err)
	}
}

func TestAssumeRole_refusals(t *testing.T) {
	ctx := context.Background()
	_, cfg := stsRoleFixture(t, "deployer", accountTrust)
	c := sts.NewFromConfig(cfg)
	arn := "arn:aws:iam::000000000000:role/deployer"
	for _, tc := range []struct {
		name string
		in   sts.AssumeRoleInput
		code string
		msg  string
	}{
		{"wrong external id", sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext-2")}, "AccessDenied", "is not authorized to perform: sts:AssumeRole on resource: " + arn},
		{"no external id", sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1")}, "AccessDenied", "not authorized"},
		{"missing role", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/nope"), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext-1")}, "AccessDenied", "not authorized"},
		{"other account", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/deployer"), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext-1")}, "AccessDenied", "not authorized"},
		{"duration above the role's maximum", sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext-1"), DurationSeconds: aws.Int32(7201)}, "ValidationError", "MaxSessionDuration"},
		{"duration below 15 minutes", sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext-1"), DurationSeconds: aws.Int32(899)}, "ValidationError", "durationSeconds"},
		{"bad session name", sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("a b"), ExternalId: aws.String("ext-1")}, "ValidationError", "roleSessionName"},
		{"bad role arn", sts.AssumeRoleInput{RoleArn: aws.String("deployer"), RoleSessionName: aws.String("s1")}, "ValidationError", "invalid"},
	} {
		_, err := c.AssumeRole(ctx, &tc.in)
		if errorCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: AssumeRole = %v, want %s containing %q", tc.name, err, tc.code, tc.msg)
		}
	}
}

func TestSessionCredentials_unknownAndExpired(t *testing.T) {
	ctx := context.Background()
	svc, cfg := stsRoleFixture(t, "deployer", accountTrust)
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: aws.String("ci"), ExternalId: aws.String("ext-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	call := func(key, token string) error {
		s := cfg.Copy()
		s.Credentials = credentials.NewStaticCredentialsProvider(key, "secret", token)
		_, err := sts.NewFromConfig(s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	}
	if err := call(aws.ToString(c.AccessKeyId), aws.ToString(c.SessionToken)+"x"); errorCode(err) != "InvalidClientTokenId" {
		t.Errorf("a known key with a wrong token: %v, want InvalidClientTokenId", err)
	}
	if err := call("ASIAUNKNOWNKEY000000", aws.ToString(c.SessionToken)); errorCode(err) != "InvalidClientTokenId" {
		t.Errorf("an unknown key with an STS-shaped token: %v, want InvalidClientTokenId", err)
	}
	// Credentials STS did not issue (long-term keys, a Lambda sandbox's)
	// are the account's root, as before sessions existed.
	if err := call("ASIALAMBDASANDBOX000", "sandbox-token"); err != nil {
		t.Errorf("foreign session credentials: %v", err)
	}
	svc.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	if err := call(aws.ToString(c.AccessKeyId), aws.ToString(c.SessionToken)); errorCode(err) != "ExpiredToken" {
		t.Errorf("after expiry: %v, want ExpiredToken", err)
	}
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	ctx := context.Background()
	_, cfg := stsRoleFixture(t, "gha", oidcTrust)
	c := sts.NewFromConfig(cfg)
	arn := "arn:aws:iam::000000000000:role/gha"
	good := map[string]any{"iss": "https://token.actions.githubusercontent.com", "aud": "sts.amazonaws.com", "sub": "repo:acme/pipelines:ref:refs/heads/main", "exp": time.Now().Add(time.Hour).Unix()}
	out, err := c.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("gh"), WebIdentityToken: aws.String(testJWT(good))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.SubjectFromWebIdentityToken) != "repo:acme/pipelines:ref:refs/heads/main" || aws.ToString(out.Audience) != "sts.amazonaws.com" || aws.ToString(out.Provider) != "token.actions.githubusercontent.com" {
		t.Errorf("result %s %s %s", aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.Audience), aws.ToString(out.Provider))
	}
	s := cfg.Copy()
	s.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
	id, err := sts.NewFromConfig(s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::000000000000:assumed-role/gha/gh" {
		t.Errorf("GetCallerIdentity with the web identity session = %v, %v", id, err)
	}

	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name, token, code string
	}{
		{"wrong audience", testJWT(with("aud", "someone-else")), "AccessDenied"},
		{"subject outside the pattern", testJWT(with("sub", "repo:other/x:ref:refs/heads/main")), "AccessDenied"},
		{"other issuer", testJWT(with("iss", "https://issuer.example")), "AccessDenied"},
		{"expired token", testJWT(with("exp", time.Now().Add(-time.Minute).Unix())), "ExpiredTokenException"},
		{"not a JWT", "not-a-jwt", "InvalidIdentityToken"},
	} {
		_, err := c.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("gh"), WebIdentityToken: aws.String(tc.token)})
		if errorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
		if err != nil && strings.Contains(err.Error(), tc.token) {
			t.Errorf("%s: the error carries the token", tc.name)
		}
	}
	// A role trusting only an AWS principal refuses a web identity.
	_, cfg2 := stsRoleFixture(t, "deployer", accountTrust)
	_, err = sts.NewFromConfig(cfg2).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: aws.String("gh"), WebIdentityToken: aws.String(testJWT(good))})
	if errorCode(err) != "AccessDenied" {
		t.Errorf("AWS-principal role for a web identity: %v, want AccessDenied", err)
	}
}

func TestTrustConditionOperators(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cond string
		ok   bool
	}{
		{`{"StringEquals":{"sts:ExternalId":"e1"}}`, true},
		{`{"StringEquals":{"sts:ExternalId":["x","e1"]}}`, true},
		{`{"StringEqualsIgnoreCase":{"sts:externalid":"E1"}}`, true},
		{`{"StringLike":{"sts:ExternalId":"e?"}}`, true},
		{`{"StringNotEquals":{"sts:ExternalId":"e1"}}`, false},
		{`{"StringNotLike":{"sts:ExternalId":"x*"}}`, true},
		{`{"NumericEquals":{"sts:ExternalId":"1"}}`, false}, // unsupported: fails closed
	} {
		doc := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"sts:AssumeRole","Condition":` + tc.cond + `}]}`
		_, cfg := stsRoleFixture(t, "r", doc)
		_, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/r"), RoleSessionName: aws.String("s1"), ExternalId: aws.String("e1")})
		if (err == nil) != tc.ok {
			t.Errorf("condition %s: %v, want allowed=%v", tc.cond, err, tc.ok)
		}
	}
	deny := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*"},{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`
	_, cfg := stsRoleFixture(t, "r", deny)
	if _, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/r"), RoleSessionName: aws.String("s1")}); errorCode(err) != "AccessDenied" {
		t.Errorf("explicit deny: %v", err)
	}
}
