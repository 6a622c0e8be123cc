package iamrole

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func TestARNPattern(t *testing.T) {
	good := []string{
		"arn:aws:iam::123456789012:role/lambda-exec",
		"arn:aws:iam::000000000000:role/service-role/ml/aqueduct_exec",
		"arn:aws-cn:iam::123456789012:role/x",
		"arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f-g",
	}
	bad := []string{
		"", "lambda-exec", "arn:aws:iam::12345:role/x", "arn:aws:iam::123456789012:user/x",
		"arn:aws:iam::123456789012:role/", "arn:aws:s3:::bucket", "arn:aws:iam::123456789012:role/has space",
	}
	for _, a := range good {
		if !ARNPattern.MatchString(a) {
			t.Errorf("%q rejected", a)
		}
	}
	for _, a := range bad {
		if ARNPattern.MatchString(a) {
			t.Errorf("%q accepted", a)
		}
	}
	if NameFromARN("arn:aws:iam::000000000000:role/service-role/ml/exec") != "exec" {
		t.Error("NameFromARN must return the last path segment")
	}
}

func TestTrustsLambda(t *testing.T) {
	cases := map[string]bool{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`: true,
		`{"Statement":{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":["sts:AssumeRole"]}}`:  true,
		`{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`:                           false,
		`{"Statement":[{"Effect":"Deny","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`:                         false,
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`:                  false,
		url.QueryEscape(`{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`):       true,
	}
	for doc, want := range cases {
		got, err := Trusts(doc, "lambda.amazonaws.com")
		if err != nil || got != want {
			t.Errorf("Trusts(%s) = %v, %v; want %v", doc, got, err, want)
		}
	}
	if _, err := Trusts("not json", "lambda.amazonaws.com"); err == nil {
		t.Error("malformed policy must be an error")
	}
}

// fakeIAM is an in-process fake of the two IAM calls: the role appears
// after `missing` GetRole calls, as a role just created does while IAM
// propagates it.
type fakeIAM struct {
	missing int
	calls   int
}

func (f *fakeIAM) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	f.calls++
	if f.calls <= f.missing {
		return nil, &iamtypes.NoSuchEntityException{Message: aws.String("The role with name " + aws.ToString(in.RoleName) + " cannot be found.")}
	}
	doc := `{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	return &iam.GetRoleOutput{Role: &iamtypes.Role{RoleName: in.RoleName, AssumeRolePolicyDocument: aws.String(doc)}}, nil
}

func (f *fakeIAM) ListAttachedRolePolicies(context.Context, *iam.ListAttachedRolePoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error) {
	return &iam.ListAttachedRolePoliciesOutput{}, nil
}

func TestCheck_waitsForARoleThatIsPropagating(t *testing.T) {
	api := &fakeIAM{missing: 3}
	if _, err := Check(context.Background(), api, "arn:aws:iam::123456789012:role/new"); err != nil {
		t.Fatalf("a role visible after 3 lookups failed the check: %v", err)
	}
	if api.calls != 4 {
		t.Errorf("GetRole called %d times, want 4", api.calls)
	}
}

func TestCheck_missingRoleFailsAfterThePropagationTimeout(t *testing.T) {
	defer func(d time.Duration) { PropagationTimeout = d }(PropagationTimeout)
	PropagationTimeout = 600 * time.Millisecond
	start := time.Now()
	_, err := Check(context.Background(), &fakeIAM{missing: 1 << 30}, "arn:aws:iam::123456789012:role/never")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"never"`) || !strings.Contains(err.Error(), "propagate") {
		t.Fatalf("err = %v, want not found, naming the role and the wait", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %s, past the timeout", d)
	}
}

func TestCheckTrust(t *testing.T) {
	api := &fakeIAM{}
	// The fake role trusts lambda.amazonaws.com only.
	if err := CheckTrust(context.Background(), api, "arn:aws:iam::123456789012:role/r", "lambda.amazonaws.com"); err != nil {
		t.Fatalf("a trusted service: %v", err)
	}
	err := CheckTrust(context.Background(), api, "arn:aws:iam::123456789012:role/r", "states.amazonaws.com", "scheduler.amazonaws.com")
	if err == nil || !strings.Contains(err.Error(), "states.amazonaws.com and scheduler.amazonaws.com") {
		t.Fatalf("untrusted services: %v", err)
	}
}
