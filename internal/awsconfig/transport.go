package awsconfig

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"golang.org/x/net/http/httpproxy"
)

// HTTPSettings are the provider's network settings: a custom CA bundle and
// HTTP(S) proxies. Empty fields fall back to AWS_CA_BUNDLE and
// HTTP_PROXY / HTTPS_PROXY / NO_PROXY (either case). They apply to the AWS
// clients and to the provider's own registry requests.
type HTTPSettings struct {
	CABundle   string // path to a PEM file
	HTTPProxy  string
	HTTPSProxy string
	NoProxy    string
}

// resolved fills empty fields from the environment.
func (h HTTPSettings) resolved() HTTPSettings {
	or := func(v string, envs ...string) string {
		for _, e := range envs {
			if v == "" {
				v = os.Getenv(e)
			}
		}
		return v
	}
	h.CABundle = or(h.CABundle, "AWS_CA_BUNDLE")
	h.HTTPProxy = or(h.HTTPProxy, "HTTP_PROXY", "http_proxy")
	h.HTTPSProxy = or(h.HTTPSProxy, "HTTPS_PROXY", "https_proxy")
	h.NoProxy = or(h.NoProxy, "NO_PROXY", "no_proxy")
	return h
}

// transportKey is a transport's identity: the settings and the CA bundle's
// contents, so an edited bundle gets a new transport.
type transportKey struct {
	HTTPSettings
	pem string
}

// Transports are shared by every client of every configuration of the
// provider process: a provider configured again (as acceptance tests do for
// every command) reuses its connections instead of leaving idle pools
// behind.
var (
	transportsMu sync.Mutex
	transports   = map[transportKey]*http.Transport{}
)

// Transport returns the shared HTTP transport for h: the SDK's defaults
// (timeouts, HTTP/2), the proxies, and the CA bundle's certificates added to
// the system's roots. Proxies follow the standard rules: NO_PROXY's hosts and
// loopback addresses are reached directly.
func Transport(h HTTPSettings) (*http.Transport, error) {
	h = h.resolved()
	key := transportKey{HTTPSettings: h}
	if h.CABundle != "" {
		pem, err := os.ReadFile(h.CABundle)
		if err != nil {
			return nil, &ConfigError{Attribute: "custom_ca_bundle", Message: fmt.Sprintf("cannot read the CA bundle %q: %v; set custom_ca_bundle or AWS_CA_BUNDLE to a readable PEM file", h.CABundle, err)}
		}
		key.pem = string(pem)
	}
	for attr, p := range map[string]string{"http_proxy": h.HTTPProxy, "https_proxy": h.HTTPSProxy} {
		if p == "" {
			continue
		}
		if u, err := url.Parse(p); err != nil || u.Host == "" {
			return nil, &ConfigError{Attribute: attr, Message: fmt.Sprintf("proxy %q is not a URL such as http://proxy.example:3128; check %s and the %s environment variable", p, attr, envOf(attr))}
		}
	}
	transportsMu.Lock()
	defer transportsMu.Unlock()
	if t, ok := transports[key]; ok {
		return t, nil
	}
	t := awshttp.NewBuildableClient().GetTransport()
	pc := &httpproxy.Config{HTTPProxy: h.HTTPProxy, HTTPSProxy: h.HTTPSProxy, NoProxy: h.NoProxy}
	proxy := pc.ProxyFunc()
	t.Proxy = func(r *http.Request) (*url.URL, error) { return proxy(r.URL) }
	if key.pem != "" {
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM([]byte(key.pem)) {
			return nil, &ConfigError{Attribute: "custom_ca_bundle", Message: fmt.Sprintf("the CA bundle %q holds no PEM certificate; it must contain one or more -----BEGIN CERTIFICATE----- blocks", h.CABundle)}
		}
		t.TLSClientConfig = t.TLSClientConfig.Clone()
		t.TLSClientConfig.RootCAs = roots
	}
	transports[key] = t
	return t, nil
}

func envOf(attr string) string {
	if attr == "http_proxy" {
		return "HTTP_PROXY"
	}
	return "HTTPS_PROXY"
}
