package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	dockerregistry "github.com/docker/docker/api/types/registry"
)

// fake answers GetAuthorizationToken with a canned token.
type fake struct {
	out *ecr.GetAuthorizationTokenOutput
	err error
	got *ecr.GetAuthorizationTokenInput
}

func (f *fake) GetAuthorizationToken(_ context.Context, in *ecr.GetAuthorizationTokenInput, _ ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error) {
	f.got = in
	return f.out, f.err
}

func tokenOutput(token, endpoint string, expires time.Time) *ecr.GetAuthorizationTokenOutput {
	return &ecr.GetAuthorizationTokenOutput{AuthorizationData: []ecrtypes.AuthorizationData{{
		AuthorizationToken: aws.String(token),
		ProxyEndpoint:      aws.String(endpoint),
		ExpiresAt:          aws.Time(expires),
	}}}
}

const secretPassword = "eyJwYXlsb2FkIjoiczNjcjN0In0=-very-secret"

func TestECRAuth_decodesTokenAndProxyEndpoint(t *testing.T) {
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + secretPassword))
	f := &fake{out: tokenOutput(token, "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", expires)}
	a, err := ECRAuth(context.Background(), f, "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	want := Auth{Username: "AWS", Password: secretPassword, ServerAddress: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", ExpiresAt: expires}
	if a != want {
		t.Fatalf("ECRAuth = %#v (password ok: %v), want %#v", a, a.Password == want.Password, want)
	}
	//nolint:staticcheck // checking the deprecated field is what we send
	if !slices.Equal(f.got.RegistryIds, []string{"123456789012"}) {
		t.Errorf("RegistryIds = %q, want the registry ID", f.got.RegistryIds)
	}
}

func TestECRAuth_ownRegistryAndLoopbackEndpoint(t *testing.T) {
	token := base64.StdEncoding.EncodeToString([]byte("AWS:pw:with:colons"))
	f := &fake{out: tokenOutput(token, "http://127.0.0.1:45123", time.Time{})}
	a, err := ECRAuth(context.Background(), f, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.ServerAddress != "127.0.0.1:45123" || a.Password != "pw:with:colons" {
		t.Fatalf("got server %q password ok=%v", a.ServerAddress, a.Password == "pw:with:colons")
	}
	//nolint:staticcheck // see above
	if f.got.RegistryIds != nil {
		t.Errorf("RegistryIds = %q, want none for the caller's own registry", f.got.RegistryIds)
	}
}

func TestECRAuth_badResponsesAreErrorsThatDoNotEchoTheToken(t *testing.T) {
	notBase64 := "!!" + secretPassword
	noColon := base64.StdEncoding.EncodeToString([]byte(secretPassword))
	cases := map[string]struct {
		out  *ecr.GetAuthorizationTokenOutput
		err  error
		want string
	}{
		"api error":          {err: errors.New("AccessDeniedException: not allowed"), want: "ecr:GetAuthorizationToken: AccessDeniedException"},
		"no data":            {out: &ecr.GetAuthorizationTokenOutput{}, want: "no authorization data"},
		"missing fields":     {out: &ecr.GetAuthorizationTokenOutput{AuthorizationData: []ecrtypes.AuthorizationData{{}}}, want: "without a token"},
		"token not base64":   {out: tokenOutput(notBase64, "https://x.example", time.Time{}), want: "not base64"},
		"token without user": {out: tokenOutput(noColon, "https://x.example", time.Time{}), want: `not "user:password"`},
		"endpoint no host":   {out: tokenOutput(base64.StdEncoding.EncodeToString([]byte("AWS:p")), "https://", time.Time{}), want: "has no host"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ECRAuth(context.Background(), &fake{out: c.out, err: c.err}, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), secretPassword) {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
}

func TestAuth_formattingHidesThePassword(t *testing.T) {
	a := Auth{Username: "AWS", Password: secretPassword, ServerAddress: "r.example"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		s := fmt.Sprintf(verb, a)
		if strings.Contains(s, secretPassword) {
			t.Errorf("%s leaks the password: %s", verb, s)
		}
		if !strings.Contains(s, "r.example") {
			t.Errorf("%s hides too much: %s", verb, s)
		}
	}
}

func TestAuth_registryAuthHeaderIsDockersEncoding(t *testing.T) {
	a := Auth{Username: "AWS", Password: secretPassword, ServerAddress: "r.example:5000"}
	h := a.RegistryAuthHeader()
	if strings.ContainsAny(h, "+/") {
		t.Errorf("header %q is not base64url", h)
	}
	got, err := dockerregistry.DecodeAuthConfig(h)
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != "AWS" || got.Password != secretPassword || got.ServerAddress != "r.example:5000" {
		t.Fatalf("decoded %+v", got)
	}
}

func TestAuth_redactRemovesEveryEncodingOfThePassword(t *testing.T) {
	a := Auth{Username: "AWS", Password: "p@ss word/+", ServerAddress: "r"}
	basic := base64.StdEncoding.EncodeToString([]byte("AWS:p@ss word/+"))
	in := "pw=p@ss word/+ hdr=" + a.RegistryAuthHeader() + " basic=" + basic + " q=p%40ss+word%2F%2B"
	out := a.redact(in)
	for _, leak := range []string{"p@ss word/+", a.RegistryAuthHeader(), basic, "p%40ss+word%2F%2B"} {
		if strings.Contains(out, leak) {
			t.Errorf("redact left %q in %q", leak, out)
		}
	}
}

func TestDigestRef(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	for in, want := range map[string]string{
		"123.dkr.ecr.us-east-1.amazonaws.com/aqueduct/ops":        "123.dkr.ecr.us-east-1.amazonaws.com/aqueduct/ops@" + d,
		"123.dkr.ecr.us-east-1.amazonaws.com/aqueduct/ops:src-ab": "123.dkr.ecr.us-east-1.amazonaws.com/aqueduct/ops@" + d,
		"127.0.0.1:5000/ops":    "127.0.0.1:5000/ops@" + d,
		"127.0.0.1:5000/ops:v1": "127.0.0.1:5000/ops@" + d,
		"127.0.0.1:5000/ops@sha256:" + strings.Repeat("b", 64): "127.0.0.1:5000/ops@" + d,
	} {
		if got := DigestRef(in, d); got != want {
			t.Errorf("DigestRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for ref, want := range map[string]bool{
		"127.0.0.1:5000/a:b": true,
		"127.1.2.3/a":        true,
		"localhost:5000/a":   true,
		"[::1]:5000/a":       true,
		"123.dkr.ecr.us-east-1.amazonaws.com/a:b": false,
		"10.0.0.1:5000/a":                         false,
		"127.0.0.1.example.com/a":                 false,
	} {
		if got := isLoopback(ref); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", ref, got, want)
		}
	}
}
