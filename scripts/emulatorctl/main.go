// Command emulatorctl drives the local AWS emulator for scripts (make demo)
// on a machine that may have nothing but Go: no curl, no AWS CLI.
//
//	emulatorctl wait        -endpoint URL [-timeout 60s]   until /_emulator/health answers
//	emulatorctl seed        -endpoint URL -bucket B -role R
//	emulatorctl unseed      -endpoint URL -bucket B -role R
//	emulatorctl invocations -endpoint URL                  total Lambda invocations so far
//
// seed creates, idempotently, what a user brings to the quickstart on AWS: a
// Lambda execution role and an S3 bucket, through the unchanged AWS SDK
// clients, and prints the role ARN on stdout. unseed empties and removes the
// bucket and removes the role.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// trustLambda lets Lambda assume the role, which the provider checks.
const trustLambda = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

const usage = "usage: emulatorctl wait|seed|unseed|invocations -endpoint URL [flags]"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "emulatorctl:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New(usage)
	}
	cmd := args[0]
	fs := flag.NewFlagSet("emulatorctl "+cmd, flag.ContinueOnError)
	endpoint := fs.String("endpoint", "http://127.0.0.1:4566", "emulator URL")
	region := fs.String("region", "us-east-1", "region")
	bucket := fs.String("bucket", "", "S3 bucket (seed, unseed)")
	role := fs.String("role", "", "IAM role name (seed, unseed)")
	timeout := fs.Duration("timeout", 60*time.Second, "how long wait waits")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	u, err := url.Parse(*endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("-endpoint %q is not a URL like http://127.0.0.1:4566", *endpoint)
	}
	base := strings.TrimSuffix(*endpoint, "/")

	switch cmd {
	case "wait":
		return waitHealthy(base, *timeout)
	case "invocations":
		n, err := invocations(base)
		if err != nil {
			return err
		}
		fmt.Println(n)
		return nil
	case "seed", "unseed":
	default:
		return fmt.Errorf("unknown command %q; %s", cmd, usage)
	}
	if *bucket == "" || *role == "" {
		return errors.New("-bucket and -role are required")
	}
	// Never seed or unseed a real account by accident.
	if err := getJSON(base+"/_emulator/health", &struct{}{}); err != nil {
		return fmt.Errorf("%s is not an aqueduct emulator: %w", base, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := aws.Config{
		Region:       *region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(base),
	}
	c := clients{
		iam: iam.NewFromConfig(cfg),
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		sts: sts.NewFromConfig(cfg),
	}
	if cmd == "unseed" {
		if err := c.deleteBucket(ctx, *bucket); err != nil {
			return err
		}
		return c.deleteRole(ctx, *role)
	}
	arn, err := c.ensureRole(ctx, *role)
	if err != nil {
		return err
	}
	if err := c.ensureBucket(ctx, *bucket); err != nil {
		return err
	}
	fmt.Println(arn)
	return nil
}

// waitHealthy polls the admin health endpoint until it answers.
func waitHealthy(base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var h struct{ Status string }
		err := getJSON(base+"/_emulator/health", &h)
		if err == nil && h.Status == "running" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no healthy emulator at %s after %s: %v", base, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// invocations sums the emulator's per-function invocation counts.
func invocations(base string) (int, error) {
	var counts map[string]int
	if err := getJSON(base+"/_emulator/invocations", &counts); err != nil {
		return 0, err
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n, nil
}

func getJSON(u string, v any) error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

type clients struct {
	iam *iam.Client
	s3  *s3.Client
	sts *sts.Client
}

// policies are what the role gets: Lambda's logging policy, and a
// customer-managed one named for the artifact store, as the provider docs
// recommend (the emulator does not check that it exists).
func (c clients) policies(ctx context.Context, role string) ([]string, error) {
	id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("reading the account id: %w", err)
	}
	return []string{
		"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
		fmt.Sprintf("arn:aws:iam::%s:policy/%s-s3-artifacts", aws.ToString(id.Account), role),
	}, nil
}

func (c clients) ensureRole(ctx context.Context, role string) (string, error) {
	var arn string
	out, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(role),
		AssumeRolePolicyDocument: aws.String(trustLambda),
		Description:              aws.String("Lambda execution role for the aqueduct quickstart"),
	})
	var exists *iamtypes.EntityAlreadyExistsException
	switch {
	case err == nil:
		arn = aws.ToString(out.Role.Arn)
		fmt.Fprintf(os.Stderr, "emulatorctl: created role %s\n", role)
	case errors.As(err, &exists):
		got, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			return "", fmt.Errorf("reading role %s: %w", role, err)
		}
		arn = aws.ToString(got.Role.Arn)
		fmt.Fprintf(os.Stderr, "emulatorctl: skip: role %s exists\n", role)
	default:
		return "", fmt.Errorf("creating role %s: %w", role, err)
	}
	policies, err := c.policies(ctx, role)
	if err != nil {
		return "", err
	}
	for _, p := range policies {
		// Attaching an attached policy is a no-op in IAM.
		if _, err := c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(p)}); err != nil {
			return "", fmt.Errorf("attaching %s to role %s: %w", p, role, err)
		}
	}
	return arn, nil
}

func (c clients) ensureBucket(ctx context.Context, bucket string) error {
	if _, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil {
		fmt.Fprintf(os.Stderr, "emulatorctl: skip: bucket %s exists\n", bucket)
		return nil
	}
	_, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("creating bucket %s: %w", bucket, err)
	}
	fmt.Fprintf(os.Stderr, "emulatorctl: created bucket %s\n", bucket)
	return nil
}

func (c clients) deleteBucket(ctx context.Context, bucket string) error {
	p := s3.NewListObjectsV2Paginator(c.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if notFound(err) {
			fmt.Fprintf(os.Stderr, "emulatorctl: skip: bucket %s is gone\n", bucket)
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing bucket %s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			if _, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
				return fmt.Errorf("deleting s3://%s/%s: %w", bucket, aws.ToString(o.Key), err)
			}
			n++
		}
	}
	if _, err := c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil && !notFound(err) {
		return fmt.Errorf("deleting bucket %s: %w", bucket, err)
	}
	fmt.Fprintf(os.Stderr, "emulatorctl: deleted bucket %s and its %d objects\n", bucket, n)
	return nil
}

func (c clients) deleteRole(ctx context.Context, role string) error {
	policies, err := c.policies(ctx, role)
	if err != nil {
		return err
	}
	for _, p := range policies {
		_, err := c.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(p)})
		if err != nil && !notFound(err) {
			return fmt.Errorf("detaching %s from role %s: %w", p, role, err)
		}
	}
	if _, err := c.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(role)}); notFound(err) {
		fmt.Fprintf(os.Stderr, "emulatorctl: skip: role %s is gone\n", role)
		return nil
	} else if err != nil {
		return fmt.Errorf("deleting role %s: %w", role, err)
	}
	fmt.Fprintf(os.Stderr, "emulatorctl: deleted role %s\n", role)
	return nil
}

func notFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "NoSuchEntity", "NoSuchBucket", "NotFound":
		return true
	}
	return false
}
