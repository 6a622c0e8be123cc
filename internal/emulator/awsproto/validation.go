package awsproto

import (
	"fmt"
	"net/http"
	"strings"
)

// Validation collects the violations of a request's model constraints,
// which AWS reports together as one ValidationException in its own words:
// "2 validation errors detected: Value 'x' at 'name' failed to satisfy
// constraint: ...; Value ...". Services add their own checks on top.
type Validation []string

// Add records that value (nil for an absent member) at field breaks
// constraint.
func (v *Validation) Add(value any, field, constraint string) {
	val := "null"
	if value != nil {
		val = fmt.Sprintf("'%v'", value)
	}
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", val, field, constraint))
}

// AddSensitive records a violation by a sensitive member, whose value AWS
// leaves out of the message.
func (v *Validation) AddSensitive(field, constraint string) {
	*v = append(*v, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", field, constraint))
}

// Length checks a string member's length; maxLen 0 sets no maximum. An
// absent member passes.
func (v *Validation) Length(s *string, field string, minLen, maxLen int) {
	if s == nil {
		return
	}
	switch {
	case len(*s) < minLen:
		v.Add(*s, field, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	case maxLen > 0 && len(*s) > maxLen:
		v.Add(*s, field, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	}
}

// Enum checks a string member against its enum's values, listed in the
// model's order. An absent member passes.
func (v *Validation) Enum(s *string, field string, values ...string) {
	if s == nil {
		return
	}
	for _, want := range values {
		if *s == want {
			return
		}
	}
	v.Add(*s, field, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

// Between checks a number member's range. An absent member passes.
func (v *Validation) Between(n *int, field string, lo, hi int) {
	if n == nil {
		return
	}
	switch {
	case *n < lo:
		v.Add(*n, field, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	case *n > hi:
		v.Add(*n, field, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
}

// Err is the ValidationException (400) listing every violation, or nil
// when there is none.
func (v Validation) Err() *Error {
	if len(v) == 0 {
		return nil
	}
	noun := "error"
	if len(v) > 1 {
		noun = "errors"
	}
	return Errorf(http.StatusBadRequest, "ValidationException", "%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
}
