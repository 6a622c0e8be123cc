package artifacts

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const (
	testBucket = "artifacts"
	testRegion = "us-east-1"
	testKeyID  = "AKIDTEST"
	testSecret = "secret-for-tests"
)

var testCreds = aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}

// fakeS3 is gofakes3 on a real loopback listener, behind a middleware that
// counts requests, checks presigned signatures (gofakes3 does not) and can
// deny chosen requests.
type fakeS3 struct {
	backend *s3mem.Backend
	client  *s3.Client
	url     string

	lists    atomic.Int64 // ListObjectsV2 requests
	presigns atomic.Int64 // presigned requests whose signature verified

	mu   sync.Mutex
	deny func(*http.Request) bool // answer 403 AccessDenied when true
}

func startFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	f := &fakeS3{backend: s3mem.New()}
	if err := f.backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(f.backend)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f.middleware(t, faker.Server())}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	f.url = "http://" + ln.Addr().String()
	f.client = s3.NewFromConfig(aws.Config{
		Region:      testRegion,
		Credentials: credentials.StaticCredentialsProvider{Value: testCreds},
	}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(f.url)
		o.UsePathStyle = true
	})
	return f
}

func (f *fakeS3) denyWhen(fn func(*http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny = fn
}

func (f *fakeS3) middleware(t *testing.T, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		deny := f.deny
		f.mu.Unlock()
		if deny != nil && deny(r) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			if r.Method != http.MethodHead {
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			}
			return
		}
		if r.URL.Query().Get("list-type") == "2" {
			f.lists.Add(1)
		}
		if r.URL.Query().Has("X-Amz-Signature") {
			if err := verifyPresigned(r); err != nil {
				t.Logf("rejecting presigned %s %s: %v", r.Method, r.URL.Path, err)
				http.Error(w, "SignatureDoesNotMatch: "+err.Error(), http.StatusForbidden)
				return
			}
			f.presigns.Add(1)
		}
		next.ServeHTTP(w, r)
	})
}

// verifyPresigned recomputes a presigned URL's SigV4 signature with the
// SDK's signer and the test credentials, and checks it has not expired.
func verifyPresigned(r *http.Request) error {
	q := r.URL.Query()
	got := q.Get("X-Amz-Signature")
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("bad X-Amz-Date: %w", err)
	}
	var expires time.Duration
	if _, err := fmt.Sscanf(q.Get("X-Amz-Expires"), "%d", &expires); err != nil {
		return fmt.Errorf("bad X-Amz-Expires: %w", err)
	}
	if time.Now().After(signed.Add(expires * time.Second)) {
		return fmt.Errorf("expired")
	}
	q.Del("X-Amz-Signature")
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	req, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		return err
	}
	for _, h := range strings.Split(q.Get("X-Amz-SignedHeaders"), ";") {
		if h != "host" {
			req.Header.Set(h, r.Header.Get(h))
		}
	}
	want, _, err := v4.NewSigner().PresignHTTP(context.Background(), testCreds, req, "UNSIGNED-PAYLOAD", "s3", testRegion, signed)
	if err != nil {
		return err
	}
	wu, err := url.Parse(want)
	if err != nil {
		return err
	}
	if w := wu.Query().Get("X-Amz-Signature"); w != got {
		return fmt.Errorf("signature %s, want %s", got, w)
	}
	return nil
}

// seed puts n small objects under prefix straight into the backend.
func (f *fakeS3) seed(t *testing.T, prefix string, n int) []string {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%05d", prefix, i)
		if _, err := f.backend.PutObject(testBucket, keys[i], nil, strings.NewReader("x"), 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

type manifest struct {
	Name   string   `json:"name"`
	Inputs []string `json:"inputs"`
}

func TestStore_JSONRoundTrip(t *testing.T) {
	f := startFakeS3(t)
	s := NewStore(f.client, testBucket, "/team/ml/")
	ctx := context.Background()
	key := OperatorKey(s.Prefix(), "wf", "train")
	if key != "team/ml/workflows/wf/operators/train.json" {
		t.Fatalf("key = %q: the prefix was not normalised", key)
	}

	var m manifest
	found, err := s.GetJSON(ctx, key, &m)
	if err != nil || found {
		t.Fatalf("GetJSON of a missing object = %v, %v; want false, nil", found, err)
	}

	in := manifest{Name: "train", Inputs: []string{"load", "clean"}}
	if err := s.PutJSON(ctx, key, in); err != nil {
		t.Fatal(err)
	}
	found, err = s.GetJSON(ctx, key, &m)
	if err != nil || !found || m.Name != in.Name || !slices.Equal(m.Inputs, in.Inputs) {
		t.Fatalf("GetJSON = %v, %v, %+v; want true, nil, %+v", found, err, m, in)
	}
	head, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: &key})
	if err != nil || aws.ToString(head.ContentType) != "application/json" {
		t.Errorf("HeadObject = %v, content type %q; want application/json", err, aws.ToString(head.ContentType))
	}

	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if found, err := s.GetJSON(ctx, key, &m); found || err != nil {
		t.Errorf("after Delete, GetJSON = %v, %v", found, err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Errorf("Delete of a missing object = %v, want nil", err)
	}
}

func TestStore_GetJSONOfNonJSONNamesTheObject(t *testing.T) {
	f := startFakeS3(t)
	s := NewStore(f.client, testBucket, "p")
	if _, err := f.backend.PutObject(testBucket, "p/bad.json", nil, strings.NewReader("<html>"), 6, nil); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	found, err := s.GetJSON(context.Background(), "p/bad.json", &v)
	if !found || err == nil || !strings.Contains(err.Error(), "s3://artifacts/p/bad.json") {
		t.Errorf("GetJSON = %v, %v; want found and an error naming s3://artifacts/p/bad.json", found, err)
	}
}

func TestStore_ErrorsCarryS3Reason(t *testing.T) {
	f := startFakeS3(t)
	s := NewStore(f.client, "no-such-bucket", "p")
	err := s.PutJSON(context.Background(), "p/x.json", 1)
	if err == nil || !strings.HasPrefix(err.Error(), "writing s3://no-such-bucket/p/x.json: NoSuchBucket") {
		t.Errorf("error = %v, want the URI and S3's NoSuchBucket", err)
	}
}

func TestStore_ListPaginatesPastOneThousandKeys(t *testing.T) {
	f := startFakeS3(t)
	s := NewStore(f.client, testBucket, "p")
	want := f.seed(t, "p/runs/", 1050)
	f.seed(t, "p/other/", 3)

	got, err := s.List(context.Background(), "p/runs/")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List returned %d keys (first %v), want the %d under the prefix", len(got), got[:min(3, len(got))], len(want))
	}
	if n := f.lists.Load(); n != 2 {
		t.Errorf("%d ListObjectsV2 requests, want 2 pages of at most 1000", n)
	}
}

func TestStore_ListSmallPages(t *testing.T) {
	f := startFakeS3(t)
	s := NewStore(f.client, testBucket, "")
	s.pageSize = 7
	want := f.seed(t, "k/", 20)
	got, err := s.List(context.Background(), "k/")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || f.lists.Load() != 3 {
		t.Errorf("List = %d keys in %d requests, want 20 in 3", len(got), f.lists.Load())
	}
	empty, err := s.List(context.Background(), "nothing/")
	if err != nil || len(empty) != 0 {
		t.Errorf("List of an empty prefix = %v, %v", empty, err)
	}
}

func TestStore_DeletePrefix(t *testing.T) {
	f := startFakeS3(t)
	s := NewStore(f.client, testBucket, "p")
	ctx := context.Background()
	f.seed(t, "p/workflows/wf/", 1100) // two DeleteObjects batches
	keep := f.seed(t, "p/workflows/wf2/", 2)

	if err := s.DeletePrefix(ctx, "p/workflows/wf/"); err != nil {
		t.Fatal(err)
	}
	left, err := s.List(ctx, "p/")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, keep) {
		t.Errorf("after DeletePrefix, %d keys left (%v...), want only %v", len(left), left[:min(3, len(left))], keep)
	}
	if err := s.DeletePrefix(ctx, ""); err == nil {
		t.Error("DeletePrefix(\"\") did not refuse to empty the bucket")
	}
	if left, _ := s.List(ctx, ""); len(left) != 2 {
		t.Errorf("%d keys left after a refused DeletePrefix, want 2", len(left))
	}
}

func TestStore_PresignedPutAndGet(t *testing.T) {
	f := startFakeS3(t)
	s := NewStore(f.client, testBucket, "p")
	ctx := context.Background()
	key := CachedOutputKey(s.Prefix(), "wf", "sha256:0123")

	body := make([]byte, 7<<20) // over Lambda's 6 MB response limit
	if _, err := rand.Read(body); err != nil {
		t.Fatal(err)
	}
	putURL, err := s.PresignPut(ctx, key, 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if q := mustQuery(t, putURL); q.Get("X-Amz-Expires") != "1200" || !strings.Contains(q.Get("X-Amz-Credential"), testKeyID+"/") {
		t.Errorf("presigned PUT URL %s: want X-Amz-Expires=1200 and the access key in its credential", putURL)
	}
	req, err := http.NewRequest(http.MethodPut, putURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT to presigned URL: %s %s", resp.Status, msg)
	}

	getURL, err := s.PresignGet(ctx, key, 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(getURL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("GET from presigned URL: %s, %d bytes (err %v), want the %d bytes put", resp.Status, len(got), err, len(body))
	}
	if n := f.presigns.Load(); n != 2 {
		t.Errorf("%d presigned requests verified, want 2", n)
	}

	// The signature covers the key: the same URL for another key is refused.
	tampered := strings.Replace(getURL, "/output?", "/other?", 1)
	resp, err = http.Get(tampered)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("tampered presigned URL answered %s, want 403", resp.Status)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestStore_Names(t *testing.T) {
	s := NewStore(s3.New(s3.Options{Region: testRegion}), "b", "a/b/")
	if s.Bucket() != "b" || s.Prefix() != "a/b" || s.URI("a/b/k.json") != "s3://b/a/b/k.json" {
		t.Errorf("Bucket %q Prefix %q URI %q", s.Bucket(), s.Prefix(), s.URI("a/b/k.json"))
	}
}

func TestCheckBucket(t *testing.T) {
	f := startFakeS3(t)
	ctx := context.Background()

	if err := CheckBucket(ctx, f.client, testBucket, "team/"); err != nil {
		t.Fatalf("CheckBucket on a writable bucket: %v", err)
	}
	if left, _ := NewStore(f.client, testBucket, "").List(ctx, ""); len(left) != 0 {
		t.Errorf("CheckBucket left its probe behind: %v", left)
	}

	err := CheckBucket(ctx, f.client, "missing-bucket", "")
	if err == nil || !strings.Contains(err.Error(), `S3 bucket "missing-bucket" does not exist`) {
		t.Errorf("missing bucket: error = %v", err)
	}

	f.denyWhen(func(r *http.Request) bool { return r.Method == http.MethodHead })
	err = CheckBucket(ctx, f.client, testBucket, "")
	if err == nil || !strings.Contains(err.Error(), "access is denied") {
		t.Errorf("forbidden bucket: error = %v", err)
	}

	f.denyWhen(func(r *http.Request) bool { return r.Method == http.MethodPut })
	err = CheckBucket(ctx, f.client, testBucket, "team")
	if err == nil || !strings.Contains(err.Error(), `not writable under prefix "team"`) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("read-only bucket: error = %v", err)
	}
}
