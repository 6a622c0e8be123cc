package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/s3"
)

func newService(t *testing.T, dir string) *s3.Service {
	t.Helper()
	svc, err := s3.New(s3.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

func client(t *testing.T, svc http.Handler) *awss3.Client {
	t.Helper()
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return awss3.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	}, func(o *awss3.Options) { o.UsePathStyle = true })
}

func put(t *testing.T, c *awss3.Client, bucket, key, body string) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
}

func get(t *testing.T, c *awss3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer func() { _ = out.Body.Close() }()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestObjects(t *testing.T) {
	ctx := context.Background()
	c := client(t, newService(t, ""))
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "artifacts", "p/workflows/wf/operators/a.json", `{"op":"a"}`)
	put(t, c, "artifacts", "p/workflows/wf/operators/b.json", `{"op":"b"}`)
	put(t, c, "artifacts", "p/workflows/wf", "a key that is also a prefix")
	if got := get(t, c, "artifacts", "p/workflows/wf/operators/b.json"); got != `{"op":"b"}` {
		t.Errorf("GetObject = %q", got)
	}

	list, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("artifacts"), Prefix: aws.String("p/workflows/wf/operators/")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if strings.Join(keys, ",") != "p/workflows/wf/operators/a.json,p/workflows/wf/operators/b.json" {
		t.Errorf("ListObjectsV2 = %v", keys)
	}

	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("p/workflows/wf/operators/a.json")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("p/workflows/wf/operators/a.json")})
	var noKey *types.NoSuchKey
	if !errors.As(err, &noKey) {
		t.Errorf("GetObject after delete = %v, want NoSuchKey", err)
	}
	_, err = c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("missing")})
	var notFound *types.NotFound
	if !errors.As(err, &notFound) {
		t.Errorf("HeadBucket of a missing bucket = %v, want NotFound", err)
	}
}

func TestPresignedURLs(t *testing.T) {
	ctx := context.Background()
	c := client(t, newService(t, ""))
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("runs")}); err != nil {
		t.Fatal(err)
	}
	presign := awss3.NewPresignClient(c)

	// PUT through a presigned URL with plain net/http, as a function's
	// runtime does.
	pu, err := presign.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("runs"), Key: aws.String("r1/out.json")}, awss3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pu.URL, "X-Amz-Signature=") || !strings.Contains(pu.URL, "/runs/r1/out.json") {
		t.Fatalf("presigned PUT URL %q is not a path-style SigV4 query URL", pu.URL)
	}
	req, _ := http.NewRequest(http.MethodPut, pu.URL, bytes.NewReader([]byte(`{"answer":42}`)))
	for k, v := range pu.SignedHeader {
		if k != "Host" {
			req.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned PUT: %s", resp.Status)
	}
	if got := get(t, c, "runs", "r1/out.json"); got != `{"answer":42}` {
		t.Errorf("object written through the presigned PUT = %q", got)
	}

	pg, err := presign.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("runs"), Key: aws.String("r1/out.json")})
	if err != nil {
		t.Fatal(err)
	}
	body, status := httpGet(t, pg.URL)
	if status != http.StatusOK || body != `{"answer":42}` {
		t.Errorf("presigned GET = %d %q", status, body)
	}

	// An expired URL is refused as S3 refuses it. Signatures are not checked
	// (any key is accepted), so moving the signing date back stands for time
	// passing.
	u, _ := url.Parse(pg.URL)
	q := u.Query()
	q.Set("X-Amz-Date", time.Now().UTC().Add(-2*time.Hour).Format("20060102T150405Z"))
	q.Set("X-Amz-Expires", "60")
	u.RawQuery = q.Encode()
	body, status = httpGet(t, u.String())
	if status != http.StatusForbidden || !strings.Contains(body, "<Code>AccessDenied</Code>") || !strings.Contains(body, "Request has expired") {
		t.Errorf("expired presigned GET = %d %q, want 403 AccessDenied", status, body)
	}
}

func httpGet(t *testing.T, u string) (string, int) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

func TestPersistenceAndReset(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := s3.New(s3.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, first)
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "kept", "k", "v")
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := newService(t, dir)
	c = client(t, second)
	if got := get(t, c, "kept", "k"); got != "v" {
		t.Fatalf("after restart: %q", got)
	}
	if err := second.Reset(); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListBuckets(ctx, &awss3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Buckets) != 0 {
		t.Errorf("buckets after Reset: %d", len(out.Buckets))
	}
	// The store still works after a reset.
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("again")}); err != nil {
		t.Fatal(err)
	}
}

func TestSecondOpenFailsInsteadOfHanging(t *testing.T) {
	dir := t.TempDir()
	newService(t, dir)
	start := time.Now()
	if _, err := s3.New(s3.Options{DataDir: dir}); err == nil {
		t.Fatal("a second service on the same directory opened")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the second open took %v", d)
	}
}

// TestOperation: S3's table names requests as gofakes3 tells them apart.
func TestOperation(t *testing.T) {
	api := newService(t, "").API()
	cases := map[string]string{
		"GET /":                                 "ListBuckets",
		"PUT /b":                                "CreateBucket",
		"GET /b?list-type=2&prefix=x":           "ListObjectsV2",
		"HEAD /b":                               "HeadBucket",
		"POST /b?delete":                        "DeleteObjects",
		"PUT /b/k/with/slashes":                 "PutObject",
		"GET /b/k?X-Amz-Credential=a%2Fb":       "GetObject",
		"POST /b/k?uploads":                     "CreateMultipartUpload",
		"PUT /b/k?partNumber=1&uploadId=u":      "UploadPart",
		"DELETE /b/k":                           "DeleteObject",
		"GET /b?location":                       "GetBucketLocation",
		"POST /b/k?uploadId=u":                  "CompleteMultipartUpload",
		"DELETE /b/k?uploadId=u":                "AbortMultipartUpload",
		"GET /b/k?versionId=3":                  "GetObject",
		"PUT /b/k?x-id=PutObject&extra=ignored": "PutObject",
		"PUT /b/k?x-id=CopyObject":              "CopyObject",
		"GET /b?versioning":                     "GetBucketVersioning",
		"GET /b/dir/":                           "GetObject",
		"PATCH /b/k":                            "PATCH /b/k",
	}
	for in, want := range cases {
		method, target, _ := strings.Cut(in, " ")
		r := httptest.NewRequest(method, target, nil)
		if got := api.Route(r).Name; got != want {
			t.Errorf("Operation(%s) = %s, want %s", in, got, want)
		}
	}
}
