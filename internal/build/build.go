package build

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// LabelSourceHash is the image label that carries Hash(spec).
const LabelSourceHash = "org.aqueduct.source-hash"

// logTailLines is how much of the build log a failure error carries.
const logTailLines = 20

// Build builds the spec's image for its single platform with Docker's legacy
// builder, tags it with tags, and returns the image ID ("sha256:..."). Each
// line of the build log goes to logf (which may be nil). A failed build's
// error carries Docker's message and the last lines of the log.
//
// The context is streamed, not staged on disk. The image is labelled with the
// context's hash; if the source changes while it is being sent, the hash no
// longer matches, the tags are removed and Build fails rather than leave an
// image whose label lies.
func Build(ctx context.Context, docker client.APIClient, spec Spec, tags []string, logf func(line string)) (string, error) {
	if logf == nil {
		logf = func(string) {}
	}
	spec, err := spec.normalized()
	if err != nil {
		return "", err
	}
	platform, _ := Platform(spec.Architecture)
	want, err := Hash(spec)
	if err != nil {
		return "", err
	}
	if err := checkBasePlatform(ctx, docker, spec.BaseImage, platform); err != nil {
		return "", err
	}
	entries, err := contextEntries(spec)
	if err != nil {
		return "", err
	}

	pr, pw := io.Pipe()
	sent := sha256.New()
	writeErr := make(chan error, 1)
	go func() {
		err := writeContext(spec, entries, sent, tar.NewWriter(pw))
		pw.CloseWithError(err)
		writeErr <- err
	}()
	// Unblocks the writer if Docker stops reading early.
	defer pr.Close()

	opts := build.ImageBuildOptions{
		Tags:        tags,
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Platform:    platform,
		Labels:      map[string]string{LabelSourceHash: want},
		Version:     build.BuilderV1,
	}
	// Secret values never leave this function but through the session:
	// logs and errors pass the redactor.
	red := redactor(nil)
	if len(spec.Secrets) > 0 {
		values, err := secretValues(spec)
		if err != nil {
			return "", err
		}
		red = newRedactor(values)
		id, stop, err := secretsSession(ctx, docker, values)
		if err != nil {
			return "", err
		}
		defer stop()
		opts.Version, opts.SessionID = build.BuilderBuildKit, id
		inner := logf
		logf = func(line string) { inner(red.String(line)) }
	}
	id, err := runBuild(ctx, docker, spec, entries, pr, pw, sent, writeErr, opts, platform, logf)
	if err != nil {
		return "", fmt.Errorf("%s", red.String(err.Error()))
	}
	if got := "sha256:" + hex.EncodeToString(sent.Sum(nil)); got != want {
		for _, t := range tags {
			_, _ = docker.ImageRemove(ctx, t, image.RemoveOptions{})
		}
		return "", fmt.Errorf("operator source %s changed during the build (hash %s, then %s); run again", spec.SourceDir, want, got)
	}
	return id, nil
}

// runBuild sends the context and follows the build's output.
//
//nolint:unparam // spec and sent are unused since the context moved to its writer; dropping them is a follow-up
func runBuild(ctx context.Context, docker client.APIClient, spec Spec, entries []entry, pr *io.PipeReader, pw *io.PipeWriter,
	sent hash.Hash, writeErr chan error, opts build.ImageBuildOptions, platform string, logf func(string)) (string, error) {
	resp, err := docker.ImageBuild(ctx, pr, opts)
	if err != nil {
		pr.CloseWithError(err)
		if werr := <-writeErr; werr != nil && !errors.Is(werr, err) {
			return "", fmt.Errorf("image build: %w (while sending the context: %v)", err, werr)
		}
		return "", fmt.Errorf("image build: %w", err)
	}
	defer resp.Body.Close()

	id, streamErr := readBuildStream(resp.Body, logf)
	pr.Close()
	werr := <-writeErr
	switch {
	case werr != nil && !errors.Is(werr, io.ErrClosedPipe):
		return "", fmt.Errorf("sending the build context: %w", werr)
	case streamErr != nil && strings.Contains(streamErr.Error(), "exec format error"):
		return "", fmt.Errorf("%w\n(a RUN step for %s on an engine of another architecture needs QEMU binfmt emulation registered on the Docker host)", streamErr, platform)
	case streamErr != nil:
		return "", streamErr
	case id == "":
		return "", errors.New("image build: Docker reported success but no image ID")
	}
	return id, nil
}

// checkBasePlatform turns the legacy builder's cryptic platform mismatch
// ("failed to get destination image ...") into an error naming both sides.
// A base image that is not local is left to Docker to pull for the platform.
func checkBasePlatform(ctx context.Context, docker client.APIClient, base, platform string) error {
	if base == "scratch" {
		// The legacy builder's scratch stage is always the engine's platform.
		v, err := docker.ServerVersion(ctx)
		if err == nil && v.Os+"/"+v.Arch != platform {
			return fmt.Errorf("base image scratch can only be built for the Docker engine's own platform %s/%s with the legacy builder, not %s", v.Os, v.Arch, platform)
		}
		return nil
	}
	img, err := docker.ImageInspect(ctx, base)
	if err != nil {
		return nil
	}
	if got := img.Os + "/" + img.Architecture; got != platform {
		return fmt.Errorf("base image %s is %s but the operator's architecture needs %s; use a base image for that platform or change architecture", base, got, platform)
	}
	return nil
}

// readBuildStream follows Docker's JSON message stream: "stream" text goes to
// logf line by line, an error ends the build, and the aux message has the ID.
func readBuildStream(body io.Reader, logf func(string)) (string, error) {
	tail := newTail(logTailLines)
	var partial strings.Builder
	emit := func(text string) {
		partial.WriteString(text)
		s := partial.String()
		for {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				break
			}
			line := strings.TrimRight(s[:i], "\r")
			s = s[i+1:]
			if strings.TrimSpace(line) == "" {
				continue
			}
			tail.add(line)
			logf(line)
		}
		partial.Reset()
		partial.WriteString(s)
	}

	var id string
	dec := json.NewDecoder(body)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			emit("\n")
			return "", fmt.Errorf("image build: reading Docker's output: %w%s", err, tail.suffix())
		}
		if m.Stream != "" {
			emit(m.Stream)
		}
		if m.ID == traceID && m.Aux != nil {
			emit(traceText(*m.Aux))
			continue
		}
		if m.Status != "" {
			emit(m.Status + "\n")
		}
		if m.Error != nil || m.ErrorMessage != "" {
			emit("\n")
			msg := m.ErrorMessage
			if m.Error != nil && m.Error.Message != "" {
				msg = m.Error.Message
			}
			return "", fmt.Errorf("image build failed: %s%s", msg, tail.suffix())
		}
		if m.Aux != nil {
			var r build.Result
			if err := json.Unmarshal(*m.Aux, &r); err == nil && r.ID != "" {
				id = r.ID
			}
		}
	}
	emit("\n")
	return id, nil
}

// tail keeps the last n lines of a log.
type tail struct {
	lines []string
	n     int
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) add(line string) {
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

func (t *tail) suffix() string {
	if len(t.lines) == 0 {
		return ""
	}
	return fmt.Sprintf("\nlast %d lines of the build log:\n%s", len(t.lines), strings.Join(t.lines, "\n"))
}
