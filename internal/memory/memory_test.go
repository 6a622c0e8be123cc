package memory

import (
	"errors"
	"strings"
	"testing"
)

func TestParse_acceptsMBAndGB(t *testing.T) {
	for in, want := range map[string]int64{
		"1536":                1536,
		"128":                 128,
		"2GB":                 2048,
		"2gb":                 2048,
		"2Gb":                 2048,
		"512MB":               512,
		"512mb":               512,
		"512 MB":              512,
		" 1GB ":               1024,
		"1.5GB":               1536,
		"0.5GB":               512,
		"1.25GB":              1280,
		"1.0009765625GB":      1025, // 1 GB + 1 MB, exactly
		"1024.0":              1024,
		"1024.00MB":           1024,
		"007MB":               7,
		"10240MB":             10240,
		"16GB":                16384, // Parse has no Lambda bounds
		"9223372036854775807": 1<<63 - 1,
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestParse_rejectsWithWhatIsAccepted(t *testing.T) {
	for in, wantPart := range map[string]string{
		"":                    `memory "" is empty`,
		"abc":                 `memory "abc" is not a size`,
		"0MB":                 `memory "0MB" is zero`,
		"0":                   `memory "0" is zero`,
		"-1GB":                `memory "-1GB" is negative`,
		"-abc":                `memory "-abc" is not a size`,
		"+1GB":                `memory "+1GB" is not a size`,
		"10 TB":               `memory "10 TB" has unit "TB", which is not MB or GB`,
		"2GiB":                `has unit "GiB"`,
		"2 G B":               `has unit "G B"`,
		"1.1MB":               `memory "1.1MB" is 1.1 MB, not a whole number of MB`,
		"1.5":                 `is 1.5 MB, not a whole number of MB`,
		"1.3GB":               `is 1331.2 MB, not a whole number of MB`,
		"1.GB":                `is not a size`,
		".5GB":                `is not a size`,
		"1.2.3GB":             `is not a size`,
		"GB":                  `is not a size`,
		"1e3":                 `has unit "e3"`,
		"9223372036854775808": `is too large`,
		"9007199254740992GB":  `is too large`,
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded; want an error containing %q", in, wantPart)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, wantPart) {
			t.Errorf("Parse(%q) error = %q; want it to contain %q", in, msg, wantPart)
		}
		if !strings.Contains(msg, `such as "512MB", "2GB" or "1.5GB"`) {
			t.Errorf("Parse(%q) error = %q; want it to say what is accepted", in, msg)
		}
	}
}

func TestCheckLambda_bounds(t *testing.T) {
	for in, want := range map[string]int64{"128": 128, "128MB": 128, "10GB": 10240, "10240": 10240, "1.5GB": 1536} {
		got, err := CheckLambda(in)
		if err != nil || got != want {
			t.Errorf("CheckLambda(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"16GB":    `memory "16GB" is 16384 MB; AWS Lambda allows 128 to 10240 MB`,
		"127":     `memory "127" is 127 MB; AWS Lambda allows 128 to 10240 MB`,
		"10241MB": `memory "10241MB" is 10241 MB; AWS Lambda allows 128 to 10240 MB`,
	} {
		_, err := CheckLambda(in)
		var re *RangeError
		if err == nil || err.Error() != want || !errors.As(err, &re) {
			t.Errorf("CheckLambda(%q) error = %v; want RangeError %q", in, err, want)
		}
	}
	if _, err := CheckLambda("abc"); err == nil || !strings.Contains(err.Error(), "is not a size") {
		t.Errorf("CheckLambda(abc) error = %v; want the syntax error", err)
	}
}

func TestFormat_shortestUnit(t *testing.T) {
	for mb, want := range map[int64]string{128: "128MB", 1024: "1GB", 1536: "1536MB", 10240: "10GB", 0: "0MB"} {
		if got := Format(mb); got != want {
			t.Errorf("Format(%d) = %q; want %q", mb, got, want)
		}
	}
	for _, mb := range []int64{1, 1023, 1024, 1025, MinMB, MaxMB, 1<<63 - 1, (1<<63 - 1) / 1024 * 1024} {
		if back, err := Parse(Format(mb)); err != nil || back != mb {
			t.Errorf("Parse(Format(%d)) = %d, %v", mb, back, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1536", "2GB", "512mb", "1.5GB", "abc", "0MB", "-1GB", "10 TB", "1.1MB", " 1 gb ", "9223372036854775807", "1.0009765625GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mb, err := Parse(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "memory ") {
				t.Fatalf("Parse(%q) error %q does not name the attribute", s, err)
			}
			return
		}
		if mb <= 0 {
			t.Fatalf("Parse(%q) = %d with no error", s, mb)
		}
		back, err := Parse(Format(mb))
		if err != nil || back != mb {
			t.Fatalf("Parse(Format(%d)) = %d, %v", mb, back, err)
		}
		if _, err := CheckLambda(s); (err == nil) != (mb >= MinMB && mb <= MaxMB) {
			t.Fatalf("CheckLambda(%q) = %v for %d MB", s, err, mb)
		}
	})
}
