package run

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// identityVersion changes when what goes into an identity changes, so that
// old records are not mistaken for new ones.
const identityVersion = 2

// identityDoc is hashed into a run's identity. Operators are only those that
// run, so targets that select the same operators make the same run.
type identityDoc struct {
	Version    int                        `json:"v"`
	Workflow   string                     `json:"workflow"`
	Operator   string                     `json:"operator,omitempty"`
	Operators  []operatorIdentity         `json:"operators"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Input      json.RawMessage            `json:"input,omitempty"`
}

type operatorIdentity struct {
	Name   string `json:"name"`
	Config string `json:"config"` // artifacts.OperatorManifest.ConfigHash
}

// identity returns the run's identity and its id.
func identity(req Request, d *dag, selected []string, params map[string]json.RawMessage, input json.RawMessage) (ident, id string, err error) {
	if req.RunKey != "" {
		// Scoped to the workflow (and operator): runs of different workflows
		// share the store's runs/ folder.
		scope := req.Workflow
		if req.Operator != "" {
			scope += "/" + req.Operator
		}
		ident = fmt.Sprintf("run_key:%s:%s", scope, req.RunKey)
		sum := sha256.Sum256([]byte(ident))
		return ident, "r-" + hex.EncodeToString(sum[:8]), nil
	}
	doc := identityDoc{Version: identityVersion, Workflow: req.Workflow, Operator: req.Operator, Parameters: params, Input: input}
	for _, name := range selected {
		m := d.ops[name]
		doc.Operators = append(doc.Operators, operatorIdentity{Name: name, Config: m.ConfigHash()})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	return "sha256:" + h, "r-" + h[:16], nil
}

// freshID is a new id for a forced rerun, so the identity's earlier records
// and outputs are never overwritten while someone reads them.
func freshID(id string, now time.Time) string {
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	return fmt.Sprintf("%s-%s-%s", id, now.UTC().Format("20060102T150405Z"), hex.EncodeToString(nonce[:]))
}

// effectiveParameters overlays the request's parameters on the workflow's
// defaults, each in canonical JSON so that formatting does not change the
// identity.
func effectiveParameters(defaults, overrides map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(defaults)+len(overrides))
	for _, src := range []struct {
		what string
		m    map[string]json.RawMessage
	}{{"workflow default", defaults}, {"parameter", overrides}} {
		for k, v := range src.m {
			c, err := canonicalJSON(v)
			if err != nil {
				return nil, fmt.Errorf("%s %q is not valid JSON: %w", src.what, k, err)
			}
			out[k] = c
		}
	}
	return out, nil
}

// canonicalJSON re-encodes a value with sorted keys and no spaces. Numbers
// keep their digits.
func canonicalJSON(raw json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("null"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return json.Marshal(v)
}
