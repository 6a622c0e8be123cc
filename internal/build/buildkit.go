package build

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"github.com/docker/docker/client"
	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"google.golang.org/protobuf/proto"
)

// Builds with secrets go through the engine's BuildKit, the only builder
// with secret mounts, with a session that serves the secrets: the engine
// asks for each one over the session while the RUN step runs, and BuildKit
// mounts it on tmpfs for that step only. Nothing of it is committed to a
// layer, and the step's history entry holds the command text, not values.

// traceID marks BuildKit's progress messages in the build stream.
const traceID = "moby.buildkit.trace"

// secretsSession starts a BuildKit session serving values, attached to the
// engine through its /session endpoint. stop ends it.
func secretsSession(ctx context.Context, docker client.APIClient, values map[string][]byte) (id string, stop func(), err error) {
	sess, err := session.NewSession(ctx, "aqueduct-build")
	if err != nil {
		return "", nil, fmt.Errorf("starting a BuildKit session for the build secrets: %w", err)
	}
	sess.Allow(secretsprovider.FromMap(values))
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sess.Run(sctx, func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return docker.DialHijack(ctx, "/session", proto, meta)
		})
	}()
	return sess.ID(), func() {
		_ = sess.Close()
		cancel()
		<-done
	}, nil
}

// traceText turns one BuildKit progress message (base64 protobuf of a
// StatusResponse, as JSON) into log text: step names as they start, the
// steps' output, and errors.
func traceText(aux json.RawMessage) string {
	var raw []byte
	if err := json.Unmarshal(aux, &raw); err != nil {
		return ""
	}
	var st controlapi.StatusResponse
	if err := proto.Unmarshal(raw, &st); err != nil {
		return ""
	}
	var b strings.Builder
	for _, v := range st.Vertexes {
		if v.Started != nil && v.Completed == nil {
			fmt.Fprintf(&b, "%s\n", v.Name)
		}
		if v.Error != "" {
			fmt.Fprintf(&b, "%s: %s\n", v.Name, v.Error)
		}
	}
	for _, l := range st.Logs {
		b.Write(l.Msg)
		if len(l.Msg) > 0 && l.Msg[len(l.Msg)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
