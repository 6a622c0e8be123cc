package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func secretSpec(t *testing.T) Spec {
	dir := t.TempDir()
	writeTree(t, dir, baseTree())
	spec := scratchSpec(dir)
	spec.Requirements = []string{"tinypkg"}
	spec.Secrets = []Secret{{Name: "PIP_INDEX_URL", Env: "AQ_TEST_INDEX"}, {Name: "NETRC", File: "/somewhere/netrc"}}
	return spec
}

func TestSecrets_dockerfileMountsThemAndHoldsNoValue(t *testing.T) {
	t.Setenv("AQ_TEST_INDEX", "https://user:s3cr3t-token@pypi.example/simple")
	spec := secretSpec(t)
	df := string(Dockerfile(spec))
	for _, want := range []string{
		"RUN --mount=type=secret,id=NETRC,required=true --mount=type=secret,id=PIP_INDEX_URL,required=true ",
		`PIP_INDEX_URL="$(cat /run/secrets/PIP_INDEX_URL)"`,
		"NETRC=/run/secrets/NETRC ",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if strings.Contains(df, "s3cr3t") || strings.Contains(df, "AQ_TEST_INDEX") || strings.Contains(df, "/somewhere") {
		t.Errorf("Dockerfile holds a secret's value or source:\n%s", df)
	}
}

func TestSecrets_hashCoversNamesAndVersionNotValuesOrSources(t *testing.T) {
	spec := secretSpec(t)
	base, err := Hash(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AQ_TEST_INDEX", "another value")
	other := spec
	other.Secrets = []Secret{{Name: "NETRC", File: "/elsewhere/netrc"}, {Name: "PIP_INDEX_URL", Env: "OTHER_VAR"}}
	if h, _ := Hash(other); h != base {
		t.Error("the hash depends on the secrets' sources or order; it must be the same on every machine")
	}
	bumped := spec
	bumped.SecretsVersion = "2"
	if h, _ := Hash(bumped); h == base {
		t.Error("bumping build_secrets_version did not change the hash")
	}
	if df := string(Dockerfile(bumped)); !strings.Contains(df, "AQUEDUCT_BUILD_SECRETS_VERSION=2 ") {
		t.Errorf("the pip step does not name the secrets version, so BuildKit's cache would keep the old install:\n%s", df)
	}
	bad := spec
	bad.SecretsVersion = "$(id)"
	if err := bad.Validate(); err == nil {
		t.Error("a build_secrets_version with shell characters was accepted")
	}
	renamed := spec
	renamed.Secrets = []Secret{{Name: "PIP_EXTRA_INDEX_URL", Env: "AQ_TEST_INDEX"}, {Name: "NETRC", File: "/x"}}
	if h, _ := Hash(renamed); h == base {
		t.Error("renaming a secret did not change the hash")
	}
	none := spec
	none.Secrets, none.Requirements = nil, spec.Requirements
	noSecrets, _ := Hash(none)
	plain := scratchSpec(spec.SourceDir)
	plain.Requirements = spec.Requirements
	if h, _ := Hash(plain); h != noSecrets {
		t.Error("an operator without secrets hashes differently than before secrets existed")
	}
}

func TestSecrets_checkedAndRead(t *testing.T) {
	spec := secretSpec(t)
	for _, c := range []struct {
		secrets []Secret
		reqs    []string
		want    string
	}{
		{[]Secret{{Name: "PIP_INDEX_URL", Env: "X"}}, nil, "no requirements"},
		{[]Secret{{Name: "1BAD", Env: "X"}}, []string{"a"}, "environment variable name"},
		{[]Secret{{Name: "PATH", Env: "X"}}, []string{"a"}, "reserved"},
		{[]Secret{{Name: "A", Env: "X"}, {Name: "A", Env: "Y"}}, []string{"a"}, "twice"},
		{[]Secret{{Name: "A", Env: "X", File: "f"}}, []string{"a"}, "exactly one of env or file"},
	} {
		s := spec
		s.Secrets, s.Requirements = c.secrets, c.reqs
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%v) = %v, want %q", c.secrets, err, c.want)
		}
	}

	f := filepath.Join(t.TempDir(), "netrc")
	if err := os.WriteFile(f, []byte("machine pypi.example login bob password hunter2hunter\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := spec
	s.Secrets = []Secret{{Name: "PIP_INDEX_URL", Env: "AQ_TEST_UNSET_VAR"}}
	if _, err := secretValues(s); err == nil || !strings.Contains(err.Error(), "AQ_TEST_UNSET_VAR is not set") {
		t.Errorf("an unset variable: err = %v", err)
	}
	t.Setenv("AQ_TEST_INDEX", "https://bob:pa%24%24word99@pypi.example/simple")
	s.Secrets = []Secret{{Name: "PIP_INDEX_URL", Env: "AQ_TEST_INDEX"}, {Name: "NETRC", File: f}}
	values, err := secretValues(s)
	if err != nil {
		t.Fatal(err)
	}
	red := newRedactor(values)
	line := "Looking in indexes: https://bob:pa%24%24word99@pypi.example/simple; auth pa$$word99 for bob; netrc hunter2hunter"
	got := red.String(line)
	for _, leak := range []string{"pa%24%24word99", "pa$$word99", "hunter2hunter"} {
		if strings.Contains(got, leak) {
			t.Errorf("redacted line still holds %q: %s", leak, got)
		}
	}
}
