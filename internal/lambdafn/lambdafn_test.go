package lambdafn

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want retryable
	}{
		{"throttled", errThrottle, retryThrottle},
		{"throttled after the SDK retryer gave up", &retry.MaxAttemptsError{Attempt: 3, Err: errThrottle}, retryThrottle},
		{"role not assumable yet", errRoleAssume, retryIAM},
		{"role lacks permissions yet", errRolePerms, retryIAM},
		{"bad parameter", errBadMemory, 0},
		{"update in progress", errInProgress, retryConflict},
		{"function pending", errPending, retryNotReady | retryConflict},
		{"function failed", &types.ResourceConflictException{Message: aws.String("The operation cannot be performed at this time. The function is currently in the following state: Failed")}, 0},
		{"function not ready", errNotReady, retryNotReady},
		{"not found", errNotFound, 0},
		{"service error", errServiceBusy, 0},
		{"not an API error", errors.New("dial tcp: connection refused"), 0},
		{"cancelled", context.Canceled, 0},
	} {
		wrapped := &smithy.OperationError{ServiceID: "Lambda", OperationName: "X", Err: tc.err}
		if got := classify(wrapped); got != tc.want {
			t.Errorf("%s: classify = %b, want %b", tc.name, got, tc.want)
		}
	}
}

func TestCreate_retriesIAMPropagationThenWaitsActive(t *testing.T) {
	api := newFake().
		on("CreateFunction", fail(errRoleAssume), fail(errRolePerms), step{}).
		on("GetFunction", fn("f", "Pending", "InProgress", "optimizing"), fn("f", "Pending", "InProgress", ""), fn("f", "Active", "Successful", ""))
	c := quick(t, api, func(o *Options) { o.IAMPropagationTimeout = 5 * time.Second })

	f, err := c.Create(context.Background(), Config{
		Name: "f", ImageURI: "repo@sha256:abc", RoleARN: "arn:aws:iam::000000000000:role/r",
		MemoryMB: 512, TimeoutS: 30, EphemeralMB: 1024, Architecture: "arm64",
		Environment: map[string]string{"K": "v"}, Tags: map[string]string{"team": "ml"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.State != "Active" || f.Name != "f" || f.ImageURI != "repo@sha256:abc" {
		t.Errorf("Create returned %+v, want the Active function", f)
	}
	if n := api.count("CreateFunction"); n != 3 {
		t.Errorf("CreateFunction called %d times, want 3 (two IAM rejections, then success)", n)
	}
	if n := api.count("GetFunction"); n != 3 {
		t.Errorf("GetFunction called %d times, want 3 (Pending, Pending, Active)", n)
	}
	in := api.input("CreateFunction", 0).(*lambda.CreateFunctionInput)
	if in.PackageType != types.PackageTypeImage || aws.ToString(in.Code.ImageUri) != "repo@sha256:abc" ||
		aws.ToInt32(in.MemorySize) != 512 || aws.ToInt32(in.EphemeralStorage.Size) != 1024 ||
		!slices.Equal(in.Architectures, []types.Architecture{"arm64"}) || in.Tags["team"] != "ml" || in.Environment.Variables["K"] != "v" {
		t.Errorf("CreateFunction input not as configured: %+v", in)
	}
}

func TestCreate_IAMRejectionBecomesFinalAfterPropagationTimeout(t *testing.T) {
	api := newFake().on("CreateFunction", fail(errRoleAssume))
	c := quick(t, api)
	start := time.Now()
	_, err := c.Create(context.Background(), Config{Name: "f", ImageURI: "i", RoleARN: "r"})
	if err == nil {
		t.Fatal("Create succeeded with a role Lambda never accepts")
	}
	want := `creating Lambda function "f": InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda. (still rejected after`
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q\nwant prefix %q", err, want)
	}
	if api.count("CreateFunction") < 2 {
		t.Errorf("CreateFunction called %d times; IAM propagation was not retried", api.count("CreateFunction"))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %s; the bound is 50ms plus one backoff", d)
	}
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) {
		t.Errorf("errors.As cannot reach the typed exception through %T", err)
	}
}

func TestCreate_otherErrorsAreFinalAndCarryAWSReason(t *testing.T) {
	api := newFake().on("CreateFunction", fail(errBadMemory))
	_, err := quick(t, api).Create(context.Background(), Config{Name: "f", MemoryMB: 20000})
	want := `creating Lambda function "f": InvalidParameterValueException: 'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 10240`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	if n := api.count("CreateFunction"); n != 1 {
		t.Errorf("CreateFunction called %d times, want 1", n)
	}
}

func TestCreate_existingFunctionIsErrAlreadyExistsNotRetried(t *testing.T) {
	api := newFake().on("CreateFunction", fail(errExists))
	_, err := quick(t, api).Create(context.Background(), Config{Name: "f"})
	if !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("error %v is not ErrAlreadyExists", err)
	}
	if errors.Is(err, ErrNotFound) {
		t.Errorf("error %v claims ErrNotFound", err)
	}
	if n := api.count("CreateFunction"); n != 1 {
		t.Errorf("CreateFunction called %d times, want 1: a name conflict is not transient", n)
	}
}

func TestCreate_failedStateCarriesStateReason(t *testing.T) {
	api := newFake().on("GetFunction",
		fn("f", "Pending", "InProgress", ""),
		fn("f", "Failed", "Failed", "Lambda does not have permission to access the ECR image. Check the ECR permissions."))
	_, err := quick(t, api).Create(context.Background(), Config{Name: "f"})
	if err == nil {
		t.Fatal("Create succeeded for a function that went to Failed")
	}
	for _, want := range []string{`"f"`, "Active", "Failed", "does not have permission to access the ECR image"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestWait_keepsWaitingThroughThrottling(t *testing.T) {
	api := newFake().on("GetFunction", fail(errThrottle), fail(errThrottle), fn("f", "Active", "Successful", ""))
	if _, err := quick(t, api).Create(context.Background(), Config{Name: "f"}); err != nil {
		t.Fatalf("throttled GetFunction ended the wait: %v", err)
	}
	if n := api.count("GetFunction"); n != 3 {
		t.Errorf("GetFunction called %d times, want 3", n)
	}
}

func TestWait_timeoutSaysWhereTheFunctionIs(t *testing.T) {
	api := newFake().on("GetFunction", fn("f", "Pending", "InProgress", "Optimizing image"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	created, err := quick(t, api).Create(ctx, Config{Name: "f", ImageURI: "r@sha256:1"})
	if err == nil {
		t.Fatal("Create returned while the function stayed Pending")
	}
	// The function exists although the wait failed: the caller must learn
	// that, to record it rather than orphan it.
	if created == nil || created.Name != "f" || created.ImageURI != "r@sha256:1" {
		t.Errorf("Create returned %+v with the wait's error, want the created function", created)
	}
	for _, want := range []string{"did not become Active", "state Pending", "Optimizing image"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestUpdateCode_conflictWaitsForUpdateThenRetries(t *testing.T) {
	api := newFake().
		on("UpdateFunctionCode", fail(errInProgress), step{}).
		on("GetFunction",
			fn("f", "Active", "InProgress", ""), // the waiter after the conflict
			fn("f", "Active", "Successful", ""),
			fn("f", "Active", "Successful", "")) // the waiter after the update
	f, err := quick(t, api).UpdateCode(context.Background(), "f", "repo@sha256:new", "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	if f.LastUpdateStatus != "Successful" {
		t.Errorf("LastUpdateStatus = %q", f.LastUpdateStatus)
	}
	if n := api.count("UpdateFunctionCode"); n != 2 {
		t.Errorf("UpdateFunctionCode called %d times, want 2", n)
	}
	if n := api.count("GetFunction"); n != 3 {
		t.Errorf("GetFunction called %d times, want 3: the conflict must wait for Successful before retrying", n)
	}
	in := api.input("UpdateFunctionCode", 1).(*lambda.UpdateFunctionCodeInput)
	if aws.ToString(in.ImageUri) != "repo@sha256:new" || !slices.Equal(in.Architectures, []types.Architecture{"x86_64"}) {
		t.Errorf("UpdateFunctionCode input = %+v", in)
	}
}

func TestUpdateCode_conflictOnPendingFunctionWaitsActive(t *testing.T) {
	api := newFake().
		on("UpdateFunctionCode", fail(errPending), step{}).
		on("GetFunction",
			fn("f", "Pending", "Successful", ""), // Updated waiter: done, but Pending
			fn("f", "Pending", "Successful", ""), // Active waiter
			fn("f", "Active", "Successful", ""))
	if _, err := quick(t, api).UpdateCode(context.Background(), "f", "i", ""); err != nil {
		t.Fatal(err)
	}
	if n := api.count("GetFunction"); n != 4 {
		t.Errorf("GetFunction called %d times, want 4 (Updated, Active x2, Updated)", n)
	}
	in := api.input("UpdateFunctionCode", 0).(*lambda.UpdateFunctionCodeInput)
	if in.Architectures != nil {
		t.Errorf("empty arch sent as %v; it should leave the architecture alone", in.Architectures)
	}
}

func TestUpdateConfig_updateFailureCarriesReason(t *testing.T) {
	api := newFake().on("GetFunction", fn("f", "Active", "Failed", "The role cannot be assumed"))
	_, err := quick(t, api).UpdateConfig(context.Background(), Config{Name: "f", MemoryMB: 1024})
	if err == nil || !strings.Contains(err.Error(), "last update Failed: The role cannot be assumed") {
		t.Errorf("error = %v, want the LastUpdateStatusReason", err)
	}
}

func TestUpdateConfig_sendsConfigAndSyncsTags(t *testing.T) {
	cur := fn("f", "Active", "Successful", "")
	cur.out.(*lambda.GetFunctionOutput).Tags = map[string]string{"keep": "1", "change": "old", "drop": "x", "aws:cloudformation:stack-name": "s"}
	api := newFake().on("GetFunction", cur)
	f, err := quick(t, api).UpdateConfig(context.Background(), Config{
		Name: "f", RoleARN: "arn:aws:iam::000000000000:role/r2", Description: "d",
		MemoryMB: 2048, TimeoutS: 60, EphemeralMB: 4096,
		Tags: map[string]string{"keep": "1", "change": "new", "add": "y"},
	})
	if err != nil {
		t.Fatal(err)
	}
	in := api.input("UpdateFunctionConfiguration", 0).(*lambda.UpdateFunctionConfigurationInput)
	if aws.ToInt32(in.MemorySize) != 2048 || aws.ToInt32(in.Timeout) != 60 || aws.ToInt32(in.EphemeralStorage.Size) != 4096 ||
		aws.ToString(in.Role) != "arn:aws:iam::000000000000:role/r2" || aws.ToString(in.Description) != "d" {
		t.Errorf("UpdateFunctionConfiguration input = %+v", in)
	}
	if in.Environment == nil || in.Environment.Variables == nil || len(in.Environment.Variables) != 0 {
		t.Errorf("nil Environment must be sent as an empty map to clear variables, got %+v", in.Environment)
	}
	tag := api.input("TagResource", 0).(*lambda.TagResourceInput)
	if !maps.Equal(tag.Tags, map[string]string{"change": "new", "add": "y"}) || !strings.HasSuffix(aws.ToString(tag.Resource), ":function:f") {
		t.Errorf("TagResource input = %+v", tag)
	}
	untag := api.input("UntagResource", 0).(*lambda.UntagResourceInput)
	if !slices.Equal(untag.TagKeys, []string{"drop"}) {
		t.Errorf("UntagResource keys = %v, want [drop] (aws:* tags are AWS's)", untag.TagKeys)
	}
	want := map[string]string{"keep": "1", "change": "new", "add": "y", "aws:cloudformation:stack-name": "s"}
	if !maps.Equal(f.Tags, want) {
		t.Errorf("returned tags = %v, want %v", f.Tags, want)
	}
}

func TestUpdateConfig_sameTagsMakeNoTagCalls(t *testing.T) {
	cur := fn("f", "Active", "Successful", "")
	cur.out.(*lambda.GetFunctionOutput).Tags = map[string]string{"a": "1"}
	api := newFake().on("GetFunction", cur)
	if _, err := quick(t, api).UpdateConfig(context.Background(), Config{Name: "f", Tags: map[string]string{"a": "1"}}); err != nil {
		t.Fatal(err)
	}
	if api.count("TagResource")+api.count("UntagResource") != 0 {
		t.Errorf("tag calls made for unchanged tags")
	}
}

func TestGetAndDelete_notFound(t *testing.T) {
	api := newFake().on("GetFunction", fail(errNotFound)).on("DeleteFunction", fail(errNotFound))
	c := quick(t, api)
	_, err := c.Get(context.Background(), "f")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Get error %v is not ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), `reading Lambda function "f": ResourceNotFoundException: Function not found`) {
		t.Errorf("Get error = %q", err)
	}
	if err := c.Delete(context.Background(), "f"); err != nil {
		t.Errorf("Delete of a missing function = %v, want nil", err)
	}
}

func TestDelete_otherErrorsSurface(t *testing.T) {
	api := newFake().on("DeleteFunction", fail(errServiceBusy))
	err := quick(t, api).Delete(context.Background(), "f")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "ServiceException") {
		t.Errorf("Delete error = %v, want the ServiceException", err)
	}
}

func TestInvoke_retriesThrottlingAndDecodesTheLog(t *testing.T) {
	api := newFake().on("Invoke", fail(errThrottle), fail(errThrottle), step{out: &lambda.InvokeOutput{
		StatusCode:    200,
		FunctionError: aws.String("Unhandled"),
		Payload:       []byte(`{"errorType":"ValueError"}`),
		LogResult:     aws.String(base64.StdEncoding.EncodeToString([]byte("START\nboom\nEND\n"))),
	}})
	res, err := quick(t, api).Invoke(context.Background(), "f", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError != "Unhandled" || res.StatusCode != 200 || string(res.Payload) != `{"errorType":"ValueError"}` || res.LogTail != "START\nboom\nEND\n" {
		t.Errorf("InvokeResult = %+v", res)
	}
	if n := api.count("Invoke"); n != 3 {
		t.Errorf("Invoke called %d times, want 3", n)
	}
	in := api.input("Invoke", 0).(*lambda.InvokeInput)
	if in.InvocationType != types.InvocationTypeRequestResponse || in.LogType != types.LogTypeTail {
		t.Errorf("Invoke input = %+v", in)
	}
}

func TestInvoke_throttlingGivesUpAfterMaxAttempts(t *testing.T) {
	api := newFake().on("Invoke", fail(errThrottle))
	_, err := quick(t, api, func(o *Options) { o.MaxAttempts = 4 }).Invoke(context.Background(), "f", nil)
	want := `invoking Lambda function "f": TooManyRequestsException: Rate exceeded (still failing after 4 attempts)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	if n := api.count("Invoke"); n != 4 {
		t.Errorf("Invoke called %d times, want 4", n)
	}
}

func TestInvoke_notReadyWaitsForActive(t *testing.T) {
	for _, notReady := range []error{errNotReady, errPending} {
		api := newFake().
			on("Invoke", fail(notReady), step{out: &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`1`)}}).
			on("GetFunction", fn("f", "Pending", "Successful", ""), fn("f", "Active", "Successful", ""))
		res, err := quick(t, api).Invoke(context.Background(), "f", nil)
		if err != nil {
			t.Fatalf("%T: %v", notReady, err)
		}
		if string(res.Payload) != "1" || api.count("GetFunction") != 2 {
			t.Errorf("%T: payload %q after %d GetFunction calls, want 1 after 2", notReady, res.Payload, api.count("GetFunction"))
		}
	}
}

func TestInvoke_updateConflictIsNotRetried(t *testing.T) {
	// Invoke does not conflict with updates; a conflict that names no state is final.
	api := newFake().on("Invoke", fail(errInProgress))
	if _, err := quick(t, api).Invoke(context.Background(), "f", nil); err == nil {
		t.Fatal("want an error")
	}
	if n := api.count("Invoke"); n != 1 {
		t.Errorf("Invoke called %d times, want 1", n)
	}
}

func TestRetry_stopsWhenContextEnds(t *testing.T) {
	api := newFake().on("Invoke", fail(errThrottle))
	c := quick(t, api, func(o *Options) {
		o.MaxAttempts = 1000
		o.RetryMinDelay, o.RetryMaxDelay = time.Hour, time.Hour
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Invoke(ctx, "f", nil)
	if err == nil || !strings.Contains(err.Error(), "TooManyRequestsException") || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("error = %v, want the throttling reason and the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to notice the deadline", d)
	}
}

func TestBackoff_boundedAndGrowing(t *testing.T) {
	c := New(newFake(), func(o *Options) { o.RetryMinDelay, o.RetryMaxDelay = 100*time.Millisecond, time.Second })
	for attempt := 1; attempt <= 70; attempt++ {
		d := c.backoff(attempt)
		ceil := min(100*time.Millisecond<<min(attempt-1, 20), time.Second)
		if d < ceil/2 || d > ceil {
			t.Fatalf("backoff(%d) = %s, want within [%s, %s]", attempt, d, ceil/2, ceil)
		}
	}
}

func TestDiffTags(t *testing.T) {
	add, remove := diffTags(map[string]string{"a": "1", "b": "2", "aws:x": "y"}, map[string]string{"a": "1", "b": "3", "c": "4"}, nil)
	if !maps.Equal(add, map[string]string{"b": "3", "c": "4"}) || fmt.Sprint(remove) != "[]" {
		t.Errorf("diffTags: add %v remove %v", add, remove)
	}
	_, remove = diffTags(map[string]string{"a": "1"}, nil, nil)
	if !slices.Equal(remove, []string{"a"}) {
		t.Errorf("nil want must remove all: remove %v", remove)
	}
	_, remove = diffTags(map[string]string{"a": "1", "team": "x"}, nil, func(k string) bool { return k == "team" })
	if !slices.Equal(remove, []string{"a"}) {
		t.Errorf("kept tags must stay: remove %v", remove)
	}
}

func TestUpdateCode_persistentConflictGivesUp(t *testing.T) {
	api := newFake().
		on("UpdateFunctionCode", fail(errInProgress)).
		on("GetFunction", fn("f", "Active", "Successful", ""))
	_, err := quick(t, api, func(o *Options) { o.MaxAttempts = 3 }).UpdateCode(context.Background(), "f", "i", "")
	want := `updating the code of Lambda function "f" to i: ResourceConflictException: The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:000000000000:function:f (still failing after 3 attempts)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	if n := api.count("UpdateFunctionCode"); n != 3 {
		t.Errorf("UpdateFunctionCode called %d times, want 3", n)
	}
	if n := api.count("GetFunction"); n != 2 {
		t.Errorf("GetFunction called %d times, want 2: one wait before each retry", n)
	}
}
