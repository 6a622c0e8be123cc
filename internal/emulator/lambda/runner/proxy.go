package runner

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
)

// rtProxy sits between a function's runtime and RIE's Runtime API. RIE
// answers a handled function error with 200 and the error body, exactly as a
// success; only the runtime's POST to .../invocation/<id>/error tells them
// apart, so the proxy records which way each invocation ended.
type rtProxy struct {
	ln        net.Listener
	srv       *http.Server
	transport *http.Transport

	mu       sync.Mutex
	outcomes map[string]outcome
}

type outcome struct {
	kind      string // "response" or "error"
	errorType string
}

var invocationPath = regexp.MustCompile(`^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$`)

// newRTProxy listens on a loopback port the container (on the host network)
// can reach and forwards to RIE's Runtime API at target (host:port).
func newRTProxy(target string) (*rtProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &rtProxy{ln: ln, outcomes: map[string]outcome{}, transport: &http.Transport{}}
	u := &url.URL{Scheme: "http", Host: target}
	rp := &httputil.ReverseProxy{
		Transport: p.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = target
			p.observe(pr.In)
		},
		// The runtime long-polls /next; stream responses as they come.
		FlushInterval: -1,
		// A runtime killed mid-poll is expected; it is not worth a log line.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = &http.Server{Handler: rp}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *rtProxy) Addr() string { return p.ln.Addr().String() }

func (p *rtProxy) observe(r *http.Request) {
	if r.Method != http.MethodPost {
		return
	}
	m := invocationPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outcomes[m[1]] = outcome{kind: m[2], errorType: r.Header.Get("Lambda-Runtime-Function-Error-Type")}
}

// take returns and forgets how the invocation id ended ("" if the runtime
// never answered it).
func (p *rtProxy) take(id string) outcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.outcomes[id]
	delete(p.outcomes, id)
	return o
}

func (p *rtProxy) Close() {
	_ = p.srv.Close()
	p.transport.CloseIdleConnections()
}
