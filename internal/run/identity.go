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

	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// identityVersion changes when what goes into an identity changes, so that
// old records are not mistaken for new ones.
const identityVersion = 3

// identityDoc is hashed into a run's identity: what the run produces (its
// targets and their lineages, which cover everything upstream), with which
// parameters and input.
type identityDoc struct {
	Version    int                        `json:"v"`
	Workflow   string                     `json:"workflow"`
	Operator   string                     `json:"operator,omitempty"`
	Targets    []targetIdentity           `json:"targets"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Input      json.RawMessage            `json:"input,omitempty"`
}

type targetIdentity struct {
	Name    string `json:"name"`
	Lineage string `json:"lineage"`
}

// identity returns the run's identity and its id.
func identity(req Request, d *dag, targets []string, params map[string]json.RawMessage, input json.RawMessage) (ident, id string, err error) {
	if req.RunKey != "" {
		// Scoped to the workflow (and operator): runs of different workflows
		// share nothing.
		scope := req.Workflow
		if req.Operator != "" {
			scope += "/" + req.Operator
		}
		ident = fmt.Sprintf("run_key:%s:%s", scope, req.RunKey)
		sum := sha256.Sum256([]byte(ident))
		return ident, "r-" + hex.EncodeToString(sum[:8]), nil
	}
	doc := identityDoc{Version: identityVersion, Workflow: req.Workflow, Operator: req.Operator, Parameters: params, Input: input}
	for _, name := range targets {
		doc.Targets = append(doc.Targets, targetIdentity{Name: name, Lineage: d.ops[name].Lineage})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	return "sha256:" + h, "r-" + h[:16], nil
}

// cacheKey is the key an operator's output is cached under: its lineage,
// the parameters it takes (each with its value, or null when the run does
// not set it), the direct input of a one-operator run, and the keys of its
// inputs' outputs in order, so that a changed parameter reaches everything
// downstream of the operators that take it.
//
// The key is the SHA-256 of a line-oriented text, with each JSON value
// given by the SHA-256 of its canonical form, so that the runtime inside a
// function (server-side runs) computes the same key from the same hashes
// without re-encoding JSON:
//
//	aqueduct-cache-key/v1
//	lineage <lineage>
//	parameters all | named
//	parameter <name> <sha256 of its canonical JSON>   (sorted by name)
//	input <sha256 of the canonical input> | input -
//	upstream <key>                                    (in inputs order)
func cacheKey(lineage string, accepts *runtime.Accepts, params map[string]json.RawMessage, input json.RawMessage, inputKeys []string) string {
	hashes := make(map[string]string, len(params))
	for name, v := range params {
		hashes[name] = valueHash(v)
	}
	inputHash := ""
	if len(input) > 0 {
		inputHash = valueHash(input)
	}
	return runtime.CacheKey(lineage, accepts, hashes, inputHash, inputKeys)
}

// valueHash is the hash the cache key takes for a canonical JSON value.
func valueHash(canonical json.RawMessage) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
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
