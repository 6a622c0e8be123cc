package emulatortest_test

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
)

func TestStartConfigAndCleanup(t *testing.T) {
	var e *emulator.Emulator
	t.Run("inner", func(t *testing.T) {
		e = emulatortest.Start(t, emulatortest.WithOptions(func(o *emulator.Options) { o.Region = "eu-west-1" }))
		cfg := emulatortest.Config(t, e)
		if aws.ToString(cfg.BaseEndpoint) != e.URL() || cfg.Region != "eu-west-1" {
			t.Errorf("Config = endpoint %q region %q", aws.ToString(cfg.BaseEndpoint), cfg.Region)
		}
		c := s3.NewFromConfig(cfg, emulatortest.S3PathStyle)
		if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("path-style")}); err != nil {
			t.Fatalf("CreateBucket through Config: %v", err)
		}
		if n := len(e.Requests()); n != 1 || e.Requests()[0].Operation != "CreateBucket" {
			t.Errorf("requests = %+v", e.Requests())
		}
	})
	// The subtest's cleanup closed the emulator.
	if resp, err := http.Get(e.URL() + "/_emulator/health"); err == nil {
		_ = resp.Body.Close()
		t.Error("the emulator still answers after its test ended")
	}
}

// TestRequireDocker passes where a Docker engine answers, and otherwise
// fails under TF_ACC or CI and skips elsewhere (package testenv).
func TestRequireDocker(t *testing.T) {
	emulatortest.RequireDocker(t)
}

// TestFunctionImagePushedToECR: the image runs /bootstrap on Linux, and
// ECR lists it under the pushed tag with the image's own digest.
func TestFunctionImagePushedToECR(t *testing.T) {
	e := emulatortest.Start(t)
	img := emulatortest.FunctionImage(t, "../lambda/testdata/fn")
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || strings.Join(cf.Config.Entrypoint, " ") != "/bootstrap" {
		t.Errorf("config: os %s, arch %s, entrypoint %v", cf.OS, cf.Architecture, cf.Config.Entrypoint)
	}
	uri := emulatortest.PushImage(t, e, "tests/fn", img)
	if want := e.Addr() + "/tests/fn:v1"; uri != want {
		t.Errorf("URI %s, want %s", uri, want)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	out, err := ecr.NewFromConfig(emulatortest.Config(t, e)).DescribeImages(context.Background(), &ecr.DescribeImagesInput{RepositoryName: aws.String("tests/fn")})
	if err != nil || len(out.ImageDetails) != 1 || aws.ToString(out.ImageDetails[0].ImageDigest) != digest.String() ||
		strings.Join(out.ImageDetails[0].ImageTags, ",") != "v1" {
		t.Errorf("DescribeImages = %+v, %v; want v1 at %s", out, err, digest)
	}
}
