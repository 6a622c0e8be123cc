package release

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestWorkflows_actionlintPasses(t *testing.T) {
	root := repoRoot(t)
	actionlint := tool(t, root, "actionlint", "make tools-release")
	// With no arguments it checks every file in .github/workflows.
	run(t, root, nil, actionlint)
}

type workflow struct {
	On   map[string]any `yaml:"on"`
	Jobs map[string]struct {
		Strategy struct {
			Matrix map[string][]string `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func readWorkflow(t *testing.T, root, name string) workflow {
	t.Helper()
	var w workflow
	if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(root, ".github", "workflows", name))), &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

// runs and uses list every step's run line and action across a workflow.
func (w workflow) runs() (runs, uses []string, with map[string]map[string]string) {
	with = map[string]map[string]string{}
	for _, job := range w.Jobs {
		for _, s := range job.Steps {
			if s.Run != "" {
				runs = append(runs, strings.TrimSpace(s.Run))
			}
			if s.Uses != "" {
				action, _, _ := strings.Cut(s.Uses, "@")
				uses = append(uses, action)
				with[action] = s.With
			}
		}
	}
	return runs, uses, with
}

// pinned reads VAR=value from scripts/tools.sh.
func pinned(t *testing.T, root, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `=(\S+)$`).FindStringSubmatch(readFile(t, filepath.Join(root, "scripts", "tools.sh")))
	if m == nil {
		t.Fatalf("scripts/tools.sh sets no %s", name)
	}
	return m[1]
}

// TestWorkflows_testRunsWhatTheIssueAsks: build and lint with the pinned
// golangci-lint, the generate-diff check, the release check, and the
// acceptance suite on Terraform 1.5 and the newest 1.x and on OpenTofu.
func TestWorkflows_testRunsWhatTheIssueAsks(t *testing.T) {
	root := repoRoot(t)
	w := readWorkflow(t, root, "test.yml")
	runs, uses, with := w.runs()

	for _, want := range []string{"go build -v .", "make generate", "make release-check", "make testacc", "make test-tofu"} {
		if !slices.Contains(runs, want) {
			t.Errorf("test.yml runs no %q step", want)
		}
	}
	if !slices.ContainsFunc(runs, func(r string) bool { return strings.HasPrefix(r, "git diff") && strings.Contains(r, "--exit-code") }) {
		t.Error("test.yml has no 'git diff --exit-code' after make generate")
	}
	const lintAction = "golangci/golangci-lint-action"
	if !slices.Contains(uses, lintAction) {
		t.Fatalf("test.yml does not use %s", lintAction)
	}
	if got, want := with[lintAction]["version"], pinned(t, root, "GOLANGCI_LINT_VERSION"); got != want {
		t.Errorf("test.yml lints with golangci-lint %q; scripts/tools.sh pins %s", got, want)
	}
	matrix := w.Jobs["test"].Strategy.Matrix["terraform"]
	for _, want := range []string{"1.5.*", "1.*"} {
		if !slices.Contains(matrix, want) {
			t.Errorf("test.yml's terraform matrix %v lacks %s", matrix, want)
		}
	}
}

// TestWorkflows_releaseSignsOnTags: a v* tag runs goreleaser (the pinned
// version) with the imported GPG key's fingerprint.
func TestWorkflows_releaseSignsOnTags(t *testing.T) {
	root := repoRoot(t)
	w := readWorkflow(t, root, "release.yml")
	push, _ := w.On["push"].(map[string]any)
	tags, _ := push["tags"].([]any)
	if !slices.Contains(tags, any("v*")) {
		t.Errorf("release.yml runs on push tags %v; want v*", tags)
	}
	_, uses, with := w.runs()
	for _, want := range []string{"crazy-max/ghaction-import-gpg", "goreleaser/goreleaser-action"} {
		if !slices.Contains(uses, want) {
			t.Errorf("release.yml does not use %s", want)
		}
	}
	if got, want := with["goreleaser/goreleaser-action"]["version"], pinned(t, root, "GORELEASER_VERSION"); got != want {
		t.Errorf("release.yml runs goreleaser %q; scripts/tools.sh pins %s", got, want)
	}
	if text := readFile(t, filepath.Join(root, ".github", "workflows", "release.yml")); !strings.Contains(text, "GPG_FINGERPRINT: ${{ steps.import_gpg.outputs.fingerprint }}") {
		t.Error("release.yml does not hand the imported key's fingerprint to goreleaser as GPG_FINGERPRINT")
	}
}
