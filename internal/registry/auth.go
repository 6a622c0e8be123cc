// Package registry pushes operator images to ECR (or any OCI registry) and
// reads their digests back from the registry itself. Credentials never appear
// in its errors, logs or formatted values.
package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	dockerregistry "github.com/docker/docker/api/types/registry"
)

// Auth is a registry login. Its String and GoString hide the password, so
// printing one by mistake leaks nothing.
type Auth struct {
	Username      string
	Password      string
	ServerAddress string    // registry host[:port], no scheme
	ExpiresAt     time.Time // zero when unknown; ECR tokens last 12 hours
}

func (a Auth) String() string {
	pw := ""
	if a.Password != "" {
		pw = "<redacted>"
	}
	return fmt.Sprintf("registry.Auth{Username:%q, Password:%s, ServerAddress:%q}", a.Username, pw, a.ServerAddress)
}

// GoString covers %#v.
func (a Auth) GoString() string { return a.String() }

// RegistryAuthHeader is the value of Docker's X-Registry-Auth header
// (base64url JSON). It carries the password: pass it on, never log it.
func (a Auth) RegistryAuthHeader() string {
	h, err := dockerregistry.EncodeAuthConfig(dockerregistry.AuthConfig{
		Username:      a.Username,
		Password:      a.Password,
		ServerAddress: a.ServerAddress,
	})
	if err != nil {
		// json.Marshal of three strings cannot fail.
		panic(err)
	}
	return h
}

// redact removes every form of the password that could be echoed back.
func (a Auth) redact(s string) string {
	if a.Password == "" {
		return s
	}
	secrets := []string{
		a.Password,
		a.RegistryAuthHeader(),
		base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + a.Password)),
		url.QueryEscape(a.Password),
	}
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "<redacted>")
		}
	}
	return s
}

// scrub returns err with credentials removed from its text. The result does
// not wrap err, since unwrapping would give the unredacted text back.
func (a Auth) scrub(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(a.redact(err.Error()))
}

// ECRAuthAPI is the part of *ecr.Client that ECRAuth uses.
type ECRAuthAPI interface {
	GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, optFns ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
}

// ECRAuth gets a Docker login for an ECR registry from
// ecr:GetAuthorizationToken. registryID is the AWS account ID that owns the
// registry; empty means the caller's own.
func ECRAuth(ctx context.Context, api ECRAuthAPI, registryID string) (Auth, error) {
	in := &ecr.GetAuthorizationTokenInput{}
	if registryID != "" {
		//nolint:staticcheck // RegistryIds is deprecated but still the way to name another account's registry.
		in.RegistryIds = []string{registryID}
	}
	out, err := api.GetAuthorizationToken(ctx, in)
	if err != nil {
		return Auth{}, fmt.Errorf("ecr:GetAuthorizationToken: %w", err)
	}
	if len(out.AuthorizationData) == 0 {
		return Auth{}, errors.New("ecr:GetAuthorizationToken returned no authorization data")
	}
	d := out.AuthorizationData[0]
	if d.AuthorizationToken == nil || d.ProxyEndpoint == nil {
		return Auth{}, errors.New("ecr:GetAuthorizationToken returned authorization data without a token or proxy endpoint")
	}
	// The token's text is never put in an error: it is the credential.
	raw, err := base64.StdEncoding.DecodeString(*d.AuthorizationToken)
	if err != nil {
		return Auth{}, errors.New("ecr:GetAuthorizationToken returned a token that is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return Auth{}, errors.New("ecr:GetAuthorizationToken returned a token that is not \"user:password\"")
	}
	host, err := endpointHost(*d.ProxyEndpoint)
	if err != nil {
		return Auth{}, err
	}
	a := Auth{Username: user, Password: pass, ServerAddress: host}
	if d.ExpiresAt != nil {
		a.ExpiresAt = *d.ExpiresAt
	}
	return a, nil
}

// endpointHost takes "https://123.dkr.ecr.us-east-1.amazonaws.com" (or a bare
// host) to the registry host Docker and image references use.
func endpointHost(endpoint string) (string, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("ecr:GetAuthorizationToken returned proxy endpoint %q, which has no host", endpoint)
	}
	return u.Host, nil
}
