package awsproto

import (
	"net/http"
	"testing"
)

// TestValidationWording pins AWS's words for model-constraint violations:
// the SDKs pass them on, and users read them.
func TestValidationWording(t *testing.T) {
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }

	var none Validation
	none.Length(nil, "absent", 1, 2)
	none.Enum(nil, "absent", "A")
	none.Between(nil, "absent", 1, 2)
	none.Length(str("ok"), "name", 1, 2)
	none.Length(str("no maximum"), "input", 1, 0)
	none.Enum(str("B"), "state", "A", "B")
	none.Between(num(2), "n", 1, 2)
	if e := none.Err(); e != nil {
		t.Fatalf("no violation, but %v", e)
	}

	var one Validation
	one.Add(nil, "role", "Member must not be null")
	if e := one.Err(); e == nil || e.Status != http.StatusBadRequest || e.Code != "ValidationException" ||
		e.Message != "1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null" {
		t.Errorf("one: %+v", e)
	}

	var v Validation
	v.Length(str(""), "name", 1, 64)
	v.Length(str("abc"), "token", 1, 2)
	v.Enum(str("ON"), "state", "ENABLED", "DISABLED")
	v.Between(num(0), "maxResults", 1, 100)
	v.Between(num(101), "maxResults", 1, 100)
	v.AddSensitive("environment.variables", "Map keys must satisfy constraint: [x]")
	want := "6 validation errors detected: " +
		"Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
		"Value 'abc' at 'token' failed to satisfy constraint: Member must have length less than or equal to 2; " +
		"Value 'ON' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]; " +
		"Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
		"Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100; " +
		"Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [x]"
	if e := v.Err(); e == nil || e.Message != want {
		t.Errorf("got  %v\nwant %s", e, want)
	}
}
