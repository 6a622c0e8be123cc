package build

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// miniImage imports an image of the host's dash and coreutils with a fake
// "python3": a shell script that records whether PIP_INDEX_URL and NETRC
// carry what the test gave, the way pip would see them. It stands in for
// pip (named a fake) so that the secret path is tested without a package
// index; the acceptance test runs real pip against a real index.
func miniImage(t *testing.T, docker client.APIClient) string {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(name string, data []byte, mode int64) {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(data)
	}
	for _, d := range []string{"bin/", "lib/", "lib64/", "lib/x86_64-linux-gnu/", "tmp/", "run/", "var/", "var/task/", "opt/"} {
		_ = tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir})
	}
	for host, in := range map[string]string{
		"/usr/bin/dash": "bin/sh", "/usr/bin/cat": "bin/cat", "/usr/bin/mkdir": "bin/mkdir",
		"/lib/x86_64-linux-gnu/libc.so.6": "lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2": "lib64/ld-linux-x86-64.so.2",
		"/lib/x86_64-linux-gnu/libselinux.so.1": "lib/x86_64-linux-gnu/libselinux.so.1", "/lib/x86_64-linux-gnu/libpcre2-8.so.0": "lib/x86_64-linux-gnu/libpcre2-8.so.0",
	} {
		data, err := os.ReadFile(host)
		if err != nil {
			t.Skipf("host file for the mini image: %v", err)
		}
		add(in, data, 0o755)
	}
	// The fake holds no secret (the base image's layers are searched too):
	// it records each value's length and its non-secret start.
	fake := "#!/bin/sh\n# fake python3: records what pip would see\nmkdir -p /var/task\n" +
		"echo \"${#PIP_INDEX_URL}:${PIP_INDEX_URL%%:tok-*}\" > /var/task/url\n" +
		"n=\"$(cat \"$NETRC\")\"; echo \"${#n}:${n%% password *}\" > /var/task/netrc\n"
	add("bin/python3", []byte(fake), 0o755)
	_ = tw.Close()
	ref := "aqueduct-test/mini:" + strings.ToLower(t.Name())
	resp, err := docker.ImageImport(context.Background(), image.ImportSource{Source: &b, SourceName: "-"}, ref, image.ImportOptions{})
	if err != nil {
		t.Fatalf("importing the mini image: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp)
	resp.Close()
	removeImage(t, docker, ref)
	return ref
}

func TestBuild_secretsReachThePipStepAndNoLayerOrHistory(t *testing.T) {
	docker := dockerClient(t)
	ctx := context.Background()
	const url = "https://ci-bot:tok-9d8e7f6a5b4c@pypi.example/simple/"
	const netrc = "machine pypi.example login ci-bot password pw-1a2b3c4d5e"
	base := miniImage(t, docker)
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"main.py": {data: "def handler():\n    return 1\n"}, "requirements.txt": {data: "tinypkg\n"}})
	netrcFile := filepath.Join(t.TempDir(), "netrc")
	if err := os.WriteFile(netrcFile, []byte(netrc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AQ_TEST_INDEX_URL", url)
	spec := Spec{SourceDir: dir, Function: "main:handler", BaseImage: base, Architecture: "x86_64", RequirementsFile: "requirements.txt",
		Secrets: []Secret{{Name: "PIP_INDEX_URL", Env: "AQ_TEST_INDEX_URL"}, {Name: "NETRC", File: netrcFile}}}
	tag := uniqueTag(t)
	removeImage(t, docker, tag)
	var log []string
	id, err := Build(ctx, docker, spec, []string{tag}, func(l string) { log = append(log, l) })
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, strings.Join(log, "\n"))
	}
	for file, want := range map[string]string{
		"/var/task/url":   fmt.Sprintf("%d:https://ci-bot", len(url)),
		"/var/task/netrc": fmt.Sprintf("%d:machine pypi.example login ci-bot", len(netrc)),
	} {
		out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "/bin/cat", id, file).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("%s in the image = %q (%v), want %q: the secret did not reach the pip step", file, out, err, want)
		}
	}
	hist, err := exec.Command("docker", "history", "--no-trunc", id).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	inspect, _ := docker.ImageInspect(ctx, id)
	inspectJSON, _ := json.Marshal(inspect)
	saved, err := exec.Command("docker", "save", id).Output() // every layer and the config
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"tok-9d8e7f6a5b4c", "pw-1a2b3c4d5e"} {
		for what, b := range map[string][]byte{"docker history": hist, "image inspect": inspectJSON, "docker save": saved, "build log": []byte(strings.Join(log, "\n"))} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the secret %q", what, secret)
			}
		}
	}
	if !strings.Contains(string(hist), "--mount=type=secret,id=PIP_INDEX_URL") && !strings.Contains(string(hist), "PIP_INDEX_URL") {
		t.Logf("history:\n%s", hist)
	}
}
