// Package awsproto is what the emulated services share of AWS's wire
// protocols: the operation table every service declares (API, one
// Operation row per call), routing a request to its row, decoding the row's
// input, encoding its output, and the one error type (Error) every service
// answers with, written in the service's protocol.
//
// A service declares its table once:
//
//	api := &awsproto.API{
//		Name: "lambda", Protocol: awsproto.RESTJSON, SigningNames: []string{"lambda"},
//		Operations: []awsproto.Operation{
//			{Name: "GetFunction", HTTP: "GET /2015-03-31/functions/{FunctionName}", Handler: awsproto.Handle(s.getFunction)},
//		},
//		Unknown: ..., Throttle: ..., Failure: ...,
//	}
//
// and the router, the fault injector and the request log all go by the
// row's name. A new API call is a row plus a handler,
//
//	func (s *Service) getFunction(c *awsproto.Call, in *getFunctionInput) (any, error)
//
// whose input type carries the protocol's bindings (see Handle). The
// awsJson protocols match Name against X-Amz-Target after TargetPrefix,
// awsQuery against Action, the REST ones the HTTP binding.
package awsproto

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
)

// AccountID is the emulated account.
const AccountID = "000000000000"

var scopeRE = regexp.MustCompile(`Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// Scope returns the region and service from a request's SigV4 credential
// scope, read from the Authorization header or a presigned URL's query.
func Scope(r *http.Request) (region, service string) {
	if m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1], m[2]
	}
	if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
		parts := strings.Split(c, "/")
		if len(parts) == 5 {
			return parts[2], parts[3]
		}
	}
	return "", ""
}

// RequestID returns a fresh request id in AWS's UUID shape.
func RequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
