// Package memory parses and formats memory sizes as the provider's users
// write them: a whole number of MB ("1536"), or a number with MB or GB
// ("512MB", "2GB", "1.5GB"), where 1 GB = 1024 MB.
//
// Units are case-insensitive, spaces around the value and between the number
// and its unit are allowed ("2 GB"), and a fraction is accepted when the size
// comes to a whole number of MB ("1.5GB" is 1536 MB, "1.1MB" is an error).
package memory

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Lambda's memory bounds, in MB.
const (
	MinMB = 128
	MaxMB = 10240
)

// accepted ends every syntax error, so that each one says what would work.
const accepted = `use a whole number of MB such as 1536, or a number with MB or GB such as "512MB", "2GB" or "1.5GB" (1 GB = 1024 MB)`

var (
	bigMaxInt64 = new(big.Int).SetInt64(1<<63 - 1)
	units       = map[string]int64{"": 1, "mb": 1, "gb": 1024}
)

// Parse returns the size s in MB. It accepts any positive size that fits in
// an int64; CheckLambda adds Lambda's bounds.
func Parse(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("memory %q is empty: %s", s, accepted)
	}
	if len(t) > 1 && t[0] == '-' && isDigit(t[1]) {
		return 0, fmt.Errorf("memory %q is negative: %s", s, accepted)
	}

	num, unit := splitNumber(t)
	whole, frac, ok := strings.Cut(num, ".")
	if num == "" || whole == "" || (ok && frac == "") {
		return 0, fmt.Errorf("memory %q is not a size: %s", s, accepted)
	}
	unit = strings.TrimSpace(unit)
	mult, known := units[strings.ToLower(unit)]
	if !known {
		return 0, fmt.Errorf("memory %q has unit %q, which is not MB or GB: %s", s, unit, accepted)
	}

	// Exact decimal arithmetic: n/10^len(frac) * mult must be a whole number.
	n, _ := new(big.Int).SetString(whole+frac, 10) // digits only, checked by splitNumber
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	n.Mul(n, big.NewInt(mult))
	mb, rem := new(big.Int).QuoRem(n, den, new(big.Int))

	switch {
	case rem.Sign() != 0:
		exact := new(big.Rat).SetFrac(n, den).FloatString(len(frac))
		return 0, fmt.Errorf("memory %q is %s MB, not a whole number of MB: %s", s, strings.TrimRight(exact, "0"), accepted)
	case mb.Sign() == 0:
		return 0, fmt.Errorf("memory %q is zero: %s", s, accepted)
	case mb.Cmp(bigMaxInt64) > 0:
		return 0, fmt.Errorf("memory %q is too large: %s", s, accepted)
	}
	return mb.Int64(), nil
}

// splitNumber splits t into its leading run of digits and dots and the rest.
func splitNumber(t string) (num, rest string) {
	i := 0
	for i < len(t) && (isDigit(t[i]) || t[i] == '.') {
		i++
	}
	num, rest = t[:i], t[i:]
	if strings.Count(num, ".") > 1 {
		return "", rest
	}
	return num, rest
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// CheckLambda parses raw and checks it against Lambda's 128–10240 MB.
func CheckLambda(raw string) (int64, error) {
	mb, err := Parse(raw)
	if err != nil {
		return 0, err
	}
	if mb < MinMB || mb > MaxMB {
		return mb, &RangeError{Raw: raw, MB: mb}
	}
	return mb, nil
}

// RangeError is a well-formed size outside Lambda's bounds.
type RangeError struct {
	Raw string
	MB  int64
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("memory %q is %d MB; AWS Lambda allows %d to %d MB", e.Raw, e.MB, MinMB, MaxMB)
}

// Format writes mb the short way: "2GB" for whole GB, else "1536MB".
// Parse(Format(mb)) == mb for every mb > 0.
func Format(mb int64) string {
	if mb > 0 && mb%1024 == 0 {
		return strconv.FormatInt(mb/1024, 10) + "GB"
	}
	return strconv.FormatInt(mb, 10) + "MB"
}
