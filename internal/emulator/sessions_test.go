package emulator_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
)

// A role session STS issued is the caller of later calls to every service:
// the request log names it, and a token STS did not issue is refused by S3
// too, in S3's protocol.
func TestRoleSessionIsLoggedAcrossServices(t *testing.T) {
	ctx := context.Background()
	e := emulatortest.Start(t)
	cfg := emulatortest.Config(t, e)
	trust := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := awsiam.NewFromConfig(cfg).CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("deployer"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: aws.String("apply")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	session := cfg.Copy()
	session.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	if _, err := s3.NewFromConfig(session, emulatortest.S3PathStyle).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("by-session")}); err != nil {
		t.Fatal(err)
	}
	want := "arn:aws:sts::000000000000:assumed-role/deployer/apply"
	if n := count(e, func(r emulator.Request) bool { return r.Operation == "CreateBucket" && r.Principal == want }); n != 1 {
		t.Errorf("CreateBucket by %s logged %d times, want 1", want, n)
	}
	if n := count(e, func(r emulator.Request) bool {
		return r.Operation == "AssumeRole" && r.Principal == "arn:aws:iam::000000000000:root"
	}); n != 1 {
		t.Errorf("AssumeRole by the root logged %d times, want 1", n)
	}

	forged := cfg.Copy()
	forged.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), "x", aws.ToString(c.SessionToken)+"forged")
	_, err = s3.NewFromConfig(forged, emulatortest.S3PathStyle).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("forged")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" {
		t.Errorf("S3 with a forged session token: %v, want InvalidClientTokenId", err)
	}
	if err != nil && strings.Contains(err.Error(), aws.ToString(c.SessionToken)) {
		t.Error("the error carries the session token")
	}
}
