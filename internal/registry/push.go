package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushTailLines is how much of the push log a failure error carries.
const pushTailLines = 20

// Option changes how the provider itself talks to the registry.
type Option func(*options)

type options struct{ transport http.RoundTripper }

// WithTransport sends the provider's own registry requests (lookups, the
// pre-push credential check, the digest read back) through rt: the
// provider's custom CA bundle and proxies. The push itself is the Docker
// daemon's, which uses its own proxy and CA settings.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.transport = rt }
}

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Lookup asks the registry for the manifest digest of ref ("host/repo:tag").
// A tag or repository the registry does not have is found=false with no
// error. Loopback registries are spoken to over plain HTTP.
func Lookup(ctx context.Context, ref string, auth Auth, opts ...Option) (digest string, found bool, err error) {
	d, found, err := head(ctx, ref, auth, collect(opts))
	if err != nil || !found {
		return "", found, err
	}
	return d.Digest.String(), true, nil
}

func head(ctx context.Context, ref string, auth Auth, o options) (*v1.Descriptor, bool, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, false, err
	}
	var authr authn.Authenticator = authn.Anonymous
	if auth.Username != "" || auth.Password != "" {
		authr = &authn.Basic{Username: auth.Username, Password: auth.Password}
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(authr)}
	if o.transport != nil {
		ropts = append(ropts, remote.WithTransport(o.transport))
	}
	d, err := remote.Head(r, ropts...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) {
			switch terr.StatusCode {
			case http.StatusNotFound:
				return nil, false, nil
			case http.StatusUnauthorized, http.StatusForbidden:
				return nil, false, &deniedError{ref: ref, status: terr.StatusCode, user: auth.Username, server: auth.ServerAddress}
			}
		}
		return nil, false, fmt.Errorf("looking up %s in the registry: %w", ref, auth.scrub(err))
	}
	return d, true, nil
}

// deniedError is a registry refusing the credentials. For ECR that is most
// often an expired token (they last 12 hours) or a missing IAM permission.
type deniedError struct {
	ref, user, server string
	status            int
}

func (e *deniedError) Error() string {
	return fmt.Sprintf("registry %s refused user %q for %s (HTTP %d %s): the credentials are wrong or expired, or lack permission for this repository",
		e.server, e.user, e.ref, e.status, http.StatusText(e.status))
}

func parseRef(ref string) (name.Reference, error) {
	var opts []name.Option
	if isLoopback(ref) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	return r, nil
}

// isLoopback says whether ref's registry is on this machine, where (as Docker
// does for 127.0.0.0/8) plain HTTP is allowed.
func isLoopback(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Push tags imageID as ref ("host/repo:tag"), pushes it through the Docker
// engine with auth, and returns the manifest digest ("sha256:...") as the
// registry reports it afterwards: never the engine's own idea of it. Progress
// goes to logf (which may be nil), one line per layer state change.
func Push(ctx context.Context, docker client.APIClient, imageID string, ref string, auth Auth, logf func(string), opts ...Option) (string, error) {
	o := collect(opts)
	if logf == nil {
		logf = func(string) {}
	}
	// Docker retries a refused layer upload for about a minute; asking the
	// registry first makes bad credentials fail at once.
	if _, err := parseRef(ref); err != nil {
		return "", err
	}
	var denied *deniedError
	if _, _, err := head(ctx, ref, auth, o); errors.As(err, &denied) {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	if err := docker.ImageTag(ctx, imageID, ref); err != nil {
		return "", fmt.Errorf("tagging image %s as %s: %w", imageID, ref, err)
	}
	// The registry accepted these credentials just above, so a push that
	// fails now met a transient failure (a throttled or failed request
	// Docker does not retry, such as its registry ping): push again.
	delay := pushRetryDelay
	for attempt := 1; ; attempt++ {
		err := pushOnce(ctx, docker, ref, auth, logf)
		if err == nil {
			break
		}
		if attempt == pushAttempts || ctx.Err() != nil || !transientPushError(err) {
			return "", fmt.Errorf("pushing %s (attempt %d of %d): %w", ref, attempt, pushAttempts, err)
		}
		logf(fmt.Sprintf("push failed, retrying in %s: %v", delay, err))
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("pushing %s: %w", ref, ctx.Err())
		case <-time.After(delay):
		}
		delay *= 2
	}

	d, found, err := head(ctx, ref, auth, o)
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("pushed %s but the registry has no manifest for it", ref)
	}
	// Lambda takes one image manifest, not an index.
	if d.MediaType.IsIndex() {
		return "", fmt.Errorf("pushed %s as an image index (%s); AWS Lambda needs a single-platform image manifest", ref, d.MediaType)
	}
	if d.MediaType != types.DockerManifestSchema2 && d.MediaType != types.OCIManifestSchema1 {
		return "", fmt.Errorf("pushed %s as %s; AWS Lambda needs a Docker v2 schema 2 or OCI image manifest", ref, d.MediaType)
	}
	logf(fmt.Sprintf("%s: digest %s", ref, d.Digest))
	return d.Digest.String(), nil
}

// errDockerRetrying is Docker starting its own retry of a layer upload.
var errDockerRetrying = errors.New("the registry failed a layer upload")

// Push retries: the daemon retries a layer upload itself, slowly, but not a
// failed registry ping or manifest upload.
const pushAttempts = 5

var pushRetryDelay = time.Second

// transientPushError says whether a failed push may pass when repeated: the
// registry throttled or failed a request, or the connection broke. Docker
// also reports a throttled or failed registry ping as "unauthorized", since
// without the ping it pushes with no credentials; Push has checked them
// first, so that too is transient. A refusal ("denied") is not.
func transientPushError(err error) bool {
	if errors.Is(err, errDockerRetrying) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{
		"unauthorized", "toomanyrequests", "too many requests", "internal server error", "service unavailable",
		"bad gateway", "gateway timeout", "connection reset", "connection refused", "unexpected eof", "broken pipe",
		// A throttled HEAD has no body, which Docker reports as unparsable.
		"http 429", "http 500", "http 502", "http 503", "http 504",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func pushOnce(ctx context.Context, docker client.APIClient, ref string, auth Auth, logf func(string)) error {
	// Leaving early (see errDockerRetrying) ends the daemon's push too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rc, err := docker.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth.RegistryAuthHeader()})
	if err != nil {
		return auth.scrub(err)
	}
	defer rc.Close()
	return readPushStream(rc, auth, logf)
}

// readPushStream reports each layer's state once (not every progress tick)
// and turns an error message into an error with the recent log.
func readPushStream(body io.Reader, auth Auth, logf func(string)) error {
	var tail []string
	last := map[string]string{}
	dec := json.NewDecoder(body)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading Docker's output: %w%s", auth.scrub(err), tailText(tail))
		}
		if m.Error != nil || m.ErrorMessage != "" {
			msg := m.ErrorMessage
			if m.Error != nil && m.Error.Message != "" {
				msg = m.Error.Message
			}
			return fmt.Errorf("%s%s", auth.redact(msg), tailText(tail))
		}
		// Docker retries a failed layer upload for about a minute without
		// saying why; Push retries the whole push sooner, and the layers
		// already uploaded are not sent again.
		if strings.HasPrefix(m.Status, "Retrying in ") {
			tail = append(tail, auth.redact(m.ID+": "+m.Status))
			return fmt.Errorf("%w%s", errDockerRetrying, tailText(tail))
		}
		state := m.Status
		if m.Status == "" || (m.ID != "" && last[m.ID] == state) {
			continue
		}
		line := m.Status
		if m.ID != "" {
			last[m.ID] = state
			line = m.ID + ": " + m.Status
		}
		line = auth.redact(line)
		tail = append(tail, line)
		if len(tail) > pushTailLines {
			tail = tail[1:]
		}
		logf(line)
	}
}

func tailText(tail []string) string {
	if len(tail) == 0 {
		return ""
	}
	return fmt.Sprintf("\nlast %d lines of the push log:\n%s", len(tail), strings.Join(tail, "\n"))
}

// DigestRef is the immutable reference Lambda gets: "host/repo@sha256:...".
// A tag or digest already on repoURL is dropped.
func DigestRef(repoURL, digest string) string {
	repo, _, _ := strings.Cut(repoURL, "@")
	if i := strings.LastIndexByte(repo, ':'); strings.Contains(repo, "/") && i > strings.LastIndexByte(repo, '/') {
		repo = repo[:i]
	}
	return repo + "@" + digest
}

// IsImmutableTagError reports whether a push failed because the tag exists
// in an ECR repository with IMMUTABLE tags. ECR refuses such a push even for
// the digest the tag already names (ImageTagAlreadyExistsException; through
// the registry API "tag invalid: ... cannot be overwritten because the
// repository is immutable").
func IsImmutableTagError(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "because the repository is immutable") ||
		strings.Contains(err.Error(), "ImageTagAlreadyExistsException"))
}
