package lambdafn

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// fakeAPI answers each operation from a script: the n-th call of an
// operation gets the n-th step, the last step repeating.
type fakeAPI struct {
	mu     sync.Mutex
	steps  map[string][]step
	calls  map[string]int
	inputs map[string][]any
}

type step struct {
	out any // an output of the operation, or nil for an empty one
	err error
}

func newFake() *fakeAPI {
	return &fakeAPI{steps: map[string][]step{}, calls: map[string]int{}, inputs: map[string][]any{}}
}

func (f *fakeAPI) on(op string, steps ...step) *fakeAPI {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps[op] = append(f.steps[op], steps...)
	return f
}

func (f *fakeAPI) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeAPI) input(op string, i int) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inputs[op][i]
}

func (f *fakeAPI) next(op string, in any) step {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.calls[op]
	f.calls[op]++
	f.inputs[op] = append(f.inputs[op], in)
	s := f.steps[op]
	if len(s) == 0 {
		return step{}
	}
	if n >= len(s) {
		n = len(s) - 1
	}
	st := s[n]
	if st.err != nil {
		// Wrap as the SDK does, so classification sees the real chain.
		st.err = &smithy.OperationError{ServiceID: "Lambda", OperationName: op, Err: st.err}
	}
	return st
}

func out[T any](s step) (*T, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.out == nil {
		return new(T), nil
	}
	return s.out.(*T), nil
}

func (f *fakeAPI) GetFunction(_ context.Context, in *lambda.GetFunctionInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	return out[lambda.GetFunctionOutput](f.next("GetFunction", in))
}
func (f *fakeAPI) CreateFunction(_ context.Context, in *lambda.CreateFunctionInput, _ ...func(*lambda.Options)) (*lambda.CreateFunctionOutput, error) {
	return out[lambda.CreateFunctionOutput](f.next("CreateFunction", in))
}
func (f *fakeAPI) UpdateFunctionCode(_ context.Context, in *lambda.UpdateFunctionCodeInput, _ ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error) {
	return out[lambda.UpdateFunctionCodeOutput](f.next("UpdateFunctionCode", in))
}
func (f *fakeAPI) UpdateFunctionConfiguration(_ context.Context, in *lambda.UpdateFunctionConfigurationInput, _ ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error) {
	return out[lambda.UpdateFunctionConfigurationOutput](f.next("UpdateFunctionConfiguration", in))
}
func (f *fakeAPI) DeleteFunction(_ context.Context, in *lambda.DeleteFunctionInput, _ ...func(*lambda.Options)) (*lambda.DeleteFunctionOutput, error) {
	return out[lambda.DeleteFunctionOutput](f.next("DeleteFunction", in))
}
func (f *fakeAPI) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	return out[lambda.InvokeOutput](f.next("Invoke", in))
}
func (f *fakeAPI) TagResource(_ context.Context, in *lambda.TagResourceInput, _ ...func(*lambda.Options)) (*lambda.TagResourceOutput, error) {
	return out[lambda.TagResourceOutput](f.next("TagResource", in))
}
func (f *fakeAPI) UntagResource(_ context.Context, in *lambda.UntagResourceInput, _ ...func(*lambda.Options)) (*lambda.UntagResourceOutput, error) {
	return out[lambda.UntagResourceOutput](f.next("UntagResource", in))
}

// fn is a GetFunction answer in the given state and update status.
func fn(name string, state types.State, update types.LastUpdateStatus, reason string) step {
	return step{out: &lambda.GetFunctionOutput{
		Configuration: &types.FunctionConfiguration{
			FunctionName:           aws.String(name),
			FunctionArn:            aws.String("arn:aws:lambda:us-east-1:000000000000:function:" + name),
			State:                  state,
			StateReason:            aws.String(reason),
			LastUpdateStatus:       update,
			LastUpdateStatusReason: aws.String(reason),
			MemorySize:             aws.Int32(512),
		},
		Code: &types.FunctionCodeLocation{ImageUri: aws.String("repo@sha256:abc")},
	}}
}

func fail(err error) step { return step{err: err} }

// quick is a client whose waits and backoffs take milliseconds.
func quick(t *testing.T, api API, mod ...func(*Options)) *Client {
	t.Helper()
	return New(api, append([]func(*Options){func(o *Options) {
		o.WaiterMinDelay, o.WaiterMaxDelay = time.Millisecond, 5*time.Millisecond
		o.RetryMinDelay, o.RetryMaxDelay = time.Millisecond, 5*time.Millisecond
		o.IAMPropagationTimeout = 50 * time.Millisecond
		o.WaitTimeout = 5 * time.Second
	}}, mod...)...)
}

var (
	errThrottle    = &types.TooManyRequestsException{Message: aws.String("Rate exceeded"), Reason: "CallerRateLimitExceeded"}
	errRoleAssume  = &types.InvalidParameterValueException{Message: aws.String("The role defined for the function cannot be assumed by Lambda.")}
	errRolePerms   = &types.InvalidParameterValueException{Message: aws.String("The provided execution role does not have permissions to call CreateNetworkInterface on EC2")}
	errBadMemory   = &types.InvalidParameterValueException{Message: aws.String("'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 10240")}
	errInProgress  = &types.ResourceConflictException{Message: aws.String("The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:000000000000:function:f")}
	errPending     = &types.ResourceConflictException{Message: aws.String("The operation cannot be performed at this time. The function is currently in the following state: Pending")}
	errExists      = &types.ResourceConflictException{Message: aws.String("Function already exist: f")}
	errNotFound    = &types.ResourceNotFoundException{Message: aws.String("Function not found: arn:aws:lambda:us-east-1:000000000000:function:f")}
	errNotReady    = &types.ResourceNotReadyException{Message: aws.String("Functions are inactive and need to be reactivated")}
	errServiceBusy = &types.ServiceException{Message: aws.String("internal")}
)

func (f *fakeAPI) PutFunctionConcurrency(_ context.Context, in *lambda.PutFunctionConcurrencyInput, _ ...func(*lambda.Options)) (*lambda.PutFunctionConcurrencyOutput, error) {
	return out[lambda.PutFunctionConcurrencyOutput](f.next("PutFunctionConcurrency", in))
}
func (f *fakeAPI) DeleteFunctionConcurrency(_ context.Context, in *lambda.DeleteFunctionConcurrencyInput, _ ...func(*lambda.Options)) (*lambda.DeleteFunctionConcurrencyOutput, error) {
	return out[lambda.DeleteFunctionConcurrencyOutput](f.next("DeleteFunctionConcurrency", in))
}
