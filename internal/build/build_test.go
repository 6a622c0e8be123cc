package build

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/testenv"
)

// dockerClient is the local engine, by testenv's policy.
func dockerClient(t *testing.T) client.APIClient { return testenv.Docker(t) }

func uniqueTag(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "aqueduct-test-build/" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + ":" + hex.EncodeToString(b)
}

func removeImage(t *testing.T, docker client.APIClient, ref string) {
	t.Cleanup(func() {
		_, err := docker.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !client.IsErrNotFound(err) {
			t.Logf("removing %s: %v", ref, err)
		}
	})
}

// removeIntermediates removes the step images a failed build leaves (the
// legacy builder keeps them as cache), newest first.
func removeIntermediates(t *testing.T, docker client.APIClient, log []string) {
	for _, l := range log {
		id, ok := strings.CutPrefix(l, " ---> ")
		if ok && len(id) == 12 && strings.Trim(id, "0123456789abcdef") == "" {
			removeImage(t, docker, id)
		}
	}
}

func scratchSpec(dir string) Spec {
	return Spec{SourceDir: dir, Function: "main:handler", PythonVersion: "3.12", BaseImage: "scratch", Architecture: "x86_64"}
}

func TestBuild_scratchImageHasSourceRuntimeAndLambdaConfig(t *testing.T) {
	docker := dockerClient(t)
	ctx := context.Background()
	dir := t.TempDir()
	tree := baseTree()
	tree[".dockerignore"] = file{data: "*.log\n"}
	tree["debug.log"] = file{data: "ignored"}
	tree["private.py"] = file{data: "p", mode: 0o600}
	writeTree(t, dir, tree)
	spec := scratchSpec(dir)
	tag := uniqueTag(t)
	removeImage(t, docker, tag)

	var log []string
	id, err := Build(ctx, docker, spec, []string{tag}, func(l string) { log = append(log, l) })
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	removeImage(t, docker, id)
	if !strings.HasPrefix(id, "sha256:") {
		t.Errorf("image ID %q lacks the sha256: prefix", id)
	}
	if !slices.ContainsFunc(log, func(l string) bool { return strings.Contains(l, "FROM scratch") }) {
		t.Errorf("build log did not reach logf; got %q", log)
	}

	inspect, err := docker.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if inspect.ID != id {
		t.Errorf("tag %s points at %s, Build returned %s", tag, inspect.ID, id)
	}
	cfg := inspect.Config
	if want := []string{"python3", "-I", "/opt/aqueduct/aqueduct_runtime.py"}; !slices.Equal(cfg.Entrypoint, want) {
		t.Errorf("Entrypoint = %q, want %q", cfg.Entrypoint, want)
	}
	if len(cfg.Cmd) != 0 {
		t.Errorf("Cmd = %q, want empty so a base image's handler CMD does not leak through", cfg.Cmd)
	}
	if cfg.WorkingDir != "/var/task" {
		t.Errorf("WorkingDir = %q", cfg.WorkingDir)
	}
	// The runtime ignores PYTHONPATH and PYTHONUNBUFFERED (-I); they are for
	// the user's subprocesses and debug shells.
	for _, want := range []string{"AQUEDUCT_HANDLER=main:handler", "PYTHONPATH=/var/task", "PYTHONUNBUFFERED=1"} {
		if !slices.Contains(cfg.Env, want) {
			t.Errorf("Env %q lacks %q", cfg.Env, want)
		}
	}
	if inspect.Architecture != "amd64" || inspect.Os != "linux" {
		t.Errorf("platform %s/%s, want linux/amd64", inspect.Os, inspect.Architecture)
	}
	if h := mustHash(t, spec); cfg.Labels[LabelSourceHash] != h {
		t.Errorf("label %s = %q, want Hash(spec) %q", LabelSourceHash, cfg.Labels[LabelSourceHash], h)
	}

	files := imageFiles(t, docker, id, "/var/task", "/opt/aqueduct")
	if got, ok := files["opt/aqueduct/aqueduct_runtime.py"]; !ok || !bytes.Equal(got.data, runtime.Script) {
		t.Errorf("/opt/aqueduct/aqueduct_runtime.py missing or not runtime.Script (present=%v)", ok)
	}
	for name, f := range map[string]struct {
		data string
		mode int64
	}{
		"var/task/main.py":           {tree["main.py"].data, 0o644},
		"var/task/private.py":        {"p", 0o644},
		"var/task/bin/run.sh":        {tree["bin/run.sh"].data, 0o755},
		"var/task/nested/deep/a.txt": {"a", 0o644},
	} {
		got, ok := files[name]
		if !ok {
			t.Errorf("image lacks /%s", name)
			continue
		}
		if string(got.data) != f.data || got.mode != f.mode || got.uid != 0 {
			t.Errorf("/%s: data %q mode %o uid %d, want %q %o 0", name, got.data, got.mode, got.uid, f.data, f.mode)
		}
	}
	if l, ok := files["var/task/link-to-util.py"]; !ok || l.link != "lib/util.py" {
		t.Errorf("symlink /var/task/link-to-util.py = %+v, want -> lib/util.py", l)
	}
	if _, ok := files["var/task/debug.log"]; ok {
		t.Error("a .dockerignore'd file reached the image")
	}
	for _, generated := range []string{"var/task/Dockerfile", "var/task/requirements.txt", "var/task/aqueduct_runtime.py"} {
		if _, ok := files[generated]; ok {
			t.Errorf("generated context file leaked into the task root: %s", generated)
		}
	}
}

// The legacy builder cannot build FROM scratch for a foreign platform (its
// scratch stage takes the host's), so arm64 is tested on an arm64 base image
// made here and loaded into the engine.
func TestBuild_arm64OnAnArm64BaseIsAnArm64Image(t *testing.T) {
	docker := dockerClient(t)
	base := loadBaseImage(t, docker, "arm64")
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"main.py": {data: "def handler(x): return x\n"}})
	spec := scratchSpec(dir)
	spec.BaseImage, spec.Architecture = base, "arm64"
	id, err := Build(context.Background(), docker, spec, nil, nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	removeImage(t, docker, id)
	inspect, err := docker.ImageInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if inspect.Architecture != "arm64" || inspect.Os != "linux" {
		t.Fatalf("platform %s/%s, want linux/arm64", inspect.Os, inspect.Architecture)
	}
}

func TestBuild_architectureThatDoesNotMatchTheBaseIsAnError(t *testing.T) {
	docker := dockerClient(t)
	base := loadBaseImage(t, docker, "arm64")
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"main.py": {data: "x"}})
	spec := scratchSpec(dir)
	spec.BaseImage, spec.Architecture = base, "x86_64"
	_, err := Build(context.Background(), docker, spec, nil, nil)
	want := "base image " + base + " is linux/arm64 but the operator's architecture needs linux/amd64"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("x86_64 build on an arm64 base = %v, want an error containing %q", err, want)
	}
}

// loadBaseImage loads a one-layer image for arch into the engine (nothing can
// be pulled here) and returns its tag.
func loadBaseImage(t *testing.T, docker client.APIClient, arch string) string {
	t.Helper()
	ref := uniqueTag(t)
	layer, err := random.Layer(512, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(tag, img, &buf); err != nil {
		t.Fatal(err)
	}
	resp, err := docker.ImageLoad(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(out, []byte(`"error`)) {
		t.Fatalf("loading %s: %s", ref, out)
	}
	removeImage(t, docker, ref)
	return ref
}

func TestBuild_scratchForAForeignPlatformIsAClearError(t *testing.T) {
	docker := dockerClient(t)
	v, err := docker.ServerVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	foreign := map[string]string{"amd64": "arm64", "arm64": "x86_64"}[v.Arch]
	if foreign == "" {
		t.Skipf("engine architecture %s", v.Arch)
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"main.py": {data: "x"}})
	spec := scratchSpec(dir)
	spec.Architecture = foreign
	_, err = Build(context.Background(), docker, spec, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "scratch can only be built for the Docker engine's own platform") {
		t.Fatalf("Build(scratch, %s) = %v", foreign, err)
	}
}

func TestBuild_failureErrorCarriesDockerMessageAndLogTail(t *testing.T) {
	docker := dockerClient(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"main.py": {data: "x"}})
	spec := scratchSpec(dir)
	// Requirements make a RUN step, which scratch has no shell for.
	spec.Requirements = []string{"requests"}
	tag := uniqueTag(t)
	removeImage(t, docker, tag)
	var log []string
	_, err := Build(context.Background(), docker, spec, []string{tag}, func(l string) { log = append(log, l) })
	removeIntermediates(t, docker, log)
	if err == nil {
		t.Fatal("RUN on scratch built")
	}
	msg := err.Error()
	for _, want := range []string{"image build failed:", "last ", "lines of the build log", "RUN PIP_ROOT_USER_ACTION=ignore"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(log) == 0 || !strings.Contains(msg, log[len(log)-1]) {
		t.Errorf("error does not end with the log's last line %q:\n%s", log, msg)
	}
	if _, err := docker.ImageInspect(context.Background(), tag); !client.IsErrNotFound(err) {
		t.Errorf("a failed build left tag %s behind (inspect err %v)", tag, err)
	}
}

func TestBuild_unavailableBaseImageIsAnErrorNamingIt(t *testing.T) {
	docker := dockerClient(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"main.py": {data: "x"}})
	spec := scratchSpec(dir)
	spec.BaseImage = "aqueduct-test-build/no-such-base:" + hex.EncodeToString([]byte(t.Name()))[:16]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := Build(ctx, docker, spec, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no-such-base") {
		t.Fatalf("Build on a missing base = %v, want an error naming it", err)
	}
}

func TestBuild_invalidSpecFailsBeforeDocker(t *testing.T) {
	missing := t.TempDir() + "/gone"
	_, err := Build(context.Background(), nil, scratchSpec(missing), nil, nil)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Build(missing dir) = %v, want an error naming %s", err, missing)
	}
}

func TestBuild_onLocalPythonBaseImageRunsTheOperatorModule(t *testing.T) {
	const base = "aqueduct-local/python:3.11"
	docker := dockerClient(t)
	ctx := context.Background()
	testenv.Image(t, docker, base)
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{
		"pipeline/__init__.py": {data: ""},
		"pipeline/train.py":    {data: "def main(x):\n    return x * 2\n"},
	})
	spec := Spec{SourceDir: dir, Function: "pipeline.train:main", PythonVersion: "3.11", BaseImage: base}
	id, err := Build(ctx, docker, spec, nil, func(l string) { t.Log(l) })
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	removeImage(t, docker, id)
	script := `import os, pipeline.train as m; ` +
		`assert os.path.isfile("/opt/aqueduct/aqueduct_runtime.py"); ` +
		`print("result", m.main(21), os.environ["AQUEDUCT_HANDLER"])`
	out := runContainer(t, docker, id, []string{"python3", "-c", script})
	if !strings.Contains(out, "result 42 pipeline.train:main") {
		t.Fatalf("container output %q, want the operator to import from /var/task", out)
	}
}

func runContainer(t *testing.T, docker client.APIClient, img string, entrypoint []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := docker.ContainerCreate(ctx, &container.Config{Image: img, Entrypoint: entrypoint}, &container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer docker.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	if err := docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitC, errC := docker.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	select {
	case err := <-errC:
		t.Fatal(err)
	case <-waitC:
	}
	logs, err := docker.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	raw, _ := io.ReadAll(logs)
	return string(raw)
}

type imageFile struct {
	data []byte
	mode int64
	uid  int
	link string
}

// imageFiles copies paths out of an image through a created (never started)
// container, keyed by absolute path without the leading slash.
func imageFiles(t *testing.T, docker client.APIClient, img string, paths ...string) map[string]imageFile {
	t.Helper()
	ctx := context.Background()
	c, err := docker.ContainerCreate(ctx, &container.Config{Image: img}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	out := map[string]imageFile{}
	for _, p := range paths {
		rc, _, err := docker.CopyFromContainer(ctx, c.ID, p)
		if err != nil {
			t.Fatalf("copy %s: %v", p, err)
		}
		prefix := strings.TrimPrefix(p[:strings.LastIndex(p, "/")], "/")
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(tr)
			name := strings.TrimSuffix(h.Name, "/")
			if prefix != "" {
				name = prefix + "/" + name
			}
			out[name] = imageFile{data: data, mode: h.Mode & 0o7777, uid: h.Uid, link: h.Linkname}
		}
		rc.Close()
	}
	return out
}
