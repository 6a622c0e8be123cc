package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The invocation contract between the run executor (Go) and the runtime inside
// the function (Python). An event carries presigned URLs, never credentials.

// Input is one upstream output, in the operator's `inputs` order.
type Input struct {
	Operator    string `json:"operator"`
	URL         string `json:"url"` // presigned GET
	ContentType string `json:"content_type"`
}

// Output says where the operator's result goes.
type Output struct {
	URL string `json:"url"` // presigned PUT
	URI string `json:"uri"` // s3://bucket/key, echoed back for the record
}

// Event is the Lambda payload for one operator of one run.
type Event struct {
	Version    int                        `json:"aqueduct"` // EventVersion
	RunID      string                     `json:"run_id"`
	Operator   string                     `json:"operator"`
	Inputs     []Input                    `json:"inputs"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	// Input is a direct JSON input, used when one operator is invoked on its own.
	Input  json.RawMessage `json:"input,omitempty"`
	Output Output          `json:"output"`
}

// EventVersion is the current Event.Version.
const EventVersion = 1

// Content types the runtime produces.
const (
	ContentTypeJSON   = "application/json"
	ContentTypePickle = "application/x-python-pickle"
	ContentTypeBytes  = "application/octet-stream"
)

// Response is the function's answer on success. A failure is a Lambda
// function error whose body is FunctionError.
type Response struct {
	Status      string          `json:"status"` // "succeeded"
	ContentType string          `json:"content_type"`
	SizeBytes   int64           `json:"size_bytes"`
	OutputURI   string          `json:"output_uri"`
	Preview     json.RawMessage `json:"preview,omitempty"` // the JSON value when it is under PreviewLimit
	DurationMS  int64           `json:"duration_ms"`
	// Accepts says which run parameters the callable takes, so that its
	// cached output is keyed by those and no others.
	Accepts *Accepts `json:"accepts,omitempty"`
}

// Accepts is the run parameters a callable takes: these names, or any name
// when All (it has **kwargs).
type Accepts struct {
	Names []string `json:"names"`
	All   bool     `json:"all"`
}

// PreviewLimit is the largest JSON output returned inline.
const PreviewLimit = 64 * 1024

// FunctionError is Lambda's standard error body.
type FunctionError struct {
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	StackTrace   []string `json:"stackTrace,omitempty"`
}

// CacheKey is the key an operator's output is cached under (see
// run's cacheKey): computed here, and by the runtime in Python for
// server-side runs, from hashes only, so both agree byte for byte.
// paramHashes maps every run parameter to the hex SHA-256 of its canonical
// JSON; inputHash is the same for a one-operator run's input, or "".
func CacheKey(lineage string, accepts *Accepts, paramHashes map[string]string, inputHash string, upstream []string) string {
	var b strings.Builder
	b.WriteString("aqueduct-cache-key/v1\n")
	fmt.Fprintf(&b, "lineage %s\n", lineage)
	names := accepts.Names
	if accepts.All {
		b.WriteString("parameters all\n")
		names = make([]string, 0, len(paramHashes))
		for n := range paramHashes {
			names = append(names, n)
		}
	} else {
		b.WriteString("parameters named\n")
	}
	names = append([]string(nil), names...)
	sort.Strings(names)
	for _, n := range names {
		h, ok := paramHashes[n]
		if !ok {
			h = NullHash
		}
		fmt.Fprintf(&b, "parameter %s %s\n", n, h)
	}
	if inputHash == "" {
		b.WriteString("input -\n")
	} else {
		fmt.Fprintf(&b, "input %s\n", inputHash)
	}
	for _, k := range upstream {
		fmt.Fprintf(&b, "upstream %s\n", k)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NullHash is the hash of the JSON null, a parameter the run does not set.
const NullHash = "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b"
