package provider

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/testenv"
)

// testRole creates a role with trust policy doc in the emulated IAM and
// returns its name and ARN.
func testRole(t *testing.T, doc string) (name, arn string) {
	t.Helper()
	name = testName("deployer")
	out, err := testClients(t).IAM.CreateRole(context.Background(), &awsiam.CreateRoleInput{
		RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(doc), MaxSessionDuration: aws.Int32(7200),
	})
	if err != nil {
		t.Fatal(err)
	}
	return name, aws.ToString(out.Role.Arn)
}

// testJWT is an unsigned OIDC token: the emulator reads its claims and,
// unlike AWS, does not verify its signature.
func testJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"test"}`)) + "." + enc(b) + "." + enc([]byte("unsigned-"+testName("sig")))
}

const testOIDCIssuer = "token.example.com"

func testOIDCTrust() string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/` + testOIDCIssuer + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + testOIDCIssuer + `:aud":"sts.amazonaws.com"},"StringLike":{"` + testOIDCIssuer + `:sub":"repo:acme/*"}}}]}`
}

func testOIDCToken(aud string) string {
	return testJWT(map[string]any{"iss": "https://" + testOIDCIssuer, "aud": aud, "sub": "repo:acme/pipelines:ref:refs/heads/main", "exp": time.Now().Add(time.Hour).Unix()})
}

// testCheckCalledAs checks that the emulator's request log has calls to
// each service made with the role session named principal.
func testCheckCalledAs(principal string, services ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		seen := map[string]int{}
		for _, r := range testEmulator.Requests() {
			if r.Principal == principal {
				seen[r.Service]++
			}
		}
		for _, s := range services {
			if seen[s] == 0 {
				return fmt.Errorf("no %s call was made as %s (calls by it: %v)", s, principal, seen)
			}
		}
		return nil
	}
}

func TestAccProvider_assumeRole(t *testing.T) {
	testAccPreCheck(t)
	execRole, bucket := testFixtures(t)
	ext := testName("ext-")
	roleName, roleARN := testRole(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"`+ext+`"}}}]}`)
	eng := testName("eng")
	provider := func(externalID string) string {
		return fmt.Sprintf(`
provider "aqueduct" {
  assume_role {
    role_arn            = %s
    session_name        = "tf-acc"
    external_id         = %s
    duration            = "30m"
    tags                = { team = "ml" }
    transitive_tag_keys = ["team"]
    policy_arns         = ["arn:aws:iam::aws:policy/AdministratorAccess"]
  }
}
`, hcl(roleARN), hcl(externalID))
	}
	config := func(externalID string) string {
		return provider(externalID) + testAccLambdaResourceConfig(eng, execRole, bucket, "")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckRepositoryGone(t, "aqueduct/"+eng),
		Steps: []resource.TestStep{
			{
				// A wrong external ID fails before anything is planned, with
				// STS's reason and the role.
				Config:      config("wrong-" + ext),
				ExpectError: regexp.MustCompile(`(?s)cannot assume IAM role\s+` + regexp.QuoteMeta(roleARN) + `.*AccessDenied.*external_id`),
			},
			{
				Config: config(ext),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("account_id"), knownvalue.StringExact(testAccount)),
				},
				Check: testCheckCalledAs("arn:aws:sts::000000000000:assumed-role/"+roleName+"/tf-acc", "sts", "ecr", "s3", "iam"),
			},
			{
				// Import reads the engine back through the role session too.
				ResourceName:      "aqueduct_lambda_resource.test",
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// A longer session of the same role changes nothing.
				Config: strings.Replace(config(ext), `"30m"`, `"2h"`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func TestAccProvider_assumeRoleWithWebIdentity(t *testing.T) {
	testAccPreCheck(t)
	execRole, bucket := testFixtures(t)
	roleName, roleARN := testRole(t, testOIDCTrust())
	dir := t.TempDir()
	good, wrongAud := filepath.Join(dir, "token"), filepath.Join(dir, "wrong-aud")
	if err := os.WriteFile(good, []byte(testOIDCToken("sts.amazonaws.com")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrongAud, []byte(testOIDCToken("someone-else")), 0o600); err != nil {
		t.Fatal(err)
	}
	eng := testName("eng")
	config := func(block string) string {
		return "provider \"aqueduct\" {\n  assume_role_with_web_identity {\n" + block + "\n  }\n}\n" + testAccLambdaResourceConfig(eng, execRole, bucket, "")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckRepositoryGone(t, "aqueduct/"+eng),
		Steps: []resource.TestStep{
			{
				Config:      config(fmt.Sprintf("role_arn = %s\nweb_identity_token_file = %s", hcl(roleARN), hcl(wrongAud))),
				ExpectError: regexp.MustCompile(`(?s)cannot assume IAM role\s+` + regexp.QuoteMeta(roleARN) + `.*AccessDenied:\s+Not\s+authorized\s+to\s+perform\s+sts:AssumeRoleWithWebIdentity.*audience`),
			},
			{
				Config: config(fmt.Sprintf("role_arn = %s\nsession_name = \"gha\"\nweb_identity_token_file = %s\nduration = \"1h\"", hcl(roleARN), hcl(good))),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("account_id"), knownvalue.StringExact(testAccount)),
				},
				Check: testCheckCalledAs("arn:aws:sts::000000000000:assumed-role/"+roleName+"/gha", "ecr", "s3", "iam"),
			},
			{
				// The environment fills in what the block leaves out, as in
				// the AWS provider (CI and EKS set these variables).
				PreConfig: func() {
					t.Setenv("AWS_ROLE_ARN", roleARN)
					t.Setenv("AWS_ROLE_SESSION_NAME", "from-env")
					t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", good)
				},
				Config: config(""),
				// Nothing changes: the refresh's reads are the session's.
				Check: testCheckCalledAs("arn:aws:sts::000000000000:assumed-role/"+roleName+"/from-env", "ecr", "iam"),
			},
		},
	})
}

func TestAccProvider_accountIDs(t *testing.T) {
	testAccPreCheck(t)
	execRole, bucket := testFixtures(t)
	eng := testName("eng")
	config := func(attr string) string {
		return "provider \"aqueduct\" {\n  " + attr + "\n}\n" + testAccLambdaResourceConfig(eng, execRole, bucket, "")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckRepositoryGone(t, "aqueduct/"+eng),
		Steps: []resource.TestStep{
			{
				Config:      config(`allowed_account_ids = ["111111111111", "222222222222"]`),
				ExpectError: regexp.MustCompile(`(?s)AWS account\s+000000000000.*not in\s+allowed_account_ids\s+\[111111111111,\s+222222222222\]`),
			},
			{
				Config:      config(`forbidden_account_ids = ["000000000000"]`),
				ExpectError: regexp.MustCompile(`(?s)AWS account\s+000000000000.*is in\s+forbidden_account_ids`),
			},
			{
				Config: config(`allowed_account_ids = ["000000000000"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("account_id"), knownvalue.StringExact(testAccount)),
				},
			},
		},
	})
}

// Bad connection settings stop at validation, naming the attribute, the
// value and the limit, before any AWS call.
func TestAccProvider_badConnectionSettingsFailAtPlan(t *testing.T) {
	testAccPreCheck(t)
	assumeCalls := func() int {
		n := 0
		for _, r := range testEmulator.Requests() {
			if r.Service == "sts" && strings.HasPrefix(r.Operation, "AssumeRole") {
				n++
			}
		}
		return n
	}
	before := assumeCalls()
	role := `role_arn = "arn:aws:iam::000000000000:role/deployer"`
	var steps []resource.TestStep
	for _, c := range []struct{ body, want string }{
		{`assume_role { role_arn = "deployer" }`, `assume_role.role_arn = "deployer" is not an IAM role ARN: value must be an ARN of the form\s+arn:aws:iam::ACCOUNT_ID:role/NAME`},
		{`assume_role {` + "\n" + role + "\n" + `duration = "13h"
}`, `assume_role.duration = "13h" is 13h; the allowed range is 15m to 12h`},
		{`assume_role {` + "\n" + role + "\n" + `duration = "10m"
}`, `assume_role.duration = "10m" is 10m; the allowed range is 15m to 12h`},
		{`assume_role {` + "\n" + role + "\n" + `session_name = "has space"
}`, `session_name.*\n?.*may contain only letters, digits`},
		{`assume_role {` + "\n" + role + "\n" + `policy_arns = ["ReadOnly"]
}`, `assume_role.policy_arns.* = "ReadOnly" is not an IAM policy ARN`},
		{`assume_role_with_web_identity {` + "\n" + role + "\n" + `web_identity_token = "abcd"` + "\n" + `web_identity_token_file = "/tmp/t"
}`, `cannot be specified when`},
		{"allowed_account_ids = [\"000000000000\"]\nforbidden_account_ids = [\"111111111111\"]", `Attribute "(forbidden|allowed)_account_ids" cannot be specified when\s+"(allowed|forbidden)_account_ids" is specified`},
		{`assume_role { session_name = "s1" }`, `assume_role.role_arn.* must be specified when "assume_role" is specified`},
		{`allowed_account_ids = ["12345"]`, `must be a 12-digit AWS account ID, got: 12345`},
		{`retry_mode = "fast"`, `retry_mode.*\n?.*value must be one of: \["standard" "adaptive"\], got: "fast"`},
		{`max_retries = 0`, `max_retries.*\n?.*must be between 1 and 100, got: 0`},
		{`https_proxy = "proxy:3128"`, `"proxy:3128" is not a valid endpoint`},
	} {
		steps = append(steps, resource.TestStep{
			Config:      "provider \"aqueduct\" {\n" + c.body + "\n}\n" + testAccLambdaResourceConfig(testName("eng"), "arn:aws:iam::000000000000:role/x", "b", ""),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(strings.ReplaceAll(c.want, " ", `\s+`)),
		})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProtoV6ProviderFactories, Steps: steps})
	if n := assumeCalls() - before; n != 0 {
		t.Errorf("%d AssumeRole calls reached the emulator; validation must stop first", n)
	}
}

// max_retries and retry_mode reach the SDK's retryer: with every STS call
// throttled, configuration fails after exactly max_retries attempts; with
// three of four throttled, the default 25 attempts ride it out.
func TestAccProvider_retriesOnThrottling(t *testing.T) {
	testAccPreCheck(t)
	execRole, bucket := testFixtures(t)
	throttled := func() int {
		n := 0
		for _, r := range testEmulator.Requests() {
			if r.Service == "sts" && r.Operation == "GetCallerIdentity" && r.Fault == "throttle" {
				n++
			}
		}
		return n
	}
	t.Cleanup(func() { _ = testEmulator.SetFaults(emulator.Faults{}) })
	eng := testName("eng")
	base := throttled()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckRepositoryGone(t, "aqueduct/"+eng),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					if err := testEmulator.SetFaults(emulator.Faults{ThrottleRate: 1, Services: []string{"sts"}}); err != nil {
						t.Fatal(err)
					}
				},
				Config:      "provider \"aqueduct\" {\n  max_retries = 3\n  retry_mode = \"standard\"\n  allowed_account_ids = [\"000000000000\"]\n}\n" + testAccLambdaResourceConfig(eng, execRole, bucket, ""),
				ExpectError: regexp.MustCompile(`(?s)GetCallerIdentity.*exceeded\s+maximum\s+number\s+of\s+attempts,\s+3.*Throttling`),
			},
			{
				PreConfig: func() {
					if n := throttled() - base; n == 0 || n%3 != 0 {
						t.Errorf("throttled GetCallerIdentity calls = %d, want a multiple of max_retries = 3", n)
					}
					base = throttled()
					if err := testEmulator.SetFaults(emulator.Faults{ThrottleRate: 0.75, Services: []string{"sts"}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: "provider \"aqueduct\" {\n  retry_mode = \"adaptive\"\n  allowed_account_ids = [\"000000000000\"]\n}\n" + testAccLambdaResourceConfig(eng, execRole, bucket, ""),
				Check: func(*terraform.State) error {
					if throttled() == base {
						return fmt.Errorf("no GetCallerIdentity call was throttled; the test proves nothing")
					}
					return testEmulator.SetFaults(emulator.Faults{})
				},
			},
		},
	})
}

// http_proxy carries every AWS call: the endpoints name a host only the
// proxy can reach.
func TestAccProvider_httpProxy(t *testing.T) {
	testAccPreCheck(t)
	execRole, bucket := testFixtures(t)
	proxy := testenv.StartProxy(t)
	_, port, _ := net.SplitHostPort(testEmulator.Addr())
	host := "aqueduct-emulator.invalid:" + port
	proxy.Route = func(string) string { return testEmulator.Addr() }
	t.Setenv("AWS_ENDPOINT_URL", "")
	u := "http://" + host
	eng := testName("eng")
	cfg := fmt.Sprintf(`
provider "aqueduct" {
  http_proxy = %s
  no_proxy   = "example.com"
  endpoints {
    lambda    = %[2]s
    ecr       = %[2]s
    s3        = %[2]s
    iam       = %[2]s
    sts       = %[2]s
    sfn       = %[2]s
    scheduler = %[2]s
  }
}
`, hcl(proxy.URL), hcl(u)) + testAccLambdaResourceConfig(eng, execRole, bucket, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckRepositoryGone(t, "aqueduct/"+eng),
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: func(*terraform.State) error {
				hosts := proxy.Hosts()
				if len(hosts) < 3 {
					return fmt.Errorf("the proxy relayed %d requests, want the apply's AWS calls", len(hosts))
				}
				for _, h := range hosts {
					if h != host {
						return fmt.Errorf("the proxy relayed a request for %s, want only %s", h, host)
					}
				}
				return nil
			},
		}},
	})
}

// custom_ca_bundle makes a TLS endpoint signed by a private CA trusted:
// without it the same endpoint fails certificate verification. S3 stays on
// plain HTTP: over TLS the SDK uploads with aws-chunked encoding, which the
// emulator's S3 does not decode.
func TestAccProvider_customCABundle(t *testing.T) {
	testAccPreCheck(t)
	execRole, bucket := testFixtures(t)
	srv := httptest.NewUnstartedServer(testEmulator)
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	eng := testName("eng")
	config := func(extra string) string {
		return fmt.Sprintf(`
provider "aqueduct" {
  %s
  max_retries = 2
  endpoints {
    lambda    = %[2]s
    ecr       = %[2]s
    s3        = %[3]s
    iam       = %[2]s
    sts       = %[2]s
    sfn       = %[2]s
    scheduler = %[2]s
  }
}
`, extra, hcl(srv.URL), hcl(testEmulator.URL())) + testAccLambdaResourceConfig(eng, execRole, bucket, "")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckRepositoryGone(t, "aqueduct/"+eng),
		Steps: []resource.TestStep{
			{
				Config:      config(""),
				ExpectError: regexp.MustCompile(`certificate signed by unknown authority`),
			},
			{
				Config: config("custom_ca_bundle = " + hcl(bundle)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("account_id"), knownvalue.StringExact(testAccount)),
				},
			},
		},
	})
}

// The web identity token and the session's secret key and token appear
// nowhere: not in terraform's output, its TF_LOG=trace log (which holds the
// provider's log too), nor the state. Run with the real CLI and the built
// provider, as a user runs it.
func TestAccProvider_secretsNeverInOutputOrLogs(t *testing.T) {
	testAccPreCheck(t)
	execRole, bucket := testFixtures(t)
	_, roleARN := testRole(t, testOIDCTrust())
	eng := testName("eng")
	cfg := fmt.Sprintf(`
terraform {
  required_providers {
    aqueduct = { source = "aqueduct/aqueduct" }
  }
}
variable "token" {
  type      = string
  sensitive = true
}
provider "aqueduct" {
  assume_role_with_web_identity {
    role_arn           = %s
    web_identity_token = var.token
  }
}
`, hcl(roleARN)) + testAccLambdaResourceConfig(eng, execRole, bucket, "")
	w := clitest.New(t, testEmulator.URL(), "us-east-1", map[string]string{"main.tf": cfg})
	logPath := filepath.Join(t.TempDir(), "trace.log")
	good, wrong := testOIDCToken("sts.amazonaws.com"), testOIDCToken("someone-else")
	w.Env = append(w.Env, "TF_LOG=trace", "TF_LOG_PATH="+logPath, "TF_VAR_token="+good)
	out := w.Must("apply", "-auto-approve", "-input=false", "-no-color")
	failEnv := append(append([]string(nil), w.Env...), "TF_VAR_token="+wrong)
	w.Env, failEnv = failEnv, w.Env
	failed, code := w.Run("plan", "-input=false", "-no-color")
	w.Env = failEnv
	if code == 0 || !strings.Contains(failed, "AccessDenied") {
		t.Errorf("plan with a token of the wrong audience: exit %d\n%s", code, failed)
	}
	out += failed + w.Must("destroy", "-auto-approve", "-input=false", "-no-color")

	logText, err := os.ReadFile(logPath)
	if err != nil || len(logText) == 0 {
		t.Fatalf("no trace log: %v", err)
	}
	if !strings.Contains(string(logText), "provider.terraform-provider-aqueduct") {
		t.Fatal("the trace log holds nothing of the provider; the test would prove nothing")
	}
	state, _ := os.ReadFile(filepath.Join(w.Dir, "terraform.tfstate"))
	secrets := append([]string{good, wrong}, testEmulator.SessionSecrets()...)
	if len(secrets) < 4 {
		t.Fatalf("only %d secrets to look for; the sessions were not issued", len(secrets))
	}
	for _, s := range secrets {
		for where, text := range map[string]string{"terraform's output": out, "the TF_LOG=trace log": string(logText), "the state": string(state)} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds a secret (%d characters)", where, len(s))
			}
		}
	}
}
