package ecr

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// server is a Service on a real 127.0.0.1 listener, as the Docker engine
// must reach it.
type server struct {
	svc  *Service
	addr string
	ecr  *ecr.Client
	srv  *http.Server
}

func startServer(t *testing.T, dataDir string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	svc, err := New(Options{DataDir: dataDir, Host: func() string { return addr }, Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{svc: svc, addr: addr, srv: &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	s.ecr = ecr.New(ecr.Options{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String("http://" + addr),
	})
	t.Cleanup(s.stop)
	return s
}

// stop closes the listener and the service; safe to call twice.
func (s *server) stop() {
	_ = s.srv.Close()
	_ = s.svc.Close()
}

func (s *server) createRepo(t *testing.T, name string) {
	t.Helper()
	if _, err := s.ecr.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
		t.Fatalf("CreateRepository %s: %v", name, err)
	}
}

// password returns the registry password from GetAuthorizationToken.
func (s *server) password(t *testing.T) string {
	t.Helper()
	out, err := s.ecr.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" {
		t.Fatalf("token decodes to %q, want AWS:<password>", raw)
	}
	return pass
}
