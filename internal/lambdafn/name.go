package lambdafn

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// MaxNameLength is Lambda's limit on a function name.
const MaxNameLength = 64

const hashLen = 10 // hex digits: 40 bits, collisions are not a practical concern

var (
	plainWorkflow = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	plainOperator = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	hashSuffix    = regexp.MustCompile(`-[0-9a-f]{10}$`)
	invalidChars  = regexp.MustCompile(`[^A-Za-z0-9_-]+`)
)

// FunctionName derives the Lambda function name of an operator. It is
// deterministic, at most 64 characters of [A-Za-z0-9_-], and distinct for
// distinct (workflow, operator) pairs.
//
// It is "<workflow>-<operator>" when that is unambiguous: it fits, the
// workflow has no '-' (so the first '-' separates the two) and nothing needs
// replacing. Otherwise it is a readable prefix of the same form, shortened
// and with invalid characters replaced, plus '-' and a hash of both names.
// Plain names never end like a hash suffix, so the two forms cannot meet.
func FunctionName(workflow, operator string) string {
	plain := workflow + "-" + operator
	if plainWorkflow.MatchString(workflow) && plainOperator.MatchString(operator) &&
		len(plain) <= MaxNameLength && !hashSuffix.MatchString(plain) {
		return plain
	}
	// Length-prefixed, so ("a-b","c") and ("a","b-c") hash differently.
	sum := sha256.Sum256(fmt.Appendf(nil, "%d:%s%s", len(workflow), workflow, operator))
	h := hex.EncodeToString(sum[:])[:hashLen]

	readable := invalidChars.ReplaceAllString(workflow, "-") + "-" + invalidChars.ReplaceAllString(operator, "-")
	readable = strings.Trim(readable, "-")
	if n := MaxNameLength - hashLen - 1; len(readable) > n {
		readable = strings.TrimRight(readable[:n], "-")
	}
	if readable == "" {
		return "aqueduct-" + h
	}
	return readable + "-" + h
}
