package artifacts

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Store is the artifact store: manifests, run records and operator outputs
// in one bucket under one prefix. Keys passed to it are full object keys,
// built with the key functions of this package from Prefix().
type Store struct {
	api     *s3.Client
	presign *s3.PresignClient
	bucket  string
	prefix  string
	// pageSize is ListObjectsV2's MaxKeys; 0 is S3's default (1000).
	pageSize int32
}

// NewStore returns a store on bucket whose keys live under prefix: an
// engine's root (its artifact store prefix and naming.Namespace).
func NewStore(api *s3.Client, bucket, prefix string) *Store {
	return &Store{
		api:     api,
		presign: s3.NewPresignClient(api),
		bucket:  bucket,
		prefix:  strings.Trim(prefix, "/"),
	}
}

// Credentials returns the credentials presigned URLs are signed with, so a
// caller can tell when they expire: a URL stops working then, whatever its
// own expiry says.
func (s *Store) Credentials(ctx context.Context) (aws.Credentials, error) {
	return s.api.Options().Credentials.Retrieve(ctx)
}

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// Prefix is the key prefix, without leading or trailing slash ("" for the
// bucket's root).
func (s *Store) Prefix() string { return s.prefix }

// URI is key's s3:// URI.
func (s *Store) URI(key string) string { return "s3://" + s.bucket + "/" + key }

// GetJSON decodes the object at key into v. A missing object is found=false
// and no error.
func (s *Store) GetJSON(ctx context.Context, key string, v any) (found bool, err error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if isNoSuchKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", s.URI(key), reason(err))
	}
	defer out.Body.Close()
	if err := json.NewDecoder(out.Body).Decode(v); err != nil {
		return true, fmt.Errorf("reading %s: not the JSON expected: %w", s.URI(key), err)
	}
	return true, nil
}

// PutJSON writes v as JSON at key, replacing what was there.
func (s *Store) PutJSON(ctx context.Context, key string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", s.URI(key), err)
	}
	_, err = s.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      &s.bucket,
		Key:         &key,
		Body:        bytes.NewReader(b),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", s.URI(key), reason(err))
	}
	return nil
}

// Delete deletes the object at key; a missing object is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("deleting %s: %w", s.URI(key), reason(err))
	}
	return nil
}

// List returns every key that starts with prefix, in S3's (lexical) order.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	keys, _, err := s.list(ctx, prefix, "")
	return keys, err
}

// ListDirs returns the "directories" directly under prefix (S3's common
// prefixes with delimiter "/"), each ending in "/".
func (s *Store) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	_, dirs, err := s.list(ctx, prefix, "/")
	return dirs, err
}

func (s *Store) list(ctx context.Context, prefix, delimiter string) (keys, dirs []string, err error) {
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix}
	if delimiter != "" {
		in.Delimiter = &delimiter
	}
	if s.pageSize > 0 {
		in.MaxKeys = &s.pageSize
	}
	p := s3.NewListObjectsV2Paginator(s.api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("listing %s: %w", s.URI(prefix), reason(err))
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, cp := range page.CommonPrefixes {
			dirs = append(dirs, aws.ToString(cp.Prefix))
		}
	}
	return keys, dirs, nil
}

// Exists reports whether an object is at key.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if isNoSuchKey(err) || httpStatus(err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", s.URI(key), reason(err))
	}
	return true, nil
}

// maxDeleteBatch is DeleteObjects' limit per request.
const maxDeleteBatch = 1000

// DeletePrefix deletes every object whose key starts with prefix. An empty
// prefix is refused: it would empty the whole bucket.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return errors.New("refusing to delete with an empty prefix: that would empty the whole bucket " + s.bucket)
	}
	keys, err := s.List(ctx, prefix)
	if err != nil {
		return err
	}
	for len(keys) > 0 {
		n := min(len(keys), maxDeleteBatch)
		batch := make([]s3types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			batch[i] = s3types.ObjectIdentifier{Key: aws.String(k)}
		}
		keys = keys[n:]
		out, err := s.api.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &s.bucket,
			Delete: &s3types.Delete{Objects: batch, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("deleting %s*: %w", s.URI(prefix), reason(err))
		}
		// DeleteObjects succeeds as a whole and reports failures per key.
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("deleting %s*: %d objects not deleted, e.g. %s: %s: %s",
				s.URI(prefix), len(out.Errors), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
		}
	}
	return nil
}

// PresignGet returns a URL that GETs key without credentials for ttl.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presigning GET %s: %w", s.URI(key), err)
	}
	return req.URL, nil
}

// PresignPut returns a URL that PUTs key without credentials for ttl. No
// content type is signed, so the uploader may send any.
func (s *Store) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presigning PUT %s: %w", s.URI(key), err)
	}
	return req.URL, nil
}

// CheckBucket verifies that bucket exists, can be reached with these
// credentials, and takes writes under prefix (it puts and deletes a small
// probe object there).
func CheckBucket(ctx context.Context, api *s3.Client, bucket, prefix string) error {
	_, err := api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
	if err != nil {
		switch httpStatus(err) {
		case http.StatusNotFound:
			return fmt.Errorf("S3 bucket %q does not exist: create it first, or fix artifact_store.s3_bucket", bucket)
		case http.StatusForbidden:
			return fmt.Errorf("S3 bucket %q exists but access is denied: the credentials need s3:ListBucket on it (and s3:GetObject, s3:PutObject, s3:DeleteObject under the prefix)", bucket)
		case http.StatusMovedPermanently:
			return fmt.Errorf("S3 bucket %q is in another region than the one configured: set the provider's region to the bucket's", bucket)
		}
		return fmt.Errorf("checking S3 bucket %q: %w", bucket, reason(err))
	}

	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	key := path.Join(strings.Trim(prefix, "/"), ".aqueduct-write-check-"+hex.EncodeToString(rnd[:]))
	_, err = api.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader("ok")})
	if err != nil {
		return fmt.Errorf("S3 bucket %q is not writable under prefix %q (putting %s): %w; the credentials need s3:PutObject there", bucket, prefix, key, reason(err))
	}
	_, err = api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("S3 bucket %q: cannot delete objects under prefix %q (deleting %s): %w; the credentials need s3:DeleteObject there", bucket, prefix, key, reason(err))
	}
	return nil
}

func isNoSuchKey(err error) bool {
	if err == nil {
		return false
	}
	var nsk *s3types.NoSuchKey
	var nf *s3types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf)
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// reason shortens an SDK error to S3's code and message, keeping the chain
// for errors.As.
func reason(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorCode()
		if m := ae.ErrorMessage(); m != "" {
			msg += ": " + m
		} else if st := httpStatus(err); st != 0 {
			msg += fmt.Sprintf(" (HTTP %d)", st)
		}
		return &apiError{err: err, msg: msg}
	}
	return err
}

type apiError struct {
	err error
	msg string
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }
