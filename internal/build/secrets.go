package build

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Secret is one build secret for the pip install step, for a private package
// index. The step sees it as the environment variable Name: with Env, the
// value of that variable of the Terraform process; with File, the path of a
// file holding the content of File on the machine running Terraform (for
// NETRC, say). The value is read only when an image is built, is handed to
// BuildKit through its session (RUN --mount=type=secret), and is never part
// of the spec, the hash, the Dockerfile, a layer or the image's history.
type Secret struct {
	Name string
	Env  string
	File string
}

var secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// reservedSecretNames are set by the build itself or would break the step.
var reservedSecretNames = map[string]bool{
	"PATH": true, "HOME": true, "SHELL": true, "PYTHONPATH": true, "PYTHONHOME": true,
	"PIP_ROOT_USER_ACTION": true, "PIP_DISABLE_PIP_VERSION_CHECK": true, "PIP_TARGET": true,
}

// secretsDir is where BuildKit mounts secrets by default.
const secretsDir = "/run/secrets/"

var secretsVersionRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func checkSecrets(s Spec) error {
	if s.SecretsVersion != "" && !secretsVersionRE.MatchString(s.SecretsVersion) {
		return fmt.Errorf("build_secrets_version %q must be 1 to 128 letters, digits and . _ : -", s.SecretsVersion)
	}
	if len(s.Secrets) == 0 {
		return nil
	}
	if !s.hasRequirements() {
		return fmt.Errorf("build_secrets are only used by the pip install step, and the operator has no requirements or requirements_file")
	}
	seen := map[string]bool{}
	for _, sec := range s.Secrets {
		switch {
		case !secretNameRE.MatchString(sec.Name):
			return fmt.Errorf("build secret name %q must be an environment variable name: a letter or _ then letters, digits or _, at most 64", sec.Name)
		case reservedSecretNames[strings.ToUpper(sec.Name)]:
			return fmt.Errorf("build secret name %q is reserved: the build sets it itself", sec.Name)
		case seen[sec.Name]:
			return fmt.Errorf("build secret %q is given twice", sec.Name)
		case (sec.Env == "") == (sec.File == ""):
			return fmt.Errorf("build secret %q needs exactly one of env or file", sec.Name)
		}
		seen[sec.Name] = true
	}
	return nil
}

// sortedSecrets orders secrets by name, so the Dockerfile and hash do not
// depend on map order.
func sortedSecrets(in []Secret) []Secret {
	out := append([]Secret(nil), in...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// secretsHeader is the hash's line for the secrets: their names and kinds
// and the version the user bumps when a value changes. Not the values, and
// not the env variable or file they come from, which differ by machine.
func secretsHeader(s Spec) string {
	if len(s.Secrets) == 0 && s.SecretsVersion == "" {
		return ""
	}
	var parts []string
	for _, sec := range sortedSecrets(s.Secrets) {
		kind := "env"
		if sec.File != "" {
			kind = "file"
		}
		parts = append(parts, sec.Name+"="+kind)
	}
	return fmt.Sprintf("secrets %q\nsecrets_version %q\n", strings.Join(parts, ","), s.SecretsVersion)
}

// secretValues reads every secret's value for a build.
func secretValues(s Spec) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, sec := range s.Secrets {
		if sec.Env != "" {
			v, ok := os.LookupEnv(sec.Env)
			if !ok || v == "" {
				return nil, fmt.Errorf("build secret %s: environment variable %s is not set in the environment Terraform runs in", sec.Name, sec.Env)
			}
			out[sec.Name] = []byte(v)
			continue
		}
		p := sec.File
		if rest, ok := strings.CutPrefix(p, "~/"); ok {
			if home, err := os.UserHomeDir(); err == nil {
				p = filepath.Join(home, rest)
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("build secret %s: cannot read file %s: %v", sec.Name, sec.File, errWithoutPath(err))
		}
		out[sec.Name] = b
	}
	return out, nil
}

func errWithoutPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// redactor replaces secret values (and the user and password parts of
// secret URLs) in text that leaves the build: log lines and errors.
type redactor []string

func newRedactor(values map[string][]byte) redactor {
	var r redactor
	add := func(s string) {
		if len(s) >= 4 {
			r = append(r, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	for _, v := range values {
		for _, line := range strings.Split(string(v), "\n") {
			line = strings.TrimSpace(line)
			add(line)
			for _, field := range strings.Fields(line) {
				if u, err := url.Parse(field); err == nil && u.User != nil {
					add(u.User.Username())
					if p, ok := u.User.Password(); ok {
						add(p)
					}
				}
			}
		}
		// netrc: the words after "password" and "login".
		words := strings.Fields(string(v))
		for i := 0; i+1 < len(words); i++ {
			if words[i] == "password" || words[i] == "login" {
				add(words[i+1])
			}
		}
	}
	// Longest first, so a value is not half-replaced by a part of it.
	sort.Slice(r, func(i, j int) bool { return len(r[i]) > len(r[j]) })
	return r
}

func (r redactor) String(s string) string {
	for _, v := range r {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}
