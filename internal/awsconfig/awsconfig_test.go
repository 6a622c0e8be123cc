package awsconfig

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// recorder is a local HTTP server that records request paths and answers
// 404, enough to see where and how the SDK sends requests.
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
	hosts []string
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.paths = append(r.paths, req.URL.Path)
		r.hosts = append(r.hosts, req.Host)
		r.mu.Unlock()
		http.Error(w, "not found", http.StatusNotFound)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...)
}

// isolate clears the AWS environment so the host's settings cannot leak in.
func isolate(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestLoad_endpointsBlockUsesPathStyleS3(t *testing.T) {
	isolate(t)
	rec := newRecorder(t)
	c, err := Load(context.Background(), Settings{
		Region: "eu-west-1", AccessKey: "AKIDEXAMPLE", SecretKey: "secret",
		Endpoints: map[string]string{"s3": rec.URL, "lambda": rec.URL}, MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.S3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("my-bucket"), Key: aws.String("a/b.json")})
	_, _ = c.Lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("fn")})
	got := rec.seen()
	want := []string{"/my-bucket/a/b.json", "/2015-03-31/functions/fn"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("requests = %v, want %v", got, want)
	}
}

func TestLoad_environmentEndpointApplies(t *testing.T) {
	isolate(t)
	rec := newRecorder(t)
	t.Setenv("AWS_ENDPOINT_URL", rec.URL)
	t.Setenv("AWS_REGION", "us-west-2")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	c, err := Load(context.Background(), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "us-west-2" {
		t.Fatalf("region = %q, want us-west-2 from AWS_REGION", c.Region)
	}
	_, _ = c.S3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if got := rec.seen(); len(got) != 1 || got[0] != "/bkt/k" {
		t.Fatalf("requests = %v, want one path-style request /bkt/k", got)
	}
}

func TestLoad_missingRegionNamesAttribute(t *testing.T) {
	isolate(t)
	_, err := Load(context.Background(), Settings{AccessKey: "a", SecretKey: "b"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Attribute != "region" || !strings.Contains(ce.Message, "AWS_REGION") {
		t.Fatalf("err = %v, want a ConfigError on region that mentions AWS_REGION", err)
	}
}

func TestLoad_halfStaticKeysIsAnError(t *testing.T) {
	isolate(t)
	_, err := Load(context.Background(), Settings{Region: "us-east-1", AccessKey: "AKIDEXAMPLE"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Attribute != "secret_key" {
		t.Fatalf("err = %v, want a ConfigError on secret_key", err)
	}
}

func TestLoad_unknownProfileNamesAttribute(t *testing.T) {
	isolate(t)
	_, err := Load(context.Background(), Settings{Region: "us-east-1", Profile: "nope"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Attribute != "profile" || !strings.Contains(ce.Message, `"nope"`) {
		t.Fatalf("err = %v, want a ConfigError on profile naming it", err)
	}
}

func TestLoad_profileFromSharedFiles(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "cfg")
	credFile := filepath.Join(dir, "creds")
	os.WriteFile(cfgFile, []byte("[profile ml]\nregion = ap-south-1\n"), 0o600)
	os.WriteFile(credFile, []byte("[ml]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n"), 0o600)
	c, err := Load(context.Background(), Settings{Profile: "ml", SharedConfigFiles: []string{cfgFile}, SharedCredentialsFiles: []string{credFile}})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := c.Config.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "ap-south-1" || creds.AccessKeyID != "AKIDPROFILE" {
		t.Fatalf("region=%q key=%q, want ap-south-1 and AKIDPROFILE from the profile", c.Region, creds.AccessKeyID)
	}
}

func TestForRegion_cachesAndKeepsEndpoints(t *testing.T) {
	isolate(t)
	rec := newRecorder(t)
	c, err := Load(context.Background(), Settings{Region: "us-east-1", AccessKey: "a", SecretKey: "b", Endpoints: map[string]string{"s3": rec.URL}, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := c.ForRegion("eu-central-1")
	if r != c.ForRegion("eu-central-1") || r.Region != "eu-central-1" || c.ForRegion("") != c {
		t.Fatal("ForRegion must build once per region and return the base for the same or empty region")
	}
	_, _ = r.S3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	if got := rec.seen(); len(got) != 1 {
		t.Fatalf("regional client did not keep the endpoint override: %v", got)
	}
}

func TestLoad_maxRetriesDefaultsToTheAWSProviders(t *testing.T) {
	attempts := func(s Settings) int {
		t.Helper()
		s.Region, s.AccessKey, s.SecretKey = "us-east-1", "a", "b"
		c, err := Load(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		return c.Config.Retryer().MaxAttempts()
	}
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	if n := attempts(Settings{}); n != 25 {
		t.Errorf("default attempts %d, want 25", n)
	}
	if n := attempts(Settings{MaxRetries: 7}); n != 7 {
		t.Errorf("max_retries = 7 gave %d attempts", n)
	}
	t.Setenv("AWS_MAX_ATTEMPTS", "4")
	if n := attempts(Settings{}); n != 4 {
		t.Errorf("AWS_MAX_ATTEMPTS=4 gave %d attempts", n)
	}
	if n := attempts(Settings{MaxRetries: 9}); n != 9 {
		t.Errorf("max_retries over AWS_MAX_ATTEMPTS gave %d attempts", n)
	}
}

// Configuring the provider again reuses one transport, so connections are
// pooled across configurations instead of piling up.
func TestLoad_configurationsShareATransport(t *testing.T) {
	transportOf := func() http.RoundTripper {
		t.Helper()
		c, err := Load(context.Background(), Settings{Region: "us-east-1", AccessKey: "a", SecretKey: "b"})
		if err != nil {
			t.Fatal(err)
		}
		hc, ok := c.Config.HTTPClient.(*http.Client)
		if !ok {
			t.Fatalf("HTTPClient is %T, want a *http.Client on a shared transport", c.Config.HTTPClient)
		}
		return hc.Transport
	}
	if transportOf() != transportOf() {
		t.Fatal("two configurations got two transports")
	}
}
