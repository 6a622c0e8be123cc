package awsconfig

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	emuiam "github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/iam"
)

func TestLoad_retryMode(t *testing.T) {
	isolate(t)
	load := func(s Settings) (*Clients, error) {
		s.Region, s.AccessKey, s.SecretKey = "us-east-1", "a", "b"
		return Load(context.Background(), s)
	}
	c, err := load(Settings{RetryMode: "adaptive", MaxRetries: 6})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Config.Retryer().(*retry.AdaptiveMode); !ok || c.Config.Retryer().MaxAttempts() != 6 {
		t.Errorf("retry_mode adaptive gave %T with %d attempts", c.Config.Retryer(), c.Config.Retryer().MaxAttempts())
	}
	t.Setenv("AWS_RETRY_MODE", "adaptive")
	if c, _ = load(Settings{}); c == nil {
		t.Fatal("AWS_RETRY_MODE=adaptive refused")
	} else if _, ok := c.Config.Retryer().(*retry.AdaptiveMode); !ok {
		t.Errorf("AWS_RETRY_MODE=adaptive gave %T", c.Config.Retryer())
	}
	_, err = load(Settings{RetryMode: "legacy"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Attribute != "retry_mode" || !strings.Contains(ce.Message, `"legacy"`) {
		t.Errorf("retry_mode legacy: %v", err)
	}
}

// A TLS endpoint signed by a private CA is trusted with custom_ca_bundle
// (or AWS_CA_BUNDLE) and refused without it.
func TestLoad_customCABundle(t *testing.T) {
	isolate(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) }))
	t.Cleanup(srv.Close)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	call := func(h HTTPSettings) error {
		c, err := Load(context.Background(), Settings{Region: "us-east-1", AccessKey: "a", SecretKey: "b", MaxRetries: 1, HTTP: h, Endpoints: map[string]string{"lambda": srv.URL}})
		if err != nil {
			return err
		}
		_, err = c.Lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("f")})
		return err
	}
	if err := call(HTTPSettings{}); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("without the bundle: %v", err)
	}
	// With the bundle TLS succeeds and the server's 404 comes back.
	if err := call(HTTPSettings{CABundle: bundle}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("with custom_ca_bundle: %v", err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	if err := call(HTTPSettings{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("with AWS_CA_BUNDLE: %v", err)
	}
	_, err := Load(context.Background(), Settings{Region: "us-east-1", AccessKey: "a", SecretKey: "b", HTTP: HTTPSettings{CABundle: filepath.Join(t.TempDir(), "missing.pem")}})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Attribute != "custom_ca_bundle" {
		t.Errorf("a missing bundle: %v", err)
	}
}

// http_proxy carries requests to a host only the proxy knows; no_proxy and
// loopback hosts go direct.
func TestLoad_httpProxy(t *testing.T) {
	isolate(t)
	proxy := newRecorder(t)
	load := func(h HTTPSettings, endpoint string) *Clients {
		c, err := Load(context.Background(), Settings{Region: "us-east-1", AccessKey: "a", SecretKey: "b", MaxRetries: 1, HTTP: h, Endpoints: map[string]string{"lambda": endpoint}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	get := func(c *Clients) {
		_, _ = c.Lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	}
	get(load(HTTPSettings{HTTPProxy: proxy.URL}, "http://lambda.internal.invalid"))
	if got := proxy.hosts; len(got) != 1 || got[0] != "lambda.internal.invalid" {
		t.Fatalf("the proxy saw hosts %v, want lambda.internal.invalid", got)
	}
	get(load(HTTPSettings{HTTPProxy: proxy.URL, NoProxy: ".invalid"}, "http://lambda.internal.invalid"))
	direct := newRecorder(t)
	get(load(HTTPSettings{HTTPProxy: proxy.URL}, direct.URL))
	if len(proxy.hosts) != 1 || len(direct.seen()) != 1 {
		t.Errorf("no_proxy or a loopback endpoint went through the proxy: proxy %v, direct %v", proxy.hosts, direct.seen())
	}
	t.Setenv("HTTP_PROXY", proxy.URL)
	get(load(HTTPSettings{}, "http://lambda.internal.invalid"))
	if len(proxy.hosts) != 2 {
		t.Errorf("HTTP_PROXY was not used: %v", proxy.hosts)
	}
	_, err := Load(context.Background(), Settings{Region: "us-east-1", AccessKey: "a", SecretKey: "b", HTTP: HTTPSettings{HTTPSProxy: "::bad"}})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Attribute != "https_proxy" {
		t.Errorf("a bad proxy URL: %v", err)
	}
}

// stsServer is the emulator's IAM and STS behind one URL, with a role that
// the account's root may assume with external ID "ext".
func stsServer(t *testing.T) (url, roleARN string) {
	t.Helper()
	svc, err := emuiam.New(emuiam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, s := awsproto.Scope(r); s == "sts" || (s == "" && strings.HasPrefix(r.FormValue("Action"), "AssumeRole")) {
			svc.ServeSTS(w, r)
			return
		}
		svc.ServeIAM(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := Load(context.Background(), Settings{Region: "us-east-1", AccessKey: "a", SecretKey: "b", Endpoints: map[string]string{"iam": srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext"}}},` +
		`{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/issuer.example"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"issuer.example:aud":"sts"}}}]}`
	out, err := c.IAM.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("deployer"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, aws.ToString(out.Role.Arn)
}

func token(aud string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{"iss":"https://issuer.example","sub":"ci","aud":"`+aud+`"}`)) + ".sig"
}

func TestLoad_roleSessions(t *testing.T) {
	isolate(t)
	url, roleARN := stsServer(t)
	load := func(s Settings) (*Clients, error) {
		s.Region, s.AccessKey, s.SecretKey, s.MaxRetries = "us-east-1", "a", "b", 1
		s.Endpoints = map[string]string{"sts": url}
		return Load(context.Background(), s)
	}
	caller := func(c *Clients) string {
		out, err := c.STS.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Arn)
	}
	c, err := load(Settings{AssumeRole: &AssumeRole{RoleARN: roleARN, SessionName: "s1", ExternalID: "ext", Tags: map[string]string{"team": "ml"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := caller(c); got != "arn:aws:sts::000000000000:assumed-role/deployer/s1" {
		t.Errorf("assume_role caller %s", got)
	}
	_, err = load(Settings{AssumeRole: &AssumeRole{RoleARN: roleARN, ExternalID: "nope"}})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Attribute != "assume_role" || !strings.Contains(ce.Message, roleARN) || !strings.Contains(ce.Message, "AccessDenied") {
		t.Errorf("a wrong external ID: %v", err)
	}

	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token("sts")), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ROLE_ARN", roleARN)
	t.Setenv("AWS_ROLE_SESSION_NAME", "from-env")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", file)
	c, err = load(Settings{WebIdentity: &WebIdentity{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := caller(c); got != "arn:aws:sts::000000000000:assumed-role/deployer/from-env" {
		t.Errorf("web identity from the environment: caller %s", got)
	}
	bad := token("other")
	_, err = load(Settings{WebIdentity: &WebIdentity{RoleARN: roleARN, SessionName: "x1", Token: bad}})
	if !errors.As(err, &ce) || ce.Attribute != "assume_role_with_web_identity" || strings.Contains(err.Error(), bad) {
		t.Errorf("a token of the wrong audience: %v", err)
	}
	if s := (WebIdentity{Token: bad}).String(); strings.Contains(s, bad) {
		t.Error("WebIdentity's String prints the token")
	}

	// Account guards use the session's account.
	if _, err := load(Settings{AllowedAccountIDs: []string{"000000000000"}}); err != nil {
		t.Errorf("allowed account: %v", err)
	}
	_, err = load(Settings{AllowedAccountIDs: []string{"111111111111"}})
	if !errors.As(err, &ce) || ce.Attribute != "allowed_account_ids" || !strings.Contains(ce.Message, "000000000000") {
		t.Errorf("an account not allowed: %v", err)
	}
	_, err = load(Settings{ForbiddenAccountIDs: []string{"000000000000"}})
	if !errors.As(err, &ce) || ce.Attribute != "forbidden_account_ids" || !strings.Contains(ce.Message, "000000000000") {
		t.Errorf("a forbidden account: %v", err)
	}
}
