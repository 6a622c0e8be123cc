package registry

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	emuecr "github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/ecr"
)

// startECR runs the emulator's ECR on a real 127.0.0.1 listener, where the
// Docker engine can reach it, and returns an unchanged SDK client for it.
func startECR(t *testing.T) *ecr.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	svc, err := emuecr.New(emuecr.Options{Host: func() string { return addr }, Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = svc.Close()
	})
	return ecr.New(ecr.Options{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String("http://" + addr),
	})
}

func TestECR_emulatorPushWithGetAuthorizationTokenThenDescribeImagesAgrees(t *testing.T) {
	docker := dockerClient(t)
	api := startECR(t)
	ctx := context.Background()
	repo, err := api.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("aqueduct/ops")})
	if err != nil {
		t.Fatal(err)
	}
	repoURI := aws.ToString(repo.Repository.RepositoryUri)

	auth, err := ECRAuth(ctx, api, aws.ToString(repo.Repository.RegistryId))
	if err != nil {
		t.Fatalf("ECRAuth: %v", err)
	}
	if host, _, _ := strings.Cut(repoURI, "/"); auth.ServerAddress != host {
		t.Fatalf("ServerAddress %q is not the repository's host %q", auth.ServerAddress, host)
	}
	if auth.Username != "AWS" || auth.ExpiresAt.Before(time.Now().Add(time.Hour)) {
		t.Errorf("auth user %q expires %v; want AWS and a token lasting hours", auth.Username, auth.ExpiresAt)
	}

	ref := repoURI + ":src-test"
	if _, found, err := Lookup(ctx, ref, auth); err != nil || found {
		t.Fatalf("Lookup before push = found %v, err %v", found, err)
	}
	id := buildTinyImage(t, docker)
	removeImage(t, docker, ref)
	digest, err := Push(ctx, docker, id, ref, auth, nil)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if got, found, err := Lookup(ctx, ref, auth); err != nil || !found || got != digest {
		t.Fatalf("Lookup after push = %q, %v, %v; want %s", got, found, err, digest)
	}

	// The ECR API's view of the repository names the same image.
	out, err := api.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("aqueduct/ops")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ImageDetails) != 1 || aws.ToString(out.ImageDetails[0].ImageDigest) != digest {
		t.Fatalf("DescribeImages = %+v, want one image %s", out.ImageDetails, digest)
	}
	if tags := out.ImageDetails[0].ImageTags; len(tags) != 1 || tags[0] != "src-test" {
		t.Errorf("image tags %q, want [src-test]", tags)
	}

	// A forged password is refused at once, and never echoed.
	forged := auth
	forged.Password = "0." + strings.Repeat("A", 43)
	_, err = Push(ctx, docker, id, repoURI+":forged", forged, nil)
	if err == nil || !strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), forged.Password) {
		t.Fatalf("Push with a forged token = %v, want a refusal without the password", err)
	}
}
