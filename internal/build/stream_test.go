package build

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

func TestReadBuildStream_joinsFragmentsIntoLines(t *testing.T) {
	stream := `{"stream":"Step 1/2 : FROM x"}{"stream":"\n ---> abc\n"}` +
		`{"stream":"partial"}{"stream":" line\r\n\n"}{"aux":{"ID":"sha256:feed"}}` +
		`{"stream":"Successfully built feed\n"}`
	var lines []string
	id, err := readBuildStream(strings.NewReader(stream), func(l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatal(err)
	}
	if id != "sha256:feed" {
		t.Errorf("id = %q, want the aux ID", id)
	}
	want := []string{"Step 1/2 : FROM x", " ---> abc", "partial line", "Successfully built feed"}
	if !slices.Equal(lines, want) {
		t.Errorf("lines = %q, want %q", lines, want)
	}
}

func TestReadBuildStream_errorCarriesTheLastTwentyLines(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, `{"stream":"line %d\n"}`, i)
	}
	b.WriteString(`{"errorDetail":{"code":1,"message":"The command '/bin/sh -c pip install' returned a non-zero code: 1"},"error":"The command '/bin/sh -c pip install' returned a non-zero code: 1"}`)
	b.WriteString(`{"stream":"never read\n"}`)
	_, err := readBuildStream(strings.NewReader(b.String()), nil2)
	if err == nil {
		t.Fatal("an error message did not fail the build")
	}
	msg := err.Error()
	if !strings.Contains(msg, "returned a non-zero code: 1") || !strings.Contains(msg, "last 20 lines") {
		t.Fatalf("error %q lacks Docker's message or the tail header", msg)
	}
	if !strings.Contains(msg, "line 11\n") || strings.Contains(msg, "line 10\n") || !strings.HasSuffix(msg, "line 30") {
		t.Fatalf("tail is not exactly lines 11-30:\n%s", msg)
	}
	if strings.Contains(msg, "never read") {
		t.Fatal("the stream was read past the error")
	}
}

func TestReadBuildStream_truncatedStreamIsAnError(t *testing.T) {
	_, err := readBuildStream(strings.NewReader(`{"stream":"Step 1/1\n"}{"stream":"cut`), nil2)
	if err == nil || !strings.Contains(err.Error(), "Step 1/1") {
		t.Fatalf("truncated stream = %v, want an error with the log so far", err)
	}
}

func nil2(string) {}

// changingDocker stands in for the engine: it edits the source before reading
// the context, as a user saving a file mid-build would.
type changingDocker struct {
	client.APIClient
	change  func()
	names   []string
	removed []string
}

func (d *changingDocker) ImageInspect(context.Context, string, ...client.ImageInspectOption) (image.InspectResponse, error) {
	return image.InspectResponse{}, errors.New("not local")
}

func (d *changingDocker) ImageBuild(_ context.Context, body io.Reader, _ build.ImageBuildOptions) (build.ImageBuildResponse, error) {
	d.change()
	tr := tar.NewReader(body)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return build.ImageBuildResponse{}, err
		}
		d.names = append(d.names, h.Name)
	}
	out := `{"stream":"Successfully built 0123\n"}{"aux":{"ID":"sha256:0123"}}`
	return build.ImageBuildResponse{Body: io.NopCloser(strings.NewReader(out))}, nil
}

func (d *changingDocker) ImageRemove(_ context.Context, ref string, _ image.RemoveOptions) ([]image.DeleteResponse, error) {
	d.removed = append(d.removed, ref)
	return nil, nil
}

func TestBuild_sourceChangedDuringTheBuildFailsAndUntags(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, baseTree())
	spec := baseSpec(dir)
	spec.BaseImage = "example.com/base:1"
	d := &changingDocker{change: func() {
		if err := os.WriteFile(filepath.Join(dir, "main.py"), []byte("def handler(x):\n    return 2\n"), 0o644); err != nil {
			t.Error(err)
		}
	}}
	_, err := Build(context.Background(), d, spec, []string{"a:1", "b:2"}, nil)
	if err == nil || !strings.Contains(err.Error(), "changed during the build") {
		t.Fatalf("Build = %v, want a changed-during-build error", err)
	}
	if !slices.Equal(d.removed, []string{"a:1", "b:2"}) {
		t.Errorf("removed %q, want both tags", d.removed)
	}
	if !slices.Contains(d.names, "src/main.py") || !slices.Contains(d.names, "Dockerfile") {
		t.Errorf("context sent %q", d.names)
	}
}

func TestBuild_unchangedSourceWithFakeEngineReturnsTheAuxID(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, baseTree())
	spec := baseSpec(dir)
	d := &changingDocker{change: func() {}}
	id, err := Build(context.Background(), d, spec, []string{"a:1"}, nil)
	if err != nil || id != "sha256:0123" {
		t.Fatalf("Build = %q, %v", id, err)
	}
	if len(d.removed) != 0 {
		t.Errorf("removed %q after a good build", d.removed)
	}
}
