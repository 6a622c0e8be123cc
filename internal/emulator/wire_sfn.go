package emulator

import (
	"context"
	"strings"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/iam"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/sfn"
)

// wireSFN starts Step Functions, which checks state machine roles against
// IAM and runs lambda:invoke Tasks on the emulated Lambda, in-process.
func (e *Emulator) wireSFN() error {
	svc, err := sfn.New(sfn.Options{
		DataDir:   e.dataDir("sfn"),
		Region:    e.opts.Region,
		Roles:     roleTrust{e.iam},
		Functions: lambdaFunctions{e.lambdaSvc},
		Logf:      e.logf("states"),
	})
	if err != nil {
		return err
	}
	e.sfn = svc
	return nil
}

// StepFunctions is the emulated Step Functions, for tests that look inside
// it and for emulated services that start executions.
func (e *Emulator) StepFunctions() *sfn.Service { return e.sfn }

// roleTrust answers from the emulated IAM whether a service principal may
// assume a role: the role exists under that ARN and its trust policy allows
// sts:AssumeRole to the principal.
type roleTrust struct{ iam *iam.Service }

func (r roleTrust) AssumableBy(roleARN, principal string) bool {
	if !strings.HasPrefix(roleARN, "arn:aws:iam::") || !strings.Contains(roleARN, ":role/") {
		return false
	}
	role, ok := r.iam.Role(roleARN[strings.LastIndex(roleARN, "/")+1:])
	return ok && role.Arn == roleARN && iam.TrustsService(role.AssumeRolePolicyDocument, principal)
}

// lambdaFunctions is the emulated Lambda as Step Functions invokes it.
type lambdaFunctions struct{ svc *lambda.Service }

func (l lambdaFunctions) InvokeFunction(ctx context.Context, name string, payload []byte) (*sfn.Invocation, error) {
	res, err := l.svc.Invoke(ctx, name, payload)
	if err != nil {
		return nil, err
	}
	return &sfn.Invocation{
		Payload: res.Payload, FunctionError: res.FunctionError, ExecutedVersion: res.ExecutedVersion,
		RequestID: res.RequestID, StatusCode: res.StatusCode,
	}, nil
}
