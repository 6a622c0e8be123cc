package iam_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/iam"
)

const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// serve puts svc behind an HTTP server that splits IAM from STS by the
// SigV4 scope, as the emulator's router does.
func serve(t *testing.T, svc *iam.Service) aws.Config {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Unsigned STS calls (AssumeRoleWithWebIdentity) go by their Action.
		if _, s := awsproto.Scope(r); s == "sts" || (s == "" && strings.HasPrefix(r.FormValue("Action"), "AssumeRole")) {
			svc.ServeSTS(w, r)
			return
		}
		svc.ServeIAM(w, r)
	}))
	t.Cleanup(srv.Close)
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
}

func newService(t *testing.T, dir string) *iam.Service {
	t.Helper()
	svc, err := iam.New(iam.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestRoleLifecycle(t *testing.T) {
	ctx := context.Background()
	c := awsiam.NewFromConfig(serve(t, newService(t, "")))

	out, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{
		RoleName:                 aws.String("fn-exec"),
		Path:                     aws.String("/service/"),
		AssumeRolePolicyDocument: aws.String(lambdaTrust),
		Description:              aws.String("runs functions"),
		Tags:                     []types.Tag{{Key: aws.String("team"), Value: aws.String("ml")}},
	})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	r := out.Role
	if got, want := aws.ToString(r.Arn), "arn:aws:iam::000000000000:role/service/fn-exec"; got != want {
		t.Errorf("Arn = %q, want %q", got, want)
	}
	if id := aws.ToString(r.RoleId); !strings.HasPrefix(id, "AROA") || len(id) != 21 {
		t.Errorf("RoleId = %q, want AROA and 17 more characters", id)
	}
	if r.CreateDate == nil || r.CreateDate.IsZero() {
		t.Error("CreateDate is not set")
	}

	got, err := c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("fn-exec")})
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	raw := aws.ToString(got.Role.AssumeRolePolicyDocument)
	if strings.Contains(raw, "{") {
		t.Errorf("trust policy %q is not URL-encoded, as IAM returns it", raw)
	}
	if doc, err := url.QueryUnescape(raw); err != nil || doc != lambdaTrust {
		t.Errorf("decoded trust policy = %q, %v; want %q", doc, err, lambdaTrust)
	}
	if aws.ToString(got.Role.Description) != "runs functions" || aws.ToInt32(got.Role.MaxSessionDuration) != 3600 || aws.ToString(got.Role.Path) != "/service/" {
		t.Errorf("GetRole = %+v", got.Role)
	}
	if len(got.Role.Tags) != 1 || aws.ToString(got.Role.Tags[0].Key) != "team" || aws.ToString(got.Role.Tags[0].Value) != "ml" {
		t.Errorf("Tags = %+v", got.Role.Tags)
	}

	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("FN-EXEC"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	var exists *types.EntityAlreadyExistsException
	if !errors.As(err, &exists) || httpStatus(err) != 409 {
		t.Errorf("CreateRole of a taken name (any case) = %v (status %d), want EntityAlreadyExists 409", err, httpStatus(err))
	}

	policies := []string{
		"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
		"arn:aws:iam::000000000000:policy/artifacts-rw",
	}
	for _, p := range policies {
		if _, err := c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("fn-exec"), PolicyArn: aws.String(p)}); err != nil {
			t.Fatalf("AttachRolePolicy %s: %v", p, err)
		}
	}
	// Attaching again is a no-op, as in IAM.
	if _, err := c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("fn-exec"), PolicyArn: aws.String(policies[0])}); err != nil {
		t.Fatalf("AttachRolePolicy again: %v", err)
	}

	var listed []types.AttachedPolicy
	pages := 0
	p := awsiam.NewListAttachedRolePoliciesPaginator(c, &awsiam.ListAttachedRolePoliciesInput{RoleName: aws.String("fn-exec"), MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListAttachedRolePolicies: %v", err)
		}
		pages++
		listed = append(listed, page.AttachedPolicies...)
	}
	if pages != 2 || len(listed) != 2 {
		t.Fatalf("listed %d policies in %d pages, want 2 in 2", len(listed), pages)
	}
	if aws.ToString(listed[0].PolicyName) != "AWSLambdaBasicExecutionRole" || aws.ToString(listed[1].PolicyName) != "artifacts-rw" {
		t.Errorf("policy names = %q, %q", aws.ToString(listed[0].PolicyName), aws.ToString(listed[1].PolicyName))
	}
	only, err := c.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: aws.String("fn-exec"), PathPrefix: aws.String("/service-role/")})
	if err != nil || len(only.AttachedPolicies) != 1 {
		t.Errorf("PathPrefix /service-role/ = %+v, %v; want the one AWS-managed policy", only, err)
	}

	_, err = c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("fn-exec")})
	var conflict *types.DeleteConflictException
	if !errors.As(err, &conflict) || httpStatus(err) != 409 {
		t.Errorf("DeleteRole with policies attached = %v, want DeleteConflict 409", err)
	}

	for _, p := range policies {
		if _, err := c.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: aws.String("fn-exec"), PolicyArn: aws.String(p)}); err != nil {
			t.Fatalf("DetachRolePolicy %s: %v", p, err)
		}
	}
	_, err = c.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: aws.String("fn-exec"), PolicyArn: aws.String(policies[0])})
	var noEntity *types.NoSuchEntityException
	if !errors.As(err, &noEntity) {
		t.Errorf("DetachRolePolicy of a detached policy = %v, want NoSuchEntity", err)
	}

	if _, err := c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("fn-exec")}); err != nil {
		t.Fatalf("DeleteRole: %v", err)
	}
	_, err = c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("fn-exec")})
	if !errors.As(err, &noEntity) || httpStatus(err) != 404 {
		t.Errorf("GetRole after delete = %v (status %d), want NoSuchEntity 404", err, httpStatus(err))
	}
	if !strings.Contains(err.Error(), "The role with name fn-exec cannot be found.") {
		t.Errorf("error message = %q, want IAM's", err)
	}
}

func TestRoleErrors(t *testing.T) {
	ctx := context.Background()
	c := awsiam.NewFromConfig(serve(t, newService(t, "")))

	_, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("bad"), AssumeRolePolicyDocument: aws.String("{not json")})
	var malformed *types.MalformedPolicyDocumentException
	if !errors.As(err, &malformed) {
		t.Errorf("CreateRole with a broken policy = %v, want MalformedPolicyDocument", err)
	}
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("has space"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	if httpStatus(err) != 400 || !strings.Contains(err.Error(), "ValidationError") {
		t.Errorf("CreateRole with a bad name = %v, want ValidationError 400", err)
	}
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), Path: aws.String("nopath"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	if httpStatus(err) != 400 {
		t.Errorf("CreateRole with a bad path = %v, want 400", err)
	}
	_, err = c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("missing"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	var noEntity *types.NoSuchEntityException
	if !errors.As(err, &noEntity) {
		t.Errorf("AttachRolePolicy on a missing role = %v, want NoSuchEntity", err)
	}
	if _, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(lambdaTrust)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String("not-an-arn")})
	var invalid *types.InvalidInputException
	if !errors.As(err, &invalid) {
		t.Errorf("AttachRolePolicy with a bad ARN = %v, want InvalidInput", err)
	}
	_, err = c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("missing")})
	if !errors.As(err, &noEntity) {
		t.Errorf("DeleteRole of a missing role = %v, want NoSuchEntity", err)
	}
}

func TestCallerIdentity(t *testing.T) {
	c := sts.NewFromConfig(serve(t, newService(t, "")))
	out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "000000000000" || aws.ToString(out.Arn) != "arn:aws:iam::000000000000:root" || aws.ToString(out.UserId) == "" {
		t.Errorf("GetCallerIdentity = %q %q %q", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
}

func TestCheckLambdaRole(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, "")
	c := awsiam.NewFromConfig(serve(t, svc))
	untrusted := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`
	for name, doc := range map[string]string{"good": lambdaTrust, "ec2only": untrusted} {
		if _, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String(name), Path: aws.String("/x/"), AssumeRolePolicyDocument: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.CheckLambdaRole("arn:aws:iam::000000000000:role/x/good"); err != nil {
		t.Errorf("trusted role: %v", err)
	}
	for _, arn := range []string{
		"arn:aws:iam::000000000000:role/x/ec2only",
		"arn:aws:iam::000000000000:role/good", // wrong path: not the same role
		"arn:aws:iam::000000000000:role/missing",
		"arn:aws:iam::111111111111:role/x/good",
		"not-an-arn",
	} {
		err := svc.CheckLambdaRole(arn)
		if err == nil || err.Error() != "The role defined for the function cannot be assumed by Lambda." {
			t.Errorf("CheckLambdaRole(%s) = %v, want Lambda's message", arn, err)
		}
	}
}

func TestTrustsService(t *testing.T) {
	cases := []struct {
		doc  string
		want bool
	}{
		{lambdaTrust, true},
		{`{"Statement":{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":["sts:AssumeRole","sts:TagSession"]}}`, true},
		{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*"}]}`, true},
		{`{"Statement":[{"Effect":"Deny","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:TagSession"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`, false},
		{`not json`, false},
	}
	for _, c := range cases {
		if got := iam.TrustsService(c.doc, "lambda.amazonaws.com"); got != c.want {
			t.Errorf("TrustsService(%s) = %v, want %v", c.doc, got, c.want)
		}
	}
}

func TestPersistence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := iam.New(iam.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := awsiam.NewFromConfig(serve(t, first))
	if _, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("kept"), AssumeRolePolicyDocument: aws.String(lambdaTrust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("kept"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := newService(t, dir)
	r, ok := second.Role("kept")
	if !ok || r.AssumeRolePolicyDocument != lambdaTrust || len(r.AttachedPolicies) != 1 {
		t.Fatalf("after restart: role %+v, found %v", r, ok)
	}
	second.Reset()
	if _, ok := newService(t, dir).Role("kept"); ok {
		t.Error("Reset did not drop the persisted role")
	}
}
