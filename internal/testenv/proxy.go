package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Proxy is a forward HTTP proxy for tests: it relays plain-HTTP requests
// (absolute URIs, as clients send them to an http_proxy) and remembers the
// hosts they were for. Route, when set, rewrites the host a request goes to,
// so a client can address a name that only the proxy can reach.
type Proxy struct {
	URL   string
	Route func(host string) string

	mu    sync.Mutex
	hosts []string
}

// StartProxy starts a Proxy closed at the end of the test.
func StartProxy(t testing.TB) *Proxy {
	p := &Proxy{}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Hosts are the hosts of the requests relayed so far, in order.
func (p *Proxy) Hosts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hosts...)
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect || !r.URL.IsAbs() {
		http.Error(w, "test proxy: only plain-HTTP forward requests", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.hosts = append(p.hosts, r.URL.Host)
	p.mu.Unlock()
	out := r.Clone(r.Context())
	out.RequestURI = ""
	if p.Route != nil {
		out.URL.Host = p.Route(r.URL.Host)
	}
	out.Header.Del("Proxy-Connection")
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, "test proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}
