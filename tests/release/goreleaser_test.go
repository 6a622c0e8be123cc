package release

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestGoreleaser_checkPasses(t *testing.T) {
	root := repoRoot(t)
	goreleaser := tool(t, root, "goreleaser", "make tools-release")
	run(t, root, nil, goreleaser, "check")
}

// TestGoreleaser_snapshotIsWhatTheRegistryWants runs the real release
// pipeline, less publishing, for this machine's platform only: the zip, the
// SHA256SUMS with the registry manifest, and the GPG signature, made with a
// throwaway key. The Registry takes exactly these names.
func TestGoreleaser_snapshotIsWhatTheRegistryWants(t *testing.T) {
	repo := repoRoot(t)
	goreleaser := tool(t, repo, "goreleaser", "make tools-release")
	gpg := tool(t, repo, "gpg", "apt-get install gnupg")
	git := tool(t, repo, "git", "apt-get install git")

	// A fresh clone of HEAD, as CI has: goreleaser reads the commit only
	// where the repository has a remote (a worktree may have none).
	root := filepath.Join(t.TempDir(), "clone")
	run(t, repo, nil, git, "clone", "--quiet", repo, root)

	dist := filepath.Join(t.TempDir(), "dist")
	config := oneTargetConfig(t, root, dist)
	gnupgHome, fingerprint := throwawayKey(t, gpg)

	run(t, root, []string{"GNUPGHOME=" + gnupgHome, "GPG_FINGERPRINT=" + fingerprint},
		goreleaser, "release", "--snapshot", "--clean", "--skip=publish,announce", "--config", config)

	var meta struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dist, "metadata.json"))), &meta); err != nil {
		t.Fatal(err)
	}
	head := strings.TrimSpace(run(t, root, nil, git, "rev-parse", "HEAD"))
	if meta.Version == "" || meta.Commit != head {
		t.Fatalf("metadata.json: version %q, commit %q; want a version and commit %s", meta.Version, meta.Commit, head)
	}

	prefix := project + "_" + meta.Version
	zipName := prefix + "_" + runtime.GOOS + "_" + runtime.GOARCH + ".zip"
	sumsName := prefix + "_SHA256SUMS"

	// SHA256SUMS lists the zip and the manifest, each with its real digest.
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, filepath.Join(dist, sumsName))), "\n") {
		digest, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("%s: line %q is not '<sha256>  <name>'", sumsName, line)
		}
		sums[name] = digest
	}
	manifestName := prefix + "_manifest.json"
	for name, file := range map[string]string{
		zipName:      filepath.Join(dist, zipName),
		manifestName: filepath.Join(root, "terraform-registry-manifest.json"),
	} {
		if got, want := sums[name], sha256File(t, file); got != want {
			t.Errorf("%s lists %s with sha256 %q; the file has %s", sumsName, name, got, want)
		}
	}
	if len(sums) != 2 {
		t.Errorf("%s lists %d files, want the zip and the manifest: %v", sumsName, len(sums), sums)
	}

	// The detached signature verifies against SHA256SUMS as published.
	run(t, root, []string{"GNUPGHOME=" + gnupgHome}, gpg, "--batch", "--verify",
		filepath.Join(dist, sumsName+".sig"), filepath.Join(dist, sumsName))

	// The zip holds terraform-provider-aqueduct_v<version>, which reports
	// the version and commit goreleaser injected.
	binary := unzipBinary(t, filepath.Join(dist, zipName), project+"_v"+meta.Version)
	out := run(t, root, nil, binary, "-version")
	if !strings.Contains(out, " "+meta.Version+" ") || !strings.Contains(out, "commit "+head) {
		t.Fatalf("%s -version printed %q; want version %s and commit %s", filepath.Base(binary), out, meta.Version, head)
	}
}

// oneTargetConfig writes a copy of .goreleaser.yml that builds for this
// platform only into dist, so the test takes one build instead of fourteen.
func oneTargetConfig(t *testing.T, root, dist string) string {
	t.Helper()
	var config map[string]any
	if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(root, ".goreleaser.yml"))), &config); err != nil {
		t.Fatalf(".goreleaser.yml: %v", err)
	}
	builds, ok := config["builds"].([]any)
	if !ok || len(builds) != 1 {
		t.Fatalf(".goreleaser.yml: want one build, got %v", config["builds"])
	}
	build, ok := builds[0].(map[string]any)
	if !ok {
		t.Fatalf(".goreleaser.yml: builds[0] is %T", builds[0])
	}
	for key, want := range map[string]string{"goos": runtime.GOOS, "goarch": runtime.GOARCH} {
		list, _ := build[key].([]any)
		found := false
		for _, v := range list {
			found = found || v == want
		}
		if !found {
			t.Fatalf(".goreleaser.yml: builds[0].%s %v lacks %s", key, list, want)
		}
		build[key] = []string{want}
	}
	delete(build, "ignore")
	config["dist"] = dist
	b, err := yaml.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "goreleaser.yml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// throwawayKey makes a passphrase-less signing key in a new GnuPG home and
// returns the home and the key's fingerprint.
func throwawayKey(t *testing.T, gpg string) (home, fingerprint string) {
	t.Helper()
	home = t.TempDir()
	// Runs before TempDir's removal: the agent holds sockets in home.
	t.Cleanup(func() { _ = exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() })
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"GNUPGHOME=" + home}
	run(t, home, env, gpg, "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-generate-key", "Aqueduct release test <release-test@example.invalid>", "ed25519", "sign", "never")
	for _, line := range strings.Split(run(t, home, env, gpg, "--batch", "--with-colons", "--list-secret-keys"), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 {
			return home, f[9]
		}
	}
	t.Fatal("gpg made a key but lists no fingerprint")
	return "", ""
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// unzipBinary extracts name from the zip into a temp dir and returns its path.
func unzipBinary(t *testing.T, zipPath, name string) string {
	t.Helper()
	r, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var names []string
	for _, f := range r.File {
		names = append(names, f.Name)
		if f.Name != name {
			continue
		}
		src, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		p := filepath.Join(t.TempDir(), name)
		dst, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		if err := dst.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Fatalf("%s holds %v; want %s at its top", filepath.Base(zipPath), names, name)
	return ""
}
