// Package iamrole checks that an IAM role can serve as a Lambda execution
// role: it exists, Lambda may assume it, and its attached policies look
// like they grant logging and S3 access.
package iamrole

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// ARNPattern matches an IAM role ARN: partition, 12-digit account, optional
// path, and a role name of 1–64 characters.
var ARNPattern = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)

// NameFromARN returns the role name: the last path segment.
func NameFromARN(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

// ErrNotFound means the role does not exist.
var ErrNotFound = errors.New("IAM role not found")

// API is the part of the IAM client the check uses.
type API interface {
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListAttachedRolePolicies(context.Context, *iam.ListAttachedRolePoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
}

// Get reads the role; ErrNotFound when it does not exist. A refresh needs
// only this, not the policy listing Check adds.
func Get(ctx context.Context, api API, roleARN string) (*iamtypes.Role, error) {
	name := NameFromARN(roleARN)
	out, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return nil, fmt.Errorf("%w: role %q (%s) does not exist; create it, or fix role_arn", ErrNotFound, name, roleARN)
	}
	if err != nil {
		return nil, fmt.Errorf("reading IAM role %q: %w", name, err)
	}
	return out.Role, nil
}

// PropagationTimeout is how long Check waits for a role that does not exist
// yet: IAM is eventually consistent, so a role created earlier in the same
// apply may be invisible for a few seconds. The AWS provider waits 2 minutes.
var PropagationTimeout = 2 * time.Minute

// getEventually is Get, waiting out PropagationTimeout while the role is not
// found.
func getEventually(ctx context.Context, api API, roleARN string) (*iamtypes.Role, error) {
	deadline := time.Now().Add(PropagationTimeout)
	delay := 250 * time.Millisecond
	for {
		role, err := Get(ctx, api, roleARN)
		if !errors.Is(err, ErrNotFound) || time.Now().Add(delay).After(deadline) {
			if err != nil && errors.Is(err, ErrNotFound) {
				err = fmt.Errorf("%w (waited %s for IAM to propagate it)", err, PropagationTimeout.Round(time.Second))
			}
			return role, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w; stopped waiting for it: %w", err, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// Check verifies the role and returns warnings for missing permissions. A
// role that does not exist yet is waited for (PropagationTimeout).
func Check(ctx context.Context, api API, roleARN string) (warnings []string, err error) {
	name := NameFromARN(roleARN)
	role, err := getEventually(ctx, api, roleARN)
	if err != nil {
		return nil, err
	}
	trusted, err := Trusts(aws.ToString(role.AssumeRolePolicyDocument), "lambda.amazonaws.com")
	if err != nil {
		return nil, fmt.Errorf("reading the trust policy of role %q: %w", name, err)
	}
	if !trusted {
		return nil, fmt.Errorf("role %q does not trust lambda.amazonaws.com: its trust policy must allow sts:AssumeRole for the service principal lambda.amazonaws.com", name)
	}

	var policies []string
	p := iam.NewListAttachedRolePoliciesPaginator(api, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing policies attached to role %q: %w", name, err)
		}
		for _, ap := range page.AttachedPolicies {
			policies = append(policies, aws.ToString(ap.PolicyName))
		}
	}
	if !anyContains(policies, "logs", "lambdabasicexecution", "cloudwatch", "lambdaexecute") {
		warnings = append(warnings, fmt.Sprintf("role %q has no attached policy that looks like it grants CloudWatch Logs access (attached: %s); Lambda needs logs:CreateLogStream and logs:PutLogEvents to keep the functions' logs. Attach AWSLambdaBasicExecutionRole or an equivalent policy.", name, list(policies)))
	}
	if !anyContains(policies, "s3", "lambdaexecute") {
		warnings = append(warnings, fmt.Sprintf("role %q has no attached policy that looks like it grants S3 access (attached: %s); functions reach the artifact store through presigned URLs, but operator code that reads S3 directly needs s3:GetObject and s3:PutObject.", name, list(policies)))
	}
	return warnings, nil
}

func anyContains(names []string, needles ...string) bool {
	for _, n := range names {
		l := strings.ToLower(n)
		for _, s := range needles {
			if strings.Contains(l, s) {
				return true
			}
		}
	}
	return false
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// CheckTrust verifies that the role exists (waiting out PropagationTimeout)
// and that each service principal may assume it, e.g. states.amazonaws.com.
func CheckTrust(ctx context.Context, api API, roleARN string, services ...string) error {
	name := NameFromARN(roleARN)
	role, err := getEventually(ctx, api, roleARN)
	if err != nil {
		return err
	}
	var missing []string
	for _, svc := range services {
		ok, err := Trusts(aws.ToString(role.AssumeRolePolicyDocument), svc)
		if err != nil {
			return fmt.Errorf("reading the trust policy of role %q: %w", name, err)
		}
		if !ok {
			missing = append(missing, svc)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("role %q does not trust %s: its trust policy must allow sts:AssumeRole for the service principal(s) %s",
			name, strings.Join(missing, " and "), strings.Join(missing, ", "))
	}
	return nil
}

// Trusts reports whether a trust policy (URL-encoded, as IAM returns it)
// allows sts:AssumeRole for the service principal, e.g. lambda.amazonaws.com.
func Trusts(doc, service string) (bool, error) {
	if d, err := url.QueryUnescape(doc); err == nil {
		doc = d
	}
	var policy struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &policy); err != nil {
		return false, err
	}
	type statement struct {
		Effect    string
		Principal json.RawMessage
		Action    json.RawMessage
	}
	var stmts []statement
	if err := json.Unmarshal(policy.Statement, &stmts); err != nil {
		var one statement
		if err := json.Unmarshal(policy.Statement, &one); err != nil {
			return false, err
		}
		stmts = []statement{one}
	}
	for _, s := range stmts {
		if s.Effect != "Allow" || !matches(s.Action, "sts:AssumeRole", "sts:*", "*") {
			continue
		}
		var principal struct{ Service json.RawMessage }
		if json.Unmarshal(s.Principal, &principal) == nil && matches(principal.Service, service) {
			return true, nil
		}
	}
	return false, nil
}

// matches reports whether a string-or-list JSON value holds one of want.
func matches(raw json.RawMessage, want ...string) bool {
	var vals []string
	if json.Unmarshal(raw, &vals) != nil {
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return false
		}
		vals = []string{one}
	}
	for _, v := range vals {
		for _, w := range want {
			if v == w {
				return true
			}
		}
	}
	return false
}
